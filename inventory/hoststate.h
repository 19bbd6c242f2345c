/*
 * The life of a host (docs/architecture.md, "The life of a host"): its
 * states, the steps of a provisioning run, and which transitions the
 * operator (`inventory set-state`) and the provisioner (`provision`) may
 * make.  Pure functions over small enums: no database, no I/O, so the
 * table can be unit-tested on its own and shared by inventory and
 * provision.
 */
#ifndef CASTIRON_HOSTSTATE_H
#define CASTIRON_HOSTSTATE_H

#include <stddef.h>

enum host_state {
	HS_ENROLLED,
	HS_PROVISIONING,
	HS_ACTIVE,
	HS_FAILED,
	HS_MAINTENANCE,
	HS_RETIRED,
	HS_COUNT
};

/* The steps of a provisioning run, in the order they run.  STEP_NONE: no
 * step (not provisioning, or nothing completed yet). */
enum prov_step {
	STEP_NONE,
	STEP_POWER,
	STEP_BOOT,
	STEP_INSPECT,
	STEP_IMAGE,
	STEP_CONFIGURE,
	STEP_REBOOT,
	STEP_VERIFY,
	STEP_COUNT
};

/* Who asks for a transition. */
enum hs_actor {
	HS_BY_OPERATOR,		/* castiron inventory set-state */
	HS_BY_PROVISION,	/* castiron provision */
};

/* "enrolled", ...; NULL for an out-of-range value. */
const char	*host_state_name(int);
/* The state named s, or -1. */
int		 host_state_parse(const char *s);
/* "power", ...; NULL for STEP_NONE or out of range. */
const char	*prov_step_name(int);
/* The step named s, or -1 ("" and NULL give STEP_NONE). */
int		 prov_step_parse(const char *s);
/*
 * Where a run resumes on a failed host whose last completed and verified
 * step is done (STEP_NONE: nothing, the run starts at power): the step
 * after it, except that power is verified only by the boot it started
 * (a check-in, or the deploy environment answering): a host that failed
 * at boot is powered, and network-booted, again.  After verify, verify.
 */
int		 prov_step_resume(int done);

/*
 * 1 when `by` may move a host from `from` to `to`, else 0.  For
 * HS_BY_PROVISION, force is --force (needed to re-provision an active
 * host); it is ignored for the operator.  A transition to the same state
 * is never allowed.
 */
int	host_state_allowed(enum hs_actor by, int from, int to, int force);

/*
 * The states `by` may move a host in `from` to, comma-separated
 * ("maintenance, retired"), or "none"; written into buf.
 */
char	*host_state_legal(enum hs_actor by, int from, int force, char *buf,
	    size_t len);

#endif
