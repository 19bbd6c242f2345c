/*
 * Building remote command lines safely.  Every value that goes into a
 * command run by the remote shell is either checked against a strict
 * character set (device paths, file paths we chose) or single-quoted
 * here; nothing else is ever pasted into a command.
 */
#ifndef CASTIRON_PROVISION_SHELL_H
#define CASTIRON_PROVISION_SHELL_H

#include <stddef.h>

#include "lib/err.h"

/* Appends s single-quoted for a POSIX shell ('...' with ' as '\'') to the
 * NUL-terminated dst; -1 when it does not fit (dst unchanged). */
int	sh_quote_append(char *dst, size_t dstlen, const char *s);
/* A freshly allocated quoted copy (caller frees). */
char	*sh_quote(const char *s);
/* An absolute path of [A-Za-z0-9._/+-] with no ".." component; else
 * ERR_INVAL, err naming the path. */
enum err_code	sh_valid_path(const char *s, struct err *);
/* A block device path: /dev/ followed by a sh_valid_path name. */
enum err_code	sh_valid_device(const char *s, struct err *);


#endif
