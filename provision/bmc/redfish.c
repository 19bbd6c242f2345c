/*
 * The redfish driver of the BMC interface (bmc.h).  Being written: every
 * operation fails with a clear message until it lands.
 */
#include "provision/bmc/bmc.h"

static enum err_code
redfish_open(struct bmc *b, struct err *e)
{
	(void)b;
	return err_set(e, ERR_FAIL, "the redfish driver is not built yet");
}

static void
redfish_close(struct bmc *b)
{
	(void)b;
}

const struct bmc_ops bmc_redfish_ops = {
	.name = "redfish",
	.open = redfish_open,
	.close = redfish_close,
};
