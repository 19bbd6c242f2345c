# bench/bgp: how fast castiron reacts, what it costs, side by side with
# ExaBGP's healthcheck (the tool an operator would use instead).
#
# Reaction: an exec check whose every run logs when it ends and what it
# found; the service is "killed" (its probe starts failing) and the time
# until the route is gone AT THE PEER (the router BIRD's route trace,
# microsecond stamps) is measured, as is the part each tool adds after the
# deciding check (the first failing run after the kill: fall = 1) ended,
# however long that is.  p99 is printed only over 100 trials or more; a
# smaller run prints its maximum instead.
# Cost: 1,000 HTTP services at 1 s interval against a real HTTP server;
# CPU as % of one core and RSS of the daemon, and CPU per check over the
# checks each tool actually ran in the window (castiron's own counters;
# the HTTP server's count of requests for ExaBGP's healthcheck).
. tests/lib.sh
. tests/lab/bgp-lab.sh
# Output piped into head must still clean up namespaces and daemons.
trap 'exit 141' PIPE

TRIALS=${BGP_TRIALS:-100}
XTRIALS=${BGP_EXABGP_TRIALS:-100}
SECS=${BGP_COST_SECONDS:-20}
NSVC=${BGP_SERVICES:-1000}
lab_up bench || { echo "bench bgp: lab setup failed"; exit 1; }
P=20000

# The probe: up while $T/up exists; it logs the moment its verdict is
# final, and the verdict, and exits at once (a tiny C program, so that no
# shell or interpreter teardown sits between the log line and the exit).
cat >"$T/probe.c" <<'EOP'
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
	struct timespec ts;
	int r = access(argv[1], F_OK) == 0 ? 0 : 1;
	FILE *f = fopen(argv[2], "a");
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "%lld.%09ld %d\n", (long long)ts.tv_sec, ts.tv_nsec, r);
	fclose(f);
	_exit(r);
}
EOP
cc -O2 -o "$T/probe" "$T/probe.c" || exit 1
printf '#!/bin/sh\nexec %s %s %s\n' "$T/probe" "$T/up" "$T/ends" >"$T/probe.sh"
chmod +x "$T/probe.sh"

cat >"$T/react.ini" <<EOC
[bgp]
bird_socket = $HSOCK
include_dir = $INC
allowed_prefixes = 192.0.2.0/24, 198.18.0.0/15
drain_file = $T/drain
control_socket = $T/bgp.sock
[service probe]
check = exec
command = $T/probe $T/up $T/ends
interval = 100ms
timeout = 90ms
rise = 1
fall = 1
prefixes = 192.0.2.10/32
EOC

rt_present() { rt_route 192.0.2.10/32; }
rt_absent() { rt_withdrawn 192.0.2.10/32; }	# the router says "Network not found"

# trials N NAME: kill/revive the probe N times; kill times to $T/kills.NAME
trials() {
	: >"$T/kills.$2"
	i=0
	while [ $i -lt "$1" ]; do
		touch "$T/up"
		wait_for 20 "announce" rt_present || return 1
		sleep "0.$(( (i * 37) % 100 + 100 ))"	# vary the phase
		date +%s.%N >>"$T/kills.$2"
		rm -f "$T/up"
		wait_for 20 "withdraw" rt_absent || return 1
		i=$((i + 1))
	done
}

# analyse NAME INTERVAL_MS: prints reaction and added-time percentiles.
analyse() {
	python3 - "$T/router-bird.log" "$T/ends" "$T/kills.$1" "$2" "$1" <<'EOPY'
import sys, datetime
log, ends_f, kills_f, interval, name = sys.argv[1:]
def ts(line):
    d = datetime.datetime.strptime(line[:26], "%Y-%m-%d %H:%M:%S.%f")
    return d.timestamp()
kills = [float(x) for x in open(kills_f)]
# Each run of the probe: (end, failed); a torn last line is skipped.
runs = sorted((float(w[0]), int(w[1])) for w in (l.split() for l in open(ends_f)) if len(w) == 2)
gone = []
for l in open(log):
    if "192.0.2.10/32" in l and ("removed" in l or "withdraw" in l.lower()) and l[:2] == "20":
        gone.append(ts(l))
gone.sort()
react, added = [], []
for k in kills:
    g = [x for x in gone if x > k]
    if not g:
        continue
    w = g[0]
    react.append((w - k) * 1000)
    # The deciding check: the first failing run to end after the kill
    # (fall = 1), not the last run before the withdrawal, so that a tool
    # slower than one interval is not cut down to one interval.
    d = [t for t, failed in runs if t > k and failed]
    if d and d[0] <= w:
        added.append((w - d[0]) * 1000)
def pct(a, p):
    a = sorted(a); return a[min(len(a) - 1, int(round(p / 100 * (len(a) - 1))))]
def tail(a):	# p99 only where 100 samples make one
    return ("p99", pct(a, 99)) if len(a) >= 100 else ("max", max(a))
if not react or not added:
    print(name, "no withdrawals seen in the router log"); sys.exit(1)
print("%-9s trials %d  kill->gone p50 %.1f ms %s %.1f ms (window: interval %s ms x fall 1)"
      % ((name, len(react), pct(react, 50)) + tail(react) + (interval,)))
print("%-9s added after the deciding check (%d trials): p50 %.3f ms %s %.3f ms"
      % ((name, len(added), pct(added, 50)) + tail(added)))
open(kills_f + ".added", "w").write("%f %f %s\n" % ((pct(added, 50),) + tail(added)[::-1]))
EOPY
}

# ---- castiron: reaction ----
: >"$T/ends"
touch "$T/up"
ip netns exec "$NS_H" "$CASTIRON" -c "$T/react.ini" -v -v bgp run >"$T/castiron.log" 2>&1 &
CPID=$!
at_exit 'kill $CPID 2>/dev/null'
trials "$TRIALS" castiron || { echo "castiron trials failed"; tail "$T/castiron.log"; exit 1; }
analyse castiron 100 || exit 1
# Where the time goes: deciding check's end -> BIRD acknowledged the
# disable (castiron's own part) -> route removed at the peer (BIRD, BGP).
python3 - "$T/castiron.log" "$T/ends" "$T/router-bird.log" "$T/kills.castiron" <<'EOPY'
import sys, re, datetime
acks = sorted(float(m.group(1)) for m in (re.search(r"disable castiron_p_192_0_2_10_32 took \d+us \(acknowledged at ([0-9.]+)\)", l) for l in open(sys.argv[1])) if m)
runs = sorted((float(w[0]), int(w[1])) for w in (l.split() for l in open(sys.argv[2])) if len(w) == 2)
kills = [float(x) for x in open(sys.argv[4])]
gone = sorted(datetime.datetime.strptime(l[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()
              for l in open(sys.argv[3]) if "192.0.2.10/32" in l and "removed" in l)
own, bird = [], []
for k in kills:
    d = [t for t, failed in runs if t > k and failed]	# the deciding check
    g = [x for x in gone if x > k]			# gone at the peer
    a = [x for x in acks if d and g and d[0] <= x <= g[0] + 0.05]
    if not d or not a or not g:
        continue
    # castiron stamps the acknowledgement once it has read it, which can be
    # a few us after the peer logged the removal: a small negative BIRD part.
    own.append((a[0] - d[0]) * 1000)
    bird.append((g[0] - a[0]) * 1000)
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")
def tail(v):
    return ("p99", pct(v, 99)) if len(v) >= 100 else ("max", max(v) if v else float("nan"))
print("castiron    of which castiron (check end -> BIRD acknowledged): p50 %.3f ms %s %.3f ms" % ((pct(own, 50),) + tail(own)))
print("castiron    of which BIRD+BGP+peer (acknowledged -> gone at peer): p50 %.3f ms %s %.3f ms" % ((pct(bird, 50),) + tail(bird)))
EOPY
[ -n "${BGP_DEBUG:-}" ] && grep -E "written in|applied in|took" "$T/castiron.log" | tail -12
kill -TERM $CPID; wait $CPID 2>/dev/null

# ---- castiron: cost of $NSVC HTTP services at 1 s ----
# One HTTP server process (asyncio) listening on one port per service,
# as separate services would: 1,000 endpoints, 1,000 checks a second.
ip netns exec "$NS_H" python3 tests/lab/bgp-httpd.py "$P-$((P + NSVC - 1))" 2>>"$T/httpd.err" &
at_exit "kill $!"
wait_for 20 "httpd" ip netns exec "$NS_H" python3 -c "import socket; socket.create_connection(('127.0.0.1', $((P + NSVC - 1))))"
{
	sed -n '1,/^\[service/p' "$T/react.ini" | sed '$d'
	i=0
	while [ $i -lt "$NSVC" ]; do
		echo "[service web$i]"
		echo "check = http"
		echo "url = http://127.0.0.1:$((P + i))/healthz"
		echo "interval = 1s"
		echo "timeout = 500ms"
		echo "prefixes = 198.18.$((i / 250)).$((i % 250 + 1))/32"
		i=$((i + 1))
	done
} >"$T/cost.ini"
ip netns exec "$NS_H" "$CASTIRON" -c "$T/cost.ini" -q bgp run >"$T/cost.log" 2>&1 &
CPID=$!
sleep 5
kill -0 $CPID 2>/dev/null || { wait $CPID; echo "castiron cost run died (exit $?):"; tail -5 "$T/cost.log"; exit 1; }
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Checks run so far and services healthy, from the daemon's own counters
# (asked outside the CPU window: answering costs the daemon CPU too).
ci_checks() {
	ip netns exec "$NS_H" "$CASTIRON" -c "$T/cost.ini" --format json bgp status |
	    python3 -c "import json,sys; s=json.load(sys.stdin); print(sum(x['checks_ok']+x['checks_failed'] for x in s['services']), sum(x['healthy'] for x in s['services']))"
}
# Each count is taken just after its end of the CPU window, so the two
# counts are as far apart as the window's ends.
t0=$(cpu $CPID); s0=$(date +%s.%N)
c0=$(ci_checks | cut -d' ' -f1)
sleep "$SECS"
t1=$(cpu $CPID); s1=$(date +%s.%N)
checks=$(ci_checks)
c1=${checks%% *}
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$CPID/status")
[ -n "${BGP_DEBUG:-}" ] && grep -E "written in|applied in|took" "$T/castiron.log" | tail -12
kill -TERM $CPID; wait $CPID 2>/dev/null
tck=$(getconf CLK_TCK)
ci_cpu=$(python3 -c "print('%.2f' % (100.0 * ($t1 - $t0) / $tck / ($s1 - $s0)))")
echo "castiron  $NSVC HTTP services at 1s: CPU $ci_cpu % of one core (goal <= 5 %), peak RSS $((rss / 1024)) MiB (goal <= 32 MiB)"
echo "castiron  checks run so far / services healthy: $checks"
ci_per=$(python3 -c "print('%.1f' % (1e6 * ($t1 - $t0) / $tck / max($c1 - $c0, 1)))")
echo "castiron  CPU per HTTP check: $ci_per us ($((c1 - c0)) checks run in $(python3 -c "print('%.1f' % ($s1 - $s0))") s, $(python3 -c "print('%.0f' % (($c1 - $c0) / ($s1 - $s0)))")/s)"

# ---- attributes: what a change costs, with 1, 100 and 1,000 prefixes ----
# N TCP services (one prefix each, each with a community and a MED)
# checked against one listener; a SIGHUP changes every MED.  Timed: BIRD's
# `configure` alone (castiron's own command, sent to answered, from its
# log), and from the SIGHUP to the last prefix's new MED at the peer
# (which includes loading the file of N services).  The routes are
# updated in place: the router's withdrawal count must not move.
AP=$((P + NSVC + 10))
# A listener with room for 1,000 connections at once (http.server's
# backlog of 5 would time the checks out).
ip netns exec "$NS_H" python3 -c "
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $AP))
s.listen(4096)
while True:
    s.accept()[0].close()" >/dev/null 2>&1 &
at_exit "kill $!"
wait_for 20 "listener" ip netns exec "$NS_H" python3 -c "import socket; socket.create_connection(('127.0.0.1', $AP))"
attr_cfg() {	# N MED
	sed -n '1,/^\[service/p' "$T/react.ini" | sed '$d'
	i=0
	while [ $i -lt "$1" ]; do
		echo "[service m$i]"
		echo "check = tcp"
		echo "address = 127.0.0.1:$AP"
		echo "interval = 10s"
		echo "timeout = 1s"
		echo "rise = 1"
		echo "communities = 65001:1"
		echo "med = $2"
		echo "prefixes = 198.18.$((i / 250)).$((i % 250 + 1))/32"
		i=$((i + 1))
	done
}
for N in 1 100 1000; do
	attr_cfg "$N" 10 >"$T/attr.ini"
	ip netns exec "$NS_H" "$CASTIRON" -c "$T/attr.ini" -v bgp run >"$T/attr.log" 2>&1 &
	APID=$!
	last=$(python3 -c "i=$N-1; print('198.18.%d.%d/32' % (i // 250, i % 250 + 1))")
	if ! wait_for 60 "$N prefixes at the peer" sh -c "birdc -s '$RSOCK' show route '$last' all | grep -q 'BGP.med: 10'"; then
		echo "attributes $N: not announced"; kill $APID; wait $APID; continue
	fi
	w0=$(rt_withdraws)
	hup="" cfgs=""
	for med in 20 30 40; do
		attr_cfg "$N" $med >"$T/attr.ini"
		t0=$(now_ms)
		kill -HUP $APID
		wait_for 60 "new MED at the peer" sh -c "birdc -s '$RSOCK' show route '$last' all | grep -q 'BGP.med: $med'"
		hup="$hup $(( $(now_ms) - t0 ))"
	done
	# BIRD's configure as castiron saw it: sent to answered (its log).
	cfgs=$(sed -n 's/.*bird: configure took \([0-9]*\)us.*/\1/p' "$T/attr.log" | tail -n 3 |
	    awk '{ printf " %.1f", $1 / 1000 }')
	echo "castiron  attribute change, $N prefixes (3 changes): SIGHUP to the last new MED at the peer${hup} ms; BIRD's configure${cfgs} ms; withdrawals at the peer: $(( $(rt_withdraws) - w0 ))"
	kill -TERM $APID; wait $APID 2>/dev/null
	wait_for 30 "withdrawn" sh -c "birdc -s '$RSOCK' show route '$last' | grep -qx 'Network not found'"
done

# ---- BIRD killed and started again, with 1,000 prefixes ----
# Where the time goes: BIRD's own start (to its socket answering),
# castiron's share (from BIRD's start to castiron's last command of the
# re-application, by BIRD's own log of its commands, `debug commands 2`),
# the BGP session's re-establishment at the router, and the prefixes at
# the peer.  The poller asks over the sockets directly, every 5 ms.
attr_cfg 1000 10 >"$T/attr.ini"
sed -i 's|^protocol device {}|debug commands 2;\n&|' "$T/host-bird.conf"
host_birdc configure >/dev/null
ip netns exec "$NS_H" "$CASTIRON" -c "$T/attr.ini" -v bgp run >"$T/attr.log" 2>&1 &
APID=$!
wait_for 60 "1000 at the peer" sh -c "birdc -s '$RSOCK' show route 198.18.3.250/32 | grep -qF 198.18.3.250/32"
for trial in 1 2 3; do
	wait_for 60 "sessions" lab_bgp_up
	python3 - "$HSOCK" "$RSOCK" "$T/host-bird.pid" "$T/host-bird.conf" "$NS_H" \
	    "$T/host-bird.log" 1000 <<'EOPY'
import datetime, os, signal, socket, subprocess, sys, time
hsock, rsock, pidf, conf, ns, blog, n = sys.argv[1:]
n = int(n)
def ask(path, cmd, timeout=0.5):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    buf = b""
    while b"0001 " not in buf:
        buf += s.recv(65536)
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        out += s.recv(1 << 20)
        if any(len(l) > 4 and l[:4].isdigit() and l[4:5] == b" " for l in out.split(b"\n")):
            break
    s.close()
    return out.decode(errors="replace")
def try_ask(path, cmd):
    try:
        return ask(path, cmd)
    except OSError:
        return None
def count(path, where):
    r = try_ask(path, "show route %s count" % where)
    for l in (r or "").splitlines():
        w = l[5:].split()
        if len(w) > 2 and w[1] == "of":
            return int(w[0])
    return -1
def established():
    r = try_ask(rsock, "show protocols")
    rows = [(l[5:] if l[:4].isdigit() else l[1:]).split() for l in (r or "").splitlines()]
    return any(w[:1] == ["h4"] and "Established" in w for w in rows)
log_from = os.path.getsize(blog)
os.kill(int(open(pidf).read()), signal.SIGKILL)
while established():
    time.sleep(0.005)
time.sleep(2)		# castiron's backoff reaches its cap meanwhile
t_start = time.time()
subprocess.run(["ip", "netns", "exec", ns, "bird", "-c", conf, "-s", hsock, "-P", pidf], check=True)
marks = {}
while len(marks) < 4 and time.time() - t_start < 120:
    now = time.time()
    if "answer" not in marks and try_ask(hsock, "show status") is not None:
        marks["answer"] = now
    if "answer" in marks and "table" not in marks and count(hsock, 'where proto ~ "castiron_*"') >= n:
        marks["table"] = time.time()
    if "established" not in marks and established():
        marks["established"] = time.time()
    if "established" in marks and count(rsock, "protocol h4") >= n:
        marks["peer"] = time.time()
    time.sleep(0.005)
# BIRD's log: when it started, and castiron's commands after that.
def stamp(l):
    return datetime.datetime.strptime(l[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()
started, last_ci = None, None
with open(blog, errors="replace") as f:
    f.seek(log_from)
    for l in f:
        if l[:2] != "20":
            continue
        if started is None and "<INFO> Started" in l:
            started = stamp(l)
        elif started and ('CLI: show protocols "castiron_*"' in l or "CLI: enable castiron_" in l
                          or "CLI: disable castiron_" in l or "CLI: configure" in l):
            last_ci = stamp(l)
a = marks.get("answer", t_start)
def ms(k, base):
    return "%.0f" % ((marks[k] - base) * 1000) if k in marks else "?"
print("castiron  BIRD restart, %d prefixes: BIRD answers %s ms after it is started; from then: every prefix in BIRD's table %s ms, session Established at the router %s ms, every prefix at the peer %s ms; castiron's share: its last command %s ms after BIRD's start"
      % (n, ms("answer", t_start), ms("table", a), ms("established", a), ms("peer", a),
         "%.1f" % ((last_ci - started) * 1000) if started and last_ci else "?"))
EOPY
done
kill -TERM $APID; wait $APID 2>/dev/null
grep -E "bird: (connected|cannot connect|BIRD restarted)" "$T/attr.log" | tail -3 | sed 's/^/castiron  log: /'
wait_for 30 "sessions" lab_bgp_up

# ---- the same restart with BIRD's default BGP timers on both sides ----
# The lab's sessions use 1 s timers; BIRD's defaults (connect delay time
# 5, connect retry time 120, error wait time 60, 300) are what a host and
# a router run unless told otherwise.  One prefix; BIRD is started again
# at once, as systemd's Restart= does.  From the kill: the router sees the
# session go, BIRD answers, the prefix is in BIRD's table (from the
# include file), the session is Established at the router, the prefix is
# at the router.
LABT='connect delay time 1; connect retry time 1; error wait time 1, 2;'
sed -i "s/$LABT//" "$T/host-bird.conf" "$T/router-bird.conf"
birdc -s "$RSOCK" configure >/dev/null; host_birdc configure >/dev/null
birdc -s "$RSOCK" restart h4 h6 >/dev/null
cat >"$T/deft.ini" <<EOC
[bgp]
bird_socket = $HSOCK
include_dir = $INC
allowed_prefixes = 192.0.2.0/24
drain_file = $T/drain
control_socket = $T/bgp.sock
[service one]
check = exec
command = /bin/true
interval = 100ms
rise = 1
fall = 1
prefixes = 192.0.2.10/32
EOC
ip netns exec "$NS_H" "$CASTIRON" -c "$T/deft.ini" bgp run >"$T/deft.log" 2>&1 &
DPID=$!
wait_for 60 "routed" rt_route 192.0.2.10/32
for trial in 1 2 3; do
	wait_for 300 "sessions" lab_bgp_up
	t_kill=$(now_ms)
	kill -9 "$(cat "$T/host-bird.pid")"
	wait_for 30 "down" sh -c "! birdc -s '$RSOCK' show protocols | grep -q 'h4 .*Established'"
	t_down=$(now_ms)
	host_bird_start
	wait_for 10 "answers" sh -c "birdc -s '$HSOCK' show status >/dev/null 2>&1"
	t_ans=$(now_ms)
	wait_for 10 "in table" sh -c "birdc -s '$HSOCK' show route 192.0.2.10/32 | grep -qF 192.0.2.10/32"
	t_tab=$(now_ms)
	wait_for 300 "established" sh -c "birdc -s '$RSOCK' show protocols | grep -q 'h4 .*Established'"
	t_est=$(now_ms)
	wait_for 30 "at the peer" rt_route 192.0.2.10/32
	t_peer=$(now_ms)
	echo "castiron  BIRD restart, BIRD's default timers: from the kill, the router saw it $((t_down - t_kill)) ms, BIRD answers $((t_ans - t_kill)) ms, the prefix in its table $((t_tab - t_kill)) ms, the session Established at the router $((t_est - t_kill)) ms, the prefix at the router $((t_peer - t_kill)) ms"
done
kill -TERM $DPID; wait $DPID 2>/dev/null
# The lab's timers again, for what follows.
sed -i "s/^\(\tneighbor .*\)$/\1\n\t$LABT/" "$T/host-bird.conf" "$T/router-bird.conf"
birdc -s "$RSOCK" configure >/dev/null; host_birdc configure >/dev/null
birdc -s "$RSOCK" restart h4 h6 >/dev/null
wait_for 60 "sessions" lab_bgp_up

# ---- ExaBGP healthcheck, peered with the same router ----
if ! command -v exabgp >/dev/null; then
	echo "exabgp not installed: no comparison"; exit 0
fi
kill "$(cat "$T/host-bird.pid")"
wait_for 10 "session down" sh -c "! birdc -s $RSOCK show protocols | grep -q 'h4 .*Established'"
RT_SESSIONS=h4		# ExaBGP peers over IPv4 only
cat >"$T/exabgp.conf" <<EOX
process hc {
	run /usr/bin/python3 -m exabgp healthcheck --no-syslog --no-ip-setup --withdraw-on-down --cmd "$T/probe.sh" --interval 0.1 --fast-interval 0.1 --rise 1 --fall 1 --timeout 1 --ip 192.0.2.10/32;
	encoder text;
}
neighbor $R4 {
	router-id $H4;
	local-address $H4;
	local-as 65001;
	peer-as 65000;
	api { processes [ hc ]; }
}
EOX
: >"$T/ends"
env exabgp_daemon_user=root exabgp_log_destination="$T/exabgp.log" \
    ip netns exec "$NS_H" exabgp "$T/exabgp.conf" >"$T/exabgp.out" 2>&1 &
XPID=$!
at_exit "kill $XPID"
if trials "$XTRIALS" exabgp && analyse exabgp 100; then
	python3 - "$T/kills.castiron.added" "$T/kills.exabgp.added" <<'EOPY'
import sys
c = open(sys.argv[1]).read().split()
x = open(sys.argv[2]).read().split()
tail = c[2] if c[2] == x[2] else "max/p99"
print("ratio     exabgp/castiron time added after the deciding check: p50 %.1fx %s %.1fx"
      % (float(x[0]) / float(c[0]), tail, float(x[1]) / float(c[1])))
EOPY
else
	echo "exabgp reaction trials did not complete:"; tail -5 "$T/exabgp.out"
fi
kill $XPID; wait $XPID 2>/dev/null

# ExaBGP healthcheck's CPU per HTTP check (one healthcheck, curl as the
# check, 1 s interval), against castiron's per-check cost above.
hc_cpu() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
ip netns exec "$NS_H" /usr/bin/python3 -m exabgp healthcheck --no-syslog --no-ack --no-ip-setup \
    --cmd "curl -sf -o /dev/null http://127.0.0.1:$P/healthz" --interval 1 --ip 192.0.2.10/32 \
    >/dev/null 2>&1 </dev/null &
HC=$!
# The checks it ran: the HTTP server's count of requests on that port
# (nothing else asks it now), read at both ends of the window.
served() { ip netns exec "$NS_H" curl -sf "http://127.0.0.1:$P/requests"; }
sleep 3
h0=$(hc_cpu $HC); s0=$(date +%s.%N); r0=$(served)
sleep "$SECS"
h1=$(hc_cpu $HC); s1=$(date +%s.%N); r1=$(served)
kill $HC; wait $HC 2>/dev/null
python3 - <<EOPY
secs = $s1 - $s0
n = max(${r1:-0} - ${r0:-0}, 1)
per = 1e6 * ($h1 - $h0) / $tck / n
print("exabgp    CPU per HTTP check (healthcheck + curl): %.0f us (%d checks run in %.1f s)" % (per, n, secs))
print("ratio     exabgp/castiron CPU per check: %.0fx" % (per / max($ci_per, 0.001)))
EOPY
