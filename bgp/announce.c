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
	char		 werr[256];	/* why the last write failed; "": it did not */
	char		 reboot[64];	/* BIRD's "Last reboot on" */
	int		 missing_warned;
	int		 stale;		/* BIRD lacks a protocol of ours */
	int		 reconciling;
};

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
	free(a->dir);
	free(a->path);
	free(a->written);
	free(a->prior);
	free(a->configured);
	free(a);
}

const char *
announce_error(const struct announcer *a)
{
	return a->werr[0] ? a->werr : NULL;
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
		    "\troute %s blackhole;\n}\n", p->proto,
		    p->want ? "no" : "yes",
		    p->p.family == AF_INET6 ? "ipv6" : "ipv4", p->str);
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

/* announce_write, logging a failure once and the recovery once. */
static int
write_file(struct announcer *a, const struct ctl *c)
{
	char	 err[256];

	if (announce_write(a, c, err, sizeof(err)) == -1) {
		if (a->werr[0] == '\0')
			log_warnx("bird: cannot write the include file: %s "
			    "(BIRD is not reconfigured until it can be)", err);
		snprintf(a->werr, sizeof(a->werr), "%s", err);
		return -1;
	}
	if (a->werr[0] != '\0')
		log_info("bird: include file %s written again", a->path);
	a->werr[0] = '\0';
	return 0;
}

int
announce_flush(struct announcer *a, struct ctl *c)
{
	char	 err[256];
	size_t	 i;
	int	 rc = 0;

	uint64_t w0 = mono_us();

	if (write_file(a, c) == -1)
		rc = -1;
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
		if (r < 0) {
			p->applied = -1;
			rc = -1;
			if (r == BIRD_NO_PROTOCOL) {
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
		return announce_reconcile(a, c, NULL);
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

/* Disables castiron_* protocols BIRD runs that castiron no longer has
 * (a configure that failed after they left the file). */
static void
disable_strays(struct announcer *a, const struct ctl *c,
    const struct bird_proto *bp, size_t n)
{
	char	 err[256];
	size_t	 i;

	for (i = 0; i < n && bird_connected(a->bird); i++) {
		if (strncmp(bp[i].name, "castiron_", 9) != 0 ||
		    ctl_find_prefix(c, bp[i].name) >= 0 ||
		    strcmp(bp[i].state, "down") == 0)
			continue;
		log_warnx("bird: %s is %s in BIRD but no longer in %s; "
		    "disabling it", bp[i].name, bp[i].state, a->path);
		if (bird_disable(a->bird, bp[i].name, err, sizeof(err)) < 0)
			log_warnx("bird: disable %s: %s", bp[i].name, err);
	}
}

int
announce_reconcile(struct announcer *a, struct ctl *c, int *adopting)
{
	struct bird_proto	*bp = NULL;
	size_t			 n = 0, i, j;
	char			 err[256], reboot[64], *set = NULL;
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
	if (adopting && *adopting) {
		adopt(a, c, bp, n);
		*adopting = 0;
	}
	write_file(a, c);
	if (!set_matches(c, bp, n)) {
		free(set);
		set = proto_set(c);
		if (a->werr[0] != '\0') {
			/* The file does not hold the set: configure would
			 * only re-read the old one.  Said once, by write_file. */
		} else if (!configured && (a->configured == NULL ||
		    strcmp(a->configured, set) != 0)) {
			log_info("bird: protocol set differs from %s; "
			    "reconfiguring BIRD", a->path);
			free(a->configured);
			a->configured = set;
			set = NULL;
			if (bird_configure(a->bird, err, sizeof(err)) == -1) {
				log_warnx("bird: configure: %s", err);
				if (!bird_connected(a->bird))
					goto birdfail;
			}
			configured = 1;
			goto again;
		} else {
			if (!a->missing_warned)
				log_warnx("bird: BIRD's castiron protocols still "
				    "differ from %s after configure (does "
				    "bird.conf include \"%s/*.conf\", and does "
				    "BIRD accept its configuration?); not "
				    "reconfiguring again until the set changes",
				    a->path, a->dir);
			a->missing_warned = 1;
		}
		disable_strays(a, c, bp, n);
	} else
		a->missing_warned = 0;
	free(set);
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
	free(set);
	a->reconciling = 0;
	log_warnx("bird: %s", err);
	return -1;
}

int
announce_confirm_down(struct announcer *a, struct bird_proto **up,
    size_t *nup, char *err, size_t errlen)
{
	struct bird_proto	*bp = NULL;
	size_t			 n = 0, i, k = 0;
	int			 pass;

	*up = NULL;
	*nup = 0;
	for (pass = 0; pass < 2; pass++) {
		if (!bird_connected(a->bird)) {
			snprintf(err, errlen, "BIRD is not connected");
			return -1;
		}
		if (bird_protocols(a->bird, "castiron_*", &bp, &n, err,
		    errlen) == -1)
			return -1;
		for (i = 0, k = 0; i < n; i++) {
			if (strncmp(bp[i].name, "castiron_", 9) != 0 ||
			    strcmp(bp[i].state, "down") == 0)
				continue;
			bp[k++] = bp[i];
		}
		if (k == 0 || pass == 1)
			break;
		for (i = 0; i < k; i++) {
			char e[256];
			log_warnx("bird: %s is still %s after the drain; "
			    "disabling it", bp[i].name, bp[i].state);
			if (bird_disable(a->bird, bp[i].name, e,
			    sizeof(e)) < 0)
				log_warnx("bird: disable %s: %s", bp[i].name, e);
		}
		free(bp);
		bp = NULL;
	}
	if (k == 0) {
		free(bp);
		return 0;
	}
	*up = bp;
	*nup = k;
	return (int)k;
}
