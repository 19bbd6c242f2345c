/*
 * One host in a provisioning run: its error, its notes in the inventory,
 * its progress line, the commands it runs, and its SSH session, opened
 * in one place under the host key policy of provision/trust.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/prov_int.h"

#define KEEPALIVE_S	5

struct prov_host *
phost_new(struct prov_ctx *c, size_t i)
{
	struct prov_host	*h;

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
	return h;
}

void
phost_free(struct prov_host *h)
{
	if (h == NULL)
		return;
	phost_disconnect(h);
	pthread_mutex_lock(&h->ctx->lock);
	progress_finish(h->bar, h->res->ok ? "active" : "FAILED");
	pthread_mutex_unlock(&h->ctx->lock);
	free(h->insp);
	inv_close(h->inv);
	free(h);
}

void
phost_err(struct prov_host *h, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	err_vset(&h->err, ERR_FAIL, fmt, ap);
	va_end(ap);
}

void
phost_status(struct prov_host *h, uint64_t done, const char *status)
{
	pthread_mutex_lock(&h->ctx->lock);
	if (h->bar)
		progress_update(h->bar, done, status);
	pthread_mutex_unlock(&h->ctx->lock);
}

void
phost_sleep_ms(unsigned ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int
phost_note(struct prov_host *h, const char *fmt, ...)
{
	char	 msg[512];
	struct err	 e;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (inv_step_record(h->inv, h->h.hostname, h->ctx->o.actor, h->step,
	    INV_STEP_NOTE, 0, 0, msg, &e) != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		return -1;
	}
	return 0;
}

int
phost_remote(struct prov_host *h, const char *what, const char *cmd,
    const void *in, size_t inlen, struct sess_result *r)
{
	struct sess_result	 tmp;
	uint64_t		 t0 = mono_ms();

	if (r == NULL)
		r = &tmp;
	if (sess_run(h->sess, cmd, in, inlen, INSPECT_MAXDUMP, r,
	    &h->err) != ERR_OK) {
		err_prefix(&h->err, "%s", what);
		return -1;
	}
	log_debug("%s: %s: exit %d after %llu ms", h->h.hostname, what,
	    r->status, (unsigned long long)(mono_ms() - t0));
	if (r->status != 0) {
		char	*m = r->errout, *nl;
		/* The last line of stderr says why. */
		while (r->erroutlen > 0 && (m[r->erroutlen - 1] == '\n'))
			m[--r->erroutlen] = '\0';
		if ((nl = strrchr(m, '\n')) != NULL)
			m = nl + 1;
		phost_err(h, "%s: %s: exit %d%s%s", h->h.hostname,
		    what, r->status, *m ? ": " : "", m);
		sess_result_clear(r);
		return -1;
	}
	if (r == &tmp)
		sess_result_clear(r);
	return 0;
}

int
phost_recall(struct prov_host *h, const char *step, const char *prefix,
    char *buf, size_t len)
{
	struct inv_events		*cur;
	const struct inv_event_row	*ev;
	struct err			 e;
	size_t				 pl = strlen(prefix);
	int				 rc;

	buf[0] = '\0';
	if (inv_events_open(h->inv, h->h.hostname, &cur, &e) != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		return -1;
	}
	while ((rc = inv_events_next(cur, &ev, &e)) == 1)
		if (ev->step != NULL && strcmp(ev->step, step) == 0 &&
		    ev->reason != NULL && strncmp(ev->reason, prefix, pl) == 0)
			snprintf(buf, len, "%s", ev->reason + pl);
	inv_events_close(cur);
	if (rc < 0) {
		phost_err(h, "inventory: %s", e.msg);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The session */

void
phost_sess_opts(const struct prov_host *h, struct sess_opts *so,
    uint64_t connect_ms)
{
	const struct config *cfg = h->ctx->cfg;

	memset(so, 0, sizeof(*so));
	so->host = h->h.address[0] ? h->h.address : h->h.hostname;
	so->port = (uint16_t)cfg->provision.ssh_port;
	so->user = cfg->provision.ssh_user;
	so->key_path = cfg->provision.ssh_key;
	so->connect_timeout_ms = connect_ms;
	/* However short the dial (the boot and reboot waits poll), a host
	 * that answered gets the configured connect_timeout to speak SSH. */
	so->handshake_timeout_ms = connect_ms > cfg->provision.connect_timeout_ms ?
	    connect_ms : cfg->provision.connect_timeout_ms;
	so->io_timeout_ms = cfg->provision.io_timeout_ms;
	so->keepalive_s = KEEPALIVE_S;
	so->stop = &h->ctx->stop;
}

/* Pins the session's key (a new one, accepted by --accept-new-hostkey). */
static int
pin_presented(struct prov_host *h)
{
	char	 type[40], fp[SSH_FP_LEN], *b64;
	struct err	 e;
	int	 rc;

	if (sess_hostkey(h->sess, fp, type, sizeof(type), NULL) != ERR_OK ||
	    (b64 = sess_hostkey_b64(h->sess)) == NULL) {
		err_set(&h->err, ERR_TRUST, "%s: no host key", h->h.hostname);
		return -1;
	}
	rc = inv_hostkey_set(h->inv, h->h.hostname, h->ctx->o.actor, type, b64,
	    &e);
	free(b64);
	if (rc != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		return -1;
	}
	return phost_note(h, "host key %s pinned (--accept-new-hostkey)", fp);
}

int
phost_pinned(struct prov_host *h, char fp[SSH_FP_LEN])
{
	struct inv_hostkey	 k;
	struct err		 e;
	int			 rc;

	rc = inv_hostkey_get(h->inv, h->h.hostname, &k, &e);
	if (rc == ERR_NOENT) {
		fp[0] = '\0';
		return 0;
	}
	if (rc != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		return -1;
	}
	snprintf(fp, SSH_FP_LEN, "%s", k.fingerprint);
	return 0;
}

int
phost_session(struct prov_host *h, enum hostkey_phase phase,
    uint64_t connect_ms, int *unreachable)
{
	struct sess_opts	 so;
	struct hostkey_in	 k;
	char			 pinned[SSH_FP_LEN];
	int			 v;

	if (unreachable)
		*unreachable = 0;
	if (h->sess)
		return 0;
	if (phost_pinned(h, pinned) == -1)
		return -1;
	phost_sess_opts(h, &so, connect_ms);
	if (sess_dial(&so, &h->sess, &h->err) != ERR_OK) {
		err_prefix(&h->err, "%s: unreachable", h->h.hostname);
		/* An interrupted dial is no reason to try again. */
		if (unreachable)
			*unreachable = !atomic_load(&h->ctx->stop);
		return -1;
	}
	h->enrolled = 0;
	if (sess_hostkey(h->sess, h->presented, NULL, 0, &h->err) != ERR_OK) {
		err_prefix(&h->err, "%s", h->h.hostname);
		phost_disconnect(h);
		return -1;
	}
	memset(&k, 0, sizeof(k));
	k.host = h->h.hostname;
	k.presented = h->presented;
	k.pinned = pinned;
	k.deploy = h->ctx->deploy_fp;
	k.seen = h->deploy_fp;
	k.checkin = h->checkin_fp;
	k.accept_new = h->ctx->o.accept_new;
	k.phase = phase;
	if ((v = hostkey_decide(&k, &h->err)) == -1) {
		phost_disconnect(h);
		return -1;
	}
	if (phase == HOSTKEY_PHASE_INSTALLED && v == HOSTKEY_DEPLOY) {
		phost_disconnect(h);
		return 1;
	}
	if (sess_auth(h->sess, &h->err) != ERR_OK) {
		phost_disconnect(h);
		return -1;
	}
	h->key = (enum hostkey_verdict)v;
	if (phase == HOSTKEY_PHASE_DEPLOY)
		snprintf(h->deploy_fp, sizeof(h->deploy_fp), "%s",
		    h->presented);
	if (v == HOSTKEY_NEW)
		return pin_presented(h);
	if (v == HOSTKEY_CHECKIN)
		return phost_note(h, "host key %s accepted: the one its deploy "
		    "environment checked in with (this boot only; not pinned)",
		    h->presented);
	if (v == HOSTKEY_DEPLOY)
		return phost_note(h, "host key %s accepted for the deploy "
		    "environment (the configured deploy_host_key; not pinned)",
		    h->presented);
	return 0;
}

void
phost_disconnect(struct prov_host *h)
{
	sess_close(h->sess);
	h->sess = NULL;
}

/* ------------------------------------------------------------------ */
/* Inspection */

int
phost_inspect(struct prov_host *h)
{
	struct sess_result	 r;

	if (phost_remote(h, "inspect", INSPECT_SCRIPT, NULL, 0, &r) == -1)
		return -1;
	if (h->insp == NULL)
		h->insp = xcalloc(1, sizeof(*h->insp));
	if (inspect_parse(r.out, r.outlen, h->insp, &h->err) != ERR_OK) {
		err_prefix(&h->err, "%s", h->h.hostname);
		sess_result_clear(&r);
		return -1;
	}
	sess_result_clear(&r);
	return 0;
}

int
phost_cross_check(struct prov_host *h)
{
	if (inspect_check_enrolled(h->insp, &h->h, &h->err) != ERR_OK)
		return -1;
	h->enrolled = 1;
	return 0;
}
