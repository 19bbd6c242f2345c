# A real network boot in the lab: QEMU machines whose firmware (QEMU's
# iPXE ROM) boots from the network, Debian's dnsmasq answering DHCP on the
# provisioning bridge from the configuration castiron writes, and castiron
# boot serve answering HTTP.  An enrolled host that is not being
# provisioned gets its enrolled address, fetches its script, is told to
# exit and boots its own disk (its marker on the console); an unknown
# machine gets an address from the range and the enlistment environment;
# a host enrolled while the service runs reaches dnsmasq's hosts file and
# dnsmasq reads it again.
# time-limit: 240
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh

lab_need "network boot" qemu-system-x86_64 dnsmasq
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
PORT=$((23500 + $$ % 400))
netboot_init "$PORT"
URL=$NETBOOT_URL
mkdir -p "$T/deploy"
head -c 4096 /dev/urandom >"$T/deploy/vmlinuz"
head -c 4096 /dev/urandom >"$T/deploy/initrd.img"

machine_new 1 --mem 128; M1=$M_MAC MARK1=$M_MARKER
machine_new 2 --mem 128; M2=$M_MAC
lab_config power=none boot.deploy_dir="$T/deploy"
"$C" inventory add h1 --site lab --mac "$M1" --address "$LABM_PROV.51" >/dev/null

ok "boot dnsmasq writes dnsmasq's configuration" "$C" boot dnsmasq
check "  ...DHCP and TFTP only, on the bridge, iPXE pointed at the service" \
    -n "$(grep -x 'port=0' "$T/dnsmasq/castiron.conf")" -a -n "$(grep -x 'interface=brp' "$T/dnsmasq/castiron.conf")" -a \
    -n "$(grep -xF "dhcp-boot=tag:ipxe,$URL/boot.ipxe" "$T/dnsmasq/castiron.conf")"
check "  ...h1's MAC gets its enrolled address" "$(cat "$T/dnsmasq/hosts")" = "$M1,$LABM_PROV.51,h1"

ok "dnsmasq runs with it" netboot_dnsmasq "$T/dnsmasq" "$T/dnsmasq.pid"
ok "the boot service listens on the provisioning network" netboot_serve

# -- an enrolled host, not being provisioned: its address, exit, its disk -----
machine_mark 1
ok "h1 powers on, network first" machine_start 1 order=nc
ok "  ...its firmware's iPXE starts" machine_wait 1 60 "$LABM_PXE"
ok "  ...and boots its own disk after the service said exit" machine_wait 1 60 "$MARK1"
check "  ...dnsmasq gave it its enrolled address" -n "$(grep "DHCPACK(brp) $LABM_PROV.51 $M1 h1" "$T/dnsmasq.log")"
check "  ...it fetched the chain script, then its own" \
    -n "$(grep "/boot.ipxe: 200" "$T/serve.log")" -a -n "$(grep "/ipxe/$(echo "$M1" | tr : -): 200 (h1): not being provisioned" "$T/serve.log")"
machine_stop 1

# -- an unknown machine: an address from the range, the enlistment environment -
machine_mark 2
ok "an unknown machine network-boots" machine_start 2 order=n
ok "  ...gets the enlistment environment" wait_for 60 "its script" \
    grep -q "/ipxe/$(echo "$M2" | tr : -): 200 (-): unknown MAC: enlistment" "$T/serve.log"
check "  ...with an address from the range" -n "$(grep "DHCPACK(brp) $LABM_PROV.1[0-4][0-9] $M2" "$T/dnsmasq.log")"
ok "  ...and fetches the deploy kernel" wait_for 30 "the kernel fetch" grep -q "/deploy/vmlinuz: 200" "$T/serve.log"
machine_stop 2

# -- the inventory changes: dnsmasq's hosts follow ---------------------------------
"$C" inventory add h3 --site lab --mac 52:54:00:ab:cd:03 --address "$LABM_PROV.53" >/dev/null
ok "a host enrolled while the service runs reaches dnsmasq's hosts file" \
    wait_for 10 "the hosts file" grep -q "52:54:00:ab:cd:03,$LABM_PROV.53,h3" "$T/dnsmasq/hosts"
ok "  ...and dnsmasq reads it again (SIGHUP)" wait_for 10 "dnsmasq to reread" \
    sh -c "grep -c 'read $T/dnsmasq/hosts' '$T/dnsmasq.log' | grep -qv '^1\$'"

done_testing
