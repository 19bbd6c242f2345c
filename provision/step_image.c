/*
 * The image step: choose and check the target disk, make sure the host
 * has castiron-writer with the right digest (uploaded through cat under a
 * name that carries its digest, renamed into place so that hosts sharing
 * a /tmp never see half a binary), then write the image through the
 * writer and compare the digest it reports with the one the sender
 * computed.  The image travels one of two ways ([provision]
 * image_transport): pushed, streamed over the SSH channel
 * (images/frame.h: only mapped ranges when a bmap is known, a compressed
 * image as it is stored and decompressed on the host), or pulled: the
 * channel carries only the range table and its digests, and the writer
 * fetches the image file from the boot service (castiron boot serve,
 * /images/NAME) over HTTP.  Either way every range is checked by sha256
 * on the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/fetch.h"
#include "images/frame.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"
#include "provision/prov_int.h"
#include "provision/shell.h"

struct send_ctx {
	struct writer_chan	 wc;		/* first: callbacks take either */
	struct prov_host	*h;
};

/*
 * Uploads castiron-writer to the name that carries its digest: under a
 * temporary name, renamed into place once its digest on the host is
 * right, so that hosts sharing a /tmp never see half a binary.  The
 * image step (and reboot = kexec) runs the writer by that name and
 * uploads only when it is not there (WRITER_MISSING): no round trip to
 * ask first.
 */
int
phost_upload_writer(struct prov_host *h, const char *remote)
{
	struct prov_ctx		*c = h->ctx;
	struct sess_result	 r;
	char			 tmp[300], *cmd, *qt, *qr;
	struct err		 ve;
	int			 rc;

	snprintf(tmp, sizeof(tmp), "%.100s.%.180s.tmp", remote, h->h.hostname);
	if (sh_valid_path(tmp, &ve) != ERR_OK) {
		phost_err(h, "writer path: %s", ve.msg);
		return -1;
	}
	if (sess_upload(h->sess, c->writer_path, tmp, 0755, &h->err) !=
	    ERR_OK) {
		err_prefix(&h->err, "upload castiron-writer");
		return -1;
	}
	qt = sh_quote(tmp);
	qr = sh_quote(remote);
	cmd = xsprintf("chmod 0755 %s && mv -f %s %s && sha256sum %s", qt, qt,
	    qr, qr);
	rc = phost_remote(h, "install castiron-writer", cmd, NULL, 0, &r);
	free(cmd);
	free(qt);
	free(qr);
	if (rc == -1)
		return -1;
	if (r.outlen < 64 || strncmp(r.out, c->writer_sha, 64) != 0) {
		phost_err(h, "%s: castiron-writer uploaded "
		    "but its digest on the host is wrong", h->h.hostname);
		sess_result_clear(&r);
		return -1;
	}
	sess_result_clear(&r);
	return phost_note(h, "castiron-writer uploaded to %s", remote);
}

static int
ready_or_not(void *arg)
{
	struct writer_chan	*s = arg;

	return s->have_ready || s->have_error;
}

int
writer_chan_out(void *arg, const void *buf, size_t len)
{
	struct writer_chan	*s = arg;

	if (sess_stream_write(s->st, buf, len, &s->err) != ERR_OK)
		return -1;
	if (s->started)
		return 0;
	/*
	 * The header is out: wait for the writer's "ready" (the target is
	 * open) before the image follows, so that a missing writer or a
	 * refused target stops the step before any image byte is sent.
	 */
	s->started = 1;
	if (sess_stream_wait(s->st, ready_or_not, s, &s->err) != ERR_OK)
		return -1;
	return s->have_ready ? 0 : -1;
}

static void
progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct send_ctx	*s = arg;

	(void)total;
	s->h->step_bytes = done;
	phost_status(s->h, done, "image");
}

void
writer_chan_line(void *arg, const char *line)
{
	struct writer_chan	*s = arg;
	struct frame_report	 r;

	if (frame_report_parse(line, &r, NULL) != ERR_OK)
		return;
	switch (r.kind) {
	case FRAME_REP_READY:
		s->ready = r;
		s->have_ready = 1;
		break;
	case FRAME_REP_DONE:
		s->done = r;
		s->have_done = 1;
		break;
	case FRAME_REP_ERROR:
		s->error = r;
		s->have_error = 1;
		break;
	default:
		break;
	}
}

/*
 * Where the host pulls the image from, into url ("": it is pushed).
 * auto pulls for a host the boot service booted: powered by castiron
 * (power = bmc) and checked in with the service on this boot (a deploy
 * environment of the site's own, met by its deploy_host_key, may have no
 * boot service to pull from); and only an image in the cache, which is
 * all the service serves.  An explicit pull of an image that is not
 * there fails.
 */
static int
pull_url(struct prov_host *h, char *url, size_t len)
{
	const struct config	*cfg = h->ctx->cfg;
	const struct cfg_image	*img;
	int			 t = cfg->provision.image_transport;
	char			 base[300];

	*url = '\0';
	if (t == TRANSPORT_PUSH || (t == TRANSPORT_AUTO &&
	    (cfg->provision.power != POWER_BMC || *h->checkin_fp == '\0')))
		return 0;
	img = config_image(cfg, h->ctx->image);
	if (img == NULL || !img_cached(cfg, img)) {
		if (t == TRANSPORT_AUTO)
			return phost_note(h, "image %s is not in the cache, "
			    "which is all the boot service serves: pushed over "
			    "SSH", h->ctx->image);
		phost_err(h, "%s: image_transport = pull, but image %s is not "
		    "in the cache the boot service serves (castiron image "
		    "fetch %s)", h->h.hostname, h->ctx->image, h->ctx->image);
		return -1;
	}
	boot_base_url(cfg, base, sizeof(base));
	snprintf(url, len, "%s/images/%s", base, h->ctx->image);
	return 0;
}

/*
 * Writes the image through the writer at path: streamed, or with url
 * set, pulled by the writer from there; *missing says the host had no
 * writer there (nothing was sent but the header).
 */
static int
send_image(struct prov_host *h, const char *writer, const char *url,
    struct frame_send_result *sr, struct frame_report *done, int *missing)
{
	struct prov_ctx			*c = h->ctx;
	struct frame_send_opts		 so;
	struct sess_result		 r;
	struct send_ctx			*s;
	struct err			 se;
	char				*cmd, *qw, *qd, *qu;
	int				 rc = -1;

	*missing = 0;
	qw = sh_quote(writer);
	qd = sh_quote(h->disk);
	qu = sh_quote(url);
	cmd = xsprintf("test -x %s || exit %d; exec %s%s%s %s", qw,
	    WRITER_MISSING, qw, *url ? " --pull " : "", *url ? qu : "", qd);
	free(qw);
	free(qd);
	free(qu);
	s = xcalloc(1, sizeof(*s));
	s->h = h;
	if (sess_stream_open(h->sess, cmd, writer_chan_line, s, &s->wc.st,
	    &h->err) != ERR_OK) {
		free(cmd);
		free(s);
		return -1;
	}
	free(cmd);
	memset(&so, 0, sizeof(so));
	so.image_path = c->image_src;
	so.bmap_path = c->bmap_path;
	so.out = writer_chan_out;
	so.out_arg = s;
	so.progress = progress_cb;
	so.progress_arg = s;
	so.verified = 1;	/* prov_prepare checked its sha256 */
	so.pack = c->pack;
	so.bmap_sha256 = c->bmap_sha256;
	so.pull = *url != '\0';
	memset(sr, 0, sizeof(*sr));
	if (frame_send_image(&so, sr, &se) != ERR_OK) {
		/* The writer's own error line says more when it stopped. */
		if (s->wc.err.code != ERR_OK)
			sess_stream_abort(s->wc.st);	/* the transport failed */
		else if (sess_stream_finish(s->wc.st, &r, NULL) == ERR_OK) {
			*missing = r.status == WRITER_MISSING && !s->wc.have_ready;
			sess_result_clear(&r);
		}
		if (s->wc.have_error)
			phost_err(h, "%s: writer: %s",
			    h->h.hostname, s->wc.error.msg);
		else if (*missing)
			phost_err(h, "%s: no castiron-writer at %s",
			    h->h.hostname, writer);
		else {
			h->err = s->wc.err.code != ERR_OK ? s->wc.err : se;
			err_prefix(&h->err, "%s: image stream", h->h.hostname);
		}
		goto out;
	}
	h->step_bytes = sr->mapped_bytes;
	if (sess_stream_finish(s->wc.st, &r, &h->err) != ERR_OK) {
		err_prefix(&h->err, "%s: image stream", h->h.hostname);
		goto out;
	}
	if (r.status != 0 || !s->wc.have_done) {
		if (s->wc.have_error)
			phost_err(h, "%s: writer: %s",
			    h->h.hostname, s->wc.error.msg);
		else
			phost_err(h, "%s: writer exited %d "
			    "without a report: %.200s", h->h.hostname, r.status,
			    r.errout);
		sess_result_clear(&r);
		goto out;
	}
	sess_result_clear(&r);
	if (so.pull && !s->wc.done.pulled) {
		phost_err(h, "%s: the writer did not say it pulled the image",
		    h->h.hostname);
		goto out;
	}
	if (strcmp(s->wc.done.sha256, sr->sha256) != 0 ||
	    s->wc.done.bytes != sr->mapped_bytes) {
		phost_err(h, "%s: the writer reports %llu "
		    "bytes with sha256 %s, castiron sent %llu with %s",
		    h->h.hostname, (unsigned long long)s->wc.done.bytes,
		    s->wc.done.sha256, (unsigned long long)sr->mapped_bytes,
		    sr->sha256);
		goto out;
	}
	/* What the host received is the catalog's file, byte for byte. */
	if (sr->as_stored && strcmp(s->wc.done.packed_sha256, c->image_sha) != 0) {
		phost_err(h, "%s: the writer received an image with sha256 "
		    "%s, the catalog's is %s", h->h.hostname,
		    s->wc.done.packed_sha256[0] ? s->wc.done.packed_sha256 : "(none)",
		    c->image_sha);
		goto out;
	}
	*done = s->wc.done;
	rc = 0;
out:
	free(s);
	return rc;
}

/*
 * How many sessions carry a pushed image: image_streams for an image
 * that goes plain (a raw image with a bmap whose data does not compress:
 * one session's encryption is its limit), else one.  A compressed image
 * travels as stored, and the host's decompression sets its pace.  With
 * several hosts at once, no more streams per host than leave each a core
 * of this machine: the hosts already spread the encryption, and a
 * session more is then only a handshake more (docs/provision.md).
 */
static unsigned
push_streams(const struct prov_host *h, const char *url)
{
	const struct prov_ctx	*c = h->ctx;
	unsigned		 n, at_once;
	long			 cpus;

	if (*url || c->bmap_path == NULL || c->pack != FRAME_PACK_NEVER)
		return 1;
	n = (unsigned)c->cfg->provision.image_streams;
	at_once = c->o.parallel ? c->o.parallel : 1;
	if (at_once > c->nhosts)
		at_once = (unsigned)c->nhosts;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (at_once > 1 && cpus > 0 && (long)(at_once * n) > cpus)
		n = (long)at_once >= cpus ? 1 : (unsigned)(cpus / at_once);
	return n;
}

/* The image pushed or pulled through the writer, uploaded first when the
 * host has none. */
static int
write_image(struct prov_host *h, const char *writer, const char *url,
    struct frame_send_result *sr, struct frame_report *done)
{
	unsigned		 n = push_streams(h, url);
	int			 rc, missing, again;

	for (again = 0; again < 2; again++) {
		if (n > 1)
			rc = phost_send_split(h, writer, n, sr, done,
			    &missing);
		else
			rc = send_image(h, writer, url, sr, done, &missing);
		if (rc == 0 || !missing || again)
			break;
		if ((rc = phost_upload_writer(h, writer)) == -1)
			break;
	}
	return rc;
}

int
step_image(struct prov_host *h)
{
	struct prov_ctx			*c = h->ctx;
	struct frame_send_result	 sr;
	struct frame_report		 done;
	const char			*want;
	struct err			 ie;
	char				 writer[128], url[400];
	char				 serial[64], byid[128], how[600];
	double				 mibs;

	want = h->h.disk[0] ? h->h.disk : c->cfg->provision.disk;
	if (inspect_pick_disk(h->insp, want, c->image_bytes, h->disk,
	    sizeof(h->disk), &ie) != ERR_OK ||
	    sh_valid_device(h->disk, &ie) != ERR_OK) {
		phost_err(h, "%s: %s", h->h.hostname, ie.msg);
		return -1;
	}
	snprintf(writer, sizeof(writer), PROV_WRITER_NAME, c->writer_sha);
	if (pull_url(h, url, sizeof(url)) == -1)
		return -1;
	if (phost_note(h, "writing %s to %s, %s", c->image, h->disk, *url ?
	    "pulled by the host from the boot service" : "pushed over SSH") ==
	    -1)
		return -1;
	if (write_image(h, writer, url, &sr, &done) == -1)
		return -1;
	/* Which transport carried it, and how fast the write went. */
	mibs = done.elapsed_ms ? (double)done.bytes / 1048576.0 /
	    ((double)done.elapsed_ms / 1000.0) : 0;
	if (*url)
		snprintf(how, sizeof(how), "pulled from %s: %llu bytes fetched "
		    "in %llu requests (%llu resumed), %llu bytes of range table "
		    "over SSH (%s)", url, (unsigned long long)done.fetched_bytes,
		    (unsigned long long)done.requests,
		    (unsigned long long)done.resumes,
		    (unsigned long long)sr.wire_bytes, sr.how);
	else
		snprintf(how, sizeof(how), "%llu bytes sent (%s), pushed over "
		    "SSH", (unsigned long long)sr.wire_bytes, sr.how);
	if (phost_note(h, "image %s verified on %s: %llu of %llu bytes "
	    "mapped, %llu ranges, sha256 %s; %s; %.1f MiB/s, the writer "
	    "took %llu ms, %llu ms of CPU", c->image, h->disk,
	    (unsigned long long)sr.mapped_bytes,
	    (unsigned long long)sr.image_bytes, (unsigned long long)sr.ranges,
	    sr.sha256, how, mibs, (unsigned long long)done.elapsed_ms,
	    (unsigned long long)done.cpu_ms) == -1)
		return -1;
	if (inv_image_set(h->inv, h->h.hostname, c->image, c->o.actor, &ie) !=
	    ERR_OK) {
		phost_err(h, "inventory: %s", ie.msg);
		return -1;
	}
	/* What a resumed configure finds the disk by, whatever the kernel
	 * calls it after a reboot. */
	inspect_disk_identity(h->insp, h->disk, serial, sizeof(serial), byid,
	    sizeof(byid));
	snprintf(h->why, sizeof(h->why), "%s written to %s%s%s%s%s", c->image,
	    h->disk, *serial ? " serial=" : "", serial, *byid ? " by-id=" : "",
	    byid);
	return 0;
}
