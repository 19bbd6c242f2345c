# make demo keeps working: the demonstration inventory and its reports,
# then castiron bgp at a real BGP peer.
. tests/lib.sh

BUILD=$BUILD CASTIRON=$CASTIRON sh tests/lab/demo >"$T/demo.out" 2>&1
ok "the demo runs to the end" test $? -eq 0
ok "420 hosts imported" grep -q "imported 420 hosts" "$T/demo.out"
ok "the bad CSV is refused, line by line" grep -q "bad.csv: 4 problems; nothing was imported" "$T/demo.out"
ok "the report by site" grep -q "^ams1  *140 " "$T/demo.out"
ok "the HTML page is written" grep -q "^HTML report: " "$T/demo.out"
if command -v bird >/dev/null && [ "$(id -u)" -eq 0 ]; then
	ok "the route reaches the router after rise" grep -q "^192.0.2.10/32  *unicast" "$T/demo.out"
	ok "and is withdrawn when the service dies" grep -q "service web: down" "$T/demo.out"
	ok "drain withdraws" grep -q "drained: demo: kernel upgrade" "$T/demo.out"
fi
rm -rf "$(sed -n 's/^demo inventory: \(.*\)\/inventory.db$/\1/p' "$T/demo.out")"
done_testing
