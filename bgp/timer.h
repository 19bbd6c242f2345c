/*
 * The daemon's timers: a small fixed list of deadlines on the monotonic
 * clock, one per kind of periodic work (reconciliation, the BIRD retry,
 * metrics, the watchdog, the next check to start, the checks' own
 * timeouts).  The loop sleeps until the earliest one and runs those that
 * are due; a timer is set, stopped, or asked whether it is due.
 */
#ifndef CASTIRON_TIMER_H
#define CASTIRON_TIMER_H

#include <stdint.h>

enum timer_id {
	TIMER_CHECKS,		/* the next service check to start */
	TIMER_CHECKER,		/* a run's timeout, curl's own timer */
	TIMER_RECONCILE,
	TIMER_BIRD_RETRY,	/* reconnect to BIRD */
	TIMER_BIRD,		/* a BIRD reply's deadline */
	TIMER_CONTROL,		/* control clients' deadlines */
	TIMER_RESOLVE,		/* a reload's name resolution */
	TIMER_METRICS,
	TIMER_WATCHDOG,
	TIMER_DRAIN,		/* a graceful drain's withdrawal */
	TIMER_FLAP,		/* the next flap hold to end */
	TIMER_MAX
};

#define TIMER_OFF	UINT64_MAX

struct timers {
	uint64_t	 due[TIMER_MAX];	/* monotonic ms; TIMER_OFF: stopped */
};

void		 timer_init(struct timers *);	/* every timer stopped */
void		 timer_set(struct timers *, enum timer_id, uint64_t due);
/* Sets the timer to due only if that is earlier than what it has. */
void		 timer_set_earlier(struct timers *, enum timer_id, uint64_t due);
void		 timer_stop(struct timers *, enum timer_id);
int		 timer_running(const struct timers *, enum timer_id);
/* Whether the timer runs and is due at now. */
int		 timer_due(const struct timers *, enum timer_id, uint64_t now);
/* The earliest deadline of all; TIMER_OFF when every timer is stopped. */
uint64_t	 timer_next(const struct timers *);

#endif
