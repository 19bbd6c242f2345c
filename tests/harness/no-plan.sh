# Harness self-test case: dies before its plan, with exit status 0.
echo "ok 1 - first"
exit 0
