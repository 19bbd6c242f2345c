/*
 * Write targets and the writing engine shared by `castiron image write`
 * and the static castiron-writer.  A target is opened only after it was
 * checked (big enough, nothing on it mounted, not busy: block devices are
 * opened O_EXCL); the engine then takes ranges of image bytes, hashes and
 * writes them with large pwrites, checks each range's sha256, and at the
 * end fsyncs, optionally reads everything back, and tells the kernel about
 * a new partition table.
 */
#ifndef CASTIRON_IMAGES_TARGET_H
#define CASTIRON_IMAGES_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "images/digest.h"
#include "lib/err.h"

struct img_target;

/*
 * Opens path for an image of image_size bytes.  A regular file is created
 * if missing and truncated to image_size (so unmapped blocks read as
 * zeros), except under /dev, where the target must be an existing block
 * device; a block device must be at least image_size bytes and have
 * nothing mounted.  Returns NULL with err set; nothing was written then,
 * so every failure here is a refusal, of the kind the caller can mend
 * (ERR_NOENT, ERR_INVAL, ERR_WRONGSTATE: exit 2).
 */
struct img_target *img_target_open(const char *path, uint64_t image_size,
		    struct err *);
void		 img_target_close(struct img_target *);
uint64_t	 img_target_size(const struct img_target *);
int		 img_target_is_blk(const struct img_target *);
const char	*img_target_path(const struct img_target *);
/* ERR_OK when nothing on the block device dev (or a partition of it) is
 * mounted; ERR_WRONGSTATE naming the mount point otherwise. */
enum err_code	 img_dev_check_unmounted(unsigned maj, unsigned min,
		    const char *path, struct err *);
/* Re-reads the partition table (BLKRRPART, then BLKPG as partx -a does). */
enum err_code	 img_target_reread(struct img_target *, struct err *);

struct img_wr;

/*
 * The image's first MiB (partition table, boot code) and last MiB (a
 * GPT's backup header) are kept in memory as they arrive and written by
 * img_wr_finish only after every other range is written, verified and
 * synced: a write that fails before leaves the target's own there.
 */
struct img_wr	*img_wr_new(struct img_target *, uint64_t image_size,
		    int readback);
void		 img_wr_free(struct img_wr *);
/* A range of the image starts; it must follow the previous one.  Every
 * img_wr_ function fails with ERR_FAIL and err set. */
enum err_code	 img_wr_begin(struct img_wr *, uint64_t off, uint64_t len,
		    struct err *);
enum err_code	 img_wr_data(struct img_wr *, const void *, size_t,
		    struct err *);
/*
 * The same, but returns once the bytes are hashed while the device may
 * still be writing them: buf must stay untouched until the next call on
 * this writer (which waits first; a write error surfaces there).
 */
enum err_code	 img_wr_data_async(struct img_wr *, const void *, size_t,
		    struct err *);
/* The range is complete: its digest must equal expect (NULL: no check). */
enum err_code	 img_wr_end(struct img_wr *, const uint8_t *expect,
		    struct err *);
/*
 * Checks the digest over the range digests against expect (the stream's,
 * NULL: no check), fsyncs, reads back (when asked), then writes, syncs
 * and reads back the held first and last MiB, and re-reads the
 * partition table.
 */
enum err_code	 img_wr_finish(struct img_wr *, const uint8_t *expect,
		    struct err *);
uint64_t	 img_wr_done(const struct img_wr *);	/* bytes written */
uint64_t	 img_wr_ranges(const struct img_wr *);
/* sha256 over the range digests, in order (after img_wr_finish). */
void		 img_wr_digest(const struct img_wr *, uint8_t out[SHA256_LEN]);
void		 img_wr_set_progress(struct img_wr *,
		    void (*)(void *, int phase, uint64_t done, uint64_t total),
		    void *arg, uint64_t total);

#define IMG_PHASE_WRITE		0
#define IMG_PHASE_READBACK	1

#endif
