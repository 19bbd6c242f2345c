/*
 * The contract with BIRD, castiron's side.  castiron owns one file,
 * include_dir/castiron.conf, with one static protocol per prefix, named
 * castiron_p_ADDRESS_LENGTH, whose `disabled` line always says what
 * castiron wants.  A transition rewrites the file (atomically) and then
 * enables or disables that one protocol over the control socket, so that
 * a `birdc configure` by anyone, or a BIRD restart, finds the state
 * castiron wants in the file.  `configure` itself is issued only when the
 * set of prefixes changes.  Reconciliation compares BIRD's protocols with
 * what castiron wants and puts drift back.  See docs/bgp.md.
 */
#ifndef CASTIRON_ANNOUNCE_H
#define CASTIRON_ANNOUNCE_H

#include <stddef.h>

#include "bgp/bird.h"
#include "bgp/controller.h"

#define ANNOUNCE_FILE	"castiron.conf"

struct announcer;

struct announcer *announcer_new(const char *include_dir, struct bird *);
void		 announcer_free(struct announcer *);

/* The file's text for ctl (pure; the caller frees it). */
char		*announce_render(const struct ctl *);
/* Writes the file when its text changed; 0 or -1 (err). */
int		 announce_write(struct announcer *, const struct ctl *,
		    char *err, size_t errlen);

/*
 * The fast path: writes the file if needed, then enables or disables each
 * protocol whose applied state differs from what is wanted (logging each
 * change).  -1 when BIRD failed (the connection may have closed; the
 * next reconciliation repairs).
 */
int		 announce_flush(struct announcer *, struct ctl *);
/*
 * The slow path, every reconcile_interval and after (re)connecting: notices
 * a BIRD restart, reconfigures BIRD when protocols are missing or stale,
 * and puts back any protocol whose state drifted.  When adopt is set
 * (castiron just started), services whose prefixes BIRD announces are
 * taken as healthy instead of withdrawn.
 */
int		 announce_reconcile(struct announcer *, struct ctl *, int adopt);
/* Disables every protocol and writes the file so (on exit, drain). */
int		 announce_withdraw_all(struct announcer *, struct ctl *);

#endif
