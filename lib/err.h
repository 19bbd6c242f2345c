/*
 * One error model for every library-like part of castiron (after
 * OpenSSH's ssherr.h and curl's CURLcode).  A function that can fail
 * returns an enum err_code, ERR_OK being 0, and on failure fills the
 * caller's struct err with a one-line message of bounded length that names
 * the file, line, key or host at fault.  A layer that adds context prefixes
 * it (err_prefix) instead of re-wrapping the text in a buffer of its own.
 * Only cli/ turns a code into an exit status (cli_exit), so the mapping
 * 0 / 1 / 2 lives in one place.
 */
#ifndef CASTIRON_ERR_H
#define CASTIRON_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	/* The operation failed (I/O, database, remote side): exit 1. */
	ERR_FAIL,
	ERR_TIMEOUT,		/* a bounded wait ran out */
	ERR_AUTH,		/* credentials or a key refused */
	ERR_TRUST,		/* a certificate, host key or signature refused */
	/* The caller asked for something wrong: exit 2. */
	ERR_INVAL,		/* bad usage, input or configuration */
	ERR_NOENT,		/* no such host, image, key, ... */
	ERR_WRONGSTATE,		/* not allowed from the current state */
	ERR_EXISTS,		/* would duplicate a unique name */
};

#define ERR_MSGLEN	512

struct err {
	enum err_code	code;
	char		msg[ERR_MSGLEN];
};

/* Each returns the code it stored; a NULL struct err is allowed and keeps
 * nothing.  err_errno appends ": strerror(errno)". */
enum err_code	 err_set(struct err *, enum err_code, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
enum err_code	 err_vset(struct err *, enum err_code, const char *,
		    va_list) __attribute__((format(printf, 3, 0)));
enum err_code	 err_errno(struct err *, enum err_code, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
/* "CONTEXT: message"; keeps the code; returns it. */
enum err_code	 err_prefix(struct err *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 err_clear(struct err *);
const char	*err_name(enum err_code);

#endif
