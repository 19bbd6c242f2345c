# Network boot in the lab: Debian's dnsmasq answering DHCP on the lab's
# provisioning bridge, and the deploy environment the tests boot.  Sourced
# after tests/lib.sh and tests/lab/machine.sh.
#
#   netboot_need_deploy WHAT
#       ends the test with a skip of WHAT unless it runs as root and
#       $BUILD/deploy holds a built deploy environment; sets D to it
#   (the rest once machine_net_init has made the namespace)
#   netboot_dhcp_start [DNSMASQ-OPTIONS...]
#       dnsmasq inside $LABM_NS, bound to brp ($LABM_PROV.2): DHCP only
#       (port=0: no DNS), addresses $LABM_PROV.100-.199, the bridge as
#       router and name server, no ping before an offer (dnsmasq would
#       otherwise wait 3 s per new client, one at a time).  Extra options
#       are appended (--dhcp-host=MAC,ADDR, say).  Its log (every DHCP
#       exchange) is $NETBOOT_DHCP_LOG; it is stopped by the lab's cleanup
#       and by netboot_dhcp_stop.
#   netboot_dhcp_stop
#   netboot_init PORT
#       the lab's boot service: NETBOOT_URL is http://$LABM_PROV.1:PORT
#       (this namespace's end of the provisioning veth); brp gets an IPv6
#       address, for the router advertisements without which this iPXE
#       waits about 16 s; tests/lab/labconf.sh's lab_config gets [boot]:
#       listen there, deploy_dir $D, interface brp, dhcp_range
#       $LABM_PROV.100-.150, dnsmasq_dir $T/dnsmasq, dnsmasq_pidfile
#       $T/dnsmasq.pid, router_advertisements yes
#   netboot_dnsmasq DIR PIDFILE [NS]
#       Debian's dnsmasq in NS (default $LABM_NS) with the configuration
#       `castiron boot dnsmasq` wrote in DIR (its leases in [castiron]
#       state_dir), in the foreground of a background job, its log
#       $NETBOOT_DHCP_LOG (dnsmasq.log beside PIDFILE); stopped at exit
#   netboot_serve [LOG]
#       `castiron boot serve` (its log appended to LOG, default
#       $T/serve.log) and waits until $NETBOOT_URL/boot.ipxe answers;
#       NETBOOT_SERVE is its pid; stopped at exit.  $NETBOOT_EXEC, when
#       set, is the words it runs under (`ip netns exec NS`: the site's
#       appliance)
#   netboot_serve_stop
#       SIGTERM to it, and waits until it has gone
#   netboot_kernel_fetches N
#       how each of iPXE's fetches of the deploy kernel ended on machine
#       N's console, in order: "ok" or "broken" (a boot service restarted
#       in the middle of one), one word each

NETBOOT_DHCP_LOG=""
NETBOOT_URL=""
NETBOOT_SERVE=""
NETBOOT_EXEC=""

netboot_need_deploy() {
	D=$PWD/$BUILD/deploy
	if [ "$(id -u)" != 0 ]; then
		skip "$1" "needs root (network namespaces, taps)"
		done_testing; exit
	fi
	if [ ! -f "$D/manifest" ]; then
		skip "$1" "no $D/manifest: run make BUILD=$BUILD deploy"
		done_testing; exit
	fi
}

netboot_dhcp_start() {
	_nd=$LABM_DIR/dnsmasq
	mkdir -p "$_nd"
	NETBOOT_DHCP_LOG=$_nd/dnsmasq.log
	: >"$NETBOOT_DHCP_LOG"
	at_exit netboot_dhcp_stop
	ip netns exec "$LABM_NS" dnsmasq --conf-file=/dev/null --port=0 \
	    --interface=brp --bind-interfaces --except-interface=lo \
	    --dhcp-range="$LABM_PROV.100,$LABM_PROV.199,255.255.255.0,1h" \
	    --dhcp-option=option:router,"$LABM_PROV.2" \
	    --dhcp-option=option:dns-server,"$LABM_PROV.2" \
	    --domain=lab.test --dhcp-authoritative --no-ping \
	    --dhcp-leasefile="$_nd/leases" --pid-file="$_nd/dnsmasq.pid" \
	    --user=root --group=root --log-dhcp \
	    --log-facility="$NETBOOT_DHCP_LOG" "$@" </dev/null ||
	    return 1
	wait_for 5 "dnsmasq to write its pid" test -s "$_nd/dnsmasq.pid"
}

netboot_dhcp_stop() {
	_machine_kill "$LABM_DIR/dnsmasq/dnsmasq.pid" dnsmasq
}

netboot_init() {
	NETBOOT_URL=http://$LABM_PROV.1:$1
	ip -n "$LABM_NS" addr add "fd00:$LABM_ID::2/64" dev brp nodad || return 1
	LAB_CONFIG_KEYS="${LAB_CONFIG_KEYS:-}${LAB_CONFIG_KEYS:+
}boot.listen=$LABM_PROV.1:$1
boot.deploy_dir=${D:-}
boot.interface=brp
boot.dhcp_range=$LABM_PROV.100,$LABM_PROV.150,1h
boot.dnsmasq_dir=$T/dnsmasq
boot.dnsmasq_pidfile=$T/dnsmasq.pid
boot.router_advertisements=yes"
}

netboot_dnsmasq() {	# dir pidfile [ns]
	NETBOOT_DHCP_LOG=$(dirname "$2")/dnsmasq.log
	ip netns exec "${3:-$LABM_NS}" dnsmasq --conf-file="$1/castiron.conf" \
	    --pid-file="$2" --keep-in-foreground --user=root \
	    --log-facility="$NETBOOT_DHCP_LOG" </dev/null &
	at_exit "kill $! 2>/dev/null"
	wait_for 10 "dnsmasq" test -s "$2"
}

netboot_serve() {	# [log]
	# shellcheck disable=SC2086
	$NETBOOT_EXEC "$CASTIRON" boot serve >>"${1:-$T/serve.log}" 2>&1 &
	NETBOOT_SERVE=$!
	at_exit "kill $NETBOOT_SERVE 2>/dev/null"
	wait_for 10 "the boot service" curl -sf -o /dev/null "$NETBOOT_URL/boot.ipxe"
}

netboot_serve_stop() {
	[ -n "$NETBOOT_SERVE" ] || return 0
	kill "$NETBOOT_SERVE" 2>/dev/null
	wait "$NETBOOT_SERVE" 2>/dev/null
	NETBOOT_SERVE=""
	return 0
}

# iPXE's line for each try: "URL... ok", or "URL... ERROR (...)", with its
# progress between when the link is slow.
netboot_kernel_fetches() {
	grep -a '/deploy/vmlinuz\.\.\.' "$(machine_console "$1")" | tr -d '\r' |
	    sed 's/.*[. ]ok$/ok/; /^ok$/!s/.*/broken/' | tr '\n' ' ' | sed 's/ $//'
}
