/*
 * A new ed25519 host key for an installed system, made in memory (never
 * a file on the provisioning server) in the formats OpenSSH reads: the
 * private key as `ssh-keygen` writes it (openssh-key-v1, unencrypted)
 * and the public key line.
 */
#ifndef CASTIRON_PROVISION_HOSTKEY_H
#define CASTIRON_PROVISION_HOSTKEY_H

#include <stddef.h>

/* *priv and *pub are the caller's (wipe priv with explicit_bzero before
 * freeing it); -1 with err set. */
int	hostkey_generate(const char *comment, char **priv, char **pub,
	    char *err, size_t errlen);

#endif
