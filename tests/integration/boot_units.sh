# The systemd units of network boot, as systemd reads them and as they
# run: etc/castiron-boot.service (castiron boot serve) and
# etc/castiron-dnsmasq.service (dnsmasq with castiron's configuration).
# First proof that the verifier reports what is wrong (a copy with an
# unknown key and an invalid value), then each real unit, its programs
# pointed at the built binary: not a single complaint.  Then the dnsmasq
# unit's own commands, run as written (only its /run paths moved into the
# test's directory) in a namespace with a provisioning interface: the
# pre-start writes the configuration, dnsmasq starts on it, answers DHCP
# on that interface only, logs to stderr (the journal) and writes the
# pid file the boot service signals; SIGHUP (its ExecReload, and what
# the boot service sends) makes it read the hosts file again.  Its leases
# go to castiron's own file in state_dir, never to the machine's shared
# /var/lib/misc/dnsmasq.leases: a second castiron's dnsmasq on another
# interface, each with a DHCP client (busybox udhcpc in a namespace of its
# own), and each lease file holds its own client's lease only.
. tests/lib.sh

ok "castiron-boot.service runs castiron boot serve" \
    grep -qx 'ExecStart=/usr/local/bin/castiron -c /etc/castiron/castiron.ini boot serve' \
    etc/castiron-boot.service
check "castiron-dnsmasq.service reads the configuration where [boot] dnsmasq_dir puts it by default" \
    "$(grep -c 'conf-file=/run/castiron/dnsmasq/castiron.conf' etc/castiron-dnsmasq.service)" = 1
check "castiron-dnsmasq.service may write its leases in the state directory, and nothing else but /run/castiron" \
    "$(grep -cx -e 'ProtectSystem=strict' -e 'ReadWritePaths=-/run/castiron -/var/lib/castiron' etc/castiron-dnsmasq.service)" = 2
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/unit" "$T/unit-bad"
	for u in castiron-boot castiron-dnsmasq; do
		sed "s|/usr/local/bin/castiron|$CASTIRON|" "etc/$u.service" >"$T/unit/$u.service"
		{ cat "$T/unit/$u.service"; printf '[Service]\nBogusSetting=1\nRestart=sometimes\n'; } \
		    >"$T/unit-bad/$u.service"
		systemd-analyze verify --man=no "$T/unit-bad/$u.service" >"$T/verify-bad" 2>&1
		check "systemd-analyze reports an unknown setting and an invalid value in a broken $u" \
		    -n "$(grep "Unknown key.*BogusSetting" "$T/verify-bad")" -a \
		    -n "$(grep "Failed to parse.*sometimes" "$T/verify-bad")"
		# The other unit is named by After=/Wants=: give the verifier both.
		systemd-analyze verify --man=no "$T/unit/$u.service" >"$T/verify" 2>&1; rc=$?
		grep -v 'castiron-\(boot\|dnsmasq\).service: Unit not found\|Failed to load unit' \
		    "$T/verify" >"$T/verify.left"
		check "systemd-analyze finds nothing to complain of in $u.service (exit $rc)" \
		    "$rc" -eq 0 -a ! -s "$T/verify.left"
		[ -s "$T/verify" ] && sed 's/^/# /' "$T/verify"
	done
else
	skip "systemd-analyze verifies the units" "systemd-analyze not installed"
fi

if [ "$(id -u)" != 0 ] || ! command -v dnsmasq >/dev/null; then
	skip "the dnsmasq unit's commands" "needs root and dnsmasq"
	done_testing; exit
fi
# lab_net N NET: namespace ci-units-$$-N with prov0 (NET.1/24), whose
# peer prov1 (MAC $MACP:0N, of this run only) is in ci-units-$$-Nc, the
# client's.
MACP=02:ce:$(printf '%02x:%02x:00' $(($$ % 256)) $(($$ / 256 % 256)))
lab_net() {
	ip netns add "ci-units-$$-$1" || return 1
	ip netns add "ci-units-$$-$1c" || return 1
	at_exit "ip netns del ci-units-$$-$1; ip netns del ci-units-$$-$1c"
	ip -n "ci-units-$$-$1" link add prov0 type veth peer name prov1 netns "ci-units-$$-$1c"
	ip -n "ci-units-$$-$1c" link set prov1 address "$MACP:0$1"
	ip -n "ci-units-$$-$1c" link set prov1 up
	ip -n "ci-units-$$-$1" addr add "$2.1/24" dev prov0
	ip -n "ci-units-$$-$1" link set prov0 up
	ip -n "ci-units-$$-$1" link set lo up
}
NS=ci-units-$$-1
lab_net 1 "10.250.$(($$ % 250))" || exit 1
R=$T/run
mkdir -p "$R" "$T/state"
cat >"$T/c.ini" <<EOF
[castiron]
state_dir = $T/state
[inventory]
database = $T/inv.db
[boot]
listen = 10.250.$(($$ % 250)).1:8080
interface = prov0
dhcp_range = 10.250.$(($$ % 250)).100,10.250.$(($$ % 250)).199,1h
dnsmasq_dir = $R
dnsmasq_pidfile = $R/dnsmasq.pid
EOF
"$CASTIRON" -c "$T/c.ini" inventory add h1 --site s --mac 52:54:00:00:00:01 \
    --address 10.250.$(($$ % 250)).51 >/dev/null
# The unit's commands, word for word but for the paths.
unit_cmd() {	# KEY
	awk -v k="$1=" 'index($0, k) == 1 { on = 1; $0 = substr($0, length(k) + 1) }
	    on { more = sub(/\\$/, ""); printf "%s ", $0; if (!more) exit }' etc/castiron-dnsmasq.service |
	    sed "s|/run/castiron/dnsmasq|$R|g; s|/usr/local/bin/castiron|$CASTIRON|; s|/etc/castiron/castiron.ini|$T/c.ini|"
}
PRE=$(unit_cmd ExecStartPre)
START=$(unit_cmd ExecStart)
ok "ExecStartPre writes dnsmasq's configuration" sh -c "$PRE"
check "  ...with h1's MAC and address in the hosts file" \
    "$(cat "$R/hosts")" = "52:54:00:00:00:01,10.250.$(($$ % 250)).51,h1"
# shellcheck disable=SC2086
ip netns exec "$NS" $START 2>"$T/dnsmasq.err" &
DM=$!
at_exit "kill $DM"
ok "ExecStart: dnsmasq runs on it and writes the pid file the boot service signals" \
    wait_for 10 "dnsmasq's pid file" test -s "$R/dnsmasq.pid"
ok "  ...logging to stderr, for the journal: DHCP on the range, no DNS" \
    wait_for 10 "dnsmasq's log" sh -c "grep -q 'DHCP, IP range 10.250.$(($$ % 250)).100' '$T/dnsmasq.err' &&
    grep -q 'DNS service limited\|DNS disabled' '$T/dnsmasq.err'"
ok "  ...it read the hosts file" grep -q "read $R/hosts" "$T/dnsmasq.err"
check "  ...it is the process of the pid file" "$(cat "$R/dnsmasq.pid")" = "$DM"
kill -HUP "$DM"
ok "SIGHUP (ExecReload, and the boot service's signal) makes it read the hosts again" \
    wait_for 10 "the second read" sh -c "[ \$(grep -c 'read $R/hosts' '$T/dnsmasq.err') -ge 2 ]"

# -- the leases: castiron's own file, one per castiron --------------------------
check "the configuration names castiron's lease file, in state_dir" \
    "$(grep -c "^dhcp-leasefile=$T/state/dnsmasq.leases\$" "$R/castiron.conf")" = 1
# A second castiron and its dnsmasq, as the unit runs it, on a network of
# its own.
NET2=10.250.$((($$ + 1) % 250))
lab_net 2 "$NET2" || exit 1
R2=$T/run2
mkdir -p "$R2"
sed -e "s|$T/state|$T/state2|; s|$T/inv.db|$T/inv2.db|; s|^dnsmasq_dir = .*|dnsmasq_dir = $R2|" \
    -e "s|^dnsmasq_pidfile = .*|dnsmasq_pidfile = $R2/dnsmasq.pid|" \
    -e "s|10\.250\.$(($$ % 250))\.|$NET2.|g" "$T/c.ini" >"$T/c2.ini"
"$CASTIRON" -c "$T/c2.ini" inventory add h2 --site s --mac 52:54:00:00:09:09 >/dev/null
ok "a second castiron writes its dnsmasq's configuration" \
    sh -c "$(echo "$PRE" | sed "s|$T/c.ini|$T/c2.ini|")"
# shellcheck disable=SC2086
ip netns exec "ci-units-$$-2" $(echo "$START" | sed "s|$R|$R2|g") 2>"$T/dnsmasq2.err" &
DM2=$!
at_exit "kill $DM2"
ok "  ...its dnsmasq runs" wait_for 10 "the second dnsmasq's pid file" test -s "$R2/dnsmasq.pid"
lease() {	# N: one DHCP exchange of client N; prints the address bound
	ip netns exec "ci-units-$$-${1}c" busybox udhcpc -i prov1 -f -q -n -t 5 -T 2 \
	    -s "$T/udhcpc.script" >/dev/null 2>&1 && cat "$T/bound"
}
printf '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" >%s/bound\nexit 0\n' "$T" >"$T/udhcpc.script"
chmod +x "$T/udhcpc.script"
L1=$(lease 1)
L2=$(lease 2)
check "client 1 leased an address of the first range ($L1)" -n "$(echo "$L1" | grep "^10\.250\.$(($$ % 250))\.1[0-9][0-9]\$")"
check "client 2 leased an address of the second range ($L2)" -n "$(echo "$L2" | grep "^$NET2\.1[0-9][0-9]\$")"
ok "each dnsmasq wrote its lease file" wait_for 10 "both lease files" \
    sh -c "grep -q $MACP:01 '$T/state/dnsmasq.leases' && grep -q $MACP:02 '$T/state2/dnsmasq.leases'"
check "the first castiron's leases: client 1's only" \
    "$(awk '{ print $2, $3 }' "$T/state/dnsmasq.leases" 2>/dev/null)" = "$MACP:01 $L1"
check "the second castiron's leases: client 2's only" \
    "$(awk '{ print $2, $3 }' "$T/state2/dnsmasq.leases" 2>/dev/null)" = "$MACP:02 $L2"
check "the machine's shared lease file has neither (/var/lib/misc/dnsmasq.leases)" \
    "$(cat /var/lib/misc/dnsmasq.leases 2>/dev/null | grep -c "$MACP")" = 0
done_testing
