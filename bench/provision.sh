# Benchmark: castiron provision's image step against OpenSSH.
#
# One lab host (a network namespace with a real sshd and a loop device,
# tests/lab/provlab.sh), a 1 GiB image with about 25 % mapped (a GPT disk
# with an ext4 root holding 256 MiB of random data), three rounds.  Both
# sides are timed alike, from outside: each process from its start to its
# exit on the same clock, connect and authentication included.  Each
# round, interleaved:
#   - castiron provision (reboot = none): the whole run (connect, inspect,
#     image, configure; the first round also uploads castiron-writer),
#     and, from its events, the image step alone (the whole run also
#     checks the image's sha256 before any host: that is timed alone too);
#   - `ssh host 'cat > disk'` with OpenSSH, at the cipher castiron
#     negotiated (-c), sending the whole image and only the mapped ranges;
#   - the same at OpenSSH's defaults.
# Which cipher each side used is read from one place for both: the lab
# sshd's own log (LogLevel DEBUG1, "kex: client->server cipher: ...").
# Medians are reported.  The lab disks are RAM-backed and fully allocated
# (LAB_DISKDIR=/dev/shm): castiron-writer flushes the disk before it
# reports and `cat > disk` does not, so on a file of this machine's own
# disk the comparison would time this VM's disk flush on one side only.
# The host has a /tmp of its own (lab_own_tmp), so the first round
# uploads the writer without touching this machine's /tmp.
# Then rack scale: aggregate image throughput with 16 hosts at once
# against 4 (a 256 MiB image, 25 % mapped).  Figures only; nothing is
# asserted.
. tests/lib.sh
. tests/lab/provlab.sh
[ "$(id -u)" = 0 ] || { echo "bench provision: needs root (network namespaces, loop devices)"; exit 0; }
LAB_DISKDIR=/dev/shm

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
mbs() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# timed VAR CMD...: runs CMD (stdin passed on), adds its seconds from
# start to exit to the list in VAR; the command's status is returned.
timed() {
	_tv=$1; shift
	_t0=$(now)
	"$@"
	_trc=$?
	_t1=$(now)
	eval "$_tv=\"\$$_tv $(secs "$_t0" "$_t1")\""
	return $_trc
}

lab_init
tests/lab/mkosimage "$T/big.img" 1024 256
tests/lab/mkosimage "$T/small.img" 256 64

conf() {	# image parallel
	cat >"$T/c.ini" <<EOF
[inventory]
database = $T/inv.db
[image bench]
url    = file://$T/$1.img
sha256 = $(sha256sum "$T/$1.img" | cut -d' ' -f1)
bmap   = file://$T/$1.img.bmap
[provision]
ssh_key  = $T/lab/id_ed25519
image    = bench
parallel = $2
reboot   = none
connect_timeout = 30s
io_timeout = 60s
EOF
}
export CASTIRON_CONFIG="$T/c.ini"
# The image step of a host: "bytes duration_ms" from its last done event.
image_event() {
	"$CASTIRON" inventory show "$1" --format json | jq -r \
	    '[.events[] | select(.step == "image" and (.reason // "" | startswith("done")))] | last | "\(.bytes) \(.duration_ms)"'
}
# Seconds of a host's last inspect and configure steps, from their events.
step_secs() {	# host step
	"$CASTIRON" inventory show "$1" --format json | jq -r --arg s "$2" \
	    '[.events[] | select(.step == $s and (.reason // "" | startswith("done")))] | last | .duration_ms / 1000'
}
ratio() { printf '%.2f' "$(echo "scale=4; $1" | bc -l)"; }

# -- one host ------------------------------------------------------------
lab_host 1 openssh 1100
A=$LAB_ADDR; D=$LAB_DISK; LOG=$LAB_DIR/sshd.log
sed -i 's/^LogLevel .*/LogLevel DEBUG1/' "$LAB_DIR/sshd_config"
lab_own_tmp 1
conf big 1
"$CASTIRON" inventory add b1 --site bench --rack one --mac "$LAB_MAC" \
    --address "$A" --disk "$D" >/dev/null
SSH="ssh -q -i $T/lab/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
$SSH "root@$A" true || { echo "bench provision: cannot reach the lab host"; exit 1; }
# The cipher of the last session sshd logged.
cipher() {
	sed -n 's/.*kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' \
	    "$LOG" | tail -n 1
}

# Only the mapped ranges, back to back, for OpenSSH.
python3 - "$T/big.img" "$T/big.img.bmap" >"$T/mapped.bin" <<'EOF'
import sys, re
img, bmap = sys.argv[1], open(sys.argv[2]).read()
bs = int(re.search(r'<BlockSize>\s*(\d+)', bmap).group(1))
with open(img, 'rb') as f, open('/dev/stdout', 'wb') as out:
    for a, b in re.findall(r'<Range[^>]*>\s*(\d+)(?:-(\d+))?\s*</Range>', bmap):
        a = int(a); b = int(b) if b else a
        f.seek(a * bs)
        n = (b - a + 1) * bs
        while n:
            chunk = f.read(min(n, 1 << 20))
            out.write(chunk); n -= len(chunk)
EOF
MAPPED=$(stat -c %s "$T/mapped.bin")
IMG_BYTES=$(stat -c %s "$T/big.img")

CI_RATES=""; CI_SECS=""; CI_ALLS=""; CI_INS=""; CI_CONF=""; VER_SECS=""
SC_ALLS=""; SC_MAPS=""; SD_ALLS=""; SD_MAPS=""
for round in 1 2 3; do
	# reboot = none leaves the deploy environment's key in place while
	# the inventory pins the installed system's: forget it each round.
	"$CASTIRON" inventory forget-key b1 --reason bench >/dev/null 2>&1
	timed CI_ALLS "$CASTIRON" provision b1 --accept-new-hostkey --force \
	    >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }
	CI_CIPHER=$(cipher)
	CI_INS="$CI_INS $(step_secs b1 inspect)"
	CI_CONF="$CI_CONF $(step_secs b1 configure)"
	# Every run checks the image's sha256 before any host: that alone.
	timed VER_SECS "$CASTIRON" image verify "$T/big.img" >/dev/null 2>&1
	set -- $(image_event b1)
	CI_BYTES=$1
	CI_SECS="$CI_SECS $(echo "scale=3; $2 / 1000" | bc)"
	CI_RATES="$CI_RATES $(mbs "$1" "$(echo "scale=3; $2 / 1000" | bc)")"
	C_OPT="-c ${CI_CIPHER%% *}"

	timed SC_ALLS $SSH $C_OPT "root@$A" "cat > $D" <"$T/big.img"
	SC_CIPHER=$(cipher)
	timed SC_MAPS $SSH $C_OPT "root@$A" "cat > $D" <"$T/mapped.bin"
	timed SD_ALLS $SSH "root@$A" "cat > $D" <"$T/big.img"
	SD_CIPHER=$(cipher)
	timed SD_MAPS $SSH "root@$A" "cat > $D" <"$T/mapped.bin"
done
CI_S=$(median $CI_SECS); CI_ALL=$(median $CI_ALLS)
CI_IN=$(median $CI_INS); CI_CO=$(median $CI_CONF); VER=$(median $VER_SECS)
SC_ALL=$(median $SC_ALLS); SC_MAP=$(median $SC_MAPS)
SD_ALL=$(median $SD_ALLS); SD_MAP=$(median $SD_MAPS)

# The same sender and writer without SSH (castiron image write to a
# local file): where the image pipeline itself stands.
LOCAL_SS=""
timed LOCAL_SS "$CASTIRON" image write "$T/big.img" --bmap "$T/big.img.bmap" \
    --to "$T/local.raw" >/dev/null 2>"$T/err" || { tail -2 "$T/err"; exit 1; }
LOCAL_S=$LOCAL_SS
rm -f "$T/local.raw"

row() {	# label seconds [bytes [note]]
	printf '  %-60s %7.2fs' "$1" "$2"
	[ -n "${3:-}" ] && printf ' %7s MiB/s' "$(mbs "$3" "$2")"
	printf '%s\n' "${4:+  $4}"
}
printf 'one host, 1 GiB image, %s MiB mapped (%s%%), median of 3 rounds, %s CPUs\n' \
    "$((MAPPED / 1048576))" "$((MAPPED * 100 / IMG_BYTES))" "$(nproc)"
echo "  times from process start to exit (connect and authentication included),"
echo "  except where marked (events): castiron's own account of one step"
printf '  ciphers (sshd'"'"'s log): castiron %s; OpenSSH -c: %s; OpenSSH defaults: %s\n' \
    "$CI_CIPHER" "$SC_CIPHER" "$SD_CIPHER"
printf '  castiron image step, each round (MiB/s):  %s\n' "$CI_RATES"
row "castiron provision, whole run (rate: mapped bytes)" "$CI_ALL" "$CI_BYTES"
row "  of which: the image's sha256, checked first (timed alone)" "$VER"
row "  of which: inspect (events)" "$CI_IN"
row "  of which: image step (events)" "$CI_S" "$CI_BYTES"
row "  of which: configure (events)" "$CI_CO"
row "castiron image write to a local file (no SSH)" "$LOCAL_S" "$CI_BYTES"
row "OpenSSH cat > disk, mapped data, -c ${CI_CIPHER%% *}" "$SC_MAP" "$MAPPED"
row "OpenSSH cat > disk, whole image, -c ${CI_CIPHER%% *}" "$SC_ALL" "$IMG_BYTES"
row "OpenSSH cat > disk, mapped data, defaults" "$SD_MAP" "$MAPPED"
row "OpenSSH cat > disk, whole image, defaults" "$SD_ALL" "$IMG_BYTES"
echo "  alike (both from outside, same cipher):"
printf '    castiron whole run / OpenSSH mapped data, time:        %s\n' \
    "$(ratio "$CI_ALL / $SC_MAP")"
printf '    castiron whole run / OpenSSH whole image, time:        %s  (goal <= 0.5)\n' \
    "$(ratio "$CI_ALL / $SC_ALL")"
printf '    castiron whole run / OpenSSH whole image (defaults):   %s\n' \
    "$(ratio "$CI_ALL / $SD_ALL")"
echo "  not alike (castiron's step without its connect, against OpenSSH's with):"
printf '    image step / OpenSSH mapped data, throughput:          %s  (goal >= 0.9)\n' \
    "$(ratio "($CI_BYTES / $CI_S) / ($MAPPED / $SC_MAP)")"
lab_cleanup
LAB_HOSTS=""

# -- rack scale: 4 vs 16 hosts -------------------------------------------
rack() {	# N
	n=$1
	rm -f "$T/inv.db"*
	conf small "$n"
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
set -- $(rack 4); B4=$1; W4=$2
set -- $(rack 16); B16=$1; W16=$2
R4=$(mbs "$B4" "$W4"); R16=$(mbs "$B16" "$W16")
echo "rack scale, 256 MiB image 25% mapped, reboot = none (whole runs)"
printf '  %-44s %8.2fs  %7s MiB/s aggregate\n' "4 hosts at once" "$W4" "$R4"
printf '  %-44s %8.2fs  %7s MiB/s aggregate\n' "16 hosts at once" "$W16" "$R16"
printf '  aggregate 16 / 4:                         %s  (goal >= 0.8)\n' \
    "$(ratio "$R16 / $R4")"
