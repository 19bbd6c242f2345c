# time-limit: 150
# The private host key castiron makes for the installed system, on the
# provisioning server (issue 12 item 17): made in memory, never a file,
# and wiped after use.  One real run against an sshd host of the lab
# (tests/lab/provlab.sh), reboot = ssh, under strace -f (castiron and
# everything it would start; the calls that succeeded: a sanitizer's
# runtime tries to make its log directory, which exists):
#  - it runs no other program and makes no directory; the only files it
#    opens for writing are the inventory's (and the unnamed tmpfile(3)
#    copy of its configuration); nothing lands in its TMPDIR;
#  - no system call of the run carries the key in plain text: neither its
#    32-byte seed nor the base64 that encodes it (tests/lab/keyscan.py,
#    over the whole trace, every read and write shown in full);
#  - while the run waits for the host to reboot, after configure,
#    castiron's writable memory (/proc/PID/mem) holds no copy of the seed;
#  - the key on the host's disk is owner-only, OpenSSH reads it, and its
#    public half is the pin; the host comes back with it and is active.
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "the installed host key on the provisioning server" strace
lab_init
tests/lab/mkosimage "$T/os.img" 48 4
ssh-keygen -q -t ed25519 -N '' -C deploy -f "$T/lab/deploy_key"
# The host's reboot waits (at most 60 s) until the test has read
# castiron's memory.
cat >"$T/reboot" <<EOF
for i in \$(seq 600); do [ -e '$T/scanned' ] && break; sleep 0.1; done
exec $(lab_reboot_command)
EOF
lab_config power=none provision.reboot_command="sh $T/reboot" \
    provision.deploy_host_key="$T/lab/deploy_key.pub"
LAB_HOSTKEY=$T/lab/deploy_key
export LAB_HOSTKEY
lab_host 1 openssh 64; A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC
"$C" inventory add k1 --site s --rack r --unit 1 --mac "$M1" --address "$A1" --disk "$D1"
# The installed system's key as configure wrote it on the host's disk.
disk_key() {
	debugfs -R 'cat /etc/ssh/ssh_host_ed25519_key' "${D1}p1" 2>/dev/null >"$T/k1.key" &&
	    grep -q 'BEGIN OPENSSH PRIVATE KEY' "$T/k1.key"
}

mkdir "$T/tmp"
# LeakSanitizer cannot stop the world under a tracer: not for this run.
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
TMPDIR=$T/tmp strace -f -qq -z -yy -s 65536 -e signal=none -o "$T/trace" \
    -e trace=%file,%desc,%net,%process "$C" provision k1 >"$T/k1.out" 2>&1 &
SPID=$!
# castiron, strace's child: the only process it has started.
wait_for 10 "castiron under strace" sh -c "[ -n \"\$(cat /proc/$SPID/task/$SPID/children)\" ]"
CPID=$(cat "/proc/$SPID/task/$SPID/children" | tr -d ' ')
# After configure (the key pinned and on the disk, so that the scan knows
# what to look for), while the host is still in its deploy environment
# and castiron waits for it to come back.
wait_for 60 "k1 at reboot" sh -c "[ \"\$('$C' inventory show k1 --format json | jq -r .step)\" = reboot ]"
disk_key || echo "# no private key on k1's disk"
python3 tests/lab/keyscan.py mem "$CPID" "$T/k1.key" >"$T/mem.scan" 2>&1
ok "k1: castiron still runs (at reboot) while its memory is read" kill -0 "$CPID"
: >"$T/scanned"
check "  ...its memory holds no copy of the installed key's seed" \
    "$(tail -n 1 "$T/mem.scan")" = "found 0"
sed 's/^/# /' "$T/mem.scan" | head -n 5
wait "$SPID"
RC=$?
sed 's/^/# /' "$T/k1.out" | grep -v '^# 20' | tail -n 5
check "k1: provisioned under strace" "$RC" = 0
check "  ...active" "$(jget k1 .state)" = active

# -- the trace --------------------------------------------------------------
check "  ...castiron ran no other program" \
    "$(grep -cE '^[0-9]+ +execve(at)?\(' "$T/trace")" = 1
grep -E '^[0-9]+ +execve(at)?\(' "$T/trace" | sed 1d | cut -c1-160 | sed 's/^/# /'
check "  ...and made no directory" \
    "$(grep -cE '^[0-9]+ +mkdir(at)?\(' "$T/trace")" = 0
grep -E '^[0-9]+ +mkdir(at)?\(' "$T/trace" | cut -c1-160 | sed 's/^/# /'
# Every path opened to be written or created (O_TMPFILE names a directory
# only: its file has no name).
grep -E '^[0-9]+ +(open|openat|openat2|creat)\(' "$T/trace" |
    grep -E '^[0-9]+ +creat\(|O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND' |
    grep -v O_TMPFILE | sed -E 's/^[^"]*"([^"]*)".*/\1/' | sort -u >"$T/written"
grep -vxE "$T/inv\.db(-wal|-shm|-journal)?" "$T/written" >"$T/foreign"
check "  ...it wrote no file but the inventory's" ! -s "$T/foreign"
sed 's/^/# written: /' "$T/foreign"
check "  ...no name was linked or renamed" \
    "$(grep -cE '^[0-9]+ +(link|linkat|symlink|symlinkat|rename|renameat|renameat2)\(' "$T/trace")" = 0
check "  ...nothing in its TMPDIR" -z "$(ls -A "$T/tmp")"
python3 tests/lab/keyscan.py file "$T/trace" "$T/k1.key" >"$T/trace.scan" 2>&1
check "  ...no system call carried the key's seed, as bytes or base64" \
    "$(tail -n 1 "$T/trace.scan")" = "found 0"
sed 's/^/# /' "$T/trace.scan" | head -n 5

# -- the key on the disk -----------------------------------------------------
check "k1: its private key on the disk is owner-only" \
    "$(debugfs -R 'stat /etc/ssh/ssh_host_ed25519_key' "${D1}p1" 2>/dev/null |
    sed -n 's/.*Mode: *\(0[0-7]*\).*/\1/p')" = 0600
chmod 600 "$T/k1.key"
check "  ...OpenSSH reads it, and its public half is the pin" \
    "$(ssh-keygen -y -f "$T/k1.key" | ssh-keygen -l -E sha256 -f - | awk '{print $2}')" = \
    "$(jget k1 '.ssh_host_key.fingerprint')"
check "  ...the host came back presenting it" \
    "$(ssh-keyscan -t ed25519 "$A1" 2>/dev/null | ssh-keygen -l -E sha256 -f - | awk '{print $2}')" = \
    "$(jget k1 '.ssh_host_key.fingerprint')"

done_testing
