/*
 * A program with a defect in its error path, for the harness self-test
 * (tests/integration/harness.sh): it refuses its input with exit 1, as
 * castiron does, but on the way out it overflows a heap buffer, leaks, or
 * overflows a signed int.  Built with the sanitizers, it must be reported
 * even though exit 1 is what a correct refusal returns.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	const char	*mode = argc > 1 ? argv[1] : "";
	char		*buf;
	void *volatile	 lost;
	volatile int	 n = INT_MAX;

	fprintf(stderr, "overflow: refusing '%s'\n", mode);
	if (strcmp(mode, "heap") == 0) {
		buf = malloc(8);
		memset(buf, 'x', 9 + (argc > 2));
		free(buf);
	} else if (strcmp(mode, "leak") == 0) {
		lost = malloc(64);
		lost = NULL;
		(void)lost;
	} else if (strcmp(mode, "ub") == 0) {
		n += argc;
		fprintf(stderr, "%d\n", n);
	}
	return 1;
}
