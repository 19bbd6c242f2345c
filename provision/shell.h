/*
 * Building remote command lines safely.  Every value that goes into a
 * command run by the remote shell is either checked against a strict
 * character set (device paths, file paths we chose) or single-quoted
 * here; nothing else is ever pasted into a command.
 */
#ifndef CASTIRON_PROVISION_SHELL_H
#define CASTIRON_PROVISION_SHELL_H

#include <stddef.h>

/* Appends s single-quoted for a POSIX shell ('...' with ' as '\'') to the
 * NUL-terminated dst; -1 when it does not fit (dst unchanged). */
int	sh_quote_append(char *dst, size_t dstlen, const char *s);
/* A freshly allocated quoted copy (caller frees). */
char	*sh_quote(const char *s);
/* An absolute path of [A-Za-z0-9._/+-] with no ".." component. */
int	sh_valid_path(const char *s, char *err, size_t errlen);
/* A block device path: /dev/ followed by a sh_valid_path name. */
int	sh_valid_device(const char *s, char *err, size_t errlen);


#endif
