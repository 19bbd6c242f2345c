/*
 * Fuzzer for the BIRD reply parser and the `show protocols` row reader:
 * whatever bytes arrive on the control socket, parsing is bounded and
 * never reads or writes out of place, and the incremental parser, fed the
 * same bytes in pieces (sizes taken from the input), as the socket hands
 * them over, finds exactly the replies the one-buffer parse finds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/bird.h"

/* The same replies, fed in pieces as read_reply does: the buffer keeps
 * only what the parser has not taken. */
static void
pieces(const uint8_t *data, size_t size)
{
	struct bird_parser	 p;
	struct bird_reply	 w = { 0 };
	char			*buf = malloc(size + 1);
	struct err		 err;
	size_t			 len = 0, in = 0, off = 0, step, i;
	ssize_t			 used, whole;

	bird_parser_init(&p);
	while (in < size || len > 0) {
		step = 1 + (in < size ? data[in] % 64 : 0);
		if (step > size - in)
			step = size - in;
		memcpy(buf + len, data + in, step);
		len += step;
		in += step;
		used = bird_parser_feed(&p, buf, len, &err);
		whole = bird_reply_parse((const char *)data + off, size - off,
		    &w, &err);
		if (used < 0) {
			/* An error the whole parse meets too, once it has
			 * the bytes the pieces had. */
			if (in == size && whole != -1)
				abort();
			break;
		}
		memmove(buf, buf + used, len - (size_t)used);
		len -= (size_t)used;
		if (p.done) {
			if (whole <= 0 || w.code != p.r.code ||
			    w.nlines != p.r.nlines ||
			    w.nunsolicited != p.r.nunsolicited)
				abort();
			for (i = 0; i < w.nlines; i++)
				if (w.lines[i].code != p.r.lines[i].code ||
				    strcmp(w.lines[i].text, p.r.lines[i].text))
					abort();
			off += (size_t)whole;
			bird_reply_clear(&p.r);
			bird_parser_init(&p);
			continue;
		}
		if (in == size && used == 0)
			break;		/* a partial line, or no reply yet */
	}
	bird_reply_clear(&w);
	bird_reply_clear(&p.r);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bird_reply	 r = { 0 };
	struct bird_proto	*p = NULL;
	size_t			 n, off = 0;
	ssize_t			 used;
	struct err		 err;

	/* Several replies back to back, as on the socket. */
	while (off < size) {
		used = bird_reply_parse((const char *)data + off, size - off,
		    &r, &err);
		if (used <= 0)
			break;
		bird_parse_protocols(&r, &p, &n);
		free(p);
		p = NULL;
		bird_reply_error(&r, &err);
		(void)bird_configure_ok(&r);
		bird_reply_clear(&r);
		off += (size_t)used;
	}
	bird_reply_clear(&r);
	pieces(data, size);
	return 0;
}
