# The inventory's unit tests (tests/unit/test_inventory.c) against a real
# PostgreSQL: the provisioning API, facts, host keys, five processes
# racing for one host, and what inv_open refuses, on the second backend.
. tests/lib.sh
. tests/lab/pglab.sh

BIN=${BUILD:-build}/tests/test_inventory
if [ ! -x "$BIN" ]; then
	_result 1 "$BIN is built (make unit)"
	done_testing
	exit 1
fi
pg_start_test
# cmocka prints its own TAP results and plan.
CMOCKA_MESSAGE_OUTPUT=TAP CASTIRON_TEST_DATABASE=$PGURL "$BIN"
