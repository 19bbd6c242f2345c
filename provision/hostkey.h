/*
 * A new ed25519 host key for an installed system, made in memory (never
 * a file on the provisioning server) in the formats OpenSSH reads: the
 * private key as `ssh-keygen` writes it (openssh-key-v1, unencrypted)
 * and the public key line.
 */
#ifndef CASTIRON_PROVISION_HOSTKEY_H
#define CASTIRON_PROVISION_HOSTKEY_H

#include <stddef.h>

#include "lib/err.h"

/* *priv and *pub are the caller's (wipe priv with explicit_bzero before
 * freeing it); else err says why. */
enum err_code	hostkey_generate(const char *comment, char **priv,
		    char **pub, struct err *);

#endif
