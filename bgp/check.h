/*
 * Health checks: one generic check per service, with one small file per
 * kind (check_http.c through libcurl's multi interface, check_tcp.c a
 * non-blocking connect, check_exec.c a child process).  Every kind runs
 * inside the daemon's one epoll loop: a check registers its descriptors
 * there and never blocks, so a hung check cannot delay another; the
 * checker enforces each run's timeout on the monotonic clock.
 *
 * A run ends exactly once, through the done callback, with ok and a short
 * reason an operator can act on ("HTTP 503", "connect: Connection
 * refused", "exit 3: disk full", "timed out after 500ms").
 */
#ifndef CASTIRON_CHECK_H
#define CASTIRON_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/err.h"

#define CHECK_REASON_LEN	200

struct checker;
struct check;

typedef void (*check_done_fn)(void *arg, int ok, const char *reason);

/* The engine: owns the curl multi handle and the exec children. */
struct checker	*checker_new(int epfd);
void		 checker_free(struct checker *);
/* Earliest monotonic ms at which checker_run_timers must run;
 * UINT64_MAX when nothing waits. */
uint64_t	 checker_next_timer(const struct checker *);
void		 checker_run_timers(struct checker *, uint64_t now);

struct resolved;
/* Names resolved beforehand (resolve.h) for the checks created next; a
 * TCP check whose host is among them takes its answer and does no lookup.
 * The array must live until checker_set_resolved(ck, NULL, 0). */
void		 checker_set_resolved(struct checker *, const struct resolved *,
		    size_t n);
/* Raises the soft limit of open files to the hard one (a check holds a
 * connection or a child's pipe and pidfd: thousands of services need more
 * than the usual 1024); the checks' children get the old limit back. */
void		 checker_raise_limits(void);
void		 checker_restore_limits(void);
/* A check for one service (the config is copied, not kept). */
struct check	*check_new(struct checker *, const struct cfg_service *,
		    check_done_fn, void *arg, struct err *);
/* Stops a running check without calling done, and frees it. */
void		 check_free(struct check *);
/* Starts one run; done is called later, or at once when the run cannot
 * even start.  A check that is still running is left alone. */
void		 check_start(struct check *);
int		 check_running(const struct check *);
/* Whether the last run failed because nothing listens on this host (a
 * connection to a loopback address refused): the service's own process is
 * gone, a local failure that the last-announcer guard never keeps. */
int		 check_local(const struct check *);

/* An exec check's command split into words as the check runs it: single
 * quotes, double quotes (\" and \\ inside), backslash; no expansion.
 * *argv is NULL-terminated and xmalloc'd (free each word, then it);
 * -1 with err on an unbalanced quote, an empty command or over 64 words. */
enum err_code	 exec_split_words(const char *, char ***argv, struct err *);

#endif
