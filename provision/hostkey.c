/*
 * Ed25519 host keys made in memory (provision/hostkey.h).  The private
 * key file is OpenSSH's own format (PROTOCOL.key in OpenSSH's sources):
 *
 *   "openssh-key-v1\0" string("none") string("none") string("")
 *   uint32(1) string(public blob) string(private section)
 *
 * the private section being uint32 check, uint32 check (the same random
 * value), string("ssh-ed25519"), string(public 32), string(seed 32 ||
 * public 32), string(comment), then bytes 1, 2, 3, ... to a multiple of
 * 8; all of it base64 in 70-column lines between the PEM-style markers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/be.h"
#include "lib/xmalloc.h"
#include "provision/hostkey.h"

#define ED_LEN		32
#define KEY_TYPE	"ssh-ed25519"

struct wbuf {
	uint8_t	 b[2048];
	size_t	 n;
};

static void
put_u32(struct wbuf *w, uint32_t v)
{
	be32_put(w->b + w->n, v);
	w->n += 4;
}

static void
put_str(struct wbuf *w, const void *p, size_t len)
{
	put_u32(w, (uint32_t)len);
	memcpy(w->b + w->n, p, len);
	w->n += len;
}

static char *
b64(const uint8_t *p, size_t len)
{
	char	*out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

/*
 * OpenSSL's random generator leaves a copy of what it produced (the seed)
 * in its stack frames, below the caller's (found by
 * tests/integration/provision_secrets.sh reading castiron's memory):
 * this overwrites them.  Not inlined, so that its buffer lies where those
 * frames were.
 */
static __attribute__((noinline)) void
wipe_stack_below(void)
{
	uint8_t	 b[16384];

	explicit_bzero(b, sizeof(b));
}

enum err_code
hostkey_generate(const char *comment, char **priv, char **pub,
    struct err *err)
{
	EVP_PKEY	*key = NULL;
	struct wbuf	 blob = { { 0 }, 0 }, sec = { { 0 }, 0 };
	struct wbuf	 file = { { 0 }, 0 };
	uint8_t		 pk[ED_LEN], sk[2 * ED_LEN];
	size_t		 pklen = ED_LEN, i, at, clen;
	uint32_t	 check;
	char		*text = NULL, *out;
	enum err_code	 rc = ERR_FAIL;

	*priv = *pub = NULL;
	clen = strlen(comment);
	if (clen > 512)
		return err_set(err, ERR_INVAL, "host key comment too long");
	/* The seed is drawn here and given to OpenSSL, never read back:
	 * EVP_PKEY_get_raw_private_key() exports it through a parameter
	 * buffer that OpenSSL 3.0 frees without wiping. */
	if (RAND_priv_bytes(sk, ED_LEN) != 1 ||
	    (key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk,
	    ED_LEN)) == NULL ||
	    EVP_PKEY_get_raw_public_key(key, pk, &pklen) != 1 ||
	    pklen != ED_LEN ||
	    RAND_bytes((unsigned char *)&check, sizeof(check)) != 1) {
		err_set(err, ERR_FAIL, "ed25519 key generation failed");
		goto out;
	}
	memcpy(sk + ED_LEN, pk, ED_LEN);	/* seed || public */
	put_str(&blob, KEY_TYPE, strlen(KEY_TYPE));
	put_str(&blob, pk, ED_LEN);

	put_u32(&sec, check);
	put_u32(&sec, check);
	put_str(&sec, KEY_TYPE, strlen(KEY_TYPE));
	put_str(&sec, pk, ED_LEN);
	put_str(&sec, sk, sizeof(sk));
	put_str(&sec, comment, clen);
	for (i = 1; sec.n % 8 != 0; i++)
		sec.b[sec.n++] = (uint8_t)i;

	memcpy(file.b, "openssh-key-v1", 15);	/* with its NUL */
	file.n = 15;
	put_str(&file, "none", 4);
	put_str(&file, "none", 4);
	put_str(&file, "", 0);
	put_u32(&file, 1);
	put_str(&file, blob.b, blob.n);
	put_str(&file, sec.b, sec.n);

	text = b64(file.b, file.n);
	out = xmalloc(strlen(text) + strlen(text) / 70 + 128);
	at = (size_t)sprintf(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (i = 0, clen = strlen(text); i < clen; i += 70)
		at += (size_t)sprintf(out + at, "%.70s\n", text + i);
	sprintf(out + at, "-----END OPENSSH PRIVATE KEY-----\n");
	*priv = out;
	explicit_bzero(text, strlen(text));
	free(text);
	text = b64(blob.b, blob.n);
	*pub = xsprintf("%s %s %s\n", KEY_TYPE, text, comment);
	rc = ERR_OK;
out:
	if (text != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	explicit_bzero(sk, sizeof(sk));
	explicit_bzero(&sec, sizeof(sec));
	explicit_bzero(&file, sizeof(file));
	EVP_PKEY_free(key);
	wipe_stack_below();
	return rc;
}
