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
#   lab_reboot_command [down]   the reboot_command for reboot=ssh (down:
#                               the host goes down and never comes back)
#   lab_busybox N               its sessions find nothing but busybox (login
#                               shell, PATH) and a /tmp of their own
#   lab_own_tmp N               its sessions have a /tmp of their own
#   lab_stall N | lab_unstall N every process of the host SIGSTOPped (its
#                               connections open and silent) or continued
#   lab_writer_running N        castiron-writer runs on the host
#   lab_written N               bytes the kernel wrote to its disk so far
#   lab_sha FILE OFFSET [LEN]   sha256 of a byte range of a disk or image
#   lab_mapped FILE.bmap        bytes the image's bmap maps
#   lab_dmi N VENDOR PRODUCT SERIAL
#                               gives the host firmware identity (DMI, which
#                               this VM lacks): its sshd (restarted) sees a
#                               /sys/class with dmi/id holding these besides
#                               the real classes
#   lab_pci N DIR               gives the host the PCI devices of DIR (a
#                               fixture of /sys/bus/pci/devices: one
#                               directory per slot with class, vendor,
#                               device, resource, ...): its sshd (restarted)
#                               sees DIR there instead of this VM's
#   lab_disk2 N SIZE_MB         a second disk (loop device) for the host;
#                               sets LAB_DISK2
#
# LAB_DISKDIR=DIR (the benchmark sets /dev/shm): each disk's backing file
# lives there, fully allocated (fallocate), instead of a sparse file
# under $T: no page allocation or flush to this machine's own disk in the
# middle of a measurement.
#
# "Reboot" (docs/provision.md): the configured reboot_command runs
# tests/lab/lab-reboot on the host, which stops the namespace's sshd,
# mounts the installed root from the host's disk and starts sshd again in
# a private mount namespace where /etc and /root are the installed
# system's: it presents the host key castiron wrote, accepts the
# authorized_keys castiron wrote, and verify reads the installed marker.

LAB_NET=10.251.$(($$ % 250))
LAB_HOSTS=""

# What a host's private mount namespace holds before its sshd starts (run
# by sh with $1 = the host's directory, $2 = $T, $3 = the source tree):
#  - lab_dmi: a tmpfs over /sys/class holding dmi/id and every other real
#    class bound in (a machine with DMI of its own keeps it hidden);
#  - a passwd of the host's own over /etc/passwd: root's login shell is
#    /bin/sh (every OpenSSH host) or busybox's sh (lab_busybox);
#  - lab_own_tmp (and lab_busybox): /tmp is the host's own tmpfs with only
#    the test's directory $T bound back in (and the source tree, for
#    lab-reboot, when it lives under /tmp).
LAB_PRIVATE_MNT='
if [ -d "$1/dmi" ]; then
	c=$1/sysclass; mkdir -p "$c" && mount -t tmpfs lab "$c" || exit 1
	for d in /sys/class/*; do
		[ "${d##*/}" = dmi ] && continue
		mkdir "$c/${d##*/}" && mount --bind "$d" "$c/${d##*/}" || exit 1
	done
	mkdir -p "$c/dmi" && cp -r "$1/dmi" "$c/dmi/id" &&
	    mount --move "$c" /sys/class || exit 1
fi
if [ -d "$1/pci" ]; then
	mount --bind "$1/pci" /sys/bus/pci/devices || exit 1
fi
if [ -f "$1/passwd" ]; then
	mount --bind "$1/passwd" /etc/passwd || exit 1
fi
if [ -f "$1/owntmp" ]; then
	case $2 in /tmp/*) ;; *) exit 1 ;; esac
	t=$1/privtmp; mkdir -p "$t" && mount -t tmpfs lab "$t" || exit 1
	for d in "$2" "$3"; do
		case $d in /tmp/*) mkdir -p "$t/${d#/tmp/}" &&
		    mount --bind "$d" "$t/${d#/tmp/}" || exit 1 ;; esac
	done
	mount --move "$t" /tmp || exit 1
fi
'

lab_init() {
	mkdir -p "$T/lab" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C castiron-test -f "$T/lab/id_ed25519"
	ssh-keygen -q -t rsa -b 2048 -N '' -C castiron-test-rsa -f "$T/lab/id_rsa"
	cat "$T/lab/id_ed25519.pub" "$T/lab/id_rsa.pub" >"$T/lab/authorized_keys"
	chmod 600 "$T/lab/authorized_keys"
	at_exit "lab_cleanup"
}

lab_cleanup() {
	# Every namespace this run made, not only the ones it remembers.
	for _lns in $(ip netns list 2>/dev/null | awk -v p="ci-prov-$$-" \
	    'index($1, p) == 1 {print $1}'); do
		for _lp in $(ip netns pids "$_lns" 2>/dev/null); do
			kill -9 "$_lp" 2>/dev/null
		done
	done
	for _ld in "$T"/lab/h*; do
		[ -d "$_ld" ] || continue
		_ln=${_ld##*/h}
		[ -f "$_ld/chroot.mnt" ] && umount "$(cat "$_ld/chroot.mnt")" 2>/dev/null
		for _lp in $(losetup -j "$_ld/disk.img" 2>/dev/null | cut -d: -f1) \
		    $(losetup -j "$_ld/disk2.img" 2>/dev/null | cut -d: -f1); do
			# the namespace's last process may take a moment to go
			wait_for 5 "$_lp released" losetup -d "$_lp" >/dev/null
		done
		ip link del "cp$$h$_ln" 2>/dev/null
		ip netns del "ci-prov-$$-$_ln" 2>/dev/null
		if [ -L "$_ld/disk.img" ]; then
			rm -f "$(readlink "$_ld/disk.img")" "$_ld/disk.img"
		fi
	done
	return 0
}

# lab_host N [openssh|dropbear] [SIZE_MB]
lab_host() {
	_ln=$1; _lk=${2:-openssh}; _lsz=${3:-128}
	_lns=ci-prov-$$-$_ln
	_ld=$T/lab/h$_ln
	mkdir -p "$_ld"
	LAB_HOSTS="$LAB_HOSTS $_ln"
	ip netns add "$_lns" || return 1
	ip link add "cp$$h$_ln" type veth peer name eth0 netns "$_lns" || return 1
	ip addr add "$LAB_NET.$((_ln * 4 + 1))/30" dev "cp$$h$_ln"
	ip link set "cp$$h$_ln" up
	ip -n "$_lns" addr add "$LAB_NET.$((_ln * 4 + 2))/30" dev eth0
	ip -n "$_lns" link set eth0 up
	ip -n "$_lns" link set lo up
	echo "$_lk" >"$_ld/kind"
	echo "$LAB_NET.$((_ln * 4 + 2))" >"$_ld/addr"
	if [ -n "${LAB_DISKDIR:-}" ]; then
		ln -s "$LAB_DISKDIR/ci-prov-$$-$_ln.img" "$_ld/disk.img"
		fallocate -l "${_lsz}M" "$_ld/disk.img" || return 1
	else
		truncate -s "${_lsz}M" "$_ld/disk.img"
	fi
	losetup -f --show -P "$_ld/disk.img" >"$_ld/loop" || return 1
	case $_lk in
	openssh)
		if [ -n "${LAB_HOSTKEY:-}" ]; then	# a shared deploy image key
			cp "$LAB_HOSTKEY" "$_ld/ssh_host_ed25519_key"
			cp "$LAB_HOSTKEY.pub" "$_ld/ssh_host_ed25519_key.pub"
		else
			ssh-keygen -q -t ed25519 -N '' -f "$_ld/ssh_host_ed25519_key"
		fi
		# root's login shell is /bin/sh (dash), which reads no start-up
		# file for a command, as a deploy environment's busybox sh; not
		# this machine's bash, whose ~/.bashrc may run anything (here
		# pyenv's set-up: 0.2 to 0.5 s before every command, and a wait
		# of a minute on its lock when a killed run left it behind).
		awk -F: -v OFS=: '$1 == "root" { $7 = "/bin/sh" } { print }' \
		    /etc/passwd >"$_ld/passwd" ;;
	dropbear)
		dropbearkey -t ed25519 -f "$_ld/dropbear_ed25519" >/dev/null 2>&1
		dropbearkey -y -f "$_ld/dropbear_ed25519" 2>/dev/null |
		    grep '^ssh-' >"$_ld/ssh_host_ed25519_key.pub"
		mkdir -p "$_ld/home/.ssh"
		chmod 700 "$_ld/home" "$_ld/home/.ssh"
		cp "$T/lab/authorized_keys" "$_ld/home/.ssh/authorized_keys" ;;
	esac
	lab_sshd_start "$_ln" || return 1
	LAB_NS=$_lns
	LAB_DIR=$_ld
	LAB_ADDR=$(cat "$_ld/addr")
	LAB_DISK=$(cat "$_ld/loop")
	LAB_MAC=$(ip -n "$_lns" link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
}

# Writes the sshd_config; $2: chroot directory (for the "rebooted" host).
lab_sshd_config() {
	_ld=$T/lab/h$1
	cat >"$_ld/sshd_config" <<EOF
ListenAddress $(cat "$_ld/addr"):22
HostKey ${3:-$_ld/ssh_host_ed25519_key}
AuthorizedKeysFile $T/lab/authorized_keys
PidFile $_ld/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
	[ -n "${2:-}" ] && echo "ChrootDirectory $2" >>"$_ld/sshd_config"
	return 0
}

_lab_sshd_launch() {
	_ln=$1; _ld=$T/lab/h$_ln; _lns=ci-prov-$$-$_ln
	_la=$(cat "$_ld/addr")
	case $(cat "$_ld/kind") in
	openssh)
		mkdir -p /run/sshd	# its privilege separation directory
		[ -f "$_ld/sshd_config" ] || lab_sshd_config "$_ln"
		if [ -d "$_ld/dmi" ] || [ -d "$_ld/pci" ] ||
		    [ -f "$_ld/passwd" ] || [ -f "$_ld/owntmp" ]; then
			ip netns exec "$_lns" unshare -m --propagation private \
			    sh -c "$LAB_PRIVATE_MNT"'
			    exec /usr/sbin/sshd -f "$1/sshd_config" \
			    -E "$1/sshd.log"' sh "$_ld" "$T" "$PWD" || return 1
		else
			ip netns exec "$_lns" /usr/sbin/sshd \
			    -f "$_ld/sshd_config" -E "$_ld/sshd.log" || return 1
		fi ;;
	dropbear)
		# dropbear reads root's ~/.ssh: give it ours in a private
		# mount namespace instead of touching this machine's /root.
		# LAB_DROPBEAR_OPTS: more options (the bench's -W window).
		unshare -m --propagation private sh -c "mount --bind '$_ld/home' \
		    /root && exec ip netns exec '$_lns' dropbear -r \
		    '$_ld/dropbear_ed25519' -p '$_la:22' -P '$_ld/sshd.pid' -s \
		    ${LAB_DROPBEAR_OPTS:-} -E 2>>'$_ld/sshd.log'" || return 1 ;;
	esac
	wait_for 10 "sshd on $_la" sh -c \
	    "ip netns exec '$_lns' ss -ltn | grep -q '$_la:22 '"
}

# Starts the host's sshd and waits until it listens; one retry (a port
# that a just-killed sshd left behind), then the log tail on failure.
lab_sshd_start() {
	_lab_sshd_launch "$1" && return 0
	sleep 1
	_lab_sshd_launch "$1" && return 0
	tail -n 5 "$T/lab/h$1/sshd.log" | sed 's/^/# sshd: /'
	return 1
}

lab_dmi() {
	_ld=$T/lab/h$1
	mkdir -p "$_ld/dmi"
	echo "$2" >"$_ld/dmi/sys_vendor"
	echo "$3" >"$_ld/dmi/product_name"
	echo "$4" >"$_ld/dmi/product_serial"
	lab_sshd_stop "$1" && lab_sshd_start "$1"
}

lab_pci() {
	_ld=$T/lab/h$1
	rm -rf "$_ld/pci"
	cp -r "$2" "$_ld/pci"
	lab_sshd_stop "$1" && lab_sshd_start "$1"
}

lab_disk2() {
	_ld=$T/lab/h$1
	truncate -s "${2}M" "$_ld/disk2.img"
	LAB_DISK2=$(losetup -f --show -P "$_ld/disk2.img") || return 1
}

# lab_busybox N: the host's sessions find nothing but busybox, as in a
# real deploy environment: their login shell is busybox's sh, their PATH
# one directory of busybox applet links (SetEnv), and their /tmp their own
# (castiron-writer is uploaded into it, not found there from another
# host).  Its sshd is restarted.
lab_busybox() {
	_ld=$T/lab/h$1
	_lbb=$(command -v busybox) || return 1
	mkdir -p "$_ld/bb"
	for _la in $("$_lbb" --list); do ln -sf "$_lbb" "$_ld/bb/$_la"; done
	awk -F: -v OFS=: -v sh="$_ld/bb/sh" '$1 == "root" { $7 = sh } { print }' \
	    /etc/passwd >"$_ld/passwd"
	echo "SetEnv PATH=$_ld/bb" >>"$_ld/sshd_config"
	lab_own_tmp "$1"
}

# lab_own_tmp N: the host's sessions have a /tmp of their own (a tmpfs),
# as a deploy environment does, not this machine's: castiron-writer is
# uploaded into it, never found there from another host or test, and
# nothing of this machine's /tmp is touched.  Its sshd is restarted.
lab_own_tmp() {
	: >"$T/lab/h$1/owntmp"
	lab_sshd_stop "$1" && lab_sshd_start "$1"
}

# lab_stall N | lab_unstall N: every process of the host stopped
# (SIGSTOP) or continued: its connections stay open and silent.
lab_stall() {
	for _lp in $(ip netns pids "ci-prov-$$-$1" 2>/dev/null); do
		kill -STOP "$_lp"
	done
}
lab_unstall() {
	for _lp in $(ip netns pids "ci-prov-$$-$1" 2>/dev/null); do
		kill -CONT "$_lp"
	done
}

# lab_writer_running N: castiron-writer runs on the host.
lab_writer_running() {
	for _lp in $(ip netns pids "ci-prov-$$-$1" 2>/dev/null); do
		case $(cat "/proc/$_lp/comm" 2>/dev/null) in
		castiron-writ*) return 0 ;;
		esac
	done
	return 1
}

# lab_written N: bytes written to the host's disk so far, as the kernel
# counts them (the loop device's sectors written, /sys/block/loopN/stat):
# castiron's own account plays no part.  Dirty pages of the device are
# flushed first: a write still in the page cache (which the last close
# of the device would flush, but not while a mount holds it open) counts.
# A loop device keeps its counters across uses: compare two readings.
lab_written() {
	_ldev=$(cat "$T/lab/h$1/loop")
	blockdev --flushbufs "$_ldev"
	awk '{ printf "%.0f\n", $7 * 512 }' "/sys/block/${_ldev#/dev/}/stat"
}

# lab_sha FILE OFFSET [LENGTH]: sha256 of LENGTH bytes of FILE (a disk)
# from OFFSET (to its end without LENGTH).
lab_sha() {
	dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" \
	    ${3:+count="$3"} status=none | sha256sum | cut -d' ' -f1
}

# lab_mapped FILE.bmap: the bytes an image's bmap maps (what a write of
# it puts on the disk).
lab_mapped() {
	awk 'match($0, /<BlockSize> *[0-9]+/) { b = substr($0, RSTART + 11) + 0 }
	    match($0, /<MappedBlocksCount> *[0-9]+/) { m = substr($0, RSTART + 19) + 0 }
	    END { printf "%.0f\n", b * m }' "$1"
}

lab_sshd_stop() {
	for _lp in $(ip netns pids "ci-prov-$$-$1" 2>/dev/null); do
		kill -9 "$_lp"
	done
	wait_for 10 "namespace ci-prov-$$-$1 empty" \
	    sh -c "[ -z \"\$(ip netns pids ci-prov-$$-$1)\" ]"
	# ...and its listener gone, so that lab_sshd_start's wait sees the
	# new sshd's, not the old one's.
	wait_for 10 "port 22 free in ci-prov-$$-$1" sh -c \
	    "! ip netns exec ci-prov-$$-$1 ss -ltn | grep -q ':22 '"
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
	_ln=$1; _ld=$T/lab/h$_ln
	lab_sshd_stop "$_ln"
	rm -f "$_ld/ssh_host_ed25519_key" "$_ld/ssh_host_ed25519_key.pub"
	ssh-keygen -q -t ed25519 -N '' -f "$_ld/ssh_host_ed25519_key"
	lab_sshd_start "$_ln"
}

# The reboot_command for castiron.ini; "down": the host goes down and
# never comes back.
lab_reboot_command() {
	echo "$PWD/tests/lab/lab-reboot ${1:+--$1 }$T/lab"
}
