/*
 * The contract with BIRD, castiron's side.  castiron owns one file,
 * include_dir/castiron.conf, with one static protocol per prefix, named
 * castiron_p_ADDRESS_LENGTH, whose `disabled` line always says what
 * castiron wants.  A transition rewrites the file (atomically) and then
 * enables or disables that one protocol over the control socket, so that
 * a `birdc configure` by anyone, or a BIRD restart, finds the state
 * castiron wants in the file.  `configure` itself is issued only when the
 * set of prefixes or a route's attributes (communities, MED, a drain's
 * GRACEFUL_SHUTDOWN) change.  Reconciliation compares BIRD's protocols with
 * what castiron wants and puts drift back.  See docs/bgp.md.
 */
#ifndef CASTIRON_ANNOUNCE_H
#define CASTIRON_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "bgp/bird.h"
#include "bgp/controller.h"

#define ANNOUNCE_FILE	"castiron.conf"

struct announcer;

struct announcer *announce_new(const char *include_dir, struct bird *);
void		 announce_free(struct announcer *);

/* The file's text for ctl (pure; the caller frees it).  Before each
 * protocol, a comment names the services of its prefix (ctl_service_id),
 * which a restart reads back (announce_read_prior). */
char		*announce_render(const struct ctl *);
/* A file's routes and their attributes: its text less the comments and
 * the 'disabled' lines (what a configure would change in BIRD; pure; the
 * caller frees it). */
char		*announce_routes_of(const char *text);
/* Whether BIRD took (answered a configure for) the routes and attributes
 * of the file last written. */
int		 announce_attrs_applied(const struct announcer *);
/* Whether a file's text (as announce_render writes it) lists the service
 * id among the services of protocol proto (pure). */
int		 announce_text_lists(const char *text, const char *proto,
		    const char *id);
/* Keeps the include file as found, before the first write, so that the
 * first contact with BIRD adopts only what the same services announced. */
void		 announce_read_prior(struct announcer *);
/* Writes the file when its text changed; ERR_OK, or the code with err
 * filled. */
enum err_code	 announce_write(struct announcer *, const struct ctl *,
		    struct err *);
/* Why the include file could not be written last time; NULL when it was
 * (or has not been tried yet). */
const char	*announce_error(const struct announcer *);
const char	*announce_path(const struct announcer *);

/*
 * The fast path: writes the file if needed, then sends enable or disable
 * for each protocol whose applied state differs from what is wanted and
 * has no such command out; each reply sets applied (and logs the change).
 * When the routes' attributes changed (announce_routes_of the file), a
 * reconciliation follows, which sends the one `configure` BIRD needs to
 * learn them (in the daemon only, once it has reconciled).
 * -1 when BIRD is not connected or the file could not be written (the
 * next reconciliation repairs).  Replies go to the ctl last passed to
 * flush or reconcile, which must stay alive until the next such call.
 */
int		 announce_flush(struct announcer *, struct ctl *);
/*
 * The slow path, every reconcile_interval and after (re)connecting: notices
 * a BIRD restart, reconfigures BIRD when protocols are missing or stale
 * (once per protocol set, and never while the file cannot be written),
 * disables castiron_* protocols BIRD runs that the file no longer has,
 * and puts back any protocol whose state drifted.  When adopt is non-NULL
 * and set (castiron started and has not yet reached BIRD), services that
 * have not decided, and whose prefixes BIRD announces with the same
 * services as before the restart, are taken as healthy instead of
 * withdrawn; *adopt is cleared once BIRD has answered.
 */
int		 announce_reconcile(struct announcer *, struct ctl *, int *adopt);
/* Disables every protocol and writes the file so (on exit, drain). */
int		 announce_withdraw_all(struct announcer *, struct ctl *);
/*
 * After a drain: asks BIRD for every castiron_* protocol, disables those
 * still up (tracked by castiron or not), and asks again.  fn is called
 * once, maybe at once: n how many are still up (up lists them, valid
 * during the call), or -1 when BIRD did not answer (err).
 */
typedef void (*announce_confirm_fn)(void *ctx, uint64_t cookie, int n,
	    const struct bird_proto *up, const char *err);
void		 announce_confirm_down(struct announcer *,
		    announce_confirm_fn fn, void *ctx, uint64_t cookie);
/* Whether a prefix's state in BIRD changed since the last call (for the
 * metrics). */
int		 announce_take_changed(struct announcer *);
/* Whether a reconciliation is under way. */
int		 announce_busy(const struct announcer *);

#endif
