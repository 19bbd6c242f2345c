/*
 * The BIRD control-socket client.  castiron talks to BIRD the way birdc
 * does: one command line, then reply lines each starting with a 4-digit
 * code ("DDDD-" more follows, "DDDD " the last line, " " a continuation of
 * the previous code, "+DDDD" unsolicited), 8xxx run-time and 9xxx parse
 * errors (BIRD's doc/reply_codes).  The connection is an opaque handle;
 * every command has a deadline, and a connection that timed out or broke
 * is closed so that the next command starts on a clean stream.
 *
 * The reply parser (struct bird_parser, bird_reply_parse) is pure: bytes
 * in, lines out, unit-tested and fuzzed; everything else here does I/O.
 */
#ifndef CASTIRON_BIRD_H
#define CASTIRON_BIRD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

struct bird	*bird_new(const char *socket_path, uint64_t timeout_ms);
void		 bird_free(struct bird *);
/* Connects and reads the welcome line; 0 or -1 (err). */
int		 bird_connect(struct bird *, char *err, size_t errlen);
void		 bird_close(struct bird *);
int		 bird_connected(const struct bird *);
/* "2.0.12" from the welcome line; "" when not connected. */
const char	*bird_version(const struct bird *);

/*
 * Sends one command and reads its whole reply into r (cleared first).
 * Returns 0 when a reply came (r->code may still be an error code; see
 * bird_code_is_error), -1 when the connection failed or timed out (err
 * filled, connection closed).
 */
int	bird_cmd(struct bird *, const char *cmd, struct bird_reply *r,
	    char *err, size_t errlen);

/* Commands castiron uses; each 0 on success, -1 with a reason in err.
 * enable and disable return BIRD_NO_PROTOCOL when BIRD has no protocol of
 * that name (not loaded yet: a configure is due). */
#define BIRD_NO_PROTOCOL	(-2)
int	bird_enable(struct bird *, const char *proto, char *err, size_t errlen);
int	bird_disable(struct bird *, const char *proto, char *err, size_t errlen);
int	bird_configure(struct bird *, char *err, size_t errlen);
/* `show protocols "PATTERN"`; *out is xmalloc'd, the caller frees it. */
int	bird_protocols(struct bird *, const char *pattern,
	    struct bird_proto **out, size_t *n, char *err, size_t errlen);
/* `show status`: the "Last reboot on ..." text, to notice a restart. */
int	bird_last_reboot(struct bird *, char *buf, size_t len, char *err,
	    size_t errlen);

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
	    char *err, size_t errlen);
/*
 * One complete reply at the start of buf: returns the number of bytes it
 * used (> 0) and fills r, 0 when more bytes are needed, -1 when the bytes
 * are not a BIRD reply (err filled).  The caller clears r with
 * bird_reply_clear.
 */
ssize_t	bird_reply_parse(const char *buf, size_t len, struct bird_reply *r,
	    char *err, size_t errlen);
void	bird_reply_clear(struct bird_reply *);
int	bird_code_is_error(int code);
/* Whether an error reply says BIRD has no protocol of the name given. */
int	bird_reply_no_protocol(const struct bird_reply *);
/* A one-line description of an error reply: "8002 bird.conf:4: ..." */
void	bird_reply_error(const struct bird_reply *, char *err, size_t errlen);
/* Fills protocol rows from a `show protocols` reply; *out xmalloc'd. */
int	bird_parse_protocols(const struct bird_reply *, struct bird_proto **out,
	    size_t *n);
/* Whether a `configure` reply means the new config was taken (BIRD 2
 * answers 0003, BIRD 3 may answer 0004; 0020 is `configure check`). */
int	bird_configure_ok(const struct bird_reply *);

#endif
