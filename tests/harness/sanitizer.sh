# Harness self-test case: a sanitized program that fails in its error
# path, checked only by its exit status, and once with the status ignored.
. tests/lib.sh
fails_with 1 "refused with exit 1 (${HARNESS_SAN_MODE:-heap})" "$HARNESS_SAN_PROG" "${HARNESS_SAN_MODE:-heap}"
ok "status ignored" sh -c "'$HARNESS_SAN_PROG' ${HARNESS_SAN_MODE:-heap} || :"
done_testing
