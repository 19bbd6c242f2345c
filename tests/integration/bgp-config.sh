# castiron bgp against bad configuration and with `bgp check`: exit 2
# naming the file, line, service, key and value; checks run once against
# real services on loopback; exec checks get no shell unless asked and
# lose their whole process group on timeout.
. tests/lib.sh

# A port the kernel says is free (other tests run beside this one).
PORT=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
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
fails_with 2 "bgp status: the same file exits 2" "$CASTIRON" -c "$T/outside.ini" bgp status

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

long=$(printf '/tmp/%0120d' 0)
{ base | sed "s|^control_socket = .*|control_socket = $long|"; echo "[service y]"
  echo "check = tcp"; echo "address = 127.0.0.1:1"; echo "prefixes = 192.0.2.1/32"; } >"$T/long.ini"
fails_with 2 "a control socket path too long for a unix socket exits 2" \
    "$CASTIRON" -c "$T/long.ini" bgp run

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
ok "bgp check: no shell unless shell = yes ('&& exit 1' are just words)" sh -c \
    "'$CASTIRON' -c '$T/check.ini' --format json bgp check | grep -q '\"service\": *\"noshell\", *\"check\": *\"exec\", *\"result\": *\"up\"'"
echo 503 >"$T/status"
fails_with 1 "bgp check: HTTP 503 exits 1" "$CASTIRON" -c "$T/check.ini" bgp check
ok "...and says why" sh -c "'$CASTIRON' -c '$T/check.ini' bgp check | grep -q 'HTTP 503, expected 200'"
check "bgp check changed nothing (no include file written)" ! -e "$T/inc/castiron.conf"

{ base; cat <<EOC
[service sh]
check = exec
command = exit 3
shell = yes
prefixes = 192.0.2.12/32
[service hang]
check = exec
command = sh -c "sleep 31.$$ & sleep 32.$$"
interval = 1s
timeout = 300ms
prefixes = 192.0.2.13/32
EOC
} >"$T/exec.ini"
"$CASTIRON" -c "$T/exec.ini" bgp check >"$T/exec.out" 2>&1
check "shell = yes: the shell runs it (exit 3)" -n "$(grep 'sh .*exit 3' "$T/exec.out")"
check "a hung exec check times out" -n "$(grep 'hang .*timed out after 300ms' "$T/exec.out")"
ok "...and its whole process group is gone" wait_for 5 "children killed" sh -c "! pgrep -f 'sleep 3[12].$$'"

done_testing
