#!/bin/sh
# Writing an image onto a file: castiron image write vs bmaptool copy vs
# `zstd -dc | dd conv=sparse`, and the limit (sha256 and write of the
# mapped bytes alone, nothing else), all in the same run on the same
# generated image: 2 GiB raw, 25 % of its blocks mapped in 1 MiB runs of
# random data, zstd-compressed, with its bmap.  Each is run three times
# and the median is kept.  Prints times, ratios and peak RSS; asserts
# nothing.  BENCH_DIR (default /var/tmp) says where the files go.
set -eu
CASTIRON=${CASTIRON:-$PWD/build/castiron}
SIZE_MB=${BENCH_IMAGE_MB:-2048}
D=$(mktemp -d "${BENCH_DIR:-/var/tmp}/castiron-bench-img.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM

python3 - "$D" "$SIZE_MB" <<'PY'
import os, random, sys
d, size_mb = sys.argv[1], int(sys.argv[2])
mib = 1 << 20
rnd = random.Random(42)
slots = sorted(rnd.sample(range(size_mb), size_mb // 4))
with open(os.path.join(d, "img.raw"), "wb") as f, \
     open(os.path.join(d, "mapped.bin"), "wb") as m:
    f.truncate(size_mb * mib)
    for s in slots:
        b = os.urandom(mib)
        os.pwrite(f.fileno(), b, s * mib)
        m.write(b)
PY
zstd -q -T0 -3 "$D/img.raw" -o "$D/img.zst"
bmaptool create "$D/img.raw" -o "$D/img.bmap" 2>/dev/null
rm -f "$D/img.raw"
cat "$D/img.zst" "$D/img.bmap" "$D/mapped.bin" >/dev/null	# warm cache

# run NAME CMD...: three runs, the median wall time (s) and the peak RSS
# (KiB) into $D/NAME.t
run() {
	name=$1; shift
	for i in 1 2 3; do
		rm -f "$D/out.img"
		sync
		/usr/bin/time -f "%e %M %U %S" -o "$D/$name.$i" "$@" >/dev/null \
		    2>"$D/$name.err" ||
		    { echo "$name failed:"; tail -3 "$D/$name.err"; exit 1; }
	done
	cat "$D/$name.1" "$D/$name.2" "$D/$name.3" | sort -n | sed -n 2p \
	    >"$D/$name.t"
}

# The limit: read the mapped bytes (from the page cache), hash them, write
# them with O_DIRECT from an aligned buffer, fdatasync.  Nothing else.
cat >"$D/limit.py" <<'PY'
import hashlib, mmap, os, sys
h = hashlib.sha256()
buf = mmap.mmap(-1, 4 << 20)
fi = os.open(sys.argv[1], os.O_RDONLY)
fo = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
while True:
    n = os.readv(fi, [buf])
    if n == 0:
        break
    h.update(memoryview(buf)[:n])
    os.write(fo, memoryview(buf)[:n])
os.fdatasync(fo)
PY

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
run castiron "$CASTIRON" -q image write "$D/img.zst" --bmap "$D/img.bmap" --to "$D/out.img"
run bmaptool bmaptool copy --bmap "$D/img.bmap" "$D/img.zst" "$D/out.img"
run zstd_dd sh -c "zstd -dc '$D/img.zst' | dd of='$D/out.img' bs=1M conv=sparse,fsync status=none"
run limit python3 "$D/limit.py" "$D/mapped.bin" "$D/out.img"

t() { cut -d' ' -f1 "$D/$1.t"; }
m() { echo $(( $(cut -d' ' -f2 "$D/$1.t") / 1024 )); }
cpu() { awk '{ printf "%.2f", $3 + $4 }' "$D/$1.t"; }
echo "image: ${SIZE_MB} MiB raw, 25% mapped in 1 MiB runs, zstd $(( $(stat -c %s "$D/img.zst") >> 20 )) MiB"
echo "load average before: $LOAD (2 CPUs shared; wall times suffer under load, CPU seconds less)"
printf '%-34s %8s %8s %10s\n' "writer" "seconds" "cpu s" "peak MiB"
for n in castiron:"castiron image write (bmap)" bmaptool:"bmaptool copy" \
    zstd_dd:"zstd -dc | dd conv=sparse" limit:"limit: sha256 + write mapped bytes"; do
	printf '%-34s %8s %8s %10s\n' "${n#*:}" "$(t ${n%%:*})" "$(cpu ${n%%:*})" "$(m ${n%%:*})"
done
awk -v c="$(t castiron)" -v b="$(t bmaptool)" -v z="$(t zstd_dd)" -v l="$(t limit)" 'BEGIN {
	printf "castiron / bmaptool copy: %.2f (goal <= 0.50)\n", c / b
	printf "castiron / zstd|dd:       %.2f\n", c / z
	printf "castiron / limit:         %.2f (goal <= 1.50)\n", c / l
}'
awk -v c="$(cpu castiron)" -v b="$(cpu bmaptool)" 'BEGIN {
	printf "cpu: castiron / bmaptool: %.2f\n", c / b
}'
