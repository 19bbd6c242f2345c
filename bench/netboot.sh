# Benchmark: network boot and image pull.
#
# 1. From power-on to the deploy environment answering SSH, per phase, on
#    QEMU TCG: a lab machine behind its Redfish BMC (tests/lab/
#    redfish-bmc.py) is given a one-time network boot and powered on
#    through it (castiron bmc boot / power, as provision's power step
#    does), Debian's dnsmasq on castiron's configuration answers DHCP,
#    `castiron boot serve` the HTTP.  One watcher timestamps, on one clock,
#    the first line each phase leaves: firmware and DHCP (power-on to the
#    first HTTP request, /boot.ipxe), iPXE's fetches (to the initramfs
#    served), the kernel's boot (to the deploy environment's first console
#    line), the check-in (to the service accepting it) and SSH (to
#    dropbear's banner).  The anchor is the same deploy environment booted
#    directly by QEMU (-kernel/-initrd: no firmware, no DHCP before the
#    kernel, no iPXE, no check-in): what the network boot chain costs.
# 2. Image pull against push: castiron provision of 1 and of 4 hosts at
#    once (the lab's sshd hosts, tests/lab/provlab.sh, RAM-backed disks),
#    the same zstd image with its bmap, image_transport = pull (the hosts
#    fetch it from castiron boot serve) and = push (castiron streams it
#    over libssh2).  Printed: the aggregate throughput of the image step
#    (the image bytes written by all hosts over the longest writer's
#    time, as each writer reports it) and the provisioning server's CPU
#    seconds per GiB written (castiron provision, plus castiron boot serve
#    for pull: its /proc counters), medians of 3 rounds, and the ratios.
# Figures only; nothing asserted.
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh
. bench/common
[ "$(id -u)" = 0 ] || { echo "bench netboot: needs root (network namespaces, loop devices)"; exit 0; }
C=$CASTIRON
HZ=$(getconf CLK_TCK)
ROUNDS=${ROUNDS:-3}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
proc_cpu() { awk -v hz="$HZ" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

# -- 1. the network boot, phase by phase ------------------------------------
D=$PWD/$BUILD/deploy
if [ -f "$D/manifest" ] && command -v qemu-system-x86_64 >/dev/null; then
	machine_net_init || exit 1
	P=$LABM_PROV
	netboot_init $((25000 + $$ % 400))
	ssh-keygen -q -t ed25519 -N '' -f "$T/id"
	KEY=$(cut -d' ' -f1,2 "$T/id.pub" | tr ' ' ,)
	machine_new 1 --blank 64 --mem 256
	MAC=$M_MAC
	bmc_start 1
	bmc_password 1 n1
	lab_config castiron.state_dir="$T/nbstate" inventory.database="$T/nb.db" \
	    bmc.power_timeout=60s boot.cmdline="console=ttyS0 quiet castiron.authorized_key=$KEY,bench"
	"$C" inventory add n1 --site s --serial "$M_SERIAL" --bmc "$BMC_ADDR" --mac "$MAC" \
	    --address "$P.51" >/dev/null
	"$C" boot dnsmasq >/dev/null 2>&1
	netboot_dnsmasq "$T/dnsmasq" "$T/dnsmasq.pid"
	netboot_serve "$T/nbserve.log"
	# Armed as provision's power step arms it.
	mkdir -p -m 700 "$T/nbstate/boot"
	TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	(umask 077; printf 'host=n1\ntoken=%s\nexpires=%s\nmode=deploy\n' "$TOKEN" \
	    $(($(date +%s) + 900)) >"$T/nbstate/boot/n1.boot")
	# watch T0 LIMIT NAME FILE TEXT ... [ssh ADDR]: the milliseconds from
	# T0 at which each TEXT first appears in its FILE (in order), then
	# when ADDR:22 sends its banner; one process, polling every 50 ms.
	watch() {
		python3 - "$@" <<'PY'
import socket, sys, time
t0, limit, a = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
steps = [a[i:i + 3] for i in range(0, len(a) - 2, 3)]
end = time.time() + limit
for name, path, text in steps:
    while time.time() < end:
        try:
            if text in open(path, errors="replace").read():
                break
        except OSError:
            pass
        time.sleep(0.05)
    else:
        print("%s timeout" % name); sys.exit(1)
    print("%s %d" % (name, time.time() * 1000 - t0), flush=True)
if len(a) % 3 == 2 and a[-2] == "ssh":
    while time.time() < end:
        try:
            s = socket.create_connection((a[-1], 22), 1)
            if s.recv(4) == b"SSH-":
                break
        except OSError:
            time.sleep(0.05)
    else:
        print("ssh timeout"); sys.exit(1)
    print("ssh %d" % (time.time() * 1000 - t0))
PY
	}
	con=$(machine_console 1)
	"$C" bmc boot n1 pxe >/dev/null
	t0=$(now_ms)
	"$C" bmc power n1 on >/dev/null
	watch "$t0" 300 \
	    dhcp "$T/nbserve.log" "/boot.ipxe: 200" \
	    ipxe "$T/nbserve.log" "/deploy/initrd.img: 20" \
	    kernel "$con" "castiron-deploy: " \
	    checkin "$T/nbserve.log" "/checkin: 200" \
	    ssh "$P.51" >"$T/nb.times"
	"$C" bmc power n1 off >/dev/null 2>&1
	machine_stop 1 >/dev/null 2>&1
	bmc_stop 1 >/dev/null 2>&1
	# The anchor: the same kernel and initramfs booted directly, with
	# n1's MAC (dnsmasq gives it the same address).
	machine_new 2 --blank 64 --mem 256 --mac "$MAC" -- -kernel "$D/vmlinuz" \
	    -initrd "$D/initrd.img" -append "console=ttyS0 quiet castiron.authorized_key=$KEY,bench"
	t0=$(now_ms)
	machine_start 2
	watch "$t0" 300 kernel "$(machine_console 2)" "castiron-deploy: " \
	    ssh "$P.51" >"$T/direct.times"
	machine_stop 2 >/dev/null 2>&1
	v() { sed -n "s/^$1 //p" "$2"; }
	if grep -q timeout "$T/nb.times"; then
		echo "network boot: $(cat "$T/nb.times" | tr '\n' ' ')"
	else
		d=$(v dhcp "$T/nb.times") i=$(v ipxe "$T/nb.times") k=$(v kernel "$T/nb.times")
		c=$(v checkin "$T/nb.times") s=$(v ssh "$T/nb.times")
		echo "network boot, power-on to SSH (QEMU TCG, 256 MiB, virtio NIC):"
		printf '  %-38s %7d ms  %s of the total\n' "firmware and DHCP (to /boot.ipxe)" "$d" "$(ratio "$d" "$s")" \
		    "iPXE fetches (script, kernel, initrd)" $((i - d)) "$(ratio $((i - d)) "$s")" \
		    "kernel boot (to the deploy init)" $((k - i)) "$(ratio $((k - i)) "$s")" \
		    "deploy init to check-in accepted" $((c - k)) "$(ratio $((c - k)) "$s")" \
		    "check-in to dropbear's banner" $((s - c)) "$(ratio $((s - c)) "$s")"
		printf '  %-38s %7d ms\n' "total" "$s"
		dk=$(v kernel "$T/direct.times") ds=$(v ssh "$T/direct.times")
		if [ -n "$ds" ]; then
			echo "anchor, the same kernel and initramfs booted directly by QEMU (-kernel): to init $dk ms, to SSH $ds ms"
			echo "ratio network boot / direct boot, to SSH: $(ratio "$s" "$ds")"
		else
			echo "anchor, direct boot: $(tr '\n' ' ' <"$T/direct.times")"
		fi
	fi
	unset CASTIRON_CONFIG
else
	echo "network boot: skipped (no $D/manifest: make BUILD=$BUILD deploy; or no QEMU)"
fi

# -- 2. pull against push, 1 and 4 hosts at once -----------------------------
LAB_DISKDIR=/dev/shm
lab_init
tests/lab/mkosimage "$T/os.img" 384 160 >/dev/null
zstd -q -3 "$T/os.img" -o "$T/os.zst"
MAPPED=$(lab_mapped "$T/os.img.bmap")
for n in 1 2 3 4; do
	lab_host $n openssh 400 >/dev/null
	ip -n "$LAB_NS" route add default via "$LAB_NET.$((n * 4 + 1))"
	eval "A$n=\$LAB_ADDR D$n=\$LAB_DISK M$n=\$LAB_MAC"
done
SRV=$LAB_NET.5:$((25500 + $$ % 400))
# conf FILE TRANSPORT: SSH only (power = none), no reboot; image os, no
# default image; not part 1's [boot] (netboot_init's keys).
LAB_CONFIG_KEYS=""
conf() {
	lab_config_to "$1" image=none power=none provision.reboot=none \
	    provision.io_timeout=120s provision.image_transport="$2" boot.listen="$SRV" \
	    "image os.url=file://$T/os.zst" "image os.sha256=$(sha256sum "$T/os.zst" | cut -d' ' -f1)" \
	    "image os.bmap=file://$T/os.img.bmap"
}
conf "$T/pull.ini" pull
conf "$T/push.ini" push
"$C" -c "$T/pull.ini" image fetch os >/dev/null 2>&1
CASTIRON_CONFIG=$T/pull.ini NETBOOT_URL=http://$SRV
export CASTIRON_CONFIG
netboot_serve "$T/serve.log"
SERVE=$NETBOOT_SERVE
# round TRANSPORT N: provisions hosts 1..N at once into a fresh inventory;
# prints "MiB/s CPU-s/GiB".
round() {
	rm -f "$T/inv.db" "$T/inv.db-wal" "$T/inv.db-shm"
	_hs=""
	for _n in $(seq 1 "$2"); do
		eval "\"\$C\" -c \"\$T/$1.ini\" inventory add b$_n --site s --rack r --unit $_n \
		    --mac \"\$M$_n\" --address \"\$A$_n\" --disk \"\$D$_n\"" >/dev/null
		_hs="$_hs b$_n"
	done
	_s0=$(proc_cpu "$SERVE")
	# shellcheck disable=SC2086
	/usr/bin/time -f '%U %S' -o "$T/cpu" "$C" -c "$T/$1.ini" provision $_hs --image os \
	    --parallel "$2" --accept-new-hostkey >"$T/run.out" 2>&1 || { tail -3 "$T/run.out" >&2; echo "0 0"; return; }
	_s1=$(proc_cpu "$SERVE")
	_cpu=$(tail -1 "$T/cpu" | awk '{ print $1 + $2 }')
	[ "$1" = pull ] && _cpu=$(echo "$_cpu + $_s1 - $_s0" | bc -l)
	_ms=0
	for _h in $_hs; do
		_e=$("$C" -c "$T/$1.ini" inventory show "$_h" --format json | jq -r \
		    '[.events[] | select((.reason // "") | test("verified on"))] | last | .reason' |
		    sed -n 's/.*the writer took \([0-9]*\) ms.*/\1/p')
		[ "${_e:-0}" -gt "$_ms" ] && _ms=$_e
	done
	echo "$(echo "scale=1; $MAPPED * $2 / 1048576 / ($_ms / 1000)" | bc -l) \
	    $(echo "scale=3; $_cpu / ($MAPPED * $2 / 1073741824)" | bc -l)"
}
echo "image pull against push: a $(($(stat -c %s "$T/os.img") >> 20)) MiB image, $((MAPPED >> 20)) MiB mapped, $(($(stat -c %s "$T/os.zst") >> 20)) MiB as stored (zstd -3), lab hosts on veths"
for n in 1 4; do
	for tr in pull push; do
		eval "R_${tr}_T=''; R_${tr}_C=''"
	done
	for r in $(seq 1 "$ROUNDS"); do
		for tr in pull push; do
			set -- $(round $tr $n)
			eval "R_${tr}_T=\"\$R_${tr}_T $1\"; R_${tr}_C=\"\$R_${tr}_C $2\""
		done
	done
	pt=$(median $R_pull_T) pc=$(median $R_pull_C) st=$(median $R_push_T) sc=$(median $R_push_C)
	printf '  %d host(s) at once: pull %7.1f MiB/s, %6.3f server CPU s/GiB; push %7.1f MiB/s, %6.3f server CPU s/GiB\n' \
	    "$n" "$pt" "$pc" "$st" "$sc"
	echo "    ratio pull/push: throughput $(ratio "$pt" "$st"), server CPU per GiB $(ratio "$pc" "$sc")"
done
