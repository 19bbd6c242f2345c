#!/bin/sh
# Writing an image onto a file: castiron image write vs bmaptool copy vs
# `zstd -dc | dd conv=sparse`, and the limit, all in the same run on the
# same generated image: 2 GiB raw, 25 % of its blocks mapped in 1 MiB runs
# of random data, zstd-compressed, with its bmap.
#
# The limit is a lower bound for the work castiron cannot avoid: the
# slowest of (1) decompressing the whole image, (2) sha256 of the mapped
# bytes and (3) writing the mapped bytes (O_DIRECT, then fdatasync), each
# measured alone at full speed by limit.c below: in memory, with the
# libzstd and OpenSSL castiron uses, timed inside the process (no start-up,
# no file reading), the best of the runs.  castiron does all three, so
# castiron / limit cannot be below 1 however well it overlaps them.
#
# The runs are interleaved (castiron, bmaptool, zstd|dd, the three parts,
# then again), so that every side sees the same share of whatever else
# loads the machine.  Prints the median and best wall times, CPU seconds,
# peak RSS and ratios; asserts nothing.  BENCH_DIR (default /var/tmp) says
# where the files go, BENCH_RUNS (default 5) how many rounds.
set -eu
CASTIRON=${CASTIRON:-$PWD/build/castiron}
SIZE_MB=${BENCH_IMAGE_MB:-2048}
RUNS=${BENCH_RUNS:-5}
D=$(mktemp -d "${BENCH_DIR:-/var/tmp}/castiron-bench-img.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM

python3 - "$D" "$SIZE_MB" <<'PY'
import os, random, sys
d, size_mb = sys.argv[1], int(sys.argv[2])
mib = 1 << 20
rnd = random.Random(42)
slots = sorted(rnd.sample(range(size_mb), size_mb // 4))
with open(os.path.join(d, "img.raw"), "wb") as f:
    f.truncate(size_mb * mib)
    for s in slots:
        os.pwrite(f.fileno(), os.urandom(mib), s * mib)
with open(os.path.join(d, "slots"), "w") as f:
    f.write("".join("%d\n" % s for s in slots))
PY
zstd -q -T0 -3 "$D/img.raw" -o "$D/img.zst"
bmaptool create "$D/img.raw" -o "$D/img.bmap" 2>/dev/null
rm -f "$D/img.raw"
MAPPED=$(( $(sed -n 's/.*<MappedBlocksCount> *\([0-9]*\).*/\1/p' "$D/img.bmap") * 4096 ))

cat >"$D/limit.c" <<'EOF'
/*
 * One part of castiron's work alone, at full speed, timed in-process;
 * prints seconds.  Inputs are in memory before the clock starts.
 *   limit dec FILE.zst              decompress all of FILE (libzstd)
 *   limit sha BYTES                 sha256 (OpenSSL EVP) over BYTES bytes
 *   limit write OUT SIZE_MB SLOTS   write the 1 MiB slots listed in SLOTS
 *                                   (merged into runs, up to 16 MiB a
 *                                   write) into a new OUT of SIZE_MB MiB
 *                                   with O_DIRECT, then fdatasync
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <zstd.h>

#define MIB (1ul << 20)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

int
main(int argc, char **argv)
{
	double t0, t1;

	if (argc >= 3 && strcmp(argv[1], "dec") == 0) {
		struct stat st;
		int fd = open(argv[2], O_RDONLY);
		size_t out_len = ZSTD_DStreamOutSize(), got = 0;
		char *in, *out = malloc(out_len);
		ZSTD_DStream *z = ZSTD_createDStream();
		ZSTD_inBuffer ib;

		if (fd == -1 || fstat(fd, &st) == -1)
			die(argv[2]);
		in = malloc(st.st_size);
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, in + got, st.st_size - got);
			if (n <= 0)
				die("read");
			got += n;
		}
		ib.src = in; ib.size = got; ib.pos = 0;
		t0 = now();
		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { out, out_len, 0 };
			size_t r = ZSTD_decompressStream(z, &ob, &ib);
			if (ZSTD_isError(r)) {
				fprintf(stderr, "zstd: %s\n", ZSTD_getErrorName(r));
				return 1;
			}
		}
		t1 = now();
	} else if (argc >= 3 && strcmp(argv[1], "sha") == 0) {
		unsigned long long left = strtoull(argv[2], NULL, 10);
		size_t len = 4 * MIB;
		unsigned char *buf = malloc(len), md[32];
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)(i * 2654435761u >> 13);
		t0 = now();
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		while (left > 0) {
			size_t n = left < len ? left : len;
			EVP_DigestUpdate(c, buf, n);
			left -= n;
		}
		EVP_DigestFinal_ex(c, md, NULL);
		t1 = now();
	} else if (argc >= 5 && strcmp(argv[1], "write") == 0) {
		size_t max = 16 * MIB, cap = 0, n = 0, i, j;
		long *slot = NULL, s;
		unsigned char *buf;
		FILE *f = fopen(argv[4], "r");
		int fd;

		if (f == NULL)
			die(argv[4]);
		while (fscanf(f, "%ld", &s) == 1) {
			if (n == cap && (slot = realloc(slot, (cap = cap * 2 + 1024) *
			    sizeof(*slot))) == NULL)
				die("realloc");
			slot[n++] = s;
		}
		fclose(f);
		if (posix_memalign((void **)&buf, 4096, max) != 0)
			die("posix_memalign");
		for (i = 0; i < max; i++)
			buf[i] = (unsigned char)(i * 2654435761u >> 7);
		t0 = now();
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
		if (fd == -1 || ftruncate(fd, atol(argv[3]) * (off_t)MIB) == -1)
			die(argv[2]);
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && slot[j] == slot[j - 1] + 1 &&
			    (size_t)(j - i) * MIB < max; j++)
				;
			if (pwrite(fd, buf, (j - i) * MIB, slot[i] * (off_t)MIB) !=
			    (ssize_t)((j - i) * MIB))
				die("pwrite");
		}
		if (fdatasync(fd) == -1)
			die("fdatasync");
		close(fd);
		t1 = now();
	} else {
		fprintf(stderr, "usage: limit dec|sha|write ...\n");
		return 2;
	}
	printf("%.3f\n", t1 - t0);
	return 0;
}
EOF
cc -O2 -o "$D/limit" "$D/limit.c" -lzstd -lcrypto
cat "$D/img.zst" "$D/img.bmap" >/dev/null	# warm cache

# run NAME CMD...: one timed run; appends "wall maxrss user sys" to $D/NAME
run() {
	name=$1; shift
	rm -f "$D/out.img"
	sync
	/usr/bin/time -f "%e %M %U %S" -o "$D/$name.last" "$@" >/dev/null \
	    2>"$D/$name.err" ||
	    { echo "$name failed:"; tail -3 "$D/$name.err"; exit 1; }
	cat "$D/$name.last" >>"$D/$name"
}
# part NAME ARGS...: one in-process timing of limit; appends seconds
part() {
	name=$1; shift
	rm -f "$D/out.img"
	sync
	"$D/limit" "$@" >>"$D/$name" ||
	    { echo "limit $name failed"; exit 1; }
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
while [ "$i" -lt "$RUNS" ]; do
	run castiron "$CASTIRON" -q image write "$D/img.zst" --bmap "$D/img.bmap" --to "$D/out.img"
	run bmaptool bmaptool copy --bmap "$D/img.bmap" "$D/img.zst" "$D/out.img"
	run zstd_dd sh -c "zstd -dc '$D/img.zst' | dd of='$D/out.img' bs=1M conv=sparse,fsync status=none"
	part dec dec "$D/img.zst"
	part sha sha "$MAPPED"
	part write write "$D/out.img" "$SIZE_MB" "$D/slots"
	i=$((i + 1))
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

col() { cut -d' ' -f"$2" "$D/$1" | sort -n; }		# NAME FIELD: sorted
med() { col "$1" 1 | sed -n "$(( (RUNS + 1) / 2 ))p"; }
best() { col "$1" 1 | head -n 1; }
cpu() { awk '{ print $3 + $4 }' "$D/$1" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
rss() { echo $(( $(col "$1" 2 | tail -n 1) / 1024 )); }
LIMIT=$(printf '%s\n' "$(best dec)" "$(best sha)" "$(best write)" | sort -n | tail -n 1)

echo "image: ${SIZE_MB} MiB raw, $((MAPPED >> 20)) MiB mapped in 1 MiB runs, zstd $(( $(stat -c %s "$D/img.zst") >> 20 )) MiB; $RUNS rounds"
echo "CPUs: $(nproc); load average before: $LOAD, after: $LOAD_AFTER (others' work slows wall times; CPU seconds less)"
printf '%-44s %8s %8s %8s %9s\n' "writer" "median s" "best s" "cpu s" "peak MiB"
for n in castiron:"castiron image write (bmap)" bmaptool:"bmaptool copy" \
    zstd_dd:"zstd -dc | dd conv=sparse"; do
	printf '%-44s %8s %8s %8s %9s\n' "${n#*:}" "$(med ${n%%:*})" \
	    "$(best ${n%%:*})" "$(cpu ${n%%:*})" "$(rss ${n%%:*})"
done
echo "limit, each part alone at full speed (in memory, in-process):"
for n in dec:"decompress the image (libzstd)" \
    sha:"sha256 of the mapped bytes (OpenSSL)" \
    write:"write the mapped bytes (O_DIRECT+fdatasync)"; do
	printf '  %-42s %8s %8s\n' "${n#*:}" "$(med ${n%%:*})" "$(best ${n%%:*})"
done
printf '%-44s %8s %8s\n' "limit: the slowest part, at its best" "" "$LIMIT"
awk -v c="$(med castiron)" -v cb="$(best castiron)" -v b="$(med bmaptool)" \
    -v z="$(med zstd_dd)" -v l="$LIMIT" 'BEGIN {
	printf "castiron / bmaptool copy: %.2f (medians; goal <= 0.50)\n", c / b
	printf "castiron / zstd|dd:       %.2f (medians)\n", c / z
	printf "castiron / limit:         %.2f median, %.2f best (>= 1 by construction; goal <= 1.50)\n", c / l, cb / l
}'
awk -v c="$(cpu castiron)" -v b="$(cpu bmaptool)" 'BEGIN {
	printf "cpu: castiron / bmaptool: %.2f\n", c / b
}'
