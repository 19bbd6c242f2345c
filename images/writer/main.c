/*
 * castiron-writer: the host-side end of an image write.  provision uploads
 * this static program to a deploy environment and feeds it the framed
 * stream of images/frame.h on stdin; it writes each range onto the target
 * with the same engine as `castiron image write` (images/write.c),
 * verifies each range's sha256, and reports on stdout in the line format
 * of frame.h, which provision parses.  A packed stream (a range table,
 * then one zstd or gzip stream) is decompressed here, on a thread ahead
 * of the writes, and cut into the table's ranges.  With --pull URL the
 * stream is the range table alone and the image file is fetched from the
 * boot service (pull.c).  No configuration, no libraries at run time,
 * nothing but the target touched.
 */
#include <sys/resource.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "images/bmap.h"
#include "images/frame.h"
#include "images/source.h"
#include "images/target.h"
#include "images/walk.h"
#include "images/writer/writer.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define STAGE	(4u << 20)	/* range data is gathered into aligned writes */

static struct {
	uint8_t		*stages[2];	/* one filling while the other is written */
	uint8_t		*stage;
	size_t		 staged;
	int		 quiet;
	uint64_t	 last_ms;
	uint64_t	 start_ms;
} W;

/* User and system time of the whole process, all its threads. */
static uint64_t
cpu_ms(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int	 also[FRAME_MAX_STREAMS];
static unsigned	 nalso;

void
wr_report_also(int fd)
{
	if (nalso < FRAME_MAX_STREAMS)
		also[nalso++] = fd;
}

void
wr_report(const struct frame_report *r)
{
	char	 line[FRAME_LINE_MAX + 2];
	size_t	 n;
	unsigned i;

	n = frame_report_format(line, sizeof(line), r);
	fwrite(line, 1, n, stdout);
	fflush(stdout);
	/* How the write ended, to every stream of it: each session hears. */
	if (r->kind == FRAME_REP_DONE || r->kind == FRAME_REP_ERROR)
		for (i = 0; i < nalso; i++)
			(void)!write(also[i], line, n);
}


static int
fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(int code, const char *fmt, ...)
{
	struct frame_report	 r;
	va_list			 ap;

	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_ERROR;
	r.exit_code = code;
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	wr_report(&r);
	log_warnx("%s", r.msg);
	return code;
}

static void
on_progress(void *arg, int phase, uint64_t done, uint64_t total)
{
	struct frame_report	 r;
	uint64_t		 now = mono_ms();

	(void)arg;
	if (W.quiet || (now - W.last_ms < 250 && done != total))
		return;
	W.last_ms = now;
	memset(&r, 0, sizeof(r));
	r.kind = phase == IMG_PHASE_READBACK ? FRAME_REP_READBACK :
	    FRAME_REP_PROGRESS;
	r.done = done;
	r.total = total;
	wr_report(&r);
}

/*
 * Hands what is staged (a whole number of blocks unless last) to the
 * engine, which writes it while the next stage fills from stdin: reading
 * the network and writing the disk overlap.
 */
enum err_code
wr_flush_stage(struct img_wr *w, struct err *err)
{
	enum err_code	 rc = ERR_OK;

	if (W.staged > 0) {
		rc = img_wr_data_async(w, W.stage, W.staged, err);
		W.stage = W.stage == W.stages[0] ? W.stages[1] : W.stages[0];
	}
	W.staged = 0;
	return rc;
}

/* Gathers range data so that the engine gets large aligned writes
 * whatever slices the network delivered. */
enum err_code
wr_stage_data(struct img_wr *w, const uint8_t *p, size_t len, struct err *err)
{
	size_t	 n;

	while (len > 0) {
		n = STAGE - W.staged < len ? STAGE - W.staged : len;
		memcpy(W.stage + W.staged, p, n);
		W.staged += n;
		p += n;
		len -= n;
		if (W.staged == STAGE && wr_flush_stage(w, err) != ERR_OK)
			return ERR_FAIL;
	}
	return ERR_OK;
}

/*
 * The stream on in->fd, decoded: the next event, reading more when the
 * decoder has used up what was read.  A packed stream's compressed bytes
 * are handed to the decompressor through in_fill(), on its thread, while
 * the main thread writes; nothing else reads stdin then.
 */
enum err_code
wr_in_next(struct input *in, enum frame_ev *ev, const uint8_t **data,
    size_t *dlen, struct err *err)
{
	size_t	 used;
	ssize_t	 n;

	for (;;) {
		if (in->left == 0) {
			do
				n = read(in->fd, in->buf, WR_IN_BUF);
			while (n == -1 && errno == EINTR);
			if (n < 0)
				return err_errno(err, ERR_FAIL,
				    "reading the stream");
			if (n == 0)
				return err_set(err, ERR_FAIL, "the stream "
				    "ended early, after %llu bytes",
				    (unsigned long long)frame_dec_pos(in->d));
			in->p = in->buf;
			in->left = (size_t)n;
		}
		*ev = frame_dec_feed(in->d, in->p, in->left, &used, data,
		    dlen);
		in->p += used;
		in->left -= used;
		if (*ev == FRAME_EV_ERROR)
			return err_set(err, ERR_FAIL, "%s",
			    frame_dec_error(in->d));
		if (*ev != FRAME_EV_NEED)
			return ERR_OK;
	}
}

static ssize_t
in_fill(void *arg, uint8_t *buf, size_t len, struct err *err)
{
	struct input	*in = arg;
	enum frame_ev	 ev;
	size_t		 n;

	while (in->packlen == 0) {
		if (in->end)
			return 0;
		if (wr_in_next(in, &ev, &in->pack, &in->packlen, err) != ERR_OK)
			return -1;
		if (ev == FRAME_EV_END)
			in->end = 1;
		else if (ev != FRAME_EV_PACKED) {
			err_set(err, ERR_FAIL, "stream byte %llu: a record "
			    "inside the packed data",
			    (unsigned long long)frame_dec_pos(in->d));
			return -1;
		}
	}
	n = in->packlen < len ? in->packlen : len;
	memcpy(buf, in->pack, n);
	img_sha_update(in->packsha, buf, n);
	in->pack += n;
	in->packlen -= n;
	return (ssize_t)n;
}

static void
pk_add(struct packed *pk, uint64_t off, uint64_t len, const uint8_t *dig)
{
	struct bmap_range	*r;
	uint64_t		 at;

	if (pk->n == pk->cap) {
		pk->cap = pk->cap ? pk->cap * 2 : 1024;
		pk->vb.r = xreallocarray(pk->vb.r, pk->cap,
		    sizeof(*pk->vb.r));
		pk->off = xreallocarray(pk->off, pk->cap, sizeof(*pk->off));
	}
	at = pk->layout == FRAME_LAYOUT_IMAGE ? off : pk->vpos;
	r = &pk->vb.r[pk->n];
	r->first = at;
	r->last = at + len - 1;
	memcpy(r->sha256, dig, SHA256_LEN);
	pk->off[pk->n++] = off;
	pk->vpos += len;
	pk->vb.n = pk->n;
}

static enum err_code
pk_begin(void *arg, uint64_t idx, uint64_t off, uint64_t len,
    struct err *err)
{
	struct packed	*pk = arg;

	(void)off;
	return img_wr_begin(pk->w, pk->off[idx], len, err);
}

static enum err_code
pk_data(void *arg, const uint8_t *buf, size_t len, struct err *err)
{
	struct packed	*pk = arg;

	return wr_stage_data(pk->w, buf, len, err);
}

static enum err_code
pk_end(void *arg, uint64_t idx, const uint8_t *expect, struct err *err)
{
	struct packed	*pk = arg;

	(void)idx;
	if (wr_flush_stage(pk->w, err) != ERR_OK)
		return ERR_FAIL;
	return img_wr_end(pk->w, expect, err);
}

/* Decompresses what fill() returns and writes the table's ranges. */
enum err_code
wr_pack_walk(struct packed *pk, img_fill_fn *fill, void *arg,
    uint64_t image_size, struct err *err)
{
	static const struct img_walk_cb	 cb = { pk_begin, pk_data, pk_end };
	struct img_src			*src;
	enum err_code			 rc;

	pk->vb.block_size = 1;
	pk->vb.image_size = pk->layout == FRAME_LAYOUT_IMAGE ? image_size :
	    pk->vpos;
	src = img_src_open_fill(pk->codec == FRAME_CODEC_ZSTD ? IMG_ZSTD :
	    IMG_GZIP, "the packed stream", fill, arg, err);
	if (src == NULL)
		return ERR_FAIL;
	rc = img_walk(src, &pk->vb, pk->vb.image_size, &cb, pk, err);
	img_src_close(src);
	return rc;
}

/* The packed data of the stream, decompressed and written. */
static enum err_code
pk_write(struct packed *pk, struct input *in, uint64_t image_size,
    struct err *err)
{
	enum err_code	 rc;

	rc = wr_pack_walk(pk, in_fill, in, image_size, err);
	if (rc == ERR_OK && !in->end)
		rc = err_set(err, ERR_FAIL, "stream byte %llu: packed data "
		    "past the end of the image",
		    (unsigned long long)frame_dec_pos(in->d));
	return rc;
}

/* The stream's header, read exactly (nothing past it) and decoded:
 * the loop's first event is then FRAME_EV_HDR. */
static enum err_code
read_header(struct input *in, uint8_t hdr[FRAME_HDR_LEN], struct err *err)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < FRAME_HDR_LEN) {
		n = read(in->fd, hdr + got, FRAME_HDR_LEN - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(err, ERR_FAIL, "reading the stream");
		if (n == 0)
			return err_set(err, ERR_FAIL, "the stream ended early, "
			    "after %zu bytes", got);
		got += (size_t)n;
	}
	memcpy(in->buf, hdr, FRAME_HDR_LEN);
	in->p = in->buf;
	in->left = FRAME_HDR_LEN;
	return ERR_OK;
}

static int
usage(void)
{
	fprintf(stderr, "usage: castiron-writer [--verify-readback] [--quiet] "
	    "[--pull URL | --join ID] TARGET < stream\n"
	    "       castiron-writer --kexec load | exec | unload ...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct input		 in = { 0 };
	struct packed		 pk = { 0 };
	struct img_target	*t = NULL;
	struct img_wr		*w = NULL;
	struct frame_report	 r;
	const uint8_t		*data;
	const char		*target = NULL, *pull = NULL, *joinid = NULL;
	struct join		*join = NULL;
	struct pull_stats	 ps = { 0 };
	struct err		 err;
	uint8_t			 dig[SHA256_LEN], hdr[FRAME_HDR_LEN];
	uint64_t		 idx, off, len, n;
	size_t			 dlen;
	enum frame_ev		 ev;
	int			 i, readback = 0, code = 1, finished = 0;

	log_init("castiron-writer", 0, 0);
	if (argc > 1 && strcmp(argv[1], "--kexec") == 0)
		return writer_kexec(argc - 2, argv + 2);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--verify-readback") == 0)
			readback = 1;
		else if (strcmp(argv[i], "--quiet") == 0)
			W.quiet = 1;
		else if (strcmp(argv[i], "--pull") == 0 && i + 1 < argc)
			pull = argv[++i];
		else if (strcmp(argv[i], "--join") == 0 && i + 1 < argc)
			joinid = argv[++i];
		else if (argv[i][0] == '-' || target != NULL)
			return usage();
		else
			target = argv[i];
	}
	if (target == NULL)
		return usage();
	if (pull != NULL && joinid != NULL)
		return usage();
	if (pull != NULL && pull_url_check(pull, &err) != ERR_OK)
		return fail(2, "%s", err.msg);
	if (joinid != NULL && join_id_check(joinid, &err) != ERR_OK)
		return fail(2, "%s", err.msg);
	/* A stream whose session is gone is an error to report, not a
	 * signal to die of (a split write writes to every stream's pipe). */
	signal(SIGPIPE, SIG_IGN);
	W.start_ms = mono_ms();
	if (posix_memalign((void **)&W.stages[0], 4096, STAGE) != 0 ||
	    posix_memalign((void **)&W.stages[1], 4096, STAGE) != 0) {
		log_warnx("out of memory");
		return 1;
	}
	W.stage = W.stages[0];
	in.fd = STDIN_FILENO;
	in.d = frame_dec_new();
	in.packsha = img_sha_new();
	in.buf = xmalloc(WR_IN_BUF);
	/* The header alone first, read exactly: a part of a split write
	 * hands the rest of its stdin, unread, to the lead. */
	if (read_header(&in, hdr, &err) != ERR_OK) {
		code = fail(2, "%s", err.msg);
		goto out;
	}
	while (!finished) {
		if (wr_in_next(&in, &ev, &data, &dlen, &err) != ERR_OK) {
			code = fail(t ? 1 : 2, "%s", err.msg);
			goto out;
		}
		switch (ev) {
		case FRAME_EV_NEED:
		case FRAME_EV_ERROR:
			break;	/* in_next returns neither */
		case FRAME_EV_HDR: {
			const struct frame_hdr *h = frame_dec_hdr(in.d);
			if (!(h->flags & FRAME_F_PULL) != (pull == NULL)) {
				code = fail(2, pull ? "--pull, but the stream "
				    "carries the image" : "a pulled stream, but "
				    "no --pull URL");
				goto out;
			}
			if ((h->flags & (FRAME_F_SPLIT | FRAME_F_PART)) &&
			    joinid == NULL) {
				code = fail(2, "a stream of a split write, but "
				    "no --join ID");
				goto out;
			}
			if (h->flags & FRAME_F_PART) {
				/* Its stdin and stdout go to the lead. */
				code = join_part(joinid, hdr, target);
				goto out;
			}
			t = img_target_open(target, h->image_size, &err);
			if (t == NULL) {
				code = fail(2, "%s", err.msg);
				goto out;
			}
			if ((h->flags & FRAME_F_SPLIT) && (join = join_listen(
			    joinid, h, target, &err)) == NULL) {
				code = fail(2, "%s", err.msg);
				goto out;
			}
			w = img_wr_new(t, h->image_size, readback ||
			    (h->flags & FRAME_F_READBACK));
			img_wr_set_progress(w, on_progress, NULL,
			    h->mapped_bytes);
			pk.w = w;
			memset(&r, 0, sizeof(r));
			r.kind = FRAME_REP_READY;
			snprintf(r.target, sizeof(r.target), "%s", target);
			r.target_bytes = img_target_size(t);
			r.image_bytes = h->image_size;
			r.mapped_bytes = h->mapped_bytes;
			wr_report(&r);
			break;
		}
		case FRAME_EV_MAP:
			frame_dec_map(in.d, &pk.codec, &pk.layout, &n);
			break;
		case FRAME_EV_ENTRY:
			frame_dec_range(in.d, &idx, &off, &len);
			pk_add(&pk, off, len, frame_dec_digest(in.d));
			break;
		case FRAME_EV_PACKED:
			/* The table is complete: the rest is compressed. */
			in.pack = data;
			in.packlen = dlen;
			if (join != NULL ? join_write(join, &pk, &in, data,
			    dlen, &err) != ERR_OK : pk_write(&pk, &in,
			    frame_dec_hdr(in.d)->image_size, &err) != ERR_OK) {
				code = fail(1, "%s", err.msg);
				goto out;
			}
			finished = 1;
			break;
		case FRAME_EV_RANGE:
			frame_dec_range(in.d, &idx, &off, &len);
			if (img_wr_begin(w, off, len, &err) != ERR_OK) {
				code = fail(1, "%s", err.msg);
				goto out;
			}
			break;
		case FRAME_EV_DATA:
			if (wr_stage_data(w, data, dlen, &err) != ERR_OK) {
				code = fail(1, "%s", err.msg);
				goto out;
			}
			break;
		case FRAME_EV_RANGE_END:
			if (wr_flush_stage(w, &err) != ERR_OK ||
			    img_wr_end(w, frame_dec_digest(in.d),
			    &err) != ERR_OK) {
				code = fail(1, "%s", err.msg);
				goto out;
			}
			break;
		case FRAME_EV_END:
			if (pull != NULL) {
				/* The table is all: the image comes over
				 * HTTP. */
				if (pull_write(&pk, pull, frame_dec_hdr(
				    in.d)->image_size, in.packsha, &ps,
				    &err) != ERR_OK) {
					code = fail(1, "%s", err.msg);
					goto out;
				}
				finished = 1;
				break;
			}
			if (frame_dec_hdr(in.d)->flags & FRAME_F_PACKED) {
				code = fail(1, "the packed stream has no "
				    "packed data");
				goto out;
			}
			finished = 1;
			break;
		}
	}
	/* The stream's digest is checked before the held first and last
	 * MiB are written. */
	if (img_wr_finish(w, frame_dec_digest(in.d), &err) != ERR_OK) {
		code = fail(1, "%s", err.msg);
		goto out;
	}
	img_wr_digest(w, dig);
	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_DONE;
	r.ranges = img_wr_ranges(w);
	r.bytes = img_wr_done(w);
	img_hex(dig, r.sha256);
	r.readback = readback ||
	    (frame_dec_hdr(in.d)->flags & FRAME_F_READBACK);
	r.elapsed_ms = mono_ms() - W.start_ms;
	r.cpu_ms = cpu_ms();
	if ((frame_dec_hdr(in.d)->flags & FRAME_F_PACKED) &&
	    pk.codec != FRAME_CODEC_NONE) {
		img_sha_final(in.packsha, dig);
		img_hex(dig, r.packed_sha256);
	}
	r.pulled = pull != NULL;
	r.fetched_bytes = ps.fetched;
	r.requests = ps.requests;
	r.resumes = ps.resumes;
	wr_report(&r);
	code = 0;
out:
	join_end(join, code);
	img_wr_free(w);
	img_target_close(t);
	frame_dec_free(in.d);
	img_sha_free(in.packsha);
	free(in.buf);
	free(pk.vb.r);
	free(pk.off);
	free(W.stages[0]);
	free(W.stages[1]);
	return code;
}
