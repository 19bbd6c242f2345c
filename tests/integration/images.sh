# castiron image bmap/verify/write/send and build/castiron-writer on
# files and loop devices: bmap interop with Debian's bmap-tools both ways,
# raw/zstd/gzip, the bytes and the allocation of what was written (holes
# where the bmap has none, old contents kept on a device), hostile bmaps,
# corrupt streams, a zstd window above the limit, targets refused before
# a byte is written (too small, mounted), the partition table re-read, the
# framed writer protocol (whole, truncated, corrupted), and a read back
# that catches a block changed between the write and the read.  (Under a
# loaded machine and a sanitizer it takes minutes, not seconds.)
# time-limit: 240
. tests/lib.sh

LAB=$PWD/tests/lab
WRITER=${WRITER:-$(dirname "$CASTIRON")/castiron-writer}
C() { "$CASTIRON" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
flip() {	# FILE OFFSET: invert one byte (a fixed byte might already be there)
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDWR); off = int(sys.argv[2])
os.pwrite(fd, bytes([os.pread(fd, 1, off)[0] ^ 0xff]), off)' "$1" "$2"
}

# layout.py file FILE BMAP: FILE's data extents (SEEK_DATA/SEEK_HOLE) are
# exactly BMAP's ranges, and the blocks it takes (st_blocks, which counts
# preallocated extents SEEK_DATA may call holes) are the mapped bytes,
# give or take 64 KiB of file system metadata.  layout.py device DEV IMAGE BMAP BYTE: on DEV the
# ranges hold IMAGE's bytes and every other block of the image's size
# still holds BYTE (what was there before).
cat >"$T/layout.py" <<'PY'
import os, re, sys

def ranges(bmap):
    t = open(bmap).read()
    bs = int(re.search(r"<BlockSize>\s*(\d+)", t).group(1))
    size = int(re.search(r"<ImageSize>\s*(\d+)", t).group(1))
    out = []
    for m in re.finditer(r"<Range[^>]*>\s*(\d+)(?:\s*-\s*(\d+))?\s*</Range>", t):
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if out and out[-1][1] == a * bs:
            out[-1][1] = (b + 1) * bs
        else:
            out.append([a * bs, (b + 1) * bs])
    for r in out:
        r[1] = min(r[1], size)
    return size, out

def extents(path):
    fd = os.open(path, os.O_RDONLY)
    size, off, out = os.fstat(fd).st_size, 0, []
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        out.append([d, h])
        off = h
    return size, out

def main():
    if sys.argv[1] == "file":
        size, want = ranges(sys.argv[3])
        fsize, got = extents(sys.argv[2])
        if fsize != size or got != want:
            sys.exit("size %d, data %s; the bmap: size %d, ranges %s" %
                     (fsize, got, size, want))
        used = os.stat(sys.argv[2]).st_blocks * 512
        mapped = sum(b - a for a, b in want)
        if not mapped <= used <= mapped + 65536:
            sys.exit("%d bytes allocated for %d mapped" % (used, mapped))
        return
    dev, img, bmap, byte = sys.argv[2:6]
    size, want = ranges(bmap)
    fill = int(byte, 0)
    with open(dev, "rb") as d, open(img, "rb") as i:
        at = 0
        for a, b in want + [[size, size]]:
            gap = d.read(a - at)
            if gap.strip(bytes([fill])):
                sys.exit("unmapped bytes at %d-%d were changed" % (at, a))
            if d.read(b - a) != (i.seek(a), i.read(b - a))[1]:
                sys.exit("the range %d-%d does not hold the image" % (a, b))
            at = b

main()
PY
layout() { python3 "$T/layout.py" "$@"; }

# liar.py FILE OFFSET READY DONE: the first read of FILE by anyone waits
# (a fanotify permission event) while this flips the byte at OFFSET, then
# goes on; DONE records that it happened.  A disk that returns other bytes
# than were written, at the moment a read back asks.
cat >"$T/liar.py" <<'PY'
import ctypes, os, struct, sys
path, off, ready, done = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
FAN_CLOEXEC, FAN_CLASS_CONTENT, FAN_MARK_ADD = 0x1, 0x4, 0x1
FAN_ACCESS_PERM, FAN_ALLOW, AT_FDCWD = 0x20000, 0x1, -100
libc = ctypes.CDLL(None, use_errno=True)
libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                               ctypes.c_int, ctypes.c_char_p]
fan = libc.fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC,
                         os.O_RDWR | os.O_LARGEFILE)
if fan < 0 or libc.fanotify_mark(fan, FAN_MARK_ADD, FAN_ACCESS_PERM,
                                 AT_FDCWD, path.encode()) < 0:
    sys.exit("fanotify: " + os.strerror(ctypes.get_errno()))
open(ready, "w").close()
ev = os.read(fan, 4096)
fd, pid = struct.unpack_from("=IBBHQii", ev)[5:7]
os.pwrite(fd, bytes([os.pread(fd, 1, off)[0] ^ 0xff]), off)
with open(done, "w") as f:
    f.write("%d\n" % pid)
os.write(fan, struct.pack("=iI", fd, FAN_ALLOW))
PY

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
	ok "$f: only the mapped blocks are allocated (holes elsewhere)" \
	    layout file "$T/out.$f" "$T/tool.bmap"
done
ok "write without a bmap" C -q image write "$T/d.zst" --to "$T/out.nobmap"
ok "the file is the image" cmp "$T/d.raw" "$T/out.nobmap"
check "without a bmap every block is written (no holes)" \
    "$(python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, 0, os.SEEK_HOLE))' "$T/out.nobmap")" -eq 41943040
head -c 52428800 /dev/urandom >"$T/out.old"
ok "write over an older, larger file" C -q image write "$T/d.zst" --bmap "$T/tool.bmap" --to "$T/out.old"
ok "it is the image now: cut to size, unmapped blocks zero" cmp "$T/d.raw" "$T/out.old"
ok "and holes where the bmap has none" layout file "$T/out.old" "$T/tool.bmap"
ok "verify FILE --bmap" C image verify "$T/d.zst" --bmap "$T/tool.bmap"
C --format json image write "$T/d.zst" --bmap "$T/ci.bmap" --to "$T/out.j" >"$T/w.json"
MAPPED=$(( $(sed -n 's/.*<MappedBlocksCount> *\([0-9]*\).*/\1/p' "$T/ci.bmap") * 4096 ))
NRANGES=$(grep -c '<Range' "$T/ci.bmap")
check "json: written bytes are the mapped bytes only" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["written_bytes"], d["ranges"])' "$T/w.json")" = "$MAPPED $NRANGES"
ok "and the file's allocation agrees" layout file "$T/out.j" "$T/ci.bmap"

# --verify-readback: a good write reads back clean; a block that reads
# back other than it was written (flipped by liar.py in the page cache
# castiron reads, after castiron wrote it) fails the write.
ok "--verify-readback" C -q image write "$T/d.gz" --bmap "$T/ci.bmap" --to "$T/out.rb" --verify-readback
ok "the file is the image" cmp "$T/d.raw" "$T/out.rb"
: >"$T/out.lie"
python3 "$T/liar.py" "$T/out.lie" 10240100 "$T/liar.ready" "$T/liar.done" 2>"$T/liar.err" &
at_exit "[ -e '$T/liar.done' ] || kill $!"
wait_for 10 "the fanotify listener" test -e "$T/liar.ready" || sed "s/^/# /" "$T/liar.err"
C -q image write "$T/d.zst" --bmap "$T/ci.bmap" --to "$T/out.lie" --verify-readback 2>"$T/lie.err"
check "--verify-readback fails a block that reads back wrong (exit 1)" "$?" -eq 1
check "the block was changed under castiron's read back" -s "$T/liar.done"
check "one error line naming the range and its offset" \
    "$(grep -c '^castiron: .*: read back of range 2 at offset 10240000 differs from what was written$' "$T/lie.err")$(wc -l <"$T/lie.err")" = 11

# A zstd image whose window is above the 128 MiB castiron decompresses
# with (--long=28 on a stream of unknown size keeps the whole window):
# refused at open, before a target is touched, in one line; exit 1, as an
# image castiron cannot read (docs/images.md).
zstd -q --long=28 -c <"$T/d.raw" >"$T/w28.zst"
zstd -q --long=27 -c <"$T/d.raw" >"$T/w27.zst"
check "(the --long=28 frame asks for a 256 MiB window)" \
    -n "$(zstd -lv "$T/w28.zst" 2>/dev/null | grep 'Window Size: 256 MiB')"
C -q image write "$T/w28.zst" --bmap "$T/tool.bmap" --to "$T/out.w28" 2>"$T/w28.err"
check "a zstd window above the limit is refused (exit 1)" "$?" -eq 1
check "in one line naming the window, the limit and the fix" \
    "$(grep -c 'w28.zst: the zstd window is 256 MiB, above the 128 MiB castiron decompresses with (recompress with --long=27 or less)$' "$T/w28.err")$(wc -l <"$T/w28.err")" = 11
check "the target was not created" ! -e "$T/out.w28"
fails_with 1 "verify refuses it too" C image verify "$T/w28.zst"
ok "a window of 128 MiB (--long=27) is written" \
    C -q image write "$T/w27.zst" --bmap "$T/tool.bmap" --to "$T/out.w27"
ok "and is the image" cmp "$T/d.raw" "$T/out.w27"

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
xz -c </dev/null >"$T/x.xz"
fails_with 1 "xz is refused by content" C -q image verify "$T/x.xz"

# castiron-writer fed the framed stream.  A sanitizer build of it cannot
# be static; such a build also makes castiron-writer-static, uninstrumented
# (images/writer.mk), which is what a deploy environment would run: that
# one must be static.  Without it, the sanitizer build must still need no
# library but libc's, libgcc_s and libcrypto (no iniparser, curl, sqlite).
DEPLOYED=$WRITER
SANITIZED=
if grep -aq __asan_init "$WRITER"; then
	if [ -x "$WRITER-static" ]; then DEPLOYED=$WRITER-static; else SANITIZED=yes; fi
fi
if [ -z "$SANITIZED" ]; then
	check "$(basename "$DEPLOYED") is static" -z "$(ldd "$DEPLOYED" 2>/dev/null | grep -v 'not a dynamic')"
else
	check "castiron-writer (sanitizer build) links libc, libm, libgcc_s, libcrypto only" \
	    -z "$(ldd "$WRITER" | grep -vE 'linux-vdso|ld-linux|/lib(c|m|gcc_s|crypto)\.so')"
fi
C -q image send "$T/d.zst" --bmap "$T/tool.bmap" >"$T/stream"
ok "castiron-writer writes a stream" sh -c "'$WRITER' '$T/w1' <'$T/stream' >'$T/rep1'"
ok "the writer's file is the image" cmp "$T/d.raw" "$T/w1"
check "the report ends with done, its digest the local write's" \
    "$(tail -1 "$T/rep1" | sed -n 's/.* sha256=\([0-9a-f]*\).*/\1/p')" = \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T/w.json")"
check "ready comes first" "$(head -1 "$T/rep1" | cut -d' ' -f1)" = ready
C -q image send "$T/d.raw" --verify-readback >"$T/stream.rb"
ok "a whole image (no bmap) with read back" sh -c "'$WRITER' '$T/w2' <'$T/stream.rb' >'$T/rep2'"
ok "the file is the image" cmp "$T/d.raw" "$T/w2"
check "readback=yes reported" -n "$(grep '^done .*readback=yes' "$T/rep2")"
# As in a deploy environment: a chroot holding busybox and the writer only
# (for a sanitizer build without a static copy: and the libraries it
# links, /proc, and the directory its reports go to, copied out after).
mkdir -p "$T/root/bin" "$T/root/proc"
cp /bin/busybox "$T/root/bin/busybox"
cp "$DEPLOYED" "$T/root/castiron-writer"
cp "$T/stream" "$T/root/stream"
if [ -n "$SANITIZED" ]; then
	for l in $(ldd "$WRITER" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$T/root$(dirname "$l")" && cp "$l" "$T/root$l"
	done
	mount -t proc proc "$T/root/proc" && at_exit "umount '$T/root/proc'"
	SANDIR=$(echo "${ASAN_OPTIONS:-}" | sed -n 's|.*log_path=\([^:]*\)/asan.*|\1|p')
	[ -z "$SANDIR" ] || { mkdir -p "$T/root$SANDIR"; chmod 1777 "$T/root$SANDIR"; }
fi
ok "the writer runs under busybox${SANITIZED:+ (with its sanitizer build's libraries)}" \
    chroot "$T/root" /bin/busybox sh -c '/castiron-writer /disk.img </stream >/report'
ok "and writes the image there" cmp "$T/d.raw" "$T/root/disk.img"
if [ -n "$SANITIZED" ]; then
	[ -z "$SANDIR" ] || cp "$T/root$SANDIR"/* "$SANDIR/" 2>/dev/null
	umount "$T/root/proc"
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
	skip "block devices (loop devices, partitions, mounts, the writer on a disk)" \
	    "losetup could not make a loop device"
	done_testing
	exit $?
fi
# The device starts full of 'Z' (0x5a): the mapped ranges must hold the
# image afterwards, every other block still 'Z', as with bmaptool copy.
head -c 67108864 /dev/zero | tr '\0' Z | dd of="$L64" bs=1M oflag=direct status=none
ok "write onto a loop device" C -q image write "$T/d.zst" --bmap "$T/tool.bmap" --to "$L64"
ok "the device holds the image's ranges, and its old bytes elsewhere" \
    layout device "$L64" "$T/d.raw" "$T/tool.bmap" 0x5a
wait_for 10 "partition node ${L64}p1" test -b "${L64}p1"
check "the kernel shows the new partition" -b "${L64}p1"
before=$(sha "$L64")
fails_with 1 "a zstd window above the limit is refused for a device too" \
    C -q image write "$T/w28.zst" --bmap "$T/tool.bmap" --to "$L64"
check "and the device is untouched" "$(sha "$L64")" = "$before"
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

# A mounted device, and a disk with a mounted partition.  Each file system
# is frozen (fsfreeze) while its device is compared, so that nothing but
# castiron could change the device's bytes meanwhile.  Each is a device of
# its own, used for nothing else afterwards: a mount namespace made while
# it is mounted by anything else on the machine (ip netns exec, a lab's
# sshd) keeps a copy of the mount, and the device claimed, after umount.
loop LM 48
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LM" >/dev/null 2>&1
mkdir "$T/mnt"
if mount "$LM" "$T/mnt" 2>"$T/mount.err"; then
	at_exit "umount '$T/mnt'"
	echo hello >"$T/mnt/file"
	fsfreeze --freeze "$T/mnt" && at_exit "fsfreeze --unfreeze '$T/mnt'"
	before=$(sha "$LM")
	fails_with 2 "a mounted device is refused" C -q image write "$T/d.zst" --to "$LM"
	check "the refusal names the mount point" -n "$(C -q image write "$T/d.zst" --to "$LM" 2>&1 | grep "mounted on $T/mnt")"
	fails_with 2 "the writer refuses it too" "$WRITER" "$LM" <"$T/stream"
	check "the mounted device is untouched" "$(sha "$LM")" = "$before"
	fsfreeze --unfreeze "$T/mnt"
	check "its file is still there" "$(cat "$T/mnt/file")" = hello
	umount "$T/mnt"
else
	skip "a mounted device is refused" "mount: $(head -n 1 "$T/mount.err")"
fi
loop LP 44 -P
C -q image write "$T/d.zst" --to "$LP"
wait_for 10 "partition node ${LP}p1" test -b "${LP}p1"
mkfs.ext4 -q -F "${LP}p1" >/dev/null 2>&1
if mount "${LP}p1" "$T/mnt" 2>"$T/mount.err"; then
	at_exit "umount '$T/mnt'"
	fsfreeze --freeze "$T/mnt" && at_exit "fsfreeze --unfreeze '$T/mnt'"
	before=$(sha "$LP")
	fails_with 2 "a disk with a mounted partition is refused" \
	    C -q image write "$T/d.zst" --to "$LP"
	check "the refusal names the partition's mount" -n "$(C -q image write "$T/d.zst" --to "$LP" 2>&1 | grep "has a partition")"
	check "the disk is untouched" "$(sha "$LP")" = "$before"
	fsfreeze --unfreeze "$T/mnt"
	umount "$T/mnt"
else
	skip "a disk with a mounted partition is refused" "mount: $(head -n 1 "$T/mount.err")"
fi
# The old table's partition 1 held open: the kernel cannot re-read the
# table, and the new partition 2 is added with BLKPG as partx -a would.
if [ -b "${L64}p1" ]; then
	truncate -s 40M "$T/p2.raw"
	printf 'label: dos\nstart=2048, size=30720, type=83\nstart=32768, size=20480, type=83\n' |
	    sfdisk -q "$T/p2.raw" >/dev/null 2>&1
	sleep 600 <"${L64}p1" &
	HOLD=$!
	at_exit "kill $HOLD"
	ok "write a two-partition image while partition 1 is held open" \
	    C -q image write "$T/p2.raw" --to "$L64"
	wait_for 10 "partition node ${L64}p2" test -b "${L64}p2"
	check "the second partition appears (BLKPG)" -b "${L64}p2"
	check "with the new table's size" "$(blockdev --getsize64 "${L64}p2" 2>/dev/null)" = 10485760
	kill $HOLD
	truncate -s 40M "$T/p3.raw"
	printf 'label: dos\nstart=2048, size=10240, type=83\nstart=12288, size=10240, type=83\n' |
	    sfdisk -q "$T/p3.raw" >/dev/null 2>&1
	sleep 600 <"${L64}p1" &
	HOLD=$!
	at_exit "kill $HOLD"
	fails_with 1 "a new table overlapping a partition in use is an error" \
	    C -q image write "$T/p3.raw" --to "$L64"
	check "which says so" -n "$(C -q image write "$T/p3.raw" --to "$L64" 2>&1 | grep 'partition')"
	kill $HOLD
else
	skip "a new partition table while one partition is held" "no ${L64}p1"
fi

# A disk that fails in the middle of the image: a loop device over a file
# on a 6 MiB tmpfs takes the first stages and then returns I/O errors.
# The writer hands one stage to the device while it reads the next; the
# failure of a stage already handed over must still stop it, naming the
# offset, with no "done" report, and with nothing of the image's first
# MiB on the disk (its partition table is written last).
head -c 33554432 /dev/urandom >"$T/r32.raw"
C -q image send "$T/r32.raw" >"$T/stream.r32" 2>/dev/null
mkdir "$T/tiny"
if mount -t tmpfs -o size=6m tmpfs "$T/tiny" 2>"$T/mount.err"; then
	at_exit "umount '$T/tiny'"
	truncate -s 40M "$T/tiny/disk.img"
	LF=$(losetup -f --show "$T/tiny/disk.img") && at_exit "losetup -d $LF"
	fails_with 1 "a disk failing mid-image stops the writer" "$WRITER" "$LF" <"$T/stream.r32"
	"$WRITER" "$LF" <"$T/stream.r32" >"$T/rep.fail" 2>/dev/null
	check "its report names the failed write" -n "$(grep 'write at' "$T/rep.fail")"
	check "and it never reports done" -z "$(grep "^done " "$T/rep.fail")"
	check "nor writes the image's first MiB" \
	    "$(head -c 1048576 "$T/tiny/disk.img" | tr -d '\0' | wc -c)" -eq 0
else
	skip "a disk failing mid-image" "mount tmpfs: $(head -n 1 "$T/mount.err")"
fi

# The writer on a device: the mapped ranges written, the rest kept ('Z').
head -c 67108864 /dev/zero | tr '\0' Z | dd of="$L64" bs=1M oflag=direct status=none
ok "the writer writes onto a loop device" sh -c "'$WRITER' --verify-readback '$L64' <'$T/stream' >'$T/rep7'"
ok "the device holds the image's ranges, and its old bytes elsewhere" \
    layout device "$L64" "$T/d.raw" "$T/tool.bmap" 0x5a
check "read back, and said so" -n "$(grep '^done .*readback=yes' "$T/rep7")"

# A disk whose block changes between the write and the read back, under
# the page cache: the writer is given the stream up to its end record;
# once the device holds the image (read through the device, so that its
# page cache holds the good bytes), a byte is flipped in the loop device's
# backing file; then the end record comes.  A read back that read the
# cache rather than the disk would miss it.  The image's first and last
# MiB wait for the end record (docs/images.md, "write"): until then the
# device holds the rest (mid: the bytes between them).
dd if=/dev/zero of="$L64" bs=1M count=64 oflag=direct status=none
SZ=$(stat -c %s "$T/stream")
mid() { cmp -s -i 1048576 -n $((41943040 - 2097152)) "$@"; }
mkfifo "$T/fifo"
( "$WRITER" --verify-readback "$L64" <"$T/fifo" >"$T/rep.rb" 2>/dev/null &
  echo $! >"$T/pid.rb"; wait $!; echo $? >"$T/rc.rb" ) &
at_exit "[ -s '$T/rc.rb' ] || kill \$(cat '$T/pid.rb')"
exec 3>"$T/fifo"
head -c $((SZ - 56)) "$T/stream" >&3
ok "the writer writes every range but the first and last MiB before the end record" \
    wait_for 30 "the image on $L64" mid "$T/d.raw" "$L64"
check "the partition table is not there yet" \
    "$(head -c 1048576 "$L64" | tr -d '\0' | wc -c)" -eq 0
flip "$T/loop64.img" 10240100
check "(the disk changed under the device's cache)" \
    -n "$(cmp -n 41943040 "$T/d.raw" "$T/loop64.img")" -a -z "$(mid "$T/d.raw" "$L64" || echo differ)"
tail -c 56 "$T/stream" >&3
exec 3>&-
ok "the writer ends" wait_for 30 "the writer to exit" test -s "$T/rc.rb"
check "its read back finds the changed block: exit 1" "$(cat "$T/rc.rb")" -eq 1
check "the error names the range and its offset" \
    -n "$(grep '^error exit=1 msg=.*read back of range 2 at offset 10240000 differs' "$T/rep.rb")"
check "and it never reports done" -z "$(grep '^done ' "$T/rep.rb")"
check "nor writes the partition table" \
    "$(head -c 1048576 "$L64" | tr -d '\0' | wc -c)" -eq 0
done_testing
