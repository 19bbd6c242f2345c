# castiron bgp run without a network namespace: many real HTTP checks in
# one loop, the daemon's talk with systemd (sd_notify: READY, WATCHDOG,
# RELOADING, STOPPING) over a real notify socket, life without BIRD, and
# the systemd unit as systemd itself reads it.
. tests/lib.sh

# A port the kernel says is free (other tests run beside this one).
PORT=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
N=200
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
EOC
	i=0
	while [ $i -lt $N ]; do
		printf '[service web%d]\ncheck = http\nurl = http://127.0.0.1:%d/healthz\n' $i $PORT
		printf 'interval = 500ms\ntimeout = 400ms\nrise = 2\nfall = 3\nprefixes = 198.18.%d.%d/32\n' \
		    $((i / 200)) $((i % 200 + 1))
		i=$((i + 1))
	done
	# A check that hangs: it must time out without delaying the others.
	printf '[service hang]\ncheck = exec\ncommand = sleep 33.%d\n' $$
	printf 'interval = 1s\ntimeout = 300ms\nprefixes = 198.18.9.9/32\n'
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
ok "sd_notify: READY=1 is sent" wait_for 10 "READY" grep -q "READY=1" "$T/notify.log"
healthy() {
	"$CASTIRON" -c "$T/many.ini" --format json bgp status |
	    python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if sum(x['healthy'] for x in s['services']) == $N else 1)"
}
ok "$N HTTP services in one loop: every one healthy" wait_for 30 "all healthy" healthy
ok "the daemon is still running" kill -0 $CPID
ok "a hung exec check times out (and is the only one down)" sh -c \
    "'$CASTIRON' -c '$T/many.ini' --format json bgp status | python3 -c \"
import json, sys
s = json.load(sys.stdin)
h = [x for x in s['services'] if x['name'] == 'hang'][0]
assert h['state'] == 'down' and h['last_error'] == 'timed out after 300ms', h
\""
ok "timed-out children are killed, process group and all" wait_for 5 "no sleep left" \
    sh -c "[ \$(pgrep -fc '[s]leep 33.$$') -eq 0 ]"
ok "sd_notify: the watchdog is fed" wait_for 5 "WATCHDOG" sh -c "[ \$(grep -c WATCHDOG=1 '$T/notify.log') -ge 3 ]"
ok "no BIRD: status says so" sh -c "'$CASTIRON' -c '$T/many.ini' --format json bgp status | grep -q '\"connected\": *false'"
ok "no BIRD: the include file still says what is wanted" wait_for 5 "file" \
    grep -q "disabled no" "$T/inc/castiron.conf"
ok "no BIRD: the log says it keeps retrying" grep -q "bird: cannot connect.*retrying" "$T/daemon.log"
ok "metrics: every service healthy" wait_for 10 "metrics" sh -c \
    "[ \$(grep -c 'castiron_bgp_service_healthy{service=\"web[0-9]*\"} 1' '$T/metrics.prom') -eq $N ]"
ok "metrics: BIRD not connected" grep -q "castiron_bgp_bird_connected 0" "$T/metrics.prom"
# A client that connects and says nothing neither blocks others nor
# stays forever.
python3 - "$T/bgp.sock" >"$T/idle.out" 2>&1 <<'EOPY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(15)
print("closed" if s.recv(10) == b"" else "data")
EOPY
IDLE=$!
at_exit "kill $IDLE"
sleep 0.3
ok "an idle control client does not block bgp status" "$CASTIRON" -c "$T/many.ini" bgp status
wait $IDLE
ok "an idle control client is disconnected" grep -q closed "$T/idle.out"
kill -HUP $CPID
ok "sd_notify: RELOADING=1 on SIGHUP" wait_for 5 "RELOADING" grep -q "RELOADING=1" "$T/notify.log"
ok "reload with unchanged services keeps them healthy" healthy
kill -TERM $CPID
wait $CPID
check "SIGTERM without BIRD: exits 0" $? -eq 0
ok "sd_notify: STOPPING=1" grep -q "STOPPING=1" "$T/notify.log"
check "the control socket is removed" ! -e "$T/bgp.sock"
ok "no check child outlives the daemon" wait_for 5 "no sleep left" sh -c "! pgrep -f '[s]leep 33.$$'"

# The unit file as systemd reads it: no unknown or invalid settings.
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify etc/castiron-bgp.service >"$T/verify" 2>&1
	check "systemd-analyze finds no unknown or invalid setting in the unit" \
	    -z "$(grep -iE 'unknown|invalid|failed to parse' "$T/verify" | grep -v 'man castiron')"
fi
done_testing
