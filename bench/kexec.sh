# Benchmark: the first boot of the installed system, by reboot = kexec
# from the deploy environment against reboot = bmc (a one-time disk boot
# and a restart by the BMC, then firmware, boot loader, kernel, sshd),
# under QEMU TCG, on one lab machine with one image (tests/lab/kexeclab.sh:
# the machine behind its Redfish BMC, network-booted into castiron's
# deploy environment; tests/lab/mkbootos's system, which GRUB and kexec
# both boot).  Each round is a whole castiron provision --force with one
# reboot mode or the other, alternating, and both are timed alike: from
# the reboot step's start (castiron's progress line, read as it is
# printed) to the verify step's start (the installed system answered
# with its pinned key), which is also the step's duration in its event.
# In between, the phases as the console shows them, each console line
# stamped as QEMU writes it (tests/lab/constamp): the BMC's restart until
# SeaBIOS prints, the firmware until it boots the disk, GRUB until the
# kernel's first console line, the kernel until the initramfs, the
# initramfs and init until sshd listens, and sshd until castiron has the
# key; for kexec, castiron reading grub.cfg and loading the kernel, then
# the handover until the new kernel's first line.  Medians of RUNS (default 2) rounds of each; the
# ratio is the BMC reboot's time over kexec's.  It measures; it never
# passes or fails on a timing.
set -u
BUILD=${BUILD:-build}
CASTIRON=${CASTIRON:-$PWD/$BUILD/castiron}
RUNS=${RUNS:-2}
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/kexeclab.sh

if [ "$(id -u)" != 0 ] || [ ! -f "$PWD/$BUILD/deploy/manifest" ]; then
	echo "bench kexec: needs root and a built deploy environment (make deploy)"
	exit 1
fi
D=$PWD/$BUILD/deploy
machine_net_init >/dev/null || { echo "bench kexec: no lab network"; exit 1; }
kexeclab_init >/dev/null || { echo "bench kexec: the lab did not start"; exit 1; }
con=$(machine_console 1)

# Each line of stdin with the wall clock in ms when it arrived.
stamp() {
	python3 -u -c '
import sys, time
while True:
    l = sys.stdin.readline()
    if not l:
        break
    sys.stdout.write("%d %s" % (time.time() * 1000, l))
    sys.stdout.flush()'
}

# round MODE N: one provision with reboot = MODE; its phases into
# $T/b/MODE.N (NAME MS lines).
round() {
	_m=$1; _n=$2; _o=$T/b/$_m.$_n
	if [ "$_m" = kexec ]; then kexeclab_config kexec none; else kexeclab_config bmc x; fi
	python3 tests/lab/constamp "$con" "$T/b/con.$_m.$_n" 2>/dev/null &
	_cw=$!
	"$CASTIRON" provision h1 --force 2>&1 | stamp >"$T/b/prov.$_m.$_n"
	sleep 0.2
	kill "$_cw" 2>/dev/null; wait "$_cw" 2>/dev/null
	python3 - "$_m" "$T/b/prov.$_m.$_n" "$T/b/con.$_m.$_n" \
	    "$(kx_json '[.events[] | select(.step == "reboot" and .duration_ms != null)] | last | .duration_ms')" \
	    "$(kx_events reboot | sed -n 's/^kexec: loaded .*, in \([0-9]*\) ms; .*/\1/p' | tail -n 1)" \
	    >"$_o" <<'EOF'
import re, sys
mode, prov, con, step_ms, load_ms = sys.argv[1:6]
def first(lines, pat, after=0):
    for t, l in lines:
        if t >= after and re.search(pat, l):
            return t, l
    return None, None
P = []
for l in open(prov, errors="replace"):
    t, _, rest = l.partition(" ")
    P.append((int(t), rest))
raw = open(con + ".raw", "rb").read().decode("latin-1")
idx = [tuple(map(int, l.split())) for l in open(con + ".idx")]
def when(off):
    for t, end in idx:
        if end > off:
            return t
    return None
def cfirst(pat, after):
    """The first console match printed at or after the wall time after:
    its time and the text of its line."""
    for m in re.finditer(pat, raw):
        t = when(m.end() - 1)
        if t is not None and t >= after:
            s = raw.rfind("\n", 0, m.start()) + 1
            e = raw.find("\n", m.end())
            return t, raw[s:e if e >= 0 else len(raw)]
    return None, None
t_start, _ = first(P, r"^\S+ h1 +reboot ")
t_exec, _ = first(P, r"^\S+ h1 +kexec ")
t_end, _ = first(P, r"^\S+ h1 +verify ")
if None in (t_start, t_end):
    sys.exit("no reboot or verify line in castiron's progress")
# The kernel's start: its first console line (the boot console's buffer,
# written when ttyS0 registers, early in start_kernel).  Not the uptime
# the initramfs prints: after a kexec under TCG the clock may count from
# power-on.
t_k, _ = cfirst(r"Linux version", t_start)
t_ird, _ = cfirst(r"testos-initrd: started[^\n]*\]", t_start)
t_sshd, _ = cfirst(r"testos: sshd listening[^\n]*\]", t_start)
if None in (t_k, t_ird, t_sshd):
    sys.exit("the installed system's console lines are missing")
out = []
if mode == "kexec":
    out.append(("castiron reads grub.cfg, loads the kernel", t_exec - t_start))
    out.append(("  of which kexec_file_load (the writer's count)", float(load_ms)))
    out.append(("handover (1 s delay, shutdown, purgatory, new kernel)", t_k - t_exec))
else:
    t_bios, _ = cfirst(r"SeaBIOS \(version", t_start)
    t_disk, _ = cfirst(r"Booting from Hard Disk", t_start)
    out.append(("the BMC restarts it, until SeaBIOS", t_bios - t_start))
    out.append(("firmware (SeaBIOS, option ROMs)", t_disk - t_bios))
    out.append(("boot loader (GRUB, reads kernel and initrd)", t_k - t_disk))
out.append(("kernel, until the initramfs", t_ird - t_k))
out.append(("initramfs and init, until sshd", t_sshd - t_ird))
out.append(("sshd, until castiron has the pinned key", t_end - t_sshd))
out.append(("total (reboot step start to verify)", t_end - t_start))
out.append(("the reboot step's duration (its event)", float(step_ms)))
for name, ms in out:
    print("%s\t%d" % (name, ms))
EOF
}

mkdir -p "$T/b"
# A first provision takes the host from enrolled to active.
kexeclab_config kexec none
"$CASTIRON" provision h1 >/dev/null 2>&1 || { echo "bench kexec: the first provision failed"; exit 1; }
for n in $(seq "$RUNS"); do
	for m in kexec bmc; do
		round "$m" "$n" || { echo "bench kexec: round $m $n failed"; exit 1; }
	done
done

python3 - "$T/b" "$RUNS" <<'EOF'
import os, statistics, sys
d, runs = sys.argv[1], int(sys.argv[2])
def load(mode):
    rows = {}
    order = []
    for n in range(1, runs + 1):
        for l in open(os.path.join(d, "%s.%d" % (mode, n))):
            name, ms = l.rstrip("\n").split("\t")
            if name not in rows:
                rows[name] = []
                order.append(name)
            rows[name].append(float(ms))
    return order, {k: statistics.median(v) for k, v in rows.items()}
ko, k = load("kexec")
bo, b = load("bmc")
tot = ["total (reboot step start to verify)", "the reboot step's duration (its event)"]
names = [n for n in ko if n not in bo] + [n for n in bo if n not in ko] + \
    [n for n in ko if n in bo and n not in tot] + tot
print("first boot of the installed system, QEMU TCG, medians of %d (s)" % runs)
print("%-46s %10s %12s" % ("phase", "kexec", "BMC restart"))
f = lambda v: "%.2f" % (v / 1000) if v is not None else "-"
for n in names:
    print("%-46s %10s %12s" % (n, f(k.get(n)), f(b.get(n))))
t = "total (reboot step start to verify)"
print("ratio BMC restart / kexec: %.2f (%.1f s against %.1f s)" % (b[t] / k[t], b[t] / 1000, k[t] / 1000))
EOF
machine_stop 1
