/*
 * Walking an image range by range: the decompressed bytes of an image
 * (read ahead on a thread) cut into the ranges of its bmap, or, without
 * one, into consecutive chunks covering all of it.  The local writer, the
 * verifier and the sender are each one set of callbacks over this walk.
 */
#ifndef CASTIRON_IMAGES_WALK_H
#define CASTIRON_IMAGES_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "images/bmap.h"
#include "images/source.h"

#define IMG_WALK_CHUNK	(64ULL << 20)

struct img_walk_cb {
	enum err_code	(*begin)(void *, uint64_t idx, uint64_t off,
			    uint64_t len, struct err *);
	enum err_code	(*data)(void *, const uint8_t *, size_t,
			    struct err *);
	/* expect: the bmap's digest for the range, NULL without a bmap. */
	enum err_code	(*end)(void *, uint64_t idx, const uint8_t *expect,
			    struct err *);
};

/*
 * Walks src.  With a bmap, the image must be exactly bm->image_size
 * bytes; without, image_size says how large it is (img_src_measure).
 * Returns ERR_OK, or an error with err set (a callback's error is passed
 * through).
 */
enum err_code	img_walk(struct img_src *, const struct bmap *,
		    uint64_t image_size, const struct img_walk_cb *, void *arg,
		    struct err *);

/* The size of the image the walk will cover: the bmap's, else measured. */
enum err_code	img_walk_size(struct img_src *, const struct bmap *,
		    uint64_t *size, struct err *);

struct img_write_opts {
	const char	*image;		/* path */
	const char	*bmap;		/* path or NULL */
	const char	*bmap_sha256;	/* its pinned digest, NULL: none */
	const char	*target;
	int		 readback;
	uint64_t	 min_target;	/* a block device must be this big */
	void		(*progress)(void *, int phase, uint64_t done,
			    uint64_t total);
	void		*parg;
};

struct img_write_result {
	uint64_t	image_bytes, written, ranges;
	char		sha256[65];	/* over the range digests */
};

/*
 * Writes the image onto o->target.  A target refused before anything was
 * written fails with img_target_open's codes (ERR_WRONGSTATE, ERR_NOENT,
 * ERR_INVAL: exit 2), and so does a block device smaller than
 * o->min_target; a write that failed, or an image that did not read or
 * verify, with ERR_FAIL.
 */
enum err_code	img_write_image(const struct img_write_opts *,
		    struct img_write_result *, struct err *);

/*
 * Checks every range of the image against the bmap (bmap may be NULL:
 * then only that the image decompresses cleanly), the bmap first against
 * bmap_sha256 (NULL: not pinned).  Returns the image size.
 */
enum err_code	img_verify_ranges(const char *image, const char *bmap,
		    const char *bmap_sha256, uint64_t *image_bytes,
		    uint64_t *ranges, struct err *);

#endif
