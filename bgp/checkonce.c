/*
 * `castiron bgp check`: every service's check run once, side by side, in
 * the same engine the daemon uses, with nothing sent to BIRD.  The
 * result is a JSON array of rows for the one output formatter.
 */
#include <sys/epoll.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bgp/check.h"
#include "bgp/checkonce.h"
#include "bgp/ev.h"
#include "lib/xmalloc.h"

struct once {
	const struct cfg_service	*svc;
	int				 done, ok;
	uint64_t			 start_us, took_us;
	char				 reason[CHECK_REASON_LEN];
};

static void
once_done(void *arg, int ok, const char *reason)
{
	struct once	*o = arg;

	o->done = 1;
	o->ok = ok;
	o->took_us = mono_us() - o->start_us;
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
}

json_t *
bgp_check_once(const struct config *cfg, int *ndown)
{
	struct epoll_event	 evs[64];
	struct checker		*ck;
	struct check		**checks;
	struct once		*res;
	json_t			*rows = json_array();
	size_t			 i, pending;
	int			 epfd, n, j;
	struct err		 err;

	*ndown = 0;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return NULL;
	ck = checker_new(epfd);
	checks = xcalloc(cfg->nservice + 1, sizeof(*checks));
	res = xcalloc(cfg->nservice + 1, sizeof(*res));
	for (i = 0; i < cfg->nservice; i++) {
		res[i].svc = &cfg->service[i];
		checks[i] = check_new(ck, &cfg->service[i], once_done, &res[i],
		    &err);
		if (checks[i] == NULL) {
			res[i].done = 1;
			snprintf(res[i].reason, sizeof(res[i].reason), "%.*s",
			    (int)sizeof(res[i].reason) - 1, err.msg);
			continue;
		}
		res[i].start_us = mono_us();
		check_start(checks[i]);
	}
	for (;;) {
		uint64_t now = mono_ms(), next;
		for (pending = 0, i = 0; i < cfg->nservice; i++)
			pending += !res[i].done;
		if (pending == 0)
			break;
		next = checker_next_timer(ck);
		n = epoll_wait(epfd, evs, 64, next == UINT64_MAX ? 1000 :
		    next > now ? (int)(next - now) : 0);
		if (n == -1 && errno != EINTR)
			break;
		for (j = 0; j < n; j++) {
			struct evh *h = evs[j].data.ptr;
			h->fn(h, evs[j].events);
		}
		checker_run_timers(ck, mono_ms());
	}
	for (i = 0; i < cfg->nservice; i++) {
		json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:f}",
		    "service", cfg->service[i].name,
		    "check", check_kind_name(cfg->service[i].check),
		    "result", res[i].ok ? "up" : "down",
		    "detail", res[i].reason,
		    "ms", (double)res[i].took_us / 1000.0));
		if (!res[i].ok)
			(*ndown)++;
		check_free(checks[i]);
	}
	checker_free(ck);
	close(epfd);
	free(checks);
	free(res);
	return rows;
}
