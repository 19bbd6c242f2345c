# castiron config check and the global command line: good files pass,
# exit codes, options anywhere.  What config check prints for bad files,
# and every --help, are golden files (tests/integration/golden.sh).
. tests/lib.sh

cat >"$T/good.ini" <<EOF2
[castiron]
site = ams1
state_dir = $T/state

[image debian12]
url    = https://images.example.net/debian-12.raw.zst
sha256 = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ; inline comment

[bgp]
allowed_prefixes = 192.0.2.0/24, 2001:db8::/32

[service web]
check    = http
url      = http://127.0.0.1:8080/healthz
interval = 1s
timeout  = 500ms
prefixes = 192.0.2.10/32, 2001:db8::10/128
EOF2
ok "the example etc/castiron.ini passes" "$CASTIRON" -c etc/castiron.ini config check
ok "a good file passes" "$CASTIRON" -c "$T/good.ini" config check
ok "options after the verb" "$CASTIRON" config check -c "$T/good.ini"
CASTIRON_CONFIG="$T/good.ini" ok "CASTIRON_CONFIG is read" "$CASTIRON" config check

# What config check prints for each kind of error (a bad file of each,
# a file with many, a duplicate, a missing file, a world-readable
# secret) is compared whole with tests/golden/config/ by golden.sh.
printf 'secret\n' >"$T/pw"; chmod 644 "$T/pw"
printf '[bmc]\npassword_file = %s\n' "$T/pw" >"$T/sec.ini"
fails_with 2 "a world-readable secret is refused" "$CASTIRON" -c "$T/sec.ini" config check
chmod 600 "$T/pw"
ok "the same secret, private, passes" "$CASTIRON" -c "$T/sec.ini" config check

ok "--version" sh -c "'$CASTIRON' --version | grep -q '^castiron [0-9]'"
# --help, of castiron, of each area and of each command: golden.sh.
fails_with 2 "unknown area" "$CASTIRON" frob
fails_with 2 "unknown verb" "$CASTIRON" config frob
fails_with 2 "unknown option" "$CASTIRON" config check --frob
fails_with 2 "bad --format" "$CASTIRON" --format yaml config check

# The global options, parsed from one table with every command's
# options: anywhere before "--", with their short forms, and the edge
# cases of each.  gives CODE OUT ERR NAME CMD...: CMD exits CODE, prints
# exactly OUT on stdout and ERR on stderr ($T written as @T@).
gives() {
	_wc=$1; _wo=$2; _we=$3; _wn=$4; shift 4
	"$@" >"$T/gives.out" 2>"$T/gives.err"
	_wr=$?
	check "$_wn" "$_wr|$(sed "s|$T|@T@|g" "$T/gives.out")|$(sed "s|$T|@T@|g" "$T/gives.err")" = "$_wc|$_wo|$_we"
}
G="$T/good.ini"
OK="@T@/good.ini: OK (1 image, 1 service)"
gives 0 "$OK" "" "-c before the area" "$CASTIRON" -c "$G" config check
gives 0 "$OK" "" "--config FILE between area and verb" \
    "$CASTIRON" config --config "$G" check
gives 0 "$OK" "" "--config=FILE after the verb" "$CASTIRON" config check --config="$G"
gives 0 "$OK" "" "the last -c wins" "$CASTIRON" -c /nonexistent config check -c "$G"
gives 2 "" "castiron: -c needs a file" "-c last, without its file" \
    "$CASTIRON" config check -c
gives 2 "" "castiron: --config needs a file" "--config last, without its file" \
    "$CASTIRON" config check --config
gives 2 "" "castiron: --format must be table, json or csv" \
    "--format last, without its value" "$CASTIRON" -c "$G" config check --format
gives 2 "" "castiron: --format must be table, json or csv" "--format=yaml" \
    "$CASTIRON" -c "$G" config check --format=yaml
gives 0 "$OK" "" "--format=csv after the verb" "$CASTIRON" -c "$G" config check --format=csv
gives 0 "" "" "-q after the verb: nothing on stdout" "$CASTIRON" -c "$G" config check -q
gives 0 "" "" "--quiet between area and verb" "$CASTIRON" -c "$G" config --quiet check
gives 0 "$OK" "" "-v after -q: the later one counts" "$CASTIRON" -c "$G" -q config check -v
gives 0 "" "" "-q after -v: quiet" "$CASTIRON" -c "$G" -v config check -q
gives 0 "$OK" "" "-vv, a flag's letter repeated" "$CASTIRON" -c "$G" -vv config check
gives 2 "" "castiron: --quiet takes no value" "a flag given a value" \
    "$CASTIRON" -c "$G" --quiet=yes config check
gives 2 "" "castiron config check: unknown option -x (see --help)" \
    "an unknown letter is the command's to refuse" "$CASTIRON" -c "$G" config check -x
gives 2 "" "castiron config check: unknown option -qx (see --help)" \
    "letters of different flags are not split" "$CASTIRON" -c "$G" config check -qx
gives 2 "" "castiron config check: unknown option -cc (see --help)" \
    "an option with a value takes one letter" "$CASTIRON" -c "$G" config check -cc
gives 2 "" "castiron config check: unexpected argument '-q' (see --help)" \
    "after --, a global option is an argument" "$CASTIRON" -c "$G" config check -- -q
gives 2 "" "castiron config check: unknown option --config-file (see --help)" \
    "a longer name is not its prefix" "$CASTIRON" config check --config-file "$G"
gives 0 "castiron $(cat VERSION)" "" "--version after the verb, nothing run" \
    "$CASTIRON" config check --version -c /nonexistent
"$CASTIRON" config check --help >"$T/help.want"
gives 0 "$(cat "$T/help.want")" "" "-h before the area is the verb's --help" \
    "$CASTIRON" -h config check
gives 0 "$(cat "$T/help.want")" "" "--help after the verb" "$CASTIRON" config check --help
done_testing
