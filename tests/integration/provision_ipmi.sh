# provision with power = bmc and reboot = bmc through the ipmi driver:
# real sshd hosts in namespaces (tests/lab/provlab.sh) stand for the
# deploy environment, each behind Debian's ipmi_sim (tests/lab/ipmi-lab.sh,
# a chassis without a machine).  The BMC's restart of the host is what
# reboots it: a watcher plays the firmware, booting the host into its
# installed system when the chassis is started with a disk boot pending.
# Asserts what the chassis saw (the boot devices and the starts, in
# order), the host's state and events, and that a BMC whose serial is not
# the enrollment's stops the host at power with its disk untouched and
# nothing asked of the chassis.
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/ipmi-lab.sh
. tests/lab/labconf.sh

lab_need "provision through IPMI" ipmi_sim ipmitool jq
lab_init
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
tests/lab/mkosimage "$T/os.img" 48 4
# The hosts' deploy environment is a site's own (not castiron's network
# boot, which checks in): it shares one host key, the configured
# deploy_host_key.
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$T/lab/deploy_key"
LAB_HOSTKEY=$T/lab/deploy_key
export LAB_HOSTKEY
for n in 1 2; do
	lab_bmc_host "$n" ipmi || { echo "not ok 1 - BMC $n"; echo "1..1"; exit 1; }
	eval "A$n=\$LAB_ADDR D$n=\$LAB_DISK M$n=\$LAB_MAC B$n=\$BMC_ADDR"
done
lab_config bmc=ipmi bmc.power_timeout=20s provision.deploy_host_key="$T/lab/deploy_key.pub"
disk_state() { echo "$(lab_written "$1") $(lab_sha "$(cat "$T/lab/h$1/loop")" 0)"; }
chassis() {	# N: what the chassis was asked and did, in order, on one line
	ipmi_events "$1" | cut -d' ' -f2- |
	    grep -e '^set boot' -e '^set power' -e '^set reset' -e '^start' |
	    uniq | tr '\n' ',' | sed 's/,$//'
}

"$C" inventory add h1 --site s --rack r --unit 1 --serial LAB-SN-0001 --bmc "$B1" \
    --mac "$M1" --address "$A1" --disk "$D1" >/dev/null
"$C" inventory add h2 --site s --rack r --unit 2 --serial LAB-SN-9999 --bmc "$B2" \
    --mac "$M2" --address "$A2" --disk "$D2" >/dev/null

# The firmware of host N: when its chassis starts with a disk boot
# pending, the host boots its installed system.
disk_start() { ipmi_events "$1" | grep -q ' start boot=default$'; }
firmware() { lab_firmware "$2" disk_start "$1"; }	# N ADDR

# -- a host whose BMC reports another serial: nothing powered, disk untouched --
before2=$(disk_state 2)
fails_with 1 "h2: the BMC's serial is not the enrollment's" "$C" provision h2
check "  ...one line naming both serials" -n "$(grep 'h2: bmc .*serial mismatch: enrolled LAB-SN-9999, the BMC says LAB-SN-0002; nothing powered' "$T/.out")"
check "  ...failed at power" "$(jget h2 '.state + " " + .step')" = "failed power"
check "  ...its chassis was asked nothing" "$(chassis 2)" = ""
check "  ...the disk untouched" "$(disk_state 2)" = "$before2"
check "  ...no session left open (ipmitool's own is the one)" "$(ipmi_sessions 2)" = 1

# -- h1: powered on into its deploy environment, imaged, rebooted by the BMC --
firmware 1 "$A1" >"$T/firmware.log" 2>&1 &
fw=$!
at_exit "kill $fw 2>/dev/null"
ok "h1: provisioned through its IPMI BMC" "$C" provision h1
wait $fw
check "  ...active" "$(jget h1 .state)" = active
check "  ...the chassis: a PXE boot and power on, then a disk boot and a power cycle" \
    "$(chassis 1)" = "set boot pxe,set power 1,start boot=pxe,set boot default,set power 0,set power 1,start boot=default"
check "  ...the power step's note" \
    -n "$(jget h1 '.events[] | select(.step == "power") | .reason' | grep 'one-time pxe boot set; powered on')"
check "  ...the reboot step set the disk boot" \
    -n "$(jget h1 '.events[] | select(.step == "reboot") | .reason' | grep 'one-time disk boot set; restarted')"
check "  ...no session left open" "$(ipmi_sessions 1)" = 1
check "  ...its network boot was armed with a one-time token" -f "$T/state/boot/h1.boot"
for n in 1 2; do
	ok "BMC $n's ipmi_sim is still alive" ipmi_bmc_alive "$n"
done
done_testing
