# The Debian 12 image (images/recipes/debian12, `make images`) installed
# and booted for real.  castiron provisions a lab machine (QEMU TCG, an
# NVMe disk, a virtio NIC, virtio-rng) through its emulated Redfish BMC:
# a one-time network boot into the deploy environment (QEMU's iPXE,
# dnsmasq as `castiron boot dnsmasq` configures it, `castiron boot
# serve`), inspection, the image written to the NVMe disk, configure (the
# NoCloud seed, the host key), a one-time disk boot and a restart through
# the BMC, then verify over SSH with the key castiron pinned.  The
# machine boots its disk: SeaBIOS, GRUB, the kernel, systemd, sshd.
# Logged in with the pinned key (StrictHostKeyChecking=yes), the test
# asserts that what runs is cloud-init's result of castiron's seed: the
# host name, root's authorized keys, the inventory's static address and
# default route rendered for systemd-networkd (no DHCP on the way); that
# sshd presents the pinned key and no other key was made; that castiron
# runs there (--version, bgp check with the image's BIRD); and that the
# inventory says active.
# time-limit: 900
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh

netboot_need_deploy "debian12 installed and booted"
if ! IMG=$(tests/lab/osimage debian12 2>"$T/osimage.err"); then
	skip "debian12 installed and booted" "$(head -n 1 "$T/osimage.err")"
	done_testing; exit
fi
mf() { sed -n "s/^$1=//p" "$IMG/manifest"; }
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
# Router advertisements, without which this iPXE waits about 16 s.
ip -n "$LABM_NS" addr add "fd00:$LABM_ID::2/64" dev brp nodad
P=$LABM_PROV
PORT=$((24000 + $$ % 400))
ADDR=$P.51
ssh-keygen -q -t ed25519 -N '' -C provision -f "$T/id" || exit 1
ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/op" || exit 1
cp "$T/op.pub" "$T/authorized_keys"
KEY=$(cut -d' ' -f1,2 "$T/id.pub" | tr ' ' ,)

# The disk: the image's min_disk and room to spare.
DISK_MB=$(( $(mf min_disk) / 1048576 + 512 ))
machine_new 1 --blank "$DISK_MB" --mem 1024 --serial LAB-OS-0001 -- \
    -device virtio-rng-pci
MAC=$M_MAC SERIAL=$M_SERIAL
bmc_start 1 || { echo "not ok 1 - the BMC"; echo "1..1"; exit 1; }
mkdir -m 700 "$T/bmc.d"
cp "$BMC_PASSWORD_FILE" "$T/bmc.d/h1"
chmod 600 "$T/bmc.d/h1"

cat >"$T/c.ini" <<EOF
[castiron]
state_dir = $T/state
[inventory]
database = $T/inv.db
[images]
cache_dir = $T/cache
[image debian12]
url    = file://$IMG/debian12.img.zst
sha256 = $(mf image_sha256)
bmap   = file://$IMG/debian12.bmap
bmap_sha256 = $(mf bmap_sha256)
[provision]
ssh_key         = $T/id
# The static writer: the deploy environment cannot run a sanitizer build's.
writer          = $PWD/$BUILD/castiron-writer-static
image           = debian12
power           = bmc
reboot          = bmc
boot_timeout    = 6m
reboot_timeout  = 6m
connect_timeout = 30s
io_timeout      = 120s
authorized_keys = $T/authorized_keys
[bmc]
username      = admin
password_dir  = $T/bmc.d
ca_bundle     = $LABM_CA
power_timeout = 60s
[boot]
listen      = $P.1:$PORT
deploy_dir  = $D
interface   = brp
dhcp_range  = $P.100,$P.150,1h
dnsmasq_dir = $T/dnsmasq
dnsmasq_pidfile = $T/dnsmasq.pid
router_advertisements = yes
cmdline     = console=ttyS0 quiet castiron.authorized_key=$KEY,provision
EOF
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
"$C" inventory add h1 --site lab --serial "$SERIAL" --bmc "$BMC_ADDR" --mac "$MAC" \
    --address "$ADDR/24" --gateway "$P.2" >/dev/null ||
    { echo "not ok 1 - inventory add"; echo "1..1"; exit 1; }
"$C" boot dnsmasq >"$T/boot-dnsmasq.out" 2>&1 ||
    { echo "not ok 1 - boot dnsmasq"; cat "$T/boot-dnsmasq.out"; echo "1..1"; exit 1; }
ip netns exec "$LABM_NS" dnsmasq --conf-file="$T/dnsmasq/castiron.conf" \
    --pid-file="$T/dnsmasq.pid" --keep-in-foreground --user=root --log-dhcp \
    --log-facility="$T/dnsmasq.log" </dev/null &
at_exit "kill $! 2>/dev/null"
wait_for 10 "dnsmasq" test -s "$T/dnsmasq.pid"
"$C" boot serve >"$T/serve.log" 2>&1 &
at_exit "kill $! 2>/dev/null"
wait_for 10 "boot serve" curl -sf -o /dev/null "http://$P.1:$PORT/boot.ipxe"

# --- provision: power, boot, inspect, image, configure, reboot, verify ---
con=$(machine_console 1)
t0=$(now_ms)
"$C" provision h1 >"$T/provision.out" 2>&1
rc=$?
took=$(( $(now_ms) - t0 ))
check "castiron provision h1 through the BMC (exit 0, $took ms)" "$rc" = 0
if [ "$rc" != 0 ]; then
	sed 's/^/# /' "$T/provision.out" | tail -n 20
	echo "# console:"; tail -n 40 "$con" | sed 's/^/# /'
fi
jget() { "$C" inventory show h1 --format json | jq -r "$1"; }
check "  ...active" "$(jget .state)" = active
check "  ...its verify step recorded" \
    "$(jget '[.events[] | select(.step == "verify")] | length')" -ge 1
"$C" inventory show h1 >"$T/h1.txt"
ok "  ...the image verified on the NVMe disk" grep -q "image debian12 verified on /dev/nvme0n1" "$T/h1.txt"
ok "  ...configure left the identity to the image's cloud-init" \
    grep -q "left to the image's cloud-init (NoCloud seed)" "$T/h1.txt"
check "  ...the BMC saw a one-time Pxe boot, then a one-time Hdd boot" \
    "$(bmc_state 1 '[.log[] | select(.method == "PATCH" and (.status < 300)) | .body.Boot.BootSourceOverrideTarget + "/" + .body.Boot.BootSourceOverrideEnabled] | join(" ")')" = "Pxe/Once Hdd/Once"
ok "the console: iPXE, the deploy environment, then SeaBIOS boots the disk" sh -c \
    "grep -qF '$LABM_PXE' '$con' && grep -qF 'castiron-deploy: ready' '$con' &&
     sed -n '/castiron-deploy: ready/,\$p' '$con' | grep -qF '$LABM_DISK'"
ok "the console: GRUB loads the image's kernel" \
    grep -qF "grub: loading $(mf kernel_release)" "$con"
echo "# power-on to active: $took ms"

# --- the installed system, over SSH with the pinned key ---------------------
PTYPE=$(jget .ssh_host_key.type) PKEY=$(jget .ssh_host_key.key)
echo "$ADDR $PTYPE $PKEY" >"$T/known_hosts"
rsh() {	# KEY COMMAND
	_k=$1; shift
	timeout 120 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile="$T/known_hosts" -o GlobalKnownHostsFile=/dev/null \
	    -o IdentitiesOnly=yes -o ConnectTimeout=30 -i "$_k" "root@$ADDR" "$@"
}
cat >"$T/facts.sh" <<'EOF'
echo "hostname=$(hostname)"
echo "etc_hostname=$(cat /etc/hostname)"
echo "hosts=$(grep -c '[[:space:]]h1$\|[[:space:]]h1[[:space:]]' /etc/hosts)"
echo "os=$(. /etc/os-release && echo "$ID $VERSION_ID")"
echo "kernel=$(uname -r)"
echo "cmdline=$(cat /proc/cmdline)"
echo "running=$(timeout 90 systemctl is-system-running --wait 2>/dev/null)"
echo "ci_status=$(cloud-init status 2>/dev/null | sed -n 's/^status: //p')"
echo "ci_nocloud=$(cloud-init status --long 2>/dev/null | grep -c 'DataSourceNoCloud \[seed=/var/lib/cloud/seed/nocloud\]')"
for k in /etc/ssh/ssh_host_*; do echo "hostkeyfile=$k"; done
echo "akeys_sha=$(sha256sum </root/.ssh/authorized_keys | cut -d' ' -f1)"
echo "akeys_n=$(grep -c '^ssh-' /root/.ssh/authorized_keys)"
ip -o -4 addr show scope global | awk '{ print "addr=" $2 " " $4 " " $0 }'
ip -4 route show default | sed 's/^/route=/'
for f in /etc/systemd/network/*.network; do echo "networkd_file=$f"; done
cat /etc/systemd/network/*.network 2>/dev/null | sed 's/^/networkd=/'
echo "resolved_by=$(networkctl list --no-legend 2>/dev/null | awk '$3 == "ether" { print $4 "/" $5 }')"
echo "castiron=$(/usr/local/bin/castiron --version)"
echo "bird=$(birdc -s /run/bird/bird.ctl show status 2>&1 | grep -o 'BIRD [0-9.]* ready')"
mkdir -p /etc/castiron
cat >/etc/castiron/castiron.ini <<'INI'
[bgp]
bird_socket = /run/bird/bird.ctl
allowed_prefixes = 192.0.2.0/24
[service ssh]
check    = tcp
address  = 127.0.0.1:22
prefixes = 192.0.2.22/32
[service bird]
check    = exec
command  = /usr/sbin/birdc -s /run/bird/bird.ctl show status
interval = 10s
timeout  = 5s
prefixes = 192.0.2.23/32
INI
/usr/local/bin/castiron -c /etc/castiron/castiron.ini --format json bgp check >/tmp/check.json 2>/tmp/check.err
echo "bgp_check_rc=$?"
echo "bgp_check=$(tr -d '\n' </tmp/check.json)"
echo "bgp_check_err=$(head -n 1 /tmp/check.err)"
EOF
scp -q -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$T/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$T/id" \
    "$T/facts.sh" "root@$ADDR:/tmp/facts.sh" 2>"$T/scp.err"
rsh "$T/id" sh /tmp/facts.sh >"$T/facts" 2>"$T/facts.err"
ok "ssh as root with castiron's key, the pinned host key and no other accepted" \
    grep -q '^hostname=' "$T/facts"
[ -s "$T/facts" ] || sed 's/^/# /' "$T/facts.err" "$T/scp.err" | head -n 10
fact() { sed -n "s/^$1=//p" "$T/facts" | head -n 1; }
check "Debian 12 with the image's kernel" "$(fact os):$(fact kernel)" = "debian 12:$(mf kernel_release)"
check "booted with root=LABEL=root and the serial console" \
    "$(fact cmdline | grep -c 'root=LABEL=root .*console=ttyS0')" = 1
check "every unit came up (systemctl is-system-running)" "$(fact running)" = running
[ "$(fact running)" = running ] ||
    rsh "$T/id" 'systemctl --failed --no-legend' 2>/dev/null | sed 's/^/# failed: /'
check "cloud-init is done, from the NoCloud seed" \
    "$(fact ci_status):$(fact ci_nocloud)" = "done:1"
check "the host name is the inventory's, set by cloud-init" \
    "$(fact hostname):$(fact etc_hostname)" = "h1:h1"
check "/etc/hosts names the host (cloud-init's manage_etc_hosts)" "$(fact hosts)" -ge 1
check "root's authorized keys: the configured one and castiron's, from the seed" \
    "$(fact akeys_n)" = 2
rsh "$T/id" cat /root/.ssh/authorized_keys >"$T/akeys.remote" 2>/dev/null
ok "  ...the operator's key among them" grep -qF "$(cut -d' ' -f1,2 "$T/op.pub")" "$T/akeys.remote"
ok "ssh as root with the operator's key" sh -c \
    "[ \"\$(timeout 60 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
      -o UserKnownHostsFile='$T/known_hosts' -o GlobalKnownHostsFile=/dev/null \
      -o IdentitiesOnly=yes -i '$T/op' root@$ADDR hostname)\" = h1 ]"
check "the inventory's static address on the NIC, no lease (valid_lft forever)" \
    "$(fact addr | grep -c " $ADDR/24 .*valid_lft forever")" = 1
check "  ...and no other address" "$(grep -c '^addr=' "$T/facts")" = 1
check "the default route via the inventory's gateway" \
    "$(fact route | grep -c "^default via $P.2 dev ")" = 1
check "the network configuration is cloud-init's, for systemd-networkd" \
    "$(grep -c '^networkd_file=/etc/systemd/network/10-cloud-init-' "$T/facts")" -ge 1
check "  ...the address, the gateway and the MAC from the seed" \
    "$(grep -c -e "^networkd=Address=$ADDR/24" -e "^networkd=Gateway=$P.2" \
        -e "^networkd=MACAddress=$MAC" "$T/facts")" = 3
check "  ...networkd configured the NIC" "$(fact resolved_by)" = "routable/configured"
check "  ...and no DHCP in it" \
    "$(grep -c '^networkd=DHCP=\(yes\|ipv4\)' "$T/facts")" = 0
check "the installed system asked dnsmasq for no lease (two for its MAC: iPXE's, the deploy environment's)" \
    "$(grep 'DHCPACK' "$T/dnsmasq.log" | grep -c "$MAC")" = 2
check "one host key, castiron's ed25519: none baked in, none made by cloud-init" \
    "$(grep '^hostkeyfile=' "$T/facts" | tr '\n' ' ')" = \
    "hostkeyfile=/etc/ssh/ssh_host_ed25519_key hostkeyfile=/etc/ssh/ssh_host_ed25519_key.pub "
ssh-keyscan -t ed25519,rsa,ecdsa "$ADDR" 2>/dev/null | awk '{ print $2, $3 }' >"$T/scanned"
check "sshd presents the pinned key and only it" "$(cat "$T/scanned")" = "$PTYPE $PKEY"
check "castiron runs there" "$(fact castiron)" = "castiron $(cat VERSION)"
check "BIRD runs there" -n "$(fact bird)"
check "castiron bgp check runs there: the tcp and the exec (birdc) check up" \
    "$(fact bgp_check_rc):$(fact bgp_check | jq -r '[.[] | .service + "=" + .result] | sort | join(" ")' 2>/dev/null)" = \
    "0:bird=up ssh=up"
[ "$(fact bgp_check_rc)" = 0 ] || echo "# bgp check: $(fact bgp_check) $(fact bgp_check_err)"
done_testing
