/*
 * The controller: what castiron wants BIRD to announce, as a pure state
 * machine with no I/O.  Each service counts consecutive results against
 * its rise and fall thresholds and changes health only when one is
 * crossed; a prefix is wanted while every service that lists it is
 * healthy and the host is not drained.  The daemon feeds it results and
 * the drain flag, and applies what it wants through announce.c.
 */
#ifndef CASTIRON_CONTROLLER_H
#define CASTIRON_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/config.h"

#define CTL_REASON_LEN	200
#define CTL_PROTO_LEN	72

struct check;

struct ctl_service {
	char			*name;
	struct cfg_service	 cfg;		/* shallow copy; owned by the config */
	int			 healthy;
	int			 decided;	/* a threshold was crossed or state adopted */
	uint64_t		 ok_streak, fail_streak;
	time_t			 since;		/* wall clock, last transition */
	char			 last_reason[CTL_REASON_LEN];
	char			 last_error[CTL_REASON_LEN];
	uint64_t		 checks_ok, checks_failed, transitions;
	size_t			*prefixes;	/* indexes into ctl->prefix */
	size_t			 nprefixes;
	/* the daemon's */
	struct check		*check;
	uint64_t		 next_run;	/* monotonic ms */
	uint64_t		 run_started_us;
};

struct ctl_prefix {
	struct prefix	 p;
	char		 str[64];		/* "192.0.2.10/32" */
	char		 proto[CTL_PROTO_LEN];	/* "castiron_p_192_0_2_10_32" */
	int		 want;			/* announce? */
	int		 applied;		/* what BIRD has: 1, 0, -1 unknown */
	int		 pending;		/* a command out for: 1, 0, -1 none */
	time_t		 since;
	size_t		*services;		/* indexes into ctl->service */
	size_t		 nservices;
};

struct ctl {
	struct ctl_service	*service;
	size_t			 nservice;
	struct ctl_prefix	*prefix;
	size_t			 nprefix;
	int			 drained;
};

/* Built from a loaded config (which must outlive it); every service starts
 * unhealthy and undecided. */
struct ctl	*ctl_new(const struct config *, time_t now);
void		 ctl_free(struct ctl *);

enum ctl_change {
	CTL_SAME = 0,
	CTL_BECAME_HEALTHY,
	CTL_BECAME_UNHEALTHY,
};

/* One check result for service i; returns the health transition, if any. */
enum ctl_change	 ctl_result(struct ctl *, size_t i, int ok, const char *reason,
		    time_t now);
/* Marks service i healthy without checks (adopted from BIRD at start). */
void		 ctl_adopt(struct ctl *, size_t i, time_t now);
/* Recomputes every prefix's want; returns how many changed. */
size_t		 ctl_update(struct ctl *, time_t now);
/* "up", "down", "rising", "falling" or "unknown". */
const char	*ctl_state(const struct ctl_service *);
/* The interval until the next run: fast_interval between states. */
uint64_t	 ctl_interval_ms(const struct ctl_service *);
/* Copies the state of services whose settings did not change (and what
 * BIRD was last told about prefixes still present) from old into new. */
void		 ctl_carry(struct ctl *new, const struct ctl *old);
/* "web@1a2b3c4d": the service's name and a hash of what it checks (kind,
 * url, body, expect, address, command, shell, user), written beside each
 * protocol of the include file so that a restart knows which services a
 * prefix had before. */
void		 ctl_service_id(const struct ctl_service *, char *buf, size_t len);
/* BIRD protocol name for a prefix: castiron_p_ + address + _ + length. */
void		 ctl_proto_name(const struct prefix *, char *buf, size_t len);
ssize_t		 ctl_find_prefix(const struct ctl *, const char *proto);

#endif
