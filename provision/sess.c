/*
 * The SSH transport (libssh2, Debian 12: 1.10).  The session runs in
 * non-blocking mode and every wait goes through wait_io(), which polls
 * the socket in the direction libssh2 is blocked on, sends keepalives
 * while idle and gives up after the I/O timeout without progress: a host
 * that vanishes halfway through an image write fails that host within
 * the timeout instead of hanging the run.  One session per host and per
 * thread; libssh2_init runs once for the process.
 *
 * castiron makes the TCP connection itself (bounded by the connect
 * timeout, TCP_NODELAY) and closes it; libssh2 reads no configuration
 * file and no known_hosts file: the host key is checked by the caller
 * against the inventory's pin, between the handshake and authentication.
 *
 * libssh2 1.10 has two rules the code below keeps.  A packet it could
 * only partly hand to the socket (EAGAIN, the session blocked outbound)
 * must be finished by calling the same function again before anything
 * else is sent: any other send in between fails (LIBSSH2_ERROR_BAD_USE),
 * so nothing reads (a read may answer with a window adjustment) and no
 * keepalive goes out until it is.  And channel and session frees may
 * return EAGAIN (they send a close) and free nothing: they are repeated,
 * bounded, and a connection that cannot take the close is shut down
 * first so that the free goes through.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "lib/clock.h"
#include "lib/sshkey.h"
#include "lib/xmalloc.h"
#include "provision/rsakey.h"
#include "provision/shell.h"
#include "provision/sess.h"

struct sess_conn {
	int		 fd;		/* ours: libssh2 never closes it */
	LIBSSH2_SESSION	*s;
	struct sess_opts	 o;
	char		*host;
	char		*user;
	char		*key;
	int		 up;		/* handshake done */
	int		 broken;	/* a wait timed out or I/O failed: no
					 * goodbyes, nothing more is waited for */
	int		 authed;	/* keepalives may go (not before: dropbear
					 * drops a session that sends a global
					 * request before authentication) */
	uint64_t	 last_keepalive;
	const atomic_int *abort;	/* sess_set_abort: another stream of a
					 * split write failed */
};

/* How long the goodbye of sess_close may take. */
#define CLOSE_MS	1000

static pthread_once_t	 lib_once = PTHREAD_ONCE_INIT;
static int		 lib_rc = -1;

/* libssh2_init is not thread-safe; sessions in their own threads are. */
static void
lib_init(void)
{
	lib_rc = libssh2_init(0);
}

/* libssh2's last error text, for messages. */
static const char *
sess_errmsg(struct sess_conn *c)
{
	char	*msg = NULL;

	if (c->s)
		libssh2_session_last_error(c->s, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}

/* A packet of libssh2's is half in the socket (see the top). */
static int
send_pending(struct sess_conn *c)
{
	return (libssh2_session_block_directions(c->s) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
}

/*
 * A keepalive (a global request without reply: traffic that keeps
 * middleboxes' state) when one is due.  Only when the socket has room:
 * libssh2 1.10 leaves a keepalive it could only partly send pending with
 * nothing to finish it, and every later send of the session would fail.
 */
static void
keepalive(struct sess_conn *c)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLOUT };
	uint64_t	 now = mono_ms();
	int		 next;

	if (!c->authed || c->o.keepalive_s == 0 || send_pending(c) ||
	    now - c->last_keepalive < c->o.keepalive_s * 1000ULL)
		return;
	if (poll(&pfd, 1, 0) == 1 && pfd.revents == POLLOUT) {
		(void)libssh2_keepalive_send(c->s, &next);
		c->last_keepalive = now;
	}
}

/* The run was interrupted (sess_opts.stop), or the write aborted
 * (sess_set_abort): ERR_FAIL with err set. */
static enum err_code
stopped(struct sess_conn *c, struct err *err)
{
	if (c->abort != NULL && atomic_load(c->abort) != 0) {
		c->broken = 1;
		return err_set(err, ERR_FAIL, "%s: stopped: another stream of "
		    "the write failed", c->host);
	}
	if (c->o.stop == NULL || atomic_load(c->o.stop) == 0)
		return ERR_OK;
	c->broken = 1;
	return err_set(err, ERR_FAIL, "%s: interrupted", c->host);
}

void
sess_set_abort(struct sess_conn *c, const atomic_int *abort)
{
	c->abort = abort;
}

/*
 * Waits until the socket is ready in the direction libssh2 needs, at
 * most until deadline (and never more than a second, so keepalives keep
 * their pace and an interruption is seen).  Fails (ERR_FAIL) only when
 * poll itself fails or the run was interrupted.
 */
static enum err_code
wait_sock(struct sess_conn *c, uint64_t deadline, struct err *err)
{
	struct pollfd	 pfd;
	uint64_t	 now = mono_ms();
	int		 rc, ms;

	if (stopped(c, err) != ERR_OK)
		return ERR_FAIL;
	ms = deadline <= now ? 0 : deadline - now > 1000 ? 1000 :
	    (int)(deadline - now);
	keepalive(c);
	pfd.fd = c->fd;
	/* Half a packet out: only the socket's room lets libssh2 go on. */
	pfd.events = send_pending(c) ? POLLOUT : POLLIN;
	rc = poll(&pfd, 1, ms);
	if (rc == -1 && errno != EINTR)
		return err_errno(err, ERR_FAIL, "%s: poll", c->host);
	if (rc == 1 && (pfd.revents & POLLNVAL))
		return err_set(err, ERR_FAIL, "%s: connection lost", c->host);
	return ERR_OK;
}

/*
 * Waits for the socket; since: when the caller last made progress.
 * ERR_TIMEOUT (err set) when the I/O timeout passed without progress.
 */
static enum err_code
wait_io(struct sess_conn *c, uint64_t since, struct err *err)
{
	if (mono_ms() - since >= c->o.io_timeout_ms) {
		c->broken = 1;
		return err_set(err, ERR_TIMEOUT, "%s: no progress for %llu ms",
		    c->host, (unsigned long long)c->o.io_timeout_ms);
	}
	return wait_sock(c, since + c->o.io_timeout_ms, err);
}

/*
 * Non-blocking TCP connect bounded by the connect timeout, to each
 * address in turn; *fdp.  On failure, the last address's reason:
 * ERR_TIMEOUT when it did not answer in time.
 */
static enum err_code
tcp_connect(const struct sess_opts *o, int *fdp, struct err *err)
{
	struct addrinfo	 hints, *res, *ai;
	char		 port[8];
	uint64_t	 deadline;
	int		 fd = -1, rc, one = 1;
	int		 why = 0, timedout = 0;	/* the last address's failure */

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)o->port);
	*fdp = -1;
	if ((rc = getaddrinfo(o->host, port, &hints, &res)) != 0)
		return err_set(err, ERR_FAIL, "%s: %s", o->host,
		    gai_strerror(rc));
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
			why = errno;
			timedout = 0;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		/* A second at a time, to see an interruption. */
		deadline = mono_ms() + o->connect_timeout_ms;
		do {
			uint64_t now = mono_ms();

			if (o->stop && atomic_load(o->stop)) {
				close(fd);
				freeaddrinfo(res);
				return err_set(err, ERR_FAIL, "%s: interrupted",
				    o->host);
			}
			rc = now >= deadline ? 0 : poll(&pfd, 1,
			    deadline - now > 1000 ? 1000 : (int)(deadline - now));
		} while ((rc == -1 && errno == EINTR) ||
		    (rc == 0 && mono_ms() < deadline));
		if (rc == 0) {
			timedout = 1;
			close(fd);
			fd = -1;
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
		    soerr != 0) {
			why = soerr ? soerr : errno;
			timedout = 0;
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
	if (fd != -1) {
		*fdp = fd;
		return ERR_OK;
	}
	if (timedout)
		return err_set(err, ERR_TIMEOUT, "%s port %s: connect: timed "
		    "out after %llu ms", o->host, port,
		    (unsigned long long)o->connect_timeout_ms);
	if (why != 0)
		return err_set(err, ERR_FAIL, "%s port %s: connect: %s",
		    o->host, port, strerror(why));
	return err_set(err, ERR_FAIL, "%s: no address", o->host);
}

/*
 * What castiron offers.  Ciphers: libssh2 1.10 has no AEAD cipher and
 * encrypts one 16-byte block per OpenSSL call, so the call overhead, not
 * the rounds, sets the pace: aes128-ctr first (10 rounds), the other CTR
 * sizes for servers that want them; no CBC, arcfour, blowfish, cast or
 * 3des.  Host keys: ed25519 first (libssh2 would take ECDSA first, and
 * the key pinned for a deploy environment or written by configure is
 * ed25519).  No SHA-1 key exchange.  Compression stays off (libssh2's
 * default).
 */
#define SSH_KEX		"curve25519-sha256,curve25519-sha256@libssh.org," \
			"ecdh-sha2-nistp256,ecdh-sha2-nistp384," \
			"ecdh-sha2-nistp521," \
			"diffie-hellman-group-exchange-sha256," \
			"diffie-hellman-group16-sha512," \
			"diffie-hellman-group18-sha512," \
			"diffie-hellman-group14-sha256"
#define SSH_HOSTKEYS	"ssh-ed25519,ecdsa-sha2-nistp256," \
			"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa"
#define SSH_CIPHERS	"aes128-ctr,aes192-ctr,aes256-ctr"
#define SSH_MACS	"hmac-sha2-256,hmac-sha2-512,hmac-sha1"

/* Sets the session's method preferences. */
static enum err_code
session_setup(struct sess_conn *c, struct err *err)
{
	static const struct {
		int		 method;
		const char	*prefs;
	} prefs[] = {
		{ LIBSSH2_METHOD_KEX,		SSH_KEX },
		{ LIBSSH2_METHOD_HOSTKEY,	SSH_HOSTKEYS },
		{ LIBSSH2_METHOD_CRYPT_CS,	SSH_CIPHERS },
		{ LIBSSH2_METHOD_CRYPT_SC,	SSH_CIPHERS },
		{ LIBSSH2_METHOD_MAC_CS,	SSH_MACS },
		{ LIBSSH2_METHOD_MAC_SC,	SSH_MACS },
	};
	size_t	 i;

	for (i = 0; i < sizeof(prefs) / sizeof(prefs[0]); i++)
		if (libssh2_session_method_pref(c->s, prefs[i].method,
		    prefs[i].prefs) != 0)
			return err_set(err, ERR_FAIL, "%s: SSH method "
			    "preferences: %s", c->host, sess_errmsg(c));
	libssh2_session_set_blocking(c->s, 0);
	/* Keepalives without reply (libssh2 1.10 keeps the server's
	 * replies queued until the session ends), paced by keepalive():
	 * libssh2's own clock (whole seconds of wall time) only lets each
	 * one through. */
	if (c->o.keepalive_s > 0)
		libssh2_keepalive_config(c->s, 0, 2);
	return ERR_OK;
}

enum err_code
sess_dial(const struct sess_opts *o, struct sess_conn **out, struct err *err)
{
	struct sess_conn	*c;
	uint64_t	 deadline;
	enum err_code	 code;
	int		 rc;

	*out = NULL;
	pthread_once(&lib_once, lib_init);
	if (lib_rc != 0)
		return err_set(err, ERR_FAIL, "%s: libssh2_init failed",
		    o->host);
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
	if ((code = tcp_connect(&c->o, &c->fd, err)) != ERR_OK)
		goto fail;
	if ((c->s = libssh2_session_init()) == NULL) {
		code = err_set(err, ERR_FAIL, "%s: libssh2_session_init failed",
		    o->host);
		goto fail;
	}
	if ((code = session_setup(c, err)) != ERR_OK)
		goto fail;
	/* The handshake is bounded by its own timeout, else the connect
	 * timeout. */
	deadline = mono_ms() + (c->o.handshake_timeout_ms ?
	    c->o.handshake_timeout_ms : c->o.connect_timeout_ms);
	while ((rc = libssh2_session_handshake(c->s, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN) {
		if (mono_ms() >= deadline) {
			code = err_set(err, ERR_TIMEOUT, "%s: SSH handshake "
			    "timed out", o->host);
			goto fail;
		}
		if ((code = wait_sock(c, deadline, err)) != ERR_OK)
			goto fail;
	}
	if (rc != 0) {
		code = err_set(err, ERR_FAIL, "%s: SSH handshake: %s", o->host,
		    sess_errmsg(c));
		goto fail;
	}
	c->up = 1;
	*out = c;
	return ERR_OK;
fail:
	sess_close(c);
	return code;
}

enum err_code
sess_hostkey(struct sess_conn *c, char fp[SSH_FP_LEN], char *type,
    size_t typelen, struct err *err)
{
	const char	*blob, *tn = "unknown";
	size_t		 len = 0;
	int		 t = 0;

	if ((blob = libssh2_session_hostkey(c->s, &len, &t)) == NULL)
		return err_set(err, ERR_TRUST, "the host presented no key "
		    "castiron can read");
	sshkey_fp_blob((const unsigned char *)blob, len, fp);
	switch (t) {
	case LIBSSH2_HOSTKEY_TYPE_ED25519:	tn = "ssh-ed25519"; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:	tn = "ecdsa-sha2-nistp256"; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:	tn = "ecdsa-sha2-nistp384"; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:	tn = "ecdsa-sha2-nistp521"; break;
	case LIBSSH2_HOSTKEY_TYPE_RSA:		tn = "ssh-rsa"; break;
	case LIBSSH2_HOSTKEY_TYPE_DSS:		tn = "ssh-dss"; break;
	}
	if (type && typelen)
		snprintf(type, typelen, "%s", tn);
	return ERR_OK;
}

char *
sess_hostkey_b64(struct sess_conn *c)
{
	const char	*blob;
	size_t		 len = 0;
	int		 t = 0;
	char		*out;

	if ((blob = libssh2_session_hostkey(c->s, &len, &t)) == NULL ||
	    len > 16384)
		return NULL;
	out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)blob,
	    (int)len);
	return out;
}

/*
 * RSA keys: libssh2 1.10 signs them only as "ssh-rsa" (SHA-1), which
 * OpenSSH 8.8 and later refuse by default; rsa-sha2 user authentication
 * came with libssh2 1.11.  So castiron signs itself, through
 * libssh2_userauth_publickey: libssh2 1.10 sends the type string of the
 * blob it is given as the algorithm (userauth.c: userauth_pblc_method is
 * the blob's first string) and the callback's signature wrapped in
 * string(algorithm) string(signature).  The blob is therefore
 * string("rsa-sha2-512") mpint(e) mpint(n): OpenSSH parses a key blob of
 * that type as a plain RSA key (sshkey.c: sshkey_type_from_name, the
 * rsa-sha2-512 impl is KEY_RSA; ssh-rsa.c reads e and n) and matches it
 * against authorized_keys by e and n (sshkey_equal).
 *
 * dropbear (2022.83) compares the blob byte for byte with the
 * authorized_keys line (signkey.c: cmp_base64_key), which says
 * "ssh-rsa": it refuses that blob.  A refusal of the rsa-sha2-512 offer
 * (before anything is signed) is followed by libssh2's own ssh-rsa
 * (SHA-1) attempt, which dropbear accepts.
 */
static int
rsa_sign(LIBSSH2_SESSION *s, unsigned char **sig, size_t *siglen,
    const unsigned char *data, size_t len, void **abstract)
{
	(void)s;
	return rsakey_sign(*abstract, data, len, sig, siglen) == 0 ? 0 :
	    LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED;
}

/* ERR_OK authenticated; *refused when the server refused the
 * rsa-sha2-512 offer (ssh-rsa may still do). */
static enum err_code
auth_rsa_sha2(struct sess_conn *c, struct rsakey *k, int *refused,
    struct err *err)
{
	unsigned char	*blob;
	size_t		 len = 0;
	uint64_t	 last = mono_ms();
	void		*abstract = k;
	enum err_code	 code;
	int		 rc;

	*refused = 0;
	if ((blob = rsakey_blob(k, "rsa-sha2-512", &len)) == NULL)
		return err_set(err, ERR_INVAL, "%s: key %s: no RSA public key "
		    "in it", c->host, c->key);
	while ((rc = libssh2_userauth_publickey(c->s, c->user, blob, len,
	    rsa_sign, &abstract)) == LIBSSH2_ERROR_EAGAIN)
		if ((code = wait_io(c, last, err)) != ERR_OK) {
			free(blob);
			return code;
		}
	free(blob);
	if (rc == 0)
		return ERR_OK;
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED) {
		*refused = 1;
		return ERR_AUTH;
	}
	return err_set(err, ERR_FAIL, "%s: authentication as %s with RSA key "
	    "%s (rsa-sha2-512) failed: %s", c->host, c->user, c->key,
	    sess_errmsg(c));
}

/* What a failed libssh2_userauth_publickey_fromfile_ex means. */
static enum err_code
auth_code(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
		return ERR_AUTH;
	case LIBSSH2_ERROR_FILE:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		return ERR_INVAL;	/* the key file is not one it takes */
	default:
		return ERR_FAIL;
	}
}

enum err_code
sess_auth(struct sess_conn *c, struct err *err)
{
	struct rsakey	*k = NULL;
	uint64_t	 last;
	enum err_code	 code;
	int		 rc, rsa, refused;

	if ((code = rsakey_load(c->key, &k, err)) != ERR_OK)
		return code;
	if ((rsa = k != NULL)) {
		code = auth_rsa_sha2(c, k, &refused, err);
		rsakey_free(k);
		if (code == ERR_OK)
			goto authed;
		if (!refused)
			return code;
		/* Refused as rsa-sha2-512: dropbear wants "ssh-rsa". */
	}
	last = mono_ms();
	while ((rc = libssh2_userauth_publickey_fromfile_ex(c->s, c->user,
	    (unsigned)strlen(c->user), NULL, c->key, NULL)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if ((code = wait_io(c, last, err)) != ERR_OK)
			return code;
	if (rc != 0)
		return err_set(err, auth_code(rc), "%s: authentication as %s "
		    "with key %s refused: %s%s", c->host, c->user, c->key,
		    sess_errmsg(c), rsa == 1 ? " (an RSA key: refused both as "
		    "rsa-sha2-512 and as ssh-rsa)" : "");
authed:
	c->authed = 1;
	c->last_keepalive = mono_ms();
	return ERR_OK;
}

const char *
sess_host(const struct sess_conn *c)
{
	return c->host;
}

void
sess_close(struct sess_conn *c)
{
	int	 i;

	if (c == NULL)
		return;
	if (c->s) {
		if (c->up && !c->broken) {
			/* The goodbye, bounded: the peer may be gone. */
			uint64_t deadline = mono_ms() + CLOSE_MS;

			while (libssh2_session_disconnect(c->s, "done") ==
			    LIBSSH2_ERROR_EAGAIN && mono_ms() < deadline)
				if (wait_sock(c, deadline, NULL) != ERR_OK)
					break;
		}
		/* What could not go out now fails instead of blocking the
		 * free (channels still open send their close). */
		(void)shutdown(c->fd, SHUT_RDWR);
		for (i = 0; i < 16; i++)
			if (libssh2_session_free(c->s) != LIBSSH2_ERROR_EAGAIN)
				break;
	}
	if (c->fd != -1)
		close(c->fd);
	free(c->host);
	free(c->user);
	free(c->key);
	free(c);
}

void
sess_result_clear(struct sess_result *r)
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
	size_t	 keep;

	if (*len + n > max) {
		/* The tail says how a command ended: drop the head. */
		*trunc = 1;
		if (n >= max / 2) {
			p += n - max / 2;
			n = max / 2;
		}
		keep = *len + n > max ? max - n : *len;
		if (keep > 0)
			memmove(*buf, *buf + *len - keep, keep);
		*len = keep;
	}
	*buf = xreallocarray(*buf, 1, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/*
 * Frees a channel.  libssh2 sends its EOF and close first and returns
 * EAGAIN until they are out and the peer said something: repeated
 * within the I/O timeout.  On a broken connection, or past the timeout,
 * the connection is shut down first (every later send and receive fails
 * at once) and the free goes through without waiting.
 */
static void
channel_drop(struct sess_conn *c, LIBSSH2_CHANNEL *ch)
{
	uint64_t	 start = mono_ms();
	int		 i;

	if (c->broken)
		(void)shutdown(c->fd, SHUT_RDWR);
	for (i = 0; libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN; i++) {
		if (c->broken) {
			if (i > 64)	/* libssh2 would have to be broken */
				break;
			continue;
		}
		if (wait_io(c, start, NULL) != ERR_OK)
			(void)shutdown(c->fd, SHUT_RDWR);
	}
}

/* Opens a session channel and starts cmd on it: *out. */
static enum err_code
channel_exec(struct sess_conn *c, const char *cmd, LIBSSH2_CHANNEL **out,
    struct err *err)
{
	LIBSSH2_CHANNEL	*ch;
	uint64_t	 start = mono_ms();
	enum err_code	 code;
	int		 rc;

	*out = NULL;
	while ((ch = libssh2_channel_open_session(c->s)) == NULL) {
		if (libssh2_session_last_errno(c->s) != LIBSSH2_ERROR_EAGAIN)
			return err_set(err, ERR_FAIL, "%s: open channel: %s",
			    c->host, sess_errmsg(c));
		if ((code = wait_io(c, start, err)) != ERR_OK)
			return code;
	}
	while ((rc = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN)
		if ((code = wait_io(c, start, err)) != ERR_OK)
			goto fail;
	if (rc != 0) {
		code = err_set(err, ERR_FAIL, "%s: exec: %s", c->host,
		    sess_errmsg(c));
		goto fail;
	}
	*out = ch;
	return ERR_OK;
fail:
	channel_drop(c, ch);
	return code;
}

/*
 * After the end of output: closes the channel, waits for the peer's
 * close and reads the exit status (-1 when the command was killed by a
 * signal).  The channel is freed either way.
 */
static enum err_code
channel_finish(struct sess_conn *c, LIBSSH2_CHANNEL *ch, struct sess_result *r,
    struct err *err)
{
	uint64_t	 start = mono_ms();
	char		*sig = NULL;
	size_t		 siglen = 0;
	enum err_code	 code;
	int		 rc;

	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if ((code = wait_io(c, start, err)) != ERR_OK)
			goto fail;
	while (rc == 0 && (rc = libssh2_channel_wait_closed(ch)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if ((code = wait_io(c, start, err)) != ERR_OK)
			goto fail;
	if (rc != 0) {
		code = err_set(err, ERR_FAIL, "%s: connection lost: %s",
		    c->host, sess_errmsg(c));
		c->broken = 1;
		goto fail;
	}
	r->status = libssh2_channel_get_exit_status(ch);
	if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL,
	    NULL, NULL) == 0 && sig != NULL) {
		r->status = -1;
		libssh2_free(c->s, sig);
	}
	channel_drop(c, ch);
	return ERR_OK;
fail:
	channel_drop(c, ch);
	return code;
}

/* Hands complete lines of new stdout data to online. */
static void
emit_lines(struct sess_result *r, size_t *done, sess_line_fn online, void *arg)
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

struct sess_stream {
	struct sess_conn		*c;
	LIBSSH2_CHANNEL		*ch;
	sess_line_fn		 online;
	void			*linearg;
	size_t			 maxout, linedone;
	struct sess_result	 r;
	uint64_t		 sent;
	int			 eof;	/* the command's output ended */
};

enum err_code
sess_stream_open(struct sess_conn *c, const char *cmd, sess_line_fn online,
    void *linearg, struct sess_stream **out, struct err *err)
{
	struct sess_stream	*st;
	LIBSSH2_CHANNEL		*ch;
	enum err_code		 code;

	*out = NULL;
	if ((code = channel_exec(c, cmd, &ch, err)) != ERR_OK)
		return code;
	st = xcalloc(1, sizeof(*st));
	st->c = c;
	st->ch = ch;
	st->online = online;
	st->linearg = linearg;
	st->maxout = STREAM_MAXOUT;
	st->r.out = xstrdup("");
	st->r.errout = xstrdup("");
	*out = st;
	return ERR_OK;
}

/*
 * Reads what stdout and stderr have, and whether the output ended;
 * *progress set when something came.  Never called with a packet of the
 * caller's half sent.  A read may itself send (a window adjustment, the
 * answer to a request of the peer's such as OpenSSH's ClientAlive
 * keepalive) and leave it half in the socket: the same read, repeated
 * once the socket has room, finishes it, so that nothing is left pending
 * for the caller's next send.
 */
/*
 * A command followed line by line keeps only its last lines handed over
 * (and the one still arriving): a writer reporting progress for hours
 * never fills the buffer, and its last line is never lost.
 */
static void
forget_lines(struct sess_stream *st)
{
	size_t	 keep = st->maxout / 4, from;

	if (st->linedone <= keep)
		return;
	from = st->linedone - keep;
	while (from < st->linedone && st->r.out[from - 1] != '\n')
		from++;
	memmove(st->r.out, st->r.out + from, st->r.outlen - from + 1);
	st->r.outlen -= from;
	st->linedone -= from;
}

static enum err_code
stream_drain(struct sess_stream *st, int *progress, struct err *err)
{
	char		 rbuf[32768];
	uint64_t	 since = mono_ms();
	enum err_code	 code;
	ssize_t		 n;
	int		 i;

	if (st->eof)
		return ERR_OK;
	for (i = 0; i < 2; i++) {
		for (;;) {
			n = libssh2_channel_read_ex(st->ch, i ?
			    SSH_EXTENDED_DATA_STDERR : 0, rbuf, sizeof(rbuf));
			if (n == LIBSSH2_ERROR_EAGAIN && send_pending(st->c)) {
				if ((code = wait_io(st->c, since, err)) !=
				    ERR_OK)
					return code;
				continue;
			}
			if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
				break;
			if (n < 0) {
				st->c->broken = 1;
				return err_set(err, ERR_FAIL, "%s: read: %s",
				    st->c->host, sess_errmsg(st->c));
			}
			if (i)
				capture(&st->r.errout, &st->r.erroutlen,
				    st->maxout, rbuf, (size_t)n,
				    &st->r.truncated);
			else {
				capture(&st->r.out, &st->r.outlen,
				    st->maxout, rbuf, (size_t)n,
				    &st->r.truncated);
				if (st->linedone > st->r.outlen)
					st->linedone = 0;  /* a giant line */
				if (st->online) {
					emit_lines(&st->r, &st->linedone,
					    st->online, st->linearg);
					forget_lines(st);
				}
			}
			since = mono_ms();
			*progress = 1;
		}
	}
	/* EOF counts once nothing of either stream is left unread. */
	if (libssh2_channel_eof(st->ch) == 1) {
		st->eof = 1;
		*progress = 1;
	}
	return ERR_OK;
}

/*
 * The command stopped reading its input (it exited, or closed its
 * output): what it said before it went arrived before its EOF and is
 * taken in (stream_drain saw the EOF only after reading all of it), so
 * that its own error line reaches the caller (online) rather than a bare
 * "channel closed".  Returns ERR_FAIL.
 */
static enum err_code
stream_stopped(struct sess_stream *st, struct err *err)
{
	return err_set(err, ERR_FAIL, "%s: the remote command stopped "
	    "reading its input", st->c->host);
}

/*
 * The peer's window is full.  The write before has just taken in all
 * that had arrived: the command's output (or its end) is read when some
 * is queued, and otherwise the socket is waited on for the window
 * adjustment, without a read that would find nothing (with dropbear's
 * 24 KiB window this happens every 24 KiB).  *last: the last progress.
 */
static enum err_code
stream_window_wait(struct sess_stream *st, uint64_t *last, struct err *err)
{
	enum err_code	 code;
	int		 progress = 0;

	if ((libssh2_poll_channel_read(st->ch, 1) != 0 ||
	    libssh2_channel_eof(st->ch) != 0) &&
	    (code = stream_drain(st, &progress, err)) != ERR_OK)
		return code;
	if (progress) {
		*last = mono_ms();
		return ERR_OK;
	}
	if (libssh2_channel_window_write(st->ch) > 0)
		return ERR_OK;
	return wait_io(st->c, *last, err);
}

/*
 * Writes buf as channel data.  libssh2_channel_write sends at most one
 * packet per call (32,700 bytes, less when the peer's window or packet
 * size is smaller) after taking in what arrived (window adjustments and
 * the command's output, queued): the loop calls it until the peer's
 * window is full, handing queued output lines over as they come without
 * a read of their own, so the window stays as full as the peer lets it.
 */
enum err_code
sess_stream_write(struct sess_stream *st, const void *buf, size_t len,
    struct err *err)
{
	const char	*p = buf;
	size_t		 pos = 0;
	uint64_t	 last = mono_ms();
	enum err_code	 code;
	ssize_t		 n;
	int		 full = 0;

	if ((code = stopped(st->c, err)) != ERR_OK)
		return code;
	while (pos < len) {
		int	 progress = 0;

		if (st->eof)
			return stream_stopped(st, err);
		if (full) {
			full = 0;
			if ((code = stream_window_wait(st, &last, err)) !=
			    ERR_OK)
				return code;
			continue;
		}
		n = libssh2_channel_write(st->ch, p + pos, len - pos);
		if (n > 0) {
			pos += (size_t)n;
			st->sent += (uint64_t)n;
			last = mono_ms();
			/* Output libssh2 queued on the way (no I/O here). */
			if (libssh2_poll_channel_read(st->ch, 1) != 0 &&
			    (code = stream_drain(st, &progress, err)) != ERR_OK)
				return code;
			/* That packet took the rest of the window. */
			full = libssh2_channel_window_write(st->ch) == 0;
			continue;
		}
		if (n == LIBSSH2_ERROR_BAD_USE && send_pending(st->c)) {
			/* libssh2's answer to a request of the peer's, made
			 * while it took in packets, is half out: finish it. */
			if ((code = stream_drain(st, &progress, err)) != ERR_OK)
				return code;
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			/* A command that went may have said why. */
			if (!send_pending(st->c) &&
			    stream_drain(st, &progress, NULL) == ERR_OK &&
			    st->eof)
				return stream_stopped(st, err);
			st->c->broken = 1;
			return err_set(err, ERR_FAIL, "%s: write: %s",
			    st->c->host, sess_errmsg(st->c));
		}
		if (send_pending(st->c)) {
			/* A packet is half in the socket: the same call
			 * finishes it once the socket has room. */
			if ((code = wait_io(st->c, last, err)) != ERR_OK)
				return code;
			continue;
		}
		full = 1;	/* 0 or EAGAIN: no window */
	}
	return ERR_OK;
}

enum err_code
sess_stream_wait(struct sess_stream *st, int (*until)(void *), void *arg,
    struct err *err)
{
	uint64_t	 last = mono_ms();
	enum err_code	 code;
	int		 progress;

	for (;;) {
		if (until(arg) || st->eof)
			return ERR_OK;
		progress = 0;
		if ((code = stream_drain(st, &progress, err)) != ERR_OK)
			return code;
		if (progress)
			last = mono_ms();
		else if ((code = wait_io(st->c, last, err)) != ERR_OK)
			return code;
	}
}

enum err_code
sess_stream_finish(struct sess_stream *st, struct sess_result *r,
    struct err *err)
{
	uint64_t	 last = mono_ms();
	enum err_code	 code;
	int		 rc;

	/* Nothing of libssh2's own half out (see stream_drain), then EOF
	 * behind the data, out whole before anything is read. */
	if (send_pending(st->c)) {
		int progress = 0;

		if ((code = stream_drain(st, &progress, err)) != ERR_OK)
			goto fail;
	}
	while ((rc = libssh2_channel_send_eof(st->ch)) == LIBSSH2_ERROR_EAGAIN)
		if ((code = wait_io(st->c, last, err)) != ERR_OK)
			goto fail;
	if (rc != 0) {
		code = err_set(err, ERR_FAIL, "%s: send eof: %s", st->c->host,
		    sess_errmsg(st->c));
		st->c->broken = 1;
		goto fail;
	}
	last = mono_ms();
	while (!st->eof) {
		int progress = 0;

		if ((code = stream_drain(st, &progress, err)) != ERR_OK)
			goto fail;
		if (progress) {
			last = mono_ms();
			continue;
		}
		if ((code = wait_io(st->c, last, err)) != ERR_OK)
			goto fail;
	}
	if (st->online && st->linedone < st->r.outlen)
		st->online(st->linearg, st->r.out + st->linedone);
	code = channel_finish(st->c, st->ch, &st->r, err);
	st->ch = NULL;
	if (code != ERR_OK) {
		sess_result_clear(&st->r);
		free(st);
		memset(r, 0, sizeof(*r));
		return code;
	}
	*r = st->r;
	free(st);
	return ERR_OK;
fail:
	sess_stream_abort(st);
	memset(r, 0, sizeof(*r));
	return code;
}

void
sess_stream_abort(struct sess_stream *st)
{
	if (st == NULL)
		return;
	if (st->ch)
		channel_drop(st->c, st->ch);
	sess_result_clear(&st->r);
	free(st);
}

static enum err_code
run_core(struct sess_conn *c, const char *cmd, sess_source_fn src, void *srcarg,
    sess_line_fn online, void *linearg, size_t maxout, struct sess_result *r,
    uint64_t *sent, struct err *err)
{
	struct sess_stream	*st;
	char			*buf = NULL;
	size_t			 got;
	enum err_code		 code;

	memset(r, 0, sizeof(*r));
	if (sent)
		*sent = 0;
	if ((code = sess_stream_open(c, cmd, online, linearg, &st, err)) !=
	    ERR_OK)
		return code;
	st->maxout = maxout;
	if (src) {
		buf = xmalloc(STREAM_CHUNK);
		for (;;) {
			if ((code = src(srcarg, buf, STREAM_CHUNK, &got,
			    err)) != ERR_OK)
				goto fail;
			if (got == 0)
				break;
			if ((code = sess_stream_write(st, buf, got, err)) !=
			    ERR_OK)
				goto fail;
		}
		/* It may have held a secret (configure's host key). */
		explicit_bzero(buf, STREAM_CHUNK);
		free(buf);
	}
	if (sent)
		*sent = st->sent;
	return sess_stream_finish(st, r, err);
fail:
	if (buf)
		explicit_bzero(buf, STREAM_CHUNK);
	free(buf);
	sess_stream_abort(st);
	return code;
}

struct membuf {
	const char	*p;
	size_t		 len, pos;
};

static enum err_code
mem_source(void *arg, void *buf, size_t len, size_t *got, struct err *err)
{
	struct membuf	*m = arg;
	size_t		 n = m->len - m->pos;

	(void)err;
	if (n > len)
		n = len;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	*got = n;
	return ERR_OK;
}

enum err_code
sess_run(struct sess_conn *c, const char *cmd, const void *in, size_t inlen,
    size_t maxout, struct sess_result *r, struct err *err)
{
	struct membuf	 m = { in, inlen, 0 };

	return run_core(c, cmd, in ? mem_source : NULL, &m, NULL, NULL,
	    maxout, r, NULL, err);
}

