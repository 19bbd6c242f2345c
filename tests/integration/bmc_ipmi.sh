# time-limit: 400
# The ipmi BMC driver on QEMU machines behind Debian's ipmi_sim, in a
# network namespace made and removed here (tests/lab/ipmi-lab.sh).  First
# the lab itself is proven with a client no one here wrote (Debian's
# ipmitool -I lanplus); then the driver (through tests/lab/bmc-probe)
# powers, boots and identifies the machines.  Every power and boot
# assertion looks at the VM itself: its QEMU process, QMP query-status
# and its serial console (SeaBIOS, iPXE, the disk's boot-sector marker).
# Weak, lying and silent BMCs are played by tests/lab/ipmi-fakebmc.py.
. tests/lib.sh
IPMI_LAB_SH=tests/lab/ipmi-lab.sh
. tests/lab/ipmi-lab.sh

PROBE=${PROBE:-$PWD/$BUILD/tests/bmc-probe}
for c in ipmi_sim ipmitool qemu-system-x86_64 python3; do
	command -v "$c" >/dev/null || { skip "ipmi lab" "needs $c"; done_testing; exit; }
done
if [ "$(id -u)" -ne 0 ]; then
	skip "ipmi lab" "needs root (network namespaces, taps)"; done_testing; exit
fi
[ -x "$PROBE" ] || { echo "not ok 1 - $PROBE is built"; echo "1..1"; exit 1; }

ipmi_lab_up || { echo "not ok 1 - lab namespace"; echo "1..1"; exit 1; }
setup() {
	ipmi_machine m1 10.77.0.11 --name bmc-m1.lab --serial CI-SER-0001 &&
	ipmi_machine m2 2001:db8:77::12 --default-boot n --serial CI-SER-0002 &&
	ipmi_machine m3 10.77.0.13 --port 1623 --ipmi15 --no-vm
}
setup || { echo "not ok 1 - lab machines"; echo "1..1"; exit 1; }

BIOS='SeaBIOS \(version'
PXE='iPXE \(PCI [0-9a-f:.]+\) starting execution'
DISK1='CASTIRON-DISK-BOOT m1'
DISK2='CASTIRON-DISK-BOOT m2'

probe() {	# MACHINE ARGS...: the driver at MACHINE's BMC
	_m=$1
	shift
	in_ns "$PROBE" -d ipmi -a "$(cat "$T/$_m/bmc")" -u admin \
		-p "$T/$_m/password" -n "$_m" "$@"
}
at() {		# ADDRESS ARGS...: the driver at ADDRESS, m1's credentials
	_a=$1
	shift
	in_ns "$PROBE" -d ipmi -a "$_a" -u admin -p "$T/m1/password" -n m1 "$@"
}
says() {	# MACHINE LINE ARGS...: the driver prints that line
	_m=$1 _want=$2
	shift 2
	probe "$_m" "$@" | grep -qx "$_want"
}
count_is() { [ "$(console_count "$1" "$2")" -eq "$3" ]; }
count_ge() { [ "$(console_count "$1" "$2")" -ge "$3" ]; }
not_running() { ! vm_running "$1"; }
qmp_running() { [ "$(vm_status "$1")" = running ]; }
last_boot_is() {	# MACHINE pxe|default|none: the chassis' last start
	grep ' start boot=' "$T/$1/events.log" | tail -n 1 | grep -q "boot=$2\$"
}

# --- The lab, proven with ipmitool ---------------------------------------
ok "ipmitool: m1's BMC says power off" sh -c "\
	ip netns exec $IPMI_NS ipmitool -I lanplus -C 3 -H 10.77.0.11 -U admin \
	-f $T/m1/password chassis power status | grep -qx 'Chassis Power is off'"
check "no QEMU for m1 yet" ! -f "$T/m1/qemu.pid"
ok "ipmitool power on" ipmitool_m m1 chassis power on
ok "the VM runs (QEMU process)" wait_for 10 "m1's QEMU" vm_running m1
ok "QMP says running" wait_for 10 "QMP" qmp_running m1
ok "its console shows SeaBIOS, then the disk's boot sector" \
	wait_for 30 "the disk marker" count_ge m1 "$DISK1" 1
check "no network boot by default" "$(console_count m1 "$PXE")" -eq 0

b=$(console_count m1 "$BIOS")
ok "ipmitool chassis bootdev pxe" ipmitool_m m1 chassis bootdev pxe
ok "ipmitool chassis power cycle" ipmitool_m m1 chassis power cycle
ok "the next boot runs iPXE (its banner on the console)" \
	wait_for 30 "iPXE" count_is m1 "$PXE" 1
ok "ipmitool power cycle again" ipmitool_m m1 chassis power cycle
ok "the boot after boots the disk" wait_for 60 "a disk boot" \
	count_is m1 "$DISK1" 2
check "... without iPXE: the PXE boot was one-time" \
	"$(console_count m1 "$PXE")" -eq 1
check "three boots in all" "$(console_count m1 "$BIOS")" -eq $((b + 2))
ok "ipmitool power off" ipmitool_m m1 chassis power off
ok "the VM is gone" wait_for 10 "QEMU to exit" not_running m1

# --- The driver ----------------------------------------------------------
ok "bmc-probe: power status says off" says m1 "m1: power off" power status
b=$(console_count m1 "$BIOS")
d=$(console_count m1 "$DISK1")
ok "power on" probe m1 power on
check "QEMU runs once power on returns" "$(vm_running m1 && echo y)" = y
ok "QMP says running" wait_for 10 "QMP" qmp_running m1
ok "a disk boot on the console" wait_for 30 "a disk boot" \
	count_is m1 "$DISK1" $((d + 1))
pid=$(cat "$T/m1/qemu.pid")
ok "power on when on" probe m1 power on
check "... leaves the running VM alone" "$(cat "$T/m1/qemu.pid")" = "$pid"
ok "power status says on" says m1 "m1: power on" power status

x=$(console_count m1 "$PXE")
d=$(console_count m1 "$DISK1")
ok "boot pxe (one-time), then power cycle" probe m1 boot pxe power cycle
ok "the chassis started QEMU for a PXE boot" wait_for 10 "the restart" \
	last_boot_is m1 pxe
ok "iPXE runs on the next boot" wait_for 30 "iPXE" count_is m1 "$PXE" $((x + 1))
ok "power cycle" probe m1 power cycle
ok "the boot after is the disk's" wait_for 60 "a disk boot" \
	count_is m1 "$DISK1" $((d + 1))
check "... with no iPXE: the override was one-time" \
	"$(console_count m1 "$PXE")" -eq $((x + 1))

ok "boot pxe persistent is accepted" probe m1 boot pxe persistent
check "... and reaches the chassis as pxe" \
	"$(grep -c 'set boot pxe' "$T/m1/events.log")" -ge 2
ok "boot disk puts it back" probe m1 boot disk
check "... as the BIOS's disk device" \
	"$(tail -n 3 "$T/m1/events.log" | grep -c 'set boot default')" -eq 1

ok "power off" probe m1 power off
check "the VM is gone when power off returns" "$(vm_running m1 || echo gone)" = gone
ok "power status says off" says m1 "m1: power off" power status
ok "power cycle when off powers on" probe m1 power cycle
ok "... the VM runs" wait_for 10 "QEMU" vm_running m1

# The disk's boot sector knows no ACPI: a soft off must give up after
# power_timeout and power off hard.
t0=$(now_ms)
ok "soft off (power timeout 3 s)" probe m1 -w 3000 power soft-off
took=$(( $(now_ms) - t0 ))
check "... asked the guest first (ACPI power button)" \
	"$(grep -c 'set shutdown 1' "$T/m1/events.log")" -eq 1
check "... waited the power timeout, then no more than 4 s (${took} ms)" \
	"$took" -ge 3000 -a "$took" -le 7000
check "... and the VM is off" "$(vm_running m1 || echo gone)" = gone

# m2: network first by its own firmware, reached over IPv6.
ok "m2 over IPv6 ([ADDR]:PORT): power on" at "[2001:db8:77::12]:623" \
	-n m2 -p "$T/m2/password" power on
ok "m2's firmware boots the network first" wait_for 30 "iPXE on m2" \
	count_ge m2 "$PXE" 1
x=$(console_count m2 "$PXE")
ok "m2 (bare IPv6 address): boot disk, power cycle" at 2001:db8:77::12 \
	-n m2 -p "$T/m2/password" boot disk power cycle
ok "the next boot is the disk's" wait_for 30 "a disk boot on m2" \
	count_ge m2 "$DISK2" 1
check "... without iPXE first" "$(console_count m2 "$PXE")" -eq "$x"
ok "m2 power off" probe m2 power off

probe m1 identity >"$T/id.out" 2>&1
check "identity" $? -eq 0
check "serial from the FRU (the VM's SMBIOS serial)" \
	"$(sed -n 's/^m1: serial //p' "$T/id.out")" = CI-SER-0001
check "manufacturer from the product area" \
	"$(sed -n 's/^m1: manufacturer //p' "$T/id.out")" = Castiron-Lab
check "model from the product area" \
	"$(sed -n 's/^m1: model //p' "$T/id.out")" = QEMU-q35-m1
check "no MACs claimed (IPMI has no standard for them)" \
	"$(grep -c '^m1: macs unknown$' "$T/id.out")" -eq 1

# Security: the strongest suite, refusals, secrets.
check "no session left open on the BMC (ipmitool's own is the one)" \
	"$(bmc_sessions m1)" -eq 1
probe m1 -v power status >"$T/v.out" 2>&1
check "the session uses cipher suite 3, the best of ipmi_sim's 0-14" \
	"$(grep -c 'RMCP+ cipher suite 3 (the BMC offers 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14)' "$T/v.out")" -eq 1

ok "a name (bmc-m1.lab) resolves" at bmc-m1.lab power status
ok "NAME:PORT" at bmc-m1.lab:623 power status
fails_with 2 "an https:// URL is refused as input" at https://10.77.0.11 power status
fails_with 1 "an IPMI 1.5-only BMC is refused" at 10.77.0.13:1623 -p "$T/m3/password" power status
check "... saying why" "$(stderr_of at 10.77.0.13:1623 -p "$T/m3/password" power status |
	grep -c 'only IPMI 1.5')" -eq 1
ok "... and used when the site allows IPMI 1.5 (MD5)" at 10.77.0.13:1623 -5 \
	-p "$T/m3/password" power on
check "... which reached its chassis" "$(grep -c 'set power 1' "$T/m3/events.log")" -eq 1

# A handle idle for longer than half the I/O timeout opens a new session.
probe m1 -v -i 2000 power status sleep 2500 power status \
	>"$T/idle.out" 2>"$T/idle.err"
check "power status, 2.5 s idle, power status (I/O timeout 2 s)" $? -eq 0
check "... answered twice" "$(grep -c '^m1: power off$' "$T/idle.out")" -eq 2
check "... over two sessions" "$(grep -c 'RMCP+ cipher suite 3' "$T/idle.err")" -eq 2
check "... both closed" "$(bmc_sessions m1)" -eq 1

# Weak, lying and silent BMCs.
fake() {	# ADDR LOG OPTIONS...
	_a=$1 _l=$2
	shift 2
	in_ns ip addr add "$_a/24" dev mgmt0
	(in_ns setsid python3 tests/lab/ipmi-fakebmc.py "$_a" 623 "$_l" \
		--pidfile "$_l.pid" "$@" </dev/null >/dev/null 2>&1 &)
	at_exit "kill \$(cat $_l.pid)"
	wait_for 5 "the fake BMC at $_a" test -s "$_l.pid"
}
fake 10.77.0.21 "$T/weak.log" --suites 0,1,2,6,7,11,15,16
fake 10.77.0.22 "$T/lying.log" --suites 0,1,2,3=1/0/0,17=3/4/0
fake 10.77.0.23 "$T/silent.log" --silent
fake 10.77.0.24 "$T/mute.log" --suites 3
fails_with 1 "a BMC offering no suite with integrity and confidentiality" \
	at 10.77.0.21 power status
check "... is refused before any session" "$(grep -c -v -e authcaps -e ciphersuites "$T/weak.log")" -eq 0
check "... saying what it offers" "$(stderr_of at 10.77.0.21 power status |
	grep -c 'offers 0 1 2 6 7 11 15 16')" -eq 1
fails_with 1 "a BMC whose suites 3 and 17 are not what they say is refused" \
	at 10.77.0.22 power status
check "... before any session" "$(grep -c -v -e authcaps -e ciphersuites "$T/lying.log")" -eq 0
t0=$(now_ms)
fails_with 1 "a BMC that answers nothing" at 10.77.0.23 -c 1000 power status
took=$(( $(now_ms) - t0 ))
check "... times out within the connect timeout (${took} ms, bound 1000 + 1500)" \
	"$took" -le 2500
t0=$(now_ms)
fails_with 1 "nothing on the port" at 10.77.0.11:9999 -c 1000 power status
took=$(( $(now_ms) - t0 ))
check "... times out within the connect timeout (${took} ms, bound 1000 + 1500)" \
	"$took" -le 2500
t0=$(now_ms)
fails_with 1 "a BMC that never opens a session" at 10.77.0.24 -c 1000 -i 1000 power status
took=$(( $(now_ms) - t0 ))
check "... times out within connect + I/O timeouts (${took} ms, bound 2000 + 1500)" \
	"$took" -le 3500
check "... saying so" "$(stderr_of at 10.77.0.24 -c 1000 -i 1000 power status |
	grep -c 'opening a session: no answer from the BMC within 1000 ms')" -eq 1

# Wrong passwords last: a refused login leaves a half-open session on the
# BMC until it times it out, which the counts above would see.
head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong"
chmod 600 "$T/wrong"
fails_with 1 "ipmitool with a wrong password is refused" in_ns ipmitool \
	-I lanplus -C 3 -H 10.77.0.11 -U admin -f "$T/wrong" chassis power status
t0=$(now_ms)
in_ns "$PROBE" -d ipmi -a 10.77.0.11 -u admin -p "$T/wrong" -n m1 \
	power status >"$T/wrong.out" 2>"$T/wrong.err"
rc=$?
took=$(( $(now_ms) - t0 ))
check "wrong password: exit 1" "$rc" -eq 1
check "... one line" "$(wc -l <"$T/wrong.err")" -eq 1
check "... naming the host, the BMC and the refusal" \
	"$(grep -c "m1: bmc 10.77.0.11: the BMC refused user 'admin' or its password" "$T/wrong.err")" -eq 1
check "... without the password tried" "$(grep -c -F -f "$T/wrong" "$T/wrong.err")" -eq 0
check "... nor the real one" "$(grep -c -F -f "$T/m1/password" "$T/wrong.err")" -eq 0
check "... at once, no retries (${took} ms)" "$took" -lt 2000

for m in m1 m2 m3; do
	check "$m's ipmi_sim is still alive" -d "/proc/$(cat "$T/$m/ipmi_sim.pid")"
done
done_testing
