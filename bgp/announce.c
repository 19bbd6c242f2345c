/*
 * Keeping BIRD's castiron_* protocols as the controller wants them (see
 * announce.h): the include file, the enable/disable fast path, and the
 * reconciliation that repairs drift, BIRD restarts and reconfigurations.
 * This is daemon code: it logs what it does to BIRD.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bgp/announce.h"
#include "bgp/ev.h"
#include "lib/atomicfile.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct announcer {
	char		*dir;
	char		*path;
	struct bird	*bird;
	char		*written;	/* text last written; NULL: not yet */
	char		*prior;		/* the file found at start; NULL: none */
	char		*configured;	/* protocol set last sent configure for */
	char		*attrs_sent;	/* the routes configure was last sent for */
	char		*attrs_ok;	/* ... and BIRD took; NULL: not known */
	char		*routes;	/* announce_routes_of the text last written */
	int		 attrs_due;	/* the routes changed: configure */
	int		 reconciles;	/* the daemon's (the CLI never configures) */
	struct err	 werr;		/* why the last write failed; ERR_OK: it did not */
	char		 reboot[64];	/* BIRD's "Last reboot on" */
	int		 missing_warned;
	int		 stale;		/* BIRD lacks a protocol of ours */
	int		 reconciling;	/* a reconciliation's commands are out */
	int		 again;		/* one more was asked for meanwhile */
	int		 changed;	/* applied moved (announce_take_changed) */
	struct ctl	*ctl;		/* the one last passed in: replies go there */
	int		*adopting;
};

/* What one command was for (bird.c frees it after the reply). */
struct areq {
	struct announcer	*a;
	char			 proto[CTL_PROTO_LEN];
	int			 want;
	int			 configured;	/* show protocols after configure */
	uint64_t		 t0;		/* mono_us when sent */
	announce_confirm_fn	 fn;
	void			*ctx;
	uint64_t		 cookie;
};

static struct areq *
areq_new(struct announcer *a)
{
	struct areq	*q = xcalloc(1, sizeof(*q));

	q->a = a;
	return q;
}

struct announcer *
announce_new(const char *include_dir, struct bird *b)
{
	struct announcer	*a = xcalloc(1, sizeof(*a));

	a->dir = xstrdup(include_dir);
	xasprintf(&a->path, "%s/%s", include_dir, ANNOUNCE_FILE);
	a->bird = b;
	return a;
}

void
announce_free(struct announcer *a)
{
	if (a == NULL)
		return;
	bird_forget(a->bird, a);
	free(a->dir);
	free(a->path);
	free(a->written);
	free(a->prior);
	free(a->configured);
	free(a->attrs_sent);
	free(a->attrs_ok);
	free(a->routes);
	free(a);
}

const char *
announce_error(const struct announcer *a)
{
	return a->werr.code != ERR_OK ? a->werr.msg : NULL;
}

const char *
announce_path(const struct announcer *a)
{
	return a->path;
}

void
announce_read_prior(struct announcer *a)
{
	FILE	*f;
	char	*text = NULL;
	size_t	 len = 0, n;
	char	 buf[4096];

	free(a->prior);
	a->prior = NULL;
	if ((f = fopen(a->path, "r")) == NULL)
		return;
	/* Bounded: castiron's own file, one short block per prefix. */
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && len < (16 << 20)) {
		text = xreallocarray(text, 1, len + n + 1);
		memcpy(text + len, buf, n);
		len += n;
		text[len] = '\0';
	}
	fclose(f);
	a->prior = text;
	/* What BIRD read last, as far as castiron knows: the routes of the
	 * file found (a configure follows only when they change). */
	free(a->attrs_sent);
	free(a->attrs_ok);
	a->attrs_sent = text ? announce_routes_of(text) : NULL;
	a->attrs_ok = text ? xstrdup(a->attrs_sent) : NULL;
}

char *
announce_routes_of(const char *text)
{
	char		*out = xstrdup(text), *w = out;
	const char	*l, *e;
	size_t		 n;

	/* The file less its comments and its 'disabled' lines. */
	for (l = text; *l; l = e) {
		e = strchr(l, '\n');
		e = e ? e + 1 : l + strlen(l);
		n = (size_t)(e - l);
		if (l[0] == '#' || strncmp(l, "\tdisabled ", 10) == 0)
			continue;
		memmove(w, l, n);
		w += n;
	}
	*w = '\0';
	return out;
}

/*
 * A route's attributes, as a block of filter statements after the route
 * (BIRD 2's static protocol runs it when it announces the route).  A
 * change of them needs a `configure`, which BIRD applies to the changed
 * protocols in place: the peer sees an update, not a withdrawal.
 */
static void
render_attrs(FILE *f, const struct ctl *c, const struct ctl_prefix *p)
{
	size_t	 i;
	unsigned n;

	if (p->ncomm == 0 && p->nlcomm == 0 && !p->has_med && !c->gshut)
		return;
	fputs(" {", f);
	for (i = 0; i < p->ncomm; i++)
		fprintf(f, "\n\t\tbgp_community.add((%u,%u));",
		    (unsigned)(p->comm[i] >> 16), (unsigned)(p->comm[i] & 0xffff));
	for (i = 0; i < p->nlcomm; i++)
		fprintf(f, "\n\t\tbgp_large_community.add((%u,%u,%u));",
		    (unsigned)p->lcomm[3 * i], (unsigned)p->lcomm[3 * i + 1],
		    (unsigned)p->lcomm[3 * i + 2]);
	if (p->has_med)
		fprintf(f, "\n\t\tbgp_med = %u;", (unsigned)p->med);
	if (c->gshut) {
		/* RFC 8326: GRACEFUL_SHUTDOWN, while a drain's grace lasts. */
		fputs("\n\t\tbgp_community.add((65535,0));", f);
		if (c->drain_local_pref)
			fprintf(f, "\n\t\tbgp_local_pref = %u;",
			    (unsigned)c->drain_local_pref);
		for (n = 0; n < c->drain_prepend; n++)
			fprintf(f, "\n\t\tbgp_path.prepend(%u);",
			    (unsigned)c->drain_prepend_as);
	}
	fputs("\n\t}", f);
}

char *
announce_render(const struct ctl *c)
{
	char	*out = NULL;
	size_t	 len = 0, i;
	FILE	*f;

	if ((f = open_memstream(&out, &len)) == NULL)
		fatal("open_memstream");
	fputs("# Written by castiron bgp; do not edit.  Each protocol's "
	    "'disabled' line\n# is what castiron wants, so that a "
	    "reconfiguration keeps it.\n", f);
	for (i = 0; i < c->nprefix; i++) {
		const struct ctl_prefix *p = &c->prefix[i];
		char id[CTL_REASON_LEN];

		fprintf(f, "\n# services of %s:", p->proto);
		for (size_t j = 0; j < p->nservices; j++) {
			ctl_service_id(&c->service[p->services[j]], id,
			    sizeof(id));
			fprintf(f, " %s", id);
		}
		fprintf(f, "\nprotocol static %s {\n\tdisabled %s;\n\t%s;\n"
		    "\troute %s blackhole", p->proto,
		    p->want ? "no" : "yes",
		    p->p.family == AF_INET6 ? "ipv6" : "ipv4", p->str);
		render_attrs(f, c, p);
		fputs(";\n}\n", f);
	}
	if (fclose(f) != 0 || out == NULL)
		fatal("open_memstream");
	return out;
}

int
announce_text_lists(const char *text, const char *proto, const char *id)
{
	const char	*l, *e, *w;
	size_t		 plen = strlen(proto), ilen = strlen(id);

	for (l = text; l && *l; l = e ? e + 1 : NULL) {
		e = strchr(l, '\n');
		if (strncmp(l, "# services of ", 14) != 0 ||
		    strncmp(l + 14, proto, plen) != 0 || l[14 + plen] != ':')
			continue;
		for (w = l + 15 + plen; w < (e ? e : w + strlen(w)); ) {
			while (*w == ' ')
				w++;
			if (strncmp(w, id, ilen) == 0 && (w[ilen] == ' ' ||
			    w[ilen] == '\n' || w[ilen] == '\0'))
				return 1;
			while (*w && *w != ' ' && *w != '\n')
				w++;
		}
		return 0;
	}
	return 0;
}

static enum err_code
mkdirs(const char *dir, struct err *err)
{
	char	*p, *copy = xstrdup(dir);

	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
				err_errno(err, ERR_FAIL, "mkdir %s", copy);
				free(copy);
				return err->code;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return ERR_OK;
}

enum err_code
announce_write(struct announcer *a, const struct ctl *c, struct err *err)
{
	char		*text = announce_render(c);
	size_t		 len = strlen(text);
	enum err_code	 rc;

	if (a->written && strcmp(a->written, text) == 0 &&
	    access(a->path, F_OK) == 0) {
		free(text);
		return ERR_OK;
	}
	/* The directory is made only when it is missing: on the fast path
	 * the write is open, write, close and rename, nothing more (no
	 * fsync: the file lives on tmpfs, see docs/bgp.md). */
	rc = file_replace(a->path, text, len, 0644, 0, err);
	if (rc != ERR_OK && errno == ENOENT) {
		if (mkdirs(a->dir, err) != ERR_OK) {
			free(text);
			return err->code;
		}
		rc = file_replace(a->path, text, len, 0644, 0, err);
	}
	if (rc != ERR_OK) {
		free(text);
		return rc;
	}
	free(a->written);
	a->written = text;
	free(a->routes);
	a->routes = announce_routes_of(text);
	if (a->attrs_sent == NULL || strcmp(a->attrs_sent, a->routes) != 0)
		a->attrs_due = 1;
	return ERR_OK;
}

int
announce_attrs_applied(const struct announcer *a)
{
	return a->routes && a->attrs_ok && strcmp(a->routes, a->attrs_ok) == 0;
}

/* announce_write, logging a failure once and the recovery once. */
static int
write_file(struct announcer *a, const struct ctl *c)
{
	struct err	 err;

	if (announce_write(a, c, &err) != ERR_OK) {
		if (a->werr.code == ERR_OK)
			log_warnx("bird: cannot write the include file: %s "
			    "(BIRD is not reconfigured until it can be)",
			    err.msg);
		a->werr = err;
		return -1;
	}
	if (a->werr.code != ERR_OK)
		log_info("bird: include file %s written again", a->path);
	err_clear(&a->werr);
	return 0;
}

int
announce_take_changed(struct announcer *a)
{
	int	 c = a->changed;

	a->changed = 0;
	return c;
}

static void	reconcile_start(struct announcer *);

static void
flush_done(struct bird *b, void *arg, int rc, const struct bird_reply *r,
    const char *err)
{
	struct areq		*q = arg;
	struct announcer	*a = q->a;
	struct ctl_prefix	*p = NULL;
	ssize_t			 k = ctl_find_prefix(a->ctl, q->proto);
	struct err		 e;
	int			 res;

	if (k >= 0) {
		p = &a->ctl->prefix[k];
		if (p->pending == q->want)
			p->pending = -1;
	}
	if (rc == -1) {
		/* The connection went (said once, by the daemon); the next
		 * reconciliation repairs. */
		(void)err;
		if (p)
			p->applied = -1;
		return;
	}
	res = bird_result(r, &e);
	if (res == BIRD_NO_PROTOCOL) {
		/* Not loaded yet: reconfigure, once, by reconciling. */
		if (p)
			p->applied = -1;
		a->stale = 1;
		if (bird_connected(b))
			reconcile_start(a);
		return;
	}
	if (res == -1) {
		log_warnx("bird: %s %s: %s", q->want ? "enable" : "disable",
		    q->proto, e.msg);
		if (p)
			p->applied = -1;
		return;
	}
	if (p == NULL)
		return;		/* the prefix left with a reload */
	if (log_getverbose() >= LOG_LVL_DEBUG) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		log_debug("bird: %s %s took %lluus (acknowledged at "
		    "%lld.%06ld)", q->want ? "enable" : "disable", q->proto,
		    (unsigned long long)(mono_us() - q->t0),
		    (long long)ts.tv_sec, ts.tv_nsec / 1000);
	}
	if (p->applied != q->want) {
		if (p->applied == -1 && !q->want)
			log_debug("prefix %s withdrawn", p->str);
		else
			log_info("prefix %s %s", p->str, q->want ?
			    "announced" : "withdrawn");
	}
	p->applied = q->want;
	a->changed = 1;
	/* Wanted otherwise since it was sent: say so now. */
	if (p->want != p->applied && p->pending == -1)
		announce_flush(a, a->ctl);
}

int
announce_flush(struct announcer *a, struct ctl *c)
{
	size_t	 i;
	int	 rc = 0;

	uint64_t w0 = mono_us();

	a->ctl = c;
	if (write_file(a, c) == -1)
		rc = -1;
	log_debug("include file written in %lluus",
	    (unsigned long long)(mono_us() - w0));
	if (!bird_connected(a->bird))
		return -1;
	for (i = 0; i < c->nprefix; i++) {
		struct ctl_prefix	*p = &c->prefix[i];
		struct areq		*q;

		if (p->applied == p->want || p->pending == p->want)
			continue;
		q = areq_new(a);
		snprintf(q->proto, sizeof(q->proto), "%s", p->proto);
		q->want = p->want;
		q->t0 = mono_us();
		if (bird_send_switch(a->bird, p->proto, p->want, a, flush_done,
		    q) == -1) {
			p->applied = -1;
			rc = -1;
			if (!bird_connected(a->bird))
				return -1;
			continue;
		}
		p->pending = p->want;
	}
	/* A route's attributes changed (a reload, a drain's grace): BIRD
	 * learns them by a configure, which a reconciliation sends. */
	if (a->attrs_due && a->werr.code == ERR_OK && a->reconciles)
		reconcile_start(a);
	return rc;
}

int
announce_withdraw_all(struct announcer *a, struct ctl *c)
{
	size_t	 i;
	int	 saved = c->drained;

	c->drained = 1;
	ctl_update(c, time(NULL));
	c->drained = saved;
	/* Say it again, whatever BIRD has (what was announced is logged). */
	for (i = 0; i < c->nprefix; i++) {
		if (c->prefix[i].applied != 1)
			c->prefix[i].applied = -1;
		c->prefix[i].pending = -1;
	}
	return announce_flush(a, c);
}

/* Whether BIRD's castiron protocols are exactly ours. */
static int
set_matches(const struct ctl *c, const struct bird_proto *bp, size_t n)
{
	size_t	 i, found = 0;

	for (i = 0; i < n; i++) {
		if (strncmp(bp[i].name, "castiron_", 9) != 0)
			continue;
		if (ctl_find_prefix(c, bp[i].name) < 0)
			return 0;	/* stale: BIRD has one we do not */
		found++;
	}
	return found == c->nprefix;
}

/* The names of ctl's protocols, one string (what configure was sent for). */
static char *
proto_set(const struct ctl *c)
{
	char	*out = NULL;
	size_t	 len = 0, i;
	FILE	*f;

	if ((f = open_memstream(&out, &len)) == NULL)
		fatal("open_memstream");
	for (i = 0; i < c->nprefix; i++)
		fprintf(f, "%s ", c->prefix[i].proto);
	if (fclose(f) != 0 || out == NULL)
		fatal("open_memstream");
	return out;
}

/*
 * castiron (re)started and BIRD answers for the first time: its
 * announcements are the best knowledge of which services were healthy,
 * but only for a prefix whose every service is one the file found at
 * start listed for it, with the same check (a service that was never
 * checked is never trusted).
 */
static void
adopt(struct announcer *a, struct ctl *c, const struct bird_proto *bp,
    size_t n)
{
	char	 id[CTL_REASON_LEN];
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		ssize_t k = ctl_find_prefix(c, bp[i].name);
		int known = 1;

		if (k < 0 || strcmp(bp[i].state, "down") == 0)
			continue;
		for (j = 0; j < c->prefix[k].nservices; j++) {
			ctl_service_id(&c->service[c->prefix[k].services[j]],
			    id, sizeof(id));
			if (a->prior == NULL ||
			    !announce_text_lists(a->prior, bp[i].name, id))
				known = 0;
		}
		if (!known) {
			log_info("prefix %s: announced in BIRD, but not every "
			    "service of it was there before; not adopted",
			    c->prefix[k].str);
			continue;
		}
		for (j = 0; j < c->prefix[k].nservices; j++) {
			size_t s = c->prefix[k].services[j];
			if (!c->service[s].healthy && !c->service[s].decided) {
				ctl_adopt(c, s, time(NULL));
				log_info("service %s: taken as healthy "
				    "(%s announced in BIRD at start)",
				    c->service[s].name, c->prefix[k].str);
			}
		}
	}
	ctl_update(c, time(NULL));
	free(a->prior);
	a->prior = NULL;
}

static void
log_done(struct bird *b, void *arg, int rc, const struct bird_reply *r,
    const char *err)
{
	struct areq	*q = arg;
	struct err	 e;

	(void)b;
	(void)err;
	if (rc == 0 && bird_result(r, &e) != 0)
		log_warnx("bird: disable %s: %s", q->proto, e.msg);
}

static void
send_disable(struct announcer *a, const char *proto)
{
	struct areq	*q = areq_new(a);

	snprintf(q->proto, sizeof(q->proto), "%s", proto);
	bird_send_switch(a->bird, proto, 0, a, log_done, q);
}

/* Disables castiron_* protocols BIRD runs that castiron no longer has
 * (a configure that failed after they left the file). */
static void
disable_strays(struct announcer *a, const struct ctl *c,
    const struct bird_proto *bp, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strncmp(bp[i].name, "castiron_", 9) != 0 ||
		    ctl_find_prefix(c, bp[i].name) >= 0 ||
		    strcmp(bp[i].state, "down") == 0)
			continue;
		log_warnx("bird: %s is %s in BIRD but no longer in %s; "
		    "disabling it", bp[i].name, bp[i].state, a->path);
		send_disable(a, bp[i].name);
	}
}

/* A reconciliation's command failed: it ends; the next one repairs. */
static void
reconcile_fail(struct announcer *a, const char *err)
{
	if (bird_connected(a->bird))
		log_warnx("bird: %s", err);
	a->reconciling = 0;
	a->again = 0;
}

static void	reconcile_protocols(struct bird *, void *, int,
		    const struct bird_reply *, const char *);

static void
ask_protocols(struct announcer *a, int configured)
{
	struct areq	*q = areq_new(a);

	q->configured = configured;
	if (bird_send_protocols(a->bird, "castiron_*", a, reconcile_protocols,
	    q) == -1)
		reconcile_fail(a, "cannot ask BIRD for its protocols");
}

static void
reconcile_configured(struct bird *b, void *arg, int rc,
    const struct bird_reply *r, const char *err)
{
	struct areq		*q = arg;
	struct announcer	*a = q->a;
	struct err		 e;

	(void)b;
	if (rc == -1) {
		reconcile_fail(a, err);
		return;
	}
	log_debug("bird: configure took %lluus",
	    (unsigned long long)(mono_us() - q->t0));
	if (!bird_configure_ok(r)) {
		bird_reply_error(r, &e);
		log_warnx("bird: configure: %s", e.msg);
	} else if (a->attrs_sent) {
		/* One reconciliation at a time: this answers the last sent. */
		free(a->attrs_ok);
		a->attrs_ok = xstrdup(a->attrs_sent);
	}
	ask_protocols(a, 1);
}

static void
reconcile_protocols(struct bird *b, void *arg, int rc,
    const struct bird_reply *r, const char *err)
{
	struct areq		*q = arg;
	struct announcer	*a = q->a;
	struct ctl		*c = a->ctl;
	struct bird_proto	*bp = NULL;
	size_t			 n = 0, i, j;
	struct err		 e;
	char			*set;
	int			 need_set;

	if (rc == -1) {
		reconcile_fail(a, err);
		return;
	}
	if (bird_reply_protocols(r, &bp, &n, &e) == -1) {
		reconcile_fail(a, e.msg);
		return;
	}
	if (a->adopting && *a->adopting) {
		adopt(a, c, bp, n);
		*a->adopting = 0;
	}
	write_file(a, c);
	need_set = !set_matches(c, bp, n);
	set = proto_set(c);
	if (a->werr.code != ERR_OK) {
		/* The file does not hold the set: configure would only re-read
		 * the old one.  Said once, by write_file. */
	} else if (!q->configured && ((need_set && (a->configured == NULL ||
	    strcmp(a->configured, set) != 0)) || a->attrs_due)) {
		struct areq *cq = areq_new(a);

		if (need_set)
			log_info("bird: protocol set differs from %s; "
			    "reconfiguring BIRD", a->path);
		else
			log_info("bird: announcements' attributes changed; "
			    "reconfiguring BIRD");
		free(a->configured);
		a->configured = set;
		free(a->attrs_sent);
		a->attrs_sent = xstrdup(a->routes ? a->routes : "");
		a->attrs_due = 0;
		cq->t0 = mono_us();
		free(bp);
		if (bird_send(b, "configure", a, reconcile_configured,
		    cq) == -1)
			reconcile_fail(a, "cannot send configure");
		return;
	} else if (need_set && !a->missing_warned) {
		log_warnx("bird: BIRD's castiron protocols still differ from %s "
		    "after configure (does bird.conf include \"%s/*.conf\", "
		    "and does BIRD accept its configuration?); not "
		    "reconfiguring again until the set changes", a->path,
		    a->dir);
		a->missing_warned = 1;
	}
	free(set);
	if (need_set)
		disable_strays(a, c, bp, n);
	else
		a->missing_warned = 0;
	for (i = 0; i < c->nprefix; i++) {
		struct ctl_prefix *p = &c->prefix[i];
		int have = -1;

		if (p->pending != -1)
			continue;	/* a command is out; its reply decides */
		for (j = 0; j < n; j++)
			if (strcmp(bp[j].name, p->proto) == 0)
				have = strcmp(bp[j].state, "down") != 0;
		if (have == -1) {
			p->applied = -1;
			continue;
		}
		if (have != p->want) {
			if (p->applied == p->want)
				log_warnx("bird: drift: %s is %s in BIRD but "
				    "castiron wants it %s; putting it back",
				    p->proto, have ? "up" : "down",
				    p->want ? "up" : "down");
			p->applied = -1;
		} else if (p->applied != have) {
			p->applied = have;
			a->changed = 1;
		}
	}
	free(bp);
	a->reconciling = 0;
	a->stale = 0;
	announce_flush(a, c);
	if (a->again) {
		a->again = 0;
		reconcile_start(a);
	}
}

static void
reconcile_status(struct bird *b, void *arg, int rc,
    const struct bird_reply *r, const char *err)
{
	struct areq		*q = arg;
	struct announcer	*a = q->a;
	struct err		 e;
	char			 reboot[64];

	(void)b;
	if (rc == -1) {
		reconcile_fail(a, err);
		return;
	}
	if (bird_result(r, &e) != 0) {
		reconcile_fail(a, e.msg);
		return;
	}
	bird_reply_reboot(r, reboot, sizeof(reboot));
	if (a->reboot[0] && strcmp(a->reboot, reboot) != 0)
		log_warnx("bird: BIRD restarted (last reboot %s); re-applying",
		    reboot);
	snprintf(a->reboot, sizeof(a->reboot), "%s", reboot);
	ask_protocols(a, 0);
}

static void
reconcile_start(struct announcer *a)
{
	if (a->reconciling) {
		a->again = 1;
		return;
	}
	a->reconciling = 1;
	if (bird_send(a->bird, "show status", a, reconcile_status,
	    areq_new(a)) == -1)
		reconcile_fail(a, "cannot ask BIRD for its status");
}

int
announce_reconcile(struct announcer *a, struct ctl *c, int *adopting)
{
	a->ctl = c;
	a->reconciles = 1;
	if (adopting)
		a->adopting = adopting;
	if (!bird_connected(a->bird))
		return -1;
	reconcile_start(a);
	return 0;
}

int
announce_busy(const struct announcer *a)
{
	return a->reconciling;
}

static void
confirm_done(struct bird *b, void *arg, int rc, const struct bird_reply *r,
    const char *err)
{
	struct areq		*q = arg;
	struct announcer	*a = q->a;
	struct bird_proto	*bp = NULL;
	size_t			 n = 0, i, k;
	struct err		 e;

	(void)b;
	if (rc == -1) {
		q->fn(q->ctx, q->cookie, -1, NULL, err);
		return;
	}
	if (bird_reply_protocols(r, &bp, &n, &e) == -1) {
		q->fn(q->ctx, q->cookie, -1, NULL, e.msg);
		return;
	}
	for (i = 0, k = 0; i < n; i++)
		if (strncmp(bp[i].name, "castiron_", 9) == 0 &&
		    strcmp(bp[i].state, "down") != 0)
			bp[k++] = bp[i];
	if (k > 0 && !q->configured) {
		/* Disable what is still up, tracked or not, and ask again. */
		struct areq *again = areq_new(a);

		for (i = 0; i < k; i++) {
			log_warnx("bird: %s is still %s after the drain; "
			    "disabling it", bp[i].name, bp[i].state);
			send_disable(a, bp[i].name);
		}
		*again = *q;
		again->configured = 1;
		if (bird_send_protocols(a->bird, "castiron_*", a, confirm_done,
		    again) == -1)
			q->fn(q->ctx, q->cookie, -1, NULL,
			    "BIRD is not connected");
		free(bp);
		return;
	}
	q->fn(q->ctx, q->cookie, (int)k, bp, NULL);
	free(bp);
}

void
announce_confirm_down(struct announcer *a, announce_confirm_fn fn, void *ctx,
    uint64_t cookie)
{
	struct areq	*q;

	if (!bird_connected(a->bird)) {
		fn(ctx, cookie, -1, NULL, "BIRD is not connected");
		return;
	}
	q = areq_new(a);
	q->fn = fn;
	q->ctx = ctx;
	q->cookie = cookie;
	if (bird_send_protocols(a->bird, "castiron_*", a, confirm_done,
	    q) == -1)
		fn(ctx, cookie, -1, NULL, "BIRD is not connected");
}
