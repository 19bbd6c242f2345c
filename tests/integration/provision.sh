# castiron provision against real sshd hosts (OpenSSH and dropbear) in
# network namespaces, each with a loop device as its disk, enrolled in a
# real inventory: the whole life (inspect, image, configure, reboot,
# verify), and each bad input of the issue on its own host.  Asserts the
# bytes on the disks, the files in the installed root, and the facts,
# events and pinned keys in the inventory.
. tests/lib.sh
. tests/lab/provlab.sh

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
lab_init

# The OS image: 48 MiB, a GPT with an ext4 root and a 4 MiB payload.
tests/lab/mkosimage "$T/os.img" 48 4
IMGSHA=$(sha256sum "$T/os.img" | cut -d' ' -f1)

cat >"$T/c.ini" <<EOF
[castiron]
site = ams1
state_dir = $T/state

[inventory]
database = $T/inv.db

[images]
cache_dir = $T/cache

[image testos]
url    = file://$T/os.img
sha256 = $IMGSHA
bmap   = file://$T/os.img.bmap

[image damaged]
url    = file://$T/damaged.img
sha256 = $IMGSHA

[provision]
ssh_key         = $T/lab/id_ed25519
image           = testos
parallel        = 4
reboot          = ssh
reboot_command  = $(lab_reboot_command)
reboot_timeout  = 30s
connect_timeout = 2s
io_timeout      = 5s
authorized_keys = $T/lab/authorized_keys
EOF
export CASTIRON_CONFIG="$T/c.ini"
C=$CASTIRON
js() { "$C" inventory show "$1" --format json; }
jget() { js "$1" | jq -r "$2"; }

# -- hosts ---------------------------------------------------------------
lab_host 1 openssh 64;  A1=$LAB_ADDR D1=$LAB_DISK M1=$LAB_MAC DIR1=$LAB_DIR
FP1=$(lab_hostkey_fp 1)
lab_host 2 dropbear 64; A2=$LAB_ADDR D2=$LAB_DISK M2=$LAB_MAC DIR2=$LAB_DIR
lab_host 3 openssh 8;   A3=$LAB_ADDR D3=$LAB_DISK M3=$LAB_MAC	# too small
lab_host 4 openssh 64;  A4=$LAB_ADDR D4=$LAB_DISK M4=$LAB_MAC	# mounted
lab_host 5 openssh 64;  A5=$LAB_ADDR D5=$LAB_DISK		# wrong MAC
FP5=$(lab_hostkey_fp 5)
lab_dmi 1 "Lab Systems" "LX-1000" "LAB-SN-0001"
lab_host 6 openssh 64;  A6=$LAB_ADDR D6=$LAB_DISK M6=$LAB_MAC	# no auth
sed -i "s|^AuthorizedKeysFile .*|AuthorizedKeysFile /dev/null|" "$T/lab/h6/sshd_config"
lab_sshd_stop 6; lab_sshd_start 6
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

ok "enroll" "$C" inventory add host1 --site ams1 --rack r1 --unit 1 \
    --mac "$M1" --address "$A1" --disk "$D1" --serial LAB-SN-0001
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
"$C" inventory add host7 --site ams1 --rack r2 --unit 7 --address "$LAB_NET.250" --disk /dev/loop99
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
fails_with 2 "an image not in the configuration" "$C" provision host1 --image nosuch

# -- an unknown host key is refused without --accept-new-hostkey ---------
fails_with 1 "unknown host key refused" "$C" provision host1
check "  ...the message names the key" \
    "$(grep -c "unknown host key $FP1" "$T/.out")" -ge 1
check "  ...host1 failed at inspect" "$(jget host1 '.state + "/" + .step')" = failed/inspect
check "  ...nothing pinned" "$(jget host1 .ssh_host_key)" = null
DISK1_BEFORE=$(sha256sum "$D1" | cut -d' ' -f1)
check "  ...disk untouched" "$(head -c 1048576 "$D1" | tr -d '\0' | wc -c)" -eq 0

# -- the whole life, two hosts (OpenSSH and dropbear) at once ----------
ok "provision rack r1" sh -c "'$C' provision --rack r1 --accept-new-hostkey >'$T/sum.txt' 2>'$T/err.txt'"
cat "$T/sum.txt" | sed 's/^/# /'
for h in 1 2; do
	eval "D=\$D$h DIR=\$DIR$h M=\$M$h"
	check "host$h active" "$(jget host$h .state)" = active
	check "host$h: partition table as in the image" \
	    "$(head -c 1048576 "$D" | sha256sum | cut -d' ' -f1)" = \
	    "$(head -c 1048576 "$T/os.img" | sha256sum | cut -d' ' -f1)"
	# The installed root, as this machine sees it (the lab's reboot
	# mounted it inside the host's own mount namespace).
	R=$T/root$h
	mkdir -p "$R"
	mount "${D}p1" "$R" && at_exit "umount '$R'"
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
check "host2: its by-id name resolved to $D2 on the host" \
    "$(jget host2 "[.events[] | select((.reason // \"\") | test(\"writing .* to $D2\$\"))] | length")" -ge 1
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
check "  ...disk untouched" "$(head -c 4194304 "$D5" | tr -d '\0' | wc -c)" -eq 0
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
SUM4=$(sha256sum "$D4" | cut -d' ' -f1)
"$C" provision host3 host4 host6 host7 host8 --accept-new-hostkey >"$T/bad.txt" 2>"$T/bad.err"
check "bad hosts: exit 1" $? -eq 1
sed 's/^/# /' "$T/bad.err"
check "too small: one clear line" "$(grep -c 'host3: failed at image: .*too small' "$T/bad.err")" = 1
check "too small: disk untouched" "$(head -c 8388608 "$D3" | tr -d '\0' | wc -c)" -eq 0
check "mounted: one clear line" "$(grep -c 'host4: failed at image: .*in use' "$T/bad.err")" = 1
check "mounted: disk left as it was" "$(sha256sum "$D4" | cut -d' ' -f1)" = "$SUM4"
check "mounted: its file still there" "$(cat "$DISK4_FS/data")" = keep
check "refused auth: one clear line" "$(grep -c 'host6: failed at inspect: .*refused' "$T/bad.err")" = 1
check "unreachable: one clear line" "$(grep -c 'host7: failed at inspect: .*unreachable' "$T/bad.err")" = 1
check "serial mismatch: one clear line naming both" \
    "$(grep -c 'host8: failed at inspect: .*system serial LAB-SN-0008 does not match the enrolled serial LAB-SN-9999' "$T/bad.err")" = 1
check "serial mismatch: disk untouched" "$(head -c 4194304 "$D8" | tr -d '\0' | wc -c)" -eq 0
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
SUM10=$(sha256sum "$D10" | cut -d' ' -f1)
"$C" inventory add host10 --site ams1 --rack r3 --unit 10 --mac "$M10" --address "$A10" --disk "$D10"
# A slow link: castiron is still sending when the writer's channel closes.
lab_slow 10 16mbit
fails_with 1 "a disk held exclusively is refused by the writer" \
    "$C" provision host10 --accept-new-hostkey
check "  ...one line with the writer's reason" \
    "$(grep -c 'host10: failed at image: .*writer: .*device is busy' "$T/.out")" = 1
check "  ...disk untouched" "$(sha256sum "$D10" | cut -d' ' -f1)" = "$SUM10"
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
rm "$T/lab/h9/failbin/mount"
ok "the next run resumes and completes it" "$C" provision host9
check "  ...active" "$(jget host9 .state)" = active
check "  ...the image was not written again" "$(images_done host9)" = 1
check "  ...the run says it resumed" \
    "$(jget host9 '[.events[] | select((.reason // "") | test("resum"))] | length')" -ge 1
check "  ...the disk holds the image" "$(head -c 1048576 "$D9" | sha256sum)" = "$(head -c 1048576 "$T/os.img" | sha256sum)"

done_testing
