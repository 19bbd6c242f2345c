/*
 * The controller: what castiron wants BIRD to announce, as a pure state
 * machine with no I/O.  Each service counts consecutive results against
 * its rise and fall thresholds and changes health only when one is
 * crossed; a prefix is wanted while every service that lists it is
 * healthy and the host is not drained.  The daemon feeds it results and
 * the drain flag, and applies what it wants through announce.c.
 *
 * Beyond on and off (docs/bgp.md): a service that changes state more
 * than flap_limit times in flap_window is held down for flap_hold; a
 * fail_open service that fell for a reason outside the host (not "nothing
 * listens") leaves its prefixes to the last-announcer guard, which keeps
 * a prefix while BIRD's table shows no other announcer of it; and while
 * a graceful drain lasts every prefix carries GRACEFUL_SHUTDOWN.
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
	int			 local_fail;	/* the last failure: nothing listens */
	int			 fell;		/* fail_open, fell not locally */
	uint64_t		*flaps;		/* ring: mono ms of transitions */
	size_t			 nflaps, flap_next, flap_size;
	uint64_t		 held_until;	/* flap hold, mono ms; 0: none */
	time_t			 held_until_wall;
	uint64_t		 held_changes;	/* transitions that caused it */
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
	/* What the announcement carries: its services' communities (each
	 * once, in order), large communities, and the highest MED; then its
	 * own ([prefix P]): communities added, its MED instead. */
	uint32_t	*comm;
	size_t		 ncomm;
	uint32_t	*lcomm;			/* three words each */
	size_t		 nlcomm;
	int		 has_med;
	uint32_t	 med;
	/* The last-announcer guard. */
	int		 guarded;	/* down only by fail_open services */
	int		 kept;		/* guarded, and kept announced */
	int		 others;	/* other announcers in BIRD: 1, 0, -1 unknown */
	int		 grace_keep;	/* wanted when the drain's grace began */
	/* the daemon's */
	int		 asking;	/* a guard question to BIRD is out */
};

struct ctl {
	struct ctl_service	*service;
	size_t			 nservice;
	struct ctl_prefix	*prefix;
	size_t			 nprefix;
	int			 drained;	/* withdraw every prefix */
	int			 gshut;		/* announce with 65535:0 */
	uint32_t		 drain_local_pref;	/* with gshut; 0 none */
	uint32_t		 drain_prepend_as;
	unsigned		 drain_prepend;
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

/* One check result for service i (local: it failed because nothing
 * listens, the service's own process is gone); returns the health
 * transition, if any.  now is the wall clock, now_ms the monotonic one
 * (flap damping); a transition past flap_limit sets held_until. */
enum ctl_change	 ctl_result(struct ctl *, size_t i, int ok, int local,
		    const char *reason, time_t now, uint64_t now_ms);
/* Ends the flap holds that are due; returns how many ended. */
size_t		 ctl_release(struct ctl *, uint64_t now_ms);
/* When the next flap hold ends (mono ms); UINT64_MAX when none. */
uint64_t	 ctl_next_release(const struct ctl *);
/* What BIRD's table says of prefix k's other announcers (1 some, 0 none,
 * -1 unknown); returns 1 when the guard decided (its first answer since
 * the prefix became guarded) or changed its decision. */
int		 ctl_guard_seen(struct ctl *, size_t k, int others);
/* Marks service i healthy without checks (adopted from BIRD at start). */
void		 ctl_adopt(struct ctl *, size_t i, time_t now);
/* A graceful drain begins: every prefix carries GRACEFUL_SHUTDOWN, and
 * only those wanted now stay announced until the withdrawal (none is
 * announced anew while draining). */
void		 ctl_grace_begin(struct ctl *);
/* Recomputes every prefix's want; returns how many changed.  A prefix is
 * withdrawn when the host is drained, or a service of it is held, or one
 * is down that is not fail_open, or fell locally, or never rose; when its
 * only down services are fail_open ones that fell, it is guarded: kept
 * announced (p->kept) while BIRD shows no other announcer. */
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
