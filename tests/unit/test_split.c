/*
 * Unit tests for the split write (images/split.c, images/frame.h): how
 * the mapped data is shared among the streams (every stripe on exactly
 * one stream, the counts each stream's end record states), and a real
 * image with its bmap split over 2, 3 and 5 streams, each stream decoded
 * on its own and the records joined in the writer's order: the joined
 * bytes must be the image's mapped bytes, every range matching the
 * table's digest, every part's end record counting its own records and
 * carrying the lead's digest.  Also what the decoder refuses in a split
 * stream (a part claiming the lead's index, a range record in a part,
 * records past the mapped bytes, a lead whose data is not "none").
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

#include "images/bmap.h"
#include "images/digest.h"
#include "images/frame.h"

#define KIB	1024ULL
#define MIB	(1024ULL * 1024)

static void
t_share(void **state)
{
	static const uint64_t sizes[] = { 1, 4095, FRAME_SPLIT_STRIPE,
	    FRAME_SPLIT_STRIPE + 1, 7 * FRAME_SPLIT_STRIPE - 3,
	    100 * MIB + 12345 };
	uint64_t	 recs, bytes, trecs, tbytes, stripes;
	size_t		 i;
	unsigned	 n, k;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (n = 2; n <= FRAME_MAX_STREAMS; n++) {
			stripes = (sizes[i] + FRAME_SPLIT_STRIPE - 1) /
			    FRAME_SPLIT_STRIPE;
			trecs = tbytes = 0;
			for (k = 0; k < n; k++) {
				frame_split_share(sizes[i], FRAME_SPLIT_STRIPE,
				    n, k, &recs, &bytes);
				/* Round robin: no stream two stripes ahead. */
				assert_true(recs == stripes / n ||
				    recs == stripes / n + 1);
				assert_true(bytes <= recs * FRAME_SPLIT_STRIPE);
				trecs += recs;
				tbytes += bytes;
			}
			assert_int_equal(trecs, stripes);
			assert_int_equal(tbytes, sizes[i]);
		}
}

/* A stream captured in memory. */
struct buf {
	uint8_t		*p;
	size_t		 len, cap;
};

static int
cap_out(void *arg, const void *p, size_t n)
{
	struct buf	*b = arg;

	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* A stream being decoded: its bytes and where the decoder is. */
struct rd {
	struct frame_dec	*d;
	struct buf		*b;
	size_t			 pos;
};

static enum frame_ev
rd_next(struct rd *r, const uint8_t **data, size_t *dlen)
{
	enum frame_ev	 ev;
	size_t		 used;

	do {
		/* In odd slices, as a pipe would deliver them. */
		size_t n = r->b->len - r->pos < 4093 ? r->b->len - r->pos :
		    4093;

		ev = frame_dec_feed(r->d, r->b->p + r->pos, n, &used, data,
		    dlen);
		r->pos += used;
	} while (ev == FRAME_EV_NEED && r->pos < r->b->len);
	return ev;
}

/* A sparse image: runs of data at these offsets (KiB, length KiB). */
static const uint64_t runs[][2] = {
	{ 0, 64 }, { 1024, 700 }, { 2048, 4 }, { 3000, 1100 }, { 6000, 8 },
};

static void
make_image(const char *img, const char *bmapf, uint8_t **whole,
    uint64_t *size)
{
	struct bmap	*bm;
	struct err	 e;
	char		*x;
	size_t		 xl, i, j;
	int		 fd;

	*size = 8 * MIB;
	*whole = calloc(1, *size);
	assert_non_null(*whole);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		for (j = 0; j < runs[i][1] * KIB; j++)
			(*whole)[runs[i][0] * KIB + j] =
			    (uint8_t)(j * 131 + i * 7 + (j >> 9));
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(ftruncate(fd, (off_t)*size), 0);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		assert_int_equal(pwrite(fd, *whole + runs[i][0] * KIB,
		    runs[i][1] * KIB, (off_t)(runs[i][0] * KIB)),
		    (ssize_t)(runs[i][1] * KIB));
	bm = bmap_create(fd, &e);
	assert_non_null(bm);
	close(fd);
	x = bmap_format(bm, &xl);
	fd = open(bmapf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, x, xl), (ssize_t)xl);
	close(fd);
	free(x);
	bmap_free(bm);
}

static void
split_and_join(const char *img, const char *bmapf, const uint8_t *whole,
    uint64_t size, unsigned n)
{
	struct frame_send_opts	 o;
	struct frame_send_result res;
	struct frame_split	*sp;
	struct buf		 b[FRAME_MAX_STREAMS];
	struct rd		 r[FRAME_MAX_STREAMS];
	struct err		 e;
	const uint8_t		*data;
	uint64_t		*offs, *lens, nr = 0, idx, off, len, rec = 0;
	uint64_t		 recs, bytes, i, at, tr, tb;
	uint8_t			(*dig)[SHA256_LEN], got[SHA256_LEN];
	uint8_t			*joined;
	size_t			 dlen, jl = 0;
	enum frame_ev		 ev;
	unsigned		 k, s, codec, layout;
	struct img_sha		*sha;

	memset(&o, 0, sizeof(o));
	o.image_path = img;
	o.bmap_path = bmapf;
	memset(b, 0, sizeof(b));
	sp = frame_split_new(&o, n, &e);
	assert_non_null(sp);
	for (k = 0; k < n; k++)
		assert_int_equal(frame_split_send(sp, k, cap_out, &b[k], NULL,
		    NULL, &e), ERR_OK);
	frame_split_result(sp, &res);
	frame_split_free(sp);

	/* The lead: its header, then the table. */
	memset(r, 0, sizeof(r));
	for (k = 0; k < n; k++) {
		r[k].d = frame_dec_new();
		r[k].b = &b[k];
		assert_int_equal(rd_next(&r[k], &data, &dlen), FRAME_EV_HDR);
		assert_int_equal(frame_dec_hdr(r[k].d)->stream, k);
		assert_int_equal(frame_dec_hdr(r[k].d)->streams, n);
		assert_int_equal(frame_dec_hdr(r[k].d)->flags, k == 0 ?
		    FRAME_F_PACKED | FRAME_F_SPLIT : FRAME_F_PART);
	}
	assert_int_equal(rd_next(&r[0], &data, &dlen), FRAME_EV_MAP);
	frame_dec_map(r[0].d, &codec, &layout, &nr);
	assert_int_equal(codec, FRAME_CODEC_NONE);
	assert_int_equal(layout, FRAME_LAYOUT_MAPPED);
	assert_int_equal(nr, res.ranges);
	offs = calloc(nr, sizeof(*offs));
	lens = calloc(nr, sizeof(*lens));
	dig = calloc(nr, SHA256_LEN);
	for (i = 0; i < nr; i++) {
		assert_int_equal(rd_next(&r[0], &data, &dlen), FRAME_EV_ENTRY);
		frame_dec_range(r[0].d, &idx, &off, &len);
		offs[i] = off;
		lens[i] = len;
		memcpy(dig[i], frame_dec_digest(r[0].d), SHA256_LEN);
	}
	/* Record j from stream j mod n, as the writer joins them. */
	joined = malloc(res.mapped_bytes);
	while (jl < res.mapped_bytes) {
		s = (unsigned)(rec % n);
		ev = rd_next(&r[s], &data, &dlen);
		assert_int_equal(ev, FRAME_EV_PACKED);
		assert_true(jl + dlen <= res.mapped_bytes);
		memcpy(joined + jl, data, dlen);
		jl += dlen;
		if (frame_dec_pack_left(r[s].d) == 0)
			rec++;
	}
	/* Every stream ends there, a part counting its own. */
	for (k = 0; k < n; k++) {
		assert_int_equal(rd_next(&r[k], &data, &dlen), FRAME_EV_END);
		assert_memory_equal(frame_dec_digest(r[k].d),
		    frame_dec_digest(r[0].d), SHA256_LEN);
		frame_dec_totals(r[k].d, &tr, &tb);
		if (k == 0) {
			assert_int_equal(tr, nr);
			assert_int_equal(tb, res.mapped_bytes);
		} else {
			frame_split_share(res.mapped_bytes, FRAME_SPLIT_STRIPE,
			    n, k, &recs, &bytes);
			assert_int_equal(tr, recs);
			assert_int_equal(tb, bytes);
		}
		frame_dec_free(r[k].d);
		free(b[k].p);
	}
	/* The joined bytes are the image's, range by range, digests the
	 * table's; the stream digest is over them. */
	sha = img_sha_new();
	for (i = 0, at = 0; i < nr; i++) {
		assert_true(offs[i] + lens[i] <= size);
		assert_memory_equal(joined + at, whole + offs[i], lens[i]);
		img_sha256(joined + at, lens[i], got);
		assert_memory_equal(got, dig[i], SHA256_LEN);
		img_sha_update(sha, got, SHA256_LEN);
		at += lens[i];
	}
	img_sha_final(sha, got);
	img_sha_free(sha);
	{
		char	 hex[65];

		img_hex(got, hex);
		assert_string_equal(hex, res.sha256);
	}
	assert_int_equal(at, res.mapped_bytes);
	free(joined);
	free(offs);
	free(lens);
	free(dig);
}

static void
t_split_image(void **state)
{
	char		 dir[] = "/tmp/test_split.XXXXXX", img[64], bmapf[64];
	uint8_t		*whole;
	uint64_t	 size, m = 0;
	size_t		 i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(bmapf, sizeof(bmapf), "%s/bmap", dir);
	make_image(img, bmapf, &whole, &size);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		m += runs[i][1] * KIB;
	/* More streams than stripes, too: some parts carry none. */
	assert_true(m < 16 * FRAME_SPLIT_STRIPE);
	split_and_join(img, bmapf, whole, size, 2);
	split_and_join(img, bmapf, whole, size, 3);
	split_and_join(img, bmapf, whole, size, 5);
	split_and_join(img, bmapf, whole, size, FRAME_MAX_STREAMS);
	free(whole);
	unlink(img);
	unlink(bmapf);
	rmdir(dir);
}

/* Feeds b whole; the decoder's last event. */
static enum frame_ev
feed_all(const uint8_t *b, size_t len, struct frame_dec **dp)
{
	struct frame_dec	*d = frame_dec_new();
	const uint8_t		*data;
	size_t			 used, dlen, pos = 0;
	enum frame_ev		 ev;

	do {
		ev = frame_dec_feed(d, b + pos, len - pos, &used, &data, &dlen);
		pos += used;
	} while (ev != FRAME_EV_ERROR && ev != FRAME_EV_END && pos < len);
	if (dp)
		*dp = d;
	else
		frame_dec_free(d);
	return ev;
}

static void
t_split_rules(void **state)
{
	struct frame_hdr	 h = { 0 };
	uint8_t			 b[512], z[64] = { 0 };
	size_t			 n;
	struct frame_dec	*d;

	(void)state;
	/* A part claiming index 0, or more streams than the writer takes. */
	h.image_size = 1 << 20;
	h.mapped_bytes = 64;
	h.flags = FRAME_F_PART;
	h.stream = 0;
	h.streams = 2;
	frame_encode_hdr(b, &h);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN, NULL), FRAME_EV_ERROR);
	h.stream = 1;
	h.streams = FRAME_MAX_STREAMS + 1;
	frame_encode_hdr(b, &h);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN, NULL), FRAME_EV_ERROR);
	/* A plain stream with an index. */
	h.flags = 0;
	h.streams = 2;
	frame_encode_hdr(b, &h);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN, NULL), FRAME_EV_ERROR);
	/* A part with a range record. */
	h.flags = FRAME_F_PART;
	h.stream = 1;
	frame_encode_hdr(b, &h);
	frame_encode_range(b + FRAME_HDR_LEN, 0, 16);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN + FRAME_REC_LEN, NULL),
	    FRAME_EV_ERROR);
	/* A part's records past the mapped bytes. */
	frame_encode_pack(b + FRAME_HDR_LEN, 65);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN + FRAME_REC_LEN, NULL),
	    FRAME_EV_ERROR);
	/* A part whose end miscounts its records. */
	frame_encode_pack(b + FRAME_HDR_LEN, 16);
	n = FRAME_HDR_LEN + FRAME_REC_LEN;
	memcpy(b + n, z, 16);
	n += 16;
	frame_encode_end(b + n, 2, 16);
	assert_int_equal(feed_all(b, n + FRAME_REC_LEN, NULL), FRAME_EV_ERROR);
	/* ... and one that counts right. */
	frame_encode_end(b + n, 1, 16);
	memcpy(b + n + FRAME_REC_LEN, z, SHA256_LEN);
	assert_int_equal(feed_all(b, n + FRAME_REC_LEN + SHA256_LEN, &d),
	    FRAME_EV_END);
	frame_dec_free(d);
	/* A split lead whose data is zstd. */
	h.flags = FRAME_F_PACKED | FRAME_F_SPLIT;
	h.stream = 0;
	frame_encode_hdr(b, &h);
	frame_encode_map(b + FRAME_HDR_LEN, FRAME_CODEC_ZSTD,
	    FRAME_LAYOUT_MAPPED, 1, 64);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN + FRAME_REC_LEN, NULL),
	    FRAME_EV_ERROR);
	/* A split lead that is also pulled. */
	h.flags = FRAME_F_PACKED | FRAME_F_SPLIT | FRAME_F_PULL;
	frame_encode_hdr(b, &h);
	assert_int_equal(feed_all(b, FRAME_HDR_LEN, NULL), FRAME_EV_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_share),
		cmocka_unit_test(t_split_image),
		cmocka_unit_test(t_split_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
