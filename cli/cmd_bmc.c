/*
 * castiron bmc power|boot|identity: a BMC verb on many hosts at once
 * (HOST... or --rack / --site, --parallel at a time), one line per host in
 * the host order, exit 1 when any host failed.  The BMC of each host is its
 * inventory `bmc` with its `bmc_driver` (else [bmc] driver); its password
 * is [bmc] password_dir/HOSTNAME when that file exists, else
 * [bmc] password_file, each owner-only.  A SIGINT or SIGTERM ends the
 * waits early; every BMC session is closed all the same.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "inventory/inventory.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/bmc/bmc.h"

enum verb { V_POWER, V_BOOT, V_IDENTITY };

struct job {
	struct inv_host		 h;
	struct err		 e;
	enum bmc_power		 power;
	struct bmc_identity	 id;
	char			 mismatch[512];
	char			 learned[256];
	unsigned		 requests;
	uint64_t		 ms;
};

struct run {
	const struct config	*cfg;
	enum verb		 verb;
	int			 status;	/* power status only */
	enum bmc_action		 action;
	enum bmc_bootdev	 dev;
	int			 persistent;
	int			 learn;
	const char		*actor;
	struct job		*jobs;
	size_t			 njobs, next;
	pthread_mutex_t		 mu;
};

/* Compares what the BMC says with the enrollment; "" when they agree. */
static void
compare_identity(struct run *r, struct job *j)
{
	size_t	 i, k, len = sizeof(j->mismatch), off = 0;
	int	 found;

#define MISMATCH(...) do {						\
	if (off < len)							\
		off += (size_t)snprintf(j->mismatch + off, len - off,	\
		    "%s", off ? "; " : "");				\
	if (off < len)							\
		off += (size_t)snprintf(j->mismatch + off, len - off,	\
		    __VA_ARGS__);					\
} while (0)

	j->mismatch[0] = '\0';
	if (*j->h.serial && strcmp(j->h.serial, j->id.serial) != 0)
		MISMATCH("serial: enrolled %s, BMC says %s", j->h.serial,
		    *j->id.serial ? j->id.serial : "none");
	if (!j->id.macs_known)
		return;
	for (i = 0; i < j->h.nmacs; i++) {
		for (found = 0, k = 0; k < j->id.nmacs && !found; k++)
			found = strcmp(j->h.macs[i], j->id.macs[k]) == 0;
		if (!found)
			MISMATCH("enrolled MAC %s not at the BMC", j->h.macs[i]);
	}
	for (k = 0; k < j->id.nmacs; k++) {
		for (found = 0, i = 0; i < j->h.nmacs && !found; i++)
			found = strcmp(j->h.macs[i], j->id.macs[k]) == 0;
		if (!found && !r->learn)
			MISMATCH("MAC %s not enrolled", j->id.macs[k]);
	}
#undef MISMATCH
}

/* --learn-macs: each MAC the BMC reports and the enrollment lacks. */
static void
learn_macs(struct run *r, struct job *j)
{
	struct inv	*inv;
	struct err	 e;
	size_t		 i, k, off = 0;
	int		 found, learned;

	/* Whatever the inventory says, learning failed (exit 1). */
	if (inv_open_config(r->cfg, 0, &inv, &e) != ERR_OK) {
		err_set(&j->e, ERR_FAIL, "%s", e.msg);
		return;
	}
	for (k = 0; k < j->id.nmacs; k++) {
		for (found = 0, i = 0; i < j->h.nmacs && !found; i++)
			found = strcmp(j->h.macs[i], j->id.macs[k]) == 0;
		if (found)
			continue;
		if (inv_mac_learn(inv, j->h.hostname, r->actor, j->id.macs[k],
		    &learned, &e) != ERR_OK) {
			err_set(&j->e, ERR_FAIL, "%s", e.msg);
			break;
		}
		if (learned && off < sizeof(j->learned))
			off += (size_t)snprintf(j->learned + off,
			    sizeof(j->learned) - off, "%s%s", off ? " " : "",
			    j->id.macs[k]);
	}
	inv_close(inv);
}

static void
do_job(struct run *r, struct job *j)
{
	struct bmc_target	 t;
	struct bmc		*b;
	char			 pw[256];
	uint64_t		 t0 = mono_ms();
	enum err_code		 rc = ERR_OK;

	err_clear(&j->e);
	if (bmc_target_init(&t, r->cfg, j->h.hostname, j->h.bmc,
	    j->h.bmc_driver, pw, sizeof(pw), &j->e) != ERR_OK ||
	    (b = bmc_open(&t, &j->e)) == NULL)
		goto out;
	switch (r->verb) {
	case V_POWER:
		/* power_set returns once the BMC reports the new state. */
		if (r->status)
			rc = bmc_power_get(b, &j->power, &j->e);
		else if ((rc = bmc_power_set(b, r->action, &j->e)) == ERR_OK)
			j->power = r->action == BMC_ON || r->action ==
			    BMC_CYCLE ? BMC_POWER_ON : BMC_POWER_OFF;
		break;
	case V_BOOT:
		rc = bmc_boot_set(b, r->dev, r->persistent, &j->e);
		break;
	case V_IDENTITY:
		if ((rc = bmc_identity(b, &j->id, &j->e)) == ERR_OK) {
			compare_identity(r, j);
			/* MACs are learned only from the enrolled server. */
			if (r->learn && j->id.macs_known && (*j->h.serial ==
			    '\0' || strcmp(j->h.serial, j->id.serial) == 0))
				learn_macs(r, j);
		}
		break;
	}
	/* What counts is what the operation returned: a driver may have
	 * met and handled a failure on the way. */
	if (rc == ERR_OK && j->e.code != ERR_OK && r->verb != V_IDENTITY)
		err_clear(&j->e);
	j->requests = b->requests;
	bmc_close(b);
out:
	explicit_bzero(pw, sizeof(pw));
	j->ms = mono_ms() - t0;
}

static void *
worker(void *arg)
{
	struct run	*r = arg;
	size_t		 i;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		i = r->next++;
		pthread_mutex_unlock(&r->mu);
		if (i >= r->njobs)
			return NULL;
		if (bmc_interrupted) {
			err_set(&r->jobs[i].e, ERR_FAIL, "%s: interrupted",
			    r->jobs[i].h.hostname);
			continue;
		}
		do_job(r, &r->jobs[i]);
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	bmc_interrupted = 1;
}

static const struct out_col power_cols[] = {
	{ "hostname", "HOST", 0 }, { "result", "RESULT", 0 },
	{ "power", "POWER", 0 }, { "error", "ERROR", 0 }, { NULL }
};
static const struct out_col boot_cols[] = {
	{ "hostname", "HOST", 0 }, { "result", "RESULT", 0 },
	{ "boot", "BOOT", 0 }, { "error", "ERROR", 0 }, { NULL }
};
static const struct out_col identity_cols[] = {
	{ "hostname", "HOST", 0 }, { "result", "RESULT", 0 },
	{ "serial", "SERIAL", 0 }, { "model", "MODEL", 0 },
	{ "macs", "MACS", 0 }, { "mismatch", "MISMATCH", 0 },
	{ "learned", "LEARNED", 0 }, { "error", "ERROR", 0 }, { NULL }
};

static json_t *
job_row(const struct run *r, const struct job *j)
{
	json_t	*o, *macs;
	size_t	 i;
	char	 list[BMC_MAXMACS * 18 + 1] = "";
	int	 ok = j->e.code == ERR_OK;

	o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "hostname", j->h.hostname,
	    "result", ok ? (r->verb == V_IDENTITY && *j->mismatch ?
	    "mismatch" : "ok") : "failed", "bmc", j->h.bmc,
	    "requests", (json_int_t)j->requests, "duration_ms",
	    (json_int_t)j->ms);
	json_object_set_new(o, "error", json_string(ok ? "" : j->e.msg));
	switch (r->verb) {
	case V_POWER:
		json_object_set_new(o, "power", json_string(ok ?
		    bmc_power_name(j->power) : ""));
		break;
	case V_BOOT:
		json_object_set_new(o, "boot", json_string(ok ?
		    bmc_bootdev_name(r->dev) : ""));
		json_object_set_new(o, "persistent", json_boolean(r->persistent));
		break;
	case V_IDENTITY:
		macs = json_array();
		for (i = 0; i < j->id.nmacs; i++) {
			json_array_append_new(macs, json_string(j->id.macs[i]));
			if (i > 0)
				strcat(list, " ");
			strcat(list, j->id.macs[i]);
		}
		json_object_set_new(o, "serial", json_string(j->id.serial));
		json_object_set_new(o, "manufacturer",
		    json_string(j->id.manufacturer));
		json_object_set_new(o, "model", json_string(j->id.model));
		json_object_set_new(o, "mac_list", macs);
		json_object_set_new(o, "macs", json_string(j->id.macs_known ?
		    list : "(not told)"));
		json_object_set_new(o, "mismatch", json_string(j->mismatch));
		json_object_set_new(o, "learned", json_string(j->learned));
		break;
	}
	return o;
}


static int
bmc_run(struct ctx *ctx, struct args *args, struct run *r,
    const struct out_col *cols)
{
	struct config		*cfg;
	struct inv_host		*hosts;
	struct sigaction	 sa, old_int, old_term;
	pthread_t		*th;
	const char		*par = args_get(args, "parallel");
	uint64_t		 parallel;
	size_t			 n, i, nth, failed = 0, bad = 0;
	struct err		 e;
	json_t			*rows;
	int			 rc;

	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	parallel = cfg->provision.parallel;
	if (par && parse_uint(par, 1, 1024, &parallel, &e) != ERR_OK)
		return cmd_usage_error(args, "--parallel: %s", e.msg);
	if ((rc = cli_select_hosts(cfg, args, r->verb == V_IDENTITY ? 0 : 1,
	    &hosts, &n)) != 0)
		return rc;
	r->cfg = cfg;
	r->jobs = xcalloc(n, sizeof(*r->jobs));
	r->njobs = n;
	for (i = 0; i < n; i++)
		r->jobs[i].h = hosts[i];
	free(hosts);
	pthread_mutex_init(&r->mu, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	nth = parallel < n ? (size_t)parallel : n;
	th = xcalloc(nth, sizeof(*th));
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, r) != 0)
			fatalx("cannot start a thread");
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);

	rows = json_array();
	for (i = 0; i < n; i++) {
		struct job *j = &r->jobs[i];

		json_array_append_new(rows, job_row(r, j));
		if (j->e.code != ERR_OK) {
			log_warnx("%s", j->e.msg);
			failed++;
			bad += cli_exit(j->e.code) == cli_exit(ERR_INVAL);
		} else if (*j->mismatch) {
			log_warnx("%s: bmc %s: %s", j->h.hostname, j->h.bmc,
			    j->mismatch);
			failed++;
		}
	}
	output_rows(stdout, ctx->format, rows, cols);
	json_decref(rows);
	pthread_mutex_destroy(&r->mu);
	free(r->jobs);
	/* Bad configuration for every host is bad usage; else a failure. */
	return cli_exit(failed == 0 ? ERR_OK : bad == n ? ERR_INVAL :
	    ERR_FAIL);
}

static int
cmd_power(struct ctx *ctx, struct args *args)
{
	static const char *const names[] = { "on", "off", "cycle", "soft-off",
	    "status", NULL };
	const char	*w = args->argv[args->argc - 1];
	struct run	 r;
	int		 i;

	memset(&r, 0, sizeof(r));
	for (i = 0; names[i] && strcmp(names[i], w) != 0; i++)
		;
	if (names[i] == NULL)
		return cmd_usage_error(args, "'%s': give on, off, cycle, "
		    "soft-off or status", w);
	r.verb = V_POWER;
	r.status = i == 4;
	r.action = (enum bmc_action)(i < 4 ? i : 0);
	return bmc_run(ctx, args, &r, power_cols);
}

static int
cmd_boot(struct ctx *ctx, struct args *args)
{
	const char	*w = args->argv[args->argc - 1];
	struct run	 r;

	memset(&r, 0, sizeof(r));
	r.verb = V_BOOT;
	if (strcmp(w, "pxe") == 0)
		r.dev = BMC_BOOT_PXE;
	else if (strcmp(w, "disk") == 0)
		r.dev = BMC_BOOT_DISK;
	else
		return cmd_usage_error(args, "'%s': give pxe or disk", w);
	r.persistent = args_has(args, "persistent");
	return bmc_run(ctx, args, &r, boot_cols);
}

static int
cmd_identity(struct ctx *ctx, struct args *args)
{
	struct run	 r;
	char		*actor = xsprintf("bmc:%s", cli_user());
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.verb = V_IDENTITY;
	r.learn = args_has(args, "learn-macs");
	r.actor = actor;
	rc = bmc_run(ctx, args, &r, identity_cols);
	free(actor);
	return rc;
}

#define SELECT_OPTS \
	{ "rack", "R", "every host of rack R (with --site when rack names " \
	    "repeat across sites)" }, \
	{ "site", "S", "every host of site S" }, \
	{ "parallel", "N", "hosts at once (default [provision] parallel)" }

static const struct cmd_opt power_opts[] = { SELECT_OPTS, { NULL } };
static const struct cmd_opt boot_opts[] = {
	SELECT_OPTS,
	{ "persistent", NULL, "every boot, not only the next one" },
	{ NULL }
};
static const struct cmd_opt identity_opts[] = {
	SELECT_OPTS,
	{ "learn-macs", NULL, "record the MACs the enrollment lacked" },
	{ NULL }
};

static const struct cmd bmc_cmds[] = {
	{ "power", "[HOST...] on|off|cycle|soft-off|status", "power hosts on "
	    "or off through their BMCs, or show their power", power_opts, 1,
	    -1, cmd_power },
	{ "boot", "[HOST...] pxe|disk", "set the next boot device (or every "
	    "boot's with --persistent)", boot_opts, 1, -1, cmd_boot },
	{ "identity", "[HOST...]", "serial, model and MACs from the BMC, "
	    "compared with the enrollment", identity_opts, 0, -1,
	    cmd_identity },
	{ NULL }
};

const struct area area_bmc = {
	"bmc", "power, boot device and identity through each host's BMC",
	bmc_cmds
};
