# castiron bgp run without a network namespace: many real HTTP checks in
# one loop, exec checks that time out (their children killed, however
# early the timeout fires), the daemon's talk with systemd (sd_notify:
# READY, WATCHDOG, RELOADING, STOPPING) over a real notify socket, idle
# control clients, life without BIRD, and the systemd unit as systemd
# itself reads it.
. tests/lib.sh
. tests/lab/bgp-lab.sh	# procs_older only; no lab here

# A port the kernel says is free (other tests run beside this one).
PORT=$(free_port)
N=200
# One Python process answers all N services: its answers on a loaded
# machine may take a good part of a second, so the timeouts leave room
# (what is tested is that N checks share one loop, not their speed).
INTERVAL=1000; TIMEOUT=900
HANG_TO=300
IDLE_MS=5000		# control.c: a client silent this long is dropped
RECONCILE=1000		# and the drop happens on this tick
python3 tests/lab/bgp-httpd.py $PORT 2>/dev/null &
at_exit "kill $!"
wait_for 10 "httpd" python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))"
{
	cat <<EOC
[bgp]
bird_socket = $T/no-bird.ctl
include_dir = $T/inc
allowed_prefixes = 198.18.0.0/15
drain_file = $T/drain
control_socket = $T/bgp.sock
metrics_file = $T/metrics.prom
reconcile_interval = ${RECONCILE}ms
EOC
	i=0
	while [ $i -lt $N ]; do
		printf '[service web%d]\ncheck = http\nurl = http://127.0.0.1:%d/healthz\n' $i $PORT
		printf 'interval = %dms\ntimeout = %dms\nrise = 2\nfall = 3\nprefixes = 198.18.%d.%d/32\n' \
		    $INTERVAL $TIMEOUT $((i / 200)) $((i % 200 + 1))
		i=$((i + 1))
	done
	# A check that hangs, with a child of its own in its process group:
	# it must time out without delaying the others, and lose them both.
	printf '[service hang]\ncheck = exec\ncommand = sh -c "sleep 33.%d & exec sleep 35.%d"\n' $$ $$
	printf 'interval = 1s\ntimeout = %dms\nprefixes = 198.18.9.9/32\n' $HANG_TO
	# A timeout that fires at once, before the child has had a chance to
	# run at all: its kill must not depend on the child having got far.
	printf '[service brief]\ncheck = exec\ncommand = sleep 34.%d\n' $$
	printf 'interval = 100ms\ntimeout = 1ms\nprefixes = 198.18.9.10/32\n'
} >"$T/many.ini"

# A notify socket, as systemd gives a Type=notify service.
python3 - "$T/notify.sock" "$T/notify.log" <<'EOPY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
EOPY
at_exit "kill $!"
wait_for 5 "notify socket" test -S "$T/notify.sock"

NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 "$CASTIRON" -c "$T/many.ini" bgp run \
    >"$T/daemon.log" 2>&1 &
CPID=$!
at_exit 'kill -9 $CPID 2>/dev/null'
ci() { "$CASTIRON" -c "$T/many.ini" "$@"; }
# st EXPR: the daemon answers status and the Python expression holds (s
# is the JSON document, svc(NAME) one service of it, web the N web ones).
st() {
	ci --format json bgp status 2>/dev/null | python3 -c "
import json, sys
s = json.load(sys.stdin)
svc = lambda n: [x for x in s['services'] if x['name'] == n][0]
web = [x for x in s['services'] if x['name'].startswith('web')]
sys.exit(0 if ($1) else 1)"
}
ok "sd_notify: READY=1 is sent" wait_for 10 "READY" grep -q "READY=1" "$T/notify.log"
ok "$N HTTP services in one loop: every one healthy" wait_for 60 "all healthy" \
    st "len(web) == $N and all(x['healthy'] for x in web)"
ok "the daemon is still running" kill -0 $CPID
ok "a hung exec check times out (and is the only one down)" \
    st "svc('hang')['state'] == 'down' and svc('hang')['last_error'] == 'timed out after ${HANG_TO}ms' and all(x['healthy'] for x in web)"

# Timed-out children: a new one starts every interval, so "none running"
# is no test; none may be older than the timeout plus a margin.  First
# the checks must have timed out often enough that a leaked child would
# be that old by now.
ok "the hung check has timed out 5 times" wait_for 20 "hang runs" st "svc('hang')['checks_failed'] >= 5"
check "timed-out children are killed, process group and all: none older than ${HANG_TO} ms + 2 s" \
    "$(procs_older $((HANG_TO + 2000)) sleep 33.$$)" -eq 0 -a \
    "$(procs_older $((HANG_TO + 2000)) sleep 35.$$)" -eq 0
ok "the 1 ms check has timed out 30 times" wait_for 20 "brief runs" \
    st "svc('brief')['checks_failed'] >= 30 and svc('brief')['last_error'] == 'timed out after 1ms'"
check "a child whose timeout fired before it ran is killed too: none older than 1 s" \
    "$(procs_older 1000 sleep 34.$$)" -eq 0

w0=$(grep -c WATCHDOG=1 "$T/notify.log")
ok "sd_notify: the watchdog is fed (3 more)" wait_for 5 "WATCHDOG" \
    sh -c "[ \$(grep -c WATCHDOG=1 '$T/notify.log') -ge $((w0 + 3)) ]"
ok "no BIRD: status says so" st "s['bird']['connected'] is False"
ok "no BIRD: the include file still says what is wanted" wait_for 5 "file" \
    grep -q "disabled no" "$T/inc/castiron.conf"
ok "no BIRD: the log says it keeps retrying" grep -q "bird: cannot connect.*retrying" "$T/daemon.log"
ok "metrics: every service healthy" wait_for 10 "metrics" sh -c \
    "[ \$(grep -c 'castiron_bgp_service_healthy{service=\"web[0-9]*\"} 1' '$T/metrics.prom') -eq $N ]"
ok "metrics: BIRD not connected" grep -qx "castiron_bgp_bird_connected 0" "$T/metrics.prom"

# A client that connects and says nothing neither blocks others nor
# stays forever.  It notes when it is connected and when it is dropped;
# status must answer while it is still connected, well inside the idle
# limit (a daemon serving one client at a time would answer only after
# the drop).
python3 - "$T/bgp.sock" "$T/idle.out" <<'EOPY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
out.write("connected %d\n" % (time.monotonic() * 1000))
s.settimeout(30)
got = s.recv(10)
out.write("%s %d\n" % ("closed" if got == b"" else "data", time.monotonic() * 1000))
EOPY
IDLE=$!
at_exit "kill $IDLE"
wait_for 10 "idle client connected" grep -q connected "$T/idle.out"
# The daemon's answer is timed from the connect to the end of the reply by
# the client itself (a sanitized CLI's own start on a busy machine is not
# what is tested); the CLI is asked too.
python3 - "$T/bgp.sock" >"$T/status.out" 2>&1 <<'EOPY'
import json, socket, sys, time
t0 = time.monotonic()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"status\n")
reply = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    reply += b
took = (time.monotonic() - t0) * 1000
assert "services" in json.loads(reply)
print("%d" % took)
EOPY
took=$(tail -n 1 "$T/status.out")
check "an idle control client does not block status: answered in ${took:-?} ms (bound $((IDLE_MS / 2)) ms)" \
    "${took:-999999}" -le $((IDLE_MS / 2)) 2>/dev/null
check "...while the idle client was still connected" -z "$(grep -E 'closed|data' "$T/idle.out")"
ok "...and bgp status answers too" ci bgp status
wait $IDLE
idle_ms=$(awk '$1 == "connected" { c = $2 } $1 == "closed" { print $2 - c }' "$T/idle.out")
check "an idle control client is disconnected after the idle limit, not before (${idle_ms:-never} ms, from $IDLE_MS to $((IDLE_MS + RECONCILE + 2000)) ms)" \
    "${idle_ms:-0}" -ge $((IDLE_MS - 50)) -a "${idle_ms:-0}" -le $((IDLE_MS + RECONCILE + 2000))

# Reload with nothing changed: every service keeps its health, counters
# and schedule (a reset would restart their counters from zero).
ci --format json bgp status >"$T/before.json"
kill -HUP $CPID
ok "sd_notify: RELOADING=1 on SIGHUP" wait_for 5 "RELOADING" grep -q "RELOADING=1" "$T/notify.log"
ok "sd_notify: READY=1 again after the reload" wait_for 5 "READY again" \
    sh -c "grep -A 1000 RELOADING=1 '$T/notify.log' | grep -q READY=1"
ok "reload with unchanged services keeps their state and counters" \
    st "all(x['checks_ok'] + x['checks_failed'] >= b['checks_ok'] + b['checks_failed'] and x['since'] == b['since'] and x['state'] == b['state'] for b in json.load(open('$T/before.json'))['services'] for x in [svc(b['name'])] if b['name'].startswith('web') and b['state'] == 'up' and x['state'] in ('up', 'falling')) and len(web) == $N"
kill -TERM $CPID
wait $CPID
check "SIGTERM without BIRD: exits 0" $? -eq 0
ok "sd_notify: STOPPING=1" grep -q "STOPPING=1" "$T/notify.log"
check "the control socket is removed" ! -e "$T/bgp.sock"
no_child_left() {
	[ "$(procs_older 0 sleep 33.$$)" -eq 0 ] && [ "$(procs_older 0 sleep 34.$$)" -eq 0 ] &&
	    [ "$(procs_older 0 sleep 35.$$)" -eq 0 ]
}
ok "no check child outlives the daemon" wait_for 2 "no sleep left" no_child_left

# The unit file as systemd reads it.  First proof that the verifier reads
# a unit and reports what is wrong (a copy with an unknown key and an
# invalid value), then the real one, with ExecStart pointed at the built
# binary (it is not installed here): not a single complaint.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/unit" "$T/unit-bad"
	sed "s|^ExecStart=[^ ]*|ExecStart=$CASTIRON|" etc/castiron-bgp.service >"$T/unit/castiron-bgp.service"
	{ cat "$T/unit/castiron-bgp.service"; printf '[Service]\nBogusSetting=1\nRestart=sometimes\n'; } \
	    >"$T/unit-bad/castiron-bgp.service"
	systemd-analyze verify --man=no "$T/unit-bad/castiron-bgp.service" >"$T/verify-bad" 2>&1
	check "systemd-analyze reports an unknown setting and an invalid value in a broken copy" \
	    -n "$(grep "Unknown key.*BogusSetting" "$T/verify-bad")" -a \
	    -n "$(grep "Failed to parse.*sometimes" "$T/verify-bad")"
	systemd-analyze verify --man=no "$T/unit/castiron-bgp.service" >"$T/verify" 2>&1; rc=$?
	check "systemd-analyze finds nothing to complain of in the unit (exit $rc, $(wc -l <"$T/verify") lines)" \
	    "$rc" -eq 0 -a ! -s "$T/verify"
	[ -s "$T/verify" ] && sed 's/^/# /' "$T/verify"
else
	skip "systemd-analyze verifies the unit" "systemd-analyze not installed"
fi
done_testing
