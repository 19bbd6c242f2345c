# Harness self-test case: all is well, and wait_for keeps its bound in
# seconds even when the command it polls is slow.
. tests/lib.sh
ok "true is true" true
check "one is one" 1 -eq 1
t0=$(now_ms)
wait_for 1 "never" sh -c 'sleep 0.4; false'
rc=$?
took=$(($(now_ms) - t0))
check "wait_for gives up after its bound, not after a count of tries" \
    "$rc" -ne 0 -a "$took" -ge 1000 -a "$took" -lt 2500
done_testing
