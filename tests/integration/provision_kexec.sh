# provision with reboot = kexec, for real (tests/lab/kexeclab.sh): a QEMU
# machine powered on by its BMC network-boots the deploy environment;
# castiron writes a system that boots for real (tests/lab/mkbootos) and
# kexecs its grub.cfg's kernel, initrd and command line.  No second
# SeaBIOS, iPXE or GRUB on the console after the kexec; /proc/cmdline is
# the entry's as GRUB passes it; verify passes with the pinned key, the
# host is active, the event says kexec.  A deploy kernel that refuses
# (sysctl.kernel.kexec_load_disabled=1 through [boot] cmdline): with
# kexec_fallback = none the host fails at reboot with one line and stays
# in its deploy environment; with bmc a note and the event say so and the
# BMC reboots it through firmware and GRUB, to the same /proc/cmdline.
# time-limit: 900
. tests/lib.sh
. tests/lab/machine.sh
. tests/lab/netboot.sh
. tests/lab/kexeclab.sh

netboot_need_deploy "provision with reboot = kexec"
machine_net_init || { echo "not ok 1 - lab network"; done_testing; exit 1; }
NONCE=kx$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
kexeclab_init "castiron.lab=$NONCE" ||
    { echo "not ok 1 - the kexec lab"; done_testing; exit 1; }
C=$CASTIRON
con=$(machine_console 1)
# The console of this run after its deploy environment was ready.
after_ready() { machine_since 1 | sed -n '/castiron-deploy: ready/,$p'; }
count() { grep -acF -- "$1"; }
ms_of() { kx_json "[.events[] | select(.step == \"$1\" and .duration_ms != null)] | last | .duration_ms"; }
lineof() { grep -n -m 1 -F -- "$1" "$KX_IMG.grub.cfg" | cut -d: -f1; }
ENTRY_LINE=$(lineof "menuentry 'castiron lab system' ")
DEFAULT_LINE=$(lineof 'set default="testos"')
LINUX_LINE=$(lineof "linux /boot/vmlinuz-$KX_KVER root=LABEL=root ro console")

# --- reboot = kexec -----------------------------------------------------
machine_mark 1
t0=$(now_ms)
ok "provision h1 with reboot = kexec: active" "$C" provision h1
echo "# provision: $(( $(now_ms) - t0 )) ms; the reboot step (kexec to the installed key) $(ms_of reboot) ms"
run=$(machine_since 1)
check "  ...the host is active" "$(kx_json .state)" = active
check "  ...the reboot step's event says kexec" \
    "$(kx_events reboot | grep -cxF "done: kexec into /boot/vmlinuz-$KX_KVER, without firmware")" = 1
ok "  ...a note names the entry, the kernel, the initrd and the command line read from grub.cfg" \
    sh -c "$C inventory show h1 --format json | jq -r '.events[].reason // empty' | grep -qxF \"kexec: the default entry of /boot/grub/grub.cfg on /dev/nvme0n1p1, castiron lab system (line $ENTRY_LINE, default=testos (line $DEFAULT_LINE)): linux /boot/vmlinuz-$KX_KVER (line $LINUX_LINE), initrd /boot/initrd.img-$KX_KVER, command line '$KX_CMDLINE'\""
check "  ...and one that the writer loaded it" \
    "$(kx_events reboot | grep -c "^kexec: loaded /boot/vmlinuz-$KX_KVER ([0-9]* bytes), initrd /boot/initrd.img-$KX_KVER, command line of ${#KX_CMDLINE} bytes, in [0-9]* ms; the deploy environment reboots into it in a second, without firmware$")" = 1
check "  ...verify passed" "$(kx_events verify | grep -c '^done')" = 1
check "the machine went through firmware once, at power-on (SeaBIOS, iPXE)" \
    "$(echo "$run" | count 'SeaBIOS (version'):$(echo "$run" | count "$LABM_PXE")" = 1:1
check "after the deploy environment: no SeaBIOS, no iPXE, no GRUB" \
    "$(after_ready | count 'SeaBIOS'):$(after_ready | count 'iPXE'):$(after_ready | count 'GRUB'):$(after_ready | count 'testos-grub')" = 0:0:0:0
check "  ...but a kernel starting, and the installed system's initramfs and init" \
    "$(after_ready | count 'Linux version'):$(after_ready | count 'testos-initrd: root /dev/nvme0n1p1 (ro)'):$(after_ready | count 'testos: sshd listening')" = 1:1:1
check "the BMC booted the machine once (the network boot)" \
    "$(bmc_state 1 '[.boots[] | .device] | join(",")')" = pxe
kx_ssh 'cat /proc/cmdline; hostname; cat /etc/castiron/provision-id; cat /etc/os-release' \
    >"$T/kx/installed" 2>&1
check "ssh to the installed system with the pinned key" "$?" = 0
check "  .../proc/cmdline is grub.cfg's entry as GRUB passes it" \
    "$(sed -n 1p "$T/kx/installed")" = "$KX_CMDLINE"
check "  ...it carries this image's nonce" -n "$(sed -n 1p "$T/kx/installed" | grep -F "castiron.lab=$NONCE")"
check "  ...the host name configure wrote" "$(sed -n 2p "$T/kx/installed")" = h1
check "  ...this run's provisioning marker" \
    "$(grep -c '^host=h1$' "$T/kx/installed"):$(grep -c '^image=testos$' "$T/kx/installed")" = 1:1
check "  ...the installed system, not the deploy environment" \
    -n "$(grep -F 'castiron test OS 1.0' "$T/kx/installed")"
[ "$(sed -n 1p "$T/kx/installed")" = "$KX_CMDLINE" ] || sed 's/^/# /' "$T/kx/installed"
after_ready | grep -a -e testos -e 'Linux version' | sed 's/^/# /' | head -8
KEXEC_CMDLINE=$(sed -n 1p "$T/kx/installed")

# --- the deploy kernel refuses, kexec_fallback = none --------------------
# The deploy environment's kernel with kexec disabled from its command
# line on, as a locked-down site's would be.
kexeclab_config kexec none "sysctl.kernel.kexec_load_disabled=1"
machine_mark 1
fails_with 1 "refused, kexec_fallback = none: provision fails" "$C" provision h1 --force
cp "$T/.out" "$T/kx/run2.out"
ok "  ...one line: refused, why, and what would reboot instead" grep -qF \
    "h1: failed at reboot: h1: kexec refused by the deploy kernel: kexec_file_load: Operation not permitted (kernel.kexec_load_disabled is 1); not rebooted ([provision] kexec_fallback = none; bmc or ssh would reboot through firmware instead)" \
    "$T/kx/run2.out"
check "  ...failed at reboot" "$(kx_json '.state + " " + .step')" = "failed reboot"
check "  ...and still in its deploy environment: no restart, nothing after it" \
    "$(bmc_state 1 '[.boots[] | .device] | join(",")'):$(after_ready | count 'testos')" = pxe,pxe:0

# --- refused, kexec_fallback = bmc --------------------------------------
"$C" inventory set-state h1 enrolled --reason "again, with kexec_fallback = bmc" >/dev/null
kexeclab_config kexec bmc "sysctl.kernel.kexec_load_disabled=1"
machine_mark 1
t0=$(now_ms)
ok "refused, kexec_fallback = bmc: active through the BMC and firmware" "$C" provision h1
echo "# provision: $(( $(now_ms) - t0 )) ms; the reboot step (BMC restart to the installed key) $(ms_of reboot) ms"
WHY="kexec_file_load: Operation not permitted (kernel.kexec_load_disabled is 1)"
check "  ...the reboot step's event says kexec was refused and the BMC rebooted" \
    "$(kx_events reboot | grep -cxF "done: kexec refused by the deploy kernel ($WHY): rebooted by the BMC instead (kexec_fallback = bmc)")" = 1
check "  ...and a note said so before" \
    "$(kx_events reboot | grep -cxF "kexec refused by the deploy kernel: $WHY; rebooting by the BMC instead (kexec_fallback = bmc)")" = 1
check "  ...the BMC: a one-time disk boot after the network boot" \
    "$(bmc_state 1 '[.boots[] | .device + (if .once then "-once" else "" end)] | .[-2:] | join(",")')" = pxe-once,disk-once
check "  ...the console: firmware, then GRUB, then the installed system" \
    "$(after_ready | count 'SeaBIOS (version'):$(after_ready | count 'testos-grub: loading the kernel'):$(after_ready | count 'testos: sshd listening')" = 1:1:1
kx_ssh 'cat /proc/cmdline' >"$T/kx/installed2" 2>&1
check "  .../proc/cmdline after GRUB is what castiron passed to kexec" \
    "$(cat "$T/kx/installed2")" = "$KEXEC_CMDLINE"
check "  ...active, verified" "$(kx_json .state):$(kx_events verify | grep -c '^done')" = active:2
machine_stop 1
done_testing
