# castiron provision at rack scale and across failures: eight hosts at
# once that boot a deploy environment sharing one host key (trusted
# through deploy_host_key, no --accept-new-hostkey), a host whose sshd is
# killed in the middle of the image step and is then resumed, and an
# active host re-imaged with --force after booting the deploy
# environment again.  What was written is read from the disks and from
# the kernel's count of bytes written to them; that the eight ran at once
# is seen from outside (their writers alive together) and in their
# events.
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "provision at rack scale"
lab_init
tests/lab/mkosimage "$T/os.img" 48 4
IMGSHA=$(sha256sum "$T/os.img" | cut -d' ' -f1)
IMGSZ=$(stat -c %s "$T/os.img")
MAPPED=$(lab_mapped "$T/os.img.bmap")
PT=$(head -c 1048576 "$T/os.img" | sha256sum | cut -d' ' -f1)
PAYLOAD=$(cat "$T/os.img.payload.sha256")

# The deploy environment's host key, the same on every host.
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$T/lab/deploy_key"
DEPLOY_FP=$(ssh-keygen -l -E sha256 -f "$T/lab/deploy_key.pub" | awk '{print $2}')

# SSH only (power = none: reboot = ssh), image testos from $T/os.img;
# timeouts with room for eight hosts at once on a loaded machine: the
# hosts, not this machine's speed, decide each result.
lab_config power=none castiron.site=ams1 provision.parallel=8 \
    provision.reboot_command="$(lab_reboot_command)" provision.connect_timeout=30s \
    provision.deploy_host_key="$T/lab/deploy_key.pub"

LAB_HOSTKEY=$T/lab/deploy_key
export LAB_HOSTKEY
for n in 1 2 3 4 5 6 7 8 9; do
	lab_host "$n" openssh 64
	rack=r9; [ "$n" = 9 ] && rack=r10
	"$C" inventory add "node$n" --site ams1 --rack $rack --unit "$n" \
	    --mac "$LAB_MAC" --address "$LAB_ADDR" --disk "$LAB_DISK" >/dev/null
	eval "D$n=\$LAB_DISK"
done

# The image comes from castiron's verified cache: fetch it, then take
# the original away.
ok "image fetched into the cache" "$C" image fetch testos
mv "$T/os.img" "$T/os.img.orig"
mv "$T/os.img.bmap" "$T/os.img.bmap.orig"

# -- eight hosts at once ---------------------------------------------------
# That they run at once is seen from outside, and does not depend on this
# machine's speed: a gate holds (SIGSTOP) each castiron-writer on the
# eight disks as it appears, until all eight are up (or 40 s have passed
# since the first, well inside io_timeout), then lets them all go and
# says how many it held at once.  Hosts run one at a time would show 1.
# The links run at 16 Mbit/s, so each writer lives for seconds and the
# gate cannot miss one.
for n in 1 2 3 4 5 6 7 8; do lab_slow "$n" 16mbit; done
python3 - "$T/gate" $D1 $D2 $D3 $D4 $D5 $D6 $D7 $D8 <<'EOP' &
import os, signal, sys, time
out, disks = sys.argv[1], set(sys.argv[2:])
held, first, end = {}, None, time.time() + 600
while time.time() < end and not os.path.exists(out + ".stop"):
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in held:
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        mine = disks & set(argv[1:])
        if os.path.basename(argv[0]).startswith("castiron-writer") and mine:
            try:
                os.kill(int(p), signal.SIGSTOP)
            except OSError:
                continue
            held[int(p)] = mine.pop()
            first = first or time.time()
    if len(set(held.values())) == len(disks) or (first and time.time() - first > 40):
        break
    time.sleep(0.02)
for p in held:
    try:
        os.kill(p, signal.SIGCONT)
    except OSError:
        pass
with open(out + ".new", "w") as f:
    f.write("%d\n" % len(set(held.values())))
os.rename(out + ".new", out)
EOP
GATE=$!
at_exit "kill $GATE"
"$C" provision --rack r9 >"$T/sum.txt" 2>"$T/progress.txt"
check "rack r9: exit 0" $? -eq 0
touch "$T/gate.stop"
wait "$GATE"
for n in 1 2 3 4 5 6 7 8; do lab_fast "$n"; done
sed 's/^/# /' "$T/sum.txt"
check "eight writers up at once (held by the gate outside castiron)" \
    "$(cat "$T/gate" 2>/dev/null)" = 8
# From the inventory: each image step's done event (time to the second)
# and its duration place it within a second: it ended in [T, T + 1 s) and
# began DURATION before.  The latest start must come before the earliest
# end, both taken as the second allows (the gate above is the exact
# proof; this one only has the inventory's one-second times, and steps run
# one after another would still fail it by their whole length).
for n in 1 2 3 4 5 6 7 8; do
	jget node$n '[.events[] | select(.step == "image" and (.reason // "" | startswith("done")))] | last | "\(.time | fromdateiso8601) \(.duration_ms)"'
done >"$T/spans"
sed 's/^/# image step: done at, ms: /' "$T/spans"
check "the eight image steps overlap (their events)" "$(awk '
    { end = $1 * 1000 + 1000; start = $1 * 1000 - $2
      if (NR == 1 || start > ls) ls = start; if (NR == 1 || end < fe) fe = end }
    END { print (NR == 8 && ls < fe) ? "yes" : "no" }' "$T/spans")" = yes
check "piped progress is timestamped lines" \
    "$(grep -cE '^20[0-9-]+T[0-9:]+Z node[1-8] ' "$T/progress.txt")" -ge 8
check "summary: eight active" "$(grep -c 'node[1-8] *active' "$T/sum.txt")" = 8
for n in 1 2 3 4 5 6 7 8; do
	eval "D=\$D$n"
	check "node$n active" "$(jget node$n .state)" = active
	check "node$n: partition table written" \
	    "$(head -c 1048576 "$D" | sha256sum | cut -d' ' -f1)" = "$PT"
	R=$T/root$n; mkdir -p "$R"
	if mount "${D}p1" "$R"; then
		check "node$n: payload intact" \
		    "$(sha256sum "$R/var/lib/os/payload" | cut -d' ' -f1)" = "$PAYLOAD"
		check "node$n: hostname" "$(cat "$R/etc/hostname")" = "node$n"
		KFP=$(ssh-keygen -l -E sha256 -f "$R/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')
		check "node$n: installed key pinned (not the deploy key)" \
		    "$(jget node$n .ssh_host_key.fingerprint)" = "$KFP"
		check "node$n: keys differ between hosts" \
		    "$(cat "$T/keys" 2>/dev/null | grep -c "$KFP")" = 0
		echo "$KFP" >>"$T/keys"
		umount "$R"
	else
		check "node$n: root partition mounts" 1 = 0
	fi
done
check "the deploy key was accepted as such" \
    "$(jget node1 '[.events[] | select(.reason != null and (.reason | test("deploy_host_key")))] | length')" -ge 1

# -- the connection dies in the middle of the image ------------------------
lab_slow 9 24mbit
"$C" provision node9 >"$T/n9.out" 2>"$T/n9.err" &
CPID=$!
at_exit "kill $CPID"
ok "the writer runs on node9" wait_for 60 "the writer on node9" lab_writer_running 9
lab_sshd_stop 9		# sshd and the writer die
wait "$CPID"
check "killed mid-image: exit 1" $? -eq 1
sed 's/^/# /' "$T/n9.err" | tail -2
check "  ...failed at image" "$(jget node9 '.state + "/" + .step')" = failed/image
check "  ...one clear line" "$(grep -c '^castiron provision: node9: failed at image: ' "$T/n9.err")" = 1
check "  ...not complete on disk" "$(lab_sha "$D9" 0 "$IMGSZ")" != "$IMGSHA"
lab_fast 9
lab_sshd_start 9
# A mark in the MBR's boot code, a block the image maps: the image
# written again puts the image's bytes back.
printf castiron-mark | dd of="$D9" bs=1 seek=16 conv=notrunc,fsync status=none
W9=$(lab_written 9)
ok "resumed run completes" "$C" provision node9
check "  ...node9 active" "$(jget node9 .state)" = active
check "  ...resumed at the image step" \
    "$(jget node9 '[.events[] | select(.step == "image" and .reason == "started: resumed")] | length')" = 1
check "  ...inspection not repeated" \
    "$(jget node9 '[.events[] | select(.step == "inspect" and .reason == "started")] | length')" = 1
check "  ...image written again: the kernel wrote at least what the image maps ($MAPPED)" \
    "$(( $(lab_written 9) - W9 ))" -ge "$MAPPED"
check "  ...over the mark: the first MiB is the image's again" \
    "$(lab_sha "$D9" 0 1048576)" = "$PT"
check "  ...counted once as done" \
    "$(jget node9 '[.events[] | select(.step == "image" and (.reason // "" | startswith("done")))] | length')" = 1
mkdir -p "$T/root9"
if mount "${D9}p1" "$T/root9"; then
	check "  ...payload intact" "$(sha256sum "$T/root9/var/lib/os/payload" | cut -d' ' -f1)" = "$PAYLOAD"
	umount "$T/root9"
fi

# -- re-imaging an active host --------------------------------------------
OLDID=$(jget node1 '[.events[] | select(.step == "configure" and .reason != null and (.reason | startswith("done: provision id")))] | last | .reason')
lab_sshd_stop 1		# "boot" node1 into the deploy environment again
lab_sshd_start 1
fails_with 2 "active host needs --force" "$C" provision node1
wait_for 10 "node1's deploy sshd" sh -c "ip netns exec ci-prov-$$-1 ss -ltn | grep -q ':22 '" ||
    tail -n 4 "$T/lab/h1/sshd.log" | sed 's/^/# sshd: /' 
printf castiron-mark | dd of="$D1" bs=1 seek=16 conv=notrunc,fsync status=none
W1=$(lab_written 1)
ok "--force re-images it" "$C" provision node1 --force
check "  ...active again" "$(jget node1 .state)" = active
check "  ...the image written again (the kernel's count, the mark overwritten)" \
    "$(( $(lab_written 1) - W1 >= MAPPED )) $(lab_sha "$D1" 0 1048576)" = "1 $PT"
NEWID=$(jget node1 '[.events[] | select(.step == "configure" and .reason != null and (.reason | startswith("done: provision id")))] | last | .reason')
check "  ...with a new provisioning id" "$NEWID" != "$OLDID"
check "  ...active -> provisioning recorded" \
    "$(jget node1 '[.events[] | select(.from_state == "active" and .to_state == "provisioning")] | length')" = 1

done_testing
