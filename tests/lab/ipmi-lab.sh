# IPMI BMCs for the lab's machines (tests/lab/machine.sh): Debian's
# ipmi_sim (openipmi), one per machine, listening on the management
# network inside the lab's namespace, its chassis tests/lab/ipmi-chassis
# (which starts and stops the machine's QEMU).  Source it after
# tests/lib.sh and tests/lab/machine.sh, after machine_net_init.
#
#   ipmi_bmc_start N [--addr ADDR] [--port P] [--ipmi15] [--no-qemu]
#                    [--power-delay S] [--default-boot c|n]
#                               machine N's BMC on ADDR (default
#                               $LABM_MGMT.(10+N); an IPv6 address gets a
#                               route from this namespace), port 623
#                               unless --port; --ipmi15: no GUID, so
#                               ipmi_sim speaks IPMI 1.5 only (MD5);
#                               --no-qemu: power and boot are state only
#                               (--power-delay: power reads on S seconds
#                               after a power on);
#                               --default-boot: the firmware's own order
#                               (c disk, the default; n network).  Waits
#                               until it answers ipmitool.  Sets BMC_ADDR
#                               (the inventory's form: ADDR, ADDR:PORT,
#                               [V6]:PORT), BMC_USER, BMC_PASSWORD_FILE
#   ipmi_tool N ARGS...         Debian's ipmitool at N's BMC (-I lanplus
#                               -C 3; an IPMI 1.5 one -I lan -A MD5), the
#                               password from its file
#   ipmi_sessions N             the active sessions N's BMC reports
#                               (ipmitool's own included)
#   ipmi_events N               the chassis calls so far (its log)
#   ipmi_bmc_alive N            ipmi_sim of N still runs
#   ipmi_password N HOST        N's password as castiron's for HOST
#                               (machine.sh's bmc_password)
#   ipmi_config_bmc [POWER_TIMEOUT]
#                               prints castiron's [bmc] section for these
#                               BMCs: driver ipmi, user admin, passwords
#                               in $T/bmc.d, connect 2 s, I/O 3 s, power
#                               POWER_TIMEOUT (default 10s)
#
# The machine's FRU (tests/lab/ipmi-mkfru) carries its SMBIOS serial,
# manufacturer "Castiron Lab" and product "QEMU q35 TCG", as machine_new
# gives QEMU.  The account is "admin" with a random 16-character password
# (IPMI 2.0 allows 20, 1.5 16) in BMC_PASSWORD_FILE, owner-only; ipmi_sim
# needs it in its lan.conf too (also owner-only).  The BMC logs to
# ipmi_sim.log in the machine's directory.

IPMI_SRC=${IPMI_SRC:-$PWD/tests/lab}
IPMI_V6=2001:db8:77:$LABM_ID

ipmi_bmc_start() {
	_in=$1; shift
	_id=$LABM_DIR/m$_in
	_ia=$LABM_MGMT.$((10 + _in)) _ip=623 _iguid=yes
	: >"$_id/ipmi.events"
	echo c >"$_id/ipmi.defboot"
	rm -f "$_id/ipmi.noqemu" "$_id/ipmi.delay" "$_id/ipmi.power"
	while [ $# -gt 0 ]; do
		case $1 in
		--addr) _ia=$2; shift ;;
		--port) _ip=$2; shift ;;
		--ipmi15) _iguid="" ;;	# and ipmitool's lan interface
		--no-qemu) : >"$_id/ipmi.noqemu" ;;
		--power-delay) echo "$2" >"$_id/ipmi.delay"; shift ;;
		--default-boot) echo "$2" >"$_id/ipmi.defboot"; shift ;;
		*) echo "ipmi_bmc_start: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	case $_ia in
	*:*)
		# This namespace reaches the lab's IPv6 addresses through the
		# management veth.
		ip -6 addr replace "$IPMI_V6::1/64" dev "lm$$" nodad &&
		ip -n "$LABM_NS" -6 addr replace "$_ia/64" dev brm nodad ||
		    return 1
		BMC_ADDR="[$_ia]:$_ip"
		;;
	*)
		ip -n "$LABM_NS" addr replace "$_ia/24" dev brm || return 1
		BMC_ADDR=$_ia
		[ "$_ip" = 623 ] || BMC_ADDR=$_ia:$_ip
		;;
	esac
	if [ -n "$_iguid" ]; then echo "lanplus -C 3"; else echo "lan -A MD5"; fi \
	    >"$_id/ipmi.iface"
	echo "$_ia" >"$_id/ipmi.addr"
	echo "$_ip" >"$_id/ipmi.port"
	echo "$BMC_ADDR" >"$_id/bmc.addr"
	BMC_USER=admin
	BMC_PASSWORD_FILE=$_id/bmc.password
	[ -f "$BMC_PASSWORD_FILE" ] ||
	    (umask 077; od -An -tx1 -N8 /dev/urandom | tr -d ' \n' >"$BMC_PASSWORD_FILE")
	"$IPMI_SRC/ipmi-mkfru" "$_id/fru.bin" "$(cat "$_id/serial")" \
	    "Castiron Lab" "QEMU q35 TCG" || return 1
	(umask 077
	 {
		echo "name \"lab-m$_in\""
		echo "set_working_mc 0x20"
		echo "  startlan 1"
		echo "    addr $_ia $_ip"
		echo "    priv_limit admin"
		for _ipriv in callback user operator admin; do
			echo "    allowed_auths_$_ipriv md5"
		done
		# RMCP+ needs a GUID: without one ipmi_sim is an IPMI 1.5 BMC.
		[ -z "$_iguid" ] ||
		    echo "    guid $(echo "lab-m$_in-$$" | md5sum | cut -c1-32)"
		echo "  endlan"
		echo "  chassis_control \"$IPMI_SRC/ipmi-chassis $_id\""
		echo "  user 2 true \"$BMC_USER\" \"$(cat "$BMC_PASSWORD_FILE")\" admin 10 md5"
	 } >"$_id/ipmi.lan.conf")
	cat >"$_id/ipmi.emu" <<EOF
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_add_fru_data 0x20 0 256 file 0 "$_id/fru.bin"
mc_enable 0x20
EOF
	rm -rf "$_id/ipmi.state"
	mkdir -p "$_id/ipmi.state"
	ip netns exec "$LABM_NS" setsid ipmi_sim -n -c "$_id/ipmi.lan.conf" \
	    -f "$_id/ipmi.emu" -s "$_id/ipmi.state" \
	    </dev/null >>"$_id/ipmi_sim.log" 2>&1 &
	echo $! >"$_id/ipmi_sim.pid"
	at_exit "_machine_kill $_id/ipmi_sim.pid ipmi_sim"
	wait_for 10 "ipmi_sim of machine $_in to answer" \
	    ipmi_tool "$_in" chassis power status
}

ipmi_tool() {
	_id=$LABM_DIR/m$1; shift
	# shellcheck disable=SC2046
	ipmitool -I $(cat "$_id/ipmi.iface") -H "$(cat "$_id/ipmi.addr")" \
	    -p "$(cat "$_id/ipmi.port")" -U admin -f "$_id/bmc.password" "$@"
}

ipmi_sessions() {
	ipmi_tool "$1" session info all 2>/dev/null |
	    sed -n 's/^active sessions *: *//p' | head -n 1
}

ipmi_events() { cat "$LABM_DIR/m$1/ipmi.events"; }
ipmi_bmc_alive() { _machine_pidof "$LABM_DIR/m$1/ipmi_sim.pid" ipmi_sim >/dev/null; }

ipmi_password() { bmc_password "$@"; }

ipmi_config_bmc() {
	printf '[bmc]\ndriver = ipmi\nusername = admin\npassword_dir = %s\n' "$T/bmc.d"
	printf 'connect_timeout = 2s\nio_timeout = 3s\npower_timeout = %s\n' "${1:-10s}"
}
