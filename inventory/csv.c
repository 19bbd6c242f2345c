/*
 * RFC 4180 CSV records for `inventory import`.  The operator's CSV comes
 * from a spreadsheet as often as from a script, so this accepts what
 * spreadsheets write (quoted fields, doubled quotes, CRLF, a BOM) and
 * refuses, with the line, what is ambiguous (a quote inside an unquoted
 * field, text after a closing quote, an unterminated quote).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/csv.h"
#include "lib/xmalloc.h"

/* Records a malformed record's line and reason. */
static void __attribute__((format(printf, 4, 5)))
bad(struct csv *c, int line, struct err *err, const char *fmt, ...)
{
	va_list	 ap;

	c->errline = line;
	va_start(ap, fmt);
	err_vset(err, ERR_INVAL, fmt, ap);
	va_end(ap);
}

void
csv_init(struct csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = data;
	c->end = data + len;
	c->line = 1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		c->p += 3;
}

void
csv_release(struct csv *c)
{
	free(c->buf);
	c->buf = NULL;
	c->bufsz = 0;
}

/* Skips to just after the end of the current line (error recovery). */
static void
skip_line(struct csv *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

int
csv_next(struct csv *c, struct err *err)
{
	size_t		 off = 0, fstart = 0;
	int		 quoted;

	/* Skip blank lines. */
	for (;;) {
		if (c->p >= c->end)
			return 0;
		if (*c->p == '\n') {
			c->p++;
			c->line++;
		} else if (*c->p == '\r' && c->p + 1 < c->end &&
		    c->p[1] == '\n') {
			c->p += 2;
			c->line++;
		} else
			break;
	}
	/* Each record needs at most its own length plus a NUL per field. */
	if (c->bufsz < (size_t)CSV_MAXFIELDS * (CSV_MAXFIELD + 1)) {
		c->bufsz = (size_t)CSV_MAXFIELDS * (CSV_MAXFIELD + 1);
		c->buf = xreallocarray(c->buf, c->bufsz, 1);
	}
	c->recline = c->line;
	c->nfields = 0;
	for (;;) {
		if (c->nfields >= CSV_MAXFIELDS) {
			bad(c, c->recline, err, "more than %d fields",
			    CSV_MAXFIELDS);
			skip_line(c);
			return -1;
		}
		fstart = off;
		quoted = 0;
		if (c->p < c->end && *c->p == '"') {
			quoted = 1;
			c->p++;
		}
		for (;;) {
			char	 ch;

			if (c->p >= c->end) {
				if (quoted) {
					bad(c, c->recline, err, "quoted field "
					    "not closed before the end of the "
					    "file");
					return -1;
				}
				break;
			}
			ch = *c->p;
			if (quoted) {
				if (ch == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						c->p += 2;
						ch = '"';
					} else {
						c->p++;
						quoted = 2;	/* closed */
						break;
					}
				} else {
					if (ch == '\n')
						c->line++;
					c->p++;
				}
			} else {
				if (ch == ',' || ch == '\n' || (ch == '\r' &&
				    c->p + 1 < c->end && c->p[1] == '\n'))
					break;
				if (ch == '"') {
					bad(c, c->line, err, "field %zu has a "
					    "quote but is not quoted (write "
					    "\"...\" with doubled quotes "
					    "inside)", c->nfields + 1);
					skip_line(c);
					return -1;
				}
				if (ch == '\r') {
					bad(c, c->line, err, "stray carriage "
					    "return");
					skip_line(c);
					return -1;
				}
				c->p++;
			}
			if (ch == '\0') {
				bad(c, c->line, err, "NUL byte in "
				    "field %zu", c->nfields + 1);
				skip_line(c);
				return -1;
			}
			if (off - fstart >= CSV_MAXFIELD) {
				bad(c, c->recline, err, "field %zu is longer "
				    "than %d bytes", c->nfields + 1,
				    CSV_MAXFIELD);
				skip_line(c);
				return -1;
			}
			c->buf[off++] = ch;
		}
		c->buf[off++] = '\0';
		c->field[c->nfields++] = c->buf + fstart;
		if (c->p >= c->end)
			break;
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		if (*c->p == '\n') {
			c->p++;
			c->line++;
			break;
		}
		if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') {
			c->p += 2;
			c->line++;
			break;
		}
		/* Only after a closing quote: text follows it. */
		bad(c, c->line, err, "text after the closing quote "
		    "of field %zu", c->nfields);
		skip_line(c);
		return -1;
	}
	return 1;
}
