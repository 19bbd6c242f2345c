# A site on this machine (issue 16): a rack of QEMU servers, each behind
# its own emulated BMC, the appliance that provisions them, and the
# top-of-rack router they announce their anycast prefixes to.  Sourced
# after tests/lib.sh, tests/lab/machine.sh, tests/lab/ipmi-lab.sh and
# tests/lab/netboot.sh; needs root.  tests/lab/site is the command that
# builds one, uses it and tears it down; docs/lab.md ("A site") describes
# it in full.
#
#   lab namespace $LABM_NS (machine.sh): the two networks' bridges, every
#       server's QEMU and every BMC
#     management     brm, $LABM_MGMT.0/24: server N's BMC .(10+N)
#     server network brp, $LABM_PROV.0/24: the servers' one NIC each
#                    (provisioning and service alike, as with PXE on the
#                    rack's native VLAN); server N is .(50+N), its
#                    gateway the router
#   appliance namespace $SITE_APP: castiron with its inventory, image cache
#       and signed catalog under $SITE_A, dnsmasq (castiron's
#       configuration) and `castiron boot serve` on $SITE_APP_PROV:80;
#       its ports: mgmt $LABM_MGMT.3, prov $LABM_PROV.3
#   router namespace $SITE_TOR: BIRD, AS 65000, $SITE_TOR_ADDR
#       ($LABM_PROV.254), accepting an eBGP session from any address of
#       the server network (a dynamic neighbour range) and importing the
#       anycast prefixes (192.0.2.0/24, /32s) the servers announce
#
#   site_up N [--ipmi K|none] [--mem MB] [--disk MB]
#                       builds the site with N servers (QEMU not started:
#                       the BMCs power them): BMC 1..N Redfish, each with
#                       the next quirk profile of $SITE_PROFILES, except
#                       server K (default N when N > 1), which is IPMI
#                       (ipmi_sim); each server --mem MB of memory (512)
#                       and a --disk MB NVMe disk (4096, sparse).  Its
#                       teardown (every QEMU, BMC, daemon, namespace) is
#                       registered with at_exit.  Prints what it built
#   site_castiron ARGS...   castiron in the appliance ($SITE_A/castiron.ini)
#   site_csv FILE [--no-mac N...]
#                       the rack's CSV as a vendor sends it: hostname,
#                       site, rack, unit, serial, bmc, bmc_driver, macs,
#                       address (with /24), gateway, role; --no-mac N:
#                       server N's MAC left out (enlisted, matched by
#                       serial)
#   site_host N         server N's host name (srvN)
#   site_mac N / site_serial N / site_addr N
#   site_tor_birdc ARGS...  birdc at the router
#   site_tor_route PFX  exit 0 when the router has a route for PFX
#   site_tor_peers      the router's Established server sessions
#   site_boot_restart   restarts `castiron boot serve` (its log goes on)
#   site_ssh N CMD...   CMD as root on installed server N, from the
#                       appliance with provision's key, the server's host
#                       key accepted only if it is the one the inventory
#                       pinned
#   site_serve N        installed server N serves: its web service
#                       (lab-web, a transient unit: 127.0.0.1:8080, what
#                       the web role's check asks) started over SSH.
#                       When castiron has roles (SITE_ROLES=yes: the
#                       appliance's [role web], AS 65101, the router its
#                       gateway), configure wrote BIRD's and castiron
#                       bgp's configuration and enabled castiron-bgp;
#                       without, it first runs site_bgp_standin
#   site_bgp_standin N  STAND-IN for configure writing castiron bgp's
#                       configuration from the host's role, while castiron
#                       has no roles: on installed server N, over SSH,
#                       BIRD with an eBGP session to the router (AS
#                       65100+N), castiron.ini's [bgp] and the web role's
#                       services file ($SITE_A/roles/web.ini), castiron
#                       bgp run as a transient unit (lab-bgp)
#   site_tor_paths PFX  the servers the router has a path for PFX from
#                       (srvN, by the path's next hop: the server's own
#                       address over eBGP), sorted, on one line
#   site_image          which OS image the appliance publishes: the
#                       recipe's bootable Debian image (`make images`)
#                       once it exists, else tests/lab/mkosimage's
#                       (not bootable); sets SITE_IMAGE (its catalog
#                       name) and SITE_BOOTABLE (yes|no)
#   site_down           everything removed (at_exit does it)
#   site_show           what site_up printed: one line per piece
#
# Set before site_up: SITE_OS=testos (the small test image even when the
# recipe's is built), SITE_BOOT_TIMEOUT ([provision] boot_timeout, 180s),
# SITE_BMC_IO_TIMEOUT ([bmc] io_timeout, 10s), SITE_REBOOT_TIMEOUT ([provision]
# reboot_timeout, 600s: Debian under TCG on a loaded machine took over
# 240 s to sshd), SITE_PROFILES (the Redfish
# profiles, in turn).
#
# Files: $SITE_A/castiron.ini, inventory.db, cache/, catalog/ (the signed
# catalog, its key, the images), state/, bmc.d/, dnsmasq/, serve.log;
# $SITE_DIR/tor/ (BIRD's configuration, socket, log).

SITE_APP=ci-app-$$
SITE_TOR=ci-tor-$$
SITE_PROFILES=${SITE_PROFILES:-weak-etag settings delayed-power require-if-match no-if-match-on-post session-limit-2}
SITE_N=0
SITE_IPMI=""
# An installed server's web service (site_bgp_standin): what castiron bgp
# checks, on 127.0.0.1:8080.
SITE_WEB="systemd-run --quiet --unit=lab-web python3 -m http.server 8080 --bind 127.0.0.1 --directory /var/lib/castiron"

site_host() { echo "srv$1"; }
site_mac() { machine_mac "$1"; }
site_serial() { machine_serial "$1"; }
site_addr() { echo "$LABM_PROV.$((50 + $1))"; }
site_castiron() { ip netns exec "$SITE_APP" "$CASTIRON" "$@"; }
site_tor_birdc() { birdc -s "$SITE_DIR/tor/bird.ctl" "$@"; }
site_tor_route() {
	site_tor_birdc show route "$1" 2>/dev/null | grep -qF -- "$1"
}
site_tor_paths() {
	site_tor_birdc show route "$1" 2>/dev/null |
	    sed -n "s/^[[:space:]]*via $LABM_PROV\.\([0-9]*\) on .*/\1/p" |
	    awk '{ print "srv" ($1 - 50) }' | sort | tr '\n' ' ' | sed 's/ $//'
}
site_tor_peers() {
	site_tor_birdc show protocols 2>/dev/null | awk '$2 == "BGP" && /Established/' | wc -l
}

# The OS image: the recipe's (issue 15, branch recipe: `make images`,
# found by tests/lab/osimage) when it is built, else the lab's small test
# image.
site_image() {
	SITE_IMAGE=testos SITE_BOOTABLE=no
	if [ "${SITE_OS:-}" != testos ] && [ -x "$LABM_SRC/osimage" ] &&
	    _sd=$("$LABM_SRC/osimage" debian12 2>/dev/null) &&
	    [ -f "$_sd/debian12.img.zst" ]; then
		SITE_IMAGE=debian12 SITE_BOOTABLE=yes
		ln -sf "$_sd/debian12.img.zst" "$SITE_A/catalog/debian12.img.zst"
		ln -sf "$_sd/debian12.bmap" "$SITE_A/catalog/debian12.bmap"
		return 0
	fi
	"$LABM_SRC/mkosimage" "$SITE_A/catalog/testos.img" 48 4 || return 1
	mv "$SITE_A/catalog/testos.img.bmap" "$SITE_A/catalog/testos.bmap"
}

site_up() {
	SITE_N=$1; shift
	_smem=512 _sdisk=4096
	SITE_IPMI=""
	[ "$SITE_N" -gt 1 ] && SITE_IPMI=$SITE_N
	while [ $# -gt 0 ]; do
		case $1 in
		--ipmi) SITE_IPMI=$2; [ "$2" = none ] && SITE_IPMI="" ;;
		--mem) _smem=$2 ;;
		--disk) _sdisk=$2 ;;
		*) echo "site_up: unknown option $1" >&2; return 1 ;;
		esac
		shift 2
	done
	SITE_DIR=$T/site
	SITE_A=$SITE_DIR/app
	SITE_APP_PROV=$LABM_PROV.3
	SITE_TOR_ADDR=$LABM_PROV.254
	NETBOOT_URL=http://$SITE_APP_PROV:80
	mkdir -p "$SITE_A/catalog" "$SITE_DIR/tor"
	machine_net_init || return 1
	at_exit site_down
	_site_netns || return 1
	_site_appliance || return 1
	_site_servers "$_smem" "$_sdisk" || return 1
	_site_tor || return 1
	_site_services || return 1
	site_show
}

# The appliance's and the router's namespaces, and their ports on the
# lab's bridges.
_site_netns() {
	ip netns add "$SITE_APP" && ip netns add "$SITE_TOR" || return 1
	for _sn in "$SITE_APP" "$SITE_TOR"; do ip -n "$_sn" link set lo up; done
	ip -n "$LABM_NS" link add apm type veth peer name mgmt netns "$SITE_APP" &&
	ip -n "$LABM_NS" link add app type veth peer name prov netns "$SITE_APP" &&
	ip -n "$LABM_NS" link add tor type veth peer name srv netns "$SITE_TOR" ||
	    return 1
	ip -n "$LABM_NS" link set apm master brm up
	ip -n "$LABM_NS" link set app master brp up
	ip -n "$LABM_NS" link set tor master brp up
	ip -n "$SITE_APP" addr add "$LABM_MGMT.3/24" dev mgmt
	ip -n "$SITE_APP" addr add "$SITE_APP_PROV/24" dev prov
	# router advertisements from dnsmasq need an IPv6 address (iPXE
	# otherwise waits about 16 s for IPv6)
	ip -n "$SITE_APP" addr add "fd00:$LABM_ID::3/64" dev prov nodad
	ip -n "$SITE_APP" link set mgmt up
	ip -n "$SITE_APP" link set prov up
	ip -n "$SITE_TOR" addr add "$SITE_TOR_ADDR/24" dev srv
	ip -n "$SITE_TOR" link set srv up
}

# The appliance's keys, configuration and signed catalog.
_site_appliance() {
	_sa=$SITE_A
	ssh-keygen -q -t ed25519 -N '' -C castiron-site -f "$_sa/id_ed25519" || return 1
	cp "$_sa/id_ed25519.pub" "$_sa/authorized_keys"
	signify-openbsd -G -n -c "site catalog key" -p "$_sa/catalog/catalog.pub" \
	    -s "$_sa/catalog/catalog.sec" || return 1
	site_image || return 1
	_skey=$(cut -d' ' -f1,2 "$_sa/id_ed25519.pub" | tr ' ' ,)
	# reboot: a bootable image boots its disk after the BMC's restart;
	# the test image cannot, and provision then ends at configure.
	_sreboot=none
	[ "$SITE_BOOTABLE" = yes ] && _sreboot=bmc
	# The web role's services file: what castiron bgp checks on a server
	# of the role, and the prefix it announces while the check passes.
	mkdir -p "$_sa/roles"
	cat >"$_sa/roles/web.ini" <<EOF
[service web]
check    = http
url      = http://127.0.0.1:8080/
expect   = 200
interval = 1s
fast_interval = 200ms
timeout  = 150ms
rise     = 2
fall     = 2
prefixes = 192.0.2.10/32
EOF
	# castiron with roles: configure writes it on each server of the role,
	# on an image that can run it (the test image has no castiron-bgp
	# unit, which configure would refuse).
	printf '[role web]\nservices = %s\nallowed_prefixes = 192.0.2.0/24\n' \
	    "$_sa/roles/web.ini" >"$_sa/role.probe"
	SITE_ROLES=no
	[ "$SITE_BOOTABLE" = yes ] &&
	    "$CASTIRON" -c "$_sa/role.probe" config check >/dev/null 2>&1 && SITE_ROLES=yes
	cat >"$_sa/castiron.ini" <<EOF
[castiron]
site      = lab1
state_dir = $_sa/state

[inventory]
database = $_sa/inventory.db

[images]
cache_dir      = $_sa/cache
catalog_url    = file://$_sa/catalog/catalog
catalog_pubkey = $_sa/catalog/catalog.pub

[provision]
ssh_key         = $_sa/id_ed25519
authorized_keys = $_sa/authorized_keys
image           = $SITE_IMAGE
power           = bmc
reboot          = $_sreboot
parallel        = 8
boot_timeout    = ${SITE_BOOT_TIMEOUT:-180s}
reboot_timeout  = ${SITE_REBOOT_TIMEOUT:-600s}
connect_timeout = 20s
io_timeout      = 120s
writer          = $PWD/$BUILD/castiron-writer-static

[bmc]
username      = admin
password_dir  = $_sa/bmc.d
ca_bundle     = $LABM_CA
io_timeout    = ${SITE_BMC_IO_TIMEOUT:-10s}
power_timeout = 60s

[boot]
listen      = $SITE_APP_PROV:80
deploy_dir  = $PWD/$BUILD/deploy
interface   = prov
dhcp_range  = $LABM_PROV.100,$LABM_PROV.199,1h
dnsmasq_dir = $_sa/dnsmasq
dnsmasq_pidfile = $_sa/dnsmasq.pid
router_advertisements = yes
cmdline     = console=ttyS0 quiet castiron.authorized_key=$_skey,castiron-site
EOF
	[ "$SITE_ROLES" = no ] || cat >>"$_sa/castiron.ini" <<EOF

[role web]
services         = $_sa/roles/web.ini
allowed_prefixes = 192.0.2.0/24
local_as         = 65101
peer_as          = 65000
EOF
	CASTIRON_CONFIG=$_sa/castiron.ini
	export CASTIRON_CONFIG
	_sf=$_sa/catalog/$SITE_IMAGE.img
	[ -f "$_sf" ] || _sf=$_sf.zst
	# An appliance as installed: its inventory empty (dnsmasq's hosts and
	# the boot service read it).
	echo hostname,site >"$_sa/empty.csv"
	site_castiron inventory import "$_sa/empty.csv" >/dev/null || return 1
	site_castiron image publish "$SITE_IMAGE=$_sf" --key "$_sa/catalog/catalog.sec" \
	    --output "$_sa/catalog/catalog" --base-url "file://$_sa/catalog/" >/dev/null
	# The appliance's cache holds the image, verified against the
	# catalog: what the boot service serves for a deploy environment to
	# pull.
	site_castiron image fetch "$SITE_IMAGE" >>"$_sa/appliance.log" 2>&1
}

# Server N: its machine (QEMU is the BMC's to start) and its BMC.
_site_servers() {	# mem disk
	_smem=$1 _sdisk=$2
	_sp=$SITE_PROFILES
	_sn=1
	while [ "$_sn" -le "$SITE_N" ]; do
		machine_new "$_sn" --blank "$_sdisk" --mem "$_smem" \
		    --serial "$(printf 'LAB1-R1-%03d' "$_sn")" || return 1
		if [ "$_sn" = "$SITE_IPMI" ]; then
			ipmi_bmc_start "$_sn" || return 1
			echo ipmi >"$M_DIR/bmc.driver"
		else
			set -- $_sp
			[ $# -gt 0 ] || set -- $SITE_PROFILES
			_sprof=$1; shift; _sp=$*
			bmc_start "$_sn" --profile "$_sprof" || return 1
			echo "redfish $_sprof" >"$M_DIR/bmc.driver"
		fi
		bmc_password "$_sn" "$(site_host "$_sn")" "$SITE_A/bmc.d"
		_sn=$((_sn + 1))
	done
}

# The top-of-rack router: BIRD, passive towards the servers, any of
# whose addresses may open a session (BIRD's dynamic BGP).
_site_tor() {
	_st=$SITE_DIR/tor
	cat >"$_st/bird.conf" <<EOF
router id $SITE_TOR_ADDR;
log "$_st/bird.log" all;
timeformat log "%F %T.%6f";
protocol device {}
protocol bgp rack {
	local $SITE_TOR_ADDR as 65000;
	neighbor range $LABM_PROV.0/24 external;
	dynamic name "srv";
	hold time 9;
	ipv4 {
		import where net ~ [ 192.0.2.0/24{24,32} ];
		export none;
	};
}
EOF
	ip netns exec "$SITE_TOR" bird -c "$_st/bird.conf" -s "$_st/bird.ctl" \
	    -P "$_st/bird.pid" || return 1
	wait_for 10 "the router's BIRD" site_tor_birdc show status
}

# dnsmasq and the boot service, in the appliance.
_site_services() {
	# (its SIGHUP finds no dnsmasq yet: said in the appliance's log)
	site_castiron boot dnsmasq >>"$SITE_A/appliance.log" 2>&1 || return 1
	netboot_dnsmasq "$SITE_A/dnsmasq" "$SITE_A/dnsmasq.pid" "$SITE_APP" || return 1
	NETBOOT_EXEC="ip netns exec $SITE_APP"
	netboot_serve "$SITE_A/serve.log"
}

site_boot_restart() {
	netboot_serve_stop
	netboot_serve "$SITE_A/serve.log"
}

# What the site is, one line per piece.
site_show() {
	echo "# site: $SITE_N servers; appliance $SITE_APP (mgmt $LABM_MGMT.3," \
	    "prov $SITE_APP_PROV, boot service $NETBOOT_URL), router $SITE_TOR" \
	    "($SITE_TOR_ADDR, AS 65000), lab $LABM_NS; image $SITE_IMAGE" \
	    "(bootable: $SITE_BOOTABLE)"
	echo "# files: $SITE_DIR"
	_sn=1
	while [ "$_sn" -le "$SITE_N" ]; do
		echo "# $(site_host "$_sn"): serial $(site_serial "$_sn"), MAC" \
		    "$(site_mac "$_sn"), $(site_addr "$_sn"), BMC" \
		    "$(bmc_addr "$_sn") ($(cat "$LABM_DIR/m$_sn/bmc.driver"))"
		_sn=$((_sn + 1))
	done
}

site_csv() {	# file [--no-mac N...]
	_sf=$1; shift
	_snomac=" "
	while [ $# -gt 0 ]; do
		case $1 in --no-mac) _snomac="$_snomac$2 "; shift ;; esac
		shift
	done
	{
		echo "hostname,site,rack,unit,serial,bmc,bmc_driver,macs,address,gateway,role"
		_sn=1
		while [ "$_sn" -le "$SITE_N" ]; do
			_smac=$(site_mac "$_sn")
			case $_snomac in *" $_sn "*) _smac="" ;; esac
			printf '%s,lab1,r1,%s,%s,%s,%s,%s,%s/24,%s,web\n' \
			    "$(site_host "$_sn")" "$_sn" "$(site_serial "$_sn")" \
			    "$(bmc_addr "$_sn")" \
			    "$(cut -d' ' -f1 "$LABM_DIR/m$_sn/bmc.driver")" \
			    "$_smac" "$(site_addr "$_sn")" "$SITE_TOR_ADDR"
			_sn=$((_sn + 1))
		done
	} >"$_sf"
}

site_ssh() {	# n cmd...
	_sn=$1; shift
	_sk=$SITE_DIR/known_hosts.$_sn
	_sfp=$(CASTIRON_CONFIG=$SITE_A/castiron.ini "$CASTIRON" inventory show \
	    "$(site_host "$_sn")" --format json | jq -r .ssh_host_key.fingerprint)
	ip netns exec "$SITE_APP" ssh-keyscan -T 10 -t ed25519 "$(site_addr "$_sn")" \
	    2>/dev/null >"$_sk.new"
	[ "$(ssh-keygen -l -E sha256 -f "$_sk.new" 2>/dev/null | awk '{print $2}')" = "$_sfp" ] ||
	    { echo "site_ssh: $(site_host "$_sn")'s host key is not the pinned $_sfp" >&2; return 1; }
	mv "$_sk.new" "$_sk"
	ip netns exec "$SITE_APP" ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile="$_sk" -o GlobalKnownHostsFile=/dev/null \
	    -o IdentitiesOnly=yes -o ConnectTimeout=20 -i "$SITE_A/id_ed25519" \
	    "root@$(site_addr "$_sn")" "$@"
}

# STAND-IN, while castiron has no roles: what configure writes from the
# host's role (provision/role.c), written over SSH: BIRD's session to the
# router and castiron bgp's configuration, the web role's services file
# first.
site_bgp_standin() {	# n
	_sa=$(site_addr "$1")
	site_ssh "$1" "set -e
mkdir -p /etc/castiron /run/castiron/bird /var/lib/castiron
cat >/etc/bird/bird.conf <<'EOB'
router id $_sa;
log syslog all;
protocol device {}
include \"/run/castiron/bird/*.conf\";
protocol bgp tor {
	local $_sa as $((65100 + $1));
	neighbor $SITE_TOR_ADDR as 65000;
	hold time 9;
	connect retry time 1;
	ipv4 { import none; export where proto ~ \"castiron_*\"; };
}
EOB
cat >/etc/castiron/castiron.ini <<'EOC'
$(cat "$SITE_A/roles/web.ini")
[bgp]
bird_socket      = /run/bird/bird.ctl
include_dir      = /run/castiron/bird
allowed_prefixes = 192.0.2.0/24
drain_file       = /var/lib/castiron/drain
control_socket   = /run/castiron/bgp.sock
reconcile_interval = 1s
EOC
systemctl restart bird
systemd-run --quiet --unit=lab-bgp /usr/local/bin/castiron -c /etc/castiron/castiron.ini bgp run"
}

site_serve() {	# n
	if [ "$SITE_ROLES" = no ]; then
		site_bgp_standin "$1" || return 1
	fi
	site_ssh "$1" "$SITE_WEB"
}

site_down() {
	netboot_serve_stop
	for _sn in "$SITE_APP" "$SITE_TOR"; do
		for _sp in $(ip netns pids "$_sn" 2>/dev/null); do
			kill -9 "$_sp" 2>/dev/null
		done
	done
	# (their veths go with them)
	ip netns del "$SITE_APP" 2>/dev/null
	ip netns del "$SITE_TOR" 2>/dev/null
	return 0
}
