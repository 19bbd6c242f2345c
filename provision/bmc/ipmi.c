/*
 * The ipmi driver of the BMC interface (bmc.h).  Being written: every
 * operation fails with a clear message until it lands.
 */
#include "provision/bmc/bmc.h"

static enum err_code
ipmi_open(struct bmc *b, struct err *e)
{
	(void)b;
	return err_set(e, ERR_FAIL, "the ipmi driver is not built yet");
}

static void
ipmi_close(struct bmc *b)
{
	(void)b;
}

const struct bmc_ops bmc_ipmi_ops = {
	.name = "ipmi",
	.open = ipmi_open,
	.close = ipmi_close,
};
