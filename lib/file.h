/*
 * Reading a small file whole (keys, key lists, CSV files): a regular
 * file of at most max bytes, NUL-terminated, or an error naming the file.
 */
#ifndef CASTIRON_LIB_FILE_H
#define CASTIRON_LIB_FILE_H

#include <stddef.h>

#include "lib/err.h"

/* The file's bytes (the caller frees them), *len (may be NULL) their
 * count; NULL with err set (ERR_FAIL) when unreadable, not a regular
 * file or larger than max: whether that is the operator's mistake is the
 * caller's to say. */
char	*file_read_small(const char *path, size_t max, size_t *len,
	    struct err *);

#endif
