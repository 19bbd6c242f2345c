/*
 * The signed catalog's text (images/catalog.h), one format to read, diff
 * and sign:
 *
 *	castiron-catalog 1
 *	serial = 42
 *
 *	[image debian12]
 *	url = https://images.example.net/debian12.img.zst
 *	sha256 = <64 hex digits>
 *	bmap = https://images.example.net/debian12.bmap
 *	bmap_sha256 = <64 hex digits>
 *	min_disk = 2147483648
 *	built_at = 2026-12-01T12:00:00Z
 *
 * The parser is strict because what it accepts decides which bytes are
 * written to disks: every line ends in a newline, no NUL or CR, no key
 * unknown or given twice, no entry without its digests, every value
 * checked, and every error names its line.  "#" lines and blank lines
 * are comments.  The same text is what catalog_format writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/catalog.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define SERIAL_MAX	(1ULL << 62)
#define URL_MAX		2048

struct catalog *
catalog_new(void)
{
	return xcalloc(1, sizeof(struct catalog));
}

static void
entry_clear(struct cat_entry *c)
{
	free(c->img.name);
	free(c->img.url);
	free(c->img.bmap);
	memset(c, 0, sizeof(*c));
}

void
catalog_free(struct catalog *cat)
{
	size_t	 i;

	if (cat == NULL)
		return;
	for (i = 0; i < cat->n; i++)
		entry_clear(&cat->ent[i]);
	free(cat->ent);
	free(cat);
}

struct cat_entry *
catalog_find(const struct catalog *cat, const char *name)
{
	size_t	 i;

	for (i = 0; i < cat->n; i++)
		if (strcmp(cat->ent[i].img.name, name) == 0)
			return &cat->ent[i];
	return NULL;
}

int
catalog_remove(struct catalog *cat, const char *name)
{
	struct cat_entry	*d;
	size_t			 i;

	if ((d = catalog_find(cat, name)) == NULL)
		return -1;
	i = (size_t)(d - cat->ent);
	entry_clear(d);
	memmove(d, d + 1, (cat->n - i - 1) * sizeof(*d));
	cat->n--;
	return 0;
}

void
catalog_put(struct catalog *cat, const struct cat_entry *src)
{
	struct cat_entry	*d;

	if ((d = catalog_find(cat, src->img.name)) != NULL)
		entry_clear(d);
	else {
		cat->ent = xreallocarray(cat->ent, cat->n + 1, sizeof(*cat->ent));
		d = &cat->ent[cat->n++];
	}
	*d = *src;
	d->img.name = xstrdup(src->img.name);
	d->img.url = xstrdup(src->img.url);
	d->img.bmap = src->img.bmap ? xstrdup(src->img.bmap) : NULL;
}

/* A URL castiron's fetcher takes: http, https or file, printable ASCII
 * without spaces. */
static enum err_code
check_url(const char *v, struct err *m)
{
	const char	*p;

	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0 &&
	    strncmp(v, "file://", 7) != 0)
		return err_set(m, ERR_INVAL, "'%.80s' is not an http://, "
		    "https:// or file:// URL", v);
	if (strlen(v) > URL_MAX)
		return err_set(m, ERR_INVAL, "URL longer than %d bytes",
		    URL_MAX);
	for (p = v; *p; p++)
		if (*p <= ' ' || *p > '~')
			return err_set(m, ERR_INVAL, "the URL holds a space or "
			    "a non-printable byte");
	return ERR_OK;
}

/* YYYY-MM-DDTHH:MM:SSZ, fields in range. */
static int
check_time(const char *v)
{
	static const char	 pat[] = "dddd-dd-ddTdd:dd:ddZ";
	unsigned		 mo, d, h, mi, s;
	size_t			 i;

	if (strlen(v) != sizeof(pat) - 1)
		return -1;
	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != pat[i])
			return -1;
#define TWO(o)	((unsigned)(v[o] - '0') * 10 + (unsigned)(v[o + 1] - '0'))
	mo = TWO(5); d = TWO(8); h = TWO(11); mi = TWO(14); s = TWO(17);
#undef TWO
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -1;
	return 0;
}

enum ekey { K_URL, K_SHA256, K_BMAP, K_BMAP_SHA256, K_MIN_DISK, K_BUILT_AT,
	K_N };
static const char *const ekeys[K_N] = { "url", "sha256", "bmap",
	"bmap_sha256", "min_disk", "built_at" };

struct pstate {
	const char		*name;
	struct err		*e;
	struct catalog		*cat;
	struct cat_entry	*cur;		/* the entry being read */
	int			 seen[K_N];	/* line of each key, 0: not yet */
	int			 serial_line;
	int			 magic;
};

#define PERR(ln, ...)	do {						\
	err_set(ps->e, ERR_INVAL, __VA_ARGS__);				\
	err_prefix(ps->e, "%s: line %d", ps->name, (ln));		\
	return -1;							\
} while (0)

/* The entry just ended has what every entry needs. */
static int
entry_end(struct pstate *ps)
{
	struct cat_entry	*c = ps->cur;

	if (c == NULL)
		return 0;
	if (!ps->seen[K_URL])
		PERR(c->img.line, "[image %s]: url is missing", c->img.name);
	if (!ps->seen[K_SHA256])
		PERR(c->img.line, "[image %s]: sha256 is missing", c->img.name);
	if (!ps->seen[K_BUILT_AT])
		PERR(c->img.line, "[image %s]: built_at is missing", c->img.name);
	if (ps->seen[K_BMAP] && !ps->seen[K_BMAP_SHA256])
		PERR(c->img.line, "[image %s]: bmap_sha256 is missing (a catalog "
		    "pins every bmap)", c->img.name);
	if (ps->seen[K_BMAP_SHA256] && !ps->seen[K_BMAP])
		PERR(ps->seen[K_BMAP_SHA256], "[image %s]: bmap_sha256 without "
		    "a bmap", c->img.name);
	ps->cur = NULL;
	return 0;
}

static int
section(struct pstate *ps, int ln, const char *line, size_t len)
{
	char		 name[128];
	struct err	 m;
	size_t		 nlen;

	if (len < 9 || strncmp(line, "[image ", 7) != 0 || line[len - 1] != ']')
		PERR(ln, "expected \"[image NAME]\"");
	nlen = len - 8;
	if (nlen >= sizeof(name))
		PERR(ln, "image name longer than %zu bytes", sizeof(name) - 1);
	memcpy(name, line + 7, nlen);
	name[nlen] = '\0';
	if (valid_name(name, &m) != ERR_OK)
		PERR(ln, "image name: %s", m.msg);
	if (!ps->magic || ps->serial_line == 0)
		PERR(ln, "[image %s] before the \"%s\" and serial lines", name,
		    CATALOG_MAGIC);
	if (entry_end(ps) == -1)
		return -1;
	if (catalog_find(ps->cat, name) != NULL)
		PERR(ln, "[image %s] given twice (first at line %d)", name,
		    catalog_find(ps->cat, name)->img.line);
	if (ps->cat->n >= CATALOG_ENTRIESMAX)
		PERR(ln, "more than %d images", CATALOG_ENTRIESMAX);
	ps->cat->ent = xreallocarray(ps->cat->ent, ps->cat->n + 1,
	    sizeof(*ps->cat->ent));
	ps->cur = &ps->cat->ent[ps->cat->n++];
	memset(ps->cur, 0, sizeof(*ps->cur));
	ps->cur->img.name = xstrdup(name);
	ps->cur->img.line = ln;
	memset(ps->seen, 0, sizeof(ps->seen));
	return 0;
}

static int
keyval(struct pstate *ps, int ln, const char *key, const char *v)
{
	struct cat_entry	*c = ps->cur;
	struct err		 m;
	int			 k;

	if (c == NULL) {
		if (strcmp(key, "serial") != 0)
			PERR(ln, "unknown key '%.64s' (before any [image NAME] "
			    "only serial)", key);
		if (ps->serial_line)
			PERR(ln, "serial given twice (first at line %d)",
			    ps->serial_line);
		if (parse_uint(v, 1, SERIAL_MAX, &ps->cat->serial,
		    &m) != ERR_OK)
			PERR(ln, "serial: %s", m.msg);
		ps->serial_line = ln;
		return 0;
	}
	for (k = 0; k < K_N; k++)
		if (strcmp(key, ekeys[k]) == 0)
			break;
	if (k == K_N)
		PERR(ln, "[image %s]: unknown key '%.64s'", c->img.name, key);
	if (ps->seen[k])
		PERR(ln, "[image %s]: %s given twice (first at line %d)",
		    c->img.name, key, ps->seen[k]);
	ps->seen[k] = ln;
	switch (k) {
	case K_URL:
	case K_BMAP:
		if (check_url(v, &m) != ERR_OK)
			PERR(ln, "[image %s]: %s: %s", c->img.name, key, m.msg);
		*(k == K_URL ? &c->img.url : &c->img.bmap) = xstrdup(v);
		break;
	case K_SHA256:
	case K_BMAP_SHA256:
		if (parse_sha256_hex(v, k == K_SHA256 ? c->img.sha256 :
		    c->img.bmap_sha256, &m) != ERR_OK)
			PERR(ln, "[image %s]: %s: %s", c->img.name, key, m.msg);
		break;
	case K_MIN_DISK:
		if (parse_uint(v, 0, 1ULL << 50, &c->img.min_disk,
		    &m) != ERR_OK)
			PERR(ln, "[image %s]: min_disk (bytes): %s", c->img.name,
			    m.msg);
		break;
	case K_BUILT_AT:
		if (check_time(v) == -1)
			PERR(ln, "[image %s]: built_at: '%.40s' is not "
			    "YYYY-MM-DDTHH:MM:SSZ", c->img.name, v);
		memcpy(c->built_at, v, sizeof(c->built_at) - 1);
		break;
	}
	return 0;
}

static int
one_line(struct pstate *ps, int ln, const char *line, size_t len)
{
	char		 key[32], val[CATALOG_LINEMAX];
	const char	*eq, *p, *q;
	size_t		 klen;

	if (!ps->magic) {
		if (len != strlen(CATALOG_MAGIC) ||
		    memcmp(line, CATALOG_MAGIC, len) != 0)
			PERR(ln, "not a castiron catalog (the first line must be "
			    "\"%s\")", CATALOG_MAGIC);
		ps->magic = 1;
		return 0;
	}
	if (len == 0 || line[0] == '#')
		return 0;
	if (line[0] == '[')
		return section(ps, ln, line, len);
	if ((eq = memchr(line, '=', len)) == NULL)
		PERR(ln, "expected \"key = value\" or \"[image NAME]\"");
	for (q = eq; q > line && q[-1] == ' '; q--)
		;
	klen = (size_t)(q - line);
	if (klen == 0 || klen >= sizeof(key))
		PERR(ln, "expected \"key = value\"");
	for (p = line; p < q; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			PERR(ln, "a key is lower-case letters, digits and '_'");
	memcpy(key, line, klen);
	key[klen] = '\0';
	for (p = eq + 1; p < line + len && *p == ' '; p++)
		;
	if (p == line + len)
		PERR(ln, "%s: empty value", key);
	if (line[len - 1] == ' ' || line[len - 1] == '\t')
		PERR(ln, "%s: trailing white space", key);
	memcpy(val, p, (size_t)(line + len - p));
	val[line + len - p] = '\0';
	return keyval(ps, ln, key, val);
}

struct catalog *
catalog_parse(const char *buf, size_t len, const char *name, struct err *e)
{
	struct pstate	 ps = { name, e, catalog_new(), NULL, { 0 }, 0, 0 };
	const char	*p = buf, *end = buf + len, *nl;
	int		 ln = 0;
	size_t		 i;

	if (len > CATALOG_MAX) {
		err_set(e, ERR_INVAL, "%s: larger than %d bytes", name,
		    CATALOG_MAX);
		goto bad;
	}
	while (p < end) {
		ln++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			err_set(e, ERR_INVAL, "%s: line %d: truncated (no "
			    "newline at the end)", name, ln);
			goto bad;
		}
		if ((size_t)(nl - p) >= CATALOG_LINEMAX) {
			err_set(e, ERR_INVAL, "%s: line %d: longer than %d "
			    "bytes", name, ln, CATALOG_LINEMAX - 1);
			goto bad;
		}
		for (i = 0; p + i < nl; i++)
			if (p[i] == '\0' || p[i] == '\r' ||
			    (p[i] < ' ' && p[i] != '\t') || p[i] == 0x7f) {
				err_set(e, ERR_INVAL, "%s: line %d: a control "
				    "byte (0x%02x) at column %zu", name, ln,
				    (unsigned char)p[i], i + 1);
				goto bad;
			}
		if (one_line(&ps, ln, p, (size_t)(nl - p)) == -1)
			goto bad;
		p = nl + 1;
	}
	if (!ps.magic) {
		err_set(e, ERR_INVAL, "%s: empty: not a castiron catalog", name);
		goto bad;
	}
	if (ps.serial_line == 0) {
		err_set(e, ERR_INVAL, "%s: no serial line", name);
		goto bad;
	}
	if (entry_end(&ps) == -1)
		goto bad;
	return ps.cat;
bad:
	catalog_free(ps.cat);
	return NULL;
}

char *
catalog_format(const struct catalog *cat, size_t *len)
{
	char	*out, *add;
	size_t	 i, n, cap, l;

	cap = 256;
	out = xmalloc(cap);
	n = (size_t)snprintf(out, cap, "%s\n# Written by castiron image "
	    "publish; the signature covers every byte.\nserial = %llu\n",
	    CATALOG_MAGIC, (unsigned long long)cat->serial);
	for (i = 0; i < cat->n; i++) {
		const struct cat_entry *c = &cat->ent[i];
		add = xsprintf("\n[image %s]\nurl = %s\nsha256 = %s\n%s%s%s"
		    "%s%s%smin_disk = %llu\nbuilt_at = %s\n", c->img.name, c->img.url,
		    c->img.sha256, c->img.bmap ? "bmap = " : "", c->img.bmap ? c->img.bmap : "",
		    c->img.bmap ? "\n" : "", c->img.bmap ? "bmap_sha256 = " : "",
		    c->img.bmap ? c->img.bmap_sha256 : "", c->img.bmap ? "\n" : "",
		    (unsigned long long)c->img.min_disk, c->built_at);
		l = strlen(add);
		if (n + l + 1 > cap) {
			cap = (n + l + 1) * 2;
			out = xreallocarray(out, cap, 1);
		}
		memcpy(out + n, add, l + 1);
		n += l;
		free(add);
	}
	*len = n;
	return out;
}
