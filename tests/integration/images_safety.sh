# What a write must never leave behind.  A target under /dev that does
# not exist (a typo for a disk) is refused, not created as a file on
# devtmpfs, by `castiron image write` and castiron-writer alike.  A write
# that fails (a stream cut short, a corrupted range, a bad stream digest;
# a disk that fails mid-image is in images.sh) leaves neither the image's
# partition table and boot code (its first MiB) nor its backup GPT (its
# last MiB) on the target: those are written last, once every other range
# is written and verified (docs/images.md, "write").  Plain and packed
# streams, files and loop devices, the writer and the local write.
# time-limit: 180
. tests/lib.sh

WRITER=${WRITER:-$(dirname "$CASTIRON")/castiron-writer}
C() { "$CASTIRON" "$@"; }
MIB=1048576

# 1. Targets under /dev.  The names are this run's own, removed on exit
# whatever castiron did with them.
NODEV=/dev/castiron-test-nodev.$$
FILEDEV=/dev/castiron-test-file.$$
at_exit "rm -f '$NODEV' '$FILEDEV'"
head -c 3000000 /dev/urandom >"$T/small.raw"
C -q image send "$T/small.raw" >"$T/small.stream"
C -q image write "$T/small.raw" --to "$NODEV" 2>"$T/nodev.err"
check "image write to a missing /dev path exits 2" "$?" -eq 2
check "and creates nothing there" ! -e "$NODEV"
check "in one line naming the path" \
    "$(wc -l <"$T/nodev.err")$(grep -c "^castiron: image write .*: $NODEV: no such block device" "$T/nodev.err")" = 11
"$WRITER" "$NODEV" <"$T/small.stream" >"$T/nodev.rep" 2>"$T/nodev.err"
check "castiron-writer to a missing /dev path exits 2" "$?" -eq 2
check "and creates nothing there" ! -e "$NODEV"
check "its error report names the path" \
    -n "$(grep "^error exit=2 msg=$NODEV: no such block device" "$T/nodev.rep")"
check "its stderr is one line" "$(wc -l <"$T/nodev.err")" -eq 1
check "and it never reports ready" -z "$(grep '^ready ' "$T/nodev.rep")"
# The same path reached another way: relative, from /dev.
(cd /dev && "$CASTIRON" -q image write "$T/small.raw" --to "${NODEV#/dev/}") 2>/dev/null
check "a relative path inside /dev is refused too (exit 2)" "$?" -eq 2
check "and creates nothing" ! -e "$NODEV"
# A link from elsewhere to the missing path: not followed to create it.
ln -s "$NODEV" "$T/link"
fails_with 2 "a link to a missing /dev path is refused (exit 2)" \
    C -q image write "$T/small.raw" --to "$T/link"
check "and creates nothing at its end" ! -e "$NODEV"
# A regular file under /dev (what an earlier typo would have left).
printf 'left here\n' >"$FILEDEV"
fails_with 2 "image write refuses a regular file under /dev" \
    C -q image write "$T/small.raw" --to "$FILEDEV"
fails_with 2 "so does castiron-writer" sh -c "'$WRITER' '$FILEDEV' <'$T/small.stream'"
check "the file is untouched" "$(cat "$FILEDEV")" = "left here"
check "the refusal says why" \
    -n "$(C -q image write "$T/small.raw" --to "$FILEDEV" 2>&1 | grep "$FILEDEV: not a block device (under /dev a target must be one)")"
rm -f "$FILEDEV"
ok "a regular file outside /dev is still created" \
    C -q image write "$T/small.raw" --to "$T/new.img"
ok "and holds the image" cmp "$T/small.raw" "$T/new.img"

# 2. A write that fails leaves no table.  A 40 MiB GPT disk image: the
# protective MBR, the primary header and entries in its first MiB with
# "boot code" after them, data through the middle, and the backup entries
# and header in its last sectors; its bmap; a copy that differs from the
# bmap in the middle.  first/last TARGET: the first MiB of TARGET, or the
# last of the image's size, as a digest.
truncate -s 40M "$T/d.raw"
printf 'label: gpt\nstart=2048, size=65536, type=linux\n' |
    sfdisk -q "$T/d.raw" >/dev/null 2>&1
head -c 65536 /dev/urandom | dd of="$T/d.raw" bs=4096 seek=8 conv=notrunc status=none
head -c 6291456 /dev/urandom | dd of="$T/d.raw" bs=1M seek=1 conv=notrunc status=none
head -c 4194304 /dev/urandom | dd of="$T/d.raw" bs=1M seek=20 conv=notrunc status=none
C -q image bmap "$T/d.raw" --output "$T/d.bmap"
zstd -q "$T/d.raw" -o "$T/d.zst"
head -c $(( $(stat -c %s "$T/d.zst") / 2 )) "$T/d.zst" >"$T/cut.zst"
cp "$T/d.raw" "$T/e.raw"
printf 'X' | dd of="$T/e.raw" bs=1 seek=22000000 conv=notrunc status=none
zstd -q "$T/e.raw" -o "$T/e.zst"
first() { dd if="$1" bs=1M count=1 status=none | sha256sum | cut -d' ' -f1; }
last() { dd if="$1" bs=1M skip=39 count=1 status=none | sha256sum | cut -d' ' -f1; }
ZERO=$(head -c $MIB /dev/zero | sha256sum | cut -d' ' -f1)
check "(the image has a GPT, and its backup header in the last MiB)" \
    -n "$(dd if="$T/d.raw" bs=512 skip=1 count=1 status=none | grep -a 'EFI PART')" -a \
    -n "$(dd if="$T/d.raw" bs=512 skip=81919 count=1 status=none | grep -a 'EFI PART')"

# The streams: plain and packed, whole, cut halfway, and with a range
# that fails its digest (a flipped byte in a plain stream; a packed one
# made from the image that differs from the bmap).
C -q image send "$T/d.raw" --bmap "$T/d.bmap" --pack never >"$T/plain"
C -q image send "$T/d.zst" --bmap "$T/d.bmap" >"$T/packed"
C -q image send "$T/e.zst" --bmap "$T/d.bmap" >"$T/packed.bad" 2>/dev/null
for s in plain packed; do
	head -c $(( $(stat -c %s "$T/$s") / 2 )) "$T/$s" >"$T/$s.cut"
done
flip() {	# FROM TO OFFSET: TO is FROM with one bit of byte OFFSET flipped
	cp "$1" "$2"
	python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 1]))' "$2" "$3"
}
# In the middle; in the last range (the backup GPT's); in the end
# record's stream digest (every range good, the stream not).
flip "$T/plain" "$T/plain.bad" 3000000
flip "$T/plain" "$T/plain.last" $(( $(stat -c %s "$T/plain") - 56 - 32 - 100 ))
flip "$T/plain" "$T/plain.end" $(( $(stat -c %s "$T/plain") - 1 ))
check "(the packed stream is packed)" \
    "$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read(64).find(b"MAP!"))' "$T/packed")" -eq 32
FAILS="plain.cut plain.bad plain.last plain.end packed.cut packed.bad"

# On a file: it is made anew for the image (all zeros), and a failed
# write must leave its first MiB and the image's last so.
for s in $FAILS; do
	rm -f "$T/f.img"
	"$WRITER" "$T/f.img" <"$T/$s" >/dev/null 2>&1
	check "writer, $s, onto a file: fails (exit 1)" "$?" -eq 1
	check "writer, $s, onto a file: no partition table or boot code" \
	    "$(first "$T/f.img")" = "$ZERO"
	check "writer, $s, onto a file: no backup GPT" "$(last "$T/f.img")" = "$ZERO"
done
for s in plain packed; do
	rm -f "$T/f.img"
	ok "writer, the whole $s stream, onto a file" sh -c "'$WRITER' '$T/f.img' <'$T/$s' >/dev/null"
	ok "writer, $s: the file is the image, table and all" cmp "$T/d.raw" "$T/f.img"
done
for s in cut.zst e.zst; do
	rm -f "$T/f.img"
	fails_with 1 "image write, $s, onto a file: fails" \
	    C -q image write "$T/$s" --bmap "$T/d.bmap" --to "$T/f.img"
	check "image write, $s, onto a file: no partition table or boot code" \
	    "$(first "$T/f.img")" = "$ZERO"
	check "image write, $s, onto a file: no backup GPT" "$(last "$T/f.img")" = "$ZERO"
done
ok "image write, whole, onto a file, read back" \
    C -q image write "$T/d.zst" --bmap "$T/d.bmap" --to "$T/f.img" --verify-readback
ok "the file is the image, table and all" cmp "$T/d.raw" "$T/f.img"

# On a block device (a loop device made here, detached on exit) that
# holds 'Z' everywhere: a failed write leaves its first MiB and the
# image's last as they were; a good one writes them.
truncate -s 48M "$T/loop.img"
if ! LD=$(losetup -f --show "$T/loop.img" 2>"$T/losetup.err"); then
	skip "failed writes onto a block device" "losetup: $(head -n 1 "$T/losetup.err")"
	done_testing
	exit $?
fi
at_exit "losetup -d $LD"
fill() { head -c 50331648 /dev/zero | tr '\0' Z | dd of="$LD" bs=1M oflag=direct status=none; }
fill
OLD_FIRST=$(first "$LD")
OLD_LAST=$(last "$LD")
for s in $FAILS; do
	fill
	"$WRITER" "$LD" <"$T/$s" >/dev/null 2>&1
	check "writer, $s, onto a device: fails (exit 1)" "$?" -eq 1
	check "writer, $s, onto a device: its first MiB is as it was" "$(first "$LD")" = "$OLD_FIRST"
	check "writer, $s, onto a device: so is the image's last" "$(last "$LD")" = "$OLD_LAST"
done
for s in cut.zst e.zst; do
	fill
	fails_with 1 "image write, $s, onto a device: fails" \
	    C -q image write "$T/$s" --bmap "$T/d.bmap" --to "$LD"
	check "image write, $s, onto a device: its first MiB is as it was" "$(first "$LD")" = "$OLD_FIRST"
	check "image write, $s, onto a device: so is the image's last" "$(last "$LD")" = "$OLD_LAST"
done
for s in plain packed; do
	dd if=/dev/zero of="$LD" bs=1M oflag=direct status=none 2>/dev/null
	ok "writer, the whole $s stream, onto a device, read back" \
	    sh -c "'$WRITER' --verify-readback '$LD' <'$T/$s' >/dev/null"
	ok "writer, $s: the device holds the image, table and all" \
	    cmp -n 41943040 "$T/d.raw" "$LD"
done
done_testing
