/*
 * The daemon's state, shared by daemon.c (the loop), control.c (the
 * control socket, status and the drain file) and metrics.c.
 */
#ifndef CASTIRON_BGPD_INT_H
#define CASTIRON_BGPD_INT_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "bgp/announce.h"
#include "bgp/bird.h"
#include "bgp/check.h"
#include "bgp/control.h"
#include "bgp/controller.h"
#include "bgp/daemon.h"
#include "bgp/ev.h"
#include "bgp/resolve.h"
#include "bgp/timer.h"

struct bgpd {
	char			*config_path;
	struct config		*cfg;
	int			 epfd;
	struct checker		*ck;
	struct ctl		*ctl;
	struct bird		*bird;
	struct announcer	*ann;
	/* control socket */
	struct evh		 listen_evh;
	int			 lfd;
	char			*lpath;
	struct client		*clients;	/* connected, not yet answered */
	size_t			 nclients;
	uint64_t		 client_ids;
	uint64_t		 listen_retry;	/* re-arm the listen socket; 0 no */
	int			 listen_full_warned;
	struct timers		 timers;	/* monotonic ms */
	uint64_t		 bird_backoff;
	uint64_t		 metrics_at;	/* last written, monotonic ms */
	uint64_t		 watchdog_ms;	/* 0: no watchdog */
	int			 dirty;		/* a prefix's want may change */
	int			 rescan;	/* a service's next_run changed */
	int			 bird_was_up;	/* for the "cannot connect" log */
	int			 bird_up;	/* greeted, not lost since */
	int			 adopting;	/* BIRD not reached since start */
	struct resolving	*resolving;	/* a reload's names, being resolved */
	struct config		*reload_cfg;	/* ... for this configuration */
	char			 drain_reason[256];
	int			 drain_unreadable;	/* warned once */
	time_t			 started;
};

/* control.c */
struct client;

int	 control_listen(struct bgpd *, char *err, size_t errlen);
/* Drops clients older than CONTROL_IDLE_MS, answers drains BIRD did not
 * confirm in time, and listens again after running out of descriptors;
 * control_next_timer says when it is next due. */
void	 control_expire(struct bgpd *, uint64_t now);
uint64_t control_next_timer(const struct bgpd *);
void	 control_close(struct bgpd *);
json_t	*control_status(struct bgpd *);
/* Re-reads the drain file; 1 when the drained state changed. */
int	 control_read_drain(struct bgpd *);

/* metrics.c */
int	 metrics_write(struct bgpd *, char *err, size_t errlen);

#endif
