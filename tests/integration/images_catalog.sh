# The signed image catalog, end to end with signify-openbsd: castiron
# image publish writes and signs a catalog that `signify -V -e` verifies;
# a catalog signify signed verifies in castiron; catalog_url (served by
# a real HTTP server, tests/lab/imgserver.py, and as file://) joins its
# entries to the [image] sections, and the images it names are fetched
# and written.  Refused, one line each, nothing cached or written and the
# accepted serial unchanged: a tampered byte, another key, no signature,
# a rollback, an image or bmap whose bytes differ from the catalog, a
# name both in the catalog and in castiron.ini.
# time-limit: 180
. tests/lib.sh

LAB=$PWD/tests/lab
S=$T/srv
mkdir -p "$S" "$T/cache" "$T/keys"
command -v signify-openbsd >/dev/null || { echo "Bail out! signify-openbsd is not installed (make deps-test)"; exit 1; }
python3 "$LAB/imgserver.py" --dir "$S" --ctl /dev/null --log "$T/log" \
    --port-file "$T/port" >"$T/server.err" 2>&1 &
SRV=$!
at_exit "kill $SRV"
wait_for 10 "the image server" test -s "$T/port"
URL=http://127.0.0.1:$(cat "$T/port")

signify-openbsd -G -n -c "catalog key" -p "$T/keys/cat.pub" -s "$T/keys/cat.sec"
signify-openbsd -G -n -c "another key" -p "$T/keys/other.pub" -s "$T/keys/other.sec"

# A sparse raw image, compressed, with its bmap beside it.
truncate -s 16M "$T/deb.img"
head -c 2097152 /dev/urandom | dd of="$T/deb.img" bs=1M seek=3 conv=notrunc status=none
zstd -q "$T/deb.img" -o "$S/deb.img.zst"
bmaptool create "$T/deb.img" -o "$S/deb.bmap" 2>/dev/null
head -c 3000000 /dev/urandom >"$S/small.raw"
sha() { sha256sum "$1" | cut -d' ' -f1; }

C() { "$CASTIRON" -c "$T/ci.ini" "$@"; }
P() { "$CASTIRON" image publish --key "$T/keys/cat.sec" --base-url "$URL/" "$@"; }
serial() { cat "$T/state/catalog.serial" 2>/dev/null || echo none; }
cache() { ls "$T/cache" | grep -v '\.lock$' | tr '\n' ' '; }
conf() {	# catalog_url [extra image section]
	cat >"$T/ci.ini" <<EOF2
[castiron]
state_dir = $T/state

[images]
cache_dir = $T/cache
catalog_url = $1
catalog_pubkey = $T/keys/cat.pub
retries = 0

[image local]
url = file://$S/small.raw
sha256 = $(sha "$S/small.raw")
${2:-}
EOF2
}
# refused CODE NAME WHAT CMD...: exits CODE, says WHAT in one line, and
# the serial and the cache are as they were.
refused() {
	_c=$1 _nm=$2 _w=$3; shift 3
	_s0=$(serial) _k0=$(cache)
	fails_with "$_c" "$_nm: exit $_c" "$@"
	"$@" >/dev/null 2>"$T/err"
	check "$_nm: one line saying '$_w'" "$(wc -l <"$T/err")" -eq 1 -a \
	    -n "$(grep -F -- "$_w" "$T/err")"
	check "$_nm: the accepted serial and the cache are unchanged" \
	    "$(serial) $(cache)" = "$_s0 $_k0"
}

# --- publish, and signify verifies what castiron signed
ok "publish a catalog of two images" P --output "$S/catalog" deb="$S/deb.img.zst" small="$S/small.raw"
check "it is a signify embedded signature" "$(head -c 19 "$S/catalog")" = "untrusted comment: "
ok "signify-openbsd -V -e verifies castiron's signature" \
    signify-openbsd -V -q -e -p "$T/keys/cat.pub" -x "$S/catalog" -m "$T/msg1"
fails_with 1 "signify refuses it against another key" \
    signify-openbsd -V -q -e -p "$T/keys/other.pub" -x "$S/catalog" -m "$T/msg.x"
check "serial 1, the digests of the image and the bmap" \
    -n "$(grep -x 'serial = 1' "$T/msg1")" -a \
    -n "$(grep -x "sha256 = $(sha "$S/deb.img.zst")" "$T/msg1")" -a \
    -n "$(grep -x "bmap_sha256 = $(sha "$S/deb.bmap")" "$T/msg1")" -a \
    -n "$(grep -x "bmap = $URL/deb.bmap" "$T/msg1")"
check "min_disk is the raw size from the bmap" -n "$(grep -x 'min_disk = 16777216' "$T/msg1")"
cp "$S/catalog" "$T/catalog.1"

# --- castiron verifies it, fetches and writes what it names
conf "$URL/catalog"
ok "config with a catalog is valid" C config check
C --format json image list >"$T/list.json"
check "list shows the catalog's images and the [image] section" \
    "$(python3 -c 'import json,sys; print(" ".join(sorted(x["name"] for x in json.load(open(sys.argv[1])))))' "$T/list.json")" = "deb local small"
check "the JSON says where each entry comes from" \
    "$(python3 -c 'import json,sys; print(" ".join(x["name"] + ":" + x["source"] for x in json.load(open(sys.argv[1]))))' "$T/list.json")" = "local:config deb:catalog small:catalog"
check "the accepted serial is kept in state_dir" "$(serial)" = 1
ok "fetch deb from the catalog (image and bmap digests checked)" C -q image fetch deb
ok "write deb onto a file" C -q image write deb --to "$T/deb.out"
ok "the file holds the image" cmp "$T/deb.img" "$T/deb.out"
ok "verify deb against the catalog's digests" C -q image verify deb

# --- signify signs, castiron verifies; the same serial again is fine
sed 's/^serial = 1$/serial = 2/' "$T/msg1" >"$T/msg2"
signify-openbsd -S -e -s "$T/keys/cat.sec" -m "$T/msg2" -x "$S/catalog"
ok "castiron accepts a catalog signify-openbsd signed" C -q image list
check "and keeps its serial" "$(serial)" = 2
ok "the same serial again is accepted" C -q image list
check "still 2" "$(serial)" = 2
conf "file://$S/catalog"
ok "a file:// catalog_url verifies too" C -q image list
conf "$URL/catalog"

# --- refusals: the catalog
cp "$S/catalog" "$T/catalog.2"
python3 - "$S/catalog" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"min_disk = 16777216") + len("min_disk = 1")
b[i] = ord("9")          # 19777216: one byte changed after signing
open(p, "wb").write(b)
PY
refused 1 "a tampered byte" "bad signature" C image list
refused 1 "fetch from a tampered catalog" "bad signature" C image fetch small
check "nothing of small was cached" ! -e "$T/cache/$(sha "$S/small.raw").img"

signify-openbsd -S -e -s "$T/keys/other.sec" -m "$T/msg2" -x "$S/catalog"
refused 1 "signed by another key" "signed by another key" C image list

cp "$T/msg2" "$S/catalog"
refused 1 "unsigned" "not signed" C image list

cp "$T/catalog.1" "$S/catalog"
refused 1 "a rollback to serial 1 after 2" "a rollback" C image list
refused 1 "write from a rolled-back catalog" "a rollback" C image write deb --to "$T/roll.out"
check "nothing was written" ! -e "$T/roll.out"

rm -f "$S/catalog"
refused 1 "a catalog that is not there" "$URL/catalog" C image list
head -c 1200000 /dev/zero | tr '\0' '#' | fold -w 100 >"$T/huge.txt"
cat "$T/catalog.2" "$T/huge.txt" >"$S/catalog"
refused 1 "a catalog larger than the limit" "larger than the limit" C image list

printf 'garbage\n' >"$T/state/catalog.serial.bad"
cp "$T/catalog.2" "$S/catalog"
cp "$T/state/catalog.serial" "$T/serial.keep"
printf 'two\n' >"$T/state/catalog.serial"
fails_with 1 "a damaged serial file is refused, not reset" C image list
check "and left as it was" "$(cat "$T/state/catalog.serial")" = two
cp "$T/serial.keep" "$T/state/catalog.serial"

# --- refusals: the configuration
conf "$URL/catalog" "[image small]
url = file://$S/small.raw
sha256 = $(sha "$S/small.raw")"
refused 2 "a name in the catalog and in an [image] section" \
    "[image small] is also in the catalog $URL/catalog" C image list
check "the message names castiron.ini's line" \
    -n "$(grep -F "$T/ci.ini: line 13:" "$T/err")"
sed -i '/^catalog_pubkey/d' "$T/ci.ini"
fails_with 2 "catalog_url without catalog_pubkey" C config check

# --- refusals: images whose bytes differ from their entry
conf "$URL/catalog"
cp "$S/small.raw" "$T/small.keep"
head -c 3000000 /dev/urandom >"$T/other.raw"
cp "$T/other.raw" "$S/evil.raw"
P --output "$S/catalog" evil="$S/evil.raw" >/dev/null
head -c 3000000 /dev/urandom >"$S/evil.raw"	# the server's bytes change
ok "the new catalog is accepted" C -q image list
check "the accepted serial is the new catalog's" "$(serial)" = 3
refused 1 "an image whose bytes differ from the catalog" "sha256 mismatch" \
    C -q image fetch evil
refused 1 "writing it" "sha256 mismatch" C -q image write evil --to "$T/evil.out"
check "nothing was written" ! -e "$T/evil.out"

cp "$S/deb.bmap" "$T/deb.bmap.keep"
rm -f "$T/cache/"*
sed 's/<ImageSize> *\([0-9]*\)/<ImageSize> \1 /' "$T/deb.bmap.keep" >"$S/deb.bmap"
fails_with 1 "a bmap whose bytes differ from the catalog" \
    C -q image write deb --to "$T/bmap.out"
C -q image write deb --to "$T/bmap.out" 2>"$T/err"
check "one line naming the bmap's pinned digest" "$(wc -l <"$T/err")" -eq 1 -a \
    -n "$(grep -F "$(sha "$S/deb.bmap")" "$T/err")" -a -n "$(grep -F "$(sha "$T/deb.bmap.keep")" "$T/err")"
check "nothing was written" ! -e "$T/bmap.out"
check "the bmap was not cached (only the image, whose digest held)" \
    "$(cache)" = "$(sha "$S/deb.img.zst").img "
cp "$T/deb.bmap.keep" "$S/deb.bmap"

# --- publish's own rules
fails_with 2 "publish refuses a serial lower than the file's" \
    P --output "$S/catalog" --serial 2 deb="$S/deb.img.zst"
ok "publish with a higher serial" P --output "$S/catalog" --serial 10 deb="$S/deb.img.zst"
signify-openbsd -V -q -e -p "$T/keys/cat.pub" -x "$S/catalog" -m "$T/msg10"
check "keeps the earlier entries and names the new serial" \
    -n "$(grep -x 'serial = 10' "$T/msg10")" -a -n "$(grep -x '\[image small\]' "$T/msg10")" -a \
    -n "$(grep -x '\[image evil\]' "$T/msg10")"
ok "publish --remove leaves an image out" P --output "$S/catalog" --remove evil
signify-openbsd -V -q -e -p "$T/keys/cat.pub" -x "$S/catalog" -m "$T/msg11"
check "serial 11 without evil, with the others" \
    -n "$(grep -x 'serial = 11' "$T/msg11")" -a -z "$(grep -x '\[image evil\]' "$T/msg11")" -a \
    -n "$(grep -x '\[image deb\]' "$T/msg11")"
fails_with 2 "publish --remove of an image that is not there" \
    P --output "$S/catalog" --remove nosuch
fails_with 2 "publish with nothing to add or remove" P --output "$S/catalog"
printf 'x\n' >>"$S/catalog"
fails_with 1 "publish refuses to re-sign a tampered previous catalog" \
    P --output "$S/catalog" deb="$S/deb.img.zst"
fails_with 2 "publish without --base-url" "$CASTIRON" image publish \
    --key "$T/keys/cat.sec" --output "$T/x" deb="$S/deb.img.zst"
fails_with 2 "publish with a public key as secret key" "$CASTIRON" image publish \
    --key "$T/keys/cat.pub" --base-url "$URL/" --output "$T/x" deb="$S/deb.img.zst"
check "nothing written by the refused publishes" ! -e "$T/x"

# --- provision and the boot service take a catalog's images too
ok "a fresh catalog, serial 100" P --output "$S/cat2" --serial 100 deb="$S/deb.img.zst"
conf "$URL/cat2"
ssh-keygen -q -t ed25519 -N '' -f "$T/prov_key"
printf '[inventory]\ndatabase = %s\n[provision]\nssh_key = %s\n' "$T/inv.db" "$T/prov_key" >>"$T/ci.ini"
C inventory add p1 --site s >/dev/null
C image fetch deb >/dev/null 2>&1
ok "provision --dry-run plans an image only the catalog has" C provision p1 --image deb --dry-run
check "  ...naming it" "$(C provision p1 --image deb --dry-run --format json | jq -r '.[0].image')" = deb
fails_with 2 "  ...and an image in neither is still refused" C provision p1 --image nosuch --dry-run

done_testing
