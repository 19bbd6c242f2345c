# The Debian 12 image of images/recipes/debian12: what building it costs,
# how big it is, and how long the installed system takes to boot under
# QEMU TCG, phase by phase.
#
# Build: `make images` with nothing changed (the cached case: the inputs
# are computed, the entry is found), then a whole build of the same
# inputs into a scratch directory (the .debs already in the cache: what
# a rebuild after a change costs), and with BENCH_OSIMAGE_COLD=full also
# one from an empty cache (every .deb downloaded: what CI's first build
# costs).  BENCH_OSIMAGE_COLD=0 skips the builds (several minutes).
# Beside them, what an operator would run instead: a plain mmdebstrap
# of the same packages into a tarball, with no cache (BENCH_OSIMAGE_PLAIN=0
# skips it; debos and diskimage-builder are not run: see below).
#
# Size: the raw image (its min_disk), its mapped part (the bmap: what is
# written to a disk), the zstd file (what is downloaded), the root tree.
#
# Boot: the image on a lab machine's NVMe disk (tests/lab/machine.sh: q35,
# SeaBIOS, 1 GiB, virtio NIC, virtio-rng), with a NoCloud seed as
# castiron's configure step writes one (a static address, root's key, a
# pinned ed25519 host key), booted from power-on (QEMU started) to sshd
# answering with that key, twice: the first boot (cloud-init applies the
# seed) and the next (it has applied it).  Phases from the console, with
# the host's clock: firmware (QEMU start to SeaBIOS's "Booting from Hard
# Disk"), boot loader (to the kernel's start: the time of a timestamped
# console line less its timestamp), kernel and initrd, userspace to sshd
# (systemd-analyze and ssh.service's activation, read over SSH), and
# cloud-init's stages (their status.json).  Measures; asserts nothing.
set -u
. tests/lib.sh >/dev/null
. tests/lab/machine.sh
RECIPE=images/recipes/debian12/build
COLD=${BENCH_OSIMAGE_COLD:-1}
BOOTS=${BENCH_OSIMAGE_BOOTS:-2}

[ "$(id -u)" = 0 ] || { echo "bench osimage: needs root (the build, the lab)"; exit 1; }
IMG=$(tests/lab/osimage debian12) || { echo "bench osimage: no image: make images"; exit 1; }
CACHE=$(dirname "$(dirname "$IMG")")
mf() { sed -n "s/^$1=//p" "$IMG/manifest"; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f s", ms / 1000 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }

# --- build ---------------------------------------------------------------------
t0=$(now_ms)
"$RECIPE" image "$CACHE" >/dev/null 2>&1
echo "build, nothing changed (make images):   $(secs $(( $(now_ms) - t0 )))"
if [ "$COLD" != 0 ]; then
	t0=$(now_ms)
	"$RECIPE" rebuild "$CACHE" "$T/again" >"$T/again.log" 2>&1
	echo "build, the .debs cached:               $(secs $(( $(now_ms) - t0 )))" \
	    "($(sed -n 's/^debian12: built in [0-9.]* s (\(.*\))$/\1/p' "$T/again.log"))"
	same=no
	[ "$(sed -n 's/^image_sha256=//p' "$T/again/manifest" 2>/dev/null)" = "$(mf image_sha256)" ] && same=yes
	echo "  the same sha256 as the cached build: $same"
	rm -rf "$T/again"
	if [ "$COLD" = full ]; then
		t0=$(now_ms)
		"$RECIPE" rebuild "$T/empty" "$T/again" >"$T/cold.log" 2>&1
		echo "build, from an empty cache:            $(secs $(( $(now_ms) - t0 )))" \
		    "($(du -sb "$T/empty/debs" | cut -f1) bytes of .debs downloaded)"
		rm -rf "$T/again" "$T/empty"
	fi
	# What an operator would run by hand instead: the same mmdebstrap
	# (variant, packages, no recommends, the image's sources) into a
	# tarball, with no .deb cache (every package downloaded) and none of
	# the rest (no castiron, no boot loader, no disk, no bmap, no zstd,
	# not reproducible: no SOURCE_DATE_EPOCH, no clamped times).  debos
	# (in Debian 12, but it runs its recipe in a fakemachine VM: under
	# TCG here, not comparable) and diskimage-builder (not in Debian 12:
	# pip only) are not run.  BENCH_OSIMAGE_PLAIN=0 skips it.
	if [ "${BENCH_OSIMAGE_PLAIN:-1}" != 0 ]; then
		t0=$(now_ms)
		if mmdebstrap --quiet --mode=root --variant=apt \
		    --aptopt='APT::Install-Recommends "false"' \
		    --include="$(sed 's/#.*//' images/recipes/debian12/packages | tr -s ' \t\n' ',,,' | sed 's/^,//; s/,$//')" \
		    bookworm "$T/plain.tar" images/recipes/debian12/sources.list >"$T/plain.log" 2>&1; then
			echo "plain mmdebstrap, no cache (a tarball): $(secs $(( $(now_ms) - t0 )))" \
			    "($(mib "$(stat -c %s "$T/plain.tar")") tar, not bootable)"
		else
			echo "plain mmdebstrap, no cache: failed ($(tail -n 1 "$T/plain.log"))"
		fi
		rm -f "$T/plain.tar"
	fi
fi

# --- size ------------------------------------------------------------------------
raw=$(mf raw_bytes) mapped=$(mf mapped_bytes) z=$(mf image_bytes)
echo "image: raw $(mib "$raw") (min_disk), mapped $(mib "$mapped")" \
    "($(awk -v m="$mapped" -v r="$raw" 'BEGIN { printf "%.0f", 100 * m / r }') %)," \
    "zstd $(mib "$z") ($(awk -v m="$mapped" -v z="$z" 'BEGIN { printf "%.2f", m / z }') x the mapped part)," \
    "tree $(mib "$(mf tree_bytes)"), $(mf packages) packages"

# --- boot ------------------------------------------------------------------------
machine_net_init >/dev/null || { echo "bench osimage: lab network"; exit 1; }
P=$LABM_PROV
# IPv6 router advertisements on the provisioning network, as the lab's
# dnsmasq sends them (castiron boot dnsmasq, router_advertisements): with
# none, networkd counts a link configured only when its router
# solicitation times out, and cloud-init's network stage, sshd after it,
# wait for that (BENCH_OSIMAGE_RA=0 measures it).
if [ "${BENCH_OSIMAGE_RA:-1}" != 0 ]; then
	ip -n "$LABM_NS" addr add "fd00:$LABM_ID::2/64" dev brp nodad
	ip netns exec "$LABM_NS" dnsmasq --conf-file=/dev/null --port=0 --interface=brp \
	    --bind-interfaces --enable-ra --dhcp-range="fd00:$LABM_ID::,ra-only" \
	    --pid-file="$T/ra.pid" --user=root --group=root </dev/null >/dev/null 2>&1
	at_exit "kill \$(cat '$T/ra.pid' 2>/dev/null) 2>/dev/null"
fi
ADDR=$P.61
zstd -q -d -o "$T/disk.img" "$IMG/debian12.img.zst" || exit 1
truncate -s "$(( raw + 512 * 1048576 ))" "$T/disk.img"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$T/id" || exit 1
ssh-keygen -q -t ed25519 -N '' -C root@bench1 -f "$T/hostkey" || exit 1
machine_new 1 --disk "$T/disk.img" --mem 1024 -- -device virtio-rng-pci >/dev/null
MAC=$M_MAC
# The seed, as provision/step_configure.c writes it (debugfs, no mount).
S=$T/seed
mkdir -p "$S"
printf 'instance-id: bench-1\nlocal-hostname: bench1\n' >"$S/meta-data"
printf '#cloud-config\nhostname: bench1\npreserve_hostname: false\nmanage_etc_hosts: true\nssh_deletekeys: false\nssh_genkeytypes: [ed25519]\ndisable_root: false\nssh_pwauth: false\nssh_authorized_keys:\n  - "%s"\n' \
    "$(cat "$T/id.pub")" >"$S/user-data"
printf 'version: 2\nethernets:\n  nic0:\n    match:\n      macaddress: "%s"\n    addresses: ["%s/24"]\n    routes:\n      - to: "0.0.0.0/0"\n        via: "%s"\n' \
    "$MAC" "$ADDR" "$P.2" >"$S/network-config"
chmod 600 "$S/user-data" "$T/hostkey"
RO=$(( $(sfdisk --json "$T/disk.img" | jq -r '.partitiontable.partitions[1].start') * 512 ))
{
	echo "mkdir /var/lib/cloud"
	echo "mkdir /var/lib/cloud/seed"
	echo "mkdir /var/lib/cloud/seed/nocloud"
	for f in meta-data user-data network-config; do
		echo "write $S/$f /var/lib/cloud/seed/nocloud/$f"
	done
	echo "write $T/hostkey /etc/ssh/ssh_host_ed25519_key"
	echo "write $T/hostkey.pub /etc/ssh/ssh_host_ed25519_key.pub"
	# What-ifs: more debugfs commands for the installed root (a unit
	# masked: "symlink /etc/systemd/system/UNIT /dev/null").
	[ -z "${BENCH_OSIMAGE_DEBUGFS:-}" ] || cat "$BENCH_OSIMAGE_DEBUGFS"
} >"$T/seed.cmds"
debugfs -w -f "$T/seed.cmds" "$T/disk.img?offset=$RO" >/dev/null 2>&1
n=$(debugfs -R "ls -l /var/lib/cloud/seed/nocloud" "$T/disk.img?offset=$RO" 2>/dev/null |
    grep -c -e meta-data -e user-data -e network-config)
[ "$n" = 3 ] || { echo "bench osimage: debugfs could not write the seed"; exit 1; }
echo "$ADDR $(cut -d' ' -f1,2 "$T/hostkey.pub")" >"$T/known_hosts"

# watch CONSOLE OUT: the host's time (ms since the epoch) of each marker's
# first appearance on the console, and of the first kernel-timestamped
# line less its timestamp (the kernel's start).
cat >"$T/watch.py" <<'EOF'
import re, sys, time
con, out = sys.argv[1], sys.argv[2]
marks = [("firmware", "SeaBIOS (version"), ("disk", "Booting from Hard Disk"),
         ("grub", "GRUB loading"), ("grubcfg", "grub: loading"),
         ("login", "login:")]
seen, buf, pos = {}, "", 0
stamp = re.compile(r"\[ *([0-9]+\.[0-9]+)\]")
deadline = time.time() + 900
while time.time() < deadline and len(seen) < len(marks) + 1:
    with open(con, "rb") as f:
        f.seek(pos)
        data = f.read()
    now = time.time()
    if data:
        pos += len(data)
        buf += data.decode("latin-1")
        for name, text in marks:
            if name not in seen and text in buf:
                seen[name] = now
        if "kernel" not in seen:
            m = stamp.search(buf)
            if m:
                seen["kernel"] = now - float(m.group(1))
        with open(out, "w") as f:
            for k, v in seen.items():
                f.write("%s %d\n" % (k, v * 1000))
        buf = buf[-200:]
    time.sleep(0.02)
EOF
rsh() {
	timeout 60 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile="$T/known_hosts" -o GlobalKnownHostsFile=/dev/null \
	    -o IdentitiesOnly=yes -o ConnectTimeout=10 -i "$T/id" "root@$ADDR" "$@"
}
banner() {
	python3 -c "import socket,sys; s=socket.create_connection(('$ADDR', 22), 1); s.settimeout(2); sys.exit(0 if s.recv(8).startswith(b'SSH-') else 1)"
}
# boot N: power-on to sshd; prints one line of phases.
boot() {
	: >"$(machine_console 1)"
	rm -f "$T/marks"
	python3 "$T/watch.py" "$(machine_console 1)" "$T/marks" &
	wp=$!
	t0=$(now_ms)
	machine_start 1 >/dev/null
	if ! wait_for 600 "sshd on $ADDR" banner >/dev/null; then
		kill "$wp" 2>/dev/null
		echo "boot $1: sshd did not answer within 600 s"
		tail -n 5 "$(machine_console 1)" | sed 's/^/  console: /'
		return 1
	fi
	t_ssh=$(now_ms)
	# (systemd-analyze answers once the boot is done; what it says is
	# timed from the kernel's start, not from now.)
	rsh 'timeout 300 systemctl is-system-running --wait >/dev/null 2>&1
		systemd-analyze time 2>/dev/null | head -n 1
		echo "ssh_active_us=$(systemctl show -p ActiveEnterTimestampMonotonic --value ssh.service)"
		python3 -c "import json; d = json.load(open(\"/run/cloud-init/status.json\"))[\"v1\"]
for s in (\"init-local\", \"init\", \"modules-config\", \"modules-final\"):
    v = d.get(s) or {}
    if v.get(\"start\") and v.get(\"finished\"): print(\"ci_%s=%d\" % (s, (v[\"finished\"] - v[\"start\"]) * 1000))
"
		if [ "'"$1"'" = 1 ]; then
			systemd-analyze blame --no-pager 2>/dev/null | head -n 10 | sed "s/^/blame=/"
			systemd-analyze critical-chain --no-pager ssh.service 2>/dev/null | tail -n +3 | sed "s/^/chain=/"
		fi' >"$T/guest.$1" 2>/dev/null
	sleep 1
	kill "$wp" 2>/dev/null
	wait "$wp" 2>/dev/null
	m() { awk -v k="$1" '$1 == k { print $2 }' "$T/marks"; }
	disk=$(m disk) kern=$(m kernel) grubcfg=$(m grubcfg)
	sshus=$(sed -n 's/^ssh_active_us=//p' "$T/guest.$1")
	ci=0
	for s in init-local init modules-config modules-final; do
		v=$(sed -n "s/^ci_$s=//p" "$T/guest.$1")
		ci=$((ci + ${v:-0}))
	done
	sa=$(sed -n 's/^Startup finished in //p' "$T/guest.$1")
	printf '%-12s %-9s %-9s %-9s %-9s %-9s %-9s\n' "boot $1" \
	    "$(secs $((disk - t0)))" "$(secs $((kern - disk)))" \
	    "$(secs $((${sshus:-0} / 1000)))" "$(secs $ci)" \
	    "$(secs $((t_ssh - t0)))" "$(secs $((grubcfg - disk)))"
	echo "             systemd-analyze: $sa"
	if grep -q '^blame=' "$T/guest.$1"; then
		echo "             the slowest units (systemd-analyze blame):"
		sed -n 's/^blame= */               /p' "$T/guest.$1"
		echo "             ssh.service's critical chain:"
		sed -n 's/^chain=/               /p' "$T/guest.$1"
	fi
}
printf '%-12s %-9s %-9s %-9s %-9s %-9s %-9s\n' "" firmware "loader" "to sshd" \
    "cloud-init" "total" "(GRUB cfg)"
echo "             (firmware: power-on to SeaBIOS booting the disk; loader: to the kernel's start;"
echo "              to sshd: kernel start to ssh.service active; total: power-on to sshd answering)"
booted=0
for n in $(seq "$BOOTS"); do
	boot "$n" || break
	booted=$n
	if [ -n "${BENCH_OSIMAGE_HOLD:-}" ]; then
		# Left up for a look: ssh -i KEY root@ADDR, known_hosts given.
		echo "holding for $BENCH_OSIMAGE_HOLD s: ssh -o UserKnownHostsFile=$T/known_hosts -i $T/id root@$ADDR"
		sleep "$BENCH_OSIMAGE_HOLD"
	fi
	rsh 'systemctl poweroff' >/dev/null 2>&1
	wait_for 120 "the machine to power off" sh -c "! kill -0 \$(cat '$M_DIR/qemu.pid') 2>/dev/null" >/dev/null ||
	    machine_stop 1
done
# Failed to run unless every boot reached sshd (each is powered off
# after it, so the last cannot be asked again here).
[ "$booted" = "$BOOTS" ]
