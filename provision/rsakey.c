/*
 * RSA user keys for rsa-sha2-512 authentication (see rsakey.h).  Every
 * buffer that held key material is cleansed before it is freed; errors
 * name the reason, never the key.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "lib/be.h"
#include "lib/err.h"
#include "lib/xmalloc.h"
#include "provision/rsakey.h"

struct rsakey {
	EVP_PKEY	*pkey;
};

/* A private key file is small; a bigger one is not a key. */
#define KEYFILE_MAX	(64 * 1024)

#define OPENSSH_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END	"-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC	"openssh-key-v1"	/* and its NUL */

static void
cleanse_free(void *p, size_t len)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

/* The whole file, NUL-terminated, into *text, in *len bytes (without
 * the NUL); the reason alone on failure (the caller names the key). */
static enum err_code
read_keyfile(const char *path, char **text, size_t *len, struct err *err)
{
	FILE		*f;
	char		*buf;
	size_t		 n;
	enum err_code	 code;

	*text = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return err_set(err, ERR_INVAL, "%s", strerror(errno));
	buf = xmalloc(KEYFILE_MAX + 1);
	n = fread(buf, 1, KEYFILE_MAX + 1, f);
	if (ferror(f) || n > KEYFILE_MAX) {
		code = ferror(f) ? err_set(err, ERR_FAIL, "read error") :
		    err_set(err, ERR_INVAL, "larger than a private key");
		fclose(f);
		cleanse_free(buf, KEYFILE_MAX + 1);
		return code;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return ERR_OK;
}

/* A reader of the SSH wire format over a buffer. */
struct rd {
	const unsigned char	*p;
	size_t			 left;
};

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = be32_get(r->p);
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int
rd_str(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t	 n;

	if (rd_u32(r, &n) == -1 || n > r->left)
		return -1;
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

static int
rd_streq(struct rd *r, const char *want)
{
	const unsigned char	*s;
	size_t			 n;

	return rd_str(r, &s, &n) == 0 && n == strlen(want) &&
	    memcmp(s, want, n) == 0;
}

/* An mpint into a fresh BIGNUM (secure for the private parts). */
static BIGNUM *
rd_bn(struct rd *r, int secret)
{
	const unsigned char	*s;
	size_t			 n;
	BIGNUM			*bn;

	if (rd_str(r, &s, &n) == -1 || n > 2048 || (n > 0 && (s[0] & 0x80)))
		return NULL;	/* negative, or beyond 16 kbit */
	if ((bn = secret ? BN_secure_new() : BN_new()) == NULL)
		return NULL;
	if (BN_bin2bn(s, (int)n, bn) == NULL) {
		BN_clear_free(bn);
		return NULL;
	}
	return bn;
}

/* An EVP_PKEY from n, e, d, iqmp, p, q (OpenSSH's order). */
static EVP_PKEY *
pkey_from_parts(BIGNUM *n, BIGNUM *e, BIGNUM *d, BIGNUM *iqmp, BIGNUM *p,
    BIGNUM *q)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	BN_CTX		*bnctx = NULL;
	BIGNUM		*dmp1 = NULL, *dmq1 = NULL, *t = NULL;

	if ((bnctx = BN_CTX_secure_new()) == NULL ||
	    (dmp1 = BN_secure_new()) == NULL ||
	    (dmq1 = BN_secure_new()) == NULL ||
	    (t = BN_secure_new()) == NULL)
		goto out;
	/* OpenSSH keeps no CRT exponents: d mod (p-1), d mod (q-1). */
	if (BN_sub(t, p, BN_value_one()) == 0 ||
	    BN_mod(dmp1, d, t, bnctx) == 0 ||
	    BN_sub(t, q, BN_value_one()) == 0 ||
	    BN_mod(dmq1, d, t, bnctx) == 0)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    dmp1) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    dmq1) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	    iqmp) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);	/* secure BNs: cleared */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(dmp1);
	BN_clear_free(dmq1);
	BN_clear_free(t);
	BN_CTX_free(bnctx);
	return pkey;
}

/*
 * The OpenSSH format (PROTOCOL.key): "openssh-key-v1\0", cipher, kdf,
 * kdf options, the number of keys (1), the public key blob, then the
 * private section: two equal check words, the key type and its private
 * parts, a comment and padding.  Unencrypted only (cipher "none").
 * ERR_OK with *pkey for an RSA key, ERR_OK and *pkey NULL for a key of
 * another type, ERR_INVAL with the reason alone.
 */
static enum err_code
load_openssh(const char *text, EVP_PKEY **pkey, struct err *err)
{
	const char		*b, *e;
	unsigned char		*bin = NULL;
	const unsigned char	*pub, *priv;
	size_t			 binlen = 0, publen, privlen;
	EVP_ENCODE_CTX		*dec = NULL;
	struct rd		 r, pr;
	uint32_t		 nkeys, c1, c2;
	BIGNUM			*n = NULL, *ee = NULL, *d = NULL, *iqmp = NULL;
	BIGNUM			*p = NULL, *q = NULL;
	int			 outl = 0, fin = 0;
	enum err_code		 code = ERR_INVAL;

	*pkey = NULL;
	b = strstr(text, OPENSSH_BEGIN) + strlen(OPENSSH_BEGIN);
	if ((e = strstr(b, OPENSSH_END)) == NULL)
		return err_set(err, ERR_INVAL, "OpenSSH private key without "
		    "its end line");
	binlen = (size_t)(e - b);
	bin = xmalloc(binlen + 1);
	if ((dec = EVP_ENCODE_CTX_new()) == NULL)
		goto bad;
	EVP_DecodeInit(dec);
	if (EVP_DecodeUpdate(dec, bin, &outl, (const unsigned char *)b,
	    (int)(e - b)) < 0 || EVP_DecodeFinal(dec, bin + outl, &fin) < 0)
		goto bad;
	r.p = bin;
	r.left = (size_t)outl + (size_t)fin;
	if (r.left < sizeof(OPENSSH_MAGIC) ||
	    memcmp(r.p, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0)
		goto bad;
	r.p += sizeof(OPENSSH_MAGIC);
	r.left -= sizeof(OPENSSH_MAGIC);
	if (!rd_streq(&r, "none") || !rd_streq(&r, "none")) {
		err_set(err, ERR_INVAL, "an encrypted private key (castiron "
		    "reads unencrypted keys only)");
		goto out;
	}
	if (!rd_streq(&r, "") || rd_u32(&r, &nkeys) == -1 || nkeys != 1 ||
	    rd_str(&r, &pub, &publen) == -1 ||
	    rd_str(&r, &priv, &privlen) == -1)
		goto bad;
	pr.p = pub;
	pr.left = publen;
	if (!rd_streq(&pr, "ssh-rsa")) {
		code = ERR_OK;		/* not RSA: libssh2's own path */
		goto out;
	}
	pr.p = priv;
	pr.left = privlen;
	if (rd_u32(&pr, &c1) == -1 || rd_u32(&pr, &c2) == -1 || c1 != c2 ||
	    !rd_streq(&pr, "ssh-rsa") ||
	    (n = rd_bn(&pr, 0)) == NULL || (ee = rd_bn(&pr, 0)) == NULL ||
	    (d = rd_bn(&pr, 1)) == NULL || (iqmp = rd_bn(&pr, 1)) == NULL ||
	    (p = rd_bn(&pr, 1)) == NULL || (q = rd_bn(&pr, 1)) == NULL)
		goto bad;
	if ((*pkey = pkey_from_parts(n, ee, d, iqmp, p, q)) == NULL) {
		err_set(err, ERR_INVAL, "OpenSSL refused the RSA key");
		goto out;
	}
	code = ERR_OK;
	goto out;
bad:
	err_set(err, ERR_INVAL, "not a valid OpenSSH private key");
out:
	EVP_ENCODE_CTX_free(dec);
	cleanse_free(bin, binlen + 1);
	BN_free(n);
	BN_free(ee);
	BN_clear_free(d);
	BN_clear_free(iqmp);
	BN_clear_free(p);
	BN_clear_free(q);
	return code;
}

/* No passphrase prompt: an encrypted PEM key fails instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

enum err_code
rsakey_load(const char *path, struct rsakey **out, struct err *err)
{
	char		*text;
	size_t		 len = 0;
	EVP_PKEY	*pkey = NULL;
	BIO		*bio;
	enum err_code	 code;

	*out = NULL;
	if ((code = read_keyfile(path, &text, &len, err)) != ERR_OK) {
		err_prefix(err, "key %s", path);
		return code;
	}
	if (strstr(text, OPENSSH_BEGIN) != NULL)
		code = load_openssh(text, &pkey, err);
	else if (strstr(text, "-----BEGIN ") != NULL) {
		if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL)
			code = err_set(err, ERR_FAIL, "cannot be read");
		else {
			pkey = PEM_read_bio_PrivateKey(bio, NULL,
			    no_passphrase, NULL);
			BIO_free(bio);
			/* Leave no failure queued for libssh2's calls. */
			ERR_clear_error();
		}
		if (code == ERR_OK && pkey == NULL &&
		    strstr(text, "-----BEGIN RSA PRIVATE KEY-----") != NULL)
			code = err_set(err, ERR_INVAL, "an RSA PEM key OpenSSL "
			    "cannot read (castiron reads unencrypted keys "
			    "only)");
	}
	cleanse_free(text, len + 1);
	if (code != ERR_OK) {
		EVP_PKEY_free(pkey);
		err_prefix(err, "key %s", path);
		return code;
	}
	if (pkey != NULL && EVP_PKEY_is_a(pkey, "RSA")) {
		*out = xcalloc(1, sizeof(**out));
		(*out)->pkey = pkey;
		return ERR_OK;
	}
	EVP_PKEY_free(pkey);	/* another type: libssh2 reads it */
	return ERR_OK;
}

/* Appends string(s) of n bytes. */
static void
put_str(unsigned char **p, const void *s, size_t n)
{
	be32_put(*p, (uint32_t)n);
	memcpy(*p + 4, s, n);
	*p += 4 + n;
}

/* Appends mpint(bn) (non-negative). */
static void
put_bn(unsigned char **p, const BIGNUM *bn)
{
	size_t	 n = (size_t)BN_num_bytes(bn);
	int	 pad;

	(*p)[4] = 0;
	BN_bn2bin(bn, *p + 5);
	pad = n > 0 && ((*p)[5] & 0x80);
	if (!pad)
		memmove(*p + 4, *p + 5, n);
	n += (size_t)pad;
	be32_put(*p, (uint32_t)n);
	*p += 4 + n;
}

unsigned char *
rsakey_blob(const struct rsakey *k, const char *type, size_t *len)
{
	BIGNUM		*n = NULL, *e = NULL;
	unsigned char	*blob = NULL, *p;
	size_t		 tl = strlen(type);

	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) &&
	    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		p = blob = xmalloc(4 + tl + 5 + (size_t)BN_num_bytes(e) + 5 +
		    (size_t)BN_num_bytes(n));
		put_str(&p, type, tl);
		put_bn(&p, e);
		put_bn(&p, n);
		*len = (size_t)(p - blob);
	}
	BN_free(n);
	BN_free(e);
	return blob;
}

int
rsakey_sign(const struct rsakey *k, const unsigned char *data, size_t len,
    unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX	*md;
	size_t		 n = 0;
	int		 rc = -1;

	*sig = NULL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	/* RSA's default padding is PKCS#1 v1.5, as rsa-sha2-512 wants. */
	if (EVP_DigestSignInit(md, NULL, EVP_sha512(), NULL, k->pkey) == 1 &&
	    EVP_DigestSign(md, NULL, &n, data, len) == 1) {
		*sig = xmalloc(n);
		if (EVP_DigestSign(md, *sig, &n, data, len) == 1) {
			*siglen = n;
			rc = 0;
		} else {
			free(*sig);
			*sig = NULL;
		}
	}
	EVP_MD_CTX_free(md);
	return rc;
}

void
rsakey_free(struct rsakey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
