/*
 * The BIRD control-socket client.  castiron talks to BIRD the way birdc
 * does: one command line, then reply lines each starting with a 4-digit
 * code ("DDDD-" more follows, "DDDD " the last line, " " a continuation of
 * the previous code, "+DDDD" unsolicited), 8xxx run-time and 9xxx parse
 * errors (BIRD's doc/reply_codes).  The connection is an opaque handle
 * that never blocks the daemon's loop: commands are queued, and their
 * replies come back through callbacks.  Every reply has a deadline, and
 * a connection that timed out or broke is closed so that the next
 * command starts on a clean stream.
 *
 * The reply parser (struct bird_parser, bird_reply_parse) is pure: bytes
 * in, lines out, unit-tested and fuzzed; everything else here does I/O.
 */
#ifndef CASTIRON_BIRD_H
#define CASTIRON_BIRD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define BIRD_MAX_LINE		65536		/* one reply line */
#define BIRD_MAX_REPLY		(8 << 20)	/* a whole reply */
#define BIRD_MAX_LINES		200000

struct bird_line {
	int	 code;		/* 4-digit code; a continuation carries its own */
	char	*text;		/* without code, separator and newline */
};

struct bird_reply {
	int			 code;		/* code of the final line */
	struct bird_line	*lines;
	size_t			 nlines;
	size_t			 nunsolicited;	/* '+' lines skipped */
};

/* One protocol line of `show protocols`. */
struct bird_proto {
	char	 name[72];
	char	 proto[32];
	char	 state[16];	/* "up", "down", "start", ... */
};

struct bird;

/*
 * A command's end: rc 0 with BIRD's reply r (whose code may be an error;
 * see bird_result), or -1 when the connection failed or BIRD did not
 * answer within bird_timeout (err; r NULL).  arg is the caller's,
 * xmalloc'd or NULL, and is freed by bird.c after the call.
 */
typedef void (*bird_done_fn)(struct bird *, void *arg, int rc,
	    const struct bird_reply *r, const char *err);
/* The connection came up (up 1: BIRD greeted) or went (up 0, err). */
typedef void (*bird_state_fn)(struct bird *, void *arg, int up,
	    const char *err);

struct bird	*bird_new(const char *socket_path, uint64_t timeout_ms);
/* Closes (every queued command fails first) and frees. */
void		 bird_free(struct bird *);
/* Makes the connection one more descriptor of an epoll loop; fn hears
 * of the connection coming and going. */
void		 bird_attach(struct bird *, int epfd, bird_state_fn fn,
		    void *arg);
/* Starts connecting, never waiting: 0 (fn says how it ends) or -1 (err). */
enum err_code	 bird_connect_start(struct bird *, struct err *);
/* Connects and waits for the greeting, at most bird_timeout (the CLI, and
 * the daemon as it stops); 0 or -1 (err). */
enum err_code	 bird_connect(struct bird *, struct err *);
void		 bird_close(struct bird *);
int		 bird_connected(const struct bird *);	/* BIRD greeted */
int		 bird_connecting(const struct bird *);
/* "2.0.12" from the welcome line; "" when not connected. */
const char	*bird_version(const struct bird *);

/*
 * Queues one command (written at once if the socket takes it); done is
 * called with its reply.  -1 when not connected or the command is not
 * valid (done is not called, arg is freed).  owner is for bird_forget.
 */
int	bird_send(struct bird *, const char *cmd, void *owner,
	    bird_done_fn done, void *arg);
/* `enable PROTO` or `disable PROTO` (castiron's names only). */
int	bird_send_switch(struct bird *, const char *proto, int enable,
	    void *owner, bird_done_fn done, void *arg);
/* `show protocols "PATTERN"`. */
int	bird_send_protocols(struct bird *, const char *pattern, void *owner,
	    bird_done_fn done, void *arg);
/* The owner is going away: its commands' replies will be dropped. */
void	bird_forget(struct bird *, void *owner);
size_t	bird_pending(const struct bird *);
/* When bird_run_timers must next run (a reply's deadline); UINT64_MAX
 * when nothing is awaited. */
uint64_t bird_next_timer(const struct bird *);
void	bird_run_timers(struct bird *, uint64_t now);
/* Without a loop: waits on the connection until nothing is pending (or
 * cond(arg) holds), at most until deadline (monotonic ms); 0, or -1 when
 * the connection closed or the deadline passed (then it is closed). */
int	bird_wait_idle(struct bird *, uint64_t deadline);
int	bird_wait(struct bird *, uint64_t deadline, int (*cond)(void *),
	    void *arg);

/* What a reply means: 0 done, -1 an error (err), BIRD_NO_PROTOCOL when
 * BIRD has no protocol of the name given (not loaded yet: a configure is
 * due). */
#define BIRD_NO_PROTOCOL	(-2)
int	bird_result(const struct bird_reply *, struct err *);
/* A `show protocols` reply's rows (none for "No protocols match"); *out
 * xmalloc'd; -1 on an error reply (err). */
int	bird_reply_protocols(const struct bird_reply *,
	    struct bird_proto **out, size_t *n, struct err *);
/* A `show route` reply: how many routes it lists (0 for "Network not
 * found"), the first one's protocol in via; -1 on another error (err). */
int	bird_reply_routes(const struct bird_reply *, char *via, size_t vialen,
	    struct err *);
/* A `show status` reply's "Last reboot on ..." text, to notice a
 * restart ("?" when absent). */
void	bird_reply_reboot(const struct bird_reply *, char *buf, size_t len);

/*
 * The pure parts.  A bird_parser reads one reply as its bytes arrive:
 * bird_parser_feed takes the complete lines at the start of buf (a partial
 * line is left for the next call, which must pass it again at the start of
 * its buf, followed by what came since), and returns how many bytes it
 * took, with done set once the reply's last line was taken (nothing after
 * it is taken), or -1 when the bytes are not a BIRD reply (err filled).
 * The reply is then in r; the caller owns it (bird_reply_clear).
 */
struct bird_parser {
	struct bird_reply	 r;
	int			 last;		/* code of the last coded line */
	size_t			 used;		/* bytes of this reply taken */
	size_t			 scanned;	/* of the partial line, seen */
	int			 done;
};

void	bird_parser_init(struct bird_parser *);
ssize_t	bird_parser_feed(struct bird_parser *, const char *buf, size_t len,
	    struct err *);
/*
 * One complete reply at the start of buf: returns the number of bytes it
 * used (> 0) and fills r, 0 when more bytes are needed, -1 when the bytes
 * are not a BIRD reply (err filled).  The caller clears r with
 * bird_reply_clear.
 */
ssize_t	bird_reply_parse(const char *buf, size_t len, struct bird_reply *r,
	    struct err *);
void	bird_reply_clear(struct bird_reply *);
int	bird_code_is_error(int code);
/* Whether an error reply says BIRD has no protocol of the name given. */
int	bird_reply_no_protocol(const struct bird_reply *);
/* A one-line description of an error reply: "8002 bird.conf:4: ..." */
void	bird_reply_error(const struct bird_reply *, struct err *);
/* Fills protocol rows from a `show protocols` reply; *out xmalloc'd. */
int	bird_parse_protocols(const struct bird_reply *, struct bird_proto **out,
	    size_t *n);
/* Whether a `configure` reply means the new config was taken (BIRD 2
 * answers 0003, BIRD 3 may answer 0004; 0020 is `configure check`). */
int	bird_configure_ok(const struct bird_reply *);

#endif
