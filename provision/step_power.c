/*
 * Power and boot, through the host's BMC (provision/bmc/).  power: the
 * BMC's serial is checked against the enrollment before anything is
 * powered (a BMC cabled to the wrong server must not have its disk
 * written), then a one-time network boot is set and the host is powered
 * on, or restarted when it was on, with a one-time token armed for the
 * boot service (provision/boot/).  boot: wait, within boot_timeout, for
 * the deploy environment to check in and then answer SSH with the key it
 * checked in with (or, where a site boots a deploy environment of its
 * own, with the configured deploy_host_key).  With
 * power = none both are recorded as done with a note: the host is
 * expected up in its deploy environment already.  Also the BMC half of
 * reboot = bmc: a one-time disk boot and a restart.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "provision/bmc/bmc.h"
#include "provision/boot/boot.h"
#include "provision/prov_int.h"

#define BOOT_EVERY_MS	1000
#define BOOT_DIAL_MS	2000

static struct bmc *
host_bmc(struct prov_host *h, char *pw, size_t pwlen)
{
	struct bmc_target	 t;
	struct bmc		*b;
	struct err		 e;

	if (bmc_target_init(&t, h->ctx->cfg, h->h.hostname, h->h.bmc,
	    h->h.bmc_driver, pw, pwlen, &e) != ERR_OK ||
	    (b = bmc_open(&t, &e)) == NULL) {
		phost_err(h, "%s", e.msg);
		return NULL;
	}
	return b;
}

/* A one-time boot from dev, then on (or restarted when on). */
static int
boot_once(struct prov_host *h, struct bmc *b, enum bmc_bootdev dev)
{
	enum bmc_power	 was;
	struct err	 e;

	if (bmc_power_get(b, &was, &e) != ERR_OK ||
	    bmc_boot_set(b, dev, 0, &e) != ERR_OK ||
	    bmc_power_set(b, BMC_CYCLE, &e) != ERR_OK) {
		phost_err(h, "%s", e.msg);
		return -1;
	}
	return phost_note(h, "one-time %s boot set; %s", bmc_bootdev_name(dev),
	    was == BMC_POWER_ON ? "restarted" : "powered on");
}

int
step_power(struct prov_host *h)
{
	struct bmc_identity	 id;
	struct bmc		*b;
	struct err		 e;
	char			 pw[256], tok[BOOT_TOKEN_HEX + 1];
	int			 rc = -1;

	if (h->ctx->cfg->provision.power == POWER_NONE) {
		snprintf(h->why, sizeof(h->why), "power = none: the host is "
		    "expected up in its deploy environment");
		return 0;
	}
	b = host_bmc(h, pw, sizeof(pw));
	explicit_bzero(pw, sizeof(pw));
	if (b == NULL)
		return -1;
	if (bmc_identity(b, &id, &e) != ERR_OK) {
		phost_err(h, "%s", e.msg);
		goto out;
	}
	if (*h->h.serial == '\0') {
		phost_err(h, "%s: no serial enrolled to check the BMC's (%s) "
		    "against; nothing powered", h->h.hostname,
		    *id.serial ? id.serial : "none");
		goto out;
	}
	if (strcmp(h->h.serial, id.serial) != 0) {
		phost_err(h, "%s: bmc %s: serial mismatch: enrolled %s, the BMC "
		    "says %s; nothing powered", h->h.hostname, h->h.bmc,
		    h->h.serial, *id.serial ? id.serial : "none");
		goto out;
	}
	/* The boot service hands this boot's one-time token to the host's
	 * deploy environment, which checks in with it and its host key. */
	if (boot_arm(h->ctx->cfg, h->h.hostname, (unsigned)(h->ctx->cfg->
	    boot.token_ttl_ms / 1000), tok, &e) != ERR_OK) {
		phost_err(h, "%s: arming the network boot: %s", h->h.hostname,
		    e.msg);
		goto out;
	}
	explicit_bzero(tok, sizeof(tok));
	h->checkin_fp[0] = '\0';
	rc = boot_once(h, b, BMC_BOOT_PXE);
out:
	bmc_close(b);
	return rc;
}

/* The boot's check-in, when it has come: its key is the host's.  0 with
 * *found 0 when it has not (yet). */
static int
checked_in(struct prov_host *h, int *found, time_t *when)
{
	struct boot_checkin	 c;
	struct err		 e;

	if (boot_checkin_read(h->ctx->cfg, h->h.hostname, &c, found, &e) !=
	    ERR_OK) {
		phost_err(h, "%s", e.msg);
		return -1;
	}
	if (!*found)
		return 0;
	snprintf(h->checkin_fp, sizeof(h->checkin_fp), "%s", c.fp);
	if (when)
		*when = c.time;
	return when ? 0 : phost_note(h, "checked in from %s with host key %s",
	    c.addr, c.fp);
}

/*
 * A run that resumes after the boot step of a network boot: the host is
 * still in the deploy environment that boot started (or, past reboot, in
 * its installed system), whose key castiron trusted for that boot only.
 * The boot's check-in is read again (it stays until the next power step
 * arms another boot), so that the deploy environment is met with the key
 * it checked in with, and image_transport = auto pulls as it would have.
 * Without a check-in on file (a site's own deploy environment, met by its
 * deploy_host_key, never checks in) nothing changes; when there is no
 * deploy_host_key either, the deploy environment's key cannot be known:
 * one line says so and what to do.
 */
int
phost_resume_boot(struct prov_host *h)
{
	char		 ts[32];
	struct tm	 tm;
	time_t		 when = 0;
	int		 found;

	if (h->ctx->cfg->provision.power == POWER_NONE)
		return 0;
	if (checked_in(h, &found, &when) == -1)
		return -1;
	if (found) {
		gmtime_r(&when, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		return phost_note(h, "resumed after its network boot: the "
		    "deploy environment's check-in of %s, host key %s, read "
		    "again", ts, h->checkin_fp);
	}
	if (*h->ctx->deploy_fp)
		return 0;
	phost_err(h, "%s: resuming at %s after a network boot whose check-in "
	    "is gone from %s/boot, so its deploy environment's key is not "
	    "known; start it again from power: castiron inventory set-state "
	    "%s enrolled --reason TEXT, then castiron provision %s",
	    h->h.hostname, prov_step_name(h->step),
	    h->ctx->cfg->castiron.state_dir, h->h.hostname, h->h.hostname);
	return -1;
}

int
step_boot(struct prov_host *h)
{
	const struct config	*cfg = h->ctx->cfg;
	uint64_t		 start = mono_ms(), tries = 0;
	int			 unreachable, found;

	if (cfg->provision.power == POWER_NONE) {
		snprintf(h->why, sizeof(h->why), "power = none: not booted by "
		    "castiron");
		return 0;
	}
	phost_status(h, 0, "boot");
	for (;;) {
		tries++;
		unreachable = 1;
		if (*h->checkin_fp == '\0' && checked_in(h, &found,
		    NULL) == -1)
			return -1;
		/* Without a check-in only a configured deploy key may be
		 * met: an unknown key is not tried before its check-in. */
		if ((*h->checkin_fp || *h->ctx->deploy_fp) &&
		    phost_session(h, HOSTKEY_PHASE_DEPLOY, BOOT_DIAL_MS,
		    &unreachable) == 0)
			return phost_note(h, "the deploy environment answered "
			    "after %llu ms", (unsigned long long)(mono_ms() -
			    start));
		if (!unreachable)
			return -1;	/* it answered, but wrongly */
		if (atomic_load(&h->ctx->stop))
			return -1;	/* the run's failure names the signal */
		if (mono_ms() - start + BOOT_EVERY_MS >
		    cfg->provision.boot_timeout_ms) {
			phost_err(h, "%s: the deploy environment did not answer "
			    "SSH within boot_timeout (%llu ms, %llu attempts)",
			    h->h.hostname,
			    (unsigned long long)cfg->provision.boot_timeout_ms,
			    (unsigned long long)tries);
			return -1;
		}
		phost_sleep_ms(BOOT_EVERY_MS);
	}
}

int
phost_bmc_disk_boot(struct prov_host *h)
{
	struct bmc	*b;
	char		 pw[256];
	int		 rc;

	b = host_bmc(h, pw, sizeof(pw));
	explicit_bzero(pw, sizeof(pw));
	if (b == NULL)
		return -1;
	rc = boot_once(h, b, BMC_BOOT_DISK);
	bmc_close(b);
	return rc;
}
