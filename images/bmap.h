/*
 * bmaptool's block map format (version 2.0; 1.4 is the same thing):
 * which blocks of an image hold data, with a sha256 per range, and the
 * file's own checksum.  Read with a small strict parser (the format is
 * a handful of elements; every size, count and number is bounded), and
 * written byte for byte the way `bmaptool create` lays it out.
 */
#ifndef CASTIRON_IMAGES_BMAP_H
#define CASTIRON_IMAGES_BMAP_H

#include <stddef.h>
#include <stdint.h>

#include "images/digest.h"

#define BMAP_MAX_FILE	(16u << 20)
#define BMAP_MAX_RANGES	(1u << 20)

struct bmap_range {
	uint64_t	first, last;		/* blocks, inclusive */
	uint8_t		sha256[SHA256_LEN];	/* of the bytes, capped at
						   the image size */
};

struct bmap {
	uint64_t		 image_size;
	uint64_t		 block_size;
	uint64_t		 blocks;		/* BlocksCount */
	uint64_t		 mapped;		/* MappedBlocksCount */
	struct bmap_range	*r;
	size_t			 n;
};

/* Byte offset and length of range i (the last block capped at the end). */
void	bmap_range_bytes(const struct bmap *, size_t i, uint64_t *off,
	    uint64_t *len);
/* Bytes the ranges cover. */
uint64_t bmap_mapped_bytes(const struct bmap *);

/*
 * Parses a bmap held in memory, verifying its BmapFileChecksum.  name is
 * used in messages ("FILE: line N: ...").  Returns NULL with err set
 * (ERR_FAIL: a bmap that does not parse fails the operation it was for).
 */
struct bmap	*bmap_parse(const char *buf, size_t len, const char *name,
		    struct err *);
struct bmap	*bmap_load(const char *path, struct err *);
/*
 * bmap_load, but first the file's sha256 (of its bytes as stored, what
 * sha256sum prints) must equal sha256, 64 hex digits in either case:
 * the catalog's bmap_sha256.  NULL or "" pins nothing.  A mismatch is
 * "PATH: sha256 mismatch: expected E (bmap_sha256), got G" in err.
 */
struct bmap	*bmap_load_pinned(const char *path, const char *sha256,
		    struct err *);
void		 bmap_free(struct bmap *);

/*
 * Maps the data of a (sparse) file with SEEK_DATA/SEEK_HOLE into 4 KiB
 * blocks and hashes each range.
 */
struct bmap	*bmap_create(int fd, struct err *);

/* The XML text, checksum filled in; the caller frees it. */
char		*bmap_format(const struct bmap *, size_t *len);

#endif
