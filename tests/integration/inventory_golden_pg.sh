# tests/integration/inventory_golden.sh on PostgreSQL: every output byte
# for byte the same golden file as on SQLite.
BACKEND=postgresql
. tests/integration/inventory_golden.sh
