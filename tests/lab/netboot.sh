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

NETBOOT_DHCP_LOG=""

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
