# The fleet's inventory: five sites' appliances (five configurations, each
# its own [castiron] site) importing and changing states in one real
# PostgreSQL at once.  Nothing lost, nothing twice: every host, every NIC,
# every transition that succeeded is an event, each host's events chain
# (every from_state is the previous to_state: no update was lost), each
# event names the site that wrote it.  Then the server restarted under an
# import: the command fails with one line and the database is as before.
# time-limit: 300
. tests/lib.sh
. tests/lab/pglab.sh

pg_start_test
GEN=tests/lab/gen-hosts
SITES="s1 s2 s3 s4 s5"
for s in $SITES; do
	printf '[castiron]\nsite = %s\n[inventory]\ndatabase = %s\n' "$s" "$PGURL" >"$T/$s.ini"
done
ci() { _s=$1; shift; "$CASTIRON" -c "$T/$_s.ini" "$@"; }

# Ten hosts every appliance changes at once (site "shared").
$GEN 10 --sites shared --prefix shared >"$T/shared.csv"
ok "the shared hosts, imported by s1" ci s1 inventory import "$T/shared.csv"

# Each appliance: its own 800 hosts, then 15 rounds over its own first 10
# hosts and over the shared ones.  A shared host's move may be refused
# (another appliance moved it first: exit 2); every success is counted.
appliance() {	# site number
	off=$(( $2 * 1000 ))
	$GEN 800 --sites "$1" --prefix "$1-" --offset $off >"$T/$1.csv"
	ci "$1" inventory import "$T/$1.csv" >"$T/$1.import" 2>&1 || echo "IMPORT FAILED" >>"$T/$1.import"
	r=0
	while [ $r -lt 15 ]; do
		i=0
		while [ $i -lt 10 ]; do
			h="$1-$((off + i)).$1.example.net"
			if [ $((r % 2)) -eq 0 ]; then to=maintenance; else to=active; fi
			ci "$1" inventory set-state "$h" $to --reason "$1 round $r" >/dev/null 2>>"$T/$1.own" ||
				echo "FAIL $h $to" >>"$T/$1.own"
			sh_h="shared$i.shared.example.net"
			for to in maintenance active; do
				if ci "$1" inventory set-state "$sh_h" $to --reason "$1 round $r" >/dev/null 2>>"$T/$1.shared.err"; then
					echo "$sh_h" >>"$T/$1.shared.ok"
				fi
			done
			i=$((i + 1))
		done
		r=$((r + 1))
	done
}
pids=""
k=0
for s in $SITES; do
	k=$((k + 1))
	: >"$T/$s.own"; : >"$T/$s.shared.ok"; : >"$T/$s.shared.err"
	appliance $s $k & pids="$pids $!"
done
at_exit "kill $pids 2>/dev/null"
for p in $pids; do wait $p; done

check "every appliance's import succeeded" "$(cat "$T"/s?.import | grep -c 'imported 800 hosts')" = 5
check "every host is there once (5 x 800 + 10)" "$(pq 'select count(*) from hosts') $(pq 'select count(distinct hostname) from hosts')" = "4010 4010"
check "every NIC is there once" "$(pq 'select count(*) from nics') $(pq 'select count(distinct mac) from nics')" = "8020 8020"
check "no serial twice" "$(pq 'select count(*) - count(distinct serial) from hosts')" = 0
check "no own host's move failed" "$(cat "$T"/s?.own | grep -c FAIL)" = 0
check "no appliance saw a serialization or lock error" \
	"$(cat "$T"/s?.own "$T"/s?.shared.err | grep -ci -e serializ -e deadlock -e 'lock timeout' -e 'could not obtain')" = 0
check "every own host's transition is an event (5 x 10 hosts x 15)" \
	"$(pq "select count(*) from events where reason like 's_ round %' and hostname not like 'shared%'")" = 750
check "each written by its appliance's site" \
	"$(pq "select count(*) from events where reason like 's_ round %' and hostname not like 'shared%' and site = substr(reason, 1, 2)")" = 750
check "the enrolled events name their appliance's site" \
	"$(pq "select count(*) from events e join hosts h on h.id = e.host_id join sites s on s.id = h.site_id where e.to_state = 'enrolled' and s.name like 's_' and e.site = s.name")" = 4000
okn=$(cat "$T"/s?.shared.ok | wc -l)
check "every shared move that succeeded ($okn) is one event, and no other" \
	"$(pq "select count(*) from events where hostname like 'shared%' and to_state in ('maintenance', 'active')")" = "$okn"
check "the shared hosts' events chain: every from_state is the state before" \
	"$(pq "select count(*) from (select from_state, lag(to_state) over (partition by hostname order by id) as prev from events where hostname like 'shared%') x where prev is not null and from_state is distinct from prev")" = 0
check "each shared host is in the state its last event says" \
	"$(pq "select count(*) from hosts h where h.hostname like 'shared%' and h.state <> (select to_state from events e where e.hostname = h.hostname order by id desc limit 1)")" = 0

# The same batch from two appliances at once: one wins, the other is
# refused by name, nothing twice.
$GEN 300 --sites s6 --prefix dup --offset 100000 >"$T/dup.csv"
ci s1 inventory import "$T/dup.csv" >"$T/d1.out" 2>&1 & p1=$!
ci s2 inventory import "$T/dup.csv" >"$T/d2.out" 2>&1 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "the same import twice at once: one succeeds, one is refused" "$(echo "$r1 $r2" | tr ' ' '\n' | sort | tr '\n' ' ')" = "0 2 "
check "the loser names duplicates" "$(cat "$T/d1.out" "$T/d2.out" | grep -c 'already in the inventory')" -ge 1
check "the batch is there once" "$(pq "select count(*) from hosts where hostname like 'dup%'")" = 300
# The fleet listed: cursors read in batches of a thousand rows, then of
# as many as fill a couple of MiB; every host once, each with its NICs.
ci s1 inventory list --format json >"$T/all.json"
check "list shows every host, each with its own NICs, across batches" \
	"$(jq -r '[length, ([.[].nics | length] | add), ([.[] | select(.macs == [.nics[].mac])] | length)] | join(" ")' "$T/all.json")" = \
	"$(pq 'select count(*) from hosts') $(pq 'select count(*) from nics') $(pq 'select count(*) from hosts')"

# The server restarted while an import's transaction is open: the import
# fails with one line, exit 1, and nothing of it stays.  (Sequences are
# not transactional: a number the lost transaction drew stays drawn, so
# the comparison leaves out setval lines.)
before=$(pg_dump_db | grep -v setval | sha256sum)
$GEN 150000 --sites s7,s8 --prefix big --offset 200000 >"$T/big.csv"
ci s1 inventory import "$T/big.csv" >"$T/big.out" 2>"$T/big.err" & pk=$!
at_exit "kill $pk 2>/dev/null"
if wait_for 120 "the import's transaction" sh -c "[ \"\$(psql -XAtq -h '$PGLAB' -U castiron -d castiron -c \"select count(*) from pg_stat_activity where application_name = 'castiron' and xact_start is not null and query like 'COPY enroll_rows%'\")\" -ge 1 ]"; then
	ok "the server restarts under it" pg_restart
	wait $pk; rk=$?
	check "the import failed (exit 1)" "$rk" = 1
	check "with one line" "$(wc -l <"$T/big.err")" = 1
	check "saying the connection was lost" "$(grep -c 'connection to the server lost' "$T/big.err")" = 1
else
	check "the import reached its transaction" 1 = 0
fi
check "the database is as before" "$(pg_dump_db | grep -v setval | sha256sum)" = "$before"
check "no host of it is there" "$(pq "select count(*) from hosts where hostname like 'big%'")" = 0
ok "and the next command works" ci s3 inventory set-state s3-3000.s3.example.net retired --reason "after the restart"

done_testing
