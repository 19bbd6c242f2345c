/*
 * libFuzzer target for the castiron-writer stream decoder and the report
 * line parser (images/frame.c).  The first input byte picks a slice size,
 * so the decoder is also fed in odd pieces; whatever it accepts must keep
 * its promises (data only inside announced ranges, never past the image
 * size, END only once and last).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct frame_dec	*d;
	struct frame_report	 r;
	const uint8_t		*p;
	size_t			 step, pos, n, used, dlen;
	uint64_t		 idx, off, rlen, inrange = 0, size = 0;
	enum frame_ev		 ev;
	char			 line[FRAME_LINE_MAX + 2];
	int			 ended = 0, pull = 0, split = 0, part = 0;
	uint64_t		 packed = 0, mapped = 0;

	if (len == 0)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	len--;

	/* Report lines: the input as a line, then formatted and re-parsed. */
	n = len < FRAME_LINE_MAX ? len : FRAME_LINE_MAX;
	memcpy(line, data, n);
	line[n] = '\0';
	if (frame_report_parse(line, &r, NULL) == ERR_OK) {
		frame_report_format(line, sizeof(line), &r);
		if (strchr(line, '\n') == NULL)
			abort();
	}

	d = frame_dec_new();
	for (pos = 0; pos < len && !ended;) {
		n = len - pos < step ? len - pos : step;
		do {
			ev = frame_dec_feed(d, data + pos, n, &used, &p, &dlen);
			if (used > n)
				abort();
			pos += used;
			n -= used;
			switch (ev) {
			case FRAME_EV_HDR:
				size = frame_dec_hdr(d)->image_size;
				pull = (frame_dec_hdr(d)->flags &
				    FRAME_F_PULL) != 0;
				split = (frame_dec_hdr(d)->flags &
				    FRAME_F_SPLIT) != 0;
				part = (frame_dec_hdr(d)->flags &
				    FRAME_F_PART) != 0;
				mapped = frame_dec_hdr(d)->mapped_bytes;
				/* A split write's streams say which they are. */
				if ((split || part) !=
				    (frame_dec_hdr(d)->streams != 0) ||
				    frame_dec_hdr(d)->stream >=
				    (frame_dec_hdr(d)->streams ?
				    frame_dec_hdr(d)->streams : 1) ||
				    frame_dec_hdr(d)->streams >
				    FRAME_MAX_STREAMS)
					abort();
				break;
			case FRAME_EV_RANGE:
				frame_dec_range(d, &idx, &off, &rlen);
				if (off + rlen > size || rlen == 0)
					abort();
				inrange = rlen;
				break;
			case FRAME_EV_DATA:
				if (dlen > inrange || p < data || p + dlen >
				    data + len)
					abort();
				inrange -= dlen;
				break;
			case FRAME_EV_RANGE_END:
				if (inrange != 0)
					abort();
				break;
			case FRAME_EV_ENTRY:
				/* A table entry is a range with no data. */
				frame_dec_range(d, &idx, &off, &rlen);
				if (off + rlen > size || rlen == 0)
					abort();
				break;
			case FRAME_EV_PACKED:
				if (p < data || p + dlen > data + len ||
				    dlen > FRAME_MAX_PACK)
					abort();
				/* A split write's records never pass its
				 * mapped bytes. */
				packed += dlen;
				if ((split || part) && packed > mapped)
					abort();
				break;
			case FRAME_EV_MAP: {
				unsigned c, l;
				uint64_t nr;
				frame_dec_map(d, &c, &l, &nr);
				/* Only a pulled stream may say "none" (the
				 * writer fetches the raw file) and a split
				 * one (its records are the mapped data);
				 * a part carries no table. */
				if ((c != FRAME_CODEC_ZSTD &&
				    c != FRAME_CODEC_GZIP &&
				    !((pull || split) &&
				    c == FRAME_CODEC_NONE)) ||
				    (split && (c != FRAME_CODEC_NONE ||
				    l != FRAME_LAYOUT_MAPPED)) || part ||
				    nr > FRAME_MAX_RANGES)
					abort();
				break;
			}
			case FRAME_EV_END:
			case FRAME_EV_ERROR:
				ended = 1;
				break;
			case FRAME_EV_NEED:
				break;
			}
		} while (n > 0 && !ended);
	}
	frame_dec_free(d);
	return 0;
}
