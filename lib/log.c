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

void
vlog(int prio, const char *fmt, va_list ap)
{
	int	 saved = errno;

	if (log_syslog)
		vsyslog(prio, fmt, ap);
	else {
		char	 line[1024];
		va_list	 aq;
		int	 n;

		/* One write per line (stderr is unbuffered: three calls
		 * would be three writes); a longer line goes piecewise. */
		va_copy(aq, ap);
		n = vsnprintf(line, sizeof(line), fmt, aq);
		va_end(aq);
		if (n >= 0 && (size_t)n < sizeof(line))
			fprintf(stderr, "%s: %s\n", log_name, line);
		else {
			fprintf(stderr, "%s: ", log_name);
			vfprintf(stderr, fmt, ap);
			fputc('\n', stderr);
		}
		fflush(stderr);
	}
	errno = saved;
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
