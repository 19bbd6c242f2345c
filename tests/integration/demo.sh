# make demo keeps working: the demonstration inventory and its reports,
# the rack of three QEMU servers provisioned and narrated (tests/lab/
# demo-rack; srv2 enlisted first, matched by its serial), then castiron
# bgp at a real BGP peer.
# time-limit: 420
. tests/lib.sh

# The rack with the small test image: tests/integration/site_story.sh
# installs and boots the recipe's image on the same site (make check's
# time goes there once).
SITE_OS=testos BUILD=$BUILD CASTIRON=$CASTIRON sh tests/lab/demo >"$T/demo.out" 2>&1
ok "the demo runs to the end" test $? -eq 0
ok "420 hosts imported" grep -q "imported 420 hosts" "$T/demo.out"
ok "the bad CSV is refused, line by line" grep -q "bad.csv: 4 problems; nothing was imported" "$T/demo.out"
ok "the report by site" grep -q "^ams1  *140 " "$T/demo.out"
ok "the HTML page is written" grep -q "^HTML report: " "$T/demo.out"
# The router's own answers, step by step: the block of the demo's output
# that a step prints.
block() { awk -v s="$1" '/^== /{on = index($0, s) > 0} on' "$T/demo.out"; }
if [ "$(id -u)" -eq 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	block "castiron provision --rack r1" >"$T/rack"
	for h in srv1 srv2 srv3; do
		check "the rack: $h narrated phase by phase, power to active" \
		    "$(grep -cE "^[0-9:.]+  $h +(power|boot|inspect|image|configure) +(started|done in)" "$T/rack"):$(grep -cE "^[0-9:.]+  $h +active" "$T/rack")" = 10:1
		ok "  ...its firmware's and its deploy environment's DHCP, its iPXE script, its check-in" sh -c \
		    "grep -qE '  $h +dhcp .*\\(firmware\\)' '$T/rack' && grep -qE '  $h +dhcp .*\\(deploy environment\\)' '$T/rack' &&
		     grep -qE '  $h +ipxe +the deploy environment' '$T/rack' && grep -qE '  $h +check-in +accepted' '$T/rack'"
	done
	ok "srv2, left without its MAC in the CSV, enlisted and attached by its serial" \
	    grep -q "attached a discovered machine (serial LAB1-R1-002, .*) automatically: its serial matched" "$T/demo.out"
	ok "  ...the summary: three servers active" sh -c "[ \$(grep -cE '^srv[123] +active ' '$T/rack') = 3 ]"
	ok "  ...the inventory shows the virtual hardware" \
	    grep -q "^srv1: active, QEMU Virtual CPU version 2.5+, 1 core(s), .* nvme0n1 QEMU NVMe Ctrl NVME" "$T/demo.out"
	R=$(sed -n 's/^HTML report: \(.*\)\/rack.html .*/\1/p' "$T/demo.out")
	ok "  ...the rack's HTML report and its picture" sh -c "grep -q srv3 '$R/rack.html' && [ -s '$R/rack.png' ]"
	[ -n "$R" ] && rm -rf "$R"
else
	skip "the rack part of the demo" "needs root and qemu-system-x86"
fi
if command -v bird >/dev/null && [ "$(id -u)" -eq 0 ]; then
	block "The web service starts" >"$T/rise"
	block "The web service dies" >"$T/fall"
	block "It comes back" >"$T/back"
	ok "the route reaches the router after rise" grep -q "^192.0.2.10/32  *unicast" "$T/rise"
	ok "when the service dies the router says the route is not found" \
	    grep -qx "Network not found" "$T/fall"
	ok "...while its BGP session with the host is up" grep -q "^h4  *BGP .* Established" "$T/fall"
	ok "...and castiron logged the fall" grep -q "service web: down" "$T/demo.out"
	ok "drain: the route leaves the router, session up" sh -c "
	    sed -n '/bgp drain/,/bgp undrain/p' '$T/back' >'$T/drain'
	    grep -qx 'Network not found' '$T/drain' && grep -q '^h4  *BGP .* Established' '$T/drain'"
	ok "undrain: the route is back at the router" sh -c \
	    "sed -n '/bgp undrain/,\$p' '$T/back' | grep -q '^192.0.2.10/32  *unicast'"
else
	skip "the bgp part of the demo" "needs root and bird2"
fi
rm -rf "$(sed -n 's/^demo inventory: \(.*\)\/inventory.db$/\1/p' "$T/demo.out")"
done_testing
