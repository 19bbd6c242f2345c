# Runs that do not end well, against real sshd hosts in network
# namespaces (tests/lab/provlab.sh): a run interrupted by SIGINT in the
# middle of the image step fails its hosts there, "interrupted", leaves
# the host it had not started untouched, and the next run resumes them;
# a run killed with SIGKILL leaves its hosts provisioning, and the next
# run takes them over (an event naming the dead owner); a host whose run
# still lives is refused, naming it, and SIGTERM interrupts that run; an
# owner on another appliance is refused unless --force; a reused pid is
# not mistaken for the owner.  And a configure resumed after the image
# step uses the disk the image went to, not the one a fresh choice would
# pick now.
# time-limit: 400
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "provision runs that are interrupted, killed or resumed"
lab_init

tests/lab/mkosimage "$T/os.img" 48 4
MiB=1048576

# SSH only (power = none: reboot = ssh), image testos from $T/os.img.
lab_config power=none castiron.site=ams1 provision.parallel=2 \
    provision.reboot_command="$(lab_reboot_command)" provision.connect_timeout=30s
DB=$T/inv.db
ME=$(hostname)
# events of host $1 whose reason matches the regular expression $2
events() { jget "$1" "[.events[] | select((.reason // \"\") | test(\"$2\"))] | length"; }
# A provision run in the background is started with SIGINT as a terminal
# would deliver it (a background job of sh starts with SIGINT ignored, and
# castiron keeps an ignored SIGINT ignored): env --default-signal=INT,
# which execs castiron, so that $! is castiron's pid.
writing() { for _h in "$@"; do lab_writer_running "$_h" || return 1; done; }
no_writer() { for _h in "$@"; do ! lab_writer_running "$_h" || return 1; done; }

# host7's disk comes from the configuration (below), not its enrollment.
for n in 1 2 3 4 5 7; do
	lab_host $n openssh 64
	eval "D$n=\$LAB_DISK"
	disk="--disk $LAB_DISK"
	[ $n = 7 ] && disk=
	"$C" inventory add host$n --site ams1 --rack r1 --unit $n \
	    --mac "$LAB_MAC" --address "$LAB_ADDR" $disk >/dev/null
done

# -- SIGINT in the middle of the image step ------------------------------
# host1 and host2 write (slowly) while host3 waits for a free worker.
lab_slow 1 2mbit; lab_slow 2 2mbit
W3=$(lab_written 3)
env --default-signal=INT "$C" provision host1 host2 host3 --accept-new-hostkey >"$T/int.out" 2>"$T/int.err" &
PINT=$!
at_exit "kill -9 $PINT"
ok "host1's and host2's writers run" wait_for 120 "the writers of host1 and host2" writing 1 2
check "  ...both hosts provisioning, at image, owned by the run ($PINT on $ME)" \
    "$(jget host1 '.state + "/" + .step + " " + (.run_owner.pid | tostring) + " " + .run_owner.host') $(jget host2 '.state + "/" + .step')" = \
    "provisioning/image $PINT $ME provisioning/image"
TI=$(now_ms)
kill -INT $PINT
wait $PINT
RCI=$?
TIE=$(now_ms)
sed 's/^/# /' "$T/int.err" | grep -v '^# *$' | tail -6
check "SIGINT: exit 1" "$RCI" -eq 1
check "  ...within 5 s of the signal ($((TIE - TI)) ms): no wait for the image" $((TIE - TI)) -le 5000
for h in 1 2; do
	check "  ...host$h failed at image" "$(jget host$h '.state + "/" + .step')" = failed/image
	check "  ...host$h's reason is the interruption" \
	    "$(grep -c "host$h: failed at image: interrupted (SIGINT)" "$T/int.err")" = 1
	check "  ...the failure event says so" \
	    "$(jget host$h '[.events[] | select(.to_state == "failed" and .step == "image" and .reason == "interrupted (SIGINT)")] | length')" = 1
	check "  ...no run owns host$h any more" "$(jget host$h .run_owner)" = null
done
check "  ...host3, not started, untouched: still enrolled, no event but its enrollment" \
    "$(jget host3 '.state + " " + (.events | length | tostring)')" = "enrolled 1"
check "  ...and its disk not written" "$(lab_written 3)" = "$W3"
check "  ...named as not started" "$(grep -c 'host3: failed: interrupted (SIGINT) before it started' "$T/int.err")" = 1
check "  ...one line says the run was interrupted" \
    "$(grep -c 'interrupted: 3 of 3 hosts failed or not started; the next run resumes them' "$T/int.err")" = 1
# The writers end with their stream (the sessions were closed).
ok "the writers on host1 and host2 end" wait_for 30 "the writers gone" no_writer 1 2
lab_fast 1; lab_fast 2
ok "the next run resumes host1 and host2 and provisions host3" \
    "$C" provision host1 host2 host3 --accept-new-hostkey
for h in 1 2 3; do
	check "  ...host$h active" "$(jget host$h .state)" = active
done
check "  ...host1 resumed at image (the step that was interrupted)" \
    "$(jget host1 '[.events[] | select(.to_state == "provisioning")] | last | .step + " " + .reason')" = "image resumed"
check "  ...host1's disk holds the image" "$(lab_sha "$D1" 0 $MiB)" = "$(lab_sha "$T/os.img" 0 $MiB)"

# -- SIGKILL: the next run takes the host over ---------------------------
lab_slow 4 2mbit
env --default-signal=INT "$C" provision host4 --accept-new-hostkey >"$T/kill.out" 2>&1 &
PK=$!
at_exit "kill -9 $PK"
ok "host4's writer runs" wait_for 120 "the writer of host4" lab_writer_running 4
kill -9 $PK
wait $PK 2>/dev/null
check "SIGKILL leaves host4 provisioning, owned by the dead run" \
    "$(jget host4 '.state + " " + (.run_owner.pid | tostring)')" = "provisioning $PK"
lab_fast 4
wait_for 30 "host4's writer gone" no_writer 4
"$C" provision host4 --dry-run --format json >"$T/plan4.json"
check "the dry run says it would take host4 over, and where it resumes" \
    "$(jq -r '.[0].note' "$T/plan4.json" | grep -c "takes it over (its run, pid $PK on $ME .* is gone.*); resumes at image")" = 1
ok "the next run takes host4 over and provisions it" "$C" provision host4 --accept-new-hostkey
check "  ...active" "$(jget host4 .state)" = active
check "  ...an event names the dead owner and the one that took over" \
    "$(jget host4 "[.events[] | select(.from_state == \"provisioning\" and .to_state == \"failed\" and .step == \"image\" and (.reason | test(\"its run, pid $PK on $ME .*is gone: taken over by pid [0-9]+\")))] | length")" = 1

# -- a live owner is refused; SIGTERM interrupts it ------------------------
lab_slow 5 2mbit
env --default-signal=INT "$C" provision host5 --accept-new-hostkey >"$T/live.out" 2>"$T/live.err" &
PL=$!
at_exit "kill -9 $PL"
ok "host5's writer runs" wait_for 120 "the writer of host5" lab_writer_running 5
"$C" provision host5 --accept-new-hostkey >/dev/null 2>"$T/refused.err"
check "a second run on a host whose run lives: exit 2" $? -eq 2
check "  ...one line naming the owner" \
    "$(grep -c -x "castiron provision: host5: failed: host5: is being provisioned by pid $PL on $ME, which is running; refused" "$T/refused.err")/$(grep -c 'host5: .*provisioned by' "$T/refused.err")" = 1/1
fails_with 2 "  ...with --force too (force is for another appliance)" "$C" provision host5 --force --accept-new-hostkey
check "  ...host5 still the live run's" "$(jget host5 '.state + " " + (.run_owner.pid | tostring)')" = "provisioning $PL"
check "  ...and the live run's writer still runs" "$(lab_writer_running 5 && echo yes)" = yes
kill -TERM $PL
wait $PL
check "SIGTERM: exit 1" $? -eq 1
check "  ...host5 failed at image, interrupted (SIGTERM)" \
    "$(jget host5 '.state + "/" + .step')/$(grep -c 'host5: failed at image: interrupted (SIGTERM)' "$T/live.err")" = failed/image/1
lab_fast 5

# -- an owner on another appliance ---------------------------------------
sqlite3 "$DB" "update hosts set state = 'provisioning', owner_host = 'appliance-ams1-b',
    owner_pid = 4711, owner_start = '123@another-boot' where hostname = 'host5'"
"$C" provision host5 --accept-new-hostkey >/dev/null 2>"$T/other.err"
check "another appliance's run: exit 2" $? -eq 2
check "  ...one line naming it and saying --force takes it over" \
    "$(grep -c 'host5: is being provisioned by pid 4711 on appliance-ams1-b, another appliance, where castiron cannot see whether it runs: --force takes it over' "$T/other.err")" = 1
check "  ...nothing changed" "$(jget host5 '.state + " " + .run_owner.host')" = "provisioning appliance-ams1-b"
wait_for 30 "host5's writer gone" no_writer 5
ok "with --force the run takes it over" "$C" provision host5 --force --accept-new-hostkey
check "  ...active" "$(jget host5 .state)" = active
check "  ...the event says it was forced, from whom" \
    "$(events host5 'taken over with --force from pid 4711 on appliance-ams1-b \\(another appliance\\)')" = 1

# -- a reused pid is not the owner -----------------------------------------
# host3's recorded owner: this test's own shell (alive), but with a start
# time that is not its own: another process that had the pid.
sqlite3 "$DB" "update hosts set state = 'provisioning', step = 'verify', owner_host = '$ME',
    owner_pid = $$, owner_start = '1@$(cat /proc/sys/kernel/random/boot_id)' where hostname = 'host3'"
ok "a live pid with another start time is not the owner: taken over" "$C" provision host3
check "  ...active again (resumed at verify)" "$(jget host3 .state)" = active
check "  ...the event names the owner that is gone" "$(events host3 "its run, pid $$ on $ME .*is gone")" = 1

# -- a resumed configure uses the disk the image went to -------------------
# host7 has two disks and its disk comes from [provision] disk.  Its
# first run writes the image to D7 and fails at configure (a mount that
# fails, first in its sessions' PATH); then the configuration names the
# other disk, as a fresh choice would now; the resumed configure must
# still go to D7.
lab_disk2 7 64; D7B=$LAB_DISK2
mkdir -p "$T/lab/h7/failbin"
printf '#!/bin/sh\necho "mount: injected failure" >&2\nexit 32\n' >"$T/lab/h7/failbin/mount"
chmod +x "$T/lab/h7/failbin/mount"
echo "SetEnv PATH=$T/lab/h7/failbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" >>"$T/lab/h7/sshd_config"
lab_sshd_stop 7; lab_sshd_start 7
sed "s|^authorized_keys .*|&\ndisk            = $D7|" "$T/c.ini" >"$T/disk7.ini"
sed "s|^authorized_keys .*|&\ndisk            = $D7B|" "$T/c.ini" >"$T/disk7b.ini"
B7B=$(lab_sha "$D7B" 0)
fails_with 1 "host7: image to $D7, then configure fails" "$C" -c "$T/disk7.ini" provision host7 --accept-new-hostkey
check "  ...failed at configure, the image written to $D7" \
    "$(jget host7 '.state + "/" + .step')/$(events host7 "testos written to $D7\$")" = failed/configure/1
"$C" -c "$T/disk7b.ini" provision host7 --dry-run --format json >"$T/plan7.json"
check "  ...a fresh choice would now be $D7B" "$(jq -r '.[0].disk + " " + .[0].note' "$T/plan7.json")" = "$D7B resumes at configure"
rm "$T/lab/h7/failbin/mount"
ok "the resumed run completes" "$C" -c "$T/disk7b.ini" provision host7
check "  ...active (verify read the marker from $D7's root)" "$(jget host7 .state)" = active
R7=$T/root7
mkdir -p "$R7"
mount "${D7}p1" "$R7" && at_exit "umount '$R7'"
check "  ...configure wrote host7's files on $D7" "$(cat "$R7/etc/hostname" 2>/dev/null)" = host7
check "  ...and did not touch $D7B" "$(lab_sha "$D7B" 0)" = "$B7B"
check "  ...the image was written once" "$(events host7 '^done: testos written to')" = 1

done_testing
