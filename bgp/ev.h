/*
 * The daemon's one epoll loop hands each event to the object that owns
 * the file descriptor: every such object begins with a struct evh whose
 * fn is called with the epoll event bits.  epoll_event.data.ptr points to
 * the struct evh.  Small enough to be a header only.
 */
#ifndef CASTIRON_EV_H
#define CASTIRON_EV_H

#include <stdint.h>
#include <time.h>

struct evh {
	void	(*fn)(struct evh *, uint32_t events);
};

/* Milliseconds on the monotonic clock (timers never follow wall time). */
static inline uint64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t
mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif
