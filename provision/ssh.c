/*
 * The SSH transport (libssh).  The session runs in non-blocking mode and
 * every wait goes through wait_io(), which polls the socket in the
 * directions libssh needs, sends keepalives while idle and gives up after
 * the I/O timeout without progress: a host that vanishes halfway through
 * an image write fails that host within the timeout instead of hanging
 * the run.  One session per host; sessions are independent, so threads
 * may each drive their own.
 *
 * castiron makes the TCP connection itself (bounded by the connect
 * timeout) and hands the socket to libssh, which owns it from then on.
 * libssh reads no configuration file and no known_hosts file here: the
 * host key is checked by the caller against the inventory's pin.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <openssl/evp.h>

#include "lib/xmalloc.h"
#include "provision/shell.h"
#include "provision/ssh.h"

struct ssh_conn {
	int		 fd;		/* owned by s once handed over */
	ssh_session	 s;
	ssh_event	 ev;		/* polls s; made by the first wait */
	struct ssh_opts	 o;
	char		*host;
	char		*user;
	char		*key;
	uint64_t	 last_keepalive;
	int		 ready;		/* handshake done: keepalives may go */
};

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* libssh's last error text, for messages. */
static const char *
ssh_errmsg(struct ssh_conn *c)
{
	const char	*msg = ssh_get_error(c->s);

	return msg && *msg ? msg : "unknown error";
}

/*
 * Hands libssh's queued output to the socket without waiting: 0 when
 * nothing is left queued, 1 when some is (the socket is full), -1 on
 * error.
 */
static int
out_flush(struct ssh_conn *c, char *err, size_t errlen)
{
	switch (ssh_blocking_flush(c->s, 0)) {
	case SSH_OK:
		return 0;
	case SSH_AGAIN:
		return 1;
	default:
		snprintf(err, errlen, "%s: write: %s", c->host, ssh_errmsg(c));
		return -1;
	}
}

/*
 * Waits until something happens on the connection and lets libssh handle
 * it (packets read and dispatched, queued output written) before it
 * returns, so the caller re-checks its condition with nothing left
 * unseen: polling the socket by hand could sleep on data libssh had
 * already taken in.  since: when the caller last made progress.  Returns
 * -1 (err set) when the I/O timeout passed without progress or the
 * connection failed.
 */
static int
wait_io(struct ssh_conn *c, uint64_t since, char *err, size_t errlen)
{
	uint64_t	 now = now_ms(), left;
	int		 rc, ms;

	if (now - since >= c->o.io_timeout_ms) {
		snprintf(err, errlen, "%s: no progress for %llu ms", c->host,
		    (unsigned long long)c->o.io_timeout_ms);
		return -1;
	}
	left = c->o.io_timeout_ms - (now - since);
	ms = left > 1000 ? 1000 : (int)left;
	if (c->o.keepalive_s > 0 && c->ready &&
	    now - c->last_keepalive >= c->o.keepalive_s * 1000ULL) {
		/* SSH_MSG_IGNORE: traffic that keeps middleboxes' state. */
		ssh_send_ignore(c->s, "");
		c->last_keepalive = now;
	}
	/* The session's poll handle exists once ssh_connect has begun. */
	if (c->ev == NULL) {
		ssh_event ev = ssh_event_new();

		if (ev != NULL && ssh_event_add_session(ev, c->s) == SSH_OK)
			c->ev = ev;
		else if (ev != NULL)
			ssh_event_free(ev);
	}
	if (c->ev == NULL) {
		/* No event (out of memory): a short sleep on the socket. */
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (poll(&pfd, 1, ms > 10 ? 10 : ms) == -1 && errno != EINTR) {
			snprintf(err, errlen, "%s: poll: %s", c->host,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	errno = 0;
	rc = ssh_event_dopoll(c->ev, ms);
	if (rc == SSH_ERROR && errno != EINTR) {
		snprintf(err, errlen, "%s: connection lost: %s", c->host,
		    ssh_errmsg(c));
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
	int		 fd = -1, rc, one = 1;

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
		/* Commands and their replies are small packets: Nagle's
		 * algorithm would hold each behind a delayed ACK. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		break;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * AEAD ciphers first: libssh runs them through OpenSSL's EVP in one call
 * per packet (AES-GCM with AES-NI, chacha20-poly1305), several times the
 * throughput of CTR with a separate MAC.  aes128 before aes256 (10 rounds
 * against 14, as strong as needed here); CTR kept for old servers.
 */
#define SSH_CIPHERS	"aes128-gcm@openssh.com,aes256-gcm@openssh.com," \
			"chacha20-poly1305@openssh.com," \
			"aes128-ctr,aes256-ctr"

/* Sets the session's options; -1 with err set. */
static int
session_setup(struct ssh_conn *c, char *err, size_t errlen)
{
	int	 no = 0, verbosity = SSH_LOG_NOLOG, port = c->o.port;
	long	 tmo = (long)((c->o.connect_timeout_ms + 999) / 1000);

	if (ssh_options_set(c->s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_HOST, c->host) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_USER, c->user) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
	    "/dev/null") < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_TIMEOUT, &tmo) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_COMPRESSION, "no") < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_CIPHERS_C_S, SSH_CIPHERS) < 0 ||
	    ssh_options_set(c->s, SSH_OPTIONS_CIPHERS_S_C, SSH_CIPHERS) < 0) {
		snprintf(err, errlen, "%s: SSH options: %s", c->host,
		    ssh_errmsg(c));
		return -1;
	}
	return 0;
}

struct ssh_conn *
ssh_dial(const struct ssh_opts *o, char *err, size_t errlen)
{
	struct ssh_conn	*c;
	uint64_t	 start;
	int		 rc, fd;

	c = xcalloc(1, sizeof(*c));
	c->fd = -1;
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
	if ((fd = tcp_connect(o, err, errlen)) == -1) {
		ssh_close(c);
		return NULL;
	}
	if ((c->s = ssh_new()) == NULL) {
		snprintf(err, errlen, "%s: ssh_new failed", o->host);
		close(fd);
		ssh_close(c);
		return NULL;
	}
	if (session_setup(c, err, errlen) == -1 ||
	    ssh_options_set(c->s, SSH_OPTIONS_FD, &fd) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: SSH options: %s", o->host,
			    ssh_errmsg(c));
		close(fd);
		ssh_close(c);
		return NULL;
	}
	c->fd = fd;		/* libssh closes it from now on */
	ssh_set_blocking(c->s, 0);
	start = now_ms();
	c->last_keepalive = start;
	while ((rc = ssh_connect(c->s)) == SSH_AGAIN) {
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
	if (rc != SSH_OK) {
		snprintf(err, errlen, "%s: SSH handshake: %s", o->host,
		    ssh_errmsg(c));
		ssh_close(c);
		return NULL;
	}
	c->ready = 1;
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

/* The server's key as an OpenSSH public key line: "TYPE BASE64". */
static char *
hostkey_line(struct ssh_conn *c)
{
	ssh_key		 key = NULL;
	char		*b64 = NULL, *line;
	const char	*tn;

	if (ssh_get_server_publickey(c->s, &key) != SSH_OK)
		return NULL;
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		ssh_key_free(key);
		return NULL;
	}
	tn = ssh_key_type_to_char(ssh_key_type(key));
	line = xsprintf("%s %s", tn ? tn : "unknown", b64);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return line;
}

int
ssh_hostkey(struct ssh_conn *c, char fp[SSH_FP_LEN], char *type,
    size_t typelen)
{
	char	*line, e[64];
	int	 rc;

	if ((line = hostkey_line(c)) == NULL)
		return -1;
	rc = ssh_fp_of_publine(line, fp, e, sizeof(e));
	if (rc == 0 && type && typelen)
		snprintf(type, typelen, "%.*s", (int)strcspn(line, " "), line);
	free(line);
	return rc;
}

char *
ssh_hostkey_b64(struct ssh_conn *c)
{
	char	*line, *b64;

	if ((line = hostkey_line(c)) == NULL)
		return NULL;
	b64 = xstrdup(line + strcspn(line, " ") + 1);
	free(line);
	return b64;
}

int
ssh_auth(struct ssh_conn *c, char *err, size_t errlen)
{
	ssh_key		 key = NULL;
	uint64_t	 start = now_ms();
	int		 rc;

	rc = ssh_pki_import_privkey_file(c->key, NULL, NULL, NULL, &key);
	if (rc != SSH_OK) {
		snprintf(err, errlen, "%s: cannot read the private key %s%s",
		    c->host, c->key, rc == SSH_EOF ? ": no such file" :
		    " (a key without a passphrase, in OpenSSH or PEM format)");
		return -1;
	}
	while ((rc = ssh_userauth_publickey(c->s, NULL, key)) ==
	    SSH_AUTH_AGAIN)
		if (wait_io(c, start, err, errlen) == -1) {
			ssh_key_free(key);
			return -1;
		}
	ssh_key_free(key);
	if (rc != SSH_AUTH_SUCCESS) {
		snprintf(err, errlen, "%s: authentication as %s with key %s "
		    "refused%s%s", c->host, c->user, c->key,
		    rc == SSH_AUTH_ERROR ? ": " : "",
		    rc == SSH_AUTH_ERROR ? ssh_errmsg(c) : "");
		return -1;
	}
	return 0;
}

void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	if (c->ev) {
		ssh_event_remove_session(c->ev, c->s);
		ssh_event_free(c->ev);
	}
	if (c->s) {
		/* Sends what it can of the goodbye; closes the socket. */
		if (c->fd != -1)
			ssh_disconnect(c->s);
		ssh_free(c->s);
	}
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
static ssh_channel
channel_exec(struct ssh_conn *c, const char *cmd, char *err, size_t errlen)
{
	ssh_channel	 ch;
	uint64_t	 start = now_ms();
	int		 rc;

	if ((ch = ssh_channel_new(c->s)) == NULL) {
		snprintf(err, errlen, "%s: open channel: %s", c->host,
		    ssh_errmsg(c));
		return NULL;
	}
	while ((rc = ssh_channel_open_session(ch)) == SSH_AGAIN)
		if (wait_io(c, start, err, errlen) == -1)
			goto fail;
	if (rc != SSH_OK) {
		snprintf(err, errlen, "%s: open channel: %s", c->host,
		    ssh_errmsg(c));
		goto fail;
	}
	while ((rc = ssh_channel_request_exec(ch, cmd)) == SSH_AGAIN)
		if (wait_io(c, start, err, errlen) == -1)
			goto fail;
	if (rc != SSH_OK) {
		snprintf(err, errlen, "%s: exec: %s", c->host, ssh_errmsg(c));
		goto fail;
	}
	return ch;
fail:
	ssh_channel_free(ch);
	return NULL;
}

/*
 * After end of output: waits for the exit status, or for the channel to
 * close without one (the command was killed by a signal: status -1).
 */
static int
channel_finish(struct ssh_conn *c, ssh_channel ch, struct ssh_result *r,
    char *err, size_t errlen)
{
	uint64_t	 start = now_ms();
	int		 st;

	for (;;) {
		/* Non-blocking: handles what arrived, returns at once. */
		st = ssh_channel_get_exit_status(ch);
		if (!ssh_is_connected(c->s)) {
			snprintf(err, errlen, "%s: connection lost: %s",
			    c->host, ssh_errmsg(c));
			ssh_channel_free(ch);
			return -1;
		}
		if (st != -1 || ssh_channel_is_closed(ch))
			break;
		if (wait_io(c, start, err, errlen) == -1) {
			ssh_channel_free(ch);
			return -1;
		}
	}
	r->status = st;
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	return 0;
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
	ssh_channel		 ch;
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
	ssh_channel		 ch;

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

/*
 * Reads what stdout and stderr have (which also handles whatever else
 * arrived: window adjustments, EOF, the exit status); *progress set when
 * something came.
 */
static int
stream_drain(struct ssh_stream *st, int *progress, char *err, size_t errlen)
{
	char	 rbuf[32768];
	int	 n, i;

	for (i = 0; i < 2; i++) {
		int *done = i ? &st->err_done : &st->out_done;

		if (*done)
			continue;
		n = ssh_channel_read_nonblocking(st->ch, rbuf, sizeof(rbuf), i);
		if (n > 0) {
			if (i)
				capture(&st->r.errout, &st->r.errlen,
				    st->maxout, rbuf, (size_t)n,
				    &st->r.truncated);
			else {
				capture(&st->r.out, &st->r.outlen,
				    st->maxout, rbuf, (size_t)n,
				    &st->r.truncated);
				if (st->online)
					emit_lines(&st->r, &st->linedone,
					    st->online, st->linearg);
			}
			*progress = 1;
		} else if (n == SSH_EOF || (n == 0 &&
		    ssh_channel_is_eof(st->ch))) {
			*done = 1;
			*progress = 1;
		} else if (n < 0 || !ssh_is_connected(st->c->s)) {
			snprintf(err, errlen, "%s: read: %s", st->c->host,
			    ssh_errmsg(st->c));
			return -1;
		}
	}
	return 0;
}

/*
 * The command stopped reading its input (it exited, or closed stdin):
 * takes in what it said before it went, all of which arrived before the
 * end of its channel, so that its own error line reaches the caller
 * (online) rather than a bare "channel closed".  Returns -1.
 */
static int
stream_stopped(struct ssh_stream *st, char *err, size_t errlen)
{
	char	 e[128];
	int	 i, progress = 1;

	for (i = 0; i < 256 && progress && !(st->out_done && st->err_done);
	    i++) {
		progress = 0;
		if (stream_drain(st, &progress, e, sizeof(e)) == -1)
			break;
	}
	snprintf(err, errlen, "%s: the remote command stopped reading its "
	    "input", st->c->host);
	return -1;
}

int
ssh_stream_write(struct ssh_stream *st, const void *buf, size_t len,
    char *err, size_t errlen)
{
	const char	*p = buf;
	size_t		 pos = 0;
	uint64_t	 last = now_ms();
	int		 n, rc;

	while (pos < len) {
		int	 progress = 0;
		size_t	 want = len - pos;

		if (st->out_done || ssh_channel_is_closed(st->ch))
			return stream_stopped(st, err, errlen);
		/*
		 * Packets libssh could not hand to the socket yet go out
		 * before more are made: the kernel's socket buffer, not
		 * libssh's, is the queue, and the peer sees data (and
		 * answers with window adjustments) as early as possible.
		 */
		if ((rc = out_flush(st->c, err, errlen)) == -1)
			return -1;
		if (rc == 1) {
			if (wait_io(st->c, last, err, errlen) == -1)
				return -1;
			continue;
		}
		if (want > STREAM_CHUNK)
			want = STREAM_CHUNK;
		/* Queues as much as the peer's window allows (maybe 0). */
		n = ssh_channel_write(st->ch, p + pos, (uint32_t)want);
		if (n == SSH_ERROR) {
			/* libssh refuses writes once the peer closed the
			 * channel, even while its last output is unread. */
			if (ssh_is_connected(st->c->s))
				return stream_stopped(st, err, errlen);
			snprintf(err, errlen, "%s: write: %s", st->c->host,
			    ssh_errmsg(st->c));
			return -1;
		}
		if (n > 0) {
			pos += (size_t)n;
			st->sent += (uint64_t)n;
			last = now_ms();
			if ((size_t)n == want)
				continue;
		}
		/* The window is full: take in what came (its adjustment,
		 * the command's output), then wait for the socket. */
		if (stream_drain(st, &progress, err, errlen) == -1)
			return -1;
		if (progress) {
			last = now_ms();
			continue;
		}
		/* The drain may have taken in a window adjustment. */
		if (ssh_channel_window_size(st->ch) > 0)
			continue;
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
			/* Queued behind the data (SSH_AGAIN: not yet
			 * flushed); the waits below flush it. */
			if (ssh_channel_send_eof(st->ch) == SSH_ERROR &&
			    !ssh_channel_is_eof(st->ch) &&
			    !ssh_channel_is_closed(st->ch)) {
				snprintf(err, errlen, "%s: send eof: %s",
				    st->c->host, ssh_errmsg(st->c));
				goto fail;
			}
			eof_sent = progress = 1;
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
	if (rc == -1) {
		ssh_result_clear(&st->r);
		free(st);
		memset(r, 0, sizeof(*r));
		return -1;
	}
	*r = st->r;
	free(st);
	return 0;
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
		ssh_channel_free(st->ch);
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

/*
 * The file travels on the standard input of `cat` over an exec channel,
 * not through the scp sink protocol: a deploy environment of busybox and
 * dropbear has no scp.  The remote path is quoted; the caller checks the
 * result (castiron-writer's digest).
 */
int
ssh_upload(struct ssh_conn *c, const char *local, const char *remote,
    int mode, char *err, size_t errlen)
{
	struct ssh_stream	*st;
	struct ssh_result	 r;
	char			*cmd, *q, *buf;
	int			 fd;
	ssize_t			 n;

	if (strchr(remote, '\n') != NULL) {
		snprintf(err, errlen, "%s: upload: bad remote path", c->host);
		return -1;
	}
	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", local, strerror(errno));
		return -1;
	}
	q = sh_quote(remote);
	cmd = xsprintf("umask 077 && cat >%s && chmod %o %s", q,
	    (unsigned)mode & 0777, q);
	free(q);
	st = ssh_stream_open(c, cmd, NULL, NULL, err, errlen);
	free(cmd);
	if (st == NULL) {
		close(fd);
		return -1;
	}
	buf = xmalloc(STREAM_CHUNK);
	for (;;) {
		do
			n = read(fd, buf, STREAM_CHUNK);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", local, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (ssh_stream_write(st, buf, (size_t)n, err, errlen) == -1)
			goto fail;
	}
	free(buf);
	close(fd);
	if (ssh_stream_finish(st, &r, err, errlen) == -1)
		return -1;
	if (r.status != 0) {
		snprintf(err, errlen, "%s: upload to %s: remote exit %d%s%.*s",
		    c->host, remote, r.status, r.errlen ? ": " : "",
		    (int)strcspn(r.errout, "\r\n"), r.errout);
		ssh_result_clear(&r);
		return -1;
	}
	ssh_result_clear(&r);
	return 0;
fail:
	free(buf);
	close(fd);
	ssh_stream_abort(st);
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
