/*
 * castiron boot serve | status: the boot service in the foreground (its
 * systemd unit runs it), and the hosts it is booting with what each last
 * fetched (docs/netboot.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"
#include "images/catalog.h"
#include "lib/log.h"
#include "provision/boot/boot.h"

static int
cmd_serve(struct ctx *ctx, struct args *args)
{
	struct config	*cfg;
	struct err	 e;
	uint64_t	 serial;

	(void)args;
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if (cfg->inventory.database == NULL) {
		log_warnx("%s: [inventory] database is not set", cfg->path);
		return cli_exit(ERR_INVAL);
	}
	/* The images it serves include a signed catalog's. */
	if (catalog_load(cfg, &serial, &e) != ERR_OK)
		return cli_fail(&e);
	if (boot_serve(cfg, &e) != ERR_OK)
		return cli_fail(&e);
	return cli_exit(ERR_OK);
}

static int
cmd_dnsmasq(struct ctx *ctx, struct args *args)
{
	struct config	*cfg;
	struct err	 e;
	int		 changed;

	(void)args;
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if (boot_dnsmasq_write(cfg, &changed, &e) != ERR_OK)
		return cli_fail(&e);
	if (changed)
		boot_dnsmasq_reload(cfg);
	printf("%s/castiron.conf\n%s/hosts%s\n", cfg->boot.dnsmasq_dir,
	    cfg->boot.dnsmasq_dir, changed ? " (changed)" : "");
	return cli_exit(ERR_OK);
}

static const struct out_col status_cols[] = {
	{ "hostname", "HOST", 0 }, { "state", "STATE", 0 },
	{ "expires", "TOKEN EXPIRES", 0 }, { "host_key", "HOST KEY", 0 },
	{ "last", "LAST FETCHED", 0 }, { NULL }
};

static int
cmd_status(struct ctx *ctx, struct args *args)
{
	struct config		*cfg;
	struct boot_status	*s;
	struct err		 e;
	struct tm		 tm;
	char			 t[32];
	size_t			 n, i;
	json_t			*rows;

	(void)args;
	if ((cfg = ctx_config(ctx)) == NULL)
		return cli_exit(ERR_INVAL);
	if (boot_status_list(cfg, &s, &n, &e) != ERR_OK)
		return cli_fail(&e);
	rows = json_array();
	for (i = 0; i < n; i++) {
		t[0] = '\0';
		if (s[i].expires) {
			gmtime_r(&s[i].expires, &tm);
			strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s}",
		    "hostname", s[i].host, "state", *s[i].state ? s[i].state :
		    "served", "expires", t, "host_key", s[i].fp, "last",
		    s[i].last));
	}
	output_rows(stdout, ctx->format, rows, status_cols);
	json_decref(rows);
	free(s);
	return cli_exit(ERR_OK);
}

static const struct cmd boot_cmds[] = {
	{ "serve", "", "the boot service (HTTP, iPXE scripts, check-in), in "
	    "the foreground", NULL, 0, 0, cmd_serve },
	{ "status", "", "the hosts being booted and what each last fetched",
	    NULL, 0, 0, cmd_status },
	{ "dnsmasq", "", "write dnsmasq's configuration and hosts file from "
	    "the inventory", NULL, 0, 0, cmd_dnsmasq },
	{ NULL }
};

const struct area area_boot = {
	"boot", "network boot: the boot service and its hosts", boot_cmds
};
