# castiron image bmap/verify/write/send and build/castiron-writer on
# files and loop devices: bmap interop with Debian's bmap-tools both ways,
# raw/zstd/gzip, hostile bmaps, corrupt streams, targets refused before a
# byte is written (too small, mounted), the partition table re-read, and
# the framed writer protocol (whole, truncated, corrupted).
. tests/lib.sh

LAB=$PWD/tests/lab
WRITER=${WRITER:-$(dirname "$CASTIRON")/castiron-writer}
C() { "$CASTIRON" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# A sparse 40 MiB disk image with an MBR partition table and scattered
# data; its bmaps made by bmaptool and by castiron.
truncate -s 40M "$T/d.raw"
printf 'label: dos\nstart=2048, size=30720, type=83\n' |
    sfdisk -q "$T/d.raw" >/dev/null 2>&1
head -c 2097152 /dev/urandom | dd of="$T/d.raw" bs=1M seek=1 conv=notrunc status=none
head -c 12288 /dev/urandom | dd of="$T/d.raw" bs=4096 seek=2500 conv=notrunc status=none
head -c 1000 /dev/urandom | dd of="$T/d.raw" bs=1 seek=41000000 conv=notrunc status=none
zstd -q "$T/d.raw" -o "$T/d.zst"
gzip -c "$T/d.raw" >"$T/d.gz"
bmaptool create "$T/d.raw" -o "$T/tool.bmap" 2>/dev/null

ok "castiron image bmap" sh -c "'$CASTIRON' image bmap '$T/d.raw' >'$T/ci.bmap'"
check "same ranges as bmaptool create" \
    "$(grep '<Range' "$T/ci.bmap" | md5sum)" = "$(grep '<Range' "$T/tool.bmap" | md5sum)"
ok "bmaptool copy reads castiron's bmap" \
    bmaptool -q copy --bmap "$T/ci.bmap" "$T/d.zst" "$T/out.tool"
ok "and writes the image" cmp "$T/d.raw" "$T/out.tool"
for f in raw zst gz; do
	ok "write $f with bmaptool's bmap" C -q image write "$T/d.$f" --bmap "$T/tool.bmap" --to "$T/out.$f"
	ok "$f: the file is the image" cmp "$T/d.raw" "$T/out.$f"
done
ok "write without a bmap" C -q image write "$T/d.zst" --to "$T/out.nobmap"
ok "the file is the image" cmp "$T/d.raw" "$T/out.nobmap"
ok "--verify-readback" C -q image write "$T/d.gz" --bmap "$T/ci.bmap" --to "$T/out.rb" --verify-readback
ok "verify FILE --bmap" C image verify "$T/d.zst" --bmap "$T/tool.bmap"
C --format json image write "$T/d.zst" --bmap "$T/ci.bmap" --to "$T/out.j" >"$T/w.json"
MAPPED=$(( $(sed -n 's/.*<MappedBlocksCount> *\([0-9]*\).*/\1/p' "$T/ci.bmap") * 4096 ))
NRANGES=$(grep -c '<Range' "$T/ci.bmap")
check "json: written bytes are the mapped bytes only" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["written_bytes"], d["ranges"])' "$T/w.json")" = "$MAPPED $NRANGES"

# An image that does not match its bmap.
cp "$T/d.raw" "$T/e.raw"
printf 'X' | dd of="$T/e.raw" bs=1 seek=10250000 conv=notrunc status=none
fails_with 1 "a range that does not match the bmap fails" \
    C -q image write "$T/e.raw" --bmap "$T/tool.bmap" --to "$T/out.e"
check "the error names the range and both digests" \
    -n "$(C -q image write "$T/e.raw" --bmap "$T/tool.bmap" --to "$T/out.e" 2>&1 | grep -E 'range [0-9]+ at offset 10240000 .*expected [0-9a-f]{64}, got [0-9a-f]{64}')"
fails_with 1 "verify finds it too" C image verify "$T/e.raw" --bmap "$T/tool.bmap"

# Hostile bmaps: a clear error, exit 1, the target not created.
for m in pastend overlap unsorted absurdcount toolarge badsum hugeline \
    nochksum badnum wrongsize version1 dupfield; do
	python3 "$LAB/bmapmangle.py" "$T/tool.bmap" "$T/bad.bmap" $m
	rm -f "$T/out.bad"
	fails_with 1 "hostile bmap ($m) is refused" \
	    C -q image write "$T/d.zst" --bmap "$T/bad.bmap" --to "$T/out.bad"
	check "($m) one line naming the bmap" \
	    "$(C -q image write "$T/d.zst" --bmap "$T/bad.bmap" --to "$T/out.bad" 2>&1 | grep -c "bad.bmap")" -eq 1
	check "($m) the target was not created" ! -e "$T/out.bad"
done
head -c 100000 /dev/urandom >"$T/noise.bmap"
fails_with 1 "random bytes as a bmap" C image verify "$T/d.zst" --bmap "$T/noise.bmap"

# Corrupt and truncated compressed images.
cp "$T/d.zst" "$T/c.zst"
printf 'garbage!' | dd of="$T/c.zst" bs=1 seek=$(( $(stat -c %s "$T/d.zst") / 2 )) conv=notrunc status=none
fails_with 1 "a corrupt zstd image" C -q image write "$T/c.zst" --bmap "$T/tool.bmap" --to "$T/out.c"
head -c $(( $(stat -c %s "$T/d.zst") - 100 )) "$T/d.zst" >"$T/t.zst"
fails_with 1 "a truncated zstd image" C -q image write "$T/t.zst" --bmap "$T/tool.bmap" --to "$T/out.c"
check "named as truncated" -n "$(C -q image write "$T/t.zst" --to "$T/out.c" 2>&1 | grep 'truncated zstd')"
cp "$T/d.gz" "$T/c.gz"
printf 'garbage!' | dd of="$T/c.gz" bs=1 seek=$(( $(stat -c %s "$T/d.gz") / 2 )) conv=notrunc status=none
fails_with 1 "a corrupt gzip image" C -q image write "$T/c.gz" --bmap "$T/tool.bmap" --to "$T/out.c"
head -c $(( $(stat -c %s "$T/d.gz") - 20 )) "$T/d.gz" >"$T/t.gz"
fails_with 1 "a truncated gzip image" C -q image verify "$T/t.gz"
xz -c </dev/null >"$T/x.xz" 2>/dev/null && \
    fails_with 1 "xz is refused by content" C -q image verify "$T/x.xz"

# castiron-writer fed the framed stream.
# (The sanitizer build of the writer cannot be static.)
if ! ldd "$WRITER" 2>/dev/null | grep -q libasan; then
	check "castiron-writer is static" -z "$(ldd "$WRITER" 2>/dev/null | grep -v 'not a dynamic')"
fi
C -q image send "$T/d.zst" --bmap "$T/tool.bmap" >"$T/stream"
ok "castiron-writer writes a stream" sh -c "'$WRITER' '$T/w1' <'$T/stream' >'$T/rep1'"
ok "the writer's file is the image" cmp "$T/d.raw" "$T/w1"
check "the report ends with done, its digest the local write's" \
    "$(tail -1 "$T/rep1" | sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p')" = \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T/w.json")"
check "ready comes first" "$(head -1 "$T/rep1" | cut -d' ' -f1)" = ready
C -q image send "$T/d.raw" --verify-readback >"$T/stream.rb"
ok "a whole image (no bmap) with read back" sh -c "'$WRITER' '$T/w2' <'$T/stream.rb' >'$T/rep2'"
ok "the file is the image" cmp "$T/d.raw" "$T/w2"
check "readback=yes reported" -n "$(grep '^done .*readback=yes' "$T/rep2")"
# As in a deploy environment: a chroot holding busybox and the writer only.
if [ -x /bin/busybox ] && ! ldd "$WRITER" 2>/dev/null | grep -q libasan; then
	mkdir -p "$T/root/bin" "$T/root/proc"
	cp /bin/busybox "$T/root/bin/busybox"
	cp "$WRITER" "$T/root/castiron-writer"
	cp "$T/stream" "$T/root/stream"
	ok "the writer runs under busybox with no libraries" chroot "$T/root" \
	    /bin/busybox sh -c '/castiron-writer /disk.img </stream >/report'
	ok "and writes the image there" cmp "$T/d.raw" "$T/root/disk.img"
fi
head -c 1500000 "$T/stream" >"$T/stream.cut"
fails_with 1 "a stream that ends early exits 1" "$WRITER" "$T/w3" <"$T/stream.cut"
"$WRITER" "$T/w3" <"$T/stream.cut" >"$T/rep3" 2>/dev/null
check "with an error line" -n "$(grep '^error exit=1 msg=the stream ended early' "$T/rep3")"
check "nothing past the image size" "$(stat -c %s "$T/w3")" -eq "$(stat -c %s "$T/d.raw")"
cp "$T/stream" "$T/stream.bad"
# Flip a bit (writing a fixed byte would corrupt nothing when the random
# data already holds it there).
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(100000); b = f.read(1)[0]; f.seek(100000); f.write(bytes([b ^ 1]))' "$T/stream.bad"
check "the corrupted stream differs" -n "$(cmp "$T/stream" "$T/stream.bad" 2>&1)"
fails_with 1 "a corrupted range fails its digest" "$WRITER" "$T/w4" <"$T/stream.bad"
head -c 4096 /dev/urandom >"$T/junk"
fails_with 2 "junk is refused before anything is written" "$WRITER" "$T/w5" <"$T/junk"
check "the junk target was not created" ! -e "$T/w5"
fails_with 1 "send refuses an image that does not match its bmap" \
    sh -c "'$CASTIRON' -q image send '$T/e.raw' --bmap '$T/tool.bmap' >'$T/stream.e'"
fails_with 1 "and the writer fed that stream does not finish" "$WRITER" "$T/w6" <"$T/stream.e"

# Block devices: loop devices made here, detached on exit.  (loop sets a
# variable rather than printing: at_exit must run in this shell.)
loop() {	# VAR SIZE_MB [-P]
	truncate -s "$2"M "$T/loop$2.img"
	_dev=$(losetup -f --show ${3:-} "$T/loop$2.img") || return 1
	at_exit "losetup -d $_dev"
	eval "$1=\$_dev"
}
if ! loop L64 64 -P; then
	echo "# no loop devices here: skipping block-device tests"
	done_testing
	exit $?
fi
ok "write onto a loop device" C -q image write "$T/d.zst" --bmap "$T/tool.bmap" --to "$L64"
ok "the device holds the image" cmp -n 41943040 "$T/d.raw" "$L64"
wait_for 5 "partition node ${L64}p1" test -b "${L64}p1"
check "the kernel shows the new partition" -b "${L64}p1"
cat >"$T/ci.ini" <<EOF2
[images]
cache_dir = $T/cache

[image big]
url = file://$T/d.zst
sha256 = $(sha "$T/d.zst")
min_disk = 100M
EOF2
before=$(sha "$L64")
fails_with 2 "a catalog image's min_disk larger than the device is refused" \
    C -c "$T/ci.ini" -q image write big --to "$L64"
check "naming min_disk" -n "$(C -c "$T/ci.ini" -q image write big --to "$L64" 2>&1 | grep min_disk)"
check "the device is untouched" "$(sha "$L64")" = "$before"
loop L32 32
before=$(sha "$L32")
fails_with 2 "a device smaller than the image is refused" \
    C -q image write "$T/d.zst" --bmap "$T/tool.bmap" --to "$L32"
check "the refusal says why" -n "$(C -q image write "$T/d.zst" --to "$L32" 2>&1 | grep 'smaller than the image')"
check "the small device is untouched" "$(sha "$L32")" = "$before"
fails_with 2 "the writer refuses it too" "$WRITER" "$L32" <"$T/stream"
check "still untouched" "$(sha "$L32")" = "$before"

# A mounted device, and a disk with a mounted partition.
loop LM 48
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LM" >/dev/null 2>&1
mkdir "$T/mnt"
if mount "$LM" "$T/mnt" 2>/dev/null; then
	at_exit "umount '$T/mnt'"
	echo hello >"$T/mnt/file"; sync; sleep 1; sync
	before=$(sha "$LM")
	fails_with 2 "a mounted device is refused" C -q image write "$T/d.zst" --to "$LM"
	check "the refusal names the mount point" -n "$(C -q image write "$T/d.zst" --to "$LM" 2>&1 | grep "mounted on $T/mnt")"
	fails_with 2 "the writer refuses it too" "$WRITER" "$LM" <"$T/stream"
	check "the mounted device is untouched" "$(sha "$LM")" = "$before"
	check "its file is still there" "$(cat "$T/mnt/file")" = hello
	umount "$T/mnt"
	mkfs.ext4 -q -F "${L64}p1" >/dev/null 2>&1
	if mount "${L64}p1" "$T/mnt" 2>/dev/null; then
		before=$(sha "$L64")
		fails_with 2 "a disk with a mounted partition is refused" \
		    C -q image write "$T/d.zst" --to "$L64"
		check "the refusal names the partition's mount" -n "$(C -q image write "$T/d.zst" --to "$L64" 2>&1 | grep "has a partition")"
		umount "$T/mnt"
	fi
fi
# The kernel drops a filesystem's claim on its device after umount
# returns; wait (bounded) until the disk can be opened exclusively again.
excl_free() { python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))' "$1"; }
wait_for 10 "the release of $L64" excl_free "$L64"
# The old table's partition 1 held open: the kernel cannot re-read the
# table, and the new partition 2 is added with BLKPG as partx -a would.
if [ -b "${L64}p1" ]; then
	truncate -s 40M "$T/p2.raw"
	printf 'label: dos\nstart=2048, size=30720, type=83\nstart=32768, size=20480, type=83\n' |
	    sfdisk -q "$T/p2.raw" >/dev/null 2>&1
	sleep 30 <"${L64}p1" &
	HOLD=$!
	at_exit "kill $HOLD"
	ok "write a two-partition image while partition 1 is held open" \
	    C -q image write "$T/p2.raw" --to "$L64"
	wait_for 5 "partition node ${L64}p2" test -b "${L64}p2"
	check "the second partition appears (BLKPG)" -b "${L64}p2"
	check "with the new table's size" "$(blockdev --getsize64 "${L64}p2" 2>/dev/null)" = 10485760
	kill $HOLD
	truncate -s 40M "$T/p3.raw"
	printf 'label: dos\nstart=2048, size=10240, type=83\nstart=12288, size=10240, type=83\n' |
	    sfdisk -q "$T/p3.raw" >/dev/null 2>&1
	sleep 30 <"${L64}p1" &
	HOLD=$!
	at_exit "kill $HOLD"
	fails_with 1 "a new table overlapping a partition in use is an error" \
	    C -q image write "$T/p3.raw" --to "$L64"
	check "which says so" -n "$(C -q image write "$T/p3.raw" --to "$L64" 2>&1 | grep 'partition')"
	kill $HOLD
fi

# A disk that fails in the middle of the image: a loop device over a file
# on a 6 MiB tmpfs takes the first stages and then returns I/O errors.
# The writer hands one stage to the device while it reads the next; the
# failure of a stage already handed over must still stop it, naming the
# offset, with no "done" report.
head -c 33554432 /dev/urandom >"$T/r32.raw"
C -q image send "$T/r32.raw" >"$T/stream.r32" 2>/dev/null
mkdir "$T/tiny"
if mount -t tmpfs -o size=6m tmpfs "$T/tiny" 2>/dev/null; then
	at_exit "umount '$T/tiny'"
	truncate -s 40M "$T/tiny/disk.img"
	LF=$(losetup -f --show "$T/tiny/disk.img") && at_exit "losetup -d $LF"
	fails_with 1 "a disk failing mid-image stops the writer" "$WRITER" "$LF" <"$T/stream.r32"
	"$WRITER" "$LF" <"$T/stream.r32" >"$T/rep.fail" 2>/dev/null
	check "its report names the failed write" -n "$(grep 'write at' "$T/rep.fail")"
	check "and it never reports done" -z "$(grep "^done " "$T/rep.fail")"
fi

# Unmapped blocks keep what was there (as with bmaptool): start from zeros.
dd if=/dev/zero of="$L64" bs=1M count=64 conv=fsync status=none
ok "the writer writes onto a loop device" sh -c "'$WRITER' --verify-readback '$L64' <'$T/stream' >'$T/rep7'"
ok "the device holds the image" cmp -n 41943040 "$T/d.raw" "$L64"
done_testing
