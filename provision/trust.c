/*
 * The host key policy of provision/trust.h.
 */
#include <stdio.h>
#include <string.h>

#include "provision/trust.h"

static int
same(const char *a, const char *b)
{
	return a != NULL && *a != '\0' && b != NULL && strcmp(a, b) == 0;
}

int
hostkey_decide(const struct hostkey_in *k, struct err *err)
{
	int	 pinned = k->pinned != NULL && *k->pinned != '\0';
	int	 checkin = k->checkin != NULL && *k->checkin != '\0';

	/* A network boot's check-in names the only key its deploy
	 * environment may present: not even the pinned one (that is the
	 * installed system, still running). */
	if (checkin && k->phase == HOSTKEY_PHASE_DEPLOY) {
		if (same(k->checkin, k->presented))
			return HOSTKEY_CHECKIN;
		err_set(err, ERR_TRUST, "%s: the host presents %s, not the key "
		    "%s its deploy environment checked in with", k->host,
		    k->presented, k->checkin);
		return -1;
	}
	if (same(k->pinned, k->presented))
		return HOSTKEY_PINNED;
	if (k->phase == HOSTKEY_PHASE_INSTALLED) {
		if (same(k->deploy, k->presented) || same(k->seen, k->presented) ||
		    same(k->checkin, k->presented))
			return HOSTKEY_DEPLOY;
		if (!pinned)
			err_set(err, ERR_TRUST, "%s: no host key is pinned for "
			    "the installed system (it presents %s)", k->host,
			    k->presented);
		else
			err_set(err, ERR_TRUST, "%s: host key mismatch: the "
			    "host presents %s; the installed system's key is "
			    "%s and it is not the deploy key either", k->host,
			    k->presented, k->pinned);
		return -1;
	}
	/* The deploy image's key is known beforehand: a host booted into
	 * the deploy environment again (re-imaging) presents it. */
	if (same(k->deploy, k->presented))
		return HOSTKEY_DEPLOY;
	if (pinned) {
		err_set(err, ERR_TRUST, "%s: host key mismatch: the host "
		    "presents %s but the inventory pins %s (if the host was "
		    "really reinstalled: castiron inventory forget-key %s)",
		    k->host, k->presented, k->pinned, k->host);
		return -1;
	}
	if (k->accept_new)
		return HOSTKEY_NEW;
	if (k->deploy != NULL && *k->deploy != '\0')
		err_set(err, ERR_TRUST, "%s: unknown host key %s (not the "
		    "deploy image's key %s); pass --accept-new-hostkey to "
		    "trust it", k->host, k->presented, k->deploy);
	else
		err_set(err, ERR_TRUST, "%s: unknown host key %s and no pinned "
		    "key; pass --accept-new-hostkey to trust it", k->host,
		    k->presented);
	return -1;
}

int
hostkey_decide_more(const struct hostkey_in *k, const char *first,
    struct err *err)
{
	struct hostkey_in	 again = *k;

	if (!same(first, k->presented)) {
		err_set(err, ERR_TRUST, "%s: host key mismatch: a further "
		    "session is presented %s, the host's first session %s",
		    k->host, k->presented, first ? first : "(none)");
		return -1;
	}
	again.accept_new = 0;
	return hostkey_decide(&again, err);
}
