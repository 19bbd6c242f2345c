/*
 * One logging API for the whole program (after OpenBGPD's log.c):
 * log_warn() appends strerror(errno), log_warnx() does not; fatal() and
 * fatalx() exit 1.  Messages go to stderr in the foreground and to syslog
 * (the journal) when running as a daemon.  errno is preserved.
 */
#ifndef CASTIRON_LOG_H
#define CASTIRON_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_QUIET = -1,	/* errors only */
	LOG_LVL_INFO = 0,
	LOG_LVL_DEBUG = 1,
};

void	log_init(const char *progname, int verbosity, int to_syslog);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx with who speaks after the program's name: cli/ names the
 * command an error belongs to ("castiron provision: ..."). */
void	log_vwarnx_as(const char *who, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int prio, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
