/*
 * Unit tests for bgp/: the BIRD reply parser (every line form birdc
 * knows, partial input, limits), `show protocols` rows, what counts as a
 * successful configure, the rise/fall state machine, the prefix rule
 * (shared prefixes, drain), state carried across a reload, and the
 * include file's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "bgp/announce.h"
#include "bgp/bird.h"
#include "bgp/check.h"
#include "bgp/check_int.h"
#include "bgp/controller.h"
#include "bgp/timer.h"
#include "lib/xmalloc.h"

static struct err	err;

static ssize_t
parse(const char *s, struct bird_reply *r)
{
	return bird_reply_parse(s, strlen(s), r, &err);
}

static void
t_reply_simple(void **st)
{
	struct bird_reply r = { 0 };
	const char *s = "0001 BIRD 2.0.12 ready.\n";

	(void)st;
	assert_int_equal(parse(s, &r), (ssize_t)strlen(s));
	assert_int_equal(r.code, 1);
	assert_int_equal(r.nlines, 1);
	assert_string_equal(r.lines[0].text, "BIRD 2.0.12 ready.");
	bird_reply_clear(&r);
}

static void
t_reply_continuations(void **st)
{
	struct bird_reply r = { 0 };
	const char *s = "1000-BIRD 2.0.12\n1011-Router ID is 10.250.0.1\n"
	    " Hostname is vm\n Last reboot on 2026-11-26 12:53:33.248\n"
	    "0013 Daemon is up and running\nEXTRA";

	(void)st;
	/* Stops after the final line; the rest belongs to the next reply. */
	assert_int_equal(parse(s, &r), (ssize_t)(strlen(s) - 5));
	assert_int_equal(r.code, 13);
	assert_int_equal(r.nlines, 5);
	assert_int_equal(r.lines[2].code, 1011);	/* inherits */
	assert_string_equal(r.lines[3].text,
	    "Last reboot on 2026-11-26 12:53:33.248");
	bird_reply_clear(&r);
}

static void
t_reply_partial(void **st)
{
	struct bird_reply r = { 0 };
	const char *s = "0002-Reading configuration from bird.conf\n0003 Reconf";

	(void)st;
	assert_int_equal(parse(s, &r), 0);
	assert_int_equal(r.nlines, 0);
	assert_int_equal(parse("2002-Name Proto\n", &r), 0);
	assert_int_equal(parse("", &r), 0);
}

/* Fed a byte at a time, as a slow socket would, the parser gives the same
 * reply as from one buffer, and takes nothing after the reply. */
static void
t_reply_incremental(void **st)
{
	const char *s = "0001 BIRD 2.0.12 ready.\n";
	const char *m = "2002-Name Proto\n1002-device1 Device --- up\n"
	    " castiron_p_1 Static master4 up\n+0000 async\n0000 \n1 extra";
	struct bird_parser p;
	struct bird_reply whole = { 0 };
	char buf[256];
	size_t len = 0, i, total = 0;
	ssize_t used;

	(void)st;
	bird_parser_init(&p);
	assert_int_equal(bird_parser_feed(&p, s, strlen(s), &err),
	    (ssize_t)strlen(s));
	assert_true(p.done);
	assert_int_equal(p.r.code, 1);
	bird_reply_clear(&p.r);

	assert_true(parse(m, &whole) > 0);
	bird_parser_init(&p);
	for (i = 0; m[i] && !p.done; i++) {
		buf[len++] = m[i];
		used = bird_parser_feed(&p, buf, len, &err);
		assert_true(used >= 0);
		memmove(buf, buf + used, len - (size_t)used);
		len -= (size_t)used;
		total += (size_t)used;
	}
	assert_true(p.done);
	assert_int_equal(total, strlen(m) - strlen("1 extra"));
	assert_int_equal(p.r.code, whole.code);
	assert_int_equal(p.r.nlines, whole.nlines);
	assert_int_equal(p.r.nunsolicited, 1);
	for (i = 0; i < whole.nlines; i++) {
		assert_int_equal(p.r.lines[i].code, whole.lines[i].code);
		assert_string_equal(p.r.lines[i].text, whole.lines[i].text);
	}
	bird_reply_clear(&p.r);
	bird_reply_clear(&whole);
}

static void
t_reply_unsolicited_and_errors(void **st)
{
	struct bird_reply r = { 0 };

	(void)st;
	assert_true(parse("+0000 some async message\n0000 \n", &r) > 0);
	assert_int_equal(r.nunsolicited, 1);
	assert_int_equal(r.code, 0);
	assert_false(bird_code_is_error(r.code));
	assert_true(parse("9001 syntax error, unexpected CF_SYM_UNDEFINED\n",
	    &r) > 0);
	assert_true(bird_code_is_error(r.code));
	assert_true(bird_reply_no_protocol(&r));
	bird_reply_error(&r, &err);
	assert_non_null(strstr(err.msg, "9001 syntax error"));
	assert_true(parse("0016 Access restricted\n", &r) > 0);
	assert_true(bird_code_is_error(r.code));
	assert_false(bird_reply_no_protocol(&r));
	assert_true(parse("8007 Access denied\n", &r) > 0);
	bird_reply_error(&r, &err);
	assert_non_null(strstr(err.msg, "restricted"));
	/* A line birdc would print as "???" is kept, not fatal. */
	assert_true(parse("garbage\n0000 \n", &r) > 0);
	assert_int_equal(r.nlines, 2);
	bird_reply_clear(&r);
}

static void
t_reply_limits(void **st)
{
	struct bird_reply r = { 0 };
	size_t n = BIRD_MAX_LINE + 10;
	char *big = xmalloc(n + 1);

	(void)st;
	memset(big, 'a', n);
	big[n] = '\0';
	assert_int_equal(bird_reply_parse(big, n, &r, &err), -1);
	assert_non_null(strstr(err.msg, "longer"));
	assert_int_equal(bird_reply_parse("00\0001 x\n", 8, &r, &err), -1);
	free(big);
}

static void
t_configure_ok(void **st)
{
	struct bird_reply r = { 0 };

	(void)st;
	assert_true(parse("0002-Reading configuration from bird.conf\n"
	    "0003 Reconfigured\n", &r) > 0);
	assert_true(bird_configure_ok(&r));
	/* BIRD 3 (and BIRD 2 when protocols change) answers 0004. */
	assert_true(parse("0002-Reading configuration from bird.conf\n"
	    "0004 Reconfiguration in progress\n", &r) > 0);
	assert_true(bird_configure_ok(&r));
	assert_true(parse("0002-Reading configuration from bird.conf\n"
	    "8002 bird.conf:4:10 Unable to match pattern\n", &r) > 0);
	assert_false(bird_configure_ok(&r));
	bird_reply_clear(&r);
}

static void
t_protocols(void **st)
{
	struct bird_reply r = { 0 };
	struct bird_proto *p;
	size_t n;

	(void)st;
	assert_true(parse("2002-Name       Proto      Table      State  Since  Info\n"
	    "1002-device1    Device     ---        up     12:53:33.248  \n"
	    " castiron_p_192_0_2_10_32 Static     master4    up     12:53:37.102  \n"
	    " castiron_p_2001_db8__10_128 Static master6 down 12:53:37.102\n"
	    "0000 \n", &r) > 0);
	assert_int_equal(bird_parse_protocols(&r, &p, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(p[1].name, "castiron_p_192_0_2_10_32");
	assert_string_equal(p[1].state, "up");
	assert_string_equal(p[2].state, "down");
	assert_string_equal(p[2].proto, "Static");
	free(p);
	bird_reply_clear(&r);
}

/* ---- controller ---- */

static struct config *
cfg_two(void)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->nservice = 2;
	c->service = xcalloc(2, sizeof(*c->service));
	c->service[0].name = "web";
	c->service[1].name = "dns";
	for (int i = 0; i < 2; i++) {
		c->service[i].rise = 3;
		c->service[i].fall = 2;
		c->service[i].interval_ms = 1000;
		c->service[i].fast_interval_ms = 200;
		c->service[i].nprefixes = 2;
		c->service[i].prefixes = xcalloc(2, sizeof(struct prefix));
	}
	parse_prefix("192.0.2.10/32", &c->service[0].prefixes[0], NULL);
	parse_prefix("192.0.2.99/32", &c->service[0].prefixes[1], NULL);
	parse_prefix("2001:db8::53/128", &c->service[1].prefixes[0], NULL);
	parse_prefix("192.0.2.99/32", &c->service[1].prefixes[1], NULL);
	return c;
}

static void
cfg_two_free(struct config *c)
{
	free(c->service[0].prefixes);
	free(c->service[1].prefixes);
	free(c->service);
	free(c);
}

static void
t_rise_fall(void **st)
{
	struct config *cfg = cfg_two();
	struct ctl *c = ctl_new(cfg, 0);

	(void)st;
	assert_int_equal(c->nprefix, 3);	/* .99 is shared, listed once */
	assert_string_equal(ctl_state(&c->service[0]), "unknown");
	assert_int_equal(ctl_result(c, 0, 1, 0, "HTTP 200", 1, 1 * 1000), CTL_SAME);
	assert_string_equal(ctl_state(&c->service[0]), "rising");
	assert_int_equal(ctl_interval_ms(&c->service[0]), 200);
	assert_int_equal(ctl_result(c, 0, 1, 0, "HTTP 200", 2, 2 * 1000), CTL_SAME);
	/* A failure resets the rise count. */
	assert_int_equal(ctl_result(c, 0, 0, 0, "HTTP 503", 3, 3 * 1000), CTL_SAME);
	assert_string_equal(c->service[0].last_error, "HTTP 503");
	for (int i = 0; i < 2; i++)
		assert_int_equal(ctl_result(c, 0, 1, 0, "ok", 4, 4 * 1000), CTL_SAME);
	assert_int_equal(ctl_result(c, 0, 1, 0, "ok", 5, 5 * 1000), CTL_BECAME_HEALTHY);
	assert_string_equal(ctl_state(&c->service[0]), "up");
	assert_int_equal(ctl_interval_ms(&c->service[0]), 1000);
	assert_int_equal(c->service[0].since, 5);
	assert_int_equal(ctl_result(c, 0, 0, 0, "timeout", 6, 6 * 1000), CTL_SAME);
	assert_string_equal(ctl_state(&c->service[0]), "falling");
	assert_int_equal(ctl_result(c, 0, 1, 0, "ok", 7, 7 * 1000), CTL_SAME);
	assert_int_equal(ctl_result(c, 0, 0, 0, "timeout", 8, 8 * 1000), CTL_SAME);
	assert_int_equal(ctl_result(c, 0, 0, 0, "timeout", 9, 9 * 1000), CTL_BECAME_UNHEALTHY);
	assert_string_equal(ctl_state(&c->service[0]), "down");
	assert_int_equal(c->service[0].transitions, 2);
	ctl_free(c);
	cfg_two_free(cfg);
}

static int
want(struct ctl *c, const char *pfx)
{
	for (size_t i = 0; i < c->nprefix; i++)
		if (strcmp(c->prefix[i].str, pfx) == 0)
			return c->prefix[i].want;
	return -1;
}

static void
t_prefix_rule(void **st)
{
	struct config *cfg = cfg_two();
	struct ctl *c = ctl_new(cfg, 0);

	(void)st;
	assert_int_equal(ctl_update(c, 0), 0);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	for (int i = 0; i < 3; i++)
		ctl_result(c, 0, 1, 0, "ok", 1, 1 * 1000);
	assert_int_equal(ctl_update(c, 1), 1);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	assert_int_equal(want(c, "192.0.2.99/32"), 0);	/* dns not yet */
	for (int i = 0; i < 3; i++)
		ctl_result(c, 1, 1, 0, "ok", 1, 1 * 1000);
	assert_int_equal(ctl_update(c, 1), 2);
	assert_int_equal(want(c, "192.0.2.99/32"), 1);
	assert_int_equal(want(c, "2001:db8::53/128"), 1);
	/* Either service of a shared prefix failing withdraws it. */
	ctl_result(c, 1, 0, 0, "refused", 2, 2 * 1000);
	ctl_result(c, 1, 0, 0, "refused", 2, 2 * 1000);
	assert_int_equal(ctl_update(c, 2), 2);
	assert_int_equal(want(c, "192.0.2.99/32"), 0);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* Drain withdraws everything; undrain brings back what is healthy. */
	c->drained = 1;
	assert_int_equal(ctl_update(c, 3), 1);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	c->drained = 0;
	assert_int_equal(ctl_update(c, 4), 1);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	ctl_free(c);
	cfg_two_free(cfg);
}

static void
t_carry_and_adopt(void **st)
{
	struct config *cfg = cfg_two(), *cfg2 = cfg_two();
	struct ctl *a = ctl_new(cfg, 0), *b;

	(void)st;
	for (int i = 0; i < 3; i++) {
		ctl_result(a, 0, 1, 0, "ok", 1, 1 * 1000);
		ctl_result(a, 1, 1, 0, "ok", 1, 1 * 1000);
	}
	ctl_update(a, 1);
	cfg2->service[1].rise = 5;		/* dns changed, web did not */
	b = ctl_new(cfg2, 2);
	ctl_carry(b, a);
	assert_true(b->service[0].healthy);
	assert_false(b->service[1].healthy);
	ctl_free(b);
	/* Adoption: a service BIRD announces at start is taken as up. */
	b = ctl_new(cfg, 3);
	ctl_adopt(b, 1, 3);
	assert_true(b->service[1].healthy);
	assert_string_equal(ctl_state(&b->service[1]), "up");
	ctl_free(b);
	ctl_free(a);
	cfg_two_free(cfg);
	cfg_two_free(cfg2);
}

static void
t_names_and_render(void **st)
{
	struct config *cfg = cfg_two();
	struct ctl *c = ctl_new(cfg, 0);
	char buf[CTL_PROTO_LEN], *text;
	struct prefix p;

	(void)st;
	parse_prefix("2001:db8:1234:5678:9abc:def0:1234:5678/128", &p, NULL);
	ctl_proto_name(&p, buf, sizeof(buf));
	assert_string_equal(buf,
	    "castiron_p_2001_db8_1234_5678_9abc_def0_1234_5678_128");
	assert_true(strlen(buf) < 64);		/* BIRD's symbol limit */
	for (int i = 0; i < 3; i++)
		ctl_result(c, 0, 1, 0, "ok", 1, 1 * 1000);
	ctl_update(c, 1);
	text = announce_render(c);
	assert_non_null(strstr(text, "protocol static castiron_p_192_0_2_10_32 {\n"
	    "\tdisabled no;\n\tipv4;\n\troute 192.0.2.10/32 blackhole;\n}"));
	assert_non_null(strstr(text, "protocol static castiron_p_2001_db8__53_128 {\n"
	    "\tdisabled yes;\n\tipv6;\n"));
	/* The services of each prefix, for the next start's adoption. */
	ctl_service_id(&c->service[0], buf, sizeof(buf));
	assert_true(strncmp(buf, "web@", 4) == 0 && strlen(buf) == 12);
	assert_true(announce_text_lists(text, "castiron_p_192_0_2_99_32", buf));
	assert_true(announce_text_lists(text, "castiron_p_192_0_2_10_32", buf));
	assert_false(announce_text_lists(text, "castiron_p_2001_db8__53_128", buf));
	assert_false(announce_text_lists(text, "castiron_p_192_0_2_1_32", buf));
	assert_false(announce_text_lists(text, "castiron_p_192_0_2_99_3", buf));
	assert_false(announce_text_lists(text, "castiron_p_192_0_2_99_32", "web"));
	assert_false(announce_text_lists("", "castiron_p_192_0_2_99_32", buf));
	free(text);
	/* What a service checks is part of its id; its timing is not. */
	{
		char before[CTL_PROTO_LEN];
		snprintf(before, sizeof(before), "%s", buf);
		c->service[0].cfg.interval_ms = 5000;
		ctl_service_id(&c->service[0], buf, sizeof(buf));
		assert_string_equal(buf, before);
		c->service[0].cfg.url = "http://127.0.0.1:1/";
		ctl_service_id(&c->service[0], buf, sizeof(buf));
		assert_string_not_equal(buf, before);
	}
	ctl_free(c);
	cfg_two_free(cfg);
}

static void
t_timers(void **st)
{
	struct timers t;

	(void)st;
	timer_init(&t);
	assert_int_equal(timer_next(&t), TIMER_OFF);
	assert_false(timer_due(&t, TIMER_RECONCILE, 1000));
	timer_set(&t, TIMER_RECONCILE, 500);
	timer_set(&t, TIMER_METRICS, 300);
	assert_int_equal(timer_next(&t), 300);
	assert_false(timer_due(&t, TIMER_METRICS, 299));
	assert_true(timer_due(&t, TIMER_METRICS, 300));
	timer_set_earlier(&t, TIMER_RECONCILE, 900);	/* later: kept */
	timer_set_earlier(&t, TIMER_CHECKS, 400);	/* stopped: set */
	assert_int_equal(t.due[TIMER_RECONCILE], 500);
	timer_stop(&t, TIMER_METRICS);
	assert_false(timer_running(&t, TIMER_METRICS));
	assert_int_equal(timer_next(&t), 400);
	timer_set(&t, TIMER_CHECKS, 0);		/* due at once */
	assert_true(timer_due(&t, TIMER_CHECKS, 0));
}

static void
free_words(char **w)
{
	for (size_t i = 0; w[i]; i++)
		free(w[i]);
	free(w);
}

static void
t_exec_words(void **st)
{
	char **w;

	(void)st;
	assert_int_equal(exec_split_words("/bin/echo ok && exit 1", &w, &err), ERR_OK);
	assert_string_equal(w[0], "/bin/echo");
	assert_string_equal(w[2], "&&");	/* no shell: just a word */
	assert_string_equal(w[4], "1");
	assert_null(w[5]);
	free_words(w);
	assert_int_equal(exec_split_words("  check 'a b'  \"c \\\" d\" e\\ f ",
	    &w, &err), ERR_OK);
	assert_string_equal(w[0], "check");
	assert_string_equal(w[1], "a b");
	assert_string_equal(w[2], "c \" d");
	assert_string_equal(w[3], "e f");
	assert_null(w[4]);
	free_words(w);
	assert_int_equal(exec_split_words("x 'open", &w, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "unbalanced"));
	assert_int_equal(exec_split_words("   ", &w, &err), ERR_INVAL);
	assert_int_equal(exec_split_words("a b c d e f g h i j k l m n o p q r s t "
	    "u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z "
	    "a b c d e f g h i j k l m n", &w, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "more than"));
}

/* ---- beyond on and off ---- */

static void
t_flap_damping(void **st)
{
	struct config *cfg = cfg_two();
	struct ctl *c;
	struct ctl_service *s;

	(void)st;
	cfg->service[0].rise = 1;
	cfg->service[0].fall = 1;
	cfg->service[0].flap_limit = 3;
	cfg->service[0].flap_window_ms = 10000;
	cfg->service[0].flap_hold_ms = 5000;
	c = ctl_new(cfg, 0);
	s = &c->service[0];
	/* Three changes in the window: not yet. */
	ctl_result(c, 0, 1, 0, "ok", 1, 1000);
	ctl_result(c, 0, 0, 0, "HTTP 503", 2, 2000);
	ctl_result(c, 0, 1, 0, "ok", 3, 3000);
	assert_int_equal(s->held_until, 0);
	ctl_update(c, 3);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* The fourth within 10 s: held for 5 s from it. */
	assert_int_equal(ctl_result(c, 0, 0, 0, "HTTP 503", 4, 4000),
	    CTL_BECAME_UNHEALTHY);
	assert_int_equal(s->held_until, 9000);
	assert_int_equal(s->held_until_wall, 9);
	assert_int_equal(s->held_changes, 4);
	assert_int_equal(ctl_next_release(c), 9000);
	/* Healthy again, but held: withdrawn. */
	ctl_result(c, 0, 1, 0, "ok", 5, 5000);
	assert_true(s->healthy);
	ctl_update(c, 5);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	assert_int_equal(ctl_release(c, 8999), 0);
	assert_int_equal(ctl_release(c, 9000), 1);
	assert_int_equal(s->held_until, 0);
	assert_int_equal(ctl_next_release(c), UINT64_MAX);
	assert_int_equal(ctl_update(c, 9), 1);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* Released with a clean history: one change is no flap. */
	ctl_result(c, 0, 0, 0, "HTTP 503", 10, 10000);
	assert_int_equal(s->held_until, 0);
	/* Changes spread wider than the window do not hold. */
	ctl_result(c, 0, 1, 0, "ok", 21, 21000);
	ctl_result(c, 0, 0, 0, "x", 32, 32000);
	ctl_result(c, 0, 1, 0, "ok", 43, 43000);
	assert_int_equal(s->held_until, 0);
	ctl_free(c);
	cfg_two_free(cfg);
}

static void
t_guard(void **st)
{
	struct config *cfg = cfg_two();
	struct ctl *c;
	size_t k;

	(void)st;
	cfg->service[0].rise = cfg->service[1].rise = 1;
	cfg->service[0].fall = cfg->service[1].fall = 1;
	cfg->service[0].fail_open = 1;
	c = ctl_new(cfg, 0);
	k = (size_t)ctl_find_prefix(c, "castiron_p_192_0_2_10_32");
	/* Never healthy: the guard does not apply (down from the start). */
	ctl_result(c, 0, 0, 0, "HTTP 503", 1, 1000);
	ctl_update(c, 1);
	assert_false(c->prefix[k].guarded);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	ctl_result(c, 0, 1, 0, "ok", 2, 2000);
	ctl_result(c, 1, 1, 0, "ok", 2, 2000);
	ctl_update(c, 2);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* The fail_open service falls for a reason outside the host: the
	 * prefix stays announced until BIRD says whether others announce. */
	assert_int_equal(ctl_result(c, 0, 0, 0, "HTTP 503", 3, 3000),
	    CTL_BECAME_UNHEALTHY);
	assert_true(c->service[0].fell);
	assert_int_equal(ctl_update(c, 3), 0);
	assert_true(c->prefix[k].guarded);
	assert_int_equal(c->prefix[k].others, -1);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* ...and a shared prefix with a fail_open service down is guarded
	 * too (dns, the other, is healthy). */
	assert_int_equal(want(c, "192.0.2.99/32"), 1);
	/* No other announcer: kept (the first answer is a decision). */
	assert_int_equal(ctl_guard_seen(c, k, 0), 1);
	assert_int_equal(ctl_guard_seen(c, k, 0), 0);
	ctl_update(c, 3);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* Another announcer shows: withdrawn; gone again: announced. */
	assert_int_equal(ctl_guard_seen(c, k, 1), 1);
	assert_int_equal(ctl_update(c, 4), 1);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	assert_int_equal(ctl_guard_seen(c, k, 0), 1);
	assert_int_equal(ctl_update(c, 5), 1);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* A local failure (nothing listens): withdrawn whatever BIRD says. */
	ctl_result(c, 0, 0, 1, "connect: Connection refused", 6, 6000);
	assert_false(c->service[0].fell);
	ctl_update(c, 6);
	assert_false(c->prefix[k].guarded);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	assert_int_equal(ctl_guard_seen(c, k, 0), 0);
	ctl_update(c, 6);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	/* Healthy, then fallen again; a drain withdraws even a kept one. */
	ctl_result(c, 0, 1, 0, "ok", 7, 7000);
	ctl_result(c, 0, 0, 0, "HTTP 503", 8, 8000);
	ctl_update(c, 8);
	ctl_guard_seen(c, k, 0);
	ctl_update(c, 8);
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	c->drained = 1;
	ctl_update(c, 9);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	/* Not fail_open: dns falling withdraws its prefixes at once. */
	c->drained = 0;
	ctl_result(c, 1, 0, 0, "HTTP 503", 10, 10000);
	ctl_update(c, 10);
	assert_int_equal(want(c, "2001:db8::53/128"), 0);
	assert_int_equal(want(c, "192.0.2.99/32"), 0);
	ctl_free(c);
	cfg_two_free(cfg);
}

static void
t_grace(void **st)
{
	struct config *cfg = cfg_two();
	struct ctl *c;

	(void)st;
	cfg->service[0].rise = cfg->service[1].rise = 1;
	cfg->service[0].fall = cfg->service[1].fall = 1;
	c = ctl_new(cfg, 0);
	ctl_result(c, 0, 1, 0, "ok", 1, 1000);
	ctl_update(c, 1);
	ctl_grace_begin(c);
	assert_true(c->gshut);
	assert_int_equal(ctl_update(c, 2), 0);	/* no want changes */
	assert_int_equal(want(c, "192.0.2.10/32"), 1);
	/* Nothing is announced anew while draining. */
	ctl_result(c, 1, 1, 0, "ok", 3, 3000);
	ctl_update(c, 3);
	assert_int_equal(want(c, "2001:db8::53/128"), 0);
	/* A failure withdraws at once, and it stays so. */
	ctl_result(c, 0, 0, 0, "HTTP 503", 4, 4000);
	ctl_update(c, 4);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	ctl_result(c, 0, 1, 0, "ok", 5, 5000);
	ctl_update(c, 5);
	assert_int_equal(want(c, "192.0.2.10/32"), 0);
	ctl_free(c);
	cfg_two_free(cfg);
}

static void
t_attrs_render(void **st)
{
	struct config *cfg = cfg_two();
	uint32_t comm0[] = { (65001u << 16) | 100, (65001u << 16) | 7 };
	uint32_t comm1[] = { (65001u << 16) | 7 };
	uint32_t large[] = { 65001, 1, 2 };
	struct ctl *c;
	char *text, *routes;

	(void)st;
	cfg->service[0].attrs.communities = comm0;
	cfg->service[0].attrs.ncommunities = 2;
	cfg->service[0].attrs.large_communities = large;
	cfg->service[0].attrs.nlarge_communities = 1;
	cfg->service[0].attrs.has_med = 1;
	cfg->service[0].attrs.med = 10;
	cfg->service[1].attrs.communities = comm1;
	cfg->service[1].attrs.ncommunities = 1;
	cfg->service[1].attrs.has_med = 1;
	cfg->service[1].attrs.med = 30;
	cfg->bgp.drain_local_pref = 50;
	cfg->bgp.drain_prepend = 2;
	cfg->bgp.drain_prepend_as = 65001;
	c = ctl_new(cfg, 0);
	text = announce_render(c);
	assert_non_null(strstr(text, "\troute 192.0.2.10/32 blackhole {\n"
	    "\t\tbgp_community.add((65001,100));\n"
	    "\t\tbgp_community.add((65001,7));\n"
	    "\t\tbgp_large_community.add((65001,1,2));\n"
	    "\t\tbgp_med = 10;\n\t};\n}\n"));
	/* Shared: each community once, the highest MED. */
	assert_non_null(strstr(text, "\troute 192.0.2.99/32 blackhole {\n"
	    "\t\tbgp_community.add((65001,100));\n"
	    "\t\tbgp_community.add((65001,7));\n"
	    "\t\tbgp_large_community.add((65001,1,2));\n"
	    "\t\tbgp_med = 30;\n\t};\n}\n"));
	/* The routes of a file: no comments, no 'disabled'. */
	routes = announce_routes_of(text);
	assert_null(strstr(routes, "disabled"));
	assert_null(strstr(routes, "# "));
	assert_non_null(strstr(routes, "bgp_med = 30;"));
	/* A want changes the file, not its routes (no configure). */
	c->prefix[0].want = !c->prefix[0].want;
	{
		char *t2 = announce_render(c), *r2 = announce_routes_of(t2);

		assert_string_not_equal(t2, text);
		assert_string_equal(r2, routes);
		free(t2);
		free(r2);
	}
	free(text);
	free(routes);
	/* A grace: 65535:0, the local preference and the prepends. */
	ctl_grace_begin(c);
	text = announce_render(c);
	assert_non_null(strstr(text, "\t\tbgp_med = 10;\n"
	    "\t\tbgp_community.add((65535,0));\n"
	    "\t\tbgp_local_pref = 50;\n"
	    "\t\tbgp_path.prepend(65001);\n"
	    "\t\tbgp_path.prepend(65001);\n\t};\n"));
	assert_non_null(strstr(text, "route 2001:db8::53/128 blackhole {\n"
	    "\t\tbgp_community.add((65001,7));\n\t\tbgp_med = 30;\n"
	    "\t\tbgp_community.add((65535,0));\n"));
	free(text);
	ctl_free(c);
	cfg->service[0].attrs.communities = cfg->service[1].attrs.communities = NULL;
	cfg->service[0].attrs.large_communities = NULL;
	cfg_two_free(cfg);
}

/* [prefix P]: a prefix's own communities after its services', its MED
 * instead of theirs; the other prefixes keep only their services'. */
static void
t_prefix_attrs(void **st)
{
	struct config *cfg = cfg_two();
	uint32_t comm0[] = { (65001u << 16) | 100 };
	uint32_t own_comm[] = { (65001u << 16) | 100, (65001u << 16) | 99 };
	uint32_t own_large[] = { 65001, 9, 9 };
	struct cfg_prefix own[2];
	struct ctl *c;
	char *text;

	(void)st;
	memset(own, 0, sizeof(own));
	cfg->service[0].attrs.communities = comm0;
	cfg->service[0].attrs.ncommunities = 1;
	cfg->service[0].attrs.has_med = 1;
	cfg->service[0].attrs.med = 10;
	cfg->service[1].attrs.has_med = 1;
	cfg->service[1].attrs.med = 30;
	parse_prefix("192.0.2.99/32", &own[0].p, NULL);
	own[0].attrs.communities = own_comm;
	own[0].attrs.ncommunities = 2;
	own[0].attrs.large_communities = own_large;
	own[0].attrs.nlarge_communities = 1;
	own[0].attrs.has_med = 1;
	own[0].attrs.med = 5;
	parse_prefix("2001:db8::53/128", &own[1].p, NULL);
	own[1].attrs.communities = own_comm + 1;
	own[1].attrs.ncommunities = 1;
	cfg->prefix = own;
	cfg->nprefix = 2;
	assert_ptr_equal(config_prefix(cfg, &own[1].p), &own[1]);
	assert_null(config_prefix(cfg, &cfg->service[0].prefixes[0]));
	c = ctl_new(cfg, 0);
	text = announce_render(c);
	/* Its own MED (5) instead of the services' highest (30); 65001:100
	 * once though both the service and the prefix name it. */
	assert_non_null(strstr(text, "\troute 192.0.2.99/32 blackhole {\n"
	    "\t\tbgp_community.add((65001,100));\n"
	    "\t\tbgp_community.add((65001,99));\n"
	    "\t\tbgp_large_community.add((65001,9,9));\n"
	    "\t\tbgp_med = 5;\n\t};\n}\n"));
	/* No MED of its own: the service's stays. */
	assert_non_null(strstr(text, "\troute 2001:db8::53/128 blackhole {\n"
	    "\t\tbgp_community.add((65001,99));\n"
	    "\t\tbgp_med = 30;\n\t};\n}\n"));
	/* A prefix without a section: its service's only. */
	assert_non_null(strstr(text, "\troute 192.0.2.10/32 blackhole {\n"
	    "\t\tbgp_community.add((65001,100));\n"
	    "\t\tbgp_med = 10;\n\t};\n}\n"));
	free(text);
	ctl_free(c);
	cfg->service[0].attrs.communities = NULL;
	cfg->prefix = NULL;
	cfg_two_free(cfg);
}

static void
t_routes_reply(void **st)
{
	struct bird_reply r = { 0 };
	char via[72];
	struct err e;

	(void)st;
	assert_true(parse("1007-Table master4:\n"
	    " 192.0.2.10/32        unicast [up4 14:03:48.836] * (100) [AS65002i]\n"
	    "\tvia 10.250.50.2 on v1h\n"
	    "                      unicast [up4b 14:03:49.001] (100) [AS65003i]\n"
	    "0000 \n", &r) > 0);
	assert_int_equal(bird_reply_routes(&r, via, sizeof(via), &e), 2);
	assert_string_equal(via, "up4");
	bird_reply_clear(&r);
	assert_true(parse("8001 Network not found\n", &r) > 0);
	assert_int_equal(bird_reply_routes(&r, via, sizeof(via), &e), 0);
	bird_reply_clear(&r);
	/* A filter that matches nothing: an empty success. */
	assert_true(parse("0000 \n", &r) > 0);
	assert_int_equal(bird_reply_routes(&r, via, sizeof(via), &e), 0);
	bird_reply_clear(&r);
	assert_true(parse("9001 syntax error, unexpected CF_SYM_UNDEFINED\n", &r) > 0);
	assert_int_equal(bird_reply_routes(&r, via, sizeof(via), &e), -1);
	bird_reply_clear(&r);
}

static void
t_refused_local(void **st)
{
	uint8_t lo4[4] = { 127, 0, 0, 1 }, other4[4] = { 10, 0, 0, 1 };
	uint8_t lo6[16] = { [15] = 1 }, other6[16] = { 0x20, 0x01, [15] = 1 };

	(void)st;
	assert_true(check_refused_local(AF_INET, lo4));
	assert_false(check_refused_local(AF_INET, other4));
	assert_true(check_refused_local(AF_INET6, lo6));
	assert_false(check_refused_local(AF_INET6, other6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_reply_simple),
		cmocka_unit_test(t_reply_continuations),
		cmocka_unit_test(t_reply_partial),
		cmocka_unit_test(t_reply_incremental),
		cmocka_unit_test(t_reply_unsolicited_and_errors),
		cmocka_unit_test(t_reply_limits),
		cmocka_unit_test(t_configure_ok),
		cmocka_unit_test(t_protocols),
		cmocka_unit_test(t_rise_fall),
		cmocka_unit_test(t_prefix_rule),
		cmocka_unit_test(t_carry_and_adopt),
		cmocka_unit_test(t_names_and_render),
		cmocka_unit_test(t_exec_words),
		cmocka_unit_test(t_timers),
		cmocka_unit_test(t_flap_damping),
		cmocka_unit_test(t_guard),
		cmocka_unit_test(t_grace),
		cmocka_unit_test(t_attrs_render),
		cmocka_unit_test(t_prefix_attrs),
		cmocka_unit_test(t_routes_reply),
		cmocka_unit_test(t_refused_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
