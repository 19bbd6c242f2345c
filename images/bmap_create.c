/*
 * Making bmaps: map the data of a sparse image file with SEEK_DATA and
 * SEEK_HOLE (as `bmaptool create` does), hash every range, and print the
 * XML the way bmaptool lays it out, so that the files can be diffed
 * against bmaptool's and read by `bmaptool copy`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/bmap.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define CREATE_BS	4096u
#define CREATE_BUF	(4u << 20)

struct strbuf {
	char	*s;
	size_t	 len, cap;
};

static void
sb_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 1;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
}

/* Our own words above the map: what the file is and who wrote it. */
static const char header[] =
"<?xml version=\"1.0\" ?>\n"
"<!-- Block map written by castiron: the byte ranges of the image that hold\n"
"     data, each with its sha256.  Only these ranges need to be written to a\n"
"     disk; the rest of the image is zeros.  Readable by bmaptool (format\n"
"     2.0) and by castiron. -->\n"
"\n";

char *
bmap_format(const struct bmap *b, size_t *lenp)
{
	struct strbuf	 sb = { xmalloc(8192), 0, 8192 };
	char		 h[32], hex[2 * SHA256_LEN + 1], *at;
	uint8_t		 d[SHA256_LEN];
	size_t		 i;
	double		 pct;

	sb_printf(&sb, "%s", header);
	fmt_size(b->image_size, h, sizeof(h));
	sb_printf(&sb, "<bmap version=\"2.0\">\n"
	    "    <!-- Image size in bytes: %s -->\n"
	    "    <ImageSize> %llu </ImageSize>\n\n"
	    "    <!-- Size of a block in bytes -->\n"
	    "    <BlockSize> %llu </BlockSize>\n\n"
	    "    <!-- Count of blocks in the image file -->\n"
	    "    <BlocksCount> %llu </BlocksCount>\n\n", h,
	    (unsigned long long)b->image_size,
	    (unsigned long long)b->block_size, (unsigned long long)b->blocks);
	fmt_size(b->mapped * b->block_size, h, sizeof(h));
	pct = b->blocks ? b->mapped * 100.0 / b->blocks : 0;
	sb_printf(&sb, "    <!-- Count of mapped blocks: %s or %.1f%% -->\n"
	    "    <MappedBlocksCount> %llu </MappedBlocksCount>\n\n"
	    "    <!-- Type of checksum used in this file -->\n"
	    "    <ChecksumType> sha256 </ChecksumType>\n\n"
	    "    <!-- The checksum of this bmap file. When it is calculated, "
	    "the value of\n"
	    "         the checksum has be zero (all ASCII \"0\" symbols).  -->\n"
	    "    <BmapFileChecksum> ", h, pct,
	    (unsigned long long)b->mapped);
	at = NULL;
	i = sb.len;
	sb_printf(&sb, "%064d </BmapFileChecksum>\n\n", 0);
	sb_printf(&sb, "    <!-- The block map which consists of elements which "
	    "may either be a\n"
	    "         range of blocks or a single block. The 'chksum' "
	    "attribute\n"
	    "         (if present) is the checksum of this blocks range. -->\n"
	    "    <BlockMap>\n");
	{
		size_t csum_at = i;
		for (i = 0; i < b->n; i++) {
			img_hex(b->r[i].sha256, hex);
			if (b->r[i].first == b->r[i].last)
				sb_printf(&sb, "        <Range chksum=\"%s\"> "
				    "%llu </Range>\n", hex,
				    (unsigned long long)b->r[i].first);
			else
				sb_printf(&sb, "        <Range chksum=\"%s\"> "
				    "%llu-%llu </Range>\n", hex,
				    (unsigned long long)b->r[i].first,
				    (unsigned long long)b->r[i].last);
		}
		sb_printf(&sb, "    </BlockMap>\n</bmap>\n");
		img_sha256(sb.s, sb.len, d);
		img_hex(d, hex);
		at = sb.s + csum_at;
		memcpy(at, hex, 2 * SHA256_LEN);
	}
	*lenp = sb.len;
	return sb.s;
}

static int
add_extent(struct bmap *b, size_t *cap, uint64_t first, uint64_t last)
{
	if (b->n > 0 && first <= b->r[b->n - 1].last + 1) {
		if (last > b->r[b->n - 1].last)
			b->r[b->n - 1].last = last;
		return 0;
	}
	if (b->n >= BMAP_MAX_RANGES)
		return -1;
	if (b->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		b->r = xreallocarray(b->r, *cap, sizeof(*b->r));
	}
	b->r[b->n].first = first;
	b->r[b->n].last = last;
	b->n++;
	return 0;
}

static enum err_code
hash_ranges(int fd, struct bmap *b, struct err *err)
{
	struct img_sha	*sha = img_sha_new();
	uint8_t		*buf = xmalloc(CREATE_BUF);
	uint64_t	 off, len, n;
	ssize_t		 got;
	size_t		 i;
	enum err_code	 rc = ERR_OK;

	for (i = 0; i < b->n && rc == ERR_OK; i++) {
		bmap_range_bytes(b, i, &off, &len);
		while (len > 0) {
			n = len < CREATE_BUF ? len : CREATE_BUF;
			got = pread(fd, buf, n, (off_t)off);
			if (got == -1 && errno == EINTR)
				continue;
			if (got <= 0) {
				rc = err_set(err, ERR_FAIL, "read at %llu: %s",
				    (unsigned long long)off, got < 0 ?
				    strerror(errno) : "file shrank");
				break;
			}
			img_sha_update(sha, buf, (size_t)got);
			off += (uint64_t)got;
			len -= (uint64_t)got;
		}
		img_sha_final(sha, b->r[i].sha256);
	}
	free(buf);
	img_sha_free(sha);
	return rc;
}

struct bmap *
bmap_create(int fd, struct err *err)
{
	struct bmap	*b;
	struct stat	 st;
	off_t		 data, hole, off = 0;
	size_t		 cap = 0;
	uint64_t	 i;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, ERR_FAIL, "not a regular file");
		return NULL;
	}
	if (st.st_size == 0) {
		err_set(err, ERR_FAIL, "the file is empty");
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->image_size = (uint64_t)st.st_size;
	b->block_size = CREATE_BS;
	b->blocks = (b->image_size + CREATE_BS - 1) / CREATE_BS;
	while (off < st.st_size) {
		data = lseek(fd, off, SEEK_DATA);
		if (data == -1 && errno == ENXIO)
			break;
		if (data == -1 && errno == EINVAL) {
			/* No hole support: all of it is data. */
			data = off;
			hole = st.st_size;
		} else if (data == -1) {
			err_errno(err, ERR_FAIL, "SEEK_DATA");
			goto fail;
		} else if ((hole = lseek(fd, data, SEEK_HOLE)) == -1) {
			err_errno(err, ERR_FAIL, "SEEK_HOLE");
			goto fail;
		}
		if (hole > st.st_size)
			hole = st.st_size;
		if (hole <= data)
			break;
		if (add_extent(b, &cap, (uint64_t)data / CREATE_BS,
		    ((uint64_t)hole - 1) / CREATE_BS) == -1) {
			err_set(err, ERR_FAIL, "more than %u ranges",
			    BMAP_MAX_RANGES);
			goto fail;
		}
		off = hole;
	}
	for (i = 0; i < b->n; i++)
		b->mapped += b->r[i].last - b->r[i].first + 1;
	if (hash_ranges(fd, b, err) != ERR_OK)
		goto fail;
	return b;
fail:
	bmap_free(b);
	return NULL;
}
