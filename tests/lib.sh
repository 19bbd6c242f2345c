# Shell helpers for integration tests: TAP output, assertions, bounded
# waits, and a scratch directory removed on exit.  Source it first.
#
#   . tests/lib.sh
#   ok "name" command...        passes when the command exits 0
#   fails_with 2 "name" cmd...  passes when the command exits exactly 2
#   wait_for 10 "what" cmd...   polls cmd every 0.05s, at most 10s
#   at_exit "cmd"               runs cmd on exit (last added runs first)

set -u
CASTIRON=${CASTIRON:-$PWD/build/castiron}
T=$(mktemp -d /tmp/castiron-t.XXXXXX)
_n=0
_failed=0
_exit_cmds=""

at_exit() { _exit_cmds="$1; $_exit_cmds"; }
_cleanup() { eval "$_exit_cmds" >/dev/null 2>&1; rm -rf "$T"; }
trap _cleanup EXIT
trap 'exit 129' HUP INT TERM

_result() {	# rc name
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

ok() {
	_name=$1; shift
	if "$@" >"$T/.out" 2>&1; then _result 0 "$_name"; else
		_result 1 "$_name"; sed 's/^/# /' "$T/.out" | head -20; fi
}

# fails_with CODE NAME CMD...: CMD must exit with CODE exactly.
fails_with() {
	_code=$1; _name=$2; shift 2
	"$@" >"$T/.out" 2>&1
	_rc=$?
	if [ "$_rc" -eq "$_code" ]; then _result 0 "$_name"; else
		_result 1 "$_name (exit $_rc, wanted $_code)"
		sed 's/^/# /' "$T/.out" | head -20; fi
}

# check NAME EXPR...: passes when the test(1) expression holds.
check() {
	_name=$1; shift
	if [ "$@" ]; then _result 0 "$_name"; else
		_result 1 "$_name"; echo "# failed: [ $* ]"; fi
}

wait_for() {	# seconds what cmd...
	_limit=$1; _what=$2; shift 2
	_tries=$((_limit * 20))
	while [ "$_tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
		_tries=$((_tries - 1))
	done
	echo "# timed out after ${_limit}s waiting for $_what"
	return 1
}

# The last stderr line of a command (for "one clear line" assertions).
stderr_of() { "$@" 2>&1 >/dev/null | tail -n 1; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
