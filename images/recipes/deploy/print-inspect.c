/*
 * print-inspect: writes provision's inspection script (INSPECT_SCRIPT,
 * provision/inspect.c) to stdout, so that the deploy environment carries
 * exactly the dump provision runs over SSH and parses: an enlisting
 * machine reports the facts `castiron provision` would read.  A build
 * helper of images/recipes/deploy (the Makefile runs it once per build);
 * nothing links it.
 */
#include <stdio.h>
#include <string.h>

#include "provision/inspect.h"

int
main(void)
{
	size_t	 n = strlen(INSPECT_SCRIPT);

	if (fwrite(INSPECT_SCRIPT, 1, n, stdout) != n || fflush(stdout) != 0) {
		perror("print-inspect: stdout");
		return 1;
	}
	return 0;
}
