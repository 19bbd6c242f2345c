# Lab machines: QEMU (TCG) servers with an NVMe disk, a NIC on a
# provisioning bridge, a serial console logged to a file and QMP sockets,
# each optionally behind an emulated Redfish BMC (tests/lab/redfish-bmc.py)
# on a management network.  Sourced after tests/lib.sh (it uses $T,
# at_exit and wait_for); needs root.  docs/lab.md describes it in full;
# the names and arguments below are stable.
#
# One network namespace ($LABM_NS) holds both networks, every machine
# and every BMC:
#   management   bridge brm, $LABM_MGMT.0/24; this (root) namespace is
#                $LABM_MGMT.1 through a veth, machine N's BMC listens on
#                $LABM_MGMT.(10+N), port 443
#   provisioning bridge brp, $LABM_PROV.0/24; this namespace is
#                $LABM_PROV.1, the bridge itself $LABM_PROV.2; machine N's
#                NIC is tap tapN on it
#
#   machine_net_init            the namespace, bridges, veths and the test
#                               CAs; cleanup (every QEMU and BMC, the
#                               namespace) registered with at_exit
#   machine_new N [--disk FILE | --blank MB] [--marker TEXT] [--mem MB]
#               [--ignore-powerdown] [--nic virtio|e1000] [--serial S]
#               [--manufacturer M] [--product P] [--mac MAC]
#               [-- QEMU-ARGS...]
#                               defines machine N (QEMU not started); by
#                               default its disk is a mkbootdisk disk
#                               printing "LABDISK-N" (--ignore-powerdown:
#                               one that ignores ACPI); sets M_DIR M_MAC
#                               M_SERIAL M_MARKER
#   machine_start N [BOOT]      starts QEMU directly, no BMC (BOOT is
#                               -boot's value, default order=c)
#   machine_stop N              QMP quit; SIGKILL by pid after 10 s
#   machine_pid N               prints QEMU's pid (exit 1: not running)
#   machine_running N           exit 0 while QEMU runs
#   machine_qmp N CMD [ARGS]    one QMP command (ARGS a JSON object) on
#                               the tests' socket; prints "return" as JSON
#   machine_status N            QMP query-status's status (running,
#                               paused, ...), or "off" without QEMU
#   machine_console N           prints the console log's path
#   machine_mark N              remembers where the console is now
#   machine_since N             the console since the mark
#   machine_saw N TEXT          exit 0 when TEXT (fixed string) is in the
#                               console since the mark
#   machine_wait N SECONDS TEXT waits (bounded) for TEXT since the mark
#   machine_mac N / machine_serial N
#   bmc_start N [--untrusted] [--no-qemu] [--port P] [EMULATOR-FLAGS...]
#                               starts machine N's Redfish BMC (port 443
#                               unless --port) and waits until it
#                               answers; --untrusted: its
#                               certificate is signed by another CA;
#                               --no-qemu: a simulated machine (power and
#                               boot are state only); other flags go to
#                               redfish-bmc.py (--profile P, --power on,
#                               --session-limit N, ...).  Sets BMC_ADDR
#                               BMC_URL BMC_USER BMC_PASSWORD_FILE
#   bmc_stop N                  stops the emulator (not the machine)
#   bmc_password N HOST [DIR]   N's password as castiron's for HOST:
#                               DIR/HOST (DIR default $T/bmc.d, made
#                               700; the file 600); any of the lab's BMCs
#   bmc_addr N / bmc_url N
#   bmc_state N [JQ-FILTER]     its GET /lab/state (through jq -r FILTER)
#   bmc_reset_counters N        POST /lab/reset-counters
#   bmc_inject N JSON           POST /lab/inject
#   bmc_curl N METHOD PATH [JSON]  an authenticated request (HTTP Basic,
#                               the credentials from a curl config file,
#                               not argv); prints the body, then a last
#                               line "HTTP NNN"
#
# $LABM_CA is the CA bundle that signs every BMC certificate (castiron's
# [bmc] ca_bundle); each BMC's account is "admin" with a random password
# in $BMC_PASSWORD_FILE (owner-only, the password alone).
# Console texts: $LABM_PXE appears when a network boot starts (iPXE's
# boot banner, not its ROM's POST line), $LABM_DISK when SeaBIOS boots
# the disk.

LABM_ID=$(($$ % 250))
LABM_NS=ci-lab-$$
LABM_MGMT=10.252.$LABM_ID
LABM_PROV=10.253.$LABM_ID
LABM_PXE='iPXE initialising devices'
LABM_DISK='Booting from Hard Disk'
LABM_CA=""
LABM_SRC=${LABM_SRC:-$PWD/tests/lab}

machine_net_init() {
	LABM_DIR=$T/machines
	mkdir -p "$LABM_DIR"
	at_exit machine_net_cleanup
	_mns=$LABM_NS
	ip netns add "$_mns" || return 1
	ip -n "$_mns" link set lo up
	for _mb in m p; do
		ip -n "$_mns" link add "br$_mb" type bridge || return 1
		ip -n "$_mns" link set "br$_mb" type bridge forward_delay 0 stp_state 0
		ip link add "l$_mb$$" type veth peer name "l${_mb}0" netns "$_mns" || return 1
		ip -n "$_mns" link set "l${_mb}0" master "br$_mb" up
		ip -n "$_mns" link set "br$_mb" up
		ip link set "l$_mb$$" up
	done
	ip addr add "$LABM_MGMT.1/24" dev "lm$$"
	ip addr add "$LABM_PROV.1/24" dev "lp$$"
	ip -n "$_mns" addr add "$LABM_MGMT.2/24" dev brm
	ip -n "$_mns" addr add "$LABM_PROV.2/24" dev brp
	_machine_ca ca "castiron lab CA" && _machine_ca rogue "some other CA" ||
	    return 1
	LABM_CA=$LABM_DIR/ca/ca.pem
}

_machine_ca() {	# name subject
	mkdir -p "$LABM_DIR/ca"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$LABM_DIR/ca/$1.key" -out "$LABM_DIR/ca/$1.pem" -days 2 \
	    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

_machine_cert() {	# dir addr ca
	printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
	    "$2" >"$1/bmc.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1/bmc.key" -out "$1/bmc.csr" -subj "/CN=$2" 2>/dev/null &&
	openssl x509 -req -in "$1/bmc.csr" -CA "$LABM_DIR/ca/$3.pem" \
	    -CAkey "$LABM_DIR/ca/$3.key" -CAcreateserial -days 2 \
	    -extfile "$1/bmc.ext" -out "$1/bmc.pem" 2>/dev/null
}

machine_net_cleanup() {
	for _md in "$LABM_DIR"/m*; do
		[ -d "$_md" ] || continue
		_machine_kill "$_md/bmc.pid" redfish-bmc
		_machine_kill "$_md/qemu.pid" qemu-system
	done
	# Whatever else still runs in the namespace (a QEMU that had not yet
	# written its pidfile).
	for _mp in $(ip netns pids "$LABM_NS" 2>/dev/null); do
		kill -9 "$_mp" 2>/dev/null
	done
	ip netns del "$LABM_NS" 2>/dev/null
	ip link del "lm$$" 2>/dev/null
	ip link del "lp$$" 2>/dev/null
	return 0
}

# _machine_pidof PIDFILE WHAT: the pid in PIDFILE, if that process is
# still WHAT (a pid is reused once its process is gone).
_machine_pidof() {
	_mk=$(cat "$1" 2>/dev/null) || return 1
	case $_mk in ''|*[!0-9]*) return 1 ;; esac
	tr '\0' ' ' <"/proc/$_mk/cmdline" 2>/dev/null | grep -q "$2" || return 1
	echo "$_mk"
}

_machine_kill() {	# pidfile what: SIGKILL that pid if it is still that program
	_mk=$(_machine_pidof "$1" "$2") && kill -9 "$_mk" 2>/dev/null
	rm -f "$1"
	return 0
}

# machine_new N [options] [-- QEMU-ARGS...]
machine_new() {
	_mn=$1; shift
	_md=$LABM_DIR/m$_mn
	_mdisk=""; _mblank=""; _mmem=256; _mnic=virtio-net-pci; _mign=""
	M_MARKER=LABDISK-$_mn
	M_SERIAL=LAB$$X$_mn
	M_MAC=$(printf '52:54:%02x:%02x:%02x:%02x' $((($$ >> 16) & 255)) \
	    $((($$ >> 8) & 255)) $(($$ & 255)) "$_mn")
	_mman="Castiron Lab"; _mprod="QEMU q35 TCG"
	while [ $# -gt 0 ]; do
		case $1 in
		--disk) _mdisk=$2; shift ;;
		--blank) _mblank=$2; shift ;;
		--marker) M_MARKER=$2; shift ;;
		--ignore-powerdown) _mign=--ignore-powerdown; shift; continue ;;
		--mem) _mmem=$2; shift ;;
		--nic) case $2 in e1000) _mnic=e1000 ;; *) _mnic=virtio-net-pci ;; esac
		    shift ;;
		--serial) M_SERIAL=$2; shift ;;
		--manufacturer) _mman=$2; shift ;;
		--product) _mprod=$2; shift ;;
		--mac) M_MAC=$2; shift ;;
		--) shift; break ;;
		*) echo "machine_new: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	mkdir -p "$_md" || return 1
	M_DIR=$_md
	if [ -n "$_mdisk" ]; then
		ln -sf "$_mdisk" "$_md/disk.img"
	elif [ -n "$_mblank" ]; then
		truncate -s "${_mblank}M" "$_md/disk.img"
	else
		"$LABM_SRC/mkbootdisk" $_mign "$_md/disk.img" "$M_MARKER" ||
		    return 1
	fi
	echo "$M_MAC" >"$_md/mac"
	echo "$M_SERIAL" >"$_md/serial"
	echo "$M_MARKER" >"$_md/marker"
	: >"$_md/console.log"
	echo 0 >"$_md/mark"
	# Defining a machine again (another disk, say) keeps its tap.
	ip -n "$LABM_NS" link show "tap$_mn" >/dev/null 2>&1 ||
	    ip -n "$LABM_NS" tuntap add dev "tap$_mn" mode tap || return 1
	ip -n "$LABM_NS" link set "tap$_mn" master brp up
	# One argument per line: the BMC emulator reads the same file.
	{
		echo qemu-system-x86_64
		printf '%s\n' -name "lab-$_mn" -machine q35 -accel tcg -m "$_mmem" \
		    -nographic -monitor none \
		    -chardev "file,id=con0,path=$_md/console.log,append=on" \
		    -serial chardev:con0 \
		    -netdev "tap,id=n0,ifname=tap$_mn,script=no,downscript=no" \
		    -device "$_mnic,netdev=n0,mac=$M_MAC" \
		    -drive "file=$_md/disk.img,if=none,id=d0,format=raw" \
		    -device "nvme,drive=d0,serial=NVME$M_SERIAL" \
		    -smbios "type=1,serial=$M_SERIAL,manufacturer=$_mman,product=$_mprod" \
		    -qmp "unix:$_md/qmp.sock,server=on,wait=off" \
		    -qmp "unix:$_md/qmp-bmc.sock,server=on,wait=off" \
		    -pidfile "$_md/qemu.pid"
		for _ma in "$@"; do printf '%s\n' "$_ma"; done
	} >"$_md/qemu.args"
}

machine_mac() { cat "$LABM_DIR/m$1/mac"; }
machine_serial() { cat "$LABM_DIR/m$1/serial"; }
machine_console() { echo "$LABM_DIR/m$1/console.log"; }

# machine_start N [BOOT]: QEMU in the namespace, in a session of its own.
machine_start() {
	_md=$LABM_DIR/m$1
	rm -f "$_md/qemu.pid"
	(
		IFS='
'
		set -f
		# shellcheck disable=SC2046
		exec ip netns exec "$LABM_NS" setsid $(cat "$_md/qemu.args") \
		    -boot "${2:-order=c}" </dev/null >>"$_md/qemu.log" 2>&1
	) &
	wait_for 10 "QEMU of machine $1 to start" test -s "$_md/qemu.pid"
}

machine_pid() { _machine_pidof "$LABM_DIR/m$1/qemu.pid" qemu-system; }

machine_running() { machine_pid "$1" >/dev/null; }
_machine_gone() { ! machine_running "$1"; }

machine_stop() {
	_mp=$(machine_pid "$1") || return 0
	machine_qmp "$1" quit >/dev/null 2>&1
	wait_for 10 "QEMU of machine $1 to quit" _machine_gone "$1" ||
	    kill -9 "$_mp" 2>/dev/null
	return 0
}

# machine_qmp N CMD [ARGS-JSON]
machine_qmp() {
	python3 - "$LABM_DIR/m$1/qmp.sock" "$2" "${3:-}" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
def call(cmd, args):
    m = {"execute": cmd}
    if args:
        m["arguments"] = json.loads(args)
    f.write(json.dumps(m) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r:
            return r["return"]
        if "error" in r:
            sys.exit("qmp %s: %s" % (cmd, r["error"].get("desc")))
call("qmp_capabilities", "")
print(json.dumps(call(sys.argv[2], sys.argv[3])))
EOF
}

machine_status() {
	machine_running "$1" || { echo off; return 0; }
	machine_qmp "$1" query-status | jq -r .status
}

machine_mark() { stat -c %s "$LABM_DIR/m$1/console.log" >"$LABM_DIR/m$1/mark"; }
machine_since() {
	tail -c +$(($(cat "$LABM_DIR/m$1/mark") + 1)) "$LABM_DIR/m$1/console.log"
}
machine_saw() { machine_since "$1" | grep -qF -- "$2"; }
machine_wait() { wait_for "$2" "\"$3\" on machine $1's console" machine_saw "$1" "$3"; }

# bmc_start N [--untrusted] [--no-qemu] [EMULATOR-FLAGS...]
bmc_start() {
	_mn=$1; shift
	_md=$LABM_DIR/m$_mn
	_mca=ca; _mq=yes; _mport=443
	while [ $# -gt 0 ]; do
		case $1 in
		--untrusted) _mca=rogue ;;
		--no-qemu) _mq=no ;;
		--port) _mport=$2; shift ;;
		*) break ;;
		esac
		shift
	done
	BMC_ADDR=$LABM_MGMT.$((10 + _mn))
	BMC_URL=https://$BMC_ADDR
	[ "$_mport" = 443 ] || BMC_URL=$BMC_URL:$_mport
	echo "$BMC_URL" >"$_md/bmc.url"
	BMC_USER=admin
	BMC_PASSWORD_FILE=$_md/bmc.password
	echo "$BMC_ADDR" >"$_md/bmc.addr"
	if [ ! -f "$BMC_PASSWORD_FILE" ]; then
		(umask 077
		 od -An -tx1 -N12 /dev/urandom | tr -d ' \n' >"$BMC_PASSWORD_FILE"
		 printf '%s:%s\n' "$BMC_USER" "$(cat "$BMC_PASSWORD_FILE")" >"$_md/bmc.cred"
		 printf 'user = "%s:%s"\ncacert = "%s"\nsilent\n' "$BMC_USER" \
		     "$(cat "$BMC_PASSWORD_FILE")" "$LABM_CA" >"$_md/bmc.curlrc")
	fi
	_machine_cert "$_md" "$BMC_ADDR" "$_mca" || return 1
	ip -n "$LABM_NS" addr replace "$BMC_ADDR/24" dev brm
	rm -f "$_md/bmc.pid"
	set -- --listen "$BMC_ADDR:$_mport" --cert "$_md/bmc.pem" --key "$_md/bmc.key" \
	    --credentials "$_md/bmc.cred" --serial "$(cat "$_md/serial")" \
	    --mac "$(cat "$_md/mac")" --state "$_md/bmc.state" \
	    --pidfile "$_md/bmc.pid" "$@"
	[ "$_mq" = yes ] && set -- --qemu-args "$_md/qemu.args" \
	    --qmp "$_md/qmp-bmc.sock" --qemu-pidfile "$_md/qemu.pid" \
	    --qemu-log "$_md/qemu.log" "$@"
	ip netns exec "$LABM_NS" python3 "$LABM_SRC/redfish-bmc.py" "$@" \
	    </dev/null >>"$_md/bmc.log" 2>&1 &
	wait_for 10 "BMC of machine $_mn to listen" test -s "$_md/bmc.pid" &&
	wait_for 10 "BMC of machine $_mn to answer" \
	    curl -sf --cacert "$LABM_DIR/ca/$_mca.pem" "$BMC_URL/lab/state"
}

bmc_stop() { _machine_kill "$LABM_DIR/m$1/bmc.pid" redfish-bmc; }
bmc_password() {	# n host [dir]
	mkdir -p -m 700 "${3:-$T/bmc.d}"
	(umask 077; cp "$LABM_DIR/m$1/bmc.password" "${3:-$T/bmc.d}/$2")
}
bmc_addr() { cat "$LABM_DIR/m$1/bmc.addr"; }
bmc_url() { cat "$LABM_DIR/m$1/bmc.url"; }

# The inspection endpoint needs no credentials; -k: it also serves tests
# of a BMC whose certificate is untrusted.
bmc_state() {
	curl -sfk "$(bmc_url "$1")/lab/state" | jq -r "${2:-.}"
}
bmc_reset_counters() { curl -sfk -X POST "$(bmc_url "$1")/lab/reset-counters"; }
bmc_inject() {
	curl -sfk -X POST -H 'Content-Type: application/json' -d "$2" \
	    "$(bmc_url "$1")/lab/inject"
}

bmc_curl() {	# N METHOD PATH [JSON]
	_md=$LABM_DIR/m$1; _mu=$(bmc_url "$1")$3; _mm=$2
	if [ -n "${4:-}" ]; then
		set -- -H 'Content-Type: application/json' -d "$4"
	else
		set --
	fi
	curl -K "$_md/bmc.curlrc" -X "$_mm" -w '\nHTTP %{http_code}\n' "$@" "$_mu"
}
