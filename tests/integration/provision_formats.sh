# castiron provision with every form an image takes in the cache: zstd
# and gzip with a bmap (sent as they are stored and decompressed by
# castiron-writer on the host), a raw image whose data compresses (zstd
# on the way) and one whose data does not (sent plain), images without a
# bmap (written whole), and two that must fail on the host: a zstd image
# that disagrees with its bmap, and a truncated one.  Each good host's
# disk is compared with the raw image byte for byte outside the root
# file system (which the configure step rewrites by design), the root's
# payload by its digest, and what the kernel counted as written against
# what the bmap maps; each run's note says how many bytes crossed the
# wire and how.
# time-limit: 240
. tests/lib.sh
. tests/lab/provlab.sh

if [ "$(id -u)" != 0 ]; then
	skip "provision of each image format" \
	    "needs root (network namespaces, loop devices)"
	done_testing
	exit
fi
for t in zstd gzip debugfs; do
	command -v $t >/dev/null || { skip "provision of each image format" "no $t"; done_testing; exit; }
done
lab_init
MiB=1048576

# The images: a GPT disk with a root file system and a data partition
# (a third random, a third text, a third never written).
ok "an image with a data partition" tests/lab/mkosimage "$T/os.img" 48 4 20
read -r DOFF DLEN <"$T/os.img.data"
IMGSZ=$(stat -c %s "$T/os.img")
MAPPED=$(lab_mapped "$T/os.img.bmap")
zstd -q -3 "$T/os.img" -o "$T/os.zst"
gzip -6 -c "$T/os.img" >"$T/os.gz"
# Random data all through: compressing it would only cost time.
ok "an image of random data" tests/lab/mkosimage "$T/rnd.img" 48 32
# Published with the bmap of another image of the same size: its ranges'
# digests cannot match.
zstd -q -1 "$T/rnd.img" -o "$T/bad.zst"
head -c $(( $(stat -c %s "$T/os.zst") - 4096 )) "$T/os.zst" >"$T/cut.zst"
sha() { sha256sum "$1" | cut -d' ' -f1; }
python3 tests/lab/bmapmangle.py "$T/os.img.bmap" "$T/dropped.bmap" droprange

# An image server on loopback, for a catalog image not in the cache yet.
mkdir -p "$T/srv"
cp "$T/os.zst" "$T/os.img.bmap" "$T/srv/"
: >"$T/ctl"
python3 tests/lab/imgserver.py --dir "$T/srv" --ctl "$T/ctl" --log "$T/srv.log" \
    --port-file "$T/port" >"$T/server.err" 2>&1 &
at_exit "kill $!"
wait_for 10 "the image server" test -s "$T/port"
URL=http://127.0.0.1:$(cat "$T/port")

image() {	# NAME FILE [BMAP]
	printf '[image %s]\nurl = file://%s\nsha256 = %s\n' "$1" "$2" "$(sha "$2")"
	[ -z "${3:-}" ] || printf 'bmap = file://%s\n' "$3"
}
{
	cat <<EOF
[castiron]
site = ams1
state_dir = $T/state
[inventory]
database = $T/inv.db
[images]
cache_dir = $T/cache
[provision]
ssh_key         = $T/lab/id_ed25519
reboot          = none
connect_timeout = 30s
io_timeout      = 60s
authorized_keys = $T/lab/authorized_keys
EOF
	image zst "$T/os.zst" "$T/os.img.bmap"
	image gz "$T/os.gz" "$T/os.img.bmap"
	image raw "$T/os.img" "$T/os.img.bmap"
	image rnd "$T/rnd.img" "$T/rnd.img.bmap"
	image zstwhole "$T/os.zst"
	image rawwhole "$T/os.img"
	image bad "$T/bad.zst" "$T/os.img.bmap"
	image cut "$T/cut.zst" "$T/os.img.bmap"
	image chatty "$T/os.zst" "$T/os.img.bmap"
	# A bmap with a range left out, against the pin of the real one.
	image tampered "$T/os.zst" "$T/dropped.bmap"
	printf 'bmap_sha256 = %s\n' "$(sha "$T/os.img.bmap")"
	cp "$T/os.img" "$T/swap.img"
	image swap "$T/swap.img" "$T/os.img.bmap"
	printf '[image web]\nurl = %s/os.zst\nsha256 = %s\nbmap = %s/os.img.bmap\nbmap_sha256 = %s\n' \
	    "$URL" "$(sha "$T/os.zst")" "$URL" "$(sha "$T/os.img.bmap")"
} >"$T/c.ini"
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
jget() { "$C" inventory show "$1" --format json | jq -r "$2"; }
# The note of a host's image step that says what was verified and sent.
sent_note() { jget "$1" '[.events[] | select(.step == "image" and ((.reason // "") | test("verified on")))] | last | .reason // ""'; }

# One host per image; host 2 runs dropbear, as small deploy environments do.
N=0
for img in zst gz raw rnd zstwhole rawwhole bad cut chatty web swap1 swap2; do
	N=$((N + 1))
	kind=openssh; [ $N = 2 ] && kind=dropbear
	lab_host $N $kind 64
	eval "D$N=\$LAB_DISK"
	"$C" inventory add "h$img" --site ams1 --rack r1 --unit $N --mac "$LAB_MAC" \
	    --address "$LAB_ADDR" --disk "$LAB_DISK"
	eval "W$N=\$(lab_written $N)"
done
CMP_OUT="$(lab_sha "$T/os.img" 0 $MiB) $(lab_sha "$T/os.img" "$DOFF")"
PAYLOAD=$(cat "$T/os.img.payload.sha256")

# -- the good ones ---------------------------------------------------------
# how: the words the note must carry; whole: written without a bmap.
N=0
for spec in "zst:zstd as stored" "gz:gzip as stored" "raw:zstd on the way" \
    "rnd:plain" "zstwhole:zstd as stored:whole" "rawwhole:plain:whole"; do
	N=$((N + 1))
	img=${spec%%:*}; rest=${spec#*:}; how=${rest%%:*}; whole=${rest#"$how"}
	eval "D=\$D$N W0=\$W$N"
	ok "h$img: provision with image $img" "$C" provision "h$img" --image "$img" \
	    --accept-new-hostkey
	check "  ...active" "$(jget "h$img" .state)" = active
	note=$(sent_note "h$img")
	check "  ...the note says how it travelled: $how" -n "$(echo "$note" | grep -F "($how")"
	wire=$(echo "$note" | sed -n 's/.*; \([0-9]*\) bytes sent.*/\1/p')
	if [ "$img" = rnd ]; then
		RIMG=$T/rnd.img
		check "  ...the disk outside the root is the image's, byte for byte" \
		    "$(lab_sha "$D" 0 $MiB) $(lab_sha "$D" $((IMGSZ - MiB)) $MiB)" = \
		    "$(lab_sha "$RIMG" 0 $MiB) $(lab_sha "$RIMG" $((IMGSZ - MiB)) $MiB)"
		check "  ...the root's payload is the image's" \
		    "$(debugfs -R 'cat /var/lib/os/payload' "${D}p1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = \
		    "$(cat "$T/rnd.img.payload.sha256")"
		check "  ...about the mapped bytes on the wire ($wire)" \
		    "$wire" -ge "$(lab_mapped "$T/rnd.img.bmap")"
		continue
	fi
	check "  ...the disk outside the root is the image's, byte for byte" \
	    "$(lab_sha "$D" 0 $MiB) $(lab_sha "$D" "$DOFF" $((IMGSZ - DOFF)))" = "$CMP_OUT"
	check "  ...the root's payload is the image's" \
	    "$(debugfs -R 'cat /var/lib/os/payload' "${D}p1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$PAYLOAD"
	check "  ...and its file system is clean" "$(e2fsck -fn "${D}p1" >/dev/null 2>&1; echo $?)" = 0
	written=$(( $(lab_written $N) - W0 ))
	if [ -n "$whole" ]; then
		check "  ...every byte of the image written ($written)" "$written" -ge "$IMGSZ"
	else
		check "  ...only the mapped data (and configure's) written ($written of $IMGSZ)" \
		    "$written" -lt $((MAPPED + 8 * MiB))
	fi
	case $how in
	plain) check "  ...the image's bytes on the wire ($wire)" "$wire" -ge "$IMGSZ" ;;
	*) check "  ...fewer bytes on the wire ($wire) than mapped ($MAPPED)" "$wire" -lt "$MAPPED" ;;
	esac
done

# -- the bad ones: refused on the host, nothing reported verified ----------
for spec in "bad:7:sha256 mismatch" "cut:8:truncated zstd"; do
	img=${spec%%:*}; rest=${spec#*:}; N=${rest%%:*}; why=${rest#*:}
	fails_with 1 "h$img: provision fails" sh -c "'$C' provision h$img --image $img --accept-new-hostkey 2>'$T/$img.err'"
	check "  ...failed at image" "$(jget "h$img" '.state + "/" + .step')" = failed/image
	check "  ...the writer's reason, in one line: $why" \
	    "$(grep -c "^castiron provision: h$img: failed at image: .*writer: .*$why" "$T/$img.err")" = 1
	check "  ...no image reported verified" -z "$(sent_note "h$img")"
done

# -- a bmap that is not the pinned one ---------------------------------------
W9=$(lab_written 9)
fails_with 1 "a tampered bmap stops the run before any host" \
    sh -c "'$C' provision hchatty --image tampered 2>'$T/tampered.err'"
check "  ...naming bmap_sha256, in one line" "$(grep -c 'bmap_sha256' "$T/tampered.err")" = 1
check "  ...the host untouched (state, disk)" \
    "$(jget hchatty .state) $(lab_written 9)" = "enrolled $W9"

# -- a catalog image not in the cache ----------------------------------------
fails_with 1 "hweb: --dry-run does not fetch" "$C" provision hweb --image web --dry-run
check "  ...nothing cached" -z "$(ls "$T/cache" 2>/dev/null | grep -v '^tmp$')"
ok "hweb: provision fetches the image first, then writes it" \
    "$C" provision hweb --image web --accept-new-hostkey
check "  ...fetched once" "$(grep -c '^/os.zst ' "$T/srv.log")" = 1
check "  ...verified on the host" -n "$(sent_note hweb)"

# -- the image replaced in the middle of a run -------------------------------
# Verified once, then held open: a run of two hosts, one at a time; while
# the first is being written (its link slowed), the file is replaced as a
# new fetch would replace it (a rename).  Both get the verified image.
lab_slow 11 16mbit
"$C" provision hswap1 hswap2 --image swap --parallel 1 --accept-new-hostkey \
    >"$T/swap.out" 2>&1 &
SWAPRUN=$!
wait_for 60 "hswap1's writer" lab_writer_running 11
cp "$T/rnd.img" "$T/swap.new" && mv "$T/swap.new" "$T/swap.img"
lab_fast 11
wait $SWAPRUN
check "both hosts written although the file changed (exit $?)" \
    "$(jget hswap1 .state) $(jget hswap2 .state)" = "active active"
check "  ...each with the image verified at the start" \
    "$(lab_sha "$D11" 0 $MiB) $(lab_sha "$D12" 0 $MiB)" = \
    "$(lab_sha "$T/os.img" 0 $MiB) $(lab_sha "$T/os.img" 0 $MiB)"

# -- a writer that says a lot ------------------------------------------------
# Hours of progress lines come to megabytes before the final report; that
# report must still be read.  castiron uploads whatever it is given as
# the writer: a script that prints 3 MB of progress, then runs the real one.
WRITER=${WRITER:-$(dirname "$CASTIRON")/castiron-writer}
printf '#!/bin/sh\nyes "progress done=1 total=2" | head -c 3000000\nexec %s "$@"\n' \
    "$(readlink -f "$WRITER")" >"$T/chatty-writer"
chmod +x "$T/chatty-writer"
ok "hchatty: provision through a writer printing 3 MB before its report" \
    env CASTIRON_WRITER="$T/chatty-writer" "$C" provision hchatty --image chatty --accept-new-hostkey
check "  ...its report read: verified" -n "$(sent_note hchatty)"

done_testing
