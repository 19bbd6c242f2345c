/*
 * Quoting and validation for remote command lines.  Pure functions: the
 * unit tests in tests/unit/test_shell.c cover each rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "provision/shell.h"

int
sh_quote_append(char *dst, size_t dstlen, const char *s)
{
	size_t	 len = strlen(dst), need = 2, i;
	char	*p;

	for (i = 0; s[i]; i++)
		need += s[i] == '\'' ? 4 : 1;
	if (len + need + 1 > dstlen)
		return -1;
	p = dst + len;
	*p++ = '\'';
	for (i = 0; s[i]; i++) {
		if (s[i] == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else
			*p++ = s[i];
	}
	*p++ = '\'';
	*p = '\0';
	return 0;
}

char *
sh_quote(const char *s)
{
	size_t	 n = strlen(s) * 4 + 3;
	char	*q = xmalloc(n);

	q[0] = '\0';
	if (sh_quote_append(q, n, s) == -1)
		abort();	/* cannot happen: n is the worst case */
	return q;
}

enum err_code
sh_valid_path(const char *s, struct err *err)
{
	const char	*p;

	if (s == NULL || s[0] != '/') {
		return err_set(err, ERR_INVAL, "'%s' is not an absolute path", s
		    ? s : "");
	}
	if (strlen(s) > 255) {
		return err_set(err, ERR_INVAL, "path too long");
	}
	for (p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._/+-", *p))
			continue;
		return err_set(err, ERR_INVAL, "'%s': character 0x%02x not "
		    "allowed in a path", s, (unsigned char)*p);
	}
	for (p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0')) {
			return err_set(err, ERR_INVAL, "'%s': '..' not allowed",
			    s);
		}
	return ERR_OK;
}

enum err_code
sh_valid_device(const char *s, struct err *err)
{
	if (s == NULL || strncmp(s, "/dev/", 5) != 0 || s[5] == '\0') {
		return err_set(err, ERR_INVAL, "'%s' is not a /dev/ path", s ? s
		    : "");
	}
	return sh_valid_path(s, err);
}
