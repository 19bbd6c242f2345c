/*
 * castiron-writer: the host-side end of an image write.  provision uploads
 * this static program to a deploy environment and feeds it the framed
 * stream of images/frame.h on stdin; it writes each range onto the target
 * with the same engine as `castiron image write` (images/write.c),
 * verifies each range's sha256, and reports on stdout in the line format
 * of frame.h, which provision parses.  No configuration, no libraries at
 * run time, nothing but the target touched.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "images/frame.h"
#include "images/target.h"
#include "lib/log.h"

#define IN_BUF	(4u << 20)
#define STAGE	(4u << 20)	/* range data is gathered into aligned writes */

static struct {
	uint8_t		*stages[2];	/* one filling while the other is written */
	uint8_t		*stage;
	size_t		 staged;
	int		 quiet;
	uint64_t	 last_ms;
	uint64_t	 start_ms;
} W;

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
report(const struct frame_report *r)
{
	char	 line[FRAME_LINE_MAX + 2];
	size_t	 n;

	n = frame_report_format(line, sizeof(line), r);
	fwrite(line, 1, n, stdout);
	fflush(stdout);
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
	report(&r);
	fprintf(stderr, "castiron-writer: %s\n", r.msg);
	return code;
}

static void
on_progress(void *arg, int phase, uint64_t done, uint64_t total)
{
	struct frame_report	 r;
	uint64_t		 now = now_ms();

	(void)arg;
	if (W.quiet || (now - W.last_ms < 250 && done != total))
		return;
	W.last_ms = now;
	memset(&r, 0, sizeof(r));
	r.kind = phase == IMG_PHASE_READBACK ? FRAME_REP_READBACK :
	    FRAME_REP_PROGRESS;
	r.done = done;
	r.total = total;
	report(&r);
}

/*
 * Hands what is staged (a whole number of blocks unless last) to the
 * engine, which writes it while the next stage fills from stdin: reading
 * the network and writing the disk overlap.
 */
static int
flush_stage(struct img_wr *w, char *err, size_t errlen)
{
	int	 rc = 0;

	if (W.staged > 0) {
		rc = img_wr_data_async(w, W.stage, W.staged, err, errlen);
		W.stage = W.stage == W.stages[0] ? W.stages[1] : W.stages[0];
	}
	W.staged = 0;
	return rc;
}

/* Gathers range data so that the engine gets large aligned writes
 * whatever slices the network delivered. */
static int
stage_data(struct img_wr *w, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	size_t	 n;

	while (len > 0) {
		n = STAGE - W.staged < len ? STAGE - W.staged : len;
		memcpy(W.stage + W.staged, p, n);
		W.staged += n;
		p += n;
		len -= n;
		if (W.staged == STAGE && flush_stage(w, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: castiron-writer [--verify-readback] [--quiet] "
	    "TARGET < stream\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct frame_dec	*d;
	struct img_target	*t = NULL;
	struct img_wr		*w = NULL;
	struct frame_report	 r;
	static uint8_t		 buf[IN_BUF];
	const uint8_t		*data, *p;
	const char		*target = NULL;
	char			 err[512];
	uint8_t			 dig[SHA256_LEN];
	uint64_t		 idx, off, len;
	size_t			 used, dlen, left;
	ssize_t			 n;
	enum frame_ev		 ev;
	int			 i, readback = 0, code = 1, finished = 0;

	log_init("castiron-writer", 0, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--verify-readback") == 0)
			readback = 1;
		else if (strcmp(argv[i], "--quiet") == 0)
			W.quiet = 1;
		else if (argv[i][0] == '-' || target != NULL)
			return usage();
		else
			target = argv[i];
	}
	if (target == NULL)
		return usage();
	W.start_ms = now_ms();
	if (posix_memalign((void **)&W.stages[0], 4096, STAGE) != 0 ||
	    posix_memalign((void **)&W.stages[1], 4096, STAGE) != 0) {
		fprintf(stderr, "castiron-writer: out of memory\n");
		return 1;
	}
	W.stage = W.stages[0];
	d = frame_dec_new();
	while (!finished) {
		do
			n = read(STDIN_FILENO, buf, sizeof(buf));
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			code = fail(t ? 1 : 2, "reading the stream: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0) {
			code = fail(t ? 1 : 2, "the stream ended early, after "
			    "%llu bytes", (unsigned long long)frame_dec_pos(d));
			goto out;
		}
		p = buf;
		left = (size_t)n;
		do {
			ev = frame_dec_feed(d, p, left, &used, &data, &dlen);
			p += used;
			left -= used;
			switch (ev) {
			case FRAME_EV_NEED:
				break;
			case FRAME_EV_ERROR:
				code = fail(t ? 1 : 2, "%s",
				    frame_dec_error(d));
				goto out;
			case FRAME_EV_HDR: {
				const struct frame_hdr *h = frame_dec_hdr(d);
				t = img_target_open(target, h->image_size, err,
				    sizeof(err));
				if (t == NULL) {
					code = fail(2, "%s", err);
					goto out;
				}
				w = img_wr_new(t, readback ||
				    (h->flags & FRAME_F_READBACK));
				img_wr_set_progress(w, on_progress, NULL,
				    h->mapped_bytes);
				memset(&r, 0, sizeof(r));
				r.kind = FRAME_REP_READY;
				snprintf(r.target, sizeof(r.target), "%s",
				    target);
				r.target_bytes = img_target_size(t);
				r.image_bytes = h->image_size;
				r.mapped_bytes = h->mapped_bytes;
				report(&r);
				break;
			}
			case FRAME_EV_RANGE:
				frame_dec_range(d, &idx, &off, &len);
				if (img_wr_begin(w, off, len, err,
				    sizeof(err)) == -1) {
					code = fail(1, "%s", err);
					goto out;
				}
				break;
			case FRAME_EV_DATA:
				if (stage_data(w, data, dlen, err,
				    sizeof(err)) == -1) {
					code = fail(1, "%s", err);
					goto out;
				}
				break;
			case FRAME_EV_RANGE_END:
				if (flush_stage(w, err, sizeof(err)) == -1) {
					code = fail(1, "%s", err);
					goto out;
				}
				if (img_wr_end(w, frame_dec_digest(d), err,
				    sizeof(err)) == -1) {
					code = fail(1, "%s", err);
					goto out;
				}
				break;
			case FRAME_EV_END:
				finished = 1;
				break;
			}
		} while (left > 0 && !finished);
	}
	if (img_wr_finish(w, err, sizeof(err)) == -1) {
		code = fail(1, "%s", err);
		goto out;
	}
	img_wr_digest(w, dig);
	if (memcmp(dig, frame_dec_digest(d), SHA256_LEN) != 0) {
		code = fail(1, "the stream digest does not match the ranges "
		    "written");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_DONE;
	r.ranges = img_wr_ranges(w);
	r.bytes = img_wr_done(w);
	img_hex(dig, r.sha256);
	r.readback = readback || (frame_dec_hdr(d)->flags & FRAME_F_READBACK);
	r.elapsed_ms = now_ms() - W.start_ms;
	report(&r);
	code = 0;
out:
	img_wr_free(w);
	img_target_close(t);
	frame_dec_free(d);
	free(W.stages[0]);
	free(W.stages[1]);
	return code;
}
