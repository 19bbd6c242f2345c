/*
 * Image sources: the decompressed bytes of an image file, raw, zstd or
 * gzip (concatenated frames and members included), with truncation and
 * corruption reported as errors rather than short images; and the
 * read-ahead thread that keeps a ring of large buffers filled so that the
 * caller hashes and writes while the next buffers are being decompressed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY	/* ZSTD_getFrameHeader */
#include <zstd.h>
#include <zstd_errors.h>

#include "images/source.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define SRC_INBUF	(1u << 20)
#define SRC_ZSTD_WLOG	27	/* windows up to 128 MiB (zstd --long=27) */
#define SRC_ZSTD_HINT	"recompress with --long=27 or less"

struct img_src {
	int		 fd;
	img_fill_fn	*fill;		/* instead of fd: a stream's bytes */
	void		*fill_arg;
	char		*path;
	enum img_format	 fmt;
	uint64_t	 stored;
	ZSTD_DStream	*zd;
	z_stream	 zs;
	int		 zs_init;
	uint8_t		*in;
	size_t		 in_len, in_pos;
	int		 in_eof;
	size_t		 zret;		/* zstd: 0 at a frame boundary */
	int		 gz_end;	/* gzip: a member just ended */
	int		 done;
};

const char *
img_format_name(enum img_format f)
{
	switch (f) {
	case IMG_ZSTD:
		return "zstd";
	case IMG_GZIP:
		return "gzip";
	default:
		return "raw";
	}
}

enum err_code
img_format_detect(int fd, enum img_format *fmt, struct err *err)
{
	uint8_t	 m[6] = { 0 };
	ssize_t	 n;

	n = pread(fd, m, sizeof(m), 0);
	if (n < 0)
		return err_errno(err, ERR_FAIL, "read");
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f &&
	    m[3] == 0xfd)
		*fmt = IMG_ZSTD;
	else if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		*fmt = IMG_GZIP;
	else if (n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
		return err_set(err, ERR_FAIL, "xz-compressed images are not "
		    "supported (use zstd or gzip)");
	else if (n >= 3 && memcmp(m, "BZh", 3) == 0)
		return err_set(err, ERR_FAIL, "bzip2-compressed images are not "
		    "supported (use zstd or gzip)");
	else
		*fmt = IMG_RAW;
	return ERR_OK;
}

/*
 * Refuses, before anything is decompressed (or a target opened), a first
 * frame whose window is above the limit: the decoder would only find it
 * at the first read, and call it corrupt.
 */
static enum err_code
src_zstd_check(struct img_src *s, struct err *err)
{
	uint8_t			 h[ZSTD_FRAMEHEADERSIZE_MAX];
	ZSTD_frameHeader	 fh;
	uint64_t		 w;
	ssize_t			 n;

	do
		n = pread(s->fd, h, sizeof(h), 0);
	while (n == -1 && errno == EINTR);
	if (n < 0)
		return err_errno(err, ERR_FAIL, "%s: read", s->path);
	/* Not a whole frame header: the decoder will say what is wrong. */
	w = ZSTD_getFrameHeader(&fh, h, (size_t)n) == 0 ? fh.windowSize : 0;
	if (w > (1ull << SRC_ZSTD_WLOG))
		return err_set(err, ERR_FAIL, "%s: the zstd window is %llu "
		    "MiB, above the %u MiB castiron decompresses with (%s)",
		    s->path, (unsigned long long)(w >> 20),
		    1u << (SRC_ZSTD_WLOG - 20), SRC_ZSTD_HINT);
	return ERR_OK;
}

static enum err_code
src_reset(struct img_src *s, struct err *err)
{
	if (lseek(s->fd, 0, SEEK_SET) == -1)
		return err_errno(err, ERR_FAIL, "%s: seek", s->path);
	s->in_len = s->in_pos = 0;
	s->in_eof = 0;
	s->zret = 0;
	s->gz_end = 0;
	s->done = 0;
	if (s->zd != NULL)
		ZSTD_DCtx_reset(s->zd, ZSTD_reset_session_only);
	if (s->zs_init)
		inflateReset(&s->zs);
	return ERR_OK;
}

/* The decompressor for s->fmt, and its input buffer. */
static enum err_code
src_decoder(struct img_src *s, struct err *err)
{
	if (s->fmt != IMG_RAW)
		s->in = xmalloc(SRC_INBUF);
	if (s->fmt == IMG_ZSTD) {
		s->zd = ZSTD_createDStream();
		if (s->zd == NULL)
			return err_set(err, ERR_FAIL, "%s: zstd: out of memory",
			    s->path);
		/* Windows up to 128 MiB (zstd --long=27); no more. */
		ZSTD_DCtx_setParameter(s->zd, ZSTD_d_windowLogMax,
		    SRC_ZSTD_WLOG);
	} else if (s->fmt == IMG_GZIP) {
		if (inflateInit2(&s->zs, 15 + 16) != Z_OK)
			return err_set(err, ERR_FAIL, "%s: zlib: cannot "
			    "initialise", s->path);
		s->zs_init = 1;
	}
	return ERR_OK;
}

struct img_src *
img_src_open(const char *path, struct err *err)
{
	struct img_src	*s;
	struct stat	 st;

	s = xcalloc(1, sizeof(*s));
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd == -1) {
		err_errno(err, ERR_FAIL, "%s", path);
		free(s);
		return NULL;
	}
	s->path = xstrdup(path);
	if (fstat(s->fd, &st) == -1 || !(S_ISREG(st.st_mode) ||
	    S_ISBLK(st.st_mode))) {
		err_set(err, ERR_FAIL, "%s: not a regular file", path);
		goto fail;
	}
	s->stored = (uint64_t)st.st_size;
	if (img_format_detect(s->fd, &s->fmt, err) != ERR_OK) {
		err_prefix(err, "%s", path);
		goto fail;
	}
	if (src_decoder(s, err) != ERR_OK)
		goto fail;
	if (s->fmt == IMG_ZSTD && src_zstd_check(s, err) != ERR_OK)
		goto fail;
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return s;
fail:
	img_src_close(s);
	return NULL;
}

struct img_src *
img_src_open_fill(enum img_format fmt, const char *name, img_fill_fn *fill,
    void *arg, struct err *err)
{
	struct img_src	*s;

	s = xcalloc(1, sizeof(*s));
	s->fd = -1;
	s->fill = fill;
	s->fill_arg = arg;
	s->path = xstrdup(name);
	s->fmt = fmt;
	if (fmt == IMG_RAW) {
		err_set(err, ERR_FAIL, "%s: a stream source is compressed",
		    name);
		img_src_close(s);
		return NULL;
	}
	if (src_decoder(s, err) != ERR_OK) {
		img_src_close(s);
		return NULL;
	}
	return s;
}

void
img_src_close(struct img_src *s)
{
	if (s == NULL)
		return;
	if (s->zd != NULL)
		ZSTD_freeDStream(s->zd);
	if (s->zs_init)
		inflateEnd(&s->zs);
	if (s->fd != -1)
		close(s->fd);
	free(s->in);
	free(s->path);
	free(s);
}

enum img_format
img_src_format(const struct img_src *s)
{
	return s->fmt;
}

uint64_t
img_src_stored_size(const struct img_src *s)
{
	return s->stored;
}

uint64_t
img_src_known_size(const struct img_src *s)
{
	return s->fmt == IMG_RAW ? s->stored : 0;
}

/* Up to len bytes of the file, at off (pread) or, off < 0, where it is
 * (read); short only at the end of the file. */
static ssize_t
src_read_at(struct img_src *s, uint8_t *buf, size_t len, int64_t off,
    struct err *err)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = off < 0 ? read(s->fd, buf + got, len - got) :
		    pread(s->fd, buf + got, len - got, (off_t)off +
		    (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(err, ERR_FAIL, "%s: read", s->path);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t
img_src_pread(struct img_src *s, void *buf, size_t len, uint64_t off,
    struct err *err)
{
	if (s->fmt != IMG_RAW || s->fd == -1 || off > INT64_MAX) {
		err_set(err, ERR_FAIL, "%s: not a raw image file", s->path);
		return -1;
	}
	return src_read_at(s, buf, len, (int64_t)off, err);
}

void
img_src_willneed(struct img_src *s, uint64_t off, uint64_t len)
{
	if (s->fd != -1)
		(void)posix_fadvise(s->fd, (off_t)off, (off_t)len,
		    POSIX_FADV_WILLNEED);
}

static enum err_code
src_refill(struct img_src *s, struct err *err)
{
	ssize_t	 n;

	if (s->fill != NULL) {
		if ((n = s->fill(s->fill_arg, s->in, SRC_INBUF, err)) < 0)
			return ERR_FAIL;
		goto got;
	}
	do
		n = read(s->fd, s->in, SRC_INBUF);
	while (n == -1 && errno == EINTR);
got:
	if (n < 0)
		return err_errno(err, ERR_FAIL, "%s: read", s->path);
	s->in_len = (size_t)n;
	s->in_pos = 0;
	if (n == 0)
		s->in_eof = 1;
	return ERR_OK;
}

static ssize_t
src_read_zstd(struct img_src *s, uint8_t *buf, size_t len, struct err *err)
{
	ZSTD_outBuffer	 out = { buf, len, 0 };
	ZSTD_inBuffer	 in;
	size_t		 before;

	size_t		 r;

	while (out.pos < out.size) {
		if (s->in_pos == s->in_len && !s->in_eof &&
		    src_refill(s, err) != ERR_OK)
			return -1;
		in.src = s->in;
		in.size = s->in_len;
		in.pos = s->in_pos;
		before = out.pos;
		r = ZSTD_decompressStream(s->zd, &out, &in);
		if (ZSTD_isError(r) && ZSTD_getErrorCode(r) ==
		    ZSTD_error_frameParameter_windowTooLarge) {
			/* A later frame than the one checked at open. */
			err_set(err, ERR_FAIL, "%s: a zstd frame needs a "
			    "window above the %u MiB castiron decompresses "
			    "with (%s)",
			    s->path, 1u << (SRC_ZSTD_WLOG - 20), SRC_ZSTD_HINT);
			return -1;
		}
		if (ZSTD_isError(r)) {
			err_set(err, ERR_FAIL, "%s: corrupt zstd stream: %s",
			    s->path, ZSTD_getErrorName(r));
			return -1;
		}
		/* Only a call that moved tells where the frame stands. */
		if (in.pos != s->in_pos || out.pos != before)
			s->zret = r;
		s->in_pos = in.pos;
		if (s->in_pos == s->in_len && s->in_eof && out.pos == before) {
			if (s->zret != 0) {
				err_set(err, ERR_FAIL, "%s: truncated zstd "
				    "stream", s->path);
				return -1;
			}
			s->done = 1;
			break;
		}
	}
	return (ssize_t)out.pos;
}

static ssize_t
src_read_gzip(struct img_src *s, uint8_t *buf, size_t len, struct err *err)
{
	size_t	 got = 0;
	int	 r;

	while (got < len) {
		if (s->in_pos == s->in_len && !s->in_eof &&
		    src_refill(s, err) != ERR_OK)
			return -1;
		if (s->gz_end) {
			/* Between members: another one, or the end. */
			if (s->in_pos == s->in_len && s->in_eof) {
				s->done = 1;
				break;
			}
			if (s->in_len - s->in_pos >= 2 &&
			    (s->in[s->in_pos] != 0x1f ||
			    s->in[s->in_pos + 1] != 0x8b)) {
				err_set(err, ERR_FAIL, "%s: trailing garbage "
				    "after the gzip stream", s->path);
				return -1;
			}
			inflateReset(&s->zs);
			s->gz_end = 0;
		}
		s->zs.next_in = s->in + s->in_pos;
		s->zs.avail_in = (uInt)(s->in_len - s->in_pos);
		s->zs.next_out = buf + got;
		s->zs.avail_out = (uInt)(len - got > (1u << 30) ?
		    (1u << 30) : len - got);
		{
			uInt avail_out = s->zs.avail_out;
			r = inflate(&s->zs, Z_NO_FLUSH);
			got += avail_out - s->zs.avail_out;
		}
		s->in_pos = s->in_len - s->zs.avail_in;
		if (r == Z_STREAM_END) {
			s->gz_end = 1;
			continue;
		}
		if (r == Z_BUF_ERROR && s->in_pos == s->in_len && s->in_eof) {
			err_set(err, ERR_FAIL, "%s: truncated gzip stream",
			    s->path);
			return -1;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			err_set(err, ERR_FAIL, "%s: corrupt gzip stream: %s",
			    s->path, s->zs.msg ? s->zs.msg : "inflate failed");
			return -1;
		}
	}
	return (ssize_t)got;
}

ssize_t
img_src_read(struct img_src *s, void *buf, size_t len, struct err *err)
{
	if (s->done || len == 0)
		return 0;
	switch (s->fmt) {
	case IMG_ZSTD:
		return src_read_zstd(s, buf, len, err);
	case IMG_GZIP:
		return src_read_gzip(s, buf, len, err);
	default:
		return src_read_at(s, buf, len, -1, err);
	}
}

enum err_code
img_src_measure(struct img_src *s, uint64_t *size, struct err *err)
{
	uint8_t		*buf;
	ssize_t		 n;
	uint64_t	 total = 0;

	if (s->fmt == IMG_RAW) {
		*size = s->stored;
		return ERR_OK;
	}
	buf = xmalloc(IMG_PIPE_BUFSZ);
	while ((n = img_src_read(s, buf, IMG_PIPE_BUFSZ, err)) > 0)
		total += (uint64_t)n;
	free(buf);
	if (n < 0)
		return ERR_FAIL;
	*size = total;
	return src_reset(s, err);
}

/* The read-ahead ring. */

struct img_pipe {
	struct img_src	*src;
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv_fill, cv_free;
	uint8_t		*buf[IMG_PIPE_BUFS];
	size_t		 len[IMG_PIPE_BUFS];
	unsigned	 head, tail, filled;
	int		 held;		/* the consumer holds buf[head] */
	int		 eof, failed, stop;
	int		 threaded;
	struct err	 err;		/* the reader's, when failed */
};

static void *
pipe_reader(void *arg)
{
	struct img_pipe	*p = arg;
	ssize_t		 n;
	unsigned	 slot;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->filled == IMG_PIPE_BUFS && !p->stop)
			pthread_cond_wait(&p->cv_free, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		slot = p->tail;
		pthread_mutex_unlock(&p->mu);

		/* p->err is read only once failed is set, under the lock. */
		n = img_src_read(p->src, p->buf[slot], IMG_PIPE_BUFSZ,
		    &p->err);

		pthread_mutex_lock(&p->mu);
		if (n < 0)
			p->failed = 1;
		else if (n == 0)
			p->eof = 1;
		else {
			p->len[slot] = (size_t)n;
			p->tail = (p->tail + 1) % IMG_PIPE_BUFS;
			p->filled++;
		}
		pthread_cond_signal(&p->cv_fill);
		pthread_mutex_unlock(&p->mu);
		if (n <= 0)
			return NULL;
	}
}

struct img_pipe *
img_pipe_new(struct img_src *src)
{
	struct img_pipe	*p;
	int		 i;

	p = xcalloc(1, sizeof(*p));
	p->src = src;
	/* Page-aligned, so that ranges can be written with O_DIRECT. */
	for (i = 0; i < IMG_PIPE_BUFS; i++)
		if (posix_memalign((void **)&p->buf[i], 4096,
		    IMG_PIPE_BUFSZ) != 0)
			fatalx("out of memory");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_fill, NULL);
	pthread_cond_init(&p->cv_free, NULL);
	/* Without a thread (never expected) img_pipe_next reads inline. */
	p->threaded = pthread_create(&p->thr, NULL, pipe_reader, p) == 0;
	return p;
}

enum err_code
img_pipe_next(struct img_pipe *p, const uint8_t **buf, size_t *len,
    struct err *err)
{
	ssize_t	 n;

	if (!p->threaded) {
		/* Inline mode: one buffer, no thread. */
		n = img_src_read(p->src, p->buf[0], IMG_PIPE_BUFSZ, err);
		if (n < 0)
			return ERR_FAIL;
		*buf = p->buf[0];
		*len = (size_t)n;
		return ERR_OK;
	}
	pthread_mutex_lock(&p->mu);
	if (p->held) {
		p->head = (p->head + 1) % IMG_PIPE_BUFS;
		p->filled--;
		p->held = 0;
		pthread_cond_signal(&p->cv_free);
	}
	while (p->filled == 0 && !p->eof && !p->failed)
		pthread_cond_wait(&p->cv_fill, &p->mu);
	if (p->filled > 0) {
		*buf = p->buf[p->head];
		*len = p->len[p->head];
		p->held = 1;
		pthread_mutex_unlock(&p->mu);
		return ERR_OK;
	}
	pthread_mutex_unlock(&p->mu);
	if (p->failed) {
		if (err != NULL)
			*err = p->err;
		return p->err.code;
	}
	*buf = NULL;
	*len = 0;
	return ERR_OK;
}

void
img_pipe_free(struct img_pipe *p)
{
	int	 i;

	if (p == NULL)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_signal(&p->cv_free);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thr, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_fill);
	pthread_cond_destroy(&p->cv_free);
	for (i = 0; i < IMG_PIPE_BUFS; i++)
		free(p->buf[i]);
	free(p);
}
