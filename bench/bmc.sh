# BMC control at rack scale: a one-time network boot and a power-on for 16
# emulated Redfish BMCs (tests/lab/redfish-bmc.py on loopback, HTTPS, each
# a simulated machine whose PowerState lags the request by POWER_DELAY
# seconds, as real BMCs' do), by castiron --parallel 16 against --parallel
# 1, and against Debian's redfishtool doing the same one BMC after another
# (what a script around it does) and all 16 at once (16 processes).  Then
# the HTTP requests each client makes for one power-on and for one boot
# override, counted by the BMC.  Best of RUNS; nothing here passes or
# fails on a timing.
set -u
CASTIRON=${CASTIRON:-$PWD/build/castiron}
EMU=$PWD/tests/lab/redfish-bmc.py
B=$(mktemp -d /tmp/castiron-bench.XXXXXX)
RUNS=${RUNS:-2}
N=16
POWER_DELAY=${POWER_DELAY:-1}
BASE=$((23000 + ($$ % 500) * 20))
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$B"' EXIT

command -v redfishtool >/dev/null || { echo "bench bmc: needs redfishtool (make deps-bench)"; exit 1; }
. bench/common

. tests/lab/testca.sh
testca_new "$B" ca
testca_cert "$B" ca bmc 127.0.0.1
PW=bench-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
(umask 077; printf 'admin:%s\n' "$PW" >"$B/creds"; printf '%s\n' "$PW" >"$B/pw")

for i in $(seq "$N"); do
	python3 "$EMU" --listen "127.0.0.1:$((BASE + i))" --cert "$B/bmc.pem" --key "$B/bmc.key" \
	    --credentials "$B/creds" --serial "BENCH-$i" --mac "52:54:00:99:00:$(printf %02x "$i")" \
	    --profile delayed-power --power-delay "$POWER_DELAY" --pidfile "$B/bmc$i.pid" \
	    >"$B/bmc$i.log" 2>&1 &
	PIDS="$PIDS $!"
done
for i in $(seq "$N"); do
	for _w in $(seq 100); do [ -s "$B/bmc$i.pid" ] && break; sleep 0.1; done
done

cat >"$B/c.ini" <<EOF
[inventory]
database = $B/inv.db
[bmc]
username = admin
password_file = $B/pw
ca_bundle = $B/ca.pem
power_timeout = 60s
EOF
export CASTIRON_CONFIG="$B/c.ini"
for i in $(seq "$N"); do
	"$CASTIRON" inventory add "b$i" --site bench --rack r1 --unit "$i" --serial "BENCH-$i" \
	    --bmc "127.0.0.1:$((BASE + i))" >/dev/null
done
all_off() { "$CASTIRON" bmc power --rack r1 off --parallel "$N" >/dev/null 2>&1; }
url() { echo "https://127.0.0.1:$((BASE + $1))"; }
lab() { curl -s --cacert "$B/ca.pem" "$@"; }
# redfishtool does not verify certificates (it has no CA option); the
# emulators are on loopback.
rft() {	# N ARGS...
	_i=$1; shift
	redfishtool -r "127.0.0.1:$((BASE + _i))" -u admin -p "$PW" -S Always -A Session "$@"
}
rft_one() { rft "$1" Systems setBootOverride Once Pxe >/dev/null && rft "$1" Systems reset On >/dev/null; }
rft_serial() { each_in_turn "$N" rft_one; }
rft_parallel() { each_at_once "$N" rft_one; }
ci_parallel() {
	"$CASTIRON" bmc boot --rack r1 pxe --parallel "$1" >/dev/null &&
	    "$CASTIRON" bmc power --rack r1 on --parallel "$1" >/dev/null
}
# redfishtool returns at once after the reset; castiron returns when the
# BMC reports On.  To time both to the same point, wait for every BMC
# to report On after a redfishtool run.
all_on() {
	for i in $(seq "$N"); do
		for _w in $(seq 600); do
			[ "$(lab "$(url "$i")/lab/state" | jq -r .reported_power_state)" = On ] && break
			sleep 0.05
		done
	done
}
best() { best_of all_off "$@"; }	# every machine off before each run
rft_serial_on() { rft_serial && all_on; }
rft_parallel_on() { rft_parallel && all_on; }

echo "16 BMCs, PowerState lagging ${POWER_DELAY}s, one-time PXE boot then power on; best of $RUNS"
c16=$(best ci_parallel 16)
c1=$(best ci_parallel 1)
r1=$(best rft_serial_on)
r16=$(best rft_parallel_on)
printf '  castiron --parallel 16     %7.3f s\n' "$c16"
printf '  castiron --parallel 1      %7.3f s   (--parallel 16 is %sx faster; goal >= 8x)\n' "$c1" "$(ratio "$c1" "$c16")"
printf '  redfishtool, one by one    %7.3f s   (castiron --parallel 16: %sx faster)\n' "$r1" "$(ratio "$r1" "$c16")"
printf '  redfishtool, 16 at once    %7.3f s   (castiron --parallel 16: %sx faster)\n' "$r16" "$(ratio "$r16" "$c16")"

# Requests per operation, as the BMC counts them (its /lab/state).  For
# the same outcome (the machine known to be on, the override known to be
# set) a redfishtool script must also read the System back: one more
# redfishtool run, each of which logs in, finds the System and logs out.
count() {	# N: requests since the last reset of BMC N's counters
	lab "$(url "$1")/lab/state" | jq -r .requests_total
}
reset() { lab -X POST "$(url "$1")/lab/reset-counters" >/dev/null; }
rft_until_on() {
	rft 1 Systems reset On >/dev/null 2>&1
	for _w in $(seq 100); do
		rft 1 Systems get 2>/dev/null | jq -e '.PowerState == "On"' >/dev/null && return
		sleep 0.5
	done
}
all_off
reset 1; "$CASTIRON" bmc power b1 on >/dev/null 2>&1; c_on=$(count 1)
all_off
reset 1; rft 1 Systems reset On >/dev/null 2>&1; r_on=$(count 1)
all_off
reset 1; rft_until_on; r_on_sure=$(count 1)
reset 1; "$CASTIRON" bmc boot b1 pxe >/dev/null 2>&1; c_boot=$(count 1)
reset 1; rft 1 Systems setBootOverride Once Pxe >/dev/null 2>&1; r_boot=$(count 1)
reset 1; rft 1 Systems setBootOverride Once Pxe >/dev/null 2>&1; rft 1 Systems get >/dev/null 2>&1; r_boot_sure=$(count 1)
all_off
polls=$(awk -v d="$POWER_DELAY" 'BEGIN { printf "%d", d / 0.5 + 1 }')
echo "HTTP requests for one power-on of an off machine (the BMC's count)"
printf '  castiron %3d (of them %d polls of PowerState until On)\n' "$c_on" "$polls"
printf '  redfishtool: reset alone %d (castiron/redfishtool %s); reset and read until On %d (%s)\n' \
    "$r_on" "$(ratio "$c_on" "$r_on")" "$r_on_sure" "$(ratio "$c_on" "$r_on_sure")"
echo "HTTP requests for one one-time PXE boot override"
printf '  castiron %3d (the override confirmed from the PATCH reply)\n' "$c_boot"
printf '  redfishtool: PATCH alone %d (castiron/redfishtool %s); PATCH and read back %d (%s)\n' \
    "$r_boot" "$(ratio "$c_boot" "$r_boot")" "$r_boot_sure" "$(ratio "$c_boot" "$r_boot_sure")"
