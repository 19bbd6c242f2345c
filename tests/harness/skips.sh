# Harness self-test case: one ordinary skip, one for a reason no machine
# of this kind can meet.
. tests/lib.sh
ok "runs" true
skip "needs a thing" "the thing is not installed"
skip_never_here "needs a GPU" "no machine of this kind has one"
done_testing
