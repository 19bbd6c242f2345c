# Benchmark: a rack to active (issue 16).  A site of 8 servers on this
# machine (tests/lab/site.sh: QEMU TCG machines behind their own BMCs,
# Redfish and one IPMI; the appliance with dnsmasq and the boot service),
# and `castiron provision --rack r1` from power-on to active, with the time
# of each phase per server (power; firmware and DHCP, to the iPXE script;
# deploy boot: the kernel's fetch, its boot, the check-in, SSH; inspect;
# image; configure; reboot; verify), read from the narration of the run
# (tests/lab/narrate --record), and the critical path: the last server's
# phases.  The same with --parallel 4.
#
# The floor, measured in the same run on the same 8 machines: the deploy
# environment booted directly (QEMU -kernel, all at once, no firmware, no
# castiron) until each answers SSH; then the installed image booted
# directly.  Rack to active against that floor is the ratio the issue
# sets goals for (<= 1.5 x with kexec, <= 1.8 x with BMC reboots).
#
# What limits each phase: while any server is in it, this machine's CPU
# use (of its cores), the appliance's network traffic and the disk
# writes, sampled every half second.
#
# Until the bootable image (branch recipe) is on main, the image is the
# lab's small test image, provision ends at configure (reboot = none) and
# the floor has no installed boot: the figures say so.  RACK_SERVERS=N:
# another rack size.  Figures only; nothing asserted.
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/ipmi-lab.sh
. tests/lab/netboot.sh
. tests/lab/site.sh
. bench/common
[ "$(id -u)" = 0 ] || { echo "bench rack: needs root (namespaces, taps)"; exit 0; }
[ -f "$BUILD/deploy/manifest" ] || { echo "bench rack: needs make deploy"; exit 0; }
N=${RACK_SERVERS:-8}
SITE_BOOT_TIMEOUT=600s
site_up "$N" >"$T/site.log" || { cat "$T/site.log"; echo "bench rack: no site"; exit 1; }
echo "rack: $N servers (QEMU TCG, 512 MiB, NVMe), $(nproc) cores; image $SITE_IMAGE (bootable: $SITE_BOOTABLE)"
site_csv "$T/rack.csv"
site_castiron inventory import "$T/rack.csv" >/dev/null || exit 1
hosts="" macs=""
for n in $(seq "$N"); do
	hosts="$hosts${hosts:+,}$(site_host "$n")"
	macs="$macs${macs:+,}$(site_mac "$n")=$(site_host "$n")"
done

# The sampler: "EPOCH CPU_BUSY CPU_TOTAL NET_BYTES DISK_SECTORS" every
# half second (jiffies of every core; the appliance's prov port, both
# ways; sectors written to every disk).
sampler() {
	while :; do
		_c=$(awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; t = b + $5 + $6; print b, t }' /proc/stat)
		_n=$(ip netns exec "$SITE_APP" cat /sys/class/net/prov/statistics/tx_bytes \
		    /sys/class/net/prov/statistics/rx_bytes 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
		_d=$(awk '$3 !~ /[0-9]$/ || $3 ~ /^nvme[0-9]+n[0-9]+$/ { s += $10 } END { print s + 0 }' /proc/diskstats)
		echo "$(now) $_c $_n $_d"
		sleep 0.5
	done
}
sampler >"$T/samples" &
at_exit "kill $! 2>/dev/null"

# -- the floor: the deploy environment booted directly, all at once ----------
KEY=$(cut -d' ' -f1,2 "$SITE_A/id_ed25519.pub" | tr ' ' ,)
redefine() {	# n [qemu args...]: machine n as site_up made it, plus args
	_n=$1; shift
	machine_new "$_n" --blank 4096 --mem 512 --serial "$(site_serial "$_n")" \
	    --mac "$(site_mac "$_n")" -- "$@" >/dev/null
}
answers() {	# address: its SSH port answers, from the appliance
	ip netns exec "$SITE_APP" python3 -c \
	    "import socket; socket.create_connection(('$1', 22), 1).recv(4)" 2>/dev/null
}
for n in $(seq "$N"); do
	redefine "$n" -kernel "$PWD/$BUILD/deploy/vmlinuz" -initrd "$PWD/$BUILD/deploy/initrd.img" \
	    -append "console=ttyS0 quiet castiron.authorized_key=$KEY,floor"
done
f0=$(now)
for n in $(seq "$N"); do machine_start "$n" >/dev/null; done
for n in $(seq "$N"); do
	wait_for 600 "server $n's deploy environment" answers "$(site_addr "$n")" >/dev/null
	echo "$n $(awk -v a="$(now)" -v b="$f0" 'BEGIN { printf "%.1f", a - b }')" >>"$T/floor"
done
floor=$(sort -k2 -n "$T/floor" | tail -n 1 | cut -d' ' -f2)
for n in $(seq "$N"); do machine_stop "$n"; redefine "$n"; done
echo "floor: $N deploy environments booted directly, all at once, to SSH: $floor s (each: $(sort -n "$T/floor" | cut -d' ' -f2 | tr '\n' ' '))"
[ "$SITE_BOOTABLE" = yes ] ||
	echo "floor: the installed image booted directly: waits for the bootable image (branch recipe)"

# -- rack to active -------------------------------------------------------------
rack() {	# parallel tag config [provision options]
	_p=$1 _tag=$2 _c=$3; shift 3
	site_castiron bmc power --rack r1 off >/dev/null 2>&1
	: >"$T/prov.$_tag"
	_t0=$(now)
	site_castiron -c "$_c" provision --rack r1 --parallel "$_p" "$@" >"$T/prov.$_tag" 2>&1 &
	_pp=$!
	python3 tests/lab/narrate --hosts "$hosts" --pid "$_pp" --progress "$T/prov.$_tag" \
	    --dnsmasq "$NETBOOT_DHCP_LOG" --serve "$SITE_A/serve.log" --macs "$macs" \
	    --lines --record "$T/rec.$_tag" >/dev/null
	wait "$_pp"
	_rc=$?
	_t=$(awk -v a="$(now)" -v b="$_t0" 'BEGIN { printf "%.1f", a - b }')
	echo "$_t0" >"$T/t0.$_tag"
	echo "rack to active, --parallel $_p, reboot = $(sed -n 's/^reboot *= *//p' "$_c"): $_t s (exit $_rc; $(grep -cE '^srv[0-9]+ +active ' "$T/prov.$_tag") of $N active)"
}
INI=$SITE_A/castiron.ini
RUNS="p8 p4"
rack 8 p8 "$INI"
# reboot = kexec, once the image boots and castiron has it
printf '[provision]\nreboot = kexec\n' >"$T/probe.ini"
if [ "$SITE_BOOTABLE" = yes ] && "$CASTIRON" -c "$T/probe.ini" config check >/dev/null 2>&1; then
	sed 's/^reboot .*/reboot          = kexec/' "$INI" >"$SITE_A/kexec.ini"
	rack 8 p8k "$SITE_A/kexec.ini" --force
	RUNS="p8 p8k p4"
fi
rack 4 p4 "$INI" --force

# -- the floor's second half: the installed systems booted from their disks ---
# (a second boot of each: its first, cloud-init's, was provision's; the
# floor is then a little low, the ratio a little high)
if [ "$SITE_BOOTABLE" = yes ]; then
	site_castiron bmc power --rack r1 off >/dev/null 2>&1
	for n in $(seq "$N"); do machine_stop "$n"; done
	: >"$T/floor2"
	f0=$(now)
	for n in $(seq "$N"); do machine_start "$n" order=c >/dev/null; done
	for n in $(seq "$N"); do
		wait_for 900 "server $n's installed system" answers "$(site_addr "$n")" >/dev/null
		echo "$n $(awk -v a="$(now)" -v b="$f0" 'BEGIN { printf "%.1f", a - b }')" >>"$T/floor2"
	done
	floor2=$(sort -k2 -n "$T/floor2" | tail -n 1 | cut -d' ' -f2)
	echo "floor: $N installed systems booted from their disks, all at once, to SSH: $floor2 s"
	floor=$(awk -v a="$floor" -v b="$floor2" 'BEGIN { printf "%.1f", a + b }')
	echo "floor: $floor s in all"
fi

# -- the figures ------------------------------------------------------------------
python3 - "$T" "$N" "$floor" "$SITE_BOOTABLE" "$RUNS" <<'EOF'
import os
import sys
T, N, floor, bootable = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
RUNS = sys.argv[5].split()
PH = ["power", "firmware+dhcp", "deploy boot", "inspect", "image",
      "configure", "reboot", "verify"]

def phases(tag):
    """{host: {phase: (start, end)}} from narrate's record."""
    ev = {}
    for l in open("%s/rec.%s" % (T, tag)):
        t, h, what, rest = (l.rstrip("\n").split(" ", 3) + [""])[:4]
        ev.setdefault(h, []).append((float(t), what, rest))
    out = {}
    for h, e in ev.items():
        p, first = {}, {}
        for t, what, rest in e:
            first.setdefault((what, rest.split(" ")[0]), t)
        def at(what, word):
            return first.get((what, word))
        ps, pd = at("power", "started"), at("power", "done")
        ipxe = next((t for t, w, r in e if w == "ipxe"), None)
        bd = at("boot", "done")
        if ps is not None and pd is not None:
            p["power"] = (ps, pd)
        if pd is not None and ipxe is not None:
            p["firmware+dhcp"] = (pd, ipxe)
        if ipxe is not None and bd is not None:
            p["deploy boot"] = (ipxe, bd)
        for s in PH[3:]:
            a, b = at(s, "started"), at(s, "done")
            if s == "reboot":       # reboot = kexec says "kexec" meanwhile
                ka, kb = at("kexec", "started"), at("kexec", "done")
                a = min(x for x in (a, ka, 1e18) if x is not None)
                b = max(x for x in (b, kb, -1) if x is not None)
                if a == 1e18 or b == -1:
                    a = b = None
            if a is not None and b is not None:
                p[s] = (a, b)
        act = at("active", "")
        if act is None:
            act = next((t for t, w, r in e if w == "active"), None)
        p["_active"] = act
        out[h] = p
    return out

samples = []
for l in open(T + "/samples"):
    f = l.split()
    if len(f) == 5:
        samples.append([float(x) for x in f])

def limits(spans):
    """CPU use, network and disk rates while any server was in the phase:
    the sample intervals whose middle falls in one of spans."""
    d = [0.0] * 5
    for x, y in zip(samples, samples[1:]):
        mid = (x[0] + y[0]) / 2
        if any(a <= mid <= b for a, b in spans):
            for i in range(5):
                d[i] += y[i] - x[i]
    if d[0] < 0.9:
        return "too short to sample"
    cpu = 100.0 * d[1] / d[2] if d[2] else 0
    net = d[3] / d[0] / 1e6
    disk = d[4] * 512 / d[0] / 1e6
    what = "CPU" if cpu >= 85 else "network" if net > 50 else \
        "disk" if disk > 50 else "waiting (neither CPU, network nor disk)"
    return "CPU %3.0f%% of %d cores, network %5.1f MB/s, disk %5.1f MB/s: %s" % (
        cpu, os.cpu_count(), net, disk, what)

TITLE = {"p8": "--parallel 8", "p8k": "--parallel 8, reboot = kexec",
         "p4": "--parallel 4"}
for tag in RUNS:
    P = phases(tag)
    base = float(open("%s/t0.%s" % (T, tag)).read())
    print("\n%s: seconds from provision's start, per server and phase" % TITLE[tag])
    print("%-6s" % "host" + "".join("%14s" % x for x in PH) + "%10s" % "active")
    for h in sorted(P, key=lambda x: int(x[3:])):
        p = P[h]
        cells = ["%14s" % ("%.1f" % (p[x][1] - p[x][0]) if x in p else "-") for x in PH]
        act = p.get("_active")
        print("%-6s" % h + "".join(cells) + "%10s" % ("%.1f" % (act - base) if act else "-"))
    last = max((p for p in P.values() if p.get("_active")), key=lambda p: p["_active"], default=None)
    if last:
        name = [h for h, p in P.items() if p is last][0]
        total = last["_active"] - base
        print("critical path: %s, %.1f s: %s" % (name, total, ", ".join(
            "%s %.1f" % (x, last[x][1] - last[x][0]) for x in PH if x in last)))
        print("rack to active / floor: %.2f (%.1f s / %.1f s)%s" % (
            total / floor, total, floor, "" if bootable == "yes" else
            "; partial on both sides: no reboot, no installed boot (branch recipe)"))
    print("what limits each phase (while any server is in it; this machine's")
    print("CPU is everything on it, other tests included):")
    for x in PH:
        w = [p[x] for p in P.values() if x in p]
        if not w:
            continue
        print("  %-14s longest %5.1f s  %s" % (x, max(b - a for a, b in w), limits(w)))
EOF
