/*
 * The catalog as the operator sees it (`castiron image list`): each
 * [image NAME] with its format (read from the cached file's content),
 * sizes and cache state; the cache's least-recently-used eviction; and
 * the signed catalog's loading: fetched into memory, its signature
 * checked, its serial checked against the last one accepted, its names
 * checked against the configuration's, and only then joined to it.
 * "Used" is the cached file's mtime, which fetch, verify and write bump,
 * so that eviction works on noatime mounts too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/bmap.h"
#include "images/catalog.h"
#include "images/fetch.h"
#include "images/signify.h"
#include "images/source.h"
#include "lib/atomicfile.h"
#include "lib/file.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define SERIAL_FILE	"catalog.serial"

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

/* The highest serial accepted so far (0: none yet). */
static enum err_code
serial_read(const char *path, uint64_t *serial, struct err *e)
{
	struct err	 pe;
	char		*buf;
	size_t		 len;

	*serial = 0;
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return ERR_OK;
	if ((buf = file_read_small(path, 64, &len, e)) == NULL)
		return ERR_FAIL;
	if (len == 0 || buf[len - 1] != '\n') {
		free(buf);
		return err_set(e, ERR_FAIL, "%s: damaged (expected one serial "
		    "and a newline); refusing to guess the last accepted "
		    "catalog", path);
	}
	buf[len - 1] = '\0';
	if (parse_uint(buf, 1, UINT64_MAX, serial, &pe) != ERR_OK) {
		free(buf);
		return err_set(e, ERR_FAIL, "%s: %s; refusing to guess the last "
		    "accepted catalog", path, pe.msg);
	}
	free(buf);
	return ERR_OK;
}

/* An exclusive lock on PATH.lock, made with state_dir when missing. */
static enum err_code
serial_lock(const char *dir, const char *path, int *fd, struct err *e)
{
	char	*lp;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return err_errno(e, ERR_FAIL, "state_dir %s", dir);
	lp = xsprintf("%s.lock", path);
	*fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd == -1) {
		err_errno(e, ERR_FAIL, "%s", lp);
		free(lp);
		return ERR_FAIL;
	}
	while (flock(*fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			err_errno(e, ERR_FAIL, "%s: lock", lp);
			free(lp);
			return ERR_FAIL;
		}
	free(lp);
	return ERR_OK;
}

static enum err_code
serial_write(const char *path, uint64_t serial, struct err *e)
{
	char	 text[32];
	int	 n;

	n = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)serial);
	return file_replace(path, text, (size_t)n, 0644, 1, e);
}

/* The checks that need the configuration: no name twice, and
 * [provision] image among the names. */
static enum err_code
check_names(const struct config *cfg, const struct catalog *cat,
    const char *shown, struct err *e)
{
	const struct cfg_image	*im;
	size_t			 i;

	for (i = 0; i < cat->n; i++)
		if ((im = config_image(cfg, cat->ent[i].img.name)) != NULL)
			return err_set(e, ERR_INVAL, "%s: line %d: [image %s] is "
			    "also in the catalog %s (line %d): an image is "
			    "defined in one place", cfg->path, im->line,
			    im->name, shown, cat->ent[i].img.line);
	if (cfg->provision.image != NULL &&
	    config_image(cfg, cfg->provision.image) == NULL &&
	    catalog_find(cat, cfg->provision.image) == NULL)
		return err_set(e, ERR_INVAL, "%s: [provision] image: no "
		    "[image %s] section and no such image in the catalog %s",
		    cfg->path, cfg->provision.image, shown);
	return ERR_OK;
}

enum err_code
catalog_load(struct config *cfg, uint64_t *serial, struct err *e)
{
	struct sig_pubkey	 pk;
	struct sig_sig		 sig;
	struct catalog		*cat = NULL;
	const char		*msg;
	char			*buf = NULL, *spath = NULL, ub[512];
	const char		*shown;
	size_t			 len, msglen, i;
	uint64_t		 last;
	enum err_code		 rc;
	int			 lfd = -1;

	*serial = 0;
	if (cfg->images.catalog_url == NULL)
		return ERR_OK;
	shown = img_url_safe(cfg->images.catalog_url, ub, sizeof(ub));
	if ((rc = sig_pubkey_load(cfg->images.catalog_pubkey, &pk, e)) != 0)
		return err_prefix(e, "[images] catalog_pubkey");
	if (img_fetch_mem(cfg, cfg->images.catalog_url, CATALOG_MAX +
	    SIG_FILEMAX, &buf, &len, e) != ERR_OK) {
		err_prefix(e, "catalog %s", shown);
		return ERR_FAIL;
	}
	if ((rc = sig_embedded_split(buf, len, shown, &sig, &msg, &msglen,
	    e)) != 0 || (rc = sig_verify(&pk, &sig, msg, msglen, shown,
	    e)) != 0)
		goto out;
	if ((cat = catalog_parse(msg, msglen, shown, e)) == NULL) {
		/* Signed by the trusted key, yet not a catalog: the
		 * catalog is at fault, not this configuration. */
		rc = e ? (e->code = ERR_FAIL) : ERR_FAIL;
		goto out;
	}
	spath = xsprintf("%s/%s", cfg->castiron.state_dir, SERIAL_FILE);
	/* Two commands accepting catalogs at once: the read, the check and
	 * the write are one step, so the serial never goes down. */
	if ((rc = serial_lock(cfg->castiron.state_dir, spath, &lfd, e)) != 0 ||
	    (rc = serial_read(spath, &last, e)) != 0)
		goto out;
	if (cat->serial < last) {
		rc = err_set(e, ERR_TRUST, "%s: serial %llu is lower than %llu, "
		    "the last one accepted (%s): a rollback to an older "
		    "catalog; refused", shown, (unsigned long long)cat->serial,
		    (unsigned long long)last, spath);
		goto out;
	}
	if ((rc = check_names(cfg, cat, shown, e)) != 0)
		goto out;
	if (cat->serial > last && (rc = serial_write(spath, cat->serial,
	    e)) != 0)
		goto out;
	cfg->image = xreallocarray(cfg->image, cfg->nimage + cat->n,
	    sizeof(*cfg->image));
	for (i = 0; i < cat->n; i++) {
		struct cat_entry	*c = &cat->ent[i];

		/* The strings move to cfg; line 0 says "from the catalog". */
		cfg->image[cfg->nimage] = c->img;
		cfg->image[cfg->nimage++].line = 0;
		memset(&c->img, 0, sizeof(c->img));
	}
	*serial = cat->serial;
	rc = ERR_OK;
out:
	if (lfd != -1)
		close(lfd);	/* releases the lock */
	catalog_free(cat);
	free(buf);
	free(spath);
	return rc;
}

/* Cuts the first of suffixes that s ends with. */
static void
cut_suffix(char *s, const char *const *suffixes)
{
	size_t	 n = strlen(s), l;

	for (; *suffixes; suffixes++) {
		l = strlen(*suffixes);
		if (n > l && strcmp(s + n - l, *suffixes) == 0) {
			s[n - l] = '\0';
			return;
		}
	}
}

/* NAME.bmap beside NAME.img.zst (or .img, .raw, .raw.gz, ...). */
static char *
bmap_beside(const char *path)
{
	static const char *const comp[] = { ".zst", ".gz", ".xz", NULL };
	static const char *const kind[] = { ".img", ".raw", NULL };
	char		*base = xstrdup(path), *p;

	cut_suffix(base, comp);
	cut_suffix(base, kind);
	p = xsprintf("%s.bmap", base);
	free(base);
	return p;
}

static char *
url_join(const char *base, const char *path)
{
	const char	*file = strrchr(path, '/');
	size_t		 n = strlen(base);

	file = file ? file + 1 : path;
	return xsprintf("%s%s%s", base, n > 0 && base[n - 1] == '/' ? "" : "/",
	    file);
}

enum err_code
catalog_entry_from_file(struct cat_entry *c, const char *name,
    const char *path, const char *base_url, struct err *e)
{
	struct stat	 st;
	struct tm	 tm;
	struct bmap	*b;
	enum img_format	 f;
	char		*bpath;
	uint64_t	 size;
	int		 fd;

	memset(c, 0, sizeof(*c));
	if (valid_name(name, e) != ERR_OK) {
		err_prefix(e, "image name '%s'", name);
		return ERR_INVAL;
	}
	if (stat(path, &st) == -1)
		return err_errno(e, ERR_INVAL, "%s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_INVAL, "%s: not a regular file", path);
	if (img_file_sha256(path, c->img.sha256, &size, e) != ERR_OK)
		return ERR_FAIL;
	gmtime_r(&st.st_mtime, &tm);
	strftime(c->built_at, sizeof(c->built_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bpath = bmap_beside(path);
	if (access(bpath, F_OK) == 0) {
		if ((b = bmap_load(bpath, e)) == NULL) {
			/* The publisher's own bmap: bad input, not a failed
			 * operation. */
			free(bpath);
			return e ? (e->code = ERR_INVAL) : ERR_INVAL;
		}
		c->img.min_disk = b->image_size;
		bmap_free(b);
		if (img_file_sha256(bpath, c->img.bmap_sha256, NULL,
		    e) != ERR_OK) {
			free(bpath);
			return ERR_FAIL;
		}
		c->img.bmap = url_join(base_url, bpath);
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		if (img_format_detect(fd, &f, NULL) == ERR_OK && f == IMG_RAW)
			c->img.min_disk = size;
		close(fd);
	}
	free(bpath);
	c->img.name = xstrdup(name);
	c->img.url = url_join(base_url, path);
	return ERR_OK;
}

struct catalog *
catalog_read_signed(const char *path, const struct sig_pubkey *pk,
    int *other_key, struct err *e)
{
	struct sig_sig	 sig;
	struct catalog	*cat = NULL;
	const char	*msg;
	char		*buf;
	size_t		 len, msglen;

	*other_key = 0;
	if ((buf = file_read_small(path, CATALOG_MAX + SIG_FILEMAX, &len,
	    e)) == NULL)
		return NULL;
	if (sig_embedded_split(buf, len, path, &sig, &msg, &msglen, e) != 0)
		goto out;
	if (memcmp(sig.keynum, pk->keynum, SIG_KEYNUMLEN) != 0)
		*other_key = 1;
	else if (sig_verify(pk, &sig, msg, msglen, path, e) != 0)
		goto out;
	cat = catalog_parse(msg, msglen, path, e);
out:
	free(buf);
	return cat;
}
