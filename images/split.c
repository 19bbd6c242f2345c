/*
 * The sending side of a split write (images/frame.h, "split"): a raw
 * image with its bmap sent over several streams at once, so that the
 * encryption of several SSH sessions, each on its own thread, carries one
 * image whose data does not compress.  The plan is made once: the table
 * and the stream digest come from the bmap, and the mapped data, back to
 * back, is cut into stripes of FRAME_SPLIT_STRIPE bytes, stripe j for
 * stream j mod n.  Each stream is then sent by its own thread with
 * frame_split_send(), which reads its stripes from the image with pread:
 * the streams share nothing but the read-only plan.  The writer joins the
 * stripes in the same order and checks every range against the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/bmap.h"
#include "images/digest.h"
#include "images/frame.h"
#include "lib/xmalloc.h"

struct frame_split {
	struct bmap	*bm;
	uint64_t	*cum;		/* mapped bytes before range i */
	uint64_t	 mapped;
	uint32_t	 flags;		/* FRAME_F_READBACK */
	unsigned	 n;
	int		 fd;
	char		*path;
	uint8_t		 digest[SHA256_LEN];	/* over the range digests */
	uint64_t	 wire[FRAME_MAX_STREAMS];	/* bytes each stream sent */
};

void
frame_split_share(uint64_t mapped, uint64_t stripe, unsigned n, unsigned k,
    uint64_t *records, uint64_t *bytes)
{
	uint64_t	 total = (mapped + stripe - 1) / stripe, last;

	*records = total > k ? (total - k + n - 1) / n : 0;
	*bytes = *records * stripe;
	/* The last stripe of the image may be short: whose is it? */
	last = total > 0 ? (total - 1) % n : 0;
	if (total > 0 && last == k)
		*bytes -= total * stripe - mapped;
}

struct frame_split *
frame_split_new(const struct frame_send_opts *o, unsigned n, struct err *err)
{
	struct frame_split	*sp;
	struct img_sha		*sha;
	uint64_t		 off, len, at = 0;
	size_t			 i;

	if (n < 2 || n > FRAME_MAX_STREAMS) {
		err_set(err, ERR_FAIL, "a split write takes 2 to %d streams, "
		    "not %u", FRAME_MAX_STREAMS, n);
		return NULL;
	}
	if ((o->flags & ~FRAME_F_READBACK) != 0) {
		err_set(err, ERR_FAIL, "unknown frame flags");
		return NULL;
	}
	if (o->bmap_path == NULL) {
		err_set(err, ERR_FAIL, "%s: a split write needs a bmap",
		    o->image_path);
		return NULL;
	}
	sp = xcalloc(1, sizeof(*sp));
	sp->fd = -1;
	sp->n = n;
	sp->flags = o->flags;
	sp->path = xstrdup(o->image_path);
	if ((sp->bm = bmap_load_pinned(o->bmap_path, o->bmap_sha256,
	    err)) == NULL)
		goto fail;
	if (sp->bm->n > FRAME_MAX_RANGES || sp->bm->image_size == 0 ||
	    sp->bm->image_size > FRAME_MAX_IMAGE) {
		err_set(err, ERR_FAIL, "%s: %zu ranges over %llu bytes: not "
		    "for the writer", o->bmap_path, sp->bm->n,
		    (unsigned long long)sp->bm->image_size);
		goto fail;
	}
	if ((sp->fd = open(o->image_path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_errno(err, ERR_FAIL, "%s", o->image_path);
		goto fail;
	}
	sp->cum = xreallocarray(NULL, sp->bm->n + 1, sizeof(*sp->cum));
	sha = img_sha_new();
	for (i = 0; i < sp->bm->n; i++) {
		bmap_range_bytes(sp->bm, i, &off, &len);
		sp->cum[i] = at;
		at += len;
		img_sha_update(sha, sp->bm->r[i].sha256, SHA256_LEN);
	}
	sp->cum[i] = at;
	img_sha_final(sha, sp->digest);
	img_sha_free(sha);
	sp->mapped = at;
	return sp;
fail:
	frame_split_free(sp);
	return NULL;
}

void
frame_split_free(struct frame_split *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd != -1)
		close(sp->fd);
	bmap_free(sp->bm);
	free(sp->cum);
	free(sp->path);
	free(sp);
}

struct split_out {
	int		(*out)(void *, const void *, size_t);
	void		 *arg;
	uint64_t	 *wire;
};

static enum err_code
sp_out(struct split_out *so, const void *buf, size_t len, struct err *err)
{
	if (so->out(so->arg, buf, len) == -1)
		return err_set(err, ERR_FAIL, "sending the image stream "
		    "failed");
	*so->wire += len;
	return ERR_OK;
}

/* The lead's table: the map record and one entry per range. */
static enum err_code
sp_table(struct frame_split *sp, struct split_out *so, struct err *err)
{
	uint8_t		 rec[FRAME_ENTRY_LEN];
	uint64_t	 off, len;
	size_t		 i;

	frame_encode_map(rec, FRAME_CODEC_NONE, FRAME_LAYOUT_MAPPED,
	    sp->bm->n, sp->mapped);
	if (sp_out(so, rec, FRAME_REC_LEN, err) != ERR_OK)
		return ERR_FAIL;
	for (i = 0; i < sp->bm->n; i++) {
		bmap_range_bytes(sp->bm, i, &off, &len);
		frame_encode_entry(rec, off, len, sp->bm->r[i].sha256);
		if (sp_out(so, rec, FRAME_ENTRY_LEN, err) != ERR_OK)
			return ERR_FAIL;
	}
	return ERR_OK;
}

/*
 * Reads the mapped bytes [pos, pos + len) from the image into buf; *ri
 * is a range index at or before the one holding pos (stripes go forward,
 * so the search goes on from where the last one ended).
 */
static enum err_code
sp_read(struct frame_split *sp, size_t *ri, uint64_t pos, uint8_t *buf,
    size_t len, struct err *err)
{
	uint64_t	 off, rlen, n;
	ssize_t		 got;

	while (len > 0) {
		while (*ri + 1 < sp->bm->n && sp->cum[*ri + 1] <= pos)
			(*ri)++;
		bmap_range_bytes(sp->bm, *ri, &off, &rlen);
		n = sp->cum[*ri] + rlen - pos;
		if (n > len)
			n = len;
		got = pread(sp->fd, buf, (size_t)n,
		    (off_t)(off + pos - sp->cum[*ri]));
		if (got == -1 && errno == EINTR)
			continue;
		if (got < 0)
			return err_errno(err, ERR_FAIL, "%s: read", sp->path);
		if (got == 0)
			return err_set(err, ERR_FAIL, "%s: shorter than its "
			    "bmap", sp->path);
		buf += got;
		len -= (size_t)got;
		pos += (uint64_t)got;
	}
	return ERR_OK;
}

enum err_code
frame_split_send(struct frame_split *sp, unsigned k,
    int (*out)(void *, const void *, size_t), void *out_arg,
    void (*progress)(void *, uint64_t), void *parg, struct err *err)
{
	struct split_out	 so = { out, out_arg, &sp->wire[k] };
	struct frame_hdr	 h = { 0 };
	uint8_t			 rec[FRAME_HDR_LEN], *buf;
	uint64_t		 recs, bytes, j, pos, len;
	size_t			 ri = 0;
	enum err_code		 rc = ERR_FAIL;

	if (k >= sp->n)
		return err_set(err, ERR_FAIL, "no stream %u of %u", k, sp->n);
	sp->wire[k] = 0;
	h.image_size = sp->bm->image_size;
	h.mapped_bytes = sp->mapped;
	h.stream = k;
	h.streams = sp->n;
	h.flags = k == 0 ? sp->flags | FRAME_F_PACKED | FRAME_F_SPLIT :
	    FRAME_F_PART;
	frame_encode_hdr(rec, &h);
	if (sp_out(&so, rec, FRAME_HDR_LEN, err) != ERR_OK)
		return ERR_FAIL;
	if (k == 0 && sp_table(sp, &so, err) != ERR_OK)
		return ERR_FAIL;
	buf = xmalloc(FRAME_SPLIT_STRIPE);
	for (j = k, pos = j * FRAME_SPLIT_STRIPE; pos < sp->mapped;
	    j += sp->n, pos = j * FRAME_SPLIT_STRIPE) {
		len = sp->mapped - pos < FRAME_SPLIT_STRIPE ?
		    sp->mapped - pos : FRAME_SPLIT_STRIPE;
		if (sp_read(sp, &ri, pos, buf, (size_t)len, err) != ERR_OK)
			goto out;
		frame_encode_pack(rec, len);
		if (sp_out(&so, rec, FRAME_REC_LEN, err) != ERR_OK ||
		    sp_out(&so, buf, (size_t)len, err) != ERR_OK)
			goto out;
		if (progress)
			progress(parg, len);
	}
	/* The lead's end is the table's; a part's counts its own. */
	if (k == 0)
		frame_encode_end(rec, sp->bm->n, sp->mapped);
	else {
		frame_split_share(sp->mapped, FRAME_SPLIT_STRIPE, sp->n, k,
		    &recs, &bytes);
		frame_encode_end(rec, recs, bytes);
	}
	if (sp_out(&so, rec, FRAME_REC_LEN, err) != ERR_OK ||
	    sp_out(&so, sp->digest, SHA256_LEN, err) != ERR_OK)
		goto out;
	rc = ERR_OK;
out:
	free(buf);
	return rc;
}

void
frame_split_result(const struct frame_split *sp,
    struct frame_send_result *res)
{
	unsigned	 k;

	memset(res, 0, sizeof(*res));
	res->image_bytes = sp->bm->image_size;
	res->mapped_bytes = sp->mapped;
	res->ranges = sp->bm->n;
	for (k = 0; k < sp->n; k++)
		res->wire_bytes += sp->wire[k];
	img_hex(sp->digest, res->sha256);
	snprintf(res->how, sizeof(res->how), "plain, split over %u streams",
	    sp->n);
}
