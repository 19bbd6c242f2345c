# One castiron process that holds SQLite connections while it opens
# another (a provisioning run of several hosts: one connection per host
# thread), and other castiron processes reading and writing the same
# inventory meanwhile.  Every process must see the others' writes at
# once and none may be lost: if the run's process dropped its POSIX locks
# on the database file (a close() of a descriptor of its own on it, which
# drops every lock the process holds there), a writer in another process
# would checkpoint and delete the WAL under the run, whose later writes
# would land in the deleted file, unseen, and be checkpointed over the
# others' at its end.  docs/inventory.md ("Opening").
#
# Plan: host1 stalled (SIGSTOP: the run's first thread waits in its SSH
# handshake with its connection open), host2 refused at once (the second
# thread fails it and takes host3: a new connection opened while host1's
# is held), host3 stalled too.  Then another process writes (set-state of
# a bystander host), host1 is let go and fails at inspect (its MAC is
# not the enrolled one), which the run writes: outside, that must be
# seen while the run still runs; another outside write, then host3 is let
# go and the run ends: every outside write must still be there.
# time-limit: 240
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "a provisioning run and other processes on one inventory"
lab_init

# Image testos: 1 MiB of random data, no bmap.  SSH only (power = none).
head -c 1048576 /dev/urandom >"$T/os.img"
lab_config power=none castiron.site=ams1 "image testos.bmap=" provision.parallel=2 \
    provision.connect_timeout=150s provision.io_timeout=150s
is() { [ "$(jget "$1" "$2")" = "$3" ]; }

lab_host 1 openssh 8; A1=$LAB_ADDR
lab_host 2 openssh 8; A2=$LAB_ADDR
lab_sshd_stop 2		# refused at once
lab_host 3 openssh 8; A3=$LAB_ADDR
"$C" inventory add host1 --site ams1 --rack r1 --unit 1 --mac 02:00:00:00:01:01 --address "$A1"
"$C" inventory add host2 --site ams1 --rack r1 --unit 2 --mac 02:00:00:00:01:02 --address "$A2"
"$C" inventory add host3 --site ams1 --rack r1 --unit 3 --mac 02:00:00:00:01:03 --address "$A3"
"$C" inventory add bystander --site ams1 --rack r2 --unit 1
lab_stall 1
lab_stall 3
at_exit "lab_unstall 1; lab_unstall 3"

"$C" provision host1 host2 host3 --accept-new-hostkey >"$T/run.out" 2>&1 &
RUN=$!
at_exit "kill $RUN 2>/dev/null"
ok "host2 failed at once (refused)" wait_for 60 "host2 failed" is host2 .state failed
ok "host3's thread started while host1's still runs" \
    wait_for 60 "host3 at inspect" is host3 .step inspect
check "  ...host1 still waits at inspect" "$(jget host1 '.state + "/" + .step')" = provisioning/inspect
ok "another process writes meanwhile (set-state bystander maintenance)" \
    "$C" inventory set-state bystander maintenance --reason "first"
check "  ...and reads its write back" "$(jget bystander .state)" = maintenance
# ls shows what the WAL is: the run's and the others' must be one file.
check "the WAL is still there beside the database" -e "$T/inv.db-wal"

lab_unstall 1
ok "the run's write (host1 failed at inspect) is seen from outside while it runs" \
    wait_for 90 "host1 failed, from another process" is host1 .state failed
check "  ...the run still runs (host3 stalled)" "$(kill -0 "$RUN" 2>/dev/null && echo yes)" = yes
check "  ...with its step and reason" \
    "$(jget host1 '.step')/$(jget host1 '.events[-1].reason' | grep -c 'MAC')" = inspect/1
ok "another outside write while the run runs (bystander enrolled)" \
    "$C" inventory set-state bystander enrolled --reason "second"

lab_unstall 3
wait "$RUN"
check "the run ended: exit 1 (all three failed)" "$?" = 1
sed 's/^/# /' "$T/run.out" | tail -4
check "nothing lost: the bystander's both changes are there" \
    "$(jget bystander '[.events[] | .to_state] | join(",")')" = "enrolled,maintenance,enrolled"
check "  ...its state is the last one" "$(jget bystander .state)" = enrolled
check "every host's outcome is there" \
    "$(for h in host1 host2 host3; do jget $h '.state + "/" + .step'; done | sort -u)" = failed/inspect
check "the database file is whole (integrity_check)" \
    "$(sqlite3 "$T/inv.db" 'PRAGMA integrity_check')" = ok
done_testing
