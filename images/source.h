/*
 * Image sources: an image file read as its decompressed bytes, whatever
 * it is stored as (raw, zstd, gzip; told apart by content, never by
 * name), and a reader thread that decompresses ahead into a small ring of
 * large buffers so that hashing and writing overlap with decompression.
 */
#ifndef CASTIRON_IMAGES_SOURCE_H
#define CASTIRON_IMAGES_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

enum img_format { IMG_RAW, IMG_ZSTD, IMG_GZIP };

const char	*img_format_name(enum img_format);
/*
 * Reads the first bytes of fd (pread, offset 0); refuses xz, bzip2.
 * Every function here that fails sets err with ERR_FAIL: an image that
 * cannot be read, is corrupt or is of the wrong kind fails the operation.
 */
enum err_code	 img_format_detect(int fd, enum img_format *,
		    struct err *);

struct img_src;

/* Opens path for reading as a stream of image bytes. */
struct img_src	*img_src_open(const char *path, struct err *);
/*
 * Opens a compressed stream whose bytes come from fill() instead of a
 * file: fill() returns up to len bytes, 0 at the end of the stream, -1
 * with err set.  name is used in messages.  Not seekable: no measure.
 */
typedef ssize_t	 img_fill_fn(void *arg, uint8_t *buf, size_t len,
		    struct err *);
struct img_src	*img_src_open_fill(enum img_format, const char *name,
		    img_fill_fn *fill, void *arg, struct err *);
void		 img_src_close(struct img_src *);
enum img_format	 img_src_format(const struct img_src *);
/* Size of the file as stored (compressed). */
uint64_t	 img_src_stored_size(const struct img_src *);
/* The image size when it is known without reading (raw), else 0. */
uint64_t	 img_src_known_size(const struct img_src *);
/*
 * Reads up to len image bytes; returns the count, 0 at the end of the
 * image, -1 on error (a corrupt or truncated stream, an I/O error).
 */
ssize_t		 img_src_read(struct img_src *, void *buf, size_t len,
		    struct err *);
/*
 * A raw image file only: reads up to len bytes at off (short at the end
 * of the file), -1 on error; and asks the kernel to read a span ahead.
 */
ssize_t		 img_src_pread(struct img_src *, void *buf, size_t len,
		    uint64_t off, struct err *);
void		 img_src_willneed(struct img_src *, uint64_t off, uint64_t len);
/* Counts the image bytes by reading the whole source once (then rewinds). */
enum err_code	 img_src_measure(struct img_src *, uint64_t *size,
		    struct err *);

/*
 * The read-ahead ring.  img_pipe_next() returns the next filled buffer
 * (len 0 at the end of the image) and gives back the previous one; an
 * error when the reader failed (err says why).  The pipe owns its buffers; the
 * source stays the caller's.
 */
#define IMG_PIPE_BUFS	6
#define IMG_PIPE_BUFSZ	(4u << 20)

struct img_pipe;

struct img_pipe	*img_pipe_new(struct img_src *);
enum err_code	 img_pipe_next(struct img_pipe *, const uint8_t **buf,
		    size_t *len, struct err *);
/* Stops the reader (if still running) and frees the ring. */
void		 img_pipe_free(struct img_pipe *);

#endif
