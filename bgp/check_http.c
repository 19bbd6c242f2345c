/*
 * HTTP check: the service is healthy when a GET of its URL answers with
 * the expected status (and, when body is set, a body holding that text)
 * within the timeout.  All HTTP checks share one libcurl multi handle
 * driven by the daemon's epoll loop through curl's socket and timer
 * callbacks, so a thousand checks cost one thread and no polling.  Runs
 * reuse a kept-alive connection for at most HTTP_CONN_LIFE_S seconds
 * (a fresh TCP connection costs more than the check).  A service that
 * dies or restarts closes that connection: curl sees it dead before
 * reuse (or, in a race, retries once on a fresh one), so the next run
 * tests the new process.  Only a service that stops accepting new
 * connections while it keeps serving old ones is noticed late: within
 * HTTP_CONN_LIFE_S, when its kept-alive connection is retired.
 */
#include <sys/epoll.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bgp/check_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define HTTP_MAXBODY	65536
#define HTTP_CONN_LIFE_S	60

struct http_sock;

struct http_engine {
	int		 epfd;
	CURLM		*multi;
	uint64_t	 timer;		/* monotonic ms; UINT64_MAX: none */
	struct http_sock *dead;		/* removed, freed after the batch */
	long		 nchecks;	/* HTTP checks that exist */
};

/* One socket curl asked us to watch.  A socket curl removes may still
 * have an event waiting in the batch epoll returned, so it is only
 * marked dead and freed by http_engine_run_timers, after the batch. */
struct http_sock {
	struct evh		 evh;
	struct http_engine	*he;
	curl_socket_t		 fd;
	int			 added;
	int			 dead;
	struct http_sock	*next;
};

struct http_check {
	struct check	*c;
	CURL		*easy;
	char		*url;
	CURLU		*cu;		/* url, parsed once */
	long		 expect;
	char		*body_want;
	char		*body;
	size_t		 bodylen;
	int		 active;	/* easy is in the multi */
	int		 reset;		/* reset easy before the next run */
	char		 errbuf[CURL_ERROR_SIZE];
};

static void http_drain(struct http_engine *);

static void
sock_event(struct evh *h, uint32_t events)
{
	struct http_sock	*s = (struct http_sock *)h;
	struct http_engine	*he = s->he;
	int			 running, flags = 0;

	if (s->dead)
		return;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(he->multi, s->fd, flags, &running);
	http_drain(he);
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_engine	*he = userp;
	struct http_sock	*s = socketp;
	struct epoll_event	 ev = { 0 };

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			if (s->added)
				epoll_ctl(he->epfd, EPOLL_CTL_DEL, fd, NULL);
			curl_multi_assign(he->multi, fd, NULL);
			s->dead = 1;
			s->next = he->dead;
			he->dead = s;
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->evh.fn = sock_event;
		s->he = he;
		s->fd = fd;
		curl_multi_assign(he->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev.events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev.events |= EPOLLOUT;
	ev.data.ptr = &s->evh;
	/* The descriptor may have been closed and reused since it was added
	 * (it then left the epoll set by itself: MOD fails with ENOENT), or
	 * be in the set already (ADD fails with EEXIST): try the other. */
	if (epoll_ctl(he->epfd, s->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
	    &ev) == 0 || epoll_ctl(he->epfd, s->added ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD, fd, &ev) == 0)
		s->added = 1;
	else
		log_warnx("http checks: epoll_ctl fd %d: %s", (int)fd,
		    strerror(errno));
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_engine	*he = userp;

	(void)multi;
	he->timer = timeout_ms < 0 ? UINT64_MAX :
	    mono_ms() + (uint64_t)timeout_ms;
	return 0;
}

struct http_engine *
http_engine_new(int epfd)
{
	struct http_engine	*he = xcalloc(1, sizeof(*he));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	he->epfd = epfd;
	he->timer = UINT64_MAX;
	if ((he->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(he->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(he->multi, CURLMOPT_SOCKETDATA, he);
	curl_multi_setopt(he->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(he->multi, CURLMOPT_TIMERDATA, he);
	return he;
}

static void
free_dead(struct http_engine *he)
{
	struct http_sock	*s, *next;

	for (s = he->dead; s; s = next) {
		next = s->next;
		free(s);
	}
	he->dead = NULL;
}

void
http_engine_free(struct http_engine *he)
{
	if (he == NULL)
		return;
	curl_multi_cleanup(he->multi);
	free_dead(he);
	free(he);
	curl_global_cleanup();
}

uint64_t
http_engine_next_timer(const struct http_engine *he)
{
	return he->timer;
}

void
http_engine_run_timers(struct http_engine *he, uint64_t now)
{
	int	 running;

	free_dead(he);		/* the batch that could name them is over */
	if (he->timer > now)
		return;
	he->timer = UINT64_MAX;
	curl_multi_socket_action(he->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_drain(he);
}

/* curl could not connect: was it to a loopback address (nothing
 * listens on this host)? */
static int
refused_local(CURL *e)
{
	char		*ip = NULL;
	uint8_t		 a[16];

	if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK ||
	    ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, a) == 1)
		return check_refused_local(AF_INET, a);
	return inet_pton(AF_INET6, ip, a) == 1 &&
	    check_refused_local(AF_INET6, a);
}

/* Collects finished transfers and ends their runs. */
static void
http_drain(struct http_engine *he)
{
	CURLMsg			*m;
	int			 left;

	while ((m = curl_multi_info_read(he->multi, &left)) != NULL) {
		struct http_check	*h = NULL;
		CURLcode		 rc = m->data.result;
		long			 status = 0, nconn = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &nconn);
		h->reset = rc != CURLE_OK || nconn > 0;
		curl_multi_remove_handle(he->multi, m->easy_handle);
		h->active = 0;
		if (rc == CURLE_COULDNT_CONNECT)
			h->c->local = refused_local(m->easy_handle);
		if (rc != CURLE_OK)
			check_finish(h->c, 0, "%s", h->errbuf[0] ? h->errbuf :
			    curl_easy_strerror(rc));
		else if (status != h->expect)
			check_finish(h->c, 0, "HTTP %ld, expected %ld", status,
			    h->expect);
		else if (h->body_want && (h->body == NULL ||
		    memmem(h->body, h->bodylen, h->body_want,
		    strlen(h->body_want)) == NULL))
			check_finish(h->c, 0, "HTTP %ld but the body lacks "
			    "'%.40s'", status, h->body_want);
		else
			check_finish(h->c, 1, "HTTP %ld", status);
	}
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_check	*h = userp;
	size_t			 n = size * nmemb, room;

	if (h->body_want == NULL)
		return n;
	room = HTTP_MAXBODY - h->bodylen;
	if (n < room)
		room = n;
	if (room > 0) {
		h->body = xreallocarray(h->body, 1, h->bodylen + room + 1);
		memcpy(h->body + h->bodylen, data, room);
		h->bodylen += room;
	}
	return n;
}

/*
 * Keeps one cached connection per check.  curl's default cache holds
 * four per easy handle *in the multi*, and a check's handle is in the
 * multi only while it runs: with a thousand checks and a handful running
 * at once, the cache was pruned constantly and about 30 % of the checks
 * paid for a new TCP connection (300 connects a second instead of 100).
 */
static void
http_engine_count(struct http_engine *he, long delta)
{
	he->nchecks += delta;
	curl_multi_setopt(he->multi, CURLMOPT_MAXCONNECTS,
	    he->nchecks > 0 ? he->nchecks : 1L);
}

/* The easy handle's options; set again before every run, after
 * curl_easy_reset (see http_start). */
static void
http_setopts(struct http_check *h)
{
	if (h->cu)
		curl_easy_setopt(h->easy, CURLOPT_CURLU, h->cu);
	else
		curl_easy_setopt(h->easy, CURLOPT_URL, h->url);
	curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h);
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	/* Keep-alive, but a connection lives at most HTTP_CONN_LIFE_S (see
	 * the top of this file for what that trades). */
	curl_easy_setopt(h->easy, CURLOPT_MAXLIFETIME_CONN, (long)HTTP_CONN_LIFE_S);
	curl_easy_setopt(h->easy, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "castiron-bgp/" CASTIRON_VERSION);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)h->c->timeout_ms);
}

static enum err_code
http_init(struct check *c, const struct cfg_service *s, struct err *err)
{
	struct http_check	*h;

	if (s->url == NULL) {
		err_set(err, ERR_INVAL, "no url");
		return err->code;
	}
	h = xcalloc(1, sizeof(*h));
	h->c = c;
	h->url = xstrdup(s->url);
	h->expect = (long)s->expect;
	h->body_want = s->body ? xstrdup(s->body) : NULL;
	if ((h->easy = curl_easy_init()) == NULL) {
		err_set(err, ERR_FAIL, "curl_easy_init failed");
		free(h->url);
		free(h->body_want);
		free(h);
		return err->code;
	}
	/* Parsed once here, not on every run (curl would parse the text
	 * each time); a URL curl's parser refuses is left to CURLOPT_URL,
	 * so that each run fails with curl's own message as before. */
	if ((h->cu = curl_url()) != NULL &&
	    curl_url_set(h->cu, CURLUPART_URL, h->url, 0) != CURLUE_OK) {
		curl_url_cleanup(h->cu);
		h->cu = NULL;
	}
	http_setopts(h);
	c->priv = h;
	http_engine_count(c->ck->http, 1);
	return ERR_OK;
}

static void
http_start(struct check *c)
{
	struct http_check	*h = c->priv;
	struct http_engine	*he = c->ck->http;
	CURLMcode		 mc;

	/* A handle reused from run to run keeps curl's count of retries
	 * on dead kept-alive connections (curl 7.88 resets it only when
	 * it gives up): every sixth run that met a connection the server
	 * had just closed failed with "Connection died, tried 5 times"
	 * although curl's one retry on a fresh connection succeeded.
	 * curl_easy_reset clears it (the connection cache is the multi's
	 * and is kept).  A retry always opens a connection, so the reset
	 * is done only after a run that opened one or failed: resetting
	 * before every run cost 16 % more instructions per check. */
	if (h->reset) {
		curl_easy_reset(h->easy);
		http_setopts(h);
		h->reset = 0;
	}
	h->errbuf[0] = '\0';
	free(h->body);
	h->body = NULL;
	h->bodylen = 0;
	if ((mc = curl_multi_add_handle(he->multi, h->easy)) != CURLM_OK) {
		check_finish(c, 0, "curl: %s", curl_multi_strerror(mc));
		return;
	}
	h->active = 1;
}

static void
http_abort(struct check *c)
{
	struct http_check	*h = c->priv;

	if (h->active) {
		curl_multi_remove_handle(c->ck->http->multi, h->easy);
		h->active = 0;
		h->reset = 1;
	}
}

static void
http_free(struct check *c)
{
	struct http_check	*h = c->priv;

	http_abort(c);
	curl_easy_cleanup(h->easy);
	curl_url_cleanup(h->cu);
	http_engine_count(c->ck->http, -1);
	free(h->url);
	free(h->body_want);
	free(h->body);
	free(h);
}

const struct check_ops check_http_ops = {
	http_init, http_start, http_abort, http_free
};
