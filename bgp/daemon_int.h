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
	int			 drain_on;	/* the drain file is there */
	uint64_t		 grace_until;	/* a grace's end, mono ms; 0 none */
	time_t			 grace_until_wall;
	int			 running;	/* the loop has begun */
	int			 stopping;	/* SIGTERM: a grace before the end */
	int			 stop;		/* leave the loop */
	struct evh		 sock_evh;	/* BIRD's socket appearing */
	int			 ifd, iwd;	/* inotify; -1 none */
	time_t			 started;
};

/* control.c */
struct client;

enum err_code	 control_listen(struct bgpd *, struct err *);
/* Drops clients older than CONTROL_IDLE_MS, answers drains BIRD did not
 * confirm in time, and listens again after running out of descriptors;
 * control_next_timer says when it is next due. */
void	 control_expire(struct bgpd *, uint64_t now);
uint64_t control_next_timer(const struct bgpd *);
void	 control_close(struct bgpd *);
json_t	*control_status(struct bgpd *);
/* Re-reads the drain file; 1 when the drained state changed.  A drain
 * that begins while the daemon runs, with a withdraw_at to come, is
 * graceful (daemon_grace_begin); otherwise it withdraws at once. */
int	 control_read_drain(struct bgpd *);
/* Answers the drains waiting for BIRD to take GRACEFUL_SHUTDOWN. */
void	 control_poll(struct bgpd *);
int	 control_waiting(const struct bgpd *);

/* daemon.c */
/* A grace of ms begins (a graceful drain, or a stop): 65535:0 on every
 * announced prefix, withdrawn when it ends. */
void	 daemon_grace_begin(struct bgpd *, uint64_t ms);
void	 daemon_grace_stop(struct bgpd *);

/* guard.c: the last-announcer guard's questions to BIRD. */
/* Asks BIRD about the guarded prefixes: all of them (every
 * reconciliation), or only those not yet asked (after a change). */
void	 guard_ask(struct bgpd *, int all);
/* What the guard's note on prefix k is: "kept: last announcer", ...;
 * NULL when none. */
const char *guard_note(const struct bgpd *, size_t k);

/* metrics.c */
enum err_code	 metrics_write(struct bgpd *, struct err *);

#endif
