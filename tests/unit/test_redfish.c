/*
 * Unit tests for the reading of Redfish replies (redfish_json.c): the
 * shapes real BMCs send, hostile and truncated replies, missing and
 * mistyped members, links that would lead off the BMC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "provision/bmc/redfish_int.h"

static json_t *
parse(const char *s)
{
	struct err	 e;
	json_t		*j = rfj_parse(s, strlen(s), &e);

	assert_non_null(j);
	return j;
}

static void
t_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "[1,2]", "\"On\"", "{\"a\":", "{\"a\":1,\"a\":2}", "nul",
		"{\"PowerState\":\"On\"", NULL
	};
	struct err	e;
	size_t		i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		err_clear(&e);
		assert_null(rfj_parse(bad[i], strlen(bad[i]), &e));
		assert_true(e.msg[0] != '\0');
	}
	assert_null(rfj_parse("{}", RF_MAXBODY + 1, &e));
	assert_non_null(strstr(e.msg, "too large"));
}

static void
t_links(void **state)
{
	json_t		*j;
	const char	*m[4];

	(void)state;
	j = parse("{\"Systems\":{\"@odata.id\":\"/redfish/v1/Systems\"},"
	    "\"Links\":{\"Sessions\":{\"@odata.id\":\"/redfish/v1/SessionService/Sessions\"}},"
	    "\"Managers\":{\"@odata.id\":\"https://elsewhere.example/redfish/v1/Managers\"},"
	    "\"Chassis\":{\"@odata.id\":\"/redfish/v1/../../etc/passwd\"},"
	    "\"Bad\":{\"@odata.id\":\"/redfish/v1/a b\"},"
	    "\"Num\":{\"@odata.id\":7},"
	    "\"Members\":[{\"@odata.id\":\"/redfish/v1/Systems/4F2A\"},"
	    "{\"@odata.id\":\"//evil/redfish\"},\"str\",{},"
	    "{\"@odata.id\":\"/redfish/v1/Systems/B\"}]}");
	assert_string_equal(rfj_link(j, "Systems"), "/redfish/v1/Systems");
	assert_string_equal(rfj_link2(j, "Links", "Sessions"),
	    "/redfish/v1/SessionService/Sessions");
	assert_null(rfj_link(j, "Managers"));
	assert_null(rfj_link(j, "Chassis"));
	assert_null(rfj_link(j, "Bad"));
	assert_null(rfj_link(j, "Num"));
	assert_null(rfj_link(j, "Missing"));
	assert_null(rfj_link2(j, "Missing", "Sessions"));
	assert_int_equal(rfj_members(j, m, 4), 2);
	assert_string_equal(m[0], "/redfish/v1/Systems/4F2A");
	assert_string_equal(m[1], "/redfish/v1/Systems/B");
	assert_int_equal(rfj_members(j, m, 1), 1);
	json_decref(j);
	j = parse("{\"Members\":{}}");
	assert_int_equal(rfj_members(j, m, 4), -1);
	json_decref(j);
}

static void
t_system(void **state)
{
	struct rfj_boot	 b;
	json_t		*j;

	(void)state;
	j = parse("{\"PowerState\":\"On\",\"@odata.etag\":\"W/\\\"7\\\"\","
	    "\"Boot\":{\"BootSourceOverrideTarget\":\"None\","
	    "\"BootSourceOverrideEnabled\":\"Disabled\","
	    "\"BootSourceOverrideMode\":\"UEFI\","
	    "\"BootSourceOverrideTarget@Redfish.AllowableValues\":[\"Pxe\",\"Hdd\"]},"
	    "\"Actions\":{\"#ComputerSystem.Reset\":{"
	    "\"target\":\"/redfish/v1/Systems/X/Actions/ComputerSystem.Reset\","
	    "\"ResetType@Redfish.AllowableValues\":[\"On\",\"ForceOff\"]}},"
	    "\"@Redfish.Settings\":{\"SettingsObject\":{\"@odata.id\":"
	    "\"/redfish/v1/Systems/X/Settings\"}}}");
	assert_int_equal(rfj_power(j), BMC_POWER_ON);
	assert_string_equal(rfj_etag(j), "W/\"7\"");
	assert_string_equal(rfj_reset_target(j),
	    "/redfish/v1/Systems/X/Actions/ComputerSystem.Reset");
	assert_int_equal(rfj_allows(rfj_reset_allowed(j), "On"), 1);
	assert_int_equal(rfj_allows(rfj_reset_allowed(j), "ForceRestart"), 0);
	assert_string_equal(rfj_settings(j), "/redfish/v1/Systems/X/Settings");
	assert_int_equal(rfj_boot(j, &b), 0);
	assert_string_equal(b.target, "None");
	assert_string_equal(b.mode, "UEFI");
	assert_int_equal(rfj_allows(b.targets, "Pxe"), 1);
	assert_int_equal(rfj_allows(b.targets, "Cd"), 0);
	json_decref(j);

	/* Mistyped and missing members: unknown, never a crash. */
	j = parse("{\"PowerState\":1,\"Boot\":[],\"Actions\":{"
	    "\"#ComputerSystem.Reset\":{\"target\":5,"
	    "\"ResetType@Redfish.AllowableValues\":\"On\"}},"
	    "\"@Redfish.Settings\":{\"SettingsObject\":\"/x\"}}");
	assert_int_equal(rfj_power(j), BMC_POWER_UNKNOWN);
	assert_int_equal(rfj_boot(j, &b), -1);
	assert_null(rfj_reset_target(j));
	assert_null(rfj_reset_allowed(j));
	assert_int_equal(rfj_allows(rfj_reset_allowed(j), "On"), -1);
	assert_null(rfj_settings(j));
	assert_null(rfj_etag(j));
	json_decref(j);
	j = parse("{\"PowerState\":\"PoweringOn\"}");
	assert_int_equal(rfj_power(j), BMC_POWER_UNKNOWN);
	json_decref(j);
}

static void
t_action_info(void **state)
{
	json_t	*j;

	(void)state;
	j = parse("{\"Parameters\":[{\"Name\":\"Other\",\"AllowableValues\":[\"x\"]},"
	    "{\"Name\":\"ResetType\",\"AllowableValues\":[\"On\",\"GracefulShutdown\"]}]}");
	assert_int_equal(rfj_allows(rfj_info_allowed(j, "ResetType"),
	    "GracefulShutdown"), 1);
	assert_null(rfj_info_allowed(j, "Nothing"));
	json_decref(j);
}

static void
t_mac(void **state)
{
	char	m[18];

	(void)state;
	assert_int_equal(rfj_mac("52:54:00:AB:cd:01", m), 0);
	assert_string_equal(m, "52:54:00:ab:cd:01");
	assert_int_equal(rfj_mac("52-54-00-AB-CD-02", m), 0);
	assert_string_equal(m, "52:54:00:ab:cd:02");
	assert_int_equal(rfj_mac("52:54:00:ab:cd", m), -1);
	assert_int_equal(rfj_mac("52:54:00:ab:cd:01:02", m), -1);
	assert_int_equal(rfj_mac("5:54:00:ab:cd:01", m), -1);
	assert_int_equal(rfj_mac("00:00:00:00:00:00", m), -1);
	assert_int_equal(rfj_mac("zz:54:00:ab:cd:01", m), -1);
	assert_int_equal(rfj_mac(NULL, m), -1);
	assert_int_equal(rfj_mac("", m), -1);
}

static void
t_message(void **state)
{
	json_t	*j;
	char	 m[64];

	(void)state;
	j = parse("{\"error\":{\"message\":\"general\",\"@Message.ExtendedInfo\":"
	    "[{\"Message\":\"Password\\u0007 bad\\nline\"}]}}");
	rfj_message(j, m, sizeof(m));
	assert_string_equal(m, "Password? bad?line");
	json_decref(j);
	j = parse("{\"error\":{\"message\":\"general\"}}");
	rfj_message(j, m, sizeof(m));
	assert_string_equal(m, "general");
	json_decref(j);
	j = parse("{\"error\":\"flat\"}");
	rfj_message(j, m, sizeof(m));
	assert_string_equal(m, "");
	json_decref(j);
	j = parse("{\"error\":{\"message\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}");
	rfj_message(j, m, sizeof(m));
	assert_int_equal(strlen(m), sizeof(m) - 1);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse_bad),
		cmocka_unit_test(t_links),
		cmocka_unit_test(t_system),
		cmocka_unit_test(t_action_info),
		cmocka_unit_test(t_mac),
		cmocka_unit_test(t_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
