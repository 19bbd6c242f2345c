# The deploy environment's build (images/recipes/deploy/build) when a
# package is not yet among its downloaded .debs: it fetches it with
# apt-get download, checks its sha256 against apt's lists, and says
# nothing about the file it did not find (it looked for it only to know
# whether to fetch it).  The build runs on a copy of $BUILD/deploy's
# inputs with every .deb but the smallest one linked in; that one is
# fetched from Debian's archive (about 60 KB).  The result must be the
# same as the cached build's, byte for byte.
# time-limit: 240
. tests/lib.sh
. tests/lab/netboot.sh

netboot_need_deploy "the deploy build fetching a package"
check "the cached build is current: it carries this writer (else make deploy)" \
    "$(sed -n 's/^writer_sha256=//p' "$D/manifest")" = \
    "$(sha256sum <"$PWD/$BUILD/castiron-writer-static" | cut -d' ' -f1)"
mkdir -p "$T/out/debs"
cp "$D/inputs" "$T/out/inputs"
# shellcheck disable=SC2012
SMALL=$(ls -S "$D/debs" | grep '\.deb$' | tail -n 1)
for f in "$D"/debs/*.deb; do
	[ "${f##*/}" = "$SMALL" ] || ln -s "$f" "$T/out/debs/${f##*/}"
done
check "one package ($SMALL) is missing from the copy" ! -e "$T/out/debs/$SMALL"
images/recipes/deploy/build image "$T/out" "$PWD/$BUILD/castiron-writer-static" "$D/inspect.sh" \
    >"$T/build.out" 2>"$T/build.err"
rc=$?
check "the build succeeds (exit $rc)" "$rc" = 0
check "  ...and fetched it: the same bytes as the cached one" \
    "$(sha256sum <"$T/out/debs/$SMALL" 2>/dev/null | cut -d' ' -f1)" = \
    "$(sha256sum <"$D/debs/$SMALL" | cut -d' ' -f1)"
check "  ...with no word of the file it had not found" \
    "$(grep -c -e 'cannot open' -e 'No such file' "$T/build.err" "$T/build.out" | awk -F: '{ n += $2 } END { print n }')" = 0
grep -e 'cannot open' -e 'No such file' "$T/build.err" | head -n 3 | sed 's/^/# /'
check "  ...the same initrd as the cached build" \
    "$(sha256sum <"$T/out/initrd.img" | cut -d' ' -f1)" = "$(sed -n 's/^initrd_sha256=//p' "$D/manifest")"
done_testing
