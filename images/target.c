/*
 * Opening a write target safely: a block device is refused when it is
 * smaller than the image, when it or one of its partitions is mounted
 * (/proc/self/mountinfo, told apart through /sys/dev/block), and when the
 * kernel says someone else holds it (O_EXCL); all of that before a single
 * byte is written.  A path under /dev must be an existing block device:
 * only elsewhere is a regular file created for the image.  Also the
 * partition table re-read after a write: BLKRRPART, and where the
 * partition nodes still do not appear, BLKPG partition by partition as
 * `partx -a` does (images/parttable.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include "images/target.h"
#include "images/target_int.h"
#include "lib/xmalloc.h"

/* The whole disk a block device belongs to (itself when it is one). */
static void
dev_disk(unsigned maj, unsigned min, unsigned *dmaj, unsigned *dmin)
{
	char		 path[96], buf[32], *colon, *end;
	unsigned long	 a, b;
	ssize_t		 n;
	int		 fd;

	*dmaj = maj;
	*dmin = min;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", maj, min);
	if (access(path, F_OK) == -1)
		return;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", maj, min);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if ((colon = strchr(buf, ':')) == NULL)
		return;
	*colon = '\0';
	errno = 0;
	a = strtoul(buf, &end, 10);
	if (errno || *end != '\0')
		return;
	b = strtoul(colon + 1, &end, 10);
	if (errno || (*end != '\n' && *end != '\0'))
		return;
	*dmaj = (unsigned)a;
	*dmin = (unsigned)b;
}

/* Whether it is mounted cannot be known without mountinfo: refused too. */
enum err_code
img_dev_check_unmounted(unsigned maj, unsigned min, const char *path,
    struct err *err)
{
	FILE		*f;
	char		 line[4096], *p, *fld[6], *save, *end;
	unsigned	 dmaj, dmin, tmaj, tmin;
	unsigned long	 a, b;
	enum err_code	 rc = ERR_OK;
	int		 i;

	dev_disk(maj, min, &tmaj, &tmin);
	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return err_errno(err, ERR_WRONGSTATE, "/proc/self/mountinfo");
	while (rc == ERR_OK && fgets(line, sizeof(line), f) != NULL) {
		if (strchr(line, '\n') == NULL) {
			/* Longer than any real line: skip the rest. */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		/* id parent maj:min root mountpoint ... */
		p = line;
		for (i = 0; i < 5; i++) {
			fld[i] = strtok_r(p, " \n", &save);
			p = NULL;
			if (fld[i] == NULL)
				break;
		}
		if (i < 5 || (p = strchr(fld[2], ':')) == NULL)
			continue;
		*p = '\0';
		errno = 0;
		a = strtoul(fld[2], &end, 10);
		if (errno || *end != '\0')
			continue;
		b = strtoul(p + 1, &end, 10);
		if (errno || *end != '\0' || a == 0)
			continue;
		if (a == maj && b == min) {
			rc = err_set(err, ERR_WRONGSTATE, "%s is mounted on %s",
			    path, fld[4]);
			break;
		}
		dev_disk((unsigned)a, (unsigned)b, &dmaj, &dmin);
		if (dmaj == tmaj && dmin == tmin)
			rc = err_set(err, ERR_WRONGSTATE, "%s has a partition "
			    "(%lu:%lu) mounted on %s", path, a, b, fld[4]);
	}
	fclose(f);
	return rc;
}

/*
 * 1 when path names something in /dev (or below), however it is spelled:
 * the directory it is in, with every link resolved, is /dev or inside it.
 * A directory that cannot be resolved is judged by the spelling.
 */
static int
path_in_dev(const char *path)
{
	char	*dir, *slash, *real;
	int	 in;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((real = realpath(dir, NULL)) == NULL)
		in = strncmp(path, "/dev/", 5) == 0;
	else
		in = strcmp(real, "/dev") == 0 ||
		    strncmp(real, "/dev/", 5) == 0;
	free(real);
	free(dir);
	return in;
}

/*
 * Nothing is written before this returns, so each failure is a refusal:
 * ERR_WRONGSTATE when the device is in use, ERR_NOENT when a device under /dev
 * does not exist, ERR_INVAL for anything else about the target.
 */
struct img_target *
img_target_open(const char *path, uint64_t image_size, struct err *err)
{
	struct img_target	*t;
	struct stat		 st;
	uint64_t		 size = 0;
	int			 fd, missing = 0;

	if (stat(path, &st) == -1) {
		if (errno != ENOENT) {
			err_errno(err, ERR_INVAL, "%s", path);
			return NULL;
		}
		missing = 1;		/* a file is created */
		st.st_mode = 0;
	}
	/* A mistyped disk must not become a file in RAM (devtmpfs). */
	if (!S_ISBLK(st.st_mode) && path_in_dev(path)) {
		err_set(err, missing ? ERR_NOENT : ERR_INVAL, missing ? "%s: "
		    "no such block device (a target under /dev must exist)" :
		    "%s: not a block device (under /dev a target must be one)",
		    path);
		return NULL;
	}
	if (missing)
		st.st_mode = S_IFREG;
	if (S_ISBLK(st.st_mode)) {
		if (img_dev_check_unmounted(major(st.st_rdev),
		    minor(st.st_rdev), path, err) != ERR_OK)
			return NULL;
		fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
		if (fd == -1 && errno == EBUSY) {
			err_set(err, ERR_WRONGSTATE, "%s: device is busy (in use "
			    "by the kernel: mounted, swap, LVM, RAID or opened "
			    "exclusively)", path);
			return NULL;
		}
		if (fd == -1) {
			err_errno(err, ERR_INVAL, "%s", path);
			return NULL;
		}
		if (ioctl(fd, BLKGETSIZE64, &size) == -1) {
			err_errno(err, ERR_INVAL, "%s: BLKGETSIZE64", path);
			close(fd);
			return NULL;
		}
		if (size < image_size) {
			err_set(err, ERR_INVAL, "%s is smaller than the image "
			    "(%llu < %llu bytes)", path,
			    (unsigned long long)size,
			    (unsigned long long)image_size);
			close(fd);
			return NULL;
		}
	} else if (S_ISREG(st.st_mode)) {
		/* O_EXCL: a link to nothing (perhaps into /dev) is not
		 * followed to create its target. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC |
		    (missing ? O_EXCL : 0), 0644);
		if (fd == -1) {
			err_errno(err, ERR_INVAL, "%s", path);
			return NULL;
		}
		/* Unmapped blocks of the image must read back as zeros. */
		if (ftruncate(fd, 0) == -1 ||
		    ftruncate(fd, (off_t)image_size) == -1) {
			err_errno(err, ERR_INVAL, "%s: truncate", path);
			close(fd);
			return NULL;
		}
		size = image_size;
	} else {
		err_set(err, ERR_INVAL, "%s: not a block device or a regular "
		    "file", path);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	/* A second descriptor for aligned writes that bypass the page cache
	 * (no copy, no dirty pages); the file systems without it say EINVAL. */
	t->dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	t->path = xstrdup(path);
	t->size = size;
	t->blk = S_ISBLK(st.st_mode);
	return t;
}

void
img_target_close(struct img_target *t)
{
	if (t == NULL)
		return;
	if (t->fd != -1)
		close(t->fd);
	if (t->dfd != -1)
		close(t->dfd);
	free(t->path);
	free(t);
}

uint64_t
img_target_size(const struct img_target *t)
{
	return t->size;
}

int
img_target_is_blk(const struct img_target *t)
{
	return t->blk;
}

const char *
img_target_path(const struct img_target *t)
{
	return t->path;
}

/* How many partitions of the table the kernel does not show (-1: unknown). */
static int
parts_missing(const struct img_target *t, const struct part_entry *p, int n)
{
	struct stat	 st;
	char		 dir[96];

	if (fstat(t->fd, &st) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(st.st_rdev),
	    minor(st.st_rdev));
	return sysfs_parts_missing(dir, p, n);
}

/* After the image was written: a failure here fails the write. */
enum err_code
img_target_reread(struct img_target *t, struct err *err)
{
	struct part_entry	 parts[PART_MAX];
	int			 n, i, missing, rrpart;

	if (!t->blk)
		return ERR_OK;
	n = part_table_read(t->fd, t->size, parts, PART_MAX, err);
	if (n < 0) {
		err_prefix(err, "%s", t->path);
		return ERR_FAIL;
	}
	rrpart = ioctl(t->fd, BLKRRPART) == 0;
	if (n == 0 || parts_missing(t, parts, n) == 0)
		return ERR_OK;
	/* As partx -a: add each partition the kernel does not show. */
	for (i = 0; i < n; i++) {
		if (part_blkpg_add(t->fd, &parts[i]) == -1 &&
		    errno != EBUSY)
			return err_set(err, ERR_FAIL, "%s: BLKPG add partition "
			    "%d: %s (BLKRRPART %s)", t->path, parts[i].num,
			    strerror(errno), rrpart ? "done" : "failed");
	}
	missing = parts_missing(t, parts, n);
	if (missing > 0)
		return err_set(err, ERR_FAIL, "%s: the image was written, but "
		    "the kernel does not show %d of its %d partitions as the "
		    "new table has them (a partition of the old table in "
		    "use?); free it and run partprobe, or reboot", t->path,
		    missing, n);
	return ERR_OK;
}
