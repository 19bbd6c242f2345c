# Harness self-test case: a plan of 3 and only two results.
echo "ok 1 - first"
echo "ok 2 - second"
echo "1..3"
