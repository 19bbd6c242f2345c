/*
 * libFuzzer target for provision/boot/enlist.c: any check-in body that
 * jansson reads must give a serial and an inspection, or an error, never
 * a crash or an overrun; a serial that is given is printable ASCII of at
 * most 64 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "provision/boot/boot.h"
#include "provision/inspect.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_enlist	 en;
	struct err		 e;
	json_t			*j;
	size_t			 i;

	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    NULL)) == NULL)
		return 0;
	if (boot_enlist_read(j, &en, &e) == ERR_OK) {
		if (strlen(en.serial) > 64)
			__builtin_trap();
		for (i = 0; en.serial[i]; i++)
			if ((unsigned char)en.serial[i] < 0x20 ||
			    (unsigned char)en.serial[i] > 0x7e)
				__builtin_trap();
		boot_enlist_free(&en);
	} else if (en.insp != NULL)
		__builtin_trap();
	json_decref(j);
	return 0;
}
