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

struct img_sha;

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

/* castiron-writer --kexec ... (kexec.c, reboot = kexec): argv[0] is the
 * mode's first word; returns the exit status. */
int		writer_kexec(int argc, char **argv);

#endif
