/*
 * The one output formatter (after bgpctl's struct output).  Commands build
 * their result as JSON values (jansson) and describe the columns an
 * operator wants to see; this file renders the same rows as an aligned
 * table, as CSV (RFC 4180) or as JSON.  Commands never printf layouts.
 */
#ifndef CASTIRON_OUTPUT_H
#define CASTIRON_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct out_col {
	const char	*key;		/* field of each row object */
	const char	*title;		/* table and CSV header */
	int		 right;		/* right-align (numbers) */
};

int	output_parse_format(const char *, enum out_format *);

/* Prints an array of objects; table and CSV show only cols (NULL-key
 * terminated), JSON prints every field. */
void	output_rows(FILE *, enum out_format, json_t *rows,
	    const struct out_col *cols);
/* Prints one object: JSON as is; table and CSV as key/value lines, with
 * nested arrays of objects printed as indented sub-tables. */
void	output_object(FILE *, enum out_format, json_t *obj);
/*
 * Rows one at a time, for results too large to hold (a list of 100,000
 * hosts): JSON and CSV are written as each row arrives; a table keeps only
 * its cells, to align them at the end.  output_stream_row borrows row;
 * output_stream_end prints what remains and frees the stream.
 */
struct out_stream;
struct out_stream *output_stream_new(FILE *, enum out_format,
	    const struct out_col *cols);
void	output_stream_row(struct out_stream *, json_t *row);
void	output_stream_end(struct out_stream *);

/* A field value as display text; the caller frees it. */
char	*output_cell(json_t *);

#endif
