/*
 * SSH public keys as OpenSSH shows them: base64 of the key blob, and the
 * fingerprint "SHA256:<base64 without padding>" (ssh-keygen -l -E sha256).
 * One implementation for the inventory's pins and provision's sessions.
 */
#ifndef CASTIRON_LIB_SSHKEY_H
#define CASTIRON_LIB_SSHKEY_H

#include <stddef.h>

#include "lib/err.h"

#define SSH_FP_LEN	64	/* "SHA256:" + 43 base64 characters + NUL */

/* Decodes base64 (with its padding) into a new buffer; -1 when malformed
 * or longer than 16 KiB. */
int	sshkey_b64_decode(const char *s, size_t len, unsigned char **out,
	    size_t *outlen);
void	sshkey_fp_blob(const unsigned char *blob, size_t len,
	    char fp[SSH_FP_LEN]);
/* The fingerprint of a key given in base64; -1 when not base64. */
int	sshkey_fp_b64(const char *b64, char fp[SSH_FP_LEN]);
/* Of an OpenSSH public key line "TYPE BASE64 [comment]", and of the first
 * key line of a .pub file; ERR_INVAL (a malformed key) or ERR_FAIL (the
 * file cannot be read) with err set. */
enum err_code	 sshkey_fp_line(const char *line, char fp[SSH_FP_LEN],
		    struct err *);
enum err_code	 sshkey_fp_file(const char *path, char fp[SSH_FP_LEN],
		    struct err *);

#endif
