# Shell helpers for integration tests: TAP output, assertions, bounded
# waits, skips, and a scratch directory removed on exit.  Source it first.
#
#   . tests/lib.sh
#   ok "name" command...        passes when the command exits 0
#   fails_with 2 "name" cmd...  passes when the command exits exactly 2
#   check "name" EXPR...        passes when the test(1) expression holds
#   wait_for 10 "what" cmd...   polls cmd until it exits 0, for at most 10
#                               seconds of wall clock (decimals allowed)
#   within MS "name" cmd...     passes when cmd exits 0 within MS milliseconds
#   skip "name" "reason"        a result that is neither pass nor fail; under
#                               CI=true tests/run counts it as a failure
#   skip_never_here "name" "reason"
#                               a skip for a reason no machine of this
#                               project's kind can meet (CI accepts it)
#   now_ms                      the wall clock in milliseconds
#   free_port                   a TCP port on 127.0.0.1 that the kernel
#                               says is free (other tests run beside)
#   at_exit "cmd"               runs cmd on exit (last added runs first)
#   done_testing                prints the plan; exit status 1 on a failure
#
# tests/run checks the plan: a file that prints fewer results than its
# plan, or dies before it, fails with its name.  Each file runs under a time
# limit (a "# time-limit: SECONDS" line near its top raises the default).

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

skip() {	# name reason
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

skip_never_here() {	# name reason
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP never-here: $2"
}

now_ms() { date +%s%3N; }

free_port() {
	python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# wait_for SECONDS WHAT CMD...: bounded by the clock, not by a count of
# tries, so a slow command does not stretch the bound.
wait_for() {
	_limit=$1; _what=$2; shift 2
	_until=$(( $(now_ms) + $(awk -v s="$_limit" 'BEGIN { printf "%d", s * 1000 }') ))
	while :; do
		"$@" >/dev/null 2>"$T/.why" && return 0
		[ "$(now_ms)" -lt "$_until" ] || break
		sleep 0.05
	done
	echo "# timed out after ${_limit}s waiting for $_what"
	# what the last attempt said about itself (rt_why and the like)
	sed 's/^/#   /' "$T/.why" | head -20
	return 1
}

# within MS NAME CMD...: CMD (typically a wait_for) must succeed, and in
# no more than MS milliseconds of wall clock.
within() {
	_ms=$1; _name=$2; shift 2
	_t0=$(now_ms)
	if "$@" >"$T/.out" 2>&1; then
		_took=$(( $(now_ms) - _t0 ))
		if [ "$_took" -le "$_ms" ]; then
			_result 0 "$_name (${_took} ms, bound ${_ms} ms)"
		else
			_result 1 "$_name (took ${_took} ms, bound ${_ms} ms)"
		fi
	else
		_result 1 "$_name"; sed 's/^/# /' "$T/.out" | head -20
	fi
}

# The last stderr line of a command (for "one clear line" assertions).
stderr_of() { "$@" 2>&1 >/dev/null | tail -n 1; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
