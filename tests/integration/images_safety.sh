# What a write must never leave behind.  A target under /dev that does
# not exist (a typo for a disk) is refused, not created as a file on
# devtmpfs, by `castiron image write` and castiron-writer alike.  A write
# that fails (a stream cut short, a corrupted range, a disk that fails
# mid-image) leaves neither the image's partition table and boot code
# (its first MiB) nor its backup GPT (its last MiB) on the target: those
# are written last, once every other range is written and verified
# (docs/images.md, "write").  Plain and packed streams, files and loop
# devices, the writer and the local write.
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

done_testing
