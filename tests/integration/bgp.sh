# castiron bgp end to end: castiron and BIRD in a "host" namespace, a
# second BIRD as the upstream router in another; real HTTP and TCP
# services started and killed by the test.  Every assertion looks at the
# ROUTER's routing table (what the network sees).  A withdrawal is the
# router's own "Network not found" with both sessions Established; a
# "nothing happened" is checked only after the thing watched has proved it
# is alive and a barrier (tests/lab/bgp-lab.sh) has let anything it sent
# reach the router.  Bounds the docs promise are derived from the
# configuration below, so a regression from milliseconds to seconds fails.
. tests/lib.sh
. tests/lab/bgp-lab.sh

lab_test_up bgp
ok "the router's BGP sessions with the host are up" lab_bgp_up

P1=18080; P2=18053
# The timings of the services, in ms, used by the config and the bounds.
# The timeouts leave a loaded machine room (a Python server answering
# loopback HTTP in 300 ms at worst): a slow machine must not withdraw.
RISE=2
WEB_INT=400; WEB_TO=300; WEB_FALL=2
DNS_INT=400; DNS_TO=300; DNS_FALL=2
PROBE_INT=300; PROBE_TO=250; PROBE_FALL=2
RECONCILE=1000
# What docs/bgp.md promises: a withdrawal within fall x interval of the
# service dying (plus a margin for a loaded machine, not for castiron);
# a drain within a second (runbooks/bgp-emergency-drain.md) plus a margin;
# drift put back within one reconciliation period plus a margin.
MARGIN=2000
WEB_BOUND=$((WEB_FALL * WEB_INT + MARGIN))
DNS_BOUND=$((DNS_FALL * DNS_INT + MARGIN))
PROBE_BOUND=$((PROBE_FALL * PROBE_INT + MARGIN))
DRAIN_MARGIN=1000
DRAIN_BOUND=$((1000 + DRAIN_MARGIN))
DRIFT_BOUND=$((RECONCILE + MARGIN))
# The reaction itself (deciding check's end to route gone at the peer) is
# "a few milliseconds"; a median over the trials above half an interval
# means something waits on a timer instead of acting.
REACT_MEDIAN_MS=$((PROBE_INT / 2))

mkdir -p "$T/state"
CFG=$T/castiron.ini
write_cfg() {	# extra text appended
	{
	lab_castiron_ini "reconcile_interval = ${RECONCILE}ms" "bird_timeout = 2s"
	cat <<EOC
[service web]
check    = http
url      = http://127.0.0.1:$P1/healthz
interval = ${WEB_INT}ms
timeout  = ${WEB_TO}ms
rise     = $RISE
fall     = $WEB_FALL
prefixes = 192.0.2.10/32, 2001:db8::10/128, 192.0.2.99/32
[service dns]
check    = tcp
address  = 127.0.0.1:$P2
interval = ${DNS_INT}ms
timeout  = ${DNS_TO}ms
rise     = $RISE
fall     = $DNS_FALL
prefixes = 192.0.2.53/32, 192.0.2.99/32
${1:-}
EOC
	} >"$CFG"
}

# The probe: an exec check, up while $T/up exists, that logs the end of
# each run (wall clock) and its verdict, so the deciding run is known.
cat >"$T/probe.sh" <<EOP
#!/bin/sh
if [ -e "$T/up" ]; then r=0; else r=1; fi
echo "\$(date +%s.%N) \$r" >>"$T/probe.log"
exit \$r
EOP
chmod +x "$T/probe.sh"
PROBE="[service probe]
check    = exec
command  = $T/probe.sh
interval = ${PROBE_INT}ms
timeout  = ${PROBE_TO}ms
rise     = 1
fall     = $PROBE_FALL
prefixes = 192.0.2.20/32"
touch "$T/up"
write_cfg "$PROBE"

web_stop() { kill "$WEB"; wait "$WEB" 2>/dev/null; }
dns_start() {
	ip netns exec "$NS_H" python3 -m http.server --bind 127.0.0.1 $P2 >/dev/null 2>&1 &
	DNS=$!
	at_exit "kill $DNS"
	wait_for 10 "tcp server" in_host python3 -c "import socket; socket.create_connection(('127.0.0.1', $P2))"
}
dns_stop() { kill "$DNS"; wait "$DNS" 2>/dev/null; }

# The value of one line of the metrics file (empty when it is missing).
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.prom" 2>/dev/null; }
metric_gt() { [ "$(metric "$1")" -gt "$2" ] 2>/dev/null; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# On failure it says what the router saw, for the log.
all_withdrawn() {
	rt_withdrawn "$@" && return 0
	echo "router's sessions: $(birdc -s "$RSOCK" show protocols 2>&1 | awk '$2 == "BGP"' | tr -s ' ' | tr '\n' ';')"
	for _p; do echo "router on $_p: $(birdc -s "$RSOCK" show route "$_p" 2>&1 | sed 1d | tr '\n' ' ')"; done
	return 1
}
# The router's log since line N has no route added for any PFX: nothing
# reached the router, not even for a moment between two looks at it.
rt_log_lines() { wc -l <"$T/router-bird.log"; }
never_added() {	# N PFX...
	_from=$(($1 + 1)); shift
	for _p; do
		if tail -n +"$_from" "$T/router-bird.log" | grep -F " added " | grep -qF " $_p "; then
			tail -n +"$_from" "$T/router-bird.log" | grep -F " $_p " | head -n 3
			return 1
		fi
	done
}
withdraws_gt() { [ "$(rt_withdraws)" -gt "$1" ]; }
# No castiron protocol of the host's BIRD is up (what drain promises
# before it answers).
host_all_down() {
	_p=$(host_birdc show protocols '"castiron_*"') || return 1
	echo "$_p" | grep -q castiron_p_ && ! echo "$_p" | awk '$1 ~ /^castiron_p_/ { print $4 }' | grep -qv down
}

# Boot with an empty include dir and the web service not yet running:
# nothing may reach the router before the services pass `rise` checks.
L0=$(rt_log_lines)
ci_start
dns_start
wait_for 10 "dns prefix" rt_route 192.0.2.53/32
ok "TCP service up: its own prefix is announced" rt_route 192.0.2.53/32
# The web service has failed `fall` checks (it had its chance to be
# announced by mistake), and the barrier lets anything sent arrive.
wait_for 10 "web checked" st "svc('web')['checks_failed'] >= $WEB_FALL"
lab_barrier
ok "web not running: the router says its prefixes are not found" \
    wait_for 10 "not found" all_withdrawn 192.0.2.10/32 2001:db8::10/128
ok "web not running: its prefixes never reached the router" \
    never_added "$L0" 192.0.2.10/32 2001:db8::10/128
ok "a prefix shared with a down service is not announced" rt_withdrawn 192.0.2.99/32
check "the include file says every web prefix is disabled" \
    "$(grep -A1 castiron_p_192_0_2_10_32 "$INC/castiron.conf" | grep -c 'disabled yes')" -eq 1

lab_web_start "$P1"
ok "web rises: IPv4 prefix announced at the router" wait_for 10 "web v4" rt_route 192.0.2.10/32
ok "web rises: IPv6 prefix announced at the router" wait_for 10 "web v6" rt_route 2001:db8::10/128
ok "both services up: the shared prefix is announced" wait_for 10 "shared" rt_route 192.0.2.99/32
ok "the transition is logged with its reason" logs_have "service web: up (HTTP 200"

# bgp status, JSON as docs/bgp.md documents it.
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

# The metrics the runbooks name, present and moving.  The file is written
# on every prefix change and every 5 s (docs/bgp.md): 5 s plus a margin.
METRICS_WAIT=$((5 + MARGIN / 1000 + 1))
metrics_up() {
	metric_is 'castiron_bgp_service_healthy{service="web"}' 1 &&
	metric_is 'castiron_bgp_prefix_announced{prefix="192.0.2.10/32"}' 1 &&
	metric_is castiron_bgp_drained 0 && metric_is castiron_bgp_bird_connected 1
}
ok "metrics: web healthy, its prefix announced, not drained, BIRD connected" \
    wait_for $METRICS_WAIT "metrics" metrics_up
m_ok0=$(metric 'castiron_bgp_checks_total{service="web",result="ok"}')
m_tr0=$(metric 'castiron_bgp_transitions_total{service="web"}')
check "metrics: checks_total and transitions_total are there for web (ok $m_ok0, transitions $m_tr0)" \
    "${m_ok0:-0}" -ge 2 -a "${m_tr0:-0}" -ge 1
ok "metrics: checks_total moves" wait_for $METRICS_WAIT "checks_total to grow" \
    metric_gt 'castiron_bgp_checks_total{service="web",result="ok"}' "${m_ok0:-0}"

# Reaction, measured: the probe fails, and the route goes at the peer.
# From the router's log (microsecond stamps) and the probe's own log: the
# withdrawal comes after `fall` failing runs, never before, within fall x
# interval of the kill (plus the margin), and a few ms after the deciding
# run ended.
wait_for 10 "probe announced" rt_route 192.0.2.20/32
: >"$T/kills"
trials_ok=1
i=0
while [ $i -lt 5 ]; do
	touch "$T/up"
	wait_for 10 "probe announced" rt_route 192.0.2.20/32 || { trials_ok=0; break; }
	date +%s.%N >>"$T/kills"
	rm -f "$T/up"
	wait_for 10 "probe withdrawn" rt_withdrawn 192.0.2.20/32 || { trials_ok=0; break; }
	i=$((i + 1))
done
touch "$T/up"
check "probe: 5 trials of fail and withdraw completed" "$trials_ok" -eq 1
python3 - "$T/router-bird.log" "$T/probe.log" "$T/kills" $PROBE_FALL $PROBE_BOUND $REACT_MEDIAN_MS \
    >"$T/react.out" 2>&1 <<'EOPY'
import sys, datetime
log, probe, kills_f, fall, bound, median_max = sys.argv[1:]
fall, bound, median_max = int(fall), int(bound), int(median_max)
runs = sorted((float(w[0]), int(w[1])) for w in (l.split() for l in open(probe)) if len(w) == 2)
kills = [float(x) for x in open(kills_f)]
gone = sorted(datetime.datetime.strptime(l[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()
              for l in open(log) if "192.0.2.20/32" in l and "removed" in l and l[:2] == "20")
late, early, react = [], [], []
for k in kills:
    g = [x for x in gone if x > k]
    # The deciding run: the fall-th failure in a row after the kill (a
    # run that ends just after it may have looked before).
    streak, decide = 0, None
    for t, r in runs:
        if t <= k:
            continue
        streak = streak + 1 if r else 0
        if streak == fall:
            decide = t
            break
    if not g:
        print("trial at %.6f: no withdrawal in the router's log" % k)
        sys.exit(1)
    late.append((g[0] - k) * 1000)
    if decide is None or g[0] < decide:
        early.append(k)		# gone before the fall-th failure
    else:
        react.append((g[0] - decide) * 1000)
print("kill->gone ms:", " ".join("%.1f" % x for x in late))
print("deciding run->gone ms:", " ".join("%.2f" % x for x in react))
print("MAXLATE %d" % round(max(late)))
print("EARLY %d" % len(early))
if react:
    print("MEDIAN %.2f" % sorted(react)[len(react) // 2])
EOPY
sed 's/^/# /' "$T/react.out"
maxlate=$(sed -n 's/^MAXLATE //p' "$T/react.out")
early=$(sed -n 's/^EARLY //p' "$T/react.out")
median=$(sed -n 's/^MEDIAN //p' "$T/react.out")
check "probe: withdrawn within fall x interval + margin of the failure (worst ${maxlate:-?} ms, bound $PROBE_BOUND ms)" \
    "${maxlate:-999999}" -le "$PROBE_BOUND"
check "probe: never withdrawn before the fall-th failing run ($early early)" "${early:-1}" -eq 0
ok "probe: from the deciding run to gone at the router, median ${median:-?} ms (bound $REACT_MEDIAN_MS ms)" \
    awk "BEGIN { exit !(${median:-999999} <= $REACT_MEDIAN_MS) }"

# SIGHUP that removes a service and its prefix: withdrawn at the router,
# the protocol gone from BIRD, and nothing else touched.
wait_for 10 "probe announced" rt_route 192.0.2.20/32
lab_barrier
w0=$(rt_withdraws)
web_ok0=$(ci --format json bgp status | python3 -c "import json,sys; print([x for x in json.load(sys.stdin)['services'] if x['name'] == 'web'][0]['checks_ok'])")
write_cfg
kill -HUP $CPID
ok "reload without the probe: its prefix is withdrawn at the router" \
    wait_for 10 "probe prefix gone" rt_withdrawn 192.0.2.20/32
ok "reload without the probe: BIRD has no protocol for it any more" wait_for 10 "protocol gone" \
    sh -c "birdc -s '$HSOCK' show protocols '\"castiron_p_192_0_2_20_32\"' | grep -qx 'No protocols match'"
check "reload without the probe: the include file no longer names it" \
    "$(grep -c castiron_p_192_0_2_20_32 "$INC/castiron.conf")" -eq 0
lab_barrier
check "reload without the probe: the router saw that one withdrawal and no other" \
    "$(rt_withdraws)" -eq $((w0 + 1))
ok "reload without the probe: web kept its state and counters" \
    st "svc('web')['state'] == 'up' and svc('web')['checks_ok'] >= ${web_ok0:-999999}"
ok "reload without the probe: the others are still announced" \
    all_routed 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32 192.0.2.99/32

# No flap from others: three `birdc configure` leave the routes alone.  A
# watcher asks the router all along and notes each answer; a "gone" is the
# router's own "Network not found".
lab_barrier
w0=$(rt_withdraws)
( while :; do
	if birdc -s "$RSOCK" show route 192.0.2.10/32 2>/dev/null | grep -qx 'Network not found'; then
		echo gone >>"$T/gaps"
	fi
	echo . >>"$T/samples"
	sleep 0.02
  done ) &
WATCH=$!
at_exit "kill $WATCH"
wait_for 5 "watcher" test -s "$T/samples"
ok "birdc configure x3: each one succeeds" sh -c "
	for i in 1 2 3; do birdc -s '$HSOCK' configure | grep -qE 'Reconfigured|Reconfiguration in progress' || exit 1; done"
lab_barrier
s0=$(wc -l <"$T/samples")
wait_for 5 "watcher after the barrier" sh -c "[ \$(wc -l <'$T/samples') -gt $s0 ]"
kill $WATCH; wait $WATCH 2>/dev/null
check "birdc configure x3: the router saw no withdrawal" "$(rt_withdraws)" -eq "$w0"
check "birdc configure x3: the route never left the router ($(wc -l <"$T/samples") looks)" ! -e "$T/gaps"

# Fall: the web service dies; its prefixes go, the others stay.
w0=$(rt_withdraws)
web_killed() { web_stop; wait_for 10 "web prefixes gone" all_withdrawn 192.0.2.10/32 2001:db8::10/128 192.0.2.99/32; }
within $WEB_BOUND "web killed: its three prefixes withdrawn at the router within fall x interval + margin" web_killed
ok "web killed: the dns prefix stays" rt_route 192.0.2.53/32
check "the router counted the withdrawals (the counter the no-flap tests read)" \
    "$(rt_withdraws)" -ge $((w0 + 3))
ok "the fall is logged with the error" logs_have "service web: down (.*Couldn't connect\|service web: down (.*onnect"
metrics_fallen() {
	metric_gt 'castiron_bgp_transitions_total{service="web"}' "${m_tr0:-0}" &&
	metric_is 'castiron_bgp_service_healthy{service="web"}' 0 &&
	metric_is 'castiron_bgp_prefix_announced{prefix="192.0.2.10/32"}' 0
}
ok "metrics: web's transition counted, its health and prefix at 0" \
    wait_for $METRICS_WAIT "metrics after the fall" metrics_fallen
fails_with 1 "bgp check exits 1 while a service is down" ci bgp check
lab_web_start "$P1"
wait_for 10 "web back" rt_route 192.0.2.99/32

# The other service of the shared prefix fails.
dns_killed() { dns_stop; wait_for 10 "shared gone" rt_withdrawn 192.0.2.99/32; }
within $DNS_BOUND "dns killed: the shared prefix withdrawn within fall x interval + margin" dns_killed
ok "dns killed: web's own prefix stays" rt_route 192.0.2.10/32
dns_start
ok "dns back: the shared prefix returns" wait_for 10 "shared back" rt_route 192.0.2.99/32
ok "bgp check exits 0 with every service up" ci bgp check

# Drain: the daemon withdraws everything before it answers; the router
# has nothing within a second (plus a margin).
t0=$(now_ms)
ci bgp drain --reason "test drain" >"$T/drain.out" 2>&1; rc=$?
host_all_down; down=$?
wait_for 5 "drain at the router" all_withdrawn 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32 192.0.2.99/32; gone=$?
# From the command's start to the last removal in the router's own log.
took=$(rt_removed_ms "$t0" 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32 192.0.2.99/32)
check "bgp drain succeeds and says so" "$rc" -eq 0 -a -n "$(grep -x 'drained: every prefix withdrawn' "$T/drain.out")"
check "bgp drain answers only once BIRD has every castiron protocol down" "$down" -eq 0
check "drained: every prefix gone from the router within 1 s + margin (${took:-?} ms, bound $DRAIN_BOUND ms)" \
    "$gone" -eq 0 -a "${took:-999999}" -le "$DRAIN_BOUND"
ok "status says drained, with the reason" st "s['drained'] is True and s['drain_reason'] == 'test drain'"
check "the drain file exists and its first line is the reason" "$(head -n 1 "$T/state/drain" 2>/dev/null)" = "test drain"
# A drain changes every prefix, and the file is written on every prefix
# change (docs/bgp.md), not at the next 5 s tick.
within $MARGIN "metrics: drained 1, written on the drain itself" \
    wait_for $METRICS_WAIT "metrics drained" metric_is castiron_bgp_drained 1
ok "bgp undrain succeeds" ci bgp undrain
within $MARGIN "metrics: drained 0, written on the undrain itself" \
    wait_for $METRICS_WAIT "metrics undrained" metric_is castiron_bgp_drained 0
ok "undrained: healthy prefixes return" wait_for 10 "undrain" all_routed 192.0.2.10/32 192.0.2.53/32

# Drift: a protocol disabled by hand is put back within one
# reconciliation period (plus the margin), and the log says so.
# The hand's withdrawal must have reached the router first (else "back"
# would hold at once); the clock runs from the disable.
w0=$(rt_withdraws)
drifted() {
	host_birdc disable castiron_p_192_0_2_53_32 | grep -q 'disabled' &&
	wait_for 10 "the hand's withdrawal at the router" withdraws_gt "$w0" &&
	wait_for 10 "drift repaired" rt_route 192.0.2.53/32
}
within $DRIFT_BOUND "a protocol disabled by hand is put back within reconcile_interval + margin" drifted
ok "the drift is logged" logs_have "drift: castiron_p_192_0_2_53_32"

# BIRD killed with SIGKILL and started again.
kill -9 "$(cat "$T/host-bird.pid")"
wait_for 10 "session down" sh -c "! birdc -s '$RSOCK' show protocols | grep -q 'h4 .*Established'"
c0=$(logs_count 'bird: connected to BIRD')
host_bird_start
ok "BIRD restarted: castiron reconnects" wait_for 20 "reconnect" sh -c \
    "[ \$(grep -c 'bird: connected to BIRD' '$T/castiron.log') -gt $c0 ]"
ok "BIRD restarted: the prefixes return at the router" wait_for 30 "routes back" \
    all_routed 192.0.2.10/32 2001:db8::10/128 192.0.2.99/32

# castiron killed with SIGKILL: BIRD keeps announcing; the new castiron
# adopts what BIRD announces and withdraws nothing healthy.
wait_for 30 "sessions" lab_bgp_up
lab_barrier
w0=$(rt_withdraws)
kill -9 $CPID; wait $CPID 2>/dev/null
lab_barrier
ok "castiron killed: the router keeps the routes" all_routed 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32
a0=$(logs_count 'taken as healthy')
ci_start
# Proof the new daemon is alive and has had its chance to withdraw: it
# adopted BIRD's announcements, answers status, and every service has
# run `fall` checks since; then the barrier.
ok "castiron restarted: it took BIRD's announcements as healthy" wait_for 10 "adopted" \
    sh -c "[ \$(grep -c 'taken as healthy' '$T/castiron.log') -gt $a0 ]"
ok "castiron restarted: every service has run fall checks since" wait_for 10 "checks after restart" \
    st "all(x['checks_ok'] + x['checks_failed'] >= max($WEB_FALL, $DNS_FALL) for x in s['services'])"
lab_barrier
check "castiron restarted: no withdrawal reached the router" "$(rt_withdraws)" -eq "$w0"
ok "castiron restarted: routes still there" all_routed 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32

# SIGHUP: a new service; the unchanged ones keep their state.
w0=$(rt_withdraws)
write_cfg "[service extra]
check = tcp
address = 127.0.0.1:$P1
interval = ${DNS_INT}ms
timeout = ${DNS_TO}ms
rise = 2
prefixes = 192.0.2.77/32"
kill -HUP $CPID
ok "reload: the new service's prefix is announced" wait_for 10 "extra" rt_route 192.0.2.77/32
lab_barrier
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
ok "SIGTERM: every prefix withdrawn at the router" wait_for 5 "all gone" \
    all_withdrawn 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32 192.0.2.77/32
fails_with 1 "bgp status without a daemon exits 1" ci bgp status
ok "...saying no daemon answers" sh -c "'$CASTIRON' -c '$CFG' bgp status 2>&1 | grep -q 'no castiron bgp daemon answers'"

# Drain with no daemon: the drain file, and BIRD told directly, within a
# second (plus the margin) like the daemon's.
host_birdc enable castiron_p_192_0_2_53_32 >/dev/null
wait_for 10 "re-enabled by hand" rt_route 192.0.2.53/32
t0=$(now_ms)
ok "bgp drain with no daemon withdraws through BIRD" ci bgp drain --reason "castiron down"
wait_for 5 "gone" rt_withdrawn 192.0.2.53/32; gone=$?
took=$(rt_removed_ms "$t0" 192.0.2.53/32)
check "...the prefix gone at the router within 1 s + margin (${took:-?} ms, bound $DRAIN_BOUND ms)" \
    "$gone" -eq 0 -a "${took:-999999}" -le "$DRAIN_BOUND"
L1=$(rt_log_lines)
ci_start
# Proof the restarted daemon is alive and would have announced by now if
# it ignored the drain: it answers drained, every service has passed
# `rise` checks; then the barrier.
ok "castiron restarted while drained: it says drained" wait_for 10 "drained status" \
    st "s['drained'] is True and s['drain_reason'] == 'castiron down'"
ok "castiron restarted while drained: its services have passed rise checks" wait_for 10 "rise" \
    st "all(x['checks_ok'] >= $RISE for x in s['services'])"
lab_barrier
ok "drained across a castiron restart: the router says not found" wait_for 10 "not found" \
    all_withdrawn 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32 192.0.2.99/32
ok "drained across a castiron restart: nothing reached the router" \
    never_added "$L1" 192.0.2.10/32 2001:db8::10/128 192.0.2.53/32 192.0.2.99/32
ci bgp undrain >/dev/null
ok "undrain after restart: prefixes return" wait_for 10 "back" rt_route 192.0.2.10/32
kill -TERM $CPID; wait $CPID

# withdraw_on_exit = no: a clean stop leaves BIRD announcing (upgrades).
sed -i 's/^reconcile_interval = .*$/&\nwithdraw_on_exit = no/' "$CFG"
ci_start
wait_for 10 "announced" rt_route 192.0.2.10/32
w0=$(rt_withdraws)
kill -TERM $CPID; wait $CPID
lab_barrier
ok "withdraw_on_exit = no: SIGTERM leaves the routes at the router" all_routed 192.0.2.10/32 2001:db8::10/128
check "withdraw_on_exit = no: the router saw no withdrawal" "$(rt_withdraws)" -eq "$w0"
ok "...and says so in the log" logs_have "withdraw_on_exit = no"

done_testing
