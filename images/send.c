/*
 * The sending side of the castiron-writer protocol (images/frame.h):
 * walks an image (and its bmap) and emits the framed stream through a
 * callback, which provision points at an SSH channel.  Every range is
 * hashed as it is sent; when the bmap gives a digest and the image does
 * not match it, the stream stops before that range's digest, so the
 * writer on the other end can only fail, never finish.  An image the
 * caller has just verified (o->verified) is sent with its bmap's digests
 * as they are: the writer's own hash of every range is the check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/frame.h"
#include "images/walk.h"
#include "lib/xmalloc.h"

struct send_ctx {
	const struct frame_send_opts *o;
	struct img_sha	*sha, *stream;
	uint64_t	 off, sent, total;
	int		 trust;		/* send the bmap's digests */
};

static int
out(struct send_ctx *s, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (s->o->out(s->o->out_arg, buf, len) == -1) {
		snprintf(err, errlen, "sending the image stream failed");
		return -1;
	}
	return 0;
}

static int
sd_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len, char *err,
    size_t errlen)
{
	struct send_ctx	*s = arg;
	uint8_t		 rec[FRAME_REC_LEN];

	(void)idx;
	s->off = off;
	frame_encode_range(rec, off, len);
	return out(s, rec, sizeof(rec), err, errlen);
}

static int
sd_data(void *arg, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct send_ctx	*s = arg;

	if (!s->trust)
		img_sha_update(s->sha, buf, len);
	if (out(s, buf, len, err, errlen) == -1)
		return -1;
	s->sent += len;
	if (s->o->progress)
		s->o->progress(s->o->progress_arg, s->sent, s->total);
	return 0;
}

static int
sd_end(void *arg, uint64_t idx, const uint8_t *expect, char *err,
    size_t errlen)
{
	struct send_ctx	*s = arg;
	uint8_t		 got[SHA256_LEN];
	char		 why[256];

	if (s->trust && expect != NULL) {
		img_sha_update(s->stream, expect, SHA256_LEN);
		return out(s, expect, SHA256_LEN, err, errlen);
	}
	img_sha_final(s->sha, got);
	if (img_range_check(got, expect, idx, s->off, 0, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", s->o->image_path, why);
		return -1;
	}
	img_sha_update(s->stream, got, SHA256_LEN);
	return out(s, got, SHA256_LEN, err, errlen);
}

int
frame_send_image(const struct frame_send_opts *o,
    struct frame_send_result *res, char *err, size_t errlen)
{
	static const struct img_walk_cb	 cb = { sd_begin, sd_data, sd_end };
	struct send_ctx			 s = { 0 };
	struct img_src			*src = NULL;
	struct bmap			*bm = NULL;
	struct frame_hdr		 h = { 0 };
	uint8_t				 buf[FRAME_HDR_LEN], d[SHA256_LEN];
	uint64_t			 size, nranges;
	int				 rc = -1;

	memset(res, 0, sizeof(*res));
	if ((o->flags & ~FRAME_F_KNOWN) != 0) {
		snprintf(err, errlen, "unknown frame flags");
		return -1;
	}
	if (o->bmap_path != NULL &&
	    (bm = bmap_load(o->bmap_path, err, errlen)) == NULL)
		return -1;
	if ((src = img_src_open(o->image_path, err, errlen)) == NULL)
		goto out;
	if (img_walk_size(src, bm, &size, err, errlen) == -1)
		goto out;
	if (size == 0 || size > FRAME_MAX_IMAGE) {
		snprintf(err, errlen, "%s: image size %llu is out of range",
		    o->image_path, (unsigned long long)size);
		goto out;
	}
	h.image_size = size;
	h.flags = o->flags;
	h.mapped_bytes = bm ? bmap_mapped_bytes(bm) : size;
	nranges = bm ? bm->n : (size + IMG_WALK_CHUNK - 1) / IMG_WALK_CHUNK;
	if (nranges > FRAME_MAX_RANGES) {
		snprintf(err, errlen, "%s: %llu ranges, more than the writer "
		    "takes", o->image_path, (unsigned long long)nranges);
		goto out;
	}
	s.o = o;
	s.trust = o->verified && bm != NULL;
	s.total = h.mapped_bytes;
	s.sha = img_sha_new();
	s.stream = img_sha_new();
	frame_encode_hdr(buf, &h);
	if (out(&s, buf, FRAME_HDR_LEN, err, errlen) == -1)
		goto out;
	if (img_walk(src, bm, size, &cb, &s, err, errlen) == -1)
		goto out;
	frame_encode_end(buf, nranges, h.mapped_bytes);
	img_sha_final(s.stream, d);
	if (out(&s, buf, FRAME_REC_LEN, err, errlen) == -1 ||
	    out(&s, d, SHA256_LEN, err, errlen) == -1)
		goto out;
	res->image_bytes = size;
	res->mapped_bytes = h.mapped_bytes;
	res->ranges = nranges;
	img_hex(d, res->sha256);
	rc = 0;
out:
	img_sha_free(s.sha);
	img_sha_free(s.stream);
	img_src_close(src);
	bmap_free(bm);
	return rc;
}
