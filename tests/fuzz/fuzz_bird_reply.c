/*
 * Fuzzer for the BIRD reply parser and the `show protocols` row reader:
 * whatever bytes arrive on the control socket, parsing is bounded and
 * never reads or writes out of place.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/bird.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bird_reply	 r = { 0 };
	struct bird_proto	*p = NULL;
	size_t			 n, off = 0;
	ssize_t			 used;
	char			 err[256];

	/* Several replies back to back, as on the socket. */
	while (off < size) {
		used = bird_reply_parse((const char *)data + off, size - off,
		    &r, err, sizeof(err));
		if (used <= 0)
			break;
		bird_parse_protocols(&r, &p, &n);
		free(p);
		p = NULL;
		bird_reply_error(&r, err, sizeof(err));
		(void)bird_configure_ok(&r);
		bird_reply_clear(&r);
		off += (size_t)used;
	}
	bird_reply_clear(&r);
	return 0;
}
