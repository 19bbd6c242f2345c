/*
 * Rendering of command results.  A table pads each column to its widest
 * cell (values are never truncated: operators copy them); CSV quotes a
 * cell only when it must; JSON is indented on a terminal and compact when
 * piped, and always ends with a newline.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/output.h"
#include "lib/xmalloc.h"

int
output_parse_format(const char *s, enum out_format *f)
{
	if (strcmp(s, "table") == 0)
		*f = OUT_TABLE;
	else if (strcmp(s, "json") == 0)
		*f = OUT_JSON;
	else if (strcmp(s, "csv") == 0)
		*f = OUT_CSV;
	else
		return -1;
	return 0;
}

char *
output_cell(json_t *v)
{
	char	*s;

	if (v == NULL || json_is_null(v))
		return xstrdup("");
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xsprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xsprintf("%.2f", json_real_value(v));
	if (json_is_true(v))
		return xstrdup("yes");
	if (json_is_false(v))
		return xstrdup("no");
	if (json_is_array(v)) {
		/* A list of scalars reads best joined: "a,b". */
		size_t	 i, len = 0;
		json_t	*e;
		char	*out = xstrdup("");
		json_array_foreach(v, i, e) {
			char *c;
			if (json_is_object(e) || json_is_array(e))
				return xsprintf("(%zu)", json_array_size(v));
			c = output_cell(e);
			out = xreallocarray(out, len + strlen(c) + 2, 1);
			if (i)
				out[len++] = ',';
			memcpy(out + len, c, strlen(c) + 1);
			len += strlen(c);
			free(c);
		}
		return out;
	}
	s = json_dumps(v, JSON_COMPACT);
	return s ? s : xstrdup("");
}

static void
csv_cell(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
json_print(FILE *f, json_t *v)
{
	size_t	 flags = JSON_ENCODE_ANY;

	flags |= isatty(fileno(f)) ? JSON_INDENT(2) : JSON_COMPACT;
	json_dumpf(v, f, flags);
	fputc('\n', f);
}

void
output_rows(FILE *f, enum out_format fmt, json_t *rows,
    const struct out_col *cols)
{
	size_t	 ncols, nrows, r, c, *width;
	char	**cells;

	if (fmt == OUT_JSON) {
		json_print(f, rows);
		return;
	}
	for (ncols = 0; cols[ncols].key; ncols++)
		;
	nrows = json_array_size(rows);
	cells = xcalloc((nrows + 1) * ncols, sizeof(char *));
	width = xcalloc(ncols, sizeof(size_t));
	for (c = 0; c < ncols; c++) {
		cells[c] = xstrdup(fmt == OUT_CSV ? cols[c].key : cols[c].title);
		width[c] = strlen(cells[c]);
	}
	for (r = 0; r < nrows; r++) {
		json_t *row = json_array_get(rows, r);
		for (c = 0; c < ncols; c++) {
			char *s = output_cell(json_object_get(row, cols[c].key));
			cells[(r + 1) * ncols + c] = s;
			if (strlen(s) > width[c])
				width[c] = strlen(s);
		}
	}
	for (r = 0; r <= nrows; r++) {
		for (c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			if (fmt == OUT_CSV) {
				if (c)
					fputc(',', f);
				csv_cell(f, s);
			} else if (c + 1 == ncols && !cols[c].right)
				fputs(s, f);
			else
				fprintf(f, cols[c].right ? "%*s" : "%-*s",
				    (int)width[c], s);
			if (fmt == OUT_TABLE && c + 1 < ncols)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	for (r = 0; r < (nrows + 1) * ncols; r++)
		free(cells[r]);
	free(cells);
	free(width);
}

/* Columns for a nested array of objects: the keys of its first element. */
static struct out_col *
cols_of(json_t *arr)
{
	json_t		*first = json_array_get(arr, 0);
	const char	*k;
	json_t		*v;
	struct out_col	*cols;
	size_t		 n = 0;

	cols = xcalloc(json_object_size(first) + 1, sizeof(*cols));
	json_object_foreach(first, k, v) {
		cols[n].key = k;
		cols[n].title = k;
		cols[n].right = json_is_integer(v);
		n++;
	}
	return cols;
}

void
output_object(FILE *f, enum out_format fmt, json_t *obj)
{
	const char	*k;
	json_t		*v;
	size_t		 w = 0;

	if (fmt == OUT_JSON) {
		json_print(f, obj);
		return;
	}
	json_object_foreach(obj, k, v)
		if (strlen(k) > w)
			w = strlen(k);
	if (fmt == OUT_CSV)
		fputs("key,value\n", f);
	json_object_foreach(obj, k, v) {
		char *s;
		if (json_is_array(v) && json_array_size(v) > 0 &&
		    json_is_object(json_array_get(v, 0)))
			continue;	/* printed below as a sub-table */
		s = output_cell(v);
		if (fmt == OUT_CSV) {
			csv_cell(f, k);
			fputc(',', f);
			csv_cell(f, s);
			fputc('\n', f);
		} else
			fprintf(f, "%-*s  %s\n", (int)w, k, s);
		free(s);
	}
	json_object_foreach(obj, k, v) {
		struct out_col *cols;
		if (!(json_is_array(v) && json_array_size(v) > 0 &&
		    json_is_object(json_array_get(v, 0))))
			continue;
		fprintf(f, "\n%s%s\n", fmt == OUT_CSV ? "# " : "", k);
		cols = cols_of(v);
		output_rows(f, fmt, v, cols);
		free(cols);
	}
}

struct out_stream {
	FILE			*f;
	enum out_format		 fmt;
	const struct out_col	*cols;
	size_t			 ncols, nrows;
	json_t			*held;		/* table: rows of cell strings */
};

struct out_stream *
output_stream_new(FILE *f, enum out_format fmt, const struct out_col *cols)
{
	struct out_stream	*s = xcalloc(1, sizeof(*s));
	size_t			 c;

	s->f = f;
	s->fmt = fmt;
	s->cols = cols;
	for (s->ncols = 0; cols[s->ncols].key; s->ncols++)
		;
	if (fmt == OUT_TABLE)
		s->held = json_array();
	else if (fmt == OUT_CSV) {
		for (c = 0; c < s->ncols; c++) {
			if (c)
				fputc(',', f);
			csv_cell(f, cols[c].key);
		}
		fputc('\n', f);
	} else
		fputc('[', f);
	return s;
}

void
output_stream_row(struct out_stream *s, json_t *row)
{
	size_t	 c;

	if (s->fmt == OUT_JSON) {
		if (s->nrows)
			fputc(',', s->f);
		json_dumpf(row, s->f, JSON_COMPACT);
	} else if (s->fmt == OUT_CSV) {
		for (c = 0; c < s->ncols; c++) {
			char *v = output_cell(json_object_get(row,
			    s->cols[c].key));
			if (c)
				fputc(',', s->f);
			csv_cell(s->f, v);
			free(v);
		}
		fputc('\n', s->f);
	} else {
		/* Keep only the shown columns, as strings. */
		json_t *r = json_object();
		for (c = 0; c < s->ncols; c++) {
			char *v = output_cell(json_object_get(row,
			    s->cols[c].key));
			json_object_set_new(r, s->cols[c].key, json_string(v));
			free(v);
		}
		json_array_append_new(s->held, r);
	}
	s->nrows++;
}

void
output_stream_end(struct out_stream *s)
{
	if (s->fmt == OUT_JSON)
		fputs("]\n", s->f);
	else if (s->fmt == OUT_TABLE)
		output_rows(s->f, s->fmt, s->held, s->cols);
	json_decref(s->held);
	free(s);
}
