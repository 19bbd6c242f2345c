/*
 * The BMC interface's dispatch (bmc.h): one handle per host, the driver's
 * operations behind it, and the names printed for states and actions.
 */
#include <stdlib.h>
#include <string.h>

#include "provision/bmc/bmc.h"
#include "lib/xmalloc.h"

volatile sig_atomic_t	bmc_interrupted;

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
