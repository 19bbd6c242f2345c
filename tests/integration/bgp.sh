# castiron bgp end to end: castiron and BIRD in a "host" namespace, a
# second BIRD as the upstream router in another; real HTTP and TCP
# services started and killed by the test.  Every assertion looks at the
# ROUTER's routing table (what the network sees).
. tests/lib.sh
. tests/lab/bgp-lab.sh

if ! command -v bird >/dev/null || [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 - # SKIP needs root and bird2"; echo "1..1"; exit 0
fi
lab_up bgp || { echo "not ok 1 - lab setup"; echo "1..1"; exit 1; }
ok "the router's BGP sessions with the host are up" lab_bgp_up

P1=18080; P2=18053
mkdir -p "$T/state"
CFG=$T/castiron.ini
write_cfg() {	# extra text appended
	cat >"$CFG" <<EOC
[castiron]
state_dir = $T/state
[bgp]
bird_socket = $HSOCK
include_dir = $INC
allowed_prefixes = 192.0.2.0/24, 2001:db8::/32
drain_file = $T/state/drain
control_socket = $T/bgp.sock
metrics_file = $T/metrics.prom
reconcile_interval = 1s
bird_timeout = 2s
[service web]
check    = http
url      = http://127.0.0.1:$P1/healthz
interval = 200ms
timeout  = 150ms
rise     = 2
fall     = 2
prefixes = 192.0.2.10/32, 2001:db8::10/128, 192.0.2.99/32
[service dns]
check    = tcp
address  = 127.0.0.1:$P2
interval = 200ms
rise     = 2
fall     = 2
prefixes = 192.0.2.53/32, 192.0.2.99/32
${1:-}
EOC
}
write_cfg

web_start() {
	ip netns exec "$NS_H" python3 tests/lab/bgp-httpd.py $P1 &
	WEB=$!
	at_exit "kill $WEB"
	wait_for 10 "web server" in_host python3 -c "import socket; socket.create_connection(('127.0.0.1', $P1))"
}
web_stop() { kill "$WEB"; wait "$WEB" 2>/dev/null; }
dns_start() {
	ip netns exec "$NS_H" python3 -m http.server --bind 127.0.0.1 $P2 >/dev/null 2>&1 &
	DNS=$!
	at_exit "kill $DNS"
	wait_for 10 "tcp server" in_host python3 -c "import socket; socket.create_connection(('127.0.0.1', $P2))"
}
dns_stop() { kill "$DNS"; wait "$DNS" 2>/dev/null; }

ci_start() {
	ip netns exec "$NS_H" "$CASTIRON" -c "$CFG" -v bgp run >>"$T/castiron.log" 2>&1 &
	CPID=$!
	at_exit 'kill -9 $CPID 2>/dev/null'
	wait_for 10 "control socket" test -S "$T/bgp.sock"
}
ci() { in_host "$CASTIRON" -c "$CFG" "$@"; }
logs_have() { grep -q -- "$1" "$T/castiron.log"; }

# Boot with an empty include dir and the web service not yet running:
# nothing may reach the router before the services pass `rise` checks.
ci_start
dns_start
wait_for 10 "dns prefix" rt_route 192.0.2.53/32
ok "TCP service up: its own prefix is announced" rt_route 192.0.2.53/32
ok "web not running: its prefixes are not announced" rt_no_route 192.0.2.10/32
ok "a prefix shared with a down service is not announced" rt_no_route 192.0.2.99/32
check "the include file says every web prefix is disabled" \
    "$(grep -A1 castiron_p_192_0_2_10_32 "$INC/castiron.conf" | grep -c 'disabled yes')" -eq 1

web_start
ok "web rises: IPv4 prefix announced at the router" wait_for 10 "web v4" rt_route 192.0.2.10/32
ok "web rises: IPv6 prefix announced at the router" wait_for 10 "web v6" rt_route 2001:db8::10/128
ok "both services up: the shared prefix is announced" wait_for 10 "shared" rt_route 192.0.2.99/32
ok "the transition is logged with its reason" logs_have "service web: up (HTTP 200"

# bgp status, JSON as DESIGN.md fixes it.
ci --format json bgp status >"$T/status.json" 2>&1
ok "bgp status --format json has the documented fields" python3 -c "
import json, sys
s = json.load(open('$T/status.json'))
assert s['drained'] is False
assert s['bird']['connected'] is True and s['bird']['version'].startswith('2.')
w = [x for x in s['services'] if x['name'] == 'web'][0]
for k in ('name', 'check', 'healthy', 'state', 'since', 'last_error'):
    assert k in w, k
assert w['healthy'] is True and w['state'] == 'up' and w['check'] == 'http'
p = [x for x in s['prefixes'] if x['prefix'] == '192.0.2.99/32'][0]
assert p['announced'] is True and sorted(p['services']) == ['dns', 'web']
"
ok "metrics file is written" grep -q 'castiron_bgp_service_healthy{service="web"} 1' "$T/metrics.prom"

# No flap from others: three `birdc configure` leave the routes alone.
w0=$(rt_withdraws)
( while :; do rt_route 192.0.2.10/32 || echo gone >>"$T/gaps"; sleep 0.02; done ) &
WATCH=$!
at_exit "kill $WATCH"
for i in 1 2 3; do host_birdc configure >/dev/null; sleep 0.3; done
sleep 0.5
kill $WATCH; wait $WATCH 2>/dev/null
check "birdc configure x3: the router saw no withdrawal" "$(rt_withdraws)" -eq "$w0"
check "birdc configure x3: the route never left the router" ! -e "$T/gaps"

# Fall: the web service dies; its prefixes go, the others stay.
w0=$(rt_withdraws)
web_stop
ok "web killed: IPv4 prefix withdrawn at the router" wait_for 10 "web v4 gone" rt_no_route 192.0.2.10/32
ok "web killed: IPv6 prefix withdrawn at the router" wait_for 10 "web v6 gone" rt_no_route 2001:db8::10/128
ok "web killed: the prefix it shares with dns is withdrawn" wait_for 10 "shared gone" rt_no_route 192.0.2.99/32
ok "web killed: the dns prefix stays" rt_route 192.0.2.53/32
check "the router counted the withdrawals (the counter the no-flap tests read)" \
    "$(rt_withdraws)" -ge $((w0 + 3))
ok "the fall is logged with the error" logs_have "service web: down (.*Couldn't connect\|service web: down (.*onnect"
fails_with 1 "bgp check exits 1 while a service is down" ci bgp check
web_start
wait_for 10 "web back" rt_route 192.0.2.99/32

# The other service of the shared prefix fails.
dns_stop
ok "dns killed: the shared prefix is withdrawn" wait_for 10 "shared gone" rt_no_route 192.0.2.99/32
ok "dns killed: web's own prefix stays" rt_route 192.0.2.10/32
dns_start
ok "dns back: the shared prefix returns" wait_for 10 "shared back" rt_route 192.0.2.99/32
ok "bgp check exits 0 with every service up" ci bgp check

# Drain and undrain.
ok "bgp drain succeeds" ci bgp drain --reason "test drain"
ok "drained: every prefix is gone from the router" wait_for 5 "drain" sh -c \
    ". tests/lab/bgp-lab.sh; RSOCK=$RSOCK; rt_no_route 192.0.2.10/32 && rt_no_route 2001:db8::10/128 && rt_no_route 192.0.2.53/32"
ok "status says drained, with the reason" sh -c "'$CASTIRON' -c '$CFG' --format json bgp status | grep -q '\"drain_reason\": *\"test drain\"'"
check "the drain file exists" -f "$T/state/drain"
ok "bgp undrain succeeds" ci bgp undrain
ok "undrained: healthy prefixes return" wait_for 10 "undrain" sh -c \
    ". tests/lab/bgp-lab.sh; RSOCK=$RSOCK; rt_route 192.0.2.10/32 && rt_route 192.0.2.53/32"

# Drift: a protocol disabled by hand is put back, and the log says so.
host_birdc disable castiron_p_192_0_2_53_32 >/dev/null
ok "a protocol disabled by hand is put back" wait_for 10 "drift repaired" rt_route 192.0.2.53/32
ok "the drift is logged" logs_have "drift: castiron_p_192_0_2_53_32"

# BIRD killed with SIGKILL and started again.
kill -9 "$(cat "$T/host-bird.pid")"
wait_for 10 "session down" sh -c "! birdc -s $RSOCK show route 192.0.2.10/32 | grep -qF 192.0.2.10/32"
host_bird_start
ok "BIRD restarted: castiron reconnects" wait_for 20 "reconnect" sh -c \
    "[ \$(grep -c 'bird: connected to BIRD' '$T/castiron.log') -ge 2 ]"
ok "BIRD restarted: the prefixes return at the router" wait_for 30 "routes back" sh -c \
    ". tests/lab/bgp-lab.sh; RSOCK=$RSOCK; rt_route 192.0.2.10/32 && rt_route 2001:db8::10/128 && rt_route 192.0.2.99/32"

# castiron killed with SIGKILL: BIRD keeps announcing; the new castiron
# adopts what BIRD announces and withdraws nothing healthy.
wait_for 30 "sessions" lab_bgp_up
w0=$(rt_withdraws)
kill -9 $CPID; wait $CPID 2>/dev/null
ok "castiron killed: the router keeps the routes" rt_route 192.0.2.10/32
rm -f "$T/bgp.sock"
ci_start
sleep 1.5
check "castiron restarted: no withdrawal reached the router" "$(rt_withdraws)" -eq "$w0"
ok "castiron restarted: it took BIRD's announcements as healthy" logs_have "taken as healthy"
ok "castiron restarted: routes still there" rt_route 2001:db8::10/128

# SIGHUP: a new service; the unchanged ones keep their state.
w0=$(rt_withdraws)
write_cfg "[service extra]
check = tcp
address = 127.0.0.1:$P1
interval = 200ms
rise = 2
prefixes = 192.0.2.77/32"
kill -HUP $CPID
ok "reload: the new service's prefix is announced" wait_for 10 "extra" rt_route 192.0.2.77/32
check "reload: nothing unchanged was withdrawn" "$(rt_withdraws)" -eq "$w0"
cp "$CFG" "$T/good.ini"
echo "[service broken" >>"$CFG"
kill -HUP $CPID
ok "reload of a broken file is refused and logged" wait_for 5 "refused" logs_have "reload refused"
ok "...naming the line at fault" logs_have "castiron.ini:[0-9]*: malformed section header"
cp "$T/good.ini" "$CFG"
ok "after a refused reload the daemon runs on" ci bgp status
ok "after a refused reload the prefixes stay" rt_route 192.0.2.77/32
write_cfg

# SIGTERM withdraws everything and exits 0.
kill -TERM $CPID
wait $CPID; rc=$?
check "SIGTERM: castiron exits 0" "$rc" -eq 0
ok "SIGTERM: every prefix withdrawn at the router" wait_for 5 "all gone" sh -c \
    ". tests/lab/bgp-lab.sh; RSOCK=$RSOCK; rt_no_route 192.0.2.10/32 && rt_no_route 2001:db8::10/128 && rt_no_route 192.0.2.53/32"
fails_with 1 "bgp status without a daemon exits 1" ci bgp status
ok "...saying no daemon answers" sh -c "'$CASTIRON' -c '$CFG' bgp status 2>&1 | grep -q 'no castiron bgp daemon answers'"

# Drain with no daemon: the drain file, and BIRD told directly.
host_birdc enable castiron_p_192_0_2_53_32 >/dev/null
wait_for 10 "re-enabled by hand" rt_route 192.0.2.53/32
ok "bgp drain with no daemon withdraws through BIRD" ci bgp drain --reason "castiron down"
ok "...and the prefix is gone at the router" wait_for 5 "gone" rt_no_route 192.0.2.53/32
ci_start
sleep 1.5
ok "drained across a castiron restart: nothing at the router" rt_no_route 192.0.2.10/32
ci bgp undrain >/dev/null
ok "undrain after restart: prefixes return" wait_for 10 "back" rt_route 192.0.2.10/32
kill -TERM $CPID; wait $CPID

# withdraw_on_exit = no: a clean stop leaves BIRD announcing (upgrades).
sed -i 's/^reconcile_interval = 1s$/&\nwithdraw_on_exit = no/' "$CFG"
ci_start
wait_for 10 "announced" rt_route 192.0.2.10/32
kill -TERM $CPID; wait $CPID
ok "withdraw_on_exit = no: SIGTERM leaves the routes at the router" rt_route 192.0.2.10/32
ok "...and says so in the log" logs_have "withdraw_on_exit = no"

done_testing
