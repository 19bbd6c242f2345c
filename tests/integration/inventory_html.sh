# inventory report --html: one self-contained page (no external assets),
# written atomically, with the summary tables and a rack elevation for
# every rack; rendered in headless Chromium to a PNG.  BACKEND=postgresql
# (inventory_html_pg.sh) draws the same page from PostgreSQL.
. tests/lib.sh

if [ "${BACKEND:-sqlite}" = postgresql ]; then
	. tests/lab/pglab.sh
	pg_start_test
	DB=$PGURL
else
	DB="$T/inv.db"
fi
printf '[inventory]\ndatabase = %s\n' "$DB" >"$T/c.ini"
ci() { "$CASTIRON" -c "$T/c.ini" "$@"; }

tests/lab/gen-hosts 150 --sites ams1,fra1 >"$T/hosts.csv"
# a host name that needs escaping cannot exist (names are validated), but
# a rack can hold a host without a unit: it is listed under the rack
printf 'hostname,site,rack\nloose1.example.net,ams1,ams1-r01\n' >"$T/loose.csv"
ok "import" ci inventory import "$T/hosts.csv"
ok "import a host without a unit" ci inventory import "$T/loose.csv"
ok "states" sh -c "
	$CASTIRON -c '$T/c.ini' inventory set-state node0.ams1.example.net maintenance --reason a &&
	$CASTIRON -c '$T/c.ini' inventory set-state node2.ams1.example.net retired --reason b &&
	$CASTIRON -c '$T/c.ini' inventory set-state node4.ams1.example.net maintenance --reason c &&
	$CASTIRON -c '$T/c.ini' inventory set-state node4.ams1.example.net active --reason d"

ok "report --html" ci inventory report --html "$T/report.html"
H="$T/report.html"
check "the page exists" -s "$H"
check "no temporary file is left" "$(ls "$T" | grep -c 'report.html.tmp')" = 0
check "no external assets (src=, href=, url(), @import)" \
	"$(grep -c -i -E 'src=|href=|url\(|@import' "$H")" = 0
check "no scripts" "$(grep -c -i '<script' "$H")" = 0
check "a rack elevation for every rack (2 sites x 2 racks)" \
	"$(grep -o 'class=rtitle>[^<]*' "$H" | sort -u | wc -l)" = 4
check "every enrolled host drawn in its unit" \
	"$(grep -o 'title="[a-z]*">node[0-9]*\.[a-z0-9]*\.example\.net<' "$H" | wc -l)" = 150
check "units coloured by state (the retired one)" \
	"$(grep -c 'background:#bdbdbd" title="retired">node2.ams1.example.net<' "$H")" = 1
check "the host without a unit is listed under its rack" "$(grep -c 'no unit: loose1.example.net' "$H")" = 1
check "summary by site with totals" "$(grep -c '<h2>By site</h2>' "$H")" = 1
python3 - "$H" <<'PY' >"$T/parse.out" 2>&1
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.bad = []
    def handle_starttag(self, t, a):
        if t not in ("meta", "br"): self.stack.append(t)
    def handle_endtag(self, t):
        if not self.stack or self.stack[-1] != t: self.bad.append(t)
        else: self.stack.pop()
p = P(); p.feed(open(sys.argv[1]).read())
assert not p.bad and not p.stack, (p.bad[:5], p.stack[:5])
PY
check "the page is well nested" "$?" = 0

# Rewriting keeps the old page until the new one is complete: the file is
# replaced (a new inode), never truncated in place.
ino1=$(stat -c %i "$H")
ok "report --html again" ci inventory report --html "$H"
check "the page was replaced by rename" "$(stat -c %i "$H")" != "$ino1"
fails_with 1 "report --html into a missing directory fails (exit 1)" ci inventory report --html "$T/nodir/r.html"

ok "report --html --site" ci inventory report --site fra1 --html "$T/fra1.html"
check "one site's page draws that site's racks only" \
	"$(grep -o 'class=rtitle>[^<]*' "$T/fra1.html" | sort -u | tr '\n' ' ')" = "class=rtitle>fra1 / fra1-r01 class=rtitle>fra1 / fra1-r02 "
check "and counts that site's hosts only" "$(grep -c '<tr class=tot><td>total</td><td class=n>75</td>' "$T/fra1.html")" = 4

# Render it the way an operator would look at it (the page is the same
# whichever database it came from: once is enough).
if [ "${BACKEND:-sqlite}" != sqlite ]; then
	:
elif command -v chromium >/dev/null; then
	prof=$(mktemp -d /tmp/castiron-chromium.XXXXXX)
	at_exit "rm -rf '$prof'"
	timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$prof" --screenshot="$T/report.png" \
		--window-size=1400,2000 "file://$H" >"$T/chromium.log" 2>&1
	check "chromium rendered a PNG" -s "$T/report.png"
	check "the PNG is a real PNG" "$(head -c 8 "$T/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
	python3 - "$T/report.png" <<'PY' >"$T/png.out" 2>&1
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1400, 2000), (w, h)
# decode the image and count distinct colours: a blank page has one
pos, idat = 8, b""
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos+4]); t = d[pos+4:pos+8]
    if t == b"IDAT": idat += d[pos+8:pos+8+n]
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[d[25]]
stride = w * bpp + 1
colours = set()
for y in range(0, h, 7):
    row = raw[y*stride+1:(y+1)*stride]
    for x in range(0, w*bpp, bpp*5):
        colours.add(row[x:x+3])
print(len(colours), "colours")
assert len(colours) > 20, len(colours)
PY
	check "the PNG is 1400x2000 and not blank ($(cat "$T/png.out" | tail -1))" "$?" = 0
	[ -n "${KEEP_PNG:-}" ] && cp "$T/report.png" "$KEEP_PNG"
else
	echo "# chromium missing: tests/lab/need-debs chromium"
	check "chromium is installed" 1 = 0
fi

done_testing
