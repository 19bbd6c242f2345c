# The bgp lab, sourced by tests/integration/bgp*.sh and bench/bgp.sh after
# tests/lib.sh: a "host" network namespace running BIRD (and castiron), a
# "router" namespace running a second BIRD as the host's upstream eBGP
# peer, one veth between them carrying an IPv4 and an IPv6 session.
# Everything lives under $T and is removed by at_exit.
#
#   lab_up NAME          namespaces, addresses, both BIRDs; waits for BGP
#   in_host CMD...       runs CMD in the host namespace
#   rt_route PFX         0 when the router has a route for PFX
#   rt_withdraws         the router's count of withdrawals received
#   host_birdc ARGS...   birdc on the host's BIRD

lab_up() {
	LAB=ci-$1-$$
	NS_H=$LAB-1
	NS_R=$LAB-2
	_x=$(( ($$ % 200) + 20 ))
	H4=10.250.$_x.1; R4=10.250.$_x.2
	H6=fd00:ca57:$_x::1; R6=fd00:ca57:$_x::2
	HSOCK=$T/host-bird.ctl
	RSOCK=$T/router-bird.ctl
	# The include dir on tmpfs, as /run/castiron/bird is in production
	# (ext4 forces data out on rename-over, which costs ~0.5 ms).
	INC=$(mktemp -d /dev/shm/castiron-inc.XXXXXX) || return 1
	at_exit "rm -rf $INC"
	ip netns add "$NS_H" || return 1
	at_exit "ip netns del $NS_H"
	ip netns add "$NS_R" || return 1
	at_exit "ip netns del $NS_R"
	ip link add "v$$h" netns "$NS_H" type veth peer name "v$$r" netns "$NS_R" || return 1
	ip -n "$NS_H" link set lo up
	ip -n "$NS_R" link set lo up
	ip -n "$NS_H" addr add "$H4/30" dev "v$$h"
	ip -n "$NS_R" addr add "$R4/30" dev "v$$r"
	ip -n "$NS_H" addr add "$H6/64" dev "v$$h" nodad
	ip -n "$NS_R" addr add "$R6/64" dev "v$$r" nodad
	ip -n "$NS_H" link set "v$$h" up
	ip -n "$NS_R" link set "v$$r" up
	cat >"$T/host-bird.conf" <<EOC
router id $H4;
log "$T/host-bird.log" all;
protocol device {}
include "$INC/*.conf";
protocol bgp up4 {
	local $H4 as 65001;
	neighbor $R4 as 65000;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	ipv4 { import none; export where proto ~ "castiron_*"; };
}
protocol bgp up6 {
	local $H6 as 65001;
	neighbor $R6 as 65000;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	ipv6 { import none; export where proto ~ "castiron_*"; };
}
EOC
	cat >"$T/router-bird.conf" <<EOC
router id $R4;
log "$T/router-bird.log" all;
timeformat log "%F %T.%6f";
protocol device {}
protocol bgp h4 {
	local $R4 as 65000;
	neighbor $H4 as 65001;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	debug { routes };
	ipv4 { import all; export none; };
}
protocol bgp h6 {
	local $R6 as 65000;
	neighbor $H6 as 65001;
	connect delay time 1; connect retry time 1; error wait time 1, 2;
	debug { routes };
	ipv6 { import all; export none; };
}
EOC
	host_bird_start || return 1
	ip netns exec "$NS_R" bird -c "$T/router-bird.conf" -s "$RSOCK" -P "$T/router-bird.pid" || return 1
	at_exit 'kill $(cat "$T/router-bird.pid" 2>/dev/null) 2>/dev/null'
	wait_for 30 "BGP sessions" lab_bgp_up
}

host_bird_start() {
	ip netns exec "$NS_H" bird -c "$T/host-bird.conf" -s "$HSOCK" -P "$T/host-bird.pid" || return 1
	at_exit 'kill $(cat "$T/host-bird.pid" 2>/dev/null) 2>/dev/null'
}

lab_bgp_up() {
	[ "$(birdc -s "$RSOCK" show protocols 2>/dev/null | grep -c Established)" -eq 2 ]
}

in_host() { ip netns exec "$NS_H" "$@"; }
host_birdc() { birdc -s "$HSOCK" "$@"; }

rt_route() {
	birdc -s "$RSOCK" show route "$1" 2>/dev/null | grep -qF -- "$1"
}
rt_no_route() { ! rt_route "$1"; }

# Withdrawals the router received over both sessions.
rt_withdraws() {
	birdc -s "$RSOCK" show protocols all 2>/dev/null |
	    awk '/Import withdraws:/ { n += $3 } END { print n + 0 }'
}
