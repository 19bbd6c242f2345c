# tests/integration/inventory_html.sh on PostgreSQL.
BACKEND=postgresql
. tests/integration/inventory_html.sh
