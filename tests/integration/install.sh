# make install PREFIX=...: the binary, the man pages, the example
# configuration and the systemd units land where an operator looks.
. tests/lib.sh

ok "make install into a fresh prefix" make -s install PREFIX="$T/usr" BUILD="$BUILD"
ok "the binary runs" sh -c "'$T/usr/bin/castiron' --version | grep -q castiron"
ok "castiron(8) installed" cmp docs/castiron.8 "$T/usr/share/man/man8/castiron.8"
ok "castiron.ini(5) installed" cmp docs/castiron.ini.5 "$T/usr/share/man/man5/castiron.ini.5"
# man(1) finds each page by name and section under the prefix, and it
# renders with its own content.
ok "man 8 castiron finds and renders it" sh -c "MANPAGER=cat man -M '$T/usr/share/man' 8 castiron 2>&1 | grep -q 'config check'"
ok "man 5 castiron.ini finds and renders it" sh -c "MANPAGER=cat man -M '$T/usr/share/man' 5 castiron.ini 2>&1 | grep -q 'allowed_prefixes'"
ok "the example configuration" test -s "$T/usr/share/doc/castiron/examples/castiron.ini"
ok "the installed example passes config check" "$T/usr/bin/castiron" -c "$T/usr/share/doc/castiron/examples/castiron.ini" config check
for u in etc/*.service; do
	[ -f "$u" ] || continue
	ok "unit $(basename "$u")" test -s "$T/usr/lib/systemd/system/$(basename "$u")"
done
done_testing
