# tests/integration/inventory_concurrency.sh on PostgreSQL.
# time-limit: 240
BACKEND=postgresql
. tests/integration/inventory_concurrency.sh
