# make install PREFIX=...: the binary, the man page, the example
# configuration and the systemd units land where an operator looks.
. tests/lib.sh

ok "make install into a fresh prefix" make -s install PREFIX="$T/usr" BUILD="$BUILD"
ok "the binary runs" sh -c "'$T/usr/bin/castiron' --version | grep -q castiron"
ok "the man page" test -s "$T/usr/share/man/man8/castiron.8"
ok "the man page renders" sh -c "man -l '$T/usr/share/man/man8/castiron.8' 2>&1 | grep -q 'config check'"
ok "the example configuration" test -s "$T/usr/share/doc/castiron/examples/castiron.ini"
ok "the installed example passes config check" "$T/usr/bin/castiron" -c "$T/usr/share/doc/castiron/examples/castiron.ini" config check
for u in etc/*.service; do
	[ -f "$u" ] || continue
	ok "unit $(basename "$u")" test -s "$T/usr/lib/systemd/system/$(basename "$u")"
done
done_testing
