/*
 * Unit tests for lib/err.c: codes kept, messages bounded and marked when
 * cut, context prefixed, errno appended and preserved, NULL allowed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "lib/err.h"

static void
t_set_prefix(void **state)
{
	struct err	e;

	(void)state;
	assert_int_equal(err_set(&e, ERR_NOENT, "host %s", "web1"), ERR_NOENT);
	assert_string_equal(e.msg, "host web1");
	assert_int_equal(err_prefix(&e, "%s:%d", "a.csv", 3), ERR_NOENT);
	assert_string_equal(e.msg, "a.csv:3: host web1");
	assert_int_equal(e.code, ERR_NOENT);
	err_clear(&e);
	assert_int_equal(e.code, ERR_OK);
	assert_string_equal(e.msg, "");
}

/* A printf-like function of a caller's own, as bmap.c's px_fail is. */
static enum err_code __attribute__((format(printf, 2, 3)))
fail_at(struct err *e, const char *fmt, ...)
{
	enum err_code	rc;
	va_list		ap;

	va_start(ap, fmt);
	rc = err_vset(e, ERR_FAIL, fmt, ap);
	va_end(ap);
	return rc;
}

static void
t_vset(void **state)
{
	struct err	e;

	(void)state;
	assert_int_equal(fail_at(&e, "range %d of %s", 3, "x.bmap"), ERR_FAIL);
	assert_int_equal(e.code, ERR_FAIL);
	assert_string_equal(e.msg, "range 3 of x.bmap");
	assert_int_equal(fail_at(NULL, "kept %s", "nowhere"), ERR_FAIL);
}

static void
t_errno(void **state)
{
	struct err	e;

	(void)state;
	errno = ENOENT;
	err_errno(&e, ERR_FAIL, "open %s", "/x");
	assert_string_equal(e.msg, "open /x: No such file or directory");
	assert_int_equal(errno, ENOENT);
}

static void
t_bounded(void **state)
{
	struct err	e;
	char		big[2 * ERR_MSGLEN];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, ERR_INVAL, "%s", big);
	assert_int_equal(strlen(e.msg), ERR_MSGLEN - 1);
	assert_string_equal(e.msg + ERR_MSGLEN - 4, "...");
	err_set(&e, ERR_INVAL, "short");
	err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), ERR_MSGLEN - 1);
	assert_string_equal(e.msg + ERR_MSGLEN - 4, "...");
	errno = EIO;
	err_errno(&e, ERR_FAIL, "%s", big);
	assert_string_equal(e.msg + ERR_MSGLEN - 4, "...");
}

static void
t_null(void **state)
{
	(void)state;
	assert_int_equal(err_set(NULL, ERR_WRONGSTATE, "x"), ERR_WRONGSTATE);
	assert_int_equal(err_errno(NULL, ERR_FAIL, "x"), ERR_FAIL);
	err_clear(NULL);
	assert_string_equal(err_name(ERR_TIMEOUT), "timed out");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_set_prefix),
		cmocka_unit_test(t_vset),
		cmocka_unit_test(t_errno),
		cmocka_unit_test(t_bounded),
		cmocka_unit_test(t_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
