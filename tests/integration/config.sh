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
done_testing
