/*
 * Unit tests for images/frame.c: the castiron-writer stream decoded in
 * any slicing (one byte at a time, all at once), every truncation left
 * waiting for more rather than finished, streams breaking the rules
 * (overlap, past the end, wrong totals, trailing bytes), and the report
 * lines formatted and parsed back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "images/digest.h"
#include "images/frame.h"

struct stream {
	uint8_t	 buf[8192];
	size_t	 len;
};

static void
put(struct stream *s, const void *p, size_t n)
{
	assert_true(s->len + n <= sizeof(s->buf));
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* A stream of an image of size bytes with ranges (off, len) filled with
 * bytes 'a', 'b', ...; mapped is what the header claims. */
static void
build(struct stream *s, uint64_t size, const uint64_t *r, size_t n,
    int64_t mapped_adjust)
{
	uint8_t		 rec[FRAME_HDR_LEN], d[SHA256_LEN], data[1024];
	struct frame_hdr h = { size, 0, 0 };
	struct img_sha	*st = img_sha_new();
	size_t		 i;

	for (i = 0; i < n; i++)
		h.mapped_bytes += r[2 * i + 1];
	h.mapped_bytes += (uint64_t)mapped_adjust;
	s->len = 0;
	frame_encode_hdr(rec, &h);
	put(s, rec, FRAME_HDR_LEN);
	for (i = 0; i < n; i++) {
		memset(data, 'a' + (int)i, sizeof(data));
		frame_encode_range(rec, r[2 * i], r[2 * i + 1]);
		put(s, rec, FRAME_REC_LEN);
		put(s, data, r[2 * i + 1]);
		img_sha256(data, r[2 * i + 1], d);
		put(s, d, SHA256_LEN);
		img_sha_update(st, d, SHA256_LEN);
	}
	frame_encode_end(rec, n, h.mapped_bytes - (uint64_t)mapped_adjust);
	put(s, rec, FRAME_REC_LEN);
	img_sha_final(st, d);
	put(s, d, SHA256_LEN);
	img_sha_free(st);
}

struct tally {
	int	 hdr, ranges, range_ends, end, error;
	uint64_t data;
	int	 digest_ok;
};

/* Feeds s in slices of step bytes (0: all at once), up to len bytes. */
static void
run(const struct stream *s, size_t len, size_t step, struct tally *t)
{
	struct frame_dec	*d = frame_dec_new();
	const uint8_t		*data;
	size_t			 pos = 0, n, used, dlen, i;
	enum frame_ev		 ev;
	uint8_t			 expect;

	memset(t, 0, sizeof(*t));
	t->digest_ok = 1;
	while (pos < len && !t->error && !t->end) {
		n = step ? step : len - pos;
		if (n > len - pos)
			n = len - pos;
		do {
			ev = frame_dec_feed(d, s->buf + pos, n, &used, &data,
			    &dlen);
			pos += used;
			n -= used;
			switch (ev) {
			case FRAME_EV_HDR: t->hdr++; break;
			case FRAME_EV_RANGE: t->ranges++; break;
			case FRAME_EV_DATA:
				expect = (uint8_t)('a' + t->ranges - 1);
				for (i = 0; i < dlen; i++)
					assert_int_equal(data[i], expect);
				t->data += dlen;
				break;
			case FRAME_EV_RANGE_END: t->range_ends++; break;
			case FRAME_EV_END: t->end++; break;
			case FRAME_EV_ERROR: t->error++; break;
			case FRAME_EV_NEED: break;
			case FRAME_EV_MAP:
			case FRAME_EV_ENTRY:
			case FRAME_EV_PACKED: t->error++; break;
			}
		} while (n > 0 && !t->error && !t->end);
	}
	frame_dec_free(d);
}

static const uint64_t good[] = { 0, 512, 4096, 1000, 9000, 100 };

static void
t_slicings(void **st)
{
	struct stream	 s;
	struct tally	 t;
	size_t		 steps[] = { 0, 1, 7, 24, 33, 4096 }, i;

	(void)st;
	build(&s, 10000, good, 3, 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		run(&s, s.len, steps[i], &t);
		assert_int_equal(t.error, 0);
		assert_int_equal(t.hdr, 1);
		assert_int_equal(t.ranges, 3);
		assert_int_equal(t.range_ends, 3);
		assert_int_equal(t.data, 1612);
		assert_int_equal(t.end, 1);
	}
}

static void
t_truncations_never_end(void **st)
{
	struct stream	 s;
	struct tally	 t;
	size_t		 n;

	(void)st;
	build(&s, 10000, good, 3, 0);
	for (n = 0; n < s.len; n++) {
		run(&s, n, 0, &t);
		assert_int_equal(t.end, 0);
		assert_int_equal(t.error, 0);
	}
}

static void
expect_error(struct stream *s, const char *what)
{
	struct frame_dec	*d = frame_dec_new();
	const uint8_t		*data;
	size_t			 pos = 0, used, dlen;
	enum frame_ev		 ev;

	do {
		ev = frame_dec_feed(d, s->buf + pos, s->len - pos, &used,
		    &data, &dlen);
		pos += used;
	} while (ev != FRAME_EV_ERROR && ev != FRAME_EV_END &&
	    pos < s->len);
	assert_int_equal(ev, FRAME_EV_ERROR);
	if (strstr(frame_dec_error(d), what) == NULL)
		fail_msg("expected \"%s\", got \"%s\"", what, frame_dec_error(d));
	frame_dec_free(d);
}

static void
t_rules(void **st)
{
	static const uint64_t overlap[] = { 0, 512, 500, 100 };
	static const uint64_t past[] = { 9990, 20 };
	static const uint64_t empty[] = { 0, 0 };
	struct stream	 s;

	(void)st;
	build(&s, 10000, overlap, 2, 0);
	expect_error(&s, "overlaps");
	build(&s, 10000, past, 1, 0);
	expect_error(&s, "past the image");
	build(&s, 10000, empty, 1, 0);
	expect_error(&s, "length");
	build(&s, 10000, good, 3, 1);
	expect_error(&s, "mapped bytes");
	build(&s, 10000, good, 3, -1);
	expect_error(&s, "mapped bytes");
	build(&s, 10000, good, 3, 0);
	s.buf[0] = 'X';
	expect_error(&s, "magic");
	build(&s, 10000, good, 3, 0);
	s.buf[s.len++] = 0;
	expect_error(&s, "after the end");
	build(&s, 10000, good, 3, 0);
	s.buf[19] |= 0x80;		/* unknown flag */
	expect_error(&s, "flags");
	build(&s, 0, NULL, 0, 0);
	expect_error(&s, "image size");
}

static void
t_reports(void **st)
{
	struct frame_report	 r, p;
	char			 line[FRAME_LINE_MAX + 2];

	(void)st;
	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_DONE;
	r.ranges = 3;
	r.bytes = 1612;
	r.readback = 1;
	r.elapsed_ms = 42;
	memset(r.sha256, 'e', 64);
	frame_report_format(line, sizeof(line), &r);
	assert_int_equal(frame_report_parse(line, &p, NULL), ERR_OK);
	assert_int_equal(p.kind, FRAME_REP_DONE);
	assert_int_equal(p.ranges, 3);
	assert_int_equal(p.bytes, 1612);
	assert_int_equal(p.readback, 1);
	assert_string_equal(p.sha256, r.sha256);

	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_ERROR;
	r.exit_code = 2;
	snprintf(r.msg, sizeof(r.msg), "two\nlines = here");
	frame_report_format(line, sizeof(line), &r);
	assert_non_null(strchr(line, '\n'));
	assert_int_equal(strchr(line, '\n')[1], '\0');
	assert_int_equal(frame_report_parse(line, &p, NULL), ERR_OK);
	assert_int_equal(p.exit_code, 2);
	assert_string_equal(p.msg, "two lines = here");

	assert_int_equal(frame_report_parse("progress done=5 total=10 new=x\n",
	    &p, NULL), ERR_OK);
	assert_int_equal(p.done, 5);
	assert_int_equal(p.total, 10);
	assert_int_equal(frame_report_parse("ready target=/dev/sda "
	    "target_bytes=1 image_bytes=1 mapped_bytes=1", &p, NULL), ERR_OK);
	assert_string_equal(p.target, "/dev/sda");

	{
		struct err e;

		assert_int_equal(frame_report_parse("hello", &p, &e),
		    ERR_FAIL);
		assert_int_equal(frame_report_parse("progress done=-1", &p,
		    &e), ERR_FAIL);
		assert_int_equal(frame_report_parse("progress done=1x", &p,
		    &e), ERR_FAIL);
		assert_int_equal(frame_report_parse("progress "
		    "done=99999999999999999999999", &p, &e), ERR_FAIL);
		assert_int_equal(frame_report_parse("done ranges=1", &p, &e),
		    ERR_FAIL);
		assert_int_equal(frame_report_parse("progress done", &p, &e),
		    ERR_FAIL);
	}
}

/*
 * A packed stream: the table of ranges (off, len) with digests of bytes
 * 'a', 'b', ..., then npack pack records of the bytes "packed" (the
 * decoder does not decompress: what it passes through must be these).
 */
static void
build_packed(struct stream *s, uint64_t size, const uint64_t *r, size_t n,
    unsigned codec, unsigned layout, int tweak)
{
	uint8_t		 rec[FRAME_ENTRY_LEN], d[SHA256_LEN], data[1024];
	struct frame_hdr h = { size, FRAME_F_PACKED, 0 };
	struct img_sha	*st = img_sha_new();
	size_t		 i;

	if (tweak >= 3)			/* 3: pulled, 4: pulled with packs */
		h.flags |= FRAME_F_PULL;

	for (i = 0; i < n; i++)
		h.mapped_bytes += r[2 * i + 1];
	s->len = 0;
	frame_encode_hdr(rec, &h);
	put(s, rec, FRAME_HDR_LEN);
	frame_encode_map(rec, codec, layout, n, h.mapped_bytes + (tweak == 1));
	put(s, rec, FRAME_REC_LEN);
	for (i = 0; i < n; i++) {
		memset(data, 'a' + (int)i, sizeof(data));
		img_sha256(data, r[2 * i + 1], d);
		frame_encode_entry(rec, r[2 * i], r[2 * i + 1], d);
		put(s, rec, FRAME_ENTRY_LEN);
		img_sha_update(st, d, SHA256_LEN);
	}
	if (tweak == 2) {		/* a range record among packed data */
		frame_encode_range(rec, 0, 1);
		put(s, rec, FRAME_REC_LEN);
	}
	for (i = 0; i < 2 && tweak != 3; i++) {
		frame_encode_pack(rec, 6);
		put(s, rec, FRAME_REC_LEN);
		put(s, "packed", 6);
	}
	frame_encode_end(rec, n, h.mapped_bytes);
	put(s, rec, FRAME_REC_LEN);
	img_sha_final(st, d);
	put(s, d, SHA256_LEN);
	img_sha_free(st);
}

static void
t_packed(void **st)
{
	struct stream		 s;
	struct frame_dec	*d;
	const uint8_t		*data;
	size_t			 steps[] = { 0, 1, 5, 48, 4096 }, i, pos, n, used,
				 dlen, packed;
	enum frame_ev		 ev;
	unsigned		 codec, layout;
	uint64_t		 nr, idx, off, len, entries;
	uint8_t			 dg[SHA256_LEN], buf[1024];

	(void)st;
	build_packed(&s, 10000, good, 3, FRAME_CODEC_ZSTD,
	    FRAME_LAYOUT_MAPPED, 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		d = frame_dec_new();
		pos = packed = 0;
		entries = 0;
		ev = FRAME_EV_NEED;
		while (pos < s.len && ev != FRAME_EV_END) {
			n = steps[i] ? steps[i] : s.len - pos;
			if (n > s.len - pos)
				n = s.len - pos;
			do {
				ev = frame_dec_feed(d, s.buf + pos, n, &used,
				    &data, &dlen);
				pos += used;
				n -= used;
				assert_int_not_equal(ev, FRAME_EV_ERROR);
				assert_int_not_equal(ev, FRAME_EV_RANGE);
				assert_int_not_equal(ev, FRAME_EV_DATA);
				if (ev == FRAME_EV_MAP) {
					frame_dec_map(d, &codec, &layout, &nr);
					assert_int_equal(codec,
					    FRAME_CODEC_ZSTD);
					assert_int_equal(layout,
					    FRAME_LAYOUT_MAPPED);
					assert_int_equal(nr, 3);
				} else if (ev == FRAME_EV_ENTRY) {
					frame_dec_range(d, &idx, &off, &len);
					assert_int_equal(idx, entries);
					assert_int_equal(off, good[2 * idx]);
					assert_int_equal(len, good[2 * idx + 1]);
					memset(buf, 'a' + (int)idx, sizeof(buf));
					img_sha256(buf, len, dg);
					assert_memory_equal(frame_dec_digest(d),
					    dg, SHA256_LEN);
					entries++;
				} else if (ev == FRAME_EV_PACKED) {
					assert_memory_equal(data,
					    &"packedpacked"[packed % 6], dlen);
					packed += dlen;
				}
			} while (n > 0 && ev != FRAME_EV_END);
		}
		assert_int_equal(ev, FRAME_EV_END);
		assert_int_equal(entries, 3);
		assert_int_equal(packed, 12);
		frame_dec_free(d);
	}
	/* Every truncation waits for more. */
	for (n = 0; n < s.len; n++) {
		d = frame_dec_new();
		pos = 0;
		do {
			ev = frame_dec_feed(d, s.buf + pos, n - pos, &used,
			    &data, &dlen);
			pos += used;
		} while (pos < n && ev != FRAME_EV_ERROR);
		assert_int_not_equal(ev, FRAME_EV_ERROR);
		assert_int_not_equal(ev, FRAME_EV_END);
		frame_dec_free(d);
	}
	build_packed(&s, 10000, good, 3, 3, FRAME_LAYOUT_IMAGE, 0);
	expect_error(&s, "codec");
	build_packed(&s, 10000, good, 3, FRAME_CODEC_GZIP, 7, 0);
	expect_error(&s, "layout");
	build_packed(&s, 10000, good, 3, FRAME_CODEC_GZIP, 0, 1);
	expect_error(&s, "table disagrees");
	build_packed(&s, 10000, good, 3, FRAME_CODEC_GZIP, 0, 2);
	expect_error(&s, "range record in a packed stream");
	/* Packed records in a plain stream, and the reverse. */
	build_packed(&s, 10000, good, 3, FRAME_CODEC_ZSTD, 0, 0);
	s.buf[19] &= (uint8_t)~FRAME_F_PACKED;
	expect_error(&s, "not marked packed");
	build(&s, 10000, good, 3, 0);
	s.buf[19] |= FRAME_F_PACKED;
	expect_error(&s, "without its range table");
}

/* A pulled stream: the table, then the end at once (the writer fetches
 * the data); nothing of the data may travel in it. */
static void
t_pulled(void **st)
{
	struct stream		 s;
	struct frame_dec	*d;
	const uint8_t		*data;
	size_t			 pos = 0, used, dlen;
	enum frame_ev		 ev;
	unsigned		 codec, layout, entries = 0;
	uint64_t		 nr;

	(void)st;
	build_packed(&s, 10000, good, 3, FRAME_CODEC_NONE, FRAME_LAYOUT_IMAGE,
	    3);
	d = frame_dec_new();
	do {
		ev = frame_dec_feed(d, s.buf + pos, s.len - pos, &used, &data,
		    &dlen);
		pos += used;
		assert_int_not_equal(ev, FRAME_EV_ERROR);
		assert_int_not_equal(ev, FRAME_EV_PACKED);
		if (ev == FRAME_EV_MAP) {
			frame_dec_map(d, &codec, &layout, &nr);
			assert_int_equal(codec, FRAME_CODEC_NONE);
			assert_int_equal(nr, 3);
		} else if (ev == FRAME_EV_ENTRY)
			entries++;
	} while (ev != FRAME_EV_END && pos < s.len);
	assert_int_equal(ev, FRAME_EV_END);
	assert_int_equal(entries, 3);
	assert_int_equal(pos, s.len);
	assert_true(frame_dec_hdr(d)->flags & FRAME_F_PULL);
	frame_dec_free(d);
	build_packed(&s, 10000, good, 3, FRAME_CODEC_ZSTD, FRAME_LAYOUT_IMAGE,
	    4);
	expect_error(&s, "packed data in a pulled stream");
	build_packed(&s, 10000, good, 3, FRAME_CODEC_ZSTD, FRAME_LAYOUT_MAPPED,
	    3);
	expect_error(&s, "layout is not the image");
	/* A raw file's table only where the writer fetches it. */
	build_packed(&s, 10000, good, 3, FRAME_CODEC_NONE, FRAME_LAYOUT_IMAGE,
	    0);
	expect_error(&s, "codec");
	build_packed(&s, 10000, good, 3, FRAME_CODEC_NONE, FRAME_LAYOUT_IMAGE,
	    3);
	s.buf[19] &= (uint8_t)~FRAME_F_PACKED;
	expect_error(&s, "pulled stream not marked packed");
}

/* The done line of a pull carries what was fetched. */
static void
t_report_pulled(void **st)
{
	struct frame_report	 r, p;
	char			 line[FRAME_LINE_MAX + 2];

	(void)st;
	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_DONE;
	r.ranges = 2;
	r.bytes = 5000;
	memset(r.sha256, 'a', 64);
	memset(r.packed_sha256, 'b', 64);
	r.pulled = 1;
	r.fetched_bytes = 4100;
	r.requests = 3;
	r.resumes = 1;
	frame_report_format(line, sizeof(line), &r);
	assert_non_null(strstr(line, " fetched_bytes=4100 requests=3 "
	    "resumes=1\n"));
	assert_int_equal(frame_report_parse(line, &p, NULL), ERR_OK);
	assert_int_equal(p.pulled, 1);
	assert_int_equal(p.fetched_bytes, 4100);
	assert_int_equal(p.requests, 3);
	assert_int_equal(p.resumes, 1);
	assert_string_equal(p.packed_sha256, r.packed_sha256);
	r.pulled = 0;
	frame_report_format(line, sizeof(line), &r);
	assert_null(strstr(line, "fetched_bytes"));
	assert_int_equal(frame_report_parse(line, &p, NULL), ERR_OK);
	assert_int_equal(p.pulled, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_slicings),
		cmocka_unit_test(t_truncations_never_end),
		cmocka_unit_test(t_rules),
		cmocka_unit_test(t_packed),
		cmocka_unit_test(t_reports),
		cmocka_unit_test(t_pulled),
		cmocka_unit_test(t_report_pulled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
