/*
 * What every host of a run shares, made once before the first host is
 * touched: the image found in the cache and verified against its sha256,
 * how it will travel, castiron-writer and its digest, the deploy
 * environment's key, and the authorized_keys for the installed root.
 * Anything wrong here stops the run with nothing changed.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "images/bmap.h"
#include "images/fetch.h"
#include "images/source.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/prov_int.h"

static char *
find_writer(const struct config *cfg)
{
	char	 self[4096], *slash;
	ssize_t	 n;

	if (cfg->provision.writer)
		return xstrdup(cfg->provision.writer);
	if (getenv("CASTIRON_WRITER"))
		return xstrdup(getenv("CASTIRON_WRITER"));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			char *p;
			*slash = '\0';
			p = xsprintf("%s/castiron-writer", self);
			if (access(p, R_OK) == 0)
				return p;
			free(p);
			p = xsprintf("%s/../share/castiron/castiron-writer",
			    self);
			if (access(p, R_OK) == 0)
				return p;
			free(p);
		}
	}
	return xstrdup("/usr/local/share/castiron/castiron-writer");
}

/*
 * How the image travels, once for the run: a compressed image as it is
 * stored; a raw one with a bmap compressed on the way when a sample says
 * that is faster (images/frame.h); anything else plain.  The sample is
 * read from the descriptor held for the run, at the ranges of the bmap
 * prov_prepare loaded and checked (bm, NULL: none).
 */
static enum err_code
decide_pack(struct prov_ctx *c, const struct bmap *bm, struct err *err)
{
	enum img_format	 fmt;
	char		 why[128];
	int		 yes;

	c->pack = FRAME_PACK_AUTO;
	if (bm == NULL)
		return ERR_OK;
	if (img_format_detect(c->image_fd, &fmt, err) != ERR_OK)
		return ERR_FAIL;
	if (fmt != IMG_RAW)
		return ERR_OK;
	if (frame_pack_decide(c->image_fd, bm, &yes, why, sizeof(why),
	    err) != ERR_OK)
		return ERR_FAIL;
	c->pack = yes ? FRAME_PACK_ALWAYS : FRAME_PACK_NEVER;
	log_info("image %s: %s on the way: %s", c->image, yes ?
	    "compressed" : "not compressed", why);
	return ERR_OK;
}

struct prov_ctx *
prov_prepare(const struct prov_opts *o, struct err *err)
{
	const struct config	*cfg = o->cfg;
	const struct cfg_image	*img;
	struct prov_ctx		*c;
	const char		*name = o->image ? o->image : cfg->provision.image;
	char			 sha[65];
	struct err		 e;
	struct bmap		*bm = NULL;
	struct stat		 st;
	enum img_format		 fmt;

	if (cfg->inventory.database == NULL) {
		err_set(err, ERR_INVAL, "%s: [inventory] database is not set",
		    cfg->path);
		return NULL;
	}
	if (cfg->provision.ssh_key == NULL) {
		err_set(err, ERR_INVAL, "%s: [provision] ssh_key is not set",
		    cfg->path);
		return NULL;
	}
	if (name == NULL) {
		err_set(err, ERR_INVAL, "no image: pass --image NAME or set "
		    "[provision] image in %s", cfg->path);
		return NULL;
	}
	if ((img = config_image(cfg, name)) == NULL) {
		err_set(err, ERR_INVAL, "%s: no [image %s] section", cfg->path,
		    name);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->image_fd = -1;
	c->o = *o;
	c->cfg = cfg;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->image, sizeof(c->image), "%s", name);
	/* The verified cache (castiron image fetch) first, filled now when
	 * the image is not there; a file:// image that was never fetched is
	 * used in place (and verified below). */
	if (!img_cached(cfg, img) && strncmp(img->url, "file://", 7) != 0) {
		struct img_fetch_opts	 fo = { o->progress, 0 };
		struct img_fetch_result	 fr;

		if (o->dry_run) {
			err_set(err, ERR_FAIL, "image %s is not in the cache: "
			    "a run fetches it first, --dry-run does not "
			    "(castiron image fetch %s)", name, name);
			goto fail;
		}
		if (img_fetch(cfg, img, &fo, &fr, &e) != ERR_OK) {
			err_set(err, ERR_FAIL, "image %s: %s", name, e.msg);
			goto fail;
		}
	}
	if (img_cached(cfg, img) || strncmp(img->url, "file://", 7) != 0) {
		c->image_path = img_cache_path(cfg, img, ".img");
		if (img->bmap)
			c->bmap_path = img_cache_path(cfg, img, ".bmap");
		img_cache_touch(cfg, img);
	} else {
		c->image_path = xstrdup(img->url + 7);
		if (img->bmap)
			c->bmap_path = strncmp(img->bmap, "file://", 7) == 0 ?
			    xstrdup(img->bmap + 7) :
			    img_cache_path(cfg, img, ".bmap");
	}
	c->writer_path = find_writer(cfg);
	if (img_file_sha256(c->writer_path, c->writer_sha, NULL,
	    &e) != ERR_OK) {
		err_set(err, ERR_INVAL, "castiron-writer: %s (build it with "
		    "make, or set [provision] writer)", e.msg);
		goto fail;
	}
	if (cfg->provision.deploy_host_key && sshkey_fp_file(
	    cfg->provision.deploy_host_key, c->deploy_fp, &e) != ERR_OK) {
		err_set(err, ERR_INVAL, "[provision] deploy_host_key: %s",
		    e.msg);
		goto fail;
	}
	if (cfg->provision.authorized_keys) {
		if ((c->authorized = file_read_small(
		    cfg->provision.authorized_keys, 1 << 20, NULL,
		    &e)) == NULL) {
			err_set(err, ERR_INVAL, "[provision] "
			    "authorized_keys: %s", e.msg);
			goto fail;
		}
	} else
		c->authorized = xstrdup("");
	/* castiron's own key goes in too, or verify could not log in. */
	{
		char *pubpath = xsprintf("%s.pub", cfg->provision.ssh_key), *pub;
		pub = file_read_small(pubpath, 16384, NULL, NULL);
		free(pubpath);
		if (pub && strstr(c->authorized, strtok(pub, "\n") ?
		    pub : "") == NULL) {
			char *all = xsprintf("%s%s%s\n", c->authorized,
			    *c->authorized && c->authorized[
			    strlen(c->authorized) - 1] != '\n' ? "\n" : "", pub);
			free(c->authorized);
			c->authorized = all;
		}
		free(pub);
	}
	/* The image: present and verified once for the whole run. */
	if (stat(c->image_path, &st) == -1) {
		err_set(err, ERR_INVAL, "image %s: %s: %s (run castiron image "
		    "fetch %s)", name, c->image_path, strerror(errno), name);
		goto fail;
	}
	if (c->bmap_path && access(c->bmap_path, R_OK) == -1) {
		err_set(err, ERR_INVAL, "image %s: bmap %s: %s", name,
		    c->bmap_path, strerror(errno));
		goto fail;
	}
	/*
	 * The image is held open for the run and every host is sent what
	 * this descriptor reads: the file verified here, even if the cache
	 * replaces or evicts it meanwhile (both rename or unlink).
	 */
	if ((c->image_fd = open(c->image_path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, ERR_FAIL, "image %s: %s: %s", name, c->image_path,
		    strerror(errno));
		goto fail;
	}
	snprintf(c->image_src, sizeof(c->image_src), "/proc/self/fd/%d",
	    c->image_fd);
	snprintf(c->image_sha, sizeof(c->image_sha), "%s", img->sha256);
	if (img_file_sha256(c->image_src, sha, NULL, &e) != ERR_OK) {
		err_set(err, ERR_FAIL, "image %s: %s", name, e.msg);
		goto fail;
	}
	/* The bmap says which bytes are written: pinned like the image,
	 * loaded once for the size below and for how the image travels. */
	if (c->bmap_path && (bm = bmap_load_pinned(c->bmap_path,
	    img->bmap_sha256, &e)) == NULL) {
		err_set(err, ERR_FAIL, "image %s: bmap %s", name, e.msg);
		goto fail;
	}
	snprintf(c->bmap_sha256, sizeof(c->bmap_sha256), "%s",
	    img->bmap_sha256);
	if (strcmp(sha, img->sha256) != 0) {
		err_set(err, ERR_FAIL, "image %s: %s does not verify: sha256 "
		    "%s, expected %s", name, c->image_path, sha, img->sha256);
		goto fail;
	}
	/* The size a target must have, once for every host: the catalog's
	 * min_disk, the bmap's ImageSize, else a raw file's size; 0 when
	 * compressed without a bmap (the writer still checks). */
	c->image_bytes = img->min_disk ? img->min_disk : bm ?
	    bm->image_size : 0;
	if (c->image_bytes == 0 && img_format_detect(c->image_fd, &fmt,
	    NULL) == ERR_OK && fmt == IMG_RAW && fstat(c->image_fd, &st) == 0)
		c->image_bytes = (uint64_t)st.st_size;
	if (decide_pack(c, bm, &e) != ERR_OK) {
		err_set(err, ERR_FAIL, "image %s: %s", name, e.msg);
		goto fail;
	}
	bmap_free(bm);
	return c;
fail:
	bmap_free(bm);
	prov_ctx_free(c);
	return NULL;
}

void
prov_ctx_free(struct prov_ctx *c)
{
	if (c == NULL)
		return;
	if (c->image_fd != -1)
		close(c->image_fd);
	free(c->image_path);
	free(c->bmap_path);
	free(c->writer_path);
	free(c->authorized);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
