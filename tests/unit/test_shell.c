/*
 * Unit tests for provision/shell.c: quoting checked by handing the quoted
 * text to a real /bin/sh and comparing what it prints with the input, the
 * path validators, and every branch of the host key policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "provision/shell.h"
#include "provision/trust.h"

static struct err err;

/* Runs printf %s QUOTED through sh and returns what it printed. */
static char *
through_sh(const char *s)
{
	char	*q = sh_quote(s), *cmd, *out = calloc(1, 4096);
	FILE	*p;
	size_t	 n;

	cmd = malloc(strlen(q) + 32);
	snprintf(cmd, strlen(q) + 32, "printf %%s %s", q);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, 4095, p);
	out[n] = '\0';
	pclose(p);
	free(cmd);
	free(q);
	return out;
}

static void
t_quote_roundtrip(void **st)
{
	const char *cases[] = { "plain", "with space", "it's", "'", "''",
	    "$(touch /tmp/castiron-pwned)", "`id`", "a\"b", "semi;colon",
	    "back\\slash", "new\nline", "*", "-n", "", "x'; rm -rf / #",
	    NULL };
	int i;
	(void)st;
	for (i = 0; cases[i]; i++) {
		char *o = through_sh(cases[i]);
		assert_string_equal(o, cases[i]);
		free(o);
	}
}

static void
t_quote_append_bounds(void **st)
{
	char buf[8] = "x=";
	(void)st;
	assert_int_equal(sh_quote_append(buf, sizeof(buf), "abc"), 0);
	assert_string_equal(buf, "x='abc'");
	assert_int_equal(sh_quote_append(buf, sizeof(buf), "a"), -1);
	assert_string_equal(buf, "x='abc'");	/* unchanged on failure */
}

static void
t_paths(void **st)
{
	(void)st;
	assert_int_equal(sh_valid_path("/tmp/castiron-writer", &err), ERR_OK);
	assert_int_equal(sh_valid_path("relative", &err), ERR_INVAL);
	assert_int_equal(sh_valid_path("/a b", &err), ERR_INVAL);
	assert_int_equal(sh_valid_path("/a;b", &err), ERR_INVAL);
	assert_int_equal(sh_valid_path("/a/../etc", &err), ERR_INVAL);
	assert_int_equal(sh_valid_path("/a/..", &err), ERR_INVAL);
	assert_int_equal(sh_valid_path("/a/..b", &err), ERR_OK);
	assert_int_equal(sh_valid_path("/$(id)", &err), ERR_INVAL);
	assert_int_equal(sh_valid_device("/dev/loop7", &err), ERR_OK);
	assert_int_equal(sh_valid_device("/dev/disk/by-id/nvme-X_1", &err),
	    ERR_OK);
	assert_int_equal(sh_valid_device("/tmp/x", &err), ERR_INVAL);
	assert_int_equal(sh_valid_device("/dev/", &err), ERR_INVAL);
	assert_int_equal(sh_valid_device("/dev/sda`x`", &err), ERR_INVAL);
}

static int
decide(const char *presented, const char *pinned, const char *deploy,
    const char *seen, int accept_new, enum hostkey_phase phase)
{
	struct hostkey_in k = { .host = "h", .presented = presented,
	    .pinned = pinned, .deploy = deploy, .seen = seen,
	    .accept_new = accept_new, .phase = phase };

	return hostkey_decide(&k, &err);
}

/* A network-booted host that checked in with key checkin. */
static int
decide_checkin(const char *presented, const char *pinned,
    const char *checkin, enum hostkey_phase phase)
{
	struct hostkey_in k = { .host = "h", .presented = presented,
	    .pinned = pinned, .deploy = "SHA256:d", .checkin = checkin,
	    .accept_new = 1, .phase = phase };

	return hostkey_decide(&k, &err);
}

static void
t_hostkey(void **st)
{
	const enum hostkey_phase D = HOSTKEY_PHASE_DEPLOY;
	const enum hostkey_phase I = HOSTKEY_PHASE_INSTALLED;

	(void)st;
	assert_int_equal(decide("SHA256:a", "SHA256:a", NULL, NULL, 0, D),
	    HOSTKEY_PINNED);
	/* --accept-new-hostkey does not override a pinned key... */
	assert_int_equal(decide("SHA256:b", "SHA256:a", NULL, NULL, 1, D), -1);
	assert_non_null(strstr(err.msg, "SHA256:a"));
	assert_non_null(strstr(err.msg, "SHA256:b"));
	assert_non_null(strstr(err.msg, "forget-key h"));
	/* ...but the deploy image's key is known beforehand: accepted for
	 * the deploy phase, never as the host's own (not pinned). */
	assert_int_equal(decide("SHA256:d", "SHA256:a", "SHA256:d", NULL, 0,
	    D), HOSTKEY_DEPLOY);
	assert_int_equal(decide("SHA256:e", "SHA256:a", "SHA256:d", NULL, 0,
	    D), -1);
	assert_int_equal(decide("SHA256:b", NULL, NULL, NULL, 0, D), -1);
	assert_non_null(strstr(err.msg, "--accept-new-hostkey"));
	assert_int_equal(decide("SHA256:b", "", NULL, NULL, 1, D),
	    HOSTKEY_NEW);
	assert_int_equal(decide("SHA256:d", NULL, "SHA256:d", NULL, 0, D),
	    HOSTKEY_DEPLOY);
	assert_int_equal(decide("SHA256:e", NULL, "SHA256:d", NULL, 0, D), -1);
	assert_non_null(strstr(err.msg, "SHA256:d"));
	/* The installed system: its pinned key; the deploy key (configured
	 * or seen this run) means not rebooted yet; nothing else, not even
	 * with --accept-new-hostkey. */
	assert_int_equal(decide("SHA256:a", "SHA256:a", "SHA256:d", NULL, 1,
	    I), HOSTKEY_PINNED);
	assert_int_equal(decide("SHA256:d", "SHA256:a", "SHA256:d", NULL, 0,
	    I), HOSTKEY_DEPLOY);
	assert_int_equal(decide("SHA256:s", "SHA256:a", NULL, "SHA256:s", 0,
	    I), HOSTKEY_DEPLOY);
	assert_int_equal(decide("SHA256:x", "SHA256:a", "SHA256:d",
	    "SHA256:s", 1, I), -1);
	assert_non_null(strstr(err.msg, "SHA256:x"));
	assert_non_null(strstr(err.msg, "SHA256:a"));
	assert_int_equal(decide("SHA256:x", NULL, NULL, NULL, 1, I), -1);

	/* A check-in names the only key of the deploy phase: not the
	 * pinned one (the installed system still running), not the shared
	 * deploy key, not a new one even with --accept-new-hostkey. */
	assert_int_equal(decide_checkin("SHA256:c", "SHA256:a", "SHA256:c", D),
	    HOSTKEY_CHECKIN);
	assert_int_equal(decide_checkin("SHA256:a", "SHA256:a", "SHA256:c", D),
	    -1);
	assert_non_null(strstr(err.msg, "checked in with"));
	assert_int_equal(decide_checkin("SHA256:d", NULL, "SHA256:c", D), -1);
	assert_int_equal(decide_checkin("SHA256:n", NULL, "SHA256:c", D), -1);
	/* After the reboot: the checked-in key means not rebooted yet. */
	assert_int_equal(decide_checkin("SHA256:c", "SHA256:a", "SHA256:c", I),
	    HOSTKEY_DEPLOY);
	assert_int_equal(decide_checkin("SHA256:a", "SHA256:a", "SHA256:c", I),
	    HOSTKEY_PINNED);
}

/* A further session of a host (an image over several sessions). */
static void
t_hostkey_more(void **st)
{
	struct hostkey_in k = { .host = "h", .presented = "SHA256:a",
	    .pinned = "SHA256:a", .accept_new = 1,
	    .phase = HOSTKEY_PHASE_DEPLOY };

	(void)st;
	assert_int_equal(hostkey_decide_more(&k, "SHA256:a", &err), HOSTKEY_PINNED);
	/* Another key than the first session's: refused, both named. */
	k.presented = "SHA256:b";
	assert_int_equal(hostkey_decide_more(&k, "SHA256:a", &err), -1);
	assert_non_null(strstr(err.msg, "SHA256:a"));
	assert_non_null(strstr(err.msg, "SHA256:b"));
	assert_int_equal(err.code, ERR_TRUST);
	/* The first session's key, but no longer the pin. */
	k.pinned = "SHA256:p";
	assert_int_equal(hostkey_decide_more(&k, "SHA256:b", &err), -1);
	assert_non_null(strstr(err.msg, "SHA256:p"));
	/* No pin: --accept-new-hostkey is for the first session only. */
	k.pinned = "";
	assert_int_equal(hostkey_decide_more(&k, "SHA256:b", &err), -1);
	/* The deploy key, as the first session met it. */
	k.deploy = "SHA256:b";
	assert_int_equal(hostkey_decide_more(&k, "SHA256:b", &err), HOSTKEY_DEPLOY);
	assert_int_equal(hostkey_decide_more(&k, NULL, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_quote_roundtrip),
		cmocka_unit_test(t_quote_append_bounds),
		cmocka_unit_test(t_paths),
		cmocka_unit_test(t_hostkey),
		cmocka_unit_test(t_hostkey_more),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
