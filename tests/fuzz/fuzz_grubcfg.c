/*
 * Fuzzer for the grub.cfg reader (provision/grubcfg.c, grubscript.c,
 * grubtest.c): grub.cfg comes from an image castiron just wrote, which
 * may be anyone's, so any bytes must give an entry or one error line.
 * The input is grub.cfg; after a NUL byte, the grubenv.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "provision/grubcfg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct grubcfg_in	 in;
	struct grub_boot	 b;
	struct err		 e;
	const uint8_t		*nul = memchr(data, '\0', len);

	memset(&in, 0, sizeof(in));
	in.name = "/boot/grub/grub.cfg";
	in.cfg = (const char *)data;
	in.cfglen = nul ? (size_t)(nul - data) : len;
	if (nul) {
		in.env = (const char *)nul + 1;
		in.envlen = len - in.cfglen - 1;
	}
	in.files = "f 1024 grubenv\nd 0 fonts\nf 0 empty\n";
	if (grubcfg_parse(&in, &b, &e) == ERR_OK &&
	    (strlen(b.cmdline) >= GRUB_CMDLINE_MAX || b.kernel[0] != '/'))
		__builtin_trap();
	return 0;
}
