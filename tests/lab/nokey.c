/*
 * A fault for the lab: a server whose host key libssh2 does not hand
 * over.  Preloaded into castiron (LD_PRELOAD), this library stands in for
 * libssh2_session_hostkey(): for a server whose key is listed in the
 * file $LAB_NOKEY it returns NULL with a length of 0, which is what
 * libssh2 returns when a session holds no key it can give; for any other
 * server it returns what libssh2 does.  The file is read at every call
 * (a test may list a key while castiron runs); each line is a public key
 * as OpenSSH writes it ("TYPE BASE64 [COMMENT]"), compared by its base64.
 *
 *   cc -shared -fPIC -o nokey.so tests/lab/nokey.c -ldl
 *   LAB_NOKEY=keys.pub LD_PRELOAD=./nokey.so castiron provision ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh2.h>

typedef const char *(*hostkey_fn)(LIBSSH2_SESSION *, size_t *, int *);

/* RFC 4648 base64 of p into out (4 * ((len + 2) / 3) + 1 bytes). */
static void
b64(const unsigned char *p, size_t len, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	 i, o = 0;
	unsigned v;

	for (i = 0; i < len; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = i + 1 < len ? a[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Is the key whose base64 is enc listed in $LAB_NOKEY? */
static int
listed(const char *enc)
{
	const char	*path = getenv("LAB_NOKEY");
	char		 line[16384], *t, *k, *save;
	FILE		*f;
	int		 hit = 0;

	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return 0;
	while (!hit && fgets(line, sizeof(line), f) != NULL) {
		if ((t = strtok_r(line, " \t\r\n", &save)) == NULL ||
		    (k = strtok_r(NULL, " \t\r\n", &save)) == NULL)
			continue;
		hit = strcmp(k, enc) == 0;
	}
	fclose(f);
	return hit;
}

const char *
libssh2_session_hostkey(LIBSSH2_SESSION *s, size_t *len, int *type)
{
	static hostkey_fn	 real;
	const char		*blob;
	size_t			 n = 0;
	char			*enc;
	int			 hit;

	if (real == NULL && (real = (hostkey_fn)dlsym(RTLD_NEXT,
	    "libssh2_session_hostkey")) == NULL) {
		fprintf(stderr, "nokey: %s\n", dlerror());
		abort();
	}
	if ((blob = real(s, &n, type)) == NULL || n > 8192) {
		if (len)
			*len = n;
		return blob;
	}
	if ((enc = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		abort();
	b64((const unsigned char *)blob, n, enc);
	hit = listed(enc);
	free(enc);
	if (hit) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = n;
	return blob;
}
