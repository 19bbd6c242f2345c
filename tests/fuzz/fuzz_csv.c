/*
 * libFuzzer target for inventory/csv.c: any bytes at all must give records
 * or errors, never a crash, an overrun or a loop, and every field must
 * stay within CSV_MAXFIELD.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "inventory/csv.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv	 c;
	struct err	 err;
	size_t		 i, records = 0;
	int		 r;

	csv_init(&c, (const char *)data, size);
	while ((r = csv_next(&c, &err)) != 0) {
		if (r == 1)
			for (i = 0; i < c.nfields; i++)
				if (strlen(c.field[i]) > CSV_MAXFIELD)
					__builtin_trap();
		if (++records > size + 1)
			__builtin_trap();	/* no progress */
	}
	csv_release(&c);
	return 0;
}
