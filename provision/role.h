/*
 * What a host's role makes the configure step write into its installed
 * system, so that it announces its anycast prefixes after its first boot:
 * its castiron.ini (the role's services file and [bgp] from the
 * appliance's [role NAME]), its BIRD configuration (with local_as), the
 * castiron user and run directories, and castiron-bgp.service enabled.
 * Rendered and checked on the appliance, as the host will check it,
 * before a byte is written (docs/provision.md, "Roles").
 */
#ifndef CASTIRON_PROVISION_ROLE_H
#define CASTIRON_PROVISION_ROLE_H

#include "inventory/inventory.h"
#include "lib/config.h"
#include "lib/err.h"

#define ROLE_MAXFILES	5
/* Where the installed system's castiron reads its configuration
 * (castiron's default path) and where its BIRD includes castiron's file. */
#define ROLE_CASTIRON_INI	"/etc/castiron/castiron.ini"
#define ROLE_BIRD_CONF		"/etc/bird/bird.conf"
#define ROLE_INCLUDE_DIR	"/run/castiron/bird"
#define ROLE_UNIT_LINK \
	"/etc/systemd/system/multi-user.target.wants/castiron-bgp.service"

struct role_file {
	const char	*path;		/* in the installed root */
	int		 mode;
	char		*content;	/* owned by the plan */
	int		 unit;		/* path is a unit's .wants link to make
					   (the unit found in the root), and
					   content is empty */
};

struct role_plan {
	struct role_file	 f[ROLE_MAXFILES];
	size_t			 n;
	char			 note[300];	/* for the host's events; ""
						   when it has no role */
};

/*
 * The files for host h from cfg's [role h->role].  ERR_OK with plan
 * filled: no files (and a note) for a host whose role has no section,
 * nothing at all for a host without a role.  Otherwise nothing is
 * planned and err holds one line naming the host and its role (ERR_INVAL:
 * a services file that no longer loads, a prefix outside the role's
 * allowed_prefixes, a host without the address or gateway its BIRD
 * configuration needs).  The caller clears the plan.
 */
enum err_code	role_plan(const struct config *cfg, const struct inv_host *h,
		    struct role_plan *plan, struct err *err);
void		role_plan_clear(struct role_plan *);
/* role_plan's refusals alone, for a run about to start on h (its plan is
 * made again at configure). */
enum err_code	role_check(const struct config *, const struct inv_host *h,
		    struct err *);

/* The pieces, for the tests: the host's castiron.ini from the role's
 * services text, and its bird.conf (NULL with err set). */
char	*role_castiron_ini(const struct cfg_role *, const struct inv_host *,
	    const char *services_text);
char	*role_bird_conf(const struct cfg_role *, const struct inv_host *,
	    struct err *);

#endif
