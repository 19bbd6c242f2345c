# castiron bmc driving real (QEMU) machines through their emulated Redfish
# BMCs in the lab (tests/lab/machine.sh): every outcome is observed on the
# machine itself — the QEMU process, QMP query-status and the serial
# console.  A one-time network boot shows iPXE's banner and is not
# repeated at the next boot, which boots the disk (its marker); soft-off
# of a machine that does not shut down ends in ForceOff within
# power_timeout; two machines at once.  (A machine that does not shut
# down is a paused one: its CPU answers no ACPI request.)
# time-limit: 300
. tests/lib.sh
. tests/lab/machine.sh

if [ "$(id -u)" != 0 ]; then
	skip "castiron bmc on lab machines" "needs root (network namespaces)"
	done_testing; exit
fi
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }

machine_new 1 --mem 128
S1=$M_SERIAL MAC1=$M_MAC MARK1=$M_MARKER
bmc_start 1
A1=$BMC_ADDR
# Each BMC has its own password, as servers now ship: one file per host.
mkdir -m 700 "$T/bmc.d"
cp "$BMC_PASSWORD_FILE" "$T/bmc.d/m1"
machine_new 2 --mem 128
S2=$M_SERIAL MARK2=$M_MARKER
bmc_start 2
A2=$BMC_ADDR
cp "$BMC_PASSWORD_FILE" "$T/bmc.d/m2"
chmod 600 "$T/bmc.d/m1" "$T/bmc.d/m2"

cat >"$T/c.ini" <<EOF
[inventory]
database = $T/inv.db
[bmc]
username = $BMC_USER
password_dir = $T/bmc.d
ca_bundle = $LABM_CA
power_timeout = 12s
EOF
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
"$C" inventory add m1 --site lab --rack r1 --unit 1 --serial "$S1" --bmc "$A1" --mac "$MAC1" >/dev/null
"$C" inventory add m2 --site lab --rack r1 --unit 2 --serial "$S2" --bmc "$A2" >/dev/null

check "m1 is off: no QEMU" "$(machine_status 1)" = off
check "castiron says off" "$("$C" bmc power m1 status --format json | jq -r '.[0].power')" = off
ok "identity: the BMC's serial and MAC are m1's enrollment" "$C" bmc identity m1

# -- one-time PXE: seen once, then the disk --------------------------------------
ok "boot pxe" "$C" bmc boot m1 pxe
machine_mark 1
ok "power on" "$C" bmc power m1 on
check "  ...QEMU runs" "$(machine_status 1)" = running
ok "  ...and network-boots: iPXE's banner on the console" machine_wait 1 60 "$LABM_PXE"
machine_mark 1
ok "power cycle" "$C" bmc power m1 cycle
ok "  ...the next boot is the disk's (its marker)" machine_wait 1 60 "$MARK1"
check "  ...and not the network again" "$(machine_since 1 | grep -cF "$LABM_PXE")" = 0

both_gone_1() { ! machine_running 1; }

# -- a persistent disk boot, off -------------------------------------------------
ok "boot disk --persistent" "$C" bmc boot m1 disk --persistent
machine_mark 1
ok "power cycle" "$C" bmc power m1 cycle
ok "  ...boots the disk" machine_wait 1 60 "$MARK1"
ok "power off" "$C" bmc power m1 off
ok "  ...QEMU is gone" wait_for 10 "QEMU to exit" both_gone_1
check "castiron says off" "$("$C" bmc power m1 status --format json | jq -r '.[0].power')" = off

# -- soft-off of a machine that does not shut down ------------------------------
ok "power on" "$C" bmc power m1 on
ok "  ...boots the disk" machine_wait 1 60 "$MARK1"
# A paused CPU answers no ACPI request: the shutdown never comes.
machine_qmp 1 stop >/dev/null
check "  ...paused" "$(machine_status 1)" = paused
t0=$(now_ms)
ok "soft-off: no answer to the ACPI request, so ForceOff after half of power_timeout" \
    "$C" bmc power m1 soft-off
took=$(( $(now_ms) - t0 ))
check "  ...it took between 6 s and 12 s (power_timeout = 12s): $took ms" "$took" -ge 5500 -a "$took" -le 13000
check "  ...GracefulShutdown, then ForceOff" "$(bmc_state 1 '[.resets[-2], .resets[-1]] | join(",")')" = GracefulShutdown,ForceOff
check "  ...QEMU is gone" "$(machine_status 1)" = off

# -- two machines at once -------------------------------------------------------
machine_mark 1; machine_mark 2
ok "power on rack r1 (two machines, --parallel 2)" "$C" bmc power --rack r1 on --parallel 2
check "  ...both run" "$(machine_status 1) $(machine_status 2)" = "running running"
ok "  ...m2 boots its own disk" machine_wait 2 60 "$MARK2"
ok "power off rack r1" "$C" bmc power --rack r1 off
both_gone() { ! machine_running 1 && ! machine_running 2; }
ok "  ...both QEMUs are gone" wait_for 10 "QEMU to exit" both_gone
for n in 1 2; do
	check "  ...BMC $n: no session left open" "$(bmc_state "$n" .sessions_open)" = 0
done

done_testing
