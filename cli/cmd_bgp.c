/*
 * castiron bgp: run the health-gated announcer, ask it for its state,
 * run every check once, and drain or undrain the host.  The daemon and
 * its parts live in bgp/; this file only turns command lines into calls
 * and results into the one output formatter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bgp/announce.h"
#include "bgp/bird.h"
#include "bgp/checkonce.h"
#include "bgp/control.h"
#include "bgp/controller.h"
#include "bgp/daemon.h"
#include "bgp/ev.h"
#include "cli/cli.h"
#include "lib/log.h"

static int
cmd_bgp_run(struct ctx *ctx, struct args *args)
{
	struct err	 err;

	(void)args;
	/* A bad configuration at start is ERR_INVAL (its errors said line
	 * by line), a daemon that cannot start ERR_FAIL: exit 2 or 1. */
	if (bgpd_run(ctx->config_path, &err) != ERR_OK && err.code == ERR_OK)
		return cli_exit(ERR_INVAL);
	return cli_fail(&err);
}

static void
print_status(struct ctx *ctx, json_t *st)
{
	static const struct out_col svc_cols[] = {
		{ "name", "SERVICE" }, { "check", "CHECK" },
		{ "state", "STATE" }, { "since", "SINCE" },
		{ "held_until", "HELD UNTIL" },
		{ "last_error", "LAST ERROR" }, { NULL }
	};
	static const struct out_col pfx_cols[] = {
		{ "prefix", "PREFIX" }, { "announced", "ANNOUNCED" },
		{ "wanted", "WANTED" },
		{ "services", "SERVICES" }, { "since", "SINCE" },
		{ "note", "NOTE" }, { NULL }
	};
	json_t	*bird = json_object_get(st, "bird");
	json_t	*gr = json_object_get(st, "draining");

	if (ctx->format == OUT_JSON) {
		output_object(stdout, OUT_JSON, st);
		return;
	}
	if (ctx->format == OUT_TABLE) {
		printf("drained: %s%s%s\n",
		    json_is_true(json_object_get(st, "drained")) ? "yes" : "no",
		    json_is_string(json_object_get(st, "drain_reason")) ? " — " : "",
		    json_is_string(json_object_get(st, "drain_reason")) ?
		    json_string_value(json_object_get(st, "drain_reason")) : "");
		if (json_is_object(gr))
			printf("draining: every prefix carries GRACEFUL_SHUTDOWN "
			    "(65535:0)%s; withdrawal at %s (in %llds)\n",
			    json_is_true(json_object_get(gr,
			    "graceful_shutdown_in_bird")) ? "" :
			    " (not yet confirmed by BIRD)",
			    json_string_value(json_object_get(gr, "withdraw_at")),
			    (long long)(json_integer_value(json_object_get(gr,
			    "withdraw_in_ms")) + 999) / 1000);
		printf("bird: %s%s%s\n\n",
		    json_is_true(json_object_get(bird, "connected")) ?
		    "connected, version " : "not connected",
		    json_is_true(json_object_get(bird, "connected")) ?
		    json_string_value(json_object_get(bird, "version")) : "",
		    "");
	}
	output_rows(stdout, ctx->format, json_object_get(st, "services"),
	    svc_cols);
	if (ctx->format == OUT_TABLE)
		putchar('\n');
	output_rows(stdout, ctx->format, json_object_get(st, "prefixes"),
	    pfx_cols);
}

static int
cmd_bgp_status(struct ctx *ctx, struct args *args)
{
	struct config	*cfg;
	json_t		*st;
	struct err	 err;

	(void)args;
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if ((st = control_request(cfg->bgp.control_socket, "status",
	    &err)) == NULL)
		return cli_fail(&err);
	print_status(ctx, st);
	json_decref(st);
	return cli_exit(ERR_OK);
}

static int
cmd_bgp_check(struct ctx *ctx, struct args *args)
{
	static const struct out_col cols[] = {
		{ "service", "SERVICE" }, { "check", "CHECK" },
		{ "result", "RESULT" }, { "ms", "MS", 1 },
		{ "detail", "DETAIL" }, { NULL }
	};
	struct config	*cfg;
	json_t		*rows;
	struct err	 err;
	int		 ndown;

	(void)args;
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if (cfg->nservice == 0) {
		err_set(&err, ERR_INVAL, "%s: no [service NAME] section",
		    cfg->path);
		return cli_fail(&err);
	}
	if ((rows = bgp_check_once(cfg, &ndown)) == NULL) {
		err_set(&err, ERR_FAIL, "cannot run the checks");
		return cli_fail(&err);
	}
	output_rows(stdout, ctx->format, rows, cols);
	json_decref(rows);
	return cli_exit(ndown ? ERR_FAIL : ERR_OK);
}

/*
 * A drain succeeds only when BIRD itself says every castiron_* protocol is
 * down, those castiron no longer tracks included: what castiron was told
 * is not enough (a disable that timed out, a protocol left behind by a
 * configure that failed).
 */
static int
drain_result(struct ctx *ctx, int confirmed, const char *err, json_t *up)
{
	char		*names = NULL;
	size_t		 i, len = 0;
	FILE		*f;
	struct err	 e;

	if (!confirmed && json_array_size(up) == 0) {
		err_set(&e, ERR_FAIL, "drained, but BIRD did not confirm that "
		    "every castiron protocol is down (%s); see castiron bgp "
		    "status", err ? err : "no answer");
		return cli_fail(&e);
	}
	if (json_array_size(up) > 0) {
		/* One line, however many are still up. */
		if ((f = open_memstream(&names, &len)) == NULL)
			fatal("open_memstream");
		for (i = 0; i < json_array_size(up); i++)
			fprintf(f, "%s %s", i ? "," : "",
			    json_string_value(json_array_get(up, i)));
		fclose(f);
		err_set(&e, ERR_FAIL, "drained, but BIRD still announces%s",
		    names);
		free(names);
		return cli_fail(&e);
	}
	if (ctx->verbose >= 0)
		printf("drained: every prefix withdrawn\n");
	return cli_exit(ERR_OK);
}

/* What BIRD confirmed after a drain without a daemon. */
struct confirm {
	int	 done;
	int	 n;		/* still up, -1 not confirmed */
	struct err	 err;
	json_t		*names;
};

static void
confirmed(void *ctx, uint64_t cookie, int n, const struct bird_proto *up,
    const char *err)
{
	struct confirm	*k = ctx;
	int		 i;

	(void)cookie;
	k->done = 1;
	k->n = n;
	for (i = 0; i < n; i++)
		json_array_append_new(k->names, json_string(up[i].name));
	if (n == -1)
		err_set(&k->err, ERR_FAIL, "%s", err);
}

static int
confirm_done(void *arg)
{
	return ((struct confirm *)arg)->done;
}

/*
 * No daemon answers: withdraw through BIRD directly (the include file
 * rewritten with every protocol disabled, then each one disabled), so an
 * emergency drain works even when castiron is down.
 */
static int
drain_without_daemon(struct ctx *ctx, struct config *cfg)
{
	struct bird		*b = bird_new(cfg->bgp.bird_socket,
	    cfg->bgp.bird_timeout_ms);
	struct announcer	*a = announce_new(cfg->bgp.include_dir, b);
	struct ctl		*c = ctl_new(cfg, time(NULL));
	struct confirm		 k = { .names = json_array() };
	struct err		 err;
	int			 rc;

	if (bird_connect(b, &err) != ERR_OK)
		log_warnx("cannot reach BIRD either: %s", err.msg);
	announce_withdraw_all(a, c);
	announce_confirm_down(a, confirmed, &k, 0);
	/* Each reply within bird_timeout; the whole at most three of them. */
	if (!k.done && bird_wait(b, mono_ms() + 3 * cfg->bgp.bird_timeout_ms,
	    confirm_done, &k) == -1 && !k.done) {
		k.n = -1;
		err_set(&k.err, ERR_TIMEOUT, "BIRD did not answer in time");
	}
	rc = drain_result(ctx, k.n == 0, k.n == -1 ? k.err.msg : NULL, k.names);
	json_decref(k.names);
	announce_free(a);
	bird_free(b);
	ctl_free(c);
	return rc;
}

/*
 * When the withdrawal of a drain is due (epoch ms; 0 at once): now plus
 * drain_grace, unless --now or no grace; a drain already in the file
 * keeps its own, earlier, time (drain again never re-announces a drained
 * host or lengthens a grace).
 */
static uint64_t
drain_when(const struct config *cfg, int now)
{
	char		 reason[256];
	uint64_t	 at = 0;
	int		 r;

	if (now || cfg->bgp.drain_grace_ms == 0)
		return 0;
	r = control_drain_read(cfg->bgp.drain_file, reason, sizeof(reason), &at,
	    NULL);
	if (r != 0)
		return r == 1 ? at : 0;
	return control_wall_ms() + cfg->bgp.drain_grace_ms;
}

/* The daemon took a graceful drain: the prefixes carry 65535:0 now. */
static int
graceful_result(struct ctx *ctx, json_t *st)
{
	json_t	*g = json_object_get(st, "graceful");
	json_t	*dr = json_object_get(st, "draining");
	char		 when[64];
	struct err	 err;

	snprintf(when, sizeof(when), "%s", json_is_object(dr) ?
	    json_string_value(json_object_get(dr, "withdraw_at")) : "?");
	if (!json_is_true(json_object_get(g, "confirmed"))) {
		err_set(&err, ERR_FAIL, "draining, but BIRD did not confirm "
		    "the GRACEFUL_SHUTDOWN announcements (%s); the withdrawal "
		    "comes at %s all the same; see castiron bgp status",
		    json_is_string(json_object_get(g, "error")) ?
		    json_string_value(json_object_get(g, "error")) : "no answer",
		    when);
		return cli_fail(&err);
	}
	if (ctx->verbose >= 0)
		printf("draining: every prefix announced with GRACEFUL_SHUTDOWN "
		    "(65535:0); withdrawal at %s (castiron bgp drain --now "
		    "withdraws at once)\n", when);
	return cli_exit(ERR_OK);
}

static int
cmd_bgp_drain(struct ctx *ctx, struct args *args)
{
	struct config	*cfg;
	json_t		*st, *w;
	const char	*reason = args_get(args, "reason");
	struct err	 err;
	int		 rc;

	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if (reason && (strlen(reason) > 200 || strpbrk(reason, "\r\n")))
		return cmd_usage_error(args, "--reason must be one line of at "
		    "most 200 characters");
	if (control_drain_write(cfg->bgp.drain_file, reason,
	    drain_when(cfg, args_has(args, "now")), &err) != ERR_OK) {
		err_prefix(&err, "cannot write the drain file");
		return cli_fail(&err);
	}
	if ((st = control_request(cfg->bgp.control_socket, "drain",
	    &err)) == NULL) {
		/* No daemon: said, and the drain goes on without it. */
		cli_fail(&err);
		log_warnx("drain file written; withdrawing through BIRD "
		    "directly%s", cfg->bgp.drain_grace_ms &&
		    !args_has(args, "now") ? " (no grace without the daemon)" :
		    "");
		return drain_without_daemon(ctx, cfg);
	}
	if (json_object_get(st, "graceful") != NULL) {
		rc = graceful_result(ctx, st);
		json_decref(st);
		return rc;
	}
	w = json_object_get(st, "withdrawn");
	if (!json_is_true(json_object_get(st, "drained")) || w == NULL) {
		json_decref(st);
		err_set(&err, ERR_FAIL, "the daemon did not take the drain (see "
		    "its log and castiron bgp status)");
		return cli_fail(&err);
	}
	rc = drain_result(ctx, json_is_true(json_object_get(w, "confirmed")),
	    json_string_value(json_object_get(w, "error")),
	    json_object_get(w, "still_up"));
	json_decref(st);
	return rc;
}

static int
cmd_bgp_undrain(struct ctx *ctx, struct args *args)
{
	struct config	*cfg;
	json_t		*st;
	struct err	 err;

	(void)args;
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if (control_drain_remove(cfg->bgp.drain_file, &err) != ERR_OK)
		return cli_fail(&err);
	if ((st = control_request(cfg->bgp.control_socket, "undrain",
	    &err)) == NULL) {
		/* No daemon: said; the drain file is gone all the same. */
		cli_fail(&err);
		log_warnx("drain file removed; prefixes are announced once the "
		    "daemon runs and its services pass their checks");
		return cli_exit(ERR_OK);
	}
	json_decref(st);
	if (ctx->verbose >= 0)
		printf("undrained: healthy services' prefixes announced\n");
	return cli_exit(ERR_OK);
}

static const struct cmd_opt drain_opts[] = {
	{ "reason", "TEXT", "why (shown by bgp status and in the log)" },
	{ "now", NULL, "withdraw at once, without drain_grace" },
	{ NULL }
};

static const struct cmd bgp_cmds[] = {
	{ "run", "", "the announcer daemon, in the foreground",
	    NULL, 0, 0, cmd_bgp_run },
	{ "status", "", "live state of services and prefixes",
	    NULL, 0, 0, cmd_bgp_status },
	{ "check", "", "run every check once; change nothing",
	    NULL, 0, 0, cmd_bgp_check },
	{ "drain", "", "withdraw every prefix (survives restarts)",
	    drain_opts, 0, 0, cmd_bgp_drain },
	{ "undrain", "", "announce again what is healthy",
	    NULL, 0, 0, cmd_bgp_undrain },
	{ NULL }
};

const struct area area_bgp = {
	"bgp", "health-gated anycast announcements through BIRD", bgp_cmds
};
