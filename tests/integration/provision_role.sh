# A host's role, from the appliance's [role NAME] to the files configure
# writes into the installed system, against real sshd hosts in network
# namespaces (tests/lab/provlab.sh) whose disks are read back here:
#  - config check refuses each kind of bad role with one line naming the
#    file, line and key (exit 2), and provision refuses such a file before
#    any host is touched;
#  - a host of role web gets its castiron.ini (the role's services file
#    line for line, then [castiron] and [bgp]), which the castiron binary's
#    own config check passes, a bird.conf that BIRD itself parses, with the
#    host's address as router id and BGP source and its gateway as peer,
#    the castiron user and run directories, and castiron-bgp.service
#    enabled as a link to the unit where the image has it;
#  - a host whose role has no section gets none of it and a note; a host
#    with no gateway for peers = gateway is refused before anything
#    changes (its plan, its run: one line naming host and role), an image
#    without castiron's unit fails configure, nothing of its files
#    written;
#  - a services file changed in the middle of a run to announce a prefix
#    outside the role's allowed_prefixes refuses its host at configure
#    (nothing written), and the next run, with the file put right, resumes
#    there;
#  - the files written on host1's disk run for real: its BIRD (from its
#    bird.conf) and `castiron bgp run` (from its castiron.ini) in a
#    namespace with the host's address, peering with a top-of-rack BIRD at
#    its gateway; the healthy service's prefix appears at the router, the
#    failing one's does not, and the prefix goes when its check fails.
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "provision of hosts with roles" bird birdc jq unshare
lab_init

# Two images: one with castiron's unit where `make install` puts it (as
# images/recipes/debian12 does), one without.
mkdir -p "$T/tree/usr/local/lib/systemd/system"
cp etc/castiron-bgp.service "$T/tree/usr/local/lib/systemd/system/"
MKOS_TREE=$T/tree tests/lab/mkosimage "$T/os.img" 48 4
tests/lab/mkosimage "$T/bare.img" 48 4
BARESHA=$(sha256sum "$T/bare.img" | cut -d' ' -f1)

mkdir -p "$T/roles"
cat >"$T/roles/web.ini" <<EOF
; The web role's services: what every web host checks and announces.
[service web]
check    = exec
command  = /usr/bin/test -e $T/web-up
interval = 200ms
rise     = 2
fall     = 1
prefixes = 192.0.2.10/32, 2001:db8::10/128

[service dns]
check    = tcp
address  = 127.0.0.1:53
interval = 200ms
prefixes = 192.0.2.53/32
EOF
cat >"$T/roles/edge.ini" <<EOF
[service edge]
check    = tcp
address  = 127.0.0.1:443
prefixes = 198.51.100.80/32
EOF
cp "$T/roles/edge.ini" "$T/edge.good"

# SSH only (power = none), no reboot: the installed roots are read from
# the disks here.
lab_config power=none provision.reboot=none provision.parallel=4 \
    castiron.site=ams1 \
    "image bare.url=file://$T/bare.img" "image bare.sha256=$BARESHA" \
    "image bare.bmap=file://$T/bare.img.bmap" \
    "role web.services=$T/roles/web.ini" \
    "role web.allowed_prefixes=192.0.2.0/24, 2001:db8::/32" \
    "role web.local_as=65101" "role web.peer_as=65000" \
    "role edge.services=$T/roles/edge.ini" \
    "role edge.allowed_prefixes=198.51.100.0/24"
# notes of host $1 whose reason matches the regular expression $2
events() { jget "$1" "[.events[] | select((.reason // \"\") | test(\"$2\"))] | length"; }
disk_state() { echo "$(lab_written "$1") $(lab_sha "$(cat "$T/lab/h$1/loop")" 0)"; }
# The installed root of host $1, mounted read-only at $T/root$1.
mount_root() {
	mkdir -p "$T/root$1"
	eval "mount -o ro \"\${D$1}p1\" \"$T/root$1\"" &&
	    at_exit "umount '$T/root$1' 2>/dev/null"
}

for n in 1 2 3 4 5; do
	lab_host $n openssh 64
	eval "D$n=\$LAB_DISK A$n=\$LAB_ADDR M$n=\$LAB_MAC"
done
# host1, host4 and host5 from a CSV with static addresses and gateways (the root
# namespace's end of each one's link), the others by hand with a bare
# address: host3 is of role web, which peers with the gateway it lacks.
GW1=$LAB_NET.5
GW4=$LAB_NET.17
GW5=$LAB_NET.21
{
	echo "hostname,site,rack,unit,macs,address,gateway,disk,role"
	echo "host1,ams1,r1,1,$M1,$A1/30,$GW1,$D1,web"
	echo "host4,ams1,r1,4,$M4,$A4/30,$GW4,$D4,web"
	echo "host5,ams1,r1,5,$M5,$A5/30,$GW5,$D5,edge"
} >"$T/hosts.csv"
"$C" inventory import "$T/hosts.csv" >/dev/null
"$C" inventory add host2 --site ams1 --rack r1 --unit 2 --mac "$M2" --address "$A2" --disk "$D2" --role cache
"$C" inventory add host3 --site ams1 --rack r1 --unit 3 --mac "$M3" --address "$A3" --disk "$D3" --role web
check "host1 enrolled with its role, address and gateway" \
    "$(jget host1 '.role + " " + .address + " " + .gateway')" = "web $A1 $GW1"

# -- config check: the roles, and one line for each bad one -------------
ok "the appliance's file with two roles passes config check" "$C" config check
check "  ...and says so" "$(cat "$T/.out")" = "$T/c.ini: OK (2 images, 0 services, 2 roles)"
# bad NAME SED-EXPR [FILE]: a copy of c.ini (or FILE) with SED-EXPR applied
bad() { sed "$2" "${3:-$T/c.ini}" >"$T/$1"; }
# refused NAME FILE WANT: config check of FILE exits 2 with exactly one
# error line (then its count), and that line is WANT
refused() {
	fails_with 2 "config check refuses $1" "$C" -c "$2" config check
	check "  ...in one line: $3" \
	    "$(grep -c '^castiron: ' "$T/.out"):$(head -n 1 "$T/.out")" = \
	    "2:castiron: $3"
}
ROLELINE=$(grep -n '^\[role web\]' "$T/c.ini" | cut -d: -f1)
bad as0.ini "s/^local_as = 65101/local_as = 0/"
refused "an AS number out of range" "$T/as0.ini" \
    "$T/as0.ini:$((ROLELINE + 3)): [role web] local_as: 0 is out of range (1 to 4294967295)"
bad peers.ini "/^peer_as = 65000/a peers = gateway, ::1, tor1"
refused "a peer that is no address" "$T/peers.ini" \
    "$T/peers.ini:$((ROLELINE + 5)): [role web] peers: 'tor1' is neither 'gateway' nor an IP address"
bad nopeeras.ini "/^peer_as = 65000/d"
refused "local_as without peer_as" "$T/nopeeras.ini" \
    "$T/nopeeras.ini:$ROLELINE: [role web] peer_as: required with local_as (the AS of the host's BGP peers)"
bad outside.ini "s/^prefixes = 192.0.2.53\/32/prefixes = 192.0.2.53\/32, 203.0.113.53\/32/" "$T/roles/web.ini"
bad svcout.ini "s|$T/roles/web.ini|$T/outside.ini|"
refused "a services file with a prefix outside the role's allowed_prefixes" "$T/svcout.ini" \
    "$T/outside.ini:14: [service dns] prefixes: 203.0.113.53/32 is outside allowed_prefixes of [role web]"
{ cat "$T/roles/web.ini"; printf '\n[bgp]\nallowed_prefixes = 0.0.0.0/0\n'; } >"$T/withbgp.ini"
bad svcbgp.ini "s|$T/roles/web.ini|$T/withbgp.ini|"
refused "a services file with a section of its own" "$T/svcbgp.ini" \
    "$T/withbgp.ini:16: [bgp]: not in a role's services file, which holds [service NAME] and [prefix P] sections only (configure writes the rest from [role web])"
bad svcgone.ini "s|$T/roles/web.ini|$T/nosuch.ini|"
refused "a services file that is not there" "$T/svcgone.ini" \
    "$T/svcgone.ini:$((ROLELINE + 1)): [role web] services: $T/nosuch.ini: No such file or directory"

BEFORE1=$(disk_state 1)
fails_with 2 "provision refuses a bad role before any host" \
    "$C" -c "$T/svcout.ini" provision host1 --accept-new-hostkey
check "  ...naming the services file's line" \
    "$(grep -c "outside.ini:14: \[service dns\] prefixes" "$T/.out")" = 1
check "  ...host1 untouched" "$(jget host1 .state)/$(jget host1 '.events | length')" = enrolled/1
check "  ...its disk untouched" "$(disk_state 1)" = "$BEFORE1"

# -- a run: web, a role without a section, a host without a gateway ------
# host3's role cannot be rendered for it (peers = gateway, and it has
# none): refused before anything changes, in the plan and in the run.
BEFORE3=$(disk_state 3)
ok "dry run" sh -c "'$C' provision host1 host2 host3 --dry-run --format json >'$T/plan.json'"
check "  ...host3's plan says it is refused, naming host and role" \
    "$(jq -r '.[2].note' "$T/plan.json")" = \
    "refused: host3 (role web): peers = gateway, but the inventory has no gateway for the host (enrol it as ADDRESS/PREFIXLEN with a gateway, or name the peers)"
check "  ...host1's and host2's plans have no note" "$(jq -r '.[0].note + .[1].note' "$T/plan.json")" = ""
fails_with 2 "provision host3 alone is refused as bad input" \
    "$C" provision host3 --accept-new-hostkey
check "  ...in one line naming host and role" \
    "$(grep -c "host3 (role web): peers = gateway, but the inventory has no gateway for the host" "$T/.out")" -ge 1
fails_with 1 "provision host1-3: host3 refused, the others provisioned" \
    "$C" provision host1 host2 host3 --accept-new-hostkey
cp "$T/.out" "$T/run1.out"
sed 's/^/# /' "$T/run1.out" | tail -n 8
check "host1 active" "$(jget host1 .state)" = active
check "host2 active" "$(jget host2 .state)" = active
check "host3 still enrolled, no event but its enrollment" \
    "$(jget host3 .state)/$(jget host3 '.events | length')" = enrolled/1
check "  ...its disk untouched" "$(disk_state 3)" = "$BEFORE3"

mount_root 1
R=$T/root1
INI=$R/etc/castiron/castiron.ini
WEBLINES=$(wc -l <"$T/roles/web.ini")
check "host1: castiron.ini begins with the role's services file, line for line" \
    "$(head -n "$WEBLINES" "$INI" | sha256sum)" = "$(sha256sum <"$T/roles/web.ini")"
check "host1: [castiron] site from the inventory" \
    "$(sed -n '/^\[castiron\]/,/^\[/s/^site = //p' "$INI")" = ams1
check "host1: [bgp] allowed_prefixes are the role's" \
    "$(sed -n 's/^allowed_prefixes = //p' "$INI")" = "192.0.2.0/24, 2001:db8::/32"
check "host1: castiron.ini mode 0644, no secret in it" "$(stat -c %a "$INI")" = 644
check "  ...in a directory user castiron can enter (castiron-bgp.service runs as castiron)" \
    "$(stat -c %a "$R/etc/castiron")" = 755
ok "host1: castiron.ini passes the castiron binary's config check" \
    "$C" -c "$INI" config check
check "  ...with the role's two services" "$(cat "$T/.out")" = "$INI: OK (0 images, 2 services)"
touch "$T/web-up"
fails_with 1 "host1: castiron bgp check runs with it (dns is down here)" \
    sh -c "'$C' -c '$INI' --format json bgp check >'$T/check.json'"
check "  ...every service of the role checked" \
    "$(jq -r '[.[] | .service + "=" + .result] | sort | join(" ")' "$T/check.json" 2>/dev/null)" = "dns=down web=up"
BIRD=$R/etc/bird/bird.conf
check "host1: bird.conf's router id is the host's address" \
    "$(grep -c "^router id $A1;\$" "$BIRD")" = 1
check "host1: one session, from the host's address to its gateway" \
    "$(grep -c '^protocol bgp ' "$BIRD") $(grep -c "local $A1 as 65101;" "$BIRD") $(grep -c "neighbor $GW1 as 65000;" "$BIRD")" = "1 1 1"
check "host1: it exports castiron's protocols only, imports nothing" \
    "$(grep -c 'export where proto ~ "castiron_\*";' "$BIRD") $(grep -c 'import none;' "$BIRD")" = "1 1"
check "host1: it includes castiron's directory" \
    "$(grep -c '^include "/run/castiron/bird/\*\.conf";$' "$BIRD")" = 1
mkdir -p "$T/inc"
sed "s|/run/castiron/bird|$T/inc|" "$BIRD" >"$T/bird-parse.conf"
ok "host1: BIRD parses it (bird -p)" bird -p -c "$T/bird-parse.conf"
check "host1: the castiron user (sysusers.d)" \
    "$(grep -c '^u castiron - ' "$R/etc/sysusers.d/castiron.conf")" = 1
check "host1: castiron's run directories before BIRD (tmpfiles.d), as etc/castiron-tmpfiles.conf" \
    "$(grep '^d ' "$R/etc/tmpfiles.d/castiron.conf")" = "$(grep '^d ' etc/castiron-tmpfiles.conf)"
check "host1: castiron-bgp.service enabled, linked to the image's unit" \
    "$(readlink "$R/etc/systemd/system/multi-user.target.wants/castiron-bgp.service")" = \
    /usr/local/lib/systemd/system/castiron-bgp.service
check "host1: the note says what the role brought" \
    "$(events host1 '^role web: castiron bgp with 2 services announcing 3 prefixes, BIRD peering from the host.s address, castiron-bgp.service enabled$')" = 1
check "host1: the rest of configure's files too" \
    "$(cat "$R/etc/hostname")" = host1

mount_root 2
check "host2 (role cache, no section): configured, no castiron bgp files" \
    "$(cat "$T/root2/etc/hostname"):$(ls "$T/root2/etc/castiron"):$(ls -d "$T/root2/etc/bird" "$T/root2/etc/sysusers.d" "$T/root2/etc/systemd/system" 2>/dev/null | wc -l)" = \
    "host2:provision-id:0"
check "host2: a note says why" \
    "$(events host2 "^role cache has no \\\\[role cache\\\\] in $T/c.ini: no castiron bgp configuration written\$")" = 1

# -- an image without castiron's unit ---------------------------------
fails_with 1 "provision host4 with an image without castiron-bgp.service" \
    "$C" provision host4 --image bare --accept-new-hostkey
check "  ...failed at configure naming the unit" \
    "$(jget host4 '.state + "/" + .step'):$(grep -c 'host4: .*castiron-bgp.service: no such unit in the installed root' "$T/.out" | sed 's/^[1-9][0-9]*$/yes/')" = "failed/configure:yes"
sed 's/^/# /' "$T/.out" | grep -i fail | tail -n 3
mount_root 4
check "  ...nothing of configure's written" \
    "$(ls "$T/root4/etc/hostname" "$T/root4/etc/castiron" "$T/root4/etc/systemd" 2>/dev/null | wc -l)" = 0
umount "$T/root4"

# -- the services file changes under a run --------------------------------
# host5's image goes slowly; while the image step runs, its role's file
# gains a prefix outside the role's allowed_prefixes.
lab_slow 5 8mbit
"$C" provision host5 --accept-new-hostkey >"$T/run5.out" 2>&1 &
P5=$!
at_exit "kill $P5 2>/dev/null"
wait_for 60 "host5 in its image step" \
    sh -c "'$C' inventory show host5 --format json | jq -e '.state == \"provisioning\" and .step == \"image\"'"
printf '\n[service api]\ncheck = tcp\naddress = 127.0.0.1:8443\nprefixes = 203.0.113.9/32\n' >>"$T/roles/edge.ini"
STEP5=$(jget host5 .step)
wait "$P5"
RC5=$?
lab_fast 5
# (Every command refuses the appliance's file while edge.ini is bad.)
fails_with 2 "while the services file is bad, every command refuses the file" \
    "$C" inventory show host5
cp "$T/edge.good" "$T/roles/edge.ini"
check "host5: the run fails it (the file changed during the image step: $STEP5)" "$RC5" = 1
check "  ...at configure" "$(jget host5 '.state + "/" + .step')" = failed/configure
check "  ...in one line naming host, role, file, line and prefix" \
    "$(grep -c "host5 (role edge): $T/roles/edge.ini:9: \[service api\] prefixes: 203.0.113.9/32 is outside allowed_prefixes of \[role edge\]" "$T/run5.out")" -ge 1
mount_root 5
check "  ...nothing of configure's written" \
    "$(ls "$T/root5/etc/hostname" "$T/root5/etc/castiron" 2>/dev/null | wc -l)" = 0
umount "$T/root5"
ok "host5: the file put right, the next run resumes at configure" \
    "$C" provision host5
check "  ...active, the image not written again" \
    "$(jget host5 .state):$(events host5 '^resumed$'):$(jget host5 '[.events[] | select(.step == "image" and (.reason // "" | test("^done")))] | length')" = "active:1:1"
mount_root 5
check "host5: its castiron.ini carries edge's service and no bird.conf (no local_as)" \
    "$(grep -c '^\[service edge\]' "$T/root5/etc/castiron/castiron.ini"):$(ls "$T/root5/etc/bird" 2>/dev/null | wc -l)" = "1:0"

# -- host1's files, run: its BIRD and castiron bgp, a router at its gateway
SRV=ci-role-$$-srv
TOR=ci-role-$$-tor
ip netns add "$SRV" && at_exit "ip netns del $SRV"
ip netns add "$TOR" && at_exit "ip netns del $TOR"
# Everything started in them, killed by pid at exit.
at_exit "for p in \$(ip netns pids $SRV) \$(ip netns pids $TOR); do kill \$p; done"
ip link add "rs$$" netns "$SRV" type veth peer name "rt$$" netns "$TOR"
ip -n "$SRV" addr add "$A1/30" dev "rs$$"
ip -n "$TOR" addr add "$GW1/30" dev "rt$$"
for ns in "$SRV" "$TOR"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" link set "rs$$" up
ip -n "$TOR" link set "rt$$" up
cat >"$T/tor.conf" <<EOF
router id $GW1;
protocol device {
}
protocol bgp srv1 {
	local $GW1 as 65000;
	neighbor $A1 as 65101;
	ipv4 {
		import all;
		export none;
	};
}
EOF
ip netns exec "$TOR" bird -c "$T/tor.conf" -s "$T/tor.ctl"
tor() { birdc -s "$T/tor.ctl" "$@"; }
# The host's side in a mount namespace of its own, where /run and
# /var/lib/castiron are empty tmpfs, as after a boot (tmpfiles made
# castiron's directories): BIRD from the host's bird.conf, castiron from
# its castiron.ini, both exactly as written on its disk.
cat >"$T/srv.sh" <<EOF
mount -t tmpfs ci-role /run && mount -t tmpfs ci-role /var/lib/castiron || exit 1
mkdir -p /run/castiron/bird /run/bird
bird -c "$BIRD" -s /run/bird/bird.ctl || exit 1
exec "$C" -c "$INI" bgp run
EOF
ip netns exec "$SRV" unshare -m --propagation private sh "$T/srv.sh" >"$T/srv.log" 2>&1 &
touch "$T/web-up"
ok "the router's session to host1 comes up" \
    wait_for 30 "BGP Established" sh -c "birdc -s '$T/tor.ctl' show protocols srv1 | grep -q Established"
ok "web's prefix, healthy, appears at the router from AS 65101" \
    wait_for 20 "192.0.2.10/32 at the router" \
    sh -c "birdc -s '$T/tor.ctl' show route 192.0.2.10/32 all | grep -q 'BGP.as_path: 65101'"
check "dns's prefix, its check failing, is not announced" \
    "$(tor show route 192.0.2.53/32 | grep -c '192.0.2.53/32')" = 0
rm -f "$T/web-up"
ok "web's check failing, its prefix is withdrawn at the router" \
    wait_for 20 "192.0.2.10/32 gone" \
    sh -c "! birdc -s '$T/tor.ctl' show route 192.0.2.10/32 | grep -q '192.0.2.10/32'"
sed 's/^/# srv: /' "$T/srv.log" | tail -n 5

done_testing
