/*
 * The one output formatter (after bgpctl's struct output).  A command
 * describes its result value by value, as JSON would shape it (objects,
 * arrays, keys, strings, integers), and names the columns an operator
 * wants to see; this file renders it as JSON, as an aligned table or as
 * CSV (RFC 4180).  Commands never printf layouts.
 *
 * Two ways in: a description made call by call (out_new ... out_end),
 * which streams, so a list of 100,000 hosts costs the memory of one; or a
 * jansson value already built (output_rows, output_object).  Both are
 * rendered by the same back ends.
 */
#ifndef CASTIRON_OUTPUT_H
#define CASTIRON_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct out_col {
	const char	*key;		/* field of each row object */
	const char	*title;		/* table and CSV header */
	int		 right;		/* right-align (numbers) */
};

int	output_parse_format(const char *, enum out_format *);

/*
 * What is described, and so how table and CSV lay it out:
 *  - OUT_ROWS: an array of objects; table and CSV show only the columns
 *    (NULL-key terminated), one line per object; JSON prints every field,
 *    indented on a terminal and compact when piped;
 *  - OUT_STREAM: the same for any number of rows: JSON is always compact
 *    and every format is written as each row ends (a table keeps only its
 *    cells, to align them at the end);
 *  - OUT_RECORD: one object: JSON as for OUT_ROWS; table and CSV as
 *    key/value lines, nested arrays of objects as sub-tables below them.
 */
enum out_shape { OUT_ROWS, OUT_STREAM, OUT_RECORD };

struct out;

/* cols is borrowed until out_end (NULL for OUT_RECORD). */
struct out *out_new(FILE *, enum out_format, enum out_shape,
	    const struct out_col *cols);
void	out_begin_object(struct out *);
void	out_end_object(struct out *);
void	out_begin_array(struct out *);
void	out_end_array(struct out *);
/* The key of the next value, inside an object; borrowed until then. */
void	out_key(struct out *, const char *key);
void	out_str(struct out *, const char *s);	/* NULL is null */
void	out_int(struct out *, int64_t);
void	out_real(struct out *, double);
void	out_bool(struct out *, int);
void	out_null(struct out *);
/* A jansson value, as the calls above would describe it. */
void	out_json(struct out *, json_t *);
/* Prints what remains (a table, the last newline) and frees the stream. */
void	out_end(struct out *);
/* Frees the stream and prints nothing more (what a stream already wrote
 * stays written). */
void	out_abort(struct out *);

/* out_key then the value. */
void	out_kstr(struct out *, const char *key, const char *s);
void	out_kint(struct out *, const char *key, int64_t);
void	out_kbool(struct out *, const char *key, int);

/* An array of objects (OUT_ROWS) and one object (OUT_RECORD), from a
 * jansson value the caller keeps. */
void	output_rows(FILE *, enum out_format, json_t *rows,
	    const struct out_col *cols);
void	output_object(FILE *, enum out_format, json_t *obj);

#endif
