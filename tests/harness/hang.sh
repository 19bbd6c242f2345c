# time-limit: 2
# Harness self-test case: a wait on a child that never ends.  The harness
# must stop it at its limit and kill its process group, the child too.
sleep 300.${HARNESS_MARK:-0} &
echo "ok 1 - started"
wait
echo "1..1"
