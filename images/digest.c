/*
 * sha256 through OpenSSL EVP, and hex conversion.  EVP picks the fastest
 * implementation for the CPU (SHA-NI, AVX2), which is what lets the
 * writer hash every range at disk speed.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "images/digest.h"
#include "lib/log.h"

struct img_sha {
	EVP_MD_CTX	*ctx;
};

struct img_sha *
img_sha_new(void)
{
	struct img_sha	*s;

	s = OPENSSL_zalloc(sizeof(*s));
	if (s == NULL || (s->ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("sha256: out of memory");
	img_sha_reset(s);
	return s;
}

void
img_sha_reset(struct img_sha *s)
{
	if (EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
		fatalx("sha256: cannot initialise");
}

void
img_sha_update(struct img_sha *s, const void *p, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(s->ctx, p, len) != 1)
		fatalx("sha256: update failed");
}

void
img_sha_final(struct img_sha *s, uint8_t out[SHA256_LEN])
{
	unsigned	 n = 0;

	if (EVP_DigestFinal_ex(s->ctx, out, &n) != 1 || n != SHA256_LEN)
		fatalx("sha256: final failed");
	img_sha_reset(s);
}

void
img_sha_free(struct img_sha *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->ctx);
	OPENSSL_free(s);
}

void
img_sha256(const void *p, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned	 n = 0;

	if (EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != SHA256_LEN)
		fatalx("sha256: digest failed");
}

void
img_hex(const uint8_t in[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
	static const char	 hx[] = "0123456789abcdef";
	int			 i;

	for (i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * SHA256_LEN] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
img_unhex(const char *s, size_t len, uint8_t out[SHA256_LEN])
{
	int	 i, hi, lo;

	if (len != 2 * SHA256_LEN)
		return -1;
	for (i = 0; i < SHA256_LEN; i++) {
		hi = nibble(s[2 * i]);
		lo = nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

enum err_code
img_range_check(const uint8_t got[SHA256_LEN], const uint8_t *expect,
    uint64_t idx, uint64_t off, uint64_t len, struct err *err)
{
	char	 hg[2 * SHA256_LEN + 1], he[2 * SHA256_LEN + 1], size[32] = "";

	if (expect == NULL || memcmp(got, expect, SHA256_LEN) == 0)
		return ERR_OK;
	img_hex(got, hg);
	img_hex(expect, he);
	if (len > 0)
		snprintf(size, sizeof(size), " (%llu bytes)",
		    (unsigned long long)len);
	return err_set(err, ERR_FAIL, "range %llu at offset %llu%s: sha256 "
	    "mismatch: expected %s, got %s", (unsigned long long)idx,
	    (unsigned long long)off, size, he, hg);
}
