/*
 * Allocation wrappers: running out of memory is fatal, so callers need not
 * check (house style, after tmux's xmalloc.c).
 */
#ifndef CASTIRON_XMALLOC_H
#define CASTIRON_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*xsprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
