/*
 * The SSH transport (libssh2).  The session runs in non-blocking mode and
 * every wait goes through wait_io(), which polls the socket in the
 * direction libssh2 asks for, sends keepalives while idle and gives up
 * after the I/O timeout without progress: a host that vanishes halfway
 * through an image write fails that host within the timeout instead of
 * hanging the run.  One session per host; sessions are independent, so
 * threads may each drive their own.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "lib/xmalloc.h"
#include "provision/ssh.h"

struct ssh_conn {
	int		 fd;
	LIBSSH2_SESSION	*s;
	struct ssh_opts	 o;
	char		*host;
	char		*user;
	char		*key;
	uint64_t	 last_keepalive;
};

static pthread_once_t	 init_once = PTHREAD_ONCE_INIT;
static int		 init_rc;

static void
ssh_lib_init(void)
{
	init_rc = libssh2_init(0);
}

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* libssh2's last error text, for messages. */
static const char *
ssh_errmsg(struct ssh_conn *c)
{
	char	*msg = NULL;

	libssh2_session_last_error(c->s, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}

/*
 * Waits until the socket is ready in the direction libssh2 is blocked on.
 * since: when the caller last made progress.  Returns -1 (err set) when
 * the I/O timeout passed without progress.
 */
static int
wait_io(struct ssh_conn *c, uint64_t since, char *err, size_t errlen)
{
	struct pollfd	 pfd;
	int		 dir, rc, ms;
	uint64_t	 now = now_ms(), left;

	if (now - since >= c->o.io_timeout_ms) {
		snprintf(err, errlen, "%s: no progress for %llu ms", c->host,
		    (unsigned long long)c->o.io_timeout_ms);
		return -1;
	}
	left = c->o.io_timeout_ms - (now - since);
	ms = left > 1000 ? 1000 : (int)left;
	if (c->o.keepalive_s > 0 &&
	    now - c->last_keepalive >= c->o.keepalive_s * 1000ULL) {
		int next;
		libssh2_keepalive_send(c->s, &next);
		c->last_keepalive = now;
	}
	dir = libssh2_session_block_directions(c->s);
	pfd.fd = c->fd;
	pfd.events = 0;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (pfd.events == 0)
		pfd.events = POLLIN;
	rc = poll(&pfd, 1, ms);
	if (rc < 0 && errno != EINTR) {
		snprintf(err, errlen, "%s: poll: %s", c->host, strerror(errno));
		return -1;
	}
	return 0;
}

/* Non-blocking TCP connect bounded by the connect timeout. */
static int
tcp_connect(const struct ssh_opts *o, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 port[8];
	int		 fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)o->port);
	if ((rc = getaddrinfo(o->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", o->host, gai_strerror(rc));
		return -1;
	}
	snprintf(err, errlen, "%s: no address", o->host);
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd	 pfd;
		int		 soerr = 0;
		socklen_t	 sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			snprintf(err, errlen, "%s port %s: connect: %s", o->host,
			    port, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			rc = poll(&pfd, 1, (int)o->connect_timeout_ms);
		while (rc == -1 && errno == EINTR);
		if (rc == 0) {
			snprintf(err, errlen, "%s port %s: connect: timed out "
			    "after %llu ms", o->host, port,
			    (unsigned long long)o->connect_timeout_ms);
			close(fd);
			fd = -1;
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
		    soerr != 0) {
			snprintf(err, errlen, "%s port %s: connect: %s", o->host,
			    port, strerror(soerr ? soerr : errno));
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	return fd;
}

struct ssh_conn *
ssh_connect(const struct ssh_opts *o, char *err, size_t errlen)
{
	struct ssh_conn	*c;
	uint64_t	 start;
	int		 rc;

	pthread_once(&init_once, ssh_lib_init);
	if (init_rc != 0) {
		snprintf(err, errlen, "libssh2_init failed");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->host = xstrdup(o->host);
	c->user = xstrdup(o->user);
	c->key = xstrdup(o->key_path);
	c->o.host = c->host;
	c->o.user = c->user;
	c->o.key_path = c->key;
	if (c->o.io_timeout_ms == 0)
		c->o.io_timeout_ms = 60000;
	if (c->o.connect_timeout_ms == 0)
		c->o.connect_timeout_ms = 10000;
	if ((c->fd = tcp_connect(o, err, errlen)) == -1) {
		ssh_close(c);
		return NULL;
	}
	if ((c->s = libssh2_session_init()) == NULL) {
		snprintf(err, errlen, "%s: libssh2_session_init failed", o->host);
		ssh_close(c);
		return NULL;
	}
	libssh2_session_set_blocking(c->s, 0);
	if (c->o.keepalive_s > 0)
		libssh2_keepalive_config(c->s, 1, c->o.keepalive_s);
	start = now_ms();
	c->last_keepalive = start;
	while ((rc = libssh2_session_handshake(c->s, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN) {
		/* The handshake is bounded by the connect timeout. */
		if (now_ms() - start >= c->o.connect_timeout_ms) {
			snprintf(err, errlen, "%s: SSH handshake timed out",
			    o->host);
			ssh_close(c);
			return NULL;
		}
		if (wait_io(c, now_ms(), err, errlen) == -1) {
			ssh_close(c);
			return NULL;
		}
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: SSH handshake: %s", o->host,
		    ssh_errmsg(c));
		ssh_close(c);
		return NULL;
	}
	return c;
}

void
ssh_fp_of_blob(const unsigned char *blob, size_t len, char fp[SSH_FP_LEN])
{
	unsigned char	 md[EVP_MAX_MD_SIZE], b64[64];
	unsigned int	 mdlen = 0;
	int		 n;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	/* OpenSSH prints the digest in base64 without padding. */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	if (n > SSH_FP_LEN - 8)
		n = SSH_FP_LEN - 8;
	memcpy(fp, "SHA256:", 7);
	memcpy(fp + 7, b64, (size_t)n);
	fp[7 + n] = '\0';
}

int
ssh_hostkey(struct ssh_conn *c, char fp[SSH_FP_LEN], char *type,
    size_t typelen)
{
	const char	*blob;
	size_t		 len = 0;
	int		 t = 0;
	const char	*tn = "unknown";

	if ((blob = libssh2_session_hostkey(c->s, &len, &t)) == NULL)
		return -1;
	ssh_fp_of_blob((const unsigned char *)blob, len, fp);
	switch (t) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:		tn = "ssh-rsa"; break;
	case LIBSSH2_HOSTKEY_TYPE_DSS:		tn = "ssh-dss"; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:	tn = "ecdsa-sha2-nistp256"; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:	tn = "ecdsa-sha2-nistp384"; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:	tn = "ecdsa-sha2-nistp521"; break;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:	tn = "ssh-ed25519"; break;
	}
	if (type && typelen)
		snprintf(type, typelen, "%s", tn);
	return 0;
}

char *
ssh_hostkey_b64(struct ssh_conn *c)
{
	const char	*blob;
	size_t		 len = 0;
	int		 t = 0;
	char		*out;

	if ((blob = libssh2_session_hostkey(c->s, &len, &t)) == NULL)
		return NULL;
	out = xmalloc(len * 4 / 3 + 8);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)blob,
	    (int)len);
	return out;
}

int
ssh_auth(struct ssh_conn *c, char *err, size_t errlen)
{
	uint64_t	 start = now_ms();
	int		 rc;

	while ((rc = libssh2_userauth_publickey_fromfile_ex(c->s, c->user,
	    (unsigned)strlen(c->user), NULL, c->key, NULL)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, start, err, errlen) == -1)
			return -1;
	if (rc != 0) {
		snprintf(err, errlen, "%s: authentication as %s with key %s "
		    "refused: %s", c->host, c->user, c->key, ssh_errmsg(c));
		return -1;
	}
	return 0;
}

void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	if (c->s) {
		/* Best effort, bounded: the peer may be gone already. */
		uint64_t start = now_ms();
		char	 e[64];
		while (libssh2_session_disconnect(c->s, "done") ==
		    LIBSSH2_ERROR_EAGAIN && now_ms() - start < 1000)
			if (wait_io(c, start, e, sizeof(e)) == -1)
				break;
		libssh2_session_free(c->s);
	}
	if (c->fd != -1 && c->fd != 0)
		close(c->fd);
	free(c->host);
	free(c->user);
	free(c->key);
	free(c);
}

void
ssh_result_clear(struct ssh_result *r)
{
	free(r->out);
	free(r->errout);
	memset(r, 0, sizeof(*r));
}

/* Appends to a bounded, NUL-terminated capture buffer. */
static void
capture(char **buf, size_t *len, size_t max, const char *p, size_t n,
    int *trunc)
{
	if (*len + n > max) {
		*trunc = 1;
		n = max > *len ? max - *len : 0;
	}
	*buf = xreallocarray(*buf, 1, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Opens a session channel and starts cmd on it. */
static LIBSSH2_CHANNEL *
channel_exec(struct ssh_conn *c, const char *cmd, char *err, size_t errlen)
{
	LIBSSH2_CHANNEL	*ch;
	uint64_t	 start = now_ms();
	int		 rc;

	while ((ch = libssh2_channel_open_session(c->s)) == NULL) {
		if (libssh2_session_last_errno(c->s) != LIBSSH2_ERROR_EAGAIN) {
			snprintf(err, errlen, "%s: open channel: %s", c->host,
			    ssh_errmsg(c));
			return NULL;
		}
		if (wait_io(c, start, err, errlen) == -1)
			return NULL;
	}
	while ((rc = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, start, err, errlen) == -1)
			goto fail;
	if (rc != 0) {
		snprintf(err, errlen, "%s: exec: %s", c->host, ssh_errmsg(c));
		goto fail;
	}
	return ch;
fail:
	libssh2_channel_free(ch);
	return NULL;
}

/* Closes the channel and reads the exit status. */
static int
channel_finish(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, struct ssh_result *r,
    char *err, size_t errlen)
{
	uint64_t	 start = now_ms();
	char		*sig = NULL;
	size_t		 siglen = 0;
	int		 rc;

	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, start, err, errlen) == -1)
			goto fail;
	while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, start, err, errlen) == -1)
			goto fail;
	r->status = libssh2_channel_get_exit_status(ch);
	if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL,
	    NULL, NULL) == 0 && sig != NULL) {
		r->status = -1;
		libssh2_free(c->s, sig);
	}
	libssh2_channel_free(ch);
	return 0;
fail:
	libssh2_channel_free(ch);
	return -1;
}

/* Hands complete lines of new stdout data to online. */
static void
emit_lines(struct ssh_result *r, size_t *done, ssh_line_fn online, void *arg)
{
	char	*nl, line[1024];
	size_t	 n;

	while ((nl = memchr(r->out + *done, '\n', r->outlen - *done)) != NULL) {
		n = (size_t)(nl - (r->out + *done));
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, r->out + *done, n);
		line[n] = '\0';
		online(arg, line);
		*done = (size_t)(nl - r->out) + 1;
	}
}

#define STREAM_CHUNK	(256 * 1024)
#define STREAM_MAXOUT	(1024 * 1024)

struct ssh_stream {
	struct ssh_conn		*c;
	LIBSSH2_CHANNEL		*ch;
	ssh_line_fn		 online;
	void			*linearg;
	size_t			 maxout, linedone;
	struct ssh_result	 r;
	uint64_t		 sent;
	int			 out_done, err_done;
};

struct ssh_stream *
ssh_stream_open(struct ssh_conn *c, const char *cmd, ssh_line_fn online,
    void *linearg, char *err, size_t errlen)
{
	struct ssh_stream	*st;
	LIBSSH2_CHANNEL		*ch;

	if ((ch = channel_exec(c, cmd, err, errlen)) == NULL)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	st->c = c;
	st->ch = ch;
	st->online = online;
	st->linearg = linearg;
	st->maxout = STREAM_MAXOUT;
	st->r.out = xstrdup("");
	st->r.errout = xstrdup("");
	return st;
}

/* Reads what stdout and stderr have; *progress set when something came. */
static int
stream_drain(struct ssh_stream *st, int *progress, char *err, size_t errlen)
{
	char	 rbuf[32768];
	ssize_t	 n;

	n = libssh2_channel_read(st->ch, rbuf, sizeof(rbuf));
	if (n > 0) {
		capture(&st->r.out, &st->r.outlen, st->maxout, rbuf, (size_t)n,
		    &st->r.truncated);
		if (st->online)
			emit_lines(&st->r, &st->linedone, st->online,
			    st->linearg);
		*progress = 1;
	} else if (n == 0)
		st->out_done = libssh2_channel_eof(st->ch);
	else if (n != LIBSSH2_ERROR_EAGAIN) {
		snprintf(err, errlen, "%s: read: %s", st->c->host,
		    ssh_errmsg(st->c));
		return -1;
	}
	n = libssh2_channel_read_stderr(st->ch, rbuf, sizeof(rbuf));
	if (n > 0) {
		capture(&st->r.errout, &st->r.errlen, st->maxout, rbuf,
		    (size_t)n, &st->r.truncated);
		*progress = 1;
	} else if (n == 0)
		st->err_done = libssh2_channel_eof(st->ch);
	else if (n != LIBSSH2_ERROR_EAGAIN) {
		snprintf(err, errlen, "%s: read: %s", st->c->host,
		    ssh_errmsg(st->c));
		return -1;
	}
	return 0;
}

int
ssh_stream_write(struct ssh_stream *st, const void *buf, size_t len,
    char *err, size_t errlen)
{
	const char	*p = buf;
	size_t		 pos = 0;
	uint64_t	 last = now_ms();
	ssize_t		 n;

	while (pos < len) {
		int progress = 0;

		if (libssh2_channel_eof(st->ch)) {
			snprintf(err, errlen, "%s: the remote command stopped "
			    "reading its input", st->c->host);
			return -1;
		}
		n = libssh2_channel_write(st->ch, p + pos, len - pos);
		if (n > 0) {
			pos += (size_t)n;
			st->sent += (uint64_t)n;
			progress = 1;
		} else if (n != LIBSSH2_ERROR_EAGAIN) {
			snprintf(err, errlen, "%s: write: %s", st->c->host,
			    ssh_errmsg(st->c));
			return -1;
		}
		if (stream_drain(st, &progress, err, errlen) == -1)
			return -1;
		if (progress) {
			last = now_ms();
			continue;
		}
		if (wait_io(st->c, last, err, errlen) == -1)
			return -1;
	}
	return 0;
}

uint64_t
ssh_stream_sent(const struct ssh_stream *st)
{
	return st->sent;
}

int
ssh_stream_finish(struct ssh_stream *st, struct ssh_result *r, char *err,
    size_t errlen)
{
	uint64_t	 last = now_ms();
	int		 rc, eof_sent = 0;

	for (;;) {
		int progress = 0;

		if (!eof_sent) {
			rc = libssh2_channel_send_eof(st->ch);
			if (rc == 0)
				eof_sent = progress = 1;
			else if (rc != LIBSSH2_ERROR_EAGAIN) {
				/* The command may have closed its side. */
				if (!libssh2_channel_eof(st->ch)) {
					snprintf(err, errlen, "%s: send eof: "
					    "%s", st->c->host,
					    ssh_errmsg(st->c));
					goto fail;
				}
				eof_sent = 1;
			}
		}
		if (stream_drain(st, &progress, err, errlen) == -1)
			goto fail;
		if (st->out_done && st->err_done)
			break;
		if (progress) {
			last = now_ms();
			continue;
		}
		if (wait_io(st->c, last, err, errlen) == -1)
			goto fail;
	}
	if (st->online && st->linedone < st->r.outlen)
		st->online(st->linearg, st->r.out + st->linedone);
	rc = channel_finish(st->c, st->ch, &st->r, err, errlen);
	st->ch = NULL;
	*r = st->r;
	free(st);
	return rc;
fail:
	ssh_stream_abort(st);
	memset(r, 0, sizeof(*r));
	return -1;
}

void
ssh_stream_abort(struct ssh_stream *st)
{
	if (st == NULL)
		return;
	if (st->ch)
		libssh2_channel_free(st->ch);
	ssh_result_clear(&st->r);
	free(st);
}

static int
run_core(struct ssh_conn *c, const char *cmd, ssh_source_fn src, void *srcarg,
    ssh_line_fn online, void *linearg, size_t maxout, struct ssh_result *r,
    uint64_t *sent, char *err, size_t errlen)
{
	struct ssh_stream	*st;
	char			*buf = NULL;
	size_t			 got;

	memset(r, 0, sizeof(*r));
	if (sent)
		*sent = 0;
	if ((st = ssh_stream_open(c, cmd, online, linearg, err, errlen)) ==
	    NULL)
		return -1;
	st->maxout = maxout;
	if (src) {
		buf = xmalloc(STREAM_CHUNK);
		for (;;) {
			if (src(srcarg, buf, STREAM_CHUNK, &got, err,
			    errlen) == -1)
				goto fail;
			if (got == 0)
				break;
			if (ssh_stream_write(st, buf, got, err, errlen) == -1)
				goto fail;
		}
		free(buf);
	}
	if (sent)
		*sent = st->sent;
	return ssh_stream_finish(st, r, err, errlen);
fail:
	free(buf);
	ssh_stream_abort(st);
	return -1;
}

struct membuf {
	const char	*p;
	size_t		 len, pos;
};

static int
mem_source(void *arg, void *buf, size_t len, size_t *got, char *err,
    size_t errlen)
{
	struct membuf	*m = arg;
	size_t		 n = m->len - m->pos;

	(void)err;
	(void)errlen;
	if (n > len)
		n = len;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return 0;
}

int
ssh_run(struct ssh_conn *c, const char *cmd, const void *in, size_t inlen,
    size_t maxout, struct ssh_result *r, char *err, size_t errlen)
{
	struct membuf	 m = { in, inlen, 0 };

	return run_core(c, cmd, in ? mem_source : NULL, &m, NULL, NULL,
	    maxout, r, NULL, err, errlen);
}

int
ssh_run_stream(struct ssh_conn *c, const char *cmd, ssh_source_fn src,
    void *srcarg, ssh_line_fn online, void *linearg, struct ssh_result *r,
    uint64_t *sent, char *err, size_t errlen)
{
	return run_core(c, cmd, src, srcarg, online, linearg, STREAM_MAXOUT,
	    r, sent, err, errlen);
}

int
ssh_upload(struct ssh_conn *c, const char *local, const char *remote,
    int mode, char *err, size_t errlen)
{
	LIBSSH2_CHANNEL	*ch;
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0, pos = 0;
	uint64_t	 last;
	int		 fd, rc;
	ssize_t		 n;

	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", local, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	last = now_ms();
	while ((ch = libssh2_scp_send64(c->s, remote, mode & 0777,
	    (libssh2_int64_t)st.st_size, 0, 0)) == NULL) {
		if (libssh2_session_last_errno(c->s) != LIBSSH2_ERROR_EAGAIN) {
			snprintf(err, errlen, "%s: scp to %s: %s", c->host,
			    remote, ssh_errmsg(c));
			close(fd);
			return -1;
		}
		if (wait_io(c, last, err, errlen) == -1) {
			close(fd);
			return -1;
		}
	}
	buf = xmalloc(STREAM_CHUNK);
	for (;;) {
		if (pos == len) {
			do
				n = read(fd, buf, STREAM_CHUNK);
			while (n == -1 && errno == EINTR);
			if (n < 0) {
				snprintf(err, errlen, "%s: %s", local,
				    strerror(errno));
				goto fail;
			}
			if (n == 0)
				break;
			len = (size_t)n;
			pos = 0;
		}
		n = libssh2_channel_write(ch, buf + pos, len - pos);
		if (n > 0) {
			pos += (size_t)n;
			last = now_ms();
		} else if (n == LIBSSH2_ERROR_EAGAIN) {
			if (wait_io(c, last, err, errlen) == -1)
				goto fail;
		} else {
			snprintf(err, errlen, "%s: scp to %s: %s", c->host,
			    remote, ssh_errmsg(c));
			goto fail;
		}
	}
	free(buf);
	close(fd);
	/* The scp protocol ends a file with a NUL byte ("ok"); without it
	 * OpenSSH's scp -t exits 1. */
	last = now_ms();
	while ((n = libssh2_channel_write(ch, "", 1)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, last, err, errlen) == -1)
			goto fail2;
	if (n != 1) {
		snprintf(err, errlen, "%s: scp to %s: %s", c->host, remote,
		    ssh_errmsg(c));
		goto fail2;
	}
	while ((rc = libssh2_channel_send_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, last, err, errlen) == -1)
			goto fail2;
	while ((rc = libssh2_channel_wait_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, last, err, errlen) == -1)
			goto fail2;
	{
		struct ssh_result r = { 0 };
		char	 msg[256] = "";
		ssize_t	 m;
		m = libssh2_channel_read_stderr(ch, msg, sizeof(msg) - 1);
		if (m > 0) {
			msg[m] = '\0';
			msg[strcspn(msg, "\r\n")] = '\0';
		} else
			msg[0] = '\0';
		rc = channel_finish(c, ch, &r, err, errlen);
		if (rc == 0 && r.status != 0) {
			snprintf(err, errlen, "%s: scp to %s: remote exit %d%s%s",
			    c->host, remote, r.status, *msg ? ": " : "", msg);
			rc = -1;
		}
		return rc;
	}
fail:
	free(buf);
	close(fd);
fail2:
	libssh2_channel_free(ch);
	return -1;
}

int
ssh_fp_of_publine(const char *line, char fp[SSH_FP_LEN], char *err,
    size_t errlen)
{
	const char	*p, *b;
	unsigned char	*blob;
	size_t		 blen;
	int		 n;

	p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	/* "TYPE BASE64 [comment]" */
	while (*p && *p != ' ' && *p != '\t')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	b = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	blen = (size_t)(p - b);
	if (blen == 0 || blen > 16384 || blen % 4 != 0) {
		snprintf(err, errlen, "not an OpenSSH public key line");
		return -1;
	}
	blob = xmalloc(blen);
	n = EVP_DecodeBlock(blob, (const unsigned char *)b, (int)blen);
	if (n < 0) {
		free(blob);
		snprintf(err, errlen, "bad base64 in public key");
		return -1;
	}
	/* EVP_DecodeBlock counts padding bytes as data. */
	if (blen >= 1 && b[blen - 1] == '=')
		n--;
	if (blen >= 2 && b[blen - 2] == '=')
		n--;
	ssh_fp_of_blob(blob, (size_t)n, fp);
	free(blob);
	return 0;
}

int
ssh_fp_of_pubfile(const char *path, char fp[SSH_FP_LEN], char *err,
    size_t errlen)
{
	FILE	*f;
	char	 line[16384];
	char	 e[128];

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		fclose(f);
		if (ssh_fp_of_publine(line, fp, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s: %s", path, e);
			return -1;
		}
		return 0;
	}
	fclose(f);
	snprintf(err, errlen, "%s: no public key in the file", path);
	return -1;
}
