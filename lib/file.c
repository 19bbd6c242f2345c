/*
 * Small files read whole (lib/file.h).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/xmalloc.h"

ssize_t
file_read(int fd, void *buf, size_t n, const char *path, struct err *err)
{
	ssize_t	 r;

	while ((r = read(fd, buf, n)) == -1 && errno == EINTR)
		;
	if (r == -1)
		err_errno(err, ERR_FAIL, "%s", path);
	return r;
}

char *
file_read_small(const char *path, size_t max, size_t *len, struct err *err)
{
	struct stat	 st;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_errno(err, ERR_FAIL, "%s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, ERR_FAIL, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		if (max % (1u << 20) == 0)
			err_set(err, ERR_FAIL, "%s: larger than %zu MiB", path,
			    max >> 20);
		else
			err_set(err, ERR_FAIL, "%s: larger than %zu bytes",
			    path, max);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		if ((n = file_read(fd, buf + got, (size_t)st.st_size - got,
		    path, err)) == -1)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if (len)
		*len = got;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}
