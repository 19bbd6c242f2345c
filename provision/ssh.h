/*
 * The SSH transport for provisioning: one libssh2 session per host, key
 * authentication only, host key checked by the caller between connect and
 * authentication (so that nothing is sent to an impostor), commands run
 * with their output captured, stdin streamed to a remote command, files
 * uploaded on the stdin of cat (no scp needed on the host).  Every wait
 * is bounded by the connect or I/O timeout; keepalives go out while
 * waiting.  The session is an opaque handle.
 *
 * Commands are strings interpreted by the remote shell: build them only
 * from constants and values passed through sh_quote() (provision/shell.h).
 */
#ifndef CASTIRON_PROVISION_SSH_H
#define CASTIRON_PROVISION_SSH_H

#include <stddef.h>
#include <stdint.h>

#define SSH_FP_LEN	64	/* "SHA256:" + 43 base64 characters + NUL */

struct ssh_conn;

struct ssh_opts {
	const char	*host;		/* address or name */
	uint16_t	 port;
	const char	*user;
	const char	*key_path;	/* private key; public key derived */
	uint64_t	 connect_timeout_ms;
	uint64_t	 io_timeout_ms;	/* no progress for this long: error */
	unsigned	 keepalive_s;	/* 0: none */
};

/* Captured result of a remote command; out and errout are NUL-terminated
 * and owned by the struct (ssh_result_clear). */
struct ssh_result {
	int	 status;	/* exit status; -1 when killed by a signal */
	char	*out;
	size_t	 outlen;
	char	*errout;
	size_t	 errlen;
	int	 truncated;	/* output beyond the limit was dropped */
};

/*
 * Source of stdin for ssh_run_stream(): fills buf with up to len bytes,
 * sets *got (0 at end of input) and returns 0, or -1 with err set.
 */
typedef int (*ssh_source_fn)(void *arg, void *buf, size_t len, size_t *got,
    char *err, size_t errlen);
/* Called with each line of the command's stdout as it arrives. */
typedef void (*ssh_line_fn)(void *arg, const char *line);

/* TCP connect and SSH handshake (no authentication yet). */
struct ssh_conn	*ssh_dial(const struct ssh_opts *, char *err, size_t errlen);
/* The server's host key as "SHA256:<base64>" and its type name. */
int		 ssh_hostkey(struct ssh_conn *, char fp[SSH_FP_LEN],
		    char *type, size_t typelen);
/* The host key blob in base64 (as in known_hosts), caller frees. */
char		*ssh_hostkey_b64(struct ssh_conn *);
/* Public key authentication with opts->key_path. */
int		 ssh_auth(struct ssh_conn *, char *err, size_t errlen);
void		 ssh_close(struct ssh_conn *);

/* Runs cmd; stdin gets in[0..inlen) (may be NULL); output beyond maxout
 * bytes per stream is dropped and flagged.  -1 only on transport errors;
 * a non-zero exit status is a result, not an error. */
int	ssh_run(struct ssh_conn *, const char *cmd, const void *in,
	    size_t inlen, size_t maxout, struct ssh_result *,
	    char *err, size_t errlen);
/* Runs cmd with stdin from src, handing each stdout line to online while
 * it runs; *sent counts the bytes delivered to the channel. */
int	ssh_run_stream(struct ssh_conn *, const char *cmd, ssh_source_fn src,
	    void *srcarg, ssh_line_fn online, void *linearg,
	    struct ssh_result *, uint64_t *sent, char *err, size_t errlen);
void	ssh_result_clear(struct ssh_result *);

/*
 * A command fed by pushes (for senders that produce their own data):
 * open, write as much as needed (stdout lines go to online meanwhile),
 * then finish (sends EOF, waits for the exit status; the stream is freed
 * either way) or abort.
 */
struct ssh_stream;
struct ssh_stream *ssh_stream_open(struct ssh_conn *, const char *cmd,
		    ssh_line_fn online, void *linearg, char *err,
		    size_t errlen);
int		 ssh_stream_write(struct ssh_stream *, const void *, size_t,
		    char *err, size_t errlen);
uint64_t	 ssh_stream_sent(const struct ssh_stream *);
int		 ssh_stream_finish(struct ssh_stream *, struct ssh_result *,
		    char *err, size_t errlen);
void		 ssh_stream_abort(struct ssh_stream *);

/* Uploads local file to remote path (through cat, umask 077, then chmod
 * mode). */
int	ssh_upload(struct ssh_conn *, const char *local, const char *remote,
	    int mode, char *err, size_t errlen);

/* SHA256 fingerprint of an OpenSSH public key line ("TYPE BASE64 [comment]")
 * or of a raw key blob, in the same form as ssh_hostkey(). */
int	ssh_fp_of_publine(const char *line, char fp[SSH_FP_LEN], char *err,
	    size_t errlen);
void	ssh_fp_of_blob(const unsigned char *, size_t, char fp[SSH_FP_LEN]);
/* Reads the first key line of an OpenSSH .pub file and fingerprints it. */
int	ssh_fp_of_pubfile(const char *path, char fp[SSH_FP_LEN], char *err,
	    size_t errlen);

#endif
