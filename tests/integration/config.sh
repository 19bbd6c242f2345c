# castiron config check and the global command line: every error of a bad
# file reported with its line and key, exit codes, options anywhere.
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

cat >"$T/bad.ini" <<'EOF2'
[castiron]
site = ams 1
colour = blue
[bgp]
allowed_prefixes = 192.0.2.0/24
[service web]
check = http
url = http://127.0.0.1/
interval = 1s
timeout = 2s
rise = 0
prefixes = 10.0.0.0/8
[service dns]
check = tcp
address = 127.0.0.1
prefixes = 192.0.2.53/32
[service empty]
check = exec
command = /bin/true
[frobnicate]
this line is junk
EOF2
fails_with 2 "a bad file exits 2" "$CASTIRON" -c "$T/bad.ini" config check
"$CASTIRON" -c "$T/bad.ini" config check 2>"$T/err"
for want in \
    "bad.ini:2: \[castiron\] site: name 'ams 1'" \
    "bad.ini:3: \[castiron\] colour: unknown key" \
    "bad.ini:10: \[service web\] timeout: 2s is not shorter than interval 1s" \
    "bad.ini:11: \[service web\] rise: 0 is out of range" \
    "bad.ini:12: \[service web\] prefixes: 10.0.0.0/8 is outside allowed_prefixes" \
    "bad.ini:15: \[service dns\] address: '127.0.0.1' is not HOST:PORT" \
    "\[service empty\] prefixes: required key is missing" \
    "bad.ini:20: \[frobnicate\]: unknown section" \
    "bad.ini:21: expected 'key = value'"; do
	ok "reports: $want" grep -q "$want" "$T/err"
done
check "every error on its own line, and a count" \
    "$(grep -c 'castiron: ' "$T/err")" -eq 10

printf '[service web]\ncheck = http\nurl = http://x/\nprefixes = 192.0.2.1/32\n[service web]\ncheck = tcp\n' >"$T/dup.ini"
"$CASTIRON" -c "$T/dup.ini" config check 2>"$T/err"
ok "a duplicate service is named" grep -q "dup.ini:5: \[service web\]: section given twice (first on line 1)" "$T/err"

fails_with 2 "a missing file exits 2" "$CASTIRON" -c "$T/nope.ini" config check
ok "and names the file" sh -c "'$CASTIRON' -c '$T/nope.ini' config check 2>&1 | grep -q 'nope.ini: cannot read: No such file'"
printf 'secret\n' >"$T/pw"; chmod 644 "$T/pw"
printf '[bmc]\npassword_file = %s\n' "$T/pw" >"$T/sec.ini"
fails_with 2 "a world-readable secret is refused" "$CASTIRON" -c "$T/sec.ini" config check
ok "naming the key and the mode" sh -c "'$CASTIRON' -c '$T/sec.ini' config check 2>&1 | grep -q 'password_file: .*readable by group or others (mode 644'"
chmod 600 "$T/pw"
ok "a private secret passes" "$CASTIRON" -c "$T/sec.ini" config check

ok "--version" sh -c "'$CASTIRON' --version | grep -q '^castiron [0-9]'"
ok "--help lists areas" sh -c "'$CASTIRON' --help | grep -q '^  config'"
ok "area --help" sh -c "'$CASTIRON' config --help | grep -q 'config check'"
ok "verb --help" sh -c "'$CASTIRON' config check --help | grep -q '^usage: castiron config check'"
fails_with 2 "unknown area" "$CASTIRON" frob
fails_with 2 "unknown verb" "$CASTIRON" config frob
fails_with 2 "unknown option" "$CASTIRON" config check --frob
fails_with 2 "bad --format" "$CASTIRON" --format yaml config check
done_testing
