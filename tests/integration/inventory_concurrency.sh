# Several castiron processes on one inventory at once, and an import
# killed halfway: no "database is locked", nothing lost, and a killed
# import leaves the database exactly as it was (row counts, a full dump,
# PRAGMA integrity_check).
# time-limit: 240
. tests/lib.sh

DB="$T/inv.db"
printf '[inventory]\ndatabase = %s\n' "$DB" >"$T/c.ini"
ci() { "$CASTIRON" -c "$T/c.ini" "$@"; }
GEN=tests/lab/gen-hosts

# A base of 60 hosts whose states two loops will change.
$GEN 60 --prefix base >"$T/base.csv"
ok "base import" ci inventory import "$T/base.csv"

# Two imports of disjoint batches and two set-state loops, all at once,
# on a database none of them created (the imports race to migrate too).
$GEN 3000 --prefix a --offset 1000 >"$T/a.csv"
$GEN 3000 --prefix b --offset 5000 >"$T/b.csv"
statesloop() {	# which-half
	i=$1
	while [ "$i" -lt 60 ]; do
		h=base$i.$(python3 -c "print(['ams1','fra1','sjc1'][$i % 3])").example.net
		ci inventory set-state "$h" maintenance --reason "loop $1" || echo "FAIL $h maintenance"
		ci inventory set-state "$h" active --reason "loop $1" || echo "FAIL $h active"
		i=$((i + 2))
	done
}
ci inventory import "$T/a.csv" >"$T/imp-a.out" 2>&1 & pa=$!
ci inventory import "$T/b.csv" >"$T/imp-b.out" 2>&1 & pb=$!
statesloop 0 >"$T/loop0.out" 2>&1 & p0=$!
statesloop 1 >"$T/loop1.out" 2>&1 & p1=$!
at_exit "kill $pa $pb $p0 $p1 2>/dev/null"
wait $pa; ra=$?
wait $pb; rb=$?
wait $p0
wait $p1
check "import a succeeded" "$ra" = 0
check "import b succeeded" "$rb" = 0
check "no set-state failed" "$(cat "$T/loop0.out" "$T/loop1.out" | grep -c FAIL)" = 0
check "nobody saw 'database is locked'" "$(cat "$T"/imp-*.out "$T"/loop*.out | grep -ci locked)" = 0
check "every host is there (60 + 3000 + 3000)" "$(sqlite3 "$DB" 'select count(*) from hosts')" = 6060
check "every NIC is there" "$(sqlite3 "$DB" 'select count(*) from nics')" = 12120
check "every transition was recorded (60 hosts x 2)" \
	"$(sqlite3 "$DB" "select count(*) from events where reason like 'loop %'")" = 120
check "every base host ended active" "$(sqlite3 "$DB" "select count(*) from hosts where hostname like 'base%' and state = 'active'")" = 60
check "integrity_check is ok" "$(sqlite3 "$DB" 'pragma integrity_check')" = ok

# The same import twice at once: exactly one wins, the other is refused
# as a duplicate (exit 2), never locked.
$GEN 2000 --prefix c --offset 20000 >"$T/c.csv"
ci inventory import "$T/c.csv" >"$T/c1.out" 2>&1 & p1=$!
ci inventory import "$T/c.csv" >"$T/c2.out" 2>&1 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "same import twice: one succeeds, one is refused" "$(echo "$r1 $r2" | tr ' ' '\n' | sort | tr '\n' ' ')" = "0 2 "
check "the loser names duplicates, not a lock" "$(cat "$T/c1.out" "$T/c2.out" | grep -c 'already in the inventory')" -ge 1
check "and saw no lock" "$(cat "$T/c1.out" "$T/c2.out" | grep -ci locked)" = 0
check "the batch is there once" "$(sqlite3 "$DB" "select count(*) from hosts where hostname like 'c%'")" = 2000

# SIGKILL halfway through a large import: nothing of it remains.
ci inventory list >/dev/null	# checkpoint: the WAL is folded into the file
count0=$(sqlite3 "$DB" 'select count(*) from hosts')
dump0=$(sqlite3 "$DB" .dump | sha256sum)
$GEN 150000 --prefix big --offset 100000 >"$T/big.csv"
ci inventory import "$T/big.csv" >"$T/big.out" 2>&1 & pk=$!
at_exit "kill -9 $pk 2>/dev/null"
# The write phase has begun when the WAL grows past a few MiB (validation
# only reads); kill it there.
walsize() { stat -c %s "$DB-wal" 2>/dev/null || echo 0; }
if wait_for 120 "the import's write phase" sh -c "[ \$(stat -c %s '$DB-wal' 2>/dev/null || echo 0) -gt 4000000 ]"; then
	killed_at=$(walsize)
	kill -9 $pk
	wait $pk 2>/dev/null; rk=$?
	check "the import was killed by SIGKILL mid-write (WAL at $killed_at bytes)" "$rk" = 137
else
	check "the import reached its write phase" 1 = 0
fi
check "row count unchanged after the kill" "$(sqlite3 "$DB" 'select count(*) from hosts')" = "$count0"
check "the whole dump is unchanged" "$(sqlite3 "$DB" .dump | sha256sum)" = "$dump0"
check "integrity_check is ok after the kill" "$(sqlite3 "$DB" 'pragma integrity_check')" = ok
check "foreign keys hold after the kill" "$(sqlite3 "$DB" 'pragma foreign_key_check' | wc -l)" = 0
ok "castiron still works on it" ci inventory set-state "base0.ams1.example.net" maintenance --reason "after the kill"

done_testing
