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
# the boot service sends) makes it read the hosts file again.
. tests/lib.sh

ok "castiron-boot.service runs castiron boot serve" \
    grep -qx 'ExecStart=/usr/local/bin/castiron -c /etc/castiron/castiron.ini boot serve' \
    etc/castiron-boot.service
check "castiron-dnsmasq.service reads the configuration where [boot] dnsmasq_dir puts it by default" \
    "$(grep -c 'conf-file=/run/castiron/dnsmasq/castiron.conf' etc/castiron-dnsmasq.service)" = 1
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
NS=ci-units-$$-1
ip netns add "$NS" || exit 1
at_exit "ip netns del $NS"
ip -n "$NS" link add prov0 type veth peer name prov1
ip -n "$NS" link set prov1 up
ip -n "$NS" addr add 10.250.$(($$ % 250)).1/24 dev prov0
ip -n "$NS" link set prov0 up
ip -n "$NS" link set lo up
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
done_testing
