/*
 * The daemon's timer list (see timer.h).  A handful of timers, so a plain
 * array beats any heap: setting is a store, the next deadline a scan of
 * TIMER_MAX entries.  Pure: the caller passes the time.
 */
#include "bgp/timer.h"

void
timer_init(struct timers *t)
{
	int	 i;

	for (i = 0; i < TIMER_MAX; i++)
		t->due[i] = TIMER_OFF;
}

void
timer_set(struct timers *t, enum timer_id id, uint64_t due)
{
	t->due[id] = due;
}

void
timer_set_earlier(struct timers *t, enum timer_id id, uint64_t due)
{
	if (due < t->due[id])
		t->due[id] = due;
}

void
timer_stop(struct timers *t, enum timer_id id)
{
	t->due[id] = TIMER_OFF;
}

int
timer_running(const struct timers *t, enum timer_id id)
{
	return t->due[id] != TIMER_OFF;
}

int
timer_due(const struct timers *t, enum timer_id id, uint64_t now)
{
	return t->due[id] != TIMER_OFF && t->due[id] <= now;
}

uint64_t
timer_next(const struct timers *t)
{
	uint64_t	 next = TIMER_OFF;
	int		 i;

	for (i = 0; i < TIMER_MAX; i++)
		if (t->due[i] < next)
			next = t->due[i];
	return next;
}
