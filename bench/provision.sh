# Benchmark: castiron provision's image step against OpenSSH.
#
# One lab host (a network namespace with a real sshd and a loop device,
# tests/lab/provlab.sh) and two 1 GiB images (GPT, an ext4 root), three
# rounds, interleaved:
#   - realistic: the root filled with 256 MiB of this machine's /usr
#     (binaries, libraries, headers, text), about 28 % mapped, published
#     zstd-compressed (zstd -3) with its bmap, as an image server would.
#     castiron sends the file as it is stored; castiron-writer decompresses
#     it on the host.  Anchors: OpenSSH streaming the same file into a
#     decompressor on the host (`ssh host 'zstd -dc | dd of=DISK bs=4M'`,
#     the best an operator does by hand), and OpenSSH sending only the
#     mapped raw data (`cat > DISK`);
#   - random: the root holding 256 MiB of random data (raw with a bmap:
#     castiron's sample says it does not compress, so it goes plain),
#     against OpenSSH sending the mapped raw data.
# Every side is timed alike, from outside: each process from its start to
# its exit on the same clock, connect and authentication included; the
# anchors run at the cipher castiron negotiated (-c) and at OpenSSH's
# defaults.  Which cipher each side used is read from one place for both:
# the lab sshd's own log (LogLevel DEBUG1).  Also printed for each side:
# the bytes that crossed the host's link (its veth's counters: SSH and TCP
# included), and the CPU seconds of the client (castiron or ssh), of the
# command on the host (castiron-writer's own count; the shell's `times`
# for the anchors' pipelines) and of sshd (what its listener reaped, less
# the command's).  Medians of 3.  Then dropbear's channel window: the
# random image to a dropbear host at its default 24 KiB window and at
# -W 4 MiB.  Then rack scale: 16 hosts at once against 4 (three rounds).
#
# The lab hosts' root has /bin/sh (dash) as its login shell
# (tests/lab/provlab.sh), as a deploy environment's busybox sh: this
# machine's root has bash, whose ~/.bashrc (pyenv's set-up) costs 0.2 to
# 0.5 s of CPU before every command, once for an anchor and once for
# each of castiron's commands, which would time this machine's rc file.
#
# The lab disks are RAM-backed and fully allocated (LAB_DISKDIR=/dev/shm):
# castiron-writer flushes the disk before it reports and `cat > disk`
# does not, so on a file of this machine's disk the comparison would time
# this VM's disk flush on one side only.  Figures only; nothing asserted.
. tests/lib.sh
. tests/lab/provlab.sh
[ "$(id -u)" = 0 ] || { echo "bench provision: needs root (network namespaces, loop devices)"; exit 0; }
LAB_DISKDIR=/dev/shm
HZ=$(getconf CLK_TCK)
# BENCH_STREAMS: image_streams for the random image's second castiron run
# (the first has 1) and for the rack; BENCH_ONLY=random: that part alone;
# BENCH_ONLY=rack: the rack alone.
NSTREAMS=${BENCH_STREAMS:-2}
ONLY=${BENCH_ONLY:-}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
mbs() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
ratio() { printf '%.2f' "$(echo "scale=4; $1" | bc -l)"; }
# CPU seconds the host's sshd listener has reaped (its sessions and their
# commands), and the bytes its link has carried towards the host.
reaped() { awk -v hz="$HZ" '{ printf "%.2f\n", ($16 + $17) / hz }' "/proc/$(cat "$LAB_DIR/sshd.pid")/stat"; }
linkbytes() { cat "/sys/class/net/cp$$h$1/statistics/tx_bytes"; }
# run NAME CMD...: runs CMD (stdin passed on) timed from outside; adds to
# the lists NAME_T (seconds), NAME_C (client CPU), NAME_R (sshd and its
# commands, reaped), NAME_W (bytes on the link).  Returns CMD's status.
run() {
	_rn=$1; shift
	_r0=$(reaped); _w0=$(linkbytes 1); _t0=$(now)
	/usr/bin/time -f '%U %S' -o "$T/cpu" "$@"
	_rc=$?
	_t1=$(now); _w1=$(linkbytes 1); _r1=$(reaped)
	eval "${_rn}_T=\"\${${_rn}_T:-} $(secs "$_t0" "$_t1")\""
	eval "${_rn}_C=\"\${${_rn}_C:-} $(tail -1 "$T/cpu" | awk '{ print $1 + $2 }')\""
	eval "${_rn}_R=\"\${${_rn}_R:-} $(echo "$_r1 - $_r0" | bc -l)\""
	eval "${_rn}_W=\"\${${_rn}_W:-} $((_w1 - _w0))\""
	return $_rc
}
# The CPU seconds of an anchor's pipeline on the host, from the shell's
# `times` (its second line: the children's user and system time).
times_cpu() {
	sed -n '2p' "$1" | tr 'ms' '  ' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'
}

lab_init
tests/lab/mkosimage "$T/big.img" 1024 256
if [ -z "$ONLY" ]; then
# The realistic root: 256 MiB of /usr, files under 4 MiB, in name order
# across the directories, so binaries, libraries and text mix.
mkdir -p "$T/usr"
python3 -c '
import os, sys, shutil
dst, files = sys.argv[1], []
for d in ["/usr/bin", "/usr/include", "/usr/lib/x86_64-linux-gnu", "/usr/share/doc"]:
    for dp, dn, fn in os.walk(d):
        for f in fn:
            p = os.path.join(dp, f)
            if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) < 4 << 20:
                files.append((f, p, os.path.getsize(p)))
total = 0
for f, p, n in sorted(files):
    if total + n > 256 << 20:
        break
    total += n
    t = dst + p
    os.makedirs(os.path.dirname(t), exist_ok=True)
    shutil.copyfile(p, t)
' "$T/usr"
MKOS_TREE=$T/usr tests/lab/mkosimage "$T/usr.img" 1024 0
zstd -q -3 -T0 "$T/usr.img" -o "$T/usr.zst"
fi
tests/lab/mkosimage "$T/small.img" 256 64

conf() {	# parallel
	{
		printf '[inventory]\ndatabase = %s\n' "$T/inv.db"
		printf '[provision]\nssh_key = %s\nimage = bench\nparallel = %s\n' \
		    "$T/lab/id_ed25519" "$1"
		printf 'reboot = none\nconnect_timeout = 30s\nio_timeout = 60s\n'
		printf 'image_streams = %s\n' "${STREAMS:-$NSTREAMS}"
		for i in "usr usr.zst usr.img.bmap" "rnd big.img big.img.bmap" \
		    "bench small.img small.img.bmap"; do
			set -- $i
			[ -f "$T/$2" ] || continue
			printf '[image %s]\nurl = file://%s\nsha256 = %s\nbmap = file://%s\n' \
			    "$1" "$T/$2" "$(sha256sum "$T/$2" | cut -d' ' -f1)" "$T/$3"
		done
	} >"$T/c.ini"
}
export CASTIRON_CONFIG="$T/c.ini"
# The image step of a host: "bytes duration_ms" from its last done event.
image_event() {
	"$CASTIRON" inventory show "$1" --format json | jq -r \
	    '[.events[] | select(.step == "image" and (.reason // "" | startswith("done")))] | last | "\(.bytes) \(.duration_ms)"'
}
# Its note: "STREAM_BYTES WRITER_CPU_MS HOW" (HOW to the first ':').
image_note() {
	"$CASTIRON" inventory show "$1" --format json | jq -r \
	    '[.events[] | select(.step == "image" and ((.reason // "") | test("verified on")))] | last | .reason' |
	    sed -n 's/.*; \([0-9]*\) bytes sent (\([^:)]*\).*, \([0-9]*\) ms of CPU.*/\1 \3 \2/p'
}
step_secs() {	# host step
	"$CASTIRON" inventory show "$1" --format json | jq -r --arg s "$2" \
	    '[.events[] | select(.step == $s and (.reason // "" | startswith("done")))] | last | .duration_ms / 1000'
}
# Only the mapped ranges of an image, back to back, for OpenSSH.
mapped_of() {	# image bmap > out
	python3 -c '
import sys, re
img, bmap = sys.argv[1], open(sys.argv[2]).read()
bs = int(re.search(r"<BlockSize>\s*(\d+)", bmap).group(1))
with open(img, "rb") as f, open("/dev/stdout", "wb") as out:
    for a, b in re.findall(r"<Range[^>]*>\s*(\d+)(?:-(\d+))?\s*</Range>", bmap):
        a = int(a); b = int(b) if b else a
        f.seek(a * bs)
        n = (b - a + 1) * bs
        while n:
            chunk = f.read(min(n, 1 << 20))
            out.write(chunk); n -= len(chunk)
' "$1" "$2"
}
[ -n "$ONLY" ] || mapped_of "$T/usr.img" "$T/usr.img.bmap" >"$T/usr.mapped"
mapped_of "$T/big.img" "$T/big.img.bmap" >"$T/rnd.mapped"
IMG_BYTES=$(stat -c %s "$T/big.img")
[ -n "$ONLY" ] ||
    { U_MAPPED=$(stat -c %s "$T/usr.mapped"); U_ZST=$(stat -c %s "$T/usr.zst"); }
R_MAPPED=$(stat -c %s "$T/rnd.mapped")

# -- one host ------------------------------------------------------------
if [ "$ONLY" != rack ]; then
lab_host 1 openssh 1100
A=$LAB_ADDR; D=$LAB_DISK; LOG=$LAB_DIR/sshd.log
sed -i 's/^LogLevel .*/LogLevel DEBUG1/' "$LAB_DIR/sshd_config"
lab_own_tmp 1
conf 1
"$CASTIRON" inventory add b1 --site bench --rack one --mac "$LAB_MAC" \
    --address "$A" --disk "$D" >/dev/null
SSH="ssh -q -i $T/lab/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
$SSH "root@$A" true || { echo "bench provision: cannot reach the lab host"; exit 1; }
cipher() {
	sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' \
	    "$LOG" | tail -n 1
}
# ci L NAME: castiron provision of b1 with image NAME, under list name L
# (also L_S: the image step's seconds, L_WC: the writer's CPU, L_IN and
# L_CO: inspect's and configure's seconds; L_WIRE, L_HOW from its note).
ci() {
	"$CASTIRON" inventory forget-key b1 --reason bench >/dev/null 2>&1
	run "$1" "$CASTIRON" provision b1 --image "$2" --accept-new-hostkey \
	    --force >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }
	_cl=$1
	set -- $(image_event b1) $(image_note b1)
	eval "${_cl}_S=\"\${${_cl}_S:-} $(echo "scale=3; $2 / 1000" | bc)\""
	eval "${_cl}_B=$1 ${_cl}_WIRE=$3"
	shift 4
	eval "${_cl}_HOW=\"$*\""
	set -- $(image_note b1)
	eval "${_cl}_WC=\"\${${_cl}_WC:-} $(echo "scale=2; $2 / 1000" | bc)\""
	eval "${_cl}_IN=\"\${${_cl}_IN:-} $(step_secs b1 inspect)\""
	eval "${_cl}_CO=\"\${${_cl}_CO:-} $(step_secs b1 configure)\""
}
# anchor L SSH_OPTIONS PIPELINE INPUT: an OpenSSH anchor.
anchor() {
	_al=$1 _ao=$2 _ap=$3 _ai=$4
	run "$_al" $SSH $_ao "root@$A" "$_ap; times >&2" <"$_ai" 2>"$T/times" ||
	    { cat "$T/times"; exit 1; }
	eval "${_al}_WC=\"\${${_al}_WC:-} $(times_cpu "$T/times")\""
}
ZPIPE="zstd -dc | dd of=$D bs=4M status=none"
# both LC LD PIPELINE INPUT: an anchor at castiron's cipher (just read
# from the log: castiron ran last) and one at OpenSSH's defaults, each
# side's cipher read from the log after it.
both() {
	CI_CIPHER=$(cipher)
	C_OPT="-c ${CI_CIPHER%% *}"
	anchor "$1" "$C_OPT" "$3" "$4"
	AC_CIPHER=$(cipher)
	anchor "$2" "" "$3" "$4"
	AD_CIPHER=$(cipher)
}
# The random image goes with one session (CR1, as before image_streams)
# and with NSTREAMS (CR), in the same rounds as its anchors.
for round in 1 2 3; do
	if [ "$ONLY" != random ]; then
		ci CU usr
		both AZC AZD "$ZPIPE" "$T/usr.zst"
		anchor AMC "$C_OPT" "cat > $D" "$T/usr.mapped"
		anchor AMD "" "cat > $D" "$T/usr.mapped"
	fi
	STREAMS=1 conf 1
	ci CR1 rnd
	conf 1
	ci CR rnd
	both ARC ARD "cat > $D" "$T/rnd.mapped"
done

med() { eval "median \$$1"; }
# sshd's own CPU: what the listener reaped, less the command's.
sshd_cpu() { echo "$(med "${1}_R") - $(med "${1}_WC")" | bc -l; }
row() {	# label list [bytes]
	_t=$(med "${2}_T")
	printf '  %-46s %6.2fs' "$1" "$_t"
	[ -n "${3:-}" ] && printf ' %6s MiB/s' "$(mbs "$3" "$_t")"
	printf '  link %4s MiB  CPU s: client %5.2f host command %5.2f sshd %5.2f\n' \
	    "$(( $(med "${2}_W") / 1048576 ))" "$(med "${2}_C")" \
	    "$(med "${2}_WC")" "$(sshd_cpu "$2")"
}
step_row() {	# label list bytes
	printf '  %-46s %6.2fs %6s MiB/s\n' "$1" "$(med "${2}_S")" \
	    "$(mbs "$3" "$(med "${2}_S")")"
}
printf 'one host, 1 GiB images, median of 3 rounds, %s CPUs, load average %s; ciphers (sshd'"'"'s log):\n' \
    "$(nproc)" "$LOAD0"
printf '  castiron %s; OpenSSH -c: %s; OpenSSH defaults: %s\n' \
    "$CI_CIPHER" "$AC_CIPHER" "$AD_CIPHER"
echo "  times from process start to exit (connect and authentication included),"
echo "  except the image step (castiron's events); rates on the mapped bytes"
if [ "$ONLY" != random ]; then
	printf 'realistic image (/usr): %s MiB mapped (%s%%), zstd file %s MiB; castiron: "%s", %s bytes in its stream\n' \
	    "$((U_MAPPED / 1048576))" "$((U_MAPPED * 100 / IMG_BYTES))" \
	    "$((U_ZST / 1048576))" "$CU_HOW" "$CU_WIRE"
	row "castiron provision, whole run" CU "$U_MAPPED"
	step_row "  of which: image step (events)" CU "$U_MAPPED"
	printf '  %-46s %6.2fs\n' "  of which: inspect (events)" "$(med CU_IN)"
	printf '  %-46s %6.2fs\n' "  of which: configure (events)" "$(med CU_CO)"
	row "OpenSSH zstd -dc | dd, -c ${CI_CIPHER%% *}" AZC "$U_MAPPED"
	row "OpenSSH zstd -dc | dd, defaults" AZD "$U_MAPPED"
	row "OpenSSH cat > disk, mapped data, -c ${CI_CIPHER%% *}" AMC "$U_MAPPED"
	row "OpenSSH cat > disk, mapped data, defaults" AMD "$U_MAPPED"
	FAST=$(printf '%s\n' "$(med AZC_T)" "$(med AMC_T)" | sort -g | head -1)
	printf '  the faster anchor at the same cipher: %.2fs\n' "$FAST"
	printf '    castiron image step / faster anchor, time:         %s  (goal <= 0.8)\n' \
	    "$(ratio "$(med CU_S) / $FAST")"
	printf '    castiron whole run / faster anchor, time (alike):  %s  (goal <= 1.2)\n' \
	    "$(ratio "$(med CU_T) / $FAST")"
fi
printf 'random image: %s MiB mapped; castiron: "%s" and "%s"\n' \
    "$((R_MAPPED / 1048576))" "$CR1_HOW" "$CR_HOW"
row "castiron provision, whole run, image_streams = 1" CR1 "$R_MAPPED"
step_row "  of which: image step (events)" CR1 "$R_MAPPED"
row "castiron provision, whole run, image_streams = $NSTREAMS" CR "$R_MAPPED"
step_row "  of which: image step (events)" CR "$R_MAPPED"
row "OpenSSH cat > disk, mapped data, -c ${CI_CIPHER%% *}" ARC "$R_MAPPED"
row "OpenSSH cat > disk, mapped data, defaults" ARD "$R_MAPPED"
printf '    image step / OpenSSH mapped data, throughput, 1 stream:  %s  (before image_streams)\n' \
    "$(ratio "$(med ARC_T) / $(med CR1_S)")"
printf '    image step / OpenSSH mapped data, throughput, %s streams: %s  (goal >= 0.9)\n' \
    "$NSTREAMS" "$(ratio "$(med ARC_T) / $(med CR_S)")"
printf '    whole run / OpenSSH mapped data, time (alike), 1 / %s:    %s / %s\n' \
    "$NSTREAMS" "$(ratio "$(med CR1_T) / $(med ARC_T)")" "$(ratio "$(med CR_T) / $(med ARC_T)")"
printf '  load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
[ "$ONLY" = random ] && { lab_cleanup; exit 0; }
lab_cleanup
LAB_HOSTS=""

fi

# -- dropbear's channel window ------------------------------------------
# The random image to a dropbear host: its default receive window (24 KiB)
# caps any client; a deploy environment on dropbear should start it with
# -W (up to 10 MB).
dropbear_rate() {	# dropbear options
	LAB_DROPBEAR_OPTS=$1 lab_host 2 dropbear 1100 >/dev/null
	rm -f "$T/inv.db"*
	"$CASTIRON" inventory add d1 --site bench --rack dr --mac "$LAB_MAC" \
	    --address "$LAB_ADDR" --disk "$LAB_DISK" >/dev/null
	"$CASTIRON" provision d1 --image rnd --accept-new-hostkey >/dev/null 2>"$T/err" ||
	    tail -2 "$T/err" >&2
	set -- $(image_event d1)
	mbs "$1" "$(echo "scale=3; $2 / 1000" | bc)"
	lab_cleanup
	LAB_HOSTS=""
}
if [ "$ONLY" != rack ]; then
DB_DEF=$(dropbear_rate "")
DB_BIG=$(dropbear_rate "-W 4194304")
echo "dropbear, random image, castiron image step (events)"
printf '  %-44s %8s MiB/s\n' "default window (24 KiB)" "$DB_DEF"
printf '  %-44s %8s MiB/s\n' "-W 4194304" "$DB_BIG"
printf '  -W 4 MiB / default:                        %s\n' "$(ratio "$DB_BIG / $DB_DEF")"
fi

# -- rack scale: 4 vs 16 hosts -------------------------------------------
rack() {	# N
	n=$1
	rm -f "$T/inv.db"*
	conf "$n"
	i=1
	while [ "$i" -le "$n" ]; do
		lab_host "$((i + 10))" openssh 300 >/dev/null
		"$CASTIRON" inventory add "r$n-$i" --site bench --rack "r$n" \
		    --mac "$LAB_MAC" --address "$LAB_ADDR" --disk "$LAB_DISK" >/dev/null
		i=$((i + 1))
	done
	t0=$(now)
	"$CASTIRON" provision --rack "r$n" --accept-new-hostkey >/dev/null 2>"$T/err" ||
	    { tail -3 "$T/err"; }
	t1=$(now)
	total=0; i=1; maxs=0
	while [ "$i" -le "$n" ]; do
		set -- $(image_event "r$n-$i")
		total=$((total + ${1:-0}))
		i=$((i + 1))
	done
	wall=$(secs "$t0" "$t1")
	echo "$total $wall"
	lab_cleanup
	LAB_HOSTS=""
}
# Three rounds, 4 and 16 in turn; medians (a run of 4 hosts lasts about
# two seconds, and single runs differed by half).
RL0=$(cut -d' ' -f1-3 /proc/loadavg); W4S="" W16S=""
for round in 1 2 3; do
	set -- $(rack 4); B4=$1; W4S="$W4S $2"
	set -- $(rack 16); B16=$1; W16S="$W16S $2"
done
W4=$(median $W4S); W16=$(median $W16S)
R4=$(mbs "$B4" "$W4"); R16=$(mbs "$B16" "$W16")
echo "rack scale, 256 MiB image 25% mapped, reboot = none (whole runs), image_streams = $NSTREAMS, median of 3 rounds, load average $RL0 -> $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  runs (s): 4 hosts%s; 16 hosts%s\n' "$(printf ' %.2f' $W4S)" \
    "$(printf ' %.2f' $W16S)"
printf '  %-44s %8.2fs  %7s MiB/s aggregate\n' "4 hosts at once" "$W4" "$R4"
printf '  %-44s %8.2fs  %7s MiB/s aggregate\n' "16 hosts at once" "$W16" "$R16"
printf '  aggregate 16 / 4:                         %s  (goal >= 1.0)\n' \
    "$(ratio "$R16 / $R4")"
