# The lab's Redfish BMC emulator (tests/lab/redfish-bmc.py) proved
# faithful with clients nobody here wrote: Debian's redfishtool and
# python3-sushy (the library Ironic uses) drive QEMU machines through
# power and boot, and every outcome is observed on the machine itself —
# the QEMU process, QMP query-status, the serial console: a one-time
# network boot shows iPXE's boot banner, the next boot boots the disk
# (tests/lab/mkbootdisk's marker) and not the network again.  Then each
# vendor quirk profile, the session cap, wrong credentials, an untrusted
# certificate and the inspection endpoint, each asserted on the wire
# (status codes, headers) and in the emulator's counters.
# time-limit: 240
. tests/lib.sh
. tests/lab/machine.sh

if [ "$(id -u)" != 0 ]; then
	skip "Redfish emulator in the lab" "needs root (network namespaces)"
	done_testing; exit
fi
for _c in qemu-system-x86_64 redfishtool jq openssl curl; do
	command -v "$_c" >/dev/null || {
		skip "Redfish emulator in the lab" "needs $_c (make deps-test)"
		done_testing; exit; }
done
machine_net_init || { echo "not ok 1 - lab network"; echo "1..1"; exit 1; }

# Debian's python3 (sushy lives in its dist-packages); requests would
# take its CA bundle from the environment over the one it is given.
PY=/usr/bin/python3
SUSHY="env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE $PY $T/sushy-do"
cat >"$T/sushy-do" <<'EOF'
"""sushy-do URL PASSWORD_FILE CA STEP...: drive a BMC with sushy, one
line of output per step; the session is closed at the end."""
import gc, sys, time, sushy
url, pwfile, ca = sys.argv[1:4]
s = sushy.Sushy(url, username="admin", password=open(pwfile).read(),
                verify=ca if ca != "-" else False)
sy = s.get_system()
resets = {"on": sushy.RESET_ON, "off": sushy.RESET_FORCE_OFF,
          "restart": sushy.RESET_FORCE_RESTART,
          "graceful": sushy.RESET_GRACEFUL_SHUTDOWN}
for step in sys.argv[4:]:
    sy.refresh()
    if step == "identity":
        print(sy.identity, sy.serial_number, sy.manufacturer, sy.json["Model"])
    elif step == "macs":
        print(" ".join(e.mac_address for e in
                       sy.ethernet_interfaces.get_members()))
    elif step == "power":
        print(sy.power_state.value)
    elif step == "boot":
        print(sy.boot.target.value, sy.boot.enabled.value)
    elif step == "pxe-once":
        sy.set_system_boot_options(target=sushy.BOOT_SOURCE_TARGET_PXE,
                                   enabled=sushy.BOOT_SOURCE_ENABLED_ONCE)
    elif step.startswith("wait-"):	# wait-on / wait-off, bounded
        want = step[5:]
        end = time.monotonic() + 15
        while sy.power_state.value.lower() != want:
            if time.monotonic() > end:
                sys.exit("power state stayed %s" % sy.power_state.value)
            time.sleep(0.2)
            sy.refresh()
        print(sy.power_state.value)
    else:
        sy.reset_system(resets[step])
del sy
s._auth.close()
EOF

# redfishtool N [ARGS...]: Debian's redfishtool against machine N's BMC.
# It takes the password only on its command line: a throwaway one here.
rft() {
	_rn=$1; shift
	redfishtool -r "$(bmc_addr "$_rn")" -u admin \
	    -p "$(cat "$LABM_DIR/m$_rn/bmc.password")" -S Always "$@"
}
sushy_do() {
	_sn=$1; shift
	$SUSHY "$(bmc_url "$_sn")" "$LABM_DIR/m$_sn/bmc.password" "$LABM_CA" "$@"
}
sysid() { machine_serial "$1" | tr 'A-Z' 'a-z'; }

# --- the machine alone: QEMU, its disk, console and QMP -----------------
machine_new 1
ok "a machine starts under QEMU (TCG)" machine_start 1
ok "it boots its NVMe disk: the marker on the serial console" \
    machine_wait 1 30 "LABDISK-1"
check "QMP says it is running" "$(machine_status 1)" = running
check "it did not boot the network" "$(machine_saw 1 "$LABM_PXE"; echo $?)" = 1
has_nvme() { machine_qmp 1 query-block | grep -q '"d0"'; }
ok "QMP sees the NVMe drive" has_nvme
machine_stop 1
check "stopped: no QEMU process, QMP status off" "$(machine_status 1)" = off

# --- redfishtool drives machine 1 ------------------------------------------
bmc_start 1 || echo "# bmc 1 did not start"
SYS1=/redfish/v1/Systems/$(sysid 1)
rft 1 Systems >"$T/rft.systems" 2>&1
check "redfishtool finds the System by its link (not /Systems/1)" \
    "$(jq -r '.Members[0]."@odata.id"' "$T/rft.systems")" = "$SYS1"
rft 1 Systems get >"$T/rft.sys" 2>&1
check "redfishtool reads the serial number" \
    "$(jq -r .SerialNumber "$T/rft.sys")" = "$(machine_serial 1)"
check "... and the power state: Off" "$(jq -r .PowerState "$T/rft.sys")" = Off
ok "redfishtool sets a one-time network boot (session auth)" \
    rft 1 -A Session Systems setBootOverride Once Pxe
check "the emulator saw it" \
    "$(bmc_state 1 '.boot | .BootSourceOverrideTarget + " " + .BootSourceOverrideEnabled')" = "Pxe Once"
machine_mark 1
ok "redfishtool powers it on" rft 1 -A Session Systems reset On
ok "QEMU runs" wait_for 10 "QEMU" machine_running 1
check "QMP status: running" "$(machine_status 1)" = running
ok "the console shows iPXE booting (a network boot)" \
    machine_wait 1 30 "$LABM_PXE"
check "the one-time override is cleared once used, as real BMCs do" \
    "$(rft 1 Systems get 2>/dev/null | jq -r .Boot.BootSourceOverrideEnabled)" = Disabled
machine_mark 1
ok "redfishtool restarts it (ForceRestart)" rft 1 Systems reset ForceRestart
ok "the next boot boots the disk: the marker" machine_wait 1 30 "LABDISK-1"
check "... and not the network again" \
    "$(machine_saw 1 "$LABM_PXE"; echo $?)" = 1
ok "redfishtool powers it off (ForceOff)" rft 1 -A Session Systems reset ForceOff
ok "QEMU is gone" wait_for 10 "QEMU to exit" _machine_gone 1
check "QMP status: off" "$(machine_status 1)" = off
check "redfishtool reads Off" \
    "$(rft 1 Systems get 2>/dev/null | jq -r .PowerState)" = Off
check "redfishtool left no session open" "$(bmc_state 1 .sessions_open)" = 0
check "... having opened some" \
    "$(bmc_state 1 '.counters.sessions_created')" -ge 3

# --- sushy drives machine 2 -------------------------------------------------
machine_new 2
bmc_start 2 || echo "# bmc 2 did not start"
check "sushy reads the identity" "$(sushy_do 2 identity 2>&1)" = \
    "$(sysid 2) $(machine_serial 2) Castiron Lab QEMU q35 TCG"
check "sushy reads the NIC's MAC (EthernetInterfaces)" \
    "$(sushy_do 2 macs 2>&1)" = "$(machine_mac 2)"
machine_mark 2
check "sushy powers it on and reads On" "$(sushy_do 2 on wait-on 2>&1)" = On
ok "QEMU runs" machine_running 2
ok "no override: it boots the disk" machine_wait 2 30 "LABDISK-2"
machine_mark 2
check "sushy sets a one-time PXE boot and restarts" \
    "$(sushy_do 2 pxe-once boot restart 2>&1)" = "Pxe Once"
ok "the console shows iPXE booting" machine_wait 2 30 "$LABM_PXE"
check "the override is spent" "$(sushy_do 2 boot 2>&1)" = "None Disabled"
machine_mark 2
ok "sushy restarts it again" sushy_do 2 restart
ok "this boot is the disk's" machine_wait 2 30 "LABDISK-2"
check "... not the network's" "$(machine_saw 2 "$LABM_PXE"; echo $?)" = 1
check "GracefulShutdown: the guest's ACPI power-off ends QEMU, Off" \
    "$(sushy_do 2 graceful wait-off 2>&1)" = Off
check "QMP status: off" "$(machine_status 2)" = off
check "the emulator recorded the boots" \
    "$(bmc_state 2 '[.boots[] | .how + ":" + .device] | join(" ")')" = \
    "power-on:disk restart:pxe reset:disk"
check "sushy left no session open" "$(bmc_state 2 .sessions_open)" = 0

# --- protocol details and quirk profiles, on simulated machines --------------
# h N: the headers and status of an authenticated request
h() {	# N METHOD PATH [JSON [EXTRA-HEADER]]
	_hn=$1; _hm=$2; _hp=$3; _hd=${4:-}; _hx=${5:-X-Lab: 1}
	if [ -n "$_hd" ]; then
		set -- -H 'Content-Type: application/json' -d "$_hd"
	else
		set --
	fi
	curl -K "$LABM_DIR/m$_hn/bmc.curlrc" -X "$_hm" -D - -o "$T/h.body" \
	    -H "$_hx" "$@" "$(bmc_url "$_hn")$_hp" | tr -d '\r' >"$T/h.head"
	sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' "$T/h.head"
}
etag() { h "$1" GET "$2" >/dev/null; sed -n 's/^[Ee][Tt][Aa][Gg]: //p' "$T/h.head"; }
PXE='{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}'

machine_new 3
bmc_start 3 --no-qemu
S3=/redfish/v1/Systems/$(sysid 3)
check "/Systems/1 does not exist" "$(h 3 GET /redfish/v1/Systems/1)" = 404
check "the System carries an ETag header" -n "$(etag 3 "$S3")"
check "... equal to its @odata.etag" "$(jq -r '."@odata.etag"' "$T/h.body")" = \
    "$(sed -n 's/^[Ee][Tt][Aa][Gg]: //p' "$T/h.head")"
check "AllowableValues for the reset and the boot target" \
    "$(jq -r '[.Actions."#ComputerSystem.Reset"."ResetType@Redfish.AllowableValues"[0], .Boot."BootSourceOverrideTarget@Redfish.AllowableValues"[1]] | join(" ")' "$T/h.body")" = "On Pxe"
check "an unknown boot target: 400" \
    "$(h 3 PATCH "$S3" '{"Boot":{"BootSourceOverrideTarget":"Floppy"}}')" = 400
check "an If-Match that does not match: 412" \
    "$(h 3 PATCH "$S3" "$PXE" 'If-Match: "0000"')" = 412
E3=$(etag 3 "$S3")
check "the current ETag as If-Match: 200" \
    "$(h 3 PATCH "$S3" "$PXE" "If-Match: $E3")" = 200
check "the ETag changed with the resource" "$(etag 3 "$S3")" != "$E3"
check "an unknown ResetType: 400" \
    "$(h 3 POST "$S3/Actions/ComputerSystem.Reset" '{"ResetType":"Explode"}')" = 400
check "the inspection endpoint counts requests per method and path" \
    "$(bmc_state 3 '.requests["PATCH '"$S3"'"]')" = 3
check "... and keeps the last Boot override seen" \
    "$(bmc_state 3 .last_boot_patch.BootSourceOverrideTarget)" = Pxe
check "... and which requests carried If-Match" \
    "$(bmc_state 3 '[.log[] | select(.method == "PATCH") | .if_match != null] | map(tostring) | join(" ")')" = "false true true"
check "wrong password, Basic: 401" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$LABM_CA" -u admin:wrong "$(bmc_url 3)$S3")" = 401
check "wrong password, session login: 401" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$LABM_CA" -H 'Content-Type: application/json' \
    -d '{"UserName":"admin","Password":"wrong"}' \
    "$(bmc_url 3)/redfish/v1/SessionService/Sessions")" = 401
check "no credentials: 401" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$LABM_CA" "$(bmc_url 3)$S3")" = 401
check "the failures are counted, the password nowhere in the state" \
    "$(bmc_state 3 .counters.auth_failures)-$(bmc_state 3 . | grep -c "$(cat "$LABM_DIR/m3/bmc.password")")" = "2-0"
bmc_inject 3 '{"status": 503, "count": 2, "path": "'"$S3"'"}'
check "an injected fault: 503 twice, then the real answer" \
    "$(h 3 GET "$S3") $(h 3 GET "$S3") $(h 3 GET "$S3")" = "503 503 200"

# Sessions: X-Auth-Token and Location, DELETE, the cap.
login() {	# N: prints "STATUS TOKEN LOCATION"
	curl -s --cacert "$LABM_CA" -D - -o /dev/null -H 'Content-Type: application/json' \
	    -d "{\"UserName\":\"admin\",\"Password\":\"$(cat "$LABM_DIR/m$1/bmc.password")\"}" \
	    "$(bmc_url "$1")/redfish/v1/SessionService/Sessions" | tr -d '\r' |
	    awk '/^HTTP/ {s=$2} tolower($1) == "x-auth-token:" {t=$2}
		 tolower($1) == "location:" {l=$2} END {print s, t, l}'
}
set -- $(login 3)
check "a session login: 201 with X-Auth-Token and Location" "$1-${2:+t}-${3%/*}" = \
    "201-t-/redfish/v1/SessionService/Sessions"
check "the token authenticates" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$LABM_CA" -H "X-Auth-Token: $2" "$(bmc_url 3)$S3")" = 200
check "one session open" "$(bmc_state 3 .sessions_open)" = 1
check "DELETE closes it" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
    --cacert "$LABM_CA" -H "X-Auth-Token: $2" "$(bmc_url 3)$3")" = 204
check "none open" "$(bmc_state 3 .sessions_open)" = 0
check "the token no longer works" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$LABM_CA" -H "X-Auth-Token: $2" "$(bmc_url 3)$S3")" = 401

machine_new 4
bmc_start 4 --no-qemu --profile session-limit-2
check "session-limit-2: two sessions, the third refused with 503" \
    "$(login 4 | cut -d' ' -f1) $(login 4 | cut -d' ' -f1) $(login 4 | cut -d' ' -f1)" = \
    "201 201 503"
check "... with a SessionLimitExceeded message" \
    "$(bmc_state 4 .counters.sessions_refused)" = 1

machine_new 5
bmc_start 5 --no-qemu --profile weak-etag
S5=/redfish/v1/Systems/$(sysid 5)
check "weak-etag: the ETag is weak" "$(etag 5 "$S5" | cut -c1-3)" = 'W/"'
check "... and fails as If-Match: 412" \
    "$(h 5 PATCH "$S5" "$PXE" "If-Match: $(etag 5 "$S5")")" = 412
check "... while its strong form passes" \
    "$(h 5 PATCH "$S5" "$PXE" "If-Match: $(etag 5 "$S5" | cut -c3-)")" = 200
bmc_reset_counters 5
ok "sushy copes with it (weak, then strong)" sushy_do 5 pxe-once
check "... after one 412" "$(bmc_state 5 .counters.precondition_failed)" = 1

machine_new 6
bmc_start 6 --no-qemu --profile require-if-match,no-if-match-on-post
S6=/redfish/v1/Systems/$(sysid 6)
check "require-if-match: a PATCH without If-Match: 428" \
    "$(h 6 PATCH "$S6" "$PXE")" = 428
check "... with it: 200" "$(h 6 PATCH "$S6" "$PXE" "If-Match: $(etag 6 "$S6")")" = 200
check "no-if-match-on-post: a Reset carrying If-Match: 400" \
    "$(h 6 POST "$S6/Actions/ComputerSystem.Reset" '{"ResetType":"On"}' "If-Match: $(etag 6 "$S6")")" = 400
check "... without it: 204" \
    "$(h 6 POST "$S6/Actions/ComputerSystem.Reset" '{"ResetType":"On"}')" = 204

# settings: sushy follows @Redfish.Settings; applied at the next reset,
# seen on the machine's console.
machine_new 7
bmc_start 7 --profile settings --power on
S7=/redfish/v1/Systems/$(sysid 7)
ok "settings: it booted its disk" machine_wait 7 30 "LABDISK-7"
check "a PATCH of Boot on the System itself: 400" "$(h 7 PATCH "$S7" "$PXE")" = 400
ok "sushy sets a one-time PXE boot" sushy_do 7 pxe-once
check "... in the settings resource" \
    "$(bmc_state 7 '.pending_settings.BootSourceOverrideTarget') $(bmc_state 7 .boot.BootSourceOverrideTarget)" = "Pxe None"
machine_mark 7
ok "sushy restarts it" sushy_do 7 restart
ok "the pending setting applied at the reset: iPXE boots" \
    machine_wait 7 30 "$LABM_PXE"
check "nothing pending any more" "$(bmc_state 7 .pending_settings)" = null
machine_stop 7

machine_new 8
bmc_start 8 --no-qemu --profile delayed-power,reset-409
S8=/redfish/v1/Systems/$(sysid 8)
check "reset-409: the first On answers 409" \
    "$(h 8 POST "$S8/Actions/ComputerSystem.Reset" '{"ResetType":"On"}')" = 409
t0=$(now_ms)
check "... the next one 204" \
    "$(h 8 POST "$S8/Actions/ComputerSystem.Reset" '{"ResetType":"On"}')" = 204
h 8 GET "$S8" >/dev/null
check "delayed-power: PowerState still reads Off" "$(jq -r .PowerState "$T/h.body")" = Off
check "... while the machine is on" "$(bmc_state 8 .power_state)" = On
on8() { h 8 GET "$S8" >/dev/null; [ "$(jq -r .PowerState "$T/h.body")" = On ]; }
ok "... and PowerState reaches On" wait_for 10 "On" on8
took=$(($(now_ms) - t0))
check "... after the 2.5 s delay, not much later (${took} ms)" \
    "$took" -ge 2500 -a "$took" -le 6000

# An untrusted certificate (signed by another CA): sushy refuses it.
machine_new 9
bmc_start 9 --no-qemu --untrusted
fails_with 1 "a BMC whose certificate another CA signed is refused" \
    sushy_do 9 identity
check "... in the TLS handshake" \
    "$(bmc_state 9 '.counters.tls_handshake_failures')" -ge 1
check "... before any request" "$(bmc_state 9 .requests_total)" = 0

done_testing
