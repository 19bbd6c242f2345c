# BMC control through IPMI at rack scale: a one-time network boot and a
# power-on for 16 ipmi_sim BMCs (tests/lab/ipmi-lab.sh, chassis without
# machines whose power reads on POWER_DELAY seconds after the request, as
# real chassis lag), by castiron --parallel 16 against --parallel 1, and
# against Debian's ipmitool doing the same one BMC after another (what a
# script around it does) and all 16 at once (16 processes), each ipmitool
# script polling "chassis power status" until on, since ipmitool returns
# at once and castiron returns when the BMC reports on.  Then the UDP
# datagrams the BMC receives for one power-on and for one boot override,
# counted in the lab's namespace (retransmissions included).  Best of
# RUNS; nothing here passes or fails on a timing.
set -u
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/ipmi-lab.sh
RUNS=${RUNS:-2}
N=16
POWER_DELAY=${POWER_DELAY:-1}

for c in ipmi_sim ipmitool; do
	command -v "$c" >/dev/null || { echo "bench bmc_ipmi: needs $c (make deps-bench)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench bmc_ipmi: needs root (the lab's namespace)"; exit 1; }
. bench/common

machine_net_init >/dev/null || { echo "bench bmc_ipmi: no lab network"; exit 1; }
{ printf '[inventory]\ndatabase = %s\n' "$T/inv.db"; ipmi_config_bmc 60s; } >"$T/c.ini"
export CASTIRON_CONFIG="$T/c.ini"
for i in $(seq "$N"); do
	machine_new "$i" >/dev/null &&
	ipmi_bmc_start "$i" --no-qemu --power-delay "$POWER_DELAY" >/dev/null ||
	    { echo "bench bmc_ipmi: BMC $i did not start"; exit 1; }
	ipmi_password "$i" "b$i"
	"$CASTIRON" inventory add "b$i" --site bench --rack r1 --unit "$i" \
	    --serial "$(machine_serial "$i")" --bmc "$BMC_ADDR" >/dev/null
done

all_off() { "$CASTIRON" bmc power --rack r1 off --parallel "$N" >/dev/null 2>&1; }
ipt_one() {	# N: bootdev pxe, power on, then status until on
	ipmi_tool "$1" chassis bootdev pxe >/dev/null &&
	    ipmi_tool "$1" chassis power on >/dev/null || return 1
	for _w in $(seq 600); do
		ipmi_tool "$1" chassis power status | grep -q 'is on$' && return 0
		sleep 0.1
	done
	return 1
}
ipt_serial() { each_in_turn "$N" ipt_one; }
ipt_parallel() { each_at_once "$N" ipt_one; }
ci_parallel() {
	"$CASTIRON" bmc boot --rack r1 pxe --parallel "$1" >/dev/null &&
	    "$CASTIRON" bmc power --rack r1 on --parallel "$1" >/dev/null
}
best() { best_of all_off "$@"; }	# every chassis off before each run

echo "16 IPMI BMCs (ipmi_sim), power reading on ${POWER_DELAY}s late, one-time PXE boot then power on; best of $RUNS"
c16=$(best ci_parallel 16)
c1=$(best ci_parallel 1)
i1=$(best ipt_serial)
i16=$(best ipt_parallel)
printf '  castiron --parallel 16     %7.3f s\n' "$c16"
printf '  castiron --parallel 1      %7.3f s   (--parallel 16 is %sx faster; goal >= 8x)\n' "$c1" "$(ratio "$c1" "$c16")"
printf '  ipmitool, one by one       %7.3f s   (castiron --parallel 16: %sx faster)\n' "$i1" "$(ratio "$i1" "$c16")"
printf '  ipmitool, 16 at once       %7.3f s   (castiron --parallel 16: %sx faster)\n' "$i16" "$(ratio "$i16" "$c16")"

# Datagrams per operation: UDP datagrams received in the lab's namespace
# (only the BMCs receive there).
udp_in() { ip netns exec "$LABM_NS" awk '/^Udp:/ { if (h) { print $2; exit } h = 1 }' /proc/net/snmp; }
counted() {	# command...: the datagrams the BMCs received while it ran
	_u0=$(udp_in)
	"$@" >/dev/null 2>&1
	echo $(( $(udp_in) - _u0 ))
}
ipt_on() {
	ipmi_tool 1 chassis power on >/dev/null || return 1
	for _w in $(seq 600); do
		ipmi_tool 1 chassis power status | grep -q 'is on$' && return 0
		sleep 0.1
	done
}
all_off
c_on=$(counted "$CASTIRON" bmc power b1 on)
all_off
i_on=$(counted ipmi_tool 1 chassis power on)
all_off
i_on_sure=$(counted ipt_on)
c_boot=$(counted "$CASTIRON" bmc boot b1 pxe)
i_boot=$(counted ipmi_tool 1 chassis bootdev pxe)
all_off
echo "UDP datagrams to the BMC for one power-on of an off chassis"
printf '  castiron %3d (one session: probe, RMCP+ setup, status, power up, polls until on, close)\n' "$c_on"
printf '  ipmitool: power on alone %d (castiron/ipmitool %s); power on and status until on %d (%s)\n' \
    "$i_on" "$(ratio "$c_on" "$i_on")" "$i_on_sure" "$(ratio "$c_on" "$i_on_sure")"
echo "UDP datagrams to the BMC for one one-time PXE boot"
printf '  castiron %3d; ipmitool chassis bootdev pxe %d (castiron/ipmitool %s)\n' \
    "$c_boot" "$i_boot" "$(ratio "$c_boot" "$i_boot")"
