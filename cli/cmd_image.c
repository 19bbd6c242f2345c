/*
 * castiron image: the catalog ([image NAME] sections and the signed
 * catalog), verified fetches into the cache, verification, bmap
 * creation, writing an image onto a disk or a file, and publishing a
 * signed catalog.  The work is in images/; this file resolves names to
 * cache paths, draws progress, fills result rows and picks exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "images/bmap.h"
#include "images/catalog.h"
#include "images/fetch.h"
#include "images/frame.h"
#include "images/signify.h"
#include "images/source.h"
#include "images/target.h"
#include "images/walk.h"
#include "lib/log.h"
#include "lib/atomicfile.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/parse.h"
#include "lib/progress.h"
#include "lib/xmalloc.h"

/* NAME|FILE: a path when it looks like one or exists, else a name. */
static int
is_path(const char *s)
{
	return strchr(s, '/') != NULL || access(s, F_OK) == 0;
}

/* The configuration with the signed catalog's entries joined to it
 * (once per run); NULL, *rc set and one line printed when either is
 * refused. */
static struct config *
image_config(struct ctx *ctx, int *rc)
{
	static int	 loaded;
	struct config	*cfg;
	struct err	 e = { 0 };
	uint64_t	 serial;

	if ((cfg = ctx_config(ctx)) == NULL) {
		*rc = cli_exit(ERR_INVAL);
		return NULL;
	}
	if (!loaded) {
		if (catalog_load(cfg, &serial, &e) != ERR_OK) {
			*rc = cli_fail(&e);
			return NULL;
		}
		loaded = 1;
		if (serial > 0 && ctx->verbose > 0)
			log_info("catalog serial %llu verified",
			    (unsigned long long)serial);
	}
	return cfg;
}

/* The catalog's [image NAME]; NULL with *rc the exit status when the
 * configuration does not load or has no such image (both said). */
static const struct cfg_image *
find_image(struct ctx *ctx, const char *name, int *rc)
{
	struct config		*cfg;
	const struct cfg_image	*im;
	struct err		 e;

	if ((cfg = image_config(ctx, rc)) == NULL)
		return NULL;
	if ((im = config_image(cfg, name)) == NULL) {
		err_set(&e, ERR_NOENT, "image %s: no [image %s] in %s%s and no "
		    "such file", name, name, cfg->path,
		    cfg->images.catalog_url ? " or its catalog" : "");
		*rc = cli_fail(&e);
		return NULL;
	}
	return im;
}

/* The pinned digest of bmap when it is the catalog's cached bmap (bpath);
 * a --bmap FILE the operator names is theirs, not pinned. */
static const char *
bmap_pin(const struct cfg_image *im, const char *bmap, const char *bpath)
{
	if (im == NULL || bmap == NULL || bmap != bpath ||
	    im->bmap_sha256[0] == '\0')
		return NULL;
	return im->bmap_sha256;
}

static FILE *
progress_file(struct ctx *ctx)
{
	return ctx->verbose < 0 ? NULL : stderr;
}

static int
cmd_image_list(struct ctx *ctx, struct args *args)
{
	static const struct out_col cols[] = {
		{ "name", "NAME", 0 },
		{ "format", "FORMAT", 0 },
		{ "stored_bytes", "STORED", 1 },
		{ "image_bytes", "IMAGE", 1 },
		{ "mapped_bytes", "MAPPED", 1 },
		{ "cached", "CACHED", 0 },
		{ "url", "URL", 0 },
		{ NULL, NULL, 0 }
	};
	struct config	*cfg;
	struct img_info	 info;
	json_t		*rows, *o;
	size_t		 i;

	int		 rc;

	(void)args;
	if ((cfg = image_config(ctx, &rc)) == NULL)
		return rc;
	rows = json_array();
	for (i = 0; i < cfg->nimage; i++) {
		const struct cfg_image *im = &cfg->image[i];
		char ub[512], bb[512];
		img_info_get(cfg, im, &info);
		o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I}",
		    "name", im->name, "url", img_url_safe(im->url, ub,
		    sizeof(ub)), "sha256", im->sha256,
		    "format", info.format, "cached", info.cached,
		    "stored_bytes", (json_int_t)info.stored_bytes,
		    "image_bytes", (json_int_t)info.image_bytes,
		    "mapped_bytes", (json_int_t)info.mapped_bytes,
		    "min_disk_bytes", (json_int_t)im->min_disk);
		/* Entries of the signed catalog have no line in castiron.ini. */
		json_object_set_new(o, "source", json_string(im->line > 0 ?
		    "config" : "catalog"));
		json_object_set_new(o, "bmap", im->bmap ?
		    json_string(img_url_safe(im->bmap, bb, sizeof(bb))) :
		    json_null());
		json_array_append_new(rows, o);
	}
	output_rows(stdout, ctx->format, rows, cols);
	json_decref(rows);
	return cli_exit(ERR_OK);
}

static int
do_fetch(struct ctx *ctx, const struct cfg_image *im, int force,
    struct img_fetch_result *res)
{
	struct img_fetch_opts	 o = { progress_file(ctx), force };
	struct err		 e;

	if (img_fetch(ctx->cfg, im, &o, res, &e) != ERR_OK)
		err_prefix(&e, "image %s", im->name);
	else
		err_clear(&e);
	return cli_fail(&e);
}

static int
cmd_image_fetch(struct ctx *ctx, struct args *args)
{
	const struct cfg_image	*im;
	struct img_fetch_result	 res;
	json_t			*o;
	char			*path;
	int			 rc;

	if ((im = find_image(ctx, args->argv[0], &rc)) == NULL)
		return rc;
	if ((rc = do_fetch(ctx, im, args_has(args, "force"), &res)) != 0)
		return rc;
	path = img_cache_path(ctx->cfg, im, ".img");
	o = json_pack("{s:s, s:s, s:s, s:I, s:b, s:b, s:i, s:i}",
	    "name", im->name, "path", path, "sha256", res.sha256,
	    "stored_bytes", (json_int_t)res.bytes, "already_cached",
	    res.already, "resumed", res.resumed, "attempts", res.attempts,
	    "evicted", res.evicted);
	if (ctx->verbose >= 0 || ctx->format == OUT_JSON)
		output_object(stdout, ctx->format, o);
	json_decref(o);
	free(path);
	return cli_exit(ERR_OK);
}

static int
cmd_image_verify(struct ctx *ctx, struct args *args)
{
	const char		*arg = args->argv[0], *bmap = args_get(args, "bmap");
	const struct cfg_image	*im = NULL;
	char			*path = NULL, *bpath = NULL, sha[65];
	struct err		 e;
	uint64_t		 stored = 0, size = 0, ranges = 0;
	json_t			*o;
	int			 rc;

	if (is_path(arg))
		path = xstrdup(arg);
	else {
		if ((im = find_image(ctx, arg, &rc)) == NULL)
			return rc;
		if (!img_cached(ctx->cfg, im)) {
			err_set(&e, ERR_FAIL, "image %s is not in the cache "
			    "(castiron image fetch %s)", arg, arg);
			return cli_fail(&e);
		}
		path = img_cache_path(ctx->cfg, im, ".img");
		if (bmap == NULL && im->bmap != NULL)
			bmap = bpath = img_cache_path(ctx->cfg, im, ".bmap");
	}
	if (img_file_sha256(path, sha, &stored, &e) != ERR_OK)
		goto out;
	if (im != NULL && strcmp(sha, im->sha256) != 0) {
		err_set(&e, ERR_FAIL, "image %s: %s: sha256 mismatch: expected "
		    "%s, got %s", im->name, path, im->sha256, sha);
		goto out;
	}
	if (img_verify_ranges(path, bmap, bmap_pin(im, bmap, bpath), &size,
	    &ranges, &e) != ERR_OK)
		goto out;
	if (im != NULL)
		img_cache_touch(ctx->cfg, im);
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "path", path,
	    "sha256", sha, "stored_bytes", (json_int_t)stored,
	    "image_bytes", (json_int_t)size, "ranges_verified",
	    (json_int_t)(bmap ? ranges : 0), "bmap", bmap != NULL);
	if (ctx->verbose >= 0 || ctx->format == OUT_JSON)
		output_object(stdout, ctx->format, o);
	json_decref(o);
	err_clear(&e);
out:
	free(path);
	free(bpath);
	return cli_fail(&e);
}

static int
cmd_image_bmap(struct ctx *ctx, struct args *args)
{
	const char	*file = args->argv[0], *outp = args_get(args, "output");
	struct bmap	*b;
	struct err	 e;
	char		*xml;
	size_t		 len;
	int		 fd;
	FILE		*f;

	(void)ctx;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		err_errno(&e, ERR_INVAL, "%s", file);
		return cli_fail(&e);
	}
	b = bmap_create(fd, &e);
	close(fd);
	if (b == NULL) {
		err_prefix(&e, "%s", file);
		return cli_fail(&e);
	}
	xml = bmap_format(b, &len);
	bmap_free(b);
	err_clear(&e);
	if ((f = outp ? fopen(outp, "we") : stdout) == NULL)
		err_errno(&e, ERR_FAIL, "%s", outp);
	else if (fwrite(xml, 1, len, f) != len || fflush(f) != 0 ||
	    (outp && fclose(f) != 0))
		err_set(&e, ERR_FAIL, "%s: write failed",
		    outp ? outp : "stdout");
	free(xml);
	return cli_fail(&e);
}

struct bar {
	struct progress	*pb;
	const char	*label;
	FILE		*f;
};

/* The bar is made on the first report, when the total is known. */
static void
write_progress(void *arg, int phase, uint64_t done, uint64_t total)
{
	struct bar	*b = arg;

	if (b->pb == NULL)
		b->pb = progress_new(b->f, b->label, total);
	progress_update(b->pb, done, phase == IMG_PHASE_READBACK ?
	    "readback" : "write");
}

static void
bar_finish(struct bar *b, const char *result)
{
	if (b->pb != NULL)
		progress_finish(b->pb, result);
	b->pb = NULL;
}

static int
send_out(void *arg, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	(void)arg;
	while (len > 0) {
		n = write(STDOUT_FILENO, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
send_progress(void *arg, uint64_t done, uint64_t total)
{
	write_progress(arg, IMG_PHASE_WRITE, done, total);
}

/* Resolves NAME|FILE to an image path and its bmap (the caller frees). */
static int
resolve(struct ctx *ctx, const char *arg, char **path, char **bpath,
    const struct cfg_image **imp)
{
	const struct cfg_image	*im;
	struct img_fetch_result	 fr;
	int			 rc;

	*path = *bpath = NULL;
	*imp = NULL;
	if (is_path(arg)) {
		*path = xstrdup(arg);
		return cli_exit(ERR_OK);
	}
	if ((im = find_image(ctx, arg, &rc)) == NULL)
		return rc;
	if (!img_cached(ctx->cfg, im) && (rc = do_fetch(ctx, im, 0, &fr)) != 0)
		return rc;
	*path = img_cache_path(ctx->cfg, im, ".img");
	if (im->bmap != NULL)
		*bpath = img_cache_path(ctx->cfg, im, ".bmap");
	img_cache_touch(ctx->cfg, im);
	*imp = im;
	return cli_exit(ERR_OK);
}

static int
cmd_image_send(struct ctx *ctx, struct args *args)
{
	struct frame_send_opts	 o = { 0 };
	struct frame_send_result res;
	const struct cfg_image	*im;
	struct bar		 bar = { NULL, "send", stderr };
	const char		*pack;
	char			*path, *bpath;
	struct err		 e;
	int			 rc;

	if (isatty(STDOUT_FILENO))
		return cmd_usage_error(args, "stdout is a terminal; pipe it "
		    "to castiron-writer");
	if ((rc = resolve(ctx, args->argv[0], &path, &bpath, &im)) != 0)
		return rc;
	o.image_path = path;
	o.bmap_path = args_get(args, "bmap") ? args_get(args, "bmap") : bpath;
	o.bmap_sha256 = bmap_pin(im, o.bmap_path, bpath);
	o.flags = args_has(args, "verify-readback") ? FRAME_F_READBACK : 0;
	o.pull = args_has(args, "pull");
	if ((pack = args_get(args, "pack")) == NULL || strcmp(pack, "auto") == 0)
		o.pack = FRAME_PACK_AUTO;
	else if (strcmp(pack, "never") == 0)
		o.pack = FRAME_PACK_NEVER;
	else if (strcmp(pack, "always") == 0)
		o.pack = FRAME_PACK_ALWAYS;
	else {
		free(path);
		free(bpath);
		return cmd_usage_error(args, "--pack: \"%s\": expected auto, "
		    "never or always", pack);
	}
	o.out = send_out;
	if (progress_file(ctx) != NULL) {
		o.progress = send_progress;
		o.progress_arg = &bar;
	}
	err_clear(&e);
	if (frame_send_image(&o, &res, &e) != ERR_OK) {
		bar_finish(&bar, "failed");
		err_prefix(&e, "image send %s", args->argv[0]);
	} else {
		bar_finish(&bar, "done");
		if (ctx->verbose > 0)
			log_warnx("sent %llu ranges, %llu "
			    "bytes in %llu (%s), stream sha256 %s",
			    (unsigned long long)res.ranges,
			    (unsigned long long)res.mapped_bytes,
			    (unsigned long long)res.wire_bytes, res.how,
			    res.sha256);
	}
	free(path);
	free(bpath);
	return cli_fail(&e);
}

static int
cmd_image_write(struct ctx *ctx, struct args *args)
{
	const char		*arg = args->argv[0];
	const struct cfg_image	*im;
	struct img_write_opts	 o = { 0 };
	struct img_write_result	 res;
	struct bar		 bar = { NULL, NULL, stderr };
	char			*path, *bpath;
	struct err		 e;
	uint64_t		 t0 = mono_ms(), ms;
	json_t			*j;
	int			 rc;

	o.target = args_get(args, "to");
	o.readback = args_has(args, "verify-readback");
	if (o.target == NULL)
		return cmd_usage_error(args, "--to TARGET is required");
	if ((rc = resolve(ctx, arg, &path, &bpath, &im)) != 0)
		return rc;
	o.image = path;
	o.bmap = args_get(args, "bmap") ? args_get(args, "bmap") : bpath;
	o.bmap_sha256 = bmap_pin(im, o.bmap, bpath);
	o.min_target = im ? im->min_disk : 0;
	if (progress_file(ctx) != NULL) {
		bar.label = o.target;
		o.progress = write_progress;
		o.parg = &bar;
	}
	if (img_write_image(&o, &res, &e) != ERR_OK) {
		bar_finish(&bar, "failed");
		err_prefix(&e, "image write %s", arg);
		goto out;
	}
	ms = mono_ms() - t0;
	bar_finish(&bar, "done");
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:b, s:I}",
	    "image", path, "target", o.target,
	    "image_bytes", (json_int_t)res.image_bytes,
	    "written_bytes", (json_int_t)res.written,
	    "ranges", (json_int_t)res.ranges, "sha256", res.sha256,
	    "bmap", o.bmap != NULL, "readback", o.readback,
	    "elapsed_ms", (json_int_t)ms);
	if (ctx->verbose >= 0 || ctx->format == OUT_JSON)
		output_object(stdout, ctx->format, j);
	json_decref(j);
	err_clear(&e);
out:
	free(path);
	free(bpath);
	return cli_fail(&e);
}

/* "verify with NAME.pub" for the key file KEY (NAME.sec), as signify
 * writes it. */
static char *
sig_comment(const char *key)
{
	const char	*b = strrchr(key, '/');
	size_t		 n;

	b = b ? b + 1 : key;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".sec") == 0)
		n -= 4;
	return xsprintf("verify with %.*s.pub", (int)n, b);
}

/* Adds NAME=FILE to cat; 0, or an exit status with the reason printed. */
static int
publish_one(struct args *args, struct catalog *cat, const char *arg,
    const char *base, int nth)
{
	struct cat_entry	 c;
	struct err		 e = { 0 };
	const char		*eq = strchr(arg, '=');
	char			*name;
	int			 i;

	if (eq == NULL || eq == arg || eq[1] == '\0')
		return cmd_usage_error(args, "\"%s\": expected NAME=FILE", arg);
	name = xstrndup(arg, (size_t)(eq - arg));
	for (i = 0; i < nth; i++)
		if (strncmp(args->argv[i], name, strlen(name)) == 0 &&
		    args->argv[i][strlen(name)] == '=') {
			free(name);
			return cmd_usage_error(args, "image %.*s given twice",
			    (int)(eq - arg), arg);
		}
	if (catalog_entry_from_file(&c, name, eq + 1, base, &e) != ERR_OK) {
		free(name);
		return cli_fail(&e);
	}
	catalog_put(cat, &c);
	free(c.img.name);
	free(c.img.url);
	free(c.img.bmap);
	free(name);
	return cli_exit(ERR_OK);
}

/* --remove NAME[,NAME...]: each must be in the previous catalog. */
static int
publish_remove(struct args *args, struct catalog *cat, const char *list,
    const char *outp)
{
	char	*dup = xstrdup(list), *p, *save = NULL;
	int	 rc = cli_exit(ERR_OK);

	for (p = strtok_r(dup, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		if (catalog_remove(cat, p) == -1) {
			rc = cmd_usage_error(args, "--remove %s: no such image in "
			    "%s", p, outp);
			break;
		}
	free(dup);
	return rc;
}

static int
cmd_image_publish(struct ctx *ctx, struct args *args)
{
	const char	*keyp = args_get(args, "key"), *outp = args_get(args,
			    "output"), *base = args_get(args, "base-url");
	const char	*sers = args_get(args, "serial"), *rm = args_get(args,
			    "remove");
	struct sig_seckey sk;
	struct sig_pubkey pk;
	struct err	 e = { 0 };
	struct catalog	*cat = NULL, *prev = NULL, *back;
	char		*text = NULL, *sig = NULL, *comment = NULL;
	char		 kn[2 * SIG_KEYNUMLEN + 1];
	size_t		 len, slen, i;
	uint64_t	 last = 0, serial;
	int		 other = 0, rc = cli_exit(ERR_FAIL);
	json_t		*o;

	if (keyp == NULL || outp == NULL || base == NULL)
		return cmd_usage_error(args, "--key, --output and --base-url "
		    "are required");
	if (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://",
	    7) != 0 && strncmp(base, "file:///", 8) != 0)
		return cmd_usage_error(args, "--base-url \"%s\": not an "
		    "https://, http:// or file:/// URL", base);
	if (sig_seckey_load(keyp, &sk, &e) != ERR_OK)
		return cli_fail(&e);
	sig_seckey_public(&sk, &pk);
	if (access(outp, F_OK) == 0) {
		if ((prev = catalog_read_signed(outp, &pk, &other, &e)) == NULL) {
			rc = cli_fail(&e);
			goto out;
		}
		last = prev->serial;
	}
	if (sers != NULL) {
		if (parse_uint(sers, 1, 1ULL << 62, &serial, &e) != ERR_OK) {
			rc = cmd_usage_error(args, "--serial: %s", e.msg);
			goto out;
		}
		if (serial <= last) {
			rc = cmd_usage_error(args, "--serial %llu: not above "
			    "%llu, the serial of %s (a serial only grows)",
			    (unsigned long long)serial,
			    (unsigned long long)last, outp);
			goto out;
		}
	} else
		serial = last + 1;
	cat = catalog_new();
	for (i = 0; prev != NULL && i < prev->n; i++)
		catalog_put(cat, &prev->ent[i]);
	cat->serial = serial;
	if (args->argc == 0 && rm == NULL) {
		rc = cmd_usage_error(args, "name an image to add (NAME=FILE) "
		    "or to --remove");
		goto out;
	}
	if (rm != NULL && (rc = publish_remove(args, cat, rm, outp)) != 0)
		goto out;
	for (i = 0; i < (size_t)args->argc; i++)
		if ((rc = publish_one(args, cat, args->argv[i], base,
		    (int)i)) != 0)
			goto out;
	rc = cli_exit(ERR_FAIL);
	text = catalog_format(cat, &len);
	/* What is signed must read back as the same catalog. */
	if ((back = catalog_parse(text, len, outp, &e)) == NULL ||
	    back->n != cat->n || back->serial != cat->serial)
		fatalx("catalog_format wrote what catalog_parse refuses: %s",
		    e.msg);
	catalog_free(back);
	comment = sig_comment(keyp);
	if ((sig = sig_sign_embedded(&sk, comment, text, len, &slen,
	    &e)) == NULL) {
		rc = cli_fail(&e);
		goto out;
	}
	if (file_replace(outp, sig, slen, 0644, 1, &e) != ERR_OK) {
		rc = cli_fail(&e);
		goto out;
	}
	if (other)
		log_info("%s was signed by another key; the new catalog is "
		    "signed by key %s", outp, sig_keynum_hex(pk.keynum, kn));
	o = json_pack("{s:s, s:I, s:I, s:s, s:I}", "path", outp,
	    "serial", (json_int_t)serial, "images", (json_int_t)cat->n,
	    "keynum", sig_keynum_hex(pk.keynum, kn),
	    "previous_serial", (json_int_t)last);
	if (ctx->verbose >= 0 || ctx->format == OUT_JSON)
		output_object(stdout, ctx->format, o);
	json_decref(o);
	rc = cli_exit(ERR_OK);
out:
	explicit_bzero(&sk, sizeof(sk));
	catalog_free(prev);
	catalog_free(cat);
	free(text);
	free(sig);
	free(comment);
	return rc;
}

static const struct cmd_opt publish_opts[] = {
	{ "key", "FILE", "signify secret key (unencrypted) to sign with" },
	{ "output", "FILE", "the signed catalog to write (its entries are kept)" },
	{ "base-url", "URL", "where the images and bmaps are served" },
	{ "serial", "N", "the new serial (default: the previous one + 1)" },
	{ "remove", "NAME[,NAME]", "leave these images out of the catalog" },
	{ NULL }
};

static const struct cmd_opt fetch_opts[] = {
	{ "force", NULL, "download again even when cached" },
	{ NULL }
};

static const struct cmd_opt verify_opts[] = {
	{ "bmap", "FILE", "check every range against this bmap" },
	{ NULL }
};

static const struct cmd_opt bmap_opts[] = {
	{ "output", "FILE", "write the bmap here instead of stdout" },
	{ NULL }
};

static const struct cmd_opt write_opts[] = {
	{ "to", "TARGET", "block device or file to write" },
	{ "bmap", "FILE", "write only the ranges this bmap maps" },
	{ "verify-readback", NULL, "read every written range back" },
	{ NULL }
};

static const struct cmd_opt send_opts[] = {
	{ "bmap", "FILE", "send only the ranges this bmap maps" },
	{ "verify-readback", NULL, "ask the writer to read every range back" },
	{ "pack", "auto|never|always", "compressed data: sent as it is "
	    "stored or compressed on the way (auto)" },
	{ "pull", NULL, "the range table only: castiron-writer --pull "
	    "fetches the image" },
	{ NULL }
};

static const struct cmd image_cmds[] = {
	{ "list", "", "the catalog and what is cached", NULL, 0, 0,
	    cmd_image_list },
	{ "fetch", "NAME", "download into the cache, verified", fetch_opts,
	    1, 1, cmd_image_fetch },
	{ "verify", "NAME|FILE", "check an image against its sha256 and bmap",
	    verify_opts, 1, 1, cmd_image_verify },
	{ "bmap", "FILE", "print a bmap (bmaptool's format) for a sparse file",
	    bmap_opts, 1, 1, cmd_image_bmap },
	{ "write", "NAME|FILE", "write an image onto a disk or a file",
	    write_opts, 1, 1, cmd_image_write },
	{ "send", "NAME|FILE", "print the castiron-writer stream on stdout",
	    send_opts, 1, 1, cmd_image_send },
	{ "publish", "[NAME=FILE...]", "write and sign a catalog of images",
	    publish_opts, 0, -1, cmd_image_publish },
	{ NULL }
};

const struct area area_image = {
	"image", "OS images: catalog, cache, bmap, write", image_cmds
};
