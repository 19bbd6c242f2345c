# castiron provision of an image pushed over several SSH sessions at once
# ([provision] image_streams), against real sshd and dropbear hosts in
# network namespaces (tests/lab/provlab.sh).  A raw image of random data
# with its bmap goes plain, so it is split: written with 1, 2, 3 and 5
# streams (2 to dropbear), each host's disk compared with the image byte
# for byte outside the root (which configure rewrites by design) and the
# root's payload by its digest, the note naming the streams, and the
# host's sshd log showing one more authenticated session per extra
# stream; two hosts at once get no more streams than leave each a core;
# a further session that meets another host key than the first refuses
# it before it authenticates, and the host fails in one line.  Then one stream's session killed in the middle of a write
# (its link slowed): the host fails at image with one line, no image is
# reported verified, the image's first and last MiB (held back until
# everything else verified) are not on the disk; the next run resumes and
# writes the image whole, byte for byte.  And a compressed image is not
# split (one session).
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "provision over several streams" debugfs
lab_init
MiB=1048576

ok "an image of random data" tests/lab/mkosimage "$T/rnd.img" 48 32
IMGSZ=$(stat -c %s "$T/rnd.img")
PAYLOAD=$(cat "$T/rnd.img.payload.sha256")
zstd -q -1 "$T/rnd.img" -o "$T/rnd.zst"
sha() { sha256sum "$1" | cut -d' ' -f1; }

conf() {	# FILE STREAMS: SSH only (power = none), no reboot
	lab_config_to "$1" power=none castiron.site=ams1 provision.reboot=none \
	    provision.connect_timeout=30s provision.image_streams="$2" \
	    "image rnd.url=file://$T/rnd.img" "image rnd.sha256=$(sha "$T/rnd.img")" \
	    "image rnd.bmap=file://$T/rnd.img.bmap" \
	    "image zst.url=file://$T/rnd.zst" "image zst.sha256=$(sha "$T/rnd.zst")" \
	    "image zst.bmap=file://$T/rnd.img.bmap"
}
C=$CASTIRON
jget() { CASTIRON_CONFIG=$T/c1.ini "$C" inventory show "$1" --format json | jq -r "$2"; }
note() { jget "$1" '[.events[] | select(.step == "image" and ((.reason // "") | test("verified on")))] | last | .reason // ""'; }
accepted() { grep -c -E 'Accepted publickey|Pubkey auth succeeded' "$T/lab/h$1/sshd.log"; }
# The disk outside the root, and the root's payload.
disk_is_image() {	# DISK
	[ "$(lab_sha "$1" 0 $MiB) $(lab_sha "$1" $((IMGSZ - MiB)) $MiB)" = \
	    "$(lab_sha "$T/rnd.img" 0 $MiB) $(lab_sha "$T/rnd.img" $((IMGSZ - MiB)) $MiB)" ] &&
	[ "$(debugfs -R 'cat /var/lib/os/payload' "${1}p1" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$PAYLOAD" ]
}
for n in 1 2 3 5; do conf "$T/c$n.ini" $n; done
export CASTIRON_CONFIG="$T/c1.ini"

N=0
for spec in 1:openssh 2:dropbear 3:openssh 5:openssh; do
	N=$((N + 1))
	streams=${spec%%:*}; kind=${spec#*:}
	lab_host $N "$kind" 64
	eval "D$N=\$LAB_DISK"
	# h3 has a /tmp of its own: no writer there yet, so its split
	# write first finds none, uploads it and starts again.
	[ $N = 3 ] && lab_own_tmp 3
	"$C" inventory add "h$N" --site ams1 --rack r1 --unit $N --mac "$LAB_MAC" \
	    --address "$LAB_ADDR" --disk "$LAB_DISK" >/dev/null
done

# -- written with 1, 2, 3, 5 streams -------------------------------------------
N=0
for spec in 1:openssh 2:dropbear 3:openssh 5:openssh; do
	N=$((N + 1))
	streams=${spec%%:*}; kind=${spec#*:}
	eval "D=\$D$N"
	a0=$(accepted $N)
	ok "h$N ($kind): provision with $streams stream(s)" \
	    env CASTIRON_CONFIG="$T/c$streams.ini" "$C" provision "h$N" --image rnd --accept-new-hostkey
	check "  ...active" "$(jget "h$N" .state)" = active
	check "  ...the disk is the image's, byte for byte (outside the root, and the root's payload)" \
	    "$(disk_is_image "$D" && echo same)" = same
	n=$(note "h$N")
	[ $N = 3 ] && check "  ...the writer uploaded first" \
	    -n "$(jget h3 '.events[] | select((.reason // "") | test("castiron-writer uploaded")) | .reason')"
	if [ "$streams" = 1 ]; then
		check "  ...one session, plain" -n "$(echo "$n" | grep -F '(plain' | grep -vF 'split')"
	else
		check "  ...the note says: split over $streams streams" \
		    -n "$(echo "$n" | grep -F "(plain, split over $streams streams")"
	fi
	# inspect and configure reuse the host's session: one, plus the
	# extra image streams (h3's twice: before and after the upload).
	op="="; [ $N = 3 ] && op="-ge"
	check "  ...$streams session(s) authenticated ($(($(accepted $N) - a0)))" \
	    "$(($(accepted $N) - a0))" $op "$streams"
done

# -- a compressed image is not split -------------------------------------------
# (configure pinned the installed system's key, which this lab host,
# never rebooted, does not present: the pin goes first.)
"$C" inventory forget-key h3 --reason test >/dev/null
a0=$(accepted 3)
ok "h3: a zstd image with image_streams = 3" \
    env CASTIRON_CONFIG="$T/c3.ini" "$C" provision h3 --image zst --force --accept-new-hostkey
check "  ...one session, sent as stored" -n "$(note h3 | grep -F '(zstd as stored')"
check "  ...one session authenticated" "$(($(accepted 3) - a0))" = 1
check "  ...the disk is the image's" "$(disk_is_image "$D3" && echo same)" = same

# -- two hosts at once: no more streams than leave each host a core -----------
CPUS=$(nproc)
WANT=3; [ $((2 * 3)) -le "$CPUS" ] || WANT=$((CPUS / 2)); [ "$WANT" -ge 1 ] || WANT=1
"$C" inventory forget-key h1 --reason test >/dev/null
"$C" inventory forget-key h4 --reason test >/dev/null
ok "h1 and h4 at once with image_streams = 3 ($CPUS CPUs)" \
    env CASTIRON_CONFIG="$T/c3.ini" "$C" provision h1 h4 --image rnd --force --accept-new-hostkey
for N in 1 4; do
	eval "D=\$D$N"
	if [ "$WANT" = 1 ]; then
		check "  ...h$N: one stream" -n "$(note "h$N" | grep -F '(plain' | grep -vF split)"
	else
		check "  ...h$N: $WANT streams" -n "$(note "h$N" | grep -F "split over $WANT streams")"
	fi
	check "  ...h$N: the disk is the image's" "$(disk_is_image "$D" && echo same)" = same
done

# -- a further session meets another key --------------------------------------
# h6's sshd presents another key to every connection after the host's
# first session authenticated: its listener stopped then (new
# connections wait in its backlog), the key file replaced, the listener
# continued (each connection's sshd loads the key anew).  The further
# sessions of the image step must refuse it before they authenticate.
# Should the image step's sessions come before the swap (the race is
# the length of inspect), the round is tried again, at most 3 times.
lab_host 6 openssh 64
D6=$LAB_DISK
KEY6=$T/lab/h6/ssh_host_ed25519_key
cp "$KEY6" "$T/key6.real"; cp "$KEY6.pub" "$T/key6.real.pub"
ssh-keygen -q -t ed25519 -N '' -f "$T/key6.imp" -C impostor
"$C" inventory add h6 --site ams1 --rack r1 --unit 6 --mac "$LAB_MAC" \
    --address "$LAB_ADDR" --disk "$LAB_DISK" >/dev/null
swap_after_first() {	# count of sessions authenticated before
	wait_for 60 "h6's first session" sh -c "[ \$(grep -c 'Accepted publickey' '$T/lab/h6/sshd.log') -gt $1 ]" || return 1
	kill -STOP "$(cat "$T/lab/h6/sshd.pid")"
	cp "$T/key6.imp" "$KEY6"; cp "$T/key6.imp.pub" "$KEY6.pub"
	kill -CONT "$(cat "$T/lab/h6/sshd.pid")"
}
round=0; imp_rc=; imp_auth=
while [ $round -lt 3 ]; do
	round=$((round + 1))
	cp "$T/key6.real" "$KEY6"; cp "$T/key6.real.pub" "$KEY6.pub"
	"$C" inventory forget-key h6 --reason test >/dev/null 2>&1
	# From the start again (inspect first), not resumed at image.
	[ $round = 1 ] || "$C" inventory set-state h6 enrolled --reason test >/dev/null
	a0=$(accepted 6)
	env CASTIRON_CONFIG="$T/c3.ini" "$C" provision h6 --image rnd --force \
	    --accept-new-hostkey >"$T/imp.out" 2>"$T/imp.err" &
	IMP=$!
	swap_after_first "$a0"
	wait $IMP
	imp_rc=$?
	imp_auth=$(($(accepted 6) - a0))
	# Lost the race: the image step's sessions met the real key.
	[ "$imp_auth" -gt 1 ] || break
done
sed 's/^/# /' "$T/imp.err"
check "h6: a further session presented another key: the run fails (exit $imp_rc, round $round)" "$imp_rc" = 1
check "  ...failed at image, in one line naming both keys" \
    "$(grep -c "^castiron provision: h6: failed at image: .*host key mismatch: a further session is presented SHA256:.*, the host's first session SHA256:" "$T/imp.err")" = 1
check "  ...only the host's first session authenticated" "$imp_auth" = 1
check "  ...no image reported verified" -z "$(note h6)"
cp "$T/key6.real" "$KEY6"; cp "$T/key6.real.pub" "$KEY6.pub"

# -- one stream's session killed mid-way ---------------------------------------
lab_host 5 openssh 64
D5=$LAB_DISK
"$C" inventory add h5 --site ams1 --rack r1 --unit 5 --mac "$LAB_MAC" \
    --address "$LAB_ADDR" --disk "$LAB_DISK" >/dev/null
BEFORE="$(lab_sha "$D5" 0 $MiB) $(lab_sha "$D5" $((IMGSZ - MiB)) $MiB)"
# A part's writer: its stdin handed to the lead is /dev/null now.
part_pid() {
	for _p in $(ip netns pids "ci-prov-$$-5" 2>/dev/null); do
		case $(cat "/proc/$_p/comm" 2>/dev/null) in castiron-writ*) ;; *) continue ;; esac
		[ "$(readlink "/proc/$_p/fd/0")" = /dev/null ] && { echo "$_p"; return 0; }
	done
	return 1
}
lab_slow 5 24mbit
env CASTIRON_CONFIG="$T/c3.ini" "$C" provision h5 --image rnd --accept-new-hostkey \
    >"$T/kill.out" 2>"$T/kill.err" &
RUN=$!
at_exit "kill $RUN 2>/dev/null"
wait_for 60 "a part of h5's write" part_pid
sleep 2	# some of every stream on the way
PART=$(part_pid)
SSHD=$(ps -o ppid= -p "$PART" | tr -d ' ')
check "  ...the part runs under its own sshd session" -n "$SSHD"
kill -9 "$SSHD"
wait $RUN
rc=$?
lab_fast 5
check "h5: the run fails (exit $rc)" "$rc" = 1
check "  ...failed at image" "$(jget h5 '.state + "/" + .step')" = failed/image
check "  ...with one line naming the host and the image step" \
    "$(grep -c '^castiron provision: h5: failed at image: ' "$T/kill.err")" = 1
sed 's/^/# /' "$T/kill.err"
check "  ...no image reported verified" -z "$(note h5)"
check "  ...the image's first and last MiB not on the disk" \
    "$(lab_sha "$D5" 0 $MiB) $(lab_sha "$D5" $((IMGSZ - MiB)) $MiB)" = "$BEFORE"
no_writer() { ! lab_writer_running 5; }
check "  ...every writer of the failed write gone" "$(wait_for 30 "h5's writers to end" no_writer && echo gone)" = gone
ok "h5: the next run resumes and writes the image" \
    env CASTIRON_CONFIG="$T/c3.ini" "$C" provision h5 --image rnd
check "  ...active" "$(jget h5 .state)" = active
check "  ...the disk is the image's, byte for byte" "$(disk_is_image "$D5" && echo same)" = same

done_testing
