# castiron image fetch/list/verify against a real local HTTP server
# (tests/lab/imgserver.py) that cuts transfers, lies about lengths and
# fails on request: resume with Range, digest mismatches, HTTP errors,
# two concurrent fetches downloading once, LRU eviction.
. tests/lib.sh

LAB=$PWD/tests/lab
mkdir -p "$T/srv" "$T/cache"
: >"$T/ctl"
python3 "$LAB/imgserver.py" --dir "$T/srv" --ctl "$T/ctl" --log "$T/log" \
    --port-file "$T/port" >"$T/server.err" 2>&1 &
SRV=$!
at_exit "kill $SRV"
wait_for 10 "the image server" test -s "$T/port"
PORT=$(cat "$T/port")
URL=http://127.0.0.1:$PORT

# Images: a sparse raw disk image, compressed, with its bmap.
truncate -s 24M "$T/a.raw"
head -c 3145728 /dev/urandom | dd of="$T/a.raw" bs=1M seek=2 conv=notrunc status=none
head -c 1048576 /dev/urandom | dd of="$T/a.raw" bs=1M seek=20 conv=notrunc status=none
zstd -q "$T/a.raw" -o "$T/srv/a.raw.zst"
bmaptool create "$T/a.raw" -o "$T/srv/a.bmap" 2>/dev/null
head -c 5000000 /dev/urandom >"$T/srv/b.raw"
head -c 5000000 /dev/urandom >"$T/srv/c.raw"
sha() { sha256sum "$1" | cut -d' ' -f1; }
SA=$(sha "$T/srv/a.raw.zst")
SB=$(sha "$T/srv/b.raw")
SC=$(sha "$T/srv/c.raw")
WRONG=0000000000000000000000000000000000000000000000000000000000000000

conf() {	# cache_max retries [ca_bundle]
	cat >"$T/ci.ini" <<EOF2
[castiron]
site = lab1
state_dir = $T/state

[images]
cache_dir = $T/cache
${3:+ca_bundle = $3}
cache_max = $1
retries = $2
connect_timeout = 2s
low_speed_time = 5s

[image a]
url = $URL/a.raw.zst
sha256 = $SA
bmap = $URL/a.bmap

[image b]
url = $URL/b.raw
sha256 = $SB

[image c]
url = $URL/c.raw
sha256 = $SC

[image wrong]
url = $URL/b.raw
sha256 = $WRONG

[image missing]
url = $URL/nothing.raw
sha256 = 1111111111111111111111111111111111111111111111111111111111111111

[image broken]
url = $URL/broken.raw
sha256 = 2222222222222222222222222222222222222222222222222222222222222222

[image local]
url = file://$T/srv/b.raw
sha256 = $SB

[image cred]
url = http://user:s3cret@127.0.0.1:$PORT/nothing-here.raw
sha256 = 3333333333333333333333333333333333333333333333333333333333333333

[image tls]
url = https://127.0.0.1:${TPORT:-1}/b.raw
sha256 = $SB

[image tlsname]
url = https://localhost:${TPORT2:-1}/b.raw
sha256 = $SB
EOF2
}
conf 0 3
C() { "$CASTIRON" -c "$T/ci.ini" "$@"; }
cached() { [ -f "$T/cache/$1.img" ]; }
noparts() { [ -z "$(ls "$T/cache" | grep -E '\.part$')" ]; }

ok "config with images is valid" C config check
C --format json image list >"$T/list.json"
check "list shows a, not cached" "$(python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1])) if x["name"]=="a"][0]; print(r["cached"])' "$T/list.json")" = False

# A plain fetch: verified, bmap next to it, format detected from content.
ok "fetch a" C image fetch a
check "a is in the cache under its digest" -f "$T/cache/$SA.img"
check "its bmap is in the cache" -f "$T/cache/$SA.bmap"
C --format json image list >"$T/list.json"
check "list: a is cached zstd with the bmap's image size" \
    "$(python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1])) if x["name"]=="a"][0]; print(r["cached"], r["format"], r["image_bytes"])' "$T/list.json")" = "True zstd 25165824"
ok "verify a (digest and every bmap range)" C image verify a
C --format json image fetch a >"$T/f.json"
check "a second fetch uses the cache" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["already_cached"])' "$T/f.json")" = True
ok "write a from the cache onto a file" C -q image write a --to "$T/a.out"
ok "the file holds the image" cmp "$T/a.raw" "$T/a.out"

# Cut halfway, then resumed with a Range request.
echo "/b.raw cut 2000000" >"$T/ctl"
: >"$T/log"
C --format json image fetch b >"$T/f.json" 2>"$T/f.err"
check "a cut transfer is resumed and verified" "$?" -eq 0
check "fetch says it resumed" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["resumed"], d["attempts"])' "$T/f.json")" = "True 2"
check "the server saw a Range request from the cut point" \
    "$(grep -c '^/b.raw bytes=2000000- 206' "$T/log")" -eq 1
ok "the resumed file verifies" C image verify b

# A server that claims more bytes than it sends: resumed, then verified.
rm -f "$T/cache/$SB.img"
echo "/b.raw lie 1000" >"$T/ctl"
ok "a Content-Length larger than the body still ends verified" C image fetch b
ok "and the digest holds" C image verify b

# A server that sends fewer bytes and says so: only the digest can tell.
rm -f "$T/cache/$SB.img"
echo "/b.raw short 1000" >"$T/ctl"
fails_with 1 "a short body fails verification" C image fetch b
C image fetch b 2>"$T/err"
check "the error names the expected digest" -n "$(grep "expected $SB" "$T/err")"
check "and the actual one" -n "$(grep -E 'got [0-9a-f]{64}' "$T/err")"
check "nothing of b is kept in the cache" ! -e "$T/cache/$SB.img"
ok "no partial file left" noparts

# A server that ignores Range (answers 200): curl refuses that answer,
# and the fetch starts over from byte 0, still verified.
rm -f "$T/cache/$SB.img"
echo "/b.raw cutnorange 1500000" >"$T/ctl"
: >"$T/log"
ok "a cut transfer from a server that ignores Range" C -q image fetch b
check "the file was fetched again from its start" \
    "$(grep -c '^/b.raw - 200 5000000' "$T/log")" -eq 1
ok "and verifies" C image verify b
: >"$T/ctl"

# Wrong sha256 in the catalog.
fails_with 1 "a wrong sha256 exits 1" C image fetch wrong
C image fetch wrong 2>"$T/err"
check "the error names expected and actual digests" \
    -n "$(grep "expected $WRONG, got $SB" "$T/err")"
ok "nothing kept after a mismatch" noparts

# HTTP errors.
fails_with 1 "404 exits 1" C image fetch missing
check "the 404 is named" -n "$(C image fetch missing 2>&1 | grep 'HTTP 404')"
echo "/broken.raw status 500" >"$T/ctl"
: >"$T/log"
fails_with 1 "500 exits 1 after the retries" C image fetch broken
check "500 was retried (retries = 3: 4 requests)" "$(grep -c '^/broken.raw' "$T/log")" -eq 4
check "the 500 is named" -n "$(C image fetch broken 2>&1 | grep 'HTTP 500')"
: >"$T/ctl"
ok "nothing kept after HTTP errors" noparts

# Credentials in a URL never show.
C --format json image list >"$T/list.json" 2>&1
C image fetch cred >"$T/cred.out" 2>&1
check "a URL's password is not listed" -z "$(grep s3cret "$T/list.json")"
check "nor printed in an error" -z "$(grep s3cret "$T/cred.out")"
check "the error is still there" -n "$(grep 'HTTP 404' "$T/cred.out")"

# A server that stalls mid-transfer: low_speed_time (1s) gives up on it,
# the retry stalls too, and the fetch fails naming the timeout.
sed -i 's/^low_speed_time = .*/low_speed_time = 1s/; s/^retries = .*/retries = 1/' "$T/ci.ini"
rm -f "$T/cache/$SC.img"
echo "/c.raw stall 1000000" >"$T/ctl"
: >"$T/log"
fails_with 1 "a stalled transfer times out and fails" C -q image fetch c
check "it was retried" "$(grep -c '^/c.raw' "$T/log")" -eq 2
check "nothing of it is kept" ! -e "$T/cache/$SC.img"
ok "no partial file left" noparts
: >"$T/ctl"
conf 0 3

# file:// URLs.
rm -f "$T/cache/$SB.img"
ok "fetch from a file:// URL" C -q image fetch local
ok "verified" C image verify local

# A bmap that fails its own checksum is not cached, nor is the image usable.
rm -f "$T/cache/$SA.img" "$T/cache/$SA.bmap"
cp "$T/srv/a.bmap" "$T/a.bmap.good"
python3 "$LAB/bmapmangle.py" "$T/a.bmap.good" "$T/srv/a.bmap" badsum
fails_with 1 "a corrupt bmap on the server fails the fetch" C image fetch a
check "the corrupt bmap is not cached" ! -e "$T/cache/$SA.bmap"
cp "$T/a.bmap.good" "$T/srv/a.bmap"

# Two concurrent fetches of the same image download it once.
rm -f "$T/cache/$SC.img"
: >"$T/log"
C -q image fetch c & P1=$!
C -q image fetch c & P2=$!
wait $P1; R1=$?
wait $P2; R2=$?
check "both concurrent fetches succeed" "$R1$R2" = 00
check "the server sent c once" "$(grep -c '^/c.raw' "$T/log")" -eq 1

# cache_max: the least recently used image goes.
rm -rf "$T/cache"; mkdir "$T/cache"
conf 12M 1
C -q image fetch b && touch -d '2 hours ago' "$T/cache/$SB.img"
C -q image fetch local >/dev/null	# same digest as b: shared
C -q image fetch c
check "c is cached" -f "$T/cache/$SC.img"
ok "within cache_max: both b and c (10 MB) stay" test -f "$T/cache/$SB.img"
conf 6M 1
rm -f "$T/cache/$SC.img"
touch -d '1 hour ago' "$T/cache/$SB.img"
C -q image fetch c
check "past cache_max the least recently used (b) is evicted" ! -e "$T/cache/$SB.img"
check "the one just fetched stays" -f "$T/cache/$SC.img"

# HTTPS: the server's certificate is verified against ca_bundle, name
# included.  One server for 127.0.0.1, one whose certificate names
# another host.
cert() {	# NAME SAN
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" \
	    -addext "subjectAltName=$2" -keyout "$T/$1.key" -out "$T/$1.pem" \
	    >/dev/null 2>&1
}
cert ok IP:127.0.0.1
cert other DNS:images.example.net
tls_server() {	# NAME PORTFILE
	python3 "$LAB/imgserver.py" --dir "$T/srv" --ctl "$T/ctl" \
	    --log "$T/log" --port-file "$T/$2" --tls-cert "$T/$1.pem" \
	    --tls-key "$T/$1.key" >>"$T/server.err" 2>&1 &
	at_exit "kill $!"
	wait_for 10 "the TLS server" test -s "$T/$2"
}
tls_server ok tport
tls_server other tport2
TPORT=$(cat "$T/tport")
TPORT2=$(cat "$T/tport2")
rm -rf "$T/cache"; mkdir "$T/cache"
conf 0 1 "$T/ok.pem"
ok "https with the server's CA in ca_bundle" C -q image fetch tls
ok "verified" C image verify tls
rm -rf "$T/cache"; mkdir "$T/cache"
conf 0 1 "$T/other.pem"
fails_with 1 "https with a certificate ca_bundle does not trust exits 1" \
    C -q image fetch tls
check "the TLS failure is named" -n "$(C -q image fetch tls 2>&1 | grep -i 'certificate')"
cat "$T/ok.pem" "$T/other.pem" >"$T/both.pem"
conf 0 1 "$T/both.pem"
fails_with 1 "a trusted certificate for another name exits 1" \
    C -q image fetch tlsname
check "nothing was cached over bad TLS" ! -e "$T/cache/$SB.img"
conf 0 3

# A download that grows past cache_max is stopped (a server that never
# ends cannot fill the disk).
rm -rf "$T/cache"; mkdir "$T/cache"
conf 1M 0
fails_with 1 "a download larger than cache_max is stopped" C -q image fetch b
check "saying so" -n "$(C -q image fetch b 2>&1 | grep 'larger than cache_max')"
ok "nothing kept" noparts
conf 0 3

# Bad usage and configuration.
fails_with 2 "an unknown image name exits 2" C image fetch nosuch
fails_with 2 "write without --to exits 2" C image write a
done_testing
