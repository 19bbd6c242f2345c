/*
 * Exec check: the service is healthy when a command exits 0 within the
 * timeout.  The command is split into words here (single and double
 * quotes, backslash) and executed directly; /bin/sh sees it only when the
 * service says shell = yes.  The child runs in its own session, so a
 * timeout kills its whole process group, optionally as another user, with
 * stdin from /dev/null and the tail of its output kept for the log.
 * The loop learns of the exit through a pidfd, never through SIGCHLD.
 */
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgp/check_int.h"
#include "lib/xmalloc.h"

#define EXEC_TAIL	160	/* bytes of output kept for the reason */
#define EXEC_MAXARGS	64

struct exec_run;

struct exec_check {
	struct check	*c;
	char		**argv;
	int		 as_user;
	uid_t		 uid;
	gid_t		 gid;
	char		*user;
	/* the run in progress */
	struct evh	 pid_evh;
	struct evh	 out_evh;
	pid_t		 pid;
	int		 pidfd;
	int		 outfd;
	char		 tail[EXEC_TAIL + 1];
	size_t		 taillen;
	struct orphan	*prev;		/* the last run's child, killed, not gone */
};

struct orphan {
	struct evh	 evh;
	struct checker	*ck;
	pid_t		 pid;
	int		 pidfd;
	struct exec_check *owner;	/* whose run it was; NULL once freed */
	struct orphan	*next;
};

#define EXEC_FROM(h, m)	((struct exec_check *)(void *)((char *)(h) - \
	offsetof(struct exec_check, m)))

/*
 * Kills a check's child and everything it started.  The child by its pid
 * first: its own process group exists only once it has run setsid(), and
 * a timeout can fire before it gets that far (a short timeout, a busy
 * machine); kill(-pid) alone then fails with ESRCH and the command runs
 * to its end.  Once SIGKILL is pending the child can fork no more (the
 * kernel refuses a fork with a fatal signal pending), so whatever it
 * started before is already in its group, and the group goes next.  The
 * pid cannot have been reused: it stays ours until we reap it.
 */
static void
exec_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	kill(-pid, SIGKILL);
}

enum err_code
exec_split_words(const char *s, char ***out, struct err *err)
{
	char	**argv = xcalloc(EXEC_MAXARGS + 1, sizeof(char *));
	char	*word = xmalloc(strlen(s) + 1);
	size_t	 n = 0, k;
	int	 in_word;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		k = 0;
		in_word = 1;
		while (*s && in_word) {
			if (*s == ' ' || *s == '\t') {
				in_word = 0;
			} else if (*s == '\'') {
				for (s++; *s && *s != '\''; s++)
					word[k++] = *s;
				if (*s != '\'')
					goto unbalanced;
				s++;
			} else if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && (s[1] == '"' ||
					    s[1] == '\\'))
						s++;
					word[k++] = *s;
				}
				if (*s != '"')
					goto unbalanced;
				s++;
			} else if (*s == '\\' && s[1]) {
				word[k++] = s[1];
				s += 2;
			} else
				word[k++] = *s++;
		}
		if (n == EXEC_MAXARGS) {
			err_set(err, ERR_INVAL, "more than %d words", EXEC_MAXARGS);
			goto fail;
		}
		argv[n++] = xstrndup(word, k);
	}
	free(word);
	if (n == 0) {
		err_set(err, ERR_INVAL, "empty command");
		free(argv);
		return err->code;
	}
	*out = argv;
	return ERR_OK;
unbalanced:
	err_set(err, ERR_INVAL, "unbalanced quote");
fail:
	free(word);
	while (n > 0)
		free(argv[--n]);
	free(argv);
	return err->code;
}

static enum err_code
exec_init(struct check *c, const struct cfg_service *s, struct err *err)
{
	struct exec_check	*x = xcalloc(1, sizeof(*x));

	x->c = c;
	x->pid = -1;
	x->pidfd = -1;
	x->outfd = -1;
	if (s->command == NULL) {
		err_set(err, ERR_INVAL, "no command");
		free(x);
		return err->code;
	}
	if (s->shell) {
		x->argv = xcalloc(4, sizeof(char *));
		x->argv[0] = xstrdup("/bin/sh");
		x->argv[1] = xstrdup("-c");
		x->argv[2] = xstrdup(s->command);
	} else if (exec_split_words(s->command, &x->argv, err) != ERR_OK) {
		free(x);
		return err->code;
	}
	if (s->user) {
		struct passwd *pw = getpwnam(s->user);
		if (pw == NULL) {
			err_set(err, ERR_INVAL, "user %s: no such user", s->user);
			goto fail;
		}
		if (pw->pw_uid != getuid() && geteuid() != 0) {
			err_set(err, ERR_INVAL, "running a check as user %s "
			    "needs root", s->user);
			goto fail;
		}
		x->as_user = pw->pw_uid != getuid();
		x->uid = pw->pw_uid;
		x->gid = pw->pw_gid;
		x->user = xstrdup(s->user);
	}
	c->priv = x;
	return ERR_OK;
fail:
	for (size_t i = 0; x->argv[i]; i++)
		free(x->argv[i]);
	free(x->argv);
	free(x);
	return err->code;
}

static void
exec_close_out(struct exec_check *x)
{
	if (x->outfd != -1) {
		epoll_ctl(x->c->ck->epfd, EPOLL_CTL_DEL, x->outfd, NULL);
		close(x->outfd);
		x->outfd = -1;
	}
}

/* Keeps the last EXEC_TAIL bytes of the child's output. */
static void
exec_read_out(struct exec_check *x)
{
	char	 buf[4096];
	ssize_t	 n;

	while (x->outfd != -1) {
		n = read(x->outfd, buf, sizeof(buf));
		if (n > 0) {
			size_t keep = (size_t)n > EXEC_TAIL ? EXEC_TAIL : (size_t)n;
			const char *src = buf + (size_t)n - keep;
			if (x->taillen + keep > EXEC_TAIL) {
				size_t drop = x->taillen + keep - EXEC_TAIL;
				memmove(x->tail, x->tail + drop, x->taillen - drop);
				x->taillen -= drop;
			}
			memcpy(x->tail + x->taillen, src, keep);
			x->taillen += keep;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			exec_close_out(x);
		break;
	}
}

static void
exec_out_event(struct evh *h, uint32_t events)
{
	(void)events;
	exec_read_out(EXEC_FROM(h, out_evh));
}

/* The last non-empty line of the output, made printable. */
static void
exec_last_line(struct exec_check *x, char *buf, size_t len)
{
	char	*s, *e;

	x->tail[x->taillen] = '\0';
	e = x->tail + x->taillen;
	while (e > x->tail && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
		e--;
	*e = '\0';
	s = e;
	while (s > x->tail && s[-1] != '\n')
		s--;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	snprintf(buf, len, "%s", s);
}

static void
exec_pid_event(struct evh *h, uint32_t events)
{
	struct exec_check	*x = EXEC_FROM(h, pid_evh);
	int			 status;
	char			 line[EXEC_TAIL + 1];

	(void)events;
	if (x->pid <= 0 || waitpid(x->pid, &status, WNOHANG) <= 0)
		return;		/* stale event, or not exited yet */
	exec_read_out(x);
	exec_close_out(x);
	epoll_ctl(x->c->ck->epfd, EPOLL_CTL_DEL, x->pidfd, NULL);
	close(x->pidfd);
	x->pidfd = -1;
	x->pid = -1;
	exec_last_line(x, line, sizeof(line));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		check_finish(x->c, 1, "exit 0");
	else if (WIFEXITED(status))
		check_finish(x->c, 0, "exit %d%s%s", WEXITSTATUS(status),
		    *line ? ": " : "", line);
	else
		check_finish(x->c, 0, "killed by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void
child(struct exec_check *x, int outw)
{
	sigset_t	 all;
	int		 nul, sig;

	setsid();
	/* The limit castiron raised for itself is not the command's. */
	checker_restore_limits();
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(nul, 0) == -1 || dup2(outw, 1) == -1 || dup2(outw, 2) == -1)
		_exit(126);
	if (x->as_user && (initgroups(x->user, x->gid) == -1 ||
	    setgid(x->gid) == -1 || setuid(x->uid) == -1)) {
		dprintf(2, "cannot become %s\n", x->user);
		_exit(126);
	}
	closefrom(3);
	if (strchr(x->argv[0], '/') != NULL)
		execv(x->argv[0], x->argv);
	else
		execvp(x->argv[0], x->argv);
	dprintf(2, "%s: %s\n", x->argv[0], strerror(errno));
	_exit(127);
}

static void
exec_start(struct check *c)
{
	struct exec_check	*x = c->priv;
	struct epoll_event	 ev = { .events = EPOLLIN };
	int			 p[2], e;

	x->taillen = 0;
	/* One run per check at a time: a child that was killed but has not
	 * gone yet (stuck in the kernel) is not joined by another one, so a
	 * check that hangs holds one process and one pidfd, not one more per
	 * interval. */
	if (x->prev != NULL) {
		check_finish(c, 0, "the last run (pid %d) has not ended yet, "
		    "though it was killed", (int)x->prev->pid);
		return;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		check_finish(c, 0, "pipe: %s", strerror(errno));
		return;
	}
	x->pid = fork();
	if (x->pid == -1) {
		e = errno;
		close(p[0]);
		close(p[1]);
		check_finish(c, 0, "fork: %s", strerror(e));
		return;
	}
	if (x->pid == 0) {
		close(p[0]);
		fcntl(p[1], F_SETFL, 0);
		child(x, p[1]);
	}
	close(p[1]);
	x->outfd = p[0];
	x->pidfd = (int)syscall(SYS_pidfd_open, x->pid, 0);
	if (x->pidfd == -1) {
		e = errno;
		exec_kill(x->pid);
		waitpid(x->pid, NULL, 0);
		exec_close_out(x);
		check_finish(c, 0, "pidfd_open: %s", strerror(e));
		return;
	}
	x->pid_evh.fn = exec_pid_event;
	x->out_evh.fn = exec_out_event;
	ev.data.ptr = &x->pid_evh;
	epoll_ctl(c->ck->epfd, EPOLL_CTL_ADD, x->pidfd, &ev);
	ev.data.ptr = &x->out_evh;
	epoll_ctl(c->ck->epfd, EPOLL_CTL_ADD, x->outfd, &ev);
}

static void
exec_abort(struct check *c)
{
	struct exec_check	*x = c->priv;

	exec_close_out(x);
	if (x->pid > 0) {
		exec_kill(x->pid);
		epoll_ctl(c->ck->epfd, EPOLL_CTL_DEL, x->pidfd, NULL);
		x->prev = checker_adopt_orphan(c->ck, x->pid, x->pidfd);
		x->prev->owner = x;
		x->pid = -1;
		x->pidfd = -1;
	}
}

static void
exec_free(struct check *c)
{
	struct exec_check	*x = c->priv;
	size_t			 i;

	exec_abort(c);
	if (x->prev)
		x->prev->owner = NULL;
	for (i = 0; x->argv[i]; i++)
		free(x->argv[i]);
	free(x->argv);
	free(x->user);
	free(x);
}

const struct check_ops check_exec_ops = {
	exec_init, exec_start, exec_abort, exec_free
};

/* ---- children killed on timeout, reaped when they are gone ---- */

static void
orphan_unlink(struct orphan *o)
{
	struct orphan	**pp;

	for (pp = &o->ck->orphans; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
}

static void
orphan_event(struct evh *h, uint32_t events)
{
	struct orphan	*o = (struct orphan *)h;

	(void)events;
	if (waitpid(o->pid, NULL, WNOHANG) <= 0)
		return;
	epoll_ctl(o->ck->epfd, EPOLL_CTL_DEL, o->pidfd, NULL);
	close(o->pidfd);
	if (o->owner)
		o->owner->prev = NULL;
	orphan_unlink(o);
	free(o);
}

struct orphan *
checker_adopt_orphan(struct checker *ck, int pid, int pidfd)
{
	struct orphan		*o = xcalloc(1, sizeof(*o));
	struct epoll_event	 ev = { .events = EPOLLIN };

	o->evh.fn = orphan_event;
	o->ck = ck;
	o->pid = pid;
	o->pidfd = pidfd;
	o->next = ck->orphans;
	ck->orphans = o;
	ev.data.ptr = &o->evh;
	epoll_ctl(ck->epfd, EPOLL_CTL_ADD, pidfd, &ev);
	return o;
}

void
checker_free_orphans(struct checker *ck)
{
	struct orphan	*o, *next;

	for (o = ck->orphans; o; o = next) {
		next = o->next;
		exec_kill(o->pid);
		waitpid(o->pid, NULL, 0);
		epoll_ctl(ck->epfd, EPOLL_CTL_DEL, o->pidfd, NULL);
		close(o->pidfd);
		if (o->owner)
			o->owner->prev = NULL;
		free(o);
	}
	ck->orphans = NULL;
}
