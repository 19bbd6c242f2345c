# time-limit: 300
# Whom castiron trusts while provisioning, against real sshd hosts that
# boot a deploy environment sharing one host key (deploy_host_key):
#  - the shared key never becomes a host's pin: an installed host booted
#    into the deploy environment again and re-imaged keeps its installed
#    system's pin while the run fails halfway;
#  - an impostor holding the deploy key that answers at a host's address
#    when the run resumes (another MAC) is refused before castiron sends
#    it the host's new private key, and nothing is pinned for it;
#  - --accept-new-hostkey does not override the installed system's pin
#    when a run resumes at reboot;
#  - a host whose key castiron cannot read (libssh2 gives none: the lab's
#    tests/lab/nokey.c preloaded) is refused in one line, in the deploy
#    environment, back from its reboot and when a run resumes at reboot
#    or at verify, with nothing pinned, its pin kept and nothing written
#    on its disk.
# Asserts the pins and events in the inventory and the files on the disks.
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "provision trust rules"
lab_init
tests/lab/mkosimage "$T/os.img" 48 4
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$T/lab/deploy_key"
DEPLOY_FP=$(ssh-keygen -l -E sha256 -f "$T/lab/deploy_key.pub" | awk '{print $2}')

conf() {	# reboot [reboot_command [reboot_timeout]]
	lab_config power=none provision.reboot="$1" \
	    provision.reboot_command="${2:-true}" provision.reboot_timeout="${3:-4s}" \
	    provision.deploy_host_key="$T/lab/deploy_key.pub"
}
conf none
pin() { jget "$1" '.ssh_host_key.fingerprint // ""'; }
# A host's mount(8) fails (sshd's SetEnv PATH) until unbreak N.
break_mount() {
	mkdir -p "$T/lab/h$1/failbin"
	printf '#!/bin/sh\necho "mount: injected failure" >&2\nexit 32\n' >"$T/lab/h$1/failbin/mount"
	chmod +x "$T/lab/h$1/failbin/mount"
	echo "SetEnv PATH=$T/lab/h$1/failbin:/usr/sbin:/usr/bin:/sbin:/bin" >>"$T/lab/h$1/sshd_config"
	lab_sshd_stop "$1"; lab_sshd_start "$1"
}
unbreak_mount() {
	sed -i '/^SetEnv PATH=/d' "$T/lab/h$1/sshd_config"
	lab_sshd_stop "$1"; lab_sshd_start "$1"
}

LAB_HOSTKEY=$T/lab/deploy_key
export LAB_HOSTKEY
lab_host 1 openssh 64; A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC
lab_host 2 openssh 64; A2=$LAB_ADDR D2=$LAB_DISK M2=$LAB_MAC NS2=$LAB_NS
lab_host 3 openssh 64; A3=$LAB_ADDR D3=$LAB_DISK M3=$LAB_MAC
lab_host 4 openssh 64; A4=$LAB_ADDR D4=$LAB_DISK M4=$LAB_MAC
lab_host 5 openssh 64; A5=$LAB_ADDR D5=$LAB_DISK M5=$LAB_MAC
lab_host 6 openssh 64; A6=$LAB_ADDR D6=$LAB_DISK M6=$LAB_MAC
lab_host 7 openssh 64; A7=$LAB_ADDR D7=$LAB_DISK M7=$LAB_MAC
"$C" inventory add t1 --site s --rack r --unit 1 --mac "$M1" --address "$A1" --disk "$D1"
"$C" inventory add t2 --site s --rack r --unit 2 --mac "$M2" --address "$A2" --disk "$D2"
"$C" inventory add t3 --site s --rack r --unit 3 --mac "$M3" --address "$A3" --disk "$D3"
"$C" inventory add t4 --site s --rack r --unit 4 --mac "$M4" --address "$A4" --disk "$D4"
"$C" inventory add t5 --site s --rack r --unit 5 --mac "$M5" --address "$A5" --disk "$D5"
"$C" inventory add t6 --site s --rack r --unit 6 --mac "$M6" --address "$A6" --disk "$D6"
"$C" inventory add t7 --site s --rack r --unit 7 --mac "$M7" --address "$A7" --disk "$D7"

# -- the deploy key is never a pin -------------------------------------------
ok "t1: provisioned from the deploy environment" "$C" provision t1
K1=$(pin t1)
check "  ...its pin is the key castiron installed, not the deploy key ($K1)" \
    -n "$K1" -a "$K1" != "$DEPLOY_FP"
check "  ...the deploy key was accepted, and said so" \
    "$(jget t1 '[.events[] | select((.reason // "") | test("deploy_host_key; not pinned"))] | length')" -ge 1
# Booted into the deploy environment again (it still presents the deploy
# key), re-imaged with --force, failing at configure:
break_mount 1
fails_with 1 "t1: re-imaged with --force, failing at configure" "$C" provision t1 --force
check "  ...failed at configure" "$(jget t1 '.state + "/" + .step')" = failed/configure
check "  ...the installed system's pin is kept" "$(pin t1)" = "$K1"
unbreak_mount 1

# -- an impostor with the deploy key ---------------------------------------
break_mount 2
fails_with 1 "t2: fails at configure" "$C" provision t2
check "  ...nothing pinned for it (the deploy key is not its own)" -z "$(pin t2)"
unbreak_mount 2
# Another machine holding the deploy image answers at t2's address.
ip -n "$NS2" link set eth0 address 02:00:00:00:66:66
ip neigh flush dev "cp$$h2"
fails_with 1 "t2: resumed, the impostor is refused" sh -c "'$C' provision t2 2>'$T/t2.err'"; sed 's/^/# /' "$T/t2.err"
check "  ...at configure, before the host's key is sent, naming the MAC" \
    "$(grep -c "^castiron provision: t2: failed at configure: .*$M2" "$T/t2.err")" = 1
check "  ...still nothing pinned" -z "$(pin t2)"
check "  ...and no host key written on the disk" \
    -z "$(debugfs -R 'ls -l /etc/ssh' "${D2}p1" 2>/dev/null | grep ssh_host_ed25519_key)"
ip -n "$NS2" link set eth0 address "$M2"
ip neigh flush dev "cp$$h2"
ok "t2: the real host, resumed, is provisioned" "$C" provision t2
check "  ...its host key written on the disk" \
    -n "$(debugfs -R 'ls -l /etc/ssh' "${D2}p1" 2>/dev/null | grep ssh_host_ed25519_key)"
debugfs -R 'cat /etc/ssh/ssh_host_ed25519_key' "${D2}p1" 2>/dev/null >"$T/t2.key"
chmod 600 "$T/t2.key"
check "  ...a private key OpenSSH reads, whose public half is the pin" \
    "$(ssh-keygen -y -f "$T/t2.key" | ssh-keygen -l -E sha256 -f - | awk '{print $2}')" = "$(pin t2)"

# -- --accept-new-hostkey at a resumed reboot --------------------------------
# reboot_command "true": the host never reboots, so the run waits out
# reboot_timeout and fails at reboot; then another key answers.
conf ssh true
fails_with 1 "t3: fails at reboot (never rebooted)" "$C" provision t3
check "  ...failed at reboot" "$(jget t3 '.state + "/" + .step')" = failed/reboot
K3=$(pin t3)
rm -f "$T/lab/h3/ssh_host_ed25519_key" "$T/lab/h3/ssh_host_ed25519_key.pub"
ssh-keygen -q -t ed25519 -N '' -f "$T/lab/h3/ssh_host_ed25519_key"
lab_sshd_stop 3; lab_sshd_start 3
fails_with 1 "t3: resumed with --accept-new-hostkey, a foreign key is refused" \
    sh -c "'$C' provision t3 --accept-new-hostkey 2>'$T/t3.err'"
check "  ...as a host key mismatch naming the installed key" \
    "$(grep -c "failed at reboot: .*mismatch.*$K3" "$T/t3.err")" = 1
check "  ...the pin is unchanged" "$(pin t3)" = "$K3"

# -- a reboot slower than reboot_timeout, then resumed -------------------------
# The host reboots 8 s after the command, past the 4 s timeout: the run
# fails at reboot; once the installed system answers, the resumed run
# finds it up and verifies the marker of the earlier run's configure.
conf ssh "sleep 8 && $(lab_reboot_command)"
fails_with 1 "t4: misses reboot_timeout" "$C" provision t4
check "  ...failed at reboot" "$(jget t4 '.state + "/" + .step')" = failed/reboot
K4=$(pin t4)
installed_up() {
	[ "$(ssh-keyscan -t ed25519 "$A4" 2>/dev/null | ssh-keygen -l -E sha256 -f - 2>/dev/null | awk '{print $2}')" = "$K4" ]
}
wait_for 60 "t4's installed system answers" installed_up || echo "# t4 never answered with its installed key"
ok "t4: resumed, it is found up and verified" sh -c "'$C' provision t4 2>'$T/t4.err'; rc=\$?; sed 's/^/# /' '$T/t4.err'; exit \$rc"
check "  ...active" "$(jget t4 .state)" = active
check "  ...the resumed run verified the earlier run's provisioning id" \
    "$(jget t4 '[.events[] | select(.step == "configure" and ((.reason // "") | startswith("done: provision id")))] | last | .reason | sub("done: provision id "; "")')" = \
    "$(debugfs -R 'cat /etc/castiron/provision-id' "${D4}p1" 2>/dev/null | sed -n 's/^id=//p')"

# -- a host key castiron cannot read -----------------------------------------
# libssh2 may hold no key to give for a session: libssh2_session_hostkey()
# then returns NULL.  tests/lab/nokey.c, preloaded into castiron, makes it
# so for the servers whose keys $LAB_NOKEY lists.  Such a host is refused
# at once with one line saying why, in the deploy phase and in the
# installed one, --accept-new-hostkey or not: nothing is pinned for it,
# nothing is written on its disk, its pin (if any) is kept.
${CC:-cc} -shared -fPIC -o "$T/nokey.so" tests/lab/nokey.c -ldl
# nokey NAME ARGS...: castiron provision ARGS with the listed keys
# unreadable; its stderr in $T/NAME.err.
nokey() {
	_nk=$1; shift
	LAB_NOKEY=$T/nokey.list LD_PRELOAD=$T/nokey.so "$C" provision "$@" \
	    2>"$T/$_nk.err"
	_rc=$?
	sed 's/^/# /' "$T/$_nk.err"
	return $_rc
}
# errs NAME: its error lines (else all it said but the progress lines).
errs() {
	grep '^castiron provision: ' "$T/$1.err" ||
	    grep -v '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T' "$T/$1.err"
}
NOKEY="the host presented no key castiron can read"
conf none
cp "$T/lab/deploy_key.pub" "$T/nokey.list"
W5=$(lab_written 5)
fails_with 1 "t5: its deploy environment's key unreadable: refused" nokey t5a t5
check "  ...in one line saying the key could not be read" \
    "$(errs t5a)" = "castiron provision: t5: failed at inspect: t5: $NOKEY"
fails_with 1 "t5: ...also with --accept-new-hostkey" nokey t5b t5 --accept-new-hostkey
check "  ...in the same one line" \
    "$(errs t5b)" = "castiron provision: t5: failed at inspect: t5: $NOKEY"
check "  ...nothing pinned" -z "$(pin t5)"
check "  ...nothing written on its disk" "$(lab_written 5)" = "$W5"
# The installed system's key unreadable when the host comes back from its
# reboot: listed as soon as configure pins it, and the host reboots only
# once it is listed (its reboot command waits for the list, at most 60 s).
# While the deploy environment still answers the run waits; the key it
# cannot read stops it at once.
cat >"$T/reboot6" <<EOF
for i in \$(seq 600); do [ -s '$T/nokey.list' ] && break; sleep 0.1; done
exec $(lab_reboot_command)
EOF
conf ssh "sh $T/reboot6" 30s
: >"$T/nokey.list"
(
	for _i in $(seq 600); do
		_k=$(jget t6 '.ssh_host_key // empty |
		    select(.fingerprint != "'"$DEPLOY_FP"'") | .type + " " + .key')
		[ -n "$_k" ] && { echo "$_k" >"$T/nokey.new" &&
		    mv "$T/nokey.new" "$T/nokey.list"; exit 0; }
		sleep 0.05
	done
) &
LISTER=$!
fails_with 1 "t6: back from its reboot with a key castiron cannot read: refused" nokey t6a t6
wait "$LISTER"
check "  ...in one line saying the key could not be read" \
    "$(errs t6a)" = "castiron provision: t6: failed at reboot: t6: $NOKEY"
check "  ...its pin is the key configure installed" \
    "$(jget t6 '.ssh_host_key.type + " " + .ssh_host_key.key')" = "$(cat "$T/nokey.list")"
ok "t6: resumed with its key readable: active" "$C" provision t6
# The installed system's key unreadable when a run resumes at reboot: the
# host reboots 8 s after the command, past the 4 s timeout (as t4 above).
conf ssh "sleep 8 && $(lab_reboot_command)"
fails_with 1 "t5: provisioned, misses reboot_timeout" "$C" provision t5
K5=$(pin t5)
installed5() {
	ssh-keyscan -t ed25519 "$A5" 2>/dev/null >"$T/scan5" &&
	    [ "$(ssh-keygen -l -E sha256 -f "$T/scan5" 2>/dev/null | awk '{print $2}')" = "$K5" ]
}
wait_for 60 "t5's installed system answers" installed5 || echo "# t5 never answered with its installed key"
cut -d' ' -f2- "$T/scan5" >"$T/nokey.list"
# What the installed system's ext4 had still to write (atime, at the first
# connections) is written before the count.
sync
W5=$(lab_written 5)
fails_with 1 "t5: resumed, the installed system's key unreadable: refused" nokey t5c t5
check "  ...in one line saying the key could not be read" \
    "$(errs t5c)" = "castiron provision: t5: failed at reboot: t5: $NOKEY"
check "  ...still failed at reboot" "$(jget t5 '.state + "/" + .step')" = failed/reboot
check "  ...the pin kept" "$(pin t5)" = "$K5"
check "  ...nothing written on its disk" "$(sync; lab_written 5)" = "$W5"
ok "t5: resumed with its key readable: active" "$C" provision t5
# ...and when a run resumes at verify: t7's marker is removed from its disk
# (debugfs) while its reboot waits for that (at most 60 s), so that verify
# fails; the resumed run then meets a key it cannot read.
cat >"$T/reboot7" <<EOF
for i in \$(seq 600); do [ -e '$T/marker7.gone' ] && break; sleep 0.1; done
exec $(lab_reboot_command)
EOF
conf ssh "sh $T/reboot7" 30s
at_reboot() { [ "$(jget t7 .step)" = reboot ]; }
(
	wait_for 60 "t7 at reboot" at_reboot
	debugfs -w -R 'rm /etc/castiron/provision-id' "${D7}p1" 2>/dev/null
	: >"$T/marker7.gone"
) &
MARKER7=$!
fails_with 1 "t7: verify fails (its marker removed)" "$C" provision t7
wait "$MARKER7"
check "  ...failed at verify" "$(jget t7 '.state + "/" + .step')" = failed/verify
K7=$(pin t7)
ssh-keyscan -t ed25519 "$A7" 2>/dev/null | cut -d' ' -f2- >"$T/nokey.list"
fails_with 1 "t7: resumed, the installed system's key unreadable: refused" nokey t7a t7
check "  ...in one line saying the key could not be read" \
    "$(errs t7a)" = "castiron provision: t7: failed at verify: t7: $NOKEY"
check "  ...still failed at verify, the pin kept" \
    "$(jget t7 '.state + "/" + .step') $(pin t7)" = "failed/verify $K7"

done_testing
