# time-limit: 300
# castiron bgp when things around it fail: a drain while BIRD hangs or
# keeps a protocol castiron no longer tracks, a drain file that cannot be
# read, a castiron restart while BIRD is briefly unreachable, a restart
# with a service that was never checked, an include dir that cannot be
# written, and what `bgp status` says of a service's last error.  Every
# assertion looks at what an operator sees: the router's table, the host
# BIRD's own answers and log, `bgp status`, the exit code.
. tests/lib.sh
. tests/lab/bgp-lab.sh

lab_test_up faults

P1=$(free_port)
RECONCILE=1000
MARGIN=2000
mkdir -p "$T/state"
CFG=$T/castiron.ini
# A service that needs many passes to rise: undecided for SLOW_RISE x
# SLOW_INT ms after a start, which is the window a restart must survive.
SLOW_RISE=15; SLOW_INT=300
touch "$T/up"
write_cfg() {	# extra service sections; WEB_PFX overrides web's prefixes
	{
	lab_castiron_ini "reconcile_interval = ${RECONCILE}ms" "bird_timeout = 1s"
	cat <<EOC
[service web]
check    = http
url      = http://127.0.0.1:$P1/healthz
interval = 400ms
timeout  = 300ms
rise     = 2
fall     = 2
prefixes = ${WEB_PFX:-192.0.2.10/32, 192.0.2.11/32}
[service slow]
check    = exec
command  = test -e $T/up
interval = ${SLOW_INT}ms
fast_interval = ${SLOW_INT}ms
timeout  = 250ms
rise     = $SLOW_RISE
fall     = 2
prefixes = 192.0.2.30/32
${1:-}
EOC
	} >"$CFG"
}
write_cfg

ci_stop() { kill -TERM $CPID; wait $CPID; }
all_withdrawn() {
	rt_withdrawn "$@" && return 0
	for _p; do echo "router on $_p: $(birdc -s "$RSOCK" show route "$_p" 2>&1 | sed 1d | tr '\n' ' ')"; done
	return 1
}
# The castiron_* protocols the host's BIRD has up, one name a line.
host_up() {
	host_birdc show protocols '"castiron_*"' | awk '$1 ~ /^castiron_/ && $4 != "down" { print $1 }'
}
host_all_down() {
	_p=$(host_birdc show protocols '"castiron_*"') || return 1
	echo "$_p" | grep -q castiron_p_ && [ -z "$(host_up)" ]
}
bird_configures() { grep -c 'Reconfigured' "$T/host-bird.log"; }
ALL="192.0.2.10/32 192.0.2.11/32 192.0.2.30/32"

# ---- the last error, while up ----
# web starts before its server: it fails (connection refused), then rises.
ci_start
ok "web fails while its server is not running" wait_for 10 "web failing" \
    st "svc('web')['checks_failed'] >= 1 and svc('web')['last_error'] is not None"
lab_web_start "$P1"
ok "every prefix announced" wait_for 20 "all routed" all_routed $ALL
ok "bgp status: an up service shows no last error" \
    st "svc('web')['state'] == 'up' and svc('web')['last_error'] is None"
ci bgp status >"$T/status.txt" 2>&1
check "bgp status (table): no stale connection error on the up service" \
    -z "$(grep -i "couldn't connect\|failed to connect" "$T/status.txt")"

# ---- a restart while BIRD is briefly unreachable ----
# castiron dies; BIRD keeps announcing.  The new castiron finds BIRD's
# socket gone at start and back a moment later, while `slow` still needs
# passes to rise: it must adopt on that first contact, not withdraw.
lab_barrier
w0=$(rt_withdraws)
kill -9 $CPID; wait $CPID 2>/dev/null
mv "$HSOCK" "$HSOCK.away"
at_exit "mv $HSOCK.away $HSOCK"
c0=$(logs_count 'bird: cannot connect')
ci_start
ok "castiron started without BIRD: it says it cannot connect" wait_for 10 "no bird" \
    sh -c "[ \$(grep -c 'bird: cannot connect' '$T/castiron.log') -gt $c0 ]"
mv "$HSOCK.away" "$HSOCK"
ok "BIRD back: castiron connects" wait_for 10 "connected" st "s['bird']['connected']"
ok "BIRD back: slow, still undecided, is taken as healthy from BIRD's announcement" wait_for 10 "adopted" \
    st "svc('slow')['state'] == 'up' and svc('slow')['checks_ok'] < $SLOW_RISE"
ok "every service has run twice since" wait_for 10 "checks" \
    st "all(x['checks_ok'] + x['checks_failed'] >= 2 for x in s['services'])"
lab_barrier
check "a restart while BIRD was unreachable withdrew nothing healthy" "$(rt_withdraws)" -eq "$w0"
ok "...every prefix still at the router" all_routed $ALL

# ---- a restart with a service that was never checked ----
# A new service, whose check takes long, lists web's first prefix.  After
# a restart, that prefix must not be adopted (the new service was never
# checked), while web's other prefix stays.
kill -9 $CPID; wait $CPID 2>/dev/null
write_cfg "[service fresh]
check    = exec
command  = sleep 25.$$
interval = 30s
timeout  = 29s
prefixes = 192.0.2.10/32"
ci_start
ok "a prefix listed by a never-checked service is withdrawn at the first contact" \
    wait_for 10 "withdrawn" all_withdrawn 192.0.2.10/32
ok "...while that service has no result yet, and is not taken as healthy" \
    st "svc('fresh')['checks_ok'] + svc('fresh')['checks_failed'] == 0 and svc('fresh')['state'] == 'unknown'"
ok "...and web's other prefix stays at the router" all_routed 192.0.2.11/32 192.0.2.30/32
check "...and the log does not say the new service was taken as healthy" \
    "$(logs_count 'service fresh: taken as healthy')" -eq 0
ci_stop
write_cfg
ci_start
ok "restarted without it: every prefix back" wait_for 20 "all routed" all_routed $ALL

# ---- drain with a protocol castiron no longer tracks ----
# BIRD's own configuration is broken (someone's edit), so castiron's
# `configure` after a reload that drops 192.0.2.11/32 fails, and BIRD
# keeps that protocol up.  A drain must still withdraw it, or say so.
cp "$T/host-marks.conf" "$T/host-marks.good"
echo "this is not bird syntax;" >>"$T/host-marks.conf"
WEB_PFX=192.0.2.10/32 write_cfg
kill -HUP $CPID
ok "reload: castiron's configure is refused by BIRD" wait_for 10 "configure failed" \
    grep -q 'configure: BIRD 8002' "$T/castiron.log"
ci bgp drain --reason "faults" >"$T/drain.out" 2>&1; rc=$?
up=$(host_up)
check "bgp drain exits 0 only when BIRD has every castiron_* protocol down (exit $rc, up: ${up:-none})" \
    "$rc" -eq 0 -a -z "$up"
ok "...and the router has none of them" wait_for 5 "all gone" all_withdrawn $ALL
cp "$T/host-marks.good" "$T/host-marks.conf"
host_birdc configure >/dev/null
ci bgp undrain >/dev/null 2>&1
ok "undrained, BIRD repaired: the prefixes return" wait_for 20 "back" all_routed 192.0.2.10/32 192.0.2.30/32

# ---- drain while BIRD does not answer ----
# One prefix announced (slow's withdrawn first), so that what the drain
# reports rests on that one disable, which BIRD never answers.
rm -f "$T/up"
ok "slow fails: only web's prefix is left at the router" wait_for 10 "30 gone" all_withdrawn 192.0.2.30/32
kill -STOP "$(cat "$T/host-bird.pid")"
at_exit 'kill -CONT $(cat "$T/host-bird.pid")'
ci bgp drain --reason "bird hangs" >"$T/drain2.out" 2>&1; rc=$?
kill -CONT "$(cat "$T/host-bird.pid")"
check "bgp drain while BIRD hangs exits 1 (exit $rc)" "$rc" -eq 1
check "...saying BIRD did not confirm, not 'every prefix withdrawn'" \
    -n "$(grep -i 'not confirm' "$T/drain2.out")" -a -z "$(grep 'every prefix withdrawn' "$T/drain2.out")"
sed 's/^/# /' "$T/drain2.out"
ok "BIRD answers again: the drain reaches the router" wait_for 10 "all gone" all_withdrawn $ALL
ok "...and a second drain says every prefix withdrawn" ci bgp drain --reason "bird hangs"
touch "$T/up"
ci bgp undrain >/dev/null 2>&1
ok "undrained: the prefixes return" wait_for 20 "back" all_routed 192.0.2.10/32 192.0.2.30/32

# ---- a drain file that exists but cannot be read ----
kill -9 $CPID; wait $CPID 2>/dev/null
ln -s drain "$T/state/drain"		# a loop: ELOOP, even for root
ci_start
ok "an unreadable drain file at start: status says drained" wait_for 10 "drained" \
    st "s['drained'] is True"
ok "...and every prefix is withdrawn at the router" wait_for 10 "gone" all_withdrawn 192.0.2.10/32 192.0.2.30/32
rm -f "$T/state/drain"
ci bgp undrain >/dev/null 2>&1
ok "drain file removed and undrained: the prefixes return" wait_for 20 "back" all_routed 192.0.2.10/32 192.0.2.30/32

# The drain flag's replace is durable: the file fsynced, renamed, and then
# its directory fsynced (else a power cut can lose the rename).
ci_stop
# (LeakSanitizer cannot run under ptrace.)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
    strace -f -e trace=openat,fsync,rename -o "$T/strace.out" "$CASTIRON" -c "$CFG" bgp drain >/dev/null 2>&1
ok "bgp drain fsyncs the drain file's directory after the rename" python3 - "$T/strace.out" "$T/state" <<'EOPY'
import re, sys
lines, d = open(sys.argv[1]).read().splitlines(), sys.argv[2]
fds, renamed = {}, False
for l in lines:
    m = re.search(r'openat\(AT_FDCWD, "([^"]*)", [^)]*O_DIRECTORY[^)]*\)\s+=\s+(\d+)', l)
    if m:
        fds[m.group(2)] = m.group(1).rstrip("/")
    if re.search(r'rename\("[^"]*", "%s/drain"\)\s+=\s+0' % re.escape(d), l):
        renamed = True
    m = re.search(r'fsync\((\d+)\)\s+=\s+0', l)
    if renamed and m and fds.get(m.group(1)) == d:
        sys.exit(0)
print("no fsync of %s after the rename (renamed: %s)" % (d, renamed))
sys.exit(1)
EOPY
rm -f "$T/state/drain"
ci_start
ok "castiron back: every prefix announced" wait_for 20 "back" all_routed 192.0.2.10/32 192.0.2.30/32

# ---- an include dir that cannot be written ----
# A read-only bind mount over the include dir, in castiron's own mount
# namespace (root writes anywhere else; the mount goes with castiron).  A reload adds a prefix: castiron cannot write the file, so BIRD
# cannot learn the protocol; it must say so and not send `configure` on
# every reconciliation.  Each reconciliation is proved by a protocol
# disabled by hand and put back (drift repair runs only there).
ok "the include dir is made read-only for castiron" nsenter -t $CPID -m sh -c \
    "mount --bind '$INC' '$INC' && mount -o remount,ro,bind '$INC'"
WEB_PFX="192.0.2.10/32, 192.0.2.40/32" write_cfg
e0=$(logs_count 'cannot write the include file')
kill -HUP $CPID
ok "include dir read-only: the write failure is logged" wait_for 10 "write failure" \
    sh -c "[ \$(grep -c 'cannot write the include file' '$T/castiron.log') -gt $e0 ]"
ok "...bgp status says the include file cannot be written" wait_for 5 "status" \
    st "s['include_file']['error'] is not None"
ok "...and so do the metrics" wait_for 10 "metrics" grep -qx 'castiron_bgp_include_file_error 1' "$T/metrics.prom"
wait_for 5 "30 up" rt_route 192.0.2.30/32
n0=$(bird_configures)
repaired=0
for i in 1 2 3; do
	w0=$(rt_withdraws)
	host_birdc disable castiron_p_192_0_2_30_32 >/dev/null
	wait_for 10 "hand withdrawal" sh -c "[ \$(birdc -s '$RSOCK' show protocols all | awk '/Import withdraws:/ { n += \$3 } END { print n + 0 }') -gt $w0 ]" &&
	    wait_for 10 "drift repaired" rt_route 192.0.2.30/32 && repaired=$((repaired + 1))
done
n1=$(bird_configures)
check "include dir read-only: three reconciliations ran (drift put back $repaired times)" "$repaired" -eq 3
check "...and none sent configure to BIRD ($((n1 - n0)) sent)" "$((n1 - n0))" -eq 0
check "...and the failure is logged once ($(($(logs_count 'cannot write the include file') - e0)) times)" \
    "$(($(logs_count 'cannot write the include file') - e0))" -eq 1
nsenter -t $CPID -m mount -o remount,rw,bind "$INC"
ok "include dir writable again: the new prefix is announced" wait_for $(( (RECONCILE + MARGIN) / 1000 + 1 )) "40 up" rt_route 192.0.2.40/32
ok "...status says the include file is fine" st "s['include_file']['error'] is None"
wait_for 5 "reconciled" sh -c "grep -qx 'castiron_bgp_include_file_error 0' '$T/metrics.prom'"
check "...with exactly one configure sent ($(( $(bird_configures) - n1 )))" "$(( $(bird_configures) - n1 ))" -eq 1

ci_stop
done_testing
