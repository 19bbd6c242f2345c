# The Debian 12 image as images/recipes/debian12 builds it (`make images`),
# read without mounting anything: the cache entry (digests, sizes,
# min_disk, the package list with versions), the disk (an MBR with GRUB's
# boot.img and core.img, the EFI system partition with BOOTX64.EFI, the
# ext4 root labelled root and clean), the root's contents (one GRUB entry
# in the form castiron's kexec reads, no SSH host key, an empty
# machine-id, castiron installed, cloud-init limited to NoCloud, every
# time SOURCE_DATE_EPOCH).  Then a second build of the same inputs gives
# the same sha256, `make images` with nothing changed does nothing, and
# another SOURCE_DATE_EPOCH names another entry.  The boot itself:
# os_debian12.sh.
# time-limit: 1500
. tests/lib.sh

if [ "$(id -u)" != 0 ]; then
	skip "the debian12 image" "needs root (the build's mmdebstrap --mode=root)"
	done_testing; exit
fi
if ! E=$(tests/lab/osimage debian12 2>"$T/osimage.err"); then
	skip "the debian12 image" "$(head -n 1 "$T/osimage.err")"
	done_testing; exit
fi
CACHE=$(dirname "$(dirname "$E")")
mf() { sed -n "s/^$1=//p" "$E/manifest"; }
RECIPE=images/recipes/debian12/build

# --- the entry ---------------------------------------------------------------
ok "SHA256SUMS verifies the image and its bmap" sh -c "cd '$E' && sha256sum -c --quiet SHA256SUMS"
check "the manifest's digests are the files'" \
    "$(mf image_sha256):$(mf bmap_sha256)" = \
    "$(sha256sum <"$E/debian12.img.zst" | cut -d' ' -f1):$(sha256sum <"$E/debian12.bmap" | cut -d' ' -f1)"
IMGSZ=$(sed -n 's/.*<ImageSize> *\([0-9]*\) *<.*/\1/p' "$E/debian12.bmap")
check "min_disk is the raw image's size, the bmap's ImageSize" \
    "$(mf min_disk):$(mf raw_bytes)" = "$IMGSZ:$IMGSZ"
check "the compressed size is the file's, the mapped part smaller than the image" \
    "$(mf image_bytes)" = "$(stat -c %s "$E/debian12.img.zst")" -a "$(mf mapped_bytes)" -lt "$IMGSZ"
echo "# image: $(mf image_bytes) bytes compressed, $(mf mapped_bytes) mapped, $IMGSZ raw, tree $(mf tree_bytes) bytes"
check "the packages file: every line NAME VERSION" \
    "$(grep -cvE '^[a-z0-9][a-z0-9+.-]* [0-9][A-Za-z0-9.+~:-]*$' "$E/packages")" = 0
for p in linux-image-cloud-amd64 systemd udev openssh-server cloud-init bird2 grub-pc-bin \
    grub-efi-amd64-bin initramfs-tools systemd-resolved libcurl4 libssh2-1 libiniparser1 \
    libsqlite3-0 libpq5 libjansson4 libfreeipmi17 libmicrohttpd12; do
	grep -q "^$p " "$E/packages" || echo "$p" >>"$T/missing"
done
check "  ...names the kernel, systemd, sshd, cloud-init, bird2, GRUB and castiron's libraries" \
    ! -s "$T/missing"
[ -s "$T/missing" ] && echo "# missing: $(tr '\n' ' ' <"$T/missing")"
check "  ...and is exactly what the inputs resolved" \
    "$(sed -n 's/^package=//p' "$E/inputs" | cmp -s - "$E/packages" && echo same)" = same

# --- the disk ----------------------------------------------------------------
zstd -q -d -o "$T/raw" "$E/debian12.img.zst" || exit 1
check "the raw image's sha256 is the manifest's" \
    "$(sha256sum <"$T/raw" | cut -d' ' -f1)" = "$(mf raw_sha256)"
sfdisk --json "$T/raw" >"$T/pt.json"
check "an MBR: partition 1 the ESP (type ef) at 1 MiB, partition 2 Linux, bootable" \
    "$(jq -r '.partitiontable | .label + " " + ([.partitions[] | "\(.start):\(.type):\(.bootable // false)"] | join(" "))' "$T/pt.json")" = \
    "dos 2048:ef:false 34816:83:true"
RO=$(( $(jq -r '.partitiontable.partitions[1].start' "$T/pt.json") * 512 ))
FS="$T/raw?offset=$RO"
dfs() { debugfs -R "$1" "$FS" 2>/dev/null; }
check "the boot sector: GRUB's boot.img code, the 55aa signature" \
    "$(head -c 440 "$T/raw" | grep -c GRUB):$(od -An -tx1 -j510 -N2 "$T/raw" | tr -d ' ')" = "1:55aa"
dfs "dump /usr/lib/grub/i386-pc/boot.img $T/boot.img"
check "  ...boot.img as the image's grub-pc-bin ships it" \
    "$(head -c 440 "$T/raw" | cmp -s - "$T/boot.img" -n 440 && echo same)" = same
check "core.img right after it, in the gap before the ESP (diskboot's signature)" \
    "$(dd if="$T/raw" bs=512 skip=1 count=1 status=none | od -An -tx1 -N2 | tr -d ' ')" = 5256
ok "the ESP holds EFI/BOOT/BOOTX64.EFI" sh -c \
    "MTOOLS_SKIP_CHECK=1 mdir -b -i '$T/raw@@1048576' ::/EFI/BOOT | grep -q 'BOOTX64.EFI'"
dumpe2fs -h "$FS" >"$T/sb" 2>/dev/null
check "the root: ext4 labelled root" \
    "$(sed -n 's/^Filesystem volume name: *//p' "$T/sb"):$(grep -c '^Filesystem features:.*extent' "$T/sb")" = "root:1"
ok "  ...and it checks clean (e2fsck -fn)" e2fsck -fn "$FS"

# --- the root's contents -------------------------------------------------------
KV=$(mf kernel_release)
dfs "cat /boot/grub/grub.cfg" >"$T/grub.cfg"
check "grub.cfg: one menuentry" "$(grep -c '^menuentry ' "$T/grub.cfg")" = 1
check "  ...its linux line: the kernel from the root, root=LABEL=root, the serial console" \
    "$(grep -cx "	linux /boot/vmlinuz-$KV root=LABEL=root ro console=ttyS0,115200n8.*" "$T/grub.cfg")" = 1
check "  ...its initrd line: the initrd from the root" \
    "$(grep -cx "	initrd /boot/initrd.img-$KV" "$T/grub.cfg")" = 1
check "  ...both files are there" \
    "$(dfs "ls -p /boot" | grep -c -e "/vmlinuz-$KV/" -e "/initrd.img-$KV/")" = 2
check "no SSH host key in the image" "$(dfs "ls -p /etc/ssh" | grep -c ssh_host_)" = 0
check "an empty machine-id (each host makes its own)" \
    "$(dfs "stat /etc/machine-id" | sed -n 's/.*Project: *[0-9]* *Size: \([0-9]*\).*/\1/p')" = 0
dfs "cat /etc/cloud/cloud.cfg.d/99-castiron.cfg" >"$T/ci.cfg"
check "cloud-init: the NoCloud datasource only" \
    "$(grep -cx 'datasource_list: \[ NoCloud, None \]' "$T/ci.cfg")" = 1
check "sshd: keys only, the ed25519 host key only" \
    "$(dfs "cat /etc/ssh/sshd_config.d/castiron.conf" | grep -c -x -e 'HostKey /etc/ssh/ssh_host_ed25519_key' -e 'PasswordAuthentication no')" = 2
check "systemd-networkd enabled" \
    "$(dfs "ls -p /etc/systemd/system/multi-user.target.wants" | grep -c '/systemd-networkd.service/')" = 1
dfs "dump /usr/local/bin/castiron $T/castiron"
chmod 755 "$T/castiron"
check "castiron installed in /usr/local: this tree's version" \
    "$("$T/castiron" --version 2>&1)" = "castiron $(cat VERSION)"
EPOCH=$(mf source_date_epoch)
for f in /etc/hostname /usr/local/bin/castiron /boot/grub/grub.cfg /etc/machine-id /; do
	dfs "stat $f" | grep -E '^ *(c|a|m)time:' | grep -vc "0x$(printf %08x "$EPOCH"):" |
	    grep -qx 0 || echo "$f" >>"$T/times"
done
check "inode times are SOURCE_DATE_EPOCH (mtime clamped, atime and ctime set)" ! -s "$T/times"
[ -s "$T/times" ] && echo "# not: $(tr '\n' ' ' <"$T/times")"

# --- UEFI: OVMF boots the ESP's GRUB, which boots the root's kernel ----------
OVMF=/usr/share/OVMF/OVMF_CODE.fd
if [ -f "$OVMF" ] && [ -f /usr/share/OVMF/OVMF_VARS.fd ]; then
	cp /usr/share/OVMF/OVMF_VARS.fd "$T/vars.fd"
	qemu-img create -q -f qcow2 -b "$T/raw" -F raw "$T/uefi.qcow2"
	: >"$T/uefi.log"
	qemu-system-x86_64 -machine q35 -accel tcg -m 1024 -display none -monitor none \
	    -serial "file:$T/uefi.log" -nic none -device virtio-rng-pci \
	    -drive "if=pflash,format=raw,readonly=on,file=$OVMF" \
	    -drive "if=pflash,format=raw,file=$T/vars.fd" \
	    -drive "file=$T/uefi.qcow2,if=none,id=d0" -device nvme,drive=d0,serial=UEFI1 \
	    -pidfile "$T/uefi.pid" </dev/null >/dev/null 2>&1 &
	at_exit "kill \$(cat '$T/uefi.pid' 2>/dev/null) 2>/dev/null"
	ok "UEFI: GRUB from the ESP loads the root's kernel" \
	    wait_for 240 "GRUB under OVMF" grep -qF "grub: loading $KV" "$T/uefi.log"
	ok "  ...which boots the root: systemd starts cloud-init" \
	    wait_for 400 "cloud-init under OVMF" grep -qF "running 'init-local'" "$T/uefi.log"
	grep -q "running 'init-local'" "$T/uefi.log" || tail -n 5 "$T/uefi.log" | sed 's/^/# /'
	kill "$(cat "$T/uefi.pid")" 2>/dev/null
	sleep 1
else
	skip "UEFI: GRUB from the ESP loads the root's kernel" "no OVMF (ovmf)"
fi
rm -f "$T/raw" "$T/castiron" "$T/uefi.qcow2"

# --- reproducible, cached ------------------------------------------------------
# The entry make check built from an empty .deb cache against a rebuild
# from the cached .debs: apt's partial directories once told them apart.
t0=$(now_ms)
"$RECIPE" rebuild "$CACHE" "$T/again" >"$T/again.log" 2>&1
rc=$?
check "a second build of the same inputs runs (exit 0, $(( $(now_ms) - t0 )) ms)" "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/# /' "$T/again.log" | tail -n 10
grep '^debian12: built in' "$T/again.log" | sed 's/^/# /'
check "  ...the same image sha256" \
    "$(sed -n 's/^image_sha256=//p' "$T/again/manifest" 2>/dev/null)" = "$(mf image_sha256)"
check "  ...the same bmap sha256" \
    "$(sed -n 's/^bmap_sha256=//p' "$T/again/manifest" 2>/dev/null)" = "$(mf bmap_sha256)"
check "  ...the same raw image sha256" \
    "$(sed -n 's/^raw_sha256=//p' "$T/again/manifest" 2>/dev/null)" = "$(mf raw_sha256)"
check "  ...the same packages" \
    "$(cmp -s "$T/again/packages" "$E/packages" && echo same)" = same
rm -rf "$T/again"
before=$(stat -c %Y "$E")
out=$(make --no-print-directory IMAGES_CACHE="$CACHE" images 2>&1)
check "make images with nothing changed does nothing and says where the image is" \
    "$(echo "$out" | grep -c "^debian12: up to date: $E/debian12.img.zst"):$(stat -c %Y "$E")" = "1:$before"
fails_with 1 "another SOURCE_DATE_EPOCH is another entry (not built)" \
    env SOURCE_DATE_EPOCH=$((EPOCH + 1)) "$RECIPE" path "$CACHE"
done_testing
