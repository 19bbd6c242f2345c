# provision with power = bmc and reboot = bmc: real sshd hosts in
# namespaces (tests/lab/provlab.sh) stand for the deploy environment, each
# behind an emulated Redfish BMC (tests/lab/machine.sh, simulated machine).
# The BMC's reset of the host is what reboots it: a watcher plays the
# firmware, booting the host into its installed system when the BMC
# restarts it with a disk boot set.  Asserts what the BMC saw (the boot
# override and the resets, in order), the host's state and events, and
# that a BMC whose serial is not the enrollment's stops the host at power
# with its disk untouched and nothing powered.
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/labconf.sh

lab_need "provision through the BMC"
lab_init
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
tests/lab/mkosimage "$T/os.img" 48 4

# The hosts' deploy environment is a site's own (not castiron's network
# boot, which checks in: boot_serve.sh): it shares one host key, the
# configured deploy_host_key.
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$T/lab/deploy_key"
LAB_HOSTKEY=$T/lab/deploy_key
export LAB_HOSTKEY
for n in 1 2 3; do
	lab_bmc_host "$n" redfish || { echo "not ok 1 - lab host $n"; echo "1..1"; exit 1; }
	eval "A$n=\$LAB_ADDR D$n=\$LAB_DISK M$n=\$LAB_MAC B$n=\$BMC_ADDR"
done
lab_config provision.deploy_host_key="$T/lab/deploy_key.pub" bmc.power_timeout=20s
disk_state() { echo "$(lab_written "$1") $(lab_sha "$(cat "$T/lab/h$1/loop")" 0)"; }

"$C" inventory add h1 --site s --rack r --unit 1 --serial LAB-SN-0001 --bmc "$B1" \
    --mac "$M1" --address "$A1" --disk "$D1" >/dev/null
"$C" inventory add h2 --site s --rack r --unit 2 --serial LAB-SN-9999 --bmc "$B2" \
    --mac "$M2" --address "$A2" --disk "$D2" >/dev/null
"$C" inventory add h3 --site s --rack r --unit 3 --bmc "$B3" \
    --mac "$M3" --address "$A3" --disk "$D3" >/dev/null

# The firmware of host N: when its BMC restarts it with a one-time disk
# boot set (its second reset), the host boots its installed system.
reset_twice() { [ "$(bmc_state "$1" '.resets | length' 2>/dev/null)" -ge 2 ] 2>/dev/null; }
firmware() { lab_firmware "$2" reset_twice "$1"; }	# N ADDR

# -- a host whose BMC reports another serial: nothing powered, disk untouched --
before2=$(disk_state 2)
fails_with 1 "h2: the BMC's serial is not the enrollment's" "$C" provision h2
check "  ...one line naming both serials" -n "$(grep 'h2: bmc .*serial mismatch: enrolled LAB-SN-9999, the BMC says LAB-SN-0002; nothing powered' "$T/.out")"
check "  ...failed at power" "$(jget h2 '.state + " " + .step')" = "failed power"
check "  ...the BMC was neither reset nor given a boot override" \
    "$(bmc_state 2 '(.resets | length | tostring) + " " + (.last_boot_patch == null | tostring)')" = "0 true"
check "  ...the disk untouched" "$(disk_state 2)" = "$before2"
check "  ...no session left open" "$(bmc_state 2 .sessions_open)" = 0

fails_with 1 "h3: no serial enrolled to check the BMC's against" "$C" provision h3
check "  ...says so, and powered nothing" -n "$(grep 'h3: no serial enrolled' "$T/.out")" -a "$(bmc_state 3 '.resets | length')" = 0

# -- h1: powered on into its deploy environment, imaged, rebooted by the BMC --
firmware 1 "$A1" >"$T/firmware.log" 2>&1 &
fw=$!
at_exit "kill $fw 2>/dev/null"
ok "h1: provisioned through its BMC" "$C" provision h1
wait $fw
check "  ...active" "$(jget h1 .state)" = active
check "  ...the BMC saw a one-time Pxe boot, then a one-time Hdd boot" \
    "$(bmc_state 1 '[.log[] | select(.method == "PATCH" and (.status < 300)) | .body.Boot.BootSourceOverrideTarget + "/" + .body.Boot.BootSourceOverrideEnabled] | join(" ")')" = "Pxe/Once Hdd/Once"
check "  ...and two resets: on for the deploy environment, a restart onto the disk" \
    "$(bmc_state 1 '.resets | join(" ")')" = "On ForceRestart"
check "  ...the power step's note" \
    -n "$(jget h1 '.events[] | select(.step == "power") | .reason' | grep 'one-time pxe boot set; powered on')"
check "  ...the boot step waited for the deploy environment's SSH" \
    -n "$(jget h1 '.events[] | select(.step == "boot") | .reason' | grep 'the deploy environment answered')"
check "  ...the reboot step set the disk boot" \
    -n "$(jget h1 '.events[] | select(.step == "reboot") | .reason' | grep 'one-time disk boot set; restarted')"
check "  ...no session left open" "$(bmc_state 1 .sessions_open)" = 0
check "  ...its network boot was armed with a one-time token" -f "$T/state/boot/h1.boot"

# -- the deploy environment never answers: boot fails within boot_timeout -----
sed -i 's/^boot_timeout .*/boot_timeout    = 3s/' "$T/c.ini"
lab_sshd_stop 1
"$C" inventory set-state h1 maintenance --reason test >/dev/null
t0=$(now_ms)
fails_with 1 "h1: no deploy environment answers" "$C" provision h1
took=$(( $(now_ms) - t0 ))
check "  ...failed at boot, within boot_timeout (3 s; took $took ms)" \
    "$(jget h1 '.state + " " + .step')" = "failed boot" -a "$took" -lt 15000
check "  ...saying so" -n "$(grep 'h1: the deploy environment did not answer SSH within boot_timeout' "$T/.out")"

done_testing
