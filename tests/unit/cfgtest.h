/*
 * What the unit tests of the configuration (test_config.c, test_role.c)
 * share: a file written whole into the test's scratch directory, for
 * config_load() to read, and a search of the errors a load gave.  A
 * header of static functions, since a unit test links only the sources
 * its UNIT_ line in the Makefile names; included after <cmocka.h> and
 * "lib/config.h".
 */
#ifndef TESTS_UNIT_CFGTEST_H
#define TESTS_UNIT_CFGTEST_H

/* PATH holds TEXT and nothing else. */
static inline void
write_text(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* 1 when one of the errors contains NEEDLE. */
static inline int
has_error(const struct cfg_errors *e, const char *needle)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle))
			return 1;
	return 0;
}

#endif
