/*
 * bmaptool's block map files (format 2.0).  The parser is a strict,
 * bounded reader for exactly the XML bmaptool writes: a prolog, comments,
 * the <bmap> element with its leaf elements and a <BlockMap> of <Range>s.
 * Nothing is trusted before it is checked: the file's own checksum, the
 * sizes and counts against each other, and the ranges for order, overlap
 * and bounds.  The writer reproduces `bmaptool create`'s layout, and the
 * creator maps a sparse file with SEEK_DATA/SEEK_HOLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/bmap.h"
#include "lib/file.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define BMAP_MAX_IMAGE	(1ULL << 50)
#define BMAP_MAX_ATTRS	4

struct px {
	const char	*base, *p, *end;
	const char	*name;
	struct err	*err;
	int		 failed;
};

struct attr {
	const char	*name, *val;
	size_t		 nlen, vlen;
};

static int
px_fail(struct px *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
px_fail(struct px *x, const char *fmt, ...)
{
	va_list		 ap;
	unsigned long	 line = 1;
	const char	*q;

	if (x->failed)
		return -1;
	x->failed = 1;
	for (q = x->base; q < x->p && q < x->end; q++)
		if (*q == '\n')
			line++;
	va_start(ap, fmt);
	err_vset(x->err, ERR_FAIL, fmt, ap);
	va_end(ap);
	err_prefix(x->err, "%s: line %lu", x->name, line);
	return -1;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
starts(const struct px *x, const char *s)
{
	size_t	 n = strlen(s);

	return (size_t)(x->end - x->p) >= n && memcmp(x->p, s, n) == 0;
}

/* Skips white space, comments and processing instructions. */
static int
skip_misc(struct px *x)
{
	const char	*q;

	for (;;) {
		while (x->p < x->end && is_ws(*x->p))
			x->p++;
		if (starts(x, "<!--")) {
			q = memmem(x->p + 4, (size_t)(x->end - x->p - 4), "-->", 3);
			if (q == NULL)
				return px_fail(x, "unterminated comment");
			x->p = q + 3;
		} else if (starts(x, "<?")) {
			q = memmem(x->p + 2, (size_t)(x->end - x->p - 2), "?>", 2);
			if (q == NULL)
				return px_fail(x, "unterminated <? ?>");
			x->p = q + 2;
		} else if (starts(x, "<!")) {
			return px_fail(x, "DOCTYPE and CDATA are not allowed "
			    "in a bmap");
		} else
			return 0;
	}
}

static int
is_namech(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':' ||
	    c == '.';
}

/*
 * Reads "<Name attr="v" ...>" at x->p.  Returns 0 with the name and
 * attributes, or -1.  A self-closing tag ("/>") is refused: nothing in a
 * bmap is empty.
 */
static int
read_open(struct px *x, const char **name, size_t *nlen, struct attr *at,
    int *nat)
{
	char	 q;

	*nat = 0;
	if (x->p >= x->end || *x->p != '<')
		return px_fail(x, "expected an element");
	x->p++;
	*name = x->p;
	while (x->p < x->end && is_namech(*x->p))
		x->p++;
	*nlen = (size_t)(x->p - *name);
	if (*nlen == 0 || *nlen > 64)
		return px_fail(x, "bad element name");
	for (;;) {
		while (x->p < x->end && is_ws(*x->p))
			x->p++;
		if (x->p >= x->end)
			return px_fail(x, "unterminated tag <%.*s",
			    (int)*nlen, *name);
		if (*x->p == '>') {
			x->p++;
			return 0;
		}
		if (*x->p == '/')
			return px_fail(x, "empty element <%.*s/>",
			    (int)*nlen, *name);
		if (*nat == BMAP_MAX_ATTRS)
			return px_fail(x, "too many attributes in <%.*s>",
			    (int)*nlen, *name);
		at[*nat].name = x->p;
		while (x->p < x->end && is_namech(*x->p))
			x->p++;
		at[*nat].nlen = (size_t)(x->p - at[*nat].name);
		if (at[*nat].nlen == 0 || x->p + 2 > x->end || *x->p != '=' ||
		    (x->p[1] != '"' && x->p[1] != '\''))
			return px_fail(x, "bad attribute in <%.*s>",
			    (int)*nlen, *name);
		q = x->p[1];
		x->p += 2;
		at[*nat].val = x->p;
		while (x->p < x->end && *x->p != q && *x->p != '<' &&
		    *x->p != '&')
			x->p++;
		if (x->p >= x->end || *x->p != q)
			return px_fail(x, "bad attribute value in <%.*s>",
			    (int)*nlen, *name);
		at[*nat].vlen = (size_t)(x->p - at[*nat].val);
		x->p++;
		(*nat)++;
	}
}

/* Reads text up to "</name>", trimmed; refuses markup and entities. */
static int
read_text(struct px *x, const char *name, size_t nlen, const char **txt,
    size_t *tlen)
{
	const char	*s = x->p, *e;

	while (x->p < x->end && *x->p != '<' && *x->p != '&')
		x->p++;
	if (x->p >= x->end || *x->p != '<')
		return px_fail(x, "bad text in <%.*s>", (int)nlen, name);
	e = x->p;
	if ((size_t)(x->end - x->p) < nlen + 3 || x->p[1] != '/' ||
	    memcmp(x->p + 2, name, nlen) != 0 || x->p[2 + nlen] != '>')
		return px_fail(x, "expected </%.*s>", (int)nlen, name);
	x->p += nlen + 3;
	while (s < e && is_ws(*s))
		s++;
	while (e > s && is_ws(e[-1]))
		e--;
	*txt = s;
	*tlen = (size_t)(e - s);
	return 0;
}

static int
num(struct px *x, const char *what, const char *s, size_t len, uint64_t max,
    uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 20)
		return px_fail(x, "%s: not a number", what);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return px_fail(x, "%s: not a number: \"%.*s\"", what,
			    (int)(len > 24 ? 24 : len), s);
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return px_fail(x, "%s: number too large", what);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return px_fail(x, "%s: %llu is out of range", what,
		    (unsigned long long)v);
	*out = v;
	return 0;
}

static int
name_is(const char *n, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(n, s, len) == 0;
}

static int
parse_range(struct px *x, struct bmap *b, size_t *cap, const struct attr *at,
    int nat)
{
	const char		*t, *dash;
	size_t			 tl;
	struct bmap_range	*r;
	const char		*sum = NULL;
	size_t			 sumlen = 0;
	int			 i;

	for (i = 0; i < nat; i++) {
		if (name_is(at[i].name, at[i].nlen, "chksum")) {
			sum = at[i].val;
			sumlen = at[i].vlen;
		} else
			return px_fail(x, "unknown attribute \"%.*s\" in "
			    "<Range>", (int)at[i].nlen, at[i].name);
	}
	if (read_text(x, "Range", 5, &t, &tl) == -1)
		return -1;
	if (b->n >= BMAP_MAX_RANGES)
		return px_fail(x, "more than %u ranges", BMAP_MAX_RANGES);
	if (b->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		b->r = xreallocarray(b->r, *cap, sizeof(*b->r));
	}
	r = &b->r[b->n];
	dash = memchr(t, '-', tl);
	if (dash != NULL) {
		const char *a = t, *ae = dash, *c = dash + 1, *ce = t + tl;
		while (ae > a && is_ws(ae[-1]))
			ae--;
		while (c < ce && is_ws(*c))
			c++;
		if (num(x, "Range", a, (size_t)(ae - a), UINT64_MAX,
		    &r->first) == -1 || num(x, "Range", c, (size_t)(ce - c),
		    UINT64_MAX, &r->last) == -1)
			return -1;
	} else {
		if (num(x, "Range", t, tl, UINT64_MAX, &r->first) == -1)
			return -1;
		r->last = r->first;
	}
	if (r->first > r->last)
		return px_fail(x, "range %llu-%llu: first block after the last",
		    (unsigned long long)r->first, (unsigned long long)r->last);
	if (sum == NULL)
		return px_fail(x, "range %llu-%llu has no chksum",
		    (unsigned long long)r->first, (unsigned long long)r->last);
	if (img_unhex(sum, sumlen, r->sha256) == -1)
		return px_fail(x, "range %llu-%llu: chksum is not a sha256",
		    (unsigned long long)r->first, (unsigned long long)r->last);
	b->n++;
	return 0;
}

enum { F_SIZE, F_BS, F_BLOCKS, F_MAPPED, F_CSTYPE, F_CSUM, F_MAP, F_N };

static const char *const field_names[F_N] = {
	"ImageSize", "BlockSize", "BlocksCount", "MappedBlocksCount",
	"ChecksumType", "BmapFileChecksum", "BlockMap",
};

static int
parse_body(struct px *x, struct bmap *b, const char **csum)
{
	const char	*n, *t;
	size_t		 nl, tl, cap = 0;
	struct attr	 at[BMAP_MAX_ATTRS];
	int		 nat, seen[F_N] = { 0 }, f, i;

	for (;;) {
		if (skip_misc(x) == -1)
			return -1;
		if (starts(x, "</bmap>")) {
			x->p += 7;
			break;
		}
		if (read_open(x, &n, &nl, at, &nat) == -1)
			return -1;
		for (f = 0; f < F_N; f++)
			if (name_is(n, nl, field_names[f]))
				break;
		if (f == F_N)
			return px_fail(x, "unknown element <%.*s>", (int)nl, n);
		if (seen[f]++)
			return px_fail(x, "<%s> given twice", field_names[f]);
		if (nat != 0)
			return px_fail(x, "<%s> takes no attributes",
			    field_names[f]);
		if (f == F_MAP) {
			for (;;) {
				if (skip_misc(x) == -1)
					return -1;
				if (starts(x, "</BlockMap>")) {
					x->p += 11;
					break;
				}
				if (read_open(x, &n, &nl, at, &nat) == -1)
					return -1;
				if (!name_is(n, nl, "Range"))
					return px_fail(x, "unknown element "
					    "<%.*s> in <BlockMap>", (int)nl, n);
				if (parse_range(x, b, &cap, at, nat) == -1)
					return -1;
			}
			continue;
		}
		if (read_text(x, field_names[f], strlen(field_names[f]), &t,
		    &tl) == -1)
			return -1;
		switch (f) {
		case F_SIZE:
			if (num(x, "ImageSize", t, tl, BMAP_MAX_IMAGE,
			    &b->image_size) == -1)
				return -1;
			break;
		case F_BS:
			if (num(x, "BlockSize", t, tl, 1u << 26,
			    &b->block_size) == -1)
				return -1;
			break;
		case F_BLOCKS:
			if (num(x, "BlocksCount", t, tl, BMAP_MAX_IMAGE,
			    &b->blocks) == -1)
				return -1;
			break;
		case F_MAPPED:
			if (num(x, "MappedBlocksCount", t, tl, BMAP_MAX_IMAGE,
			    &b->mapped) == -1)
				return -1;
			break;
		case F_CSTYPE:
			if (!(tl == 6 && memcmp(t, "sha256", 6) == 0))
				return px_fail(x, "ChecksumType \"%.*s\" is not "
				    "supported (only sha256)",
				    (int)(tl > 16 ? 16 : tl), t);
			break;
		case F_CSUM:
			if (tl != 2 * SHA256_LEN)
				return px_fail(x, "BmapFileChecksum is not a "
				    "sha256");
			*csum = t;
			break;
		}
	}
	for (i = 0; i < F_N; i++)
		if (!seen[i])
			return px_fail(x, "<%s> is missing", field_names[i]);
	return 0;
}

static int
check_bmap(struct px *x, const struct bmap *b)
{
	uint64_t	 sum = 0;
	size_t		 i;

	if (b->image_size == 0)
		return px_fail(x, "ImageSize is 0");
	if (b->block_size < 512 || (b->block_size & (b->block_size - 1)))
		return px_fail(x, "BlockSize %llu is not a power of two "
		    ">= 512", (unsigned long long)b->block_size);
	if (b->blocks != (b->image_size + b->block_size - 1) / b->block_size)
		return px_fail(x, "BlocksCount %llu does not match ImageSize "
		    "%llu with BlockSize %llu", (unsigned long long)b->blocks,
		    (unsigned long long)b->image_size,
		    (unsigned long long)b->block_size);
	for (i = 0; i < b->n; i++) {
		if (b->r[i].last >= b->blocks)
			return px_fail(x, "range %llu-%llu ends past the image "
			    "(%llu blocks)", (unsigned long long)b->r[i].first,
			    (unsigned long long)b->r[i].last,
			    (unsigned long long)b->blocks);
		if (i > 0 && b->r[i].first <= b->r[i - 1].last)
			return px_fail(x, "range %llu-%llu overlaps or precedes "
			    "range %llu-%llu", (unsigned long long)b->r[i].first,
			    (unsigned long long)b->r[i].last,
			    (unsigned long long)b->r[i - 1].first,
			    (unsigned long long)b->r[i - 1].last);
		sum += b->r[i].last - b->r[i].first + 1;
	}
	if (sum != b->mapped)
		return px_fail(x, "MappedBlocksCount %llu, but the ranges map "
		    "%llu blocks", (unsigned long long)b->mapped,
		    (unsigned long long)sum);
	return 0;
}

static int
check_sum(struct px *x, const char *csum)
{
	const char	*at;
	uint8_t		 want[SHA256_LEN], got[SHA256_LEN];
	char		 hex[2 * SHA256_LEN + 1];
	struct img_sha	*sha;
	static const char zeros[2 * SHA256_LEN + 1] =
	    "0000000000000000000000000000000000000000000000000000000000000000";

	x->p = csum;
	if (img_unhex(csum, 2 * SHA256_LEN, want) == -1)
		return px_fail(x, "BmapFileChecksum is not hex");
	/* As bmaptool does: the first occurrence of the value is zeroed. */
	at = memmem(x->base, (size_t)(x->end - x->base), csum, 2 * SHA256_LEN);
	sha = img_sha_new();
	img_sha_update(sha, x->base, (size_t)(at - x->base));
	img_sha_update(sha, zeros, 2 * SHA256_LEN);
	img_sha_update(sha, at + 2 * SHA256_LEN,
	    (size_t)(x->end - at - 2 * SHA256_LEN));
	img_sha_final(sha, got);
	img_sha_free(sha);
	if (memcmp(want, got, SHA256_LEN) != 0) {
		img_hex(got, hex);
		return px_fail(x, "BmapFileChecksum mismatch: the file says "
		    "%.64s, its content hashes to %s", csum, hex);
	}
	return 0;
}

struct bmap *
bmap_parse(const char *buf, size_t len, const char *name, struct err *err)
{
	struct px	 x = { buf, buf, buf + len, name, err, 0 };
	struct bmap	*b;
	const char	*n, *csum = NULL, *ver = NULL;
	size_t		 nl, vlen = 0;
	struct attr	 at[BMAP_MAX_ATTRS];
	int		 nat, i;

	b = xcalloc(1, sizeof(*b));
	if (len > BMAP_MAX_FILE) {
		px_fail(&x, "larger than %u bytes", BMAP_MAX_FILE);
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		x.p = memchr(buf, '\0', len);
		px_fail(&x, "NUL byte in the file");
		goto fail;
	}
	if (skip_misc(&x) == -1 || read_open(&x, &n, &nl, at, &nat) == -1)
		goto fail;
	if (!name_is(n, nl, "bmap")) {
		px_fail(&x, "not a bmap file (root element <%.*s>)",
		    (int)(nl > 32 ? 32 : nl), n);
		goto fail;
	}
	for (i = 0; i < nat; i++)
		if (name_is(at[i].name, at[i].nlen, "version")) {
			ver = at[i].val;
			vlen = at[i].vlen;
		}
	if (ver == NULL || !((vlen >= 2 && memcmp(ver, "2.", 2) == 0) ||
	    (vlen == 3 && memcmp(ver, "1.4", 3) == 0))) {
		px_fail(&x, "bmap version %.*s is not supported (2.0 is; "
		    "recreate the bmap with bmaptool create)",
		    ver ? (int)(vlen > 16 ? 16 : vlen) : 4,
		    ver ? ver : "none");
		goto fail;
	}
	if (parse_body(&x, b, &csum) == -1 || skip_misc(&x) == -1)
		goto fail;
	if (x.p != x.end) {
		px_fail(&x, "content after </bmap>");
		goto fail;
	}
	if (check_bmap(&x, b) == -1 || check_sum(&x, csum) == -1)
		goto fail;
	return b;
fail:
	bmap_free(b);
	return NULL;
}

struct bmap *
bmap_load(const char *path, struct err *err)
{
	return bmap_load_pinned(path, NULL, err);
}

struct bmap *
bmap_load_pinned(const char *path, const char *sha256, struct err *err)
{
	uint8_t		 d[SHA256_LEN];
	char		 got_hex[2 * SHA256_LEN + 1];
	struct bmap	*b;
	char		*buf;
	size_t		 got = 0;

	if ((buf = file_read_small(path, BMAP_MAX_FILE, &got, err)) == NULL)
		return NULL;
	/* The pin first: a bmap that is not the one pinned is not parsed. */
	if (sha256 != NULL && *sha256 != '\0') {
		img_sha256(buf, got, d);
		img_hex(d, got_hex);
		if (strcasecmp(got_hex, sha256) != 0) {
			err_set(err, ERR_FAIL, "%s: sha256 mismatch: expected "
			    "%s (bmap_sha256), got %s", path, sha256, got_hex);
			free(buf);
			return NULL;
		}
	}
	b = bmap_parse(buf, got, path, err);
	free(buf);
	return b;
}

void
bmap_free(struct bmap *b)
{
	if (b == NULL)
		return;
	free(b->r);
	free(b);
}

void
bmap_range_bytes(const struct bmap *b, size_t i, uint64_t *off, uint64_t *len)
{
	uint64_t	 end = (b->r[i].last + 1) * b->block_size;

	if (end > b->image_size)
		end = b->image_size;
	*off = b->r[i].first * b->block_size;
	*len = end - *off;
}

uint64_t
bmap_mapped_bytes(const struct bmap *b)
{
	uint64_t	 off, len, sum = 0;
	size_t		 i;

	for (i = 0; i < b->n; i++) {
		bmap_range_bytes(b, i, &off, &len);
		sum += len;
	}
	return sum;
}
