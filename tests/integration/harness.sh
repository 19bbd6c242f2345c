# The harness itself: tests/run must report, with the file's name and the
# reason, each way a test file can go wrong: a sanitizer report in a path
# that exits 1 as a refusal does, a plan not met, death before the plan, a
# hang (killed at its limit, children and all), a skip under CI, a file
# the shell cannot parse.  Each case is a small file in tests/harness/ run
# by a nested tests/run.
. tests/lib.sh

inner() {	# CI-value pattern [VAR=value...]: run the cases matching pattern
	_ci=$1; _pat=$2; shift 2
	env CI="$_ci" TESTS="$_pat" TESTS_DIR=tests/harness BUILD="$T/nobuild" "$@" \
	    sh tests/run >"$T/inner.out" 2>&1
	echo $? >"$T/inner.rc"
}
said() { grep -q -- "$1" "$T/inner.out"; }
inner_failed() { [ "$(cat "$T/inner.rc")" -ne 0 ]; }

inner "" good
ok "a good file passes" sh -c "[ $(cat "$T/inner.rc") -eq 0 ]"
ok "...and the closing line counts passes, failures and skips" said "^3 passed, 0 failed, 0 skipped$"

inner "" plan-short
ok "a plan of 3 with 2 results fails" inner_failed
ok "...naming the file and the count" said "not ok - harness/plan-short: planned 3 results, printed 2"

inner "" no-plan
ok "a file without a plan fails, even with exit 0" inner_failed
ok "...saying it died before its plan" said "not ok - harness/no-plan: died before its plan"

inner "" dies
ok "a file killed half-way fails" inner_failed
ok "...with its exit status and the missing plan" said "not ok - harness/dies: exited 137; died before its plan"

MARK=$$
t0=$(now_ms)
inner "" hang HARNESS_MARK=$MARK
took=$(($(now_ms) - t0))
ok "a hung file fails" inner_failed
ok "...at its own time limit, named" said "not ok - harness/hang: timed out after its limit of 2s"
check "...within its limit and the kill grace ($took ms)" "$took" -lt 20000
ok "...and its child is killed with it" wait_for 5 "sleep gone" sh -c "! pgrep -f '[s]leep 300.$MARK'"

# clang, as make check builds: GCC 12's UBSan ignores log_path.
clang -w -g -O0 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -o "$T/overflow" tests/harness/overflow.c
ok "the sanitized program builds" test -x "$T/overflow"
ok "unsanitized run: it refuses with exit 1" sh -c "'$T/overflow' none; [ \$? -eq 1 ]"
for mode in heap leak ub; do
	inner "" sanitizer HARNESS_SAN_PROG="$T/overflow" HARNESS_SAN_MODE=$mode \
	    ASAN_OPTIONS=detect_leaks=1
	ok "$mode: a sanitizer error in an exit-1 path fails the file" inner_failed
	ok "$mode: ...the sanitizer's own exit status breaks fails_with 1" \
	    said "not ok 1 - refused with exit 1 ($mode) (exit 86, wanted 1)"
	ok "$mode: ...and the report is found even where the status is ignored" \
	    said "not ok - harness/sanitizer: sanitizer report: .*san\\."
	ok "$mode: ...and shown" said "! .*\(AddressSanitizer\|LeakSanitizer\|runtime error\)"
done

inner "" syntax HARNESS_MARK_FILE="$T/syntax.ran"
ok "a file the shell cannot parse fails" inner_failed
ok "...named, and said not to be run" \
    said "not ok - harness/syntax: the shell cannot parse it (sh -n), not run"
ok "...with the shell's own message" said "| .*syntax.sh: [0-9]*: Syntax error: end of file unexpected"
ok "...and none of it ran" test ! -e "$T/syntax.ran"
ok "...nor counted a result of it" said "^0 passed, 1 failed, 0 skipped$"

inner "" skips
ok "skips outside CI: the file passes" sh -c "[ $(cat "$T/inner.rc") -eq 0 ]"
ok "...counted in the closing line" said "^1 passed, 0 failed, 2 skipped$"
ok "...each listed with its reason" said "skip: needs a thing # SKIP the thing is not installed"
inner true skips
ok "under CI=true an ordinary skip fails the file" said "not ok - harness/skips: 1 skip(s) under CI=true"
ok "...but not one no machine of this kind can meet" sh -c "! grep -q '2 skip(s)' '$T/inner.out'"
done_testing
