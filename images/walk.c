/*
 * The image walk (images/walk.h) and the two local users of it: writing
 * an image onto a target (`castiron image write`) and checking an image
 * against its bmap (`castiron image verify`).  The walk reads ahead on a
 * thread (img_pipe), so decompression overlaps with hashing and writing;
 * gaps between ranges are decompressed and dropped, and the image is read
 * to its end so that a truncated or corrupt tail is an error too.  A raw
 * file with a bmap is read only where the bmap maps it (as bmaptool
 * does), the kernel asked to read the next span ahead: its size says
 * whether it is whole, and nothing in a gap is ever used.
 */
#include <stdlib.h>
#include <string.h>

#include "images/target.h"
#include "images/walk.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct walk_range {
	uint64_t	off, len;
	const uint8_t	*expect;
};

static int
walk_next(const struct bmap *bm, uint64_t size, uint64_t idx,
    struct walk_range *r)
{
	if (bm != NULL) {
		if (idx >= bm->n)
			return 0;
		bmap_range_bytes(bm, (size_t)idx, &r->off, &r->len);
		r->expect = bm->r[idx].sha256;
		return 1;
	}
	if (idx * IMG_WALK_CHUNK >= size)
		return 0;
	r->off = idx * IMG_WALK_CHUNK;
	r->len = size - r->off < IMG_WALK_CHUNK ? size - r->off :
	    IMG_WALK_CHUNK;
	r->expect = NULL;
	return 1;
}

enum err_code
img_walk_size(struct img_src *src, const struct bmap *bm, uint64_t *size,
    struct err *err)
{
	if (bm != NULL) {
		*size = bm->image_size;
		return ERR_OK;
	}
	return img_src_measure(src, size, err);
}

/* The mapped ranges of a raw file, each read where it lies. */
static enum err_code
walk_raw(struct img_src *src, const struct bmap *bm, uint64_t size,
    const struct img_walk_cb *cb, void *arg, struct err *err)
{
	struct walk_range	 r, nx;
	uint8_t			*buf;
	uint64_t		 idx, done, stored = img_src_stored_size(src);
	size_t			 n;
	ssize_t			 got;
	enum err_code		 rc = ERR_OK;
	int			 have;

	if (stored > size)
		return err_set(err, ERR_FAIL, "the image is larger than %llu "
		    "bytes (the bmap's ImageSize): wrong bmap?",
		    (unsigned long long)size);
	if (stored < size)
		return err_set(err, ERR_FAIL, "the image ends after %llu "
		    "bytes, expected %llu (the bmap's ImageSize)",
		    (unsigned long long)stored, (unsigned long long)size);
	/* Page-aligned, as the pipe's, for a writer using O_DIRECT. */
	if (posix_memalign((void **)&buf, 4096, IMG_PIPE_BUFSZ) != 0)
		fatalx("out of memory");
	memset(&nx, 0, sizeof(nx));
	have = walk_next(bm, size, 0, &r);
	for (idx = 0; have && rc == ERR_OK; idx++, r = nx) {
		if (r.off + r.len > size) {
			rc = err_set(err, ERR_FAIL, "range %llu ends past the "
			    "image's %llu bytes", (unsigned long long)idx,
			    (unsigned long long)size);
			break;
		}
		if ((have = walk_next(bm, size, idx + 1, &nx)))
			img_src_willneed(src, nx.off, nx.len < IMG_PIPE_BUFSZ ?
			    nx.len : IMG_PIPE_BUFSZ);
		if ((rc = cb->begin(arg, idx, r.off, r.len, err)) != ERR_OK)
			break;
		for (done = 0; done < r.len && rc == ERR_OK; done += n) {
			n = r.len - done < IMG_PIPE_BUFSZ ?
			    (size_t)(r.len - done) : IMG_PIPE_BUFSZ;
			/* The rest of the range read ahead while this is used. */
			if (done + n < r.len)
				img_src_willneed(src, r.off + done + n,
				    r.len - done - n < IMG_PIPE_BUFSZ ?
				    r.len - done - n : IMG_PIPE_BUFSZ);
			if ((got = img_src_pread(src, buf, n, r.off + done,
			    err)) < 0)
				rc = ERR_FAIL;
			else if ((size_t)got < n)
				rc = err_set(err, ERR_FAIL, "the image ends "
				    "after %llu bytes, expected %llu",
				    (unsigned long long)(r.off + done +
				    (uint64_t)got), (unsigned long long)size);
			else
				rc = cb->data(arg, buf, n, err);
		}
		if (rc == ERR_OK)
			rc = cb->end(arg, idx, r.expect, err);
	}
	free(buf);
	return rc;
}

enum err_code
img_walk(struct img_src *src, const struct bmap *bm, uint64_t size,
    const struct img_walk_cb *cb, void *arg, struct err *err)
{
	struct img_pipe		*pipe;
	struct walk_range	 r;
	const uint8_t		*buf;
	size_t			 len, n;
	uint64_t		 pos = 0, idx = 0;
	enum err_code		 rc;
	int			 have, inside = 0;

	if (bm != NULL)
		size = bm->image_size;
	if (bm != NULL && img_src_format(src) == IMG_RAW &&
	    img_src_stored_size(src) > 0)
		return walk_raw(src, bm, size, cb, arg, err);
	pipe = img_pipe_new(src);
	have = walk_next(bm, size, idx, &r);
	for (;;) {
		if ((rc = img_pipe_next(pipe, &buf, &len, err)) != ERR_OK)
			goto out;
		if (len == 0)
			break;
		if (pos + len > size) {
			rc = err_set(err, ERR_FAIL, "the image is larger than "
			    "%llu bytes%s", (unsigned long long)size,
			    bm ? " (the bmap's ImageSize): wrong bmap?" : "");
			goto out;
		}
		while (len > 0) {
			if (!have) {
				pos += len;
				break;
			}
			if (pos < r.off) {
				n = r.off - pos < len ? (size_t)(r.off - pos) :
				    len;
				pos += n;
				buf += n;
				len -= n;
				continue;
			}
			if (!inside) {
				if ((rc = cb->begin(arg, idx, r.off, r.len,
				    err)) != ERR_OK)
					goto out;
				inside = 1;
			}
			n = r.off + r.len - pos < len ?
			    (size_t)(r.off + r.len - pos) : len;
			if ((rc = cb->data(arg, buf, n, err)) != ERR_OK)
				goto out;
			pos += n;
			buf += n;
			len -= n;
			if (pos == r.off + r.len) {
				if ((rc = cb->end(arg, idx, r.expect,
				    err)) != ERR_OK)
					goto out;
				inside = 0;
				have = walk_next(bm, size, ++idx, &r);
			}
		}
	}
	if (pos != size) {
		rc = err_set(err, ERR_FAIL, "the image ends after %llu bytes, "
		    "expected %llu%s", (unsigned long long)pos,
		    (unsigned long long)size, bm ? " (the bmap's ImageSize)" :
		    "");
		goto out;
	}
	rc = ERR_OK;
out:
	img_pipe_free(pipe);
	return rc;
}

/* Writing onto a target. */

static enum err_code
wr_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len,
    struct err *err)
{
	(void)idx;
	return img_wr_begin(arg, off, len, err);
}

static enum err_code
wr_data(void *arg, const uint8_t *buf, size_t len, struct err *err)
{
	return img_wr_data(arg, buf, len, err);
}

static enum err_code
wr_end(void *arg, uint64_t idx, const uint8_t *expect, struct err *err)
{
	(void)idx;
	return img_wr_end(arg, expect, err);
}

enum err_code
img_write_image(const struct img_write_opts *o, struct img_write_result *res,
    struct err *err)
{
	static const struct img_walk_cb cb = { wr_begin, wr_data, wr_end };
	struct img_src		*src = NULL;
	struct bmap		*bm = NULL;
	struct img_target	*t = NULL;
	struct img_wr		*w = NULL;
	uint64_t		 size;
	uint8_t			 d[SHA256_LEN];
	enum err_code		 rc = ERR_FAIL;

	memset(res, 0, sizeof(*res));
	if (o->bmap != NULL && (bm = bmap_load_pinned(o->bmap, o->bmap_sha256,
	    err)) == NULL)
		goto out;
	if ((src = img_src_open(o->image, err)) == NULL)
		goto out;
	if (img_walk_size(src, bm, &size, err) != ERR_OK)
		goto out;
	res->image_bytes = size;
	if (size == 0) {
		err_set(err, ERR_FAIL, "%s: the image is empty", o->image);
		goto out;
	}
	/* The target's refusals keep their codes: nothing was written. */
	if ((t = img_target_open(o->target, size, err)) == NULL) {
		rc = err != NULL ? err->code : ERR_INVAL;
		goto out;
	}
	if (img_target_is_blk(t) && img_target_size(t) < o->min_target) {
		rc = err_set(err, ERR_INVAL, "%s is smaller than the image's "
		    "min_disk (%llu < %llu bytes)", o->target,
		    (unsigned long long)img_target_size(t),
		    (unsigned long long)o->min_target);
		goto out;
	}
	w = img_wr_new(t, size, o->readback);
	if (o->progress)
		img_wr_set_progress(w, o->progress, o->parg,
		    bm ? bmap_mapped_bytes(bm) : size);
	if (img_walk(src, bm, size, &cb, w, err) != ERR_OK)
		goto out;
	if (img_wr_finish(w, NULL, err) != ERR_OK)
		goto out;
	res->written = img_wr_done(w);
	res->ranges = img_wr_ranges(w);
	img_wr_digest(w, d);
	img_hex(d, res->sha256);
	rc = ERR_OK;
out:
	img_wr_free(w);
	img_target_close(t);
	img_src_close(src);
	bmap_free(bm);
	return rc;
}

/* Verifying against a bmap. */

struct verify_ctx {
	struct img_sha	*sha;
	uint64_t	 off, ranges;
};

static enum err_code
vf_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len,
    struct err *err)
{
	struct verify_ctx *v = arg;

	(void)idx; (void)len; (void)err;
	v->off = off;
	return ERR_OK;
}

static enum err_code
vf_data(void *arg, const uint8_t *buf, size_t len, struct err *err)
{
	struct verify_ctx *v = arg;

	(void)err;
	img_sha_update(v->sha, buf, len);
	return ERR_OK;
}

static enum err_code
vf_end(void *arg, uint64_t idx, const uint8_t *expect, struct err *err)
{
	struct verify_ctx	*v = arg;
	uint8_t			 got[SHA256_LEN];

	img_sha_final(v->sha, got);
	v->ranges++;
	return img_range_check(got, expect, idx, v->off, 0, err);
}

enum err_code
img_verify_ranges(const char *image, const char *bmap_path,
    const char *bmap_sha256, uint64_t *image_bytes, uint64_t *ranges,
    struct err *err)
{
	static const struct img_walk_cb	 cb = { vf_begin, vf_data, vf_end };
	struct verify_ctx		 v = { 0 };
	struct img_src			*src = NULL;
	struct bmap			*bm = NULL;
	uint64_t			 size = 0;
	enum err_code			 rc = ERR_FAIL;

	if (bmap_path && (bm = bmap_load_pinned(bmap_path, bmap_sha256,
	    err)) == NULL)
		return ERR_FAIL;
	if ((src = img_src_open(image, err)) == NULL)
		goto out;
	/* Without a bmap, reading it through (to count it) is the check. */
	if (img_walk_size(src, bm, &size, err) != ERR_OK)
		goto out;
	v.sha = img_sha_new();
	if (bm != NULL && img_walk(src, bm, size, &cb, &v, err) != ERR_OK)
		goto out;
	*image_bytes = size;
	*ranges = v.ranges;
	rc = ERR_OK;
out:
	img_sha_free(v.sha);
	img_src_close(src);
	bmap_free(bm);
	return rc;
}
