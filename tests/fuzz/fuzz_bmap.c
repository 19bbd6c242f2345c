/*
 * libFuzzer target for the bmap parser (images/bmap.c): any bytes must
 * either parse into a bmap whose ranges are sorted, disjoint and inside
 * the image, or fail with a message.  Also exercises the formatter on
 * whatever parsed, and parses its output again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/bmap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct bmap	*b, *b2;
	struct err	 err;
	char		*xml;
	size_t		 i, xlen;
	uint64_t	 off, rlen;

	err_clear(&err);
	b = bmap_parse((const char *)data, len, "fuzz.bmap", &err);
	if (b == NULL) {
		/* A refusal always says why. */
		if (err.code == ERR_OK || err.msg[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < b->n; i++) {
		if (b->r[i].last >= b->blocks)
			abort();
		if (i > 0 && b->r[i].first <= b->r[i - 1].last)
			abort();
		bmap_range_bytes(b, i, &off, &rlen);
		if (off + rlen > b->image_size || rlen == 0)
			abort();
	}
	xml = bmap_format(b, &xlen);
	b2 = bmap_parse(xml, xlen, "fuzz2.bmap", &err);
	if (b2 == NULL || b2->n != b->n)
		abort();
	bmap_free(b2);
	free(xml);
	bmap_free(b);
	return 0;
}
