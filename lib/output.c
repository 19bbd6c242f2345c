/*
 * Rendering of command results.  JSON is written straight to the stream
 * as it is described, through a buffer, with no tree in between (a list
 * of 100,000 hosts is 100 MB of it); it is indented on a terminal (two
 * spaces, jansson's layout) and compact when piped, and always ends with
 * a newline.  Table and CSV need a whole row before they can lay it out:
 * each described object is held as a jansson tree until it ends, then
 * turned into the cells of the shown columns (CSV writes them at once; a
 * table keeps only those strings, to align them at the end).  A table
 * pads each column to its widest cell (values are never truncated:
 * operators copy them); CSV quotes a cell only when it must.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/output.h"
#include "lib/xmalloc.h"

#define OUT_MAXDEPTH	32

static char	*json_text(json_t *);

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

/* ---- the JSON writer ---- */

struct wbuf {
	FILE	*f;
	size_t	 n;
	char	 b[1 << 16];
};

static void
wb_flush(struct wbuf *w)
{
	if (w->n)
		fwrite(w->b, 1, w->n, w->f);
	w->n = 0;
}

static inline void
wb_write(struct wbuf *w, const char *p, size_t n)
{
	if (w->n + n > sizeof(w->b)) {
		wb_flush(w);
		if (n > sizeof(w->b)) {
			fwrite(p, 1, n, w->f);
			return;
		}
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static inline void
wb_putc(struct wbuf *w, char c)
{
	if (w->n == sizeof(w->b))
		wb_flush(w);
	w->b[w->n++] = c;
}

/* The bytes a JSON string escapes (and NUL, which ends it). */
static const unsigned char json_special[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

/* The rest of a JSON string from s, escaped, and its closing quote. */
static void
w_str_tail(struct wbuf *w, const char *s)
{
	const char	*run;

	for (run = s;; s++) {
		unsigned char	 c;
		char		 esc[8];
		const char	*e;

		while (!json_special[(unsigned char)*s])
			s++;
		wb_write(w, run, (size_t)(s - run));
		if ((c = (unsigned char)*s) == '\0')
			break;
		run = s + 1;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			e = esc;
		}
		wb_write(w, e, strlen(e));
	}
	wb_putc(w, '"');
}

/*
 * A JSON string: quotes, backslashes and control characters escaped as
 * jansson escapes them; every other byte as it is.  Most strings need no
 * escape: found in one scan, copied in one piece.
 */
static void
w_str(struct wbuf *w, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	while (!json_special[*p])
		p++;
	wb_putc(w, '"');
	wb_write(w, s, (size_t)((const char *)p - s));
	if (*p)
		w_str_tail(w, (const char *)p);
	else
		wb_putc(w, '"');
}

static void
w_int(struct wbuf *w, int64_t v)
{
	char		 buf[24], *p = buf + sizeof(buf);
	uint64_t	 u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	wb_write(w, p, (size_t)(buf + sizeof(buf) - p));
}

/* As jansson writes a real: 17 significant digits, always a '.' or an
 * exponent (so it reads back as a real), no '+' or leading zeros in the
 * exponent.  JSON has no NaN or infinity: null. */
static void
w_real(struct wbuf *w, double v)
{
	char	 buf[40], *e, *d;
	int	 n;

	if (!isfinite(v)) {
		wb_write(w, "null", 4);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%.17g", v);
	if (n < 0 || (size_t)n >= sizeof(buf) - 3)
		n = snprintf(buf, sizeof(buf), "0.0");
	for (d = buf; *d; d++)
		if (*d == ',')
			*d = '.';	/* a locale's decimal comma */
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(buf, 'e')) != NULL) {
		char	*from, *to = e + 1;

		if (*to == '-')
			to++;
		for (from = to; *from == '+' || *from == '0'; from++)
			;
		if (*from == '\0')
			from--;		/* keep one digit */
		memmove(to, from, strlen(from) + 1);
		n = (int)strlen(buf);
	}
	wb_write(w, buf, (size_t)n);
}

/* ---- table and CSV ---- */

/* A field value as display text; the caller frees it. */
static char *
cell(json_t *v)
{
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
			if (json_is_object(e) || json_is_array(e)) {
				free(out);
				return xsprintf("(%zu)", json_array_size(v));
			}
			c = cell(e);
			out = xreallocarray(out, len + strlen(c) + 2, 1);
			if (i)
				out[len++] = ',';
			memcpy(out + len, c, strlen(c) + 1);
			len += strlen(c);
			free(c);
		}
		return out;
	}
	return json_text(v);
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

/* The cells of a table, row after row, the header first. */
struct cells {
	char	**v;
	size_t	  n, cap;
	size_t	  rows;		/* lines, the header's included */
};

static void
cells_push(struct cells *t, char *s)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xreallocarray(t->v, t->cap, sizeof(char *));
	}
	t->v[t->n++] = s;
}

static void
cells_header(struct cells *t, enum out_format fmt, const struct out_col *cols)
{
	size_t	 c;

	for (c = 0; cols[c].key; c++)
		cells_push(t, xstrdup(fmt == OUT_CSV ? cols[c].key :
		    cols[c].title));
	t->rows++;
}

/* The shown columns of one object. */
static void
cells_row(struct cells *t, json_t *row, const struct out_col *cols)
{
	size_t	 c;

	for (c = 0; cols[c].key; c++)
		cells_push(t, cell(json_object_get(row, cols[c].key)));
	t->rows++;
}

static void
cells_free(struct cells *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Prints the cells, a table padded to each column's widest, and frees
 * them. */
static void
cells_print(FILE *f, enum out_format fmt, const struct out_col *cols,
    struct cells *t)
{
	size_t	 ncols, i, c, *width;

	for (ncols = 0; cols[ncols].key; ncols++)
		;
	if (ncols == 0) {
		for (i = 0; i < t->rows; i++)
			fputc('\n', f);	/* no column: empty lines */
		cells_free(t);
		return;
	}
	width = xcalloc(ncols, sizeof(size_t));
	for (i = 0; i < t->n; i++)
		if (strlen(t->v[i]) > width[i % ncols])
			width[i % ncols] = strlen(t->v[i]);
	for (i = 0; i < t->n; i++) {
		const char *s = t->v[i];

		c = i % ncols;
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
		if (c + 1 == ncols)
			fputc('\n', f);
	}
	free(width);
	cells_free(t);
}

/* Table or CSV: a header line, then one line per object of rows. */
static void
rows_text(FILE *f, enum out_format fmt, json_t *rows,
    const struct out_col *cols)
{
	struct cells	 t = { 0 };
	json_t		*row;
	size_t		 r;

	cells_header(&t, fmt, cols);
	json_array_foreach(rows, r, row) {
		cells_row(&t, row, cols);
	}
	cells_print(f, fmt, cols, &t);
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

/* Table or CSV: key/value lines, then each nested array of objects as a
 * sub-table under its name. */
static void
object_text(FILE *f, enum out_format fmt, json_t *obj)
{
	const char	*k;
	json_t		*v;
	size_t		 w = 0;

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
		s = cell(v);
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
		rows_text(f, fmt, v, cols);
		free(cols);
	}
}


/* ---- a description, call by call ---- */

struct out {
	FILE			*f;
	enum out_format		 fmt;
	enum out_shape		 shape;
	const struct out_col	*cols;
	size_t			 ncols;
	int			 depth;		/* containers open */
	int			 skip;		/* containers open past the limit */
	struct wbuf		*skipped_wb;	/* JSON, while skipping them */
	const char		*key;		/* of the next value */
	/* JSON */
	struct wbuf		*wb;
	int			 pretty;
	size_t			 nth[OUT_MAXDEPTH];	/* values so far */
	unsigned char		 isobj[OUT_MAXDEPTH];
	/* table and CSV: the object being described, and what is held */
	json_t			*open[OUT_MAXDEPTH];
	json_t			*held;		/* the record */
	struct cells		 cells;		/* the rows of a table */
};

static void
j_newline(struct out *o)
{
	int	 i;

	wb_putc(o->wb, '\n');
	for (i = 0; i < o->depth * 2; i++)
		wb_putc(o->wb, ' ');
}

/* What goes before a value: a comma and a line break between the values
 * of an array (an object's keys have had theirs). */
static inline void
j_before(struct out *o)
{
	if (o->depth == 0 || o->isobj[o->depth - 1])
		return;
	if (o->nth[o->depth - 1]++ > 0)
		wb_putc(o->wb, ',');
	if (o->pretty)
		j_newline(o);
}

static void
j_begin(struct out *o, char c)
{
	j_before(o);
	wb_putc(o->wb, c);
	o->nth[o->depth] = 0;
	o->isobj[o->depth] = c == '{';
	o->depth++;
}

static void
j_end(struct out *o, char c)
{
	o->depth--;
	if (o->pretty && o->nth[o->depth] > 0)
		j_newline(o);
	wb_putc(o->wb, c);
}

/* A table row of cell strings (CSV: the line, written now). */
static void
row_done(struct out *o, json_t *row)
{
	size_t	 c;

	if (o->fmt == OUT_CSV) {
		for (c = 0; c < o->ncols; c++) {
			char *v = cell(json_object_get(row, o->cols[c].key));
			if (c)
				fputc(',', o->f);
			csv_cell(o->f, v);
			free(v);
		}
		fputc('\n', o->f);
	} else
		cells_row(&o->cells, row, o->cols);	/* aligned at the end */
}

/* Table and CSV: v joins the object being described (the reference is
 * taken).  A row of OUT_ROWS and OUT_STREAM is laid out when it ends. */
static void
t_add(struct out *o, json_t *v, int container)
{
	json_t	*parent = o->depth > 0 ? o->open[o->depth - 1] : NULL;

	if (o->skip) {
		json_decref(v);
		return;
	}

	if (parent && json_is_object(parent))
		json_object_set_new(parent, o->key ? o->key : "", v);
	else if (parent)
		json_array_append_new(parent, v);
	else if (o->depth == 0 && o->shape == OUT_RECORD && o->held == NULL)
		o->held = v;
	else if (o->depth == 1 && o->shape != OUT_RECORD) {
		if (!container) {
			row_done(o, v);
			json_decref(v);
			return;
		}
	} else {
		json_decref(v);		/* outside what is laid out */
		v = NULL;
	}
	if (container)
		o->open[o->depth++] = v;
}

static void
t_end(struct out *o)
{
	o->depth--;
	if (o->depth == 1 && o->shape != OUT_RECORD && o->open[1]) {
		row_done(o, o->open[1]);
		json_decref(o->open[1]);
	}
	o->open[o->depth] = NULL;
}

struct out *
out_new(FILE *f, enum out_format fmt, enum out_shape shape,
    const struct out_col *cols)
{
	struct out	*o = xcalloc(1, sizeof(*o));
	size_t		 c;

	o->f = f;
	o->fmt = fmt;
	o->shape = shape;
	o->cols = cols;
	for (o->ncols = 0; cols && cols[o->ncols].key; o->ncols++)
		;
	if (fmt == OUT_JSON) {
		o->wb = xmalloc(sizeof(*o->wb));
		o->wb->f = f;
		o->wb->n = 0;
		o->pretty = shape != OUT_STREAM && isatty(fileno(f));
	} else if (shape == OUT_RECORD)
		;
	else if (fmt == OUT_TABLE)
		cells_header(&o->cells, fmt, cols);
	else {
		for (c = 0; c < o->ncols; c++) {
			if (c)
				fputc(',', f);
			csv_cell(f, cols[c].key);
		}
		fputc('\n', f);
	}
	return o;
}

/* Containers nested deeper than OUT_MAXDEPTH are written as null, with
 * everything in them left out. */
static void
begin(struct out *o, char c)
{
	if (o->skip || o->depth == OUT_MAXDEPTH) {
		if (o->skip++ > 0)
			return;
		out_null(o);
		/* What comes until the end goes to t_add, which drops it. */
		o->skipped_wb = o->wb;
		o->wb = NULL;
		return;
	}
	if (o->wb)
		j_begin(o, c);
	else
		t_add(o, c == '{' ? json_object() : json_array(), 1);
}

static void
end(struct out *o, char c)
{
	if (o->skip) {
		if (--o->skip == 0)
			o->wb = o->skipped_wb;
	} else if (o->wb)
		j_end(o, c);
	else
		t_end(o);
}

void
out_begin_object(struct out *o)
{
	begin(o, '{');
}

void
out_end_object(struct out *o)
{
	end(o, '}');
}

void
out_begin_array(struct out *o)
{
	begin(o, '[');
}

void
out_end_array(struct out *o)
{
	end(o, ']');
}

void
out_key(struct out *o, const char *key)
{
	if (o->wb == NULL) {
		o->key = key;
		return;
	}
	if (o->depth > 0 && o->nth[o->depth - 1]++ > 0)
		wb_putc(o->wb, ',');
	if (o->pretty)
		j_newline(o);
	w_str(o->wb, key);
	if (o->pretty)
		wb_write(o->wb, ": ", 2);
	else
		wb_putc(o->wb, ':');
}

void
out_str(struct out *o, const char *s)
{
	if (o->wb == NULL)
		t_add(o, s ? json_string_nocheck(s) : json_null(), 0);
	else {
		j_before(o);
		if (s)
			w_str(o->wb, s);
		else
			wb_write(o->wb, "null", 4);
	}
}

void
out_int(struct out *o, int64_t v)
{
	if (o->wb == NULL)
		t_add(o, json_integer((json_int_t)v), 0);
	else {
		j_before(o);
		w_int(o->wb, v);
	}
}

void
out_real(struct out *o, double v)
{
	if (o->wb == NULL)
		t_add(o, isfinite(v) ? json_real(v) : json_null(), 0);
	else {
		j_before(o);
		w_real(o->wb, v);
	}
}

void
out_bool(struct out *o, int v)
{
	if (o->wb == NULL)
		t_add(o, json_boolean(v), 0);
	else {
		j_before(o);
		if (v)
			wb_write(o->wb, "true", 4);
		else
			wb_write(o->wb, "false", 5);
	}
}

void
out_null(struct out *o)
{
	if (o->wb == NULL)
		t_add(o, json_null(), 0);
	else {
		j_before(o);
		wb_write(o->wb, "null", 4);
	}
}

void
out_kstr(struct out *o, const char *key, const char *s)
{
	out_key(o, key);
	out_str(o, s);
}

void
out_kint(struct out *o, const char *key, int64_t v)
{
	out_key(o, key);
	out_int(o, v);
}

void
out_kbool(struct out *o, const char *key, int v)
{
	out_key(o, key);
	out_bool(o, v);
}

void
out_json(struct out *o, json_t *v)
{
	const char	*k;
	json_t		*e;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		out_begin_object(o);
		json_object_foreach(v, k, e) {
			out_key(o, k);
			out_json(o, e);
		}
		out_end_object(o);
		break;
	case JSON_ARRAY:
		out_begin_array(o);
		json_array_foreach(v, i, e) {
			out_json(o, e);
		}
		out_end_array(o);
		break;
	case JSON_STRING:
		out_str(o, json_string_value(v));
		break;
	case JSON_INTEGER:
		out_int(o, json_integer_value(v));
		break;
	case JSON_REAL:
		out_real(o, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		out_bool(o, json_is_true(v));
		break;
	case JSON_NULL:
	default:
		out_null(o);
		break;
	}
}

void
out_end(struct out *o)
{
	if (o->skip)
		o->wb = o->skipped_wb;
	if (o->wb) {
		wb_putc(o->wb, '\n');
		wb_flush(o->wb);
		free(o->wb);
	} else if (o->shape == OUT_RECORD) {
		if (o->held)
			object_text(o->f, o->fmt, o->held);
	} else if (o->fmt == OUT_TABLE)
		cells_print(o->f, o->fmt, o->cols, &o->cells);
	json_decref(o->held);
	free(o);
}

void
out_abort(struct out *o)
{
	if (o->skip)
		o->wb = o->skipped_wb;
	if (o->shape != OUT_RECORD && o->depth >= 2)
		json_decref(o->open[1]);	/* a row not yet laid out */
	free(o->wb);
	json_decref(o->held);
	cells_free(&o->cells);
	free(o);
}

void
output_rows(FILE *f, enum out_format fmt, json_t *rows,
    const struct out_col *cols)
{
	struct out	*o;

	if (fmt != OUT_JSON) {
		rows_text(f, fmt, rows, cols);
		return;
	}
	o = out_new(f, fmt, OUT_ROWS, cols);
	out_json(o, rows);
	out_end(o);
}

void
output_object(FILE *f, enum out_format fmt, json_t *obj)
{
	struct out	*o;

	if (fmt != OUT_JSON) {
		object_text(f, fmt, obj);
		return;
	}
	o = out_new(f, fmt, OUT_RECORD, NULL);
	out_json(o, obj);
	out_end(o);
}

/* A value as compact JSON text (a table cell that holds an object). */
static char *
json_text(json_t *v)
{
	struct out	*o;
	char		*s = NULL;
	size_t		 len = 0;
	FILE		*f = open_memstream(&s, &len);

	if (f == NULL)
		return xstrdup("");
	o = out_new(f, OUT_JSON, OUT_STREAM, NULL);
	out_json(o, v);
	out_end(o);
	fclose(f);
	if (len > 0 && s[len - 1] == '\n')
		s[len - 1] = '\0';
	return s;
}
