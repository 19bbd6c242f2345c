# Harness self-test case: killed by a signal half-way.
echo "ok 1 - first"
kill -9 $$
echo "ok 2 - second"
echo "1..2"
