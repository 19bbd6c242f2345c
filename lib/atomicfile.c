/*
 * Whole-file replacement by rename(2).  The temporary file lives in the
 * target's directory (rename is atomic only within one filesystem) under a
 * hidden, unique name, so concurrent writers do not collide and the
 * "*.conf" glob of BIRD's include never picks up a half-written file.
 * Durable replacement is for state that must survive a power cut, such as
 * the drain flag: the file is fsynced before the rename and its directory
 * after it (the rename is an entry in the directory, which is not on the
 * disk until the directory is synced).  Files on tmpfs or rewritten every
 * few seconds skip both.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "lib/xmalloc.h"

struct afile {
	char	*path;
	char	*tmp;
	FILE	*f;
};

struct afile *
afile_open(const char *path, mode_t mode, FILE **fp, char *err,
    size_t errlen)
{
	struct afile	*a;
	const char	*slash = strrchr(path, '/');
	int		 fd, saved;

	a = xcalloc(1, sizeof(*a));
	a->path = xstrdup(path);
	if (slash)
		xasprintf(&a->tmp, "%.*s/.%s.XXXXXX", (int)(slash - path),
		    path, slash + 1);
	else
		xasprintf(&a->tmp, ".%s.XXXXXX", path);
	if ((fd = mkostemp(a->tmp, O_CLOEXEC)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", a->tmp, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, mode) == -1 || (a->f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", a->tmp, strerror(errno));
		close(fd);
		unlink(a->tmp);
		goto fail;
	}
	*fp = a->f;
	return a;
fail:
	free(a->path);
	free(a->tmp);
	free(a);
	errno = saved;		/* the caller may act on ENOENT */
	return NULL;
}

/* fsync of the directory that holds path, so that a rename in it is on
 * the disk; 0 or -1 (errno set). */
static int
fsync_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	int		 fd, rc, saved;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static void
afile_free(struct afile *a)
{
	free(a->path);
	free(a->tmp);
	free(a);
}

void
afile_abort(struct afile *a)
{
	if (a == NULL)
		return;
	fclose(a->f);
	unlink(a->tmp);
	afile_free(a);
}

int
afile_commit(struct afile *a, int durable, char *err, size_t errlen)
{
	int	 failed;

	failed = fflush(a->f) == EOF || ferror(a->f) ||
	    (durable && fsync(fileno(a->f)) == -1);
	if (failed)
		snprintf(err, errlen, "%s: %s", a->tmp, strerror(errno));
	if (fclose(a->f) == EOF && !failed) {
		snprintf(err, errlen, "%s: %s", a->tmp, strerror(errno));
		failed = 1;
	}
	if (!failed && rename(a->tmp, a->path) == -1) {
		snprintf(err, errlen, "%s: %s", a->path, strerror(errno));
		failed = 1;
	}
	if (failed)
		unlink(a->tmp);
	else if (durable && fsync_dir(a->path) == -1) {
		/* The new file is in place, but not yet safe on the disk. */
		snprintf(err, errlen, "%s: fsync of its directory: %s",
		    a->path, strerror(errno));
		failed = 1;
	}
	afile_free(a);
	return failed ? -1 : 0;
}

int
file_replace(const char *path, const void *data, size_t len, mode_t mode,
    int durable, char *err, size_t errlen)
{
	struct afile	*a;
	FILE		*f;

	if ((a = afile_open(path, mode, &f, err, errlen)) == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, f) != len) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		afile_abort(a);
		return -1;
	}
	return afile_commit(a, durable, err, errlen);
}
