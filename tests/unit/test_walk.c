/*
 * Unit tests for the image walk (images/walk.c): a sparse raw image with
 * its bmap and the same image zstd-compressed give the callbacks the same
 * ranges, offsets, bytes and digests; the raw file is read only where the
 * bmap maps it (the bytes this process read, /proc/self/io's rchar, stay
 * near the mapped bytes, far below the file's size); a raw file shorter
 * or longer than the bmap's ImageSize is refused before any range is
 * begun.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zstd.h>

#include "images/bmap.h"
#include "images/digest.h"
#include "images/source.h"
#include "images/walk.h"

#define KIB	1024ULL
#define MIB	(1024ULL * 1024)
#define SIZE	(64 * MIB)

/* Runs of data (KiB offset, KiB length); the rest is a hole.  One run
 * longer than the walk's read size, one a single block at the end. */
static const uint64_t runs[][2] = {
	{ 0, 64 }, { 1024, 5000 }, { 20480, 4 }, { 40000, 1100 },
	{ SIZE / KIB - 4, 4 },
};

static char	 dir[] = "/tmp/castiron-test-walk.XXXXXX";
static char	 raw[128], zst[128];
static uint8_t	*whole;
static struct bmap *bm;

/* What the callbacks saw, range by range. */
struct seen {
	uint64_t	 n, bytes, off[16], len[16];
	int		 digest_ok[16];
	struct img_sha	*sha;
	uint64_t	 at;		/* the next byte expected in the range */
	int		 bad;		/* a byte differing from the image */
};

static enum err_code
s_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len, struct err *e)
{
	struct seen	*s = arg;

	(void)e;
	assert_true(idx == s->n && idx < 16);
	s->off[idx] = off;
	s->len[idx] = len;
	s->at = off;
	s->sha = img_sha_new();
	return ERR_OK;
}

static enum err_code
s_data(void *arg, const uint8_t *buf, size_t len, struct err *e)
{
	struct seen	*s = arg;

	(void)e;
	if (memcmp(buf, whole + s->at, len) != 0)
		s->bad = 1;
	s->at += len;
	s->bytes += len;
	img_sha_update(s->sha, buf, len);
	return ERR_OK;
}

static enum err_code
s_end(void *arg, uint64_t idx, const uint8_t *expect, struct err *e)
{
	struct seen	*s = arg;
	uint8_t		 d[SHA256_LEN];

	(void)e;
	img_sha_final(s->sha, d);
	img_sha_free(s->sha);
	s->sha = NULL;
	assert_int_equal(s->at, s->off[idx] + s->len[idx]);
	s->digest_ok[idx] = expect != NULL && memcmp(d, expect, sizeof(d)) == 0;
	s->n++;
	return ERR_OK;
}

static const struct img_walk_cb cb = { s_begin, s_data, s_end };

static uint64_t
rchar(void)
{
	char		 line[128];
	unsigned long long v = 0;
	FILE		*f = fopen("/proc/self/io", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "rchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int
setup(void **state)
{
	struct err	 e;
	void		*z;
	size_t		 i, j, zl;
	int		 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(raw, sizeof(raw), "%s/raw.img", dir);
	snprintf(zst, sizeof(zst), "%s/img.zst", dir);
	whole = calloc(1, SIZE);
	assert_non_null(whole);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		for (j = 0; j < runs[i][1] * KIB; j++)
			whole[runs[i][0] * KIB + j] = (uint8_t)(j * 131 + i * 7 +
			    (j >> 9) + 1);
	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(ftruncate(fd, (off_t)SIZE), 0);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		assert_int_equal(pwrite(fd, whole + runs[i][0] * KIB,
		    runs[i][1] * KIB, (off_t)(runs[i][0] * KIB)),
		    (ssize_t)(runs[i][1] * KIB));
	bm = bmap_create(fd, &e);
	assert_non_null(bm);
	close(fd);
	assert_int_equal(bm->n, sizeof(runs) / sizeof(runs[0]));
	z = malloc(ZSTD_compressBound(SIZE));
	assert_non_null(z);
	zl = ZSTD_compress(z, ZSTD_compressBound(SIZE), whole, SIZE, 1);
	assert_false(ZSTD_isError(zl));
	fd = open(zst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, z, zl), (ssize_t)zl);
	close(fd);
	free(z);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(raw);
	unlink(zst);
	rmdir(dir);
	bmap_free(bm);
	free(whole);
	return 0;
}

static void
walk_file(const char *path, struct seen *s, enum err_code want, struct err *e)
{
	struct img_src	*src;

	memset(s, 0, sizeof(*s));
	src = img_src_open(path, e);
	assert_non_null(src);
	assert_int_equal(img_walk(src, bm, SIZE, &cb, s, e), want);
	img_src_close(src);
}

/* Both sources: every range whole, at its place, matching its digest. */
static void
t_same(void **state)
{
	struct seen	 r, z;
	struct err	 e;
	uint64_t	 i, before, read;

	(void)state;
	before = rchar();
	walk_file(raw, &r, ERR_OK, &e);
	read = rchar() - before;
	walk_file(zst, &z, ERR_OK, &e);
	assert_int_equal(r.n, bm->n);
	assert_int_equal(z.n, bm->n);
	assert_int_equal(r.bytes, bmap_mapped_bytes(bm));
	assert_int_equal(z.bytes, bmap_mapped_bytes(bm));
	assert_false(r.bad);
	assert_false(z.bad);
	for (i = 0; i < bm->n; i++) {
		assert_int_equal(r.off[i], runs[i][0] * KIB);
		assert_int_equal(r.len[i], runs[i][1] * KIB);
		assert_int_equal(z.off[i], r.off[i]);
		assert_int_equal(z.len[i], r.len[i]);
		assert_true(r.digest_ok[i]);
		assert_true(z.digest_ok[i]);
	}
	/* The raw walk read the mapped bytes (6 MiB), not the file (64). */
	assert_true(read >= bmap_mapped_bytes(bm));
	assert_true(read < bmap_mapped_bytes(bm) + MIB);
}

/* A raw file that is not ImageSize bytes: refused before any range. */
static void
t_size(void **state)
{
	struct seen	 s;
	struct err	 e;

	(void)state;
	assert_int_equal(truncate(raw, (off_t)(SIZE - 4 * KIB)), 0);
	walk_file(raw, &s, ERR_FAIL, &e);
	assert_int_equal(s.n, 0);
	assert_non_null(strstr(e.msg, "the image ends after 67104768 bytes, "
	    "expected 67108864"));
	assert_int_equal(truncate(raw, (off_t)(SIZE + 4 * KIB)), 0);
	walk_file(raw, &s, ERR_FAIL, &e);
	assert_int_equal(s.n, 0);
	assert_non_null(strstr(e.msg, "larger than 67108864 bytes"));
	/* Back to its size: the hole that was cut holds zeros again, the
	 * block at the end is lost; the walk sees the difference. */
	assert_int_equal(truncate(raw, (off_t)SIZE), 0);
	walk_file(raw, &s, ERR_OK, &e);
	assert_false(s.digest_ok[bm->n - 1]);
	assert_true(s.bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_same),
		cmocka_unit_test(t_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
