/*
 * The SSH transport for provisioning: one libssh2 session per host, key
 * authentication only, host key checked by the caller between connect and
 * authentication (so that nothing is sent to an impostor), commands run
 * with their output captured, stdin streamed to a remote command
 * (provision/upload.c sends files that way).  Every wait
 * is bounded by the connect or I/O timeout; keepalives go out while
 * waiting.  The session is an opaque handle.
 *
 * Commands are strings interpreted by the remote shell: build them only
 * from constants and values passed through sh_quote() (provision/shell.h).
 */
#ifndef CASTIRON_PROVISION_SESS_H
#define CASTIRON_PROVISION_SESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/sshkey.h"


struct sess_conn;

struct sess_opts {
	const char	*host;		/* address or name */
	uint16_t	 port;
	const char	*user;
	const char	*key_path;	/* private key; public key derived */
	uint64_t	 connect_timeout_ms;
	/* The SSH handshake once TCP is up; 0: the connect timeout.  A
	 * short dial that polls a booting host must not cut short the
	 * handshake of one that answered: sshd on a slow machine takes
	 * seconds to speak, and every handshake given up stays a pending
	 * connection there until its LoginGraceTime (MaxStartups). */
	uint64_t	 handshake_timeout_ms;
	uint64_t	 io_timeout_ms;	/* no progress for this long: error */
	unsigned	 keepalive_s;	/* 0: none */
	/* When it points to non-zero (set by another thread: the run was
	 * interrupted), every wait and write gives up within a second,
	 * "interrupted", and the session says no goodbye.  NULL: never. */
	const atomic_int *stop;
};

/* Captured result of a remote command; out and errout are NUL-terminated
 * and owned by the struct (sess_result_clear). */
struct sess_result {
	int	 status;	/* exit status; -1 when killed by a signal */
	char	*out;
	size_t	 outlen;
	char	*errout;
	size_t	 erroutlen;
	int	 truncated;	/* output beyond the limit was dropped */
};

/*
 * Every function that can fail returns an enum err_code (lib/err.h) and
 * on failure fills the caller's struct err with one line naming the
 * address (a NULL struct err keeps nothing).  The codes: ERR_TIMEOUT a
 * bounded wait ran out (the connect, the handshake, no progress for the
 * I/O timeout), ERR_AUTH the server refused the key, ERR_TRUST no host
 * key castiron can read, ERR_INVAL the caller's input is wrong (a key
 * file castiron cannot use, a bad remote path), ERR_FAIL anything else:
 * no address, refused, interrupted, I/O failed or the connection lost.
 * On success the struct err is left as it was.
 */

/*
 * Source of stdin for sess_run(): fills buf with up to len bytes, sets
 * *got (0 at end of input) and returns ERR_OK, or a code with err set.
 */
typedef enum err_code (*sess_source_fn)(void *arg, void *buf, size_t len,
    size_t *got, struct err *);
/* Called with each line of the command's stdout as it arrives. */
typedef void (*sess_line_fn)(void *arg, const char *line);

/* TCP connect and SSH handshake (no authentication yet) into *out (NULL
 * on failure). */
enum err_code	 sess_dial(const struct sess_opts *, struct sess_conn **out,
		    struct err *);
/* The server's host key as "SHA256:<base64>" and its type name;
 * ERR_TRUST when there is none castiron can read. */
enum err_code	 sess_hostkey(struct sess_conn *, char fp[SSH_FP_LEN],
		    char *type, size_t typelen, struct err *);
/* The host key blob in base64 (as in known_hosts), caller frees; NULL
 * when there is none. */
char		*sess_hostkey_b64(struct sess_conn *);
/* Public key authentication with opts->key_path. */
enum err_code	 sess_auth(struct sess_conn *, struct err *);
void		 sess_close(struct sess_conn *);
/*
 * While abort points to non-zero (another stream of the same image write
 * failed, on another thread), every wait and write of the session gives
 * up within a second, as when the run is interrupted.  NULL: no more.
 */
void		 sess_set_abort(struct sess_conn *, const atomic_int *abort);
/* The address the session was opened to (for messages). */
const char	*sess_host(const struct sess_conn *);

/* Runs cmd; stdin gets in[0..inlen) (may be NULL); output beyond maxout
 * bytes per stream is dropped and flagged.  A code only for transport
 * errors; a non-zero exit status is a result, not an error. */
enum err_code	 sess_run(struct sess_conn *, const char *cmd, const void *in,
		    size_t inlen, size_t maxout, struct sess_result *,
		    struct err *);
void		 sess_result_clear(struct sess_result *);

/*
 * A command fed by pushes (for senders that produce their own data):
 * open, write as much as needed (stdout lines go to online meanwhile),
 * then finish (sends EOF, waits for the exit status; the stream is freed
 * either way) or abort.
 */
struct sess_stream;
enum err_code	 sess_stream_open(struct sess_conn *, const char *cmd,
		    sess_line_fn online, void *linearg,
		    struct sess_stream **out, struct err *);
enum err_code	 sess_stream_write(struct sess_stream *, const void *, size_t,
		    struct err *);
/* Reads the command's output (stdout lines to online) until until(arg)
 * says so (1) or the output ends: ERR_OK either way (until says which);
 * a code on a transport error or when nothing arrives for the I/O
 * timeout. */
enum err_code	 sess_stream_wait(struct sess_stream *, int (*until)(void *),
		    void *arg, struct err *);
enum err_code	 sess_stream_finish(struct sess_stream *, struct sess_result *,
		    struct err *);
void		 sess_stream_abort(struct sess_stream *);

/* Uploads a local file to a remote path (provision/upload.c). */
enum err_code	 sess_upload(struct sess_conn *, const char *local,
		    const char *remote, int mode, struct err *);

#endif
