/*
 * Unit tests for lib/parse.c: every value parser, with the edge cases an
 * operator's typo produces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "lib/parse.h"

static struct err	err;

static void
t_uint(void **st)
{
	uint64_t v;
	(void)st;
	assert_int_equal(parse_uint("42", 0, 100, &v, &err), ERR_OK);
	assert_int_equal(v, 42);
	assert_int_equal(parse_uint("101", 0, 100, &v, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(parse_uint("4x", 0, 100, &v, &err), ERR_INVAL);
	assert_int_equal(parse_uint("", 0, 100, &v, &err), ERR_INVAL);
	assert_int_equal(parse_uint("-1", 0, 100, &v, &err), ERR_INVAL);
	assert_int_equal(parse_uint("99999999999999999999999", 0, UINT64_MAX,
	    &v, &err), ERR_INVAL);
}

static void
t_duration(void **st)
{
	uint64_t v;
	(void)st;
	assert_int_equal(parse_duration_ms("500ms", &v, &err), ERR_OK);
	assert_int_equal(v, 500);
	assert_int_equal(parse_duration_ms("2s", &v, &err), ERR_OK);
	assert_int_equal(v, 2000);
	assert_int_equal(parse_duration_ms("3m", &v, &err), ERR_OK);
	assert_int_equal(v, 180000);
	assert_int_equal(parse_duration_ms("1h", &v, &err), ERR_OK);
	assert_int_equal(v, 3600000);
	assert_int_equal(parse_duration_ms("5", &v, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "needs a unit"));
	assert_int_equal(parse_duration_ms("5d", &v, &err), ERR_INVAL);
	assert_int_equal(parse_duration_ms("s", &v, &err), ERR_INVAL);
	assert_int_equal(parse_duration_ms("1.5s", &v, &err), ERR_INVAL);
}

static void
t_size(void **st)
{
	uint64_t v;
	(void)st;
	assert_int_equal(parse_size("512", &v, &err), ERR_OK);
	assert_int_equal(v, 512);
	assert_int_equal(parse_size("4K", &v, &err), ERR_OK);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("2G", &v, &err), ERR_OK);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("1T", &v, &err), ERR_OK);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("3MiB", &v, &err), ERR_OK);
	assert_int_equal(v, 3ULL << 20);
	assert_int_equal(parse_size("3X", &v, &err), ERR_INVAL);
	assert_int_equal(parse_size("99999999999T", &v, &err), ERR_INVAL);
}

static void
t_bool(void **st)
{
	int b;
	(void)st;
	assert_int_equal(parse_bool("yes", &b, &err), ERR_OK);
	assert_int_equal(b, 1);
	assert_int_equal(parse_bool("Off", &b, &err), ERR_OK);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bool("maybe", &b, &err), ERR_INVAL);
}

static void
t_prefix(void **st)
{
	struct prefix a, b;
	char buf[64];
	(void)st;
	assert_int_equal(parse_prefix("192.0.2.0/24", &a, &err), ERR_OK);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.len, 24);
	assert_int_equal(parse_prefix("192.0.2.10/32", &b, &err), ERR_OK);
	assert_true(prefix_contains(&a, &b));
	assert_false(prefix_contains(&b, &a));
	assert_string_equal(prefix_str(&b, buf, sizeof(buf)), "192.0.2.10/32");
	assert_int_equal(parse_prefix("192.0.2.1/24", &a, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "host bits"));
	assert_int_equal(parse_prefix("192.0.2.0/33", &a, &err), ERR_INVAL);
	/* The inner parser's reason, behind what was being parsed. */
	assert_string_equal(err.msg, "'192.0.2.0/33' has a bad length: 33 is "
	    "out of range (0 to 32)");
	assert_int_equal(parse_prefix("192.0.2.300/32", &a, &err), ERR_INVAL);
	assert_string_equal(err.msg, "'192.0.2.300/32' is not a prefix: "
	    "'192.0.2.300' is not an IPv4 address");
	assert_int_equal(parse_prefix("192.0.2.0", &a, &err), ERR_INVAL);
	assert_int_equal(parse_prefix("2001:db8::/32", &a, &err), ERR_OK);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(parse_prefix("2001:db8::10/128", &b, &err), ERR_OK);
	assert_true(prefix_contains(&a, &b));
	assert_string_equal(prefix_str(&b, buf, sizeof(buf)), "2001:db8::10/128");
	assert_int_equal(parse_prefix("2001:db9::/32", &b, &err), ERR_OK);
	assert_false(prefix_contains(&a, &b));
	assert_int_equal(parse_prefix("2001:db8::/129", &a, &err), ERR_INVAL);
	assert_int_equal(parse_prefix("fe80::1%eth0/64", &a, &err), ERR_INVAL);
}

static void
t_mac(void **st)
{
	char m[18];
	(void)st;
	assert_int_equal(parse_mac("AA:bb:CC:00:11:22", m, &err), ERR_OK);
	assert_string_equal(m, "aa:bb:cc:00:11:22");
	assert_int_equal(parse_mac("aa-bb-cc-00-11-22", m, &err), ERR_OK);
	assert_string_equal(m, "aa:bb:cc:00:11:22");
	assert_int_equal(parse_mac("aa:bb-cc:00:11:22", m, &err), ERR_INVAL);
	assert_int_equal(parse_mac("aa:bb:cc:00:11:2g", m, &err), ERR_INVAL);
	assert_int_equal(parse_mac("aa:bb:cc:00:11", m, &err), ERR_INVAL);
}

static void
t_hostport(void **st)
{
	char h[64];
	uint16_t p;
	(void)st;
	assert_int_equal(parse_hostport("127.0.0.1:53", h, sizeof(h), &p, &err),
	    ERR_OK);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(p, 53);
	assert_int_equal(parse_hostport("[::1]:8080", h, sizeof(h), &p, &err),
	    ERR_OK);
	assert_string_equal(h, "::1");
	assert_int_equal(p, 8080);
	assert_int_equal(parse_hostport("::1:8080", h, sizeof(h), &p, &err),
	    ERR_INVAL);
	assert_int_equal(parse_hostport("host:0", h, sizeof(h), &p, &err),
	    ERR_INVAL);
	assert_string_equal(err.msg, "'host:0' has a bad port: 0 is out of "
	    "range (1 to 65535)");
	assert_int_equal(parse_hostport("host", h, sizeof(h), &p, &err),
	    ERR_INVAL);
}

static void
t_names(void **st)
{
	char d[65];
	(void)st;
	assert_int_equal(valid_hostname("web01.ams1.example.net", &err),
	    ERR_OK);
	assert_int_equal(valid_hostname("web01;rm -rf /", &err), ERR_INVAL);
	assert_int_equal(valid_hostname("web 01", &err), ERR_INVAL);
	assert_int_equal(valid_hostname("-web", &err), ERR_INVAL);
	assert_int_equal(valid_hostname("web-", &err), ERR_INVAL);
	assert_int_equal(valid_hostname("a..b", &err), ERR_INVAL);
	assert_int_equal(valid_hostname("$(reboot)", &err), ERR_INVAL);
	assert_int_equal(valid_name("rack-a1", &err), ERR_OK);
	assert_int_equal(valid_name("rack a1", &err), ERR_INVAL);
	assert_int_equal(valid_name("", &err), ERR_INVAL);
	assert_int_equal(parse_sha256_hex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	    d, &err), ERR_OK);
	assert_string_equal(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(parse_sha256_hex("abc", d, &err), ERR_INVAL);
}

static void
t_bmc(void **state)
{
	static const char *const good[] = {
		"10.0.0.9", "10.0.0.9:8443", "bmc-r1-u4.example.net",
		"bmc-r1-u4.example.net:443", "2001:db8::9", "[2001:db8::9]",
		"[2001:db8::9]:8443", "https://10.0.0.9", "https://10.0.0.9:8443/",
		"https://bmc.example.net/redfish/v1", NULL
	};
	static const char *const bad[] = {
		"", "http://10.0.0.9", "ftp://x", "10.0.0.9:0", "10.0.0.9:99999",
		"bmc;reboot", "bmc name", "10.0.0.9/redfish", "[10.0.0.9]",
		"https://", "https://a b", "https://x/a b", "[2001:db8::9", NULL
	};
	size_t	i;

	(void)state;
	for (i = 0; good[i]; i++)
		if (valid_bmc(good[i], &err) != ERR_OK)
			fail_msg("%s refused: %s", good[i], err.msg);
	for (i = 0; bad[i]; i++)
		if (valid_bmc(bad[i], &err) != ERR_INVAL)
			fail_msg("%s accepted", bad[i]);
}

/* A serial as firmware reports it: printable ASCII, 64 bytes at most; the
 * message never repeats the value. */
static void
t_dmi_serial(void **st)
{
	char		 s[DMI_SERIAL_MAX + 2];

	(void)st;
	assert_int_equal(valid_dmi_serial("CZ2141A0J1", &err), ERR_OK);
	assert_int_equal(valid_dmi_serial("To Be Filled By O.E.M.", &err),
	    ERR_OK);
	assert_int_equal(valid_dmi_serial("", &err), ERR_OK);
	assert_int_equal(valid_dmi_serial("SN\x1b[2J", &err), ERR_INVAL);
	assert_string_equal(err.msg, "a serial with a byte outside printable "
	    "ASCII (0x1b at 2)");
	assert_int_equal(valid_dmi_serial("SN-\xc3\xa9", &err), ERR_INVAL);
	assert_null(strstr(err.msg, "SN-"));
	assert_int_equal(valid_dmi_serial("SN\n", &err), ERR_INVAL);
	assert_int_equal(valid_dmi_serial("SN\x7f", &err), ERR_INVAL);
	memset(s, 'S', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(valid_dmi_serial(s, &err), ERR_INVAL);
	assert_string_equal(err.msg, "a serial longer than 64 bytes");
	s[DMI_SERIAL_MAX] = '\0';
	assert_int_equal(valid_dmi_serial(s, &err), ERR_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_uint),
		cmocka_unit_test(t_duration),
		cmocka_unit_test(t_size),
		cmocka_unit_test(t_bool),
		cmocka_unit_test(t_prefix),
		cmocka_unit_test(t_mac),
		cmocka_unit_test(t_hostport),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_dmi_serial),
		cmocka_unit_test(t_bmc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
