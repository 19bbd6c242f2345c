# Golden files: what castiron prints, compared byte for byte with
# tests/golden/, a diff shown on mismatch.
#
#   help/castiron.out        castiron --help
#   help/AREA.out            castiron AREA --help, for every area it lists
#   help/AREA-VERB.out       castiron AREA VERB --help, for every verb
#   config/NAME.ini          a bad configuration, one kind of error each
#   config/NAME.err          what `config check` prints for it on stderr
#   config/missing-file.err  `config check` of a file that does not exist
#
# In a .ini, @T@ stands for the scratch directory, which also holds the
# files the cases point at (a password file readable by others); in what
# castiron prints, the scratch directory is written back as @T@, so the
# goldens do not change from run to run.  Every command and area of
# --help must have its golden file and every golden file its command.
#
# GOLDEN_UPDATE=1 (`make golden`) writes the golden files from what the
# binary prints instead of comparing; review the change with git diff.
. tests/lib.sh

G=tests/golden
UPDATE=${GOLDEN_UPDATE:-}

# The scratch directory as a sed pattern.
T_RE=$(printf '%s\n' "$T" | sed 's/[][\.*^$|]/\\&/g')
normal() { sed "s|$T_RE|@T@|g"; }

# compare NAME GOLDEN FILE: FILE (normalised output) against GOLDEN.
compare() {
	if [ -n "$UPDATE" ]; then
		if cmp -s "$3" "$2"; then _result 0 "$1: unchanged"
		else cp "$3" "$2" && _result 0 "$1: wrote $2"; fi
		return
	fi
	if [ ! -f "$2" ]; then
		_result 1 "$1: no golden file $2 (make golden writes it)"
		sed 's/^/# + /' "$3" | head -20
	elif cmp -s "$2" "$3"; then
		_result 0 "$1"
	else
		_result 1 "$1: differs from $2 (make golden, if the change is meant)"
		diff -u --label "$2" --label "castiron now" "$2" "$3" | head -60 | sed 's/^/# /'
	fi
}

# golden NAME GOLDEN WANT-RC STREAM CMD...: CMD exits WANT-RC, prints
# nothing on the other stream, and STREAM (out or err) matches GOLDEN.
golden() {
	_gn=$1; _gf=$2; _gw=$3; _gs=$4; shift 4
	"$@" >"$T/g.out" 2>"$T/g.err"
	_grc=$?
	if [ "$_gs" = out ]; then _gother=err; else _gother=out; fi
	normal <"$T/g.$_gs" >"$T/g.norm"
	compare "$_gn" "$_gf" "$T/g.norm"
	check "...exits $_gw and prints nothing on std$_gother" \
	    "$_grc" -eq "$_gw" -a ! -s "$T/g.$_gother"
}

# ------------------------------------------------------------- --help
golden "castiron --help" "$G/help/castiron.out" 0 out "$CASTIRON" --help
want="$G/help/castiron.out"
areas=$("$CASTIRON" --help | sed -n '/^areas:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
check "--help lists areas" -n "$areas"
for a in $areas; do
	golden "castiron $a --help" "$G/help/$a.out" 0 out "$CASTIRON" "$a" --help
	want="$want $G/help/$a.out"
	for v in $("$CASTIRON" "$a" --help | sed -n "s/^  castiron $a \([a-z][a-z-]*\).*/\1/p"); do
		golden "castiron $a $v --help" "$G/help/$a-$v.out" 0 out \
		    "$CASTIRON" "$a" "$v" --help
		want="$want $G/help/$a-$v.out"
	done
done
stale=""
for f in "$G"/help/*.out; do
	[ -f "$f" ] || continue
	case " $want " in *" $f "*) ;; *) stale="$stale $f" ;; esac
done
if [ -n "$UPDATE" ]; then
	for f in $stale; do rm -f "$f" && _result 0 "$f: removed, no such command"; done
	stale=""
fi
check "no golden file for a command --help does not list${stale:+:$stale}" -z "$stale"

# ------------------------------------------------------- config check
# What the cases point at.
printf 'a password\n' >"$T/secret-644"; chmod 644 "$T/secret-644"
for ini in "$G"/config/*.ini; do
	n=$(basename "$ini" .ini)
	sed "s|@T@|$T|g" "$ini" >"$T/$n.ini"
	golden "config check: $n" "$G/config/$n.err" 2 err \
	    "$CASTIRON" -c "$T/$n.ini" config check
done
golden "config check: missing-file" "$G/config/missing-file.err" 2 err \
    "$CASTIRON" -c "$T/missing-file.ini" config check
done_testing
