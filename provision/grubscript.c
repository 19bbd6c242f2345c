/*
 * GRUB's script language read into blocks, for grubcfg.c: the lexer
 * (GRUB's quoting: '...' literal; "..." where a backslash escapes $, ",
 * itself and a newline, and variables expand; a backslash outside quotes;
 * ${name} and $name; comments from a word's first #; continued lines)
 * and the parser (commands, if/elif/else/fi, function, menuentry and
 * submenu blocks; for, while and until are refused), every word and
 * block in one arena per parse.  Limits: a word of 4096 bytes and 64
 * pieces, blocks 32 deep.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "provision/grubcfg_int.h"

/* Keeps the first error only: it is the one that stopped the parse. */
int
gp_err(struct gp *p, int line, const char *fmt, ...)
{
	char	 msg[ERR_MSGLEN];
	va_list	 ap;

	if (p->failed)
		return -1;
	p->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		err_set(p->err, ERR_INVAL, "%s:%d: %s", p->in->name, line, msg);
	else
		err_set(p->err, ERR_INVAL, "%s: %s", p->in->name, msg);
	return -1;
}

void *
gp_alloc(struct gp *p, size_t n)
{
	struct blk	*b;
	void		*r;
	size_t		 cap;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
	    sizeof(max_align_t);
	if (p->blk == NULL || p->blk->cap - p->blk->used < n) {
		cap = n > 65536 ? n : 65536;
		b = xmalloc(sizeof(*b) + cap);
		b->next = p->blk;
		b->used = 0;
		b->cap = cap;
		p->blk = b;
	}
	r = (char *)p->blk->data + p->blk->used;
	p->blk->used += n;
	memset(r, 0, n);
	return r;
}

char *
gp_strndup(struct gp *p, const char *s, size_t n)
{
	char	*r = gp_alloc(p, n + 1);

	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

int
gp_in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

void
gp_free(struct gp *p)
{
	struct blk	*b;

	while ((b = p->blk) != NULL) {
		p->blk = b->next;
		free(b);
	}
	free(p->t);
	p->t = NULL;
	p->nt = 0;
}

/* ---- lexer ----------------------------------------------------------- */

static void
add_tok(struct gp *p, int kind, int line, const struct word *w)
{
	static const size_t	 step = 1024;

	if (p->nt % step == 0)
		p->t = xreallocarray(p->t, p->nt + step, sizeof(*p->t));
	memset(&p->t[p->nt], 0, sizeof(p->t[p->nt]));
	p->t[p->nt].kind = kind;
	p->t[p->nt].line = line;
	if (w)
		p->t[p->nt].w = *w;
	p->nt++;
}

struct wbuf {
	struct seg	 seg[SEGS_MAX];
	size_t		 nseg;
	char		 lit[WORD_MAX];
	size_t		 nlit;
	size_t		 total;
	int		 litq;		/* the literal so far was quoted */
	int		 any;		/* a literal piece was started */
};

static int
wb_put(struct gp *p, struct wbuf *wb, char c, int quoted, int line)
{
	if (++wb->total >= WORD_MAX)
		return gp_err(p, line, "a word longer than %d bytes", WORD_MAX);
	wb->lit[wb->nlit++] = c;
	wb->any = 1;
	wb->litq |= quoted;
	return 0;
}

static int
wb_flush(struct gp *p, struct wbuf *wb, int line)
{
	if (!wb->any)
		return 0;
	if (wb->nseg == SEGS_MAX)
		return gp_err(p, line, "a word of more than %d pieces", SEGS_MAX);
	wb->seg[wb->nseg].s = gp_strndup(p, wb->lit, wb->nlit);
	wb->seg[wb->nseg].len = wb->nlit;
	wb->seg[wb->nseg].var = 0;
	wb->seg[wb->nseg].quoted = (unsigned char)wb->litq;
	wb->nseg++;
	wb->nlit = 0;
	wb->any = 0;
	wb->litq = 0;
	return 0;
}

static int
is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* At '$': a variable reference, or a literal '$'. */
static int
lex_var(struct gp *p, struct wbuf *wb, const char **sp, const char *end,
    int quoted, int line)
{
	const char	*s = *sp, *n0, *n1;

	if (s + 1 < end && s[1] == '{') {
		n0 = s + 2;
		for (n1 = n0; n1 < end && *n1 != '}' && *n1 != '\n'; n1++)
			;
		if (n1 >= end || *n1 != '}')
			return gp_err(p, line, "a ${ that is never closed");
		*sp = n1 + 1;
	} else if (s + 1 < end && is_name_start(s[1])) {
		n0 = s + 1;
		for (n1 = n0; n1 < end && is_name_char(*n1); n1++)
			;
		*sp = n1;
	} else if (s + 1 < end && ((s[1] >= '0' && s[1] <= '9') ||
	    strchr("?#@*", s[1]) != NULL)) {
		n0 = s + 1;
		n1 = s + 2;
		*sp = n1;
	} else {
		*sp = s + 1;
		return wb_put(p, wb, '$', quoted, line);
	}
	if (n1 == n0)
		return gp_err(p, line, "${} names no variable");
	if (wb_flush(p, wb, line) == -1)
		return -1;
	if (wb->nseg == SEGS_MAX)
		return gp_err(p, line, "a word of more than %d pieces", SEGS_MAX);
	wb->seg[wb->nseg].s = gp_strndup(p, n0, (size_t)(n1 - n0));
	wb->seg[wb->nseg].len = (size_t)(n1 - n0);
	wb->seg[wb->nseg].var = 1;
	wb->seg[wb->nseg].quoted = (unsigned char)quoted;
	wb->nseg++;
	return 0;
}

int
gp_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int
lex_word(struct gp *p, const char **sp, const char *end, int *line)
{
	struct wbuf	*wb;
	struct word	 w;
	const char	*s = *sp;
	int		 start = *line, rc = -1;

	wb = xcalloc(1, sizeof(*wb));
	memset(&w, 0, sizeof(w));
	w.line = start;
	while (s < end && !gp_is_blank(*s) && *s != '\n' && *s != ';') {
		if (*s == '\0') {
			gp_err(p, *line, "a NUL byte: not a text file");
			goto out;
		}
		if (*s == '\'') {
			w.quoted = 1;
			wb->any = 1;
			wb->litq = 1;
			for (s++; s < end && *s != '\''; s++) {
				if (*s == '\n')
					(*line)++;
				if (*s == '\0' || wb_put(p, wb, *s, 1, *line) == -1) {
					gp_err(p, *line, "a NUL byte: not a text file");
					goto out;
				}
			}
			if (s >= end) {
				gp_err(p, start, "a ' quote that is never closed");
				goto out;
			}
			s++;
		} else if (*s == '"') {
			w.quoted = 1;
			wb->any = 1;
			wb->litq = 1;
			for (s++; s < end && *s != '"';) {
				if (*s == '\\' && s + 1 < end &&
				    strchr("$\"\\\n", s[1]) != NULL) {
					if (s[1] == '\n')
						(*line)++;
					else if (wb_put(p, wb, s[1], 1, *line) == -1)
						goto out;
					s += 2;
				} else if (*s == '$') {
					if (lex_var(p, wb, &s, end, 1, *line) == -1)
						goto out;
				} else {
					if (*s == '\n')
						(*line)++;
					if (*s == '\0') {
						gp_err(p, *line, "a NUL byte: not a "
						    "text file");
						goto out;
					}
					if (wb_put(p, wb, *s, 1, *line) == -1)
						goto out;
					s++;
				}
			}
			if (s >= end) {
				gp_err(p, start, "a \" quote that is never closed");
				goto out;
			}
			s++;
		} else if (*s == '\\') {
			if (s + 1 < end && s[1] == '\n') {
				(*line)++;
				s += 2;
				continue;
			}
			w.quoted = 1;
			if (s + 1 < end && wb_put(p, wb, s[1], 1, *line) == -1)
				goto out;
			s += 2;
		} else if (*s == '$') {
			if (lex_var(p, wb, &s, end, 0, *line) == -1)
				goto out;
		} else {
			if (wb_put(p, wb, *s, 0, *line) == -1)
				goto out;
			s++;
		}
	}
	if (wb_flush(p, wb, *line) == -1)
		goto out;
	w.nseg = wb->nseg;
	w.seg = gp_alloc(p, (wb->nseg ? wb->nseg : 1) * sizeof(*w.seg));
	memcpy(w.seg, wb->seg, wb->nseg * sizeof(*w.seg));
	if (!w.quoted && w.nseg == 1 && !w.seg[0].var && w.seg[0].len == 1 &&
	    (w.seg[0].s[0] == '{' || w.seg[0].s[0] == '}'))
		add_tok(p, w.seg[0].s[0] == '{' ? TK_LBRACE : TK_RBRACE, start,
		    NULL);
	else
		add_tok(p, TK_WORD, start, &w);
	rc = 0;
out:
	free(wb);
	*sp = s > end ? end : s;
	return rc;
}

static int
lex(struct gp *p, const char *s, size_t len)
{
	const char	*end = s + len;
	int		 line = 1;

	while (s < end) {
		if (gp_is_blank(*s))
			s++;
		else if (*s == '\\' && s + 1 < end && s[1] == '\n') {
			s += 2;
			line++;
		} else if (*s == '\n') {
			add_tok(p, TK_SEP, line, NULL);
			s++;
			line++;
		} else if (*s == ';') {
			add_tok(p, TK_SEP, line, NULL);
			s++;
		} else if (*s == '#') {
			while (s < end && *s != '\n')
				s++;
		} else if (lex_word(p, &s, end, &line) == -1)
			return -1;
	}
	add_tok(p, TK_EOF, line, NULL);
	return 0;
}

/* ---- parser ---------------------------------------------------------- */

enum { CTX_TOP, CTX_BRACE, CTX_COND, CTX_BODY };
enum { END_EOF, END_BRACE, END_THEN, END_ELIF, END_ELSE, END_FI };

const char *
gp_word_lit(const struct word *w)
{
	if (w->quoted || w->nseg != 1 || w->seg[0].var)
		return NULL;
	return w->seg[0].s;
}

void
gp_word_text(const struct word *w, char *buf, size_t len)
{
	size_t	 i, n = 0;
	int	 k;

	buf[0] = '\0';
	for (i = 0; i < w->nseg && n < len; i++) {
		k = snprintf(buf + n, len - n, w->seg[i].var ? "${%s}" : "%s",
		    w->seg[i].s);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

struct nvec {
	struct node	**n;
	size_t		  len, cap;
};

static void
nvec_push(struct nvec *v, struct node *n)
{
	if (v->len == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->n = xreallocarray(v->n, v->cap, sizeof(*v->n));
	}
	v->n[v->len++] = n;
}

static void
nvec_take(struct gp *p, struct nvec *v, struct block *b)
{
	b->len = v->len;
	b->n = gp_alloc(p, (v->len ? v->len : 1) * sizeof(*b->n));
	if (v->len)
		memcpy(b->n, v->n, v->len * sizeof(*b->n));
	free(v->n);
	memset(v, 0, sizeof(*v));
}

static int parse_list(struct gp *, int ctx, const char *what, int what_line,
    struct block *, int *end, int depth);

static struct node *
new_node(struct gp *p, int kind, int line)
{
	struct node	*n = gp_alloc(p, sizeof(*n));

	n->kind = kind;
	n->line = line;
	return n;
}

/* Words up to the end of the command (a separator, a brace, the end). */
static struct node *
parse_cmd(struct gp *p)
{
	struct node	*n = new_node(p, N_CMD, p->t[p->pos].line);
	size_t		 first = p->pos, i;
	char		 name[128];

	while (p->t[p->pos].kind == TK_WORD)
		p->pos++;
	if (p->t[p->pos].kind == TK_LBRACE) {
		gp_word_text(&p->t[first].w, name, sizeof(name));
		gp_err(p, p->t[p->pos].line, "a { after %s: only menuentry, "
		    "submenu and function open a block", name);
		return NULL;
	}
	n->nw = p->pos - first;
	n->w = gp_alloc(p, n->nw * sizeof(*n->w));
	for (i = 0; i < n->nw; i++)
		n->w[i] = p->t[first + i].w;
	return n;
}

static struct node *
parse_if(struct gp *p, int depth)
{
	struct node	*n = new_node(p, N_IF, p->t[p->pos].line);
	struct branch	 br[64];
	int		 end, line = n->line;
	size_t		 nbr = 0;

	p->pos++;
	for (;;) {
		if (nbr == sizeof(br) / sizeof(br[0]) - 1) {
			gp_err(p, line, "an if with more than %zu branches",
			    sizeof(br) / sizeof(br[0]) - 1);
			return NULL;
		}
		memset(&br[nbr], 0, sizeof(br[nbr]));
		br[nbr].line = line;
		if (parse_list(p, CTX_COND, "if", n->line, &br[nbr].cond, &end,
		    depth + 1) == -1)
			return NULL;
		if (parse_list(p, CTX_BODY, "if", n->line, &br[nbr].body, &end,
		    depth + 1) == -1)
			return NULL;
		nbr++;
		if (end == END_FI)
			break;
		line = p->t[p->pos - 1].line;
		if (end == END_ELSE) {
			memset(&br[nbr], 0, sizeof(br[nbr]));
			br[nbr].line = line;
			br[nbr].is_else = 1;
			if (parse_list(p, CTX_BODY, "else", line, &br[nbr].body,
			    &end, depth + 1) == -1)
				return NULL;
			nbr++;
			if (end != END_FI) {
				gp_err(p, p->t[p->pos - 1].line, "%s after else",
				    end == END_ELSE ? "else" : "elif");
				return NULL;
			}
			break;
		}
	}
	n->br = gp_alloc(p, nbr * sizeof(*n->br));
	memcpy(n->br, br, nbr * sizeof(*n->br));
	n->nbr = nbr;
	return n;
}

/* function NAME { ... }; menuentry|submenu ARGS... { ... } */
static struct node *
parse_block(struct gp *p, int kind, int depth)
{
	struct node	*n = new_node(p, kind, p->t[p->pos].line);
	const char	*what = kind == N_FUNC ? "function" : kind == N_ENTRY ?
			    "menuentry" : "submenu";
	size_t		 first, i;
	int		 end;

	p->pos++;
	first = p->pos;
	while (p->t[p->pos].kind == TK_WORD)
		p->pos++;
	n->nw = p->pos - first;
	n->w = gp_alloc(p, (n->nw ? n->nw : 1) * sizeof(*n->w));
	for (i = 0; i < n->nw; i++)
		n->w[i] = p->t[first + i].w;
	while (p->t[p->pos].kind == TK_SEP)
		p->pos++;
	if (p->t[p->pos].kind != TK_LBRACE) {
		gp_err(p, n->line, "%s without its {", what);
		return NULL;
	}
	if (kind == N_FUNC && (n->nw != 1 || gp_word_lit(&n->w[0]) == NULL)) {
		gp_err(p, n->line, "function: one name, then {");
		return NULL;
	}
	if (kind != N_FUNC && n->nw == 0) {
		gp_err(p, n->line, "%s without a title", what);
		return NULL;
	}
	p->pos++;
	if (parse_list(p, CTX_BRACE, what, n->line, &n->body, &end,
	    depth + 1) == -1)
		return NULL;
	return n;
}

static int
parse_list(struct gp *p, int ctx, const char *what, int what_line,
    struct block *b, int *end, int depth)
{
	struct nvec	 v = { 0 };
	struct node	*n;
	struct tok	*t;
	const char	*kw;

	if (depth > DEPTH_MAX)
		return gp_err(p, p->t[p->pos].line, "blocks nested deeper than "
		    "%d", DEPTH_MAX);
	for (;;) {
		t = &p->t[p->pos];
		if (t->kind == TK_SEP) {
			p->pos++;
			continue;
		}
		if (t->kind == TK_EOF) {
			if (ctx != CTX_TOP) {
				free(v.n);
				return gp_err(p, what_line, "the %s of this line "
				    "is never closed (%s)", what,
				    ctx == CTX_BRACE ? "no }" : ctx == CTX_COND ?
				    "no then" : "no fi");
			}
			*end = END_EOF;
			break;
		}
		if (t->kind == TK_RBRACE) {
			if (ctx != CTX_BRACE) {
				free(v.n);
				return gp_err(p, t->line, "a } that closes "
				    "nothing%s", ctx == CTX_TOP ? "" :
				    " (an if is still open)");
			}
			p->pos++;
			*end = END_BRACE;
			break;
		}
		if (t->kind == TK_LBRACE) {
			free(v.n);
			return gp_err(p, t->line, "a { that opens no menuentry, "
			    "submenu or function");
		}
		kw = gp_word_lit(&t->w);
		if (kw && (strcmp(kw, "then") == 0 || strcmp(kw, "elif") == 0 ||
		    strcmp(kw, "else") == 0 || strcmp(kw, "fi") == 0)) {
			int k = kw[0] == 't' ? END_THEN : kw[0] == 'f' ? END_FI :
			    kw[2] == 'i' ? END_ELIF : END_ELSE;
			if ((ctx == CTX_COND && k == END_THEN) ||
			    (ctx == CTX_BODY && k != END_THEN)) {
				p->pos++;
				*end = k;
				break;
			}
			free(v.n);
			return gp_err(p, t->line, "%s without its if", kw);
		}
		if (kw && strcmp(kw, "if") == 0)
			n = parse_if(p, depth);
		else if (kw && strcmp(kw, "function") == 0)
			n = parse_block(p, N_FUNC, depth);
		else if (kw && strcmp(kw, "menuentry") == 0)
			n = parse_block(p, N_ENTRY, depth);
		else if (kw && strcmp(kw, "submenu") == 0)
			n = parse_block(p, N_SUBMENU, depth);
		else if (kw && (strcmp(kw, "for") == 0 || strcmp(kw, "while") == 0 ||
		    strcmp(kw, "until") == 0 || strcmp(kw, "do") == 0 ||
		    strcmp(kw, "done") == 0)) {
			free(v.n);
			return gp_err(p, t->line, "%s: loops are not supported "
			    "(castiron could not tell what GRUB boots)", kw);
		} else
			n = parse_cmd(p);
		if (n == NULL) {
			free(v.n);
			return -1;
		}
		nvec_push(&v, n);
	}
	nvec_take(p, &v, b);
	return 0;
}

int
gp_name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || !is_name_start(s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_name_char(s[i]))
			return 0;
	return 1;
}

int
gp_parse(struct gp *p, const char *text, size_t len, struct block *root)
{
	int	 end;

	if (lex(p, text, len) == -1)
		return -1;
	p->pos = 0;
	return parse_list(p, CTX_TOP, "file", 0, root, &end, 0);
}
