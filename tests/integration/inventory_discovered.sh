# Discovered machines (enlistment) on a real inventory: castiron boot
# serve answers enlistment check-ins sent as /init sends them (curl).  A
# rack enrolled by serial (no MACs) is attached at check-in: MACs learned,
# an event, dnsmasq's hosts file and the MAC's script follow.  An unknown
# machine is listed by `inventory discovered` (table, JSON, CSV) and
# claimed by hand; each refusal of claim is one line, exit 2, nothing
# changed.  Hostile check-ins are refused and logged, nothing written;
# hostile facts are stored safely.  The deploy reply carries root's keys.
# The list is byte for byte its golden files (tests/golden/discovered/
# list.*) on both.  A schema-3 inventory migrates to 4 (and 5).  BACKEND=sqlite or
# postgresql (tests/integration/inventory_discovered_pg.sh).
# time-limit: 180
. tests/lib.sh

BACKEND=${BACKEND:-sqlite}
if [ "$BACKEND" = postgresql ]; then
	. tests/lab/pglab.sh
	pg_start_test
	DB=$PGURL
	q() { pq "$1"; }
else
	DB="$T/inv.db"
	q() { sqlite3 "$DB" "$1"; }
fi
PORT=$((24000 + $$ % 900))
URL=http://127.0.0.1:$PORT
mkdir -p "$T/deploy"
ssh-keygen -q -t ed25519 -N '' -C castiron-prov -f "$T/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C operator -f "$T/operator"
{ echo "# the operators"; cat "$T/operator.pub"; echo "not a key line"; } >"$T/authorized_keys"
cat >"$T/c.ini" <<EOF
[castiron]
site = ams1
state_dir = $T/state
[inventory]
database = $DB
[provision]
ssh_key = $T/id_ed25519
authorized_keys = $T/authorized_keys
[boot]
listen      = 127.0.0.1:$PORT
deploy_dir  = $T/deploy
interface   = lo
dhcp_range  = 10.99.0.100,10.99.0.150
dnsmasq_dir = $T/dnsmasq
EOF
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
hy() { echo "$1" | tr : -; }
j() { jq -r "$1" "$T/out.json"; }

# The rack, from the vendor's packing list: serials, no MACs.
cat >"$T/rack.csv" <<EOF
hostname,site,rack,unit,serial,bmc,macs,address,role
r1-01,ams1,r1,1,SN-A001,,,10.99.0.11,web
r1-02,ams1,r1,2,SN-A002,,,10.99.0.12,web
EOF
ok "a rack is imported from its packing list (serials, no MACs)" "$C" inventory import "$T/rack.csv"
"$C" inventory add other --site ams1 --serial SN-O001 --mac 52:54:00:0e:00:01 --address 10.99.0.20 >/dev/null
"$C" inventory add spare --site ams1 >/dev/null
ok "no machine is discovered yet" sh -c "'$C' inventory discovered --format json | jq -e 'length == 0'"

"$C" boot serve >"$T/serve.log" 2>&1 &
SERVE=$!
at_exit "kill $SERVE 2>/dev/null"
ok "the boot service starts" wait_for 10 "boot serve" curl -sf "$URL/boot.ipxe"

# The inspection dump of a machine (provision/inspect.c's format).
dump() {	# SERIAL MAC... : an inspection dump on stdout
	_s=$1; shift
	printf 'castiron-inspect 1\ncpu_model=Intel Xeon Gold 6338\ncpu_cores=64\nmem_kb=268435456\n'
	printf 'dmi_sys_vendor=Supermicro\ndmi_product_name=SYS-120U\ndmi_product_serial=%s\n' "$_s"
	printf 'disk=nvme0n1\ndev=259:0\nsize=3750748848\nremovable=0\nrotational=0\nro=0\nmodel=SAMSUNG MZQL21T9\nserial=S64GNE0R1\n'
	_i=0
	for _m in "$@"; do printf 'nic=eth%d\nmac=%s\nspeed=25000\n' "$_i" "$_m"; _i=$((_i + 1)); done
	echo end
}
# The check-in body /init sends in enlistment mode (docs/netboot.md).
body() {	# SERIAL DUMPFILE MAC...
	python3 - "$@" <<'EOF'
import json, sys
serial, dumpf, macs = sys.argv[1], sys.argv[2], sys.argv[3:]
b = {"version": 1, "mode": "enlist", "hostkey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9",
     "macs": macs, "nics": [{"name": "eth%d" % i, "mac": m, "address": ""} for i, m in enumerate(macs)],
     "serial": serial, "kernel": "6.1.0-57-cloud-amd64"}
if dumpf != "-":
    b["inspect"] = open(dumpf).read()
print(json.dumps(b))
EOF
}
post() {	# FILE: the HTTP status, the reply in $T/reply
	curl -s -o "$T/reply" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	    --data-binary "@$1" "$URL/checkin"
}
enlist() {	# SERIAL MAC...: a machine's enlistment check-in, with its dump
	_s=$1
	dump "$@" >"$T/dump"
	shift
	body "$_s" "$T/dump" "$@" | { read -r _b; printf '%s' "$_b"; } >"$T/body.json"
	post "$T/body.json"
}
counts() { q "select (select count(*) from discovered) || ' ' || (select count(*) from discovered_events) || ' ' || (select count(*) from nics) || ' ' || (select count(*) from events)"; }

# -- a rack enrolled by serial: attached at check-in ---------------------------
MA1=52:54:00:a0:01:01 MA2=52:54:00:a0:01:02
check "r1-01's machine checks in: 202, attached" "$(enlist SN-A001 $MA1 $MA2):$(cat "$T/reply")" = "202:attached"
"$C" inventory show r1-01 --format json >"$T/out.json"
check "  ...r1-01 learned both its MACs" "$(j '.macs | join(" ")')" = "$MA1 $MA2"
check "  ...an event on r1-01 says so, and how" \
    -n "$(j '.events[].reason' | grep "attached a discovered machine (serial SN-A001, first seen .* from 127.0.0.1) automatically: its serial matched: MACs $MA1, $MA2 learned")"
check "  ...the event's actor is the boot service" "$(j '.events[-1].actor')" = boot
check "  ...it is not left as discovered" "$("$C" inventory discovered --format json | jq length)" = 0
check "  ...the service logs it" -n "$(grep "the machine with serial SN-A001 .* is host r1-01: attached" "$T/serve.log")"
ok "  ...dnsmasq's hosts file follows: r1-01's MACs get its address" \
    wait_for 10 "the hosts file" grep -qx "$MA1,10.99.0.11,r1-01" "$T/dnsmasq/hosts"
check "  ...and its MAC's script is now exit (an enrolled host, not being provisioned)" \
    "$(curl -s "$URL/ipxe/$(hy "$MA1")" | tail -n 1)" = exit
check "  ...its history is in the discovered machines' events" \
    "$(q "select what || ' ' || hostname from discovered_events")" = "attached r1-01"

ev=$("$C" inventory show r1-01 --format json | jq '.events | length')
check "r1-01's machine checking in again with nothing new: 202, attached" "$(enlist SN-A001 $MA1 $MA2):$(cat "$T/reply")" = "202:attached"
check "  ...no new event on r1-01 (nothing of it changed)" "$("$C" inventory show r1-01 --format json | jq '.events | length')" = "$ev"

# -- an unknown machine: discovered ------------------------------------------------
MU=52:54:00:b0:00:01
check "an unknown machine checks in: 202, recorded" "$(enlist SN-U777 $MU):$(cat "$T/reply")" = "202:recorded"
"$C" inventory discovered --format json >"$T/out.json"
check "  ...inventory discovered lists it with its MAC and serial" "$(j 'length'):$(j '.[0].macs[0]'):$(j '.[0].serial')" = "1:$MU:SN-U777"
check "  ...its facts from the inspection" \
    "$(j '.[0] | [.cpu_model, .cpu_cores, .memory_mb, .system_vendor, .system_product] | join("/")')" = \
    "Intel Xeon Gold 6338/64/262144/Supermicro/SYS-120U"
check "  ...its disks and NICs, shaped as a host's" \
    "$(j '.[0].disks[0] | [.name, .size_bytes, .model, .serial] | join("/")'):$(j '.[0].nics[0].mac'):$(j '.[0].gpus | length')" = \
    "nvme0n1/1920383410176/SAMSUNG MZQL21T9/S64GNE0R1:$MU:0"
check "  ...the address it booted from, the site of the service that saw it" "$(j '.[0].address'):$(j '.[0].site')" = "127.0.0.1:ams1"
check "  ...first and last seen, RFC 3339 UTC, one check-in" \
    "$(j '.[0].first_seen == .[0].last_seen'):$(j '.[0].checkins'):$(j '.[0].first_seen' | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$')" = "true:1:1"
check "  ...no host has its serial or its MAC" "$(j '.[0].serial_host'):$(j '.[0].mac_host'):$(j '.[0].note')" = "null:null:null"
F1=$(j '.[0].first_seen')
check "  ...its script is still the enlistment environment" -n "$(curl -s "$URL/ipxe/$(hy "$MU")" | grep castiron.mode=enlist)"
sleep 1.1
check "it checks in again (no dump this time): 202" "$(body SN-U777 - $MU >"$T/b2.json"; post "$T/b2.json")" = 202
"$C" inventory discovered --format json >"$T/out.json"
check "  ...still one machine, two check-ins, first seen kept, last seen later, facts kept" \
    "$(j 'length'):$(j '.[0].checkins'):$(j '.[0].first_seen'):$(j '.[0].last_seen > .[0].first_seen'):$(j '.[0].cpu_cores')" = "1:2:$F1:true:64"
"$C" inventory discovered >"$T/table"
check "the table: a header and the machine" \
    "$(head -n 1 "$T/table" | tr -s ' '):$(grep -c "$MU *SN-U777 *127.0.0.1 *SYS-120U *64 *262144" "$T/table")" = \
    "MACS SERIAL ADDRESS PRODUCT CORES MEMORY_MB FIRST SEEN LAST SEEN SERIAL OF:1"
"$C" --format csv inventory discovered >"$T/csv"
check "CSV: the same columns, by their JSON names" "$(head -n 1 "$T/csv")" = "macs,serial,address,system_product,cpu_cores,memory_mb,first_seen,last_seen,serial_host"
check "  ...and the row" -n "$(grep "^$MU,SN-U777,127.0.0.1,SYS-120U,64,262144," "$T/csv")"
check "--site of another site lists nothing" "$("$C" inventory discovered --site fra1 --format json | jq length)" = 0

# The check-in's serial empty: the dump's (DMI's) is taken.
dump SN-DMP1 52:54:00:b0:00:09 >"$T/dump"
body "" "$T/dump" 52:54:00:b0:00:09 >"$T/b3.json"
check "a check-in whose serial is only in its dump: 202" "$(post "$T/b3.json")" = 202
check "  ...listed with the dump's serial" \
    "$("$C" inventory discovered --format json | jq -r '.[] | select(.macs[0] == "52:54:00:b0:00:09") | .serial')" = SN-DMP1

# Six check-ins of one new machine at once (its NICs, a retry): one row.
dump SN-PAR1 52:54:00:b1:00:01 >"$T/dump"
body SN-PAR1 "$T/dump" 52:54:00:b1:00:01 >"$T/par.json"
_pids=""
for _i in 1 2 3 4 5 6; do post "$T/par.json" >"$T/par.$_i" & _pids="$_pids $!"; done
wait $_pids
check "six check-ins of one machine at once: all 202" "$(cat "$T"/par.? | tr -d '\n')" = 202202202202202202
check "  ...one discovered machine with six check-ins" \
    "$("$C" inventory discovered --format json | jq -r '[.[] | select(.serial == "SN-PAR1") | .checkins] | map(tostring) | join(" ")')" = 6
check "  ...its history: discovered once, seen five times" \
    "$(q "select what || ':' || count(*) from discovered_events where serial = 'SN-PAR1' group by what order by what" | tr '\n' ' ')" = "discovered:1 seen:5 "

# -- its serial is a host's, but that host has another MAC: not attached ---------
MO=52:54:00:0e:00:99
check "a machine with other's serial but not other's MAC: 202, recorded" "$(enlist SN-O001 $MO):$(cat "$T/reply")" = "202:recorded"
"$C" inventory discovered --format json >"$T/out.json"
check "  ...listed with the host of its serial and why it was not attached" \
    "$(j ".[] | select(.macs[0] == \"$MO\") | .serial_host"):$(j ".[] | select(.macs[0] == \"$MO\") | .note" | grep -c "other already has MAC 52:54:00:0e:00:01, which this machine did not report")" = "other:1"
check "  ...other kept its one MAC" "$("$C" inventory show other --format json | jq -r '.macs | join(" ")')" = 52:54:00:0e:00:01
check "  ...and the service warned" -n "$(grep "serial SN-O001 is host other's, but it was not attached" "$T/serve.log")"

# -- claim: the refusals, then by hand ------------------------------------------
before=$(counts)
claim_refused() {	# NAME MESSAGE KEY HOST
	"$C" inventory claim "$3" "$4" >"$T/cout" 2>"$T/cerr"; _rc=$?
	check "$1: exit 2, one line" "$_rc:$(wc -l <"$T/cerr")" = "2:1"
	check "  ...naming why" -n "$(grep -F -- "$2" "$T/cerr")"
}
claim_refused "claim of an unknown MAC" "no discovered machine has MAC 52:54:00:ff:ff:ff (castiron inventory discovered lists them)" 52:54:00:ff:ff:ff spare
claim_refused "claim of an unknown serial" "no discovered machine has serial NOPE" NOPE spare
claim_refused "claim for a host that does not exist" "nosuch: no such host in the inventory" $MU nosuch
claim_refused "claim for a host that has other MACs" "other: not claimed: other already has MAC 52:54:00:0e:00:01, which this machine did not report" $MU other
claim_refused "claim for a host whose serial is another" "r1-02: not claimed: r1-02's serial is SN-A002, this machine's SN-U777" SN-U777 r1-02
claim_refused "claim of a machine whose serial another host has" "spare: not claimed: serial SN-O001 belongs to host other" $MO spare
check "  ...nothing changed by any refusal" "$(counts)" = "$before"
ok "claim by serial, for a host with neither serial nor MACs" "$C" inventory claim SN-U777 spare
"$C" inventory show spare --format json >"$T/out.json"
check "  ...spare learned the MAC and the serial" "$(j '.macs | join(" ")'):$(j .serial)" = "$MU:SN-U777"
check "  ...an event on spare, by the operator" \
    "$(j '.events[-1].reason' | grep -c "attached a discovered machine (serial SN-U777, first seen .*) by hand (inventory claim): MAC $MU learned; serial SN-U777 recorded"):$(j '.events[-1].actor')" = "1:$(id -un)"
check "  ...it is no longer discovered" "$("$C" inventory discovered --format json | jq "[.[] | select(.macs[0] == \"$MU\")] | length")" = 0
check "a second claim of it: exit 2 (no discovered machine has it now)" "$("$C" inventory claim $MU spare 2>/dev/null; echo $?)" = 2
"$C" --format json inventory claim $MO r1-02 >"$T/out.json" 2>"$T/cerr"; rc=$?
check "claim by MAC is refused when the serials differ too" "$rc:$(grep -c "r1-02's serial is SN-A002, this machine's SN-O001" "$T/cerr")" = "2:1"

# Enrolled since: a discovered machine's MAC given to a host by hand.
MW=52:54:00:c0:00:01
enlist SN-W001 $MW >/dev/null
"$C" inventory add w1 --site ams1 --mac $MW >/dev/null
check "a discovered machine whose MAC was enrolled since names that host" \
    "$("$C" inventory discovered --format json | jq -r ".[] | select(.serial == \"SN-W001\") | .mac_host")" = w1
"$C" inventory add spare2 --site ams1 >/dev/null
claim_refused "claim of it for another host" "spare2: not claimed: MAC $MW belongs to host w1" SN-W001 spare2
ok "claim of it for the host that has the MAC" "$C" inventory claim SN-W001 w1
check "  ...w1 has the MAC once and the serial" "$("$C" inventory show w1 --format json | jq -r '(.macs | join(" ")) + ":" + .serial')" = "$MW:SN-W001"

# Two machines with one serial: claim by MAC.
enlist SN-DUP $(printf '52:54:00:d0:00:01') >/dev/null
enlist SN-DUP $(printf '52:54:00:d0:00:02') >/dev/null
"$C" inventory add spare3 --site ams1 >/dev/null
claim_refused "claim of a serial two machines have" "2 discovered machines have serial SN-DUP: claim one by its MAC" SN-DUP spare3
ok "  ...claim by MAC works" "$C" inventory claim 52:54:00:d0:00:02 spare3

# -- hostile check-ins: refused, logged, nothing written -------------------------
before=$(counts)
hostile() {	# NAME STATUS LOGGED BODY
	printf '%s' "$4" >"$T/h.json"
	check "$1: $2" "$(post "$T/h.json")" = "$2"
	check "  ...logged" -n "$(grep -F -- "$3" "$T/serve.log")"
}
long=$(printf 'S%.0s' $(seq 1 65))
hostile "a serial of 65 bytes" 400 "a serial longer than 64 bytes" \
    "{\"mode\":\"enlist\",\"macs\":[\"52:54:00:e0:00:01\"],\"serial\":\"$long\"}"
hostile "a serial with a control byte" 400 "a serial with a byte outside printable ASCII (0x1b at 2)" \
    '{"mode":"enlist","macs":["52:54:00:e0:00:02"],"serial":"SN\u001b[2J"}'
hostile "a serial with a byte outside ASCII" 400 "a serial with a byte outside printable ASCII (0xc3" \
    '{"mode":"enlist","macs":["52:54:00:e0:00:03"],"serial":"SN-\u00e9"}'
hostile "a serial that is not a string" 400 "a serial that is not a string" \
    '{"mode":"enlist","macs":["52:54:00:e0:00:04"],"serial":["x"]}'
hostile "a MAC enrolled to another host" 409 "MAC 52:54:00:0e:00:01 belongs to host other, whose serial is not this machine's" \
    '{"mode":"enlist","macs":["52:54:00:e0:00:05","52:54:00:0e:00:01"],"serial":"SN-E005"}'
hostile "a bad MAC" 400 "a bad MAC" '{"mode":"enlist","macs":["52:54:00:e0:00:0g"],"serial":"SN-E006"}'
hostile "an inspection that is not a dump" 400 "inspection output does not start with 'castiron-inspect 1'" \
    '{"mode":"enlist","macs":["52:54:00:e0:00:07"],"serial":"SN-E007","inspect":"rm -rf /\nend"}'
check "  ...none of them wrote anything" "$(counts)" = "$before"
check "  ...and no control byte reached the log" "$(grep -c "$(printf '\033')" "$T/serve.log")" = 0

# A fact too long, with escapes and control bytes: stored safely.
dump SN-F001 52:54:00:f0:00:01 | sed "s/^cpu_model=.*/cpu_model=$(printf 'X%.0s' $(seq 1 3000))/;s/^dmi_product_name=.*/dmi_product_name=Evil\\x1b[31m\"';DROP TABLE hosts;--/" >"$T/dump"
python3 -c "
import json,sys
d=open('$T/dump').read().replace('\\\\x1b', '\x1b')
print(json.dumps({'mode':'enlist','macs':['52:54:00:f0:00:01'],'serial':'SN-F001','inspect':d}))" >"$T/f.json"
check "a check-in with hostile facts: 202" "$(post "$T/f.json")" = 202
"$C" inventory discovered --format json >"$T/out.json"
check "  ...the long fact cut to what the inspection keeps" "$(j '.[] | select(.serial == "SN-F001") | .cpu_model | length')" = 127
check "  ...the control byte made '?', the quotes kept as text" \
    "$(j '.[] | select(.serial == "SN-F001") | .system_product')" = "Evil?[31m\"';DROP TABLE hosts;--"
check "  ...the hosts are all there" "$(q 'select count(*) from hosts')" = 7

# -- byte for byte the same on both backends: golden files ----------------------
# (times fixed by hand; GOLDEN_UPDATE=1 rewrites the files)
G=tests/golden/discovered
q "update discovered set first_seen = '2026-01-05T00:00:00Z', last_seen = '2026-01-05T00:01:00Z'" >/dev/null
"$C" --format json inventory discovered >"$T/g.json"
"$C" --format csv inventory discovered >"$T/g.csv"
"$C" --format table inventory discovered >"$T/g.table"
for f in json csv table; do
	if [ "${GOLDEN_UPDATE:-}" = 1 ]; then
		cp "$T/g.$f" "$G/list.$f"
		ok "inventory discovered ($f): wrote $G/list.$f" true
	else
		ok "inventory discovered ($f) is $G/list.$f byte for byte" cmp "$T/g.$f" "$G/list.$f"
	fi
done

# -- events are append-only ----------------------------------------------------
check "the discovered machines' events cannot be changed" \
    "$(q "update discovered_events set what = 'x'" 2>&1 | grep -c 'append-only')" -ge 1
check "  ...nor deleted" "$(q "delete from discovered_events" 2>&1 | grep -c 'append-only')" -ge 1

# -- the deploy check-in's reply: root's keys ------------------------------------
mkdir -p -m 700 "$T/state/boot"
TOK=0123456789abcdef0123456789abcdef
printf 'host=r1-02\ntoken=%s\nexpires=%s\nmode=deploy\n' $TOK $(( $(date +%s) + 600 )) >"$T/state/boot/r1-02.boot"
chmod 600 "$T/state/boot/r1-02.boot"
MB=52:54:00:a0:02:01
enlist SN-A002 $MB >/dev/null
ssh-keygen -q -t ed25519 -N '' -C boot -f "$T/bootkey"
printf '{"mode":"deploy","token":"%s","macs":["%s"],"hostkey":"%s"}' $TOK $MB "$(cat "$T/bootkey.pub")" >"$T/d.json"
check "a deploy check-in with r1-02's token (r1-02 attached by its serial a moment before): 200" "$(post "$T/d.json")" = 200
check "  ...the reply carries [provision] authorized_keys' key and castiron's own, nothing else" \
    "$(grep -c '^authorized_key=' "$T/reply"):$(grep -cxF "authorized_key=$(cat "$T/operator.pub")" "$T/reply"):$(grep -cxF "authorized_key=$(cat "$T/id_ed25519.pub")" "$T/reply")" = "2:1:1"
check "  ...after its ok" "$(head -n 1 "$T/reply")" = ok

# -- schema 3 migrates to 4 (and on to 5) ---------------------------------------------
if [ "$BACKEND" = sqlite ]; then
	cp "$DB" "$T/v3.db"
	sqlite3 "$T/v3.db" "$(sqlite3 "$T/v3.db" "select 'drop trigger ' || name || ';' from sqlite_master where type = 'trigger' and name like 'site_sums%'")"
	sqlite3 "$T/v3.db" 'drop table site_sums; drop index hosts_site_state;
	    drop table discovered_events; drop table discovered_macs; drop table discovered; pragma user_version = 3'
	h3=$(sqlite3 "$T/v3.db" 'select count(*) from hosts')
	printf '[inventory]\ndatabase = %s\n' "$T/v3.db" >"$T/v3.ini"
	ok "a schema-3 inventory opens" "$C" -c "$T/v3.ini" inventory list
	check "  ...migrated to 5, hosts kept, no machine discovered" \
	    "$(sqlite3 "$T/v3.db" 'pragma user_version; select count(*) from hosts; select count(*) from discovered' | tr '\n' ' ')" = "5 $h3 0 "
	ok "  ...and lists its discovered machines" sh -c "'$C' -c '$T/v3.ini' inventory discovered --format json | jq -e 'length == 0'"
else
	psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "create database v3 template castiron" 2>/dev/null ||
	    { kill $SERVE; wait $SERVE 2>/dev/null; psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "create database v3 template castiron"; }
	PGDB=v3 pq 'drop table site_sums; drop index hosts_site_state; drop function site_sums_host, site_sums_facts,
	    site_sums_disks, site_sums_gpus cascade;
	    drop table discovered_events; drop table discovered_macs; drop table discovered; update castiron_schema set version = 3'
	h3=$(PGDB=v3 pq 'select count(*) from hosts')
	printf '[inventory]\ndatabase = %s\n' "$(pg_url v3)" >"$T/v3.ini"
	ok "a schema-3 inventory opens" "$C" -c "$T/v3.ini" inventory list
	check "  ...migrated to 5, hosts kept, no machine discovered" \
	    "$(PGDB=v3 pq 'select version from castiron_schema') $(PGDB=v3 pq 'select count(*) from hosts') $(PGDB=v3 pq 'select count(*) from discovered')" = "5 $h3 0"
	ok "  ...and lists its discovered machines" sh -c "'$C' -c '$T/v3.ini' inventory discovered --format json | jq -e 'length == 0'"
fi

done_testing
