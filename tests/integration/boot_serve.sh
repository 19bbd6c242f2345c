# castiron boot serve, the boot service, driven as a booting machine
# drives it: the per-MAC iPXE script, the deploy kernel and the cached
# image with Range, the check-in with the one-time token.  provision runs
# for real (power = bmc through an emulated BMC, simulated machine) and
# waits at its boot step; the test plays the machine's firmware and deploy
# environment with curl: it fetches its script, checks in with the token
# and a host key, and the lab host (a real sshd, tests/lab/provlab.sh)
# presents that key, so provision accepts exactly it.  Also: the script
# for an installed host (exit) and an unknown MAC (enlistment), a replayed
# token and a token presented with another host's MACs (refused, alarms),
# hostile paths, MACs and Ranges (4xx, nothing served), a restart of the
# service in the middle (nothing lost), and a run stopped by SIGTERM while
# it waits for a check-in (it ends at once, the host failed at boot).
# time-limit: 240
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/labconf.sh

lab_need "the boot service"
lab_init
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
tests/lab/mkosimage "$T/os.img" 48 4
PORT=$((22000 + $$ % 900))
URL=http://127.0.0.1:$PORT

# The host key this boot's deploy environment "generated": the lab host
# presents it.
ssh-keygen -q -t ed25519 -N '' -C deploy-boot -f "$T/boot_key"
LAB_HOSTKEY=$T/boot_key
export LAB_HOSTKEY
lab_bmc_host 1 redfish || { echo "not ok 1 - lab host 1"; echo "1..1"; exit 1; }
A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC
lab_host 2 openssh 8; M2=$LAB_MAC
mkdir -p "$T/deploy"
head -c 300000 /dev/urandom >"$T/deploy/vmlinuz"
head -c 200000 /dev/urandom >"$T/deploy/initrd.img"

# image_transport push: the host cannot reach the boot service, on this
# namespace's loopback.
lab_config provision.reboot=none provision.boot_timeout=90s provision.reboot_timeout= \
    provision.image_transport=push \
    boot.listen="127.0.0.1:$PORT" boot.deploy_dir="$T/deploy" boot.cmdline=console=ttyS0,115200
hy() { echo "$1" | tr : -; }
"$C" inventory add h1 --site s --rack r --unit 1 --serial LAB-SN-0001 --bmc "$(bmc_addr 1)" \
    --mac "$M1" --address "$A1" --disk "$D1" >/dev/null
"$C" inventory add h2 --site s --rack r --unit 2 --mac "$M2" >/dev/null
"$C" image fetch testos >/dev/null 2>&1

serve() {
	"$C" boot serve >>"$T/serve.log" 2>&1 &
	SERVE=$!
	at_exit "kill $SERVE 2>/dev/null"
	wait_for 10 "the boot service" curl -sf "$URL/boot.ipxe"
}
ok "the boot service starts" serve
get() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }

# -- scripts --------------------------------------------------------------------
check "/boot.ipxe chains to the per-MAC script" "$(get "$URL/boot.ipxe")" = 200 -a \
    -n "$(grep -F "$URL/ipxe/\${netX/mac:hexhyp}" "$T/body")"
check "an installed host's MAC gets exit (its own disk)" "$(get "$URL/ipxe/$(hy "$M2")")" = 200 -a \
    "$(cat "$T/body")" = "$(printf '#!ipxe\nexit')"
check "h1, not being provisioned, gets exit too" "$(get "$URL/ipxe/$(hy "$M1")"; grep -c exit "$T/body")" = 2001
check "an unknown MAC gets the enlistment environment" "$(get "$URL/ipxe/02-00-00-00-77-01")" = 200 -a \
    -n "$(grep 'castiron.mode=enlist' "$T/body")" -a -z "$(grep 'castiron.token' "$T/body")"
for bad in "../../etc/passwd" "02-00-00-00-77-0g" "02-00-00-00-77-01-02" "%2e%2e%2fetc"; do
	check "a hostile MAC '$bad': 400 or 404" "$(get "$URL/ipxe/$bad")" -ge 400 -a "$(cat "$T/body" | wc -c)" -lt 20
done

# -- files ----------------------------------------------------------------------
check "the deploy kernel, whole" "$(get "$URL/deploy/vmlinuz")" = 200 -a \
    "$(sha256sum <"$T/body" | cut -d' ' -f1)" = "$(sha256sum <"$T/deploy/vmlinuz" | cut -d' ' -f1)"
check "a range of the initramfs: 206 and its bytes" "$(get -H 'Range: bytes=1000-1999' "$URL/deploy/initrd.img")" = 206 -a \
    "$(sha256sum <"$T/body" | cut -d' ' -f1)" = "$(tail -c +1001 "$T/deploy/initrd.img" | head -c 1000 | sha256sum | cut -d' ' -f1)"
check "a range beyond the end: 416" "$(get -H 'Range: bytes=900000-' "$URL/deploy/initrd.img")" = 416
check "a malformed range: 416" "$(get -H 'Range: bytes=x-3' "$URL/deploy/initrd.img")" = 416
check "the cached image, an open range from 1 MiB" "$(get -H 'Range: bytes=1048576-' "$URL/images/testos")" = 206 -a \
    "$(sha256sum <"$T/body" | cut -d' ' -f1)" = "$(tail -c +1048577 "$T/os.img" | sha256sum | cut -d' ' -f1)"
check "an image not in the configuration: 404" "$(get "$URL/images/nosuch")" = 404
for bad in "/deploy/../c.ini" "/images/../../c.ini" "/deploy/" "/etc/passwd" "/deploy/vmlinuz/x"; do
	check "a path outside what is served ($bad): 404, nothing served" "$(get --path-as-is "$URL$bad")" = 404 -a \
	    -z "$(grep -e '\[inventory\]' -e 'root:' "$T/body")"
done
check "a POST elsewhere: 405" "$(get -X POST -d x "$URL/deploy/vmlinuz")" = 405

# -- provision h1: armed, powered, waiting for its check-in ---------------------
"$C" provision h1 >"$T/prov.out" 2>&1 &
PROV=$!
at_exit "kill $PROV 2>/dev/null"
ok "provision arms h1's network boot" wait_for 30 "h1 armed" test -s "$T/state/boot/h1.boot"
check "  ...owner-only" "$(stat -c %a "$T/state/boot/h1.boot")" = 600
check "h1's MAC now gets the deploy environment" "$(get "$URL/ipxe/$(hy "$M1")")" = 200 -a \
    -n "$(grep "kernel --name vmlinuz $URL/deploy/vmlinuz" "$T/body")" -a \
    -n "$(grep "initrd --name initrd.img $URL/deploy/initrd.img" "$T/body")"
TOKEN=$(grep -o 'castiron.token=[0-9a-f]*' "$T/body" | cut -d= -f2)
check "  ...with a one-time token of 128 bits" "${#TOKEN}" = 32
check "  ...and the check-in URL" -n "$(grep -F "castiron.checkin=$URL/checkin" "$T/body")"

# A restart of the service loses nothing: the token is on disk.
kill "$SERVE"; wait "$SERVE" 2>/dev/null
ok "the boot service restarts" serve
check "  ...and hands out the same token" "$(get "$URL/ipxe/$(hy "$M1")"; grep -o 'castiron.token=[0-9a-f]*' "$T/body" | cut -d= -f2)" = "200$TOKEN"

checkin() {	# TOKEN MAC... : the deploy environment's check-in
	_tok=$1; shift
	_macs=$(printf '"%s",' "$@"); _macs=[${_macs%,}]
	curl -s -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	    -d "{\"mode\":\"deploy\",\"token\":\"$_tok\",\"macs\":$_macs,\"hostkey\":\"$(cat "$T/boot_key.pub")\"}" \
	    "$URL/checkin"
}
check "a check-in with h1's token and h2's MAC: refused" "$(checkin "$TOKEN" "$M2")" = 403
check "  ...logged as an alarm" -n "$(grep "ALARM.*h1's token with MACs $M2" "$T/serve.log")"
check "a check-in with an unknown token: refused" "$(checkin 0123456789abcdef0123456789abcdef "$M1")" = 403
check "a malformed token: refused" "$(checkin 'x;rm -rf /' "$M1")" -ge 400
check "a check-in that is not JSON: 400" "$(get -X POST -d '{"token":' "$URL/checkin")" = 400
check "h1's check-in" "$(checkin "$TOKEN" "$M1")" = 200
check "  ...burns the token: the same again is refused" "$(checkin "$TOKEN" "$M1")" = 403
check "  ...and logged as an alarm" -n "$(grep 'ALARM.*h1: its one-time token was presented again' "$T/serve.log")"
check "  ...h1's script is exit again (the token is spent)" "$(get "$URL/ipxe/$(hy "$M1")"; cat "$T/body")" = "$(printf '200#!ipxe\nexit')"

ok "provision goes on with the checked-in key and ends active" wait "$PROV"
check "  ...active" "$(jget h1 .state)" = active
FP=$(ssh-keygen -l -E sha256 -f "$T/boot_key.pub" | awk '{print $2}')
check "  ...the boot step recorded the check-in" \
    -n "$(jget h1 '.events[] | select(.step == "boot") | .reason' | grep "checked in from 127.0.0.1 with host key $FP")"
check "  ...and the session accepted exactly that key, unpinned" \
    -n "$(jget h1 '.events[].reason' | grep "host key $FP accepted: the one its deploy environment checked in with")"
check "  ...the pin is the installed system's key, not the boot's" "$(jget h1 '.ssh_host_key.fingerprint')" != "$FP"
"$C" boot status --format json >"$T/status.json"
check "boot status: h1 checked in, with its key" "$(jq -r '.[] | select(.hostname == "h1") | .state + " " + .host_key' "$T/status.json")" = "checked-in $FP"
check "  ...and what it last fetched" -n "$(jq -r '.[] | select(.hostname == "h1") | .last' "$T/status.json" | grep '^/ipxe/.* 200')"

# -- a run stopped while it waits for a check-in that never comes ---------------
M3=02:00:00:00:33:03
machine_new 3 --serial LAB-SN-0003 --mac "$M3"
bmc_start 3 --no-qemu
cp "$BMC_PASSWORD_FILE" "$T/bmc.d/h3"; chmod 600 "$T/bmc.d/h3"
"$C" inventory add h3 --site s --rack r --unit 3 --serial LAB-SN-0003 --bmc "$(bmc_addr 3)" \
    --mac "$M3" >/dev/null
"$C" provision h3 >"$T/prov3.out" 2>&1 &
P3=$!
at_exit "kill -9 $P3 2>/dev/null"
ok "h3 armed and waiting for its check-in" wait_for 30 "h3 armed" test -s "$T/state/boot/h3.boot"
sleep 1
T0=$(date +%s%N)
kill -TERM $P3
wait $P3
rc=$?
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
check "SIGTERM during the boot step's wait: exit 1" $rc -eq 1
check "  ...within 3 s, not at boot_timeout (90 s): ${MS} ms" $MS -lt 3000
check "  ...h3 failed at boot, interrupted (SIGTERM)" \
    "$(jget h3 '.state + "/" + .step')/$(grep -c 'h3: failed at boot: interrupted (SIGTERM)' "$T/prov3.out")" = failed/boot/1

done_testing
