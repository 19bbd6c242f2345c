/*
 * Fuzzer for an exec check's command splitting (quotes, backslashes, the
 * word limit): any configured command line is split within bounds or
 * refused with a reason, never read or written out of place.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/check.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s, **w;
	struct err	 err;
	size_t	 i;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (exec_split_words(s, &w, &err) == ERR_OK) {
		for (i = 0; w[i]; i++)
			free(w[i]);
		free(w);
	}
	free(s);
	return 0;
}
