/*
 * Unit tests for the ipmi driver's front door (provision/bmc/ipmi.c):
 * the BMC address forms it takes and refuses, and the bound on reaching
 * a BMC that never answers.  The protocol itself is tested against
 * ipmi_sim and a fake BMC in tests/integration/bmc_ipmi.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "provision/bmc/bmc.h"
#include "lib/clock.h"

/* bmc.c dispatches to both drivers; this test links only ipmi.c. */
const struct bmc_ops bmc_redfish_ops = { .name = "redfish" };

#define SECRET	"hunter2-SECRET"

static enum err_code
try_open(const char *address, unsigned connect_ms, struct err *e)
{
	struct bmc_target	 t;
	struct bmc		*b;

	memset(&t, 0, sizeof(t));
	memset(e, 0, sizeof(*e));
	t.hostname = "h1";
	t.address = address;
	t.driver = BMC_IPMI;
	t.username = "admin";
	t.password = SECRET;
	t.connect_timeout_ms = connect_ms;
	t.io_timeout_ms = connect_ms;
	t.power_timeout_ms = 1000;
	b = bmc_open(&t, e);
	if (b != NULL) {
		bmc_close(b);
		return ERR_OK;
	}
	assert_null(strstr(e->msg, SECRET));
	assert_null(strchr(e->msg, '\n'));
	return e->code;
}

static void
t_refused_forms(void **st)
{
	static const char *const bad[] = {
		"", "https://bmc1.example/redfish/v1", "ipmi://10.0.0.1",
		"[::1", "[::1]623", "[::1]:", "[::1]:0", "[::1]:70000",
		"[zz::q]:623", "[]:623", "[10.0.0.1]:623",
		"2001:db8::1::2", "fe80:x::1", "10.0.0.1:", "10.0.0.1:abc",
		"10.0.0.1:65536", "bmc_1.example", "-bmc.example", "bmc..ex",
		"bmc.example.:623x",
	};
	struct err	e;
	size_t		i;

	(void)st;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (try_open(bad[i], 200, &e) != ERR_INVAL)
			fail_msg("'%s' was not refused as input: %s", bad[i],
			    e.msg);
		/* bmc.c names the host and the BMC. */
		assert_non_null(strstr(e.msg, "h1: bmc "));
	}
	assert_int_equal(try_open("https://x", 200, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "URL"));
	assert_int_equal(try_open(NULL, 200, &e), ERR_INVAL);
}

/* Forms that parse: they reach the probe, which times out on a port no
 * BMC listens on, within the connect timeout (plus scheduling slack). */
static void
t_taken_forms(void **st)
{
	static const char *const good[] = {
		"127.0.0.1:9", "[::1]:9", "localhost:9", "[::1]",
	};
	struct err	e;
	uint64_t	t0, took;
	size_t		i;

	(void)st;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t0 = mono_ms();
		if (try_open(good[i], 300, &e) != ERR_TIMEOUT)
			fail_msg("'%s': wanted a timeout, got %s", good[i],
			    e.msg);
		took = mono_ms() - t0;
		if (took > 300 + 700)
			fail_msg("'%s': %llu ms for a 300 ms connect timeout",
			    good[i], (unsigned long long)took);
		assert_non_null(strstr(e.msg, "no answer"));
	}
}

static void
t_unresolvable(void **st)
{
	struct err	e;

	(void)st;
	assert_int_not_equal(try_open("no-such-bmc.invalid", 2000, &e),
	    ERR_OK);
	assert_non_null(strstr(e.msg, "no-such-bmc.invalid"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_refused_forms),
		cmocka_unit_test(t_taken_forms),
		cmocka_unit_test(t_unresolvable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
