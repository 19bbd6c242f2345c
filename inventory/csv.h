/*
 * A small RFC 4180 CSV reader over a buffer in memory: quoted fields with
 * doubled quotes, commas and line breaks inside quotes, CRLF or LF line
 * ends, a UTF-8 byte order mark skipped.  Every record knows the line it
 * started on so that import can name it.  Bounded: at most CSV_MAXFIELDS
 * fields of at most CSV_MAXFIELD bytes each.
 */
#ifndef CASTIRON_CSV_H
#define CASTIRON_CSV_H

#include <stddef.h>

#include "lib/err.h"

#define CSV_MAXFIELDS	64
#define CSV_MAXFIELD	4096

struct csv {
	const char	*p, *end;
	int		 line;		/* line the next record starts on */
	char		*buf;		/* fields of the current record */
	size_t		 bufsz;
	char		*field[CSV_MAXFIELDS];
	size_t		 nfields;
	int		 recline;	/* line of the current record */
	int		 errline;	/* line of the last error */
};

/* Reads from [data, data + len); data must outlive the reader. */
void	csv_init(struct csv *, const char *data, size_t len);
void	csv_release(struct csv *);	/* frees buffers, not the struct */

/*
 * Reads the next record into c->field[0..nfields) (valid until the next
 * call) and c->recline.  Returns 1 for a record, 0 at the end, -1 for a
 * malformed record (err says why, ERR_INVAL; c->errline where; reading
 * may go on with the next line).  Blank lines are skipped.
 */
int	csv_next(struct csv *, struct err *err);

#endif
