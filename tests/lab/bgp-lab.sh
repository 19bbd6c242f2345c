# The bgp lab, sourced by tests/integration/bgp*.sh and bench/bgp.sh after
# tests/lib.sh: a "host" network namespace running BIRD (and castiron), a
# "router" namespace running a second BIRD as the host's upstream eBGP
# peer, one veth between them carrying an IPv4 and an IPv6 session.
# Everything lives under $T and is removed by at_exit.
#
#   lab_test_up NAME     for a test: ends it with a skip ("bgp lab") unless
#                        it runs as root with bird2 installed, then
#                        lab_up NAME; a lab that does not come up is the
#                        test's one failure
#   lab_up NAME          namespaces, addresses, both BIRDs; waits for BGP.
#                        With LAB_HOSTS=2, a second host (namespace $NS_H2,
#                        BIRD on $HSOCK2, AS 65002, include dir $INC2); the
#                        router then passes each host's paths to the other
#                        (ADD-PATH), and each host imports them, for the
#                        last-announcer guard (docs/bgp.md)
#   in_host2 CMD..., host2_birdc ARGS..., host2_bird_start
#   rt_paths PFX         the origin AS of each path the router has for PFX
#   in_host CMD...       runs CMD in the host namespace
#   rt_route PFX         0 when the router has a route for PFX
#   rt_withdrawn PFX...  0 when the router, answering, with both sessions
#                        Established throughout, says "Network not found"
#                        for each
#   rt_withdraws         the router's count of withdrawals received
#   rt_removed_ms T0 PFX...
#                        ms from T0 (epoch ms) until the router's log says
#                        the last of PFX... was removed; empty if one was not
#   lab_barrier          returns once everything the host's BIRD sent before
#                        it has reached the router (see below)
#   host_birdc ARGS...   birdc on the host's BIRD
#   procs_older MS ARGV...
#                        how many processes run exactly ARGV and are older
#                        than MS milliseconds (needs no lab)
#
# castiron on the lab's host (the tests set CFG, its configuration file):
#   lab_castiron_ini [LINE...]
#                        the head of that file: [castiron] state_dir
#                        $T/state; [bgp] with the host's BIRD (bird_socket
#                        $HSOCK, include_dir $INC), allowed_prefixes
#                        192.0.2.0/24, 2001:db8::/32, drain_file
#                        $T/state/drain, control_socket $T/bgp.sock,
#                        metrics_file $T/metrics.prom, then each LINE
#                        ("key = value") in [bgp]
#   lab_web_start PORT   the HTTP service (tests/lab/bgp-httpd.py) on
#                        127.0.0.1:PORT in the host namespace, WEB its pid;
#                        returns once it accepts connections
#   ci_start             castiron -c $CFG -v bgp run in the host namespace,
#                        its log appended to $T/castiron.log, CPID its pid;
#                        returns once its control socket $T/bgp.sock is
#                        there (a stale one, of a castiron killed, removed
#                        first)
#   ci ARGS...           castiron -c $CFG ARGS in the host namespace
#   st EXPR              0 when castiron answers `bgp status` and the Python
#                        expression EXPR holds (s is the JSON document,
#                        svc(NAME) one service of it, pfx(PREFIX) one
#                        prefix)
#   logs_have TEXT, logs_count TEXT
#                        whether castiron's log has TEXT, how many lines
#   all_routed PFX...    0 when the router has a route for every PFX

lab_test_up() {	# name
	if ! command -v bird >/dev/null || [ "$(id -u)" -ne 0 ]; then
		skip "bgp lab" "needs root and bird2"; done_testing; exit
	fi
	lab_up "$1" || { echo "not ok 1 - lab setup"; echo "1..1"; exit 1; }
}

lab_up() {
	LAB=ci-$1-$$
	NS_H=$LAB-1
	NS_R=$LAB-2
	_x=$(( ($$ % 200) + 20 ))
	H4=10.250.$_x.1; R4=10.250.$_x.2
	H6=fd00:ca57:$_x::1; R6=fd00:ca57:$_x::2
	HSOCK=$T/host-bird.ctl
	RSOCK=$T/router-bird.ctl
	# The include dir on tmpfs, as /run/castiron/bird is in production
	# (ext4 forces data out on rename-over, which costs ~0.5 ms).
	INC=$(mktemp -d /dev/shm/castiron-inc.XXXXXX) || return 1
	at_exit "rm -rf $INC"
	ip netns add "$NS_H" || return 1
	at_exit "ip netns del $NS_H"
	ip netns add "$NS_R" || return 1
	at_exit "ip netns del $NS_R"
	ip link add "v$$h" netns "$NS_H" type veth peer name "v$$r" netns "$NS_R" || return 1
	ip -n "$NS_H" link set lo up
	ip -n "$NS_R" link set lo up
	ip -n "$NS_H" addr add "$H4/30" dev "v$$h"
	ip -n "$NS_R" addr add "$R4/30" dev "v$$r"
	ip -n "$NS_H" addr add "$H6/64" dev "v$$h" nodad
	ip -n "$NS_R" addr add "$R6/64" dev "v$$r" nodad
	ip -n "$NS_H" link set "v$$h" up
	ip -n "$NS_R" link set "v$$r" up
	LAB_NSESS=2
	host_conf "$T/host-bird.conf" "$H4" "$H6" "$R4" "$R6" 65001 "$INC" "$T/host-bird.log"
	: >"$T/host-marks.conf"
	LAB_MARKS=0
	if [ "${LAB_HOSTS:-1}" -eq 2 ]; then
		# A path a host learns from the router may be another host's
		# only: ADD-PATH, so that the router's best (maybe this host's
		# own) does not hide the other's.
		RT_EXPORT4='export where net ~ [ 192.0.2.0/24+ ]; add paths tx;'
		RT_EXPORT6='export where net ~ [ 2001:db8::/32+ ]; add paths tx;'
	else
		RT_EXPORT4='export none;'; RT_EXPORT6='export none;'
	fi
	{ cat <<EOC
router id $R4;
log "$T/router-bird.log" all;
timeformat log "%F %T.%6f";
protocol device {}
EOC
	  rt_peer h4 "$R4" "$H4" 65001 ipv4 "$RT_EXPORT4"
	  rt_peer h6 "$R6" "$H6" 65001 ipv6 "$RT_EXPORT6"
	} >"$T/router-bird.conf"
	if [ "${LAB_HOSTS:-1}" -eq 2 ]; then
		lab_host2 || return 1
	fi
	host_bird_start || return 1
	ip netns exec "$NS_R" bird -c "$T/router-bird.conf" -s "$RSOCK" -P "$T/router-bird.pid" || return 1
	at_exit 'kill $(cat "$T/router-bird.pid" 2>/dev/null) 2>/dev/null'
	wait_for 30 "BGP sessions" lab_bgp_up
}

# host_conf FILE H4 H6 R4 R6 AS INC LOG [MARKS]: a host BIRD's configuration.
# The export filter is the one docs/bgp.md gives: castiron's protocols
# (and the lab's marks), with the MED set in the filter, since BIRD sends
# a MED over eBGP only when the export filter set it.  With LAB_HOSTS=2
# the host imports what the router passes on for the anycast prefixes
# (the routes the last-announcer guard looks for).
host_conf() {
	if [ "${LAB_HOSTS:-1}" -eq 2 ]; then
		_imp4='import where net ~ [ 192.0.2.0/24+ ]; add paths rx;'
		_imp6='import where net ~ [ 2001:db8::/32+ ]; add paths rx;'
	else
		_imp4='import none;'; _imp6='import none;'
	fi
	cat >"$1" <<EOC
router id $2;
log "$8" all;
timeformat log "%F %T.%6f";
protocol device {}
include "$7/*.conf";
include "${9:-$T/host-marks.conf}";
filter castiron_export {
	if proto ~ "castiron_*" then {
		if defined(bgp_med) then bgp_med = bgp_med;
		accept;
	}
	if proto ~ "lab_mark*" then accept;
	reject;
}
protocol bgp up4 {
	local $2 as $6;
	neighbor $4 as 65000;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	ipv4 { $_imp4 export filter castiron_export; };
}
protocol bgp up6 {
	local $3 as $6;
	neighbor $5 as 65000;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	ipv6 { $_imp6 export filter castiron_export; };
}
EOC
}

# rt_peer NAME LOCAL NEIGHBOR AS ipv4|ipv6 EXPORT: one of the router's
# sessions with a host (it logs routes: "debug { routes }").
rt_peer() {
	cat <<EOC
protocol bgp $1 {
	local $2 as 65000;
	neighbor $3 as $4;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	debug { routes };
	$5 { import all; $6 };
}
EOC
}

# The second host: its own namespace, veth to the router, BIRD and
# include dir; the router's sessions with it are g4 and g6.
lab_host2() {
	NS_H2=$LAB-3
	G4=10.251.$_x.1; Q4=10.251.$_x.2
	G6=fd00:ca58:$_x::1; Q6=fd00:ca58:$_x::2
	HSOCK2=$T/host2-bird.ctl
	INC2=$(mktemp -d /dev/shm/castiron-inc2.XXXXXX) || return 1
	at_exit "rm -rf $INC2"
	ip netns add "$NS_H2" || return 1
	at_exit "ip netns del $NS_H2"
	ip link add "w$$h" netns "$NS_H2" type veth peer name "w$$r" netns "$NS_R" || return 1
	ip -n "$NS_H2" link set lo up
	ip -n "$NS_H2" addr add "$G4/30" dev "w$$h"
	ip -n "$NS_R" addr add "$Q4/30" dev "w$$r"
	ip -n "$NS_H2" addr add "$G6/64" dev "w$$h" nodad
	ip -n "$NS_R" addr add "$Q6/64" dev "w$$r" nodad
	ip -n "$NS_H2" link set "w$$h" up
	ip -n "$NS_R" link set "w$$r" up
	: >"$T/host2-marks.conf"
	host_conf "$T/host2-bird.conf" "$G4" "$G6" "$Q4" "$Q6" 65002 "$INC2" \
	    "$T/host2-bird.log" "$T/host2-marks.conf"
	{ rt_peer g4 "$Q4" "$G4" 65002 ipv4 "$RT_EXPORT4"
	  rt_peer g6 "$Q6" "$G6" 65002 ipv6 "$RT_EXPORT6"
	} >>"$T/router-bird.conf"
	LAB_NSESS=4
	RT_SESSIONS="h4 h6 g4 g6"
	host2_bird_start
}
host2_bird_start() {
	ip netns exec "$NS_H2" bird -c "$T/host2-bird.conf" -s "$HSOCK2" -P "$T/host2-bird.pid" || return 1
	at_exit 'kill $(cat "$T/host2-bird.pid" 2>/dev/null) 2>/dev/null'
}
in_host2() { ip netns exec "$NS_H2" "$@"; }
host2_birdc() { birdc -s "$HSOCK2" "$@"; }

# The origin AS of each path the router has for PFX, sorted, one a line.
rt_paths() {
	birdc -s "$RSOCK" show route "$1" all 2>/dev/null |
	    awk '/BGP.as_path:/ { print $NF }' | sort
}

host_bird_start() {
	ip netns exec "$NS_H" bird -c "$T/host-bird.conf" -s "$HSOCK" -P "$T/host-bird.pid" || return 1
	at_exit 'kill $(cat "$T/host-bird.pid" 2>/dev/null) 2>/dev/null'
}

lab_bgp_up() {
	[ "$(birdc -s "$RSOCK" show protocols 2>/dev/null | grep -c Established)" -eq "${LAB_NSESS:-2}" ]
}

in_host() { ip netns exec "$NS_H" "$@"; }
host_birdc() { birdc -s "$HSOCK" "$@"; }

rt_route() {
	birdc -s "$RSOCK" show route "$1" 2>/dev/null | grep -qF -- "$1"
}

# The router's sessions with the host ($RT_SESSIONS, by default both), one
# line each: name, state, since, info.  All Established, or it fails.
rt_sessions() {
	_s=$(birdc -s "$RSOCK" show protocols 2>/dev/null |
	    awk -v want="${RT_SESSIONS:-h4 h6}" 'BEGIN { split(want, w); for (i in w) ok[w[i]] = 1 } $1 in ok')
	[ "$(echo "$_s" | grep -c Established)" -eq "$(echo ${RT_SESSIONS:-h4 h6} | wc -w)" ] && echo "$_s"
}

# Withdrawn means the router itself says so: "! rt_route" would also hold
# with the router's BIRD down or the session to the host lost.  So: the
# sessions Established, the same before and after (no flap in between),
# and the router's own answer for the prefix is "Network not found".
# On failure it says which of these failed, on stderr (an ok's "# "
# lines; a wait_for drops them).
rt_withdrawn() {	# PFX...
	_before=$(rt_sessions) || { rt_why "sessions not all Established before" protocols; return 1; }
	for _p; do
		_r=$(birdc -s "$RSOCK" show route "$_p" 2>&1)
		echo "$_r" | grep -qx 'Network not found' ||
		    { rt_why "the router has $_p: $(echo "$_r" | tr '\n' ' ')"; return 1; }
	done
	_after=$(rt_sessions) || { rt_why "sessions not all Established after" protocols; return 1; }
	[ "$_before" = "$_after" ] ||
	    { rt_why "sessions changed: [$_before] -> [$_after]"; return 1; }
}
rt_why() {	# WHY [protocols]
	echo "rt_withdrawn: $1" >&2
	[ $# -lt 2 ] || birdc -s "$RSOCK" show protocols 2>&1 | sed 's/^/  /' >&2
}
rt_no_route() { rt_withdrawn "$@"; }	# the name tests/lab/demo-bgp uses

# A barrier for "nothing happened" checks: one more static route (a
# "mark", exported beside castiron's) is added to the host's BIRD, and
# this waits until the router has it, on both sessions.  BGP is one
# ordered stream per session, so whatever the host sent before -- a
# withdrawal castiron should not have caused -- has reached the router
# and is in its counters.  The marks are only ever added (never
# withdrawn), so they do not move rt_withdraws.
lab_barrier() {
	LAB_MARKS=$((LAB_MARKS + 1))
	[ "$LAB_MARKS" -le 250 ] || { echo "lab_barrier: out of marks"; return 1; }
	cat >>"$T/host-marks.conf" <<EOC
protocol static lab_mark4_$LAB_MARKS { ipv4; route 203.0.113.$LAB_MARKS/32 blackhole; }
protocol static lab_mark6_$LAB_MARKS { ipv6; route 2001:db8:ffff::$LAB_MARKS/128 blackhole; }
EOC
	host_birdc configure >/dev/null || return 1
	wait_for 10 "mark $LAB_MARKS at the router" sh -c \
	    "birdc -s '$RSOCK' show route 203.0.113.$LAB_MARKS/32 | grep -qF 203.0.113.$LAB_MARKS/32 &&
	     birdc -s '$RSOCK' show route 2001:db8:ffff::$LAB_MARKS/128 | grep -qF 2001:db8:ffff::$LAB_MARKS/128"
}

# When the router removed prefixes, by its own log's microsecond stamps
# (the router logs routes: "debug { routes }"), so that a bound measures
# castiron and BIRD, not how often a test can afford to ask the router.
rt_removed_ms() {	# T0_MS PFX...
	python3 - "$T/router-bird.log" "$@" <<'EOPY'
import sys, datetime
log, t0, pfx = sys.argv[1], int(sys.argv[2]) / 1000.0, sys.argv[3:]
first = {}
for l in open(log, errors="replace"):
    # 2026-12-01 08:59:03.554311 <TRACE> h4.ipv4 > removed [sole] 192.0.2.10/32 ...
    w = l.split()
    if l[:2] != "20" or "removed" not in w[:6]:
        continue
    p = [x for x in w[w.index("removed"):] if "/" in x][:1]
    t = datetime.datetime.strptime(l[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()
    if p and t >= t0 and p[0] in pfx and p[0] not in first:
        first[p[0]] = t
if len(first) == len(pfx):
    print(round((max(first.values()) - t0) * 1000))
EOPY
}

# Withdrawals the router received over both sessions.
rt_withdraws() {
	birdc -s "$RSOCK" show protocols all 2>/dev/null |
	    awk '/Import withdraws:/ { n += $3 } END { print n + 0 }'
}

# procs_older MS ARGV...: prints how many processes run exactly ARGV (their
# whole command line) and started more than MS milliseconds ago, each
# listed on stderr with its age.  Exact, so that another test's process
# whose line merely contains ARGV is not counted.
procs_older() {
	python3 - "$@" <<'EOPY'
import os, sys
ms, want = int(sys.argv[1]), ("\0".join(sys.argv[2:]) + "\0").encode()
hz = os.sysconf("SC_CLK_TCK")
up = float(open("/proc/uptime").read().split()[0])
n = 0
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        if open("/proc/%s/cmdline" % p, "rb").read() != want:
            continue
        st = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    age = (up - int(st[st.rindex(")") + 2:].split()[19]) / hz) * 1000
    if age > ms:
        n += 1
        print("pid %s: %s, %d ms old" % (p, " ".join(sys.argv[2:]), age), file=sys.stderr)
print(n)
EOPY
}

lab_castiron_ini() {	# [line...]
	cat <<EOC
[castiron]
state_dir = $T/state
[bgp]
bird_socket = $HSOCK
include_dir = $INC
allowed_prefixes = 192.0.2.0/24, 2001:db8::/32
drain_file = $T/state/drain
control_socket = $T/bgp.sock
metrics_file = $T/metrics.prom
EOC
	[ $# -eq 0 ] || printf '%s\n' "$@"
}

lab_web_start() {	# port
	ip netns exec "$NS_H" python3 tests/lab/bgp-httpd.py "$1" &
	WEB=$!
	at_exit "kill $WEB"
	wait_for 10 "web server" in_host python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))"
}

ci_start() {
	rm -f "$T/bgp.sock"
	ip netns exec "$NS_H" "$CASTIRON" -c "$CFG" -v bgp run >>"$T/castiron.log" 2>&1 &
	CPID=$!
	at_exit 'kill -9 $CPID 2>/dev/null'
	wait_for 10 "control socket" test -S "$T/bgp.sock"
}
ci() { in_host "$CASTIRON" -c "$CFG" "$@"; }
st() {
	ci --format json bgp status 2>/dev/null | python3 -c "
import json, sys
s = json.load(sys.stdin)
svc = lambda n: [x for x in s['services'] if x['name'] == n][0]
pfx = lambda n: [x for x in s['prefixes'] if x['prefix'] == n][0]
sys.exit(0 if ($1) else 1)"
}
logs_have() { grep -q -- "$1" "$T/castiron.log"; }
logs_count() { grep -c -- "$1" "$T/castiron.log"; }
all_routed() { for _p; do rt_route "$_p" || return 1; done; }
