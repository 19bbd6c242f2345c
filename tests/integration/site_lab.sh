# tests/lab/site, the command: it builds a site (three servers: two behind
# Redfish BMCs of different quirk profiles, one behind ipmi_sim; the
# appliance's namespace with dnsmasq and the boot service; the router's
# BIRD), runs a command in it, and removes everything however it ends:
# after the command, after Ctrl-C with a server powered on (its QEMU
# running), and after a failure while building.  "Everything" is checked
# from outside: no namespace, veth, process or file of that site is left.
# time-limit: 180
. tests/lib.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh

netboot_need_deploy "tests/lab/site"
lab_need "tests/lab/site" qemu-system-x86_64 dnsmasq bird birdc ipmi_sim ipmitool signify-openbsd jq

# What a site run left: its namespaces, its root-side veths, any process
# whose command line names its files, its files.  Empty when clean.
left() {	# log
	_pid=$(sed -n 's/.* lab ci-lab-\([0-9]*\);.*/\1/p' "$1" | head -n 1)
	_dir=$(sed -n 's/^# files: \(.*\)\/site$/\1/p' "$1" | head -n 1)
	[ -n "$_pid" ] && [ -n "$_dir" ] || { echo "no site in $1"; return; }
	ip netns list | awk '{print $1}' | grep -x -e "ci-lab-$_pid" -e "ci-app-$_pid" -e "ci-tor-$_pid"
	ip -o link show | grep -o -e " lm$_pid[@:]" -e " lp$_pid[@:]"
	for _p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$_p/cmdline"; } 2>/dev/null | grep -F -- "$_dir" |
		    sed "s|^|process ${_p#/proc/}: |"
	done
	[ -e "$_dir" ] && echo "$_dir still there"
}

# -- a command run in the site ---------------------------------------------
cat >"$T/inside.sh" <<'EOS'
c() { ip netns exec "$SITE_APP" "$CASTIRON" "$@"; }
echo "config: $(c config check >/dev/null 2>&1 && echo ok)"
echo "router: $(birdc -s "$SITE_DIR/tor/bird.ctl" show protocols rack | grep -cw rack)"
echo "catalog: $(c image list --format json | jq -r '.[0].name')"
echo "serve: $(curl -sf "http://$(ip -n "$SITE_APP" -4 -o addr show prov | awk '{print $4}' | cut -d/ -f1)/boot.ipxe" | head -n 1)"
echo "dnsmasq: $(ip netns pids "$SITE_APP" | xargs -n1 -I{} cat /proc/{}/comm | grep -c dnsmasq)"
for n in 1 2 3; do echo "bmc $n: $(cat "$SITE_DIR/../machines/m$n/bmc.driver")"; done
exit 7
EOS
tests/lab/site -n 3 -- sh "$T/inside.sh" >"$T/run1.log" 2>&1
rc=$?
check "site -n 3 -- COMMAND: exits with the command's status" "$rc" = 7
ok "  ...the appliance's configuration checks" grep -qx "config: ok" "$T/run1.log"
ok "  ...the router's BIRD runs its dynamic BGP protocol" grep -qx "router: 1" "$T/run1.log"
ok "  ...the signed catalog names the image" grep -qE "^catalog: (testos|debian12)$" "$T/run1.log"
ok "  ...the boot service answers on the appliance's address" grep -qx "serve: #!ipxe" "$T/run1.log"
ok "  ...dnsmasq runs in the appliance" grep -qx "dnsmasq: 1" "$T/run1.log"
check "  ...two Redfish BMCs of different profiles, one IPMI" \
    "$(grep '^bmc ' "$T/run1.log" | cut -d' ' -f3- | tr '\n' ,)" = "redfish weak-etag,redfish settings,ipmi,"
check "  ...and nothing is left" "$(left "$T/run1.log")" = ""
grep '^# built in' "$T/run1.log"

# -- Ctrl-C with a server running ---------------------------------------------
# As a terminal's Ctrl-C: SIGINT with its default action restored (a
# background job of this shell starts with SIGINT ignored).
python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' tests/lab/site -n 2 >"$T/run2.log" 2>&1 &
SITE=$!
at_exit "kill $SITE 2>/dev/null"
ok "site -n 2 without a command: built, then waits" \
    wait_for 60 "the site" grep -q "^# Ctrl-C removes it all" "$T/run2.log"
APP=$(sed -n 's/.*appliance \(ci-app-[0-9]*\) .*/\1/p' "$T/run2.log")
CFG=$(sed -n 's/^# files: \(.*\)$/\1/p' "$T/run2.log")/app/castiron.ini
c() { CASTIRON_CONFIG=$CFG ip netns exec "$APP" "$CASTIRON" "$@"; }
c inventory add srv1 --site lab1 --bmc "$(sed -n 's/^# srv1: .*BMC \([0-9.]*\) .*/\1/p' "$T/run2.log")" >/dev/null
ok "  ...srv1 powered on through its BMC" c bmc power srv1 on
M1=$(dirname "$(dirname "$CFG")")/../machines/m1
ok "  ...its QEMU runs" wait_for 20 "srv1's QEMU" sh -c "kill -0 \$(cat '$M1/qemu.pid')"
kill -INT "$SITE"
ok "Ctrl-C: the site ends" wait_for 60 "the site to end" sh -c "! kill -0 $SITE 2>/dev/null"
check "  ...and nothing is left, QEMU included" "$(left "$T/run2.log")" = ""

# -- a failure while building ----------------------------------------------------
SITE_PROFILES=no-such-profile tests/lab/site -n 1 -- true >"$T/run3.log" 2>&1
rc=$?
check "a site that cannot be built: exit 1, saying so" \
    "$rc:$(grep -c 'could not build the site' "$T/run3.log")" = 1:1
run3_left() {
	_d=$(sed -n 's|.*castiron-t\.\([A-Za-z0-9]*\)/.*|/tmp/castiron-t.\1|p' "$T/run3.log" | head -n 1)
	ip netns list | awk '{print $1}' | grep -E '^ci-(lab|app|tor)-' | while read -r _n; do
		ip netns pids "$_n" | while read -r _p; do
			{ tr '\0' ' ' <"/proc/$_p/cmdline"; } 2>/dev/null |
			    grep -qF -- "${_d:-/nonexistent}" && echo "$_n"
		done
	done | sort -u
	[ -n "$_d" ] && [ -e "$_d" ] && echo "$_d"
}
check "  ...and nothing is left" "$(run3_left)" = ""
done_testing
