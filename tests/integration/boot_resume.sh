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
#
# A host that failed after its check-in, still in the deploy environment
# of that boot, resumes where it failed, without being powered again: at
# image (its first run was given a disk that does not exist), the
# resumed run meets the deploy environment with the key of that boot's
# check-in and pulls the image (image_transport = auto); at reboot (its
# reboot command did nothing, so the installed system never answered),
# the resumed run takes that key for "not rebooted yet", reboots it (the
# lab's reboot: tests/lab/lab-reboot) and verifies it: active.  A host
# whose check-in is gone from the state directory is refused with one
# line saying what to do.
# time-limit: 420
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh

lab_need "resuming a network-booted host"
lab_init
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }
tests/lab/mkosimage "$T/os.img" 48 4
ssh-keygen -q -t ed25519 -N '' -C deploy-boot -f "$T/boot_key"
LAB_HOSTKEY=$T/boot_key
export LAB_HOSTKEY
lab_host 1 openssh 64; A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC NS1=$LAB_NS
ip -n "$NS1" route add default via "$LAB_NET.5"
lab_host 2 openssh 64; A2=$LAB_ADDR D2=$LAB_DISK M2=$LAB_MAC NS2=$LAB_NS
ip -n "$NS2" route add default via "$LAB_NET.9"
for n in 1 2; do
	eval "machine_new $n --serial LAB-SN-000$n --mac \$M$n"
	bmc_start "$n" --no-qemu
	bmc_password "$n" "h$n"
done
mkdir -p "$T/deploy"
head -c 4096 /dev/urandom >"$T/deploy/vmlinuz"
head -c 4096 /dev/urandom >"$T/deploy/initrd.img"
PORT=$((25000 + $$ % 400))
URL=http://$LAB_NET.5:$PORT

# conf FILE BOOT-TIMEOUT [SECTION.KEY=VALUE...]: power and boot through
# the BMCs, image testos pulled when it can be (image_transport = auto),
# no reboot unless the arguments say otherwise.
conf() {
	_cf=$1 _cb=$2; shift 2
	lab_config_to "$_cf" provision.boot_timeout="$_cb" provision.reboot=none \
	    provision.image_transport=auto bmc.power_timeout=20s \
	    boot.listen="$LAB_NET.5:$PORT" boot.deploy_dir="$T/deploy" "$@"
}
conf "$T/c.ini" 90s
conf "$T/short.ini" 4s
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
hy() { echo "$1" | tr : -; }
boots() { bmc_state "$1" '[.boots[] | .how + ":" + .device + ":" + (.once | tostring)] | join(" ")'; }
has_boots() { [ "$(bmc_state "$1" '.boots | length')" = "$2" ]; }
"$C" inventory add h1 --site s --rack r --unit 1 --serial LAB-SN-0001 --bmc "$(bmc_addr 1)" \
    --mac "$M1" --address "$A1" --disk "$D1" >/dev/null
"$C" inventory add h2 --site s --rack r --unit 2 --serial LAB-SN-0002 --bmc "$(bmc_addr 2)" \
    --mac "$M2" --address "$A2" >/dev/null
"$C" image fetch testos >/dev/null 2>&1
# h2's runs: its first with a disk that is not there, the second with its
# disk and a reboot command that does nothing, the third with the lab's
# reboot.
conf "$T/nodisk.ini" 90s provision.disk=/dev/castiron-no-such-disk
conf "$T/noreboot.ini" 90s provision.disk="$D2" provision.reboot=ssh \
    provision.reboot_command=true provision.reboot_timeout=5s
conf "$T/reboot.ini" 90s provision.disk="$D2" provision.reboot=ssh \
    provision.reboot_command="$(lab_reboot_command)" provision.reboot_timeout=60s

NETBOOT_URL=$URL
ok "the boot service starts" netboot_serve "$T/serve.log"

# Machine N's side, from its namespace: its iPXE script, and its deploy
# environment's check-in with the script's token and its key.
script() { eval "ip netns exec \$NS$1 curl -s $URL/ipxe/\$(hy \$M$1)"; }
token() { script "$1" | grep -o 'castiron.token=[0-9a-f]*' | cut -d= -f2; }
checkin() {	# N TOKEN
	eval "_ns=\$NS$1 _mac=\$M$1"
	ip netns exec "$_ns" curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' \
	    -d "{\"mode\":\"deploy\",\"token\":\"$2\",\"macs\":[\"$_mac\"],\"hostkey\":\"$(cat "$T/boot_key.pub")\"}" \
	    "$URL/checkin"
}

# -- a boot that never checks in, then the resume -------------------------------
fails_with 1 "h1's first run: nothing checks in within boot_timeout" "$C" -c "$T/short.ini" provision h1
check "  ...failed at boot" "$(jget h1 '.state + "/" + .step')" = failed/boot
check "  ...the BMC powered it on once, network first" "$(boots 1)" = "power-on:pxe:true"
TOKEN1=$(token 1)
check "  ...the service hands its MAC the deploy environment and a token" "${#TOKEN1}" = 32

"$C" provision h1 --dry-run --format json >"$T/plan.json"
check "the plan resumes at power, not at boot" "$(jq -r '.[0].steps' "$T/plan.json")" = \
    "power,boot,inspect,image,configure,reboot,verify"
check "  ...and says why" -n "$(jq -r '.[0].note' "$T/plan.json" | grep 'powered and booted again')"

"$C" provision h1 >"$T/run2.out" 2>&1 &
RUN=$!
at_exit "kill $RUN 2>/dev/null"
ok "the resumed run has the BMC boot it again" wait_for 60 "a second boot by the BMC" has_boots 1 2
check "  ...a one-time network boot again, by a restart (it was on)" \
    "$(bmc_state 1 '.boots[1] | .how + ":" + .device + ":" + (.once | tostring)')" = "reset:pxe:true"
TOKEN2=$(token 1)
check "  ...and a new token for this boot" "${#TOKEN2}/$([ "$TOKEN2" != "$TOKEN1" ] && echo new)" = 32/new
check "the deploy environment of this boot checks in" "$(checkin 1 "$TOKEN2")" = 200
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

# -- h2: failed after its check-in, resumed at image, then at reboot ----------
"$C" -c "$T/nodisk.ini" provision h2 >"$T/h2a.out" 2>&1 &
RUN=$!
at_exit "kill $RUN 2>/dev/null"
ok "h2 is powered, network first" wait_for 60 "h2's boot by the BMC" has_boots 2 1
check "h2's deploy environment checks in" "$(checkin 2 "$(token 2)")" = 200
wait "$RUN"
check "h2's first run fails at image (no such disk), after inspect" \
    "$(jget h2 '.state + "/" + .step')" = failed/image
grep 'failed at' "$T/h2a.out" | head -n 1 | sed 's/^/# /'
# Its check-in gone from the state directory (cleaned by hand): refused,
# one line with what to do; nothing of the deploy environment trusted.
CK=$T/state/boot/h2.checkin
check "  ...its check-in is on file" -s "$CK"
mv "$CK" "$T/h2.checkin"
fails_with 1 "h2 resumed with its boot's check-in gone: refused" "$C" -c "$T/noreboot.ini" provision h2
check "  ...one line: why, and what to do" \
    "$(grep -c "h2: failed at image: h2: resuming at image after a network boot whose check-in is gone from $T/state/boot, .*castiron inventory set-state h2 enrolled --reason TEXT, then castiron provision h2" "$T/.out")" = 1
check "  ...still failed at image, nothing pinned" "$(jget h2 '.state + "/" + .step + " " + (.ssh_host_key | tostring)')" = "failed/image null"
mv "$T/h2.checkin" "$CK"
FP=$(ssh-keygen -l -E sha256 -f "$T/boot_key.pub" | awk '{print $2}')
NEV=$(jget h2 '.events | length')
fails_with 1 "h2 resumed at image, with its disk: on to reboot, where the reboot command does nothing" \
    "$C" -c "$T/noreboot.ini" provision h2
sed 's/^/# /' "$T/.out" | tail -n 2
new_events() { jget h2 "[.events[$NEV:][] | select(.step == \"$1\") | .reason] | join(\" | \")"; }
check "  ...resumed at image" "$(jget h2 ".events[$NEV].reason + \" \" + .events[$NEV].step")" = "resumed image"
check "  ...the check-in of its boot read again" \
    -n "$(new_events image | grep "resumed after its network boot: the deploy environment's check-in of 20[0-9-]*T[0-9:]*Z, host key $FP, read again")"
check "  ...the deploy environment met with that key, not pinned" \
    -n "$(new_events image | grep "host key $FP accepted: the one its deploy environment checked in with")"
check "  ...and the image pulled (image_transport = auto), not pushed" \
    -n "$(new_events image | grep 'pulled by the host from the boot service')"
check "  ...the boot service served it to h2" -n "$(grep "/images/testos: 20[06] (h2)" "$T/serve.log")"
check "  ...not powered again (the BMC booted it once)" "$(boots 2)" = "power-on:pxe:true"
check "  ...configured, and failed at reboot: the deploy environment still answers" \
    "$(jget h2 '.state + "/" + .step')" = failed/reboot
check "  ...with the reason (not a key refused)" -n "$(jget h2 '.events[-1].reason' | grep 'did not come back with the installed system')"
NEV=$(jget h2 '.events | length')
ok "h2 resumed at reboot: rebooted from the deploy environment, verified, active" \
    "$C" -c "$T/reboot.ini" provision h2
check "  ...active" "$(jget h2 .state)" = active
check "  ...the check-in read again, its key taken for the deploy environment's (not rebooted yet)" \
    -n "$(new_events reboot | grep "resumed after its network boot.*read again | .*host key $FP accepted: the one its deploy environment checked in with")"
check "  ...then rebooted and verified" \
    "$(new_events reboot | grep -c 'started: resumed.* | done')/$(new_events verify | grep -c '^started | done')" = 1/1
check "  ...the pin is the installed system's key" "$(jget h2 .ssh_host_key.fingerprint)" != "$FP"
check "  ...still booted once by the BMC" "$(boots 2)" = "power-on:pxe:true"

done_testing
