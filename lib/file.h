/*
 * Reading a small file whole (keys, key lists, CSV files): a regular
 * file of at most max bytes, NUL-terminated, or an error naming the file.
 */
#ifndef CASTIRON_LIB_FILE_H
#define CASTIRON_LIB_FILE_H

#include <stddef.h>

/* The file's bytes (the caller frees them), *len (may be NULL) their
 * count; NULL with err set when unreadable or larger than max. */
char	*file_read_small(const char *path, size_t max, size_t *len,
	    char *err, size_t errlen);

#endif
