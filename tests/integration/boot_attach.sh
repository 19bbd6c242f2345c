# A machine attached to its host at its enlistment check-in gets the
# host's address at its next DHCP request, not the address of the lease
# its enlistment boot took from [boot] dhcp_range (docs/netboot.md,
# "Enlistment").  Debian's dnsmasq with the configuration castiron writes
# and `castiron boot serve` keeping its hosts file in step, in a
# namespace with the provisioning interface; the machine is a DHCP client
# (busybox udhcpc) in a namespace of its own, which checks in as the
# enlistment environment does (curl: its MAC and serial).  Its next DHCP
# asks for its old address, as a client that remembers its lease does;
# then the plain DISCOVER of a network boot.  Asserts the addresses the
# client is given, the hosts file at the moment the check-in is answered,
# and dnsmasq's lease file.
# time-limit: 120
. tests/lib.sh

if [ "$(id -u)" != 0 ] || ! command -v dnsmasq >/dev/null; then
	skip "a machine attached at enlistment" "needs root and dnsmasq"
	done_testing; exit
fi
NET=10.250.$(($$ % 250))
SRV=ci-attach-$$-1
CLI=ci-attach-$$-2
MAC=02:ce:$(printf '%02x:%02x' $(($$ % 256)) $(($$ / 256 % 256))):00:01
SN=LAB-AT-$$
PORT=$((26000 + $$ % 400))
URL=http://$NET.1:$PORT
ip netns add "$SRV" || exit 1
ip netns add "$CLI" || exit 1
at_exit "ip netns del $SRV; ip netns del $CLI"
ip -n "$SRV" link add prov0 type veth peer name prov1 netns "$CLI"
ip -n "$SRV" addr add "$NET.1/24" dev prov0
ip -n "$SRV" link set prov0 up
ip -n "$SRV" link set lo up
ip -n "$CLI" link set prov1 address "$MAC"
ip -n "$CLI" link set prov1 up
ip -n "$CLI" link set lo up

cat >"$T/c.ini" <<EOF
[inventory]
database = $T/inv.db
[castiron]
state_dir = $T/state
[boot]
listen      = $NET.1:$PORT
interface   = prov0
dhcp_range  = $NET.100,$NET.199,1h
dnsmasq_dir = $T/dnsmasq
dnsmasq_pidfile = $T/dnsmasq.pid
EOF
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
# The rack's packing list: h1 by its serial and its address, no MAC.
"$C" inventory add h1 --site s --rack r --unit 1 --serial "$SN" --address "$NET.51" >/dev/null
"$C" boot dnsmasq >/dev/null || { echo "not ok 1 - boot dnsmasq"; echo "1..1"; exit 1; }
ip netns exec "$SRV" dnsmasq --conf-file="$T/dnsmasq/castiron.conf" --pid-file="$T/dnsmasq.pid" \
    --keep-in-foreground --user=root --log-facility="$T/dnsmasq.log" </dev/null &
DM=$!
at_exit "kill $DM 2>/dev/null"
ok "dnsmasq runs with castiron's configuration" wait_for 10 "dnsmasq" test -s "$T/dnsmasq.pid"
ip netns exec "$SRV" "$C" boot serve >"$T/serve.log" 2>&1 &
SERVE=$!
at_exit "kill $SERVE 2>/dev/null"
ok "the boot service runs" wait_for 10 "boot serve" ip netns exec "$SRV" curl -sf "$URL/boot.ipxe"

printf '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" >%s/bound\nexit 0\n' "$T" >"$T/udhcpc.script"
chmod +x "$T/udhcpc.script"
dhcp() {	# [OLD-ADDRESS]: one DHCP exchange; prints the address bound
	rm -f "$T/bound"
	ip netns exec "$CLI" busybox udhcpc -i prov1 -f -q -n -t 5 -T 2 \
	    ${1:+-r "$1"} -s "$T/udhcpc.script" >/dev/null 2>&1 && cat "$T/bound"
}
L0=$(dhcp)
check "the unknown machine's first DHCP: an address of the range ($L0)" \
    -n "$(echo "$L0" | grep "^$NET\.1[0-9][0-9]\$")"
R0=$(grep -c "read $T/dnsmasq/hosts" "$T/dnsmasq.log")
ip -n "$CLI" addr add "$L0/24" dev prov1

# Its enlistment check-in, from its address: attached to h1 by its serial.
code=$(ip netns exec "$CLI" curl -s -o "$T/reply" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' \
    -d "{\"mode\":\"enlist\",\"macs\":[\"$MAC\"],\"serial\":\"$SN\"}" "$URL/checkin")
HOSTS=$(cat "$T/dnsmasq/hosts")
check "its enlistment check-in attaches it to h1 (202 attached)" "$code $(cat "$T/reply")" = "202 attached"
check "  ...and when the service answers, dnsmasq's hosts file gives its MAC h1's address" \
    "$HOSTS" = "$MAC,$NET.51,h1"
ok "  ...and dnsmasq has read it again (SIGHUP)" wait_for 10 "dnsmasq to read the hosts again" \
    sh -c "[ \$(grep -c 'read $T/dnsmasq/hosts' '$T/dnsmasq.log') -gt $R0 ]"

ip -n "$CLI" addr flush dev prov1		# it powers off
L1=$(dhcp "$L0")
check "its next DHCP, asking for its old address, gets h1's ($L1)" "$L1" = "$NET.51"
check "  ...dnsmasq refused it the old one: a static lease is there" \
    -n "$(grep -i "static lease available\|DHCPOFFER(prov0) $NET.51 $MAC" "$T/dnsmasq.log")"
L2=$(dhcp)
check "a network boot's DHCP (a plain DISCOVER) gets h1's address too ($L2)" "$L2" = "$NET.51"
ok "dnsmasq's lease file: the MAC holds h1's address, and the range lease is gone" wait_for 10 "the lease file" \
    sh -c "[ \"\$(awk '{ print \$2, \$3 }' '$T/state/dnsmasq.leases')\" = '$MAC $NET.51' ]"
[ "$_failed" -eq 0 ] || { tail -n 20 "$T/dnsmasq.log"; cat "$T/state/dnsmasq.leases"; tail -n 5 "$T/serve.log"; } | sed 's/^/# /'
done_testing
