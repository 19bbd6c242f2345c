# Resuming a host that castiron network-booted (docs/provision.md,
# "Resuming").  One host behind an emulated Redfish BMC (simulated
# machine: power and boot override are the BMC's state, each power-on and
# restart recorded with its boot device), a lab sshd host
# (tests/lab/provlab.sh) that presents the host key "its deploy
# environment generated", and `castiron boot serve` on the host's link;
# the test plays the machine's firmware and deploy environment as
# boot_serve.sh does: it fetches the iPXE script the service hands the
# host's MAC and checks in with its token and key, from the host's
# namespace.
#
# A host that failed at boot (nothing checked in within boot_timeout)
# resumes at power: the BMC is given a one-time network boot and restarts
# the machine again, the service hands out a new token, and the run goes
# on from the check-in to active.
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh

if [ "$(id -u)" != 0 ]; then
	skip "resuming a network-booted host" "needs root (network namespaces, loop devices)"
	done_testing; exit
fi
lab_init
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
tests/lab/mkosimage "$T/os.img" 48 4
ssh-keygen -q -t ed25519 -N '' -C deploy-boot -f "$T/boot_key"
LAB_HOSTKEY=$T/boot_key
export LAB_HOSTKEY
lab_host 1 openssh 64; A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC NS1=$LAB_NS
ip -n "$NS1" route add default via "$LAB_NET.5"
machine_new 1 --serial LAB-SN-0001 --mac "$M1"
bmc_start 1 --no-qemu
mkdir -m 700 "$T/bmc.d"; cp "$BMC_PASSWORD_FILE" "$T/bmc.d/h1"; chmod 600 "$T/bmc.d/h1"
mkdir -p "$T/deploy"
head -c 4096 /dev/urandom >"$T/deploy/vmlinuz"
head -c 4096 /dev/urandom >"$T/deploy/initrd.img"
PORT=$((25000 + $$ % 400))
URL=http://$LAB_NET.5:$PORT

conf() {	# BOOT-TIMEOUT
	cat <<EOF
[castiron]
state_dir = $T/state
[inventory]
database = $T/inv.db
[images]
cache_dir = $T/cache
[image testos]
url    = file://$T/os.img
sha256 = $(sha256sum "$T/os.img" | cut -d' ' -f1)
bmap   = file://$T/os.img.bmap
[provision]
ssh_key         = $T/lab/id_ed25519
image           = testos
power           = bmc
reboot          = none
boot_timeout    = $1
connect_timeout = 20s
io_timeout      = 60s
authorized_keys = $T/lab/authorized_keys
image_transport = auto
[bmc]
username     = admin
password_dir = $T/bmc.d
ca_bundle    = $LABM_CA
power_timeout = 20s
[boot]
listen     = $LAB_NET.5:$PORT
deploy_dir = $T/deploy
EOF
}
conf 90s >"$T/c.ini"
conf 4s >"$T/short.ini"
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
jget() { "$C" inventory show "$1" --format json | jq -r "$2"; }
hy() { echo "$1" | tr : -; }
boots() { bmc_state 1 '[.boots[] | .how + ":" + .device + ":" + (.once | tostring)] | join(" ")'; }
has_boots() { [ "$(bmc_state 1 '.boots | length')" = "$1" ]; }
"$C" inventory add h1 --site s --rack r --unit 1 --serial LAB-SN-0001 --bmc "$(bmc_addr 1)" \
    --mac "$M1" --address "$A1" --disk "$D1" >/dev/null
"$C" image fetch testos >/dev/null 2>&1

"$C" boot serve >>"$T/serve.log" 2>&1 &
SERVE=$!
at_exit "kill $SERVE 2>/dev/null"
ok "the boot service starts" wait_for 10 "the boot service" curl -sf "$URL/boot.ipxe"

# The machine's side, from its namespace: its iPXE script, and its deploy
# environment's check-in with the script's token and its key.
script() { ip netns exec "$NS1" curl -s "$URL/ipxe/$(hy "$M1")"; }
token() { script | grep -o 'castiron.token=[0-9a-f]*' | cut -d= -f2; }
checkin() {	# TOKEN
	ip netns exec "$NS1" curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' \
	    -d "{\"mode\":\"deploy\",\"token\":\"$1\",\"macs\":[\"$M1\"],\"hostkey\":\"$(cat "$T/boot_key.pub")\"}" \
	    "$URL/checkin"
}

# -- a boot that never checks in, then the resume -------------------------------
fails_with 1 "h1's first run: nothing checks in within boot_timeout" "$C" -c "$T/short.ini" provision h1
check "  ...failed at boot" "$(jget h1 '.state + "/" + .step')" = failed/boot
check "  ...the BMC powered it on once, network first" "$(boots)" = "power-on:pxe:true"
TOKEN1=$(token)
check "  ...the service hands its MAC the deploy environment and a token" "${#TOKEN1}" = 32

"$C" provision h1 --dry-run --format json >"$T/plan.json"
check "the plan resumes at power, not at boot" "$(jq -r '.[0].steps' "$T/plan.json")" = \
    "power,boot,inspect,image,configure,reboot,verify"
check "  ...and says why" -n "$(jq -r '.[0].note' "$T/plan.json" | grep 'powered and booted again')"

"$C" provision h1 >"$T/run2.out" 2>&1 &
RUN=$!
at_exit "kill $RUN 2>/dev/null"
ok "the resumed run has the BMC boot it again" wait_for 60 "a second boot by the BMC" has_boots 2
check "  ...a one-time network boot again, by a restart (it was on)" \
    "$(bmc_state 1 '.boots[1] | .how + ":" + .device + ":" + (.once | tostring)')" = "reset:pxe:true"
TOKEN2=$(token)
check "  ...and a new token for this boot" "${#TOKEN2}/$([ "$TOKEN2" != "$TOKEN1" ] && echo new)" = 32/new
check "the deploy environment of this boot checks in" "$(checkin "$TOKEN2")" = 200
ok "the run goes on to active" wait "$RUN"
sed 's/^/# /' "$T/run2.out" | tail -3
check "  ...active" "$(jget h1 .state)" = active
check "  ...the power step ran again in the resumed run, the BMC's answer noted" \
    "$(jget h1 '[.events[] | select(.step == "power") | .reason] | map(select(test("one-time pxe boot set"))) | length')" = 2
check "  ...a resumed run (the inventory says so)" \
    "$(jget h1 '[.events[] | select(.to_state == "provisioning") | .reason] | join(",")')" = "run started,resumed"
check "  ...the image pulled from the boot service (auto, after this boot's check-in)" \
    -n "$(jget h1 '.events[] | select(.step == "image") | .reason' | grep 'pulled by the host from the boot service')"
check "  ...the disk holds the image" "$(lab_sha "$D1" 0 1048576)" = "$(lab_sha "$T/os.img" 0 1048576)"

done_testing
