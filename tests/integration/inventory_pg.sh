# tests/integration/inventory.sh again, on PostgreSQL: the same commands
# give the same answers on both backends.
# time-limit: 180
BACKEND=postgresql
. tests/integration/inventory.sh
