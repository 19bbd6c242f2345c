# time-limit: 240
# castiron bgp's loop never waits on what it does not control: a BIRD that
# stops answering (SIGSTOP), control clients that read their answer one
# byte a second, and a reload whose TCP check names a host the resolver
# cannot reach.  Meanwhile the checks go on and decide, `bgp status`
# answers at once and WATCHDOG=1 keeps coming at its period; what BIRD
# missed reaches the router once it answers again.
. tests/lib.sh
. tests/lab/bgp-lab.sh

lab_test_up stall

# The resolver of the host namespace asks a server that never answers
# (on-link, nobody there): `ip netns exec` mounts this over resolv.conf.
mkdir -p "/etc/netns/$NS_H"
at_exit "rm -rf /etc/netns/$NS_H"
printf 'nameserver 10.250.254.1\noptions timeout:3 attempts:2\n' >"/etc/netns/$NS_H/resolv.conf"
ip -n "$NS_H" route add 10.250.254.0/24 dev "v$$h"

PORT=$(free_port)
ip netns exec "$NS_H" python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $PORT)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()" &
at_exit "kill $!"
wait_for 10 "listener" in_host python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))"

# What the loop is held to: WATCHDOG=1 every half period, status within a
# second, a service's fall within fall x interval (plus a margin each).
WD_MS=1000
WD_GAP_BOUND=$((WD_MS / 2 + 1000))
STATUS_BOUND=1000
PROBE_INT=300; PROBE_FALL=2
FALL_BOUND=$((PROBE_FALL * PROBE_INT + 2000))
BIRD_TO=5000
# Enough services that a status answer (about 180 bytes each) is larger
# than a unix socket's buffer: a client that does not read holds it.
N=2000
touch "$T/up"
CFG=$T/castiron.ini
write_cfg() {
	{
	cat <<EOC
[bgp]
bird_socket = $HSOCK
include_dir = $INC
allowed_prefixes = 192.0.2.0/24
drain_file = $T/drain
control_socket = $T/bgp.sock
reconcile_interval = 1s
bird_timeout = ${BIRD_TO}ms
[service probe]
check    = exec
command  = test -e $T/up
interval = ${PROBE_INT}ms
timeout  = 250ms
rise     = 1
fall     = $PROBE_FALL
prefixes = 192.0.2.20/32
EOC
	i=0
	while [ $i -lt ${N_SVC:-$N} ]; do
		printf '[service tcp%d]\ncheck = tcp\naddress = 127.0.0.1:%d\ninterval = 10s\ntimeout = 2s\nrise = 1\nprefixes = 192.0.2.50/32\n' $i $PORT
		i=$((i + 1))
	done
	printf '%s\n' "${1:-}"
	} >"$CFG"
}
write_cfg

python3 - "$T/notify.sock" "$T/notify.log" <<'EOPY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        m = s.recv(4096).decode().replace("\n", " ")
        f.write("%d %s\n" % (time.monotonic() * 1000, m))
EOPY
at_exit "kill $!"
wait_for 5 "notify socket" test -S "$T/notify.sock"

ip netns exec "$NS_H" env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=$((WD_MS * 1000)) \
    "$CASTIRON" -c "$CFG" bgp run >"$T/castiron.log" 2>&1 &
CPID=$!
at_exit 'kill -9 $CPID 2>/dev/null'
mono() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
# The longest time without WATCHDOG=1 from FROM to TO (monotonic ms),
# the ends of the window included: none at all is the whole window.
wd_gap() {
	awk -v a="$1" -v b="$2" 'BEGIN { p = a } /WATCHDOG=1/ && $1 >= a && $1 <= b { if ($1 - p > m) m = $1 - p; p = $1 }
	    END { if (b - p > m) m = b - p; print m + 0 }' "$T/notify.log"
}
# status asked every 200 ms for SECONDS: prints the slowest answer in ms
# (99999 if one did not come within 5 s), straight on the socket.
cat >"$T/asker.py" <<'EOPY'
import json, socket, sys, time
path, secs = sys.argv[1], float(sys.argv[2])
worst, end = 0, time.monotonic() + secs
while time.monotonic() < end:
    t0 = time.monotonic()
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(path)
        s.sendall(b"status\n"); b = b""
        while True:
            x = s.recv(1 << 20)
            if not x:
                break
            b += x
        json.loads(b); took = (time.monotonic() - t0) * 1000
    except Exception:
        took = 99999
    worst = max(worst, took)
    time.sleep(0.2)
print(int(worst))
EOPY
ask() { in_host python3 "$T/asker.py" "$T/bgp.sock" "$1"; }

ok "every service up, the prefixes at the router" wait_for 60 "up" \
    sh -c "birdc -s '$RSOCK' show route 192.0.2.20/32 | grep -qF 192.0.2.20/32 && birdc -s '$RSOCK' show route 192.0.2.50/32 | grep -qF 192.0.2.50/32"
ok "the watchdog is fed" wait_for 5 "watchdog" grep -q WATCHDOG=1 "$T/notify.log"

# ---- control clients that read one byte a second ----
t0=$(mono)
SLOW=""
for i in 1 2 3 4; do
	in_host python3 -c "
import socket, time
s = socket.socket(socket.AF_UNIX); s.connect('$T/bgp.sock'); s.sendall(b'status\n')
s.settimeout(1)
end = time.monotonic() + 12
while time.monotonic() < end:
    try:
        if s.recv(1) == b'':
            break
    except socket.timeout:
        pass
    time.sleep(1)" &
	SLOW="$SLOW $!"
	at_exit "kill $! 2>/dev/null"
done
worst=$(ask 6)
t1=$(mono)
gap=$(wd_gap "$t0" "$t1")
check "slow clients: status answered within $STATUS_BOUND ms meanwhile (worst ${worst:-?} ms)" "${worst:-99999}" -le $STATUS_BOUND
check "slow clients: WATCHDOG=1 kept coming (longest gap $gap ms, bound $WD_GAP_BOUND ms)" "$gap" -le $WD_GAP_BOUND
for p in $SLOW; do wait "$p"; done

# ---- BIRD stops answering ----
kill -STOP "$(cat "$T/host-bird.pid")"
at_exit 'kill -CONT $(cat "$T/host-bird.pid") 2>/dev/null'
t0=$(mono)
rm -f "$T/up"
# Asked straight on the socket (a sanitized CLI parsing this large a
# status is itself slow), every 50 ms, for at most 10 s.
took=$(in_host python3 - "$T/bgp.sock" <<'EOPY'
import json, socket, sys, time
t0 = time.monotonic()
while time.monotonic() - t0 < 10:
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
        s.sendall(b"status\n"); b = b""
        while True:
            x = s.recv(1 << 20)
            if not x:
                break
            b += x
        if [x for x in json.loads(b)["services"] if x["name"] == "probe"][0]["state"] == "down":
            print(int((time.monotonic() - t0) * 1000)); break
    except Exception:
        pass
    time.sleep(0.05)
EOPY
)
check "BIRD stopped: the failing probe is seen down within fall x interval + margin (${took:-never} ms, bound $FALL_BOUND ms)" \
    "${took:-99999}" -le $FALL_BOUND
worst=$(ask $((2 * BIRD_TO / 1000)))
t1=$(mono)
gap=$(wd_gap "$t0" "$t1")
check "BIRD stopped for $((2 * BIRD_TO / 1000))s: status answered within $STATUS_BOUND ms (worst ${worst:-?} ms)" "${worst:-99999}" -le $STATUS_BOUND
check "BIRD stopped: WATCHDOG=1 kept coming (longest gap $gap ms, bound $WD_GAP_BOUND ms)" "$gap" -le $WD_GAP_BOUND
ok "BIRD stopped: status says BIRD is not connected" st "s['bird']['connected'] is False"
kill -CONT "$(cat "$T/host-bird.pid")"
ok "BIRD answers again: the probe's prefix is withdrawn at the router" \
    wait_for 15 "withdrawn" rt_withdrawn 192.0.2.20/32
ok "...and the other stays" rt_route 192.0.2.50/32
touch "$T/up"

# ---- a reload whose TCP check names a host nobody resolves ----
# With fewer services: loading a file of thousands of sections costs
# seconds of CPU by itself (lib/config.c), which is not what is tested.
kill -TERM $CPID
wait $CPID
N_SVC=100 write_cfg
ip netns exec "$NS_H" env NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=$((WD_MS * 1000)) \
    "$CASTIRON" -c "$CFG" bgp run >>"$T/castiron.log" 2>&1 &
CPID=$!
ok "restarted with $((100 + 1)) services" wait_for 20 "up" st "len(s['services']) == 101 and all(x['state'] == 'up' for x in s['services'])"
N_SVC=100 write_cfg "[service named]
check = tcp
address = svc.castiron-test.example:$PORT
prefixes = 192.0.2.60/32"
t0=$(mono)
kill -HUP $CPID
worst=$(ask 5)
t1=$(mono)
gap=$(wd_gap "$t0" "$t1")
check "reload resolving a name: status answered within $STATUS_BOUND ms (worst ${worst:-?} ms)" "${worst:-99999}" -le $STATUS_BOUND
check "reload resolving a name: WATCHDOG=1 kept coming (longest gap $gap ms, bound $WD_GAP_BOUND ms)" "$gap" -le $WD_GAP_BOUND
ok "the reload is refused once the name fails, naming the service" wait_for 20 "refused" \
    grep -q "reload refused: service named: svc.castiron-test.example" "$T/castiron.log"
ok "...and the daemon runs on with its services" st "svc('probe')['state'] == 'up' and len(s['services']) == 101"

# ---- a stop BIRD does not answer: castiron says what may remain ----
kill -STOP "$(cat "$T/host-bird.pid")"
t0=$(mono)
kill -TERM $CPID
wait $CPID
rc=$?
t1=$(mono)
kill -CONT "$(cat "$T/host-bird.pid")"
check "SIGTERM: exits 0" $rc -eq 0
check "...with BIRD stopped, within twice bird_timeout ($((t1 - t0)) ms, bird_timeout $BIRD_TO ms)" \
    $((t1 - t0)) -le $((2 * BIRD_TO + 2000))
ok "...saying which prefix may still be announced" \
    grep -q "stopping: BIRD did not confirm the withdrawal of 192.0.2.50/32 (castiron_p_192_0_2_50_32)" "$T/castiron.log"
ok "...and how many" grep -q "stopping: 2 of 2 prefixes not confirmed withdrawn" "$T/castiron.log"
done_testing
