# Enlistment for real: QEMU machines whose MACs the inventory does not
# know boot from the network (QEMU's iPXE ROM, Debian's dnsmasq with the
# configuration castiron writes, castiron boot serve), get the built
# deploy environment in enlistment mode, inspect their virtual hardware,
# check in and power off.  The first carries (-smbios type=1,serial=...)
# the serial of a host enrolled with no MACs: the check-in attaches it,
# the host learns the machine's MAC, dnsmasq's hosts file gives that MAC
# the host's address, and the machine's next network boot is answered as
# that host's (dnsmasq names it, the script is exit).  The second is
# enrolled nowhere: it is
# listed by inventory discovered with its serial and the facts of its
# inspection (the NVMe disk, the NIC, memory), and claimed by hand.  Then
# h1, armed, boots the deploy environment, whose check-in reply gives root
# its keys.
# time-limit: 420
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh

netboot_need_deploy "enlistment"
lab_need "enlistment" qemu-system-x86_64 dnsmasq
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
PORT=$((24900 + $$ % 90))
netboot_init "$PORT"
URL=$NETBOOT_URL
SN1=LAB-EN-$$-1 SN2=LAB-EN-$$-2

machine_new 1 --blank 64 --mem 256 --serial "$SN1"; M1=$M_MAC
machine_new 2 --blank 96 --mem 256 --serial "$SN2"; M2=$M_MAC
ssh-keygen -q -t ed25519 -N '' -C castiron-prov -f "$T/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/operator"
cp "$T/operator.pub" "$T/authorized_keys"
lab_config power=none castiron.site=lab provision.ssh_key="$T/id_ed25519" \
    provision.authorized_keys="$T/authorized_keys" boot.cmdline="console=ttyS0 quiet"
# The rack's packing list: h1 by serial, no MAC.
"$C" inventory add h1 --site lab --rack r1 --unit 1 --serial "$SN1" --address "$LABM_PROV.51" >/dev/null
"$C" inventory add spare --site lab >/dev/null
"$C" boot dnsmasq >/dev/null || { echo "not ok - boot dnsmasq"; done_testing; exit 1; }
ok "dnsmasq runs with castiron's configuration" netboot_dnsmasq "$T/dnsmasq" "$T/dnsmasq.pid"
ok "the boot service listens on the provisioning network" netboot_serve
hy() { echo "$1" | tr : -; }

# -- a machine with an enrolled host's serial: attached at check-in ----------
t0=$(now_ms)
ok "machine 1 (serial $SN1, a MAC nobody enrolled) network-boots" machine_start 1 order=n
ok "  ...gets the enlistment environment" wait_for 120 "its script" \
    grep -q "/ipxe/$(hy "$M1"): 200 (-): unknown MAC: enlistment" "$T/serve.log"
ok "  ...boots it, inspects itself and checks in" machine_wait 1 150 "enlistment done (check-in accepted): powering off"
ok "  ...and powers off (QEMU exits)" wait_for 30 "machine 1 to power off" _machine_gone 1
echo "# power-on to off: $(( $(now_ms) - t0 )) ms"
# What an operator would look at when that failed.
[ "$_failed" -eq 0 ] || { tail -n 15 "$T/dnsmasq.log"; tail -n 15 "$T/serve.log"; machine_since 1 | tail -n 15; } |
    sed 's/^/# /'
check "  ...its console: the deploy environment in enlistment mode, one disk, one NIC" \
    -n "$(machine_since 1 | grep 'castiron-deploy: mode enlist')" -a -n "$(machine_since 1 | grep 'inspection: 1 disks, 1 NICs')"
check "  ...the service attached it to h1 by its serial" \
    -n "$(grep "the machine with serial $SN1 (MACs $M1) is host h1: attached" "$T/serve.log")"
"$C" inventory show h1 --format json >"$T/h1.json"
check "  ...h1 learned the machine's MAC" "$(jq -r '.macs | join(" ")' "$T/h1.json")" = "$M1"
check "  ...an event on h1 says so" \
    -n "$(jq -r '.events[].reason' "$T/h1.json" | grep "attached a discovered machine (serial $SN1, first seen .* from $LABM_PROV.1[0-5][0-9]) automatically: its serial matched: MAC $M1 learned")"
check "  ...it is not listed as discovered" "$("$C" inventory discovered --format json | jq length)" = 0
ok "  ...dnsmasq's hosts file gives its MAC h1's address" \
    wait_for 10 "the hosts file" grep -qx "$M1,$LABM_PROV.51,h1" "$T/dnsmasq/hosts"
ok "  ...and dnsmasq reads it again (SIGHUP)" wait_for 10 "dnsmasq to reread" \
    sh -c "grep -c 'read $T/dnsmasq/hosts' '$T/dnsmasq.log' | grep -qv '^1\$'"

machine_mark 1
ok "machine 1 network-boots again" machine_start 1 order=n
ok "  ...and is answered as h1: its script is exit" wait_for 60 "h1's script" \
    grep -q "/ipxe/$(hy "$M1"): 200 (h1): not being provisioned" "$T/serve.log"
# dnsmasq answers it as h1's MAC, with h1's address, not the address of
# the lease its enlistment boot still holds (docs/netboot.md,
# "Enlistment"; tests/integration/boot_attach.sh).
ok "  ...dnsmasq answers it as h1, with h1's address" wait_for 10 "a DHCPACK of h1's address" \
    grep -qF "DHCPACK(brp) $LABM_PROV.51 $M1 h1" "$T/dnsmasq.log"
grep -F "$M1" "$T/dnsmasq.log" | grep ' h1$' | tail -n 1 | sed 's/^/# /'
machine_stop 1

# -- a machine nobody enrolled: discovered, then claimed --------------------
ok "machine 2 (serial $SN2, enrolled nowhere) network-boots" machine_start 2 order=n
ok "  ...checks in and powers off" machine_wait 2 150 "enlistment done (check-in accepted): powering off"
wait_for 30 "machine 2 to power off" _machine_gone 2
"$C" inventory discovered --format json >"$T/d.json"
check "inventory discovered lists it: its MAC and the serial QEMU gave it" \
    "$(jq -r 'length' "$T/d.json"):$(jq -r '.[0].macs | join(" ")' "$T/d.json"):$(jq -r '.[0].serial' "$T/d.json")" = "1:$M2:$SN2"
check "  ...the facts of its inspection: the NVMe disk, its serial and size" \
    "$(jq -r '.[0].disks[0] | [.name, .model, .serial, .size_bytes] | join("/")' "$T/d.json")" = "nvme0n1/QEMU NVMe Ctrl/NVME$SN2/100663296"
check "  ...the NIC, the system and its memory" \
    "$(jq -r '.[0] | [.nics[0].mac, .system_vendor, .system_product, (.memory_mb > 100 and .memory_mb <= 256), .cpu_cores] | map(tostring) | join("/")' "$T/d.json")" = \
    "$M2/Castiron Lab/QEMU q35 TCG/true/1"
check "  ...the address it booted from ($(jq -r '.[0].address' "$T/d.json"), of the range), first and last seen" \
    "$(jq -r '.[0].address' "$T/d.json" | grep -cE "^$LABM_PROV\.(1[0-4][0-9]|150)$"):$(jq -r '.[0].first_seen | test("^[0-9-]+T[0-9:]+Z$")' "$T/d.json")" = "1:true"
"$C" inventory claim "$SN2" h1 >/dev/null 2>"$T/err"; rc=$?
check "claiming it for h1 (which has machine 1's MAC) is refused: exit 2" \
    "$rc:$(grep -c "h1: not claimed: h1 already has MAC $M1, which this machine did not report" "$T/err")" = "2:1"
ok "claiming it by its serial for spare" "$C" inventory claim "$SN2" spare
check "  ...spare has its MAC and serial" "$("$C" inventory show spare --format json | jq -r '(.macs | join(" ")) + ":" + .serial')" = "$M2:$SN2"
check "  ...and nothing is left discovered" "$("$C" inventory discovered --format json | jq length)" = 0

# -- h1 armed for a deploy boot: root's keys come with the check-in's reply ---
mkdir -p -m 700 "$T/state/boot"
printf 'host=h1\ntoken=%s\nexpires=%s\nmode=deploy\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" \
    $(( $(date +%s) + 600 )) >"$T/state/boot/h1.boot"
chmod 600 "$T/state/boot/h1.boot"
machine_mark 1
ok "h1, armed as provision arms it, network-boots the deploy environment" machine_start 1 order=n
ok "  ...checks in with its token; the reply carries two keys for root" \
    machine_wait 1 150 "authorized keys in the reply)"
ok "  ...and starts dropbear" machine_wait 1 60 "ready: check-in accepted, starting dropbear"
check "  ...two: [provision] authorized_keys' and castiron's own (none on the command line)" \
    "$(machine_since 1 | grep -o '[0-9]* authorized keys in the reply' | cut -d' ' -f1):$(machine_since 1 | grep -c 'authorized key for root from the check-in reply: ssh-ed25519'):$(machine_since 1 | grep -c 'from the command line')" = "2:2:0"
machine_stop 1

done_testing
