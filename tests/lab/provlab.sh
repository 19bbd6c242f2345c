# Test hosts for provisioning, sourced after tests/lib.sh.  Each host is a
# network namespace ci-prov-$$-N with a veth to the root namespace
# (10.251.X.(4N+1) here, .(4N+2) inside, X from $$), a real sshd (OpenSSH,
# or dropbear) listening on the inside address with its own host key and
# our client key authorised, and a loop device over a sparse file as its
# disk.  The hosts share this machine's kernel and file system: inspection
# reports this machine's CPUs and memory (the tests assert exactly that),
# and the target disk is the host's loop device, enrolled with --disk.
#
#   lab_init                    client keys in $T/lab, authorized_keys
#   lab_host N [openssh|dropbear] [SIZE_MB]
#                               sets LAB_ADDR LAB_NS LAB_DISK LAB_DIR LAB_MAC;
#                               LAB_HOSTKEY=FILE: use that host key (a
#                               deploy image's key shared by many hosts)
#   lab_slow N RATE | lab_fast N  limit the link to the host (tc tbf)
#   lab_sshd_stop N             kills every process in the namespace
#   lab_sshd_start N            starts its sshd again (same key)
#   lab_hostkey_fp N            SHA256 fingerprint of its current host key
#   lab_newkey N                gives the host a new host key (restarts sshd)
#   lab_reboot_command          the reboot_command for reboot=ssh
#
# "Reboot" (docs/provision.md): the configured reboot_command runs
# tests/lab/lab-reboot on the host, which stops the namespace's sshd,
# mounts the installed root from the host's disk and starts sshd again in
# a private mount namespace where /etc and /root are the installed
# system's: it presents the host key castiron wrote, accepts the
# authorized_keys castiron wrote, and verify reads the installed marker.

LAB_NET=10.251.$(($$ % 250))
LAB_HOSTS=""

lab_init() {
	mkdir -p "$T/lab" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C castiron-test -f "$T/lab/id_ed25519"
	ssh-keygen -q -t rsa -b 2048 -N '' -C castiron-test-rsa -f "$T/lab/id_rsa"
	cat "$T/lab/id_ed25519.pub" "$T/lab/id_rsa.pub" >"$T/lab/authorized_keys"
	chmod 600 "$T/lab/authorized_keys"
	at_exit "lab_cleanup"
}

lab_cleanup() {
	for n in $LAB_HOSTS; do
		ns=ci-prov-$$-$n
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p"; done
		d=$T/lab/h$n
		[ -f "$d/chroot.mnt" ] && umount "$(cat "$d/chroot.mnt")" 2>/dev/null
		[ -f "$d/loop" ] && losetup -d "$(cat "$d/loop")" 2>/dev/null
		ip link del "cp$$h$n" 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
}

# lab_host N [openssh|dropbear] [SIZE_MB]
lab_host() {
	n=$1; kind=${2:-openssh}; size=${3:-128}
	ns=ci-prov-$$-$n
	d=$T/lab/h$n
	mkdir -p "$d"
	LAB_HOSTS="$LAB_HOSTS $n"
	ip netns add "$ns" || return 1
	ip link add "cp$$h$n" type veth peer name eth0 netns "$ns" || return 1
	ip addr add "$LAB_NET.$((n * 4 + 1))/30" dev "cp$$h$n"
	ip link set "cp$$h$n" up
	ip -n "$ns" addr add "$LAB_NET.$((n * 4 + 2))/30" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	echo "$kind" >"$d/kind"
	echo "$LAB_NET.$((n * 4 + 2))" >"$d/addr"
	truncate -s "${size}M" "$d/disk.img"
	losetup -f --show -P "$d/disk.img" >"$d/loop" || return 1
	case $kind in
	openssh)
		if [ -n "${LAB_HOSTKEY:-}" ]; then	# a shared deploy image key
			cp "$LAB_HOSTKEY" "$d/ssh_host_ed25519_key"
			cp "$LAB_HOSTKEY.pub" "$d/ssh_host_ed25519_key.pub"
		else
			ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key"
		fi ;;
	dropbear)
		dropbearkey -t ed25519 -f "$d/dropbear_ed25519" >/dev/null 2>&1
		dropbearkey -y -f "$d/dropbear_ed25519" 2>/dev/null |
		    grep '^ssh-' >"$d/ssh_host_ed25519_key.pub"
		mkdir -p "$d/home/.ssh"
		chmod 700 "$d/home" "$d/home/.ssh"
		cp "$T/lab/authorized_keys" "$d/home/.ssh/authorized_keys" ;;
	esac
	lab_sshd_start "$n" || return 1
	LAB_NS=$ns
	LAB_DIR=$d
	LAB_ADDR=$(cat "$d/addr")
	LAB_DISK=$(cat "$d/loop")
	LAB_MAC=$(ip -n "$ns" link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
}

# Writes the sshd_config; $2: chroot directory (for the "rebooted" host).
lab_sshd_config() {
	d=$T/lab/h$1
	cat >"$d/sshd_config" <<EOF
ListenAddress $(cat "$d/addr"):22
HostKey ${3:-$d/ssh_host_ed25519_key}
AuthorizedKeysFile $T/lab/authorized_keys
PidFile $d/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
	[ -n "${2:-}" ] && echo "ChrootDirectory $2" >>"$d/sshd_config"
	return 0
}

lab_sshd_start() {
	n=$1; d=$T/lab/h$n; ns=ci-prov-$$-$n
	addr=$(cat "$d/addr")
	case $(cat "$d/kind") in
	openssh)
		[ -f "$d/sshd_config" ] || lab_sshd_config "$n"
		ip netns exec "$ns" /usr/sbin/sshd -f "$d/sshd_config" \
		    -E "$d/sshd.log" || return 1 ;;
	dropbear)
		# dropbear reads root's ~/.ssh: give it ours in a private
		# mount namespace instead of touching this machine's /root.
		unshare -m --propagation private sh -c "mount --bind '$d/home' \
		    /root && exec ip netns exec '$ns' dropbear -r \
		    '$d/dropbear_ed25519' -p '$addr:22' -P '$d/sshd.pid' -s \
		    -E 2>>'$d/sshd.log'" || return 1 ;;
	esac
	wait_for 10 "sshd on $addr" sh -c \
	    "ip netns exec '$ns' ss -ltn | grep -q '$addr:22 '"
}

lab_sshd_stop() {
	for p in $(ip netns pids "ci-prov-$$-$1" 2>/dev/null); do
		kill -9 "$p"
	done
	wait_for 10 "namespace ci-prov-$$-$1 empty" \
	    sh -c "[ -z \"\$(ip netns pids ci-prov-$$-$1)\" ]"
}

lab_slow() {
	tc qdisc replace dev "cp$$h$1" root tbf rate "$2" burst 64k latency 400ms
}
lab_fast() {
	tc qdisc del dev "cp$$h$1" root 2>/dev/null || true
}

lab_hostkey_fp() {
	ssh-keygen -l -E sha256 -f "$T/lab/h$1/ssh_host_ed25519_key.pub" |
	    awk '{print $2}'
}

lab_newkey() {
	n=$1; d=$T/lab/h$n
	lab_sshd_stop "$n"
	rm -f "$d/ssh_host_ed25519_key" "$d/ssh_host_ed25519_key.pub"
	ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key"
	lab_sshd_start "$n"
}

# The reboot_command for castiron.ini.
lab_reboot_command() {
	echo "$PWD/tests/lab/lab-reboot $T/lab"
}
