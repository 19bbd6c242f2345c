/*
 * Name resolution in a child process (see resolve.h).  The child
 * resolves each name in turn and writes one fixed-size record per name
 * to a pipe, then exits; the loop reads the pipe as it fills and, at its
 * end, hands every answer over at once.  A child that takes longer than
 * the deadline is killed and the resolution fails as a whole.
 */
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgp/ev.h"
#include "bgp/resolve.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

struct rec {
	int			 rc;
	socklen_t		 sslen;
	struct sockaddr_storage	 ss;
};

struct resolving {
	struct evh		 evh;		/* first: epoll hands us this */
	int			 epfd;
	int			 fd;		/* the pipe's read end */
	pid_t			 pid;
	struct resolved		*res;
	size_t			 n;
	char			*buf;		/* n records, as they come */
	size_t			 len;
	uint64_t		 deadline;
	resolve_done_fn		 fn;
	void			*arg;
};

static int
is_numeric(const char *host)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
}

size_t
resolve_names(const struct config *cfg, struct resolved **out)
{
	struct resolved	*r = NULL;
	size_t		 i, n = 0;

	for (i = 0; i < cfg->nservice; i++) {
		const struct cfg_service *s = &cfg->service[i];
		struct resolved one;

		memset(&one, 0, sizeof(one));
		if (s->check != CHECK_TCP || s->address == NULL ||
		    parse_hostport(s->address, one.host, sizeof(one.host),
		    &one.port, NULL) != ERR_OK || is_numeric(one.host))
			continue;
		r = xreallocarray(r, n + 1, sizeof(*r));
		r[n++] = one;
	}
	*out = r;
	return n;
}

static void
child(int fd, const struct resolved *names, size_t n)
{
	struct addrinfo	 hints = { .ai_socktype = SOCK_STREAM,
			    .ai_flags = AI_NUMERICSERV }, *ai;
	struct rec	 r;
	char		 port[8];
	size_t		 i;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(port, sizeof(port), "%u", names[i].port);
		r.rc = getaddrinfo(names[i].host, port, &hints, &ai);
		if (r.rc == 0) {
			memcpy(&r.ss, ai->ai_addr, ai->ai_addrlen);
			r.sslen = ai->ai_addrlen;
			freeaddrinfo(ai);
		}
		if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
	}
	_exit(0);
}

static void
resolving_free(struct resolving *rv)
{
	if (rv->fd != -1) {
		epoll_ctl(rv->epfd, EPOLL_CTL_DEL, rv->fd, NULL);
		close(rv->fd);
	}
	if (rv->pid > 0) {
		/* Exited (its pipe is closed) or killed: it is gone at
		 * once, and reaped here. */
		kill(rv->pid, SIGKILL);
		waitpid(rv->pid, NULL, 0);
	}
	free(rv->res);
	free(rv->buf);
	free(rv);
}

static void
resolving_end(struct resolving *rv, const char *err)
{
	size_t	 i;

	if (err == NULL) {
		for (i = 0; i < rv->n; i++) {
			struct rec r;
			memcpy(&r, rv->buf + i * sizeof(r), sizeof(r));
			rv->res[i].rc = r.rc;
			rv->res[i].ss = r.ss;
			rv->res[i].sslen = r.sslen;
		}
		rv->fn(rv->arg, rv->res, rv->n, NULL);
	} else
		rv->fn(rv->arg, NULL, 0, err);
	resolving_free(rv);
}

static void
resolving_event(struct evh *h, uint32_t events)
{
	struct resolving	*rv = (struct resolving *)h;
	size_t			 want = rv->n * sizeof(struct rec);
	ssize_t			 r;

	(void)events;
	for (;;) {
		r = read(rv->fd, rv->buf + rv->len, want - rv->len + 1);
		if (r > 0) {
			rv->len += (size_t)r;
			if (rv->len > want) {
				resolving_end(rv, "name resolution: bad answer");
				return;
			}
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		break;		/* EOF: the child is done */
	}
	resolving_end(rv, rv->len == want ? NULL :
	    "name resolution: the resolver process failed");
}

struct resolving *
resolve_start(int epfd, const struct resolved *names, size_t n,
    uint64_t timeout_ms, resolve_done_fn fn, void *arg, struct err *err)
{
	struct resolving	*rv;
	struct epoll_event	 ev = { .events = EPOLLIN };
	int			 p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		err_errno(err, ERR_FAIL, "pipe");
		return NULL;
	}
	rv = xcalloc(1, sizeof(*rv));
	rv->evh.fn = resolving_event;
	rv->epfd = epfd;
	rv->fd = p[0];
	rv->n = n;
	rv->res = xcalloc(n ? n : 1, sizeof(*rv->res));
	memcpy(rv->res, names, n * sizeof(*names));
	rv->buf = xmalloc(n * sizeof(struct rec) + 1);
	rv->fn = fn;
	rv->arg = arg;
	rv->deadline = mono_ms() + timeout_ms;
	if ((rv->pid = fork()) == -1) {
		err_errno(err, ERR_FAIL, "fork");
		close(p[0]);
		close(p[1]);
		rv->fd = -1;
		rv->pid = 0;
		resolving_free(rv);
		return NULL;
	}
	if (rv->pid == 0) {
		close(p[0]);
		fcntl(p[1], F_SETFL, 0);
		child(p[1], names, n);
	}
	close(p[1]);
	ev.data.ptr = &rv->evh;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, rv->fd, &ev) == -1) {
		err_errno(err, ERR_FAIL, "epoll");
		close(rv->fd);
		rv->fd = -1;
		resolving_free(rv);
		return NULL;
	}
	return rv;
}

void
resolve_cancel(struct resolving *rv)
{
	if (rv != NULL)
		resolving_free(rv);
}

uint64_t
resolve_next_timer(const struct resolving *rv)
{
	return rv ? rv->deadline : UINT64_MAX;
}

int
resolve_run_timers(struct resolving *rv, uint64_t now)
{
	if (rv == NULL || now < rv->deadline)
		return 0;
	resolving_end(rv, "name resolution timed out");
	return 1;
}
