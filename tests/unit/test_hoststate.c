/*
 * Unit tests for inventory/hoststate.c: the whole transition table of
 * docs/architecture.md ("The life of a host"), cell by cell, for the
 * operator and for provision.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "inventory/hoststate.h"

/* The table of docs/architecture.md, written out as strings so a typo in
 * either shows. */
static const char *const operator_legal[HS_COUNT] = {
	[HS_ENROLLED] = "maintenance, retired",
	[HS_PROVISIONING] = "failed",
	[HS_ACTIVE] = "maintenance, retired",
	[HS_FAILED] = "enrolled, maintenance, retired",
	[HS_MAINTENANCE] = "enrolled, active, retired",
	[HS_RETIRED] = "enrolled",
};
static const char *const provision_legal[HS_COUNT] = {
	[HS_ENROLLED] = "provisioning",
	[HS_PROVISIONING] = "active, failed",
	[HS_ACTIVE] = "none",
	[HS_FAILED] = "provisioning",
	[HS_MAINTENANCE] = "provisioning",
	[HS_RETIRED] = "none",
};

static void
t_names(void **st)
{
	int	 i;

	(void)st;
	for (i = 0; i < HS_COUNT; i++)
		assert_int_equal(host_state_parse(host_state_name(i)), i);
	assert_int_equal(host_state_parse("Active"), -1);
	assert_int_equal(host_state_parse(""), -1);
	assert_int_equal(host_state_parse(NULL), -1);
	assert_null(host_state_name(HS_COUNT));
	assert_null(host_state_name(-1));
	for (i = STEP_POWER; i < STEP_COUNT; i++)
		assert_int_equal(prov_step_parse(prov_step_name(i)), i);
	assert_int_equal(prov_step_parse(""), STEP_NONE);
	assert_int_equal(prov_step_parse(NULL), STEP_NONE);
	assert_int_equal(prov_step_parse("format"), -1);
	assert_null(prov_step_name(STEP_NONE));
	assert_string_equal(prov_step_name(STEP_IMAGE), "image");
	/* where a failed host resumes, by its last verified step */
	assert_int_equal(prov_step_resume(STEP_NONE), STEP_POWER);
	assert_int_equal(prov_step_resume(STEP_POWER), STEP_POWER);
	assert_int_equal(prov_step_resume(STEP_BOOT), STEP_INSPECT);
	assert_int_equal(prov_step_resume(STEP_IMAGE), STEP_CONFIGURE);
	assert_int_equal(prov_step_resume(STEP_REBOOT), STEP_VERIFY);
	assert_int_equal(prov_step_resume(STEP_VERIFY), STEP_VERIFY);
	assert_int_equal(prov_step_resume(-1), STEP_POWER);
	assert_true(STEP_POWER < STEP_BOOT && STEP_BOOT < STEP_INSPECT &&
	    STEP_INSPECT < STEP_IMAGE && STEP_IMAGE < STEP_CONFIGURE &&
	    STEP_CONFIGURE < STEP_REBOOT && STEP_REBOOT < STEP_VERIFY);
}

static void
t_operator_table(void **st)
{
	char	 buf[128];
	int	 from;

	(void)st;
	for (from = 0; from < HS_COUNT; from++)
		assert_string_equal(host_state_legal(HS_BY_OPERATOR, from, 0,
		    buf, sizeof(buf)), operator_legal[from]);
	assert_true(host_state_allowed(HS_BY_OPERATOR, HS_ACTIVE,
	    HS_MAINTENANCE, 0));
	assert_false(host_state_allowed(HS_BY_OPERATOR, HS_ENROLLED,
	    HS_ACTIVE, 0));
	assert_false(host_state_allowed(HS_BY_OPERATOR, HS_ENROLLED,
	    HS_PROVISIONING, 0));
	assert_false(host_state_allowed(HS_BY_OPERATOR, HS_RETIRED,
	    HS_ACTIVE, 0));
	/* force is for provision only */
	assert_false(host_state_allowed(HS_BY_OPERATOR, HS_ACTIVE,
	    HS_PROVISIONING, 1));
}

static void
t_provision_table(void **st)
{
	char	 buf[128];
	int	 from;

	(void)st;
	for (from = 0; from < HS_COUNT; from++)
		assert_string_equal(host_state_legal(HS_BY_PROVISION, from, 0,
		    buf, sizeof(buf)), provision_legal[from]);
	assert_false(host_state_allowed(HS_BY_PROVISION, HS_ACTIVE,
	    HS_PROVISIONING, 0));
	assert_true(host_state_allowed(HS_BY_PROVISION, HS_ACTIVE,
	    HS_PROVISIONING, 1));
	assert_string_equal(host_state_legal(HS_BY_PROVISION, HS_ACTIVE, 1,
	    buf, sizeof(buf)), "provisioning");
	assert_false(host_state_allowed(HS_BY_PROVISION, HS_RETIRED,
	    HS_PROVISIONING, 1));
	assert_true(host_state_allowed(HS_BY_PROVISION, HS_FAILED,
	    HS_PROVISIONING, 0));
}

static void
t_edges(void **st)
{
	char	 small[8];
	int	 a, b;

	(void)st;
	for (a = 0; a < HS_COUNT; a++) {
		assert_false(host_state_allowed(HS_BY_OPERATOR, a, a, 0));
		assert_false(host_state_allowed(HS_BY_PROVISION, a, a, 1));
		for (b = -1; b <= HS_COUNT; b += HS_COUNT + 1) {
			assert_false(host_state_allowed(HS_BY_OPERATOR, a, b, 0));
			assert_false(host_state_allowed(HS_BY_OPERATOR, b, a, 0));
		}
	}
	/* a short buffer is truncated, never overrun */
	host_state_legal(HS_BY_OPERATOR, HS_FAILED, 0, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_operator_table),
		cmocka_unit_test(t_provision_table),
		cmocka_unit_test(t_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
