# castiron bgp against bad configuration and with `bgp check`: exit 2
# naming the file, line, service, key and value; checks run once against
# real services on loopback; exec checks get no shell unless asked, run as
# their `user`, and lose their whole process group on timeout.
. tests/lib.sh
. tests/lab/bgp-lab.sh	# procs_older only; no lab here

# A port the kernel says is free (other tests run beside this one).
PORT=$(free_port)
base() {
	cat <<EOC
[castiron]
state_dir = $T/state
[bgp]
bird_socket = $T/none.ctl
include_dir = $T/inc
allowed_prefixes = 192.0.2.0/24, 2001:db8::/32
drain_file = $T/drain
control_socket = $T/bgp.sock
EOC
}

{ base; cat <<EOC
[service web]
check = http
url = http://127.0.0.1:$PORT/healthz
prefixes = 198.51.100.1/32
EOC
} >"$T/outside.ini"
fails_with 2 "bgp run: a prefix outside allowed_prefixes exits 2" \
    "$CASTIRON" -c "$T/outside.ini" bgp run
msg=$(stderr_of "$CASTIRON" -c "$T/outside.ini" bgp run)
check "...naming the file and line, service, key and value" \
    -n "$(echo "$msg" | grep "outside.ini:[0-9]*: \[service web\] prefixes: 198.51.100.1/32 is outside allowed_prefixes")"
fails_with 2 "bgp check: the same file exits 2" "$CASTIRON" -c "$T/outside.ini" bgp check
check "...with the same line" "$(stderr_of "$CASTIRON" -c "$T/outside.ini" bgp check)" = "$msg"
fails_with 2 "bgp status: the same file exits 2" "$CASTIRON" -c "$T/outside.ini" bgp status
check "...with the same line" "$(stderr_of "$CASTIRON" -c "$T/outside.ini" bgp status)" = "$msg"

{ base; cat <<EOC
[service web]
check = http
url = http://127.0.0.1:$PORT/healthz
interval = 1s
timeout = 1s
prefixes = 192.0.2.1/32
[service lonely]
check = tcp
address = 127.0.0.1:$PORT
EOC
} >"$T/bad2.ini"
out=$("$CASTIRON" -c "$T/bad2.ini" bgp run 2>&1)
check "timeout not shorter than interval is named" \
    -n "$(echo "$out" | grep '\[service web\] timeout: 1s is not shorter than interval')"
check "a service without prefixes is named" \
    -n "$(echo "$out" | grep '\[service lonely\] prefixes: required key is missing')"

{ base; cat <<EOC
[service x]
check = exec
command = /bin/true
user = no-such-user-castiron
prefixes = 192.0.2.1/32
EOC
} >"$T/user.ini"
fails_with 2 "bgp run: an exec check's unknown user exits 2" "$CASTIRON" -c "$T/user.ini" bgp run
check "...naming the service and the user" \
    -n "$(stderr_of "$CASTIRON" -c "$T/user.ini" bgp run | grep 'service x: user no-such-user-castiron')"

{ base; echo "[service y]"; echo "check = tcp"; echo "address = 127.0.0.1:1"
  echo "prefixes = 192.0.2.1/32"; echo "[bgp2]"; } >"$T/sec.ini"
fails_with 2 "an unknown section exits 2" "$CASTIRON" -c "$T/sec.ini" bgp check
check "...naming the file, the line and the section" \
    -n "$(stderr_of "$CASTIRON" -c "$T/sec.ini" bgp check | grep "sec.ini:$(grep -n '^\[bgp2\]' "$T/sec.ini" | cut -d: -f1): \[bgp2\]: unknown section")"

long=$(printf '/tmp/%0120d' 0)
{ base | sed "s|^control_socket = .*|control_socket = $long|"; echo "[service y]"
  echo "check = tcp"; echo "address = 127.0.0.1:1"; echo "prefixes = 192.0.2.1/32"; } >"$T/long.ini"
fails_with 2 "a control socket path too long for a unix socket exits 2" \
    "$CASTIRON" -c "$T/long.ini" bgp run
check "...naming the file, line, key and the limit" \
    -n "$(stderr_of "$CASTIRON" -c "$T/long.ini" bgp run | grep "long.ini:$(grep -n '^control_socket' "$T/long.ini" | cut -d: -f1): \[bgp\] control_socket: longer than 107 bytes")"

# The keys beyond on and off: each wrong value named with its place.
{ base | sed 's|^control_socket = .*|&\ndrain_grace = 2h\ndrain_prepend = 3|'; cat <<EOC
[service a]
check = tcp
address = 127.0.0.1:1
prefixes = 192.0.2.1/32
communities = 65001:100, 65536:1
[service b]
check = tcp
address = 127.0.0.1:1
prefixes = 192.0.2.2/32
communities = 65535:0
large_communities = 1:2
med = -1
fail_open = maybe
flap_limit = 2
flap_window = 10ms
EOC
} >"$T/beyond.ini"
fails_with 2 "bad drain, attribute, guard and damping keys exit 2" "$CASTIRON" -c "$T/beyond.ini" bgp check
out=$("$CASTIRON" -c "$T/beyond.ini" bgp check 2>&1)
line() { grep -n "^$1" "$T/beyond.ini" | head -n "${2:-1}" | tail -n 1 | cut -d: -f1; }
check "...drain_grace past an hour, with its line" \
    -n "$(echo "$out" | grep "beyond.ini:$(line drain_grace): \[bgp\] drain_grace: 2h is out of range (0ms to 1h00m)")"
check "...drain_prepend without drain_prepend_as" \
    -n "$(echo "$out" | grep "\[bgp\] drain_prepend_as: required with drain_prepend")"
check "...a community half out of range" \
    -n "$(echo "$out" | grep "beyond.ini:$(line communities): \[service a\] communities: 65536:1: ")"
check "...65535:0 refused (castiron adds GRACEFUL_SHUTDOWN itself)" \
    -n "$(echo "$out" | grep "\[service b\] communities: 65535:0 is GRACEFUL_SHUTDOWN")"
check "...a large community of two parts" \
    -n "$(echo "$out" | grep "\[service b\] large_communities: '1:2' is not a large community")"
check "...a negative MED" -n "$(echo "$out" | grep "\[service b\] med: ")"
check "...fail_open not a boolean" -n "$(echo "$out" | grep "\[service b\] fail_open: ")"
check "...flap_window under a second" -n "$(echo "$out" | grep "\[service b\] flap_window: 10ms is out of range")"
{ base | sed 's|^control_socket = .*|&\ndrain_grace = 30s\ndrain_local_pref = 50\ndrain_prepend = 2\ndrain_prepend_as = 65001|'; cat <<EOC
[service a]
check = tcp
address = 127.0.0.1:1
prefixes = 192.0.2.1/32
communities = 65001:100, 65001:200
large_communities = 65001:1:2
med = 0
fail_open = yes
flap_limit = 4
flap_window = 1m
flap_hold = 10m
EOC
} >"$T/good-beyond.ini"
ok "...and right values of each are taken" "$CASTIRON" -c "$T/good-beyond.ini" config check

# [prefix P]: a prefix's own attributes, each fault named with its place.
{ base; cat <<EOC
[service a]
check = tcp
address = 127.0.0.1:1
prefixes = 192.0.2.1/32, 2001:db8::1/128
[prefix 192.0.2.1/32]
med = 4294967296
colour = blue
[prefix 2001:db8::1/128]
large_communities = 65001:1
[prefix 192.0.2.77/32]
med = 1
[prefix 192.0.2.1]
med = 1
[prefix 2001:DB8:0::1/128]
med = 2
EOC
} >"$T/pfx.ini"
fails_with 2 "bad [prefix] sections exit 2" "$CASTIRON" -c "$T/pfx.ini" bgp check
out=$("$CASTIRON" -c "$T/pfx.ini" bgp check 2>&1)
pline() { grep -n -F -x -- "$1" "$T/pfx.ini" | cut -d: -f1; }
check "...a MED past 32 bits, with its line and key" \
    -n "$(echo "$out" | grep -F "pfx.ini:$(pline 'med = 4294967296'): [prefix 192.0.2.1/32] med: ")"
check "...an unknown key" \
    -n "$(echo "$out" | grep -F "pfx.ini:$(pline 'colour = blue'): [prefix 192.0.2.1/32] colour: unknown key")"
check "...a bad large community in an IPv6 prefix's section" \
    -n "$(echo "$out" | grep -F "pfx.ini:$(pline 'large_communities = 65001:1'): [prefix 2001:db8::1/128] large_communities: '65001:1' is not a large community")"
check "...a prefix no service announces" \
    -n "$(echo "$out" | grep -F "pfx.ini:$(pline '[prefix 192.0.2.77/32]'): [prefix 192.0.2.77/32]: no [service NAME] lists 192.0.2.77/32")"
check "...a section whose name is not a prefix" \
    -n "$(echo "$out" | grep -F "pfx.ini:$(pline '[prefix 192.0.2.1]'): [prefix 192.0.2.1]: ")"
check "...the same prefix twice, in another spelling" \
    -n "$(echo "$out" | grep -F "pfx.ini:$(pline '[prefix 2001:DB8:0::1/128]'): [prefix 2001:db8:0::1/128]: 2001:db8::1/128 is given twice (first on line $(pline '[prefix 2001:db8::1/128]'))")"
check "...six errors, one line each" "$(echo "$out" | grep -c 'pfx.ini:[0-9]*: ')" -eq 6
{ base; cat <<EOC
[service a]
check = tcp
address = 127.0.0.1:1
prefixes = 192.0.2.1/32, 2001:db8::1/128
[prefix 2001:db8::1/128]
communities = 65001:9
large_communities = 65001:1:2
med = 5
EOC
} >"$T/pfx-good.ini"
ok "...and a right one is taken" "$CASTIRON" -c "$T/pfx-good.ini" config check

# bgp check against real services.
echo 200 >"$T/status"
python3 tests/lab/bgp-httpd.py $PORT "$T/status" &
HTTPD=$!
at_exit "kill $HTTPD"
wait_for 10 "httpd" python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))"
{ base; cat <<EOC
[service web]
check = http
url = http://127.0.0.1:$PORT/healthz
body = ok
prefixes = 192.0.2.10/32
[service port]
check = tcp
address = 127.0.0.1:$PORT
prefixes = 192.0.2.11/32
[service noshell]
check = exec
command = /bin/echo ok && exit 1
prefixes = 192.0.2.12/32
EOC
} >"$T/check.ini"
ok "bgp check: every service up exits 0" "$CASTIRON" -c "$T/check.ini" bgp check
ok "...and reports each of them up" sh -c "'$CASTIRON' -c '$T/check.ini' --format json bgp check | python3 -c \"
import json, sys
r = {x['service']: x['result'] for x in json.load(sys.stdin)}
assert r == {'web': 'up', 'port': 'up', 'noshell': 'up'}, r
\""
ok "bgp check: no shell unless shell = yes ('&& exit 1' are just words)" sh -c \
    "'$CASTIRON' -c '$T/check.ini' --format json bgp check | grep -q '\"service\": *\"noshell\", *\"check\": *\"exec\", *\"result\": *\"up\"'"
echo 503 >"$T/status"
fails_with 1 "bgp check: HTTP 503 exits 1" "$CASTIRON" -c "$T/check.ini" bgp check
ok "...and says why" sh -c "'$CASTIRON' -c '$T/check.ini' bgp check | grep -q 'HTTP 503, expected 200'"
check "bgp check changed nothing (no include file, control socket or drain file)" \
    ! -e "$T/inc/castiron.conf" -a ! -e "$T/bgp.sock" -a ! -e "$T/drain"

{ base; cat <<EOC
[service sh]
check = exec
command = exit 3
shell = yes
prefixes = 192.0.2.12/32
[service hang]
check = exec
command = sh -c "echo \$\$ >>$T/hang.pids && sleep 31.$$ & echo \$! >>$T/hang.pids && exec sleep 32.$$"
interval = 1s
timeout = 300ms
prefixes = 192.0.2.13/32
EOC
} >"$T/exec.ini"
"$CASTIRON" -c "$T/exec.ini" bgp check >"$T/exec.out" 2>&1
check "shell = yes: the shell runs it (exit 3)" -n "$(grep 'sh .*exit 3' "$T/exec.out")"
check "a hung exec check times out" -n "$(grep 'hang .*timed out after 300ms' "$T/exec.out")"
# The command noted its shell and its background child: both ran, and
# when bgp check has exited, neither they nor their sleeps are left.
pids=$(sort -u "$T/hang.pids" 2>/dev/null | tr '\n' ' ')
check "...the hung command had started its shell and a child ($pids)" "$(echo $pids | wc -w)" -eq 2
group_gone() {
	for p in $pids; do kill -0 "$p" 2>/dev/null && return 1; done
	[ "$(procs_older 0 sleep 31.$$)" -eq 0 ] && [ "$(procs_older 0 sleep 32.$$)" -eq 0 ]
}
ok "...and its whole process group is gone once bgp check exits" wait_for 2 "children killed" group_gone

# user = : the command runs as that user, with that user's groups only.
U=$(mktemp -d /tmp/castiron-user.XXXXXX)
at_exit "rm -rf $U"
chown nobody "$U"
{ base; cat <<EOC
[service asnobody]
check = exec
shell = yes
user = nobody
command = id -u >$U/id && id -G >>$U/id && test "\$(id -u)" = "$(id -u nobody)"
prefixes = 192.0.2.14/32
EOC
} >"$T/user-ok.ini"
# castiron itself runs with a supplementary group (adm) that the check
# must not keep: "nobody's groups only" then means something even where
# root has none.
ok "an exec check with user = nobody passes only as nobody" \
    setpriv --groups "$(getent group adm | cut -d: -f3)" "$CASTIRON" -c "$T/user-ok.ini" bgp check
check "...the file it wrote is nobody's" "$(stat -c %U "$U/id" 2>/dev/null)" = nobody
check "...and says uid $(id -u nobody) with nobody's groups only, not root's" \
    "$(cat "$U/id" 2>/dev/null | tr '\n' ' ')" = "$(id -u nobody) $(id -G nobody) "

done_testing
