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
	char		 reboot[64];	/* BIRD's "Last reboot on" */
	int		 missing_warned;
	int		 stale;		/* BIRD lacks a protocol of ours */
	int		 reconciling;
};

struct announcer *
announcer_new(const char *include_dir, struct bird *b)
{
	struct announcer	*a = xcalloc(1, sizeof(*a));

	a->dir = xstrdup(include_dir);
	xasprintf(&a->path, "%s/%s", include_dir, ANNOUNCE_FILE);
	a->bird = b;
	return a;
}

void
announcer_free(struct announcer *a)
{
	if (a == NULL)
		return;
	free(a->dir);
	free(a->path);
	free(a->written);
	free(a);
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

		fprintf(f, "\nprotocol static %s {\n\tdisabled %s;\n\t%s;\n"
		    "\troute %s blackhole;\n}\n", p->proto,
		    p->want ? "no" : "yes",
		    p->p.family == AF_INET6 ? "ipv6" : "ipv4", p->str);
	}
	if (fclose(f) != 0 || out == NULL)
		fatal("open_memstream");
	return out;
}

static int
mkdirs(const char *dir, char *err, size_t errlen)
{
	char	*p, *copy = xstrdup(dir);

	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, 0755) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "mkdir %s: %s", copy,
				    strerror(errno));
				free(copy);
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return 0;
}

int
announce_write(struct announcer *a, const struct ctl *c, char *err,
    size_t errlen)
{
	char	*text = announce_render(c);
	size_t	 len = strlen(text);

	if (a->written && strcmp(a->written, text) == 0 &&
	    access(a->path, F_OK) == 0) {
		free(text);
		return 0;
	}
	/* The directory is made only when it is missing: on the fast path
	 * the write is open, write, close and rename, nothing more (no
	 * fsync: the file lives on tmpfs, see docs/bgp.md). */
	if (file_replace(a->path, text, len, 0644, 0, err, errlen) == -1 &&
	    (errno != ENOENT || mkdirs(a->dir, err, errlen) == -1 ||
	    file_replace(a->path, text, len, 0644, 0, err, errlen) == -1)) {
		free(text);
		return -1;
	}
	free(a->written);
	a->written = text;
	return 0;
}

int
announce_flush(struct announcer *a, struct ctl *c)
{
	char	 err[256];
	size_t	 i;
	int	 rc = 0;

	uint64_t w0 = mono_us();

	if (announce_write(a, c, err, sizeof(err)) == -1) {
		log_warnx("bird: cannot write the include file: %s", err);
		rc = -1;
	}
	log_debug("include file written in %lluus",
	    (unsigned long long)(mono_us() - w0));
	if (!bird_connected(a->bird))
		return -1;
	for (i = 0; i < c->nprefix; i++) {
		struct ctl_prefix *p = &c->prefix[i];
		int r, prev = p->applied;
		uint64_t t0;

		if (p->applied == p->want)
			continue;
		t0 = mono_us();
		r = p->want ? bird_enable(a->bird, p->proto, err, sizeof(err)) :
		    bird_disable(a->bird, p->proto, err, sizeof(err));
		if (r == -1) {
			p->applied = -1;
			rc = -1;
			if (bird_last_unknown(a->bird)) {
				/* Not loaded yet: reconfigure once, below. */
				a->stale = 1;
				continue;
			}
			log_warnx("bird: %s %s: %s", p->want ? "enable" :
			    "disable", p->proto, err);
			if (!bird_connected(a->bird))
				return -1;
			continue;
		}
		p->applied = p->want;
		if (log_getverbose() >= LOG_LVL_DEBUG) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			log_debug("bird: %s %s took %lluus (acknowledged at "
			    "%lld.%06ld)", p->want ? "enable" : "disable",
			    p->proto, (unsigned long long)(mono_us() - t0),
			    (long long)ts.tv_sec, ts.tv_nsec / 1000);
		}
		if (prev == -1 && !p->want)
			log_debug("prefix %s withdrawn", p->str);
		else
			log_info("prefix %s %s", p->str, p->want ?
			    "announced" : "withdrawn");
	}
	if (a->stale && !a->reconciling) {
		a->stale = 0;
		return announce_reconcile(a, c, 0);
	}
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
	for (i = 0; i < c->nprefix; i++)
		if (c->prefix[i].applied != 1)
			c->prefix[i].applied = -1;
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

int
announce_reconcile(struct announcer *a, struct ctl *c, int adopt)
{
	struct bird_proto	*bp = NULL;
	size_t			 n = 0, i, j;
	char			 err[256], reboot[64];
	int			 configured = 0, rc;

	if (!bird_connected(a->bird))
		return -1;
	a->reconciling = 1;
	if (bird_last_reboot(a->bird, reboot, sizeof(reboot), err,
	    sizeof(err)) == -1)
		goto birdfail;
	if (a->reboot[0] && strcmp(a->reboot, reboot) != 0)
		log_warnx("bird: BIRD restarted (last reboot %s); re-applying",
		    reboot);
	snprintf(a->reboot, sizeof(a->reboot), "%s", reboot);
again:
	free(bp);
	bp = NULL;
	if (bird_protocols(a->bird, "castiron_*", &bp, &n, err,
	    sizeof(err)) == -1)
		goto birdfail;
	if (adopt) {
		/* castiron (re)started: BIRD's announcements are the best
		 * knowledge of which services were healthy. */
		for (i = 0; i < n; i++) {
			ssize_t k = ctl_find_prefix(c, bp[i].name);
			if (k < 0 || strcmp(bp[i].state, "down") == 0)
				continue;
			for (j = 0; j < c->prefix[k].nservices; j++) {
				size_t s = c->prefix[k].services[j];
				if (!c->service[s].healthy &&
				    !c->service[s].decided) {
					ctl_adopt(c, s, time(NULL));
					log_info("service %s: taken as healthy "
					    "(%s announced in BIRD at start)",
					    c->service[s].name, c->prefix[k].str);
				}
			}
		}
		adopt = 0;
		ctl_update(c, time(NULL));
	}
	if (announce_write(a, c, err, sizeof(err)) == -1)
		log_warnx("bird: cannot write the include file: %s", err);
	if (!set_matches(c, bp, n)) {
		if (configured) {
			if (!a->missing_warned)
				log_warnx("bird: castiron's protocols are still "
				    "missing after configure: does bird.conf "
				    "include \"%s/*.conf\"?", a->dir);
			a->missing_warned = 1;
		} else {
			log_info("bird: protocol set differs from %s; "
			    "reconfiguring BIRD", a->path);
			if (bird_configure(a->bird, err, sizeof(err)) == -1) {
				log_warnx("bird: configure: %s", err);
				if (!bird_connected(a->bird))
					goto birdfail;
			}
			configured = 1;
			goto again;
		}
	} else
		a->missing_warned = 0;
	for (i = 0; i < c->nprefix; i++) {
		struct ctl_prefix *p = &c->prefix[i];
		int have = -1;

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
		} else
			p->applied = have;
	}
	free(bp);
	rc = announce_flush(a, c);
	a->reconciling = 0;
	a->stale = 0;
	return rc;
birdfail:
	free(bp);
	a->reconciling = 0;
	log_warnx("bird: %s", err);
	return -1;
}
