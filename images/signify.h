/*
 * Ed25519 keys and signatures in OpenBSD signify's file formats, so that
 * a catalog castiron signs verifies with `signify -V` and one signify
 * signs verifies here.  A file is an "untrusted comment: ..." line and
 * one base64 line: a public key is "Ed", an 8-byte key number and the
 * 32-byte key; a secret key adds the kdf ("BK", rounds, salt), a checksum
 * and the 64-byte secret key; a signature is "Ed", the key number and the
 * 64-byte signature, and an embedded one is followed by the message.
 * The key number names the key pair, so a signature by another key is
 * told apart from a tampered message.  The arithmetic is OpenSSL's.
 */
#ifndef CASTIRON_IMAGES_SIGNIFY_H
#define CASTIRON_IMAGES_SIGNIFY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SIG_KEYNUMLEN	8
#define SIG_PUBLEN	32
#define SIG_SECLEN	64
#define SIG_SIGLEN	64
/* Keys and signature blocks are small; anything larger is not one. */
#define SIG_FILEMAX	4096

struct sig_pubkey {
	uint8_t	keynum[SIG_KEYNUMLEN];
	uint8_t	key[SIG_PUBLEN];
};

struct sig_seckey {
	uint8_t	keynum[SIG_KEYNUMLEN];
	uint8_t	key[SIG_SECLEN];	/* seed, then the public key */
};

struct sig_sig {
	uint8_t	keynum[SIG_KEYNUMLEN];
	uint8_t	sig[SIG_SIGLEN];
};

/* Parse a key from text; name is the file or URL for messages.  0 or an
 * error code (ERR_INVAL for a malformed file) with err filled. */
enum err_code	sig_pubkey_parse(const char *, size_t, const char *name,
		    struct sig_pubkey *, struct err *);
enum err_code	sig_seckey_parse(const char *, size_t, const char *name,
		    struct sig_seckey *, struct err *);
/* The same, read from a file. */
enum err_code	sig_pubkey_load(const char *path, struct sig_pubkey *,
		    struct err *);
enum err_code	sig_seckey_load(const char *path, struct sig_seckey *,
		    struct err *);
/* The public half of a secret key. */
void		sig_seckey_public(const struct sig_seckey *,
		    struct sig_pubkey *);

/*
 * Splits an embedded signature (`signify -S -e`): the signature block at
 * the start of buf, *msg and *msglen the message after it (pointing into
 * buf).  ERR_TRUST with "not signed" when buf does not start with one.
 */
enum err_code	sig_embedded_split(const char *buf, size_t len,
		    const char *name, struct sig_sig *, const char **msg,
		    size_t *msglen, struct err *);

/* 0 when sig is key's signature of msg; else ERR_TRUST naming the
 * cause: signed by another key (key numbers differ) or a bad signature. */
enum err_code	sig_verify(const struct sig_pubkey *, const struct sig_sig *,
		    const void *msg, size_t len, const char *name, struct err *);

/* Signs msg; returns an embedded-signature file (comment line, signature
 * line, msg) the caller frees, its length in *outlen. */
char		*sig_sign_embedded(const struct sig_seckey *,
		    const char *comment, const void *msg, size_t len,
		    size_t *outlen, struct err *);

/* The key number in hex (16 digits and a NUL), for messages. */
char		*sig_keynum_hex(const uint8_t keynum[SIG_KEYNUMLEN],
		    char out[2 * SIG_KEYNUMLEN + 1]);

#endif
