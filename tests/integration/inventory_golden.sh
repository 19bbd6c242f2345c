# Golden files for the inventory's output: list, show and report in every
# format (JSON piped and on a terminal, CSV, table, HTML), and the short
# confirmations of add, import, set-state, forget-key and remove, over one
# fixed fixture (times, facts, disks, keys and events written with sqlite3,
# as inspection and provision would).  Every output must match its file in
# tests/golden/inventory/ byte for byte.
#
# GOLDEN_UPDATE=1 rewrites the golden files instead (then review the diff).
. tests/lib.sh

G=tests/golden/inventory
DB="$T/inv.db"
printf '[inventory]\ndatabase = %s\n' "$DB" >"$T/c.ini"
ci() { "$CASTIRON" -c "$T/c.ini" "$@"; }
mkdir -p "$T/out"

cat >"$T/hosts.csv" <<'EOF2'
hostname,site,rack,unit,serial,bmc,macs,address,role,gateway
web1,ams1,r1,1,SN-1,10.1.0.1,aa:bb:cc:00:00:01;aa:bb:cc:00:00:02,192.0.2.11/24,web,192.0.2.1
web2,ams1,r1,2,SN-2,10.1.0.2,aa:bb:cc:00:00:03,192.0.2.12,web,
dns1,ams1,r2,1,SN-3,bmc-dns1.example.net,aa:bb:cc:00:00:04,2001:db8::53/64,dns,
db1,fra1,r7,40,SN-4,,aa:bb:cc:00:00:05,,db,
spare1,fra1,,,,,,,,
cache1,sjc1,r1,12,SN-6,10.3.0.6,aa:bb:cc:00:00:06;aa:bb:cc:00:00:07;aa:bb:cc:00:00:08,203.0.113.6,cache,
EOF2
ci inventory import "$T/hosts.csv" >/dev/null
ci inventory set-state web1 maintenance --reason 'PSU "A" swap \ rack door' >/dev/null
ci inventory set-state web1 active --reason "$(printf 'back in service\nafter a second look, caf\303\251')" >/dev/null
ci inventory set-state db1 retired --reason "end of life" >/dev/null
# What inspection and provision record, written directly.
sqlite3 "$DB" "
	insert into facts values ((select id from hosts where hostname='web1'),
	    'Intel(R) Xeon(R) \"Gold\" 6338 \\ CPU @ 2.00GHz', 64, 524288,
	    'Dell Inc.', 'PowerEdge R650', 'SN-1', '2026-01-02T03:04:05Z');
	insert into facts values ((select id from hosts where hostname='dns1'),
	    'AMD EPYC 7313P 16-Core Processor', 16, 131072, 'Supermicro', 'AS-1114S-WN10RT',
	    'SN-3', '2026-01-02T03:04:06Z');
	insert into facts (host_id, cpu_model, sys_vendor, inspected_at) values
	    ((select id from hosts where hostname='cache1'), 'ARM Neoverse-N1 caf\303\251', 'Ampere',
	    '2026-01-02T03:04:07Z');
	insert into disks values ((select id from hosts where hostname='web1'), 'nvme0n1',
	    960197124096, 'SAMSUNG MZQL2960HCJR', 'S64FNE0R1', 0, 0);
	insert into disks values ((select id from hosts where hostname='web1'), 'sda',
	    4000787030016, NULL, NULL, 1, 1);
	insert into disks values ((select id from hosts where hostname='dns1'), 'nvme0n1',
	    480103981056, 'Micron_7450', 'M7450-1', 0, 0);
	insert into gpus values ((select id from hosts where hostname='web1'), 1,
	    '0000:03:00.0', '0300', 'ASPEED Technology, Inc.', 'ASPEED Graphics Family', NULL);
	insert into gpus values ((select id from hosts where hostname='web1'), 2,
	    '0000:17:00.0', '0302', 'NVIDIA Corporation', 'GA100 [A100 SXM4 40GB]', 40960);
	insert into gpus values ((select id from hosts where hostname='web1'), 3,
	    '0000:65:00.0', '0302', 'NVIDIA Corporation', 'GA100 [A100 SXM4 40GB]', 40960);
	insert into gpus values ((select id from hosts where hostname='dns1'), 1,
	    '0000:c1:00.0', '1200', '1e52', '0001', NULL);
	update nics set name = 'eno1', speed_mbps = 25000 where mac = 'aa:bb:cc:00:00:01';
	update nics set name = 'eno2' where mac = 'aa:bb:cc:00:00:02';
	insert into nics values ((select id from hosts where hostname='web1'), 3,
	    'aa:bb:cc:00:00:99', 'eno3', 1000, 0);
	insert into host_keys values ((select id from hosts where hostname='web1'), 'ssh-ed25519',
	    'AAAAC3NzaC1lZDI1NTE5AAAAIJJ5hHOLWhzMiKwid4IR5j62xCFEuc4vRdgD6QXCqvzE',
	    'SHA256:yp+3fql2nzim0Q1i7bozpy4Whq6liVegKQD0s6iVChw', '2026-01-03T00:00:00Z');
	update hosts set image = 'debian12', step = 'verify', step_done = 'verify',
	    disk = '/dev/nvme0n1' where hostname = 'web1';
	update hosts set state = 'failed', step = 'image', step_done = 'boot'
	    where hostname = 'dns1';
	update hosts set created_at = '2026-01-01T00:00:0' || id || 'Z',
	    updated_at = '2026-01-04T00:00:0' || id || 'Z';
	insert into events (host_id, hostname, time, actor, from_state, to_state, step,
	    reason, bytes, duration_ms) values ((select id from hosts where hostname='web1'),
	    'web1', 'x', 'provision:ops', NULL, NULL, 'image', 'written', 123456789, 4321);
	drop trigger events_no_update;
	update events set time = '2026-01-05T00:00:' || printf('%02d', id) || 'Z', actor = 'ops';
	create trigger events_no_update before update on events
	  begin select raise(abort, 'events are append-only'); end;" || exit 1

# name command...: the command's stdout, its exit status in the last line
run() {
	_name=$1; shift
	{ "$@"; echo "exit $?"; } >"$T/out/$_name" 2>&1
}
# The same on a terminal (JSON is indented there).
tty() {
	_name=$1; shift
	script -qec "$CASTIRON -c $T/c.ini $*" /dev/null >"$T/out/$_name" 2>&1
}

for f in json csv table; do
	run list.$f ci inventory list --format $f
	run list-fra1.$f ci inventory list --site fra1 --format $f
	run list-active.$f ci inventory list --state active --format $f
	run list-web.$f ci inventory list --rack r1 --role web --format $f
	for h in web1 dns1 spare1 cache1; do
		run show-$h.$f ci inventory show $h --format $f
	done
	for by in site rack state role model image gpu; do
		run report-$by.$f ci inventory report --by $by --format $f
	done
done
run list-none.json ci inventory list --site nowhere --format json
run list-none.table ci inventory list --site nowhere
run list-none.csv ci inventory list --site nowhere --format csv
tty list.json.tty inventory list --format json
tty list.table.tty inventory list
tty show-web1.json.tty inventory show web1 --format json
tty report-site.json.tty inventory report --by site --format json
run report.html.out ci inventory report --html "$T/report.html"
sed -e "s|$T|@T@|g" -e 's|generated [0-9TZ:-]*|generated @NOW@|' \
	"$T/report.html" >"$T/out/report.html"

# The confirmations, in text and JSON.
printf 'hostname,site\nnew1,ams1\n' >"$T/new1.csv"
printf 'hostname,site\nnew2,ams1\n' >"$T/new2.csv"
run import.table ci inventory import "$T/new1.csv"
run import.json ci inventory import "$T/new2.csv" --format json
run add.table ci inventory add new3 --site ams1
run add.json ci inventory add new4 --site ams1 --format json
run set-state.table ci inventory set-state new3 maintenance --reason x
run set-state.json ci inventory set-state new4 maintenance --reason x
run forget-key.json ci inventory forget-key web1 --reason x --format json
run remove.table ci inventory remove new3
run remove.json ci inventory remove new4 --format json
# The scratch directory's name (always as long) is in paths and events.
for f in "$T"/out/*; do
	sed -i "s|$T|@T@|g" "$f"
done

if [ -n "${GOLDEN_UPDATE:-}" ]; then
	rm -rf "$G"
	mkdir -p "$G"
	cp "$T"/out/* "$G"/
fi
for f in "$T"/out/*; do
	n=$(basename "$f")
	if cmp -s "$f" "$G/$n"; then
		_result 0 "$n is byte for byte the golden file"
	else
		_result 1 "$n differs from $G/$n"
		diff "$G/$n" "$f" 2>&1 | head -20 | sed 's/^/# /'
	fi
done
check "every golden file was produced" "$(ls "$G" | wc -l)" = "$(ls "$T/out" | wc -l)"

done_testing
