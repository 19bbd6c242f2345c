/*
 * The error type of lib/err.h: a code and a bounded message the caller
 * owns.  Messages are cut, never overflowed; a cut message ends in "...".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"

static void
err_mark_cut(struct err *e, int n)
{
	if (n >= (int)sizeof(e->msg))
		memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
}

enum err_code
err_vset(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
	int	n;

	if (e == NULL)
		return code;
	e->code = code;
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (n < 0)
		e->msg[0] = '\0';
	err_mark_cut(e, n);
	return code;
}

enum err_code
err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list		ap;
	enum err_code	rc;

	va_start(ap, fmt);
	rc = err_vset(e, code, fmt, ap);
	va_end(ap);
	return rc;
}

enum err_code
err_errno(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno, n;
	size_t	len;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		e->msg[0] = '\0';
	len = strlen(e->msg);
	n = (int)len + snprintf(e->msg + len, sizeof(e->msg) - len, ": %s",
	    strerror(saved));
	err_mark_cut(e, n);
	errno = saved;
	return code;
}

enum err_code
err_prefix(struct err *e, const char *fmt, ...)
{
	char	old[ERR_MSGLEN];
	va_list	ap;
	int	n;
	size_t	len;

	if (e == NULL)
		return ERR_FAIL;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0, e->msg[0] = '\0';
	len = strlen(e->msg);
	n = (int)len + snprintf(e->msg + len, sizeof(e->msg) - len, ": %s",
	    old);
	err_mark_cut(e, n);
	return e->code;
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = ERR_OK;
	e->msg[0] = '\0';
}

const char *
err_name(enum err_code code)
{
	switch (code) {
	case ERR_OK:		return "ok";
	case ERR_FAIL:		return "failed";
	case ERR_TIMEOUT:	return "timed out";
	case ERR_AUTH:		return "authentication refused";
	case ERR_TRUST:		return "not trusted";
	case ERR_INVAL:		return "invalid";
	case ERR_NOENT:		return "not found";
	case ERR_WRONGSTATE:	return "not allowed in this state";
	case ERR_EXISTS:	return "already exists";
	}
	return "unknown error";
}
