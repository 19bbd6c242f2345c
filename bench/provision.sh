# Benchmark: castiron provision's image step against OpenSSH.
#
# One lab host (a network namespace with a real sshd and a loop device,
# tests/lab/provlab.sh), a 1 GiB image with about 25 % mapped (a GPT disk
# with an ext4 root holding 256 MiB of random data), three rounds, each:
#   - castiron provision (reboot = none): the image step's duration and
#     bytes from the inventory events, and the whole run (the first round
#     also uploads castiron-writer, inside the image step);
#   - `ssh host 'cat > disk'` with OpenSSH sending the whole image;
#   - OpenSSH sending only the mapped ranges (extracted from the bmap).
# Medians are reported.  The lab disks are RAM-backed and fully allocated
# (LAB_DISKDIR=/dev/shm): castiron-writer flushes the disk before it
# reports and `cat > disk` does not, so on a file of this machine's own
# disk the comparison would time this VM's disk flush on one side only.
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
io_timeout = 60s
EOF
}
export CASTIRON_CONFIG="$T/c.ini"
# The image step of a host: "bytes duration_ms" from its last done event.
image_event() {
	"$CASTIRON" inventory show "$1" --format json | jq -r \
	    '[.events[] | select(.step == "image" and (.reason // "" | startswith("done")))] | last | "\(.bytes) \(.duration_ms)"'
}

# -- one host ------------------------------------------------------------
lab_host 1 openssh 1100
A=$LAB_ADDR; D=$LAB_DISK
conf big 1
"$CASTIRON" inventory add b1 --site bench --rack one --mac "$LAB_MAC" \
    --address "$A" --disk "$D" >/dev/null
SSH="ssh -q -i $T/lab/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes root@$A"
$SSH true || { echo "bench provision: cannot reach the lab host"; exit 1; }
# The writer is uploaded once per host: a copy left in this machine's
# /tmp by an earlier run (the lab hosts share its file system) goes first.
$SSH 'rm -f /tmp/castiron-writer-*'

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

CI_RATES=""; CI_SECS=""; CI_ALLS=""; SSH_ALLS=""; SSH_MAPS=""
for round in 1 2 3; do
	# reboot = none leaves the deploy environment's key in place while
	# the inventory pins the installed system's: forget it each round.
	"$CASTIRON" inventory forget-key b1 --reason bench >/dev/null 2>&1
	t0=$(now)
	"$CASTIRON" provision b1 --accept-new-hostkey --force >/dev/null \
	    2>"$T/err" || { cat "$T/err"; exit 1; }
	t1=$(now)
	set -- $(image_event b1)
	CI_BYTES=$1
	CI_SECS="$CI_SECS $(echo "scale=3; $2 / 1000" | bc)"
	CI_RATES="$CI_RATES $(mbs "$1" "$(echo "scale=3; $2 / 1000" | bc)")"
	CI_ALLS="$CI_ALLS $(secs "$t0" "$t1")"

	t0=$(now)
	$SSH "cat > $D" <"$T/big.img"
	t1=$(now)
	SSH_ALLS="$SSH_ALLS $(secs "$t0" "$t1")"

	t0=$(now)
	$SSH "cat > $D" <"$T/mapped.bin"
	t1=$(now)
	SSH_MAPS="$SSH_MAPS $(secs "$t0" "$t1")"
done
CI_S=$(median $CI_SECS); CI_ALL=$(median $CI_ALLS)
SSH_ALL=$(median $SSH_ALLS); SSH_MAP=$(median $SSH_MAPS)

# The same sender and writer without SSH (castiron image write to a
# local file): where the image pipeline itself stands.
t0=$(now)
"$CASTIRON" image write "$T/big.img" --bmap "$T/big.img.bmap" \
    --to "$T/local.raw" >/dev/null 2>"$T/err" || { tail -2 "$T/err"; exit 1; }
t1=$(now)
LOCAL_S=$(secs "$t0" "$t1")
rm -f "$T/local.raw"

printf 'one host, 1 GiB image, %s MiB mapped (%s%%), median of 3 rounds\n' "$((MAPPED / 1048576))" "$((MAPPED * 100 / IMG_BYTES))"
printf '  castiron image step, each round (MiB/s):  %s\n' "$CI_RATES"
printf '  %-44s %8.2fs  %7s MiB/s on the bytes sent\n' \
    "castiron image step (writer verifies ranges)" "$CI_S" "$(mbs "$CI_BYTES" "$CI_S")"
printf '  %-44s %8.2fs\n' "castiron provision, whole run" "$CI_ALL"
printf '  %-44s %8.2fs  %7s MiB/s (no SSH: sender + writer)\n' \
    "castiron image write to a local file" "$LOCAL_S" "$(mbs "$CI_BYTES" "$LOCAL_S")"
printf '  %-44s %8.2fs  %7s MiB/s\n' "OpenSSH cat > disk, whole image" "$SSH_ALL" "$(mbs "$IMG_BYTES" "$SSH_ALL")"
printf '  %-44s %8.2fs  %7s MiB/s\n' "OpenSSH cat > disk, mapped data only" "$SSH_MAP" "$(mbs "$MAPPED" "$SSH_MAP")"
printf '  throughput castiron / OpenSSH (mapped):   %s  (goal >= 0.9)\n' \
    "$(echo "scale=2; ($CI_BYTES / $CI_S) / ($MAPPED / $SSH_MAP)" | bc -l)"
printf '  time castiron image / OpenSSH whole:      %s  (goal <= 0.5)\n' \
    "$(echo "scale=2; $CI_S / $SSH_ALL" | bc -l)"
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
    "$(echo "scale=2; $R16 / $R4" | bc -l)"
