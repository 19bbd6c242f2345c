/*
 * What `castiron image list` shows about a catalog entry: format (from
 * the cached file's content), sizes, and whether it is in the cache.
 */
#ifndef CASTIRON_IMAGES_CATALOG_H
#define CASTIRON_IMAGES_CATALOG_H

#include <stdint.h>

#include "lib/config.h"

struct img_info {
	int		cached;
	char		format[8];	/* raw, zstd, gzip, or "-" */
	uint64_t	stored_bytes;	/* the cached file; 0 if not cached */
	uint64_t	image_bytes;	/* raw size, when known; else 0 */
	uint64_t	mapped_bytes;	/* from the bmap; else 0 */
};

void	img_info_get(const struct config *, const struct cfg_image *,
	    struct img_info *);

#endif
