/*
 * What the kinds of check share with the generic part (check.c) and with
 * nothing else: the check struct, the per-kind operations, and the curl
 * engine that lives in check_http.c.
 */
#ifndef CASTIRON_CHECK_INT_H
#define CASTIRON_CHECK_INT_H

#include "bgp/check.h"
#include "bgp/ev.h"
#include "bgp/resolve.h"

struct check_ops {
	enum err_code	(*init)(struct check *, const struct cfg_service *,
			    struct err *);
	/* Begins a run; must end it with check_finish (possibly at once). */
	void	(*start)(struct check *);
	/* Stops a run without a result (timeout, free). */
	void	(*abort)(struct check *);
	void	(*free)(struct check *);
};

struct check {
	struct checker		*ck;
	const struct check_ops	*ops;
	char			*name;
	uint64_t		 timeout_ms;
	int			 running;
	int			 local;		/* this run: nothing listens here */
	uint64_t		 deadline;	/* monotonic ms */
	check_done_fn		 done;
	void			*arg;
	void			*priv;		/* the kind's own state */
	size_t			 idx;		/* in checker->all */
};

struct http_engine;
struct orphan;

struct checker {
	int			 epfd;
	struct http_engine	*http;
	struct check		**all;
	size_t			 n;
	struct orphan		*orphans;	/* killed children not reaped */
	uint64_t		 next_deadline;	/* no run ends before; may be early */
	const struct resolved	*resolved;	/* names looked up already */
	size_t			 nresolved;
};

extern const struct check_ops check_http_ops;
extern const struct check_ops check_tcp_ops;
extern const struct check_ops check_exec_ops;

void	check_finish(struct check *, int ok, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Whether a refused connection to this address means the service's own
 * process is gone (a loopback address: nothing listens on this host). */
int	check_refused_local(int family, const void *addr);

struct http_engine *http_engine_new(int epfd);
void		 http_engine_free(struct http_engine *);
uint64_t	 http_engine_next_timer(const struct http_engine *);
void		 http_engine_run_timers(struct http_engine *, uint64_t now);

/* check_exec.c: a killed child whose exit is still to be collected. */
struct orphan	*checker_adopt_orphan(struct checker *, int pid, int pidfd);
void	checker_free_orphans(struct checker *);

#endif
