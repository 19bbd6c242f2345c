/*
 * The generic part of the health checks: creating a check of the kind the
 * service asks for, starting a run, and the timeout that ends a run no
 * matter what the kind is waiting for (a hung HTTP server, a SYN that is
 * never answered, a child that never exits).  The kinds live in
 * check_http.c, check_tcp.c and check_exec.c.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/check_int.h"
#include "lib/xmalloc.h"

struct checker *
checker_new(int epfd)
{
	struct checker	*ck = xcalloc(1, sizeof(*ck));

	ck->epfd = epfd;
	ck->next_deadline = UINT64_MAX;
	return ck;
}

void
checker_free(struct checker *ck)
{
	if (ck == NULL)
		return;
	while (ck->n > 0)
		check_free(ck->all[ck->n - 1]);
	free(ck->all);
	http_engine_free(ck->http);
	checker_free_orphans(ck);
	free(ck);
}

static struct rlimit	 nofile_orig;
static int		 nofile_raised;

void
checker_raise_limits(void)
{
	struct rlimit	 r;

	if (getrlimit(RLIMIT_NOFILE, &r) == -1 || r.rlim_cur == r.rlim_max)
		return;
	nofile_orig = r;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) == 0)
		nofile_raised = 1;
}

void
checker_restore_limits(void)
{
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &nofile_orig);
}

void
checker_set_resolved(struct checker *ck, const struct resolved *r, size_t n)
{
	ck->resolved = r;
	ck->nresolved = n;
}

struct check *
check_new(struct checker *ck, const struct cfg_service *s, check_done_fn done,
    void *arg, struct err *err)
{
	struct check	*c = xcalloc(1, sizeof(*c));

	c->ck = ck;
	c->name = xstrdup(s->name);
	c->timeout_ms = s->timeout_ms ? s->timeout_ms : 1000;
	c->done = done;
	c->arg = arg;
	switch (s->check) {
	case CHECK_HTTP:
		if (ck->http == NULL)
			ck->http = http_engine_new(ck->epfd);
		c->ops = &check_http_ops;
		break;
	case CHECK_TCP:
		c->ops = &check_tcp_ops;
		break;
	case CHECK_EXEC:
		c->ops = &check_exec_ops;
		break;
	default:
		err_set(err, ERR_INVAL, "unknown check kind %d", s->check);
		free(c->name);
		free(c);
		return NULL;
	}
	if (c->ops->init(c, s, err) != ERR_OK) {
		free(c->name);
		free(c);
		return NULL;
	}
	c->idx = ck->n;
	ck->all = xreallocarray(ck->all, ck->n + 1, sizeof(*ck->all));
	ck->all[ck->n++] = c;
	return c;
}

void
check_free(struct check *c)
{
	struct checker	*ck;

	if (c == NULL)
		return;
	ck = c->ck;
	if (c->running)
		c->ops->abort(c);
	c->running = 0;
	c->ops->free(c);
	/* Swap-remove from the engine's list. */
	ck->all[c->idx] = ck->all[ck->n - 1];
	ck->all[c->idx]->idx = c->idx;
	ck->n--;
	free(c->name);
	free(c);
}

void
check_start(struct check *c)
{
	if (c->running)
		return;
	c->running = 1;
	c->local = 0;
	c->deadline = mono_ms() + c->timeout_ms;
	if (c->deadline < c->ck->next_deadline)
		c->ck->next_deadline = c->deadline;
	c->ops->start(c);
}

int
check_running(const struct check *c)
{
	return c->running;
}

int
check_local(const struct check *c)
{
	return c->local;
}

int
check_refused_local(int family, const void *addr)
{
	static const uint8_t	 v6lo[16] = { [15] = 1 };
	const uint8_t		*a = addr;

	if (family == AF_INET)
		return a[0] == 127;
	return family == AF_INET6 && memcmp(a, v6lo, 16) == 0;
}

void
check_finish(struct check *c, int ok, const char *fmt, ...)
{
	char	 reason[CHECK_REASON_LEN];
	va_list	 ap;

	if (!c->running)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->running = 0;
	c->done(c->arg, ok, reason);
}

uint64_t
checker_next_timer(const struct checker *ck)
{
	uint64_t	 t = ck->next_deadline;

	if (ck->http) {
		uint64_t h = http_engine_next_timer(ck->http);
		if (h < t)
			t = h;
	}
	return t;
}

void
checker_run_timers(struct checker *ck, uint64_t now)
{
	size_t		 i;
	uint64_t	 next = UINT64_MAX;

	if (ck->http)
		http_engine_run_timers(ck->http, now);
	/* The cached deadline may be early (that run ended); only then,
	 * at most once per timeout, is the whole list scanned. */
	if (ck->next_deadline > now)
		return;
	for (i = 0; i < ck->n; i++) {
		struct check *c = ck->all[i];
		if (!c->running)
			continue;
		if (c->deadline > now) {
			if (c->deadline < next)
				next = c->deadline;
			continue;
		}
		c->ops->abort(c);
		check_finish(c, 0, "timed out after %llums",
		    (unsigned long long)c->timeout_ms);
	}
	ck->next_deadline = next;
}
