# castiron provision with image_transport = pull: castiron-writer on the
# host fetches the image from `castiron boot serve` over HTTP while
# castiron sends it the range table over SSH.  First on sshd hosts
# (namespaces, loop disks): a zstd image pulled as stored and a raw one
# pulled range by range, each disk compared with the image byte for byte
# outside the root (which configure rewrites), the boot service's log
# showing each host's fetches; a corrupted body and a short one (from a
# misbehaving server in the host's namespace) refused on the host with
# nothing reported verified; the boot service restarted in the middle of
# a pull, which resumes from the byte it reached; push, the default for a
# host castiron does not boot, still works.  Then one QEMU machine,
# powered through its Redfish BMC, network-booted into the deploy
# environment (dnsmasq, iPXE, check-in), pulls its image by default: its
# NVMe disk holds the image's bytes and the service's log names the host.
# time-limit: 480
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/labconf.sh

lab_need "image pull" zstd debugfs jq
lab_init
MiB=1048576
C=$CASTIRON
sha() { sha256sum "$1" | cut -d' ' -f1; }

ok "an image with a data partition" tests/lab/mkosimage "$T/os.img" 48 4 20
read -r DOFF DLEN <"$T/os.img.data"
IMGSZ=$(stat -c %s "$T/os.img")
MAPPED=$(lab_mapped "$T/os.img.bmap")
zstd -q -3 "$T/os.img" -o "$T/os.zst"
CMP_OUT="$(lab_sha "$T/os.img" 0 $MiB) $(lab_sha "$T/os.img" "$DOFF")"
PAYLOAD=$(cat "$T/os.img.payload.sha256")

# Six hosts, each with a route to the boot service, which listens on
# host 1's link (this namespace's end of it).
for n in 1 2 3 4 5 6; do
	lab_host $n openssh 64
	ip -n "$LAB_NS" route add default via "$LAB_NET.$((n * 4 + 1))"
	eval "A$n=\$LAB_ADDR D$n=\$LAB_DISK M$n=\$LAB_MAC W$n=\$(lab_written $n)"
done
PORT=$((24000 + $$ % 400))
SRV=$LAB_NET.5:$PORT

# conf FILE TRANSPORT [BOOT-URL]: SSH only (power = none), no reboot;
# images zst and raw, no default image.
conf() {
	lab_config_to "$1" image=none power=none provision.reboot=none \
	    provision.connect_timeout=30s provision.io_timeout=120s \
	    provision.image_transport="$2" boot.listen="$SRV" boot.url="${3:-}" \
	    "image zst.url=file://$T/os.zst" "image zst.sha256=$(sha "$T/os.zst")" \
	    "image zst.bmap=file://$T/os.img.bmap" \
	    "image raw.url=file://$T/os.img" "image raw.sha256=$(sha "$T/os.img")" \
	    "image raw.bmap=file://$T/os.img.bmap"
}
conf "$T/c.ini" pull
conf "$T/auto.ini" auto
export CASTIRON_CONFIG="$T/c.ini"
sent_note() { jget "$1" '[.events[] | select(.step == "image" and ((.reason // "") | test("verified on")))] | last | .reason // ""'; }
for n in 1 2 3 4 5 6; do
	eval "\"\$C\" inventory add h$n --site s --rack r --unit $n --mac \"\$M$n\" \
	    --address \"\$A$n\" --disk \"\$D$n\"" >/dev/null
done
ok "both images in the cache" sh -c "'$C' image fetch zst && '$C' image fetch raw"

NETBOOT_URL=http://$SRV
netboot_serve
# The disk outside the root is the image's, and the root's payload.
disk_is_image() {	# DISK
	[ "$(lab_sha "$1" 0 $MiB) $(lab_sha "$1" "$DOFF" $((IMGSZ - DOFF)))" = "$CMP_OUT" ] &&
	[ "$(debugfs -R 'cat /var/lib/os/payload' "${1}p1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$PAYLOAD" ]
}

# -- pulled: zstd as stored, raw range by range -------------------------------
ok "h1: provision, the zstd image pulled" "$C" provision h1 --image zst --accept-new-hostkey
note=$(sent_note h1)
check "  ...the note says it was pulled from the boot service" \
    -n "$(echo "$note" | grep -F "pulled from http://$SRV/images/zst: " | grep -F "(pulled: zstd as stored)")"
check "  ...and its throughput" -n "$(echo "$note" | grep -E '; [0-9.]+ MiB/s, ')"
ok "  ...the disk outside the root is the image's, and the root's payload" disk_is_image "$D1"
check "  ...the boot service sent the file to h1's address" \
    "$(grep -c "boot: $A1 /images/zst: 206 (-): $(stat -c %s "$T/os.zst") bytes from 0" "$T/serve.log")" = 1
written=$(( $(lab_written 1) - W1 ))
check "  ...only the mapped data (and configure's) written ($written of $IMGSZ)" \
    "$written" -lt $((MAPPED + 8 * MiB))

ok "h2: provision, the raw image pulled" "$C" provision h2 --image raw --accept-new-hostkey
check "  ...the note says so" -n "$(sent_note h2 | grep -F "pulled from http://$SRV/images/raw: ")"
ok "  ...the disk outside the root is the image's, and the root's payload" disk_is_image "$D2"
nranges=$(grep -c '<Range' "$T/os.img.bmap")
check "  ...one range request from h2's address per bmap range ($nranges)" \
    "$(grep -c "boot: $A2 /images/raw: 206 (-): " "$T/serve.log")" = "$nranges"

# -- a corrupted body, a short body: refused on the host ----------------------
# A misbehaving server inside h3's namespace, where its writer reaches it
# on 127.0.0.1: the zstd image with bytes changed in its middle, then the
# image cut 4 KiB short (Content-Length agreeing).
mkdir -p "$T/bad"
cp "$T/os.zst" "$T/bad/zst"
printf 'castiron-was-here' | dd of="$T/bad/zst" bs=1 seek=$(( $(stat -c %s "$T/os.zst") / 2 )) \
    conv=notrunc status=none
: >"$T/bad.ctl"
ip netns exec "ci-prov-$$-3" python3 tests/lab/imgserver.py --dir "$T/bad" \
    --ctl "$T/bad.ctl" --log "$T/bad.log" --port-file "$T/bad.port" >"$T/bad.err" 2>&1 &
at_exit "kill $!"
wait_for 10 "the misbehaving server" test -s "$T/bad.port"
conf "$T/bad.ini" pull "http://127.0.0.1:$(cat "$T/bad.port")"
fails_with 1 "h3: a corrupted body fails the pull" sh -c \
    "'$C' -c '$T/bad.ini' provision h3 --image zst --accept-new-hostkey 2>'$T/h3.err'"
check "  ...failed at image, the writer's reason in one line" \
    "$(jget h3 '.state + "/" + .step'):$(grep -c '^castiron provision: h3: failed at image: .*writer: ' "$T/h3.err")" = "failed/image:1"
check "  ...it was fetched from there" -n "$(grep "^/images/zst bytes=0- 200 " "$T/bad.log")"
check "  ...no image reported verified" -z "$(sent_note h3)"
echo "/images/zst short 4096" >"$T/bad.ctl"
cp "$T/os.zst" "$T/bad/zst"
fails_with 1 "h3: a body 4 KiB short fails the pull" sh -c \
    "'$C' -c '$T/bad.ini' provision h3 --image zst --accept-new-hostkey 2>'$T/h3b.err'"
check "  ...the writer's reason: the stream is truncated" \
    "$(grep -c '^castiron provision: h3: failed at image: .*writer: .*truncated' "$T/h3b.err")" = 1
check "  ...no image reported verified" -z "$(sent_note h3)"

# -- the boot service restarted in the middle of a pull -----------------------
# h4's link slowed so that the pull takes seconds; once the service has
# started sending, it is stopped and started again: the writer asks again
# from the byte it reached.
lab_slow 4 8mbit
"$C" provision h4 --image zst --accept-new-hostkey >"$T/h4.out" 2>&1 &
RUN4=$!
ok "h4's pull begins" wait_for 60 "h4's fetch" grep -q "boot: $A4 /images/zst: 206" "$T/serve.log"
netboot_serve_stop
ok "  ...the boot service stopped in the middle" grep -q "boot: SIGTERM: stopping" "$T/serve.log"
sleep 1		# the writer finds nothing listening, and tries again
netboot_serve
lab_fast 4
wait $RUN4
check "h4: provision completes across the restart (exit $?)" "$(jget h4 .state)" = active
resumed=$(grep "boot: $A4 /images/zst: 206 " "$T/serve.log" | sed -n 's/.* bytes from \([1-9][0-9]*\)$/\1/p' | head -n 1)
check "  ...the writer resumed with a Range from byte ${resumed:-?}" "${resumed:-0}" -gt 0
check "  ...the note counts the resumed requests" \
    -n "$(sent_note h4 | grep -E 'in [0-9]+ requests \([1-9][0-9]* resumed\)')"
ok "  ...the disk is the image's" disk_is_image "$D4"

# -- push still works: the default for a host castiron does not boot ----------
ok "h5: provision with image_transport = auto and power = none" \
    "$C" -c "$T/auto.ini" provision h5 --image zst --accept-new-hostkey
check "  ...pushed over SSH" -n "$(sent_note h5 | grep -E "; [0-9]+ bytes sent \(zstd as stored\), pushed over SSH; ")"
ok "  ...the disk is the image's" disk_is_image "$D5"
check "  ...nothing fetched from the boot service by h5" "$(grep -c "boot: $A5 " "$T/serve.log")" = 0
fails_with 2 "image_transport = sideways is refused" sh -c \
    "sed 's/^image_transport = pull/image_transport = sideways/' '$T/c.ini' >'$T/x.ini' && '$C' -c '$T/x.ini' config check"

netboot_serve_stop

# -- a QEMU machine network-booted through its BMC, pulling by default ---------
D=$PWD/$BUILD/deploy
if [ ! -f "$D/manifest" ] || ! command -v qemu-system-x86_64 >/dev/null; then
	skip "a network-booted QEMU machine pulls its image" "no $D/manifest: make BUILD=$BUILD deploy"
	done_testing; exit
fi
machine_net_init || { echo "not ok - lab network"; done_testing; exit 1; }
P=$LABM_PROV
QPORT=$((24500 + $$ % 400))
netboot_init "$QPORT"
machine_new 1 --blank 64 --mem 256
bmc_start 1
bmc_password 1 q1
KEY=$(cut -d' ' -f1,2 "$T/lab/id_ed25519.pub" | tr ' ' ,)
# q1's configuration: power = bmc, the boot service on the lab's
# provisioning bridge, and the static writer (the deploy environment can
# run it; a sanitizer build's own it cannot).
lab_config castiron.state_dir="$T/qstate" inventory.database="$T/q.db" \
    "image zst.url=file://$T/os.zst" "image zst.sha256=$(sha "$T/os.zst")" \
    "image zst.bmap=file://$T/os.img.bmap" provision.image= provision.reboot=none \
    provision.boot_timeout=6m provision.reboot_timeout= provision.connect_timeout=30s \
    provision.io_timeout=120s provision.image_transport=auto \
    provision.writer="$PWD/$BUILD/castiron-writer-static" bmc.power_timeout=60s \
    boot.cmdline="console=ttyS0 quiet castiron.authorized_key=$KEY,provision"
"$C" inventory add q1 --site s --rack r --unit 1 --serial "$M_SERIAL" --bmc "$BMC_ADDR" \
    --mac "$M_MAC" --address "$P.51" >/dev/null
ok "castiron boot dnsmasq" "$C" boot dnsmasq
netboot_dnsmasq "$T/dnsmasq" "$T/dnsmasq.pid"
ok "the boot service listens" netboot_serve "$T/qserve.log"
ok "the image in this inventory's cache" "$C" image fetch zst

"$C" provision q1 --image zst >"$T/q1.out" 2>&1
rc=$?
check "q1: provision powers it on, it network-boots, checks in and pulls its image (exit $rc)" "$rc" = 0
[ "$rc" = 0 ] || { tail -n 5 "$T/q1.out"; tail -n 30 "$(machine_console 1)"; tail -n 20 "$T/qserve.log"; } | sed 's/^/# /'
check "  ...pulled, by default, from the boot service" \
    -n "$(sent_note q1 | grep -F "pulled from http://$P.1:$QPORT/images/zst: ")"
check "  ...the boot service's log names q1 for the image" \
    -n "$(grep "boot: $P.51 /images/zst: 206 (q1): $(stat -c %s "$T/os.zst") bytes from 0" "$T/qserve.log")"
check "  ...boot status shows the image as its last fetch" \
    "$("$C" boot status --format json | jq -r '.[] | select(.hostname == "q1") | .last')" = "/images/zst 200"
machine_stop 1
# The image's GPT is for 48 MiB, the disk 64: the kernel's own scan
# refuses the protective MBR's size; partx reads the table as it is.
QDISK=$(losetup -f --show "$LABM_DIR/m1/disk.img")
at_exit "partx -d $QDISK; losetup -d $QDISK"
partx -a "$QDISK"
wait_for 10 "the partitions of $QDISK" test -b "${QDISK}p1"
ok "  ...its NVMe disk holds the image's bytes" disk_is_image "$QDISK"
done_testing
