# The network boot chain end to end, with nothing played by the test: a
# lab machine (QEMU TCG, NVMe disk, virtio NIC) behind its emulated
# Redfish BMC, Debian's dnsmasq with the configuration `castiron boot
# dnsmasq` writes, `castiron boot serve`, the built deploy environment
# ($BUILD/deploy), and `castiron provision` with power = bmc doing all of
# it: the BMC's one-time network boot and power on, the enrolled address
# from dnsmasq, the iPXE script, kernel and initramfs from the service,
# the check-in, SSH with the key it checked in with, inspection of the
# virtual hardware (CPU, memory, the NVMe disk's model and serial, the
# NIC's MAC, as the inventory shows them), the image pulled from the
# boot service's verified cache, written and verified; the disk then
# holds the image's bytes.  The boot service is
# restarted while the machine fetches its kernel: nothing is lost (the
# script's fetch retries, the token is on disk).  Once installed, the
# host network-boots again and is told `exit`: it boots its disk.
# time-limit: 240
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh

netboot_need_deploy "the network boot chain"
lab_need "the network boot chain" qemu-system-x86_64 dnsmasq jq
lab_init
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
tests/lab/mkosimage "$T/os.img" 48 4 || exit 1
netboot_init $((24000 + $$ % 400)) || exit 1
P=$LABM_PROV
ADDR=$P.51

machine_new 1 --blank 64 --mem 256 --serial LAB-SN-0001
MAC=$M_MAC SERIAL=$M_SERIAL
bmc_start 1 || { echo "not ok 1 - the BMC"; echo "1..1"; exit 1; }
bmc_password 1 h1
# provision's key reaches root's authorized_keys through [boot] cmdline
# (commas: iPXE's kernel line keeps no quotes); the writer is the static
# one the environment carries, so nothing is uploaded.
KEY=$(cut -d' ' -f1,2 "$T/lab/id_ed25519.pub" | tr ' ' ,)
lab_config provision.reboot=none provision.boot_timeout=150s \
    provision.writer="$PWD/$BUILD/castiron-writer-static" \
    boot.cmdline="console=ttyS0 quiet castiron.authorized_key=$KEY,provision"
"$C" inventory add h1 --site lab --rack r1 --unit 1 --serial "$SERIAL" \
    --bmc "$(bmc_addr 1)" --mac "$MAC" --address "$ADDR" >/dev/null
hy=$(echo "$MAC" | tr : -)

ok "the image, verified, in the cache the boot service serves" "$C" image fetch testos
ok "castiron boot dnsmasq writes dnsmasq's configuration" "$C" boot dnsmasq
ok "dnsmasq runs with it" netboot_dnsmasq "$T/dnsmasq" "$T/dnsmasq.pid"
ok "the boot service listens on the provisioning network" netboot_serve

# -- provision: power, DHCP, iPXE, deploy environment, check-in, SSH ----------
t0=$(now_ms)
"$C" provision h1 >"$T/prov.out" 2>&1 &
PROV=$!
at_exit "kill $PROV 2>/dev/null"

# The restart, while the machine fetches its kernel: the service logs a
# file when it starts sending it, and the provisioning link is held to
# 20 Mbit/s until the restart (a moment later), so that the 14 MB kernel
# would take over five seconds.
tc qdisc add dev "lp$$" root tbf rate 20mbit burst 64k latency 400ms
ok "the machine asks the service for its deploy kernel" wait_for 120 "the kernel fetch" \
    grep -q "/deploy/vmlinuz: 200" "$T/serve.log"
echo "# power-on to the kernel fetch: $(( $(now_ms) - t0 )) ms"
netboot_serve_stop
ok "the boot service restarts in the middle of the deploy" netboot_serve "$T/serve2.log"
tc qdisc del dev "lp$$" root
ok "provision takes h1 to active" wait "$PROV"
echo "# provision, power-on to active: $(( $(now_ms) - t0 )) ms"
sed 's/^/# /' "$T/prov.out" | tail -n 5
check "  ...active" "$(jget h1 .state)" = active
ok "  ...the fetches went on from the restarted service (the script retries)" \
    grep -q "/deploy/initrd.img: 200" "$T/serve2.log"
ok "  ...and the check-in reached it with the token armed before the restart" \
    machine_saw 1 "check-in accepted by $NETBOOT_URL/checkin"
check "  ...the kernel's fetch broke off at the restart, and iPXE fetched it again" \
    "$(netboot_kernel_fetches 1)" = "broken ok"

check "the BMC saw a one-time Pxe boot and a power on" \
    "$(bmc_state 1 '[.log[] | select(.method == "PATCH" and (.status < 300)) | .body.Boot.BootSourceOverrideTarget + "/" + .body.Boot.BootSourceOverrideEnabled] | join(" ")'):$(bmc_state 1 '.resets | join(" ")')" = "Pxe/Once:On"
check "  ...no session left open" "$(bmc_state 1 .sessions_open)" = 0
ok "dnsmasq gave the machine its enrolled address" \
    grep -q "DHCPACK(brp) $ADDR $MAC h1" "$NETBOOT_DHCP_LOG"
ok "iPXE fetched the chain script, then h1's deploy script" sh -c \
    "grep -q '/boot.ipxe: 200' '$T/serve.log' && grep -q '/ipxe/$hy: 200 (h1)' '$T/serve.log'"
ok "the console: the deploy environment booted as h1 with its address" sh -c \
    "grep -qF 'castiron-deploy: host h1' '$(machine_console 1)' &&
     grep -qF 'castiron-deploy: eth0: bound $ADDR/24' '$(machine_console 1)'"
check "the token is not on the console" \
    "$(grep -c 'castiron.token=' "$(machine_console 1)")" = 0
HOSTKEY=$(sed -n 's/^hostkey=//p' "$T/state/boot/h1.checkin" 2>/dev/null)
FP=$(echo "$HOSTKEY" | ssh-keygen -l -E sha256 -f - 2>/dev/null | awk '{print $2}')
check "the service recorded the host key the console shows" -n "$FP" -a \
    -n "$(grep -F "castiron-deploy: host key $HOSTKEY " "$(machine_console 1)")"
check "  ...the boot step waited for that check-in" \
    -n "$(jget h1 '.events[] | select(.step == "boot") | .reason' | grep "checked in from $ADDR with host key $FP")"
check "  ...and provision's session accepted exactly that key" \
    -n "$(jget h1 '.events[].reason' | grep "host key $FP accepted: the one its deploy environment checked in with")"
echo "$ADDR $HOSTKEY" >"$T/known_hosts"
ok "the deploy environment answers SSH with the key it checked in with" sh -c \
    "[ \"\$(timeout 60 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
      -o UserKnownHostsFile='$T/known_hosts' -o GlobalKnownHostsFile=/dev/null \
      -o IdentitiesOnly=yes -i '$T/lab/id_ed25519' root@$ADDR hostname)\" = h1 ]"

# -- inspection: the real virtual hardware, as the inventory shows it ---------
"$C" inventory show h1 --format json >"$T/h1.json"
j() { jq -r "$1" "$T/h1.json"; }
check "inspected: the CPU QEMU emulates (qemu64), one core" \
    "$(j '.cpu_model + ", " + (.cpu_cores | tostring)')" = "QEMU Virtual CPU version 2.5+, 1"
check "  ...its memory: 256 MiB, less what the firmware and kernel keep" \
    "$(j '.memory_mb > 200 and .memory_mb <= 256')" = true
check "  ...the firmware's identity: the BMC's serial, vendor, product" \
    "$(j '.system_serial + "/" + .system_vendor + "/" + .system_product')" = "$SERIAL/Castiron Lab/QEMU q35 TCG"
check "  ...the NVMe disk: QEMU's model, the serial QEMU was given, 64 MiB" \
    "$(j '[.disks[] | select(.name == "nvme0n1") | .model + " " + .serial + " " + (.size_bytes | tostring)] | join(",")')" = \
    "QEMU NVMe Ctrl NVME$SERIAL $((64 * 1048576))"
check "  ...the NIC: eth0 with the machine's MAC" "$(j '[.nics[] | .name + " " + .mac] | join(",")')" = "eth0 $MAC"
check "  ...the NIC by its MAC" "$(j '.macs | join(",")')" = "$MAC"
"$C" inventory show h1 >"$T/h1.txt"
ok "the image verified on /dev/nvme0n1" grep -q "image testos verified on /dev/nvme0n1" "$T/h1.txt"
check "  ...with the writer the environment carries (no upload)" \
    "$(grep -c 'castiron-writer uploaded' "$T/h1.txt")" = 0
check "  ...pulled by the deploy environment from the boot service (image_transport = auto)" \
    -n "$(jget h1 '.events[] | select(.step == "image") | .reason' | grep -F "pulled from $NETBOOT_URL/images/testos: ")"
ok "  ...the boot service's log names h1 for it" grep -q " /images/testos: 20[06] (h1): " "$T/serve2.log"
jget h1 '.events[] | select((.reason // "") | startswith("done")) | "\(.step) \(.duration_ms) ms"' | tr '\n' ' ' |
    sed 's/^/# steps: /; s/$/\n/'
ok "the BMC powers the machine off" "$C" bmc power h1 off
off() { ! machine_running 1; }
ok "  ...QEMU exits" wait_for 20 "QEMU to exit" off
# configure has written into the root file system since: the bytes
# around it are the image's, and so is its payload.
DISK=$M_DIR/disk.img
check "the disk holds the image's partition table and backup GPT" \
    "$(lab_sha "$DISK" 0 1048576) $(lab_sha "$DISK" $((47 * 1048576)) 1048576)" = \
    "$(lab_sha "$T/os.img" 0 1048576) $(lab_sha "$T/os.img" $((47 * 1048576)) 1048576)"
dd if="$DISK" of="$T/root.img" bs=1M skip=1 count=46 status=none
check "  ...and its root file system the image's payload" \
    "$(debugfs -R 'cat /var/lib/os/payload' "$T/root.img" 2>/dev/null | sha256sum | cut -d' ' -f1)" = \
    "$(cat "$T/os.img.payload.sha256")"

# -- installed: a network boot again gets exit, and the disk boots ------------
machine_mark 1
n0=$(grep -c "/ipxe/$hy: 200 (h1): not being provisioned" "$T/serve2.log")
ok "the installed host network-boots again through its BMC" sh -c \
    "'$C' bmc boot h1 pxe && '$C' bmc power h1 on"
ok "  ...iPXE asks the service" machine_wait 1 60 "$LABM_PXE"
ok "  ...and is told exit: it is not being provisioned" wait_for 60 "the exit script" \
    sh -c "[ \$(grep -c '/ipxe/$hy: 200 (h1): not being provisioned' '$T/serve2.log') -gt $n0 ]"
ok "  ...the firmware boots the disk" machine_wait 1 60 "$LABM_DISK"
check "  ...and not the deploy environment" "$(machine_since 1 | grep -c 'castiron-deploy')" = 0
done_testing
