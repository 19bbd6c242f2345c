# The lab for reboot = kexec (tests/integration/provision_kexec.sh,
# bench/kexec.sh): one QEMU machine behind its Redfish BMC, network-booted
# into castiron's deploy environment ($D, $BUILD/deploy) by castiron's own
# dnsmasq configuration and boot service, provisioned with power = bmc
# onto its NVMe disk with an installed system that boots for real
# (tests/lab/mkbootos: GRUB, a kernel, an initramfs, dropbear).  Sourced
# after tests/lib.sh, tests/lab/machine.sh and tests/lab/netboot.sh, once
# machine_net_init has run; needs root.
#
#   kexeclab_init [CMDLINE_EXTRA]
#       the installed system's image ($KX_IMG, its command line as GRUB
#       passes it in $KX_CMDLINE, CMDLINE_EXTRA appended to its linux
#       line), castiron's key, machine 1 (a blank 128 MiB NVMe disk, 512
#       MiB) and its BMC, dnsmasq and castiron boot serve, and host h1
#       enrolled with the machine's MAC, serial, BMC and address $KX_ADDR
#   kexeclab_init --osimage DIR
#       the same with a built image instead (a cache entry of `make
#       images`, images/recipes/: NAME.img.zst, NAME.bmap, its manifest):
#       the disk its min_disk, 1 GiB of memory; $KX_CMDLINE is then empty
#       (castiron's note says what it read)
#   kexeclab_config REBOOT FALLBACK [DEPLOY_CMDLINE_EXTRA]
#       writes $KX_INI ([provision] reboot and kexec_fallback; the extra
#       words go on the deploy environment's kernel command line, as a
#       site's [boot] cmdline would carry them), exports CASTIRON_CONFIG
#       and restarts the boot service, which reads it once
#   kx_ssh COMMAND...   runs COMMAND on h1 as root with castiron's key,
#                       the host key the inventory pins for h1 pinned
#   kx_json FILTER      jq -r FILTER over `inventory show h1 --format json`
#   kx_events STEP      the reasons of STEP's events, one a line

KX_ADDR=$LABM_PROV.60
KX_PORT=$((24000 + $$ % 400))

kexeclab_init() {
	mkdir -p "$T/kx"
	_kd=128 _km=512
	if [ "${1:-}" = --osimage ]; then
		_km=1024
		KX_NAME=$(sed -n 's/^name=//p' "$2/manifest")
		KX_IMG=$2/$(sed -n 's/^image=//p' "$2/manifest")
		KX_BMAP=$2/$(sed -n 's/^bmap=//p' "$2/manifest")
		KX_SHA=$(sed -n 's/^image_sha256=//p' "$2/manifest")
		KX_BMAP_SHA=$(sed -n 's/^bmap_sha256=//p' "$2/manifest")
		KX_MIN=$(sed -n 's/^min_disk=//p' "$2/manifest")
		KX_KVER=$(sed -n 's/^kernel_release=//p' "$2/manifest")
		_kd=$((KX_MIN / 1048576 + 64))
		KX_CMDLINE=""
	else
		KX_NAME=testos
		KX_IMG=$T/kx/os.img
		tests/lab/mkbootos "$KX_IMG" 64 "$D" "${1:-}" || return 1
		KX_BMAP=$KX_IMG.bmap
		KX_SHA=$(sha256sum <"$KX_IMG" | cut -d' ' -f1)
		KX_BMAP_SHA=$(sha256sum <"$KX_BMAP" | cut -d' ' -f1)
		KX_MIN=0
		KX_CMDLINE=$(cat "$KX_IMG.cmdline")
		KX_KVER=$(sed -n 's/^kernel_release=//p' "$D/manifest")
	fi
	ssh-keygen -q -t ed25519 -N '' -C provision -f "$T/kx/id" || return 1
	KX_KEY=$(cut -d' ' -f1,2 "$T/kx/id.pub" | tr ' ' ,)
	netboot_init "$KX_PORT" || return 1
	machine_new 1 --blank "$_kd" --mem "$_km" || return 1
	bmc_start 1 || return 1
	bmc_password 1 h1 "$T/kx/bmc.d"
	KX_INI=$T/kx/c.ini
	kexeclab_config kexec none
	"$CASTIRON" inventory add h1 --site lab --rack r1 --unit 1 \
	    --serial "$M_SERIAL" --bmc "$BMC_ADDR" --mac "$M_MAC" \
	    --address "$KX_ADDR" >/dev/null || return 1
	# (Before dnsmasq runs: it says it has no pid to signal.)
	"$CASTIRON" boot dnsmasq >"$T/kx/boot-dnsmasq.log" 2>&1 || return 1
	netboot_dnsmasq "$T/kx/dnsmasq" "$T/kx/dnsmasq.pid" || return 1
	kx_serve
}

# castiron boot serve, (re)started: it reads the configuration once.
kx_serve() {
	netboot_serve_stop
	netboot_serve "$T/kx/serve.log"
}

kexeclab_config() {	# REBOOT FALLBACK [DEPLOY_CMDLINE_EXTRA]
	cat >"$KX_INI" <<EOF
[castiron]
state_dir = $T/kx/state
[inventory]
database = $T/kx/inv.db
[images]
cache_dir = $T/kx/cache
[image $KX_NAME]
url    = file://$KX_IMG
sha256 = $KX_SHA
bmap   = file://$KX_BMAP
bmap_sha256 = $KX_BMAP_SHA
min_disk = $KX_MIN
[provision]
ssh_key         = $T/kx/id
image           = $KX_NAME
power           = bmc
reboot          = $1
$( [ "$1" = kexec ] && echo "kexec_fallback  = $2" )
boot_timeout    = 300s
reboot_timeout  = 600s
connect_timeout = 20s
io_timeout      = 60s
writer          = $PWD/$BUILD/castiron-writer-static
[bmc]
username      = admin
password_dir  = $T/kx/bmc.d
ca_bundle     = $LABM_CA
power_timeout = 30s
[boot]
listen     = $LABM_PROV.1:$KX_PORT
deploy_dir = $D
interface  = brp
dhcp_range = $LABM_PROV.100,$LABM_PROV.150,1h
dnsmasq_dir = $T/kx/dnsmasq
dnsmasq_pidfile = $T/kx/dnsmasq.pid
router_advertisements = yes
cmdline    = console=ttyS0 quiet castiron.authorized_key=$KX_KEY,provision${3:+ $3}
EOF
	CASTIRON_CONFIG=$KX_INI
	export CASTIRON_CONFIG
	[ -z "$NETBOOT_SERVE" ] || kx_serve
}

kx_ssh() {
	printf '%s %s\n' "$KX_ADDR" "$(kx_json '.ssh_host_key | .type + " " + .key')" \
	    >"$T/kx/known_hosts"
	timeout 60 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile="$T/kx/known_hosts" -o GlobalKnownHostsFile=/dev/null \
	    -o IdentitiesOnly=yes -o ConnectTimeout=20 -i "$T/kx/id" "root@$KX_ADDR" "$@"
}

kx_json() { "$CASTIRON" inventory show h1 --format json | jq -r "$1"; }
kx_events() { kx_json ".events[] | select(.step == \"$1\") | .reason // empty"; }
