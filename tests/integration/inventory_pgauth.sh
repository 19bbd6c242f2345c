# The fleet inventory over TLS with a password, as a remote appliance
# reaches it: a real PostgreSQL listening on 127.0.0.1 inside a network
# namespace of the test's own (nothing outside it can connect), TLS only
# (pg_hba refuses plaintext), SCRAM passwords.  sslmode=verify-full with
# the right CA works with the password from password_file or ~/.pgpass;
# a wrong CA, a certificate for another name, plaintext and a wrong
# password each fail with one line, and the password is never in a
# message, the inventory or JSON (nor in argv: a URL with one is refused,
# tests/integration/inventory_pg.sh).
# time-limit: 120
. tests/lib.sh
. tests/lab/pglab.sh

if [ "$(id -u)" != 0 ]; then
	skip "TLS to PostgreSQL in a network namespace" "needs root (ip netns)"
	done_testing
	exit 0
fi
NS=castiron-pgtls-$$
ip netns add "$NS" || { _result 1 "a network namespace"; done_testing; exit 1; }
at_exit "ip netns del $NS"
ip netns exec "$NS" ip link set lo up
inns() { ip netns exec "$NS" "$@"; }

PGLAB=$(mktemp -d /tmp/castiron-pg.XXXXXX)
at_exit "inns runuser -u postgres -- $PGBIN/pg_ctl -D $PGLAB/data -m immediate -w stop; rm -rf $PGLAB"
chmod 755 "$PGLAB"
chown postgres: "$PGLAB"
C="$PGLAB/tls"
mkdir "$C"
# A CA, a server certificate for "localhost" only, and a CA nobody used.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=castiron test CA" \
	-keyout "$C/ca.key" -out "$C/ca.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=another CA" \
	-keyout "$C/other.key" -out "$C/other.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" -keyout "$C/server.key" \
	-out "$C/server.csr" 2>/dev/null
printf 'subjectAltName = DNS:localhost\n' >"$C/ext"
openssl x509 -req -in "$C/server.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
	-CAcreateserial -days 2 -extfile "$C/ext" -out "$C/server.pem" 2>/dev/null
chown postgres: "$C/server.key" "$C/server.pem"
chmod 600 "$C/server.key"
check "the certificates were made" -s "$C/server.pem"

runuser -u postgres -- "$PGBIN/initdb" -D "$PGLAB/data" -A trust -U castiron -E UTF8 \
	--locale=C.UTF-8 --no-sync >"$PGLAB/initdb.log" 2>&1
cat >>"$PGLAB/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = 5432
unix_socket_directories = '$PGLAB'
ssl = on
ssl_cert_file = '$C/server.pem'
ssl_key_file = '$C/server.key'
password_encryption = scram-sha-256
log_connections = on
EOF
cat >"$PGLAB/data/pg_hba.conf" <<EOF
local   all all                 trust
hostssl all app  127.0.0.1/32   scram-sha-256
host    all all  127.0.0.1/32   reject
EOF
ok "PostgreSQL with TLS starts in the namespace" inns runuser -u postgres -- \
	"$PGBIN/pg_ctl" -D "$PGLAB/data" -l "$PGLAB/server.log" -w -t 60 start
PW='Corr3ct-h0rse-battery'
psql -XAtq -h "$PGLAB" -U castiron -d postgres -c "create role app login password '$PW'" \
	-c "create database castiron owner app" >/dev/null
check "nothing listens on 127.0.0.1:5432 outside the namespace" \
	"$(psql -XAtq "host=127.0.0.1 port=5432 user=app dbname=castiron connect_timeout=2" -c 'select 1' 2>&1 | grep -c 'select 1\|^1$')" = 0

URL="postgresql://app@localhost/castiron?sslmode=verify-full&sslrootcert=$C/ca.pem"
printf '%s\n' "$PW" >"$T/pass"
chmod 600 "$T/pass"
ini() {	# file url [password_file]
	printf '[castiron]\nsite = ams1\n[inventory]\ndatabase = %s\n' "$2" >"$1"
	[ -n "${3:-}" ] && printf 'password_file = %s\n' "$3" >>"$1"
	return 0
}
ini "$T/good.ini" "$URL" "$T/pass"
printf 'hostname,site\nweb1,ams1\nweb2,ams1\n' >"$T/h.csv"
ok "import over verify-full TLS, the password from password_file" inns "$CASTIRON" -c "$T/good.ini" inventory import "$T/h.csv"
ok "set-state over it" inns "$CASTIRON" -c "$T/good.ini" inventory set-state web1 maintenance --reason tls
check "the move is in the inventory" \
	"$(psql -XAtq -h "$PGLAB" -U castiron -d castiron -c "select count(*) from events where reason = 'tls' and site = 'ams1'")" = 1
check "castiron's sessions were TLS, as app" \
	"$(grep 'connection authorized: user=app database=castiron application_name=castiron' "$PGLAB/server.log" | grep -c 'SSL enabled')" -ge 2

one_line() {	# name pattern command...: exit 1, one stderr line matching, no password
	_on=$1; _op=$2; shift 2
	"$@" >/dev/null 2>"$T/err"; _orc=$?
	if [ "$_orc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$_op" "$T/err" &&
	    ! grep -q -- "$PW" "$T/err"; then
		_result 0 "$_on"
	else
		_result 1 "$_on (exit $_orc)"; sed 's/^/# /' "$T/err" | head -5
	fi
}
ini "$T/ca.ini" "postgresql://app@localhost/castiron?sslmode=verify-full&sslrootcert=$C/other.pem" "$T/pass"
one_line "a server certificate from another CA is refused" "certificate verify failed" \
	inns "$CASTIRON" -c "$T/ca.ini" inventory list
ini "$T/name.ini" "postgresql://app@127.0.0.1/castiron?sslmode=verify-full&sslrootcert=$C/ca.pem" "$T/pass"
one_line "a certificate for another name is refused" "does not match host name" \
	inns "$CASTIRON" -c "$T/name.ini" inventory list
ini "$T/plain.ini" "postgresql://app@localhost/castiron?sslmode=disable" "$T/pass"
one_line "plaintext is refused by the server" "no encryption" \
	inns "$CASTIRON" -c "$T/plain.ini" inventory list
printf 'not the password\n' >"$T/wrong"
chmod 600 "$T/wrong"
ini "$T/wrong.ini" "$URL" "$T/wrong"
one_line "a wrong password fails by name" "password authentication failed for user \"app\"" \
	inns "$CASTIRON" -c "$T/wrong.ini" inventory list
chmod 644 "$T/pass"
"$CASTIRON" -c "$T/good.ini" inventory list >/dev/null 2>"$T/err"; rc=$?
check "a password_file others can read is refused (exit 2)" "$rc $(grep -c 'readable by group or others' "$T/err")" = "2 1"
chmod 600 "$T/pass"

# ~/.pgpass instead of password_file
mkdir -p "$T/home"
printf 'localhost:5432:castiron:app:%s\n' "$PW" >"$T/home/.pgpass"
chmod 600 "$T/home/.pgpass"
ini "$T/pgpass.ini" "$URL"
ok "the password from ~/.pgpass" inns env HOME="$T/home" "$CASTIRON" -c "$T/pgpass.ini" inventory list

# Nothing castiron wrote holds the password.
check "the inventory holds no password" "$(pg_dump_db | grep -c -- "$PW")" = 0
inns "$CASTIRON" -c "$T/good.ini" inventory show web1 --format json >"$T/show.json"
check "show's JSON holds no password" "$(grep -c -- "$PW" "$T/show.json") $(grep -c '"hostname":"web1"' "$T/show.json")" = "0 1"

done_testing
