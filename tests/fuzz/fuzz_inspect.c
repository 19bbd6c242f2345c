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
	char			 out[64];
	struct err		 err;

	if (inspect_parse((const char *)data, len, &in, &err) == ERR_OK) {
		(void)inspect_pick_disk(&in, "auto", 1 << 20, out, sizeof(out),
		    &err);
		(void)inspect_pick_disk(&in, "/dev/sda", 0, out, sizeof(out),
		    &err);
	}
	return 0;
}
