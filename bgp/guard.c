/*
 * The last-announcer guard (docs/bgp.md).  A prefix whose only failing
 * services are fail_open ones that fell for a reason outside the host
 * (a backend the check calls, not the service's own process) is
 * "guarded": it stays announced while BIRD's table holds no route for it
 * from BGP, that is, while this host may be the last one announcing it,
 * and is withdrawn as soon as another announcer shows.  castiron learns
 * that by asking BIRD `show route PREFIX where source = RTS_BGP` (the
 * routes learned from the upstream sessions, which the operator imports):
 * when a prefix becomes guarded, and again on every reconciliation, so
 * that a host that withdrew comes back once it is the last one left.
 */
#include <stdio.h>
#include <string.h>

#include "bgp/daemon_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct gq {
	struct bgpd	*d;
	char		 proto[CTL_PROTO_LEN];
};

/* The services that put the prefix under the guard, for the log. */
static void
why(const struct ctl *c, const struct ctl_prefix *p, char *buf, size_t len)
{
	size_t	 j, n = 0;

	buf[0] = '\0';
	for (j = 0; j < p->nservices; j++) {
		const struct ctl_service *s = &c->service[p->services[j]];

		if (s->healthy)
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s: %s",
		    n ? "; " : "", s->name, s->last_error);
		if (n >= len)
			break;
	}
}

static void
guard_done(struct bird *b, void *arg, int rc, const struct bird_reply *r,
    const char *err)
{
	struct gq		*q = arg;
	struct bgpd		*d = q->d;
	ssize_t			 k = ctl_find_prefix(d->ctl, q->proto);
	struct ctl_prefix	*p;
	char			 via[72], w[CTL_REASON_LEN * 2];
	struct err		 e;
	int			 n;

	(void)b;
	(void)err;
	if (k < 0)
		return;		/* gone with a reload */
	p = &d->ctl->prefix[k];
	p->asking = 0;
	if (rc == -1)
		return;		/* BIRD went; asked again on reconnecting */
	if ((n = bird_reply_routes(r, via, sizeof(via), &e)) == -1) {
		log_warnx("guard: show route %s: %s", p->str, e.msg);
		return;
	}
	if (!ctl_guard_seen(d->ctl, (size_t)k, n > 0))
		return;
	why(d->ctl, p, w, sizeof(w));
	if (p->kept)
		log_warnx("prefix %s: kept: last announcer (BIRD has no other "
		    "route for it; fail_open %s)", p->str, w);
	else
		log_warnx("prefix %s: another announcer is in BIRD's table (via "
		    "%s); withdrawing (fail_open %s)", p->str, via, w);
	d->dirty = 1;
}

void
guard_ask(struct bgpd *d, int all)
{
	char	 cmd[160];
	size_t	 k;

	if (!bird_connected(d->bird))
		return;
	for (k = 0; k < d->ctl->nprefix; k++) {
		struct ctl_prefix	*p = &d->ctl->prefix[k];
		struct gq		*q;

		if (!p->guarded || p->asking || (!all && p->others != -1))
			continue;
		q = xcalloc(1, sizeof(*q));
		q->d = d;
		snprintf(q->proto, sizeof(q->proto), "%s", p->proto);
		snprintf(cmd, sizeof(cmd), "show route %s where source = RTS_BGP",
		    p->str);
		if (bird_send(d->bird, cmd, d, guard_done, q) == 0)
			p->asking = 1;
	}
}

const char *
guard_note(const struct bgpd *d, size_t k)
{
	const struct ctl_prefix	*p = &d->ctl->prefix[k];
	size_t			 j;

	if (p->guarded && p->kept)
		return p->others == 0 ? "kept: last announcer" :
		    "kept: waiting for BIRD's table";
	if (p->guarded)
		return "withdrawn: another announcer is up";
	for (j = 0; j < p->nservices; j++)
		if (d->ctl->service[p->services[j]].held_until)
			return "held: a service of it flaps";
	if (d->ctl->gshut && p->want)
		return "graceful shutdown (65535:0)";
	return NULL;
}
