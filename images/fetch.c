/*
 * Verified downloads into the image cache (images/fetch.h).  One libcurl
 * easy handle per fetch: TLS verified against ca_bundle, connect and
 * low-speed timeouts from [images], and a retry loop that resumes from
 * the bytes already on disk with a Range request (a server that ignores
 * the Range and answers 200 is handled by starting over).  The digest is
 * computed as the bytes are written, so verification costs no second
 * read; the file is renamed into the cache only when it matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "images/bmap.h"
#include "images/digest.h"
#include "images/fetch.h"
#include "lib/progress.h"
#include "lib/xmalloc.h"

#define BACKOFF_FIRST_MS	250
#define BACKOFF_MAX_MS		8000
#define LOW_SPEED_BYTES		1024

struct dl {
	int		 fd;
	const char	*path;
	struct img_sha	*sha;
	uint64_t	 have;		/* bytes on disk, all hashed */
	uint64_t	 base;		/* have when this attempt started */
	CURL		*c;
	int		 checked;
	int		 werr;
	int		 resumed;
	struct progress	*pb;		/* made when the size is known */
	FILE		*pbfile;
	const char	*label;
	uint64_t	 max;		/* cache_max, 0: no limit */
	const char	*max_what;	/* what max is, NULL: cache_max */
	int		 https_only;	/* no redirect to plain http */
	struct err	 err;		/* dl_write's, when werr */
};

char *
img_cache_path(const struct config *cfg, const struct cfg_image *im,
    const char *ext)
{
	return xsprintf("%s/%s%s", cfg->images.cache_dir, im->sha256, ext);
}

int
img_cached(const struct config *cfg, const struct cfg_image *im)
{
	char	*p;
	int	 ok;

	p = img_cache_path(cfg, im, ".img");
	ok = access(p, R_OK) == 0;
	free(p);
	if (ok && im->bmap != NULL) {
		p = img_cache_path(cfg, im, ".bmap");
		ok = access(p, R_OK) == 0;
		free(p);
	}
	return ok;
}

void
img_cache_touch(const struct config *cfg, const struct cfg_image *im)
{
	char	*p = img_cache_path(cfg, im, ".img");

	(void)utimensat(AT_FDCWD, p, NULL, 0);
	free(p);
}

enum err_code
img_file_sha256(const char *path, char out[65], uint64_t *size,
    struct err *err)
{
	struct img_sha	*sha;
	uint8_t		*buf, d[SHA256_LEN];
	uint64_t	 total = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(err, ERR_FAIL, "%s", path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	sha = img_sha_new();
	buf = xmalloc(1u << 20);
	while ((n = read(fd, buf, 1u << 20)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		img_sha_update(sha, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0)
		err_errno(err, ERR_FAIL, "%s: read", path);
	free(buf);
	close(fd);
	if (n < 0) {
		img_sha_free(sha);
		return ERR_FAIL;
	}
	img_sha_final(sha, d);
	img_sha_free(sha);
	img_hex(d, out);
	if (size)
		*size = total;
	return ERR_OK;
}

const char *
img_url_safe(const char *url, char *buf, size_t len)
{
	const char	*s = strstr(url, "://"), *at, *slash;

	if (s == NULL)
		return url;
	s += 3;
	slash = strchr(s, '/');
	at = memchr(s, '@', slash ? (size_t)(slash - s) : strlen(s));
	if (at == NULL)
		return url;
	snprintf(buf, len, "%.*s%s", (int)(s - url), url, at + 1);
	return buf;
}

static size_t
dl_write(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct dl	*d = arg;
	size_t		 len = sz * nmemb, off = 0;
	ssize_t		 n;
	long		 code = 0;

	if (!d->checked) {
		d->checked = 1;
		curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &code);
		if (d->have > 0 && code == 200) {
			/* The server ignored the Range: start over. */
			if (ftruncate(d->fd, 0) == -1) {
				err_errno(&d->err, ERR_FAIL, "%s", d->path);
				d->werr = 1;
				return 0;
			}
			img_sha_reset(d->sha);
			d->have = d->base = 0;
			d->resumed = 0;
		} else if (d->have > 0)
			d->resumed = 1;
	}
	if (d->max > 0 && d->have + len > d->max) {
		err_set(&d->err, ERR_FAIL, "%s: the download is larger than "
		    "%s (%llu bytes)", d->path, d->max_what ? d->max_what :
		    "cache_max", (unsigned long long)d->max);
		d->werr = 1;
		return 0;
	}
	while (off < len) {
		n = pwrite(d->fd, p + off, len - off, (off_t)d->have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(&d->err, ERR_FAIL, "%s: write: %s", d->path,
			    n < 0 ? strerror(errno) : "no progress");
			d->werr = 1;
			return 0;
		}
		img_sha_update(d->sha, p + off, (size_t)n);
		off += (size_t)n;
		d->have += (uint64_t)n;
	}
	return len;
}

static int
dl_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult,
    curl_off_t ulnow)
{
	struct dl	*d = arg;

	(void)ult; (void)ulnow;
	if (d->pbfile == NULL || (dltotal <= 0 && dlnow <= 0))
		return 0;
	if (d->pb == NULL)
		d->pb = progress_new(d->pbfile, d->label, dltotal > 0 ?
		    d->base + (uint64_t)dltotal : 0);
	progress_update(d->pb, d->base + (uint64_t)dlnow,
	    d->base > 0 ? "resume" : "fetch");
	return 0;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec	 ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A transfer error worth another attempt. */
static int
retryable(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_HTTP_RETURNED_ERROR:
		return status >= 500 || status == 408 || status == 429;
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_RANGE_ERROR:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_BAD_CONTENT_ENCODING:
		return 1;
	default:
		return 0;
	}
}

/*
 * Downloads url into path (appending to what is there), retrying.  On
 * return d->sha holds the digest state of the whole file.
 */
static enum err_code
download(const struct config *cfg, const char *url, struct dl *d,
    unsigned *attempts, struct err *err)
{
	CURLcode	 rc = CURLE_OK;
	long		 status = 0;
	unsigned	 a, tries = (unsigned)cfg->images.retries + 1;
	uint64_t	 delay = BACKOFF_FIRST_MS;
	char		 ebuf[CURL_ERROR_SIZE], ubuf[512], after[32];
	const char	*shown = img_url_safe(url, ubuf, sizeof(ubuf));

	d->c = curl_easy_init();
	if (d->c == NULL)
		return err_set(err, ERR_FAIL, "libcurl: cannot initialise");
	curl_easy_setopt(d->c, CURLOPT_URL, url);
	curl_easy_setopt(d->c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(d->c, CURLOPT_REDIR_PROTOCOLS_STR, d->https_only ?
	    "https" : "http,https");
	curl_easy_setopt(d->c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(d->c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(d->c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(d->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(d->c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->images.ca_bundle != NULL)
		curl_easy_setopt(d->c, CURLOPT_CAINFO, cfg->images.ca_bundle);
	curl_easy_setopt(d->c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)cfg->images.connect_timeout_ms);
	curl_easy_setopt(d->c, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(d->c, CURLOPT_LOW_SPEED_TIME,
	    (long)((cfg->images.low_speed_time_ms + 999) / 1000));
	curl_easy_setopt(d->c, CURLOPT_USERAGENT, "castiron/" CASTIRON_VERSION);
	curl_easy_setopt(d->c, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(d->c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->c, CURLOPT_XFERINFOFUNCTION, dl_progress);
	curl_easy_setopt(d->c, CURLOPT_XFERINFODATA, d);
	curl_easy_setopt(d->c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d->c, CURLOPT_ERRORBUFFER, ebuf);
	for (a = 0; a < tries; a++) {
		if (a > 0) {
			sleep_ms(delay);
			delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			    delay * 2;
		}
		*attempts = a + 1;
		ebuf[0] = '\0';
		d->checked = 0;
		d->base = d->have;
		curl_easy_setopt(d->c, CURLOPT_RESUME_FROM_LARGE,
		    (curl_off_t)d->have);
		rc = curl_easy_perform(d->c);
		if (d->werr) {
			if (err != NULL)
				*err = d->err;
			break;
		}
		if (rc == CURLE_OK)
			break;
		status = 0;
		curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_HTTP_RETURNED_ERROR && status == 416 &&
		    d->have > 0) {
			/* Everything is here already: let the digest say. */
			rc = CURLE_OK;
			break;
		}
		if (rc == CURLE_RANGE_ERROR && d->have > 0) {
			/* The server cannot resume: start over from byte 0. */
			if (ftruncate(d->fd, 0) == -1) {
				err_errno(err, ERR_FAIL, "%s", d->path);
				break;
			}
			img_sha_reset(d->sha);
			d->have = 0;
			d->resumed = 0;
		}
		/* The last attempt's error says how many there were. */
		after[0] = '\0';
		if (retryable(rc, status) && a + 1 == tries && tries > 1)
			snprintf(after, sizeof(after), " (after %u attempts)",
			    tries);
		if (rc == CURLE_HTTP_RETURNED_ERROR)
			err_set(err, ERR_FAIL, "%s: HTTP %ld%s", shown, status,
			    after);
		else
			err_set(err, ERR_FAIL, "%s: %s%s", shown,
			    ebuf[0] ? ebuf : curl_easy_strerror(rc), after);
		if (!retryable(rc, status))
			break;
	}
	curl_easy_cleanup(d->c);
	d->c = NULL;
	return d->werr || rc != CURLE_OK ? ERR_FAIL : ERR_OK;
}

static enum err_code
fetch_bmap(const struct config *cfg, const struct cfg_image *im,
    struct err *err)
{
	char		*part, *final;
	struct dl	 d = { 0 };
	struct bmap	*b;
	unsigned	 attempts;
	enum err_code	 rc = ERR_FAIL;

	part = img_cache_path(cfg, im, ".bmap.part");
	final = img_cache_path(cfg, im, ".bmap");
	d.fd = -1;
	d.fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (d.fd == -1) {
		err_errno(err, ERR_FAIL, "%s", part);
		goto out;
	}
	d.path = part;
	d.sha = img_sha_new();
	/* Unpinned, a bmap is only as good as its transport: an https one
	 * may not be redirected to plain http (config.c refuses http). */
	d.https_only = im->bmap_sha256[0] == '\0';
	if (download(cfg, im->bmap, &d, &attempts, err) != ERR_OK)
		goto out;
	if ((b = bmap_load_pinned(part, im->bmap_sha256, err)) == NULL)
		goto out;
	bmap_free(b);
	if (fsync(d.fd) == -1 || rename(part, final) == -1) {
		err_errno(err, ERR_FAIL, "%s", final);
		goto out;
	}
	rc = ERR_OK;
out:
	if (d.fd != -1)
		close(d.fd);
	if (rc != ERR_OK)
		unlink(part);
	img_sha_free(d.sha);
	free(part);
	free(final);
	return rc;
}

/* The cached bmap is there and, when pinned, the one pinned (a pin
 * changed in the catalog fetches it again). */
static int
bmap_cached_ok(const struct cfg_image *im, const char *path)
{
	struct bmap	*b;

	if (access(path, R_OK) != 0)
		return 0;
	if (im->bmap_sha256[0] == '\0')
		return 1;
	b = bmap_load_pinned(path, im->bmap_sha256, NULL);
	bmap_free(b);
	return b != NULL;
}

static enum err_code
mkdir_p(const char *dir, struct err *err)
{
	char	*p, *s = xstrdup(dir);

	for (p = s + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0755) == -1 && errno != EEXIST)
			break;
		*p = '/';
	}
	free(s);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return err_errno(err, ERR_FAIL, "cache_dir %s", dir);
	return ERR_OK;
}

static void
fsync_dir(const char *dir)
{
	int	 fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

enum err_code
img_fetch(const struct config *cfg, const struct cfg_image *im,
    const struct img_fetch_opts *o, struct img_fetch_result *res,
    struct err *err)
{
	char		*lock = NULL, *part = NULL, *final = NULL, *bmp = NULL;
	char		 got[65];
	uint8_t		 dg[SHA256_LEN];
	struct dl	 d = { 0 };
	struct stat	 st;
	enum err_code	 rc = ERR_FAIL;
	int		 lfd = -1;

	memset(res, 0, sizeof(*res));
	d.fd = -1;
	if (mkdir_p(cfg->images.cache_dir, err) != ERR_OK)
		return ERR_FAIL;
	lock = img_cache_path(cfg, im, ".lock");
	part = img_cache_path(cfg, im, ".part");
	final = img_cache_path(cfg, im, ".img");
	bmp = img_cache_path(cfg, im, ".bmap");
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		err_errno(err, ERR_FAIL, "%s", lock);
		goto out;
	}
	/* A concurrent fetch of the same image: wait for it, then use it. */
	while (flock(lfd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			err_errno(err, ERR_FAIL, "%s: lock", lock);
			goto out;
		}
	}
	if (!o->force && stat(final, &st) == 0) {
		res->already = 1;
		res->bytes = (uint64_t)st.st_size;
		snprintf(res->sha256, sizeof(res->sha256), "%s", im->sha256);
	} else {
		d.fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (d.fd == -1) {
			err_errno(err, ERR_FAIL, "%s", part);
			goto out;
		}
		d.path = part;
		d.sha = img_sha_new();
		d.pbfile = o->progress;
		d.label = im->name;
		d.max = cfg->images.cache_max;
		if (download(cfg, im->url, &d, &res->attempts, err) != ERR_OK)
			goto out;
		img_sha_final(d.sha, dg);
		img_hex(dg, got);
		res->bytes = d.have;
		res->resumed = d.resumed;
		if (strcmp(got, im->sha256) != 0) {
			char ubuf[512];
			err_set(err, ERR_FAIL, "%s: sha256 mismatch: expected "
			    "%s, got %s (%llu bytes); nothing was cached",
			    img_url_safe(im->url, ubuf, sizeof(ubuf)),
			    im->sha256, got, (unsigned long long)d.have);
			goto out;
		}
		if (fsync(d.fd) == -1 || rename(part, final) == -1) {
			err_errno(err, ERR_FAIL, "%s", final);
			goto out;
		}
		fsync_dir(cfg->images.cache_dir);
		snprintf(res->sha256, sizeof(res->sha256), "%s", got);
	}
	if (im->bmap != NULL && (o->force || !bmap_cached_ok(im, bmp)) &&
	    fetch_bmap(cfg, im, err) != ERR_OK)
		goto out;
	img_cache_touch(cfg, im);
	rc = ERR_OK;
out:
	if (d.pb != NULL)
		progress_finish(d.pb, rc == ERR_OK ? "verified" : "failed");
	if (d.fd != -1)
		close(d.fd);
	if (rc != ERR_OK)
		unlink(part);
	img_sha_free(d.sha);
	if (lfd != -1)
		close(lfd);	/* releases the lock */
	if (rc == ERR_OK && cfg->images.cache_max > 0)
		res->evicted = img_cache_evict(cfg->images.cache_dir,
		    cfg->images.cache_max, final);
	free(lock);
	free(part);
	free(final);
	free(bmp);
	return rc;
}

enum err_code
img_fetch_mem(const struct config *cfg, const char *url, size_t max,
    char **buf, size_t *len, struct err *err)
{
	struct dl	 d = { 0 };
	unsigned	 attempts;
	char		 ubuf[512], *b = NULL;
	ssize_t		 n;
	size_t		 got = 0;
	enum err_code	 rc = ERR_FAIL;

	*buf = NULL;
	*len = 0;
	/* In memory only: nothing of a document not yet trusted reaches
	 * a disk. */
	if ((d.fd = memfd_create("castiron-fetch", MFD_CLOEXEC)) == -1)
		return err_errno(err, ERR_FAIL, "memfd_create");
	d.path = img_url_safe(url, ubuf, sizeof(ubuf));
	d.sha = img_sha_new();
	d.max = max;
	d.max_what = "the limit for this document";
	if (download(cfg, url, &d, &attempts, err) != ERR_OK)
		goto out;
	b = xmalloc((size_t)d.have + 1);
	while (got < d.have) {
		n = pread(d.fd, b + got, (size_t)d.have - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(err, ERR_FAIL, "%s: read back: %s", d.path,
			    n < 0 ? strerror(errno) : "short");
			goto out;
		}
		got += (size_t)n;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	b = NULL;
	rc = ERR_OK;
out:
	free(b);
	close(d.fd);
	img_sha_free(d.sha);
	return rc;
}
