/*
 * The bgp daemon's loop (see daemon.h).  Each iteration waits in
 * epoll_wait until the nearest timer of its timer list (timer.h) or an
 * event (signals too come as events, through a signalfd), lets the owners
 * of ready descriptors finish their runs, and then runs what is due:
 * checks to start, results that cross rise or fall (the announcer queues
 * the commands for BIRD at once), reconciliation every
 * reconcile_interval, a lost BIRD connection retried with backoff while
 * the checks go on, metrics and the watchdog.  Nothing in the loop waits
 * on anything but epoll_wait, for at most LOOP_WAIT_MAX_MS: BIRD's
 * replies, control clients and a reload's name lookups are all events.
 */
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bgp/daemon_int.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	1000	/* BIRD back: reached within this, or at
				   once when its socket appears (inotify) */
#define METRICS_MS	5000
#define METRICS_MIN_MS	250	/* between rewrites for BIRD's answers */
#define LOOP_WAIT_MAX_MS 1000	/* epoll_wait's longest sleep */
#define RESOLVE_MS	20000	/* a reload's name lookups, all of them */

static int			 sig_hup, sig_term, sig_fd = -1;
static struct bgpd		*D;

/*
 * Signals arrive as events of a signalfd, never through a handler: they
 * stay blocked, so nothing interrupts the loop, and a loop that always
 * has events still sees them (epoll_pwait delivers a pending signal only
 * when it returns no event).
 */
static void
signal_event(struct evh *h, uint32_t events)
{
	struct signalfd_siginfo	 si;

	(void)h;
	(void)events;
	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			sig_hup = 1;
		else
			sig_term = 1;
	}
}

/* A check run ended: count it, and act on a transition. */
static void
check_done(void *arg, int ok, const char *reason)
{
	struct ctl_service	*s = arg;
	size_t			 i = (size_t)(s - D->ctl->service);
	enum ctl_change		 ch;
	uint64_t		 took = (mono_us() - s->run_started_us) / 1000;
	int			 was_held = s->held_until != 0;
	char			 w[32], h[32];

	ch = ctl_result(D->ctl, i, ok, check_local(s->check), reason,
	    time(NULL), mono_ms());
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
	if (ch == CTL_BECAME_UNHEALTHY && s->fell)
		log_info("service %s: fail_open: the last-announcer guard "
		    "decides for its prefixes", s->name);
	if (!was_held && s->held_until) {
		control_fmt_time(s->held_until_wall, h, sizeof(h));
		log_warnx("service %s: flapping (%llu changes within %s, more "
		    "than flap_limit %llu); held withdrawn until %s", s->name,
		    (unsigned long long)s->held_changes,
		    fmt_duration_ms(s->cfg.flap_window_ms, w, sizeof(w)),
		    (unsigned long long)s->cfg.flap_limit, h);
		timer_set_earlier(&D->timers, TIMER_FLAP, s->held_until);
		D->dirty = 1;
	}
	s->next_run = s->run_due + ctl_interval_ms(s);
	timer_set_earlier(&D->timers, TIMER_CHECKS, s->next_run);
}

/* Creates a check for every service of ctl; on failure, none (all
 * undone), with err naming the service. */
static enum err_code
make_checks(struct checker *ck, struct ctl *c, struct err *err)
{
	size_t	 i;

	for (i = 0; i < c->nservice; i++) {
		c->service[i].check = check_new(ck, &c->service[i].cfg,
		    check_done, &c->service[i], err);
		if (c->service[i].check == NULL) {
			err_prefix(err, "service %s", c->service[i].name);
			while (i > 0) {
				check_free(c->service[--i].check);
				c->service[i].check = NULL;
			}
			return err->code;
		}
	}
	return ERR_OK;
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

void
daemon_grace_begin(struct bgpd *d, uint64_t ms)
{
	ctl_grace_begin(d->ctl);
	d->grace_until = mono_ms() + ms;
	d->grace_until_wall = time(NULL) + (time_t)((ms + 999) / 1000);
	timer_set(&d->timers, TIMER_DRAIN, d->grace_until);
	timer_set(&d->timers, TIMER_METRICS, 0);
}

void
daemon_grace_stop(struct bgpd *d)
{
	if (d->stopping)
		return;		/* the stop's grace runs on */
	d->ctl->gshut = 0;
	d->grace_until = 0;
	timer_stop(&d->timers, TIMER_DRAIN);
}

/* The grace is over: withdraw every prefix (or, stopping, leave). */
static void
grace_over(struct bgpd *d)
{
	d->grace_until = 0;
	if (d->stopping) {
		d->stop = 1;
		return;
	}
	log_warnx("drained: the grace is over; withdrawing every prefix");
	d->ctl->gshut = 0;
	d->ctl->drained = 1;
	d->dirty = 1;
	control_poll(d);
}

/* SIGTERM: with withdraw_on_exit and drain_grace, and something
 * announced, the prefixes carry 65535:0 for the grace first (the loop
 * goes on, a failing service still withdraws at once); a second SIGTERM
 * stops at once. */
static void
stop_asked(struct bgpd *d)
{
	size_t	 k;
	int	 any = 0;

	for (k = 0; k < d->ctl->nprefix; k++)
		if (d->ctl->prefix[k].applied == 1)
			any = 1;
	if (d->stopping || !d->cfg->bgp.withdraw_on_exit ||
	    d->cfg->bgp.drain_grace_ms == 0 || d->ctl->drained || !any) {
		d->stop = 1;
		return;
	}
	log_info("stopping: every prefix announced with GRACEFUL_SHUTDOWN "
	    "(65535:0) for %llums, then withdrawn (SIGTERM again: at once)",
	    (unsigned long long)d->cfg->bgp.drain_grace_ms);
	sd_notify(0, "STOPPING=1");
	daemon_grace_begin(d, d->cfg->bgp.drain_grace_ms);
	d->stopping = 1;
	d->dirty = 1;
	announce_flush(d->ann, d->ctl);
}

/*
 * BIRD's control socket appearing (BIRD started again) is seen through
 * inotify on its directory, so that castiron connects at once rather
 * than at the next backoff step.  The watch is set again on each retry
 * while it is missing (the directory itself may come and go, as
 * systemd's RuntimeDirectory= does).
 */
static void
sock_watch(struct bgpd *d)
{
	char	*dir, *slash;

	if (d->ifd == -1 || d->iwd >= 0)
		return;
	dir = xstrdup(d->cfg->bgp.bird_socket);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	d->iwd = inotify_add_watch(d->ifd, dir,
	    IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
	free(dir);
}

static void
sock_event(struct evh *h, uint32_t events)
{
	struct bgpd	*d = (struct bgpd *)(void *)((char *)h -
	    offsetof(struct bgpd, sock_evh));
	char		 buf[4096] __attribute__((aligned(8)));
	const char	*base = strrchr(d->cfg->bgp.bird_socket, '/');
	ssize_t		 n;
	size_t		 off;

	(void)events;
	base = base ? base + 1 : d->cfg->bgp.bird_socket;
	while ((n = read(d->ifd, buf, sizeof(buf))) > 0)
		for (off = 0; off + sizeof(struct inotify_event) <= (size_t)n;) {
			struct inotify_event *ev = (void *)(buf + off);

			if (ev->mask & IN_IGNORED)
				d->iwd = -1;	/* the directory went */
			else if (ev->len && strcmp(ev->name, base) == 0 &&
			    !bird_connected(d->bird) &&
			    !bird_connecting(d->bird))
				timer_set(&d->timers, TIMER_BIRD_RETRY, 0);
			off += sizeof(*ev) + ev->len;
		}
}

static void
sock_watch_start(struct bgpd *d)
{
	struct epoll_event	 ev = { .events = EPOLLIN };

	d->iwd = -1;
	if ((d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return;		/* the backoff alone, then */
	d->sock_evh.fn = sock_event;
	ev.data.ptr = &d->sock_evh;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->ifd, &ev) == -1) {
		close(d->ifd);
		d->ifd = -1;
		return;
	}
	sock_watch(d);
}

/* Starts a (re)connection to BIRD; bird_state hears how it ends. */
static void	bird_failed(struct bgpd *, uint64_t, const char *);

static void
bird_try(struct bgpd *d, uint64_t now)
{
	struct err	 err;

	timer_stop(&d->timers, TIMER_BIRD_RETRY);
	if (bird_connected(d->bird) || bird_connecting(d->bird))
		return;
	sock_watch(d);
	if (bird_connect_start(d->bird, &err) != ERR_OK)
		bird_failed(d, now, err.msg);
}

/* A connection attempt failed: retry with backoff, said once. */
static void
bird_failed(struct bgpd *d, uint64_t now, const char *err)
{
	if (d->bird_was_up || d->bird_backoff == 0)
		log_warnx("bird: cannot connect: %s (retrying)", err);
	d->bird_was_up = 0;
	d->bird_backoff = d->bird_backoff ? d->bird_backoff * 2 :
	    BACKOFF_MIN_MS;
	if (d->bird_backoff > BACKOFF_MAX_MS)
		d->bird_backoff = BACKOFF_MAX_MS;
	timer_set(&d->timers, TIMER_BIRD_RETRY, now + d->bird_backoff);
	/* Without BIRD the file still says what is wanted. */
	announce_flush(d->ann, d->ctl);
}

/* The BIRD connection came up (reconcile at once) or went. */
static void
bird_state(struct bird *b, void *arg, int up, const char *err)
{
	struct bgpd	*d = arg;
	uint64_t	 now = mono_ms();

	if (up) {
		log_info("bird: connected to BIRD %s on %s", bird_version(b),
		    d->cfg->bgp.bird_socket);
		d->bird_was_up = 1;
		d->bird_up = 1;
		d->bird_backoff = 0;
		timer_stop(&d->timers, TIMER_BIRD_RETRY);
		announce_reconcile(d->ann, d->ctl, &d->adopting);
		guard_ask(d, 1);
		timer_set(&d->timers, TIMER_RECONCILE,
		    now + d->cfg->bgp.reconcile_ms);
		timer_set(&d->timers, TIMER_METRICS, now);
		return;
	}
	if (!d->bird_up) {
		bird_failed(d, now, err);
		return;
	}
	/* Lost: retried at once, then with backoff. */
	log_warnx("bird: %s; reconnecting", err);
	d->bird_up = 0;
	timer_set(&d->timers, TIMER_BIRD_RETRY, now);
	timer_set(&d->timers, TIMER_METRICS, now);
}

/* The second half of a reload, once the names are resolved. */
static void
reload_apply(struct bgpd *d, struct config *ncfg, const struct resolved *res,
    size_t nres)
{
	struct ctl		*nctl;
	struct err		 err;
	size_t			 i;
	int			 newbird = 0;
	enum err_code		 rc;

	sd_notify(0, "READY=1");
	/* The new set is built whole beside the running one, which is
	 * freed only once nothing of the new one can fail. */
	nctl = ctl_new(ncfg, time(NULL));
	ctl_carry(nctl, d->ctl);
	checker_set_resolved(d->ck, res, nres);
	rc = make_checks(d->ck, nctl, &err);
	checker_set_resolved(d->ck, NULL, 0);
	if (rc != ERR_OK) {
		log_warnx("reload refused: %s", err.msg);
		ctl_free(nctl);
		config_free(ncfg);
		return;
	}
	free_checks(d->ctl);
	if (strcmp(ncfg->bgp.bird_socket, d->cfg->bgp.bird_socket) != 0 ||
	    ncfg->bgp.bird_timeout_ms != d->cfg->bgp.bird_timeout_ms) {
		/* The announcer goes first: its commands' replies are then
		 * dropped, not handed to it as the old connection fails. */
		announce_free(d->ann);
		d->ann = NULL;
		bird_free(d->bird);
		d->bird = bird_new(ncfg->bgp.bird_socket,
		    ncfg->bgp.bird_timeout_ms);
		bird_attach(d->bird, d->epfd, bird_state, d);
		d->bird_up = 0;
		newbird = 1;
		if (d->iwd >= 0)
			inotify_rm_watch(d->ifd, d->iwd);
		d->iwd = -1;
		for (i = 0; i < nctl->nprefix; i++)
			nctl->prefix[i].applied = -1;
	}
	if (strcmp(ncfg->bgp.include_dir, d->cfg->bgp.include_dir) != 0 ||
	    newbird) {
		announce_free(d->ann);
		d->ann = announce_new(ncfg->bgp.include_dir, d->bird);
	}
	if (strcmp(ncfg->bgp.control_socket, d->cfg->bgp.control_socket) != 0)
		log_warnx("control_socket changes take effect at restart");
	ctl_free(d->ctl);
	config_free(d->cfg);
	d->cfg = ncfg;
	d->ctl = nctl;
	d->rescan = 1;
	if (newbird)
		sock_watch(d);
	control_read_drain(d);
	ctl_update(d->ctl, time(NULL));
	timer_set(&d->timers, TIMER_FLAP, ctl_next_release(d->ctl));
	if (bird_connected(d->bird))
		announce_reconcile(d->ann, d->ctl, &d->adopting);
	else
		announce_flush(d->ann, d->ctl);
	guard_ask(d, 1);
	timer_set(&d->timers, TIMER_RECONCILE,
	    mono_ms() + d->cfg->bgp.reconcile_ms);
	log_info("reloaded: %zu services, %zu prefixes", d->ctl->nservice,
	    d->ctl->nprefix);
}

static void
reload_resolved(void *arg, const struct resolved *res, size_t n,
    const char *err)
{
	struct bgpd	*d = arg;
	struct config	*ncfg = d->reload_cfg;

	d->resolving = NULL;
	d->reload_cfg = NULL;
	if (res == NULL) {
		sd_notify(0, "READY=1");
		log_warnx("reload refused: %s", err);
		config_free(ncfg);
		return;
	}
	reload_apply(d, ncfg, res, n);
}

/*
 * SIGHUP: the file is loaded and checked whole; the host names of TCP
 * checks are then resolved in a child process (the loop goes on), and
 * the new configuration applied when the answers come (reload_apply).
 */
static void
reload(struct bgpd *d)
{
	struct cfg_errors	 errs = { 0 };
	struct config		*ncfg;
	struct resolved		*names;
	struct err		 err;
	size_t			 i, n;

	log_info("reloading %s", d->config_path);
	d->rescan = 1;
	ncfg = config_load(d->config_path, &errs);
	for (i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	cfg_errors_clear(&errs);
	if (ncfg == NULL) {
		sd_notify(0, "READY=1");
		log_warnx("reload refused: the configuration has errors; "
		    "the running one stays");
		return;
	}
	if (d->resolving) {
		/* A newer file wins over one still being resolved. */
		resolve_cancel(d->resolving);
		config_free(d->reload_cfg);
		d->resolving = NULL;
		d->reload_cfg = NULL;
	}
	if ((n = resolve_names(ncfg, &names)) == 0) {
		reload_apply(d, ncfg, NULL, 0);
		return;
	}
	log_info("reload: resolving %zu host name%s", n, n == 1 ? "" : "s");
	d->reload_cfg = ncfg;
	d->resolving = resolve_start(d->epfd, names, n, RESOLVE_MS,
	    reload_resolved, d, &err);
	free(names);
	if (d->resolving == NULL) {
		sd_notify(0, "READY=1");
		log_warnx("reload refused: %s", err.msg);
		config_free(ncfg);
		d->reload_cfg = NULL;
	}
}

/*
 * A service's first run.  Each next run is due one interval after the
 * last was due, so services started in one pass would run together for
 * ever: a thousand HTTP checks at once every second, each holding a curl
 * handle (about 8 KiB), the servers answering a burst.  So the services
 * are started in groups of CHECK_GROUP, in the order of the file, the
 * groups spread over the interval (at most CHECK_SPREAD_MS): the k-th
 * group of G starts k/G of the way in.  Up to CHECK_GROUP services all
 * start at once, as before.  Groups, not one service at a time: every
 * wakeup of the loop costs (on the 2-core VM, one check per wakeup cost
 * 3.7 times the CPU of the burst; groups of 64 cost the same as it).
 */
#define CHECK_GROUP		64
#define CHECK_SPREAD_MS		1000

static uint64_t
first_run(const struct ctl *c, size_t k, uint64_t now)
{
	uint64_t	 w = ctl_interval_ms(&c->service[k]);
	size_t		 groups = (c->nservice + CHECK_GROUP - 1) / CHECK_GROUP;

	if (w > CHECK_SPREAD_MS)
		w = CHECK_SPREAD_MS;
	return now + w * (k / CHECK_GROUP) / groups;
}

/* Starts the checks that are due; the next one to start sets the timer.
 * A run keeps its place in the interval when it starts late (a busy
 * loop), so that late runs do not bunch up, unless it is a whole
 * interval late (nothing is caught up). */
static void
start_checks(struct bgpd *d, uint64_t now)
{
	uint64_t	 next = TIMER_OFF;
	size_t		 k;

	for (k = 0; k < d->ctl->nservice; k++) {
		struct ctl_service *s = &d->ctl->service[k];
		if (check_running(s->check))
			continue;
		if (s->next_run == 0)
			s->next_run = first_run(d->ctl, k, now);
		if (s->next_run <= now) {
			uint64_t iv = ctl_interval_ms(s);
			s->run_started_us = mono_us();
			s->run_due = now - s->next_run < iv ? s->next_run : now;
			s->next_run = s->run_due + iv;
			check_start(s->check);
		}
		if (!check_running(s->check) && s->next_run < next)
			next = s->next_run;
	}
	timer_set(&d->timers, TIMER_CHECKS, next);
}

/* After the last withdrawal: whatever BIRD did not confirm may still be
 * announced, and the operator stopping castiron must know it. */
static void
stop_report(struct bgpd *d)
{
	size_t	 k, n = 0;

	for (k = 0; k < d->ctl->nprefix; k++) {
		if (d->ctl->prefix[k].applied == 0)
			continue;
		if (n++ < 10)
			log_warnx("stopping: BIRD did not confirm the "
			    "withdrawal of %s (%s)%s; it may still be "
			    "announced", d->ctl->prefix[k].str,
			    d->ctl->prefix[k].proto, bird_connected(d->bird) ?
			    "" : ", no connection to BIRD");
	}
	if (n > 0)
		log_warnx("stopping: %zu of %zu prefixes not confirmed "
		    "withdrawn", n, d->ctl->nprefix);
}

/* What is due after a wait: timers, signals, transitions. */
static void
run_due(struct bgpd *d, uint64_t now)
{
	struct err	 err;

	checker_run_timers(d->ck, now);
	resolve_run_timers(d->resolving, now);
	if (sig_term) {
		sig_term = 0;
		stop_asked(d);
	}
	if (timer_due(&d->timers, TIMER_DRAIN, now)) {
		timer_stop(&d->timers, TIMER_DRAIN);
		grace_over(d);
	}
	if (timer_due(&d->timers, TIMER_FLAP, now)) {
		size_t k;

		for (k = 0; k < d->ctl->nservice; k++) {
			struct ctl_service *s = &d->ctl->service[k];

			if (s->held_until && s->held_until <= now)
				log_info("service %s: flap hold over; its "
				    "prefixes are announced when it is healthy "
				    "(now %s)", s->name, ctl_state(s));
		}
		if (ctl_release(d->ctl, now) > 0)
			d->dirty = 1;
		timer_set(&d->timers, TIMER_FLAP, ctl_next_release(d->ctl));
	}
	if (sig_hup) {
		sig_hup = 0;
		sd_notify(0, "RELOADING=1");
		reload(d);		/* READY=1 once done or refused */
	}
	if (d->dirty) {
		uint64_t t0 = mono_us();
		d->dirty = 0;
		/* Always flushed: a drain's grace changes no want, only the
		 * routes' attributes (the flush writes them, and they reach
		 * BIRD by a configure). */
		if (ctl_update(d->ctl, time(NULL)) > 0)
			timer_set(&d->timers, TIMER_METRICS, now);
		announce_flush(d->ann, d->ctl);
		log_debug("applied in %lluus",
		    (unsigned long long)(mono_us() - t0));
		guard_ask(d, 0);
	}
	if (control_waiting(d))
		control_poll(d);
	/* A connection lost in a command is retried at once, then with
	 * backoff. */
	bird_run_timers(d->bird, now);
	if (!bird_connected(d->bird) && !bird_connecting(d->bird) &&
	    !timer_running(&d->timers, TIMER_BIRD_RETRY))
		timer_set(&d->timers, TIMER_BIRD_RETRY, now);
	if (timer_due(&d->timers, TIMER_BIRD_RETRY, now))
		bird_try(d, now);
	if (timer_due(&d->timers, TIMER_CONTROL, now))
		control_expire(d, now);
	/* BIRD's answers come one by one (a thousand at start): the file
	 * follows them, but is not rewritten more often than this. */
	if (announce_take_changed(d->ann))
		timer_set_earlier(&d->timers, TIMER_METRICS,
		    d->metrics_at + METRICS_MIN_MS);
	if (timer_due(&d->timers, TIMER_RECONCILE, now)) {
		if (bird_connected(d->bird))
			announce_reconcile(d->ann, d->ctl, &d->adopting);
		guard_ask(d, 1);
		timer_set(&d->timers, TIMER_RECONCILE,
		    now + d->cfg->bgp.reconcile_ms);
		if (!bird_connected(d->bird) && !bird_connecting(d->bird))
			timer_set_earlier(&d->timers, TIMER_BIRD_RETRY, now);
	}
	if (timer_due(&d->timers, TIMER_METRICS, now)) {
		if (d->cfg->bgp.metrics_file &&
		    metrics_write(d, &err) != ERR_OK)
			log_warnx("metrics: %s", err.msg);
		d->metrics_at = now;
		timer_set(&d->timers, TIMER_METRICS, now + METRICS_MS);
	}
	if (timer_due(&d->timers, TIMER_WATCHDOG, now)) {
		sd_notify(0, "WATCHDOG=1");
		timer_set(&d->timers, TIMER_WATCHDOG, now + d->watchdog_ms / 2);
	}
}

/* Wait until the next deadline, dispatch events, run what is due. */
static void
loop(struct bgpd *d)
{
	struct epoll_event	 evs[64];
	int			 n, i;
	uint64_t		 now, next, wait;

	while (!d->stop) {
		now = mono_ms();
		/* The list is walked only when something is due or a run
		 * ended, not on every event. */
		if (d->rescan || timer_due(&d->timers, TIMER_CHECKS, now)) {
			d->rescan = 0;
			start_checks(d, now);
		}
		timer_set(&d->timers, TIMER_CHECKER,
		    checker_next_timer(d->ck));
		timer_set(&d->timers, TIMER_BIRD, bird_next_timer(d->bird));
		timer_set(&d->timers, TIMER_CONTROL, control_next_timer(d));
		timer_set(&d->timers, TIMER_RESOLVE,
		    resolve_next_timer(d->resolving));
		next = d->dirty ? now : timer_next(&d->timers);
		now = mono_ms();
		wait = next > now ? next - now : 0;
		if (wait > LOOP_WAIT_MAX_MS)
			wait = LOOP_WAIT_MAX_MS;
		n = epoll_wait(d->epfd, evs, 64, (int)wait);
		if (n == -1 && errno != EINTR)
			fatal("epoll_pwait");
		for (i = 0; i < n; i++) {
			struct evh *h = evs[i].data.ptr;
			h->fn(h, evs[i].events);
		}
		run_due(d, mono_ms());
	}
}

enum err_code
bgpd_run(const char *config_path, struct err *err)
{
	struct bgpd		 d = { 0 };
	struct cfg_errors	 errs = { 0 };
	struct evh		 sig_evh = { signal_event };
	struct epoll_event	 ev = { .events = EPOLLIN };
	sigset_t		 block;
	uint64_t		 usec;
	struct err		 e;
	size_t			 i;
	enum err_code		 rc = ERR_OK;

	err_clear(err);
	d.config_path = xstrdup(config_path);
	d.cfg = config_load(config_path, &errs);
	for (i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	cfg_errors_clear(&errs);
	if (d.cfg == NULL) {
		free(d.config_path);
		return ERR_INVAL;	/* said, line by line */
	}
	if (d.cfg->nservice == 0) {
		config_free(d.cfg);
		free(d.config_path);
		return err_set(err, ERR_INVAL, "%s: no [service NAME] section: "
		    "nothing to check or announce", config_path);
	}
	D = &d;
	d.started = time(NULL);
	d.rescan = 1;
	d.lfd = -1;
	d.ifd = d.iwd = -1;
	timer_init(&d.timers);
	timer_set(&d.timers, TIMER_METRICS, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);

	checker_raise_limits();
	if ((d.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	if ((sig_fd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	ev.data.ptr = &sig_evh;
	if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, sig_fd, &ev) == -1)
		fatal("epoll_ctl");
	d.ck = checker_new(d.epfd);
	d.ctl = ctl_new(d.cfg, time(NULL));
	if (make_checks(d.ck, d.ctl, err) != ERR_OK) {
		/* A check that cannot be made is a configuration error (an
		 * exec check's unknown user, a command that cannot be split). */
		rc = err->code = ERR_INVAL;
		goto out2;
	}
	if ((rc = control_listen(&d, err)) != ERR_OK)
		goto out;
	d.bird = bird_new(d.cfg->bgp.bird_socket, d.cfg->bgp.bird_timeout_ms);
	bird_attach(d.bird, d.epfd, bird_state, &d);
	sock_watch_start(&d);
	d.ann = announce_new(d.cfg->bgp.include_dir, d.bird);
	control_read_drain(&d);
	ctl_update(d.ctl, time(NULL));
	log_info("starting: %zu services, %zu prefixes%s", d.ctl->nservice,
	    d.ctl->nprefix, d.ctl->drained ? ", drained" : "");
	/* The first contact with BIRD, whenever it comes, adopts what BIRD
	 * announces for the services the file found here listed; until then
	 * the file is written with nothing announced that has not risen. */
	announce_read_prior(d.ann);
	d.adopting = 1;
	timer_set(&d.timers, TIMER_RECONCILE,
	    mono_ms() + d.cfg->bgp.reconcile_ms);
	bird_try(&d, mono_ms());
	if (sd_watchdog_enabled(0, &usec) > 0) {
		d.watchdog_ms = usec / 1000;
		timer_set(&d.timers, TIMER_WATCHDOG, 0);
	}
	sd_notify(0, "READY=1");
	d.running = 1;
	loop(&d);

	log_info("stopping%s", d.cfg->bgp.withdraw_on_exit ?
	    ": withdrawing every prefix" : " (withdraw_on_exit = no: BIRD "
	    "keeps announcing)");
	sd_notify(0, "STOPPING=1");
	if (d.cfg->bgp.withdraw_on_exit) {
		/* The loop is over: here, and only here, castiron waits for
		 * BIRD, each wait bounded by bird_timeout. */
		if (!bird_connected(d.bird) &&
		    bird_connect(d.bird, &e) != ERR_OK)
			log_warnx("bird: %s", e.msg);
		announce_withdraw_all(d.ann, d.ctl);
		if (bird_connected(d.bird))
			bird_wait_idle(d.bird,
			    mono_ms() + 2 * d.cfg->bgp.bird_timeout_ms);
		stop_report(&d);
	}
	if (d.cfg->bgp.metrics_file)
		metrics_write(&d, &e);
	resolve_cancel(d.resolving);
	config_free(d.reload_cfg);
out:
	control_close(&d);
out2:
	free_checks(d.ctl);
	checker_free(d.ck);
	ctl_free(d.ctl);
	announce_free(d.ann);
	bird_free(d.bird);
	close(sig_fd);
	sig_fd = -1;
	if (d.ifd != -1)
		close(d.ifd);
	close(d.epfd);
	config_free(d.cfg);
	free(d.config_path);
	D = NULL;
	return rc;
}
