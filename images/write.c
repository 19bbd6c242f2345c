/*
 * The writing engine shared by `castiron image write` and castiron-writer:
 * ranges of image bytes arrive in order; each is hashed as it is written
 * with pwrite straight from the caller's (large) buffer, its digest is
 * checked when it is complete, and the engine refuses anything outside
 * the image or out of order.  The image's first MiB (partition table,
 * boot code) and last MiB (a GPT's backup header) are held in memory
 * instead, and written only once every other range is written, verified
 * and on the disk: a write that fails at any point before leaves the
 * target's own table and boot code, never half an image that looks
 * bootable.  At the end: fdatasync, an optional read back of every range
 * from the disk (the page cache dropped first), the held bytes written,
 * synced and read back, and the kernel told about the partition table
 * when the image wrote one.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fs.h>

#include "images/target.h"
#include "images/target_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define WR_READBUF	(4u << 20)
#define WR_PTABLE_END	(1u << 20)	/* MBR, GPT header and entries */
#define WR_ALIGN	4096u
#define WR_ASYNC_MIN	(256u << 10)	/* smaller writes: inline */
#define WR_KICK		(16u << 20)	/* start writeback every 16 MiB */
#define WR_HOLD		(1u << 20)	/* held back at each end */

struct wr_rec {
	uint64_t	off, len;
	uint8_t		sha[SHA256_LEN];
};

/*
 * A part of the image written last: [from, to), the bytes ranges put
 * there (buf, indexed from from) and where they are (ext, in order).
 */
struct wr_held {
	uint64_t	 from, to;
	uint8_t		*buf;
	struct wr_ext {
		uint64_t	 off, len;
	}		*ext;
	size_t		 n, cap;
};

struct img_wr {
	struct img_target *t;
	int		 readback;
	struct img_sha	*sha, *stream;
	uint64_t	 off, len, pos;		/* the current range */
	int		 in_range;
	uint64_t	 next_min;
	uint64_t	 done, nranges;
	struct wr_rec	*recs;
	size_t		 nrecs, cap;
	uint8_t		 digest[SHA256_LEN];
	struct wr_held	 held[2];	/* the first and the last MiB */
	int		 ptable;
	void		(*progress)(void *, int, uint64_t, uint64_t);
	void		*parg;
	uint64_t	 total;
	uint64_t	 kick_from;	/* written since the last writeback kick */
	uint64_t	 kick_bytes;
	/* The I/O thread and its one job. */
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 thr_running, thr_failed;
	enum { JOB_NONE, JOB_WRITE, JOB_QUIT } job;
	const uint8_t	*jp;
	size_t		 jlen;
	uint64_t	 jat;
	int		 jdone;
	enum err_code	 jrc;
	int		 pending;	/* a job posted by img_wr_data_async */
	struct err	 jerr;		/* the job's, if jrc says so */
};

/*
 * Starts writeback of what was written since the last kick, without
 * waiting: the disk works while the next ranges are decompressed and
 * hashed, and the final fdatasync has little left to do.
 */
static void
wr_kick(struct img_wr *w, int force)
{
	uint64_t	 end = w->off + w->pos;

	if (w->kick_bytes == 0 || (!force && w->kick_bytes < WR_KICK))
		return;
	if (end > w->kick_from)
		(void)sync_file_range(w->t->fd, (off64_t)w->kick_from,
		    (off64_t)(end - w->kick_from), SYNC_FILE_RANGE_WRITE);
	w->kick_from = end;
	w->kick_bytes = 0;
}

struct img_wr *
img_wr_new(struct img_target *t, uint64_t image_size, int readback)
{
	struct img_wr	*w;
	uint64_t	 head;

	w = xcalloc(1, sizeof(*w));
	w->t = t;
	w->readback = readback;
	w->sha = img_sha_new();
	w->stream = img_sha_new();
	/* The first MiB, and the last one (from a block boundary); an image
	 * of 2 MiB or less is held whole. */
	head = image_size < WR_HOLD ? image_size : WR_HOLD;
	w->held[0].to = head;
	w->held[1].from = image_size > 2 * (uint64_t)WR_HOLD ?
	    (image_size - WR_HOLD) & ~(uint64_t)(WR_ALIGN - 1) : head;
	w->held[1].to = image_size;
	return w;
}

void
img_wr_free(struct img_wr *w)
{
	int	 i;

	if (w == NULL)
		return;
	if (w->thr_running) {
		pthread_mutex_lock(&w->mu);
		while (w->pending && !w->jdone)
			pthread_cond_wait(&w->cv, &w->mu);
		w->job = JOB_QUIT;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thr, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	img_sha_free(w->sha);
	img_sha_free(w->stream);
	free(w->recs);
	for (i = 0; i < 2; i++) {
		free(w->held[i].buf);
		free(w->held[i].ext);
	}
	free(w);
}

void
img_wr_set_progress(struct img_wr *w,
    void (*fn)(void *, int, uint64_t, uint64_t), void *arg, uint64_t total)
{
	w->progress = fn;
	w->parg = arg;
	w->total = total;
}

enum err_code
img_wr_begin(struct img_wr *w, uint64_t off, uint64_t len, struct err *err)
{
	if (w->in_range)
		return err_set(err, ERR_FAIL, "range at %llu begun inside "
		    "another", (unsigned long long)off);
	if (len == 0 || off < w->next_min || off > w->t->size ||
	    len > w->t->size - off)
		return err_set(err, ERR_FAIL, "range %llu+%llu is out of order "
		    "or past the end of %s", (unsigned long long)off,
		    (unsigned long long)len, w->t->path);
	w->off = off;
	w->len = len;
	w->pos = 0;
	w->in_range = 1;
	if (off < WR_PTABLE_END)
		w->ptable = 1;
	return ERR_OK;
}

/*
 * Writes len bytes at offset at: aligned parts with O_DIRECT (no copy
 * into the page cache), the rest buffered.  Runs on the I/O thread.
 */
static enum err_code
wr_write(struct img_target *t, const uint8_t *p, size_t left, uint64_t at,
    struct err *err)
{
	ssize_t		 n;
	size_t		 chunk;
	int		 fd;

	while (left > 0) {
		fd = t->fd;
		chunk = left;
		if (t->dfd != -1 && ((uintptr_t)p & (WR_ALIGN - 1)) == 0 &&
		    (at & (WR_ALIGN - 1)) == 0 && left >= WR_ALIGN) {
			fd = t->dfd;
			chunk = left & ~(size_t)(WR_ALIGN - 1);
		}
		n = pwrite(fd, p, chunk, (off_t)at);
		if (n == -1 && errno == EINVAL && fd == t->dfd) {
			/* O_DIRECT refused after all: buffered from now on. */
			close(t->dfd);
			t->dfd = -1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(err, ERR_FAIL, "%s: write at %llu: %s",
			    t->path, (unsigned long long)at, n < 0 ?
			    strerror(errno) : "no progress");
		p += n;
		left -= (size_t)n;
		at += (uint64_t)n;
	}
	return ERR_OK;
}

/* The I/O thread: one job at a time, posted by img_wr_data. */
static void *
wr_thread(void *arg)
{
	struct img_wr	*w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->job == JOB_NONE)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->job == JOB_QUIT)
			break;
		pthread_mutex_unlock(&w->mu);
		w->jrc = wr_write(w->t, w->jp, w->jlen, w->jat, &w->jerr);
		pthread_mutex_lock(&w->mu);
		w->job = JOB_NONE;
		w->jdone = 1;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits for the job img_wr_data_async posted, and takes its result. */
static enum err_code
wr_wait(struct img_wr *w, struct err *err)
{
	if (!w->pending)
		return ERR_OK;
	pthread_mutex_lock(&w->mu);
	while (!w->jdone)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	w->pending = 0;
	if (w->jrc != ERR_OK && err != NULL)
		*err = w->jerr;
	return w->jrc;
}

/* Keeps the bytes [at, at + len) of the image, which fall inside h. */
static void
wr_hold(struct wr_held *h, const uint8_t *p, size_t len, uint64_t at)
{
	struct wr_ext	*e;

	if (h->buf == NULL && posix_memalign((void **)&h->buf, WR_ALIGN,
	    (size_t)(h->to - h->from)) != 0)
		fatalx("out of memory");
	memcpy(h->buf + (at - h->from), p, len);
	e = h->n > 0 ? &h->ext[h->n - 1] : NULL;
	if (e != NULL && e->off + e->len == at) {
		e->len += len;
		return;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->ext = xreallocarray(h->ext, h->cap, sizeof(*h->ext));
	}
	h->ext[h->n].off = at;
	h->ext[h->n++].len = len;
}

static enum err_code
wr_data(struct img_wr *w, const void *buf, size_t len, int async,
    struct err *err)
{
	struct wr_held	*head = &w->held[0], *tail = &w->held[1];
	const uint8_t	*p = buf;
	uint64_t	 at = w->off + w->pos, from, to;
	size_t		 n;

	if (wr_wait(w, err) != ERR_OK)
		return ERR_FAIL;
	if (!w->in_range || len > w->len - w->pos)
		return err_set(err, ERR_FAIL, "data outside a range");
	/* What falls in the first or last MiB waits; the rest, [from, to),
	 * is written now. */
	from = at;
	to = at + len;
	if (from < head->to) {
		n = to < head->to ? len : (size_t)(head->to - from);
		wr_hold(head, p, n, from);
		from += n;
	}
	if (to > tail->from && from < to) {
		n = (size_t)(to - (from > tail->from ? from : tail->from));
		wr_hold(tail, p + (len - n), n, to - n);
		to -= n;
	}
	n = (size_t)(to - from);
	p += from - at;
	if (n >= WR_ASYNC_MIN && !w->thr_failed && !w->thr_running) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (pthread_create(&w->thr, NULL, wr_thread, w) == 0)
			w->thr_running = 1;
		else {
			pthread_mutex_destroy(&w->mu);
			pthread_cond_destroy(&w->cv);
			w->thr_failed = 1;
		}
	}
	if (n >= WR_ASYNC_MIN && w->thr_running) {
		/* The device writes while this thread hashes the same bytes. */
		pthread_mutex_lock(&w->mu);
		w->jp = p;
		w->jlen = n;
		w->jat = from;
		w->jdone = 0;
		w->job = JOB_WRITE;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		w->pending = 1;
		img_sha_update(w->sha, buf, len);
		if (!async && wr_wait(w, err) != ERR_OK)
			return ERR_FAIL;
	} else {
		img_sha_update(w->sha, buf, len);
		if (n > 0 && wr_write(w->t, p, n, from, err) != ERR_OK)
			return ERR_FAIL;
	}
	w->pos += len;
	w->done += len;
	w->kick_bytes += len;
	wr_kick(w, 0);
	if (w->progress)
		w->progress(w->parg, IMG_PHASE_WRITE, w->done, w->total);
	return ERR_OK;
}

enum err_code
img_wr_data(struct img_wr *w, const void *buf, size_t len, struct err *err)
{
	return wr_data(w, buf, len, 0, err);
}

enum err_code
img_wr_data_async(struct img_wr *w, const void *buf, size_t len,
    struct err *err)
{
	return wr_data(w, buf, len, 1, err);
}

enum err_code
img_wr_end(struct img_wr *w, const uint8_t *expect, struct err *err)
{
	uint8_t		 got[SHA256_LEN];

	if (!w->in_range || w->pos != w->len)
		return err_set(err, ERR_FAIL, "range at %llu ended after %llu "
		    "of %llu bytes", (unsigned long long)w->off,
		    (unsigned long long)w->pos, (unsigned long long)w->len);
	img_sha_final(w->sha, got);
	if (img_range_check(got, expect, w->nranges, w->off, w->len,
	    err) != ERR_OK)
		return ERR_FAIL;
	img_sha_update(w->stream, got, SHA256_LEN);
	if (w->readback) {
		if (w->nrecs == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 256;
			w->recs = xreallocarray(w->recs, w->cap,
			    sizeof(*w->recs));
		}
		w->recs[w->nrecs].off = w->off;
		w->recs[w->nrecs].len = w->len;
		memcpy(w->recs[w->nrecs].sha, got, SHA256_LEN);
		w->nrecs++;
	}
	w->nranges++;
	w->next_min = w->off + w->len;
	w->in_range = 0;
	return ERR_OK;
}

/*
 * The disk does not hold the held bytes yet: a read back of [off, off +
 * len) sees them as they will be (every byte of a range in a held part
 * is held).
 */
static void
wr_overlay(const struct img_wr *w, uint8_t *buf, size_t len, uint64_t off)
{
	const struct wr_held	*h;
	uint64_t		 a, b;
	int			 i;

	for (i = 0; i < 2; i++) {
		h = &w->held[i];
		if (h->buf == NULL)
			continue;
		a = off > h->from ? off : h->from;
		b = off + len < h->to ? off + len : h->to;
		if (a < b)
			memcpy(buf + (a - off), h->buf + (a - h->from),
			    (size_t)(b - a));
	}
}

/* Drops the target's page cache, so that what is read is the disk's. */
static void
wr_drop_cache(struct img_wr *w)
{
	posix_fadvise(w->t->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (w->t->blk)
		(void)ioctl(w->t->fd, BLKFLSBUF, 0);
}

static enum err_code
wr_readback(struct img_wr *w, struct err *err)
{
	uint8_t		*buf, got[SHA256_LEN];
	uint64_t	 off, left, done = 0;
	size_t		 i, want;
	ssize_t		 n;
	enum err_code	 rc = ERR_OK;

	wr_drop_cache(w);
	buf = xmalloc(WR_READBUF);
	for (i = 0; i < w->nrecs && rc == ERR_OK; i++) {
		off = w->recs[i].off;
		left = w->recs[i].len;
		while (left > 0) {
			want = left < WR_READBUF ? (size_t)left : WR_READBUF;
			n = pread(w->t->fd, buf, want, (off_t)off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = err_set(err, ERR_FAIL, "%s: read back at "
				    "%llu: %s", w->t->path,
				    (unsigned long long)off,
				    n < 0 ? strerror(errno) : "short read");
				break;
			}
			wr_overlay(w, buf, (size_t)n, off);
			img_sha_update(w->sha, buf, (size_t)n);
			off += (uint64_t)n;
			left -= (uint64_t)n;
			done += (uint64_t)n;
			if (w->progress)
				w->progress(w->parg, IMG_PHASE_READBACK, done,
				    w->done);
		}
		if (rc != ERR_OK)
			break;
		img_sha_final(w->sha, got);
		if (memcmp(got, w->recs[i].sha, SHA256_LEN) != 0)
			rc = err_set(err, ERR_FAIL, "%s: read back of range "
			    "%zu at offset %llu differs from what was written",
			    w->t->path, i, (unsigned long long)w->recs[i].off);
	}
	free(buf);
	return rc;
}

/*
 * Writes the held bytes, syncs them, and (when asked) reads them back:
 * the last step, once everything else is on the disk and verified.
 */
static enum err_code
wr_commit(struct img_wr *w, struct err *err)
{
	const struct wr_held	*h;
	const struct wr_ext	*e;
	uint8_t			*buf = NULL;
	ssize_t			 n;
	size_t			 k, got;
	enum err_code		 rc = ERR_FAIL;
	int			 i;

	for (i = 0; i < 2; i++) {
		h = &w->held[i];
		for (k = 0; k < h->n; k++) {
			e = &h->ext[k];
			if (wr_write(w->t, h->buf + (e->off - h->from),
			    (size_t)e->len, e->off, err) != ERR_OK)
				return ERR_FAIL;
		}
	}
	if (fdatasync(w->t->fd) == -1)
		return err_errno(err, ERR_FAIL, "%s: fsync", w->t->path);
	if (!w->readback)
		return ERR_OK;
	wr_drop_cache(w);
	buf = xmalloc(WR_HOLD + WR_ALIGN);
	for (i = 0; i < 2; i++) {
		h = &w->held[i];
		for (k = 0; k < h->n; k++) {
			e = &h->ext[k];
			for (got = 0; got < e->len; got += (size_t)n) {
				n = pread(w->t->fd, buf + got, (size_t)e->len -
				    got, (off_t)(e->off + got));
				if (n == -1 && errno == EINTR) {
					n = 0;
					continue;
				}
				if (n <= 0) {
					err_set(err, ERR_FAIL, "%s: read back "
					    "at %llu: %s", w->t->path,
					    (unsigned long long)(e->off + got),
					    n < 0 ? strerror(errno) :
					    "short read");
					goto out;
				}
			}
			if (memcmp(buf, h->buf + (e->off - h->from),
			    (size_t)e->len) != 0) {
				err_set(err, ERR_FAIL, "%s: read back at "
				    "offset %llu differs from what was written",
				    w->t->path, (unsigned long long)e->off);
				goto out;
			}
		}
	}
	rc = ERR_OK;
out:
	free(buf);
	return rc;
}

enum err_code
img_wr_finish(struct img_wr *w, const uint8_t *expect, struct err *err)
{
	if (wr_wait(w, err) != ERR_OK)
		return ERR_FAIL;
	if (w->in_range)
		return err_set(err, ERR_FAIL, "the last range is incomplete");
	img_sha_final(w->stream, w->digest);
	if (expect != NULL && memcmp(expect, w->digest, SHA256_LEN) != 0)
		return err_set(err, ERR_FAIL, "the stream digest does not "
		    "match the ranges written");
	wr_kick(w, 1);
	if (fdatasync(w->t->fd) == -1)
		return err_errno(err, ERR_FAIL, "%s: fsync", w->t->path);
	if (w->readback && wr_readback(w, err) != ERR_OK)
		return ERR_FAIL;
	if (wr_commit(w, err) != ERR_OK)
		return ERR_FAIL;
	if (w->t->blk && w->ptable && img_target_reread(w->t, err) != ERR_OK)
		return ERR_FAIL;
	return ERR_OK;
}

uint64_t
img_wr_done(const struct img_wr *w)
{
	return w->done;
}

uint64_t
img_wr_ranges(const struct img_wr *w)
{
	return w->nranges;
}

void
img_wr_digest(const struct img_wr *w, uint8_t out[SHA256_LEN])
{
	memcpy(out, w->digest, SHA256_LEN);
}
