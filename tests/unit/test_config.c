/*
 * Unit tests for lib/config.c: the schema's defaults, types and cross-key
 * rules, on files written to a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/config.h"
#include "tests/unit/cfgtest.h"

static char	dir[] = "/tmp/castiron-cfg.XXXXXX";

static struct config *
load(const char *text, struct cfg_errors *errs)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/c.ini", dir);
	write_text(path, text);
	return config_load(path, errs);
}

static void
t_defaults(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;

	(void)st;
	c = load("[castiron]\nsite = ams1\n", &e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_string_equal(c->castiron.site, "ams1");
	assert_string_equal(c->castiron.state_dir, "/var/lib/castiron");
	assert_string_equal(c->inventory.database, "/var/lib/castiron/inventory.db");
	assert_string_equal(c->bgp.bird_socket, "/run/bird/bird.ctl");
	assert_int_equal(c->bgp.withdraw_on_exit, 1);
	assert_int_equal(c->bgp.reconcile_ms, 5000);
	assert_int_equal(c->provision.parallel, 16);
	assert_int_equal(c->provision.reboot, REBOOT_SSH);
	assert_int_equal(c->provision.kexec_fallback, KEXEC_FALLBACK_NONE);
	assert_string_equal(c->provision.disk, "auto");
	config_free(c);
}

static void
t_kexec(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;

	(void)st;
	c = load("[provision]\nreboot = kexec\nkexec_fallback = bmc\n", &e);
	assert_non_null(c);
	assert_int_equal(c->provision.reboot, REBOOT_KEXEC);
	assert_int_equal(c->provision.kexec_fallback, KEXEC_FALLBACK_BMC);
	config_free(c);
	c = load("[provision]\nreboot = kexec\nkexec_fallback = ssh\n", &e);
	assert_non_null(c);
	assert_int_equal(c->provision.kexec_fallback, KEXEC_FALLBACK_SSH);
	config_free(c);
	/* Only with kexec; and only its three values. */
	assert_null(load("[provision]\nreboot = bmc\nkexec_fallback = ssh\n",
	    &e));
	assert_true(has_error(&e, "c.ini:3: [provision] kexec_fallback: applies "
	    "to reboot = kexec only (reboot is bmc)"));
	cfg_errors_clear(&e);
	assert_null(load("[provision]\nreboot = kexec\nkexec_fallback = pxe\n",
	    &e));
	assert_true(has_error(&e, "kexec_fallback: 'pxe' is not one of: none, "
	    "bmc, ssh"));
	cfg_errors_clear(&e);
}

static void
t_service(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	const struct cfg_service *s;

	(void)st;
	c = load("[bgp]\nallowed_prefixes = 192.0.2.0/24, 2001:db8::/32\n"
	    "[service web]\ncheck = http\nurl = http://127.0.0.1:8080/\n"
	    "interval = 2s\nfast_interval = 200ms\nrise = 4\nfall = 1\n"
	    "prefixes = 192.0.2.10/32, 2001:db8::10/128\n"
	    "[service dns]\ncheck = tcp\naddress = [::1]:53\n"
	    "prefixes = 192.0.2.53/32\n", &e);
	assert_non_null(c);
	assert_int_equal(c->nservice, 2);
	s = config_service(c, "web");
	assert_non_null(s);
	assert_int_equal(s->check, CHECK_HTTP);
	assert_int_equal(s->interval_ms, 2000);
	assert_int_equal(s->fast_interval_ms, 200);
	assert_int_equal(s->timeout_ms, 100);	/* half the fast interval */
	assert_int_equal(s->rise, 4);
	assert_int_equal(s->fall, 1);
	assert_int_equal(s->expect, 200);
	assert_int_equal(s->nprefixes, 2);
	s = config_service(c, "dns");
	assert_int_equal(s->check, CHECK_TCP);
	assert_int_equal(s->fast_interval_ms, s->interval_ms);
	assert_null(config_service(c, "nope"));
	config_free(c);
}

static void
t_errors(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;

	(void)st;
	c = load("[bgp]\nallowed_prefixes = 192.0.2.0/24\n"
	    "[service web]\ncheck = ping\nprefixes = 192.0.2.1/32\n"
	    "[service a]\ncheck = tcp\naddress = 127.0.0.1:1\ninterval = 1s\n"
	    "timeout = 1s\nprefixes = 192.0.2.2/32, 192.0.2.2/32\n"
	    "[service b]\ncheck = exec\ncommand = /bin/true\nfall = 101\n"
	    "prefixes = 198.51.100.1/32\n"
	    "[images]\ncache_max = 10Q\n[castiron]\nfoo = bar\n", &e);
	assert_null(c);
	assert_true(has_error(&e, ":4: [service web] check: 'ping' is not one of: http, tcp, exec"));
	assert_true(has_error(&e, "[service a] prefixes: 192.0.2.2/32 is listed twice"));
	assert_true(has_error(&e, "[service b] fall: 101 is out of range (1 to 100)"));
	assert_true(has_error(&e, "[service b] prefixes: 198.51.100.1/32 is outside allowed_prefixes"));
	assert_true(has_error(&e, "[images] cache_max: '10Q' has an unknown unit"));
	assert_true(has_error(&e, "[castiron] foo: unknown key"));
	/* sorted by line */
	assert_non_null(strstr(e.msg[0], ":4:"));
	cfg_errors_clear(&e);
}

static void
t_secret(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	char			 pw[256], text[512];

	(void)st;
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	write_text(pw, "hunter2\n");
	chmod(pw, 0640);
	snprintf(text, sizeof(text), "[bmc]\npassword_file = %s\n", pw);
	c = load(text, &e);
	assert_null(c);
	assert_true(has_error(&e, "readable by group or others (mode 640"));
	assert_false(has_error(&e, "hunter2"));
	cfg_errors_clear(&e);
	chmod(pw, 0600);
	c = load(text, &e);
	assert_non_null(c);
	config_free(c);
	unlink(pw);
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
	char	 path[256];

	(void)st;
	snprintf(path, sizeof(path), "%s/c.ini", dir);
	unlink(path);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_kexec),
		cmocka_unit_test(t_service),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_secret),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
