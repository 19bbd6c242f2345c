/*
 * Unit tests for provision/rsakey.c: the key files ssh-keygen writes
 * (OpenSSH and PEM format, RSA and ed25519, plain and encrypted) sorted
 * into an RSA key castiron signs with, a key libssh2 reads itself, or a
 * refusal with its code and the one line the operator reads ("key PATH:
 * reason"); and an RSA key's blob and signature.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "provision/rsakey.h"

static char	 dir[] = "/tmp/castiron-rsakey.XXXXXX";
static char	 path[256];

/* dir/name, written by ssh-keygen with args (-f is added). */
static const char *
keygen(const char *name, const char *args)
{
	char	 cmd[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q %s -C test -f %s "
	    "</dev/null >/dev/null", args, path);
	assert_int_equal(system(cmd), 0);
	return path;
}

/* dir/name holding text. */
static const char *
file(const char *name, const char *text, size_t len)
{
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* rsakey_load refuses p with code, and e.msg is "key P: why". */
static void
refused(const char *p, enum err_code code, const char *why)
{
	struct rsakey	*k = (struct rsakey *)1;
	struct err	 e;
	char		 want[600];

	err_clear(&e);
	assert_int_equal(rsakey_load(p, &k, &e), code);
	assert_null(k);
	assert_int_equal(e.code, code);
	snprintf(want, sizeof(want), "key %s: %s", p, why);
	assert_string_equal(e.msg, want);
}

static void
t_rsa(void **st)
{
	const char	*fmt[] = { "", "-m PEM", "-m PKCS8" };
	unsigned char	*blob, *sig;
	size_t		 len = 0, siglen = 0;
	struct rsakey	*k;
	struct err	 e;
	char		 name[16];
	int		 i;

	(void)st;
	for (i = 0; i < 3; i++) {
		char	 args[64];

		snprintf(name, sizeof(name), "rsa%d", i);
		snprintf(args, sizeof(args), "-t rsa -b 1024 -N '' %s", fmt[i]);
		keygen(name, args);
		k = NULL;
		err_clear(&e);
		assert_int_equal(rsakey_load(path, &k, &e), ERR_OK);
		assert_non_null(k);
		assert_int_equal(e.code, ERR_OK);	/* untouched */
		assert_non_null(blob = rsakey_blob(k, "rsa-sha2-512", &len));
		/* string("rsa-sha2-512") first */
		assert_true(len > 4 + 12 + 128);
		assert_memory_equal(blob, "\0\0\0\x0crsa-sha2-512", 16);
		free(blob);
		assert_int_equal(rsakey_sign(k, (const unsigned char *)"data",
		    4, &sig, &siglen), 0);
		assert_int_equal(siglen, 128);		/* 1024 bits */
		free(sig);
		rsakey_free(k);
	}
}

static void
t_other_types(void **st)
{
	struct rsakey	*k = (struct rsakey *)1;
	struct err	 e;

	(void)st;
	/* Not RSA: ERR_OK without a key, for libssh2 to read. */
	keygen("ed", "-t ed25519 -N ''");
	err_clear(&e);
	assert_int_equal(rsakey_load(path, &k, &e), ERR_OK);
	assert_null(k);
	assert_int_equal(e.code, ERR_OK);
	k = (struct rsakey *)1;
	keygen("ec", "-t ecdsa -m PEM -N ''");
	assert_int_equal(rsakey_load(path, &k, &e), ERR_OK);
	assert_null(k);
	/* Neither format: libssh2's to judge. */
	k = (struct rsakey *)1;
	file("text", "no key here\n", 12);
	assert_int_equal(rsakey_load(path, &k, &e), ERR_OK);
	assert_null(k);
}

static void
t_refused(void **st)
{
	static const char noend[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
	    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n";
	static const char bad[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
	    "AAAAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
	char		*big;

	(void)st;
	snprintf(path, sizeof(path), "%s/none", dir);
	refused(path, ERR_INVAL, "No such file or directory");
	refused(keygen("rsaenc", "-t rsa -b 1024 -N secret"), ERR_INVAL,
	    "an encrypted private key (castiron reads unencrypted keys only)");
	refused(keygen("edenc", "-t ed25519 -N secret"), ERR_INVAL,
	    "an encrypted private key (castiron reads unencrypted keys only)");
	refused(keygen("rsapemenc", "-t rsa -b 1024 -m PEM -N secret"),
	    ERR_INVAL, "an RSA PEM key OpenSSL cannot read (castiron reads "
	    "unencrypted keys only)");
	refused(file("noend", noend, sizeof(noend) - 1), ERR_INVAL,
	    "OpenSSH private key without its end line");
	refused(file("bad", bad, sizeof(bad) - 1), ERR_INVAL,
	    "not a valid OpenSSH private key");
	big = calloc(1, 70000);
	memset(big, 'A', 70000);
	refused(file("big", big, 70000), ERR_INVAL,
	    "larger than a private key");
	free(big);
}

static int
setup(void **st)
{
	(void)st;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **st)
{
	char	 cmd[300];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_rsa),
		cmocka_unit_test(t_other_types),
		cmocka_unit_test(t_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
