# castiron provision against real sshd hosts (OpenSSH and dropbear) in
# network namespaces, each with a loop device as its disk, enrolled in a
# real inventory: the whole life (inspect, image, configure, reboot,
# verify), a deploy environment of nothing but busybox, and each bad
# kind of bad input on its own host, among them a connection that
# stalls and a host that never comes back from its reboot.  Asserts the
# bytes on the disks and what the kernel counts as written to them, the
# files in the installed root, and the facts, events and pinned keys in
# the inventory.
# time-limit: 300
. tests/lib.sh
. tests/lab/provlab.sh
. tests/lab/labconf.sh

lab_need "provision against lab hosts"
lab_init

# The OS image: 48 MiB, a GPT with an ext4 root and a 4 MiB payload.
tests/lab/mkosimage "$T/os.img" 48 4
IMGSHA=$(sha256sum "$T/os.img" | cut -d' ' -f1)
IMGSZ=$(stat -c %s "$T/os.img")
MAPPED=$(lab_mapped "$T/os.img.bmap")
MiB=1048576

# SSH only (power = none: reboot = ssh), image testos from $T/os.img.
# Timeouts with room for a loaded machine: what a host does, not how fast
# this machine is, decides each result.  The two timeouts under test have
# configurations of their own further down (sed on the lines here).
lab_config power=none castiron.site=ams1 provision.parallel=4 \
    provision.reboot_command="$(lab_reboot_command)" provision.reboot_timeout=60s \
    provision.connect_timeout=30s provision.io_timeout=60s \
    "image damaged.url=file://$T/damaged.img" "image damaged.sha256=$IMGSHA"
# What the kernel has written to host N's disk, and the sha256 of all of
# it: an untouched disk shows the same before and after.
disk_state() { echo "$(lab_written "$1") $(lab_sha "$(cat "$T/lab/h$1/loop")" 0)"; }
# fill_tail DISK: random bytes on the disk beyond the image, which no
# write of the image may touch.
fill_tail() {
	head -c $(( $(blockdev --getsize64 "$1") - IMGSZ )) /dev/urandom |
	    dd of="$1" bs=1M seek="$IMGSZ" oflag=seek_bytes conv=notrunc,fsync \
	    status=none
}

# -- hosts ---------------------------------------------------------------
lab_host 1 openssh 64;  A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC DIR1=$LAB_DIR
FP1=$(lab_hostkey_fp 1)
lab_host 2 dropbear 64; A2=$LAB_ADDR D2=$LAB_DISK M2=$LAB_MAC DIR2=$LAB_DIR
lab_host 3 openssh 8;   A3=$LAB_ADDR D3=$LAB_DISK M3=$LAB_MAC	# too small
lab_host 4 openssh 64;  A4=$LAB_ADDR D4=$LAB_DISK M4=$LAB_MAC	# mounted
lab_host 5 openssh 64;  A5=$LAB_ADDR D5=$LAB_DISK		# wrong MAC
FP5=$(lab_hostkey_fp 5)
lab_dmi 1 "Lab Systems" "LX-1000" "LAB-SN-0001"
# host1's PCI devices, as /sys/bus/pci/devices shows them (this VM has no
# accelerator): two NVIDIA A100s (a 64 GiB prefetchable BAR each), an AMD
# MI210 whose driver tells its VRAM, the BMC's ASPEED VGA, a processing
# accelerator pci.ids does not know, and a NIC, which is no accelerator.
pcidev() {	# SLOT CLASS VENDOR DEVICE [RESOURCE-LINE...]
	_pd=$T/pci/$1; mkdir -p "$_pd"
	echo "$2" >"$_pd/class"; echo "$3" >"$_pd/vendor"; echo "$4" >"$_pd/device"
	shift 4
	: >"$_pd/resource"
	for _pr; do echo "$_pr" >>"$_pd/resource"; done
}
NOPF="0x00000000f0000000 0x00000000f0ffffff 0x0000000000040200"
pcidev 0000:03:00.0 0x030000 0x1a03 0x2000 "$NOPF"
pcidev 0000:17:00.0 0x030200 0x10de 0x20b0 "$NOPF" \
    "0x0000200000000000 0x0000200fffffffff 0x000000000014220c"
pcidev 0000:65:00.0 0x030200 0x10de 0x20b0 "$NOPF" \
    "0x0000210000000000 0x0000210fffffffff 0x000000000014220c"
pcidev 0000:c1:00.0 0x038000 0x1002 0x740f \
    "0x0000300000000000 0x00003007ffffffff 0x000000000014220c"
echo 68702699520 >"$T/pci/0000:c1:00.0/mem_info_vram_total"
pcidev 0000:d1:00.0 0x120000 0x1e52 0x0001
pcidev 0000:e1:00.0 0x020000 0x8086 0x1572 "$NOPF"
lab_pci 1 "$T/pci"
# The names this machine's pci.ids gives them ("" without the file: then
# castiron keeps the hex ids).
pciname() {	# VENDOR DEVICE: "VENDOR NAME|DEVICE NAME"
	awk -v v="$1" -v d="$2" '/^C /{ exit }
	    /^[0-9a-f]/ { iv = substr($0, 1, 4) == v; if (iv) vn = substr($0, 7); next }
	    iv && substr($0, 1, 7) == "\t" d "  " { print vn "|" substr($0, 8); exit }' \
	    /usr/share/misc/pci.ids 2>/dev/null
}
lab_host 6 openssh 64;  A6=$LAB_ADDR D6=$LAB_DISK M6=$LAB_MAC	# no auth
sed -i "s|^AuthorizedKeysFile .*|AuthorizedKeysFile /dev/null|" "$T/lab/h6/sshd_config"
lab_sshd_stop 6; lab_sshd_start 6
lab_host 7 openssh 8;   A7=$LAB_ADDR			# unreachable
lab_sshd_stop 7		# nothing listens: refused at once, no timeout
lab_host 8 openssh 64;  A8=$LAB_ADDR D8=$LAB_DISK M8=$LAB_MAC	# other serial
lab_host 9 openssh 64;  A9=$LAB_ADDR D9=$LAB_DISK M9=$LAB_MAC	# configure fails
# host9's sessions find a mount(8) that fails first in their PATH (sshd's
# SetEnv), until the test removes it.
mkdir -p "$T/lab/h9/failbin"
printf '#!/bin/sh\necho "mount: injected failure" >&2\nexit 32\n' >"$T/lab/h9/failbin/mount"
chmod +x "$T/lab/h9/failbin/mount"
echo "SetEnv PATH=$T/lab/h9/failbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" >>"$T/lab/h9/sshd_config"
lab_sshd_stop 9; lab_sshd_start 9
lab_dmi 8 "Lab Systems" "LX-1000" "LAB-SN-0008"
for h in 1 2 9; do eval "fill_tail \$D$h; TAIL$h=\$(lab_sha \$D$h $IMGSZ)"; done
for h in 1 3 5 6 8; do eval "BEFORE$h=\$(disk_state $h)"; done

# host1 comes from a CSV with a static address: its /30 on the lab's
# link, the root namespace's end as its gateway.
GW1=$LAB_NET.5
printf 'hostname,site,rack,unit,serial,macs,address,gateway,disk\nhost1,ams1,r1,1,LAB-SN-0001,%s,%s/30,%s,%s\n' \
    "$M1" "$A1" "$GW1" "$D1" >"$T/host1.csv"
ok "enroll host1 from a CSV, with ADDRESS/PREFIXLEN and a gateway" "$C" inventory import "$T/host1.csv"
check "  ...SSH goes to the bare address" "$(jget host1 '.address + " " + (.prefixlen | tostring) + " " + .gateway')" = "$A1 30 $GW1"
# host2's disk is enrolled by a udev-style stable name, as operators do
# (/dev/disk/by-id/...): a link made here for the test, removed at exit.
BYID=/dev/disk/by-id/castiron-lab-$$-2
[ -d /dev/disk/by-id ] || { mkdir -p /dev/disk/by-id && at_exit "rmdir /dev/disk/by-id /dev/disk 2>/dev/null"; }
ln -s "../../${D2#/dev/}" "$BYID" && at_exit "rm -f '$BYID'"
"$C" inventory add host2 --site ams1 --rack r1 --unit 2 --mac "$M2" --address "$A2" --disk "$BYID"
"$C" inventory add host3 --site ams1 --rack r2 --unit 3 --mac "$M3" --address "$A3" --disk "$D3"
"$C" inventory add host4 --site ams1 --rack r2 --unit 4 --mac "$M4" --address "$A4" --disk "$D4"
"$C" inventory add host5 --site ams1 --rack r2 --unit 5 --mac 02:00:00:00:99:99 --address "$A5" --disk "$D5"
"$C" inventory add host6 --site ams1 --rack r2 --unit 6 --mac "$M6" --address "$A6" --disk "$D6"
"$C" inventory add host7 --site ams1 --rack r2 --unit 7 --address "$A7" --disk /dev/loop99
"$C" inventory add host9 --site ams1 --rack r3 --unit 9 --mac "$M9" --address "$A9" --disk "$D9"
"$C" inventory add host8 --site ams1 --rack r2 --unit 8 --mac "$M8" --address "$A8" --disk "$D8" --serial LAB-SN-9999

# -- refusals before anything changes -----------------------------------
fails_with 2 "unknown host is bad usage" "$C" provision nosuchhost
fails_with 2 "hosts and --rack together" "$C" provision host1 --rack r1
ok "dry run prints the plan" sh -c "'$C' provision --rack r1 --dry-run --format json >'$T/plan.json'"
check "plan lists both hosts of r1" "$(jq length "$T/plan.json")" = 2
check "plan names image and disk" "$(jq -r '.[0].image + " " + .[0].disk' "$T/plan.json")" = "testos $D1"
check "plan lists the steps" "$(jq -r '.[0].steps' "$T/plan.json")" = "power,boot,inspect,image,configure,reboot,verify"
check "dry run changed nothing" "$(jget host1 .state)" = enrolled

# -- an image that does not verify stops the run before any host ------
cp "$T/os.img" "$T/damaged.img"
printf 'X' | dd of="$T/damaged.img" bs=1 seek=5000000 conv=notrunc 2>/dev/null
fails_with 1 "an image that fails verification" "$C" provision host1 --image damaged
check "  ...one clear line naming it" \
    "$(grep -c 'image damaged: .*does not verify' "$T/.out")" = 1
check "  ...host untouched" "$(jget host1 .state)/$(jget host1 '.events | length')" = enrolled/1
check "  ...its disk untouched" "$(disk_state 1)" = "$BEFORE1"
fails_with 2 "an image not in the configuration" "$C" provision host1 --image nosuch

# -- an unknown host key is refused without --accept-new-hostkey ---------
fails_with 1 "unknown host key refused" "$C" provision host1
check "  ...the message names the key" \
    "$(grep -c "unknown host key $FP1" "$T/.out")" -ge 1
check "  ...host1 failed at inspect" "$(jget host1 '.state + "/" + .step')" = failed/inspect
check "  ...nothing pinned" "$(jget host1 .ssh_host_key)" = null
check "  ...disk untouched (nothing written, every byte as before)" \
    "$(disk_state 1)" = "$BEFORE1"

# -- the whole life, two hosts (OpenSSH and dropbear) at once ----------
ok "provision rack r1" sh -c "'$C' provision --rack r1 --accept-new-hostkey >'$T/sum.txt' 2>'$T/err.txt'"
cat "$T/sum.txt" | sed 's/^/# /'
# The image's own root file system, to compare the installed ones with.
IR=$T/imgroot
mkdir -p "$IR"
mount -o ro,loop,offset=$MiB "$T/os.img" "$IR" && at_exit "umount '$IR'"
GPT_IMG="$(lab_sha "$T/os.img" 0 $MiB) $(lab_sha "$T/os.img" $((IMGSZ - MiB)) $MiB)"
for h in 1 2; do
	eval "D=\$D$h DIR=\$DIR$h M=\$M$h TAIL=\$TAIL$h"
	check "host$h active" "$(jget host$h .state)" = active
	# The root file system is castiron's to change (configure); the
	# image's bytes around it, the two copies of the GPT, are not.
	check "host$h: the image's bytes outside its root file system" \
	    "$(lab_sha "$D" 0 $MiB) $(lab_sha "$D" $((IMGSZ - MiB)) $MiB)" = "$GPT_IMG"
	check "host$h: the disk beyond the image as before" \
	    "$(lab_sha "$D" "$IMGSZ")" = "$TAIL"
	# The installed root, as this machine sees it (the lab's reboot
	# mounted it inside the host's own mount namespace).
	R=$T/root$h
	mkdir -p "$R"
	mount "${D}p1" "$R" && at_exit "umount '$R'"
	diff -rq "$IR" "$R" >"$T/diff$h" 2>&1
	check "host$h: every file and directory of the image in the installed root, unchanged" \
	    "$(grep -vc "^Only in $R" "$T/diff$h")" = 0
	check "host$h: castiron added its own files and nothing else" \
	    "$(sed -n "s|^Only in $R||p" "$T/diff$h" | LC_ALL=C sort | tr '\n' ' ')" = \
	    "/etc/ssh: ssh_host_ed25519_key /etc/ssh: ssh_host_ed25519_key.pub /etc: castiron /etc: hostname /etc: hosts /root: .ssh /var/lib: cloud "
	sed 's/^/# /' "$T/diff$h" | grep -v "^# Only in $R" | head -5
	check "host$h: payload bytes intact in the installed root" \
	    "$(sha256sum "$R/var/lib/os/payload" | cut -d' ' -f1)" = "$(cat "$T/os.img.payload.sha256")"
	check "host$h: /etc/hostname" "$(cat "$R/etc/hostname")" = "host$h"
	check "host$h: /etc/hosts names it" "$(grep -c "host$h" "$R/etc/hosts")" -ge 1
	check "host$h: authorized_keys installed" \
	    "$(grep -c castiron-test "$R/root/.ssh/authorized_keys")" -ge 1
	check "host$h: marker" "$(grep -c "^host=host$h\$" "$R/etc/castiron/provision-id")" = 1
	PID=$(sed -n 's/^id=//p' "$R/etc/castiron/provision-id")
	check "host$h: cloud-init meta-data instance-id" \
	    "$(grep -c "instance-id: $PID" "$R/var/lib/cloud/seed/nocloud/meta-data")" = 1
	check "host$h: network-config matches the MAC" \
	    "$(grep -c "$M" "$R/var/lib/cloud/seed/nocloud/network-config")" = 1
	check "host$h: user-data keeps host keys" \
	    "$(grep -c 'ssh_deletekeys: false' "$R/var/lib/cloud/seed/nocloud/user-data")" = 1
	KFP=$(ssh-keygen -l -E sha256 -f "$R/etc/ssh/ssh_host_ed25519_key.pub" | awk '{print $2}')
	check "host$h: the installed host key is pinned" \
	    "$(jget host$h .ssh_host_key.fingerprint)" = "$KFP"
	check "host$h: private key mode 0600" "$(stat -c %a "$R/etc/ssh/ssh_host_ed25519_key")" = 600
	check "host$h: facts: cores = nproc" "$(jget host$h .cpu_cores)" = "$(nproc)"
	check "host$h: facts: memory" "$(jget host$h .memory_mb)" = \
	    "$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 ))"
	check "host$h: facts: its NIC" "$(jget host$h "[.nics[] | select(.mac == \"$M\") | .name] | first")" = eth0
	check "host$h: image recorded" "$(jget host$h .image)" = testos
	check "host$h: every step done is an event" \
	    "$(jget host$h '[.events[] | select(.reason != null and (.reason | test("written to|provision id|verified|pinned")))] | length')" -ge 3
	check "host$h: image event carries bytes" \
	    "$(jget host$h '[.events[] | select(.step == "image" and .bytes != null and .bytes > 0)] | length')" -ge 1
done
# The network-config on the written disks: host1's static address and
# default route, host2 (enrolled without a prefix length) on DHCP.
NC1=$T/root1/var/lib/cloud/seed/nocloud/network-config
NC2=$T/root2/var/lib/cloud/seed/nocloud/network-config
check "host1: network-config: its address with its prefix length" \
    "$(grep -c "^    addresses: \[\"$A1/30\"\]\$" "$NC1")" = 1
check "host1: network-config: a default route via its gateway" \
    "$(grep -A2 '^    routes:' "$NC1" | tr -d ' \n')" = "routes:-to:\"0.0.0.0/0\"via:\"$GW1\""
check "host1: network-config: no DHCP on its NIC" "$(grep -c dhcp4 "$NC1")" = 0
check "host2: network-config: DHCP, no static address" \
    "$(grep -c 'dhcp4: true' "$NC2")/$(grep -c addresses "$NC2")" = 1/0

# host1's accelerators, from its PCI devices, named from pci.ids.
N10DE=$(pciname 10de 20b0); N1002=$(pciname 1002 740f); N1A03=$(pciname 1a03 2000)
VNV=${N10DE%%|*}; MNV=${N10DE#*|}
[ -n "$N10DE" ] || { VNV=10de; MNV=20b0; }
: "${N1002:=1002|740f}" "${N1A03:=1a03|2000}"
check "host1: five accelerators (the NIC is none)" "$(jget host1 '.gpus | length')" = 5
check "host1: the A100s, by slot, class, name and their BAR's 64 GiB" \
    "$(jget host1 '[.gpus[] | select(.class == "0302") | .pci_slot + " " + .vendor + " " + .model + " " + (.memory_mb | tostring)] | join(",")')" = \
    "0000:17:00.0 $VNV $MNV 65536,0000:65:00.0 $VNV $MNV 65536"
check "host1: the MI210's memory is what its driver says" \
    "$(jget host1 '.gpus[] | select(.pci_slot == "0000:c1:00.0") | (.memory_mb | tostring) + " " + .class')" = "65520 0380"
check "host1: the MI210 named from pci.ids" \
    "$(jget host1 '.gpus[] | select(.pci_slot == "0000:c1:00.0") | .vendor + "|" + .model')" = "$N1002"
check "host1: the BMC's VGA named from pci.ids, no memory known" \
    "$(jget host1 '.gpus[] | select(.pci_slot == "0000:03:00.0") | .vendor + "|" + .model + " " + (.memory_mb | tostring)')" = "$N1A03 null"
check "host1: an id pci.ids does not know stays hex" \
    "$(jget host1 '.gpus[] | select(.pci_slot == "0000:d1:00.0") | .class + " " + .vendor + " " + .model')" = "1200 1e52 0001"
check "host1: inventory show lists them" \
    "$("$C" inventory show host1 | grep -c '^0000:17:00.0  0302')" = 1
check "report --by gpu: two A100s on one host in ams1" \
    "$("$C" inventory report --by gpu --format json | jq -r ".groups[] | select(.key == \"ams1/$VNV $MNV\") | \"\(.hosts) \(.gpus)\"")" = "1 2"
check "report --by site: ams1's accelerators counted" \
    "$("$C" inventory report --format json | jq -r '.groups[] | select(.key == "ams1") | .gpus')" -ge 5
check "host2: its by-id name resolved to $D2 on the host" \
    "$(jget host2 "[.events[] | select((.reason // \"\") | test(\"writing .* to $D2, \"))] | length")" -ge 1
check "host1: facts: DMI vendor and product" \
    "$(jget host1 '.system_vendor + "/" + .system_product')" = "Lab Systems/LX-1000"
check "host1: facts: the system serial (matches the enrollment)" \
    "$(jget host1 .system_serial)" = LAB-SN-0001
check "the summary names both hosts" "$(grep -c 'host[12] .*active' "$T/sum.txt")" = 2

# -- a host key that changed ---------------------------------------------
# host5's first run pins its key (and stops at the wrong MAC); then the
# host presents another key.
fails_with 1 "MAC mismatch stops the host" "$C" provision host5 --accept-new-hostkey
check "  ...the message names the MAC" "$(grep -c '02:00:00:00:99:99 not found' "$T/.out")" -ge 1
check "  ...failed at inspect" "$(jget host5 '.state + "/" + .step')" = failed/inspect
check "  ...its key was pinned" "$(jget host5 .ssh_host_key.fingerprint)" = "$FP5"
check "  ...disk untouched" "$(disk_state 5)" = "$BEFORE5"
lab_newkey 5
NFP5=$(lab_hostkey_fp 5)
fails_with 1 "changed host key stops the host" "$C" provision host5 --accept-new-hostkey
check "  ...naming both fingerprints" \
    "$(grep -c "presents $NFP5 but the inventory pins $FP5" "$T/.out")" -ge 1
ok "forget-key" "$C" inventory forget-key host5 --reason "host reinstalled"
fails_with 1 "after forget-key the new key is accepted (MAC still wrong)" \
    "$C" provision host5 --accept-new-hostkey
check "  ...new key pinned" "$(jget host5 .ssh_host_key.fingerprint)" = "$NFP5"

# -- disk too small, disk mounted, unreachable, refused auth ------------
# host4's disk holds a file system mounted (read-only, so that the file
# system itself does not write) on this machine.
DISK4_FS=$(mktemp -d "$T/mnt.XXXXXX")
mkdir -p "$T/fs4"; echo keep >"$T/fs4/data"
mkfs.ext4 -q -F -d "$T/fs4" "$D4" && mount -o ro "$D4" "$DISK4_FS" &&
    at_exit "umount '$DISK4_FS'"
BEFORE4=$(disk_state 4)
"$C" provision host3 host4 host6 host7 host8 --accept-new-hostkey >"$T/bad.txt" 2>"$T/bad.err"
check "bad hosts: exit 1" $? -eq 1
sed 's/^/# /' "$T/bad.err"
check "too small: one clear line" "$(grep -c 'host3: failed at image: .*too small' "$T/bad.err")" = 1
check "too small: disk untouched" "$(disk_state 3)" = "$BEFORE3"
check "mounted: one clear line" "$(grep -c 'host4: failed at image: .*in use' "$T/bad.err")" = 1
check "mounted: disk left as it was" "$(disk_state 4)" = "$BEFORE4"
check "mounted: its file still there" "$(cat "$DISK4_FS/data")" = keep
check "refused auth: one clear line" "$(grep -c 'host6: failed at inspect: .*refused' "$T/bad.err")" = 1
check "refused auth: disk untouched" "$(disk_state 6)" = "$BEFORE6"
check "unreachable: one clear line" "$(grep -c 'host7: failed at inspect: .*unreachable' "$T/bad.err")" = 1
check "serial mismatch: one clear line naming both" \
    "$(grep -c 'host8: failed at inspect: .*system serial LAB-SN-0008 does not match the enrolled serial LAB-SN-9999' "$T/bad.err")" = 1
check "serial mismatch: disk untouched" "$(disk_state 8)" = "$BEFORE8"
for h in 3 4 6 7 8; do
	check "host$h failed in the inventory" "$(jget host$h .state)" = failed
done

# -- an active host is re-imaged only with --force -----------------------
fails_with 2 "active host refused without --force" "$C" provision host1
check "  ...still active" "$(jget host1 .state)" = active

# -- a disk held exclusively on the host ---------------------------------
# Not mounted and no holder, so inspection cannot tell; castiron-writer's
# O_EXCL open refuses it right after the stream's header, while castiron
# is still sending.  The writer's own reason must reach the operator.
lab_host 10 openssh 64; A10=$LAB_ADDR D10=$LAB_DISK M10=$LAB_MAC
# The holder retries (the kernel's own partition scan of a new loop device
# holds it for a moment) and says when it holds the disk.
python3 - "$D10" "$T/held10" <<'EOP' &
import os, sys, time
for _ in range(100):
    try:
        fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("cannot hold " + sys.argv[1])
open(sys.argv[2], "w").close()
time.sleep(120)
EOP
HOLD10=$!
at_exit "kill $HOLD10"
wait_for 10 "the exclusive hold on $D10" test -e "$T/held10"
BEFORE10=$(disk_state 10)
"$C" inventory add host10 --site ams1 --rack r3 --unit 10 --mac "$M10" --address "$A10" --disk "$D10"
# A slow link: castiron is still sending when the writer's channel closes.
lab_slow 10 16mbit
fails_with 1 "a disk held exclusively is refused by the writer" \
    "$C" provision host10 --accept-new-hostkey
check "  ...one line with the writer's reason" \
    "$(grep -c 'host10: failed at image: .*writer: .*device is busy' "$T/.out")" = 1
check "  ...disk untouched" "$(disk_state 10)" = "$BEFORE10"
kill $HOLD10
lab_fast 10

# -- an RSA key ----------------------------------------------------------
# OpenSSH 9 accepts RSA keys only with rsa-sha2 signatures (ssh-rsa/SHA-1
# is off by default): logging in with id_rsa shows castiron signs with
# rsa-sha2.  host5 authenticates, then stops at its wrong MAC as before.
sed "s|^ssh_key .*|ssh_key = $T/lab/id_rsa|" "$T/c.ini" >"$T/rsa.ini"
fails_with 1 "an RSA key logs in (host5 stops at its MAC again)" \
    "$C" -c "$T/rsa.ini" provision host5
check "  ...past authentication, to inspect's MAC check" \
    "$(grep -c '02:00:00:00:99:99 not found' "$T/.out")" -ge 1
check "  ...sshd accepted the RSA key" \
    "$(grep -c 'Accepted publickey for root .* RSA SHA256' "$T/lab/h5/sshd.log")" -ge 1

# -- resume at configure -------------------------------------------------
images_done() { jget "$1" '[.events[] | select(.step == "image" and (.reason // "" | startswith("done")))] | length'; }
fails_with 1 "a host whose configure fails" "$C" provision host9 --accept-new-hostkey
check "  ...one line naming the step and the cause" \
    "$(grep -c 'host9: failed at configure: .*injected failure' "$T/.out")" = 1
check "  ...failed at configure" "$(jget host9 '.state + "/" + .step')" = failed/configure
check "  ...its image written once" "$(images_done host9)" = 1
# Nothing has touched the disk since the image step: it holds the image,
# every byte of it (the disk was zeros where the image has holes), and
# nothing beyond it changed.
check "  ...the disk holds the whole image" "$(lab_sha "$D9" 0 "$IMGSZ")" = "$IMGSHA"
check "  ...and beyond it as before" "$(lab_sha "$D9" "$IMGSZ")" = "$TAIL9"
# A mark in the MBR's boot code (mapped by the image, read by nothing
# here): writing the image again would put the image's bytes back.
printf castiron-mark | dd of="$D9" bs=1 seek=16 conv=notrunc,fsync status=none
W9=$(lab_written 9)
rm "$T/lab/h9/failbin/mount"
ok "the next run resumes and completes it" "$C" provision host9
check "  ...active" "$(jget host9 .state)" = active
check "  ...the image was not written again: the mark is still on the disk" \
    "$(dd if="$D9" bs=1 skip=16 count=13 status=none)" = castiron-mark
check "  ...and the kernel wrote less to it than the image maps ($MAPPED)" \
    "$(( $(lab_written 9) - W9 ))" -lt "$MAPPED"
check "  ...the run says it resumed" \
    "$(jget host9 '[.events[] | select((.reason // "") | test("resum"))] | length')" -ge 1
check "  ...the disk holds the image's GPT (past the marked MBR)" \
    "$(lab_sha "$D9" 512 $((MiB - 512))) $(lab_sha "$D9" $((IMGSZ - MiB)) $MiB)" = \
    "$(lab_sha "$T/os.img" 512 $((MiB - 512))) $(lab_sha "$T/os.img" $((IMGSZ - MiB)) $MiB)"

# -- a deploy environment of nothing but busybox -------------------------
# As small as the real one: busybox's sh is the login shell, PATH holds
# busybox's applets and nothing else (no blkid, no partx, no scp), /tmp
# is the host's own, so castiron-writer has to be uploaded into it.
lab_host 11 openssh 64; A11=$LAB_ADDR D11=$LAB_DISK M11=$LAB_MAC
lab_busybox 11
LSSH="ssh -q -i $T/lab/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=30"
BB=$(readlink -f "$(command -v busybox)")
$LSSH "root@$A11" 'echo "path=$PATH"; echo "exe=$(readlink /proc/$$/exe)"
    for c in blkid partx scp; do command -v $c >/dev/null && echo "has=$c"; done
    echo "tmpmount=$(while read -r d m t r; do [ "$m" = /tmp ] && echo "$d $t"; done </proc/self/mounts)"
    echo "writers=$(ls /tmp | grep -c castiron-writer)"' >"$T/bb.txt" 2>&1
sed 's/^/# /' "$T/bb.txt"
check "busybox host: its sessions run busybox's sh" "$(sed -n 's/^exe=//p' "$T/bb.txt")" = "$BB"
check "  ...with only busybox's applets on PATH" "$(sed -n 's/^path=//p' "$T/bb.txt")" = "$T/lab/h11/bb"
check "  ...no blkid, partx or scp there" "$(grep -c '^has=' "$T/bb.txt")" = 0
check "  ...and a /tmp of its own, without castiron-writer" \
    "$(sed -n 's/^tmpmount=//p; s/^writers=//p' "$T/bb.txt" | tr '\n' ' ')" = "lab tmpfs 0 "
"$C" inventory add host11 --site ams1 --rack r4 --unit 11 --mac "$M11" --address "$A11" --disk "$D11"
ok "busybox host provisioned: inspect, image, configure, reboot, verify" \
    "$C" provision host11 --accept-new-hostkey
check "  ...active" "$(jget host11 .state)" = active
[ "$(jget host11 .state)" = active ] ||
    tail -n 5 "$T/lab/h11/reboot.log" 2>/dev/null | sed 's/^/# lab-reboot: /'
check "  ...facts inspected: cores, its NIC" \
    "$(jget host11 .cpu_cores)/$(jget host11 "[.nics[] | select(.mac == \"$M11\") | .name] | first")" = "$(nproc)/eth0"
# The rebooted host keeps its /tmp: the writer castiron uploaded is there.
WSHA=$(sha256sum "$(dirname "$CASTIRON")/castiron-writer" | cut -d' ' -f1)
check "  ...castiron-writer uploaded into the host's own /tmp, intact" \
    "$($LSSH "root@$A11" 'sha256sum /tmp/castiron-writer-*' | cut -d' ' -f1)" = "$WSHA"
check "  ...the image's bytes outside its root file system" \
    "$(lab_sha "$D11" 0 $MiB) $(lab_sha "$D11" $((IMGSZ - MiB)) $MiB)" = "$GPT_IMG"
R=$T/root11
mkdir -p "$R"
mount "${D11}p1" "$R" && at_exit "umount '$R'"
check "  ...configured: the installed root found without blkid, hostname written" \
    "$(cat "$R/etc/hostname" 2>/dev/null)" = host11
check "  ...payload intact" \
    "$(sha256sum "$R/var/lib/os/payload" | cut -d' ' -f1)" = "$(cat "$T/os.img.payload.sha256")"

# -- a connection that stalls -------------------------------------------
# host13's every process is stopped (SIGSTOP) in the middle of the image
# step: the TCP connection stays open, nothing more comes.  castiron gives
# up after io_timeout without progress.  Bound: io_timeout, plus what the
# SSH window still lets through the 8 Mbit/s link (2 MiB: 2 s), plus 4 s
# for a loaded machine.
IOT=5000
sed "s|^io_timeout .*|io_timeout      = ${IOT}ms|" "$T/c.ini" >"$T/stall.ini"
lab_host 13 openssh 64; A13=$LAB_ADDR D13=$LAB_DISK M13=$LAB_MAC
"$C" inventory add host13 --site ams1 --rack r4 --unit 13 --mac "$M13" --address "$A13" --disk "$D13"
lab_slow 13 8mbit
"$C" -c "$T/stall.ini" provision host13 --accept-new-hostkey >"$T/h13.out" 2>&1 &
P13=$!
at_exit "kill $P13"
ok "host13's writer runs" wait_for 120 "the writer on host13" lab_writer_running 13
T13=$(now_ms)
lab_stall 13
wait "$P13"
RC13=$?
T13E=$(now_ms)
check "a stalled connection: exit 1" "$RC13" -eq 1
lab_unstall 13
grep 'failed at' "$T/h13.out" | head -1 | sed 's/^/# /'
check "  ...one line naming the step and the timeout" \
    "$(grep -c "host13: failed at image: .*no progress for $IOT ms" "$T/h13.out")" = 1
check "  ...failed at image" "$(jget host13 '.state + "/" + .step')" = failed/image
check "  ...after io_timeout, not before ($((T13E - T13)) ms after the stall)" \
    $((T13E - T13)) -ge $((IOT - 1000))
check "  ...within io_timeout + 6 s" $((T13E - T13)) -le $((IOT + 6000))

# -- a host that never comes back from its reboot ---------------------
# host12 goes down at its reboot and stays down: castiron gives up after
# reboot_timeout.  Measured from the moment the host is down (a little
# after castiron starts counting: the reboot command waits 1.3 s); bound:
# reboot_timeout, plus one wait and attempt (0.5 s and a refused
# connection), plus 4 s for a loaded machine.
RBT=10000
sed -e "s|^reboot_command .*|reboot_command  = $(lab_reboot_command down)|" \
    -e "s|^reboot_timeout .*|reboot_timeout  = ${RBT}ms|" "$T/c.ini" >"$T/down.ini"
lab_host 12 openssh 64; A12=$LAB_ADDR D12=$LAB_DISK M12=$LAB_MAC
"$C" inventory add host12 --site ams1 --rack r4 --unit 12 --mac "$M12" --address "$A12" --disk "$D12"
"$C" -c "$T/down.ini" provision host12 --accept-new-hostkey >"$T/h12.out" 2>&1 &
P12=$!
at_exit "kill $P12"
host12_down() { [ -z "$(ip netns pids "ci-prov-$$-12")" ]; }
ok "host12 goes down at its reboot" wait_for 120 "host12 down" host12_down
T12=$(now_ms)
wait "$P12"
RC12=$?
T12E=$(now_ms)
check "a host that never comes back: exit 1" "$RC12" -eq 1
grep 'failed at' "$T/h12.out" | head -1 | sed 's/^/# /'
check "  ...one line naming the step and the timeout" \
    "$(grep -c "host12: failed at reboot: .*did not come back .* within $RBT ms" "$T/h12.out")" = 1
check "  ...failed at reboot" "$(jget host12 '.state + "/" + .step')" = failed/reboot
check "  ...after reboot_timeout, not before ($((T12E - T12)) ms after it went down)" \
    $((T12E - T12)) -ge $((RBT - 4000))
check "  ...within reboot_timeout + 5 s" $((T12E - T12)) -le $((RBT + 5000))

done_testing
