/*
 * Fuzzer for the inspection dump parser (provision/inspect.c): the dump
 * comes from a host that is not trusted yet, so any byte sequence must
 * parse or fail cleanly, and disk selection must stay in bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "provision/inspect.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct inspect	 in;
	char			 err[256], out[64];

	if (inspect_parse((const char *)data, len, &in, err, sizeof(err)) == 0) {
		(void)inspect_pick_disk(&in, "auto", 1 << 20, out, sizeof(out),
		    err, sizeof(err));
		(void)inspect_pick_disk(&in, "/dev/sda", 0, out, sizeof(out),
		    err, sizeof(err));
	}
	return 0;
}
