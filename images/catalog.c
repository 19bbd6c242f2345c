/*
 * The catalog as the operator sees it (`castiron image list`): each
 * [image NAME] with its format (read from the cached file's content),
 * sizes and cache state; and the cache's least-recently-used eviction.
 * "Used" is the cached file's mtime, which fetch, verify and write bump,
 * so that eviction works on noatime mounts too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/bmap.h"
#include "images/catalog.h"
#include "images/fetch.h"
#include "images/source.h"
#include "lib/xmalloc.h"

struct cache_ent {
	char		*base;		/* dir/SHA256 */
	uint64_t	 bytes;
	struct timespec	 used;
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct cache_ent *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->base, y->base);
}

static int
is_image_name(const char *n)
{
	size_t	 i;

	if (strlen(n) != 64 + 4 || strcmp(n + 64, ".img") != 0)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' &&
		    n[i] <= 'f')))
			return 0;
	return 1;
}

int
img_cache_evict(const char *dir, uint64_t max, const char *keep)
{
	DIR		 *d;
	struct dirent	 *de;
	struct cache_ent *e = NULL;
	struct stat	  st;
	size_t		  n = 0, cap = 0, i;
	uint64_t	  total = 0;
	char		 *p;
	int		  removed = 0, lfd;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_image_name(de->d_name))
			continue;
		p = xsprintf("%s/%s", dir, de->d_name);
		if (stat(p, &st) == -1) {
			free(p);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			e = xreallocarray(e, cap, sizeof(*e));
		}
		p[strlen(p) - 4] = '\0';
		e[n].base = p;
		e[n].bytes = (uint64_t)st.st_size;
		e[n].used = st.st_mtim;
		total += e[n].bytes;
		n++;
	}
	closedir(d);
	qsort(e, n, sizeof(*e), ent_cmp);
	for (i = 0; i < n && total > max; i++) {
		char *img = xsprintf("%s.img", e[i].base);
		char *lock = xsprintf("%s.lock", e[i].base);
		char *bm = xsprintf("%s.bmap", e[i].base);
		if (keep == NULL || strcmp(img, keep) != 0) {
			/* Not while someone is fetching or using it. */
			lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (lfd != -1 && flock(lfd, LOCK_EX | LOCK_NB) == 0) {
				if (unlink(img) == 0) {
					total -= e[i].bytes;
					removed++;
				}
				unlink(bm);
				/* The lock file stays: removing it could let
				 * two fetches lock different files. */
			}
			if (lfd != -1)
				close(lfd);
		}
		free(img);
		free(lock);
		free(bm);
	}
	for (i = 0; i < n; i++)
		free(e[i].base);
	free(e);
	return removed;
}

void
img_info_get(const struct config *cfg, const struct cfg_image *im,
    struct img_info *info)
{
	char		*p;
	struct stat	 st;
	struct bmap	*b;
	int		 fd;
	enum img_format	 f = IMG_RAW;
	int		 known = 0;

	memset(info, 0, sizeof(*info));
	snprintf(info->format, sizeof(info->format), "-");
	info->cached = img_cached(cfg, im);
	p = img_cache_path(cfg, im, ".img");
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) != -1) {
		if (fstat(fd, &st) == 0)
			info->stored_bytes = (uint64_t)st.st_size;
		if (img_format_detect(fd, &f, NULL) == ERR_OK) {
			snprintf(info->format, sizeof(info->format), "%s",
			    img_format_name(f));
			known = 1;
		}
		if (known && f == IMG_RAW)
			info->image_bytes = info->stored_bytes;
		close(fd);
	}
	free(p);
	if (im->bmap != NULL) {
		p = img_cache_path(cfg, im, ".bmap");
		if (access(p, R_OK) == 0 &&
		    (b = bmap_load(p, NULL)) != NULL) {
			info->image_bytes = b->image_size;
			info->mapped_bytes = bmap_mapped_bytes(b);
			bmap_free(b);
		}
		free(p);
	}
}
