/*
 * Files replaced whole: written to a temporary file beside the target and
 * renamed over it, so a reader (BIRD including castiron's protocols,
 * node_exporter reading metrics, a browser opening a report) sees the old
 * file or the new one, never a part of either.
 */
#ifndef CASTIRON_ATOMICFILE_H
#define CASTIRON_ATOMICFILE_H

#include <sys/types.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/err.h"

struct afile;

/* Opens a temporary file beside path ("DIR/.NAME.XXXXXX", which no
 * "*.conf"-style glob matches) with the given mode; write to the stream
 * returned in *fp.  NULL with err filled on failure (errno kept: the
 * caller may act on ENOENT). */
struct afile	*afile_open(const char *path, mode_t mode, FILE **fp,
		    struct err *);
/* Flushes, fsyncs when durable, closes and renames over the target, then
 * (when durable) fsyncs the target's directory; on a failure before the
 * rename removes the temporary file.  Frees the handle either way. */
enum err_code	 afile_commit(struct afile *, int durable, struct err *);
/* Drops the temporary file and frees the handle. */
void		 afile_abort(struct afile *);

/* afile_open + fwrite + afile_commit in one call. */
enum err_code	 file_replace(const char *path, const void *data,
		    size_t len, mode_t mode, int durable, struct err *);

#endif
