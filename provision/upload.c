/*
 * Uploading a file to a host.  The file travels on the standard input of
 * `cat` over an exec channel, not through the scp sink protocol: a deploy
 * environment of busybox and dropbear has no scp.  The remote path is
 * quoted; the caller checks the result (castiron-writer's digest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xmalloc.h"
#include "provision/sess.h"
#include "provision/shell.h"

#define UPLOAD_CHUNK	(256u << 10)

enum err_code
sess_upload(struct sess_conn *c, const char *local, const char *remote,
    int mode, struct err *err)
{
	struct sess_stream	*st;
	struct sess_result	 r;
	char			*cmd, *q, *buf;
	enum err_code		 code;
	int			 fd;
	ssize_t			 n;

	if (strchr(remote, '\n') != NULL)
		return err_set(err, ERR_INVAL, "%s: upload: bad remote path",
		    sess_host(c));
	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(err, ERR_FAIL, "%s", local);
	q = sh_quote(remote);
	cmd = xsprintf("umask 077 && cat >%s && chmod %o %s", q,
	    (unsigned)mode & 0777, q);
	free(q);
	code = sess_stream_open(c, cmd, NULL, NULL, &st, err);
	free(cmd);
	if (code != ERR_OK) {
		close(fd);
		return code;
	}
	buf = xmalloc(UPLOAD_CHUNK);
	for (;;) {
		do
			n = read(fd, buf, UPLOAD_CHUNK);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			code = err_errno(err, ERR_FAIL, "%s", local);
			goto fail;
		}
		if (n == 0)
			break;
		if ((code = sess_stream_write(st, buf, (size_t)n, err)) !=
		    ERR_OK)
			goto fail;
	}
	free(buf);
	close(fd);
	if ((code = sess_stream_finish(st, &r, err)) != ERR_OK)
		return code;
	if (r.status != 0) {
		code = err_set(err, ERR_FAIL, "%s: upload to %s: remote exit "
		    "%d%s%.*s", sess_host(c), remote, r.status,
		    r.erroutlen ? ": " : "", (int)strcspn(r.errout, "\r\n"),
		    r.errout);
		sess_result_clear(&r);
		return code;
	}
	sess_result_clear(&r);
	return ERR_OK;
fail:
	free(buf);
	close(fd);
	sess_stream_abort(st);
	return code;
}

