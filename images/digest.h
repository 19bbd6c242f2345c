/*
 * sha256 for images: a thin wrapper over OpenSSL's EVP (which uses the
 * CPU's SHA extensions when it has them), and hex conversion.  Shared by
 * the fetcher, the bmap code, the writer and the sender.
 */
#ifndef CASTIRON_IMAGES_DIGEST_H
#define CASTIRON_IMAGES_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SHA256_LEN	32

struct img_sha;

struct img_sha	*img_sha_new(void);
void		 img_sha_reset(struct img_sha *);
void		 img_sha_update(struct img_sha *, const void *, size_t);
/* Writes the digest and resets the context for the next use. */
void		 img_sha_final(struct img_sha *, uint8_t out[SHA256_LEN]);
void		 img_sha_free(struct img_sha *);

void	img_sha256(const void *, size_t, uint8_t out[SHA256_LEN]);
void	img_hex(const uint8_t in[SHA256_LEN], char out[2 * SHA256_LEN + 1]);
/* Exactly 64 hex digits (either case); 0 or -1. */
int	img_unhex(const char *, size_t len, uint8_t out[SHA256_LEN]);
/* ERR_OK when a range's digest is the one the bmap expects (or expect is
 * NULL); else ERR_FAIL and "range IDX at offset OFF (LEN bytes): sha256
 * mismatch: expected E, got G" in err (the length when len > 0). */
enum err_code	img_range_check(const uint8_t got[SHA256_LEN],
		    const uint8_t *expect, uint64_t idx, uint64_t off,
		    uint64_t len, struct err *);

#endif
