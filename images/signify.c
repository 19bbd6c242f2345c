/*
 * signify's key and signature files (images/signify.h), parsed strictly:
 * the comment line, then exactly the base64 of the expected number of
 * bytes and a newline; the algorithm tags checked; a secret key's
 * checksum checked and its public half rederived from the seed.  The
 * Ed25519 signing and verification are OpenSSL's EVP.
 */
#include <stdlib.h>
#include <string.h>

/* OpenSSL's err.h declares a type ERR_STATE, lib/err.h an error code of
 * that name: OpenSSL's is renamed here, where it is not used. */
#define ERR_STATE	ossl_err_state_unused
#include <openssl/evp.h>
#undef ERR_STATE

#include "images/signify.h"
#include "lib/file.h"
#include "lib/xmalloc.h"

#define COMMENT_HDR	"untrusted comment: "
#define COMMENT_MAX	1024	/* signify's limit on the comment line */
#define PKALG		"Ed"
#define KDFALG		"BK"

/* Raw sizes of the three blocks. */
#define PUB_RAW		(2 + SIG_KEYNUMLEN + SIG_PUBLEN)
#define SEC_RAW		(2 + 2 + 4 + 16 + 8 + SIG_KEYNUMLEN + SIG_SECLEN)
#define SIG_RAW		(2 + SIG_KEYNUMLEN + SIG_SIGLEN)

#define B64LEN(n)	(4 * (((n) + 2) / 3))

static int
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * The comment line and the base64 line at buf, decoded into out (want
 * bytes, exactly).  *used is the length of both lines.
 */
static enum err_code
b64_block(const char *buf, size_t len, const char *name, const char *what,
    uint8_t *out, size_t want, size_t *used, struct err *e)
{
	const char	*nl, *line, *end;
	size_t		 clen, blen = B64LEN(want), pad = (3 - want % 3) % 3, i;
	uint8_t		 tmp[B64LEN(SEC_RAW)];

	if (len < strlen(COMMENT_HDR) ||
	    memcmp(buf, COMMENT_HDR, strlen(COMMENT_HDR)) != 0)
		return err_set(e, ERR_INVAL, "%s: not a signify %s: the first "
		    "line does not start with \"%s\"", name, what, COMMENT_HDR);
	if ((nl = memchr(buf, '\n', len)) == NULL)
		return err_set(e, ERR_INVAL, "%s: not a signify %s: truncated "
		    "in its comment line", name, what);
	clen = (size_t)(nl - buf);
	if (clen >= COMMENT_MAX || memchr(buf, '\0', clen) != NULL)
		return err_set(e, ERR_INVAL, "%s: line 1: the comment is longer "
		    "than %d bytes or holds a NUL", name, COMMENT_MAX - 1);
	line = nl + 1;
	end = buf + len;
	if ((size_t)(end - line) < blen + 1 || line[blen] != '\n')
		return err_set(e, ERR_INVAL, "%s: line 2: not a signify %s: "
		    "expected %zu base64 characters and a newline", name, what,
		    blen);
	for (i = 0; i < blen; i++) {
		unsigned char c = (unsigned char)line[i];
		if (i >= blen - pad ? c != '=' : !b64_char(c))
			return err_set(e, ERR_INVAL, "%s: line 2: invalid "
			    "base64 at column %zu", name, i + 1);
	}
	if (EVP_DecodeBlock(tmp, (const unsigned char *)line, (int)blen) !=
	    (int)(blen / 4 * 3))
		return err_set(e, ERR_INVAL, "%s: line 2: invalid base64", name);
	memcpy(out, tmp, want);
	if (memcmp(out, PKALG, 2) != 0)
		return err_set(e, ERR_INVAL, "%s: unsupported signature "
		    "algorithm (not \"%s\", Ed25519)", name, PKALG);
	*used = (size_t)(line + blen + 1 - buf);
	return ERR_OK;
}

/* The whole buffer is one block and nothing else. */
static enum err_code
b64_file(const char *buf, size_t len, const char *name, const char *what,
    uint8_t *out, size_t want, struct err *e)
{
	size_t		 used;
	enum err_code	 rc;

	if ((rc = b64_block(buf, len, name, what, out, want, &used, e)) != 0)
		return rc;
	if (used != len)
		return err_set(e, ERR_INVAL, "%s: line 3: unexpected data after "
		    "the key", name);
	return ERR_OK;
}

enum err_code
sig_pubkey_parse(const char *buf, size_t len, const char *name,
    struct sig_pubkey *pk, struct err *e)
{
	uint8_t		 raw[PUB_RAW];
	enum err_code	 rc;

	if ((rc = b64_file(buf, len, name, "public key", raw, sizeof(raw),
	    e)) != 0)
		return rc;
	memcpy(pk->keynum, raw + 2, SIG_KEYNUMLEN);
	memcpy(pk->key, raw + 2 + SIG_KEYNUMLEN, SIG_PUBLEN);
	return ERR_OK;
}

enum err_code
sig_seckey_parse(const char *buf, size_t len, const char *name,
    struct sig_seckey *sk, struct err *e)
{
	uint8_t		 raw[SEC_RAW], sum[EVP_MAX_MD_SIZE], pub[SIG_PUBLEN];
	const uint8_t	*kdf = raw + 2, *rounds = raw + 4, *check = raw + 24;
	unsigned	 sumlen = 0;
	size_t		 publen = sizeof(pub);
	EVP_PKEY	*k;
	enum err_code	 rc;

	if ((rc = b64_file(buf, len, name, "secret key", raw, sizeof(raw),
	    e)) != 0)
		return rc;
	if (memcmp(kdf, KDFALG, 2) != 0)
		rc = err_set(e, ERR_INVAL, "%s: unsupported key derivation "
		    "(not \"%s\")", name, KDFALG);
	else if ((rounds[0] | rounds[1] | rounds[2] | rounds[3]) != 0)
		rc = err_set(e, ERR_INVAL, "%s: the secret key is encrypted "
		    "with a passphrase, which castiron does not read; make an "
		    "unencrypted one (signify -G -n) and keep it offline", name);
	if (rc != 0)
		goto out;
	memcpy(sk->keynum, raw + 32, SIG_KEYNUMLEN);
	memcpy(sk->key, raw + 32 + SIG_KEYNUMLEN, SIG_SECLEN);
	if (EVP_Digest(sk->key, SIG_SECLEN, sum, &sumlen, EVP_sha512(),
	    NULL) != 1 || memcmp(sum, check, 8) != 0) {
		rc = err_set(e, ERR_INVAL, "%s: the secret key's checksum does "
		    "not match (a damaged key file)", name);
		goto out;
	}
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk->key, 32);
	if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &publen) != 1 ||
	    memcmp(pub, sk->key + 32, SIG_PUBLEN) != 0)
		rc = err_set(e, ERR_INVAL, "%s: the secret key's public half "
		    "does not match its seed (a damaged key file)", name);
	EVP_PKEY_free(k);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc != 0)
		OPENSSL_cleanse(sk, sizeof(*sk));
	return rc;
}

/* Reads a key file and parses it with fn (the buffer is wiped: it may
 * hold a secret key). */
static enum err_code
key_load(const char *path, void *key, enum err_code (*fn)(const char *,
    size_t, const char *, void *, struct err *), struct err *e)
{
	char		*buf;
	size_t		 len;
	enum err_code	 rc;

	/* A key file that does not read is the operator's to mend. */
	if ((buf = file_read_small(path, SIG_FILEMAX, &len, e)) == NULL)
		return e ? (e->code = ERR_INVAL) : ERR_INVAL;
	rc = fn(buf, len, path, key, e);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

static enum err_code
pub_parse(const char *b, size_t l, const char *n, void *k, struct err *e)
{
	return sig_pubkey_parse(b, l, n, k, e);
}

static enum err_code
sec_parse(const char *b, size_t l, const char *n, void *k, struct err *e)
{
	return sig_seckey_parse(b, l, n, k, e);
}

enum err_code
sig_pubkey_load(const char *path, struct sig_pubkey *pk, struct err *e)
{
	return key_load(path, pk, pub_parse, e);
}

enum err_code
sig_seckey_load(const char *path, struct sig_seckey *sk, struct err *e)
{
	return key_load(path, sk, sec_parse, e);
}

void
sig_seckey_public(const struct sig_seckey *sk, struct sig_pubkey *pk)
{
	memcpy(pk->keynum, sk->keynum, SIG_KEYNUMLEN);
	memcpy(pk->key, sk->key + 32, SIG_PUBLEN);
}

enum err_code
sig_embedded_split(const char *buf, size_t len, const char *name,
    struct sig_sig *s, const char **msg, size_t *msglen, struct err *e)
{
	uint8_t		 raw[SIG_RAW];
	size_t		 used;

	if (len < strlen(COMMENT_HDR) ||
	    memcmp(buf, COMMENT_HDR, strlen(COMMENT_HDR)) != 0)
		return err_set(e, ERR_TRUST, "%s: not signed: it does not start "
		    "with a signify signature (\"%s...\")", name, COMMENT_HDR);
	if (b64_block(buf, len, name, "signature", raw, sizeof(raw), &used,
	    e) != 0) {
		if (e != NULL)
			e->code = ERR_TRUST;	/* a broken signature */
		return ERR_TRUST;
	}
	memcpy(s->keynum, raw + 2, SIG_KEYNUMLEN);
	memcpy(s->sig, raw + 2 + SIG_KEYNUMLEN, SIG_SIGLEN);
	*msg = buf + used;
	*msglen = len - used;
	return ERR_OK;
}

char *
sig_keynum_hex(const uint8_t keynum[SIG_KEYNUMLEN],
    char out[2 * SIG_KEYNUMLEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < SIG_KEYNUMLEN; i++) {
		out[2 * i] = hex[keynum[i] >> 4];
		out[2 * i + 1] = hex[keynum[i] & 15];
	}
	out[2 * SIG_KEYNUMLEN] = '\0';
	return out;
}

enum err_code
sig_verify(const struct sig_pubkey *pk, const struct sig_sig *s,
    const void *msg, size_t len, const char *name, struct err *e)
{
	EVP_PKEY	*k;
	EVP_MD_CTX	*ctx;
	char		 a[2 * SIG_KEYNUMLEN + 1], b[2 * SIG_KEYNUMLEN + 1];
	int		 good = 0;

	if (memcmp(pk->keynum, s->keynum, SIG_KEYNUMLEN) != 0)
		return err_set(e, ERR_TRUST, "%s: signed by another key (key "
		    "number %s, the trusted key is %s)", name,
		    sig_keynum_hex(s->keynum, a), sig_keynum_hex(pk->keynum, b));
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk->key,
	    SIG_PUBLEN);
	ctx = EVP_MD_CTX_new();
	if (k != NULL && ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1)
		good = EVP_DigestVerify(ctx, s->sig, SIG_SIGLEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!good)
		return err_set(e, ERR_TRUST, "%s: bad signature: the content "
		    "is not what key %s signed (tampered or damaged)", name,
		    sig_keynum_hex(pk->keynum, a));
	return ERR_OK;
}

char *
sig_sign_embedded(const struct sig_seckey *sk, const char *comment,
    const void *msg, size_t len, size_t *outlen, struct err *e)
{
	uint8_t		 raw[SIG_RAW];
	unsigned char	 b64[B64LEN(SIG_RAW) + 1];
	size_t		 siglen = SIG_SIGLEN, hlen;
	EVP_PKEY	*k;
	EVP_MD_CTX	*ctx;
	char		*out = NULL, *hdr;
	int		 good = 0;

	memcpy(raw, PKALG, 2);
	memcpy(raw + 2, sk->keynum, SIG_KEYNUMLEN);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk->key, 32);
	ctx = EVP_MD_CTX_new();
	if (k != NULL && ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1)
		good = EVP_DigestSign(ctx, raw + 2 + SIG_KEYNUMLEN, &siglen,
		    msg, len) == 1 && siglen == SIG_SIGLEN;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!good) {
		err_set(e, ERR_FAIL, "Ed25519 signing failed (OpenSSL)");
		return NULL;
	}
	EVP_EncodeBlock(b64, raw, sizeof(raw));
	hdr = xsprintf("%s%s\n%s\n", COMMENT_HDR, comment, b64);
	hlen = strlen(hdr);
	out = xmalloc(hlen + len + 1);
	memcpy(out, hdr, hlen);
	memcpy(out + hlen, msg, len);
	out[hlen + len] = '\0';
	*outlen = hlen + len;
	free(hdr);
	return out;
}
