/*
 * Choosing hosts for a command that acts on many: HOST... or --rack R
 * (with --site when rack names repeat) or --site S, read from the
 * inventory.  Every named host must exist: one unknown name stops the
 * command before anything is done.  Many sites may share one inventory:
 * an appliance acts on the hosts of its own [castiron] site unless --site
 * names another, so a host name or a rack name of another site is
 * refused rather than acted on from here by mistake.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "inventory/inventory.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

int
cli_select_hosts(struct config *cfg, struct args *args, size_t skip_last,
    struct inv_host **hosts, size_t *n)
{
	const char	*rack = args_get(args, "rack"), *site = args_get(args, "site");
	const char	*scope = site ? site : cfg->castiron.site;
	size_t		 nargs = (size_t)args->argc - skip_last, i;
	struct inv	*inv;
	struct err	 e;
	enum err_code	 rc;

	*hosts = NULL;
	*n = 0;
	if ((nargs > 0) + (rack != NULL) + (site != NULL && rack == NULL &&
	    nargs == 0) != 1)
		return cmd_usage_error(args, "give HOST..., or --rack R, or "
		    "--site S");
	if (cfg->inventory.database == NULL) {
		log_warnx("%s: [inventory] database is not set", cfg->path);
		return cli_exit(ERR_INVAL);
	}
	/* An inventory that cannot be opened is the configuration's
	 * fault: exit 2 whatever the reason. */
	if (inv_open_config(cfg, INV_OPEN_READONLY, &inv, &e) != ERR_OK) {
		log_warnx("%s", e.msg);
		return cli_exit(ERR_INVAL);
	}
	if (nargs > 0) {
		*hosts = xcalloc(nargs, sizeof(**hosts));
		for (i = 0; i < nargs; i++) {
			struct inv_host	*h = &(*hosts)[i];

			if ((rc = inv_host_find(inv, args->argv[i], h, &e)) !=
			    ERR_OK)
				break;
			if (scope && strcmp(h->site, scope) != 0) {
				rc = err_set(&e, ERR_INVAL, "%s: at site %s, "
				    "not %s (%s); give --site %s to act on it "
				    "from here", h->hostname, h->site, scope,
				    site ? "--site" : "this appliance's "
				    "[castiron] site", h->site);
				break;
			}
		}
		*n = i;
	} else if (rack)
		rc = inv_hosts_by_rack(inv, scope, rack, hosts, n, &e);
	else
		rc = inv_hosts_by_site(inv, site, hosts, n, &e);
	inv_close(inv);
	if (rc == ERR_OK && *n == 0) {
		if (rack && scope)
			rc = err_set(&e, ERR_INVAL, "no hosts in rack %s at "
			    "site %s", rack, scope);
		else
			rc = err_set(&e, ERR_INVAL, "no hosts in %s %s", rack ?
			    "rack" : "site", rack ? rack : site);
	}
	if (rc != ERR_OK) {
		free(*hosts);
		*hosts = NULL;
		*n = 0;
		return cli_fail(&e);
	}
	return 0;
}

/* Who acts: the operator behind sudo, else the user running castiron. */
const char *
cli_user(void)
{
	static char	 name[64];
	struct passwd	*pw;
	const char	*s = getenv("SUDO_USER");

	if (name[0])
		return name;
	if (s && *s && valid_name(s, NULL) == ERR_OK)
		snprintf(name, sizeof(name), "%s", s);
	else if ((pw = getpwuid(getuid())) != NULL)
		snprintf(name, sizeof(name), "%s", pw->pw_name);
	else
		snprintf(name, sizeof(name), "uid %u", (unsigned)getuid());
	return name;
}
