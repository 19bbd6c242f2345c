/*
 * Which host keys castiron trusts, and when (docs/provision.md, "Host
 * keys"; docs/architecture.md, "Host keys").  A pure function: the unit
 * tests in tests/unit/test_shell.c cover each rule.
 *
 * In the deploy phase (inspect, image, configure) a host may present
 * the key the inventory pins for it, or the shared key of the deploy
 * environment ([provision] deploy_host_key): that one is accepted for
 * this phase only and never pinned, since every host holding the deploy
 * image holds it too.  A host with no pin may present a new key only
 * with --accept-new-hostkey (then pinned).  Any other key, and a key
 * other than the pinned one, is refused before authentication.
 *
 * A host network-booted by castiron checks in with a one-time token and
 * the key its deploy environment generated (provision/boot/boot.h): in
 * the deploy phase that key, and only it, is the host for this boot.
 *
 * In the installed phase (reboot, verify) only the pinned key (the one
 * configure generated and installed) is the host; the deploy key (the
 * configured one, or the one this run saw) means "not rebooted yet".
 * --accept-new-hostkey changes nothing there.
 */
#ifndef CASTIRON_PROVISION_TRUST_H
#define CASTIRON_PROVISION_TRUST_H

#include <stddef.h>

#include "lib/err.h"

enum hostkey_phase { HOSTKEY_PHASE_DEPLOY, HOSTKEY_PHASE_INSTALLED };

enum hostkey_verdict {
	HOSTKEY_PINNED,		/* the key the inventory pins */
	HOSTKEY_DEPLOY,		/* the deploy environment's key: not pinned */
	HOSTKEY_NEW,		/* no pin, --accept-new-hostkey: pin it */
	HOSTKEY_CHECKIN,	/* the key this boot checked in with (a
				   one-time token proved it): not pinned */
};

struct hostkey_in {
	const char		*host;		/* for messages */
	const char		*presented;
	const char		*pinned;	/* NULL or "" when none */
	const char		*deploy;	/* configured deploy key, or NULL */
	const char		*seen;		/* the deploy key this run saw */
	const char		*checkin;	/* the key this network boot
						   checked in with, or NULL */
	int			 accept_new;
	enum hostkey_phase	 phase;
};

/* A verdict, or -1 with one line in err (ERR_TRUST) naming both
 * fingerprints. */
int	hostkey_decide(const struct hostkey_in *, struct err *);
/*
 * A further session to a host whose first session presented first and
 * was accepted (an image pushed over several sessions): the key must be
 * that one, and must pass hostkey_decide as it stands now (the pin read
 * again; a new key is never accepted on a further session).  A verdict,
 * or -1 with one line in err (ERR_TRUST).
 */
int	hostkey_decide_more(const struct hostkey_in *, const char *first,
	    struct err *);

#endif
