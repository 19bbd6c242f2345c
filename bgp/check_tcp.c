/*
 * TCP check: the service is healthy when a connection to its address is
 * accepted within the timeout.  A non-blocking connect whose completion
 * the epoll loop reports; nothing is sent, the socket is closed at once.
 * The address is resolved when the check is created (numeric addresses
 * need no lookup), never during a run; on a reload, beforehand, away from
 * the loop (resolve.c).
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgp/check_int.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

struct tcp_check {
	struct evh		 evh;		/* first: epoll hands us this */
	struct check		*c;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd;
};

static void
tcp_close(struct tcp_check *t)
{
	if (t->fd != -1) {
		epoll_ctl(t->c->ck->epfd, EPOLL_CTL_DEL, t->fd, NULL);
		close(t->fd);
		t->fd = -1;
	}
}

/* A refused connection to a loopback address: a local failure. */
static void
refused(struct tcp_check *t, int e)
{
	const void	*a = t->ss.ss_family == AF_INET ?
	    (const void *)&((struct sockaddr_in *)&t->ss)->sin_addr :
	    (const void *)&((struct sockaddr_in6 *)&t->ss)->sin6_addr;

	t->c->local = e == ECONNREFUSED &&
	    check_refused_local(t->ss.ss_family, a);
}

static void
tcp_event(struct evh *h, uint32_t events)
{
	struct tcp_check	*t = (struct tcp_check *)h;
	int			 soerr = 0;
	socklen_t		 len = sizeof(soerr);

	(void)events;
	if (t->fd == -1)
		return;		/* closed earlier in this batch */
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	tcp_close(t);
	if (soerr == 0)
		check_finish(t->c, 1, "connected");
	else {
		refused(t, soerr);
		check_finish(t->c, 0, "connect: %s", strerror(soerr));
	}
}

static enum err_code
tcp_init(struct check *c, const struct cfg_service *s, struct err *err)
{
	struct tcp_check	*t;
	struct addrinfo		 hints = { .ai_socktype = SOCK_STREAM }, *res;
	char			 host[256], port[8];
	uint16_t		 p;
	size_t			 i;
	int			 rc;

	if (s->address == NULL) {
		err_set(err, ERR_INVAL, "no address");
		return err->code;
	}
	if (parse_hostport(s->address, host, sizeof(host), &p, err) != ERR_OK)
		return err->code;
	t = xcalloc(1, sizeof(*t));
	t->evh.fn = tcp_event;
	t->c = c;
	t->fd = -1;
	/* Looked up beforehand, away from the loop (a reload)? */
	for (i = 0; i < c->ck->nresolved; i++) {
		const struct resolved *r = &c->ck->resolved[i];
		if (r->port != p || strcmp(r->host, host) != 0)
			continue;
		if (r->rc != 0) {
			err_set(err, ERR_INVAL, "%s: %s", host,
			    gai_strerror(r->rc));
			free(t);
			return err->code;
		}
		memcpy(&t->ss, &r->ss, r->sslen);
		t->sslen = r->sslen;
		c->priv = t;
		return ERR_OK;
	}
	/* At start (before the loop runs), or a numeric address. */
	snprintf(port, sizeof(port), "%u", p);
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		err_set(err, ERR_INVAL, "%s: %s", host, gai_strerror(rc));
		free(t);
		return err->code;
	}
	memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
	t->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	c->priv = t;
	return ERR_OK;
}

static void
tcp_start(struct check *c)
{
	struct tcp_check	*t = c->priv;
	struct epoll_event	 ev = { .events = EPOLLOUT };

	t->fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (t->fd == -1) {
		check_finish(c, 0, "socket: %s", strerror(errno));
		return;
	}
	if (connect(t->fd, (struct sockaddr *)&t->ss, t->sslen) == 0) {
		tcp_close(t);
		check_finish(c, 1, "connected");
		return;
	}
	if (errno != EINPROGRESS) {
		int e = errno;
		tcp_close(t);
		refused(t, e);
		check_finish(c, 0, "connect: %s", strerror(e));
		return;
	}
	ev.data.ptr = &t->evh;
	if (epoll_ctl(c->ck->epfd, EPOLL_CTL_ADD, t->fd, &ev) == -1) {
		int e = errno;
		close(t->fd);
		t->fd = -1;
		check_finish(c, 0, "epoll: %s", strerror(e));
	}
}

static void
tcp_abort(struct check *c)
{
	tcp_close(c->priv);
}

static void
tcp_free(struct check *c)
{
	tcp_close(c->priv);
	free(c->priv);
}

const struct check_ops check_tcp_ops = {
	tcp_init, tcp_start, tcp_abort, tcp_free
};
