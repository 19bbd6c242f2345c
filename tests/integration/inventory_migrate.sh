# inventory migrate: a site's populated SQLite inventory (hosts in every
# state, NICs found by inspection, disks, facts, GPUs, pinned keys, the
# events of a host since removed) copied into a PostgreSQL that already
# holds another site, then compared table by table, row by row; a second
# run changes nothing (the whole database dumped before and after); a
# conflict by name refuses everything; the appliance then works on the
# fleet's inventory, and provisions its own site only.
# time-limit: 180
. tests/lib.sh
. tests/lab/pglab.sh
. tests/lab/invsums.sh

pg_start_test
GEN=tests/lab/gen-hosts
SQ="$T/ams1.db"
printf '[castiron]\nsite = ams1\n[inventory]\ndatabase = %s\n' "$SQ" >"$T/ams1.ini"
printf '[castiron]\nsite = zrh1\n[inventory]\ndatabase = %s\n' "$PGURL" >"$T/zrh1.ini"
printf '[castiron]\nsite = ams1\n[inventory]\ndatabase = %s\n' "$PGURL" >"$T/fleet.ini"
ams() { "$CASTIRON" -c "$T/ams1.ini" "$@"; }
zrh() { "$CASTIRON" -c "$T/zrh1.ini" "$@"; }
sq() { sqlite3 "$SQ" "$1"; }

# The site's inventory, as months of work leave it.
$GEN 400 --sites ams1 >"$T/ams1.csv"
ok "the site's hosts" ams inventory import "$T/ams1.csv"
for i in 0 1 2 3 4 5 6 7; do
	ams inventory set-state "node$i.ams1.example.net" maintenance --reason "cabling $i" >/dev/null
done
for i in 0 1 2; do
	ams inventory set-state "node$i.ams1.example.net" active --reason "back" >/dev/null
done
ams inventory set-state node3.ams1.example.net retired --reason "end of life" >/dev/null
ams inventory remove node3.ams1.example.net >/dev/null
sq "insert into facts select id, 'AMD EPYC 7313P', 16, 131072, 'Dell Inc.', 'R6515',
	serial, '2026-01-02T03:04:05Z' from hosts where id % 2 = 0;
insert into disks select id, 'nvme0n1', 960197124096, 'SAMSUNG', 'S' || id, 0, 0 from hosts where id % 2 = 0;
insert into disks select id, 'sda', 4000787030016, NULL, NULL, 1, 1 from hosts where id % 4 = 0;
insert into nics select id, 3, printf('02:ff:00:00:%02x:%02x', id / 256, id % 256), 'eno3', 1000, 0
	from hosts where id % 5 = 0;
update nics set name = 'eno1', speed_mbps = 25000 where seq = 1 and host_id % 2 = 0;
insert into gpus select id, 1, '0000:41:00.0', 'display', 'NVIDIA', 'L4', 24576 from hosts where id % 10 = 0;
insert into host_keys select id, 'ssh-ed25519',
	'AAAAC3NzaC1lZDI1NTE5AAAAIJJ5hHOLWhzMiKwid4IR5j62xCFEuc4vRdgD6QXCqvzE',
	'SHA256:yp+3fql2nzim0Q1i7bozpy4Whq6liVegKQD0s6iVChw', '2026-01-03T00:00:00Z' from hosts where id % 3 = 0;
update hosts set state = 'failed', step = 'image', step_done = 'boot', image = 'debian12',
	bmc_driver = 'ipmi', prefixlen = 64, gateway = '2001:db8::1', owner_host = 'prov1',
	owner_pid = 4242, owner_start = '2026-01-01T00:00:00Z' where id = 20;
insert into events (host_id, hostname, time, actor, step, reason, bytes, duration_ms)
	select id, hostname, '2026-01-04T00:00:00Z', 'provision:ops', 'image', 'written', 123456789, 4321
	from hosts where id % 7 = 0;"

# The fleet's inventory already holds another site.
$GEN 50 --sites zrh1 --prefix zrh --offset 5000 >"$T/zrh1.csv"
ok "the fleet's inventory holds zrh1" zrh inventory import "$T/zrh1.csv"
zrh inventory set-state zrh5000.zrh1.example.net maintenance --reason "zrh work" >/dev/null

ok "migrate the site into it" sh -c "'$CASTIRON' -c '$T/ams1.ini' inventory migrate --to '$PGURL' --format json >'$T/m1.json'"
check "it says what it copied" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["hosts"], d["hosts_there"], d["events"] > 400, d["events_there"])' "$T/m1.json")" = "399 0 True 0"

# Row by row: each table of the site as SQLite holds it and as
# PostgreSQL does, ids replaced by names, in the source's order.
same() {	# name sqlite-query postgres-query
	sq "$2" >"$T/a.rows"
	pq "$3" >"$T/b.rows"
	if [ -s "$T/a.rows" ] && cmp -s "$T/a.rows" "$T/b.rows"; then
		_result 0 "$1: $(wc -l <"$T/a.rows") rows, the same"
	else
		_result 1 "$1 differs"
		diff "$T/a.rows" "$T/b.rows" | head -10 | sed 's/^/# /'
	fi
}
H="h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, h.address, h.role, h.state, h.step,
	h.step_done, h.image, h.disk, h.created_at, h.updated_at, h.bmc_driver, h.prefixlen,
	h.gateway, h.owner_host, h.owner_pid, h.owner_start
	from hosts h join sites s on s.id = h.site_id left join racks r on r.id = h.rack_id"
same hosts "select $H order by h.id" "select $H where s.name = 'ams1' order by h.id"
N="select h.hostname, n.seq, n.mac, n.name, n.speed_mbps, n.enrolled from nics n join hosts h on h.id = n.host_id join sites s on s.id = h.site_id where s.name = 'ams1' order by h.hostname, n.seq"
same nics "$N" "$N"
D="select h.hostname, d.name, d.size_bytes, d.model, d.serial, d.rotational, d.removable from disks d join hosts h on h.id = d.host_id order by h.hostname, d.name"
same disks "$D" "$D"
F="select h.hostname, f.cpu_model, f.cpu_cores, f.memory_mb, f.sys_vendor, f.sys_product, f.sys_serial, f.inspected_at from facts f join hosts h on h.id = f.host_id order by h.hostname"
same facts "$F" "$F"
K="select h.hostname, k.type, k.key, k.fingerprint, k.pinned_at from host_keys k join hosts h on h.id = k.host_id order by h.hostname"
same "host keys" "$K" "$K"
G="select h.hostname, g.seq, g.pci_slot, g.class, g.vendor, g.model, g.memory_mb from gpus g join hosts h on h.id = g.host_id order by h.hostname"
same gpus "$G" "$G"
sums_agree "the site's, written with SQL" sq
sums_agree "the fleet's, after the migration" pq
R="select s.name, t.cpu_cores, t.memory_mb, t.disk_bytes, t.gpus from site_sums t join sites s on s.id = t.site_id where s.name = 'ams1'"
same "the site's sums for the report" "$R" "$R"
E="e.hostname, e.time, e.actor, e.from_state, e.to_state, e.step, e.reason, e.bytes, e.duration_ms, e.site"
L="case when exists (select 1 from hosts h where h.id = e.host_id and h.hostname = e.hostname) then 1 else 0 end"
same "events, in order, each with its host if it is there" "select $E, $L from events e order by e.id" \
	"select $E, $L from events e where e.origin is not null order by e.id"
check "an event keeps its host when the host came along" \
	"$(pq "select count(*) from events e join hosts h on h.id = e.host_id where e.origin is not null and h.hostname <> e.hostname")" = 0
check "the removed host's events came along, without a host" \
	"$(pq "select count(*) from events where hostname = 'node3.ams1.example.net' and host_id is null")" = \
	"$(sq "select count(*) from events where hostname = 'node3.ams1.example.net'")"
check "zrh1 is untouched" "$(pq "select count(*) from hosts h join sites s on s.id = h.site_id where s.name = 'zrh1'") $(pq "select count(*) from events where origin is null")" = "50 51"

# Twice changes nothing: not a row, not a sequence.
before=$(pg_dump_db | sha256sum)
ok "migrate again" sh -c "'$CASTIRON' -c '$T/ams1.ini' inventory migrate --to '$PGURL' --format json >'$T/m2.json'"
check "it found everything there" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["hosts"], d["hosts_there"], d["events"], d["events_there"] > 400)' "$T/m2.json")" = "0 399 0 True"
check "and changed nothing (the whole dump)" "$(pg_dump_db | sha256sum)" = "$before"

# Another site whose names clash with the fleet's: refused whole, each
# conflict named, nothing written.
cat >"$T/fra1.csv" <<'EOF2'
hostname,site,rack,unit,serial,bmc,macs
zrh5001.zrh1.example.net,fra1,,,,,
fra-a,fra1,,,SN00005002,,
fra-b,fra1,,,,10.64.19.139,
EOF2
printf '[inventory]\ndatabase = %s\n' "$T/fra1.db" >"$T/fra1.ini"
ok "a clashing site's inventory" "$CASTIRON" -c "$T/fra1.ini" inventory import "$T/fra1.csv"
"$CASTIRON" -c "$T/fra1.ini" inventory migrate --to "$PGURL" 2>"$T/err"; rc=$?
check "a migration with conflicts exits 2" "$rc" = 2
check "the hostname is named" "$(grep -c 'zrh5001.zrh1.example.net: hostname already taken by another host (at site zrh1)' "$T/err")" = 1
check "the serial is named" "$(grep -c 'fra-a: serial SN00005002 already belongs to zrh5002.zrh1.example.net (at site zrh1)' "$T/err")" = 1
check "the BMC is named" "$(grep -c 'fra-b: bmc 10.64.19.139 already belongs to zrh5003.zrh1.example.net' "$T/err")" = 1
check "a tally closes the list" "$(tail -1 "$T/err" | grep -c '3 conflicts; nothing was migrated')" = 1
check "and nothing was written" "$(pg_dump_db | sha256sum)" = "$before"

# The appliance switched over: it works on the fleet's inventory, sees
# the fleet, and provisions its own site's hosts only.
ok "set-state on the fleet's inventory" "$CASTIRON" -c "$T/fleet.ini" inventory set-state node5.ams1.example.net active --reason "after the move"
check "the event names the appliance's site" "$(pq "select site from events where reason = 'after the move'")" = ams1
"$CASTIRON" -c "$T/fleet.ini" inventory report --by site --format json >"$T/rep.json"
check "report shows the whole fleet" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"], [g["key"] for g in d["groups"]])' "$T/rep.json")" = "449 ['ams1', 'zrh1']"
"$CASTIRON" -c "$T/fleet.ini" inventory list --site zrh1 --format json >"$T/zrh.json"
sums_agree "the fleet's, after the switch" pq
check "list --site narrows it" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/zrh.json")" = 50
"$CASTIRON" -c "$T/fleet.ini" provision zrh5010.zrh1.example.net 2>"$T/err"; rc=$?
check "provision of another site's host is refused (exit 2)" "$rc" = 2
check "naming both sites" "$(grep -c 'zrh5010.zrh1.example.net: at site zrh1, not ams1' "$T/err")" = 1

done_testing
