# The IPMI lab: QEMU machines, each behind its own ipmi_sim (Debian's
# openipmi) whose chassis is tests/lab/ipmi-chassis, on a management
# network inside a network namespace the test makes and removes.  Source
# it after tests/lib.sh (it uses $T and at_exit).
#
#   ipmi_lab_up                 the namespace $IPMI_NS: loopback, a bridge
#                               as the management interface (10.77.0.0/24,
#                               2001:db8:77::/64) and a bridge for the
#                               machines' NICs; names in /etc/netns/$IPMI_NS
#   ipmi_machine NAME ADDR [options]
#                               a machine and its BMC listening on ADDR
#                               (IPv4 or IPv6, port 623 unless --port):
#       --serial S --mac M      its SMBIOS/FRU serial and NIC
#       --default-boot c|n      the firmware's own order (disk or network)
#       --ipmi15                a BMC without RMCP+ (no GUID: ipmi_sim then
#                               speaks IPMI 1.5 only)
#       --no-vm                 the chassis script only, never a QEMU
#   in_ns CMD...                runs CMD inside the namespace
#   vm_running NAME             its QEMU process exists
#   vm_status NAME              QMP query-status "status" (running, ...)
#   console_count NAME REGEX    lines of its serial console matching REGEX
#   bmc_sessions NAME           active sessions its BMC reports (ipmitool)
#   ipmitool_m NAME ARGS...     Debian's ipmitool -I lanplus at NAME's BMC,
#                               its password from a file, cipher suite 3
#
# Each machine lives in $T/NAME: machine.conf, lan.conf, emu, fru.bin,
# disk.img (a boot sector printing "CASTIRON-DISK-BOOT NAME"), password
# (mode 600), console.log, events.log (every chassis call), qemu.log,
# ipmi_sim.log.  The BMC user is "admin" with the password in
# $T/NAME/password; its lan.conf holds it too, as ipmi_sim needs.

IPMI_LAB=$(cd "$(dirname "${IPMI_LAB_SH:-tests/lab/ipmi-lab.sh}")" && pwd)
IPMI_NS=ci-ipmi-$$
IPMI_BR=prov0
IPMI_USER=admin
IPMI_NMACHINES=0

in_ns() { ip netns exec "$IPMI_NS" "$@"; }

ipmi_lab_up() {
	ip netns add "$IPMI_NS" || return 1
	at_exit "ipmi_lab_down"
	in_ns ip link set lo up &&
	in_ns ip link add mgmt0 type bridge &&
	in_ns ip link set mgmt0 up &&
	in_ns ip link add "$IPMI_BR" type bridge &&
	in_ns ip link set "$IPMI_BR" up || return 1
	mkdir -p "/etc/netns/$IPMI_NS"
	: >"/etc/netns/$IPMI_NS/hosts"
}

ipmi_lab_down() {
	for d in "$T"/*/; do
		[ -f "$d/machine.conf" ] || continue
		pid=$(cat "$d/ipmi_sim.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
		pid=$(cat "$d/qemu.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	done
	sleep 0.2
	for d in "$T"/*/; do
		pid=$(cat "$d/qemu.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null
	done
	ip netns del "$IPMI_NS" 2>/dev/null
	rm -rf "/etc/netns/$IPMI_NS"
}

# ipmi_machine NAME ADDR [--port P] [--serial S] [--mac M]
#     [--default-boot c|n] [--ipmi15] [--no-vm] [--name DNSNAME]
ipmi_machine() {
	name=$1 addr=$2
	shift 2
	port=623 serial="CI-$name-0001" mac="" defboot=c guid=yes vm=yes dns=""
	while [ $# -gt 0 ]; do
		case $1 in
		--port) port=$2; shift ;;
		--serial) serial=$2; shift ;;
		--mac) mac=$2; shift ;;
		--default-boot) defboot=$2; shift ;;
		--ipmi15) guid="" ;;
		--no-vm) vm="" ;;
		--name) dns=$2; shift ;;
		esac
		shift
	done
	d=$T/$name
	mkdir -p "$d/state"
	IPMI_NMACHINES=$((IPMI_NMACHINES + 1))
	[ -n "$mac" ] || mac=$(printf '52:54:00:77:00:%02x' "$IPMI_NMACHINES")
	case $addr in
	*:*) in_ns ip -6 addr add "$addr/64" dev mgmt0 nodad ;;
	*) in_ns ip addr add "$addr/24" dev mgmt0 ;;
	esac || return 1
	[ -z "$dns" ] || echo "$addr $dns" >>"/etc/netns/$IPMI_NS/hosts"
	tap=tap-$name
	in_ns ip tuntap add "$tap" mode tap &&
	in_ns ip link set "$tap" master "$IPMI_BR" &&
	in_ns ip link set "$tap" up || return 1
	# A password of the BMC's own, never on a command line.
	head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/password"
	chmod 600 "$d/password"
	cat >"$d/machine.conf" <<EOF
NAME=$name
SERIAL=$serial
MANUFACTURER=Castiron-Lab
MODEL=QEMU-q35-$name
MAC=$mac
TAP=$tap
DEFAULT_BOOT=$defboot
EOF
	python3 "$IPMI_LAB/ipmi-lab.py" fru "$d/fru.bin" "$serial" Castiron-Lab \
		"QEMU-q35-$name" || return 1
	python3 "$IPMI_LAB/ipmi-lab.py" disk "$d/disk.img" \
		"CASTIRON-DISK-BOOT $name" || return 1
	{
		echo "name \"$name\""
		echo "set_working_mc 0x20"
		echo "  startlan 1"
		echo "    addr $addr $port"
		echo "    priv_limit admin"
		echo "    allowed_auths_callback md5"
		echo "    allowed_auths_user md5"
		echo "    allowed_auths_operator md5"
		echo "    allowed_auths_admin md5"
		[ -z "$guid" ] || echo "    guid $(echo "$name" | md5sum | cut -c1-32)"
		echo "  endlan"
		echo "  chassis_control \"$IPMI_LAB/ipmi-chassis $d\""
		echo "  user 2 true \"$IPMI_USER\" \"$(cat "$d/password")\" admin 10 md5"
	} >"$d/lan.conf"
	chmod 600 "$d/lan.conf"
	[ -n "$vm" ] || echo "NO_VM=1" >>"$d/machine.conf"
	cat >"$d/emu" <<EOF
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_add_fru_data 0x20 0 256 file 0 "$d/fru.bin"
mc_enable 0x20
EOF
	echo "$addr" >"$d/bmc.addr"
	case $addr in *:*) a="[$addr]" ;; *) a=$addr ;; esac
	[ "$port" = 623 ] && echo "$a" >"$d/bmc" || echo "$a:$port" >"$d/bmc"
	echo "$port" >"$d/bmc.port"
	in_ns setsid ipmi_sim -n -c "$d/lan.conf" -f "$d/emu" -s "$d/state" \
		</dev/null >"$d/ipmi_sim.log" 2>&1 &
	echo $! >"$d/ipmi_sim.pid"
	# Up once its UDP port is bound.
	wait_for 10 "ipmi_sim of $name" sh -c \
		"ip netns exec $IPMI_NS ss -uln | grep -q ':$port '"
}

vm_running() {	# a zombie QEMU (exited, not yet reaped) has no cmdline
	pid=$(cat "$T/$1/qemu.pid" 2>/dev/null) && [ -n "$pid" ] &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-name $1 "
}

vm_status() {
	python3 "$IPMI_LAB/ipmi-lab.py" qmp "$T/$1/qmp.sock" query-status |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'
}

console_count() {
	[ -f "$T/$1/console.log" ] || { echo 0; return; }
	tr -d '\r' <"$T/$1/console.log" | grep -a -c -E "$2"
}

ipmitool_m() {
	m=$1
	shift
	in_ns ipmitool -I lanplus -C 3 -H "$(cat "$T/$m/bmc.addr")" \
		-p "$(cat "$T/$m/bmc.port")" -U "$IPMI_USER" -f "$T/$m/password" "$@"
}

bmc_sessions() {
	ipmitool_m "$1" session info all 2>/dev/null |
		sed -n 's/^active sessions *: *//p' | head -n 1
}
