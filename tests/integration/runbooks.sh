# Every `castiron ...` command line in a fenced code block of
# runbooks/*.md must parse against the real command table
# (CASTIRON_PARSE_ONLY=1: area, verb, options and argument count checked,
# nothing run), so that the runbooks cannot rot as the command line
# changes.  Lines are split like a shell would (quotes, backslash
# continuations) but never given to a shell; a pipe or redirection ends
# the command.  An area the binary does not know fails: that is the point.
set -u
CASTIRON=${CASTIRON:-$PWD/build/castiron}
export CASTIRON
exec python3 - runbooks/*.md README.md <<'PY'
import os, shlex, subprocess, sys

files = [f for f in sys.argv[1:] if os.path.isfile(f)]
n = failed = 0
def result(good, name, detail=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if good else "not ok %d - %s") % (n, name))
    if not good:
        failed += 1
        for l in detail.strip().splitlines()[:5]:
            print("# " + l)

env = dict(os.environ, CASTIRON_PARSE_ONLY="1")
env.pop("CASTIRON_CONFIG", None)
for path in sorted(files):
    lines = open(path, encoding="utf-8").read().split("\n")
    fence = None
    i = 0
    while i < len(lines):
        line, start = lines[i], i + 1
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            fence = None if fence else s[:3]
            i += 1
            continue
        if fence and s.startswith("$ "):
            s = s[2:]
        if not fence or not s.startswith("castiron "):
            i += 1
            continue
        while s.endswith("\\") and i + 1 < len(lines):
            i += 1
            s = s[:-1] + " " + lines[i].strip()
        i += 1
        try:
            lex = shlex.shlex(s, posix=True, punctuation_chars="|&;<>")
            lex.whitespace_split = True
            lex.commenters = "#"
            argv = []
            for tok in lex:
                if tok and all(c in "|&;<>" for c in tok):
                    break
                argv.append(tok)
        except ValueError as e:
            result(False, "%s:%d: %s" % (path, start, s), "cannot split: %s" % e)
            continue
        p = subprocess.run([os.environ["CASTIRON"]] + argv[1:], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=20)
        result(p.returncode == 0, "%s:%d: %s" % (path, start, s),
               p.stdout.decode(errors="replace"))
if n == 0:
    result(False, "runbooks/*.md hold at least one castiron command line")
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
