# castiron bmc against emulated Redfish BMCs (tests/lab/redfish-bmc.py,
# itself proven against redfishtool and sushy by lab_redfish.sh), each a
# real HTTPS server on loopback with a certificate from a CA this test
# makes.  The machines behind them are simulated here (power and boot are
# state only); bmc_machines.sh drives real QEMU machines.  Asserts what
# the BMC saw (its /lab/state: power, boot override, sessions left open,
# requests by method and path) and what the operator sees (one line per
# host, exit status, no secret anywhere).
# time-limit: 300
. tests/lib.sh

EMU=tests/lab/redfish-bmc.py
PW='bmc-Secret-7f3a'
BASE=$((21000 + ($$ % 900) * 10))

# -- a CA, a certificate for 127.0.0.1 and another CA nobody trusts --------
. tests/lab/testca.sh
testca_new "$T" ca; testca_new "$T" rogue
testca_cert "$T" ca bmc 127.0.0.1; testca_cert "$T" rogue evil 127.0.0.1
printf 'admin:%s\noperator:other-pass\n' "$PW" >"$T/creds"
chmod 600 "$T/creds"

# rf_start N [emulator options...]: BMC N on 127.0.0.1:BASE+N.
rf_start() {
	_b=$1; shift
	_cert=bmc
	[ "${ROGUE:-}" = 1 ] && _cert=evil
	python3 "$EMU" --listen "127.0.0.1:$((BASE + _b))" --cert "$T/$_cert.pem" \
	    --key "$T/$_cert.key" --credentials "$T/creds" --serial "SN-000$_b" \
	    --mac "52:54:00:12:00:$(printf %02x "$_b")" --state "$T/bmc$_b.state" \
	    --pidfile "$T/bmc$_b.pid" "$@" >"$T/bmc$_b.log" 2>&1 &
	echo $! >"$T/bmc$_b.ppid"
	at_exit "kill $! 2>/dev/null"
	wait_for 10 "BMC $_b" test -s "$T/bmc$_b.pid"
}
rf_stop() { kill "$(cat "$T/bmc$1.ppid")" 2>/dev/null; wait "$(cat "$T/bmc$1.ppid")" 2>/dev/null; rm -f "$T/bmc$1.pid"; }
st() {	# N JQ: the BMC's inspection state
	curl -s --cacert "$T/ca.pem" "https://127.0.0.1:$((BASE + $1))/lab/state" | jq -r "$2"
}
reset_counters() { curl -s --cacert "$T/ca.pem" -X POST "https://127.0.0.1:$((BASE + $1))/lab/reset-counters" >/dev/null; }

cat >"$T/c.ini" <<EOF
[inventory]
database = $T/inv.db
[bmc]
username = admin
password_file = $T/pw
ca_bundle = $T/ca.pem
power_timeout = 20s
connect_timeout = 3s
io_timeout = 10s
EOF
printf '%s\n' "$PW" >"$T/pw"
chmod 600 "$T/pw"
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON

for n in 1 2 3 4 5 6; do
	"$C" inventory add "h$n" --site s1 --rack r1 --unit "$n" --serial "SN-000$n" \
	    --bmc "127.0.0.1:$((BASE + n))" --mac "52:54:00:12:00:0$n" >/dev/null
done
rf_start 1
rf_start 2

# -- power --------------------------------------------------------------------
ok "power status of an off machine" "$C" bmc power h1 status
check "  ...says off" "$("$C" bmc power h1 status --format json | jq -r '.[0].power')" = off
check "  ...and left no session open" "$(st 1 .sessions_open)" = 0
reset_counters 1
ok "power on" "$C" bmc power h1 on
check "  ...the BMC's machine is on" "$(st 1 .power_state)" = On
check "  ...through the System found from the service root, not /Systems/1" \
    "$(st 1 '.requests | keys | map(select(test("Systems/1$"))) | length')" = 0
check "  ...the reset was On" "$(st 1 '.resets | last')" = On
check "  ...every request said Accept-Encoding: identity" "$(st 1 '[.log[].accept_encoding] | unique | join(",")')" = identity
check "  ...and no action POST carried If-Match" "$(st 1 '[.log[] | select(.method == "POST" and .if_match != null)] | length')" = 0
check "  ...no session left open" "$(st 1 .sessions_open)" = 0
check "  ...the session was deleted, not left to expire" \
    "$(st 1 '(.counters.sessions_created // 0 | tostring) + "/" + (.counters.sessions_deleted // 0 | tostring)')" = 1/1
ok "power on again: nothing to do, still ok" "$C" bmc power h1 on
ok "power cycle of an on machine" "$C" bmc power h1 cycle
check "  ...restarted (ForceRestart), still on" "$(st 1 '(.resets | last) + " " + .power_state')" = "ForceRestart On"
ok "power off" "$C" bmc power h1 off
check "  ...the machine is off" "$(st 1 .power_state)" = Off
ok "power cycle of an off machine powers it on" "$C" bmc power h1 cycle
check "  ...on" "$(st 1 .power_state)" = On
ok "soft-off (GracefulShutdown)" "$C" bmc power h1 soft-off
check "  ...off, by GracefulShutdown" "$(st 1 '(.resets | last) + " " + .power_state')" = "GracefulShutdown Off"

# -- boot ---------------------------------------------------------------------
ok "boot pxe (one time)" "$C" bmc boot h1 pxe
check "  ...override Pxe/Once at the BMC" "$(st 1 '.boot.BootSourceOverrideTarget + "/" + .boot.BootSourceOverrideEnabled')" = Pxe/Once
ok "boot disk --persistent" "$C" bmc boot h1 disk --persistent
check "  ...override Hdd/Continuous" "$(st 1 '.boot.BootSourceOverrideTarget + "/" + .boot.BootSourceOverrideEnabled')" = Hdd/Continuous
check "  ...no BootSourceOverrideMode sent (boot_mode = keep)" \
    "$(st 1 '.last_boot_patch | has("BootSourceOverrideMode")')" = false
check "  ...no session left open" "$(st 1 .sessions_open)" = 0

# -- identity -----------------------------------------------------------------
ok "identity of a host that matches its enrollment" "$C" bmc identity h1
check "  ...serial and MAC" "$("$C" bmc identity h1 --format json | jq -r '.[0] | .serial + " " + (.mac_list | join(","))')" = "SN-0001 52:54:00:12:00:01"
"$C" inventory add h9 --site s1 --serial SN-WRONG --bmc "127.0.0.1:$((BASE + 9))" >/dev/null
rf_start 9
fails_with 1 "identity of a host whose BMC reports another serial and a MAC not enrolled" "$C" bmc identity h9
out=$("$C" bmc identity h9 2>&1 >/dev/null)
check "  ...one line naming the host, both serials and the MAC" "$(echo "$out" | wc -l)" = 1 -a \
    -n "$(echo "$out" | grep 'h9: bmc 127.0.0.1' | grep 'enrolled SN-WRONG, BMC says SN-0009' | grep '52:54:00:12:00:09 not enrolled')"
"$C" bmc identity h9 --learn-macs >/dev/null 2>&1
check "  ...--learn-macs learns nothing from a BMC whose serial is not the enrollment's" \
    "$("$C" inventory show h9 --format json | jq '.nics | length')" = 0
"$C" inventory add h8 --site s1 --serial SN-0008 --bmc "127.0.0.1:$((BASE + 8))" >/dev/null
rf_start 8
ev0=$("$C" inventory show h8 --format json | jq ".events | length")
fails_with 1 "identity of a host whose BMC reports a MAC not enrolled" "$C" bmc identity h8
ok "  ...--learn-macs" "$C" bmc identity h8 --learn-macs
check "  ...records the MAC as the host's" \
    "$("$C" inventory show h8 --format json | jq -r '[.nics[].mac] | join(",")')" = 52:54:00:12:00:08
check "  ...with an event" "$("$C" inventory show h8 --format json | jq ".events | length - $ev0")" = 1
check "  ...a second run learns nothing more" \
    "$("$C" bmc identity h8 --learn-macs --format json 2>/dev/null | jq -r '.[0].learned')" = ""
ok "  ...and the host now matches" "$C" bmc identity h8

# -- credentials and TLS ------------------------------------------------------
printf 'wrong-password\n' >"$T/pw"
fails_with 1 "a wrong password: exit 1" "$C" bmc power h1 status
out=$("$C" bmc power h1 status 2>&1)
check "  ...one line on stderr, naming host and BMC" "$("$C" bmc power h1 status 2>&1 >/dev/null | wc -l)" = 1 -a \
    -n "$(echo "$out" | grep 'h1: bmc 127.0.0.1.*credentials refused')"
check "  ...no password in the output" -z "$(echo "$out" | grep -e wrong-password -e "$PW")"
check "  ...no password in the JSON" -z "$("$C" bmc power h1 status --format json 2>/dev/null | grep -e wrong-password -e "$PW")"
mkdir -p "$T/bmc.d"
printf '%s\n' "$PW" >"$T/bmc.d/h1"
chmod 600 "$T/bmc.d/h1"
printf 'password_dir = %s\n' "$T/bmc.d" >>"$T/c.ini"
ok "password_dir/HOST wins over password_file" "$C" bmc power h1 status
fails_with 1 "  ...another host still uses the (wrong) password_file" "$C" bmc power h2 status
chmod 644 "$T/bmc.d/h1"
out=$("$C" bmc power h1 status 2>&1)
check "  ...a group-readable password file is refused by name" -n "$(echo "$out" | grep "$T/bmc.d/h1: readable by group or others")"
chmod 600 "$T/bmc.d/h1"
printf '%s\n' "$PW" >"$T/pw"
# (the pattern is written so that no grep's own arguments match it)
"$C" bmc power h1 status --parallel 1 >/dev/null 2>&1 &
cpid=$!
check "  ...no process has the password in its arguments" \
    "$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -c 'bmc-Secret-7f3[a]')" = 0
wait $cpid

rf_stop 3 2>/dev/null
ROGUE=1 rf_start 3
fails_with 1 "a BMC whose certificate no trusted CA signed is refused" "$C" bmc power h3 status
check "  ...saying so" -n "$("$C" bmc power h3 status 2>&1 | grep 'h3: bmc .*TLS certificate not trusted')"
check "  ...and nothing was sent past the handshake" "$(st_rogue() { curl -sk "https://127.0.0.1:$((BASE + 3))/lab/state" | jq -r .requests_total; }; st_rogue)" = 0
sed 's/^ca_bundle = .*/ca_bundle = '"$(echo "$T" | sed 's/\//\\\//g')"'\/ca.pem\ntls_verify = no/' "$T/c.ini" >"$T/noverify.ini"
ok "tls_verify = no reaches it" "$C" -c "$T/noverify.ini" bmc power h3 status
check "  ...with a warning that says so" -n "$("$C" -c "$T/noverify.ini" bmc power h3 status 2>&1 | grep 'TLS is not verified (tls_verify = no)')"
rf_stop 3

# -- quirks -------------------------------------------------------------------
quirk() {	# N PROFILE NAME: boot pxe and power on through a quirky BMC
	rf_stop "$1" 2>/dev/null
	rf_start "$1" --profile "$2"
	ok "$3: boot pxe" "$C" bmc boot "h$1" pxe
	check "  ...$2: the override is set" "$(st "$1" '(.pending_settings // {}).BootSourceOverrideTarget // .boot.BootSourceOverrideTarget')" = Pxe
	ok "$3: power on" "$C" bmc power "h$1" on
	check "  ...$2: on, no session left" "$(st "$1" '.power_state + " " + (.sessions_open | tostring)')" = "On 0"
	PATCHES=$(st "$1" '[.log[] | select(.method == "PATCH") | (.status | tostring) + ":" + ((.if_match // "none") | sub("[^W]*$"; "") | if . == "" then "tag" else . end)] | join(" ")')
	rf_stop "$1"
}
quirk 3 weak-etag "weak ETags refused as If-Match"
check "  ...weak-etag: the weak If-Match refused (412), the strong one taken" "$PATCHES" = "412:W 200:tag" -o "$PATCHES" = "412:W 204:tag"
quirk 3 require-if-match "428 without If-Match"
quirk 3 no-if-match-on-post "If-Match refused on POST"
quirk 3 settings "@Redfish.Settings"
quirk 3 delayed-power "PowerState lagging"
quirk 3 reset-409 "409 on the first On"

# a session cap already reached by others: castiron falls back to Basic
rf_start 4 --profile session-limit-2
for i in 1 2; do
	curl -s --cacert "$T/ca.pem" -X POST -H 'Content-Type: application/json' \
	    -d '{"UserName":"operator","Password":"other-pass"}' \
	    "https://127.0.0.1:$((BASE + 4))/redfish/v1/SessionService/Sessions" >/dev/null
done
check "two sessions held by someone else" "$(st 4 .sessions_open)" = 2
ok "session limit reached: power on by HTTP Basic" "$C" bmc power h4 on
check "  ...on, and castiron left the others' sessions alone" "$(st 4 '.power_state + " " + (.sessions_open | tostring)')" = "On 2"
rf_stop 4

# -- transient failures, bounds, reset types, boot mode -------------------------
"$C" inventory add h7 --site s2 --serial SN-0007 --bmc "127.0.0.1:$((BASE + 7))" >/dev/null
rf_start 7 --reset-types PushPowerButton,ForceOff,GracefulShutdown
inject() { curl -s --cacert "$T/ca.pem" -X POST -d "$2" "https://127.0.0.1:$((BASE + $1))/lab/inject" >/dev/null; }
ok "On not allowed: power on by PushPowerButton, as the BMC allows" "$C" bmc power h7 on
check "  ...PushPowerButton it was, and the machine is on" "$(st 7 '(.resets | last) + " " + .power_state')" = "PushPowerButton On"
fails_with 1 "no restart allowed: cycle of an on machine fails, saying why" "$C" bmc power h7 cycle
check "  ...naming what it wanted" -n "$(grep 'allows no reset type for cycle (wanted ForceRestart)' "$T/.out")"
rf_stop 7
rf_start 7
inject 7 '{"method": "GET", "path": "/redfish/v1/Systems*", "status": 503, "count": 2}'
reset_counters 7
ok "two 503s from the BMC: retried, then done" "$C" bmc power h7 on
check "  ...the Systems collection was asked three times" "$(st 7 '.requests["GET /redfish/v1/Systems"]')" = 3
inject 7 '{"method": "GET", "path": "/redfish/v1/Systems*", "drop": true, "count": 1}'
ok "a dropped connection: retried, then done" "$C" bmc power h7 status
inject 7 '{"method": "GET", "path": "/redfish/v1/Systems*", "status": 503, "count": 9}'
fails_with 1 "a BMC that keeps answering 503: bounded, then failed" "$C" bmc power h7 status
check "  ...after four attempts, saying HTTP 503" -n "$(grep 'h7: bmc .*HTTP 503' "$T/.out")"
rf_stop 7
rf_start 7 --profile delayed-power --power-delay 8
sed 's/^power_timeout = .*/power_timeout = 2s/' "$T/c.ini" >"$T/short.ini"
t0=$(now_ms)
fails_with 1 "PowerState that never arrives: bounded by power_timeout" "$C" -c "$T/short.ini" bmc power h7 on
took=$(( $(now_ms) - t0 ))
check "  ...within it (2 s; took $took ms), saying so" "$took" -lt 6000 -a \
    -n "$(grep 'PowerState still off, not on, after power_timeout (2000 ms)' "$T/.out")"
check "  ...and the session was closed" "$(st 7 .sessions_open)" = 0
rf_stop 7
rf_start 7
sed 's/^power_timeout = .*/power_timeout = 20s\nboot_mode = legacy/' "$T/c.ini" >"$T/legacy.ini"
sed 's/^power_timeout = .*/power_timeout = 20s\nboot_mode = uefi/' "$T/c.ini" >"$T/uefi.ini"
ok "boot_mode = legacy on a Legacy System" "$C" -c "$T/legacy.ini" bmc boot h7 pxe
check "  ...sends no BootSourceOverrideMode (it does not differ)" "$(st 7 '.last_boot_patch | has("BootSourceOverrideMode")')" = false
ok "boot_mode = uefi on a Legacy System" "$C" -c "$T/uefi.ini" bmc boot h7 pxe
check "  ...sends BootSourceOverrideMode UEFI" "$(st 7 '.last_boot_patch.BootSourceOverrideMode')" = UEFI
rf_stop 7

# -- a host's own driver wins over the site's --------------------------------
fails_with 2 "inventory add --bmc-driver that is no driver" "$C" inventory add hx --site s3 --bmc-driver telnet
check "  ...named in one line" -n "$(grep "bmc_driver: 'telnet' is neither redfish nor ipmi" "$T/.out")"
sed 's/^\[bmc\]$/[bmc]\ndriver = ipmi/' "$T/c.ini" >"$T/ipmi.ini"
"$C" inventory add h10 --site s3 --serial SN-0010 --bmc "127.0.0.1:$((BASE + 10))" --bmc-driver redfish >/dev/null
printf 'hostname,site,serial,bmc,bmc_driver\nh11,s3,SN-0011,127.0.0.1:%s,\n' $((BASE + 11)) >"$T/h11.csv"
"$C" inventory import "$T/h11.csv" >/dev/null
rf_start 10; rf_start 11
check "inventory show says h10's driver" "$("$C" inventory show h10 --format json | jq -r .bmc_driver)" = redfish
ok "[bmc] driver = ipmi, but h10's own bmc_driver is redfish: Redfish it is" "$C" -c "$T/ipmi.ini" bmc power h10 status
fails_with 1 "h11 has none: the site's ipmi, which a Redfish BMC does not answer" \
    "$C" -c "$T/ipmi.ini" --format json bmc power h11 status
rf_stop 10; rf_stop 11

# -- many hosts at once, one failing ------------------------------------------
rf_start 3; rf_start 4; rf_start 5
# h6's BMC is not running
fails_with 1 "power on rack r1 with one BMC down: exit 1" "$C" bmc power --rack r1 on --parallel 6
out=$("$C" bmc power --rack r1 status --parallel 6 2>&1 >/dev/null)
check "  ...one line on stderr, for h6 only" "$(echo "$out" | wc -l)" = 1 -a -n "$(echo "$out" | grep '^castiron: h6: bmc ')"
json=$("$C" bmc power --rack r1 status --format json 2>/dev/null)
check "  ...the other five are on" "$(echo "$json" | jq -r '[.[] | select(.power == "on") | .hostname] | join(",")')" = h1,h2,h3,h4,h5
check "  ...h6 failed in the JSON, with its error" "$(echo "$json" | jq -r '.[] | select(.hostname == "h6") | .result')" = failed
for n in 1 2 3 4 5; do
	check "  ...BMC $n: no session left open" "$(st "$n" .sessions_open)" = 0
done

# -- a BMC stopped mid-wait: the session is still deleted ---------------------
rf_stop 5
rf_start 5 --profile delayed-power --power-delay 6
( sleep 1.5; kill -INT $(pgrep -f "castiron.*bmc power h5 on" | head -1) 2>/dev/null ) &
fails_with 1 "SIGINT while waiting for PowerState: exit 1" "$C" bmc power h5 on
check "  ...and the session was deleted all the same" "$(st 5 .sessions_open)" = 0

# -- usage --------------------------------------------------------------------
fails_with 2 "an unknown power verb is bad usage" "$C" bmc power h1 sideways
fails_with 2 "an unknown host is bad usage" "$C" bmc power nosuch status
fails_with 2 "no host and no --rack is bad usage" "$C" bmc power status
"$C" inventory add nob --site s1 >/dev/null
fails_with 2 "a host with no BMC enrolled is bad usage" "$C" bmc power nob status

done_testing
