/*
 * Choosing hosts for a command that acts on many: HOST... or --rack R
 * (with --site when rack names repeat) or --site S, read from the
 * inventory.  Every named host must exist: one unknown name stops the
 * command before anything is done.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "inventory/inventory.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

int
cli_select_hosts(struct config *cfg, struct args *args, size_t skip_last,
    struct inv_host **hosts, size_t *n)
{
	const char	*rack = args_get(args, "rack"), *site = args_get(args, "site");
	size_t		 nargs = (size_t)args->argc - skip_last, i;
	struct inv	*inv;
	char		 e[INV_ERRLEN];
	int		 rc;

	*hosts = NULL;
	*n = 0;
	if ((nargs > 0) + (rack != NULL) + (site != NULL && rack == NULL) != 1)
		return cmd_usage_error(args, "give HOST..., or --rack R, or "
		    "--site S");
	if (cfg->inventory.database == NULL) {
		log_warnx("%s: [inventory] database is not set", cfg->path);
		return EXIT_USAGE;
	}
	if (inv_open(cfg->inventory.database, INV_OPEN_READONLY, &inv, e,
	    sizeof(e)) != INV_OK) {
		log_warnx("%s", e);
		return EXIT_USAGE;
	}
	if (nargs > 0) {
		*hosts = xcalloc(nargs, sizeof(**hosts));
		for (i = 0; i < nargs; i++)
			if ((rc = inv_host_find(inv, args->argv[i], &(*hosts)[i],
			    e, sizeof(e))) != INV_OK)
				break;
		*n = i;
	} else if (rack)
		rc = inv_hosts_by_rack(inv, site, rack, hosts, n, e, sizeof(e));
	else
		rc = inv_hosts_by_site(inv, site, hosts, n, e, sizeof(e));
	inv_close(inv);
	if (rc == INV_OK && *n == 0) {
		snprintf(e, sizeof(e), "no hosts in %s %s", rack ? "rack" :
		    "site", rack ? rack : site);
		rc = INV_EINVAL;
	}
	if (rc != INV_OK) {
		log_warnx("%s", e);
		free(*hosts);
		*hosts = NULL;
		*n = 0;
		return rc == INV_FAIL ? EXIT_FAIL : EXIT_USAGE;
	}
	return 0;
}
