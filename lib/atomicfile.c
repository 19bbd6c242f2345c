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
afile_open(const char *path, mode_t mode, FILE **fp, struct err *err)
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
		err_errno(err, ERR_FAIL, "%s", a->tmp);
		goto fail;
	}
	if (fchmod(fd, mode) == -1 || (a->f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		err_errno(err, ERR_FAIL, "%s", a->tmp);
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

enum err_code
afile_commit(struct afile *a, int durable, struct err *err)
{
	int	 failed;

	failed = fflush(a->f) == EOF || ferror(a->f) ||
	    (durable && fsync(fileno(a->f)) == -1);
	if (failed)
		err_errno(err, ERR_FAIL, "%s", a->tmp);
	if (fclose(a->f) == EOF && !failed) {
		err_errno(err, ERR_FAIL, "%s", a->tmp);
		failed = 1;
	}
	if (!failed && rename(a->tmp, a->path) == -1) {
		err_errno(err, ERR_FAIL, "%s", a->path);
		failed = 1;
	}
	if (failed)
		unlink(a->tmp);
	else if (durable && fsync_dir(a->path) == -1) {
		/* The new file is in place, but not yet safe on the disk. */
		err_errno(err, ERR_FAIL, "%s: fsync of its directory", a->path);
		failed = 1;
	}
	afile_free(a);
	return failed ? ERR_FAIL : ERR_OK;
}

enum err_code
file_replace(const char *path, const void *data, size_t len, mode_t mode,
    int durable, struct err *err)
{
	struct afile	*a;
	FILE		*f;

	if ((a = afile_open(path, mode, &f, err)) == NULL)
		return ERR_FAIL;
	if (len > 0 && fwrite(data, 1, len, f) != len) {
		err_errno(err, ERR_FAIL, "%s", path);
		afile_abort(a);
		return ERR_FAIL;
	}
	return afile_commit(a, durable, err);
}
