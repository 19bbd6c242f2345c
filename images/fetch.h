/*
 * The image cache and verified downloads.  A cached image is stored by
 * its digest (cache_dir/SHA256.img, its bmap next to it as SHA256.bmap),
 * so it is only ever present once it has been proven to be the file the
 * catalog names.  Downloads go through libcurl into SHA256.part, resume
 * with a Range request after an interruption, retry with backoff, hash
 * while streaming, and are renamed into place only when the digest
 * matches.  A lock file per image makes two concurrent fetches download
 * once.  The least recently used images are evicted past cache_max.
 */
#ifndef CASTIRON_IMAGES_FETCH_H
#define CASTIRON_IMAGES_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"
#include "lib/err.h"

/* Paths in the cache; the caller frees them. */
char	*img_cache_path(const struct config *, const struct cfg_image *,
	    const char *ext);
/* 1 when the verified image (and its bmap, if the catalog has one) is
 * in the cache. */
int	 img_cached(const struct config *, const struct cfg_image *);
/* Marks a cached image as just used (for the LRU eviction). */
void	 img_cache_touch(const struct config *, const struct cfg_image *);

struct img_fetch_opts {
	FILE	*progress;	/* NULL: no progress bar */
	int	 force;		/* download again even when cached */
};

struct img_fetch_result {
	int		 already;	/* it was in the cache */
	int		 resumed;	/* a Range request continued a transfer */
	unsigned	 attempts;
	uint64_t	 bytes;		/* size of the cached file */
	char		 sha256[65];
	int		 evicted;	/* images removed for cache_max */
};

/*
 * Fetches im into the cache.  Returns ERR_OK, or ERR_FAIL with err set
 * (the cache, the transfer, or what arrived is not what the catalog
 * pins: nothing was cached then).
 */
enum err_code	img_fetch(const struct config *, const struct cfg_image *,
		    const struct img_fetch_opts *, struct img_fetch_result *,
		    struct err *);

/* Downloads a small document (at most max bytes) into memory with the
 * same transport, timeouts and retries; *buf (NUL-terminated, the caller
 * frees it) and *len, or ERR_FAIL with err set.  Nothing is written to
 * disk. */
enum err_code	img_fetch_mem(const struct config *, const char *url,
		    size_t max, char **buf, size_t *len, struct err *);

/* url for messages and listings: any user:password@ left out (buf is
 * used when something had to be). */
const char *img_url_safe(const char *url, char *buf, size_t len);

/* Hashes a file (sha256 of its bytes as stored); ERR_FAIL when it cannot
 * be read. */
enum err_code	img_file_sha256(const char *path, char out[65],
		    uint64_t *size, struct err *);

/* Removes the least recently used images until the cache holds at most
 * max bytes (keep, if not NULL, is never removed).  Returns the number
 * removed. */
int	img_cache_evict(const char *dir, uint64_t max, const char *keep);

#endif
