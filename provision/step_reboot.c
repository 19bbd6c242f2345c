/*
 * Reboot and verify.  reboot = ssh: start the reboot command detached,
 * drop the session (reboot = bmc: a one-time disk boot and a restart
 * through the BMC instead; reboot = kexec: the installed kernel started
 * from the deploy environment, step_kexec.c, or kexec_fallback's reboot
 * when the deploy kernel refuses), and wait until the host answers with
 * the key castiron installed (pinned by configure); while it still
 * answers with the deploy environment's key it has not gone down yet;
 * any other key stops the run.  verify: log in with that key and read
 * the marker configure wrote.  With reboot = none both are recorded as
 * not done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"
#include "provision/prov_int.h"
#include "provision/shell.h"

#define REBOOT_FIRST_MS	1500	/* the first look after the command */
#define REBOOT_EVERY_MS	500
#define REBOOT_DIAL_MS	2000	/* connect timeout while waiting */

static const char *const fallback_by[] = {
	[KEXEC_FALLBACK_BMC] = "the BMC", [KEXEC_FALLBACK_SSH] = "SSH"
};
static const char *const fallback_name[] = {
	[KEXEC_FALLBACK_NONE] = "none", [KEXEC_FALLBACK_BMC] = "bmc",
	[KEXEC_FALLBACK_SSH] = "ssh"
};

/*
 * reboot = kexec: 0 with *how the reboot still to do (REBOOT_KEXEC when
 * the kexec is under way), or -1.
 */
static int
reboot_kexec(struct prov_host *h, int *how)
{
	int	 fb = h->ctx->cfg->provision.kexec_fallback, rc;
	char	 why[400];

	*how = REBOOT_KEXEC;
	if ((rc = phost_kexec(h, why, sizeof(why))) == -1)
		return -1;
	if (rc == 0) {
		snprintf(h->why, sizeof(h->why), "kexec into %s, without firmware",
		    why);
		return 0;
	}
	if (fb == KEXEC_FALLBACK_NONE) {
		phost_err(h, "%s: kexec refused by the deploy kernel: %s; not "
		    "rebooted ([provision] kexec_fallback = none; bmc or ssh "
		    "would reboot through firmware instead)", h->h.hostname, why);
		return -1;
	}
	*how = fb == KEXEC_FALLBACK_BMC ? REBOOT_BMC : REBOOT_SSH;
	snprintf(h->why, sizeof(h->why), "kexec refused by the deploy kernel "
	    "(%.300s): rebooted by %s instead (kexec_fallback = %s)", why,
	    fallback_by[fb], fallback_name[fb]);
	return phost_note(h, "kexec refused by the deploy kernel: %s; "
	    "rebooting by %s instead (kexec_fallback = %s)", why,
	    fallback_by[fb], fallback_name[fb]);
}

int
step_reboot(struct prov_host *h)
{
	const struct config	*cfg = h->ctx->cfg;
	char			 want[SSH_FP_LEN], *q, *cmd;
	uint64_t		 start, tries = 0;
	int			 rc, unreachable, how = cfg->provision.reboot;

	if (cfg->provision.reboot == REBOOT_NONE) {
		snprintf(h->why, sizeof(h->why), "reboot = none: not rebooted");
		return 0;
	}
	if (phost_pinned(h, want) == -1)
		return -1;
	if (want[0] == '\0') {
		phost_err(h, "%s: no pinned host key for the installed system",
		    h->h.hostname);
		return -1;
	}
	if (h->sess == NULL) {
		/* A resumed run: is it already up as the installed system? */
		rc = phost_session(h, HOSTKEY_PHASE_INSTALLED,
		    cfg->provision.connect_timeout_ms, NULL);
		if (rc == -1)
			return -1;
		if (rc == 0) {
			phost_disconnect(h);
			return phost_note(h, "already running the installed "
			    "system (host key %s)", want);
		}
		if (phost_session(h, HOSTKEY_PHASE_DEPLOY,
		    cfg->provision.connect_timeout_ms, NULL) == -1)
			return -1;
	}
	if (how == REBOOT_KEXEC && reboot_kexec(h, &how) == -1)
		return -1;
	if (how == REBOOT_BMC) {
		/* Everything written is on the disk (the writer syncs
		 * what it writes, configure unmounts): restart by the BMC. */
		phost_disconnect(h);
		if (phost_bmc_disk_boot(h) == -1)
			return -1;
	} else if (how == REBOOT_SSH) {
		q = sh_quote(cfg->provision.reboot_command);
		cmd = xsprintf("(sleep 1; sh -c %s) </dev/null >/dev/null "
		    "2>&1 &", q);
		free(q);
		rc = phost_remote(h, "reboot", cmd, NULL, 0, NULL);
		free(cmd);
		phost_disconnect(h);
		if (rc == -1)
			return -1;
	}
	phost_status(h, 0, how == REBOOT_KEXEC ? "kexec" : "reboot");
	start = mono_ms();
	for (;;) {
		if (atomic_load(&h->ctx->stop))
			return -1;	/* the run's failure names the signal */
		if (mono_ms() - start > cfg->provision.reboot_timeout_ms) {
			phost_err(h, "%s: did not come back with the installed "
			    "system's key %s within %llu ms (%llu attempts)",
			    h->h.hostname, want,
			    (unsigned long long)cfg->provision.reboot_timeout_ms,
			    (unsigned long long)tries);
			return -1;
		}
		phost_sleep_ms(tries == 0 ? REBOOT_FIRST_MS : REBOOT_EVERY_MS);
		tries++;
		rc = phost_session(h, HOSTKEY_PHASE_INSTALLED, REBOOT_DIAL_MS,
		    &unreachable);
		if (rc == 0)
			return 0;
		if (rc == 1 || unreachable)
			continue;	/* not down yet, or not up yet */
		return -1;
	}
}

int
step_verify(struct prov_host *h)
{
	struct sess_result	 r;
	char			 line[300];
	int			 rc;

	if (h->ctx->cfg->provision.reboot == REBOOT_NONE) {
		snprintf(h->why, sizeof(h->why), "reboot = none: the installed "
		    "system was not booted, nothing to verify");
		return 0;
	}
	rc = phost_session(h, HOSTKEY_PHASE_INSTALLED,
	    h->ctx->cfg->provision.connect_timeout_ms, NULL);
	if (rc == 1)
		phost_err(h, "%s: verify: the host still presents the deploy "
		    "environment's key %s, not the installed system's",
		    h->h.hostname, h->presented);
	if (rc != 0)
		return -1;
	if (phost_remote(h, "verify", "cat " PROV_MARKER, NULL, 0, &r) == -1)
		return -1;
	snprintf(line, sizeof(line), "host=%s\n", h->h.hostname);
	if (strstr(r.out, line) == NULL || (h->prov_id[0] &&
	    strstr(r.out, h->prov_id) == NULL)) {
		phost_err(h, "%s: verify: the running system's %s is not this "
		    "run's (%.80s)", h->h.hostname, PROV_MARKER, r.out);
		sess_result_clear(&r);
		return -1;
	}
	sess_result_clear(&r);
	return 0;
}
