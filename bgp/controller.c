/*
 * The controller (see controller.h): rise and fall counting per service,
 * and the prefix rule.  Pure: no clock reads, no I/O, no logging, so the
 * unit tests drive it result by result.
 */
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/controller.h"
#include "lib/xmalloc.h"

void
ctl_proto_name(const struct prefix *p, char *buf, size_t len)
{
	char	 s[64], *c;

	prefix_str(p, s, sizeof(s));
	for (c = s; *c; c++)
		if (*c == '.' || *c == ':' || *c == '/')
			*c = '_';
	snprintf(buf, len, "castiron_p_%s", s);
}

static size_t
add_prefix(struct ctl *c, const struct prefix *p)
{
	size_t	 i;

	for (i = 0; i < c->nprefix; i++)
		if (prefix_equal(&c->prefix[i].p, p))
			return i;
	c->prefix = xreallocarray(c->prefix, c->nprefix + 1, sizeof(*c->prefix));
	memset(&c->prefix[c->nprefix], 0, sizeof(*c->prefix));
	c->prefix[c->nprefix].p = *p;
	c->prefix[c->nprefix].applied = -1;
	c->prefix[c->nprefix].pending = -1;
	prefix_str(p, c->prefix[c->nprefix].str, sizeof(c->prefix[0].str));
	ctl_proto_name(p, c->prefix[c->nprefix].proto, CTL_PROTO_LEN);
	return c->nprefix++;
}

/* Adds the n words of w to the list unless it has them already. */
static void
add_words(uint32_t **list, size_t *n, const uint32_t *w, size_t words)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (memcmp(&(*list)[i * words], w, words * sizeof(*w)) == 0)
			return;
	*list = xreallocarray(*list, (*n + 1) * words, sizeof(**list));
	memcpy(&(*list)[*n * words], w, words * sizeof(*w));
	(*n)++;
}

/* Adds what a carries to p's attributes: its communities and large
 * communities (each once), its MED if higher, or always when a is the
 * prefix's own. */
static void
add_attrs(struct ctl_prefix *p, const struct cfg_attrs *a, int own)
{
	size_t	 k;

	for (k = 0; k < a->ncommunities; k++)
		add_words(&p->comm, &p->ncomm, &a->communities[k], 1);
	for (k = 0; k < a->nlarge_communities; k++)
		add_words(&p->lcomm, &p->nlcomm, &a->large_communities[3 * k],
		    3);
	if (a->has_med && (own || !p->has_med || a->med > p->med)) {
		p->has_med = 1;
		p->med = (uint32_t)a->med;
	}
}

/* A prefix's attributes: the union of its services', then its own
 * ([prefix P]): its communities added after theirs, its MED instead of
 * theirs. */
static void
prefix_attrs(struct ctl *c, struct ctl_prefix *p, const struct cfg_prefix *own)
{
	size_t	 j;

	for (j = 0; j < p->nservices; j++)
		add_attrs(p, &c->service[p->services[j]].cfg.attrs, 0);
	if (own != NULL)
		add_attrs(p, &own->attrs, 1);
}

struct ctl *
ctl_new(const struct config *cfg, time_t now)
{
	struct ctl	*c = xcalloc(1, sizeof(*c));
	size_t		 i, j, k;

	c->service = xcalloc(cfg->nservice ? cfg->nservice : 1,
	    sizeof(*c->service));
	c->nservice = cfg->nservice;
	for (i = 0; i < cfg->nservice; i++) {
		struct ctl_service *s = &c->service[i];

		s->name = xstrdup(cfg->service[i].name);
		s->cfg = cfg->service[i];
		s->since = now;
		s->prefixes = xcalloc(cfg->service[i].nprefixes + 1,
		    sizeof(size_t));
		if (s->cfg.flap_limit > 0) {
			s->flap_size = s->cfg.flap_limit + 1;
			s->flaps = xcalloc(s->flap_size, sizeof(*s->flaps));
		}
		for (j = 0; j < cfg->service[i].nprefixes; j++)
			s->prefixes[s->nprefixes++] = add_prefix(c,
			    &cfg->service[i].prefixes[j]);
	}
	/* Each prefix's services: count, then fill (linear, not P x S). */
	for (i = 0; i < c->nservice; i++)
		for (j = 0; j < c->service[i].nprefixes; j++)
			c->prefix[c->service[i].prefixes[j]].nservices++;
	for (k = 0; k < c->nprefix; k++) {
		c->prefix[k].since = now;
		c->prefix[k].services = xcalloc(c->prefix[k].nservices + 1,
		    sizeof(size_t));
		c->prefix[k].nservices = 0;
	}
	for (i = 0; i < c->nservice; i++)
		for (j = 0; j < c->service[i].nprefixes; j++) {
			struct ctl_prefix *p =
			    &c->prefix[c->service[i].prefixes[j]];
			p->services[p->nservices++] = i;
		}
	for (k = 0; k < c->nprefix; k++) {
		c->prefix[k].others = -1;
		prefix_attrs(c, &c->prefix[k],
		    config_prefix(cfg, &c->prefix[k].p));
	}
	c->drain_local_pref = (uint32_t)cfg->bgp.drain_local_pref;
	c->drain_prepend = (unsigned)cfg->bgp.drain_prepend;
	c->drain_prepend_as = (uint32_t)cfg->bgp.drain_prepend_as;
	return c;
}

void
ctl_free(struct ctl *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nservice; i++) {
		free(c->service[i].name);
		free(c->service[i].prefixes);
		free(c->service[i].flaps);
	}
	for (i = 0; i < c->nprefix; i++) {
		free(c->prefix[i].services);
		free(c->prefix[i].comm);
		free(c->prefix[i].lcomm);
	}
	free(c->service);
	free(c->prefix);
	free(c);
}

/*
 * Flap damping: a transition is remembered (the last flap_limit + 1 of
 * them); more than flap_limit within flap_window hold the service down.
 */
static void
count_flap(struct ctl_service *s, time_t now, uint64_t now_ms)
{
	size_t	 i, n = 0;

	if (s->flap_size == 0)
		return;
	s->flaps[s->flap_next] = now_ms;
	s->flap_next = (s->flap_next + 1) % s->flap_size;
	if (s->nflaps < s->flap_size)
		s->nflaps++;
	for (i = 0; i < s->nflaps; i++)
		if (now_ms - s->flaps[i] < s->cfg.flap_window_ms)
			n++;
	if (n > s->cfg.flap_limit && s->held_until == 0) {
		s->held_until = now_ms + s->cfg.flap_hold_ms;
		s->held_until_wall = now + (time_t)(s->cfg.flap_hold_ms / 1000);
		s->held_changes = n;
	}
}

enum ctl_change
ctl_result(struct ctl *c, size_t i, int ok, int local, const char *reason,
    time_t now, uint64_t now_ms)
{
	struct ctl_service	*s = &c->service[i];

	snprintf(s->last_reason, sizeof(s->last_reason), "%s", reason);
	if (ok) {
		s->checks_ok++;
		s->ok_streak++;
		s->fail_streak = 0;
		if (!s->healthy && s->ok_streak >= s->cfg.rise) {
			s->healthy = 1;
			s->decided = 1;
			s->fell = 0;
			s->local_fail = 0;
			s->since = now;
			s->transitions++;
			count_flap(s, now, now_ms);
			return CTL_BECAME_HEALTHY;
		}
		return CTL_SAME;
	}
	s->checks_failed++;
	s->fail_streak++;
	s->ok_streak = 0;
	s->local_fail = local;
	snprintf(s->last_error, sizeof(s->last_error), "%s", reason);
	if (local)
		s->fell = 0;	/* the service's own process: withdraw */
	if (s->healthy && s->fail_streak >= s->cfg.fall) {
		s->healthy = 0;
		s->decided = 1;
		s->fell = s->cfg.fail_open && !local;
		s->since = now;
		s->transitions++;
		count_flap(s, now, now_ms);
		return CTL_BECAME_UNHEALTHY;
	}
	if (!s->healthy && !s->decided && s->fail_streak >= s->cfg.fall)
		s->decided = 1;		/* known down since start */
	return CTL_SAME;
}

size_t
ctl_release(struct ctl *c, uint64_t now_ms)
{
	size_t	 i, n = 0;

	for (i = 0; i < c->nservice; i++) {
		struct ctl_service *s = &c->service[i];

		if (s->held_until == 0 || s->held_until > now_ms)
			continue;
		s->held_until = 0;
		s->held_until_wall = 0;
		s->nflaps = s->flap_next = 0;
		n++;
	}
	return n;
}

uint64_t
ctl_next_release(const struct ctl *c)
{
	uint64_t	 t = UINT64_MAX;
	size_t		 i;

	for (i = 0; i < c->nservice; i++)
		if (c->service[i].held_until && c->service[i].held_until < t)
			t = c->service[i].held_until;
	return t;
}

int
ctl_guard_seen(struct ctl *c, size_t k, int others)
{
	struct ctl_prefix	*p = &c->prefix[k];
	int			 was = p->kept, knew = p->others != -1;

	p->others = others;
	if (!p->guarded || others == -1)
		return 0;
	p->kept = !others;
	/* The first answer decides too, even if it keeps what was. */
	return p->kept != was || !knew;
}

void
ctl_adopt(struct ctl *c, size_t i, time_t now)
{
	struct ctl_service	*s = &c->service[i];

	if (s->healthy)
		return;
	s->healthy = 1;
	s->decided = 1;
	s->since = now;
	s->ok_streak = 0;
	snprintf(s->last_reason, sizeof(s->last_reason),
	    "announced in BIRD when castiron started");
}

void
ctl_grace_begin(struct ctl *c)
{
	size_t	 k;

	c->gshut = 1;
	for (k = 0; k < c->nprefix; k++)
		c->prefix[k].grace_keep = c->prefix[k].want;
}

size_t
ctl_update(struct ctl *c, time_t now)
{
	size_t	 k, j, changed = 0;

	for (k = 0; k < c->nprefix; k++) {
		struct ctl_prefix	*p = &c->prefix[k];
		int			 hard = c->drained || p->nservices == 0 ||
		    (c->gshut && !p->grace_keep);
		int			 soft = 0, want;

		for (j = 0; j < p->nservices; j++) {
			const struct ctl_service *s =
			    &c->service[p->services[j]];

			if (s->held_until)
				hard = 1;
			else if (!s->healthy && s->fell)
				soft = 1;
			else if (!s->healthy)
				hard = 1;
		}
		if (hard || !soft) {
			p->guarded = p->kept = 0;
			want = !hard;
		} else {
			if (!p->guarded) {
				/* The guard starts from what was announced;
				 * BIRD's answer (ctl_guard_seen) decides. */
				p->guarded = 1;
				p->kept = p->want;
				p->others = -1;
			}
			want = p->kept;
		}
		if (c->gshut && !want)
			p->grace_keep = 0;	/* never announced anew */
		if (want != p->want) {
			p->want = want;
			p->since = now;
			changed++;
		}
	}
	return changed;
}

const char *
ctl_state(const struct ctl_service *s)
{
	if (s->healthy)
		return s->fail_streak > 0 ? "falling" : "up";
	if (s->ok_streak > 0)
		return "rising";
	return s->decided || s->fail_streak > 0 ? "down" : "unknown";
}

uint64_t
ctl_interval_ms(const struct ctl_service *s)
{
	if ((s->healthy && s->fail_streak > 0) ||
	    (!s->healthy && s->ok_streak > 0))
		return s->cfg.fast_interval_ms;
	return s->cfg.interval_ms;
}

static int
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
service_same(const struct cfg_service *a, const struct cfg_service *b)
{
	size_t	 i;

	if (a->check != b->check || a->expect != b->expect ||
	    a->shell != b->shell || a->interval_ms != b->interval_ms ||
	    a->fast_interval_ms != b->fast_interval_ms ||
	    a->timeout_ms != b->timeout_ms || a->rise != b->rise ||
	    a->fall != b->fall || a->nprefixes != b->nprefixes ||
	    !str_same(a->url, b->url) || !str_same(a->body, b->body) ||
	    !str_same(a->address, b->address) ||
	    !str_same(a->command, b->command) || !str_same(a->user, b->user))
		return 0;
	for (i = 0; i < a->nprefixes; i++)
		if (!prefix_equal(&a->prefixes[i], &b->prefixes[i]))
			return 0;
	return 1;
}

void
ctl_carry(struct ctl *n, const struct ctl *o)
{
	size_t	 i, j;

	n->drained = o->drained;
	n->gshut = o->gshut;
	for (i = 0; i < n->nservice; i++) {
		struct ctl_service *ns = &n->service[i];
		for (j = 0; j < o->nservice; j++) {
			const struct ctl_service *os = &o->service[j];
			if (strcmp(ns->name, os->name) != 0 ||
			    !service_same(&ns->cfg, &os->cfg))
				continue;
			ns->healthy = os->healthy;
			ns->decided = os->decided;
			ns->ok_streak = os->ok_streak;
			ns->fail_streak = os->fail_streak;
			ns->since = os->since;
			ns->checks_ok = os->checks_ok;
			ns->checks_failed = os->checks_failed;
			ns->transitions = os->transitions;
			ns->fell = os->fell && ns->cfg.fail_open;
			ns->local_fail = os->local_fail;
			ns->held_until = os->held_until;
			ns->held_until_wall = os->held_until_wall;
			ns->held_changes = os->held_changes;
			if (ns->flap_size == os->flap_size && ns->flap_size) {
				memcpy(ns->flaps, os->flaps,
				    ns->flap_size * sizeof(*ns->flaps));
				ns->nflaps = os->nflaps;
				ns->flap_next = os->flap_next;
			}
			memcpy(ns->last_reason, os->last_reason,
			    sizeof(ns->last_reason));
			memcpy(ns->last_error, os->last_error,
			    sizeof(ns->last_error));
			ns->next_run = os->next_run;
		}
	}
	for (i = 0; i < n->nprefix; i++)
		for (j = 0; j < o->nprefix; j++)
			if (prefix_equal(&n->prefix[i].p, &o->prefix[j].p)) {
				n->prefix[i].want = o->prefix[j].want;
				n->prefix[i].applied = o->prefix[j].applied;
				n->prefix[i].pending = o->prefix[j].pending;
				n->prefix[i].since = o->prefix[j].since;
				n->prefix[i].guarded = o->prefix[j].guarded;
				n->prefix[i].kept = o->prefix[j].kept;
				n->prefix[i].others = o->prefix[j].others;
				n->prefix[i].grace_keep =
				    o->prefix[j].grace_keep;
			}
}

static uint32_t
fnv(uint32_t h, const char *s)
{
	/* NULL and "" differ from each other and from every other value. */
	h = (h ^ (s ? 1u : 2u)) * 16777619u;
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h ^ 0xffu) * 16777619u;
}

void
ctl_service_id(const struct ctl_service *s, char *buf, size_t len)
{
	char		 num[32];
	uint32_t	 h = 2166136261u;

	snprintf(num, sizeof(num), "%d/%ld/%d", (int)s->cfg.check,
	    (long)s->cfg.expect, s->cfg.shell);
	h = fnv(h, num);
	h = fnv(h, s->cfg.url);
	h = fnv(h, s->cfg.body);
	h = fnv(h, s->cfg.address);
	h = fnv(h, s->cfg.command);
	h = fnv(h, s->cfg.user);
	snprintf(buf, len, "%s@%08x", s->name, h);
}

ssize_t
ctl_find_prefix(const struct ctl *c, const char *proto)
{
	size_t	 i;

	for (i = 0; i < c->nprefix; i++)
		if (strcmp(c->prefix[i].proto, proto) == 0)
			return (ssize_t)i;
	return -1;
}
