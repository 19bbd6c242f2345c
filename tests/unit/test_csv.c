/*
 * Unit tests for inventory/csv.c: RFC 4180 quoting, line numbers of
 * records (also when a quoted field spans lines), and every malformed
 * shape an import must refuse with its line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "inventory/csv.h"

static struct err err;

static void
t_simple(void **st)
{
	struct csv	 c;
	const char	*s = "a,b,c\n1,2,3\n";

	(void)st;
	csv_init(&c, s, strlen(s));
	assert_int_equal(csv_next(&c, &err), 1);
	assert_int_equal(c.nfields, 3);
	assert_string_equal(c.field[0], "a");
	assert_string_equal(c.field[2], "c");
	assert_int_equal(c.recline, 1);
	assert_int_equal(csv_next(&c, &err), 1);
	assert_string_equal(c.field[1], "2");
	assert_int_equal(c.recline, 2);
	assert_int_equal(csv_next(&c, &err), 0);
	csv_release(&c);
}

static void
t_quotes(void **st)
{
	struct csv	 c;
	const char	*s = "\"a,1\",\"say \"\"hi\"\"\",\"\"\r\n"
	    "\"multi\nline\",x\r\n\nlast,";

	(void)st;
	csv_init(&c, s, strlen(s));
	assert_int_equal(csv_next(&c, &err), 1);
	assert_int_equal(c.nfields, 3);
	assert_string_equal(c.field[0], "a,1");
	assert_string_equal(c.field[1], "say \"hi\"");
	assert_string_equal(c.field[2], "");
	assert_int_equal(csv_next(&c, &err), 1);
	assert_int_equal(c.recline, 2);
	assert_string_equal(c.field[0], "multi\nline");
	assert_string_equal(c.field[1], "x");
	/* a blank line is skipped; the record after it is on line 5 */
	assert_int_equal(csv_next(&c, &err), 1);
	assert_int_equal(c.recline, 5);
	assert_int_equal(c.nfields, 2);
	assert_string_equal(c.field[0], "last");
	assert_string_equal(c.field[1], "");
	assert_int_equal(csv_next(&c, &err), 0);
	csv_release(&c);
}

static void
t_bom_and_empty(void **st)
{
	struct csv	 c;
	const char	*s = "\xef\xbb\xbfhostname,site\n";

	(void)st;
	csv_init(&c, s, strlen(s));
	assert_int_equal(csv_next(&c, &err), 1);
	assert_string_equal(c.field[0], "hostname");
	assert_int_equal(csv_next(&c, &err), 0);
	csv_release(&c);
	csv_init(&c, "", 0);
	assert_int_equal(csv_next(&c, &err), 0);
	csv_release(&c);
}

static void
t_malformed(void **st)
{
	struct csv	 c;
	const char	*s = "ok,1\nba\"d,2\n\"x\"y,3\nfine,4\n\"open,5\n";

	(void)st;
	csv_init(&c, s, strlen(s));
	assert_int_equal(csv_next(&c, &err), 1);
	assert_int_equal(csv_next(&c, &err), -1);
	assert_int_equal(c.errline, 2);
	assert_non_null(strstr(err.msg, "quote"));
	assert_int_equal(csv_next(&c, &err), -1);
	assert_int_equal(c.errline, 3);
	assert_non_null(strstr(err.msg, "after the closing quote"));
	/* reading goes on after a bad line */
	assert_int_equal(csv_next(&c, &err), 1);
	assert_string_equal(c.field[0], "fine");
	assert_int_equal(c.recline, 4);
	assert_int_equal(csv_next(&c, &err), -1);
	assert_int_equal(c.errline, 5);
	assert_non_null(strstr(err.msg, "not closed"));
	assert_int_equal(csv_next(&c, &err), 0);
	csv_release(&c);
}

static void
t_limits(void **st)
{
	struct csv	 c;
	char		 big[CSV_MAXFIELD + 16], many[CSV_MAXFIELDS * 2 + 8];
	size_t		 i;

	(void)st;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	csv_init(&c, big, strlen(big));
	assert_int_equal(csv_next(&c, &err), -1);
	assert_non_null(strstr(err.msg, "longer than"));
	csv_release(&c);
	for (i = 0; i < CSV_MAXFIELDS + 2; i++) {
		many[2 * i] = 'a';
		many[2 * i + 1] = ',';
	}
	many[2 * i - 1] = '\0';
	csv_init(&c, many, strlen(many));
	assert_int_equal(csv_next(&c, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));
	csv_release(&c);
	/* a NUL byte inside the data */
	csv_init(&c, "a\0b,c\n", 6);
	assert_int_equal(csv_next(&c, &err), -1);
	assert_non_null(strstr(err.msg, "NUL"));
	csv_release(&c);
	/* a stray CR in an unquoted field */
	csv_init(&c, "a\rb,c\n", 6);
	assert_int_equal(csv_next(&c, &err), -1);
	csv_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_simple),
		cmocka_unit_test(t_quotes),
		cmocka_unit_test(t_bom_and_empty),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
