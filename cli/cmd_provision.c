/*
 * castiron provision HOST... | --rack R | --site S: choose the hosts from
 * the inventory, check everything that applies to all of them before
 * touching any (configuration, image digest, writer, every host known),
 * run them --parallel at a time (provision/run.c) and print a summary
 * table.  One line on stderr per failed host.  Exit 0 when every host is
 * active, 1 when any failed or the run was interrupted (SIGINT, SIGTERM:
 * provision/run.c), 2 for bad usage (nothing changed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "images/catalog.h"
#include "inventory/inventory.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/provision.h"


/* Fills *names from the arguments or --rack/--site (cli_select_hosts:
 * this appliance's site unless --site says otherwise); 0, or an exit
 * code. */
static int
select_hosts(struct config *cfg, struct args *args, char ***names, size_t *n)
{
	struct inv_host	*hosts;
	size_t		 i;
	int		 rc;

	*names = NULL;
	*n = 0;
	if ((rc = cli_select_hosts(cfg, args, 0, &hosts, n)) != 0)
		return rc;
	*names = xcalloc(*n, sizeof(char *));
	for (i = 0; i < *n; i++)
		(*names)[i] = xstrdup(hosts[i].hostname);
	free(hosts);
	return 0;
}

static const struct out_col plan_cols[] = {
	{ "hostname", "HOST", 0 }, { "state", "STATE", 0 },
	{ "image", "IMAGE", 0 }, { "disk", "DISK", 0 },
	{ "steps", "STEPS", 0 }, { "note", "NOTE", 0 }, { NULL }
};
static const struct out_col sum_cols[] = {
	{ "hostname", "HOST", 0 }, { "result", "RESULT", 0 },
	{ "duration", "DURATION", 1 }, { "bytes", "IMAGE BYTES", 1 },
	{ "failed_step", "FAILED STEP", 0 }, { "reason", "REASON", 0 },
	{ NULL }
};

static int
cmd_provision(struct ctx *ctx, struct args *args)
{
	struct config		*cfg;
	struct prov_opts	 o;
	struct prov_ctx		*pc;
	char			**names = NULL, *actor, d[32];
	const char		*par = args_get(args, "parallel");
	size_t			 n = 0, i, failed;
	uint64_t		 parallel, serial;
	struct err		 ce;
	json_t			*rows;
	struct err		 perr;
	int			 rc;

	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	/* Images of a signed catalog join the configuration's. */
	if (catalog_load(cfg, &serial, &ce) != ERR_OK)
		return cli_fail(&ce);
	parallel = cfg->provision.parallel;
	if (par && parse_uint(par, 1, 1024, &parallel, &perr) != ERR_OK)
		return cmd_usage_error(args, "--parallel: %s", perr.msg);
	if (cfg->inventory.database == NULL) {
		cmd_warnx("%s: [inventory] database is not set", cfg->path);
		return cli_exit(ERR_INVAL);
	}
	if ((rc = select_hosts(cfg, args, &names, &n)) != 0)
		return rc;
	actor = xsprintf("provision:%s", cli_user());
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.image = args_get(args, "image");
	o.accept_new = args_has(args, "accept-new-hostkey");
	o.force = args_has(args, "force");
	o.dry_run = args_has(args, "dry-run");
	o.parallel = (unsigned)parallel;
	o.actor = actor;
	o.progress = stderr;
	rc = cli_exit(ERR_OK);
	if ((pc = prov_prepare(&o, &perr)) == NULL) {
		cmd_warnx("%s", perr.msg);
		rc = cli_exit(perr.code);
		goto out;
	}
	rows = json_array();
	if (args_has(args, "dry-run")) {
		struct prov_plan *plans = xcalloc(n, sizeof(*plans));
		if (prov_plan(pc, (const char *const *)names, n, plans,
		    &perr) != ERR_OK) {
			cmd_warnx("%s", perr.msg);
			rc = cli_exit(perr.code);
		} else
			for (i = 0; i < n; i++)
				json_array_append_new(rows, json_pack(
				    "{s:s,s:s,s:s,s:s,s:s,s:s}",
				    "hostname", plans[i].hostname,
				    "state", plans[i].state,
				    "image", plans[i].image,
				    "disk", plans[i].disk,
				    "steps", plans[i].steps,
				    "note", plans[i].note));
		output_rows(stdout, ctx->format, rows, plan_cols);
		free(plans);
	} else {
		struct prov_result *res = xcalloc(n, sizeof(*res));
		failed = prov_run(pc, (const char *const *)names, n, res);
		for (i = 0; i < n; i++) {
			const char *step = res[i].ok ? "" :
			    prov_step_name(res[i].step);
			json_array_append_new(rows, json_pack(
			    "{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}",
			    "hostname", res[i].hostname,
			    "result", res[i].ok ? "active" : "failed",
			    "duration", fmt_duration_ms(res[i].duration_ms, d,
			    sizeof(d)),
			    "duration_ms", (json_int_t)res[i].duration_ms,
			    "bytes", (json_int_t)res[i].bytes,
			    "failed_step", step ? step : "",
			    "reason", res[i].ok ? "" : res[i].reason,
			    "disk", res[i].disk));
			if (!res[i].ok)
				cmd_warnx("%s: failed%s%s: %s",
				    res[i].hostname, step && *step ?
				    " at " : "", step ? step : "",
				    res[i].reason);
		}
		output_rows(stdout, ctx->format, rows, sum_cols);
		if (prov_interrupted(pc))
			cmd_warnx("interrupted: %zu of %zu host%s failed or not "
			    "started; the next run resumes them", failed, n,
			    n == 1 ? "" : "s");
		/* One host refused for bad input is bad usage; any other
		 * failure a failed run. */
		if (failed > 0)
			rc = cli_exit(n == 1 && res[0].code != ERR_OK ?
			    res[0].code : ERR_FAIL);
		free(res);
	}
	json_decref(rows);
	prov_ctx_free(pc);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(actor);
	return rc;
}

static const struct cmd_opt provision_opts[] = {
	{ "rack", "R", "every host of rack R (with --site when rack names "
	    "repeat across sites)" },
	{ "site", "S", "every host of site S; with HOST... or --rack, the site "
	    "they are at (default [castiron] site)" },
	{ "image", "NAME", "the image to write (default [provision] image)" },
	{ "parallel", "N", "hosts at once (default [provision] parallel)" },
	{ "accept-new-hostkey", NULL, "trust a host key seen for the first "
	    "time and pin it" },
	{ "force", NULL, "re-provision active hosts" },
	{ "dry-run", NULL, "print each host's plan; change nothing" },
	{ NULL }
};

static const struct cmd provision_cmds[] = {
	{ NULL, "[HOST...]", "inspect, image, configure, reboot and verify "
	    "hosts", provision_opts, 0, -1, cmd_provision },
	{ NULL }
};

const struct area area_provision = {
	"provision", "turn enrolled hosts into running ones", provision_cmds
};
