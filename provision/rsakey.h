/*
 * An RSA user key for rsa-sha2 authentication on libssh2 1.10, which
 * itself signs RSA keys only as ssh-rsa (SHA-1).  The key is read with
 * OpenSSL (PEM: PKCS#1 or PKCS#8) or parsed here (OpenSSH format, what
 * ssh-keygen writes), unencrypted only, as libssh2 took it before; the
 * caller hands libssh2_userauth_publickey a blob from rsakey_blob and
 * signs in its callback with rsakey_sign.
 */
#ifndef CASTIRON_RSAKEY_H
#define CASTIRON_RSAKEY_H

#include <stddef.h>

#include "lib/err.h"

struct rsakey;

/*
 * Reads the private key at path: ERR_OK and *out for an RSA key, ERR_OK
 * and *out NULL for a key of another type (or a file that is neither PEM
 * nor OpenSSH format: libssh2 reads it), or a code with "key PATH:
 * reason" in err (never key material) for a key file that cannot be
 * read (ERR_INVAL: missing, too large, encrypted, not valid; ERR_FAIL:
 * a read error).
 */
enum err_code	 rsakey_load(const char *path, struct rsakey **out,
		    struct err *);

/*
 * The public key blob string(type) mpint(e) mpint(n), type "ssh-rsa" or
 * "rsa-sha2-512" (libssh2 1.10 sends the blob's type as the algorithm).
 * Allocated; *len its length.
 */
unsigned char	*rsakey_blob(const struct rsakey *, const char *type,
		    size_t *len);

/*
 * The PKCS#1 v1.5 signature of data with SHA-512 (the raw signature: for
 * libssh2_userauth_publickey's callback, which wraps it in
 * string(algorithm) string(signature) itself), malloc'ed (libssh2 frees
 * it with its default allocator): 0, or -1.
 */
int		 rsakey_sign(const struct rsakey *, const unsigned char *data,
		    size_t len, unsigned char **sig, size_t *siglen);

void		 rsakey_free(struct rsakey *);

#endif
