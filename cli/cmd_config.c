/*
 * castiron config: check the configuration file and print every error in
 * it, one per line, each naming the file, line, section and key.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/config.h"

static int
cmd_config_check(struct ctx *ctx, struct args *args)
{
	struct cfg_errors	 errs = { 0 };
	struct config		*cfg;
	size_t			 i;

	(void)args;
	cfg = config_load(ctx->config_path, &errs);
	for (i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	if (cfg == NULL) {
		log_warnx("%s: %zu error%s", ctx->config_path,
		    errs.n, errs.n == 1 ? "" : "s");
		cfg_errors_clear(&errs);
		return cli_exit(ERR_INVAL);
	}
	cfg_errors_clear(&errs);
	if (ctx->verbose >= 0 && cfg->nrole > 0)
		printf("%s: OK (%zu image%s, %zu service%s, %zu role%s)\n",
		    ctx->config_path, cfg->nimage, cfg->nimage == 1 ? "" : "s",
		    cfg->nservice, cfg->nservice == 1 ? "" : "s", cfg->nrole,
		    cfg->nrole == 1 ? "" : "s");
	else if (ctx->verbose >= 0)
		printf("%s: OK (%zu image%s, %zu service%s)\n", ctx->config_path,
		    cfg->nimage, cfg->nimage == 1 ? "" : "s", cfg->nservice,
		    cfg->nservice == 1 ? "" : "s");
	config_free(cfg);
	return cli_exit(ERR_OK);
}

static const struct cmd config_cmds[] = {
	{ "check", "", "validate the configuration; print every error",
	    NULL, 0, 0, cmd_config_check },
	{ NULL }
};

const struct area area_config = {
	"config", "check the configuration file", config_cmds
};
