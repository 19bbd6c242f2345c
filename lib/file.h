/*
 * Reading a small file whole (keys, key lists, CSV files): a regular
 * file of at most max bytes, NUL-terminated, or an error naming the file;
 * and the read(2) under it, for whoever reads a descriptor to its end.
 */
#ifndef CASTIRON_LIB_FILE_H
#define CASTIRON_LIB_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

/* The file's bytes (the caller frees them), *len (may be NULL) their
 * count; NULL with err set (ERR_FAIL) when unreadable, not a regular
 * file or larger than max: whether that is the operator's mistake is the
 * caller's to say. */
char	*file_read_small(const char *path, size_t max, size_t *len,
	    struct err *);

/* read(2) of at most n bytes, again when a signal interrupts it: the
 * count read, 0 at the end, or -1 with err set (naming path). */
ssize_t	 file_read(int fd, void *buf, size_t n, const char *path,
	    struct err *);

#endif
