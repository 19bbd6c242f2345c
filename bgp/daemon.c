/*
 * The bgp daemon's loop (see daemon.h).  Each iteration starts the checks
 * that are due, sleeps in epoll_pwait until the nearest timer or event
 * (signals are unblocked only there, and their handlers only set flags),
 * lets the owners of ready descriptors finish their runs, and then acts:
 * results that cross rise or fall change what the controller wants, and
 * the announcer tells BIRD at once.  BIRD is reconciled every
 * reconcile_interval; a lost connection is retried with backoff while
 * the checks go on.
 */
#include <sys/epoll.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bgp/daemon_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define METRICS_MS	5000

static volatile sig_atomic_t	 sig_hup, sig_term;
static struct bgpd		*D;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_hup = 1;
	else
		sig_term = 1;
}

/* A check run ended: count it, and act on a transition. */
static void
check_done(void *arg, int ok, const char *reason)
{
	struct ctl_service	*s = arg;
	size_t			 i = (size_t)(s - D->ctl->service);
	enum ctl_change		 ch;
	uint64_t		 took = (mono_us() - s->run_started_us) / 1000;

	ch = ctl_result(D->ctl, i, ok, reason, time(NULL));
	log_debug("service %s: check %s in %llums: %s", s->name,
	    ok ? "passed" : "failed", (unsigned long long)took, reason);
	if (ch == CTL_BECAME_HEALTHY) {
		log_info("service %s: up (%s; %llu passed in a row)", s->name,
		    reason, (unsigned long long)s->ok_streak);
		D->dirty = 1;
	} else if (ch == CTL_BECAME_UNHEALTHY) {
		log_warnx("service %s: down (%s; %llu failed in a row)",
		    s->name, reason, (unsigned long long)s->fail_streak);
		D->dirty = 1;
	} else if (!ok && !s->healthy && s->fail_streak == s->cfg.fall)
		log_warnx("service %s: still down (%s)", s->name, reason);
	s->next_run = s->run_started_us / 1000 + ctl_interval_ms(s);
	if (s->next_run < D->next_due)
		D->next_due = s->next_run;
}

/* Creates a check for every service of ctl; -1 (all undone) on failure. */
static int
make_checks(struct checker *ck, struct ctl *c, char *err, size_t errlen)
{
	size_t	 i;
	char	 e[200];

	for (i = 0; i < c->nservice; i++) {
		c->service[i].check = check_new(ck, &c->service[i].cfg,
		    check_done, &c->service[i], e, sizeof(e));
		if (c->service[i].check == NULL) {
			snprintf(err, errlen, "service %s: %s",
			    c->service[i].name, e);
			while (i > 0) {
				check_free(c->service[--i].check);
				c->service[i].check = NULL;
			}
			return -1;
		}
	}
	return 0;
}

static void
free_checks(struct ctl *c)
{
	size_t	 i;

	for (i = 0; c && i < c->nservice; i++) {
		check_free(c->service[i].check);
		c->service[i].check = NULL;
	}
}

/* Tries to (re)connect to BIRD; on success reconciles at once. */
static void
bird_try(struct bgpd *d, uint64_t now)
{
	char	 err[256];

	if (bird_connected(d->bird))
		return;
	if (bird_connect(d->bird, err, sizeof(err)) == -1) {
		if (d->bird_was_up || d->bird_backoff == 0)
			log_warnx("bird: cannot connect: %s (retrying)", err);
		d->bird_was_up = 0;
		d->bird_backoff = d->bird_backoff ? d->bird_backoff * 2 :
		    BACKOFF_MIN_MS;
		if (d->bird_backoff > BACKOFF_MAX_MS)
			d->bird_backoff = BACKOFF_MAX_MS;
		d->bird_retry_at = now + d->bird_backoff;
		return;
	}
	log_info("bird: connected to BIRD %s on %s", bird_version(d->bird),
	    d->cfg->bgp.bird_socket);
	d->bird_was_up = 1;
	d->bird_backoff = 0;
	announce_reconcile(d->ann, d->ctl, &d->adopting);
	d->next_reconcile = mono_ms() + d->cfg->bgp.reconcile_ms;
}

static void
reload(struct bgpd *d)
{
	struct cfg_errors	 errs = { 0 };
	struct config		*ncfg;
	struct ctl		*nctl;
	char			 err[256];
	size_t			 i;
	int			 newbird = 0;

	log_info("reloading %s", d->config_path);
	d->rescan = 1;
	ncfg = config_load(d->config_path, &errs);
	for (i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	cfg_errors_clear(&errs);
	if (ncfg == NULL) {
		log_warnx("reload refused: the configuration has errors; "
		    "the running one stays");
		return;
	}
	nctl = ctl_new(ncfg, time(NULL));
	ctl_carry(nctl, d->ctl);
	free_checks(d->ctl);
	if (make_checks(d->ck, nctl, err, sizeof(err)) == -1) {
		log_warnx("reload refused: %s", err);
		ctl_free(nctl);
		config_free(ncfg);
		if (make_checks(d->ck, d->ctl, err, sizeof(err)) == -1)
			fatalx("cannot restore the checks: %s", err);
		return;
	}
	if (strcmp(ncfg->bgp.bird_socket, d->cfg->bgp.bird_socket) != 0 ||
	    ncfg->bgp.bird_timeout_ms != d->cfg->bgp.bird_timeout_ms) {
		bird_free(d->bird);
		d->bird = bird_new(ncfg->bgp.bird_socket,
		    ncfg->bgp.bird_timeout_ms);
		newbird = 1;
		for (i = 0; i < nctl->nprefix; i++)
			nctl->prefix[i].applied = -1;
	}
	if (strcmp(ncfg->bgp.include_dir, d->cfg->bgp.include_dir) != 0 ||
	    newbird) {
		announcer_free(d->ann);
		d->ann = announcer_new(ncfg->bgp.include_dir, d->bird);
	}
	if (strcmp(ncfg->bgp.control_socket, d->cfg->bgp.control_socket) != 0)
		log_warnx("control_socket changes take effect at restart");
	ctl_free(d->ctl);
	config_free(d->cfg);
	d->cfg = ncfg;
	d->ctl = nctl;
	d->rescan = 1;
	control_read_drain(d);
	ctl_update(d->ctl, time(NULL));
	if (bird_connected(d->bird))
		announce_reconcile(d->ann, d->ctl, &d->adopting);
	else
		announce_flush(d->ann, d->ctl);
	d->next_reconcile = mono_ms() + d->cfg->bgp.reconcile_ms;
	log_info("reloaded: %zu services, %zu prefixes", d->ctl->nservice,
	    d->ctl->nprefix);
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void
loop(struct bgpd *d, sigset_t *waitmask)
{
	struct epoll_event	 evs[64];
	int			 n, i;
	size_t			 k;
	uint64_t		 now, next;
	char			 err[256];

	while (!sig_term) {
		now = mono_ms();
		next = min64(d->next_reconcile, d->next_metrics);
		/* Start what is due; the list is walked only when something
		 * is due or a run ended, not on every event. */
		if (d->rescan || now >= d->next_due) {
			d->rescan = 0;
			d->next_due = UINT64_MAX;
			for (k = 0; k < d->ctl->nservice; k++) {
				struct ctl_service *s = &d->ctl->service[k];
				if (check_running(s->check))
					continue;
				if (s->next_run <= now) {
					s->run_started_us = mono_us();
					s->next_run = now + ctl_interval_ms(s);
					check_start(s->check);
				}
				if (!check_running(s->check))
					d->next_due = min64(d->next_due,
					    s->next_run);
			}
		}
		next = min64(next, d->next_due);
		if (d->dirty)
			next = now;
		next = min64(next, checker_next_timer(d->ck));
		if (!bird_connected(d->bird))
			next = min64(next, d->bird_retry_at);
		if (d->watchdog_ms)
			next = min64(next, d->next_watchdog);
		now = mono_ms();
		n = epoll_pwait(d->epfd, evs, 64, next > now ?
		    (int)min64(next - now, 60000) : 0, waitmask);
		if (n == -1 && errno != EINTR)
			fatal("epoll_pwait");
		for (i = 0; i < n; i++) {
			struct evh *h = evs[i].data.ptr;
			h->fn(h, evs[i].events);
		}
		now = mono_ms();
		checker_run_timers(d->ck, now);
		if (sig_hup) {
			sig_hup = 0;
			sd_notify(0, "RELOADING=1");
			reload(d);
			sd_notify(0, "READY=1");
		}
		if (d->dirty) {
			uint64_t t0 = mono_us();
			d->dirty = 0;
			if (ctl_update(d->ctl, time(NULL)) > 0) {
				announce_flush(d->ann, d->ctl);
				log_debug("applied in %lluus",
				    (unsigned long long)(mono_us() - t0));
				d->next_metrics = now;
			}
		}
		if (!bird_connected(d->bird) && now >= d->bird_retry_at)
			bird_try(d, now);
		if (now >= d->next_reconcile) {
			control_expire(d, now);
			if (bird_connected(d->bird))
				announce_reconcile(d->ann, d->ctl,
				    &d->adopting);
			d->next_reconcile = now + d->cfg->bgp.reconcile_ms;
			if (!bird_connected(d->bird) && d->bird_retry_at > now)
				d->bird_retry_at = now;
		}
		if (now >= d->next_metrics) {
			if (d->cfg->bgp.metrics_file &&
			    metrics_write(d, err, sizeof(err)) == -1)
				log_warnx("metrics: %s", err);
			d->next_metrics = now + METRICS_MS;
		}
		if (d->watchdog_ms && now >= d->next_watchdog) {
			sd_notify(0, "WATCHDOG=1");
			d->next_watchdog = now + d->watchdog_ms / 2;
		}
	}
}

int
bgpd_run(const char *config_path)
{
	struct bgpd		 d = { 0 };
	struct cfg_errors	 errs = { 0 };
	struct sigaction	 sa = { 0 };
	sigset_t		 block, waitmask;
	uint64_t		 usec;
	char			 err[256];
	size_t			 i;
	int			 rc = 0;

	d.config_path = xstrdup(config_path);
	d.cfg = config_load(config_path, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "castiron: %s\n", errs.msg[i]);
	cfg_errors_clear(&errs);
	if (d.cfg == NULL) {
		free(d.config_path);
		return 2;
	}
	if (d.cfg->nservice == 0) {
		fprintf(stderr, "castiron: %s: no [service NAME] section: "
		    "nothing to check or announce\n", config_path);
		config_free(d.cfg);
		free(d.config_path);
		return 2;
	}
	D = &d;
	d.started = time(NULL);
	d.rescan = 1;
	d.lfd = -1;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sa.sa_handler = on_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((d.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	d.ck = checker_new(d.epfd);
	d.ctl = ctl_new(d.cfg, time(NULL));
	if (make_checks(d.ck, d.ctl, err, sizeof(err)) == -1) {
		fprintf(stderr, "castiron: %s\n", err);
		rc = 2;
		goto out2;
	}
	if (control_listen(&d, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		rc = 1;
		goto out;
	}
	d.bird = bird_new(d.cfg->bgp.bird_socket, d.cfg->bgp.bird_timeout_ms);
	d.ann = announcer_new(d.cfg->bgp.include_dir, d.bird);
	control_read_drain(&d);
	ctl_update(d.ctl, time(NULL));
	log_info("starting: %zu services, %zu prefixes%s", d.ctl->nservice,
	    d.ctl->nprefix, d.ctl->drained ? ", drained" : "");
	/* The first contact with BIRD, whenever it comes, adopts what BIRD
	 * announces for the services the file found here listed; until then
	 * the file is written with nothing announced that has not risen. */
	announce_read_prior(d.ann);
	d.adopting = 1;
	d.next_reconcile = mono_ms() + d.cfg->bgp.reconcile_ms;
	bird_try(&d, mono_ms());
	if (!bird_connected(d.bird))
		announce_flush(d.ann, d.ctl);
	if (sd_watchdog_enabled(0, &usec) > 0)
		d.watchdog_ms = usec / 1000;
	sd_notify(0, "READY=1");
	loop(&d, &waitmask);

	log_info("stopping%s", d.cfg->bgp.withdraw_on_exit ?
	    ": withdrawing every prefix" : " (withdraw_on_exit = no: BIRD "
	    "keeps announcing)");
	sd_notify(0, "STOPPING=1");
	if (d.cfg->bgp.withdraw_on_exit) {
		if (!bird_connected(d.bird))
			bird_connect(d.bird, err, sizeof(err));
		announce_withdraw_all(d.ann, d.ctl);
	}
	if (d.cfg->bgp.metrics_file)
		metrics_write(&d, err, sizeof(err));
out:
	control_close(&d);
out2:
	free_checks(d.ctl);
	checker_free(d.ck);
	ctl_free(d.ctl);
	announcer_free(d.ann);
	bird_free(d.bird);
	close(d.epfd);
	config_free(d.cfg);
	free(d.config_path);
	D = NULL;
	return rc;
}
