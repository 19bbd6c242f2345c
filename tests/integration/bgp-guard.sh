# time-limit: 300
# The last-announcer guard (fail_open), with two announcing hosts of
# distinct AS numbers (65001, 65002) and a router that passes each host's
# path to the other (ADD-PATH): a fail_open service failing on one host
# withdraws there while the other announces; failing on both keeps the
# last one's announcement (logged, in status and in the metrics); it is
# withdrawn once another announcer is back; a fail_open = no service
# failing withdraws regardless, and so does a fail_open service whose own
# process is gone (nothing listens).  Every assertion looks at the
# router's table and at what each castiron says.
. tests/lib.sh
LAB_HOSTS=2
. tests/lab/bgp-lab.sh

lab_test_up guard
ok "the router's sessions with both hosts are up" lab_bgp_up

PORT=$(free_port)
RECONCILE=500
MARGIN=2000
# cfg N SOCK INC: host N's castiron.  deep (fail_open) stands for a check
# of a backend outside the host; plain (fail_open = no) for one that must
# always withdraw; own (fail_open, TCP) for the service's own process:
# only host 2 runs it, so host 2 is its only announcer.
cfg() {
	cat <<EOC
[castiron]
state_dir = $T/state$1
[bgp]
bird_socket = $2
include_dir = $3
allowed_prefixes = 192.0.2.0/24
drain_file = $T/state$1/drain
control_socket = $T/bgp$1.sock
metrics_file = $T/metrics$1.prom
reconcile_interval = ${RECONCILE}ms
[service deep]
check     = exec
command   = test -e $T/dep$1
interval  = 200ms
timeout   = 150ms
rise      = 1
fall      = 1
fail_open = yes
prefixes  = 192.0.2.10/32
[service plain]
check     = exec
command   = test -e $T/plain$1
interval  = 200ms
timeout   = 150ms
rise      = 1
fall      = 1
prefixes  = 192.0.2.20/32
EOC
	[ "$1" = 2 ] && cat <<EOC
[service own]
check     = tcp
address   = 127.0.0.1:$PORT
interval  = 200ms
timeout   = 150ms
rise      = 1
fall      = 1
fail_open = yes
prefixes  = 192.0.2.40/32
EOC
}
mkdir -p "$T/state1" "$T/state2"
cfg 1 "$HSOCK" "$INC" >"$T/c1.ini"
cfg 2 "$HSOCK2" "$INC2" >"$T/c2.ini"
touch "$T/dep1" "$T/dep2" "$T/plain1" "$T/plain2"

ip netns exec "$NS_H2" python3 -m http.server --bind 127.0.0.1 $PORT >/dev/null 2>&1 &
OWN=$!
at_exit "kill $OWN"
wait_for 10 "own service" in_host2 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))"

ip netns exec "$NS_H" "$CASTIRON" -c "$T/c1.ini" -v bgp run >>"$T/c1.log" 2>&1 &
C1=$!
at_exit 'kill -9 $C1 2>/dev/null'
ip netns exec "$NS_H2" "$CASTIRON" -c "$T/c2.ini" -v bgp run >>"$T/c2.log" 2>&1 &
C2=$!
at_exit 'kill -9 $C2 2>/dev/null'
wait_for 10 "control sockets" sh -c "test -S '$T/bgp1.sock' && test -S '$T/bgp2.sock'"

st() {	# HOST EXPR
	_h=$1; shift
	if [ "$_h" = 1 ]; then in_host "$CASTIRON" -c "$T/c1.ini" --format json bgp status; else
		in_host2 "$CASTIRON" -c "$T/c2.ini" --format json bgp status; fi 2>/dev/null | python3 -c "
import json, sys
s = json.load(sys.stdin)
pfx = lambda n: [x for x in s['prefixes'] if x['prefix'] == n][0]
sys.exit(0 if ($1) else 1)"
}
paths_are() {	# PFX AS...: the router has exactly these origin ASes for PFX
	_p=$1; shift
	[ "$(rt_paths "$_p" | tr '\n' ' ')" = "$(printf '%s ' "$@")" ]
}
metric() { awk -v k="$2" '$1 == k { print $2 }' "$T/metrics$1.prom" 2>/dev/null; }

ok "both hosts announce 192.0.2.10/32: the router has both paths" \
    wait_for 20 "two paths" paths_are 192.0.2.10/32 65001 65002
ok "...and each host's BIRD has the other's path" sh -c "
	birdc -s '$HSOCK' show route 192.0.2.10/32 where source = RTS_BGP | grep -q 'AS65002' &&
	birdc -s '$HSOCK2' show route 192.0.2.10/32 where source = RTS_BGP | grep -q 'AS65001'"
wait_for 20 "plain paths" paths_are 192.0.2.20/32 65001 65002
wait_for 20 "own path" paths_are 192.0.2.40/32 65002

# The backend fails for host 1: host 2 still announces, so host 1 goes.
rm -f "$T/dep1"
ok "fail_open service fails on host 1, host 2 announces: host 1 withdraws" \
    wait_for 10 "host 1 withdrawn" paths_are 192.0.2.10/32 65002
ok "...saying why" grep -q "prefix 192.0.2.10/32: another announcer is in BIRD's table (via up4); withdrawing (fail_open deep: exit 1)" "$T/c1.log"
ok "...host 1's status: not announced, not kept" st 1 "not pfx('192.0.2.10/32')['announced'] and not pfx('192.0.2.10/32')['kept']"

# The backend fails for host 2 too: host 2 is the last announcer, kept.
# Its log lines are counted from here: under load a run of host 2's check
# may have timed out before (150 ms), a change of its own that the guard
# logs too.
mark2=$(wc -l <"$T/c2.log")
kept2() { tail -n +$((mark2 + 1)) "$T/c2.log" | grep -c 'prefix 192.0.2.10/32: kept: last announcer'; }
rm -f "$T/dep2"
ok "fail_open service fails on host 2 as well: host 2 keeps its announcement" \
    wait_for 10 "deep down on 2" st 2 "pfx('192.0.2.10/32')['kept']"
lab_barrier
ok "...the router still has host 2's path (and only it)" paths_are 192.0.2.10/32 65002
check "...one log line says so" "$(kept2)" -eq 1
ok "...status says kept: last announcer" st 2 "pfx('192.0.2.10/32')['announced'] and pfx('192.0.2.10/32')['note'] == 'kept: last announcer'"
ok "...the metric says so" wait_for 7 "metric" sh -c \
    "grep -qx 'castiron_bgp_prefix_kept{prefix=\"192.0.2.10/32\"} 1' '$T/metrics2.prom'"
# Several reconciliations later, still kept, and still one line.
sleep $(( 3 * RECONCILE / 1000 + 1 ))
ok "...still kept after several reconciliations" paths_are 192.0.2.10/32 65002
check "...and still one log line" "$(kept2)" -eq 1
ok "host 1, withdrawn, stays so: host 2 still announces" paths_are 192.0.2.10/32 65002

# Host 1's backend comes back: host 1 announces, so host 2 (still
# failing) is no longer the last announcer and withdraws.
touch "$T/dep1"
has_path() { rt_paths "$1" | grep -qx "$2"; }
ok "host 1 healthy again: it announces" wait_for 10 "host 1 back" has_path 192.0.2.10/32 65001
ok "...and host 2, still failing, withdraws" wait_for 10 "host 2 gone" paths_are 192.0.2.10/32 65001
ok "...saying so" grep -q "prefix 192.0.2.10/32: another announcer is in BIRD's table" "$T/c2.log"
touch "$T/dep2"
ok "host 2 healthy again: both announce" wait_for 10 "both" paths_are 192.0.2.10/32 65001 65002

# Both hosts fail at the same time: whichever is last keeps it; the
# prefix is never gone from the router for longer than it takes the two
# to sort it out.
rm -f "$T/dep1" "$T/dep2"
ok "failing on both at once: exactly one host keeps announcing" \
    wait_for $(( (4 * RECONCILE + MARGIN) / 1000 + 2 )) "one left" sh -c \
    "[ \$(birdc -s '$RSOCK' show route 192.0.2.10/32 all | grep -c 'BGP.as_path:') -eq 1 ]"
touch "$T/dep1" "$T/dep2"
wait_for 10 "both" paths_are 192.0.2.10/32 65001 65002

# fail_open = no: failing on both withdraws on both.
rm -f "$T/plain1" "$T/plain2"
ok "a fail_open = no service failing on both hosts: withdrawn on both" \
    wait_for 10 "plain gone" rt_withdrawn 192.0.2.20/32
lab_barrier
ok "...and stays withdrawn" rt_withdrawn 192.0.2.20/32
check "...no 'kept' for it on either host" -z "$(grep 'prefix 192.0.2.20/32: kept' "$T/c1.log" "$T/c2.log")"

# The service's own process is gone (nothing listens on loopback): a
# local failure, withdrawn although host 2 is its only announcer.
kill $OWN; wait $OWN 2>/dev/null
ok "a fail_open service whose own process is gone: withdrawn, though the last announcer" \
    wait_for 10 "own gone" rt_withdrawn 192.0.2.40/32
lab_barrier
ok "...and stays withdrawn" rt_withdrawn 192.0.2.40/32
check "...not kept" -z "$(grep 'prefix 192.0.2.40/32: kept' "$T/c2.log")"

# A drain always withdraws, kept or not.
rm -f "$T/dep1"
wait_for 10 "host 1 gone" paths_are 192.0.2.10/32 65002
rm -f "$T/dep2"
wait_for 10 "kept" st 2 "pfx('192.0.2.10/32')['kept']"
ok "a drain withdraws a kept prefix" in_host2 "$CASTIRON" -c "$T/c2.ini" bgp drain --reason guard
# Host 1, failing too and withdrawn, is then the last announcer and
# announces again at its next reconciliation (docs/bgp.md): the drain's
# part is host 2's path gone, whether or not host 1 has taken over yet.
no_path() {	# PFX AS: the router, its sessions Established, has no path of PFX from AS
	rt_sessions >/dev/null && ! rt_paths "$1" | grep -qx "$2"
}
ok "...host 2's path gone from the router" wait_for 5 "host 2 gone" no_path 192.0.2.10/32 65002
ok "...and host 1, the last announcer now, announces it again" \
    wait_for $(( (2 * RECONCILE + MARGIN) / 1000 + 2 )) "host 1 takes over" paths_are 192.0.2.10/32 65001

kill -TERM $C1 $C2; wait $C1 $C2
done_testing
