/*
 * Logging.  In the foreground each message is one line on stderr prefixed
 * with the program name ("castiron: ..."); a daemon logs to syslog, which
 * systemd routes to the journal.  Every function keeps errno as it was, so
 * a caller may log and then still look at errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "lib/log.h"

static const char	*log_name = "castiron";
static int		 log_verbose;
static int		 log_syslog;

void
log_init(const char *progname, int verbosity, int to_syslog)
{
	log_name = progname;
	log_verbose = verbosity;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void	vlog_as(int, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));
static void	log_errno(int, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/* vlog, the line "NAME WHO: message" when who is not NULL. */
static void
vlog_as(int prio, const char *who, const char *fmt, va_list ap)
{
	int	 saved = errno;
	char	*msg;

	if (log_syslog && who == NULL)
		vsyslog(prio, fmt, ap);
	else if (log_syslog) {
		if (vasprintf(&msg, fmt, ap) >= 0) {
			syslog(prio, "%s: %s", who, msg);
			free(msg);
		}
	} else {
		char	 line[1024];
		va_list	 aq;
		int	 n;

		/* One write per line (stderr is unbuffered: three calls
		 * would be three writes); a longer line goes piecewise. */
		va_copy(aq, ap);
		n = vsnprintf(line, sizeof(line), fmt, aq);
		va_end(aq);
		if (n >= 0 && (size_t)n < sizeof(line))
			fprintf(stderr, "%s%s%s: %s\n", log_name,
			    who ? " " : "", who ? who : "", line);
		else {
			fprintf(stderr, "%s%s%s: ", log_name, who ? " " : "",
			    who ? who : "");
			vfprintf(stderr, fmt, ap);
			fputc('\n', stderr);
		}
		fflush(stderr);
	}
	errno = saved;
}

void
vlog(int prio, const char *fmt, va_list ap)
{
	vlog_as(prio, NULL, fmt, ap);
}

static void
log_errno(int prio, const char *fmt, va_list ap)
{
	char	*msg;
	int	 saved = errno;

	if (vasprintf(&msg, fmt, ap) < 0) {
		errno = saved;
		return;
	}
	if (log_syslog)
		syslog(prio, "%s: %s", msg, strerror(saved));
	else {
		fprintf(stderr, "%s: %s: %s\n", log_name, msg, strerror(saved));
		fflush(stderr);
	}
	free(msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_vwarnx_as(const char *who, const char *fmt, va_list ap)
{
	vlog_as(LOG_ERR, who, fmt, ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < LOG_LVL_INFO)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
