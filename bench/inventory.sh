# Inventory speed and memory: import of a 10,000-row CSV, report and list
# over 100,000 hosts, peak RSS; each next to its goal (issue 2) and next to
# what an operator would otherwise run: the sqlite3 shell's .import (no
# validation at all) and sqlite3 queries.  Best of 3 runs (the machine is
# shared); nothing here passes or fails on a timing.
set -u
CASTIRON=${CASTIRON:-$PWD/build/castiron}
GEN=$PWD/tests/lab/gen-hosts
B=$(mktemp -d /tmp/castiron-bench.XXXXXX)
trap 'rm -rf "$B"' EXIT
RUNS=${RUNS:-3}

now() { date +%s.%N; }
# best RUNS "setup" "command": wall seconds of the fastest run, and (in
# $B/cpu) the CPU seconds of that run; peak RSS (KiB) goes to $B/rss.
best() {
	_setup=$1; _cmd=$2; _best=
	for _i in $(seq "$RUNS"); do
		sh -c "$_setup" >/dev/null 2>&1
		_t0=$(now)
		/usr/bin/time -f '%M %U %S' -o "$B/time.one" sh -c "$_cmd" >/dev/null 2>"$B/err" ||
			{ echo "bench: failed: $_cmd" >&2; cat "$B/err" >&2; echo 0; return; }
		_t=$(awk -v a="$(now)" -v b="$_t0" 'BEGIN { printf "%.6f", a - b }')
		cut -d' ' -f1 "$B/time.one" >>"$B/rss"
		if [ -z "$_best" ] || awk -v a="$_t" -v b="$_best" 'BEGIN { exit !(a < b) }'; then
			_best=$_t
			awk '{ printf "%.2f", $2 + $3 }' "$B/time.one" >"$B/cpu"
		fi
	done
	awk -v t="$_best" 'BEGIN { printf "%.3f", t }'
}
cpu() { cat "$B/cpu"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' && echo "meets goal" || echo "MISSES goal"; }

printf '[inventory]\ndatabase = %s/inv.db\n' "$B" >"$B/c.ini"
printf '[inventory]\ndatabase = %s/big.db\n' "$B" >"$B/big.ini"
: >"$B/rss"

"$GEN" 10000 >"$B/10k.csv"
"$GEN" 100000 >"$B/100k.csv"
tail -n +2 "$B/10k.csv" >"$B/10k.body"

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
