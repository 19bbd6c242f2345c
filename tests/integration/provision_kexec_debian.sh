# reboot = kexec into the Debian 12 image (images/recipes/debian12, `make
# images`; tests/lab/osimage finds it), on the lab of
# tests/integration/provision_kexec.sh (tests/lab/kexeclab.sh): the
# machine network-booted by its BMC into the deploy environment, the
# image written to its NVMe disk and configured, then castiron reads the
# image's /boot/grub/grub.cfg and kexecs its kernel, initrd and command
# line.  Asserted: no firmware, iPXE or GRUB on the console after the
# deploy environment, Debian's own boot there; over SSH with the pinned
# key, /proc/cmdline is the entry's as GRUB passes it, the host name and
# the marker configure wrote, Debian 12 running; verify passed, the host
# is active, the event says kexec.  Skipped when the image is not built
# (a failure under CI=true: make test and make check build it first).
# time-limit: 1200
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/kexeclab.sh

netboot_need_deploy "reboot = kexec into debian12"
if ! IMG=$(tests/lab/osimage debian12 2>"$T/osimage.err"); then
	skip "reboot = kexec into debian12" "$(head -n 1 "$T/osimage.err")"
	done_testing; exit
fi
machine_net_init || { echo "not ok 1 - lab network"; done_testing; exit 1; }
kexeclab_init --osimage "$IMG" || { echo "not ok 1 - the kexec lab"; done_testing; exit 1; }
C=$CASTIRON
after_ready() { machine_since 1 | sed -n '/castiron-deploy: ready/,$p'; }
count() { grep -acF -- "$1"; }

machine_mark 1
t0=$(now_ms)
ok "provision h1 with debian12 and reboot = kexec: active" "$C" provision h1
echo "# provision: $(( $(now_ms) - t0 )) ms; the reboot step $(kx_json '[.events[] | select(.step == "reboot" and .duration_ms != null)] | last | .duration_ms') ms"
check "  ...the reboot step's event says kexec" \
    "$(kx_events reboot | grep -cxF "done: kexec into /boot/vmlinuz-$KX_KVER, without firmware")" = 1
NOTE=$(kx_events reboot | grep '^kexec: the default entry of /boot/grub/grub.cfg on ')
check "  ...the note: the image's grub.cfg on its root partition, its kernel and initrd" \
    -n "$(echo "$NOTE" | grep -F "linux /boot/vmlinuz-$KX_KVER (line" | grep -F ", initrd /boot/initrd.img-$KX_KVER, command line 'BOOT_IMAGE=/boot/vmlinuz-$KX_KVER root=LABEL=root ")"
CMDLINE=$(echo "$NOTE" | sed -n "s/.*, command line '\(.*\)'$/\1/p")
check "  ...verify passed" "$(kx_events verify | grep -c '^done')" = 1
check "after the deploy environment: no SeaBIOS, no iPXE, no GRUB" \
    "$(after_ready | count 'SeaBIOS'):$(after_ready | count 'iPXE'):$(after_ready | count 'GRUB'):$(after_ready | count 'grub: loading')" = 0:0:0:0
check "  ...but Debian booting (cloud-init at work)" "$(after_ready | count 'cloud-init')" -gt 0
kx_ssh 'cat /proc/cmdline; hostname; . /etc/os-release; echo "$ID $VERSION_ID"; cat /etc/castiron/provision-id' \
    >"$T/kx/installed" 2>&1
check "ssh to the installed system with the pinned key" "$?" = 0
check "  .../proc/cmdline is grub.cfg's entry as GRUB passes it" \
    "$(sed -n 1p "$T/kx/installed")" = "$CMDLINE"
check "  ...the host name" "$(sed -n 2p "$T/kx/installed")" = h1
check "  ...Debian 12" "$(sed -n 3p "$T/kx/installed")" = "debian 12"
check "  ...this run's marker" "$(grep -c '^image=debian12$' "$T/kx/installed")" = 1
[ "$(sed -n 2p "$T/kx/installed")" = h1 ] || sed 's/^/# /' "$T/kx/installed"
check "the host is active" "$(kx_json .state)" = active
machine_stop 1
done_testing
