# castiron inventory against a real database: import, list, show, report
# and set-state round trips in table, JSON and CSV; every bad input of
# issue 2 (bad config, bad CSV, bad host names, a file that is not a
# database, a database from a newer castiron): one line on stderr naming
# the culprit, exit 2, and the database unchanged.
#
# BACKEND=sqlite (the default: one file) or BACKEND=postgresql (a private
# PostgreSQL started for the test, tests/lab/pglab.sh): the same commands,
# the same answers; tests/integration/inventory_pg.sh runs it so.
# time-limit: 180
. tests/lib.sh
. tests/lab/invsums.sh

BACKEND=${BACKEND:-sqlite}
if [ "$BACKEND" = postgresql ]; then
	. tests/lab/pglab.sh
	pg_start_test
	DB=$PGURL
	q() { pq "$1"; }
	# The whole database, as pg_dump writes it: schema, rows, sequences.
	dbsum() { pg_dump_db "${1:-$PGDB}" | sha256sum | cut -d' ' -f1; }
else
	DB="$T/inv.db"
	q() { sqlite3 "$DB" "$1"; }
	dbsum() { sha256sum "${1:-$DB}" | cut -d' ' -f1; }
fi
cat >"$T/c.ini" <<EOF2
[castiron]
site = ams1
[inventory]
database = $DB
EOF2
ci() { "$CASTIRON" -c "$T/c.ini" "$@"; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$T/out.json"; }

# The database does not exist yet: reading commands say so and create nothing.
fails_with 2 "list before any import names the missing database" ci inventory list
if [ "$BACKEND" = postgresql ]; then
	check "nothing was created by list" "$(q "select count(*) from pg_tables where schemaname = 'public'")" = 0
else
	check "nothing was created by list" ! -e "$DB"
fi

cat >"$T/hosts.csv" <<'EOF2'
hostname,site,rack,unit,serial,bmc,macs,address,role
web1,ams1,r1,1,SN-1,10.1.0.1,aa:bb:cc:00:00:01;aa:bb:cc:00:00:02,192.0.2.11,web
"web2",ams1,r1,2,SN-2,10.1.0.2,"AA:BB:CC:00:00:03",192.0.2.12,"web"
dns1,ams1,r2,1,SN-3,bmc-dns1.example.net,aa:bb:cc:00:00:04,2001:db8::53,dns

db1,fra1,r7,40,SN-4,,aa:bb:cc:00:00:05,,db
spare1,fra1,,,,,,,
EOF2
ok "import a good CSV" ci inventory import "$T/hosts.csv"
check "five hosts in the database" "$(q 'select count(*) from hosts')" = 5
if [ "$BACKEND" = postgresql ]; then
	check "schema version 5" "$(q 'select version from castiron_schema')" = 5
	check "the events trigger refuses TRUNCATE too" "$(q 'truncate events' 2>&1 | grep -c append-only)" = 1
else
	check "journal mode is WAL" "$(q 'pragma journal_mode')" = wal
	check "schema version 5" "$(q 'pragma user_version')" = 5
fi
check "events record the writer's site" "$(q "select count(*) from events where site = 'ams1'")" = 5
check "MACs stored lower case" "$(q "select count(*) from nics where mac='aa:bb:cc:00:00:03'")" = 1
check "an enrolled event per host" "$(q "select count(*) from events where to_state='enrolled'")" = 5
# Static addresses: ADDRESS/PREFIXLEN and the optional gateway column.
printf 'hostname,site,address,gateway\nst1,ams1,198.51.100.10/24,198.51.100.1\nst2,ams1,2001:DB8:1::10/64,2001:db8:1::1\n' >"$T/static.csv"
ok "import static addresses with a gateway" ci inventory import "$T/static.csv"
check "the bare address, its prefix length and the gateway stored apart" \
    "$(q "select address || ' ' || prefixlen || ' ' || gateway from hosts where hostname in ('st1','st2') order by hostname" | tr '\n' ' ')" = \
    "198.51.100.10 24 198.51.100.1 2001:db8:1::10 64 2001:db8:1::1 "
check "shown as address, prefixlen and gateway" \
    "$(ci inventory show st1 --format json | jq -r '[.address, .prefixlen, .gateway] | join(" ")')" = "198.51.100.10 24 198.51.100.1"
ok "add --address ADDRESS/PREFIXLEN --gateway" ci inventory add st3 --site ams1 --address 198.51.100.11/24 --gateway 198.51.100.1
check "  ...stored" "$(ci inventory list --format json | jq -r '.[] | select(.hostname == "st3") | "\(.address)/\(.prefixlen) via \(.gateway)"')" = "198.51.100.11/24 via 198.51.100.1"
fails_with 2 "the bare address is unique, whatever the prefix length" ci inventory add st4 --site ams1 --address 198.51.100.11/25
for h in st1 st2 st3; do ci inventory remove $h >/dev/null; done

# list: JSON
ci inventory list --format json >"$T/out.json"
ok "list --format json is a JSON array of 5" json 'assert len(d) == 5, d'
ok "host objects carry the documented fields (docs/inventory.md)" json '
need = "hostname site rack unit serial bmc macs address role state step image cpu_model cpu_cores memory_mb disks nics ssh_host_key created_at updated_at".split()
for h in d:
    missing = [k for k in need if k not in h]
    assert not missing, (h["hostname"], missing)'
ok "list JSON values round-trip" json '
h = {x["hostname"]: x for x in d}
assert h["web1"]["macs"] == ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"], h["web1"]
assert h["web1"]["unit"] == 1 and h["web1"]["rack"] == "r1"
assert h["web2"]["role"] == "web" and h["web2"]["state"] == "enrolled"
assert h["dns1"]["address"] == "2001:db8::53"
assert h["dns1"]["bmc"] == "bmc-dns1.example.net"
assert h["spare1"]["rack"] is None and h["spare1"]["unit"] is None
assert h["db1"]["created_at"].endswith("Z") and "T" in h["db1"]["created_at"]'
# list: CSV, parsed by Python's csv module, agrees with the JSON
ci inventory list --format csv >"$T/out.csv"
ok "list --format csv parses and matches the JSON" python3 -c '
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
js = {h["hostname"]: h for h in json.load(open(sys.argv[2]))}
assert len(rows) == 5, rows
for r in rows:
    j = js[r["hostname"]]
    assert r["site"] == j["site"] and r["state"] == j["state"], r
    assert r["macs"] == ",".join(j["macs"]), r
' "$T/out.csv" "$T/out.json"
ci inventory list >"$T/out.txt"
ok "list table has a header and every host" sh -c "head -1 '$T/out.txt' | grep -q '^HOST ' && [ \$(grep -c -E '^(web1|web2|dns1|db1|spare1) ' '$T/out.txt') -eq 5 ]"
ci inventory list --site fra1 --format json >"$T/out.json"
ok "list --site filters" json 'assert sorted(h["hostname"] for h in d) == ["db1", "spare1"], d'
ci inventory list --rack r1 --role web --format json >"$T/out.json"
ok "list --rack --role filter" json 'assert sorted(h["hostname"] for h in d) == ["web1", "web2"], d'
fails_with 2 "list --state with an unknown state" ci inventory list --state broken

# set-state: legal, illegal, reason required
ok "set-state enrolled -> maintenance" ci inventory set-state web1 maintenance --reason "PSU swap"
ok "set-state maintenance -> active" ci inventory set-state web1 active --reason "back in service"
fails_with 2 "set-state needs --reason" ci inventory set-state web2 retired
ci inventory set-state web1 enrolled --reason x 2>"$T/err"; rc=$?
check "illegal set-state exits 2" "$rc" = 2
check "illegal set-state lists the legal states" "$(cat "$T/err")" = "castiron: web1: cannot go from active to enrolled; legal: maintenance, retired"
fails_with 2 "set-state to provisioning is provision's job" ci inventory set-state web2 provisioning --reason x
fails_with 2 "set-state of an unknown host" ci inventory set-state nosuch retired --reason x
check "web1 is active" "$(q "select state from hosts where hostname='web1'")" = active

# show: JSON with nics, disks and events
ci inventory show web1 --format json >"$T/out.json"
ok "show --format json: one host with nics, disks, events" json '
assert d["hostname"] == "web1" and d["state"] == "active"
assert [n["mac"] for n in d["nics"]] == d["macs"]
assert d["disks"] == []
ev = d["events"]
assert [(e["from_state"], e["to_state"]) for e in ev] == [(None, "enrolled"), ("enrolled", "maintenance"), ("maintenance", "active")], ev
assert ev[1]["reason"] == "PSU swap" and ev[1]["actor"]
assert ev[1]["time"].endswith("Z")'
# list (streamed) and show (one host with its events) must agree on every host
ci inventory list --format json >"$T/all.json"
for h in web1 web2 dns1 db1 spare1; do ci inventory show $h --format json >"$T/show-$h.json"; done
ok "list JSON equals show JSON for every host" python3 -c '
import json, sys
t = sys.argv[1]
for h in json.load(open(t + "/all.json")):
    s = json.load(open("%s/show-%s.json" % (t, h["hostname"])))
    del s["events"]
    assert s == h, (s, h)
    assert list(s) == list(h), "field order differs"
' "$T"
ok "show as a table" sh -c "ci() { \"$CASTIRON\" -c '$T/c.ini' \"\$@\"; }; ci inventory show web1 | grep -q '^state  *active'"
ok "show as CSV" sh -c "\"$CASTIRON\" -c '$T/c.ini' inventory show web1 --format csv | grep -q '^state,active'"
fails_with 2 "show an unknown host" ci inventory show nosuch

# report
ci inventory report --by site --format json >"$T/out.json"
ok "report --by site --format json" json '
assert d["total"] == 5
g = {x["key"]: x for x in d["groups"]}
assert g["ams1"]["hosts"] == 3 and g["fra1"]["hosts"] == 2
assert g["ams1"]["states"] == {"active": 1, "enrolled": 2}, g
for x in d["groups"]:
    for k in ("key", "hosts", "cpu_cores", "memory_mb", "disk_bytes", "states"):
        assert k in x, (k, x)'
# Each grouping as a table: the table's groups and counts are the JSON's,
# and the total row counts every host.
table_is_json() {	# by
	ci inventory report --by "$1" >"$T/rep.txt" &&
	ci inventory report --by "$1" --format json >"$T/rep.json" &&
	python3 - "$T/rep.txt" "$T/rep.json" <<'EOPY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0].split()[:2] == ["GROUP", "HOSTS"], lines[0]
rows = {}
for l in lines[1:]:
    if l.strip():
        f = l.split()
        rows[f[0]] = int(f[1])
d = json.load(open(sys.argv[2]))
want = {g["key"]: g["hosts"] for g in d["groups"]}
assert rows.pop("total") == d["total"] == 5, (rows, d["total"])
assert rows == want, (rows, want)
EOPY
}
for by in site rack state role model image; do
	ok "report --by $by as a table: the groups and counts of the JSON" table_is_json $by
done
ci inventory report --by role --format json >"$T/out.json"
ok "report --by role groups by role" json '
g = {x["key"]: x["hosts"] for x in d["groups"]}
assert g == {"web": 2, "dns": 1, "db": 1, "(none)": 1}, g'
ci inventory report --by state --format json >"$T/out.json"
ok "report --by state groups by state" json '
g = {x["key"]: x["hosts"] for x in d["groups"]}
assert g == {"active": 1, "enrolled": 4}, g'
ci inventory report --by rack --format csv >"$T/out.csv"
ok "report --by rack as CSV" python3 -c '
import csv, sys
r = {x["key"]: x for x in csv.DictReader(open(sys.argv[1]))}
assert r["ams1/r1"]["hosts"] == "2" and r["ams1/r1"]["active"] == "1", r
assert r["fra1/(none)"]["hosts"] == "1" if "fra1/(none)" in r else r["(none)"]["hosts"] == "1", r
' "$T/out.csv"
fails_with 2 "report --by nonsense" ci inventory report --by colour

# add, duplicates against the database, remove
ok "add one host" ci inventory add web3 --site ams1 --rack r1 --unit 3 --mac aa:bb:cc:00:00:06,aa:bb:cc:00:00:07 --address 192.0.2.13 --role web
ci inventory add web4 --site ams1 --rack r1 --unit 3 2>"$T/err"; rc=$?
check "add onto a taken position exits 2" "$rc" = 2
check "and names the host in the way" "$(cat "$T/err")" = "castiron: web4: position ams1/r1/U3 is taken by web3"
fails_with 2 "add with a MAC of another host" ci inventory add web4 --site ams1 --mac aa:bb:cc:00:00:01
fails_with 2 "add without --site" ci inventory add web4
fails_with 2 "add a host name with a space" ci inventory add "web 4" --site ams1
ok "remove a host" ci inventory remove web3
check "web3 is gone" "$(q "select count(*) from hosts where hostname='web3'")" = 0
check "its NICs are gone" "$(q "select count(*) from nics where mac='aa:bb:cc:00:00:06'")" = 0
check "its history stays" "$(q "select count(*) from events where hostname='web3'")" = 2
fails_with 2 "remove an unknown host" ci inventory remove web3
check "events are append-only (delete)" "$(q "delete from events" 2>&1 | grep -c append-only)" = 1
check "events are append-only (update)" "$(q "update events set actor = 'x'" 2>&1 | grep -c append-only)" = 1

# forget-key: a key pinned as provision pins it, then dropped with an event
fails_with 2 "forget-key without a pinned key" ci inventory forget-key web1
q "insert into host_keys values ((select id from hosts where hostname='web1'), 'ssh-ed25519', 'AAAAC3NzaC1lZDI1NTE5AAAAIJJ5hHOLWhzMiKwid4IR5j62xCFEuc4vRdgD6QXCqvzE', 'SHA256:yp+3fql2nzim0Q1i7bozpy4Whq6liVegKQD0s6iVChw', '2026-01-01T00:00:00Z')"
ci inventory show web1 --format json >"$T/out.json"
ok "show carries the pinned key" json 'assert d["ssh_host_key"]["fingerprint"] == "SHA256:yp+3fql2nzim0Q1i7bozpy4Whq6liVegKQD0s6iVChw", d["ssh_host_key"]'
ok "forget-key" ci inventory forget-key web1 --reason "motherboard replaced"
check "the key is gone" "$(q 'select count(*) from host_keys')" = 0
check "forgetting is an event" "$(q "select count(*) from events where hostname='web1' and reason like 'host key forgotten (was ssh-ed25519 SHA256:yp+3%motherboard replaced'")" = 1

# ---- bad input: one clear line, exit 2, the database unchanged ----
ci inventory list >/dev/null	# settle the WAL into the file
before=$(dbsum)
rows_before=$(q 'select count(*) from hosts')

bad() {	# name pattern command...: exit 2, exactly one stderr line matching pattern
	_bn=$1; _bp=$2; shift 2
	"$@" >/dev/null 2>"$T/err"; _brc=$?
	if [ "$_brc" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$_bp" "$T/err"; then
		_result 0 "$_bn"
	else
		_result 1 "$_bn (exit $_brc)"; sed 's/^/# /' "$T/err" | head -5
	fi
}

bad "missing config file" "nonexistent.ini: cannot read" \
	"$CASTIRON" -c "$T/nonexistent.ini" inventory import "$T/hosts.csv"
bad "config that is a directory" "$T: read error" \
	"$CASTIRON" -c "$T" inventory list
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	cp "$T/c.ini" /tmp/castiron-unreadable-$$.ini
	chmod 600 /tmp/castiron-unreadable-$$.ini
	at_exit "rm -f /tmp/castiron-unreadable-$$.ini"
	bad "config not readable by the user" "castiron-unreadable-$$.ini: cannot read" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$CASTIRON" -c /tmp/castiron-unreadable-$$.ini inventory list
else
	skip "config not readable by the user" "needs root and setpriv (util-linux)"
fi
printf '[inventory]\ndatabase = %s\ncolour = blue\n' "$DB" >"$T/unknown.ini"
bad "unknown config key" "unknown.ini:3: \[inventory\] colour: unknown key" \
	"$CASTIRON" -c "$T/unknown.ini" inventory import "$T/hosts.csv"
printf '[inventory]\ndatabase = relative.db\n' >"$T/malformed.ini"
bad "malformed config value" "malformed.ini:2: \[inventory\] database: 'relative.db' is not an absolute path" \
	"$CASTIRON" -c "$T/malformed.ini" inventory list

csv() { printf 'hostname,site,rack,unit,serial,bmc,macs,address,role\n' >"$T/bad.csv"; printf "$@" >>"$T/bad.csv"; }
csv 'ok1,ams1,r3,1,,,,,\n"broken,ams1,r3,2,,,,,\n'
bad "CSV with an unclosed quote" "bad.csv:3: .*quoted field not closed" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,,,\n'
bad "CSV row with too few fields" "bad.csv:2: 7 fields, but the header has 9" ci inventory import "$T/bad.csv"
printf 'hostname,site,colour\nx,ams1,blue\n' >"$T/bad.csv"
bad "CSV header with an unknown column" "bad.csv:1: header: unknown column 'colour'" ci inventory import "$T/bad.csv"
: >"$T/bad.csv"
bad "empty CSV" "bad.csv: empty file" ci inventory import "$T/bad.csv"
bad "missing CSV" "nope.csv: No such file" ci inventory import "$T/nope.csv"
csv 'ok1,ams1,r3,1,,,,,\nweb;reboot,ams1,r3,2,,,,,\n'
bad "host name with a shell metacharacter" "bad.csv:3: hostname: host name 'web;reboot' has a forbidden character ';'" ci inventory import "$T/bad.csv"
csv 'web 9,ams1,r3,2,,,,,\n'
bad "host name with a space" "bad.csv:2: hostname: host name 'web 9' has a forbidden character ' '" ci inventory import "$T/bad.csv"
csv '$(reboot),ams1,r3,2,,,,,\n'
bad "host name with a command substitution" "bad.csv:2: hostname: .*forbidden character '\$'" ci inventory import "$T/bad.csv"
csv 'ok1,,r3,1,,,,,\n'
bad "missing site" "bad.csv:2: site: missing" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,,,aa:bb:cc:dd:ee,,\n'
bad "malformed MAC" "bad.csv:2: macs: 'aa:bb:cc:dd:ee' is not a MAC address" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,,,,192.0.2.300,\n'
bad "malformed address" "bad.csv:2: address: '192.0.2.300' is not an IPv4 address" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,,,,,\nok1,ams1,r3,2,,,,,\n'
bad "duplicate host name within the file" "bad.csv:3: hostname ok1 is also on line 2" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,,,aa:bb:cc:00:00:99,,\nok2,ams1,r3,2,,,AA:BB:CC:00:00:99,,\n'
bad "duplicate MAC within the file (any case)" "bad.csv:3: MAC aa:bb:cc:00:00:99 is also on line 2" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,SN-X,,,,\nok2,ams1,r3,2,SN-X,,,,\n'
bad "duplicate serial within the file" "bad.csv:3: serial SN-X is also on line 2" ci inventory import "$T/bad.csv"
csv 'web1,ams1,r3,1,,,,,\n'
bad "host name already in the database" "bad.csv:2: hostname web1 is already in the inventory" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,,,aa:bb:cc:00:00:04,,\n'
bad "MAC already in the database" "bad.csv:2: MAC aa:bb:cc:00:00:04 already belongs to dns1" ci inventory import "$T/bad.csv"
csv 'ok1,ams1,r3,1,SN-2,,,,\n'
bad "serial already in the database" "bad.csv:2: serial SN-2 already belongs to web2" ci inventory import "$T/bad.csv"

# static addresses: ADDRESS/PREFIXLEN and a gateway in that subnet
gcsv() { printf 'hostname,site,address,gateway\n' >"$T/bad.csv"; printf "$@" >>"$T/bad.csv"; }
gcsv 'ok1,ams1,192.0.2.51/33,\n'
bad "a prefix length beyond /32" "bad.csv:2: address: 192.0.2.51/33: bad prefix length: 33 is out of range (1 to 32)" ci inventory import "$T/bad.csv"
gcsv 'ok1,ams1,2001:db8::51/129,\n'
bad "a prefix length beyond /128" "bad.csv:2: address: 2001:db8::51/129: bad prefix length" ci inventory import "$T/bad.csv"
gcsv 'ok1,ams1,192.0.2.51/26,192.0.2.1\nok2,ams1,192.0.2.52/24,192.0.2.200\nok3,ams1,192.0.2.53/24,198.51.100.1\n'
bad "a gateway outside the subnet, named by its line" "bad.csv:4: gateway: 198.51.100.1 is outside the subnet of 192.0.2.53/24" ci inventory import "$T/bad.csv"
gcsv 'ok1,ams1,192.0.2.51,192.0.2.1\n'
bad "a gateway without the address's prefix length" "bad.csv:2: gateway: 192.0.2.1 needs the address's prefix length" ci inventory import "$T/bad.csv"
gcsv 'ok1,ams1,192.0.2.51/24,2001:db8::1\n'
bad "a gateway of the other family" "bad.csv:2: gateway: 2001:db8::1 is outside the subnet" ci inventory import "$T/bad.csv"
bad "add: a gateway outside the subnet" "gateway: 198.51.100.1 is outside the subnet of 192.0.2.60/25" \
	ci inventory add st9 --site ams1 --address 192.0.2.60/25 --gateway 198.51.100.1
check "a bad static address wrote nothing" "$(q "select count(*) from hosts where hostname in ('ok1','ok2','ok3','st9')")" = 0

# several bad rows: every one named by its line, then a tally
csv 'good1,ams1,r3,1,,,,,\nbad 1,ams1,r3,2,,,,,\ngood2,ams1,r3,3,,,,,\nbad2,,r3,4,,,,,\nbad3,ams1,r3,5,,,zz,,\n'
ci inventory import "$T/bad.csv" 2>"$T/err"; rc=$?
check "several bad rows: exit 2" "$rc" = 2
check "every bad row is named by its line" "$(grep -c -E 'bad.csv:(3|5|6):' "$T/err")" = 3
check "good rows are not named" "$(grep -c -E 'bad.csv:(2|4):' "$T/err")" = 0
check "a tally closes the list" "$(tail -1 "$T/err")" = "castiron: $T/bad.csv: 3 problems; nothing was imported"

check "bad input left the database byte for byte unchanged" "$(dbsum)" = "$before"
check "and wrote no host" "$(q 'select count(*) from hosts')" = "$rows_before"

# facts, disks and accelerators written with SQL, as an inspection would:
# the database keeps each site's sums for the report, whoever writes
for h in web1 web2 db1; do
	q "insert into facts (host_id, cpu_model, cpu_cores, memory_mb, inspected_at)
		select id, 'EPYC', 16, 65536, '2026-01-01T00:00:00Z' from hosts where hostname = '$h'"
	q "insert into disks (host_id, name, size_bytes) select id, 'nvme0n1', 960197124096 from hosts where hostname = '$h'"
	q "insert into disks (host_id, name, size_bytes) select id, 'sda', 4000787030016 from hosts where hostname = '$h'"
done
q "insert into gpus (host_id, seq, pci_slot, class) select id, 1, '0000:17:00.0', '0302' from hosts where hostname = 'web1'"
sums_agree "facts, disks and an accelerator written" q
check "  ...and the report reads them" "$(ci inventory report --by site --site ams1 --format json | jq -c '.groups[0] | [.hosts, .cpu_cores, .disk_bytes, .gpus]')" = \
	"[3,32,9921968308224,1]"
q "update facts set cpu_cores = 32, memory_mb = null where host_id = (select id from hosts where hostname = 'web2')"
q "update disks set size_bytes = 1 where name = 'sda'"
q "delete from disks where name = 'nvme0n1' and host_id = (select id from hosts where hostname = 'db1')"
q "delete from facts where host_id = (select id from hosts where hostname = 'db1')"
sums_agree "facts and disks changed and removed" q
ok "set-state of a host with facts" ci inventory set-state web2 retired --reason x
sums_agree "a host with facts changed state" q
q "update hosts set site_id = (select id from sites where name = 'fra1'), rack_id = null, unit = null where hostname = 'web2'"
sums_agree "a host with facts moved to another site" q
ok "remove a host with facts, disks and an accelerator" ci inventory remove web1
sums_agree "a host with facts removed" q
check "the report by site and the report by state (every host joined) have the same total" \
	"$(ci inventory report --by site --format table | tail -1 | tr -s ' ')" = \
	"$(ci inventory report --by state --format table | tail -1 | tr -s ' ')"

# A filtered list reads the facts, keys, NICs, disks and accelerators
# beside its hosts either by the listed hosts' range of ids (lr1: forty
# hosts, one of another site among them) or joined to them (lx1..lx3:
# three sites' hosts interleaved, one id in three each); either way every
# host carries its own rows, the same as in the whole list, and a host
# without facts, key or accelerator has none of its neighbours'.
{
	echo "hostname,site,rack,unit,serial,bmc,macs,address,role"
	i=0
	while [ $i -lt 41 ]; do
		if [ $i -eq 20 ]; then s=lo1; else s=lr1; fi
		printf 'lr%d,%s,%s-r1,%d,,,02:00:00:aa:%02x:01;02:00:00:aa:%02x:02,,r%d\n' $i $s $s $((i + 1)) $i $i $((i % 3))
		i=$((i + 1))
	done
} >"$T/lr.csv"
ok "import a site whose hosts' ids lie together" ci inventory import "$T/lr.csv"
tests/lab/gen-hosts 60 --sites lx1,lx2,lx3 --prefix lx >"$T/lx.csv"
ok "import three sites' hosts interleaved" ci inventory import "$T/lx.csv"
q "insert into facts (host_id, cpu_model, cpu_cores, memory_mb, sys_serial, inspected_at)
	select id, 'CPU ' || hostname, id, 1024, 'SYS ' || hostname, '2026-01-01T00:00:00Z' from hosts
	where (hostname like 'lr%' or hostname like 'lx%') and id % 4 <> 1"
q "insert into host_keys (host_id, type, key, fingerprint, pinned_at)
	select id, 'ssh-ed25519', 'KEY ' || hostname, 'SHA256:' || hostname, '2026-01-01T00:00:00Z' from hosts
	where (hostname like 'lr%' or hostname like 'lx%') and id % 2 = 0"
q "insert into disks (host_id, name, size_bytes, serial)
	select id, 'nvme' || n, 1000 + n, 'DISK ' || hostname from hosts, (select 0 as n union all select 1) k
	where hostname like 'lr%' or hostname like 'lx%'"
q "insert into gpus (host_id, seq, pci_slot, class, model)
	select id, 1, '0000:17:00.0', '0302', 'GPU ' || hostname from hosts
	where (hostname like 'lr%' or hostname like 'lx%') and id % 3 = 0"
ci inventory list --format json >"$T/all.json"
check "every host of them has its own facts, key, disks and accelerators" \
	"$(jq '[.[] | select(.hostname | test("^l[rx]")) | .hostname as $h | select(
		(.cpu_model == null or .cpu_model == "CPU " + $h) and
		(.ssh_host_key == null or .ssh_host_key.key == "KEY " + $h) and
		([.disks[].serial] == ["DISK " + $h, "DISK " + $h]) and
		([.gpus[].model] | all(. == "GPU " + $h)) and (.macs | length) == 2)] | length' "$T/all.json")" = 101
for f in "--site lr1" "--site lr1 --role r1" "--site lr1 --rack lr1-r1" "--site lx1" "--site lx2 --role web" "--role db"; do
	set -- $f
	jq -c --arg k "${1#--}" --arg v "$2" --arg k2 "${3:+${3#--}}" --arg v2 "${4:-}" \
		'[.[] | select(.[$k] == $v and ($k2 == "" or .[$k2] == $v2))]' "$T/all.json" >"$T/want.json"
	ci inventory list $f --format json | jq -c . >"$T/got.json"
	check "list $f: its hosts, each as in the whole list ($(jq length "$T/want.json") hosts)" \
		"$(cat "$T/got.json")" = "$(cat "$T/want.json")"
done
bare=$(q "select hostname from hosts where hostname like 'lr%' and id % 4 = 1 and id % 3 <> 0 order by id limit 1")
check "a host without facts, key or accelerator ($bare) shows none" \
	"$(ci inventory show "$bare" --format json | jq -c '[.cpu_model, .ssh_host_key, .gpus, (.disks | length)]')" = "[null,null,[],2]"

if [ "$BACKEND" = sqlite ]; then
# a file that is not SQLite: refused, never modified
cp "$T/hosts.csv" "$T/notdb.db"
printf '[inventory]\ndatabase = %s\n' "$T/notdb.db" >"$T/notdb.ini"
nb=$(dbsum "$T/notdb.db")
bad "a database file that is not SQLite (list)" "notdb.db: not an SQLite database" \
	"$CASTIRON" -c "$T/notdb.ini" inventory list
bad "a database file that is not SQLite (import)" "notdb.db: not an SQLite database" \
	"$CASTIRON" -c "$T/notdb.ini" inventory import "$T/hosts.csv"
check "the non-SQLite file is unchanged" "$(dbsum "$T/notdb.db")" = "$nb"
check "and no WAL was made beside it" ! -e "$T/notdb.db-wal"

# a database from a newer castiron: refused, never modified
cp "$DB" "$T/newer.db"
sqlite3 "$T/newer.db" 'pragma journal_mode=delete; pragma user_version=7' >/dev/null
printf '[inventory]\ndatabase = %s\n' "$T/newer.db" >"$T/newer.ini"
nb=$(dbsum "$T/newer.db")
bad "a database with a newer schema (list)" "newer.db: inventory schema version 7 is newer than this castiron understands (5)" \
	"$CASTIRON" -c "$T/newer.ini" inventory list
bad "a database with a newer schema (import)" "schema version 7 is newer" \
	"$CASTIRON" -c "$T/newer.ini" inventory import "$T/hosts.csv"
bad "a database with a newer schema (set-state)" "schema version 7 is newer" \
	"$CASTIRON" -c "$T/newer.ini" inventory set-state web1 retired --reason x
check "the newer database is unchanged" "$(dbsum "$T/newer.db")" = "$nb"
check "still version 7, still not WAL" "$(sqlite3 "$T/newer.db" 'pragma user_version')" = 7

# an older (version 0, empty) database is migrated forward on open
sqlite3 "$T/old.db" 'create table operator_notes (x); pragma user_version=0'
printf '[inventory]\ndatabase = %s\n' "$T/old.db" >"$T/old.ini"
ok "a version-0 database is migrated on open" "$CASTIRON" -c "$T/old.ini" inventory import "$T/hosts.csv"
check "it is now version 5 with its hosts" "$(sqlite3 "$T/old.db" 'pragma user_version; select count(*) from hosts' | tr '\n' ' ')" = "5 5 "

# a version-1 database (made by taking the additions of versions 2 to 5
# away) keeps every host and event when it is migrated to version 5
cp "$DB" "$T/v1.db"
sqlite3 "$T/v1.db" "$(sqlite3 "$T/v1.db" "select 'drop trigger ' || name || ';' from sqlite_master where type = 'trigger' and name like 'site_sums%'")"
sqlite3 "$T/v1.db" 'drop table site_sums; drop index hosts_site_state;
	drop table discovered_events; drop table discovered_macs; drop table discovered;
	drop table gpus; alter table hosts drop column bmc_driver;
	alter table hosts drop column prefixlen; alter table hosts drop column gateway;
	alter table hosts drop column owner_host; alter table hosts drop column owner_pid;
	alter table hosts drop column owner_start; drop table meta;
	drop index events_origin; drop index events_hostname;
	alter table events drop column site; alter table events drop column origin;
	pragma user_version=1'
v1="$(sqlite3 "$T/v1.db" 'select count(*) from hosts; select count(*) from events' | tr '\n' ' ')"
printf '[inventory]\ndatabase = %s\n' "$T/v1.db" >"$T/v1.ini"
ok "a version-1 database is migrated on open" "$CASTIRON" -c "$T/v1.ini" inventory list
check "it is now version 5, hosts and events kept" \
	"$(sqlite3 "$T/v1.db" 'pragma user_version; select count(*) from hosts; select count(*) from events' | tr '\n' ' ')" = "5 $v1"
check "and it has the gpus and meta tables" "$(sqlite3 "$T/v1.db" "select count(*) from sqlite_master where name in ('gpus', 'meta')")" = 2
check "events written before version 3 have no site" "$(sqlite3 "$T/v1.db" 'select count(*) from events where site is not null')" = 0
q_v1() { sqlite3 "$T/v1.db" "$1"; }
sums_agree "made by the migration to version 5" q_v1
else
# a URL with a password: refused before anything connects, and the
# password is in no message
printf '[inventory]\ndatabase = postgresql://castiron:s3cret@/castiron?host=%s\n' "$PGLAB" >"$T/pw.ini"
bad "a password in the URL is refused" "\[inventory\] database: the URL holds a password" \
	"$CASTIRON" -c "$T/pw.ini" inventory list
check "and the message does not repeat it" "$(grep -c s3cret "$T/err")" = 0
bad "a password parameter in the URL is refused" "the PostgreSQL URL holds a password" \
	"$CASTIRON" -c "$T/c.ini" inventory migrate --to "$DB&password=s3cret"
check "and that message does not repeat it either" "$(grep -c s3cret "$T/err")" = 0
printf '[inventory]\ndatabase = %s\npassword_file = %s\n' "$T/x.db" "$T/c.ini" >"$T/pwf.ini"
chmod 600 "$T/c.ini"
bad "password_file with an SQLite database" "password_file: applies to a postgresql:// database only" \
	"$CASTIRON" -c "$T/pwf.ini" inventory list
# a database no castiron made: refused by name, exit 1, one line
printf '[inventory]\ndatabase = %s\n' "$(pg_url nosuchdb)" >"$T/nodb.ini"
"$CASTIRON" -c "$T/nodb.ini" inventory list >/dev/null 2>"$T/err"; rc=$?
check "a database that does not exist: exit 1, one line naming it" \
	"$rc $(wc -l <"$T/err") $(grep -c '"nosuchdb" does not exist' "$T/err")" = "1 1 1"

# a database from a newer castiron: refused, never modified
psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "create database newer template castiron"
PGDB=newer pq 'update castiron_schema set version = 7'
printf '[inventory]\ndatabase = %s\n' "$(pg_url newer)" >"$T/newer.ini"
nb=$(dbsum newer)
bad "a database with a newer schema (list)" "newer?host=.*: inventory schema version 7 is newer than this castiron understands (5)" \
	"$CASTIRON" -c "$T/newer.ini" inventory list
bad "a database with a newer schema (import)" "schema version 7 is newer" \
	"$CASTIRON" -c "$T/newer.ini" inventory import "$T/hosts.csv"
bad "a database with a newer schema (set-state)" "schema version 7 is newer" \
	"$CASTIRON" -c "$T/newer.ini" inventory set-state web1 retired --reason x
check "the newer database is unchanged" "$(dbsum newer)" = "$nb"
check "still version 7" "$(PGDB=newer pq 'select version from castiron_schema')" = 7

# an older (version 0: tables of its own, none of castiron's) database is
# migrated forward on open
psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "create database old"
PGDB=old pq 'create table operator_notes (x text)'
printf '[inventory]\ndatabase = %s\n' "$(pg_url old)" >"$T/old.ini"
ok "a version-0 database is migrated on open" "$CASTIRON" -c "$T/old.ini" inventory import "$T/hosts.csv"
check "it is now version 5 with its hosts" "$(PGDB=old pq 'select version from castiron_schema') $(PGDB=old pq 'select count(*) from hosts')" = "5 5"

# a version-1 database (the additions of versions 2 to 5 taken away)
# keeps every host and event when it is migrated to version 5
psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "create database v1 template castiron"
PGDB=v1 pq 'drop table site_sums; drop index hosts_site_state; drop function site_sums_host,
	site_sums_facts, site_sums_disks, site_sums_gpus cascade;
	drop table discovered_events; drop table discovered_macs; drop table discovered;
	drop table gpus; alter table hosts drop column bmc_driver, drop column prefixlen,
	drop column gateway, drop column owner_host, drop column owner_pid, drop column owner_start;
	drop table meta; drop index events_hostname; drop index disks_sizes;
	alter table events drop column site, drop column origin;
	update castiron_schema set version = 1'
v1="$(PGDB=v1 pq 'select count(*) from hosts') $(PGDB=v1 pq 'select count(*) from events')"
printf '[inventory]\ndatabase = %s\n' "$(pg_url v1)" >"$T/v1.ini"
ok "a version-1 database is migrated on open" "$CASTIRON" -c "$T/v1.ini" inventory list
check "it is now version 5, hosts and events kept" \
	"$(PGDB=v1 pq 'select version from castiron_schema') $(PGDB=v1 pq 'select count(*) from hosts') $(PGDB=v1 pq 'select count(*) from events')" = "5 $v1"
check "and it has the gpus and meta tables" "$(PGDB=v1 pq "select count(*) from pg_tables where tablename in ('gpus', 'meta')")" = 2
check "events written before version 3 have no site" "$(PGDB=v1 pq 'select count(*) from events where site is not null')" = 0
q_v1() { PGDB=v1 pq "$1"; }
sums_agree "made by the migration to version 5" q_v1
fi

done_testing
