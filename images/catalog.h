/*
 * The image catalog.  Two halves: what `castiron image list` shows about
 * each image (format, sizes, cache state; catalog.c), and the signed
 * catalog a site trusts its images by: a text file of [image NAME]
 * entries and a serial that only grows, signed in signify's format
 * (catalog_text.c parses and formats it; catalog.c fetches it from
 * [images] catalog_url, verifies it against catalog_pubkey, refuses a
 * rollback and joins its entries to the configuration's).
 */
#ifndef CASTIRON_IMAGES_CATALOG_H
#define CASTIRON_IMAGES_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/err.h"

struct img_info {
	int		cached;
	char		format[8];	/* raw, zstd, gzip, or "-" */
	uint64_t	stored_bytes;	/* the cached file; 0 if not cached */
	uint64_t	image_bytes;	/* raw size, when known; else 0 */
	uint64_t	mapped_bytes;	/* from the bmap; else 0 */
};

void	img_info_get(const struct config *, const struct cfg_image *,
	    struct img_info *);

/* Limits of the signed catalog's text. */
#define CATALOG_MAX		(1024 * 1024)	/* bytes */
#define CATALOG_LINEMAX		4096		/* bytes in one line */
#define CATALOG_ENTRIESMAX	4096
#define CATALOG_MAGIC		"castiron-catalog 1"

/* An entry is an image as castiron.ini gives it (img.line being that of
 * the [image NAME] line), and when it was built. */
struct cat_entry {
	struct cfg_image	 img;
	char			 built_at[21];	/* YYYY-MM-DDTHH:MM:SSZ */
};

struct catalog {
	uint64_t		 serial;
	struct cat_entry	*ent;
	size_t			 n;
};

/*
 * Parses the catalog's text (the message of the signed file); name is
 * the file or URL for messages, which say "NAME: line N: ...".  A new
 * catalog the caller frees, or NULL with ERR_INVAL in err.
 */
struct catalog	*catalog_parse(const char *, size_t, const char *name,
		    struct err *);
/* The text catalog_parse reads back into the same catalog (entries in
 * their order); the caller frees it. */
char		*catalog_format(const struct catalog *, size_t *len);
struct catalog	*catalog_new(void);
void		 catalog_free(struct catalog *);
/* The entry named name, or NULL. */
struct cat_entry *catalog_find(const struct catalog *, const char *name);
/* Removes the entry named name; 0, or -1 when there is none. */
int		 catalog_remove(struct catalog *, const char *name);
/* Appends a copy of ent, or replaces the entry of the same name (the
 * strings are copied). */
void		 catalog_put(struct catalog *, const struct cat_entry *);

/*
 * An entry for the image file path, published as base_url + its file
 * name: its sha256; the bmap beside it (NAME.bmap for NAME.img.zst,
 * NAME.img, NAME.raw.zst, ...), when there is one, with its sha256 and
 * the image's raw size from it as min_disk (else a raw image's size, else
 * 0); the file's mtime as built_at.  The caller frees the strings.
 */
enum err_code	 catalog_entry_from_file(struct cat_entry *, const char *name,
		    const char *path, const char *base_url, struct err *);

struct sig_pubkey;
/*
 * Reads a signed catalog file (the publisher's previous one).  When it
 * was signed by pk's key number it must verify; *other_key is set when it
 * was signed by another key (a key rotation), whose signature cannot be
 * checked here.  NULL with err set otherwise.
 */
struct catalog	*catalog_read_signed(const char *path,
		    const struct sig_pubkey *pk, int *other_key, struct err *);

/*
 * When [images] catalog_url is set: fetches the signed catalog, verifies
 * it with catalog_pubkey, refuses a serial lower than the last accepted
 * one (kept in state_dir/catalog.serial), and appends its entries to
 * cfg->image (a name also in an [image NAME] section is refused).  Only
 * a catalog that passes every check changes cfg or the state file.
 * ERR_OK; ERR_TRUST or ERR_FAIL for a catalog that fails verification or
 * cannot be fetched (exit 1); ERR_INVAL for configuration (exit 2).  The
 * message is one line naming the URL or file.
 */
enum err_code	 catalog_load(struct config *, uint64_t *serial,
		    struct err *);

#endif
