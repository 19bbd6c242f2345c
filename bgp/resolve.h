/*
 * Name resolution away from the loop.  A reload may name TCP check
 * addresses by host name, and getaddrinfo can wait for seconds on a
 * resolver that does not answer; so a child process resolves them all
 * and writes the answers to a pipe the loop watches.  The checks then
 * take their addresses from the answers (check_tcp.c), never from a
 * lookup of their own.
 */
#ifndef CASTIRON_RESOLVE_H
#define CASTIRON_RESOLVE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

struct resolved {
	char			 host[256];
	uint16_t		 port;
	int			 rc;		/* getaddrinfo's; 0: ss is set */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
};

struct resolving;

/* Called once: n answers in order (rc per name), or res NULL with err
 * (the child failed or timed out).  res is valid during the call. */
typedef void (*resolve_done_fn)(void *arg, const struct resolved *res,
	    size_t n, const char *err);

/* The host:port addresses of cfg's TCP checks whose host is a name, not
 * a numeric address; *out xmalloc'd (host and port set). */
size_t		 resolve_names(const struct config *, struct resolved **out);
/* Starts resolving (the child is forked at once); NULL with err. */
struct resolving *resolve_start(int epfd, const struct resolved *names,
		    size_t n, uint64_t timeout_ms, resolve_done_fn, void *arg,
		    struct err *);
/* Gives up (the child is killed; fn is not called) and frees. */
void		 resolve_cancel(struct resolving *);
/* When resolve_run_timers must run; UINT64_MAX when nothing waits. */
uint64_t	 resolve_next_timer(const struct resolving *);
/* Ends a resolution past its deadline (fn called with an error); 1 when
 * it ended (the handle is then freed). */
int		 resolve_run_timers(struct resolving *, uint64_t now);

#endif
