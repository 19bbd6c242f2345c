/*
 * Progress for long work.  On a terminal: one line redrawn in place
 * (label, bytes, percentage, rate, ETA).  Piped: a plain timestamped line
 * at most every few seconds, and one at the end.  Quiet mode prints
 * nothing.  Several bars may be live at once (provision draws one per
 * host): each owns one line of a block that is redrawn together.
 */
#ifndef CASTIRON_PROGRESS_H
#define CASTIRON_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

struct progress;

struct progress	*progress_new(FILE *, const char *label, uint64_t total);
/* Updates done bytes and an optional short status ("image", "verify"). */
void		 progress_update(struct progress *, uint64_t done,
		    const char *status);
/* Final line ("done", or a failure reason); frees the bar. */
void		 progress_finish(struct progress *, const char *result);
/* Text of the rate and ETA for done bytes over elapsed ms, for tests. */
void		 progress_format(char *, size_t, const char *label,
		    uint64_t done, uint64_t total, uint64_t elapsed_ms,
		    const char *status);
void		 progress_set_quiet(int);

#endif
