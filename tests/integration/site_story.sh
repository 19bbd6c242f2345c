# time-limit: 1500
# Issue 16's story on a site of two servers (tests/lab/site.sh): srv1
# behind an emulated Redfish BMC (weak-etag profile), srv2 behind ipmi_sim,
# both QEMU TCG machines with an NVMe disk, the appliance in its own
# namespace, the top-of-rack router running BIRD.
#
#   1. the rack's CSV imported, as a vendor sends it;
#   2. `castiron provision --rack r1`: each server powered on through its
#      BMC with a one-time network boot, DHCP, iPXE, the deploy
#      environment's check-in, inspection of the virtual hardware, the
#      image from the signed catalog's verified cache, configure;
#   5. the HTML report: the rack with both servers active, every step an
#      event with its duration.
# Faults in the same run: srv1's BMC times out once (retried), srv2's
# deploy environment never checks in (its NIC cut off: failed at boot,
# saying why; resumed once the NIC is back), the boot service restarted
# while srv1 fetches its kernel.
#
# Parts other branches are building land here as they reach main; until
# then each is one step that says so ("# WAITS: ...") and does nothing:
# srv2's MAC enlisted and matched by serial (enlist), the bootable image
# and the reboot onto the disk (recipe; kexec for srv2), the image pulled
# (pull), and steps 3 and 4, castiron bgp on the installed servers and
# their prefixes at the router.  castiron bgp's configuration on them is
# configure's, from the host's role (the appliance's [role web]), when
# castiron has roles; until then the lab's marked stand-in writes it
# (site_bgp_standin).
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/ipmi-lab.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh
. tests/lab/site.sh

netboot_need_deploy "the site's story"
lab_need "the site's story" qemu-system-x86_64 dnsmasq bird birdc ipmi_sim ipmitool signify-openbsd jq
# A short BMC timeout, so that the injected one costs seconds; a boot
# timeout the cut-off server reaches while the other is still busy.
SITE_BMC_IO_TIMEOUT=4s SITE_BOOT_TIMEOUT=75s
site_up 2 || { echo "not ok 1 - the site"; echo "1..1"; exit 1; }
C=site_castiron
waits() { echo "# WAITS: $*"; }
has() {	# what: castiron has it (the parts other branches build)
	case $1 in
	enlist) "$CASTIRON" inventory --help 2>&1 | grep -q 'inventory discovered' ;;
	kexec|pull)
		printf '[provision]\n%s\n' "$([ "$1" = kexec ] && echo 'reboot = kexec' ||
		    echo 'image_transport = pull')" >"$T/probe.ini"
		"$CASTIRON" -c "$T/probe.ini" config check >/dev/null 2>&1 ;;
	bootable) [ "$SITE_BOOTABLE" = yes ] ;;
	esac
}
H1=$(site_host 1) H2=$(site_host 2)

# -- 1. the rack's CSV ------------------------------------------------------
if has enlist; then
	site_csv "$T/rack.csv" --no-mac 2
else
	site_csv "$T/rack.csv"
	waits "enlist: srv2's MAC left out of the CSV, enlisted and matched by serial"
fi
sed 's/^/# /' "$T/rack.csv"
ok "1. castiron inventory import rack.csv" $C inventory import "$T/rack.csv"
check "  ...two hosts in rack r1, enrolled" \
    "$($C inventory list --rack r1 --format json | jq -r '[.[] | .state] | join(" ")')" = "enrolled enrolled"
if has enlist; then
	netboot_h2() { $C bmc boot "$H2" pxe && $C bmc power "$H2" on; }
	ok "  ...srv2, unknown by MAC, network-boots and is enlisted" netboot_h2
	learned() { [ "$(jget "$H2" '.macs | join(",")')" = "$(site_mac 2)" ]; }
	ok "  ...and attached to its enrollment by its serial (its MAC learned)" \
	    wait_for 120 "srv2's MAC" learned
fi

# -- faults -----------------------------------------------------------------
# srv1's BMC answers its first Systems request after castiron's I/O
# timeout (4 s); srv2's NIC is off the network: it gets no address, and its
# firmware, after iPXE gives up, boots its blank disk.
bmc_reset_counters 1
bmc_inject 1 '{"method": "GET", "path": "/redfish/v1/Systems*", "delay": 6, "count": 1}' >/dev/null
ip -n "$LABM_NS" link set tap2 nomaster
# The boot service is restarted while srv1 fetches its kernel; the
# appliance's link is held to 20 Mbit/s until then (a moment later), so
# that the kernel would take over five seconds.
ip netns exec "$SITE_APP" tc qdisc add dev prov root tbf rate 20mbit burst 64k latency 400ms

# -- 2. provision the rack --------------------------------------------------
has pull || waits "pull: the image pulled by the deploy environment from the boot service (pushed over SSH meanwhile)"
has bootable || waits "recipe: the bootable Debian image; the test image cannot boot, so reboot = none and provision ends at configure"
# (the fetches before this run, srv2's enlistment's, are not this one's)
n0=$(wc -l <"$SITE_A/serve.log")
t0=$(now_ms)
$C provision --rack r1 >"$T/prov1.out" 2>&1 &
PROV=$!
at_exit "kill $PROV 2>/dev/null"
kernel_fetch() { tail -n +$((n0 + 1)) "$SITE_A/serve.log" | grep -q "/deploy/vmlinuz: 200"; }
restart_mid() {
	wait_for 150 "srv1's kernel fetch" kernel_fetch && site_boot_restart
}
ok "the boot service is restarted while srv1 fetches its deploy kernel" restart_mid
ip netns exec "$SITE_APP" tc qdisc del dev prov root
wait "$PROV"
rc=$?
echo "# 2. provision --rack r1: exit $rc after $(( $(now_ms) - t0 )) ms"
sed 's/^/# /' "$T/prov1.out" | tail -n 4
check "2. castiron provision --rack r1: exit 1, one host failed" "$rc" = 1
check "  ...srv1 active" "$(jget "$H1" .state)" = active
check "  ...srv2 failed at boot" "$(jget "$H2" '.state + " " + .step')" = "failed boot"
ok "  ...saying why, in the summary" grep -q "$H2.*boot.*the deploy environment did not answer SSH within boot_timeout" "$T/prov1.out"
check "srv1's BMC: the Systems request that timed out, asked again" \
    "$(bmc_state 1 '.requests["GET /redfish/v1/Systems"]')" -ge 2
check "  ...its power step done" -n "$(jget "$H1" '.events[] | select(.step == "power" and ((.reason // "") | startswith("done"))) | .step')"
check "the boot service restart: srv1's kernel fetch broke off and was fetched again" \
    "$(netboot_kernel_fetches 1)" = "broken ok"
ok "  ...srv1 checked in with the restarted service" \
    machine_saw 1 "check-in accepted by $NETBOOT_URL/checkin"

# -- the fault removed: srv2 resumes ------------------------------------------
ip -n "$LABM_NS" link set tap2 master brp
t1=$(now_ms)
# A host failed at boot resumes at power: powered and network-booted
# again, with a new token.
check "  ...srv2's plan: it resumes at power (its boot did not come up)" \
    "$($C --format json provision "$H2" --dry-run 2>/dev/null | jq -r '.[0].steps' | cut -d, -f1)" = power
# srv1 was rebooted onto its disk by its BMC ([provision] reboot = bmc);
# srv2's resume reboots by kexec (a configuration of its own), once the
# image boots.
RESUME=$SITE_A/castiron.ini
if has bootable && has kexec; then
	RESUME=$SITE_A/kexec.ini
	sed 's/^reboot .*/reboot          = kexec/' "$SITE_A/castiron.ini" >"$RESUME"
fi
ok "srv2's NIC back: castiron provision $H2 resumes it to active" $C -c "$RESUME" provision "$H2"
echo "# resumed in $(( $(now_ms) - t1 )) ms"
sed 's/^/# /' "$T/.out" | tail -n 3
check "  ...active" "$(jget "$H2" .state)" = active
check "  ...a run that resumed" -n "$(jget "$H2" '.events[].reason' | grep -i resum)"

# -- what provision found and did, per server ----------------------------------
for n in 1 2; do
	h=$(site_host "$n")
	"$CASTIRON" inventory show "$h" --format json >"$T/$h.json"
	check "$h: inspected: its serial, its NVMe disk by the serial QEMU gave it, its MAC" \
	    "$(jq -r '.system_serial + " " + ([.disks[] | select(.name == "nvme0n1") | .serial] | join(",")) + " " + ([.nics[].mac] | join(","))' "$T/$h.json")" = \
	    "$(site_serial "$n") NVME$(site_serial "$n") $(site_mac "$n")"
	check "$h: the image from the signed catalog, verified on its disk" \
	    -n "$(jq -r '.events[] | select(.step == "image") | .reason' "$T/$h.json" | grep "image $SITE_IMAGE verified on /dev/nvme0n1")"
	if has pull; then
		check "$h: ...pulled from the boot service, out of the appliance's verified cache" \
		    -n "$(jq -r '.events[] | select(.step == "image") | .reason' "$T/$h.json" | grep -F "pulled from $NETBOOT_URL/images/$SITE_IMAGE: ")"
	fi
	jq -r '[.events[] | select((.reason // "") | startswith("done")) | "\(.step) \(.duration_ms) ms"] | join(", ")' "$T/$h.json" |
	    sed "s/^/# $h: /"
done

# -- the reboot onto the disk, and verify ------------------------------------------
if has bootable; then
	check "srv1 rebooted onto its disk by its BMC, verified over SSH" \
	    -n "$(jget "$H1" '.events[] | select(.step == "verify" and ((.reason // "") | startswith("done"))) | .step')"
	if has kexec; then
		check "srv2 rebooted into its installed kernel by kexec, without firmware, verified" \
		    -n "$(jget "$H2" '.events[] | select(.step == "reboot") | .reason' | grep 'kexec into')" -a \
		    -n "$(jget "$H2" '.events[] | select(.step == "verify" and ((.reason // "") | startswith("done"))) | .step')"
	else
		waits "kexec: srv2 rebooted by kexec instead of its BMC"
	fi
else
	waits "recipe: the reboot onto the disk (BMC for srv1, kexec for srv2) and verify over SSH with the pinned key"
fi

# -- 3, 4. castiron bgp on the installed servers, at the router ---------------------
if has bootable && [ "$SITE_ROLES" = yes ]; then
	# configure wrote each server's BIRD, which peers with its gateway
	# from the first boot on
	sessions() { [ "$(site_tor_birdc show protocols rack 2>/dev/null | grep -cw rack):$(site_tor_peers)" = 1:2 ]; }
	ok "the router is up, with a session from each installed server's BIRD" \
	    wait_for 60 "the servers' sessions" sessions
else
	check "the router is up, waiting for the servers' sessions: none yet" \
	    "$(site_tor_birdc show protocols rack 2>/dev/null | grep -cw rack):$(site_tor_peers)" = 1:0
fi
if has bootable; then
	if [ "$SITE_ROLES" = yes ]; then
		echo "# configure wrote each server's BIRD and castiron bgp configuration from its role (the appliance's [role web]) and enabled castiron-bgp"
	else
		echo "# STAND-IN: castiron has no roles yet: configure does not write castiron bgp's configuration from the host's role; the lab writes it over SSH (site_bgp_standin): BIRD's session to the router, [bgp], the web role's services file"
	fi
	for n in 1 2; do
		h=$(site_host "$n")
		if [ "$SITE_ROLES" = yes ]; then
			check "$h: configure's note names its role" \
			    -n "$(jget "$h" '.events[] | select(.step == "configure") | .reason // empty' | grep -w 'role web')"
			ok "  ...castiron-bgp.service runs on it, enabled by configure" \
			    wait_for 30 "castiron-bgp on $h" site_ssh "$n" systemctl is-active --quiet castiron-bgp
		fi
		ok "$h: its web service started; castiron bgp runs" site_serve "$n"
	done
	peers() { [ "$(site_tor_peers)" = "$1" ]; }
	paths() { [ "$(site_tor_paths 192.0.2.10/32)" = "$1" ]; }
	ok "3. the router: an eBGP session with each installed server" wait_for 60 "two sessions" peers 2
	ok "  ...and the anycast prefix 192.0.2.10/32 from both" \
	    wait_for 60 "both paths" paths "srv1 srv2"
	web_stop() { site_ssh 1 systemctl stop lab-web; }
	web_start() { site_ssh 1 "$SITE_WEB"; }
	drain() { site_ssh 1 /usr/local/bin/castiron bgp drain --reason story; }
	ok "4. srv1's web service killed" web_stop
	ok "  ...srv1's path withdrawn at the router, srv2's left" wait_for 30 "the withdrawal" paths srv2
	check "  ...both sessions still up" "$(site_tor_peers)" = 2
	ok "  ...the service restarted" web_start
	ok "  ...announced again" wait_for 30 "the announcement" paths "srv1 srv2"
	ok "  ...castiron bgp drain on srv1" drain
	ok "  ...srv1's path withdrawn at the router" wait_for 30 "the drain" paths srv2
	check "  ...both sessions still up" "$(site_tor_peers)" = 2
else
	waits "recipe: the bootable image, on which configure writes castiron bgp's configuration from the host's role: 3. each installed server runs castiron bgp and its prefix appears at the router; 4. its service killed: withdrawn; restarted: announced; castiron bgp drain: withdrawn"
fi

# -- 5. the report ---------------------------------------------------------------
ok "5. castiron inventory report --html" $C inventory report --html "$T/report.html"
check "  ...rack r1 with both servers active" \
    "$($C inventory list --rack r1 --format json | jq -r '[.[] | .state] | join(" ")')" = "active active"
ok "  ...the page shows both servers" sh -c "grep -q '$H1' '$T/report.html' && grep -q '$H2' '$T/report.html'"
steps="power boot inspect image configure"
has bootable && steps="$steps reboot verify"
for n in 1 2; do
	h=$(site_host "$n")
	got=$(jq -r --arg s "$steps" '[.events[] | select(((.reason // "") | startswith("done")) and .duration_ms != null) | .step] | unique | join(" ")' "$T/$h.json")
	want=$(echo "$steps" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
	check "$h: every step an event with its duration ($steps)" "$got" = "$want"
done
done_testing
