/*
 * Unit tests for lib/output.c: the JSON writer against jansson's own
 * dumper, value for value (strings that need escaping, integers at their
 * limits, reals, empty and nested containers, strings longer than its
 * buffer), nesting past its limit, the same result whether a
 * value is described call by call or handed over as a jansson tree, and
 * table and CSV laid out from a described stream of rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/output.h"

/* What out_json writes for v (not a terminal: compact), without the
 * last newline. */
static char *
written(json_t *v)
{
	struct out	*o;
	char		*s = NULL;
	size_t		 len = 0;
	FILE		*f = open_memstream(&s, &len);

	assert_non_null(f);
	o = out_new(f, OUT_JSON, OUT_RECORD, NULL);
	out_json(o, v);
	out_end(o);
	fclose(f);
	assert_true(len > 0 && s[len - 1] == '\n');
	s[len - 1] = '\0';
	return s;
}

static void
same_as_jansson(json_t *v)
{
	char	*mine = written(v), *theirs = json_dumps(v, JSON_COMPACT |
		    JSON_ENCODE_ANY);

	assert_string_equal(mine, theirs);
	free(mine);
	free(theirs);
	json_decref(v);
}

static void
t_json_values(void **st)
{
	(void)st;
	same_as_jansson(json_pack("{s:s,s:s,s:s}", "plain", "web1",
	    "escapes", "q\" b\\ \b\f\n\r\t \x01\x1f\x7f /", "utf8",
	    "caf\xc3\xa9 \xe2\x82\xac"));
	same_as_jansson(json_pack("[I,I,I,i,b,b,n]", (json_int_t)INT64_MAX,
	    (json_int_t)INT64_MIN, (json_int_t)0, -7, 1, 0));
	same_as_jansson(json_pack("[f,f,f,f,f,f,f]", 1.0, 0.1, -2.5, 1e300,
	    1e-300, 123456789.125, 1e21));
	same_as_jansson(json_pack("{s:[],s:{},s:[[],{}],s:{s:{s:[i]}}}",
	    "a", "o", "n", "deep", "x", "y", 1));
	same_as_jansson(json_array());
}

/* Strings longer than the writer's buffer, escapes on either side of
 * where it fills. */
static void
t_json_long(void **st)
{
	size_t	 n = 200000, i;
	char	*s = malloc(n + 1);

	(void)st;
	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = i % 65535 == 0 ? '"' : i % 7919 == 0 ? '\n' : 'a' + i % 26;
	s[n] = '\0';
	same_as_jansson(json_pack("[s,s,s]", "x", s, s + 1000));
	free(s);
}

/* The same object described call by call. */
static void
t_json_calls(void **st)
{
	struct out	*o;
	char		*s = NULL;
	size_t		 len = 0;
	FILE		*f = open_memstream(&s, &len);

	(void)st;
	o = out_new(f, OUT_JSON, OUT_STREAM, NULL);
	out_begin_array(o);
	out_begin_object(o);
	out_kstr(o, "name", "eno1");
	out_kstr(o, "mac", NULL);
	out_kint(o, "speed", 25000);
	out_key(o, "tags");
	out_begin_array(o);
	out_str(o, "a");
	out_str(o, "b");
	out_end_array(o);
	out_kbool(o, "up", 1);
	out_end_object(o);
	out_begin_object(o);
	out_end_object(o);
	out_end_array(o);
	out_end(o);
	fclose(f);
	assert_string_equal(s, "[{\"name\":\"eno1\",\"mac\":null,\"speed\":25000,"
	    "\"tags\":[\"a\",\"b\"],\"up\":true},{}]\n");
	free(s);
}

/* Nesting has a limit (32 containers): deeper ones are null, their
 * contents left out, and what follows them is written as usual. */
static void
t_json_depth(void **st)
{
	struct out	*o;
	char		*s = NULL, want[256];
	size_t		 len = 0;
	FILE		*f = open_memstream(&s, &len);
	int		 i, n = 0;

	(void)st;
	o = out_new(f, OUT_JSON, OUT_STREAM, NULL);
	for (i = 0; i < 40; i++)
		out_begin_array(o);
	out_int(o, 1);
	for (i = 0; i < 40; i++)
		out_end_array(o);
	out_end(o);
	fclose(f);
	for (i = 0; i < 32; i++)
		want[n++] = '[';
	n += snprintf(want + n, sizeof(want) - (size_t)n, "null");
	for (i = 0; i < 32; i++)
		want[n++] = ']';
	want[n++] = '\n';
	want[n] = '\0';
	assert_string_equal(s, want);
	free(s);

	/* The same in a record laid out as CSV. */
	s = NULL;
	f = open_memstream(&s, &len);
	o = out_new(f, OUT_CSV, OUT_RECORD, NULL);
	out_begin_object(o);
	out_key(o, "k");
	for (i = 0; i < 40; i++)
		out_begin_array(o);
	out_str(o, "deep");
	for (i = 0; i < 40; i++)
		out_end_array(o);
	out_kstr(o, "after", "x");
	out_end_object(o);
	out_end(o);
	fclose(f);
	assert_string_equal(s, "key,value\nk,(1)\nafter,x\n");
	free(s);
}

static const struct out_col cols[] = {
	{ "name", "NAME" }, { "n", "N", 1 }, { "tags", "TAGS" }, { NULL }
};

/* Rows described one by one: CSV quotes what it must, a table aligns. */
static void
t_rows(void **st)
{
	enum out_format	 fmts[] = { OUT_CSV, OUT_TABLE };
	const char	*want[] = {
		"name,n,tags\na,1,\"x,y\"\n\"b,c\",22,\n",
		"NAME   N  TAGS\na      1  x,y\nb,c   22  \n",
	};
	size_t		 i;

	(void)st;
	for (i = 0; i < 2; i++) {
		char		*s = NULL;
		size_t		 len = 0;
		FILE		*f = open_memstream(&s, &len);
		struct out	*o = out_new(f, fmts[i], OUT_STREAM, cols);

		out_begin_array(o);
		out_begin_object(o);
		out_kstr(o, "name", "a");
		out_kint(o, "n", 1);
		out_key(o, "tags");
		out_begin_array(o);
		out_str(o, "x");
		out_str(o, "y");
		out_end_array(o);
		out_kstr(o, "hidden", "not shown");
		out_end_object(o);
		out_begin_object(o);
		out_kstr(o, "name", "b,c");
		out_kint(o, "n", 22);
		out_end_object(o);
		out_end_array(o);
		out_end(o);
		fclose(f);
		assert_string_equal(s, want[i]);
		free(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_json_values),
		cmocka_unit_test(t_json_long),
		cmocka_unit_test(t_json_calls),
		cmocka_unit_test(t_json_depth),
		cmocka_unit_test(t_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
