/*
 * BIRD control-socket client (see bird.h).  Modelled on birdc's
 * client/client.c: one command, then lines until a code followed by a
 * space.  Commands are queued and written without waiting; BIRD answers
 * them in order, and each reply, read as it arrives from the daemon's
 * epoll loop, goes to its command's callback.  A BIRD that does not
 * answer within bird_timeout loses its connection (every queued command
 * fails), which the daemon re-establishes with backoff.  Without a loop
 * (the CLI, and the daemon as it stops), bird_wait polls the one socket,
 * never past its deadline.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bgp/bird.h"
#include "bgp/ev.h"
#include "lib/xmalloc.h"

struct bird_req;

struct bird {
	struct evh	 evh;		/* first: epoll hands us this */
	int		 epfd;		/* -1: not in a loop (waits with poll) */
	bird_state_fn	 state_fn;
	void		*state_arg;
	char		*path;
	uint64_t	 timeout_ms;
	int		 fd;
	int		 state;
	char		 version[32];
	char		*buf;		/* bytes read, not yet parsed */
	size_t		 len, cap;
	struct bird_parser p;		/* the reply being read */
	char		*out;		/* commands not yet written */
	size_t		 outlen, outoff, outcap;
	struct bird_req	*head, *tail;	/* sent, in the order BIRD answers */
	size_t		 npending;
	uint64_t	 deadline;	/* for the greeting or the head's reply */
};

/* ---- the pure reply parser ---- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void
reply_add(struct bird_reply *r, int code, const char *text, size_t n)
{
	struct bird_line	*l;

	if (r->nlines % 16 == 0)
		r->lines = xreallocarray(r->lines, r->nlines + 16,
		    sizeof(*r->lines));
	l = &r->lines[r->nlines++];
	l->code = code;
	l->text = xstrndup(text, n);
}

void
bird_reply_clear(struct bird_reply *r)
{
	size_t	 i;

	for (i = 0; i < r->nlines; i++)
		free(r->lines[i].text);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

void
bird_parser_init(struct bird_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->last = -1;
}

ssize_t
bird_parser_feed(struct bird_parser *p, const char *buf, size_t len,
    struct err *err)
{
	size_t		 pos = 0;

	while (pos < len && !p->done) {
		const char	*line = buf + pos, *nl;
		size_t		 n, from = pos == 0 ? p->scanned : 0;

		/* A partial line is looked at once: the scan goes on from
		 * where the last call stopped. */
		if (from > len - pos)
			from = len - pos;
		nl = memchr(line + from, '\n', len - pos - from);
		if (nl == NULL) {
			if (len - pos > BIRD_MAX_LINE) {
				err_set(err, ERR_FAIL, "BIRD reply line longer "
				    "than %d bytes", BIRD_MAX_LINE);
				return -1;
			}
			p->scanned = len - pos;
			break;
		}
		p->scanned = 0;
		n = (size_t)(nl - line);
		if (n > BIRD_MAX_LINE) {
			err_set(err, ERR_FAIL, "BIRD reply line longer than %d "
			    "bytes", BIRD_MAX_LINE);
			return -1;
		}
		if (p->used + n + 1 > BIRD_MAX_REPLY) {
			err_set(err, ERR_FAIL, "BIRD reply longer than %d bytes",
			    BIRD_MAX_REPLY);
			return -1;
		}
		if (memchr(line, '\0', n) != NULL) {
			err_set(err, ERR_FAIL, "NUL byte in BIRD reply");
			return -1;
		}
		if (p->r.nlines >= BIRD_MAX_LINES) {
			err_set(err, ERR_FAIL, "BIRD reply has more than %d "
			    "lines", BIRD_MAX_LINES);
			return -1;
		}
		pos += n + 1;
		p->used += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n >= 1 && line[0] == '+') {
			/* Unsolicited (asynchronous) message: not ours. */
			p->r.nunsolicited++;
			continue;
		}
		if (n >= 1 && line[0] == ' ') {
			reply_add(&p->r, p->last, line + 1, n - 1);
			continue;
		}
		if (n >= 5 && is_digit(line[0]) && is_digit(line[1]) &&
		    is_digit(line[2]) && is_digit(line[3]) &&
		    (line[4] == ' ' || line[4] == '-')) {
			int code = (line[0] - '0') * 1000 + (line[1] - '0') * 100 +
			    (line[2] - '0') * 10 + (line[3] - '0');
			p->last = code;
			reply_add(&p->r, code, line + 5, n - 5);
			if (line[4] == ' ') {
				p->r.code = code;
				p->done = 1;
			}
			continue;
		}
		/* birdc prints such a line as "???" and carries on. */
		reply_add(&p->r, p->last, line, n);
	}
	return (ssize_t)pos;
}

ssize_t
bird_reply_parse(const char *buf, size_t len, struct bird_reply *r,
    struct err *err)
{
	struct bird_parser	 p;
	ssize_t			 used;

	bird_reply_clear(r);
	bird_parser_init(&p);
	used = bird_parser_feed(&p, buf, len, err);
	if (used > 0 && p.done) {
		*r = p.r;
		return used;
	}
	bird_reply_clear(&p.r);
	return used < 0 ? -1 : 0;
}

int
bird_reply_no_protocol(const struct bird_reply *r)
{
	/* "syntax error, unexpected CF_SYM_UNDEFINED": BIRD has no such
	 * protocol (the name is not a symbol of its configuration). */
	return r->code == 9001 && r->nlines > 0 &&
	    strstr(r->lines[r->nlines - 1].text, "UNDEFINED") != NULL;
}

int
bird_code_is_error(int code)
{
	return code >= 8000 || code == 16 || code < 0;
}

void
bird_reply_error(const struct bird_reply *r, struct err *err)
{
	size_t	 i;

	/* The last line with an error code says what went wrong. */
	for (i = r->nlines; i > 0; i--)
		if (r->lines[i - 1].code == r->code) {
			err_set(err, ERR_FAIL, "BIRD %04d %s%s", r->code,
			    r->lines[i - 1].text,
			    r->code == 8007 || r->code == 16 ?
			    " (restricted socket? castiron needs BIRD's full "
			    "control socket)" : "");
			return;
		}
	err_set(err, ERR_FAIL, "BIRD reply %04d", r->code);
}

int
bird_configure_ok(const struct bird_reply *r)
{
	return r->code == 3 || r->code == 4 || r->code == 18 || r->code == 20;
}

int
bird_parse_protocols(const struct bird_reply *r, struct bird_proto **out,
    size_t *n)
{
	struct bird_proto	*list = NULL;
	size_t			 i, cnt = 0;

	for (i = 0; i < r->nlines; i++) {
		struct bird_proto	 p;
		char			 field[4][72];
		const char		*s = r->lines[i].text;
		int			 f;

		if (r->lines[i].code != 1002)
			continue;
		memset(field, 0, sizeof(field));
		for (f = 0; f < 4; f++) {
			size_t k = 0;
			while (*s == ' ' || *s == '\t')
				s++;
			while (*s && *s != ' ' && *s != '\t') {
				if (k + 1 < sizeof(field[f]))
					field[f][k++] = *s;
				s++;
			}
			field[f][k] = '\0';
		}
		if (field[3][0] == '\0')
			continue;
		memset(&p, 0, sizeof(p));
		snprintf(p.name, sizeof(p.name), "%s", field[0]);
		snprintf(p.proto, sizeof(p.proto), "%.31s", field[1]);
		snprintf(p.state, sizeof(p.state), "%.15s", field[3]);
		if (cnt % 16 == 0)
			list = xreallocarray(list, cnt + 16, sizeof(*list));
		list[cnt++] = p;
	}
	*out = list;
	*n = cnt;
	return 0;
}

/* ---- the connection ---- */

enum { B_CLOSED, B_GREETING, B_READY };

struct bird_req {
	char		*line;		/* the command, with its newline */
	size_t		 len;
	int		 sent;
	bird_done_fn	 done;		/* NULL: forgotten, the reply is dropped */
	void		*owner;
	void		*arg;		/* freed here after done */
	struct bird_req	*next;
};

static void	bird_event(struct evh *, uint32_t);

struct bird *
bird_new(const char *socket_path, uint64_t timeout_ms)
{
	struct bird	*b = xcalloc(1, sizeof(*b));

	b->evh.fn = bird_event;
	b->path = xstrdup(socket_path);
	b->timeout_ms = timeout_ms;
	b->fd = -1;
	b->epfd = -1;
	return b;
}

void
bird_attach(struct bird *b, int epfd, bird_state_fn fn, void *arg)
{
	b->epfd = epfd;
	b->state_fn = fn;
	b->state_arg = arg;
}

void
bird_free(struct bird *b)
{
	if (b == NULL)
		return;
	b->state_fn = NULL;
	bird_close(b);
	free(b->path);
	free(b->buf);
	free(b->out);
	free(b);
}

/* Closes the connection; every queued command fails with err. */
static void
bird_fail(struct bird *b, const char *err)
{
	struct bird_req	*q;
	int		 was = b->state;

	if (b->fd == -1)
		return;
	if (b->epfd != -1)
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, b->fd, NULL);
	close(b->fd);
	b->fd = -1;
	b->state = B_CLOSED;
	b->len = b->outlen = b->outoff = 0;
	b->version[0] = '\0';
	bird_reply_clear(&b->p.r);
	/* The queue is taken first: a callback may queue (and fail) more. */
	while ((q = b->head) != NULL) {
		b->head = q->next;
		if (b->head == NULL)
			b->tail = NULL;
		b->npending--;
		if (q->done)
			q->done(b, q->arg, -1, NULL, err);
		free(q->line);
		free(q->arg);
		free(q);
	}
	if (b->state_fn && was != B_CLOSED)
		b->state_fn(b, b->state_arg, 0, err);
}

void
bird_close(struct bird *b)
{
	bird_fail(b, "connection closed");
}

int
bird_connected(const struct bird *b)
{
	return b->state == B_READY;
}

int
bird_connecting(const struct bird *b)
{
	return b->state == B_GREETING;
}

const char *
bird_version(const struct bird *b)
{
	return b->version;
}

size_t
bird_pending(const struct bird *b)
{
	return b->npending;
}

void
bird_forget(struct bird *b, void *owner)
{
	struct bird_req	*q;

	for (q = b->head; q; q = q->next)
		if (q->owner == owner)
			q->done = NULL;
}

uint64_t
bird_next_timer(const struct bird *b)
{
	if (b->state == B_GREETING || b->npending > 0)
		return b->deadline;
	return UINT64_MAX;
}

void
bird_run_timers(struct bird *b, uint64_t now)
{
	if ((b->state == B_GREETING || b->npending > 0) && now >= b->deadline)
		bird_fail(b, "BIRD did not answer in time");
}

static void
bird_watch(struct bird *b)
{
	struct epoll_event	 ev = { .events = EPOLLIN };

	if (b->epfd == -1 || b->fd == -1)
		return;
	if (b->outoff < b->outlen)
		ev.events |= EPOLLOUT;
	ev.data.ptr = &b->evh;
	epoll_ctl(b->epfd, EPOLL_CTL_MOD, b->fd, &ev);
}

/* Writes what is queued for BIRD; -1 when the connection failed. */
static int
bird_write(struct bird *b)
{
	ssize_t	 w;
	int	 blocked = 0;

	while (b->outoff < b->outlen) {
		w = write(b->fd, b->out + b->outoff, b->outlen - b->outoff);
		if (w > 0) {
			b->outoff += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			blocked = 1;
			break;
		}
		bird_fail(b, "write to BIRD failed");
		return -1;
	}
	if (b->outoff == b->outlen)
		b->outoff = b->outlen = 0;
	if (blocked || b->outlen == 0)
		bird_watch(b);
	return 0;
}

static int	bird_put(struct bird *, struct bird_req *);

static void
bird_greeting(struct bird *b, const struct bird_reply *r)
{
	const char	*v, *e;
	struct err	 err;

	if (r->code != 1 || r->nlines == 0) {
		err_set(&err, ERR_FAIL, "%s: unexpected greeting %04d",
		    b->path, r->code);
		bird_fail(b, err.msg);
		return;
	}
	/* "BIRD 2.0.12 ready." */
	v = r->lines[r->nlines - 1].text;
	if (strncmp(v, "BIRD ", 5) == 0) {
		v += 5;
		if ((e = strchr(v, ' ')) == NULL)
			e = v + strlen(v);
		snprintf(b->version, sizeof(b->version), "%.*s",
		    (int)(e - v), v);
	} else
		snprintf(b->version, sizeof(b->version), "unknown");
	b->state = B_READY;
	b->deadline = mono_ms() + b->timeout_ms;
	if (b->state_fn)
		b->state_fn(b, b->state_arg, 1, NULL);
}

/* Reads what BIRD sent and hands each complete reply to its command. */
static void
bird_read(struct bird *b)
{
	struct err	 err;
	ssize_t		 n, used;
	int		 rounds;

	for (rounds = 0; rounds < 64 && b->fd != -1; rounds++) {
		if (b->cap - b->len < 4096) {
			if (b->cap >= 2 * BIRD_MAX_LINE + 8192) {
				bird_fail(b, "BIRD reply line too long");
				return;
			}
			b->cap = b->cap ? b->cap * 2 : 8192;
			b->buf = xreallocarray(b->buf, 1, b->cap);
		}
		n = read(b->fd, b->buf + b->len, b->cap - b->len);
		if (n == 0) {
			bird_fail(b, "BIRD closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				err_errno(&err, ERR_FAIL, "read from BIRD");
				bird_fail(b, err.msg);
			}
			return;
		}
		b->len += (size_t)n;
		while (b->fd != -1 && b->len > 0) {
			struct bird_reply	 r;
			struct bird_req		*q;

			used = bird_parser_feed(&b->p, b->buf, b->len, &err);
			if (used < 0) {
				bird_fail(b, err.msg);
				return;
			}
			memmove(b->buf, b->buf + used, b->len - (size_t)used);
			b->len -= (size_t)used;
			if (!b->p.done)
				break;
			r = b->p.r;
			bird_parser_init(&b->p);
			if (b->state == B_GREETING) {
				bird_greeting(b, &r);
				bird_reply_clear(&r);
				continue;
			}
			if ((q = b->head) == NULL) {
				bird_reply_clear(&r);
				bird_fail(b, "BIRD sent a reply nobody asked for");
				return;
			}
			b->head = q->next;
			if (b->head == NULL)
				b->tail = NULL;
			b->npending--;
			if (q->done)
				q->done(b, q->arg, 0, &r, NULL);
			bird_reply_clear(&r);
			free(q->line);
			free(q->arg);
			free(q);
			/* The next command goes out only now (see bird_send). */
			if (b->fd != -1 && b->head != NULL && !b->head->sent &&
			    bird_put(b, b->head) == -1)
				return;
		}
	}
}

static void
bird_event(struct evh *h, uint32_t events)
{
	struct bird	*b = (struct bird *)h;

	if (b->fd != -1 && (events & EPOLLOUT))
		bird_write(b);
	if (b->fd != -1 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		bird_read(b);
}

enum err_code
bird_connect_start(struct bird *b, struct err *err)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct epoll_event	 ev = { .events = EPOLLIN };

	if (b->state != B_CLOSED)
		return ERR_OK;
	if (strlen(b->path) >= sizeof(sun.sun_path))
		return err_set(err, ERR_INVAL, "%s: socket path too long",
		    b->path);
	memcpy(sun.sun_path, b->path, strlen(b->path) + 1);
	if ((b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return err_errno(err, ERR_FAIL, "socket");
	/* A unix socket connects at once or not at once (EAGAIN: BIRD's
	 * backlog is full); it never waits. */
	if (connect(b->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_errno(err, ERR_FAIL, "%s", b->path);
		close(b->fd);
		b->fd = -1;
		return err->code;
	}
	if (b->epfd != -1) {
		ev.data.ptr = &b->evh;
		if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->fd, &ev) == -1) {
			err_errno(err, ERR_FAIL, "epoll");
			close(b->fd);
			b->fd = -1;
			return err->code;
		}
	}
	b->state = B_GREETING;
	b->len = 0;
	bird_parser_init(&b->p);
	b->deadline = mono_ms() + b->timeout_ms;
	return ERR_OK;
}

/*
 * Without a loop (the CLI, and the daemon as it stops): waits on the
 * connection alone until cond holds (or, with cond NULL, nothing is
 * pending), the connection closes, or the deadline passes (which closes
 * it).  Each wait is bounded by the deadline.
 */
static int
bird_pump(struct bird *b, uint64_t deadline, int (*cond)(void *), void *arg)
{
	struct pollfd	 pfd;
	uint64_t	 now, until;
	int		 rc;

	for (;;) {
		if (cond ? cond(arg) : (b->state == B_READY &&
		    b->npending == 0))
			return 0;
		if (b->state == B_CLOSED)
			return -1;
		now = mono_ms();
		bird_run_timers(b, now);
		if (b->state == B_CLOSED)
			return -1;
		if (now >= deadline) {
			bird_fail(b, "BIRD did not answer in time");
			return -1;
		}
		until = deadline < b->deadline ? deadline : b->deadline;
		pfd.fd = b->fd;
		pfd.events = POLLIN | (b->outoff < b->outlen ? POLLOUT : 0);
		rc = poll(&pfd, 1, until > now ? (int)(until - now) : 0);
		if (rc == -1 && errno != EINTR) {
			bird_fail(b, "poll failed");
			return -1;
		}
		if (rc > 0)
			bird_event(&b->evh, (pfd.revents & POLLOUT ? EPOLLOUT : 0) |
			    (pfd.revents & ~POLLOUT ? EPOLLIN : 0));
	}
}

int
bird_wait_idle(struct bird *b, uint64_t deadline)
{
	return bird_pump(b, deadline, NULL, NULL);
}

int
bird_wait(struct bird *b, uint64_t deadline, int (*cond)(void *), void *arg)
{
	return bird_pump(b, deadline, cond, arg);
}

static int
not_greeting(void *arg)
{
	return ((struct bird *)arg)->state != B_GREETING;
}

enum err_code
bird_connect(struct bird *b, struct err *err)
{
	bird_state_fn	 fn = b->state_fn;

	if (b->state == B_READY)
		return ERR_OK;
	if (bird_connect_start(b, err) != ERR_OK)
		return err->code;
	b->state_fn = NULL;		/* the caller waits, and is told here */
	bird_pump(b, mono_ms() + b->timeout_ms, not_greeting, b);
	b->state_fn = fn;
	if (b->state != B_READY) {
		err_set(err, ERR_TIMEOUT, "%s: BIRD did not greet in time",
		    b->path);
		bird_fail(b, err->msg);
		return err->code;
	}
	return ERR_OK;
}

/* Writes one command; its reply is due within bird_timeout. */
static int
bird_put(struct bird *b, struct bird_req *q)
{
	q->sent = 1;
	if (b->outlen + q->len > b->outcap) {
		b->outcap = (b->outlen + q->len) * 2;
		b->out = xreallocarray(b->out, 1, b->outcap);
	}
	memcpy(b->out + b->outlen, q->line, q->len);
	b->outlen += q->len;
	b->deadline = mono_ms() + b->timeout_ms;
	return bird_write(b);
}

/*
 * One command at a time, as birdc: the next is written when the reply to
 * the one before has come.  BIRD reads its control socket into a small
 * buffer and resets a client that sends commands ahead of its replies.
 */
int
bird_send(struct bird *b, const char *cmd, void *owner, bird_done_fn done,
    void *arg)
{
	struct bird_req	*q;
	size_t		 n = strlen(cmd);

	if (b->state != B_READY || strpbrk(cmd, "\r\n") != NULL || n > 1000) {
		free(arg);
		return -1;
	}
	q = xcalloc(1, sizeof(*q));
	q->line = xmalloc(n + 1);
	memcpy(q->line, cmd, n);
	q->line[n] = '\n';
	q->len = n + 1;
	q->done = done;
	q->owner = owner;
	q->arg = arg;
	b->npending++;
	if (b->tail) {
		b->tail->next = q;
		b->tail = q;
		return 0;
	}
	b->head = b->tail = q;
	return bird_put(b, q);
}

/* Protocol names are ours (castiron_...); refuse anything else. */
static int
proto_name_ok(const char *p)
{
	if (*p == '\0' || strlen(p) > 64)
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    is_digit(*p) || *p == '_'))
			return 0;
	return 1;
}

int
bird_send_switch(struct bird *b, const char *proto, int enable, void *owner,
    bird_done_fn done, void *arg)
{
	char	 cmd[128];

	if (!proto_name_ok(proto)) {
		free(arg);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "%s %s", enable ? "enable" : "disable",
	    proto);
	return bird_send(b, cmd, owner, done, arg);
}

int
bird_send_protocols(struct bird *b, const char *pattern, void *owner,
    bird_done_fn done, void *arg)
{
	char		 cmd[160];
	const char	*p;

	for (p = pattern; *p; p++)
		if (*p == '"' || *p == '\\') {
			free(arg);
			return -1;
		}
	snprintf(cmd, sizeof(cmd), "show protocols \"%s\"", pattern);
	return bird_send(b, cmd, owner, done, arg);
}

/* ---- what replies mean (pure) ---- */

int
bird_result(const struct bird_reply *r, struct err *err)
{
	if (!bird_code_is_error(r->code))
		return 0;
	bird_reply_error(r, err);
	return bird_reply_no_protocol(r) ? BIRD_NO_PROTOCOL : -1;
}

int
bird_reply_protocols(const struct bird_reply *r, struct bird_proto **out,
    size_t *n, struct err *err)
{
	*out = NULL;
	*n = 0;
	if (r->code == 8003)		/* "No protocols match" */
		return 0;
	if (bird_code_is_error(r->code)) {
		bird_reply_error(r, err);
		return -1;
	}
	return bird_parse_protocols(r, out, n);
}

void
bird_reply_reboot(const struct bird_reply *r, char *buf, size_t len)
{
	size_t	 i;

	snprintf(buf, len, "?");
	for (i = 0; i < r->nlines; i++)
		if (strncmp(r->lines[i].text, "Last reboot on ", 15) == 0)
			snprintf(buf, len, "%s", r->lines[i].text + 15);
}

int
bird_reply_routes(const struct bird_reply *r, char *via, size_t vialen,
    struct err *err)
{
	size_t		 i, k;
	int		 n = 0;
	const char	*b;

	via[0] = '\0';
	if (r->code == 8001)		/* "Network not found" */
		return 0;
	if (bird_code_is_error(r->code)) {
		bird_reply_error(r, err);
		return -1;
	}
	/* "192.0.2.10/32  unicast [up4 14:03:23.899] * (100) [AS65002i]":
	 * one route a line, its protocol the first word in brackets. */
	for (i = 0; i < r->nlines; i++) {
		if (r->lines[i].code != 1007 ||
		    (b = strchr(r->lines[i].text, '[')) == NULL)
			continue;
		if (n++ == 0) {
			for (k = 0, b++; *b && *b != ' ' && *b != ']' &&
			    k + 1 < vialen; b++)
				via[k++] = *b;
			via[k] = '\0';
		}
	}
	return n;
}
