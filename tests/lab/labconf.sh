# castiron's configuration for a lab test, and the skips every lab test
# starts with.  Sourced after tests/lib.sh (it uses $T, skip and
# done_testing).
#
#   lab_need WHAT COMMAND...    ends the test with a skip of WHAT unless it
#                               runs as root (namespaces, taps, loop
#                               devices) and every COMMAND is installed
#   lab_config [SECTION.KEY=VALUE...]
#                               writes $T/c.ini, exports CASTIRON_CONFIG
#                               and sets C (castiron); a VALUE replaces the
#                               default's, a KEY the defaults lack is
#                               added to its section (a new section after
#                               the others), an empty VALUE removes the
#                               key.  $LAB_CONFIG_KEYS (lines of the same
#                               form; tests/lab/netboot.sh's netboot_init
#                               adds [boot]'s) come between the defaults
#                               and the arguments.  The defaults, what
#                               every lab test of provision shares:
#       [castiron]    state_dir $T/state
#       [inventory]   database $T/inv.db
#       [images]      cache_dir $T/cache
#       [image testos] $T/os.img (tests/lab/mkosimage), its sha256, bmap,
#                     and [provision] image testos: only when $T/os.img
#                     exists (a test of the boot service alone has none)
#                     and image=none is not given (a test whose images
#                     have names of their own, and no default)
#       [provision]   ssh_key, authorized_keys from lab_init ($T/lab,
#                     when it has run: castiron refuses a key file that
#                     is not there), power bmc, reboot bmc, boot_timeout 60s,
#                     reboot_timeout 60s, connect_timeout 20s,
#                     io_timeout 60s
#       [bmc]         the lab's Redfish BMCs (tests/lab/machine.sh):
#                     username admin, password_dir $T/bmc.d (bmc_password),
#                     ca_bundle $LABM_CA; bmc=ipmi instead gives
#                     ipmi_config_bmc's (tests/lab/ipmi-lab.sh); power=none
#                     instead: no BMC, the SSH-only path (power none,
#                     reboot ssh, no boot_timeout, no [bmc]), as the
#                     tests of provision's trust rules and secrets, and
#                     of the network boot alone, have it
#   lab_config_to FILE [SECTION.KEY=VALUE...]
#                               the same, written to FILE, and nothing
#                               else (CASTIRON_CONFIG and C as they were):
#                               for a test's second configuration
#   lab_bmc_host N redfish|ipmi [SIZE_MB]
#                               host N of tests/lab/provlab.sh (OpenSSH,
#                               a SIZE_MB disk, default 64) behind machine
#                               N's BMC with no machine of its own
#                               (--no-qemu): a Redfish emulator, or
#                               ipmi_sim (tests/lab/ipmi-lab.sh); the
#                               machine's serial LAB-SN-000N, its MAC the
#                               host's; the password as castiron's for
#                               host hN.  Sets LAB_ADDR LAB_DISK LAB_MAC
#                               and BMC_ADDR
#   lab_firmware ADDR TEST...   plays a lab host's firmware for a BMC's
#                               disk boot: polls TEST (every 0.2 s, at
#                               most 600 times) and, once it succeeds,
#                               boots the host at ADDR into its installed
#                               system (tests/lab/lab-reboot over SSH);
#                               1 if TEST never succeeded
#   jget HOST JQ-FILTER         inventory show HOST as JSON, through jq -r
#
# The image's sha256 is read when lab_config runs: make $T/os.img first.

lab_need() {	# what command...
	_lw=$1; shift
	if [ "$(id -u)" != 0 ]; then
		skip "$_lw" "needs root (network namespaces, taps, loop devices)"
		done_testing; exit
	fi
	for _lc in "$@"; do
		command -v "$_lc" >/dev/null && continue
		skip "$_lw" "needs $_lc"
		done_testing; exit
	done
}

_lab_config_defaults() {
	cat <<EOF
castiron.state_dir=$T/state
inventory.database=$T/inv.db
images.cache_dir=$T/cache
EOF
	[ ! -f "$T/os.img" ] || cat <<EOF
image testos.url=file://$T/os.img
image testos.sha256=$(sha256sum <"$T/os.img" | cut -d' ' -f1)
image testos.bmap=file://$T/os.img.bmap
provision.image=testos
EOF
	[ ! -f "$T/lab/id_ed25519" ] || cat <<EOF
provision.ssh_key=$T/lab/id_ed25519
provision.authorized_keys=$T/lab/authorized_keys
EOF
	cat <<EOF
provision.power=bmc
provision.reboot=bmc
provision.boot_timeout=60s
provision.reboot_timeout=60s
provision.connect_timeout=20s
provision.io_timeout=60s
bmc.username=admin
bmc.password_dir=$T/bmc.d
bmc.ca_bundle=${LABM_CA:-}
EOF
}

# Each line SECTION.KEY=VALUE; the last word for a key wins, in the place
# of its first; sections in the order they first appear.
lab_config_to() {	# file [section.key=value...]
	_lf=$1; shift
	{
		_lab_config_defaults
		[ -z "${LAB_CONFIG_KEYS:-}" ] || printf '%s\n' "$LAB_CONFIG_KEYS"
		for _la in "$@"; do
			case $_la in
			bmc=ipmi)
				echo bmc.ca_bundle=
				ipmi_config_bmc | sed -n 's/^\([a-z_]*\) = \(.*\)/bmc.\1=\2/p' ;;
			image=none)
				printf '%s\n' "image testos.url=" "image testos.sha256=" \
				    "image testos.bmap=" provision.image= ;;
			power=none)
				printf '%s\n' provision.power= provision.reboot=ssh \
				    provision.boot_timeout= bmc.username= \
				    bmc.password_dir= bmc.ca_bundle= ;;
			*) printf '%s\n' "$_la" ;;
			esac
		done
	} | awk '
	{
		i = index($0, "="); k = substr($0, 1, i - 1); v = substr($0, i + 1)
		j = index(k, "."); sec = substr(k, 1, j - 1); key = substr(k, j + 1)
		if (!(sec in seen)) { seen[sec] = 1; secs[++ns] = sec }
		if (!(k in val)) { n[sec]++; keys[sec, n[sec]] = key }
		val[k] = v
	}
	END {
		for (s = 1; s <= ns; s++) {
			sec = secs[s]; out = ""
			for (i = 1; i <= n[sec]; i++) {
				key = keys[sec, i]
				if (val[sec "." key] != "")
					out = out sprintf("%s = %s\n", key, val[sec "." key])
			}
			if (out != "")
				printf "[%s]\n%s", sec, out
		}
	}' >"$_lf"
}

lab_config() {
	lab_config_to "$T/c.ini" "$@" || return 1
	CASTIRON_CONFIG=$T/c.ini
	export CASTIRON_CONFIG
	C=$CASTIRON
}

lab_bmc_host() {	# n redfish|ipmi [size_mb]
	lab_host "$1" openssh "${3:-64}" &&
	machine_new "$1" --serial "$(printf 'LAB-SN-%04d' "$1")" --mac "$LAB_MAC" ||
	    return 1
	case $2 in
	ipmi) ipmi_bmc_start "$1" --no-qemu ;;
	*) bmc_start "$1" --no-qemu ;;
	esac || return 1
	bmc_password "$1" "h$1"
}

lab_firmware() {	# addr test...
	_fa=$1; shift
	_fi=0
	while [ "$_fi" -lt 600 ]; do
		if "$@"; then
			ssh -i "$T/lab/id_ed25519" -o StrictHostKeyChecking=no \
			    -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
			    root@"$_fa" "$(lab_reboot_command)" </dev/null
			return
		fi
		sleep 0.2; _fi=$((_fi + 1))
	done
	return 1
}

jget() { "$CASTIRON" inventory show "$1" --format json | jq -r "$2"; }
