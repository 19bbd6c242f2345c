/*
 * The BMC interface's dispatch (bmc.h): one handle per host, the driver's
 * operations behind it, and the names printed for states and actions.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"
#include "provision/bmc/bmc.h"
#include "lib/xmalloc.h"

volatile sig_atomic_t	bmc_interrupted;

void
bmc_sleep_ms(uint64_t ms)
{
	struct timespec	ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && !bmc_interrupted)
		;
}

/*
 * Reads a BMC password file: a regular file, not readable or writable by
 * group or others, the first line without its newline.  The message
 * names the file, never its content.
 */
static enum err_code
read_password(const char *path, char *out, size_t len, struct err *e)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return err_errno(e, errno == ENOENT ? ERR_NOENT : ERR_INVAL,
		    "%s", path);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_INVAL, "%s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return err_set(e, ERR_INVAL, "%s: readable by group or others "
		    "(chmod 600)", path);
	}
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		return err_errno(e, ERR_FAIL, "%s", path);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (*out == '\0')
		return err_set(e, ERR_INVAL, "%s: empty", path);
	return ERR_OK;
}

static enum err_code
host_password(const struct config *cfg, const char *hostname, char *out,
    size_t len, struct err *e)
{
	char		 path[4096];
	enum err_code	 rc;

	if (cfg->bmc.password_dir && strchr(hostname, '/') == NULL) {
		snprintf(path, sizeof(path), "%s/%s", cfg->bmc.password_dir,
		    hostname);
		if ((rc = read_password(path, out, len, e)) != ERR_NOENT)
			return rc;
		err_clear(e);		/* none for this host: the site's */
	}
	if (cfg->bmc.password_file == NULL)
		return err_set(e, ERR_INVAL, "no BMC password: neither "
		    "[bmc] password_dir/%s nor [bmc] password_file", hostname);
	return read_password(cfg->bmc.password_file, out, len, e);
}

enum err_code
bmc_target_init(struct bmc_target *t, const struct config *cfg,
    const char *hostname, const char *bmc, const char *driver, char *pw,
    size_t pwlen, struct err *e)
{
	memset(t, 0, sizeof(*t));
	if (bmc == NULL || *bmc == '\0')
		return err_set(e, ERR_INVAL, "%s: no BMC enrolled", hostname);
	if (host_password(cfg, hostname, pw, pwlen, e) != ERR_OK)
		return err_prefix(e, "%s", hostname);
	t->hostname = hostname;
	t->address = bmc;
	t->driver = driver && strcmp(driver, "ipmi") == 0 ? BMC_IPMI :
	    driver && strcmp(driver, "redfish") == 0 ? BMC_REDFISH :
	    (enum bmc_driver)cfg->bmc.driver;
	t->username = cfg->bmc.username;
	t->password = pw;
	t->ca_bundle = cfg->bmc.ca_bundle;
	t->tls_verify = cfg->bmc.tls_verify;
	t->allow_ipmi15 = cfg->bmc.allow_ipmi15;
	t->boot_mode = cfg->bmc.boot_mode;
	t->connect_timeout_ms = (unsigned)cfg->bmc.connect_timeout_ms;
	t->io_timeout_ms = (unsigned)cfg->bmc.io_timeout_ms;
	t->power_timeout_ms = (unsigned)cfg->bmc.power_timeout_ms;
	return ERR_OK;
}

struct bmc *
bmc_open(const struct bmc_target *t, struct err *e)
{
	struct bmc	*b;

	b = xcalloc(1, sizeof(*b));
	b->t = *t;
	b->ops = t->driver == BMC_IPMI ? &bmc_ipmi_ops : &bmc_redfish_ops;
	if (b->ops->open(b, e) != ERR_OK) {
		err_prefix(e, "%s: bmc %s", t->hostname, t->address);
		b->ops->close(b);
		free(b);
		return NULL;
	}
	return b;
}

#define BMC_CALL(b, e, call) do {					\
	enum err_code	rc_ = (call);					\
	if (rc_ != ERR_OK)						\
		err_prefix((e), "%s: bmc %s", (b)->t.hostname,		\
		    (b)->t.address);					\
	return rc_;							\
} while (0)

enum err_code
bmc_power_get(struct bmc *b, enum bmc_power *p, struct err *e)
{
	BMC_CALL(b, e, b->ops->power_get(b, p, e));
}

enum err_code
bmc_power_set(struct bmc *b, enum bmc_action a, struct err *e)
{
	BMC_CALL(b, e, b->ops->power_set(b, a, e));
}

enum err_code
bmc_boot_set(struct bmc *b, enum bmc_bootdev d, int persistent,
    struct err *e)
{
	BMC_CALL(b, e, b->ops->boot_set(b, d, persistent, e));
}

enum err_code
bmc_identity(struct bmc *b, struct bmc_identity *id, struct err *e)
{
	memset(id, 0, sizeof(*id));
	BMC_CALL(b, e, b->ops->identity(b, id, e));
}

void
bmc_close(struct bmc *b)
{
	if (b == NULL)
		return;
	b->ops->close(b);
	free(b);
}

const char *
bmc_power_name(enum bmc_power p)
{
	return p == BMC_POWER_ON ? "on" : p == BMC_POWER_OFF ? "off" :
	    "unknown";
}

const char *
bmc_action_name(enum bmc_action a)
{
	switch (a) {
	case BMC_ON:		return "on";
	case BMC_OFF:		return "off";
	case BMC_CYCLE:		return "cycle";
	case BMC_SOFT_OFF:	return "soft-off";
	}
	return "?";
}

const char *
bmc_bootdev_name(enum bmc_bootdev d)
{
	return d == BMC_BOOT_PXE ? "pxe" : "disk";
}

const char *
bmc_driver_name(enum bmc_driver d)
{
	return d == BMC_IPMI ? "ipmi" : "redfish";
}
