/*
 * Inside castiron-writer: what main.c (the stream on stdin) shares with
 * the pull mode (pull.c: the image file fetched from the boot service).
 * Both write through the same staging and the same range table; not for
 * use outside images/writer/.  Also the kexec mode's entry (kexec.c),
 * which shares nothing else.
 */
#ifndef CASTIRON_WRITER_H
#define CASTIRON_WRITER_H

#include <stdint.h>

#include "images/bmap.h"
#include "images/source.h"
#include "images/target.h"
#include "lib/err.h"

#include "images/frame.h"

struct img_sha;

#define WR_IN_BUF	(4u << 20)

/* A stream being read: stdin, or a part's stdin handed over (join.c). */
struct input {
	int			 fd;
	struct frame_dec	*d;
	uint8_t			*buf;
	const uint8_t		*p;
	size_t			 left;
	const uint8_t		*pack;		/* compressed bytes not yet
						   taken by the decompressor */
	size_t			 packlen;
	int			 end;		/* the end record was read */
	struct img_sha		*packsha;	/* over every packed byte */
};

/* The next event of the stream on in->fd (never FRAME_EV_NEED or
 * FRAME_EV_ERROR: an error is ERR_FAIL with err set). */
enum err_code	wr_in_next(struct input *, enum frame_ev *,
		    const uint8_t **data, size_t *dlen, struct err *);
/* Report lines: to stdout, and "done" and "error" lines also to every
 * stream that joined (join.c registers each with wr_report_also). */
void		wr_report(const struct frame_report *);
void		wr_report_also(int fd);

/*
 * A packed (or pulled) stream's ranges, as the walk sees them: where
 * each one sits in the decompressed bytes (vb: the whole image, or the
 * mapped data back to back) and where it goes on the target (off).
 */
struct packed {
	struct img_wr	*w;
	struct bmap	 vb;
	uint64_t	*off;
	uint64_t	 n, cap, vpos;
	unsigned	 codec, layout;
};

/* Range data into the staging buffers (large aligned writes), and what
 * is staged to the engine. */
enum err_code	wr_stage_data(struct img_wr *, const uint8_t *, size_t,
		    struct err *);
enum err_code	wr_flush_stage(struct img_wr *, struct err *);
/* Decompresses what fill() returns and writes the table's ranges. */
enum err_code	wr_pack_walk(struct packed *, img_fill_fn *fill, void *arg,
		    uint64_t image_size, struct err *);

/* What a pull fetched (the "done" line's fetched_bytes, requests,
 * resumes). */
struct pull_stats {
	uint64_t	 fetched, requests, resumes;
};

/*
 * pull.c: writes the table's ranges from the image file at url (the
 * boot service's /images/NAME), as stored: a compressed file is fetched
 * whole and decompressed (every byte fetched goes into sha, the
 * packed_sha256 of the "done" line), a raw one range by range at the
 * offsets of the table.  Every wait is bounded; a request that fails on
 * the way is resumed from the byte it reached (pull.c says how long).
 */
enum err_code	pull_write(struct packed *, const char *url,
		    uint64_t image_size, struct img_sha *sha,
		    struct pull_stats *, struct err *);
/* Checks url before anything is read: http://ADDRESS[:PORT]/PATH. */
enum err_code	pull_url_check(const char *url, struct err *);

/*
 * join.c: castiron-writer --join ID, a write split over several streams
 * (images/frame.h).  The lead (its stream's header says FRAME_F_SPLIT)
 * listens at ID once its target is open (join_listen), and on its first
 * pack record writes the table's ranges from the joined records
 * (join_write), taking the other streams as they join and checking that
 * each ends where it should.  A part (FRAME_F_PART) hands its stdin and
 * stdout to the lead and exits with the lead's verdict (join_part, which
 * returns the exit status).  join_end() gives every joined part the
 * write's exit status and closes what they handed over.
 */
struct join;

struct join	*join_listen(const char *id, const struct frame_hdr *,
		    const char *target, struct err *);
enum err_code	 join_write(struct join *, struct packed *,
		    struct input *lead, const uint8_t *data, size_t dlen,
		    struct err *);
void		 join_end(struct join *, int code);
int		 join_part(const char *id, const uint8_t hdr[FRAME_HDR_LEN],
		    const char *target);
/* Checks a --join ID: 8 to 32 lower-case hex digits. */
enum err_code	 join_id_check(const char *id, struct err *);

/* castiron-writer --kexec ... (kexec.c, reboot = kexec): argv[0] is the
 * mode's first word; returns the exit status. */
int		writer_kexec(int argc, char **argv);

#endif
