/*
 * The provisioning run: preparation shared by all hosts (image verified
 * once, writer digest, deploy key), a pool of --parallel threads taking
 * hosts in order, and each host's state machine.  A host's run begins in
 * the inventory (which also says where a failed host resumes), then each
 * remaining step is started, done or failed as an inventory event, so a
 * run that dies anywhere leaves the host at the step it was in.
 *
 * Steps power and boot need a BMC driver, which castiron has not yet:
 * the host is expected to answer SSH in its deploy environment already,
 * and those steps are
 * recorded as done with a note saying so.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "images/fetch.h"
#include "images/source.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/prov_impl.h"
#include "provision/shell.h"

#define KEEPALIVE_S	5

uint64_t
prov_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
prov_file_sha256(const char *path, char hex[65], uint64_t *size, char *err,
    size_t errlen)
{
	EVP_MD_CTX	*md;
	unsigned char	 buf[1 << 16], d[32];
	unsigned int	 dl = 0;
	uint64_t	 total = 0;
	ssize_t		 n;
	int		 fd, i;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		EVP_MD_CTX_free(md);
		close(fd);
		return -1;
	}
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	close(fd);
	for (i = 0; i < 32; i++)
		snprintf(hex + i * 2, 3, "%02x", d[i]);
	if (size)
		*size = total;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Preparation */


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

static char *
read_small(const char *path, size_t max, char *err, size_t errlen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(max + 1);
	n = fread(buf, 1, max, f);
	if (!feof(f)) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/*
 * How the image travels, once for the run: a compressed image as it is
 * stored; a raw one with a bmap compressed on the way when a sample says
 * that is faster (images/frame.h); anything else plain.
 */
static int
decide_pack(struct prov_ctx *c, char *err, size_t errlen)
{
	enum img_format	 fmt;
	char		 why[128];
	int		 fd, yes, rc;

	c->pack = FRAME_PACK_AUTO;
	if (c->bmap_path == NULL)
		return 0;
	if ((fd = open(c->image_path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", c->image_path, strerror(errno));
		return -1;
	}
	rc = img_format_detect(fd, &fmt, err, errlen);
	close(fd);
	if (rc == -1 || fmt != IMG_RAW)
		return rc;
	if (frame_pack_decide(c->image_path, c->bmap_path, &yes, why,
	    sizeof(why), err, errlen) == -1)
		return -1;
	c->pack = yes ? FRAME_PACK_ALWAYS : FRAME_PACK_NEVER;
	log_info("image %s: %s on the way: %s", c->image, yes ?
	    "compressed" : "not compressed", why);
	return 0;
}

struct prov_ctx *
prov_prepare(const struct prov_opts *o, int *usage, char *err, size_t errlen)
{
	const struct config	*cfg = o->cfg;
	const struct cfg_image	*img;
	struct prov_ctx		*c;
	const char		*name = o->image ? o->image : cfg->provision.image;
	char			 sha[65], e[PROV_ERRLEN];
	struct stat		 st;

	*usage = 1;
	if (cfg->inventory.database == NULL) {
		snprintf(err, errlen, "%s: [inventory] database is not set",
		    cfg->path);
		return NULL;
	}
	if (cfg->provision.ssh_key == NULL) {
		snprintf(err, errlen, "%s: [provision] ssh_key is not set",
		    cfg->path);
		return NULL;
	}
	if (cfg->provision.reboot == REBOOT_BMC) {
		snprintf(err, errlen, "%s: [provision] reboot = bmc is not "
		    "supported yet (it comes with the BMC drivers); use ssh or "
		    "none", cfg->path);
		return NULL;
	}
	if (name == NULL) {
		snprintf(err, errlen, "no image: pass --image NAME or set "
		    "[provision] image in %s", cfg->path);
		return NULL;
	}
	if ((img = config_image(cfg, name)) == NULL) {
		snprintf(err, errlen, "%s: no [image %s] section", cfg->path,
		    name);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->cfg = cfg;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->image, sizeof(c->image), "%s", name);
	/* The verified cache (castiron image fetch) first; a file:// image
	 * that was never fetched is used in place (and verified below). */
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
	if (prov_file_sha256(c->writer_path, c->writer_sha, NULL, e,
	    sizeof(e)) == -1) {
		snprintf(err, errlen, "castiron-writer: %s (build it with make, "
		    "or set [provision] writer)", e);
		goto fail;
	}
	if (cfg->provision.deploy_host_key && ssh_fp_of_pubfile(
	    cfg->provision.deploy_host_key, c->deploy_fp, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "[provision] deploy_host_key: %s", e);
		goto fail;
	}
	if (cfg->provision.authorized_keys) {
		if ((c->authorized = read_small(cfg->provision.authorized_keys,
		    1 << 20, e, sizeof(e))) == NULL) {
			snprintf(err, errlen, "[provision] authorized_keys: %s",
			    e);
			goto fail;
		}
	} else
		c->authorized = xstrdup("");
	/* castiron's own key goes in too, or verify could not log in. */
	{
		char *pubpath = xsprintf("%s.pub", cfg->provision.ssh_key), *pub;
		pub = read_small(pubpath, 16384, e, sizeof(e));
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
		snprintf(err, errlen, "image %s: %s: %s (run castiron image "
		    "fetch %s)", name, c->image_path, strerror(errno), name);
		goto fail;
	}
	if (c->bmap_path && access(c->bmap_path, R_OK) == -1) {
		snprintf(err, errlen, "image %s: bmap %s: %s", name,
		    c->bmap_path, strerror(errno));
		goto fail;
	}
	*usage = 0;
	if (prov_file_sha256(c->image_path, sha, NULL, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "image %s: %s", name, e);
		goto fail;
	}
	if (strcmp(sha, img->sha256) != 0) {
		snprintf(err, errlen, "image %s: %s does not verify: sha256 %s, "
		    "expected %s", name, c->image_path, sha, img->sha256);
		goto fail;
	}
	c->image_bytes = img->min_disk;
	if (decide_pack(c, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "image %s: %s", name, e);
		goto fail;
	}
	return c;
fail:
	prov_ctx_free(c);
	return NULL;
}

void
prov_ctx_free(struct prov_ctx *c)
{
	if (c == NULL)
		return;
	free(c->image_path);
	free(c->bmap_path);
	free(c->writer_path);
	free(c->authorized);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Helpers for the steps */

void
prov_err(struct prov_host *h, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(h->err, sizeof(h->err), fmt, ap);
	va_end(ap);
}

void
prov_status(struct prov_host *h, uint64_t done, const char *status)
{
	pthread_mutex_lock(&h->ctx->lock);
	if (h->bar)
		progress_update(h->bar, done, status);
	pthread_mutex_unlock(&h->ctx->lock);
}

int
prov_note(struct prov_host *h, const char *fmt, ...)
{
	char	 msg[512], e[INV_ERRLEN];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (inv_step_record(h->inv, h->h.hostname, h->ctx->o.actor, h->step,
	    INV_STEP_NOTE, 0, 0, msg, e, sizeof(e)) != INV_OK) {
		prov_err(h, "inventory: %s", e);
		return -1;
	}
	return 0;
}

int
prov_remote(struct prov_host *h, const char *what, const char *cmd,
    const void *in, size_t inlen, struct ssh_result *r)
{
	struct ssh_result	 tmp;
	char			 e[PROV_ERRLEN];
	uint64_t		 t0 = prov_now_ms();

	if (r == NULL)
		r = &tmp;
	if (ssh_run(h->ssh, cmd, in, inlen, INSPECT_MAXDUMP, r, e,
	    sizeof(e)) == -1) {
		prov_err(h, "%s: %s", what, e);
		return -1;
	}
	log_debug("%s: %s: exit %d after %llu ms", h->h.hostname, what,
	    r->status, (unsigned long long)(prov_now_ms() - t0));
	if (r->status != 0) {
		char	*m = r->errout, *nl;
		/* The last line of stderr says why. */
		while (r->errlen > 0 && (m[r->errlen - 1] == '\n'))
			m[--r->errlen] = '\0';
		if ((nl = strrchr(m, '\n')) != NULL)
			m = nl + 1;
		prov_err(h, "%s: %s: exit %d%s%s", h->h.hostname,
		    what, r->status, *m ? ": " : "", m);
		ssh_result_clear(r);
		return -1;
	}
	if (r == &tmp)
		ssh_result_clear(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Connecting */

static const char *
host_addr(const struct prov_host *h)
{
	return h->h.address[0] ? h->h.address : h->h.hostname;
}

static void
ssh_opts_of(const struct prov_host *h, struct ssh_opts *so,
    uint64_t connect_ms)
{
	const struct config *cfg = h->ctx->cfg;

	memset(so, 0, sizeof(*so));
	so->host = host_addr(h);
	so->port = (uint16_t)cfg->provision.ssh_port;
	so->user = cfg->provision.ssh_user;
	so->key_path = cfg->provision.ssh_key;
	so->connect_timeout_ms = connect_ms;
	so->io_timeout_ms = cfg->provision.io_timeout_ms;
	so->keepalive_s = KEEPALIVE_S;
}

/* Pins the session's key when the policy accepts a new one. */
static int
pin_presented(struct prov_host *h, const char *why)
{
	char	 type[40], *b64, e[INV_ERRLEN];
	int	 rc;

	if (ssh_hostkey(h->ssh, h->presented, type, sizeof(type)) == -1 ||
	    (b64 = ssh_hostkey_b64(h->ssh)) == NULL) {
		prov_err(h, "%s: no host key",
		    h->h.hostname);
		return -1;
	}
	rc = inv_hostkey_set(h->inv, h->h.hostname, h->ctx->o.actor, type, b64,
	    e, sizeof(e));
	free(b64);
	if (rc != INV_OK) {
		prov_err(h, "inventory: %s", e);
		return -1;
	}
	return prov_note(h, "host key %s pinned (%s)", h->presented, why);
}

/*
 * Connects, checks the host key against the inventory (and the deploy
 * key, and --accept-new-hostkey), authenticates.
 */
static int
prov_connect(struct prov_host *h)
{
	struct ssh_opts		 so;
	struct inv_hostkey	 k;
	char			 e[PROV_ERRLEN], type[40];
	const char		*pinned = NULL;
	int			 rc;

	if (h->ssh)
		return 0;
	ssh_opts_of(h, &so, h->ctx->cfg->provision.connect_timeout_ms);
	if ((h->ssh = ssh_dial(&so, e, sizeof(e))) == NULL) {
		prov_err(h, "%s: unreachable: %s",
		    h->h.hostname, e);
		return -1;
	}
	ssh_hostkey(h->ssh, h->presented, type, sizeof(type));
	rc = inv_hostkey_get(h->inv, h->h.hostname, &k, e, sizeof(e));
	if (rc == INV_OK)
		pinned = k.fingerprint;
	else if (rc != INV_ENOENT) {
		prov_err(h, "inventory: %s", e);
		return -1;
	}
	rc = hostkey_decide(h->h.hostname, h->presented, pinned,
	    h->ctx->deploy_fp, h->ctx->o.accept_new, h->err, sizeof(h->err));
	if (rc == -1)
		return -1;
	if (ssh_auth(h->ssh, e, sizeof(e)) == -1) {
		prov_err(h, "%s", e);
		return -1;
	}
	if (rc == HOSTKEY_ACCEPT) {
		snprintf(h->deploy_fp, sizeof(h->deploy_fp), "%s", h->presented);
		if (pin_presented(h, strcmp(h->presented, h->ctx->deploy_fp)
		    == 0 ? "the configured deploy_host_key" :
		    "--accept-new-hostkey") == -1)
			return -1;
	} else if (!h->deploy_fp[0])
		snprintf(h->deploy_fp, sizeof(h->deploy_fp), "%s", h->presented);
	return 0;
}

static void
prov_disconnect(struct prov_host *h)
{
	ssh_close(h->ssh);
	h->ssh = NULL;
}

/* ------------------------------------------------------------------ */
/* Inspect */

/* Runs the dump and parses it into h->insp (without recording it). */
static int
inspect_host(struct prov_host *h)
{
	struct ssh_result	 r;
	char			 e[PROV_ERRLEN];

	if (prov_remote(h, "inspect", INSPECT_SCRIPT, NULL, 0, &r) == -1)
		return -1;
	if (h->insp == NULL)
		h->insp = xcalloc(1, sizeof(*h->insp));
	if (inspect_parse(r.out, r.outlen, h->insp, e, sizeof(e)) == -1) {
		prov_err(h, "%s: %s", h->h.hostname, e);
		ssh_result_clear(&r);
		return -1;
	}
	ssh_result_clear(&r);
	return 0;
}

static int
step_inspect(struct prov_host *h)
{
	struct inv_facts	 f;
	char			 e[INV_ERRLEN];
	int			 rc;

	if (prov_connect(h) == -1 || inspect_host(h) == -1)
		return -1;
	if (inspect_check_enrolled(h->insp, &h->h, h->err,
	    sizeof(h->err)) == -1)
		return -1;
	inspect_to_facts(h->insp, &f);
	rc = inv_facts_set(h->inv, h->h.hostname, h->ctx->o.actor, &f, e,
	    sizeof(e));
	free(f.disks);
	free(f.nics);
	if (rc != INV_OK) {
		prov_err(h, "inventory: %s", e);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reboot and verify */

static void
sleep_ms(unsigned ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int
pinned_fp(struct prov_host *h, char fp[SSH_FP_LEN])
{
	struct inv_hostkey	 k;
	char			 e[INV_ERRLEN];

	if (inv_hostkey_get(h->inv, h->h.hostname, &k, e, sizeof(e)) != INV_OK) {
		prov_err(h, "%s: no pinned host key: %s",
		    h->h.hostname, e);
		return -1;
	}
	snprintf(fp, SSH_FP_LEN, "%s", k.fingerprint);
	return 0;
}

/*
 * reboot = ssh: start the reboot command detached, drop the session, and
 * wait until the host answers with the key castiron wrote into the
 * installed system.  While it still answers with the deploy
 * environment's key it has not gone down yet; any other key stops.
 */
static int
step_reboot(struct prov_host *h)
{
	const struct config	*cfg = h->ctx->cfg;
	struct ssh_opts		 so;
	char			 want[SSH_FP_LEN], fp[SSH_FP_LEN], e[PROV_ERRLEN];
	char			*q, *cmd;
	uint64_t		 start, tries = 0;
	int			 rc;

	if (pinned_fp(h, want) == -1)
		return -1;
	if (h->ssh == NULL) {
		/* A resumed run: is it already up as the installed system? */
		ssh_opts_of(h, &so, cfg->provision.connect_timeout_ms);
		if ((h->ssh = ssh_dial(&so, e, sizeof(e))) == NULL) {
			prov_err(h, "%s: unreachable: %s",
			    h->h.hostname, e);
			return -1;
		}
		ssh_hostkey(h->ssh, fp, NULL, 0);
		if (strcmp(fp, want) == 0) {
			prov_disconnect(h);
			return prov_note(h, "already running the installed "
			    "system (host key %s)", fp);
		}
		if (strcmp(fp, h->ctx->deploy_fp) != 0 && !h->ctx->o.accept_new) {
			prov_err(h, "%s: host key mismatch: "
			    "the host presents %s; the installed system's key "
			    "is %s and it is not the deploy key either",
			    h->h.hostname, fp, want);
			return -1;
		}
		snprintf(h->deploy_fp, sizeof(h->deploy_fp), "%s", fp);
		if (ssh_auth(h->ssh, e, sizeof(e)) == -1) {
			prov_err(h, "%s", e);
			return -1;
		}
	}
	q = sh_quote(cfg->provision.reboot_command);
	cmd = xsprintf("(sleep 1; sh -c %s) </dev/null >/dev/null 2>&1 &", q);
	free(q);
	rc = prov_remote(h, "reboot", cmd, NULL, 0, NULL);
	free(cmd);
	prov_disconnect(h);
	if (rc == -1)
		return -1;
	prov_status(h, 0, "reboot");
	start = prov_now_ms();
	for (;;) {
		if (prov_now_ms() - start > cfg->provision.reboot_timeout_ms) {
			prov_err(h, "%s: did not come back "
			    "with the installed system's key %s within %llu ms "
			    "(%llu attempts)", h->h.hostname, want,
			    (unsigned long long)cfg->provision.reboot_timeout_ms,
			    (unsigned long long)tries);
			return -1;
		}
		sleep_ms(tries == 0 ? 1500 : 500);
		tries++;
		ssh_opts_of(h, &so, 2000);
		if ((h->ssh = ssh_dial(&so, e, sizeof(e))) == NULL)
			continue;
		ssh_hostkey(h->ssh, fp, NULL, 0);
		if (strcmp(fp, want) == 0)
			break;
		prov_disconnect(h);
		if (h->deploy_fp[0] && strcmp(fp, h->deploy_fp) == 0)
			continue;	/* not down yet */
		prov_err(h, "%s: host key mismatch after "
		    "reboot: the host presents %s but castiron installed and "
		    "pinned %s", h->h.hostname, fp, want);
		return -1;
	}
	if (ssh_auth(h->ssh, e, sizeof(e)) == -1) {
		prov_err(h, "after reboot: %s", e);
		return -1;
	}
	return 0;
}

static int
step_verify(struct prov_host *h)
{
	struct ssh_result	 r;
	char			 want[SSH_FP_LEN], fp[SSH_FP_LEN], e[PROV_ERRLEN];
	char			 line[300];
	struct ssh_opts		 so;

	if (h->ssh == NULL) {
		if (pinned_fp(h, want) == -1)
			return -1;
		ssh_opts_of(h, &so, h->ctx->cfg->provision.connect_timeout_ms);
		if ((h->ssh = ssh_dial(&so, e, sizeof(e))) == NULL) {
			prov_err(h, "%s: unreachable: %s",
			    h->h.hostname, e);
			return -1;
		}
		ssh_hostkey(h->ssh, fp, NULL, 0);
		if (strcmp(fp, want) != 0) {
			prov_err(h, "%s: host key mismatch: "
			    "the host presents %s but the inventory pins %s",
			    h->h.hostname, fp, want);
			return -1;
		}
		if (ssh_auth(h->ssh, e, sizeof(e)) == -1) {
			prov_err(h, "%s", e);
			return -1;
		}
	}
	if (prov_remote(h, "verify", "cat " PROV_MARKER, NULL, 0, &r) == -1)
		return -1;
	snprintf(line, sizeof(line), "host=%s\n", h->h.hostname);
	if (strstr(r.out, line) == NULL || (h->prov_id[0] &&
	    strstr(r.out, h->prov_id) == NULL)) {
		prov_err(h, "%s: verify: the running "
		    "system's %s is not this run's (%.80s)", h->h.hostname,
		    PROV_MARKER, r.out);
		ssh_result_clear(&r);
		return -1;
	}
	ssh_result_clear(&r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* One host */

static int
record(struct prov_host *h, int step, enum inv_step_event ev, uint64_t bytes,
    uint64_t ms, const char *reason)
{
	char	 e[INV_ERRLEN];

	if (inv_step_record(h->inv, h->h.hostname, h->ctx->o.actor, step, ev,
	    bytes, ms, reason, e, sizeof(e)) != INV_OK) {
		prov_err(h, "inventory: %s", e);
		return -1;
	}
	return 0;
}

static void
make_prov_id(struct prov_host *h)
{
	unsigned char	 r[6];
	char		 ts[32];
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	snprintf(h->prov_id, sizeof(h->prov_id), "%s-%02x%02x%02x%02x%02x%02x",
	    ts, r[0], r[1], r[2], r[3], r[4], r[5]);
}

static void
run_host(struct prov_host *h)
{
	struct prov_ctx	*c = h->ctx;
	char		 e[INV_ERRLEN], why[256];
	int		 from, step, rc;
	uint64_t	 t0 = prov_now_ms(), ts;

	h->res->step = STEP_NONE;
	if (inv_open(c->cfg->inventory.database, 0, &h->inv, e,
	    sizeof(e)) != INV_OK) {
		prov_err(h, "inventory: %s", e);
		goto out;
	}
	if ((rc = inv_host_find(h->inv, h->res->hostname, &h->h, e,
	    sizeof(e))) != INV_OK) {
		prov_err(h, "%s", e);
		h->res->usage = rc != INV_FAIL;
		goto out;
	}
	if ((rc = inv_run_begin(h->inv, h->h.hostname, c->o.actor, c->o.force,
	    NULL, &from, e, sizeof(e))) != INV_OK) {
		prov_err(h, "%s", e);
		h->res->usage = rc != INV_FAIL;
		goto out;
	}
	make_prov_id(h);
	if (from > STEP_POWER)
		log_debug("%s: resuming at step %s", h->h.hostname,
		    prov_step_name(from));
	for (step = from; step < STEP_COUNT; step++) {
		h->step = step;
		h->step_bytes = 0;
		h->res->step = step;
		prov_status(h, 0, prov_step_name(step));
		if (record(h, step, INV_STEP_START, 0, 0, step == from &&
		    from > STEP_POWER ? "resumed" : NULL) == -1)
			goto fail;
		ts = prov_now_ms();
		why[0] = '\0';
		switch (step) {
		case STEP_POWER:
		case STEP_BOOT:
			snprintf(why, sizeof(why), "skipped: the host is "
			    "expected up in its deploy environment (BMC "
			    "control comes with the BMC drivers)");
			rc = 0;
			break;
		case STEP_INSPECT:
			rc = step_inspect(h);
			break;
		case STEP_IMAGE:
			rc = prov_connect(h);
			if (rc == 0 && h->insp == NULL)
				rc = inspect_host(h);
			if (rc == 0)
				rc = prov_step_image(h);
			h->res->bytes = h->step_bytes;
			if (rc == 0 && inv_image_set(h->inv, h->h.hostname,
			    c->image, c->o.actor, e, sizeof(e)) != INV_OK) {
				prov_err(h, "inventory: %s", e);
				rc = -1;
			}
			if (rc == 0)
				snprintf(why, sizeof(why), "%s written to %s",
				    c->image, h->disk);
			break;
		case STEP_CONFIGURE:
			rc = prov_connect(h);
			if (rc == 0 && h->insp == NULL)
				rc = inspect_host(h);
			if (rc == 0)
				rc = prov_step_configure(h);
			if (rc == 0)
				snprintf(why, sizeof(why), "provision id %s",
				    h->prov_id);
			break;
		case STEP_REBOOT:
			if (c->cfg->provision.reboot == REBOOT_NONE) {
				snprintf(why, sizeof(why), "reboot = none: "
				    "not rebooted");
				rc = 0;
			} else
				rc = step_reboot(h);
			break;
		case STEP_VERIFY:
			if (c->cfg->provision.reboot == REBOOT_NONE) {
				snprintf(why, sizeof(why), "reboot = none: the "
				    "installed system was not booted, nothing "
				    "to verify");
				rc = 0;
			} else
				rc = step_verify(h);
			break;
		default:
			rc = 0;
		}
		if (rc == -1)
			goto fail;
		if (record(h, step, INV_STEP_DONE, h->step_bytes,
		    prov_now_ms() - ts, why[0] ? why : NULL) == -1)
			goto fail;
	}
	if (inv_run_active(h->inv, h->h.hostname, c->o.actor,
	    c->cfg->provision.reboot == REBOOT_NONE ? "configured; reboot = "
	    "none, so the installed system has not been booted yet" :
	    "provisioned and verified", e, sizeof(e)) != INV_OK) {
		prov_err(h, "inventory: %s", e);
		goto fail;
	}
	h->res->ok = 1;
	goto out;
fail:
	h->res->step = h->step;
	if (inv_run_fail(h->inv, h->h.hostname, c->o.actor, h->step, h->err,
	    e, sizeof(e)) != INV_OK)
		log_warnx("%s: could not record the failure: %s",
		    h->h.hostname, e);
out:
	prov_disconnect(h);
	if (!h->res->ok)
		snprintf(h->res->reason, sizeof(h->res->reason), "%s", h->err);
	h->res->duration_ms = prov_now_ms() - t0;
	snprintf(h->res->disk, sizeof(h->res->disk), "%s", h->disk);
	free(h->insp);
	h->insp = NULL;
	inv_close(h->inv);
	h->inv = NULL;
}

static void *
worker(void *arg)
{
	struct prov_ctx	*c = arg;

	for (;;) {
		struct prov_host	*h;
		size_t			 i;

		pthread_mutex_lock(&c->lock);
		i = c->next++;
		pthread_mutex_unlock(&c->lock);
		if (i >= c->nhosts)
			break;
		h = xcalloc(1, sizeof(*h));
		h->ctx = c;
		h->res = &c->results[i];
		memset(h->res, 0, sizeof(*h->res));
		snprintf(h->res->hostname, sizeof(h->res->hostname), "%s",
		    c->hosts[i]);
		pthread_mutex_lock(&c->lock);
		h->bar = progress_new(c->o.progress ? c->o.progress : stderr,
		    c->hosts[i], 0);
		pthread_mutex_unlock(&c->lock);
		run_host(h);
		pthread_mutex_lock(&c->lock);
		progress_finish(h->bar, h->res->ok ? "active" : "FAILED");
		pthread_mutex_unlock(&c->lock);
		free(h);
	}
	return NULL;
}

size_t
prov_run(struct prov_ctx *c, const char *const *hosts, size_t n,
    struct prov_result *results)
{
	pthread_t	*th;
	size_t		 i, nth, failed = 0;

	c->hosts = hosts;
	c->results = results;
	c->nhosts = n;
	c->next = 0;
	nth = c->o.parallel ? c->o.parallel : 1;
	if (nth > n)
		nth = n;
	th = xcalloc(nth ? nth : 1, sizeof(*th));
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, c) != 0)
			fatalx("pthread_create failed");
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
	for (i = 0; i < n; i++)
		if (!results[i].ok)
			failed++;
	return failed;
}

int
prov_plan(struct prov_ctx *c, const char *const *hosts, size_t n,
    struct prov_plan *plans, char *err, size_t errlen)
{
	struct inv	*inv;
	struct inv_host	 h;
	char		 e[INV_ERRLEN], legal[128];
	size_t		 i;
	int		 s, from, last;

	if (inv_open(c->cfg->inventory.database, INV_OPEN_READONLY, &inv, e,
	    sizeof(e)) != INV_OK) {
		snprintf(err, errlen, "inventory: %s", e);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct prov_plan *p = &plans[i];

		memset(p, 0, sizeof(*p));
		snprintf(p->hostname, sizeof(p->hostname), "%s", hosts[i]);
		snprintf(p->image, sizeof(p->image), "%s", c->image);
		if (inv_host_find(inv, hosts[i], &h, e, sizeof(e)) != INV_OK) {
			snprintf(p->note, sizeof(p->note), "%.*s", (int)sizeof(p->note) - 1, e);
			continue;
		}
		snprintf(p->state, sizeof(p->state), "%s",
		    host_state_name(h.state));
		snprintf(p->disk, sizeof(p->disk), "%s", h.disk[0] ? h.disk :
		    c->cfg->provision.disk ? c->cfg->provision.disk : "auto");
		if (!host_state_allowed(HS_BY_PROVISION, h.state,
		    HS_PROVISIONING, c->o.force)) {
			snprintf(p->note, sizeof(p->note), "refused: %s%s",
			    host_state_name(h.state), h.state == HS_ACTIVE ?
			    " (needs --force)" : "");
			(void)legal;
			continue;
		}
		from = STEP_POWER;
		if (h.state == HS_FAILED && inv_step_last_done(inv, hosts[i],
		    &last, e, sizeof(e)) == INV_OK && last != STEP_NONE)
			from = last + 1;
		for (s = from; s < STEP_COUNT; s++) {
			if (p->steps[0])
				strncat(p->steps, ",", sizeof(p->steps) -
				    strlen(p->steps) - 1);
			strncat(p->steps, prov_step_name(s), sizeof(p->steps) -
			    strlen(p->steps) - 1);
		}
		if (from > STEP_POWER)
			snprintf(p->note, sizeof(p->note), "resumes at %s",
			    prov_step_name(from));
	}
	inv_close(inv);
	return 0;
}
