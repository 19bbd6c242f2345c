/*
 * castiron-writer --pull URL: the image file fetched from the boot
 * service (`castiron boot serve`, /images/NAME) instead of read from the
 * stream, which then carries only the range table and its digests
 * (images/frame.h, FRAME_F_PULL).  A network-booted host pulls its image
 * at the speed of its own NIC, and castiron's server sends it with
 * sendfile instead of pushing it through an SSH session.
 *
 * HTTP here is the writer's own, and small: one GET at a time, HTTP/1.1
 * with a Range on every request, keep-alive, no redirects, no chunked
 * bodies, no TLS, an address and never a name (the deploy environment
 * has no resolver).  busybox's wget is not used: it cannot ask for a
 * bounded range, refuses a 206 it did not ask for through -c (and -c
 * wants a file), and so cannot resume into a pipe (docs/netboot.md).
 * The answer is checked strictly: the status, a Content-Range that is
 * exactly the range asked for, a Content-Length that agrees, a file size
 * that does not change between requests.  What the bytes are is checked
 * by the digests of the table, as for a pushed stream: a truncated or
 * wrong body fails its range.
 *
 * Every wait is bounded: a connection within PULL_CONNECT_MS, each read
 * within PULL_IO_MS; a request that fails on the way (the service
 * restarted, a connection reset, a body cut short) is made again from
 * the byte it reached, after a pause growing to PULL_BACKOFF_MAX_MS,
 * until PULL_RETRY_MS pass without a byte: then the write fails, saying
 * what failed last.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "images/digest.h"
#include "images/frame.h"
#include "images/writer/writer.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define PULL_CONNECT_MS		10000
#define PULL_IO_MS		30000
#define PULL_RETRY_MS		120000
#define PULL_BACKOFF_MS		250
#define PULL_BACKOFF_MAX_MS	2000
#define PULL_HEAD_MAX		8192
#define PULL_PATH_MAX		1024
#define PULL_BUF		(1u << 20)

struct pull {
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 hostport[80];	/* the Host header */
	char			 path[PULL_PATH_MAX];
	int			 fd;		/* -1: not connected */
	int			 keep;		/* may be reused */
	uint8_t			*buf;		/* bytes read past the head */
	size_t			 bpos, blen;
	uint64_t		 total;		/* the file's size; 0: unknown */
	uint64_t		 pos, end;	/* the window: next byte, one
						   past the last (0: the file's
						   end, once known) */
	uint64_t		 body_left;	/* of the response being read */
	int			 in_body;
	uint64_t		 progress_ms;	/* the last byte received */
	unsigned		 backoff_ms;
	char			 last[256];	/* what failed last */
	struct pull_stats	*st;
};

static enum err_code
url_parse(const char *url, struct pull *p, struct err *err)
{
	const char	*h, *slash, *rb;
	char		 auth[sizeof(((struct pull *)0)->hostport) + 4], addr[64];
	uint8_t		 a[16];
	uint16_t	 port;
	size_t		 n, i;
	int		 fam;

	if (strncmp(url, "http://", 7) != 0)
		return err_set(err, ERR_INVAL, "--pull %s: not an http:// URL",
		    url);
	h = url + 7;
	if ((slash = strchr(h, '/')) == NULL)
		return err_set(err, ERR_INVAL, "--pull %s: no path", url);
	n = (size_t)(slash - h);
	if (n == 0 || n >= sizeof(p->hostport))
		return err_set(err, ERR_INVAL, "--pull %s: not http://ADDRESS"
		    "[:PORT]/PATH", url);
	memcpy(p->hostport, h, n);
	p->hostport[n] = '\0';
	/* ADDRESS[:PORT], [IPV6][:PORT]: the port is 80 when not given. */
	rb = *h == '[' ? strchr(p->hostport, ']') : NULL;
	if ((*h == '[' && rb != NULL && rb[1] == '\0') ||
	    (*h != '[' && strchr(p->hostport, ':') == NULL))
		snprintf(auth, sizeof(auth), "%s:80", p->hostport);
	else
		snprintf(auth, sizeof(auth), "%s", p->hostport);
	if (parse_hostport(auth, addr, sizeof(addr), &port, err) != ERR_OK ||
	    parse_ip(addr, &fam, a, err) != ERR_OK) {
		err_prefix(err, "--pull %s (an address: the deploy environment "
		    "resolves no names)", url);
		return ERR_INVAL;
	}
	memset(&p->sa, 0, sizeof(p->sa));
	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&p->sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a, 4);
		p->salen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->sa;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a, 16);
		p->salen = sizeof(*s6);
	}
	n = strlen(slash);
	if (n >= sizeof(p->path))
		return err_set(err, ERR_INVAL, "--pull %s: the path is longer "
		    "than %d bytes", url, PULL_PATH_MAX - 1);
	for (i = 0; i < n; i++)
		if (slash[i] <= ' ' || slash[i] > '~')
			return err_set(err, ERR_INVAL, "--pull %s: a blank or "
			    "control character in the path", url);
	memcpy(p->path, slash, n + 1);
	return ERR_OK;
}

enum err_code
pull_url_check(const char *url, struct err *err)
{
	struct pull	 p;

	return url_parse(url, &p, err);
}

static void
conn_close(struct pull *p)
{
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->keep = 0;
	p->in_body = 0;
	p->bpos = p->blen = 0;
}

/* Waits (at most ms) for fd to be ready for events; -1 with err set. */
static int
io_wait(int fd, short events, int ms, const char *what, struct err *err)
{
	struct pollfd	 pfd = { fd, events, 0 };
	uint64_t	 until = mono_ms() + (uint64_t)ms, now;
	int		 n;

	for (;;) {
		now = mono_ms();
		if (now >= until) {
			err_set(err, ERR_FAIL, "%s: nothing for %d s", what,
			    ms / 1000);
			return -1;
		}
		n = poll(&pfd, 1, (int)(until - now));
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR) {
			err_errno(err, ERR_FAIL, "%s: poll", what);
			return -1;
		}
	}
}

static int
conn_open(struct pull *p, struct err *err)
{
	socklen_t	 sl = sizeof(int);
	int		 fd, e = 0, one = 1;

	fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		err_errno(err, ERR_FAIL, "socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&p->sa, p->salen) == -1) {
		if (errno != EINPROGRESS) {
			err_errno(err, ERR_FAIL, "connect to %s", p->hostport);
			close(fd);
			return -1;
		}
		if (io_wait(fd, POLLOUT, PULL_CONNECT_MS, "connect",
		    err) == -1) {
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1 ||
		    e != 0) {
			errno = e ? e : errno;
			err_errno(err, ERR_FAIL, "connect to %s", p->hostport);
			close(fd);
			return -1;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->fd = fd;
	p->bpos = p->blen = 0;
	return 0;
}

static int
send_all(struct pull *p, const char *buf, size_t len, struct err *err)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(p->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (io_wait(p->fd, POLLOUT, PULL_IO_MS, "sending the "
			    "request", err) == -1)
				return -1;
			continue;
		}
		err_errno(err, ERR_FAIL, "sending the request");
		return -1;
	}
	return 0;
}

/* Reads what the connection has (waiting at most PULL_IO_MS): the count,
 * 0 when the server closed it, -1 with err set. */
static ssize_t
recv_some(struct pull *p, uint8_t *buf, size_t len, struct err *err)
{
	ssize_t	 n;

	for (;;) {
		n = recv(p->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			err_errno(err, ERR_FAIL, "reading the answer");
			return -1;
		}
		if (io_wait(p->fd, POLLIN, PULL_IO_MS, "reading the answer",
		    err) == -1)
			return -1;
	}
}

/* A header's number, at most the largest image (lib/parse). */
static int
head_uint(const char *v, uint64_t *out)
{
	return parse_uint(v, 0, FRAME_MAX_IMAGE, out, NULL) == ERR_OK ? 0 : -1;
}

/* "bytes A-B/T" (v is the header's own copy: cut in place). */
static int
parse_content_range(char *v, uint64_t *a, uint64_t *b, uint64_t *t)
{
	char	*dash, *slash;

	if (strncmp(v, "bytes ", 6) != 0)
		return -1;
	v += 6;
	if ((dash = strchr(v, '-')) == NULL ||
	    (slash = strchr(dash, '/')) == NULL)
		return -1;
	*dash = *slash = '\0';
	if (head_uint(v, a) == -1 || head_uint(dash + 1, b) == -1 ||
	    head_uint(slash + 1, t) == -1 || *b < *a || *b >= *t)
		return -1;
	return 0;
}

struct head {
	unsigned	 status;
	int		 have_len, have_range, close, encoded;
	uint64_t	 clen, a, b, t;
};

/* The status line and the headers that matter; -1: not HTTP/1.x. */
static int
parse_head(char *text, struct head *hd)
{
	char	*line, *next, *colon, *v;
	size_t	 vn;

	memset(hd, 0, sizeof(*hd));
	if (strncmp(text, "HTTP/1.", 7) != 0 || (text[7] != '0' &&
	    text[7] != '1') || text[8] != ' ' || text[9] < '1' ||
	    text[9] > '5' || text[10] < '0' || text[10] > '9' ||
	    text[11] < '0' || text[11] > '9' || (text[12] != ' ' &&
	    text[12] != '\r'))
		return -1;
	hd->status = (unsigned)((text[9] - '0') * 100 + (text[10] - '0') * 10 +
	    (text[11] - '0'));
	hd->close = text[7] == '0';
	for (line = strstr(text, "\r\n"); line != NULL; line = next) {
		line += 2;
		if ((next = strstr(line, "\r\n")) == NULL || next == line)
			break;
		*next = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			return -1;
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		vn = strlen(v);
		while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		v[vn] = '\0';
		*colon = '\0';
		if (strcasecmp(line, "Content-Length") == 0) {
			if (hd->have_len || head_uint(v, &hd->clen) == -1)
				return -1;
			hd->have_len = 1;
		} else if (strcasecmp(line, "Content-Range") == 0) {
			if (hd->have_range || parse_content_range(v, &hd->a,
			    &hd->b, &hd->t) == -1)
				return -1;
			hd->have_range = 1;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0)
			hd->encoded = 1;
		else if (strcasecmp(line, "Connection") == 0 &&
		    vn == 5 && strncasecmp(v, "close", 5) == 0)
			hd->close = 1;
		*next = '\r';
	}
	return 0;
}

/*
 * Asks for the window from p->pos and reads the answer's head.  ERR_OK:
 * the body follows (p->body_left bytes); ERR_FAIL: worth trying again
 * (err says why); ERR_INVAL: an answer that trying again cannot mend.
 */
static enum err_code
request(struct pull *p, struct err *err)
{
	struct head	 hd;
	char		 req[PULL_PATH_MAX + 256], last[24] = "";
	uint64_t	 want;
	size_t		 have = 0;
	ssize_t		 n;
	char		*eoh;

	if (p->fd == -1 && conn_open(p, err) == -1)
		return ERR_FAIL;
	if (p->end)
		snprintf(last, sizeof(last), "%llu",
		    (unsigned long long)(p->end - 1));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: castiron-writer\r\nRange: bytes=%llu-%s\r\n\r\n",
	    p->path, p->hostport, (unsigned long long)p->pos, last);
	p->st->requests++;
	if (send_all(p, req, strlen(req), err) == -1)
		goto retry;
	for (;;) {
		if (have == PULL_HEAD_MAX - 1) {
			err_set(err, ERR_INVAL, "%s: an answer's head longer "
			    "than %d bytes", p->path, PULL_HEAD_MAX);
			goto fatal;
		}
		n = recv_some(p, p->buf + have, PULL_HEAD_MAX - 1 - have, err);
		if (n == -1)
			goto retry;
		if (n == 0) {
			err_set(err, ERR_FAIL, "the server closed the "
			    "connection before it answered");
			goto retry;
		}
		have += (size_t)n;
		p->buf[have] = '\0';
		if ((eoh = strstr((char *)p->buf, "\r\n\r\n")) != NULL)
			break;
	}
	eoh[2] = '\0';
	if (parse_head((char *)p->buf, &hd) == -1) {
		err_set(err, ERR_INVAL, "%s: not an HTTP/1.x answer", p->path);
		goto fatal;
	}
	p->bpos = (size_t)(eoh + 4 - (char *)p->buf);
	p->blen = have;
	p->keep = !hd.close;
	if (hd.status >= 500) {
		err_set(err, ERR_FAIL, "%s: HTTP %u", p->path, hd.status);
		goto retry;
	}
	if (hd.encoded || !hd.have_len) {
		err_set(err, ERR_INVAL, "%s: HTTP %u without a plain "
		    "Content-Length", p->path, hd.status);
		goto fatal;
	}
	if (hd.status == 206) {
		if (!hd.have_range || hd.a != p->pos ||
		    (p->end ? hd.b != p->end - 1 : hd.b != hd.t - 1) ||
		    hd.clen != hd.b - hd.a + 1) {
			err_set(err, ERR_INVAL, "%s: a 206 whose Content-Range "
			    "or Content-Length is not the range asked for "
			    "(bytes=%llu-%s)", p->path,
			    (unsigned long long)p->pos, last);
			goto fatal;
		}
	} else if (hd.status == 200 && p->pos == 0 && !hd.have_range &&
	    (p->end == 0 || hd.clen == p->end)) {
		/* The whole file, as a server may answer a Range from 0. */
		hd.t = hd.clen;
	} else {
		err_set(err, ERR_INVAL, "%s: HTTP %u to bytes=%llu-%s", p->path,
		    hd.status, (unsigned long long)p->pos, last);
		goto fatal;
	}
	if (p->total != 0 && hd.t != p->total) {
		err_set(err, ERR_INVAL, "%s: the file is %llu bytes now, %llu "
		    "before", p->path, (unsigned long long)hd.t,
		    (unsigned long long)p->total);
		goto fatal;
	}
	p->total = hd.t;
	if (p->end == 0)
		p->end = p->total;
	want = p->end - p->pos;
	p->body_left = want;
	p->in_body = 1;
	return ERR_OK;
retry:
	conn_close(p);
	return ERR_FAIL;
fatal:
	conn_close(p);
	return ERR_INVAL;
}

/* After a failed request: a pause, or the end when PULL_RETRY_MS have
 * passed without a byte. */
static enum err_code
retry_wait(struct pull *p, struct err *err)
{
	struct timespec	 ts;

	snprintf(p->last, sizeof(p->last), "%.255s", err->msg);
	if (mono_ms() - p->progress_ms > PULL_RETRY_MS)
		return err_set(err, ERR_FAIL, "%s: no byte for %d s after "
		    "%llu: %s", p->path, PULL_RETRY_MS / 1000,
		    (unsigned long long)p->pos, p->last);
	log_warnx("pull: %s at byte %llu: %s; again in %u ms", p->path,
	    (unsigned long long)p->pos, p->last, p->backoff_ms);
	ts.tv_sec = p->backoff_ms / 1000;
	ts.tv_nsec = (long)(p->backoff_ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	p->backoff_ms = p->backoff_ms * 2 > PULL_BACKOFF_MAX_MS ?
	    PULL_BACKOFF_MAX_MS : p->backoff_ms * 2;
	p->st->resumes++;
	return ERR_OK;
}

/* The next bytes of the window: the count, 0 at its end, -1 with err. */
static ssize_t
pull_read(struct pull *p, uint8_t *buf, size_t len, struct err *err)
{
	enum err_code	 rc;
	ssize_t		 n;

	for (;;) {
		if (p->end != 0 && p->pos == p->end)
			return 0;
		if (!p->in_body) {
			rc = request(p, err);
			if (rc == ERR_INVAL)
				return -1;
			if (rc != ERR_OK) {
				if (retry_wait(p, err) != ERR_OK)
					return -1;
				continue;
			}
		}
		if (len > p->body_left)
			len = (size_t)p->body_left;
		if (p->bpos < p->blen) {
			n = (ssize_t)(p->blen - p->bpos < len ? p->blen -
			    p->bpos : len);
			memcpy(buf, p->buf + p->bpos, (size_t)n);
			p->bpos += (size_t)n;
		} else if ((n = recv_some(p, buf, len, err)) <= 0) {
			if (n == 0)
				err_set(err, ERR_FAIL, "the body ended %llu "
				    "bytes early", (unsigned long long)
				    p->body_left);
			conn_close(p);
			if (retry_wait(p, err) != ERR_OK)
				return -1;
			continue;
		}
		p->pos += (uint64_t)n;
		p->body_left -= (uint64_t)n;
		p->st->fetched += (uint64_t)n;
		p->progress_ms = mono_ms();
		p->backoff_ms = PULL_BACKOFF_MS;
		if (p->body_left == 0) {
			p->in_body = 0;
			if (!p->keep || p->bpos < p->blen)
				conn_close(p);	/* nothing may follow */
		}
		return n;
	}
}

/* A window: from off, len bytes (0: to the end of the file). */
static void
pull_window(struct pull *p, uint64_t off, uint64_t len)
{
	p->pos = off;
	p->end = len ? off + len : p->total;
	p->progress_ms = mono_ms();
	p->backoff_ms = PULL_BACKOFF_MS;
}

struct fill_arg {
	struct pull	*p;
	struct img_sha	*sha;
};

static ssize_t
pull_fill(void *arg, uint8_t *buf, size_t len, struct err *err)
{
	struct fill_arg	*f = arg;
	ssize_t		 n;

	if ((n = pull_read(f->p, buf, len, err)) > 0)
		img_sha_update(f->sha, buf, (size_t)n);
	return n;
}

/* A raw file's ranges, one request each, at their offsets. */
static enum err_code
pull_ranges(struct packed *pk, struct pull *p, struct err *err)
{
	uint8_t		*buf = xmalloc(PULL_BUF);
	uint64_t	 i, len;
	enum err_code	 rc = ERR_FAIL;
	ssize_t		 n;

	for (i = 0; i < pk->n; i++) {
		len = pk->vb.r[i].last - pk->vb.r[i].first + 1;
		if (img_wr_begin(pk->w, pk->off[i], len, err) != ERR_OK)
			goto out;
		pull_window(p, pk->off[i], len);
		while ((n = pull_read(p, buf, PULL_BUF, err)) > 0)
			if (wr_stage_data(pk->w, buf, (size_t)n, err) != ERR_OK)
				goto out;
		if (n < 0 || wr_flush_stage(pk->w, err) != ERR_OK ||
		    img_wr_end(pk->w, pk->vb.r[i].sha256, err) != ERR_OK)
			goto out;
	}
	rc = ERR_OK;
out:
	free(buf);
	return rc;
}

enum err_code
pull_write(struct packed *pk, const char *url, uint64_t image_size,
    struct img_sha *sha, struct pull_stats *st, struct err *err)
{
	struct pull	 p;
	struct fill_arg	 f = { &p, sha };
	enum err_code	 rc;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	p.st = st;
	if ((rc = url_parse(url, &p, err)) != ERR_OK)
		return rc;
	p.buf = xmalloc(PULL_HEAD_MAX);
	if (pk->codec == FRAME_CODEC_NONE)
		rc = pull_ranges(pk, &p, err);
	else {
		pull_window(&p, 0, 0);
		rc = wr_pack_walk(pk, pull_fill, &f, image_size, err);
		if (rc == ERR_OK && p.pos != p.end)
			rc = err_set(err, ERR_FAIL, "%s: the file goes on "
			    "past the end of the image (byte %llu of %llu)",
			    p.path, (unsigned long long)p.pos,
			    (unsigned long long)p.end);
	}
	conn_close(&p);
	free(p.buf);
	return rc;
}
