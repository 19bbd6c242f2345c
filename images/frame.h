/*
 * The castiron-writer protocol: the framed stream castiron sends to the
 * host-side writer (build/castiron-writer) on its standard input, and the
 * report lines the writer prints on its standard output.  provision uses
 * the sender (frame_send_image) to push an image over an SSH channel and
 * the report parser (frame_report_parse) to follow the writer; the writer
 * uses the decoder.  docs/writer-protocol.md describes the same thing for
 * people.  This header is a contract: keep it stable.
 *
 * Stream (all integers big-endian):
 *
 *   header   "CIWRITE1" u64 image_size u32 flags u16 stream u16 streams
 *            u64 mapped_bytes                              (32 bytes)
 *            (stream and streams are 0 unless the write is split)
 *   range*   u32 'RNGE' u32 reserved(0) u64 offset u64 length (24 bytes)
 *            then length bytes of data, then 32 bytes sha256(data)
 *   end      u32 'END!' u32 reserved(0) u64 nranges u64 total_bytes
 *            then 32 bytes: sha256 over the ranges' digests, in order
 *
 * A packed stream (header flag FRAME_F_PACKED) carries the same ranges
 * compressed: first the whole range table, then the compressed bytes, then
 * the same end record.
 *
 *   header   as above, with FRAME_F_PACKED
 *   map      u32 'MAP!' u16 codec u16 layout u64 nranges u64 mapped_bytes
 *            then nranges entries: u64 offset u64 length 32 bytes sha256
 *   pack*    u32 'PACK' u32 reserved(0) u64 length u64 reserved(0)
 *            then length bytes of the compressed stream
 *   end      as above
 *
 * A pulled stream (FRAME_F_PACKED | FRAME_F_PULL) is the header, the map
 * and its entries, then the end record at once: the data is the image
 * file as stored, which the writer fetches over HTTP (layout
 * FRAME_LAYOUT_IMAGE only; codec NONE for a raw file, whose ranges are
 * fetched one by one at their offsets).  The digests still come from
 * castiron, in the table.
 *
 * A split write (castiron-writer --join ID, docs/writer-protocol.md)
 * travels on several streams at once, each its own SSH session.  The
 * lead (FRAME_F_PACKED | FRAME_F_SPLIT, stream 0 of streams) is a packed
 * stream of codec NONE and layout MAPPED: the whole table, its share of
 * the pack records, the end record.  Each other stream (FRAME_F_PART,
 * stream k) is a header, its pack records and an end record whose counts
 * are its own records and bytes and whose digest is the lead's.  Pack
 * record j of the write is on stream j mod streams; joined in that
 * order, their bytes are the mapped data back to back.
 *
 * The pack records' bytes, joined, are one zstd or gzip stream (codec).
 * With FRAME_LAYOUT_IMAGE it decompresses to the whole image, exactly
 * image_size bytes (an image file as it is stored, sent as it is); with
 * FRAME_LAYOUT_MAPPED to the ranges' data back to back, exactly
 * mapped_bytes (mapped data compressed by the sender).  The writer cuts
 * the decompressed bytes into the table's ranges and checks each range's
 * digest as it writes it.
 *
 * Ranges are sorted, do not overlap, are not empty and end at or before
 * image_size; at most FRAME_MAX_RANGES of them, each at most
 * FRAME_MAX_RANGE_LEN bytes.  mapped_bytes is the sum of their lengths
 * (the writer refuses an end record that disagrees).  A stream that ends
 * before the end record is an error: the writer exits 1 and never writes
 * at or past image_size.
 *
 * Report lines (one per line, '\n' terminated, at most FRAME_LINE_MAX
 * bytes, a keyword then key=value words; unknown keys are ignored so that
 * later versions may add some):
 *
 *   ready target=PATH target_bytes=N image_bytes=N mapped_bytes=N
 *   progress done=N total=N             written and verified bytes
 *   readback done=N total=N             with FRAME_F_READBACK
 *   done ranges=N bytes=N sha256=HEX readback=yes|no elapsed_ms=N cpu_ms=N
 *        [packed_sha256=HEX]   packed: the compressed bytes as received
 *        [fetched_bytes=N requests=N resumes=N]   pulled (--pull)
 *   error exit=N msg=TEXT               TEXT runs to the end of the line
 *
 * Exit status: 0 after "done"; 2 when nothing was written (usage, a bad
 * header, a target too small or in use); 1 when writing failed (a short
 * stream, a digest mismatch, an I/O error).  Every failure prints one
 * "error" line first.
 */
#ifndef CASTIRON_FRAME_H
#define CASTIRON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define FRAME_MAGIC		"CIWRITE1"
#define FRAME_HDR_LEN		32
#define FRAME_REC_LEN		24
#define FRAME_DIGEST_LEN	32
#define FRAME_TYPE_RANGE	0x524e4745u	/* "RNGE" */
#define FRAME_TYPE_END		0x454e4421u	/* "END!" */
#define FRAME_TYPE_MAP		0x4d415021u	/* "MAP!" */
#define FRAME_TYPE_PACK		0x5041434bu	/* "PACK" */
#define FRAME_ENTRY_LEN		48
#define FRAME_MAX_PACK		(64u << 20)	/* bytes in one pack record */
#define FRAME_MAX_RANGES	(1u << 20)
#define FRAME_MAX_RANGE_LEN	(1ULL << 40)
#define FRAME_MAX_IMAGE		(1ULL << 50)	/* 1 PiB */
#define FRAME_LINE_MAX		512

/* Header flags. */
#define FRAME_F_READBACK	0x1u	/* read every range back after fsync */
#define FRAME_F_PACKED		0x2u	/* range table, then compressed data */
#define FRAME_F_PULL		0x4u	/* with PACKED: the range table only;
					   the writer fetches the image file
					   itself (castiron-writer --pull) */
#define FRAME_F_SPLIT		0x8u	/* with PACKED: the lead stream of a
					   write split over several streams
					   (castiron-writer --join) */
#define FRAME_F_PART		0x10u	/* one of the other streams of a
					   split write: pack records only */
#define FRAME_F_KNOWN		(FRAME_F_READBACK | FRAME_F_PACKED | \
				 FRAME_F_PULL | FRAME_F_SPLIT | FRAME_F_PART)
/* A split write: 2 to FRAME_MAX_STREAMS streams; pack record j of the
 * whole write travels on stream j mod streams. */
#define FRAME_MAX_STREAMS	16
#define FRAME_SPLIT_STRIPE	(256u << 10)	/* the sender's record size */

/* Codecs and layouts of a packed stream.  CODEC_NONE (a raw image file,
 * its ranges fetched where they lie) only in a pulled stream. */
#define FRAME_CODEC_NONE	0
#define FRAME_CODEC_ZSTD	1
#define FRAME_CODEC_GZIP	2
#define FRAME_LAYOUT_IMAGE	0	/* decompresses to the whole image */
#define FRAME_LAYOUT_MAPPED	1	/* to the mapped data, back to back */

struct frame_hdr {
	uint64_t	image_size;
	uint32_t	flags;
	uint64_t	mapped_bytes;
	unsigned	stream;		/* split (SPLIT or PART): this stream's
					   index, 0 for the lead */
	unsigned	streams;	/* split: how many; 0 otherwise */
};

/* Encoders: fill exactly FRAME_HDR_LEN / FRAME_REC_LEN bytes. */
void	frame_encode_hdr(uint8_t out[FRAME_HDR_LEN], const struct frame_hdr *);
void	frame_encode_range(uint8_t out[FRAME_REC_LEN], uint64_t off,
	    uint64_t len);
void	frame_encode_end(uint8_t out[FRAME_REC_LEN], uint64_t nranges,
	    uint64_t total);
void	frame_encode_map(uint8_t out[FRAME_REC_LEN], unsigned codec,
	    unsigned layout, uint64_t nranges, uint64_t mapped);
void	frame_encode_entry(uint8_t out[FRAME_ENTRY_LEN], uint64_t off,
	    uint64_t len, const uint8_t digest[FRAME_DIGEST_LEN]);
void	frame_encode_pack(uint8_t out[FRAME_REC_LEN], uint64_t len);

/*
 * Incremental decoder: feed it bytes as they arrive, in any slicing.  It
 * validates the header and every record (ordering, bounds, counts) and
 * hands range data through in place, without copying.
 */
enum frame_ev {
	FRAME_EV_NEED,		/* consumed everything given; feed more */
	FRAME_EV_HDR,		/* header complete: frame_dec_hdr() */
	FRAME_EV_RANGE,		/* a range record: frame_dec_range() */
	FRAME_EV_DATA,		/* *data, *len: the next bytes of the range */
	FRAME_EV_RANGE_END,	/* range data and its digest complete */
	FRAME_EV_MAP,		/* packed: the table begins: frame_dec_map() */
	FRAME_EV_ENTRY,		/* packed: one table entry: frame_dec_range(),
				   frame_dec_digest() */
	FRAME_EV_PACKED,	/* packed: *data, *len: compressed bytes */
	FRAME_EV_END,		/* end record and stream digest complete */
	FRAME_EV_ERROR,		/* frame_dec_error() says why */
};

struct frame_dec;

struct frame_dec *frame_dec_new(void);
void		 frame_dec_free(struct frame_dec *);
/*
 * Consumes up to len bytes of buf (*used says how many) and returns the
 * next event.  FRAME_EV_DATA points into buf.  After FRAME_EV_END any
 * further byte is an error; after FRAME_EV_ERROR the decoder stays failed.
 */
enum frame_ev	 frame_dec_feed(struct frame_dec *, const uint8_t *buf,
		    size_t len, size_t *used, const uint8_t **data,
		    size_t *datalen);
const struct frame_hdr *frame_dec_hdr(const struct frame_dec *);
/* A packed stream's codec, layout and range count (after FRAME_EV_MAP). */
void		 frame_dec_map(const struct frame_dec *, unsigned *codec,
		    unsigned *layout, uint64_t *nranges);
/* The current range (or table entry): its index (from 0), offset, length. */
void		 frame_dec_range(const struct frame_dec *, uint64_t *idx,
		    uint64_t *off, uint64_t *len);
/* After FRAME_EV_RANGE_END, FRAME_EV_ENTRY or FRAME_EV_END: the digest
 * the sender sent. */
const uint8_t	*frame_dec_digest(const struct frame_dec *);
/* Bytes of the current pack record not passed yet (0: it is complete). */
uint64_t	 frame_dec_pack_left(const struct frame_dec *);
/* After FRAME_EV_END: ranges and bytes the end record announced. */
void		 frame_dec_totals(const struct frame_dec *, uint64_t *nranges,
		    uint64_t *bytes);
const char	*frame_dec_error(const struct frame_dec *);
/* Bytes consumed so far (for error messages). */
uint64_t	 frame_dec_pos(const struct frame_dec *);

/* Report lines, as printed by the writer and parsed by provision. */
enum frame_rep {
	FRAME_REP_READY,
	FRAME_REP_PROGRESS,
	FRAME_REP_READBACK,
	FRAME_REP_DONE,
	FRAME_REP_ERROR,
};

struct frame_report {
	enum frame_rep	kind;
	uint64_t	done, total;		/* progress, readback */
	uint64_t	target_bytes, image_bytes, mapped_bytes;  /* ready */
	uint64_t	ranges, bytes, elapsed_ms;	/* done */
	uint64_t	cpu_ms;		/* done: the writer's CPU time */
	char		sha256[65];			/* done: hex */
	char		packed_sha256[65];	/* done, packed: "" or the sha256
						   of the packed bytes received */
	int		readback;			/* done */
	int		pulled;		/* done: the writer fetched the image
					   (--pull): the three below are set */
	uint64_t	fetched_bytes;	/* body bytes received over HTTP */
	uint64_t	requests;	/* HTTP requests made */
	uint64_t	resumes;	/* of them, after a failed one */
	int		exit_code;			/* error */
	char		target[256];			/* ready */
	char		msg[FRAME_LINE_MAX];		/* error */
};

/*
 * Parses one line (with or without its '\n').  Returns ERR_OK, or
 * ERR_FAIL with a reason in err for a line that is not a report line.
 */
enum err_code	frame_report_parse(const char *line, struct frame_report *,
		    struct err *);
/* Formats a report line with its '\n' into buf; returns its length. */
size_t	frame_report_format(char *buf, size_t len,
	    const struct frame_report *);

/*
 * The sender.  Reads the image at path (raw, zstd or gzip, detected from
 * its content), with the bmap at bmap_path (NULL: every byte of the
 * image, sent in FRAME_SEND_CHUNK ranges), and emits the whole framed
 * stream through out().  out() returns 0, or -1 to stop (the sender then
 * fails).  progress(), when not NULL, is called with the mapped bytes
 * sent so far (or their share of the compressed bytes sent).
 *
 * How the data travels (pack):
 * - a zstd or gzip image is sent packed, as it is stored: the host
 *   decompresses it (FRAME_PACK_NEVER: decompressed here, sent plain);
 *   without a bmap its 64 MiB chunks' digests are computed here first, by
 *   decompressing it once;
 * - a raw image with a bmap is sent plain, or packed by zstd on the fly
 *   (FRAME_PACK_ALWAYS; FRAME_PACK_AUTO when a sample of its mapped data
 *   shows that compressing is faster than sending: frame_pack_decide());
 * - a raw image without a bmap is sent plain.
 * In a plain stream a range that does not match its bmap digest stops the
 * stream before its digest is sent, so the writer never sees an end record.
 */
#define FRAME_SEND_CHUNK	(64ULL << 20)

enum frame_pack {
	FRAME_PACK_AUTO,
	FRAME_PACK_NEVER,
	FRAME_PACK_ALWAYS,
};

struct frame_send_opts {
	const char	*image_path;
	const char	*bmap_path;	/* NULL: no bmap */
	const char	*bmap_sha256;	/* the bmap's pinned digest, NULL:
					   none (bmap_load_pinned) */
	uint32_t	 flags;		/* FRAME_F_READBACK */
	enum frame_pack	 pack;
	int		(*out)(void *arg, const void *buf, size_t len);
	void		 *out_arg;
	void		(*progress)(void *arg, uint64_t done, uint64_t total);
	void		 *progress_arg;
	/*
	 * The image was just verified against its sha256 (provision does,
	 * once per run): with a bmap, each range's digest sent is the
	 * bmap's, not hashed again here.  The writer still hashes every
	 * range and compares, so an image that changed since fails on the
	 * host.  Without this, a range that does not match its bmap digest
	 * stops a plain stream here, before the writer could finish.
	 */
	int		  verified;
	/*
	 * A pulled stream (FRAME_F_PULL): only the header, the range table
	 * and the end record; the host fetches the image file as stored.
	 * A raw image's table is its bmap (without one, its 64 MiB chunks,
	 * hashed here first); pack is ignored.
	 */
	int		  pull;
};

struct frame_send_result {
	uint64_t	image_bytes;
	uint64_t	mapped_bytes;
	uint64_t	ranges;
	uint64_t	wire_bytes;	/* the stream's length */
	char		sha256[65];	/* over the range digests, as "done" */
	char		how[96];	/* "zstd as stored", "plain", ... */
	int		as_stored;	/* the image file itself was sent
					   (or pulled, compressed): the
					   writer's packed_sha256 is the
					   file's */
};

/* ERR_FAIL with err set when the stream could not be made or sent. */
enum err_code	frame_send_image(const struct frame_send_opts *,
		    struct frame_send_result *, struct err *);

/*
 * A split write (images/split.c): a raw image with its bmap, sent plain
 * over n streams (2 to FRAME_MAX_STREAMS) at once, each by its own
 * thread.  frame_split_new() loads and checks the bmap (o->bmap_sha256)
 * and opens o->image_path (only those and o->flags are used: the image is
 * the verified one, its bmap's digests are sent as they are and the
 * writer checks every range against them).  frame_split_send() emits
 * stream k (0: the lead, with the table) through out(); it may run on k's
 * own thread while the others run on theirs.  progress(), when not NULL,
 * is called with each stripe's bytes as it is sent.  frame_split_result()
 * fills what frame_send_image() would, after every stream was sent.
 */
struct frame_split;

struct frame_split *frame_split_new(const struct frame_send_opts *,
		    unsigned n, struct err *);
enum err_code	 frame_split_send(struct frame_split *, unsigned k,
		    int (*out)(void *, const void *, size_t), void *out_arg,
		    void (*progress)(void *, uint64_t), void *parg,
		    struct err *);
void		 frame_split_result(const struct frame_split *,
		    struct frame_send_result *);
void		 frame_split_free(struct frame_split *);
/* How many records and bytes of mapped data cut into stripes of stripe
 * bytes stream k of n carries (the range split, as sender and tests see
 * it). */
void		 frame_split_share(uint64_t mapped, uint64_t stripe,
		    unsigned n, unsigned k, uint64_t *records, uint64_t *bytes);

/*
 * Whether a raw image's mapped data is worth compressing on the way:
 * compresses samples spread over the bmap's ranges at the level the
 * sender uses and says yes when they shrink by at least FRAME_PACK_GAIN
 * and compress faster than FRAME_PACK_RATE (a session's ceiling), so
 * compressing cannot be the slower side.  The rate is taken over the
 * thread's CPU time, not the clock's: it is the compressor's speed on
 * this CPU, and a moment's load on the machine does not change the
 * choice.  why says what was measured.
 * The samples are read with pread from fd, the raw image the caller
 * holds open, at the ranges of bm, the bmap the caller has loaded (and
 * checked): neither is opened or loaded again here.
 */
#define FRAME_PACK_LEVEL	1
#define FRAME_PACK_GAIN		0.25
#define FRAME_PACK_RATE		(400.0 * 1048576)	/* bytes/s */

struct bmap;

enum err_code	frame_pack_decide(int fd, const struct bmap *bm, int *yes,
		    char *why, size_t whylen, struct err *);

#endif
