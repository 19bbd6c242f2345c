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

int
sh_valid_path(const char *s, char *err, size_t errlen)
{
	const char	*p;

	if (s == NULL || s[0] != '/') {
		snprintf(err, errlen, "'%s' is not an absolute path",
		    s ? s : "");
		return -1;
	}
	if (strlen(s) > 255) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	for (p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._/+-", *p))
			continue;
		snprintf(err, errlen, "'%s': character 0x%02x not allowed in "
		    "a path", s, (unsigned char)*p);
		return -1;
	}
	for (p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0')) {
			snprintf(err, errlen, "'%s': '..' not allowed", s);
			return -1;
		}
	return 0;
}

int
sh_valid_device(const char *s, char *err, size_t errlen)
{
	if (s == NULL || strncmp(s, "/dev/", 5) != 0 || s[5] == '\0') {
		snprintf(err, errlen, "'%s' is not a /dev/ path", s ? s : "");
		return -1;
	}
	return sh_valid_path(s, err, errlen);
}
