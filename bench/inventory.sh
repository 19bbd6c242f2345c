# Inventory speed and memory: import of a 10,000-row CSV, report and list
# over 100,000 hosts, peak RSS; each next to its goal (issue 2) and next to
# what an operator would otherwise run: the sqlite3 shell's .import (no
# validation at all) and sqlite3 queries.  Then the fleet (issue 17): a
# million hosts in 50 sites, on SQLite and on PostgreSQL side by side
# (report, one site's list, 50 appliances writing at once against one
# SQLite writer, an import, the migration itself).  Best of 3 runs (the
# machine is shared); nothing here passes or fails on a timing.  On
# PostgreSQL each figure also says the server's CPU beside castiron's
# (the backends it ran, added up when they exit): those do not grow with
# the machine's load as the wall times do.  FLEET_ONLY=1 skips the
# 100,000-host part.
set -u
CASTIRON=${CASTIRON:-$PWD/build/castiron}
GEN=$PWD/tests/lab/gen-hosts
B=$(mktemp -d /tmp/castiron-bench.XXXXXX)
_exit_cmds=""
at_exit() { _exit_cmds="$1; $_exit_cmds"; }
trap 'eval "$_exit_cmds"; rm -rf "$B"' EXIT
RUNS=${RUNS:-3}

now() { date +%s.%N; }
# The CPU seconds of the PostgreSQL server's processes that have ended
# (the postmaster's reaped children: a backend ends with its connection);
# 0 before the server runs.
PGPID=
srv_cpu() {
	[ -n "$PGPID" ] || { echo 0; return; }
	awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($14 + $15) / t }' "/proc/$PGPID/stat"
}
# best RUNS "setup" "command": wall seconds of the fastest run, and (in
# $B/cpu and $B/srv) the CPU seconds of that run, castiron's and the
# PostgreSQL server's; peak RSS (KiB) goes to $B/rss.
best() {
	_setup=$1; _cmd=$2; _best=
	for _i in $(seq "$RUNS"); do
		sh -c "$_setup" >/dev/null 2>&1
		sleep 0.1; _s0=$(srv_cpu)
		_t0=$(now)
		/usr/bin/time -f '%M %U %S' -o "$B/time.one" sh -c "$_cmd" >/dev/null 2>"$B/err" ||
			{ echo "bench: failed: $_cmd" >&2; cat "$B/err" >&2; echo 0; return; }
		_t=$(awk -v a="$(now)" -v b="$_t0" 'BEGIN { printf "%.6f", a - b }')
		sleep 0.1; _s1=$(srv_cpu)
		cut -d' ' -f1 "$B/time.one" >>"$B/rss"
		if [ -z "$_best" ] || awk -v a="$_t" -v b="$_best" 'BEGIN { exit !(a < b) }'; then
			_best=$_t
			awk '{ printf "%.2f", $2 + $3 }' "$B/time.one" >"$B/cpu"
			awk -v a="$_s1" -v b="$_s0" 'BEGIN { printf "%.2f", a - b }' >"$B/srv"
		fi
	done
	awk -v t="$_best" 'BEGIN { printf "%.3f", t }'
}
cpu() { cat "$B/cpu"; }
srv() { cat "$B/srv"; }
# castiron's CPU and the server's, added: what the command costs whatever
# the load.
both() { awk -v a="$(cpu)" -v b="$(srv)" 'BEGIN { printf "%.2f", a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' && echo "meets goal" || echo "MISSES goal"; }

printf '[inventory]\ndatabase = %s/inv.db\n' "$B" >"$B/c.ini"
printf '[inventory]\ndatabase = %s/big.db\n' "$B" >"$B/big.ini"
: >"$B/rss"

"$GEN" 10000 >"$B/10k.csv"
tail -n +2 "$B/10k.csv" >"$B/10k.body"
if [ -z "${FLEET_ONLY:-}" ]; then
"$GEN" 100000 >"$B/100k.csv"

# 1. import 10,000 rows into an empty inventory
t_imp=$(best "rm -f $B/inv.db*" "$CASTIRON -c $B/c.ini inventory import $B/10k.csv"); c_imp=$(cpu)
t_sq=$(best "rm -f $B/sq.db*" "sqlite3 $B/sq.db 'create table hosts(hostname,site,rack,unit,serial,bmc,macs,address,role)' '.mode csv' '.import $B/10k.body hosts'")
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (wall times suffer when it is high; CPU times do not)"
echo "import 10,000 rows:            $t_imp s wall, $c_imp s CPU   (goal <= 0.5 s: $(verdict "$t_imp" 0.5))"
echo "  sqlite3 .import, unvalidated: $t_sq s   castiron/sqlite3 = $(ratio "$t_imp" "$t_sq")x"
echo "  (castiron validates every field, checks 6 kinds of duplicates in the"
echo "   file and against the database, writes NICs, sites, racks, events)"

# 2. 100,000 hosts, with the facts an inspection records (written directly,
# as provision's inventory calls would)
rm -f "$B"/big.db*
"$CASTIRON" -c "$B/big.ini" inventory import "$B/100k.csv" >/dev/null
sqlite3 "$B/big.db" "
	insert into facts select id, 'AMD EPYC 7313P 16-Core Processor', 16, 131072,
	    'Dell Inc.', 'PowerEdge R6515', serial, '2026-01-01T00:00:00Z' from hosts;
	insert into disks select id, 'nvme0n1', 960197124096, 'SAMSUNG MZQL2960HCJR', 'S' || id, 0, 0 from hosts;
	insert into disks select id, 'nvme1n1', 960197124096, 'SAMSUNG MZQL2960HCJR', 'T' || id, 0, 0 from hosts;
	update hosts set state = 'active' where id % 3 = 0;"
"$CASTIRON" -c "$B/big.ini" inventory list --site ams1 --rack ams1-r01 >/dev/null	# checkpoint

t_rep=$(best "" "$CASTIRON -c $B/big.ini inventory report --by site"); c_rep=$(cpu)
t_rsq=$(best "" "sqlite3 $B/big.db 'select s.name, h.state, count(*), sum(f.cpu_cores), sum(f.memory_mb), sum(d.b) from hosts h join sites s on s.id = h.site_id left join facts f on f.host_id = h.id left join (select host_id, sum(size_bytes) b from disks group by host_id) d on d.host_id = h.id group by 1, 2'")
echo "report --by site, 100,000:     $t_rep s wall, $c_rep s CPU   (goal <= 0.3 s: $(verdict "$t_rep" 0.3))"
echo "  the same GROUP BY in sqlite3: $t_rsq s   castiron/sqlite3 = $(ratio "$t_rep" "$t_rsq")x"

t_list=$(best "" "$CASTIRON -c $B/big.ini inventory list --format json >/dev/null"); c_list=$(cpu)
cat >"$B/list.sql" <<'SQL'
select h.*, f.*,
    (select json_group_array(mac) from nics where host_id = h.id) as macs,
    (select json_group_array(json_object('name', name, 'size_bytes', size_bytes,
        'model', model, 'serial', serial)) from disks where host_id = h.id) as disks
from hosts h left join facts f on f.host_id = h.id;
SQL
t_lsq=$(best "" "sqlite3 -json $B/big.db <$B/list.sql >/dev/null")
echo "list --format json, 100,000:   $t_list s wall, $c_list s CPU   (goal <= 0.3 s: $(verdict "$t_list" 0.3))"
echo "  sqlite3 -json, flat rows:     $t_lsq s   castiron/sqlite3 = $(ratio "$t_list" "$t_lsq")x"
echo "  ($("$CASTIRON" -c "$B/big.ini" inventory list --format json | wc -c) bytes of JSON)"

# 3. peak memory of every castiron run above
rss=$(sort -n "$B/rss" | tail -1)
rss_list=$(/usr/bin/time -f %M "$CASTIRON" -c "$B/big.ini" inventory list --format json 2>&1 >/dev/null | tail -1)
rss_rep=$(/usr/bin/time -f %M "$CASTIRON" -c "$B/big.ini" inventory report --by site 2>&1 >/dev/null | tail -1)
rm -f "$B"/inv.db*
rss_imp=$(/usr/bin/time -f %M "$CASTIRON" -c "$B/c.ini" inventory import "$B/10k.csv" 2>&1 >/dev/null | tail -1)
peak=$rss_imp
for v in "$rss_list" "$rss_rep"; do [ "$v" -gt "$peak" ] && peak=$v; done
echo "peak RSS: import 10k $((rss_imp / 1024)) MiB, report 100k $((rss_rep / 1024)) MiB, list 100k $((rss_list / 1024)) MiB"
echo "peak RSS overall:              $((peak / 1024)) MiB   (goal <= 64 MiB: $(verdict "$peak" 65536))"
echo "  (largest process in the timed runs, sqlite3 included: $((rss / 1024)) MiB)"
else
t_imp=$(best "rm -f $B/inv.db*" "$CASTIRON -c $B/c.ini inventory import $B/10k.csv")
fi

# ---- the fleet: 1,000,000 hosts in 50 sites, SQLite and PostgreSQL ----
# FLEET_DB=FILE FLEET_PGLAB=DIR: measure a fleet made by an earlier run
# instead (its SQLite file, and the directory of a running
# tests/lab/pglab.sh server holding its migration), left running after.
. "$PWD/tests/lab/pglab.sh"
if [ -n "${FLEET_PGLAB:-}" ]; then
	PGLAB=$FLEET_PGLAB
	PGURL=$(pg_url castiron)
	FLEET=${FLEET_DB:?FLEET_DB: the fleet SQLite file beside FLEET_PGLAB}
elif ! pg_start >"$B/pg.log" 2>&1; then
	echo "fleet: no PostgreSQL to measure ($(tail -1 "$B/pg.log"))"
	exit 1
else
	FLEET=$B/fleet.db
fi
PGPID=$(head -1 "$PGLAB/data/postmaster.pid")
: >"$B/rss"
printf '[castiron]\nsite = s01\n[inventory]\ndatabase = %s\n' "$FLEET" >"$B/fsq.ini"
printf '[castiron]\nsite = s01\n[inventory]\ndatabase = %s\n' "$PGURL" >"$B/fpg.ini"
if [ -z "${FLEET_PGLAB:-}" ]; then
printf 'hostname,site\n' >"$B/none.csv"
"$CASTIRON" -c "$B/fsq.ini" inventory import "$B/none.csv" >/dev/null
# Each site's hosts enrolled together, by its appliance, as they would be
# (site-major ids); two NICs, two disks, facts and an event each.  The
# database's triggers keep the report's totals per site and state as
# the rows go in, as they do for castiron's own writes.
sqlite3 "$FLEET" >/dev/null <<'SQL'
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;
BEGIN;
INSERT INTO sites (id, name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
	SELECT i, printf('s%02d', i) FROM n;
INSERT INTO racks (id, site_id, name) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 24999)
	SELECT i + 1, i / 500 + 1, printf('s%02d-r%03d', i / 500 + 1, i % 500 + 1) FROM n;
INSERT INTO hosts (id, hostname, site_id, rack_id, unit, serial, bmc, address, role, state, created_at, updated_at)
	WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
	SELECT i + 1, printf('node%d.s%02d.example.net', i, i / 20000 + 1), i / 20000 + 1,
	    (i / 20000) * 500 + (i % 20000) / 40 + 1, (i % 20000) % 40 + 1, printf('SN%08d', i),
	    printf('10.%d.%d.%d', 64 + i / 65536, (i / 256) % 256, i % 256),
	    printf('2001:db8:%x:%x::1', i / 65536, i % 65536),
	    CASE i % 6 WHEN 3 THEN 'dns' WHEN 4 THEN 'db' WHEN 5 THEN 'cache' ELSE 'web' END,
	    CASE WHEN i % 3 = 0 THEN 'active' ELSE 'enrolled' END,
	    '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;
INSERT INTO nics (host_id, seq, mac) SELECT id, 1, printf('02:%02x:%02x:%02x:%02x:01', (id >> 24) & 255,
	(id >> 16) & 255, (id >> 8) & 255, id & 255) FROM hosts;
INSERT INTO nics (host_id, seq, mac) SELECT id, 2, printf('02:%02x:%02x:%02x:%02x:02', (id >> 24) & 255,
	(id >> 16) & 255, (id >> 8) & 255, id & 255) FROM hosts;
INSERT INTO facts SELECT id, 'AMD EPYC 7313P 16-Core Processor', 16, 131072, 'Dell Inc.',
	'PowerEdge R6515', serial, '2026-01-01T00:00:00Z' FROM hosts;
INSERT INTO disks SELECT id, 'nvme0n1', 960197124096, 'SAMSUNG MZQL2960HCJR', 'S' || id, 0, 0 FROM hosts;
INSERT INTO disks SELECT id, 'nvme1n1', 960197124096, 'SAMSUNG MZQL2960HCJR', 'T' || id, 0, 0 FROM hosts;
INSERT INTO events (host_id, hostname, time, actor, to_state, reason, site)
	SELECT h.id, h.hostname, '2026-01-01T00:00:00Z', 'bench', 'enrolled', 'enrolled', s.name
	FROM hosts h JOIN sites s ON s.id = h.site_id;
COMMIT;
SQL
"$CASTIRON" -c "$B/fsq.ini" inventory list --site s01 --rack s01-r001 >/dev/null	# WAL again
t0=$(now)
/usr/bin/time -f '%M' -o "$B/mig.rss" "$CASTIRON" -c "$B/fsq.ini" inventory migrate --to "$PGURL" >/dev/null 2>"$B/err" ||
	{ echo "fleet: migrate failed: $(cat "$B/err")"; exit 1; }
t_mig=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
cat "$B/mig.rss" >>"$B/rss"
# What autovacuum does within a minute of such a load: statistics and the
# visibility map; measured after it, as the fleet would run.
psql -XAtq -h "$PGLAB" -U castiron -d castiron -c 'VACUUM ANALYZE' >/dev/null
echo "fleet: 1,000,000 hosts (2,000,000 NICs and disks, 1,000,000 facts and events) in 50 sites"
echo "inventory migrate of it all, SQLite -> PostgreSQL: $t_mig s, $(($(cat "$B/mig.rss") / 1024)) MiB"
else
echo "fleet: $FLEET and the PostgreSQL of $PGLAB, made by an earlier run"
# What that run's writers changed, back as the fleet was made (the same
# states and times on both, so that the lists compare and the writers'
# first moves are legal).
RESET="UPDATE hosts SET state = CASE WHEN (id - 1) % 3 = 0 THEN 'active' ELSE 'enrolled' END,
	updated_at = '2026-01-01T00:00:00Z' WHERE state <> CASE WHEN (id - 1) % 3 = 0 THEN 'active'
	ELSE 'enrolled' END OR updated_at <> '2026-01-01T00:00:00Z'"
sqlite3 "$FLEET" "$RESET"
psql -XAtq -h "$PGLAB" -U castiron -d castiron -c "$RESET" >/dev/null
fi
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

t_rs=$(best "" "$CASTIRON -c $B/fsq.ini inventory report --by site"); c_rs=$(cpu)
t_rp=$(best "" "$CASTIRON -c $B/fpg.ini inventory report --by site"); c_rp=$(cpu); s_rp=$(srv)
echo "report --by site, 1,000,000:   PostgreSQL $t_rp s wall, CPU $c_rp s castiron + $s_rp s server   (goal <= 1 s: $(verdict "$t_rp" 1))"
echo "  SQLite: $t_rs s wall, $c_rs s CPU   PostgreSQL/SQLite = $(ratio "$t_rp" "$t_rs")x"
echo "  (hosts counted by site and state from an index; the sites' sums kept by the database)"
t_rks=$(RUNS=1 best "" "$CASTIRON -c $B/fsq.ini inventory report --by rack"); c_rks=$(cpu)
t_rkp=$(RUNS=1 best "" "$CASTIRON -c $B/fpg.ini inventory report --by rack"); c_rkp=$(both)
echo "report --by rack, 1,000,000 (no totals kept: every host, fact and disk joined; one run each):"
echo "  PostgreSQL $t_rkp s wall, $c_rkp s CPU (castiron + server); SQLite $t_rks s wall, $c_rks s CPU"
t_ls=$(best "" "$CASTIRON -c $B/fsq.ini inventory list --site s07 --format json >/dev/null"); c_ls=$(cpu)
t_lp=$(best "" "$CASTIRON -c $B/fpg.ini inventory list --site s07 --format json >/dev/null"); c_lp=$(cpu); s_lp=$(srv); b_lp=$(both)
echo "list --site s07 --format json (20,000 hosts of 1,000,000): PostgreSQL $t_lp s wall   (goal <= 0.3 s: $(verdict "$t_lp" 0.3))"
echo "  CPU $c_lp s castiron + $s_lp s server = $b_lp s   (CPU, whatever the load: $(verdict "$b_lp" 0.3) of <= 0.3 s)"
echo "  SQLite: $t_ls s wall, $c_ls s CPU   PostgreSQL/SQLite = $(ratio "$t_lp" "$t_ls")x wall, $(ratio "$b_lp" "$c_ls")x CPU"
"$CASTIRON" -c "$B/fsq.ini" inventory list --site s07 --format json >"$B/l.sq"
"$CASTIRON" -c "$B/fpg.ini" inventory list --site s07 --format json >"$B/l.pg"
cmp -s "$B/l.sq" "$B/l.pg" && echo "  (the two lists are byte for byte the same, $(wc -c <"$B/l.pg") bytes)" ||
	echo "  THE TWO LISTS DIFFER"

# An import of 10,000 rows into an empty PostgreSQL inventory, next to
# the same into an empty SQLite file (above: $t_imp s).
psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "drop database if exists imp" -c "create database imp" >/dev/null 2>&1
printf '[inventory]\ndatabase = %s\n' "$(pg_url imp)" >"$B/imp.ini"
t_ip=$(best "psql -XAtq -h $PGLAB -U castiron -d postgres -c 'drop database imp' -c 'create database imp'" \
	"$CASTIRON -c $B/imp.ini inventory import $B/10k.csv"); c_ip=$(cpu); s_ip=$(srv); b_ip=$(both)
echo "import 10,000 rows into PostgreSQL: $t_ip s wall   (goal <= 1 s: $(verdict "$t_ip" 1))"
echo "  CPU $c_ip s castiron + $s_ip s server = $b_ip s   (CPU, whatever the load: $(verdict "$b_ip" 1) of <= 1 s)"
echo "  SQLite: $t_imp s   PostgreSQL/SQLite = $(ratio "$t_ip" "$t_imp")x"

# Writers: 50 appliances (one per site) each moving its own site's hosts
# (set-state, one transaction with its event), all at once for SECS
# seconds on PostgreSQL; one SQLite appliance doing the same alone.
SECS=${SECS:-10}
writer() {	# ini site seconds out
	_end=$(( $(date +%s) + $3 )); _n=0; _i=0
	_base=$(( ($(echo "$2" | sed 's/^s0*//') - 1) * 20000 ))
	while [ "$(date +%s)" -lt "$_end" ]; do
		_h="node$((_base + _i % 200)).$2.example.net"
		if [ $((_i / 200 % 2)) -eq 0 ]; then _to=maintenance; else _to=active; fi
		"$CASTIRON" -c "$1" inventory set-state "$_h" $_to --reason bench >/dev/null 2>>"$4.err" && _n=$((_n + 1))
		_i=$((_i + 1))
	done
	echo "$_n" >"$4"
}
for k in $(seq 1 50); do
	s=$(printf 's%02d' "$k")
	printf '[castiron]\nsite = %s\n[inventory]\ndatabase = %s\n' "$s" "$PGURL" >"$B/w$s.ini"
done
pids=""
for k in $(seq 1 50); do
	s=$(printf 's%02d' "$k")
	writer "$B/w$s.ini" "$s" "$SECS" "$B/w$s.n" & pids="$pids $!"
done
for p in $pids; do wait "$p"; done
n_pg=$(cat "$B"/ws*.n | awk '{ n += $1 } END { print n }')
e_pg=$(cat "$B"/ws*.n.err 2>/dev/null | wc -l)
writer "$B/fsq.ini" s01 "$SECS" "$B/sq.n"
n_sq=$(cat "$B/sq.n")
/usr/bin/time -f %M "$CASTIRON" -c "$B/fpg.ini" inventory set-state node1.s01.example.net retired --reason rss 2>>"$B/rss" >/dev/null
echo "writers, set-state + its event, one transaction each, for $SECS s:"
echo "  50 appliances on PostgreSQL at once: $n_pg transactions, $(awk -v n="$n_pg" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }') tx/s ($e_pg failed)"
echo "  one appliance on SQLite:             $n_sq transactions, $(awk -v n="$n_sq" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }') tx/s"
echo "  PostgreSQL (50 writers) / SQLite (1 writer) = $(ratio "$n_pg" "$n_sq")x   (each command a castiron process: start, connect, one transaction)"

peak=$(sort -n "$B/rss" | tail -1)
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "peak RSS of castiron in the fleet runs: $((peak / 1024)) MiB   (goal <= 64 MiB: $(verdict "$peak" 65536))"
