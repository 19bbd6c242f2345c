/*
 * The provisioning run: a pool of --parallel threads taking hosts in
 * order, and each host driven through the table of steps.  A host's run
 * begins in the inventory (which also says where a failed host resumes),
 * then each remaining step is started, done or failed as an inventory
 * event, so a run that dies anywhere leaves the host at the step it was
 * in.  A step is a row: its name comes from inventory/hoststate.h, what
 * it needs (a session in the deploy environment, the host's inspection)
 * is provided here, and its function is in its own file (step_*.c).
 *
 * SIGINT and SIGTERM interrupt a run: the main thread takes them
 * (sigtimedwait, no handler) while the workers run with them blocked; no
 * new host or step starts, every session gives up within a second
 * (sess_opts.stop), so does a BMC wait (bmc_interrupted), and each host
 * in flight fails at its step, "interrupted", resumable.  A second signal
 * exits at once; the hosts still provisioning are then taken over by the
 * next run (owner.c).
 */
#include <sys/random.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/bmc/bmc.h"
#include "provision/prov_int.h"
#include "provision/role.h"

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
	struct err	 e;

	if (inv_step_record(h->inv, h->h.hostname, h->ctx->o.actor, step, ev,
	    bytes, ms, reason, &e) != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
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
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
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

/*
 * A host that an earlier run left in provisioning: taken over when its
 * owner is gone (an event says from whom), else refused with one line
 * naming the owner.
 */
static int
take_over(struct prov_host *h)
{
	struct prov_ctx	*c = h->ctx;
	char		 why[512];
	struct err	 e;
	struct err	 oe;
	int		 rc;

	if (owner_may_take(&h->h.owner, &c->owner, h->h.hostname, c->o.force,
	    why, sizeof(why), &oe) != ERR_OK) {
		phost_err(h, "%s", oe.msg);
		h->res->code = oe.code;
		return -1;
	}
	if ((rc = inv_run_takeover(h->inv, h->h.hostname, c->o.actor,
	    &h->h.owner, why, &e)) != ERR_OK) {
		phost_err(h, "%s", e.msg);
		h->res->code = rc;
		return -1;
	}
	log_info("%s: %s", h->h.hostname, why);
	return 0;
}

static const char *
signame(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
	    "a signal";
}

static void
run_host(struct prov_host *h)
{
	struct prov_ctx		*c = h->ctx;
	const struct step	*s;
	struct err		 e;
	int			 from, rc, sig;
	uint64_t		 t0 = mono_ms(), ts;
	struct err		 re;

	h->res->step = STEP_NONE;
	if (inv_open_config(c->cfg, 0, &h->inv, &e) != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		goto out;
	}
	inv_run_owner(h->inv, &c->owner);
	if ((rc = inv_host_find(h->inv, h->res->hostname, &h->h, &e)) != ERR_OK)
	    {
		phost_err(h, "%s", e.msg);
		h->res->code = rc;
		goto out;
	}
	/* A host its role cannot be rendered for (provision/role.c) is
	 * refused before anything changes; configure renders it again. */
	if (role_check(c->cfg, &h->h, &re) != ERR_OK) {
		phost_err(h, "%s", re.msg);
		h->res->code = re.code;
		goto out;
	}
	if (h->h.state == HS_PROVISIONING && take_over(h) == -1)
		goto out;
	if ((rc = inv_run_begin(h->inv, h->h.hostname, c->o.actor, c->o.force,
	    NULL, &from, &e)) != ERR_OK) {
		phost_err(h, "%s", e.msg);
		h->res->code = rc;
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
	if (from > STEP_BOOT && phost_resume_boot(h) == -1)
		goto fail;
	for (s = steps; s < steps + sizeof(steps) / sizeof(steps[0]); s++) {
		if (s->id < from)
			continue;
		h->step = s->id;
		if (atomic_load(&c->stop))
			goto fail;	/* no new step starts */
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
	    "provisioned and verified", &e) != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		goto fail;
	}
	h->res->ok = 1;
	goto out;
fail:
	h->res->step = h->step;
	if ((sig = atomic_load(&c->stop)) != 0)
		phost_err(h, "interrupted (%s)", signame(sig));
	if (inv_run_fail(h->inv, h->h.hostname, c->o.actor, h->step,
	    h->err.msg, &e) != ERR_OK)
		log_warnx("%s: could not record the failure: %s",
		    h->h.hostname, e.msg);
out:
	phost_disconnect(h);
	if (!h->res->ok) {
		snprintf(h->res->reason, sizeof(h->res->reason), "%s",
		    h->err.msg);
		/* A host refused before it started says why; a step's
		 * failure is a failed run. */
		if (h->res->code == ERR_OK)
			h->res->code = ERR_FAIL;
	}
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
		i = atomic_load(&c->stop) ? c->nhosts : c->next++;
		pthread_mutex_unlock(&c->lock);
		if (i >= c->nhosts)
			break;
		h = phost_new(c, i);
		run_host(h);
		phost_free(h);
	}
	pthread_mutex_lock(&c->lock);
	c->finished++;
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * The main thread while the workers run: takes SIGINT and SIGTERM (set)
 * and interrupts the run at the first; a second exits at once.  Returns
 * when every worker is done.
 */
static void
wait_workers(struct prov_ctx *c, size_t nth, const sigset_t *set)
{
	struct timespec	 tick = { 0, 100 * 1000 * 1000 };
	sigset_t	 one;
	size_t		 done;
	int		 sig;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		done = c->finished;
		pthread_mutex_unlock(&c->lock);
		if (done == nth)
			return;
		if ((sig = sigtimedwait(set, NULL, &tick)) <= 0)
			continue;
		if (atomic_load(&c->stop) == 0) {
			atomic_store(&c->stop, sig);
			bmc_interrupted = 1;	/* BMC waits end too */
			log_warnx("%s: interrupting the run: no new step starts, "
			    "the hosts in flight fail at their step (the next run "
			    "resumes them); %s again exits at once", signame(sig),
			    signame(sig));
			continue;
		}
		log_warnx("%s again: exiting now; the hosts still provisioning "
		    "are taken over by the next run", signame(sig));
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
	}
}

/* SIGINT and SIGTERM, but not one ignored when castiron started (a
 * background job of a script ignores SIGINT, and keeps doing so). */
static void
stop_signals(sigset_t *set)
{
	static const int	 sigs[] = { SIGINT, SIGTERM };
	struct sigaction	 sa;
	size_t			 i;

	sigemptyset(set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_IGN)
			sigaddset(set, sigs[i]);
}

size_t
prov_run(struct prov_ctx *c, const char *const *hosts, size_t n,
    struct prov_result *results)
{
	pthread_t	*th;
	sigset_t	 set, old;
	struct err	 e;
	size_t		 i, nth, failed = 0;
	int		 sig;

	c->hosts = hosts;
	c->results = results;
	c->nhosts = n;
	c->next = 0;
	c->finished = 0;
	if (owner_self(&c->owner, &e) != ERR_OK)
		fatalx("%s", e.msg);
	nth = c->o.parallel ? c->o.parallel : 1;
	if (nth > n)
		nth = n;
	th = xcalloc(nth ? nth : 1, sizeof(*th));
	/* The workers inherit the mask: only wait_workers takes them. */
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, c) != 0)
			fatalx("pthread_create failed");
	wait_workers(c, nth, &set);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(th);
	/* Hosts no worker took: not started, untouched. */
	for (i = c->next < n ? c->next : n; i < n; i++) {
		memset(&results[i], 0, sizeof(results[i]));
		snprintf(results[i].hostname, sizeof(results[i].hostname),
		    "%s", hosts[i]);
		sig = atomic_load(&c->stop);
		snprintf(results[i].reason, sizeof(results[i].reason),
		    "interrupted (%s) before it started; nothing changed",
		    signame(sig));
		results[i].code = ERR_FAIL;
	}
	for (i = 0; i < n; i++)
		if (!results[i].ok)
			failed++;
	return failed;
}

int
prov_interrupted(const struct prov_ctx *c)
{
	return atomic_load(&c->stop);
}

enum err_code
prov_plan(struct prov_ctx *c, const char *const *hosts, size_t n,
    struct prov_plan *plans, struct err *err)
{
	struct inv	*inv;
	struct inv_host	 h;
	char		 why[512];
	struct err	 e;
	struct err	 oe;
	size_t		 i;
	int		 s, from, last, taken;
	struct err	 re;

	if (owner_self(&c->owner, err) != ERR_OK)
		return ERR_FAIL;
	if (inv_open_config(c->cfg, INV_OPEN_READONLY, &inv, &e) != ERR_OK)
		return err_set(err, ERR_FAIL, "inventory: %s", e.msg);
	for (i = 0; i < n; i++) {
		struct prov_plan *p = &plans[i];

		memset(p, 0, sizeof(*p));
		snprintf(p->hostname, sizeof(p->hostname), "%s", hosts[i]);
		snprintf(p->image, sizeof(p->image), "%s", c->image);
		if (inv_host_find(inv, hosts[i], &h, &e) != ERR_OK) {
			snprintf(p->note, sizeof(p->note), "%.*s",
			    (int)sizeof(p->note) - 1, e.msg);
			continue;
		}
		snprintf(p->state, sizeof(p->state), "%s",
		    host_state_name(h.state));
		if (role_check(c->cfg, &h, &re) != ERR_OK) {
			snprintf(p->note, sizeof(p->note), "refused: %.*s",
			    (int)sizeof(p->note) - 10, re.msg);
			continue;
		}
		snprintf(p->disk, sizeof(p->disk), "%s", h.disk[0] ? h.disk :
		    c->cfg->provision.disk ? c->cfg->provision.disk : "auto");
		taken = 0;
		if (h.state == HS_PROVISIONING) {
			if (owner_may_take(&h.owner, &c->owner, h.hostname,
			    c->o.force, why, sizeof(why), &oe) != ERR_OK) {
				snprintf(p->note, sizeof(p->note), "refused: %.*s",
				    (int)sizeof(p->note) - 10, oe.msg);
				continue;
			}
			taken = 1;
		} else if (!host_state_allowed(HS_BY_PROVISION, h.state,
		    HS_PROVISIONING, c->o.force)) {
			snprintf(p->note, sizeof(p->note), "refused: %s%s",
			    host_state_name(h.state), h.state == HS_ACTIVE ?
			    " (needs --force)" : "");
			continue;
		}
		from = STEP_POWER;
		last = STEP_NONE;
		if ((h.state == HS_FAILED || taken) && inv_step_last_done(inv,
		    hosts[i], &last, &e) == ERR_OK && last != STEP_NONE)
			from = prov_step_resume(last);
		for (s = from; s < STEP_COUNT; s++) {
			if (p->steps[0])
				strncat(p->steps, ",", sizeof(p->steps) -
				    strlen(p->steps) - 1);
			strncat(p->steps, prov_step_name(s), sizeof(p->steps) -
			    strlen(p->steps) - 1);
		}
		if (taken)
			snprintf(p->note, sizeof(p->note), "takes it over (%.*s); "
			    "resumes at %s", (int)sizeof(p->note) - 40, why,
			    prov_step_name(from < STEP_COUNT ? from : STEP_VERIFY));
		else if (from > STEP_POWER)
			snprintf(p->note, sizeof(p->note), "resumes at %s",
			    prov_step_name(from));
		else if (h.state == HS_FAILED && last == STEP_POWER)
			snprintf(p->note, sizeof(p->note), "resumes at power: "
			    "its boot did not come up, so it is powered and "
			    "booted again");
	}
	inv_close(inv);
	return ERR_OK;
}
