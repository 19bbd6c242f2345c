# tests/integration/inventory_discovered.sh again, on PostgreSQL: the same
# check-ins, lists and claims give the same answers on both backends.
# time-limit: 180
BACKEND=postgresql
. tests/integration/inventory_discovered.sh
