/*
 * Unit tests for lib/atomicfile.c: a replaced file is whole, has its mode,
 * leaves no temporary file behind, and an aborted one changes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/atomicfile.h"

static char	dir[] = "/tmp/castiron-af.XXXXXX";
static struct err	err;

static char *
slurp(const char *path)
{
	static char	 buf[256];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
entries(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	int		 n = 0;

	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
t_replace(void **st)
{
	char		 path[256];
	struct stat	 sb;

	(void)st;
	snprintf(path, sizeof(path), "%s/castiron.conf", dir);
	assert_int_equal(file_replace(path, "one\n", 4, 0640, 0, &err), ERR_OK);
	assert_string_equal(slurp(path), "one\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_int_equal(file_replace(path, "two\n", 4, 0644, 1, &err), ERR_OK);
	assert_string_equal(slurp(path), "two\n");
	assert_int_equal(entries(), 1);		/* no temporary left */
	unlink(path);
}

static void
t_abort(void **st)
{
	char		 path[256];
	struct afile	*a;
	FILE		*f;

	(void)st;
	snprintf(path, sizeof(path), "%s/metrics.prom", dir);
	assert_int_equal(file_replace(path, "old\n", 4, 0644, 0, &err), ERR_OK);
	a = afile_open(path, 0644, &f, &err);
	assert_non_null(a);
	fputs("half a new fi", f);
	assert_string_equal(slurp(path), "old\n");	/* readers see the old */
	afile_abort(a);
	assert_string_equal(slurp(path), "old\n");
	assert_int_equal(entries(), 1);
	unlink(path);
}

static void
t_missing_dir(void **st)
{
	char	 path[256];

	(void)st;
	snprintf(path, sizeof(path), "%s/no/such/dir/file", dir);
	assert_int_equal(file_replace(path, "x", 1, 0644, 0, &err), ERR_FAIL);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(entries(), 0);
}

static int
setup(void **st)
{
	(void)st;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **st)
{
	(void)st;
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_replace),
		cmocka_unit_test(t_abort),
		cmocka_unit_test(t_missing_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
