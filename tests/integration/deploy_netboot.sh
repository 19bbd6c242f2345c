# The deploy environment booted the way a server boots it: QEMU's iPXE
# ROM, Debian's dnsmasq with the configuration `castiron boot dnsmasq`
# writes, and `castiron boot serve` handing out the script, the built
# kernel and initramfs ($BUILD/deploy) and taking the check-in.  The host
# is armed as provision's power step arms it (a one-time token in
# state_dir/boot); its kernel line carries provision's key in [boot]
# cmdline, written with commas because iPXE's kernel line keeps no
# quotes.  Asserts the console's steps, the check-in the service
# recorded, and an OpenSSH login with that host key pinned.
# time-limit: 240
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh

netboot_need_deploy "deploy environment over iPXE"
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
P=$LABM_PROV
PORT=$((23000 + $$ % 400))
netboot_init "$PORT"
URL=$NETBOOT_URL
ADDR=$P.51
ssh-keygen -q -t ed25519 -N '' -f "$T/id" || exit 1
KEY=$(cut -d' ' -f1,2 "$T/id.pub" | tr ' ' ,)

machine_new 1 --blank 64 --mem 256
MAC=$M_MAC
printf '%s\n' "[castiron]" "state_dir = $T/state" "[inventory]" "database = $T/inv.db" \
    "[boot]" "listen = $P.1:$PORT" "deploy_dir = $D" "interface = brp" \
    "dhcp_range = $P.100,$P.150,1h" "dnsmasq_dir = $T/dnsmasq" \
    "dnsmasq_pidfile = $T/dnsmasq.pid" "router_advertisements = yes" \
    "cmdline = console=ttyS0 quiet castiron.authorized_key=$KEY,provision" >"$T/c.ini"
export CASTIRON_CONFIG="$T/c.ini"
"$CASTIRON" inventory add h1 --site lab --mac "$MAC" --address "$ADDR" >/dev/null
ok "castiron boot dnsmasq writes dnsmasq's configuration" "$CASTIRON" boot dnsmasq
netboot_dnsmasq "$T/dnsmasq" "$T/dnsmasq.pid"
# Armed as provision/boot/state.c's boot_arm writes it.
mkdir -p -m 755 "$T/state" && mkdir -p -m 700 "$T/state/boot"
TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
(umask 077; printf 'host=h1\ntoken=%s\nexpires=%s\nmode=deploy\n' "$TOKEN" \
    $(($(date +%s) + 600)) >"$T/state/boot/h1.boot")
ok "the boot service listens" netboot_serve

t0=$(now_ms)
machine_start 1 once=n
ok "iPXE boots from the network" machine_wait 1 60 "$LABM_PXE"
ok "the deploy environment comes up and checks in" \
    machine_wait 1 120 "castiron-deploy: ready: check-in accepted"
echo "# power-on to ready through iPXE: $(( $(now_ms) - t0 )) ms"
con=$(machine_console 1)
machine_saw 1 "castiron-deploy: ready" || sed 's/^/# /' "$con" | tail -30
ok "it fetched the kernel and the initramfs from the service" sh -c \
    "grep -q '/deploy/vmlinuz: 200' '$T/serve.log' && grep -q '/deploy/initrd.img: 200' '$T/serve.log'"
ok "the console: the host name from the script" grep -qF "castiron-deploy: host h1" "$con"
ok "the console: the enrolled address from dnsmasq" \
    grep -qF "castiron-deploy: eth0: bound $ADDR/24" "$con"
ok "the console: provision's key from [boot] cmdline, through iPXE" \
    grep -qF "authorized key for root from the command line: ssh-ed25519" "$con"
check "the token is not on the console" "$(grep -cF -- "$TOKEN" "$con")" = 0
HOSTKEY=$(sed -n 's/^hostkey=//p' "$T/state/boot/h1.checkin" 2>/dev/null)
ok "the service recorded the host key the console shows" \
    grep -qF "castiron-deploy: host key $HOSTKEY " "$con"
echo "$ADDR $HOSTKEY" >"$T/known_hosts"
wait_for 20 "dropbear on $ADDR:22" python3 -c \
    "import socket; socket.create_connection(('$ADDR', 22), 1).recv(4)"
ok "ssh as root with provision's key, the checked-in host key pinned" sh -c \
    "[ \"\$(timeout 60 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
      -o UserKnownHostsFile='$T/known_hosts' -o GlobalKnownHostsFile=/dev/null \
      -o IdentitiesOnly=yes -i '$T/id' root@$ADDR 'hostname; test -e /sys/block/nvme0n1 && echo nvme')\" = \
      \"\$(printf 'h1\nnvme')\" ]"
machine_stop 1
done_testing
