/*
 * libFuzzer target for the reading of Redfish replies
 * (provision/bmc/redfish_json.c): any bytes either parse into a JSON
 * object or fail with a message; every accessor then copes with whatever
 * shape the object has, and a link it returns is always a same-BMC path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provision/bmc/redfish_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_link(const char *s)
{
	if (s != NULL && (!rfj_path_ok(s) || strncmp(s, "/redfish/", 9) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct err	 e;
	struct rfj_boot	 b;
	json_t		*j;
	const char	*m[8];
	char		 msg[256], mac[18];
	int		 n, i;

	err_clear(&e);
	if ((j = rfj_parse((const char *)data, len, &e)) == NULL) {
		if (e.msg[0] == '\0')
			abort();
		return 0;
	}
	check_link(rfj_link(j, "Systems"));
	check_link(rfj_link2(j, "Links", "Sessions"));
	check_link(rfj_reset_target(j));
	check_link(rfj_action_info(j));
	check_link(rfj_settings(j));
	n = rfj_members(j, m, 8);
	if (n > 8)
		abort();
	for (i = 0; i < n; i++)
		check_link(m[i]);
	(void)rfj_power(j);
	(void)rfj_allows(rfj_reset_allowed(j), "On");
	(void)rfj_allows(rfj_info_allowed(j, "ResetType"), "ForceOff");
	if (rfj_boot(j, &b) == 0)
		(void)rfj_allows(b.targets, "Pxe");
	(void)rfj_etag(j);
	if (rfj_mac(rfj_str(j, "MACAddress"), mac) == 0 && strlen(mac) != 17)
		abort();
	rfj_message(j, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg))
		abort();
	json_decref(j);
	return 0;
}
