/*
 * BIRD control-socket client (see bird.h).  Modelled on birdc's
 * client/client.c: one command, then lines until a code followed by a
 * space.  I/O is blocking with a deadline per command (poll on the one
 * socket); castiron's commands take about a millisecond, and a BIRD that
 * does not answer within bird_timeout loses its connection, which the
 * daemon re-establishes with backoff.
 */
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
#include "lib/xmalloc.h"

struct bird {
	char		*path;
	uint64_t	 timeout_ms;
	int		 fd;
	char		 version[32];
	char		*buf;		/* bytes read, not yet parsed */
	size_t		 len, cap;
};

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
    char *err, size_t errlen)
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
				snprintf(err, errlen, "BIRD reply line longer "
				    "than %d bytes", BIRD_MAX_LINE);
				return -1;
			}
			p->scanned = len - pos;
			break;
		}
		p->scanned = 0;
		n = (size_t)(nl - line);
		if (n > BIRD_MAX_LINE) {
			snprintf(err, errlen, "BIRD reply line longer than %d "
			    "bytes", BIRD_MAX_LINE);
			return -1;
		}
		if (p->used + n + 1 > BIRD_MAX_REPLY) {
			snprintf(err, errlen, "BIRD reply longer than %d bytes",
			    BIRD_MAX_REPLY);
			return -1;
		}
		if (memchr(line, '\0', n) != NULL) {
			snprintf(err, errlen, "NUL byte in BIRD reply");
			return -1;
		}
		if (p->r.nlines >= BIRD_MAX_LINES) {
			snprintf(err, errlen, "BIRD reply has more than %d "
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
    char *err, size_t errlen)
{
	struct bird_parser	 p;
	ssize_t			 used;

	bird_reply_clear(r);
	bird_parser_init(&p);
	used = bird_parser_feed(&p, buf, len, err, errlen);
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
bird_reply_error(const struct bird_reply *r, char *err, size_t errlen)
{
	size_t	 i;

	/* The last line with an error code says what went wrong. */
	for (i = r->nlines; i > 0; i--)
		if (r->lines[i - 1].code == r->code) {
			snprintf(err, errlen, "BIRD %04d %s", r->code,
			    r->lines[i - 1].text);
			if (r->code == 8007 || r->code == 16)
				snprintf(err + strlen(err), errlen - strlen(err),
				    " (restricted socket? castiron needs "
				    "BIRD's full control socket)");
			return;
		}
	snprintf(err, errlen, "BIRD reply %04d", r->code);
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

struct bird *
bird_new(const char *socket_path, uint64_t timeout_ms)
{
	struct bird	*b = xcalloc(1, sizeof(*b));

	b->path = xstrdup(socket_path);
	b->timeout_ms = timeout_ms;
	b->fd = -1;
	return b;
}

void
bird_free(struct bird *b)
{
	if (b == NULL)
		return;
	bird_close(b);
	free(b->path);
	free(b->buf);
	free(b);
}

void
bird_close(struct bird *b)
{
	if (b->fd != -1)
		close(b->fd);
	b->fd = -1;
	b->len = 0;
	b->version[0] = '\0';
}

int
bird_connected(const struct bird *b)
{
	return b->fd != -1;
}

const char *
bird_version(const struct bird *b)
{
	return b->version;
}

/* Waits for fd to be ready until deadline; 0 ready, -1 timeout/error. */
static int
wait_fd(int fd, short events, uint64_t deadline, char *err, size_t errlen)
{
	struct pollfd	 pfd = { .fd = fd, .events = events };
	uint64_t	 now;
	int		 rc;

	for (;;) {
		now = now_ms();
		if (now >= deadline) {
			snprintf(err, errlen, "BIRD did not answer in time");
			return -1;
		}
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return 0;
		if (rc == -1 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/*
 * Reads until one full reply is parsed; closes on failure.  The parser
 * takes each complete line as it arrives (the buffer keeps only a partial
 * line and what follows the reply), so a long reply costs its length once.
 */
static int
read_reply(struct bird *b, struct bird_reply *r, uint64_t deadline,
    char *err, size_t errlen)
{
	struct bird_parser	 p;
	ssize_t			 used, n;

	bird_parser_init(&p);
	for (;;) {
		used = bird_parser_feed(&p, b->buf, b->len, err, errlen);
		if (used < 0)
			goto fail;
		memmove(b->buf, b->buf + used, b->len - (size_t)used);
		b->len -= (size_t)used;
		if (p.done) {
			bird_reply_clear(r);
			*r = p.r;
			return 0;
		}
		if (b->cap - b->len < 4096) {
			if (b->cap >= 2 * BIRD_MAX_LINE + 8192) {
				snprintf(err, errlen, "BIRD reply line too long");
				goto fail;
			}
			b->cap = b->cap ? b->cap * 2 : 8192;
			b->buf = xreallocarray(b->buf, 1, b->cap);
		}
		if (wait_fd(b->fd, POLLIN, deadline, err, errlen) == -1)
			goto fail;
		n = read(b->fd, b->buf + b->len, b->cap - b->len);
		if (n == 0) {
			snprintf(err, errlen, "BIRD closed the connection");
			goto fail;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(err, errlen, "read from BIRD: %s",
			    strerror(errno));
			goto fail;
		}
		b->len += (size_t)n;
	}
fail:
	bird_reply_clear(&p.r);
	bird_close(b);
	return -1;
}

int
bird_connect(struct bird *b, char *err, size_t errlen)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct bird_reply	 r = { 0 };
	const char		*v, *e;

	bird_close(b);
	if (strlen(b->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", b->path);
		return -1;
	}
	memcpy(sun.sun_path, b->path, strlen(b->path) + 1);
	if ((b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(b->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s: %s", b->path, strerror(errno));
		bird_close(b);
		return -1;
	}
	if (read_reply(b, &r, now_ms() + b->timeout_ms, err, errlen) == -1)
		return -1;
	if (r.code != 1 || r.nlines == 0) {
		snprintf(err, errlen, "%s: unexpected greeting %04d", b->path,
		    r.code);
		bird_reply_clear(&r);
		bird_close(b);
		return -1;
	}
	/* "BIRD 2.0.12 ready." */
	v = r.lines[r.nlines - 1].text;
	if (strncmp(v, "BIRD ", 5) == 0) {
		v += 5;
		if ((e = strchr(v, ' ')) == NULL)
			e = v + strlen(v);
		snprintf(b->version, sizeof(b->version), "%.*s",
		    (int)(e - v), v);
	} else
		snprintf(b->version, sizeof(b->version), "unknown");
	bird_reply_clear(&r);
	return 0;
}

int
bird_cmd(struct bird *b, const char *cmd, struct bird_reply *r, char *err,
    size_t errlen)
{
	uint64_t	 deadline = now_ms() + b->timeout_ms;
	char		*line;
	size_t		 off = 0, n;
	ssize_t		 w;

	bird_reply_clear(r);
	if (strpbrk(cmd, "\r\n") != NULL || strlen(cmd) > 1000) {
		snprintf(err, errlen, "invalid BIRD command");
		return -1;
	}
	if (b->fd == -1 && bird_connect(b, err, errlen) == -1)
		return -1;
	xasprintf(&line, "%s\n", cmd);
	n = strlen(line);
	while (off < n) {
		w = write(b->fd, line + off, n - off);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(b->fd, POLLOUT, deadline, err, errlen) == 0)
				continue;
			free(line);
			bird_close(b);
			return -1;
		}
		if (w < 0) {
			snprintf(err, errlen, "write to BIRD: %s",
			    strerror(errno));
			free(line);
			bird_close(b);
			return -1;
		}
		off += (size_t)w;
	}
	free(line);
	return read_reply(b, r, deadline, err, errlen);
}

static int
simple_cmd(struct bird *b, const char *cmd, char *err, size_t errlen)
{
	struct bird_reply	 r = { 0 };
	int			 rc = 0;

	if (bird_cmd(b, cmd, &r, err, errlen) == -1)
		return -1;
	if (bird_code_is_error(r.code)) {
		bird_reply_error(&r, err, errlen);
		rc = bird_reply_no_protocol(&r) ? BIRD_NO_PROTOCOL : -1;
	}
	bird_reply_clear(&r);
	return rc;
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
bird_enable(struct bird *b, const char *proto, char *err, size_t errlen)
{
	char	 cmd[128];

	if (!proto_name_ok(proto)) {
		snprintf(err, errlen, "invalid protocol name");
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "enable %s", proto);
	return simple_cmd(b, cmd, err, errlen);
}

int
bird_disable(struct bird *b, const char *proto, char *err, size_t errlen)
{
	char	 cmd[128];

	if (!proto_name_ok(proto)) {
		snprintf(err, errlen, "invalid protocol name");
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "disable %s", proto);
	return simple_cmd(b, cmd, err, errlen);
}

int
bird_configure(struct bird *b, char *err, size_t errlen)
{
	struct bird_reply	 r = { 0 };
	int			 rc = 0;

	if (bird_cmd(b, "configure", &r, err, errlen) == -1)
		return -1;
	if (!bird_configure_ok(&r)) {
		bird_reply_error(&r, err, errlen);
		rc = -1;
	}
	bird_reply_clear(&r);
	return rc;
}

int
bird_protocols(struct bird *b, const char *pattern, struct bird_proto **out,
    size_t *n, char *err, size_t errlen)
{
	struct bird_reply	 r = { 0 };
	char			 cmd[160];
	const char		*p;

	for (p = pattern; *p; p++)
		if (*p == '"' || *p == '\\') {
			snprintf(err, errlen, "invalid protocol pattern");
			return -1;
		}
	snprintf(cmd, sizeof(cmd), "show protocols \"%s\"", pattern);
	if (bird_cmd(b, cmd, &r, err, errlen) == -1)
		return -1;
	if (r.code == 8003) {		/* "No protocols match" */
		*out = NULL;
		*n = 0;
		bird_reply_clear(&r);
		return 0;
	}
	if (bird_code_is_error(r.code)) {
		bird_reply_error(&r, err, errlen);
		bird_reply_clear(&r);
		return -1;
	}
	bird_parse_protocols(&r, out, n);
	bird_reply_clear(&r);
	return 0;
}

int
bird_last_reboot(struct bird *b, char *buf, size_t len, char *err,
    size_t errlen)
{
	struct bird_reply	 r = { 0 };
	size_t			 i;

	if (bird_cmd(b, "show status", &r, err, errlen) == -1)
		return -1;
	if (bird_code_is_error(r.code)) {
		bird_reply_error(&r, err, errlen);
		bird_reply_clear(&r);
		return -1;
	}
	snprintf(buf, len, "?");
	for (i = 0; i < r.nlines; i++)
		if (strncmp(r.lines[i].text, "Last reboot on ", 15) == 0)
			snprintf(buf, len, "%s", r.lines[i].text + 15);
	bird_reply_clear(&r);
	return 0;
}
