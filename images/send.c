/*
 * The sending side of the castiron-writer protocol (images/frame.h): an
 * image (and its bmap) as a framed stream through a callback, which
 * provision points at an SSH channel.  A compressed image goes packed, as
 * it is stored, behind its range table; a raw one plain, range by range,
 * or packed by zstd on the fly when that is faster.  In a plain stream
 * every range is hashed as it is sent, and when the image does not match
 * the bmap's digest the stream stops before that range's digest, so the
 * writer on the other end can only fail, never finish.  An image the
 * caller has just verified (o->verified) is sent with its bmap's digests
 * as they are: the writer's own hash of every range is the check.  A
 * pulled stream is the range table alone: the host fetches the image
 * file from the boot service and checks it against these digests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "images/frame.h"
#include "images/walk.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

struct send_ctx {
	const struct frame_send_opts *o;
	struct img_sha	*sha, *stream;
	uint64_t	 off, sent, total, wire;
	int		 trust;		/* send the bmap's digests */
	ZSTD_CCtx	*zc;		/* packing on the fly */
	uint8_t		*zbuf;
};

#define SEND_PACK_BUF	(1u << 20)

static enum err_code
out(struct send_ctx *s, const void *buf, size_t len, struct err *err)
{
	if (s->o->out(s->o->out_arg, buf, len) == -1)
		return err_set(err, ERR_FAIL, "sending the image stream "
		    "failed");
	s->wire += len;
	return ERR_OK;
}

static void
sent(struct send_ctx *s, uint64_t n)
{
	s->sent += n;
	if (s->o->progress)
		s->o->progress(s->o->progress_arg, s->sent, s->total);
}

/* One pack record of compressed bytes. */
static enum err_code
out_pack(struct send_ctx *s, const void *buf, size_t len, struct err *err)
{
	uint8_t	 rec[FRAME_REC_LEN];

	if (len == 0)
		return ERR_OK;
	frame_encode_pack(rec, len);
	if (out(s, rec, sizeof(rec), err) != ERR_OK)
		return ERR_FAIL;
	return out(s, buf, len, err);
}

static enum err_code
sd_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len,
    struct err *err)
{
	struct send_ctx	*s = arg;
	uint8_t		 rec[FRAME_REC_LEN];

	(void)idx;
	s->off = off;
	frame_encode_range(rec, off, len);
	return out(s, rec, sizeof(rec), err);
}

static enum err_code
sd_data(void *arg, const uint8_t *buf, size_t len, struct err *err)
{
	struct send_ctx	*s = arg;

	if (!s->trust)
		img_sha_update(s->sha, buf, len);
	if (out(s, buf, len, err) != ERR_OK)
		return ERR_FAIL;
	sent(s, len);
	return ERR_OK;
}

static enum err_code
sd_end(void *arg, uint64_t idx, const uint8_t *expect, struct err *err)
{
	struct send_ctx	*s = arg;
	uint8_t		 got[SHA256_LEN];

	if (s->trust && expect != NULL) {
		img_sha_update(s->stream, expect, SHA256_LEN);
		return out(s, expect, SHA256_LEN, err);
	}
	img_sha_final(s->sha, got);
	if (img_range_check(got, expect, idx, s->off, 0, err) != ERR_OK) {
		err_prefix(err, "%s", s->o->image_path);
		return ERR_FAIL;
	}
	img_sha_update(s->stream, got, SHA256_LEN);
	return out(s, got, SHA256_LEN, err);
}

/* Packing raw mapped data on the fly: the walk's data goes to zstd. */

static enum err_code
zs_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len,
    struct err *err)
{
	(void)arg;
	(void)idx;
	(void)off;
	(void)len;
	(void)err;
	return ERR_OK;
}

static enum err_code
zs_push(struct send_ctx *s, const uint8_t *buf, size_t len,
    ZSTD_EndDirective mode, struct err *err)
{
	ZSTD_inBuffer	 in = { buf, len, 0 };
	ZSTD_outBuffer	 o;
	size_t		 left;

	do {
		o.dst = s->zbuf;
		o.size = SEND_PACK_BUF;
		o.pos = 0;
		left = ZSTD_compressStream2(s->zc, &o, &in, mode);
		if (ZSTD_isError(left))
			return err_set(err, ERR_FAIL, "zstd: %s",
			    ZSTD_getErrorName(left));
		if (out_pack(s, s->zbuf, o.pos, err) != ERR_OK)
			return ERR_FAIL;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return ERR_OK;
}

static enum err_code
zs_data(void *arg, const uint8_t *buf, size_t len, struct err *err)
{
	struct send_ctx	*s = arg;

	if (zs_push(s, buf, len, ZSTD_e_continue, err) != ERR_OK)
		return ERR_FAIL;
	sent(s, len);
	return ERR_OK;
}

static enum err_code
zs_end(void *arg, uint64_t idx, const uint8_t *expect, struct err *err)
{
	(void)arg;
	(void)idx;
	(void)expect;
	(void)err;
	return ERR_OK;
}

static ZSTD_CCtx *
zs_new(int workers)
{
	ZSTD_CCtx	*zc = ZSTD_createCCtx();

	if (zc == NULL)
		return NULL;
	ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, FRAME_PACK_LEVEL);
	ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 0);
	/* A worker compresses while this thread sends (when built with
	 * threads; without, compression is inline). */
	if (workers > 0)
		ZSTD_CCtx_setParameter(zc, ZSTD_c_nbWorkers, workers);
	return zc;
}

/* A compressed image as it is stored, in pack records. */
static enum err_code
send_stored(struct send_ctx *s, uint64_t stored, struct err *err)
{
	uint8_t		*buf;
	uint64_t	 done = 0;
	ssize_t		 n;
	enum err_code	 rc = ERR_FAIL;
	int		 fd;

	if ((fd = open(s->o->image_path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(err, ERR_FAIL, "%s", s->o->image_path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = xmalloc(SEND_PACK_BUF);
	for (;;) {
		do
			n = read(fd, buf, SEND_PACK_BUF);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			err_errno(err, ERR_FAIL, "%s: read", s->o->image_path);
			goto out;
		}
		if (n == 0)
			break;
		if (out_pack(s, buf, (size_t)n, err) != ERR_OK)
			goto out;
		done += (uint64_t)n;
		/* Progress in mapped bytes: their share of the file sent. */
		s->sent = 0;
		sent(s, stored ? (uint64_t)((double)s->total * (double)done /
		    (double)stored) : 0);
	}
	if (done != stored) {
		err_set(err, ERR_FAIL, "%s: changed while it was sent (%llu "
		    "bytes, expected %llu)", s->o->image_path,
		    (unsigned long long)done, (unsigned long long)stored);
		goto out;
	}
	rc = ERR_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

/*
 * A bmap of the whole image in FRAME_SEND_CHUNK chunks with their
 * digests, made by decompressing it once: the range table of a
 * compressed image that has no bmap.
 */
static void
chunk_add(struct bmap *bm, struct img_sha *sha, size_t *cap)
{
	if (bm->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		bm->r = xreallocarray(bm->r, *cap, sizeof(*bm->r));
	}
	bm->r[bm->n].first = bm->r[bm->n].last = bm->n;
	img_sha_final(sha, bm->r[bm->n].sha256);
	bm->n++;
}

static struct bmap *
chunk_map(struct img_src *src, struct err *err)
{
	struct img_pipe		*pipe = img_pipe_new(src);
	struct img_sha		*sha = img_sha_new();
	struct bmap		*bm = xcalloc(1, sizeof(*bm));
	const uint8_t		*buf;
	size_t			 len, n, cap = 0;
	uint64_t		 pos = 0, in_chunk = 0;

	bm->block_size = FRAME_SEND_CHUNK;
	for (;;) {
		if (img_pipe_next(pipe, &buf, &len, err) != ERR_OK) {
			bmap_free(bm);
			bm = NULL;
			goto out;
		}
		if (len == 0)
			break;
		while (len > 0) {
			n = FRAME_SEND_CHUNK - in_chunk < len ?
			    (size_t)(FRAME_SEND_CHUNK - in_chunk) : len;
			img_sha_update(sha, buf, n);
			buf += n;
			len -= n;
			in_chunk += n;
			pos += n;
			if (in_chunk == FRAME_SEND_CHUNK) {
				chunk_add(bm, sha, &cap);
				in_chunk = 0;
			}
		}
	}
	if (in_chunk > 0)
		chunk_add(bm, sha, &cap);
	bm->image_size = pos;
	bm->blocks = bm->mapped = bm->n;
out:
	img_pipe_free(pipe);
	img_sha_free(sha);
	return bm;
}

/* The range table; the stream digest is taken over its digests. */
static enum err_code
send_table(struct send_ctx *s, const struct bmap *bm, unsigned codec,
    unsigned layout, uint64_t mapped, struct err *err)
{
	uint8_t		 rec[FRAME_ENTRY_LEN];
	uint64_t	 off, len;
	size_t		 i;

	frame_encode_map(rec, codec, layout, bm->n, mapped);
	if (out(s, rec, FRAME_REC_LEN, err) != ERR_OK)
		return ERR_FAIL;
	for (i = 0; i < bm->n; i++) {
		bmap_range_bytes(bm, i, &off, &len);
		frame_encode_entry(rec, off, len, bm->r[i].sha256);
		img_sha_update(s->stream, bm->r[i].sha256, SHA256_LEN);
		if (out(s, rec, FRAME_ENTRY_LEN, err) != ERR_OK)
			return ERR_FAIL;
	}
	return ERR_OK;
}

#define PACK_SAMPLES	16
#define PACK_SAMPLE_LEN	(1u << 20)

enum err_code
frame_pack_decide(int fd, const struct bmap *bm, int *yes, char *why,
    size_t whylen, struct err *err)
{
	ZSTD_CCtx	*zc = NULL;
	uint8_t		*in = NULL, *zo = NULL;
	uint64_t	 mapped, at, off, len, tin = 0, tout = 0;
	size_t		 r, bound, z;
	double		 t0, secs, ratio, rate;
	ssize_t		 n;
	enum err_code	 rc = ERR_FAIL;
	int		 k;

	*yes = 0;
	mapped = bmap_mapped_bytes(bm);
	in = xmalloc(PACK_SAMPLE_LEN);
	bound = ZSTD_compressBound(PACK_SAMPLE_LEN);
	zo = xmalloc(bound);
	zc = zs_new(0);
	if (zc == NULL) {
		err_set(err, ERR_FAIL, "zstd: out of memory");
		goto out;
	}
	secs = 0;
	/* Samples at evenly spaced points of the mapped data. */
	for (k = 0, r = 0, at = 0; k < PACK_SAMPLES && mapped > 0; k++) {
		uint64_t target = mapped / PACK_SAMPLES * (uint64_t)k;
		for (; r < bm->n; r++) {
			bmap_range_bytes(bm, r, &off, &len);
			if (at + len > target)
				break;
			at += len;
		}
		if (r == bm->n)
			break;
		bmap_range_bytes(bm, r, &off, &len);
		off += target - at;
		len -= target - at;
		if (len > PACK_SAMPLE_LEN)
			len = PACK_SAMPLE_LEN;
		n = pread(fd, in, (size_t)len, (off_t)off);
		if (n <= 0)
			continue;
		/* CPU time: a busy machine must not flip the choice. */
		t0 = (double)thread_cpu_us() / 1e6;
		z = ZSTD_compressCCtx(zc, zo, bound, in, (size_t)n,
		    FRAME_PACK_LEVEL);
		secs += (double)thread_cpu_us() / 1e6 - t0;
		if (ZSTD_isError(z)) {
			err_set(err, ERR_FAIL, "zstd: %s",
			    ZSTD_getErrorName(z));
			goto out;
		}
		tin += (uint64_t)n;
		tout += z;
	}
	ratio = tin ? (double)tout / (double)tin : 1.0;
	rate = secs > 0 ? (double)tin / secs : 0;
	*yes = tin > 0 && ratio <= 1.0 - FRAME_PACK_GAIN &&
	    rate >= FRAME_PACK_RATE;
	snprintf(why, whylen, "a %llu KiB sample compresses to %.0f%% at "
	    "%.0f MiB/s", (unsigned long long)(tin >> 10), ratio * 100,
	    rate / 1048576);
	rc = ERR_OK;
out:
	ZSTD_freeCCtx(zc);
	free(in);
	free(zo);
	return rc;
}

/* frame_pack_decide for `castiron image send --pack auto`, which has a
 * path (provision decides once, from the descriptor it holds). */
static enum err_code
pack_decide_path(const char *path, const struct bmap *bm, int *yes,
    char *why, size_t whylen, struct err *err)
{
	enum err_code	 rc;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(err, ERR_FAIL, "%s", path);
	rc = frame_pack_decide(fd, bm, yes, why, whylen, err);
	close(fd);
	return rc;
}

enum err_code
frame_send_image(const struct frame_send_opts *o,
    struct frame_send_result *res, struct err *err)
{
	static const struct img_walk_cb	 cb = { sd_begin, sd_data, sd_end };
	struct send_ctx			 s = { 0 };
	struct img_src			*src = NULL;
	struct bmap			*bm = NULL;
	static const struct img_walk_cb	 zcb = { zs_begin, zs_data, zs_end };
	struct frame_hdr		 h = { 0 };
	uint8_t				 buf[FRAME_HDR_LEN], d[SHA256_LEN];
	uint64_t			 size, nranges;
	enum img_format			 fmt;
	char				 why[128];
	enum err_code			 rc = ERR_FAIL;
	int				 packed = 0, yes;

	memset(res, 0, sizeof(*res));
	if ((o->flags & ~FRAME_F_READBACK) != 0)
		return err_set(err, ERR_FAIL, "unknown frame flags");
	if (o->bmap_path != NULL && (bm = bmap_load_pinned(o->bmap_path,
	    o->bmap_sha256, err)) == NULL)
		return ERR_FAIL;
	if ((src = img_src_open(o->image_path, err)) == NULL)
		goto out;
	fmt = img_src_format(src);
	if (o->pull) {
		/* The table only: the host fetches the file as stored. */
		packed = 3;
		res->as_stored = fmt != IMG_RAW;
		snprintf(res->how, sizeof(res->how), "pulled: %s as stored",
		    img_format_name(fmt));
		if (bm == NULL && (bm = chunk_map(src, err)) == NULL)
			goto out;
	} else if (fmt != IMG_RAW && o->pack != FRAME_PACK_NEVER) {
		packed = 1;
		res->as_stored = 1;
		snprintf(res->how, sizeof(res->how), "%s as stored",
		    img_format_name(fmt));
		if (bm == NULL && (bm = chunk_map(src, err)) == NULL)
			goto out;
	} else if (fmt == IMG_RAW && bm != NULL && o->pack != FRAME_PACK_NEVER) {
		yes = o->pack == FRAME_PACK_ALWAYS;
		why[0] = '\0';
		if (o->pack == FRAME_PACK_AUTO && pack_decide_path(
		    o->image_path, bm, &yes, why, sizeof(why), err) != ERR_OK)
			goto out;
		packed = yes ? 2 : 0;
		snprintf(res->how, sizeof(res->how), "%s%s%s", yes ?
		    "zstd on the way" : "plain", why[0] ? ": " : "", why);
	} else
		snprintf(res->how, sizeof(res->how), "plain");
	if (img_walk_size(src, bm, &size, err) != ERR_OK)
		goto out;
	if (size == 0 || size > FRAME_MAX_IMAGE) {
		err_set(err, ERR_FAIL, "%s: image size %llu is out of range",
		    o->image_path, (unsigned long long)size);
		goto out;
	}
	h.image_size = size;
	h.flags = o->flags | (packed ? FRAME_F_PACKED : 0) |
	    (o->pull ? FRAME_F_PULL : 0);
	h.mapped_bytes = bm ? bmap_mapped_bytes(bm) : size;
	nranges = bm ? bm->n : (size + IMG_WALK_CHUNK - 1) / IMG_WALK_CHUNK;
	if (nranges > FRAME_MAX_RANGES) {
		err_set(err, ERR_FAIL, "%s: %llu ranges, more than the writer "
		    "takes", o->image_path, (unsigned long long)nranges);
		goto out;
	}
	s.o = o;
	s.trust = o->verified && bm != NULL;
	s.total = h.mapped_bytes;
	s.sha = img_sha_new();
	s.stream = img_sha_new();
	frame_encode_hdr(buf, &h);
	if (out(&s, buf, FRAME_HDR_LEN, err) != ERR_OK)
		goto out;
	if (packed == 3) {
		if (send_table(&s, bm, fmt == IMG_ZSTD ? FRAME_CODEC_ZSTD :
		    fmt == IMG_GZIP ? FRAME_CODEC_GZIP : FRAME_CODEC_NONE,
		    FRAME_LAYOUT_IMAGE, h.mapped_bytes, err) != ERR_OK)
			goto out;
	} else if (packed == 1) {
		if (send_table(&s, bm, fmt == IMG_ZSTD ? FRAME_CODEC_ZSTD :
		    FRAME_CODEC_GZIP, FRAME_LAYOUT_IMAGE, h.mapped_bytes,
		    err) != ERR_OK ||
		    send_stored(&s, img_src_stored_size(src), err) != ERR_OK)
			goto out;
	} else if (packed == 2) {
		if ((s.zc = zs_new(1)) == NULL) {
			err_set(err, ERR_FAIL, "zstd: out of memory");
			goto out;
		}
		s.zbuf = xmalloc(SEND_PACK_BUF);
		if (send_table(&s, bm, FRAME_CODEC_ZSTD, FRAME_LAYOUT_MAPPED,
		    h.mapped_bytes, err) != ERR_OK ||
		    img_walk(src, bm, size, &zcb, &s, err) != ERR_OK ||
		    zs_push(&s, NULL, 0, ZSTD_e_end, err) != ERR_OK)
			goto out;
	} else if (img_walk(src, bm, size, &cb, &s, err) != ERR_OK)
		goto out;
	frame_encode_end(buf, nranges, h.mapped_bytes);
	img_sha_final(s.stream, d);
	if (out(&s, buf, FRAME_REC_LEN, err) != ERR_OK ||
	    out(&s, d, SHA256_LEN, err) != ERR_OK)
		goto out;
	res->image_bytes = size;
	res->mapped_bytes = h.mapped_bytes;
	res->ranges = nranges;
	res->wire_bytes = s.wire;
	img_hex(d, res->sha256);
	rc = ERR_OK;
out:
	ZSTD_freeCCtx(s.zc);
	free(s.zbuf);
	img_sha_free(s.sha);
	img_sha_free(s.stream);
	img_src_close(src);
	bmap_free(bm);
	return rc;
}
