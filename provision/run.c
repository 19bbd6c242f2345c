/*
 * The provisioning run: a pool of --parallel threads taking hosts in
 * order, and each host driven through the table of steps.  A host's run
 * begins in the inventory (which also says where a failed host resumes),
 * then each remaining step is started, done or failed as an inventory
 * event, so a run that dies anywhere leaves the host at the step it was
 * in.  A step is a row: its name comes from inventory/hoststate.h, what
 * it needs (a session in the deploy environment, the host's inspection)
 * is provided here, and its function is in its own file (step_*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/prov_int.h"

#define NEED_SESSION	0x1	/* a session in the deploy environment */
#define NEED_INSPECTION	0x2	/* h->insp, from this run or read again */

struct step {
	int		 id;		/* enum prov_step */
	unsigned	 needs;
	int		(*run)(struct prov_host *);
};

static const struct step steps[] = {
	{ STEP_POWER,		0,				step_power },
	{ STEP_BOOT,		0,				step_boot },
	{ STEP_INSPECT,		NEED_SESSION,			step_inspect },
	{ STEP_IMAGE,		NEED_SESSION | NEED_INSPECTION,	step_image },
	{ STEP_CONFIGURE,	NEED_SESSION | NEED_INSPECTION,	step_configure },
	{ STEP_REBOOT,		0,				step_reboot },
	{ STEP_VERIFY,		0,				step_verify },
};

/*
 * What a step needs, before it runs.  A session that proved only the
 * deploy environment's shared key has its host's MAC and serial checked
 * against the enrollment before anything is sent to it: the image, and
 * the host key configure generates.
 */
static int
provide(struct prov_host *h, unsigned needs)
{
	if ((needs & NEED_SESSION) && phost_session(h, HOSTKEY_PHASE_DEPLOY,
	    h->ctx->cfg->provision.connect_timeout_ms, NULL) == -1)
		return -1;
	if ((needs & NEED_INSPECTION) && h->insp == NULL &&
	    phost_inspect(h) == -1)
		return -1;
	if ((needs & NEED_INSPECTION) && h->key == HOSTKEY_DEPLOY &&
	    !h->enrolled && phost_cross_check(h) == -1)
		return -1;
	return 0;
}

static int
record(struct prov_host *h, int step, enum inv_step_event ev, uint64_t bytes,
    uint64_t ms, const char *reason)
{
	char	 e[INV_ERRLEN];

	if (inv_step_record(h->inv, h->h.hostname, h->ctx->o.actor, step, ev,
	    bytes, ms, reason, e, sizeof(e)) != INV_OK) {
		phost_err(h, "inventory: %s", e);
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

/*
 * A run that resumes after configure verifies the provisioning id that
 * configure wrote, which its done event in the inventory names.
 */
static int
recall_prov_id(struct prov_host *h)
{
	if (phost_recall(h, "configure", "done: provision id ", h->prov_id,
	    sizeof(h->prov_id)) == -1)
		return -1;
	if (h->prov_id[0] == '\0') {
		phost_err(h, "%s: resuming after configure, but the inventory "
		    "records no provisioning id for it", h->h.hostname);
		return -1;
	}
	return 0;
}

static void
run_host(struct prov_host *h)
{
	struct prov_ctx		*c = h->ctx;
	const struct step	*s;
	char			 e[INV_ERRLEN];
	int			 from, rc;
	uint64_t		 t0 = mono_ms(), ts;

	h->res->step = STEP_NONE;
	if (inv_open(c->cfg->inventory.database, 0, &h->inv, e,
	    sizeof(e)) != INV_OK) {
		phost_err(h, "inventory: %s", e);
		goto out;
	}
	if ((rc = inv_host_find(h->inv, h->res->hostname, &h->h, e,
	    sizeof(e))) != INV_OK) {
		phost_err(h, "%s", e);
		h->res->usage = rc != INV_FAIL;
		goto out;
	}
	if ((rc = inv_run_begin(h->inv, h->h.hostname, c->o.actor, c->o.force,
	    NULL, &from, e, sizeof(e))) != INV_OK) {
		phost_err(h, "%s", e);
		h->res->usage = rc != INV_FAIL;
		goto out;
	}
	h->step = from;
	if (from > STEP_CONFIGURE) {
		if (recall_prov_id(h) == -1)
			goto fail;
	} else
		make_prov_id(h);
	if (from > STEP_POWER)
		log_debug("%s: resuming at step %s", h->h.hostname,
		    prov_step_name(from));
	for (s = steps; s < steps + sizeof(steps) / sizeof(steps[0]); s++) {
		if (s->id < from)
			continue;
		h->step = s->id;
		h->step_bytes = 0;
		h->why[0] = '\0';
		h->res->step = s->id;
		phost_status(h, 0, prov_step_name(s->id));
		if (record(h, s->id, INV_STEP_START, 0, 0, s->id == from &&
		    from > STEP_POWER ? "resumed" : NULL) == -1)
			goto fail;
		ts = mono_ms();
		rc = provide(h, s->needs) == -1 ? -1 : s->run(h);
		if (h->step_bytes)
			h->res->bytes = h->step_bytes;
		if (rc == -1)
			goto fail;
		if (record(h, s->id, INV_STEP_DONE, h->step_bytes,
		    mono_ms() - ts, h->why[0] ? h->why : NULL) == -1)
			goto fail;
	}
	if (inv_run_active(h->inv, h->h.hostname, c->o.actor,
	    c->cfg->provision.reboot == REBOOT_NONE ? "configured; reboot = "
	    "none, so the installed system has not been booted yet" :
	    "provisioned and verified", e, sizeof(e)) != INV_OK) {
		phost_err(h, "inventory: %s", e);
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
	phost_disconnect(h);
	if (!h->res->ok)
		snprintf(h->res->reason, sizeof(h->res->reason), "%s", h->err);
	h->res->duration_ms = mono_ms() - t0;
	snprintf(h->res->disk, sizeof(h->res->disk), "%s", h->disk);
}

static void *
worker(void *arg)
{
	struct prov_ctx		*c = arg;
	struct prov_host	*h;
	size_t			 i;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		i = c->next++;
		pthread_mutex_unlock(&c->lock);
		if (i >= c->nhosts)
			break;
		h = phost_new(c, i);
		run_host(h);
		phost_free(h);
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
