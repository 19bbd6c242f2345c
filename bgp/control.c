/*
 * The daemon's control socket and the drain file.  A client connects to
 * control_socket, writes one line ("status", "drain" or "undrain") and
 * reads one JSON document; "drain" and "undrain" make the daemon re-read
 * the drain file, which `bgp drain` writes (and `bgp undrain` removes)
 * before poking, so that a drain survives restarts of castiron and of the
 * host.  The status document is the one docs/bgp.md documents for
 * `bgp status --format json`.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgp/daemon_int.h"
#include "lib/atomicfile.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define CONTROL_MAXREQ	256
#define CONTROL_MAXREPLY	(16 << 20)
#define CONTROL_IDLE_MS	5000	/* a client's whole life: ask, wait, read */
#define CONTROL_CONFIRM_MS 3000	/* a drain waits this long for BIRD */
#define CONTROL_MAXCLIENTS 64	/* more are turned away at once */
#define CONTROL_RETRY_MS 200	/* accept again after running out of fds */

struct client {
	struct evh	 evh;
	struct bgpd	*d;
	int		 fd;
	uint64_t	 id;		/* what a reply that comes later looks for */
	char		 buf[CONTROL_MAXREQ];
	size_t		 len;
	int		 asked;		/* the request line is in */
	uint64_t	 since;		/* monotonic ms */
	uint64_t	 confirm_by;	/* drain: answer by then; 0 not waiting */
	int		 graceful;	/* ... for BIRD to take 65535:0 */
	char		*out;		/* the answer, written as the client reads */
	size_t		 outlen, outoff;
	struct client	*next;
};

void
control_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

uint64_t
control_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the drain file ---- */

int
control_drain_read(const char *path, char *reason, size_t len,
    uint64_t *withdraw_at_ms, struct err *err)
{
	FILE		*f;
	char		 line[256] = "", second[64] = "";
	uint64_t	 at;
	int		 e;

	reason[0] = '\0';
	*withdraw_at_ms = 0;
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		err_errno(err, ERR_FAIL, "drain file unreadable");
		return -1;
	}
	if (fgets(line, sizeof(line), f) != NULL)
		line[strcspn(line, "\r\n")] = '\0';
	else if (ferror(f)) {
		/* A directory, an I/O error: it exists, so drained. */
		e = errno;
		fclose(f);
		errno = e;
		err_errno(err, ERR_FAIL, "drain file unreadable");
		return -1;
	}
	/* The second line, if any: when a graceful drain withdraws. */
	if (fgets(second, sizeof(second), f) != NULL) {
		second[strcspn(second, "\r\n")] = '\0';
		if (strncmp(second, "withdraw_at ", 12) == 0 &&
		    parse_uint(second + 12, 0, UINT64_MAX, &at,
		    NULL) == ERR_OK)
			*withdraw_at_ms = at;
	}
	fclose(f);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	snprintf(reason, len, "%s", line);
	return 1;
}

enum err_code
control_drain_write(const char *path, const char *reason,
    uint64_t withdraw_at_ms, struct err *err)
{
	struct afile	*a;
	FILE		*f;

	/* Durable: a drain must survive a power cut of the host. */
	if ((a = afile_open(path, 0644, &f, err)) == NULL)
		return err->code;
	fprintf(f, "%s\n", reason && *reason ? reason : "drained by operator");
	if (withdraw_at_ms)
		fprintf(f, "withdraw_at %llu\n", (unsigned long long)withdraw_at_ms);
	return afile_commit(a, 1, err);
}

enum err_code
control_drain_remove(const char *path, struct err *err)
{
	if (unlink(path) == -1 && errno != ENOENT)
		return err_errno(err, ERR_FAIL, "%s", path);
	return ERR_OK;
}

int
control_read_drain(struct bgpd *d)
{
	char		 reason[256];
	struct err	 e;
	uint64_t	 at, now = control_wall_ms();
	int		 r, was = d->drain_on;

	r = control_drain_read(d->cfg->bgp.drain_file, reason, sizeof(reason),
	    &at, &e);
	if (r == -1) {
		/* Why is the reason shown, as for a drain that can be read. */
		snprintf(reason, sizeof(reason), "%.*s",
		    (int)sizeof(reason) - 1, e.msg);
		/* It is there but cannot be read: someone meant to drain, so
		 * fail closed (drained), and say so once. */
		if (!d->drain_unreadable)
			log_warnx("%s: %s; taken as drained",
			    d->cfg->bgp.drain_file, reason);
		d->drain_unreadable = 1;
		r = 1;
		at = 0;
	} else
		d->drain_unreadable = 0;
	d->drain_on = r;
	snprintf(d->drain_reason, sizeof(d->drain_reason), "%s", reason);
	if (r && !was && d->running && at > now && !d->stopping) {
		/* A graceful drain: never longer than drain_grace. */
		uint64_t ms = at - now;

		if (ms > d->cfg->bgp.drain_grace_ms)
			ms = d->cfg->bgp.drain_grace_ms;
		daemon_grace_begin(d, ms);
		log_warnx("draining: %s (every prefix announced with "
		    "GRACEFUL_SHUTDOWN, 65535:0; withdrawn in %llums)", reason,
		    (unsigned long long)ms);
		d->dirty = 1;
		return 1;
	}
	if (r && (!was || (at == 0 && d->grace_until && !d->stopping))) {
		/* A drain at once: at start, without a grace, or --now
		 * during one. */
		if (was)
			log_warnx("drained now: %s (the grace is cut short; "
			    "withdrawing every prefix)", reason);
		else
			log_warnx("drained: %s (withdrawing every prefix)",
			    reason);
		daemon_grace_stop(d);
		d->ctl->drained = 1;
		d->dirty = 1;
		return 1;
	}
	if (!r && was) {
		log_info("undrained: announcing what is healthy");
		daemon_grace_stop(d);
		d->ctl->drained = 0;
		d->dirty = 1;
		return 1;
	}
	return 0;
}

/* ---- status ---- */

json_t *
control_status(struct bgpd *d)
{
	json_t	*o = json_object(), *svcs = json_array(), *pfx = json_array();
	char	 ts[32];
	size_t	 i, j;

	json_object_set_new(o, "drained", json_boolean(d->drain_on ||
	    d->ctl->drained));
	json_object_set_new(o, "drain_reason", d->drain_on ?
	    json_string(d->drain_reason) : d->stopping ?
	    json_string("stopping") : json_null());
	/* A grace under way: the prefixes carry 65535:0 until withdraw_at. */
	if (d->grace_until) {
		uint64_t now = mono_ms();

		control_fmt_time(d->grace_until_wall, ts, sizeof(ts));
		json_object_set_new(o, "draining", json_pack("{s:s,s:I,s:b,s:b}",
		    "withdraw_at", ts,
		    "withdraw_in_ms", (json_int_t)(d->grace_until > now ?
		    d->grace_until - now : 0),
		    "stopping", d->stopping,
		    "graceful_shutdown_in_bird", announce_attrs_applied(d->ann)));
	} else
		json_object_set_new(o, "draining", json_null());
	json_object_set_new(o, "bird", json_pack("{s:b,s:s,s:s}",
	    "connected", bird_connected(d->bird),
	    "version", bird_version(d->bird),
	    "socket", d->cfg->bgp.bird_socket));
	for (i = 0; i < d->ctl->nservice; i++) {
		struct ctl_service *s = &d->ctl->service[i];
		control_fmt_time(s->since, ts, sizeof(ts));
		json_t *held = json_null();

		if (s->held_until) {
			char hts[32];

			control_fmt_time(s->held_until_wall, hts, sizeof(hts));
			held = json_string(hts);
		}
		json_array_append_new(svcs, json_pack("{s:s,s:s,s:b,s:s,s:s,"
		    "s:o,s:o,s:I,s:I,s:b,s:o}",
		    "name", s->name,
		    "check", check_kind_name(s->cfg.check),
		    "healthy", s->healthy,
		    "state", ctl_state(s),
		    "since", ts,
		    /* Only while failing: an up service shows no stale error
		     * (last_result says how the last run went). */
		    "last_error", s->last_error[0] && s->fail_streak > 0 ?
		    json_string(s->last_error) : json_null(),
		    "last_result", s->last_reason[0] ?
		    json_string(s->last_reason) : json_null(),
		    "checks_ok", (json_int_t)s->checks_ok,
		    "checks_failed", (json_int_t)s->checks_failed,
		    "fail_open", s->cfg.fail_open,
		    "held_until", held));
	}
	for (i = 0; i < d->ctl->nprefix; i++) {
		struct ctl_prefix	*p = &d->ctl->prefix[i];
		json_t			*names = json_array();

		for (j = 0; j < p->nservices; j++)
			json_array_append_new(names, json_string(
			    d->ctl->service[p->services[j]].name));
		control_fmt_time(p->since, ts, sizeof(ts));
		json_array_append_new(pfx, json_pack("{s:s,s:b,s:b,s:o,s:s,s:s,"
		    "s:b,s:o}",
		    "prefix", p->str,
		    "announced", p->applied == 1,
		    "wanted", p->want,
		    "services", names,
		    "protocol", p->proto,
		    "since", ts,
		    "kept", p->guarded && p->kept,
		    "note", guard_note(d, i) ? json_string(guard_note(d, i)) :
		    json_null()));
	}
	json_object_set_new(o, "include_file", json_pack("{s:s,s:o}",
	    "path", announce_path(d->ann),
	    "error", announce_error(d->ann) ?
	    json_string(announce_error(d->ann)) : json_null()));
	json_object_set_new(o, "services", svcs);
	json_object_set_new(o, "prefixes", pfx);
	return o;
}

/* ---- the server side ---- */

static void
client_close(struct client *c)
{
	struct client	**pp;

	for (pp = &c->d->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->d->nclients--;
	epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Writes what the socket takes; the rest when epoll says it may. */
static void
client_flush(struct client *c)
{
	struct epoll_event	 ev = { .events = EPOLLOUT };
	ssize_t			 w;

	while (c->outoff < c->outlen) {
		w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w > 0) {
			c->outoff += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			ev.data.ptr = &c->evh;
			epoll_ctl(c->d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		break;
	}
	client_close(c);
}

static void
client_reply(struct client *c, json_t *reply)
{
	char	*text = json_dumps(reply, JSON_COMPACT);

	json_decref(reply);
	c->confirm_by = 0;
	if (text == NULL) {
		client_close(c);
		return;
	}
	c->outlen = strlen(text);
	text = xreallocarray(text, 1, c->outlen + 2);
	text[c->outlen++] = '\n';
	c->out = text;
	c->outoff = 0;
	client_flush(c);
}

static struct client *
client_find(struct bgpd *d, uint64_t id)
{
	struct client	*c;

	for (c = d->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void
drain_answer(struct client *c, int n, const struct bird_proto *up,
    const char *err)
{
	json_t	*reply = control_status(c->d), *names = json_array();
	int	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(names, json_string(up[i].name));
	json_object_set_new(reply, "withdrawn", json_pack("{s:b,s:o,s:o}",
	    "confirmed", n == 0, "still_up", names,
	    "error", n == -1 ? json_string(err) : json_null()));
	client_reply(c, reply);
}

/*
 * BIRD's answer to a drain's check (see announce_confirm_down): the
 * client asked by the cookie, if it is still there, gets the status with
 * what BIRD confirmed.
 */
static void
drain_confirmed(void *ctx, uint64_t cookie, int n, const struct bird_proto *up,
    const char *err)
{
	struct client	*c = client_find(ctx, cookie);

	if (c != NULL && c->confirm_by != 0)
		drain_answer(c, n, up, err);
}

uint64_t
control_next_timer(const struct bgpd *d)
{
	const struct client	*c;
	uint64_t		 t = d->listen_retry ? d->listen_retry : UINT64_MAX;

	for (c = d->clients; c; c = c->next) {
		if (c->since + CONTROL_IDLE_MS < t)
			t = c->since + CONTROL_IDLE_MS;
		if (c->confirm_by && c->confirm_by < t)
			t = c->confirm_by;
	}
	return t;
}

static void
listen_arm(struct bgpd *d, int on)
{
	struct epoll_event	 ev = { .events = on ? EPOLLIN : 0 };

	ev.data.ptr = &d->listen_evh;
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->lfd, &ev);
}

static void
graceful_answer(struct client *c, int confirmed, const char *err)
{
	json_t	*reply = control_status(c->d);

	c->graceful = 0;
	json_object_set_new(reply, "graceful", json_pack("{s:b,s:o}",
	    "confirmed", confirmed, "error", err ? json_string(err) :
	    json_null()));
	client_reply(c, reply);
}

int
control_waiting(const struct bgpd *d)
{
	const struct client	*c;

	for (c = d->clients; c; c = c->next)
		if (c->graceful)
			return 1;
	return 0;
}

void
control_poll(struct bgpd *d)
{
	struct client	*c, *next;

	for (c = d->clients; c; c = next) {
		next = c->next;
		if (!c->graceful)
			continue;
		if (!d->grace_until)	/* cut short: --now, a failure */
			graceful_answer(c, 0, "the grace ended before BIRD "
			    "confirmed");
		else if (announce_attrs_applied(d->ann))
			graceful_answer(c, 1, NULL);
	}
}

void
control_expire(struct bgpd *d, uint64_t now)
{
	struct client	*c, *next;
	struct err	 err;

	for (c = d->clients; c; c = next) {
		next = c->next;
		if (now - c->since >= CONTROL_IDLE_MS)
			client_close(c);
		else if (c->confirm_by && now >= c->confirm_by) {
			err_set(&err, ERR_TIMEOUT, "BIRD did not answer "
			    "within %dms", CONTROL_CONFIRM_MS);
			if (c->graceful)
				graceful_answer(c, 0, err.msg);
			else
				drain_answer(c, -1, NULL, err.msg);
		}
	}
	if (d->listen_retry && now >= d->listen_retry) {
		d->listen_retry = 0;
		listen_arm(d, 1);
	}
}

static void
client_request(struct client *c)
{
	struct bgpd	*d = c->d;
	json_t		*reply;

	if (strcmp(c->buf, "status") == 0)
		reply = control_status(d);
	else if (strcmp(c->buf, "drain") == 0 || strcmp(c->buf, "undrain") == 0) {
		int changed = control_read_drain(d);

		/* Act now, not at the next loop turn: the operator waits.
		 * The loop then finds nothing changed, so the metrics of the
		 * change are asked for here (written at once, not in 5 s).  A
		 * grace changes no prefix's want, only its routes' attributes,
		 * which the flush sends (by a configure). */
		if (ctl_update(d->ctl, time(NULL)) > 0 || changed) {
			announce_flush(d->ann, d->ctl);
			timer_set(&d->timers, TIMER_METRICS, 0);
		}
		if (d->ctl->drained) {
			/* Answered once BIRD says what is still up (its
			 * answer comes after the disables just sent). */
			c->confirm_by = mono_ms() + CONTROL_CONFIRM_MS;
			announce_confirm_down(d->ann, drain_confirmed, d, c->id);
			return;
		}
		if (d->grace_until) {
			/* Answered once BIRD has taken the routes with
			 * 65535:0 (control_poll), or after the same wait. */
			c->confirm_by = mono_ms() + CONTROL_CONFIRM_MS;
			c->graceful = 1;
			control_poll(d);
			return;
		}
		reply = control_status(d);
	} else
		reply = json_pack("{s:s}", "error", "unknown command");
	client_reply(c, reply);
}

static void
client_event(struct evh *h, uint32_t events)
{
	struct client	*c = (struct client *)h;
	ssize_t		 n;
	char		*nl;

	if (c->out != NULL) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			client_flush(c);
		return;
	}
	if (c->asked) {
		/* Waiting for BIRD: a client that hangs up is let go. */
		if (events & (EPOLLERR | EPOLLHUP))
			client_close(c);
		return;
	}
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if ((nl = strchr(c->buf, '\n')) == NULL) {
		if (c->len >= sizeof(c->buf) - 1)
			client_close(c);
		return;
	}
	*nl = '\0';
	c->asked = 1;
	/* Nothing more is read from it: what else it sends, or its EOF,
	 * must not wake the loop while its answer is prepared. */
	{
		struct epoll_event ev = { .events = 0 };
		ev.data.ptr = &c->evh;
		epoll_ctl(c->d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	client_request(c);
}

/* Makes room for one more client: the oldest that has not asked yet
 * goes (a crowd of silent clients must not lock the operator out). */
static int
client_evict(struct bgpd *d)
{
	struct client	*c, *old = NULL;

	for (c = d->clients; c; c = c->next)	/* newest first */
		if (!c->asked)
			old = c;
	if (old == NULL)
		return 0;
	client_close(old);
	return 1;
}

static void
listen_event(struct evh *h, uint32_t events)
{
	struct bgpd		*d = (struct bgpd *)(void *)((char *)h -
	    offsetof(struct bgpd, listen_evh));
	struct epoll_event	 ev = { .events = EPOLLIN };
	struct client		*c;
	int			 fd, i;

	(void)events;
	/* Bounded per event, so that a flood of clients cannot hold the
	 * loop either. */
	for (i = 0; i < 64; i++) {
		fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: the pending connection
				 * would wake epoll at once, again and again.
				 * Stop listening for a moment instead. */
				if (!d->listen_full_warned)
					log_warn("control socket: accept");
				d->listen_full_warned = 1;
				listen_arm(d, 0);
				d->listen_retry = mono_ms() + CONTROL_RETRY_MS;
			}
			return;
		}
		d->listen_full_warned = 0;
		if (d->nclients >= CONTROL_MAXCLIENTS &&
		    !client_evict(d)) {
			close(fd);	/* the client sees its connection closed */
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->evh.fn = client_event;
		c->d = d;
		c->fd = fd;
		c->id = ++d->client_ids;
		c->since = mono_ms();
		ev.data.ptr = &c->evh;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(c);
			continue;
		}
		c->next = d->clients;
		d->clients = c;
		d->nclients++;
	}
}

static enum err_code
sun_fill(struct sockaddr_un *sun, const char *path, struct err *err)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return err_set(err, ERR_INVAL, "%s: socket path too long",
		    path);
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return ERR_OK;
}

enum err_code
control_listen(struct bgpd *d, struct err *err)
{
	struct sockaddr_un	 sun;
	struct epoll_event	 ev = { .events = EPOLLIN };
	const char		*path = d->cfg->bgp.control_socket;
	char			*dir, *slash;
	mode_t			 old;
	int			 fd;

	if (sun_fill(&sun, path, err) != ERR_OK)
		return err->code;
	/* A live daemon answers; a stale socket file does not. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			return err_set(err, ERR_FAIL, "another castiron bgp "
			    "daemon answers on %s", path);
		}
		close(fd);
	}
	unlink(path);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			err_errno(err, ERR_FAIL, "mkdir %s", dir);
			free(dir);
			return err->code;
		}
	}
	free(dir);
	if ((d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return err_errno(err, ERR_FAIL, "socket");
	old = umask(0117);
	if (bind(d->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(d->lfd, 16) == -1) {
		umask(old);
		err_errno(err, ERR_FAIL, "%s", path);
		close(d->lfd);
		d->lfd = -1;
		return err->code;
	}
	umask(old);
	d->lpath = xstrdup(path);
	d->listen_evh.fn = listen_event;
	ev.data.ptr = &d->listen_evh;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->lfd, &ev) == -1)
		return err_errno(err, ERR_FAIL, "epoll");
	return ERR_OK;
}

void
control_close(struct bgpd *d)
{
	while (d->clients)
		client_close(d->clients);
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->lpath);
	}
	d->lfd = -1;
	free(d->lpath);
	d->lpath = NULL;
}

/* ---- the client side (bgp status, drain, undrain) ---- */

json_t *
control_request(const char *path, const char *cmd, struct err *err)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	json_error_t		 jerr;
	json_t			*j;
	char			*buf = NULL;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 fd;

	if (sun_fill(&sun, path, err) != ERR_OK)
		return NULL;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		err_errno(err, ERR_FAIL, "socket");
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_set(err, ERR_FAIL, "no castiron bgp daemon answers on %s "
		    "(%s); is `castiron bgp run` running?", path,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (dprintf(fd, "%s\n", cmd) < 0) {
		err_errno(err, ERR_FAIL, "%s", path);
		close(fd);
		return NULL;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, 5000) <= 0) {
			err_set(err, ERR_TIMEOUT, "%s: the daemon did not "
			    "answer within 5s", path);
			goto fail;
		}
		if (cap - len < 4096) {
			if (cap >= CONTROL_MAXREPLY) {
				err_set(err, ERR_FAIL, "%s: reply too long",
				    path);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			buf = xreallocarray(buf, 1, cap);
		}
		if ((n = file_read(fd, buf + len, cap - len - 1, path, err)) ==
		    -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL) {
		err_set(err, ERR_FAIL, "%s: empty reply", path);
		return NULL;
	}
	buf[len] = '\0';
	j = json_loads(buf, 0, &jerr);
	free(buf);
	if (j == NULL)
		err_set(err, ERR_FAIL, "%s: bad reply: %s", path, jerr.text);
	return j;
fail:
	free(buf);
	close(fd);
	return NULL;
}
