/*
 * castiron provision: the per-host state machine (docs/architecture.md,
 * "The life of a host") from the moment a host answers SSH in its deploy
 * environment: inspect, image, configure, reboot, verify, active.  Hosts run in
 * parallel, each on its own thread with its own SSH session and its own
 * inventory handle; every step and transition is an inventory event.
 * cli/cmd_provision.c chooses the hosts and prints the summary.
 */
#ifndef CASTIRON_PROVISION_H
#define CASTIRON_PROVISION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"
#include "lib/err.h"

struct prov_opts {
	const struct config	*cfg;
	const char		*image;		/* --image, else [provision] */
	int			 accept_new;	/* --accept-new-hostkey */
	int			 force;		/* --force */
	int			 dry_run;	/* --dry-run: change nothing */
	unsigned		 parallel;	/* hosts at once */
	const char		*actor;		/* "provision:USER" */
	FILE			*progress;	/* live lines (stderr) */
};

struct prov_result {
	char		 hostname[254];
	int		 ok;
	int		 step;		/* the failed step (enum prov_step) */
	char		 reason[768];
	uint64_t	 duration_ms;
	uint64_t	 bytes;		/* image bytes sent */
	char		 disk[64];
	/* Why it failed: ERR_FAIL for a failed step; ERR_INVAL, ERR_NOENT
	 * or ERR_WRONGSTATE when the host was refused before it started
	 * (exit 2). */
	enum err_code	 code;
};

/* What a run would do for one host (--dry-run). */
struct prov_plan {
	char		 hostname[254];
	char		 state[24];
	char		 image[65];
	char		 disk[256];	/* "auto" when chosen at inspection */
	char		 steps[128];	/* "inspect,image,configure,..." */
	char		 note[256];	/* why it would be refused, or "" */
};

/*
 * Checks what applies to every host before anything changes: the image
 * exists in the configuration and its cached file verifies, the writer
 * and keys are readable, reboot mode is supported.  NULL with err set:
 * nothing was touched (ERR_INVAL, or ERR_FAIL for an image that cannot
 * be fetched or fails to verify).
 */
struct prov_ctx;
struct prov_ctx	*prov_prepare(const struct prov_opts *, struct err *);
void		 prov_ctx_free(struct prov_ctx *);

/* Fills plans[i] for each host; nothing changes.  ERR_FAIL when this
 * process or the inventory cannot be read. */
enum err_code	prov_plan(struct prov_ctx *, const char *const *hosts,
		    size_t n, struct prov_plan *plans, struct err *);
/* Provisions the hosts, results[i] for hosts[i]; returns the number of
 * hosts that failed. */
size_t	prov_run(struct prov_ctx *, const char *const *hosts, size_t n,
	    struct prov_result *results);
/* The signal (SIGINT, SIGTERM) that interrupted prov_run, else 0. */
int	prov_interrupted(const struct prov_ctx *);

#endif
