/*
 * The daemon's one epoll loop hands each event to the object that owns
 * the file descriptor: every such object begins with a struct evh whose
 * fn is called with the epoll event bits.  epoll_event.data.ptr points to
 * the struct evh.  Small enough to be a header only; the clock is
 * lib/clock.h.
 */
#ifndef CASTIRON_EV_H
#define CASTIRON_EV_H

#include <stdint.h>

#include "lib/clock.h"	/* timers never follow wall time */

struct evh {
	void	(*fn)(struct evh *, uint32_t events);
};

#endif
