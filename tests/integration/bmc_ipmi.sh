# castiron bmc through the ipmi driver, on QEMU machines behind Debian's
# ipmi_sim (tests/lab/machine.sh, tests/lab/ipmi-lab.sh).  First the lab
# itself is proven with a client no one here wrote (ipmitool -I lanplus);
# then castiron powers, boots and identifies the machines.  Every power
# and boot assertion looks at the machine: its QEMU process, QMP
# query-status, its serial console (iPXE's banner, the disk's marker).
# Weak, lying and silent BMCs are played by tests/lab/ipmi-fakebmc.py.
# time-limit: 400
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/ipmi-lab.sh

for c in ipmi_sim ipmitool qemu-system-x86_64 python3 jq; do
	command -v "$c" >/dev/null || { skip "ipmi lab" "needs $c"; done_testing; exit; }
done
if [ "$(id -u)" -ne 0 ]; then
	skip "ipmi lab" "needs root (network namespaces, taps)"; done_testing; exit
fi
PROBE=$PWD/$BUILD/tests/bmc-probe
[ -x "$PROBE" ] || { echo "not ok 1 - $PROBE is built"; echo "1..1"; exit 1; }
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
setup() {
	machine_new 1 --mem 128 && S1=$M_SERIAL MARK1=$M_MARKER &&
	ipmi_bmc_start 1 && A1=$BMC_ADDR &&
	machine_new 2 --mem 128 && S2=$M_SERIAL MARK2=$M_MARKER &&
	ipmi_bmc_start 2 --addr "$IPMI_V6::12" --default-boot n && A2=$BMC_ADDR &&
	machine_new 3 && S3=$M_SERIAL &&
	ipmi_bmc_start 3 --port 1623 --ipmi15 --no-qemu && A3=$BMC_ADDR
}
setup || { echo "not ok 1 - lab machines and BMCs"; echo "1..1"; exit 1; }

# --- The lab, proven with ipmitool ---------------------------------------
check "ipmitool: machine 1's BMC says off" \
	"$(ipmi_tool 1 chassis power status)" = "Chassis Power is off"
check "  ...and there is no QEMU" "$(machine_status 1)" = off
machine_mark 1
ok "ipmitool chassis power on" ipmi_tool 1 chassis power on
ok "  ...QEMU runs" wait_for 10 "QEMU" machine_running 1
check "  ...QMP says running" "$(machine_status 1)" = running
ok "  ...and boots the disk (its marker)" machine_wait 1 30 "$MARK1"
check "  ...not the network" "$(machine_since 1 | grep -cF "$LABM_PXE")" = 0
ok "ipmitool chassis bootdev pxe" ipmi_tool 1 chassis bootdev pxe
machine_mark 1
ok "ipmitool chassis power cycle" ipmi_tool 1 chassis power cycle
ok "  ...the next boot is a network boot (iPXE's banner)" machine_wait 1 30 "$LABM_PXE"
machine_mark 1
ok "ipmitool chassis power cycle" ipmi_tool 1 chassis power cycle
ok "  ...the boot after is the disk's" machine_wait 1 60 "$MARK1"
check "  ...not the network again: the PXE boot was one-time" \
	"$(machine_since 1 | grep -cF "$LABM_PXE")" = 0
ok "ipmitool chassis power off" ipmi_tool 1 chassis power off
gone1() { ! machine_running 1; }
ok "  ...QEMU is gone" wait_for 10 "QEMU to exit" gone1

# --- castiron bmc ----------------------------------------------------------
for n in 1 2 3; do ipmi_password "$n" "m$n"; done
cfg() {	# FILE EXTRA-[bmc]-LINES [POWER_TIMEOUT]
	{ printf '[inventory]\ndatabase = %s\n' "$T/inv.db"
	  ipmi_config_bmc "${3:-}"; echo "$2"; } >"$1"
}
cfg "$T/c.ini" ""
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
"$C" inventory add m1 --site lab --serial "$S1" --bmc "$A1" >/dev/null &&
"$C" inventory add m2 --site lab --serial "$S2" --bmc "$A2" >/dev/null &&
"$C" inventory add m3 --site lab --serial "$S3" --bmc "$A3" >/dev/null ||
    { echo "not ok - enrolment"; done_testing; exit 1; }
power_of() { "$C" bmc power "$1" status --format json | jq -r '.[0].power'; }

check "castiron says off" "$(power_of m1)" = off
machine_mark 1
ok "power on" "$C" bmc power m1 on
check "  ...QEMU runs when it returns" "$(machine_status 1)" = running
ok "  ...and boots the disk" machine_wait 1 30 "$MARK1"
pid=$(machine_pid 1)
ok "power on when on" "$C" bmc power m1 on
check "  ...leaves the machine alone" "$(machine_pid 1)" = "$pid"
check "castiron says on" "$(power_of m1)" = on

ok "boot pxe (one-time)" "$C" bmc boot m1 pxe
check "  ...the BMC's chassis has it" "$(ipmi_events 1 | tail -n 1 | cut -d' ' -f2-)" = "set boot pxe"
machine_mark 1
ok "power cycle" "$C" bmc power m1 cycle
ok "  ...the next boot is a network boot" machine_wait 1 30 "$LABM_PXE"
machine_mark 1
ok "power cycle" "$C" bmc power m1 cycle
ok "  ...the boot after is the disk's" machine_wait 1 60 "$MARK1"
check "  ...and not the network again" "$(machine_since 1 | grep -cF "$LABM_PXE")" = 0
ok "boot pxe --persistent" "$C" bmc boot m1 pxe --persistent
ok "boot disk" "$C" bmc boot m1 disk
check "  ...the chassis has the BIOS's disk device" \
	"$(ipmi_events 1 | tail -n 1 | cut -d' ' -f2-)" = "set boot default"

ok "power off" "$C" bmc power m1 off
check "  ...QEMU is gone when it returns" "$(machine_status 1)" = off
check "castiron says off" "$(power_of m1)" = off
ok "power cycle when off powers on" "$C" bmc power m1 cycle
check "  ...QEMU runs" "$(machine_status 1)" = running
ok "  ...and boots" machine_wait 1 30 "$MARK1"

# The disk's boot sector powers off on the ACPI power button.  (Counts of
# chassis calls are "at least": a retransmitted request, a new one in
# IPMI, reaches the chassis again.)
shutdowns() { ipmi_events 1 | grep -c 'set shutdown 1'; }
s0=$(shutdowns)
t0=$(now_ms)
ok "soft-off" "$C" bmc power m1 soft-off
took=$(( $(now_ms) - t0 ))
check "  ...through the guest (ACPI), in ${took} ms, before power_timeout" \
	"$took" -lt 10000
check "  ...which the chassis passed on" "$(shutdowns)" -gt "$s0"
check "  ...and QEMU is gone" "$(machine_status 1)" = off
# One that ignores ACPI: soft-off ends in a hard off after power_timeout.
machine_new 1 --mem 128 --ignore-powerdown >/dev/null
cfg "$T/short.ini" "" 3s
ok "power on (a disk that ignores ACPI)" "$C" bmc power m1 on
ok "  ...boots" machine_wait 1 30 "$MARK1"
s0=$(shutdowns)
t0=$(now_ms)
ok "soft-off (power_timeout 3 s)" "$C" -c "$T/short.ini" bmc power m1 soft-off
took=$(( $(now_ms) - t0 ))
check "  ...waited power_timeout, then powered off hard (${took} ms, 3000 to 7000)" \
	"$took" -ge 3000 -a "$took" -le 7000
check "  ...asked the guest first" "$(shutdowns)" -gt "$s0"
check "  ...and QEMU is gone" "$(machine_status 1)" = off

# SIGINT during that wait: castiron stops waiting, and closes its session.
ok "power on again" "$C" bmc power m1 on
ok "  ...boots" machine_wait 1 30 "$MARK1"
"$C" bmc power m1 soft-off >/dev/null 2>"$T/int.err" &
cpid=$!
sleep 1.5
kill -INT "$cpid"
t0=$(now_ms)
wait "$cpid"
rc=$?
took=$(( $(now_ms) - t0 ))
check "SIGINT during soft-off's wait: exit 1" "$rc" -eq 1
check "  ...at once (${took} ms)" "$took" -lt 3000
check "  ...saying so" "$(grep -c 'm1: bmc .*interrupted' "$T/int.err")" = 1
check "  ...the session closed all the same" "$(ipmi_sessions 1)" = 1
ok "power off" "$C" bmc power m1 off

# Machine 2: its firmware boots the network first; its BMC is on IPv6.
machine_mark 2
ok "m2 ([IPV6]:PORT): power on" "$C" bmc power m2 on
ok "  ...its firmware boots the network" machine_wait 2 30 "$LABM_PXE"
machine_mark 2
ok "m2: boot disk, power cycle" sh -c "'$C' bmc boot m2 disk && '$C' bmc power m2 cycle"
ok "  ...boots the disk" machine_wait 2 30 "$MARK2"
check "  ...without the network first" "$(machine_since 2 | grep -cF "$LABM_PXE")" = 0
ok "m2: power off" "$C" bmc power m2 off

"$C" bmc identity m1 m2 --format json >"$T/id.json"
check "identity of m1 and m2: both match their enrolment" $? -eq 0
check "  ...serial from the FRU (the machine's SMBIOS serial)" \
	"$(jq -r '.[0].serial' "$T/id.json")" = "$S1"
check "  ...manufacturer and model from the FRU's product area" \
	"$(jq -r '.[1].manufacturer + "/" + .[1].model' "$T/id.json")" = "Castiron Lab/QEMU q35 TCG"
check "  ...no MACs claimed (IPMI has no standard command for them)" \
	"$(jq -r '.[0].macs' "$T/id.json")" = "(not told)"
"$C" inventory add m1-again --site lab --serial WRONG-SERIAL --bmc "$A1:623" >/dev/null
ipmi_password 1 m1-again
"$C" bmc identity m1-again >/dev/null 2>"$T/mm.err"
check "a serial mismatch: exit 1" $? -eq 1
check "  ...named" "$(grep -c 'serial: enrolled WRONG-SERIAL, BMC says '"$S1" "$T/mm.err")" = 1

"$C" -v -v bmc power m1 status >/dev/null 2>"$T/v.err"
check "the session uses cipher suite 3, the strongest of ipmi_sim's 0-14" \
	"$(grep -c 'RMCP+ cipher suite 3 (the BMC offers 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14)' "$T/v.err")" = 1
check "no session left open on the BMC (ipmitool's own is the one)" \
	"$(ipmi_sessions 1)" = 1

# A BMC name, resolved by castiron itself (names of the lab namespace).
mkdir -p "/etc/netns/$LABM_NS"
at_exit "rm -rf /etc/netns/$LABM_NS"
echo "$LABM_MGMT.11 bmc-m1.lab" >"/etc/netns/$LABM_NS/hosts"
"$C" inventory add m1-named --site lab --bmc bmc-m1.lab >/dev/null
"$C" inventory add m1-port --site lab --bmc bmc-m1.lab:623 >/dev/null
ipmi_password 1 m1-named
ipmi_password 1 m1-port
ok "a BMC NAME and NAME:PORT" ip netns exec "$LABM_NS" "$C" bmc power m1-named m1-port status

# IPMI 1.5: refused, unless the site allows it.
"$C" bmc power m3 status >/dev/null 2>"$T/15.err"
check "an IPMI 1.5-only BMC is refused: exit 1" $? -eq 1
check "  ...saying why" "$(grep -c 'm3: bmc .*: the BMC speaks only IPMI 1.5' "$T/15.err")" = 1
check "  ...before its chassis heard anything" "$(ipmi_events 3 | grep -c set)" = 0
cfg "$T/v15.ini" "allow_ipmi15 = yes"
ok "with allow_ipmi15 = yes it is used (MD5): power on" "$C" -c "$T/v15.ini" bmc power m3 on
check "  ...which its chassis did" "$(ipmi_events 3 | grep -c 'set power 1')" -ge 1

# A handle idle for longer than half the I/O timeout opens a new session.
"$PROBE" -v -i 2000 -d ipmi -a "$A1" -u admin -p "$T/bmc.d/m1" -n m1 \
	power status sleep 2500 power status >"$T/idle.out" 2>"$T/idle.err"
check "power status, 2.5 s idle, power status (I/O timeout 2 s)" $? -eq 0
check "  ...answered twice" "$(grep -c '^m1: power off$' "$T/idle.out")" = 2
check "  ...over two sessions" "$(grep -c 'RMCP+ cipher suite 3' "$T/idle.err")" = 2
check "  ...both closed" "$(ipmi_sessions 1)" = 1

# Weak, lying and silent BMCs.
fake() {	# N LOG OPTIONS...: a fake BMC at $LABM_MGMT.N, host fN
	_fn=$1 _fl=$2
	shift 2
	ip -n "$LABM_NS" addr add "$LABM_MGMT.$_fn/24" dev brm
	(ip netns exec "$LABM_NS" setsid python3 tests/lab/ipmi-fakebmc.py \
	    "$LABM_MGMT.$_fn" 623 "$_fl" --pidfile "$_fl.pid" "$@" \
	    </dev/null >/dev/null 2>&1 &)
	at_exit "kill \$(cat $_fl.pid)"
	"$C" inventory add "f$_fn" --site lab --bmc "$LABM_MGMT.$_fn" >/dev/null
	ipmi_password 1 "f$_fn"
	wait_for 5 "the fake BMC at $LABM_MGMT.$_fn" test -s "$_fl.pid"
}
fake 21 "$T/weak.log" --suites 0,1,2,6,7,11,15,16
fake 22 "$T/lying.log" --suites 0,1,2,3=1/0/0,17=3/4/0
fake 23 "$T/silent.log" --silent
fake 24 "$T/mute.log" --suites 3
fake 25 "$T/best.log" --suites 0,1,2,3,8,12,17
fake 26 "$T/sha1.log" --suites 0,1,2,12,8,3
"$C" bmc power f21 status >/dev/null 2>"$T/f21.err"
check "a BMC offering no suite with integrity and confidentiality: exit 1" $? -eq 1
check "  ...saying what it offers" "$(grep -c 'offers 0 1 2 6 7 11 15 16' "$T/f21.err")" = 1
check "  ...refused before any session" \
	"$(grep -c -v -e authcaps -e ciphersuites "$T/weak.log")" = 0
fails_with 1 "a BMC whose suites 3 and 17 are not what they claim" "$C" bmc power f22 status
check "  ...refused before any session" \
	"$(grep -c -v -e authcaps -e ciphersuites "$T/lying.log")" = 0
t0=$(now_ms)
fails_with 1 "a BMC that answers nothing" "$C" bmc power f23 status
took=$(( $(now_ms) - t0 ))
check "  ...given up within connect_timeout (${took} ms, bound 2000 + 1500)" "$took" -le 3500
t0=$(now_ms)
"$C" bmc power f24 status >/dev/null 2>"$T/f24.err"
rc=$?
took=$(( $(now_ms) - t0 ))
check "a BMC that never opens a session: exit 1" "$rc" -eq 1
check "  ...given up within connect + io timeouts (${took} ms, bound 5000 + 1500)" \
	"$took" -le 6500
check "  ...saying so" "$(grep -c 'opening a session: no answer from the BMC within 3000 ms' "$T/f24.err")" = 1

"$C" -c "$T/short.ini" bmc power f25 status >/dev/null 2>&1
check "of 3, 8, 12 and 17 castiron proposes 17 (SHA-256, AES)" \
	"$(grep '^open-session' "$T/best.log" | sort -u)" = "open-session 3/4/1"
"$C" -c "$T/short.ini" bmc power f26 status >/dev/null 2>&1
check "of 12, 8 and 3 it proposes 3 (SHA-1, AES)" \
	"$(grep '^open-session' "$T/sha1.log" | sort -u)" = "open-session 1/1/1"

# Many hosts at once, one failing.
"$C" bmc power m1 m2 f23 status --parallel 3 --format json >"$T/many.json" 2>"$T/many.err"
check "m1, m2 and a silent BMC at once: exit 1" $? -eq 1
check "  ...m1 and m2 answered" "$(jq -r '[.[] | select(.result == "ok") | .hostname] | join(" ")' "$T/many.json")" = "m1 m2"
check "  ...one line for the failure, naming f23" \
	"$(grep -c "f23: bmc $LABM_MGMT.23: no answer" "$T/many.err")" = 1

# Wrong passwords last: a refused login leaves a half-open session on the
# BMC until it times it out, which the session counts above would see.
mkdir -m 700 "$T/wrong.d"
od -An -tx1 -N8 /dev/urandom | tr -d ' \n' >"$T/wrong.d/m1"
chmod 600 "$T/wrong.d/m1"
fails_with 1 "ipmitool with a wrong password is refused" ipmitool -I lanplus -C 3 \
	-H "$LABM_MGMT.11" -U admin -f "$T/wrong.d/m1" chassis power status
cfg "$T/wrong.ini" ""
sed -i "s|^password_dir = .*|password_dir = $T/wrong.d|" "$T/wrong.ini"
t0=$(now_ms)
"$C" -c "$T/wrong.ini" bmc power m1 status >"$T/wrong.out" 2>"$T/wrong.err"
rc=$?
took=$(( $(now_ms) - t0 ))
check "castiron with a wrong password: exit 1" "$rc" -eq 1
check "  ...one line" "$(wc -l <"$T/wrong.err")" -eq 1
check "  ...naming the host, the BMC and the refusal" \
	"$(grep -c "m1: bmc $A1: the BMC refused user 'admin' or its password" "$T/wrong.err")" = 1
check "  ...without the password tried" "$(cat "$T/wrong.out" "$T/wrong.err" | grep -c -F -f "$T/wrong.d/m1")" = 0
check "  ...nor the real one" "$(cat "$T/wrong.out" "$T/wrong.err" | grep -c -F -f "$T/bmc.d/m1")" = 0
check "  ...at once, no retries (${took} ms)" "$took" -lt 2000

for n in 1 2 3; do
	ok "machine $n's ipmi_sim is still alive" ipmi_bmc_alive "$n"
done
done_testing
