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

int
sess_upload(struct sess_conn *c, const char *local, const char *remote,
    int mode, char *err, size_t errlen)
{
	struct sess_stream	*st;
	struct sess_result	 r;
	char			*cmd, *q, *buf;
	int			 fd;
	ssize_t			 n;

	if (strchr(remote, '\n') != NULL) {
		snprintf(err, errlen, "%s: upload: bad remote path", sess_host(c));
		return -1;
	}
	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", local, strerror(errno));
		return -1;
	}
	q = sh_quote(remote);
	cmd = xsprintf("umask 077 && cat >%s && chmod %o %s", q,
	    (unsigned)mode & 0777, q);
	free(q);
	st = sess_stream_open(c, cmd, NULL, NULL, err, errlen);
	free(cmd);
	if (st == NULL) {
		close(fd);
		return -1;
	}
	buf = xmalloc(UPLOAD_CHUNK);
	for (;;) {
		do
			n = read(fd, buf, UPLOAD_CHUNK);
		while (n == -1 && errno == EINTR);
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", local, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (sess_stream_write(st, buf, (size_t)n, err, errlen) == -1)
			goto fail;
	}
	free(buf);
	close(fd);
	if (sess_stream_finish(st, &r, err, errlen) == -1)
		return -1;
	if (r.status != 0) {
		snprintf(err, errlen, "%s: upload to %s: remote exit %d%s%.*s",
		    sess_host(c), remote, r.status, r.errlen ? ": " : "",
		    (int)strcspn(r.errout, "\r\n"), r.errout);
		sess_result_clear(&r);
		return -1;
	}
	sess_result_clear(&r);
	return 0;
fail:
	free(buf);
	close(fd);
	sess_stream_abort(st);
	return -1;
}

