# The deploy environment ($BUILD/deploy, images/recipes/deploy) booted for
# real: a lab machine (QEMU TCG, NVMe disk, virtio NIC on the provisioning
# bridge) boots the built kernel and initramfs directly, gets its address
# from Debian's dnsmasq, checks in with a small HTTP receiver (a 503
# first, so the retry is seen), and answers SSH with the host key it
# checked in with: OpenSSH's client, that key pinned and
# StrictHostKeyChecking=yes, logs in as root with the key of the check-in
# reply and with the one of the kernel command line, sees the NVMe disk,
# the network as DHCP gave it, dropbear's raised window and a working
# castiron-writer; a pinned key of another host is refused; castiron
# provision inspects it and writes an image to its disk.  A check-in
# refused with a 403 is not retried.  Then the same machine in enlistment
# mode inspects itself, checks in with the dump and
# powers off (QEMU exits).  Also: two builds from the same inputs have the
# same sha256, and a second `make deploy` does nothing.
# time-limit: 300
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh

netboot_need_deploy "deploy environment"
WRITER=$PWD/$BUILD/castiron-writer-static
mf() { sed -n "s/^$1=//p" "$D/manifest"; }

# --- the build: reproducible, cached, complete --------------------------
check "the manifest's vmlinuz sha256 is the file's" \
    "$(sha256sum <"$D/vmlinuz" | cut -d' ' -f1)" = "$(mf vmlinuz_sha256)"
check "the manifest's initrd sha256 is the file's" \
    "$(sha256sum <"$D/initrd.img" | cut -d' ' -f1)" = "$(mf initrd_sha256)"
ok "SHA256SUMS verifies" sh -c "cd '$D' && sha256sum -c --quiet SHA256SUMS"
check "the manifest names the packages with their versions" \
    "$(grep -cE '^package=(linux-image-[0-9].*-cloud-amd64|busybox-static|dropbear-bin|libc6) [^ ]+' "$D/manifest")" = 4
check "the manifest names the writer it carries" "$(mf writer_sha256)" = \
    "$(sha256sum <"$WRITER" | cut -d' ' -f1)"
zstd -dc "$D/initrd.img" >"$T/initrd.cpio"
cpio -it --quiet <"$T/initrd.cpio" >"$T/initrd.list" 2>/dev/null
for f in init bin/busybox usr/sbin/dropbear usr/bin/dropbearkey \
    usr/bin/castiron-writer usr/lib/castiron/udhcpc.script \
    usr/lib/castiron/inspect.sh lib64/ld-linux-x86-64.so.2 \
    lib/x86_64-linux-gnu/libc.so.6 lib/x86_64-linux-gnu/libtomcrypt.so.1; do
	grep -qxF "$f" "$T/initrd.list" || echo "$f" >>"$T/initrd.missing"
done
check "the initramfs holds init, busybox, dropbear and its libraries, the writer" \
    ! -s "$T/initrd.missing"
check "every initramfs entry is owned by root, dated SOURCE_DATE_EPOCH" \
    "$(cpio -itv --quiet <"$T/initrd.cpio" 2>/dev/null | awk '$3 != "root" || $4 != "root"' | wc -l)" = 0
check "entries are in sorted order" \
    "$(LC_ALL=C sort "$T/initrd.list" | cmp -s - "$T/initrd.list" && echo sorted)" = sorted
# A second build from the same inputs (the .debs already fetched).
mkdir -p "$T/again"
cp "$D/inputs" "$T/again/inputs"
ln -s "$D/debs" "$T/again/debs"
images/recipes/deploy/build image "$T/again" "$WRITER" "$D/inspect.sh" \
    >"$T/again.log" 2>&1
check "a second build gives the same initrd sha256" \
    "$(sha256sum <"$T/again/initrd.img" | cut -d' ' -f1)" = "$(mf initrd_sha256)"
check "a second build gives the same vmlinuz sha256" \
    "$(sha256sum <"$T/again/vmlinuz" | cut -d' ' -f1)" = "$(mf vmlinuz_sha256)"
grep '^deploy: built in' "$T/again.log" | sed 's/^/# /'
before=$(stat -c %Y "$D/manifest")
# images/writer.mk knows a sanitizer build by its LDFLAGS: say so, or make
# would take the plain build's rules.  In a plain build the static writer
# is the writer itself (one file, two names).
san=-fsanitize=address
[ "$PWD/$BUILD/castiron-writer-static" -ef "$PWD/$BUILD/castiron-writer" ] && san=""
out=$(make --no-print-directory BUILD="$BUILD" ${san:+LDFLAGS=$san} deploy 2>&1)
check "make deploy with nothing changed does nothing" \
    "$out:$(stat -c %Y "$D/manifest")" = ":$before"

# --- the lab: DHCP, a check-in receiver ---------------------------------
machine_net_init || { echo "not ok - lab network"; done_testing; exit 1; }
P=$LABM_PROV
ADDR=$P.50
machine_new 1 --blank 64 --mem 256
MAC=$M_MAC SERIAL=$M_SERIAL
netboot_dhcp_start --dhcp-host="$MAC,$ADDR" ||
    { echo "not ok - dnsmasq"; done_testing; exit 1; }

ssh-keygen -q -t ed25519 -N '' -C reply-key -f "$T/id" || exit 1
ssh-keygen -q -t ed25519 -N '' -C cmdline-key -f "$T/id2" || exit 1
TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
mkdir -p "$T/checkins"
# The receiver: each POST's body goes to checkins/N; the first answer is a
# 503 (the deploy environment must try again), an enlistment gets 202
# (as castiron's boot service answers it), every other check-in 200 with
# an authorized key for root.
cat >"$T/checkin.py" <<'EOF'
import http.server, json, os, sys
dir, addr, port, key = sys.argv[1], sys.argv[2], int(sys.argv[3]), open(sys.argv[4]).read().strip()
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if self.path != "/checkin" or not 0 < length <= 1 << 20:
            self.send_error(400); return
        body = self.rfile.read(length)
        n[0] += 1
        with open(os.path.join(dir, "%d" % n[0]), "wb") as f:
            f.write(body)
        with open(os.path.join(dir, "%d.type" % n[0]), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        if n[0] == 1:
            self.send_error(503); return
        enlist = json.loads(body).get("mode") == "enlist"
        reply = b"recorded\n" if enlist else ("ok\nauthorized_key=%s\n" % key).encode()
        self.send_response(202 if enlist else 200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.client_address[0], fmt % a))
http.server.HTTPServer((addr, port), H).serve_forever()
EOF
ip netns exec "$LABM_NS" python3 "$T/checkin.py" "$T/checkins" "$P.2" 8700 \
    "$T/id.pub" </dev/null >"$T/checkin.log" 2>&1 &
RECV=$!
at_exit "kill $RECV"
wait_for 10 "the check-in receiver" ip netns exec "$LABM_NS" \
    python3 -c "import socket; socket.create_connection(('$P.2', 8700), 1)"

# boot CMDLINE: machine 1 (64 MiB NVMe disk, 256 MiB of RAM) boots the
# deploy kernel and initramfs directly; t0 is when QEMU started.
boot() {
	machine_new 1 --blank 64 --mem 256 --serial "$SERIAL" --mac "$MAC" -- \
	    -kernel "$D/vmlinuz" -initrd "$D/initrd.img" -append "$1"
	t0=$(now_ms)
	machine_start 1
}

# --- boot 1: deploy mode -------------------------------------------------
# quiet: the kernel would print its command line, token and all, on the
# console.
# The command line's key as castiron's [boot] cmdline would write it
# (iPXE keeps no quotes): TYPE,BASE64,COMMENT.
KEY2=$(cut -d' ' -f1,2 "$T/id2.pub" | tr ' ' ,)
boot "console=ttyS0 quiet castiron.checkin=http://$P.2:8700/checkin castiron.token=$TOKEN castiron.authorized_key=$KEY2,cmdline-key"
ok "the deploy environment says it is ready" \
    machine_wait 1 90 "castiron-deploy: ready: check-in accepted"
echo "# booted to ready in $(( $(now_ms) - t0 )) ms (QEMU start to the ready line)"
machine_wait 1 20 "castiron-deploy: dropbear listening" &&
    wait_for 20 "dropbear on $ADDR:22" python3 -c \
    "import socket; socket.create_connection(('$ADDR', 22), 1).recv(4)"
echo "# dropbear answering $(( $(now_ms) - t0 )) ms after QEMU started"
con=$(machine_console 1)
saw() { ok "console: $1" grep -qF -- "$2" "$con"; }
saw "devtmpfs, proc, sysfs mounted" "devtmpfs proc sysfs devpts mounted"
saw "virtio modules loaded in order" \
    "modules loaded: virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci failover net_failover virtio_net"
saw "the NIC found" "castiron-deploy: eth0: $MAC, dhcp"
saw "DHCP lease with router and DNS" "eth0: bound $ADDR/24 router $P.2 dns $P.2"
saw "the host key generated" "castiron-deploy: host key ssh-ed25519 "
saw "the check-in retried after a 503" "check-in try 1 failed: HTTP 503; again in 1 s"
saw "the reply's key installed" "authorized key for root from the check-in reply: ssh-ed25519"
saw "the command line's key installed" "authorized key for root from the command line: ssh-ed25519"
saw "dropbear started with a 4 MiB window" "dropbear listening on port 22 (window 4194304)"
check "the token is not on the console" "$(grep -cF -- "$TOKEN" "$con")" = 0
if ! machine_saw 1 "castiron-deploy: ready"; then
	sed 's/^/# /' "$con" | tail -40
fi

B=$T/checkins/2
j() { jq -r "$1" "$B"; }
check "two check-ins arrived (a 503, then accepted)" \
    "$(ls "$T/checkins" | grep -c '^[0-9]*$')" = 2
check "the check-in is one JSON object, sent as application/json" \
    "$(j type):$(cat "$T/checkins/2.type")" = "object:application/json"
check "the check-in carries the machine's MAC" "$(j '.macs | join(",")')" = "$MAC"
check "  ...and its NIC with the address DHCP gave" \
    "$(j '.nics[0] | "\(.name) \(.mac) \(.address)"')" = "eth0 $MAC $ADDR/24"
check "the check-in carries the token" "$(j .token)" = "$TOKEN"
check "the check-in carries the SMBIOS serial" "$(j .serial)" = "$SERIAL"
check "the check-in says deploy mode" "$(j .mode)" = deploy
HOSTKEY=$(j .hostkey)
check "the check-in carries an ed25519 host key" \
    "$(echo "$HOSTKEY" | grep -cE '^ssh-ed25519 [A-Za-z0-9+/]+=*$')" = 1
saw "the console shows the key that was checked in" "host key $HOSTKEY"

echo "$ADDR $HOSTKEY" >"$T/known_hosts"
rsh() {	# KEY COMMAND
	_k=$1; shift
	timeout 60 ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes \
	    -o UserKnownHostsFile="$T/known_hosts" -o GlobalKnownHostsFile=/dev/null \
	    -o IdentitiesOnly=yes -o ConnectTimeout=20 -i "$_k" "root@$ADDR" "$@"
}
rsh "$T/id" 'echo login-ok; id -u; cat /sys/block/nvme0n1/size
	test -e /sys/block/nvme0n1 && echo nvme-ok
	/usr/bin/castiron-writer; echo writer-exit=$?
	sha256sum /usr/bin/castiron-writer /tmp/castiron-writer-*
	cat /etc/resolv.conf; ip route show default
	tr "\0" " " </proc/$(cat /run/dropbear.pid)/cmdline; echo
	sh /usr/lib/castiron/inspect.sh' >"$T/ssh.out" 2>&1
sshrc=$?
ok "ssh as root with the reply's key, the checked-in host key pinned" \
    grep -qx login-ok "$T/ssh.out"
[ "$sshrc" = 0 ] || sed 's/^/# /' "$T/ssh.out" | head -20
check "root is uid 0" "$(sed -n 2p "$T/ssh.out")" = 0
ok "the NVMe disk is there: /sys/block/nvme0n1, 64 MiB" \
    sh -c "grep -qx nvme-ok '$T/ssh.out' && grep -qx 131072 '$T/ssh.out'"
ok "castiron-writer runs (usage, exit 2)" \
    sh -c "grep -q '^usage: castiron-writer' '$T/ssh.out' && grep -qx writer-exit=2 '$T/ssh.out'"
WSHA=$(sha256sum <"$WRITER" | cut -d' ' -f1)
check "castiron-writer is the build's, also under provision's name" \
    "$(grep -c "^$WSHA " "$T/ssh.out")" = 2
ok "resolv.conf from DHCP" grep -qx "nameserver $P.2" "$T/ssh.out"
ok "default route from DHCP" grep -q "^default via $P.2 dev eth0" "$T/ssh.out"
ok "dropbear runs with -W 4194304" grep -q -- "-W 4194304" "$T/ssh.out"
ok "provision's inspection runs: the NVMe disk and the serial" \
    sh -c "grep -qx disk=nvme0n1 '$T/ssh.out' && grep -qx 'dmi_product_serial=$SERIAL' '$T/ssh.out'"
ok "ssh as root with the command line's key" sh -c "rsh_out=\$(timeout 60 ssh -n \
    -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='$T/known_hosts' \
    -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i '$T/id2' root@$ADDR echo second-ok) &&
    [ \"\$rsh_out\" = second-ok ]"
# Another host's key pinned for this address: OpenSSH must refuse.
ssh-keygen -q -t ed25519 -N '' -f "$T/other" || exit 1
echo "$ADDR $(cut -d' ' -f1,2 "$T/other.pub")" >"$T/known_hosts"
fails_with 255 "a host key other than the checked-in one is refused" \
    rsh "$T/id" true

# castiron provision itself on the booted environment (power = none: the
# machine is up; its checked-in key is the deploy key): inspection reads
# the real virtual hardware over dropbear, the writer already on the
# host is used (no upload: [provision] writer is the static writer the
# environment carries, the writer itself in a plain build), the image is
# written and verified range by range, configure mounts the root on the
# host.
tests/lab/mkosimage "$T/os.img" 48 4 || exit 1
echo "$HOSTKEY" >"$T/deploy_host_key.pub"
cp "$T/id.pub" "$T/authorized_keys"
printf '%s\n' "[castiron]" "state_dir = $T/pstate" "[inventory]" "database = $T/p.db" \
    "[images]" "cache_dir = $T/cache" "[image testos]" "url = file://$T/os.img" \
    "sha256 = $(sha256sum <"$T/os.img" | cut -d' ' -f1)" "bmap = file://$T/os.img.bmap" \
    "[provision]" "ssh_key = $T/id" "image = testos" "reboot = none" \
    "authorized_keys = $T/authorized_keys" "deploy_host_key = $T/deploy_host_key.pub" \
    "writer = $WRITER" >"$T/p.ini"
pc() { CASTIRON_CONFIG="$T/p.ini" "$CASTIRON" "$@"; }
pc inventory add h1 --site lab --mac "$MAC" --address "$ADDR" --serial "$SERIAL" >/dev/null
ok "castiron provision takes the host to active on the deploy environment" \
    pc provision h1
pc inventory show h1 --format json >"$T/h1.json"
check "  ...inspected: the NVMe disk by its serial, the NIC by its MAC" \
    "$(jq -r '[.disks[] | select(.serial == "NVME'"$SERIAL"'")] | length' "$T/h1.json"):$(jq -r '.macs | join(",")' "$T/h1.json")" = "1:$MAC"
pc inventory show h1 >"$T/h1.txt"
ok "  ...the image verified on /dev/nvme0n1" grep -q "image testos verified on /dev/nvme0n1" "$T/h1.txt"
check "  ...with the writer the environment carries (no upload)" \
    "$(grep -c 'castiron-writer uploaded' "$T/h1.txt")" = 0
machine_stop 1
cmp -s -n 17408 "$T/os.img" "$(machine_console 1 | sed 's|console.log$|disk.img|')"
check "the disk holds the image's partition table" $? = 0
machine_off() { ! machine_running "$1"; }

# --- boots 2 and 3: castiron's own boot service, a token replayed --------
# castiron boot serve takes the check-in.  The token is armed as
# provision's power step arms it (state_dir/boot/HOST.boot, provision/boot/
# state.c); the first boot checks in and the service records the host key
# the console shows; the same machine booted again with the same token is
# refused (403, an ALARM in the service's log) and does not ask again.
SPORT=$((23900 + $$ % 90))
SURL=http://$P.1:$SPORT
printf '[castiron]\nstate_dir = %s\n[inventory]\ndatabase = %s\n[boot]\nlisten = %s\ndeploy_dir = %s\n' \
    "$T/state" "$T/inv.db" "$P.1:$SPORT" "$D" >"$T/c.ini"
export CASTIRON_CONFIG="$T/c.ini"
"$CASTIRON" inventory add h1 --site lab --mac "$MAC" --address "$ADDR" >/dev/null
mkdir -p -m 755 "$T/state" && mkdir -p -m 700 "$T/state/boot"
STOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
(umask 077; printf 'host=h1\ntoken=%s\nexpires=%s\nmode=deploy\n' "$STOKEN" \
    $(($(date +%s) + 600)) >"$T/state/boot/h1.boot")
"$CASTIRON" boot serve >"$T/serve.log" 2>&1 &
SERVE=$!
at_exit "kill $SERVE 2>/dev/null"
ok "castiron boot serve listens" wait_for 10 "boot serve" \
    curl -sf -o /dev/null "$SURL/deploy/vmlinuz"
SCMD="console=ttyS0 quiet castiron.mode=deploy castiron.host=h1 castiron.checkin=$SURL/checkin castiron.token=$STOKEN"
boot "$SCMD"
ok "castiron boot serve accepts the check-in" \
    machine_wait 1 90 "castiron-deploy: ready: check-in accepted"
saw "castiron.host names the machine" "castiron-deploy: host h1"
saw "accepted by the service" "check-in accepted by $SURL/checkin"
SKEY=$(sed -n 's/.*castiron-deploy: host key \(ssh-ed25519 [A-Za-z0-9+/=]*\) .*/\1/p' "$con")
check "the service recorded the host key the console shows" \
    "$(sed -n 's/^hostkey=//p' "$T/state/boot/h1.checkin" 2>/dev/null)" = "$SKEY"
check "  ...for the machine's MAC" \
    "$(sed -n 's/^macs=//p' "$T/state/boot/h1.checkin" 2>/dev/null)" = "$MAC"
check "a new boot, a new host key" "$SKEY" != "$HOSTKEY"
machine_stop 1
n0=$(grep -c '/checkin' "$T/serve.log")
boot "$SCMD"
ok "the replayed token is refused; the environment still comes up" \
    machine_wait 1 90 "castiron-deploy: ready: check-in refused"
saw "the refusal on the console" "check-in refused by $SURL/checkin: HTTP 403"
check "a 4xx is not retried: one more check-in at the service" \
    "$(($(grep -c '/checkin' "$T/serve.log") - n0))" = 1
ok "the service logged the replay as an ALARM" grep -q 'ALARM' "$T/serve.log"
check "the token is not in the service's log" "$(grep -cF -- "$STOKEN" "$T/serve.log")" = 0
saw "no key: said so" "no authorized key for root: nobody can log in"
machine_stop 1

# --- boot 4: enlistment --------------------------------------------------
rm -f "$T"/checkins/*
boot "console=ttyS0 quiet castiron.mode=enlist castiron.checkin=http://$P.2:8700/checkin"
ok "enlistment mode powers the machine off (QEMU exits)" \
    wait_for 90 "the enlisting machine to power off" machine_off 1
echo "# enlisted and off in $(( $(now_ms) - t0 )) ms"
saw "enlistment mode" "castiron-deploy: mode enlist"
saw "inspected" "castiron-deploy: inspection: 1 disks, 1 NICs"
saw "checked in, then powering off" "enlistment done (check-in accepted): powering off"
E=$(ls "$T/checkins" | grep -x '[0-9]*' | tail -n 1)
check "the enlistment check-in arrived" -n "$E"
E=$T/checkins/$E
B=$E
echo "# the enlistment check-in: $(wc -c <"$E") bytes"
check "it says enlist mode, with no token" "$(j .mode):$(j 'has("token")')" = enlist:false
check "it carries the MAC and a host key" "$(j '.macs[0]'):$(j .hostkey | cut -d' ' -f1)" = \
    "$MAC:ssh-ed25519"
j .inspect >"$T/inspect.dump"
ok "it carries provision's inspection dump: the NVMe disk, the serial, the MAC" sh -c \
    "head -n 1 '$T/inspect.dump' | grep -qx 'castiron-inspect 1' &&
     grep -qx disk=nvme0n1 '$T/inspect.dump' &&
     grep -qx 'dmi_product_serial=$SERIAL' '$T/inspect.dump' &&
     grep -qx 'mac=$MAC' '$T/inspect.dump' && tail -n 1 '$T/inspect.dump' | grep -qx end"
saw "a 202 is an accepted check-in" "check-in accepted by http://$P.2:8700/checkin"
done_testing
