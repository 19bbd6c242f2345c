/*
 * The castiron-writer stream codec and its report lines (images/frame.h
 * holds the format).  The decoder is a small state machine fed arbitrary
 * slices of input, so the writer can hand it whatever read() returned and
 * the fuzzer can hand it anything at all: every field is checked before it
 * is believed, and range data is passed through without being copied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/frame.h"
#include "lib/be.h"
#include "lib/xmalloc.h"

enum dec_state {
	ST_HDR,		/* collecting the stream header */
	ST_REC,		/* collecting a record header */
	ST_DATA,	/* passing range data through */
	ST_DIGEST,	/* collecting a range's digest */
	ST_END_DIGEST,	/* collecting the stream digest */
	ST_ENTRY,	/* packed: collecting a table entry */
	ST_PACK,	/* packed: passing compressed bytes through */
	ST_DONE,
	ST_FAILED,
};

struct frame_dec {
	enum dec_state	 st;
	uint8_t		 buf[FRAME_ENTRY_LEN];	/* partial header, record or
						   table entry */
	size_t		 have;
	struct frame_hdr hdr;
	uint64_t	 pos;			/* bytes consumed */
	uint64_t	 nranges;		/* ranges seen so far */
	uint64_t	 bytes;			/* range data seen so far */
	uint64_t	 next_min;		/* the next range starts here or later */
	uint64_t	 idx, off, len, left;	/* current range */
	uint64_t	 end_nranges, end_bytes;
	int		 packed, pull, have_map, split, part;
	unsigned	 codec, layout;
	uint64_t	 map_n;			/* entries the table announced */
	uint64_t	 pack_left;		/* of the current pack record */
	uint64_t	 packs, pack_bytes;	/* pack records and their bytes */
	uint8_t		 digest[FRAME_DIGEST_LEN];
	char		 err[160];
};

void
frame_encode_hdr(uint8_t out[FRAME_HDR_LEN], const struct frame_hdr *h)
{
	memcpy(out, FRAME_MAGIC, 8);
	be64_put(out + 8, h->image_size);
	be32_put(out + 16, h->flags);
	be32_put(out + 20, (uint32_t)(h->stream & 0xffff) << 16 |
	    (h->streams & 0xffff));
	be64_put(out + 24, h->mapped_bytes);
}

void
frame_encode_range(uint8_t out[FRAME_REC_LEN], uint64_t off, uint64_t len)
{
	be32_put(out, FRAME_TYPE_RANGE);
	be32_put(out + 4, 0);
	be64_put(out + 8, off);
	be64_put(out + 16, len);
}

void
frame_encode_end(uint8_t out[FRAME_REC_LEN], uint64_t nranges, uint64_t total)
{
	be32_put(out, FRAME_TYPE_END);
	be32_put(out + 4, 0);
	be64_put(out + 8, nranges);
	be64_put(out + 16, total);
}

void
frame_encode_map(uint8_t out[FRAME_REC_LEN], unsigned codec, unsigned layout,
    uint64_t nranges, uint64_t mapped)
{
	be32_put(out, FRAME_TYPE_MAP);
	be32_put(out + 4, (uint32_t)(codec & 0xffff) << 16 | (layout & 0xffff));
	be64_put(out + 8, nranges);
	be64_put(out + 16, mapped);
}

void
frame_encode_entry(uint8_t out[FRAME_ENTRY_LEN], uint64_t off, uint64_t len,
    const uint8_t digest[FRAME_DIGEST_LEN])
{
	be64_put(out, off);
	be64_put(out + 8, len);
	memcpy(out + 16, digest, FRAME_DIGEST_LEN);
}

void
frame_encode_pack(uint8_t out[FRAME_REC_LEN], uint64_t len)
{
	be32_put(out, FRAME_TYPE_PACK);
	be32_put(out + 4, 0);
	be64_put(out + 8, len);
	be64_put(out + 16, 0);
}

struct frame_dec *
frame_dec_new(void)
{
	return xcalloc(1, sizeof(struct frame_dec));
}

void
frame_dec_free(struct frame_dec *d)
{
	free(d);
}

static enum frame_ev
dec_fail(struct frame_dec *d, const char *what)
{
	snprintf(d->err, sizeof(d->err), "stream byte %llu: %s",
	    (unsigned long long)d->pos, what);
	d->st = ST_FAILED;
	return FRAME_EV_ERROR;
}

static enum frame_ev
dec_header(struct frame_dec *d)
{
	const uint8_t	*b = d->buf;

	if (memcmp(b, FRAME_MAGIC, 8) != 0)
		return dec_fail(d, "not a castiron-writer stream (bad magic)");
	d->hdr.image_size = be64_get(b + 8);
	d->hdr.flags = be32_get(b + 16);
	d->hdr.mapped_bytes = be64_get(b + 24);
	d->hdr.stream = be32_get(b + 20) >> 16;
	d->hdr.streams = be32_get(b + 20) & 0xffff;
	if (d->hdr.flags & ~FRAME_F_KNOWN)
		return dec_fail(d, "unknown header flags");
	d->split = (d->hdr.flags & FRAME_F_SPLIT) != 0;
	d->part = (d->hdr.flags & FRAME_F_PART) != 0;
	if (!d->split && !d->part && (d->hdr.stream | d->hdr.streams) != 0)
		return dec_fail(d, "reserved header field is not zero");
	if (d->split && (d->hdr.flags & (FRAME_F_PULL | FRAME_F_PART) ||
	    !(d->hdr.flags & FRAME_F_PACKED)))
		return dec_fail(d, "a split stream's flags do not go together");
	if (d->part && d->hdr.flags != FRAME_F_PART)
		return dec_fail(d, "a part stream with other flags");
	if ((d->split || d->part) && (d->hdr.streams < 2 ||
	    d->hdr.streams > FRAME_MAX_STREAMS ||
	    d->hdr.stream >= d->hdr.streams || (d->hdr.stream == 0) != d->split))
		return dec_fail(d, "a split stream's index or count out of "
		    "range");
	if (d->hdr.image_size == 0 || d->hdr.image_size > FRAME_MAX_IMAGE)
		return dec_fail(d, "image size out of range");
	if (d->hdr.mapped_bytes > d->hdr.image_size)
		return dec_fail(d, "mapped bytes exceed the image size");
	d->packed = (d->hdr.flags & FRAME_F_PACKED) != 0;
	d->pull = (d->hdr.flags & FRAME_F_PULL) != 0;
	if (d->pull && !d->packed)
		return dec_fail(d, "a pulled stream not marked packed");
	d->st = ST_REC;
	return FRAME_EV_HDR;
}

/* A range (or table entry) at a, l: checked against the ones before. */
static enum frame_ev
dec_range(struct frame_dec *d, uint64_t a, uint64_t l)
{
	if (d->nranges >= FRAME_MAX_RANGES)
		return dec_fail(d, "too many ranges");
	if (l == 0 || l > FRAME_MAX_RANGE_LEN)
		return dec_fail(d, "range length out of bounds");
	if (a < d->next_min)
		return dec_fail(d, "range overlaps or precedes the previous "
		    "one");
	if (a > d->hdr.image_size || l > d->hdr.image_size - a)
		return dec_fail(d, "range ends past the image size");
	if (l > d->hdr.mapped_bytes - d->bytes)
		return dec_fail(d, "ranges exceed the header's mapped bytes");
	d->idx = d->nranges;
	d->off = a;
	d->len = d->left = l;
	d->next_min = a + l;
	return FRAME_EV_RANGE;
}

static enum frame_ev
dec_map(struct frame_dec *d, uint32_t cl, uint64_t n, uint64_t mapped)
{
	if (!d->packed)
		return dec_fail(d, "a range table in a stream not marked "
		    "packed");
	if (d->have_map)
		return dec_fail(d, "a second range table");
	d->codec = cl >> 16;
	d->layout = cl & 0xffff;
	if (d->codec != FRAME_CODEC_ZSTD && d->codec != FRAME_CODEC_GZIP &&
	    !((d->pull || d->split) && d->codec == FRAME_CODEC_NONE))
		return dec_fail(d, "unknown codec");
	if (d->split && (d->codec != FRAME_CODEC_NONE ||
	    d->layout != FRAME_LAYOUT_MAPPED))
		return dec_fail(d, "a split stream's data is not the mapped "
		    "data as it is");
	if (d->layout != FRAME_LAYOUT_IMAGE &&
	    d->layout != FRAME_LAYOUT_MAPPED)
		return dec_fail(d, "unknown layout");
	if (d->pull && d->layout != FRAME_LAYOUT_IMAGE)
		return dec_fail(d, "a pulled stream's layout is not the image");
	if (n > FRAME_MAX_RANGES)
		return dec_fail(d, "too many ranges");
	if (mapped != d->hdr.mapped_bytes)
		return dec_fail(d, "the range table disagrees with the "
		    "header's mapped bytes");
	d->have_map = 1;
	d->map_n = n;
	d->st = n > 0 ? ST_ENTRY : ST_REC;
	return FRAME_EV_MAP;
}

static enum frame_ev
dec_entry(struct frame_dec *d)
{
	enum frame_ev	 ev;

	ev = dec_range(d, be64_get(d->buf), be64_get(d->buf + 8));
	if (ev == FRAME_EV_ERROR)
		return ev;
	memcpy(d->digest, d->buf + 16, FRAME_DIGEST_LEN);
	d->bytes += d->len;
	d->left = 0;
	if (++d->nranges == d->map_n) {
		if (d->bytes != d->hdr.mapped_bytes)
			return dec_fail(d, "ranges do not add up to the "
			    "header's mapped bytes");
		d->st = ST_REC;
	}
	return FRAME_EV_ENTRY;
}

static enum frame_ev
dec_record(struct frame_dec *d)
{
	const uint8_t	*b = d->buf;
	uint32_t	 type = be32_get(b);
	uint64_t	 a = be64_get(b + 8), l = be64_get(b + 16);

	if (type == FRAME_TYPE_MAP)
		return dec_map(d, be32_get(b + 4), a, l);
	if (be32_get(b + 4) != 0)
		return dec_fail(d, "reserved record field is not zero");
	if (d->packed && !d->have_map)
		return dec_fail(d, "a packed stream without its range table");
	if (type == FRAME_TYPE_END) {
		/* A part counts its own records; the table is the lead's. */
		if (d->part && (a != d->packs || l != d->pack_bytes))
			return dec_fail(d, "end record disagrees with the "
			    "records sent");
		if (!d->part && (a != d->nranges || l != d->bytes))
			return dec_fail(d, "end record disagrees with the "
			    "ranges sent");
		if (!d->part && l != d->hdr.mapped_bytes)
			return dec_fail(d, "ranges do not add up to the "
			    "header's mapped bytes");
		d->end_nranges = a;
		d->end_bytes = l;
		d->st = ST_END_DIGEST;
		return FRAME_EV_NEED;
	}
	if (type == FRAME_TYPE_PACK) {
		if (!d->packed && !d->part)
			return dec_fail(d, "packed data in a stream not "
			    "marked packed");
		if (d->pull)
			return dec_fail(d, "packed data in a pulled stream");
		if (a == 0 || a > FRAME_MAX_PACK || l != 0)
			return dec_fail(d, "pack record length out of bounds");
		/* A split write's records are the mapped data as it is. */
		if ((d->split || d->part) &&
		    a > d->hdr.mapped_bytes - d->pack_bytes)
			return dec_fail(d, "records exceed the header's mapped "
			    "bytes");
		d->packs++;
		d->pack_bytes += a;
		d->pack_left = a;
		d->st = ST_PACK;
		return FRAME_EV_NEED;
	}
	if (type != FRAME_TYPE_RANGE)
		return dec_fail(d, "unknown record type");
	if (d->packed || d->part)
		return dec_fail(d, d->part ? "a range record in a part stream" :
		    "a range record in a packed stream");
	if (dec_range(d, a, l) == FRAME_EV_ERROR)
		return FRAME_EV_ERROR;
	d->st = ST_DATA;
	return FRAME_EV_RANGE;
}

enum frame_ev
frame_dec_feed(struct frame_dec *d, const uint8_t *buf, size_t len,
    size_t *used, const uint8_t **data, size_t *datalen)
{
	size_t	 want, n;

	*used = 0;
	*data = NULL;
	*datalen = 0;
	for (;;) {
		switch (d->st) {
		case ST_FAILED:
			return FRAME_EV_ERROR;
		case ST_DONE:
			if (len > *used)
				return dec_fail(d, "bytes after the end "
				    "record");
			return FRAME_EV_END;
		case ST_DATA:
			if (d->left == 0) {
				d->st = ST_DIGEST;
				d->have = 0;
				continue;
			}
			if (*used == len)
				return FRAME_EV_NEED;
			n = len - *used;
			if (n > d->left)
				n = (size_t)d->left;
			*data = buf + *used;
			*datalen = n;
			*used += n;
			d->left -= n;
			d->pos += n;
			d->bytes += n;
			return FRAME_EV_DATA;
		case ST_PACK:
			if (d->pack_left == 0) {
				d->st = ST_REC;
				d->have = 0;
				continue;
			}
			if (*used == len)
				return FRAME_EV_NEED;
			n = len - *used;
			if (n > d->pack_left)
				n = (size_t)d->pack_left;
			*data = buf + *used;
			*datalen = n;
			*used += n;
			d->pack_left -= n;
			d->pos += n;
			return FRAME_EV_PACKED;
		default:
			break;
		}
		want = d->st == ST_HDR ? FRAME_HDR_LEN :
		    d->st == ST_REC ? FRAME_REC_LEN :
		    d->st == ST_ENTRY ? FRAME_ENTRY_LEN : FRAME_DIGEST_LEN;
		if (*used == len)
			return FRAME_EV_NEED;
		n = want - d->have;
		if (n > len - *used)
			n = len - *used;
		if (d->st == ST_DIGEST || d->st == ST_END_DIGEST)
			memcpy(d->digest + d->have, buf + *used, n);
		else
			memcpy(d->buf + d->have, buf + *used, n);
		d->have += n;
		*used += n;
		d->pos += n;
		if (d->have < want)
			return FRAME_EV_NEED;
		d->have = 0;
		switch (d->st) {
		case ST_HDR:
			return dec_header(d);
		case ST_REC: {
			enum frame_ev ev = dec_record(d);
			if (ev == FRAME_EV_NEED)
				continue;	/* end or pack: what follows */
			return ev;
		}
		case ST_ENTRY:
			return dec_entry(d);
		case ST_DIGEST:
			d->nranges++;
			d->st = ST_REC;
			return FRAME_EV_RANGE_END;
		case ST_END_DIGEST:
			d->st = ST_DONE;
			if (len > *used)
				return dec_fail(d, "bytes after the end "
				    "record");
			return FRAME_EV_END;
		default:
			return dec_fail(d, "decoder state");
		}
	}
}

const struct frame_hdr *
frame_dec_hdr(const struct frame_dec *d)
{
	return &d->hdr;
}

void
frame_dec_map(const struct frame_dec *d, unsigned *codec, unsigned *layout,
    uint64_t *nranges)
{
	*codec = d->codec;
	*layout = d->layout;
	*nranges = d->map_n;
}

void
frame_dec_range(const struct frame_dec *d, uint64_t *idx, uint64_t *off,
    uint64_t *len)
{
	*idx = d->idx;
	*off = d->off;
	*len = d->len;
}

const uint8_t *
frame_dec_digest(const struct frame_dec *d)
{
	return d->digest;
}

uint64_t
frame_dec_pack_left(const struct frame_dec *d)
{
	return d->st == ST_PACK ? d->pack_left : 0;
}

void
frame_dec_totals(const struct frame_dec *d, uint64_t *nranges,
    uint64_t *bytes)
{
	*nranges = d->end_nranges;
	*bytes = d->end_bytes;
}

const char *
frame_dec_error(const struct frame_dec *d)
{
	return d->err[0] ? d->err : "no error";
}

uint64_t
frame_dec_pos(const struct frame_dec *d)
{
	return d->pos;
}

/* Report lines. */

static const char *const rep_names[] = {
	[FRAME_REP_READY] = "ready",
	[FRAME_REP_PROGRESS] = "progress",
	[FRAME_REP_READBACK] = "readback",
	[FRAME_REP_DONE] = "done",
	[FRAME_REP_ERROR] = "error",
};

size_t
frame_report_format(char *buf, size_t len, const struct frame_report *r)
{
	int	 n = -1;
	char	 msg[FRAME_LINE_MAX];
	size_t	 i;

	switch (r->kind) {
	case FRAME_REP_READY:
		n = snprintf(buf, len, "ready target=%s target_bytes=%llu "
		    "image_bytes=%llu mapped_bytes=%llu\n", r->target,
		    (unsigned long long)r->target_bytes,
		    (unsigned long long)r->image_bytes,
		    (unsigned long long)r->mapped_bytes);
		break;
	case FRAME_REP_PROGRESS:
	case FRAME_REP_READBACK:
		n = snprintf(buf, len, "%s done=%llu total=%llu\n",
		    rep_names[r->kind], (unsigned long long)r->done,
		    (unsigned long long)r->total);
		break;
	case FRAME_REP_DONE:
		n = snprintf(buf, len, "done ranges=%llu bytes=%llu sha256=%s "
		    "readback=%s elapsed_ms=%llu cpu_ms=%llu%s%s",
		    (unsigned long long)r->ranges,
		    (unsigned long long)r->bytes, r->sha256,
		    r->readback ? "yes" : "no",
		    (unsigned long long)r->elapsed_ms,
		    (unsigned long long)r->cpu_ms,
		    r->packed_sha256[0] ? " packed_sha256=" : "",
		    r->packed_sha256);
		if (n >= 0 && (size_t)n < len && r->pulled)
			n += snprintf(buf + n, len - (size_t)n, " fetched_bytes="
			    "%llu requests=%llu resumes=%llu",
			    (unsigned long long)r->fetched_bytes,
			    (unsigned long long)r->requests,
			    (unsigned long long)r->resumes);
		if (n >= 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, "\n");
		break;
	case FRAME_REP_ERROR:
		/* One line, whatever the message held. */
		for (i = 0; i < sizeof(msg) - 1 && r->msg[i] != '\0'; i++)
			msg[i] = (r->msg[i] == '\n' || r->msg[i] == '\r') ?
			    ' ' : r->msg[i];
		msg[i] = '\0';
		n = snprintf(buf, len, "error exit=%d msg=%s\n", r->exit_code,
		    msg);
		break;
	}
	if (n < 0)
		n = 0;
	if (len > 0 && (size_t)n >= len) {
		/* Truncated: keep it one terminated line. */
		if (len >= 2) {
			buf[len - 2] = '\n';
			buf[len - 1] = '\0';
		}
		return len - 1;
	}
	return (size_t)n;
}

static int
rep_uint(const char *v, size_t vlen, uint64_t *out)
{
	uint64_t	 x = 0;
	size_t		 i;

	if (vlen == 0 || vlen > 20)
		return -1;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (x > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

static int
rep_copy(char *dst, size_t dstlen, const char *v, size_t vlen)
{
	if (vlen >= dstlen)
		return -1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return 0;
}

enum err_code
frame_report_parse(const char *line, struct frame_report *r,
    struct err *err)
{
	const char	*p, *word, *eq, *key;
	size_t		 len, klen, vlen, i;
	uint64_t	 u;
	int		 kind = -1;

	memset(r, 0, sizeof(*r));
	len = strnlen(line, FRAME_LINE_MAX + 1);
	if (len > FRAME_LINE_MAX) {
		return err_set(err, ERR_FAIL, "report line longer than %d "
		    "bytes", FRAME_LINE_MAX);
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	for (i = 0; i < sizeof(rep_names) / sizeof(rep_names[0]); i++) {
		size_t n = strlen(rep_names[i]);
		if (len >= n && memcmp(line, rep_names[i], n) == 0 &&
		    (len == n || line[n] == ' ')) {
			kind = (int)i;
			p = line + n;
			break;
		}
	}
	if (kind < 0)
		return err_set(err, ERR_FAIL, "not a writer report line: "
		    "\"%.40s\"", line);
	r->kind = (enum frame_rep)kind;
	r->exit_code = 1;
	while (p < line + len) {
		while (p < line + len && *p == ' ')
			p++;
		if (p == line + len)
			break;
		word = p;
		eq = memchr(word, '=', (size_t)(line + len - word));
		if (eq == NULL)
			return err_set(err, ERR_FAIL, "report word without "
			    "'=': \"%.40s\"", word);
		key = word;
		klen = (size_t)(eq - word);
		if (r->kind == FRAME_REP_ERROR && klen == 3 &&
		    memcmp(key, "msg", 3) == 0) {
			/* The message runs to the end of the line. */
			if (rep_copy(r->msg, sizeof(r->msg), eq + 1,
			    (size_t)(line + len - eq - 1)) == -1)
				goto bad;
			return ERR_OK;
		}
		p = eq + 1;
		while (p < line + len && *p != ' ')
			p++;
		vlen = (size_t)(p - eq - 1);
#define KEY(s)	(klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
#define UINT(f)	do { if (rep_uint(eq + 1, vlen, &u) == -1) goto bad; \
		    r->f = u; } while (0)
		if (KEY("done"))
			UINT(done);
		else if (KEY("total"))
			UINT(total);
		else if (KEY("target_bytes"))
			UINT(target_bytes);
		else if (KEY("image_bytes"))
			UINT(image_bytes);
		else if (KEY("mapped_bytes"))
			UINT(mapped_bytes);
		else if (KEY("ranges"))
			UINT(ranges);
		else if (KEY("bytes"))
			UINT(bytes);
		else if (KEY("elapsed_ms"))
			UINT(elapsed_ms);
		else if (KEY("cpu_ms"))
			UINT(cpu_ms);
		else if (KEY("fetched_bytes")) {
			UINT(fetched_bytes);
			r->pulled = 1;
		} else if (KEY("requests"))
			UINT(requests);
		else if (KEY("resumes"))
			UINT(resumes);
		else if (KEY("exit")) {
			if (rep_uint(eq + 1, vlen, &u) == -1 || u > 255)
				goto bad;
			r->exit_code = (int)u;
		} else if (KEY("target")) {
			if (rep_copy(r->target, sizeof(r->target), eq + 1,
			    vlen) == -1)
				goto bad;
		} else if (KEY("sha256") || KEY("packed_sha256")) {
			char *to = KEY("sha256") ? r->sha256 : r->packed_sha256;
			if (vlen != 64)
				goto bad;
			for (i = 0; i < 64; i++)
				if (!((eq[1 + i] >= '0' && eq[1 + i] <= '9') ||
				    (eq[1 + i] >= 'a' && eq[1 + i] <= 'f')))
					goto bad;
			memcpy(to, eq + 1, 64);
			to[64] = '\0';
		} else if (KEY("readback")) {
			if (vlen == 3 && memcmp(eq + 1, "yes", 3) == 0)
				r->readback = 1;
			else if (vlen == 2 && memcmp(eq + 1, "no", 2) == 0)
				r->readback = 0;
			else
				goto bad;
		}
		/* Unknown keys are skipped: later writers may add some. */
#undef KEY
#undef UINT
	}
	if (r->kind == FRAME_REP_DONE && r->sha256[0] == '\0')
		return err_set(err, ERR_FAIL, "done line without sha256");
	return ERR_OK;
bad:
	return err_set(err, ERR_FAIL, "bad value for \"%.*s\" in a %s line",
	    (int)(klen > 32 ? 32 : klen), key, rep_names[r->kind]);
}
