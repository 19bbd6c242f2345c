# castiron image fetch/list/verify against a real local HTTP server
# (tests/lab/imgserver.py) that cuts transfers, lies about lengths, stalls
# and fails on request.  What castiron did is read from the server's log of
# requests (after /.settle, so every request is in it): resume with Range
# and 416, digest mismatches, HTTP and TLS errors retried or not, two
# fetches that overlap downloading once, the cache used without a request,
# LRU eviction.  (Retries back off for seconds by design; the limit leaves
# room for a loaded machine.)
# time-limit: 240
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

# settle [URL]: returns once the server has finished every request so far
# (each one is in its log); fresh [LOG]: settle, then empty the log;
# count PATTERN [LOG]: settle, then the number of matching log lines.
settle() { python3 "$LAB/imgserver.py" --settle "${1:-$URL}"; }
fresh() { settle "${2:-$URL}"; : >"${1:-$T/log}"; }
count() { settle "${3:-$URL}"; grep -c -- "$1" "${2:-$T/log}"; }

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
BA=$(sha "$T/srv/a.bmap")
# The same bmap with its second range left out, its counts and checksum
# made to agree: it parses, and would verify an image with that range
# missing or changed.
python3 "$LAB/bmapmangle.py" "$T/srv/a.bmap" "$T/dropped.bmap" droprange
WRONG=0000000000000000000000000000000000000000000000000000000000000000

# connect_timeout and low_speed_time leave room for a loaded machine:
# the tests that need a timeout to fire set their own.
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
connect_timeout = 10s
low_speed_time = 15s

[image a]
url = $URL/a.raw.zst
sha256 = $SA
bmap = $URL/a.bmap
bmap_sha256 = $BA

[image pinfile]
url = file://$T/srv/a.raw.zst
sha256 = $SA
bmap = file://$T/pinfile.bmap
bmap_sha256 = $BA

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
field() {	# JSON-FILE NAME KEY...: the keys of list entry NAME, space-separated
	python3 -c 'import json,sys
r = [x for x in json.load(open(sys.argv[1])) if x["name"] == sys.argv[2]][0]
print(" ".join(str(r[k]) for k in sys.argv[3:]))' "$@"
}

ok "config with images is valid" C config check
C --format json image list >"$T/list.json"
check "list shows a, not cached" "$(field "$T/list.json" a cached)" = False

# A plain fetch: verified, bmap next to it, format detected from content.
fresh
ok "fetch a" C image fetch a
check "a is in the cache under its digest" -f "$T/cache/$SA.img"
check "its bmap is in the cache" -f "$T/cache/$SA.bmap"
check "the server sent a and its bmap, once each" \
    "$(count '^/a.raw.zst - 200 ')$(count '^/a.bmap - 200 ')" = 11
C --format json image list >"$T/list.json"
check "list: a is cached zstd with the bmap's image size" \
    "$(field "$T/list.json" a cached format image_bytes)" = "True zstd 25165824"
ok "verify a (digest and every bmap range)" C image verify a
fresh
C --format json image fetch a >"$T/f.json"
check "a second fetch says it used the cache" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["already_cached"])' "$T/f.json")" = True
settle
check "and the server saw no request but the settle (it was alive)" \
    "$(cat "$T/log")" = "/.settle - 200 0"
ok "write a from the cache onto a file" C -q image write a --to "$T/a.out"
ok "the file holds the image" cmp "$T/a.raw" "$T/a.out"

# Cut halfway, then resumed with a Range request.
echo "/b.raw cut 2000000" >"$T/ctl"
fresh
C --format json image fetch b >"$T/f.json" 2>"$T/f.err"
check "a cut transfer is resumed and verified" "$?" -eq 0
check "fetch says it resumed" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["resumed"], d["attempts"])' "$T/f.json")" = "True 2"
check "the server cut the first request" "$(count '^/b.raw - 200 2000000$')" -eq 1
check "and saw a Range request from the cut point" \
    "$(count '^/b.raw bytes=2000000- 206 3000000$')" -eq 1
check "and nothing else for b" "$(count '^/b.raw')" -eq 2
ok "the resumed file verifies" C image verify b

# A server that claims more bytes than it sends: the retry asks for the
# rest with a Range from the end, the server answers 416, and castiron
# takes what it has (docs/images.md: a 416 on a resume means the file is
# complete; the digest decides).
rm -f "$T/cache/$SB.img"
echo "/b.raw lie 1000" >"$T/ctl"
fresh
ok "a Content-Length larger than the body still ends verified" C image fetch b
check "the resume from the end was answered 416" \
    "$(count '^/b.raw bytes=5000000- 416 0$')" -eq 1
check "after one whole body, and no third request" \
    "$(count '^/b.raw - 200 5000000$')$(count '^/b.raw')" = 12
ok "and the digest holds" C image verify b

# A 416 on the resume of a file that is not complete (the server's file
# shrank, or it refuses ranges it has): the digest decides, so the fetch
# fails as a mismatch, is not retried, and keeps nothing.
rm -f "$T/cache/$SB.img"
echo "/b.raw cut416 2000000" >"$T/ctl"
fresh
C -q image fetch b 2>"$T/err"
check "a 416 on an incomplete resume exits 1" "$?" -eq 1
check "as a digest mismatch of the bytes it had" \
    -n "$(grep "sha256 mismatch: expected $SB, got [0-9a-f]\{64\} (2000000 bytes)" "$T/err")"
check "in one line" "$(wc -l <"$T/err")" -eq 1
check "the server saw the cut request and one 416, no retry" \
    "$(count '^/b.raw - 200 2000000$')$(count '^/b.raw bytes=2000000- 416 0$')$(count '^/b.raw')" = 112
check "nothing of b is cached" ! -e "$T/cache/$SB.img"
ok "no partial file left" noparts

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
fresh
ok "a cut transfer from a server that ignores Range" C -q image fetch b
check "the server cut the first request, then ignored the Range" \
    "$(count '^/b.raw - 200 1500000$')$(count '^/b.raw bytes=1500000- 200 ')" = 11
check "and the file was fetched again from its start" \
    "$(count '^/b.raw - 200 5000000$')$(count '^/b.raw')" = 13
ok "and verifies" C image verify b
: >"$T/ctl"

# Wrong sha256 in the catalog: not retried.
fresh
fails_with 1 "a wrong sha256 exits 1" C image fetch wrong
check "a digest mismatch is not retried (one request)" "$(count '^/b.raw')" -eq 1
C image fetch wrong 2>"$T/err"
check "the error names expected and actual digests" \
    -n "$(grep "expected $WRONG, got $SB" "$T/err")"
ok "nothing kept after a mismatch" noparts

# HTTP errors: 4xx is final, 5xx, 408 and 429 are retried (retries = 3).
fresh
fails_with 1 "404 exits 1" C image fetch missing
check "404 is not retried (one request)" "$(count '^/nothing.raw - 404 0$')$(count '^/nothing.raw')" = 11
check "the 404 is named" -n "$(C image fetch missing 2>&1 | grep 'HTTP 404')"
echo "/broken.raw status 403" >"$T/ctl"
fresh
fails_with 1 "403 exits 1" C image fetch broken
check "403 is not retried (one request)" "$(count '^/broken.raw - 403 0$')$(count '^/broken.raw')" = 11
echo "/broken.raw status 500" >"$T/ctl"
fresh
C image fetch broken 2>"$T/err"
check "500 exits 1 after the retries" "$?" -eq 1
check "500 was retried (retries = 3: 4 requests)" "$(count '^/broken.raw - 500 0$')$(count '^/broken.raw')" = 44
check "the 500 is named, with the attempts" -n "$(grep 'HTTP 500 (after 4 attempts)' "$T/err")"
echo "/broken.raw status 429" >"$T/ctl"
fresh
fails_with 1 "429 exits 1 after the retries" C image fetch broken
check "429 was retried (4 requests)" "$(count '^/broken.raw - 429 0$')" -eq 4
: >"$T/ctl"
ok "nothing kept after HTTP errors" noparts

# Credentials in a URL never show: the list and the error name the URL
# without them.
C --format json image list >"$T/list.json" 2>&1
C image fetch cred >"$T/cred.out" 2>&1
check "the list shows the URL without its credentials" \
    "$(field "$T/list.json" cred url)" = "http://127.0.0.1:$PORT/nothing-here.raw"
check "and no password anywhere in it" -z "$(grep s3cret "$T/list.json")"
check "the error names the URL without its credentials" \
    -n "$(grep -F "image cred: http://127.0.0.1:$PORT/nothing-here.raw: HTTP 404" "$T/cred.out")"
check "and no password anywhere in it" -z "$(grep s3cret "$T/cred.out")"

# A server that stalls mid-transfer: low_speed_time (1s) gives up on it,
# the retry stalls too, and the fetch fails naming the timeout.
sed -i 's/^low_speed_time = .*/low_speed_time = 1s/; s/^retries = .*/retries = 1/' "$T/ci.ini"
rm -f "$T/cache/$SC.img"
echo "/c.raw stall 1000000" >"$T/ctl"
fresh
fails_with 1 "a stalled transfer times out and fails" C -q image fetch c
check "it was retried, from where it stalled" \
    "$(count '^/c.raw - 200 1000000$')$(count '^/c.raw bytes=1000000- 206 1000000$')$(count '^/c.raw')" = 112
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

# The bmap's pin (bmap_sha256).  The dropped bmap parses and verifies the
# image (a range fewer): only the pin tells it from the real one, at the
# fetch and at every use of the cached file.
ok "(the dropped bmap parses, and verifies the image with a range fewer)" \
    C image verify "$T/a.raw" --bmap "$T/dropped.bmap"
MISMATCH="sha256 mismatch: expected $BA (bmap_sha256), got $(sha "$T/dropped.bmap")"
rm -f "$T/cache/$SA.img" "$T/cache/$SA.bmap"
cp "$T/dropped.bmap" "$T/srv/a.bmap"
C -q image fetch a 2>"$T/err"
check "a pinned bmap changed on the server fails the fetch (exit 1)" "$?" -eq 1
check "in one line naming bmap_sha256 and both digests" \
    "$(wc -l <"$T/err")$(grep -c "$MISMATCH" "$T/err")" = 11
check "the changed bmap is not cached" ! -e "$T/cache/$SA.bmap"
cp "$T/a.bmap.good" "$T/srv/a.bmap"
ok "with the pinned bmap back on the server, the fetch succeeds" C -q image fetch a
cp "$T/dropped.bmap" "$T/cache/$SA.bmap"
fails_with 1 "verify refuses a cached bmap that is not the pinned one" C image verify a
check "naming the file and bmap_sha256" \
    -n "$(C image verify a 2>&1 | grep -F "$T/cache/$SA.bmap: $MISMATCH")"
rm -f "$T/a.out2"
fails_with 1 "so does write" C -q image write a --to "$T/a.out2"
check "before the target is made" ! -e "$T/a.out2"
fails_with 1 "and send" sh -c "'$CASTIRON' -c '$T/ci.ini' -q image send a >'$T/a.stream'"
ok "a fetch replaces it with the pinned bmap" C -q image fetch a
check "(the cached bmap is the pinned one again)" "$(sha "$T/cache/$SA.bmap")" = "$BA"
ok "and verify passes again" C image verify a
rm -f "$T/cache/$SA.bmap"
cp "$T/dropped.bmap" "$T/pinfile.bmap"
fails_with 1 "a file:// bmap that is not the pinned one fails the fetch" \
    C -q image fetch pinfile
check "and is not cached" ! -e "$T/cache/$SA.bmap"
cp "$T/a.bmap.good" "$T/pinfile.bmap"
ok "the pinned file:// bmap is fetched" C -q image fetch pinfile
ok "and verifies" C image verify pinfile

# A bmap over plain http must be pinned: config check (and so every
# command) refuses it unpinned, in one line naming the file, the section
# and the key.  A pin must be a digest, and needs a bmap.
cat >"$T/http.ini" <<EOF2
[images]
cache_dir = $T/cache

[image h]
url = $URL/a.raw.zst
sha256 = $SA
bmap = $URL/a.bmap
EOF2
"$CASTIRON" -c "$T/http.ini" config check >/dev/null 2>"$T/err"
check "an unpinned http:// bmap fails config check (exit 2)" "$?" -eq 2
check "in one line naming the file, the section and the key (and the count)" \
    "$(grep -c ':[0-9]*: ' "$T/err")$(grep -c "^castiron: $T/http.ini:7: \[image h\] bmap_sha256: required when bmap is a plain http:// URL" "$T/err")" = 11
fails_with 2 "image fetch refuses it too" \
    "$CASTIRON" -c "$T/http.ini" -q image fetch h
printf 'bmap_sha256 = %s\n' "$BA" >>"$T/http.ini"
ok "pinned, it is valid" "$CASTIRON" -c "$T/http.ini" config check
sed -i 's/^bmap_sha256 = .*/bmap_sha256 = 12345/' "$T/http.ini"
fails_with 2 "a bmap_sha256 that is not a digest exits 2" \
    "$CASTIRON" -c "$T/http.ini" config check
check "naming the key" -n "$("$CASTIRON" -c "$T/http.ini" config check 2>&1 | grep '\[image h\] bmap_sha256: ')"
sed -i "s/^bmap_sha256 = .*/bmap_sha256 = $BA/; /^bmap = /d" "$T/http.ini"
fails_with 2 "a bmap_sha256 without a bmap exits 2" \
    "$CASTIRON" -c "$T/http.ini" config check

# Two fetches of the same image that overlap download it once.  The
# server holds the first one's body after 1 MB; the second is started
# then, and must be seen waiting on the cache lock (/proc/locks) while
# the first is still downloading; only then is the first let go.
rm -f "$T/cache/$SC.img" "$T/gate" "$T/gate.held" "$T/rc1" "$T/rc2"
echo "/c.raw hold 1000000 $T/gate" >"$T/ctl"
fresh
bg_fetch() {	# N: fetch c in the background, its exit status into $T/rcN
	( "$CASTIRON" -c "$T/ci.ini" -q image fetch c 2>"$T/err$1" &
	  echo $! >"$T/pid$1"; wait $!; echo $? >"$T/rc$1" ) &
	at_exit "[ -s '$T/rc$1' ] || kill \$(cat '$T/pid$1')"
}
lock_waiter() {	# INODE: a process is blocked in flock() on that file
	grep -Eq "^[0-9]+: -> FLOCK +ADVISORY +WRITE +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$1 " /proc/locks
}
bg_fetch 1
ok "the first fetch is held by the server mid-body" \
    wait_for 30 "the server to hold c" test -e "$T/gate.held"
bg_fetch 2
ok "the second fetch waits on the cache lock meanwhile" \
    wait_for 30 "a waiter on c's lock" lock_waiter "$(stat -c %i "$T/cache/$SC.lock")"
check "while the first is still downloading" ! -e "$T/rc1"
touch "$T/gate"
ok "both fetches end" wait_for 60 "both fetches" test -s "$T/rc1" -a -s "$T/rc2"
check "both concurrent fetches succeed" "$(cat "$T/rc1" "$T/rc2" | tr -d '\n')" = 00
check "the server sent c once, whole" \
    "$(count '^/c.raw - 200 5000000$')$(count '^/c.raw')" = 11
ok "and the cached c verifies" C image verify c
: >"$T/ctl"

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
# another host; each logs its requests and failed handshakes on its own.
cert() {	# NAME SAN
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" \
	    -addext "subjectAltName=$2" -keyout "$T/$1.key" -out "$T/$1.pem" \
	    >/dev/null 2>&1
}
cert ok IP:127.0.0.1
cert other DNS:images.example.net
tls_server() {	# NAME PORTFILE
	python3 "$LAB/imgserver.py" --dir "$T/srv" --ctl "$T/ctl" \
	    --log "$T/log.$2" --port-file "$T/$2" --tls-cert "$T/$1.pem" \
	    --tls-key "$T/$1.key" >>"$T/server.err" 2>&1 &
	at_exit "kill $!"
	wait_for 10 "the TLS server" test -s "$T/$2"
}
tls_server ok tport
tls_server other tport2
TPORT=$(cat "$T/tport")
TPORT2=$(cat "$T/tport2")
TURL=https://127.0.0.1:$TPORT
TURL2=https://127.0.0.1:$TPORT2
rm -rf "$T/cache"; mkdir "$T/cache"
conf 0 3 "$T/ok.pem"
ok "https with the server's CA in ca_bundle" C -q image fetch tls
check "the TLS server sent b once" "$(count '^/b.raw - 200 5000000$' "$T/log.tport" "$TURL")" -eq 1
ok "verified" C image verify tls
rm -rf "$T/cache"; mkdir "$T/cache"
conf 0 3 "$T/other.pem"
fresh "$T/log.tport" "$TURL"
fails_with 1 "https with a certificate ca_bundle does not trust exits 1" \
    C -q image fetch tls
check "a TLS failure is not retried (retries = 3: one failed handshake, no request)" \
    "$(count '^!tls-handshake failed' "$T/log.tport" "$TURL")$(count '^!tls-handshake' "$T/log.tport" "$TURL")$(count '^/b.raw' "$T/log.tport" "$TURL")" = 110
check "the TLS failure is named" -n "$(C -q image fetch tls 2>&1 | grep -i 'certificate')"
cat "$T/ok.pem" "$T/other.pem" >"$T/both.pem"
conf 0 3 "$T/both.pem"
fresh "$T/log.tport2" "$TURL2"
fails_with 1 "a trusted certificate for another name exits 1" \
    C -q image fetch tlsname
check "not retried either (one connection, no request)" \
    "$(count '^!tls-handshake' "$T/log.tport2" "$TURL2")$(count '^/b.raw' "$T/log.tport2" "$TURL2")" = 10
check "nothing was cached over bad TLS" ! -e "$T/cache/$SB.img"
ok "no partial file left" noparts
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
