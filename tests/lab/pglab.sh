# A private PostgreSQL for a test: Debian's postgresql server binaries
# (initdb, pg_ctl), a cluster in a temporary directory, run by an
# unprivileged user (postgres when the test runs as root, else the user
# running it), listening on a Unix socket in that directory only
# (listen_addresses = ''), stopped and removed when the test exits.
# Source it after tests/lib.sh.
#
#   pg_start            initdb, start, create database castiron; sets
#                       PGLAB (the directory), PGURL (castiron's
#                       [inventory] database for it)
#   pg_start_test       pg_start, or a failed result and the end of the
#                       test (it cannot run without its database)
#   pq SQL...           psql on database castiron (or $PGDB): unaligned,
#                       tuples only; exit 1 on an SQL error
#   pg_url DB           the URL of another database of the cluster
#   pg_dump_db [DB]     a dump of the database (to compare before/after)
#   pg_restart          the server restarted (every connection dropped)
#   pg_stop             stopped now (at_exit does it otherwise)
#
# The superuser is "castiron", trusted on the socket: the test's castiron
# processes and psql connect as it.

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGDB=${PGDB:-castiron}

_pg_as() {	# command... as the cluster's owner
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
		echo "# no PostgreSQL server binaries (postgresql-15; make deps-test installs it)"
		return 1
	fi
	PGLAB=$(mktemp -d /tmp/castiron-pg.XXXXXX) || return 1
	at_exit "pg_stop"
	chmod 755 "$PGLAB"
	[ "$(id -u)" = 0 ] && chown postgres: "$PGLAB"
	_pg_as "$PGBIN/initdb" -D "$PGLAB/data" -A trust -U castiron -E UTF8 \
		--locale=C.UTF-8 --no-sync >"$PGLAB/initdb.log" 2>&1 ||
		{ sed 's/^/# /' "$PGLAB/initdb.log"; return 1; }
	cat >>"$PGLAB/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PGLAB'
max_connections = 120
shared_buffers = 128MB
log_min_messages = warning
EOF
	_pg_as "$PGBIN/pg_ctl" -D "$PGLAB/data" -l "$PGLAB/server.log" -w -t 60 \
		start >/dev/null 2>&1 || { sed 's/^/# /' "$PGLAB/server.log" | tail -20; return 1; }
	PGURL="postgresql://castiron@/$PGDB?host=$PGLAB"
	psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "CREATE DATABASE $PGDB" >/dev/null
}

pg_start_test() {
	pg_start && return 0
	_result 1 "a PostgreSQL for the test"
	done_testing
	exit 1
}

pg_url() { echo "postgresql://castiron@/$1?host=$PGLAB"; }

pq() {
	psql -XAtq -v ON_ERROR_STOP=1 -h "$PGLAB" -U castiron -d "$PGDB" -c "$*"
}

pg_dump_db() {	# [DB]: without the random key of \restrict lines
	"$PGBIN/pg_dump" -h "$PGLAB" -U castiron "${1:-$PGDB}" |
		sed -e '/^\\restrict /d' -e '/^\\unrestrict /d'
}

pg_restart() {
	_pg_as "$PGBIN/pg_ctl" -D "$PGLAB/data" -l "$PGLAB/server.log" -w -t 60 \
		-m fast restart >/dev/null 2>&1
}

pg_stop() {
	[ -n "${PGLAB:-}" ] && [ -d "$PGLAB/data" ] || return 0
	_pg_as "$PGBIN/pg_ctl" -D "$PGLAB/data" -m immediate -w -t 30 stop >/dev/null 2>&1
	rm -rf "$PGLAB"
}
