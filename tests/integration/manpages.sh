# The man pages say what the code does, and only that.
#
#   - docs/castiron.8 and docs/castiron.ini.5 pass `mandoc -T lint -W
#     warning` without a message;
#   - castiron.8 has one entry (`.It Xo` then `.Cm AREA VERB`) for every
#     command that `castiron --help` and `castiron AREA --help` list,
#     naming the command's positional arguments and exactly the options its
#     own --help lists, and no entry for a command that does not exist;
#     every global option of `castiron --help` is a `.Fl`; every variable
#     the sources getenv() is an `.Ev` of ENVIRONMENT;
#   - castiron.ini.5 has one `.Ss [SECTION]` for every section of the
#     sections[] table of lib/config.c and, in it, one `.It Ic KEY TYPE`
#     for every key of that section's table and for no other, with the
#     key's type (or its choices), its default and its bounds as `.Ql`
#     values, and "Required" for a required key.
#
# Commands and keys are read from the binary and from lib/config.c, never
# listed here, so a command or key added without documentation fails.
set -u
CASTIRON=${CASTIRON:-$PWD/build/castiron}
export CASTIRON
exec python3 - <<'PY'
import glob, os, re, shlex, shutil, subprocess, sys

CASTIRON = os.environ["CASTIRON"]
PAGE8 = os.environ.get("MANPAGE_8", "docs/castiron.8")
PAGE5 = os.environ.get("MANPAGE_5", "docs/castiron.ini.5")
CONFIG_C = "lib/config.c"
SOURCE_DIRS = ["cli", "lib", "inventory", "images", "provision", "bgp"]

n = failed = 0
def result(good, name, problems=()):
    global n, failed
    n += 1
    print(("ok %d - %s" if good else "not ok %d - %s") % (n, name))
    if not good:
        failed += 1
        for p in list(problems)[:40]:
            print("# " + p)

def run(*argv):
    env = dict(os.environ)
    env.pop("CASTIRON_CONFIG", None)
    p = subprocess.run([CASTIRON] + list(argv), env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return p.returncode, p.stdout.decode(errors="replace")

def lines_of(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")

# ---------------------------------------------------------------- lint
mandoc = shutil.which("mandoc")
for page in (PAGE8, PAGE5):
    if mandoc is None:
        result(False, "mandoc -T lint -W warning %s" % page,
               ["mandoc is not installed (make deps-test installs it)"])
        continue
    p = subprocess.run([mandoc, "-T", "lint", "-W", "warning", page],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace").strip()
    result(p.returncode == 0 and out == "", "mandoc -T lint -W warning %s" % page,
           out.splitlines() + ["mandoc exited %d" % p.returncode])

def sh_sections(lines):
    """{name: (start, end)} of the .Sh sections."""
    out, cur, start = {}, None, 0
    for i, l in enumerate(lines + [".Sh"]):
        if l.startswith(".Sh"):
            if cur is not None:
                out[cur] = (start, i)
            cur, start = l[3:].strip().strip('"'), i
    return out

def tokens(line):
    return line.split()

def ql_value(line):
    """The value of a .Ql line; a quoted one may hold blanks."""
    try:
        t = shlex.split(line)
    except ValueError:
        t = line.split()
    return t[1] if len(t) > 1 else None

# ------------------------------------------------- commands, from --help
rc, top = run("--help")
areas, gopts = [], set()
mode = None
for l in top.splitlines():
    if l.startswith("usage:") or l.startswith("       castiron"):
        gopts.update(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", l))
    if l.strip() == "areas:":
        mode = "areas"; continue
    if l.strip() == "global options:":
        mode = "opts"; continue
    if not l.strip():
        mode = None; continue
    if mode == "areas":
        areas.append(l.split()[0])
    elif mode == "opts":
        left = re.split(r"\s{2,}", l.strip())[0]
        gopts.update(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", left))
result(rc == 0 and len(areas) > 0 and len(gopts) > 0,
       "castiron --help lists areas and global options",
       top.splitlines())

commands = {}   # "area verb" -> (positional words, set of options)
def parse_usage(words, usage):
    rest = usage[len("castiron " + words):]
    positional = re.sub(r"\[--[^\]]*\]", " ", rest)
    pos = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*", positional)]
    return pos, set(re.findall(r"\[--([a-z0-9-]+)", rest))

for a in areas:
    rc, out = run(a, "--help")
    first = out.splitlines()[0] if out else ""
    if first.startswith("usage: castiron %s" % a):
        commands[a] = parse_usage(a, first[len("usage: "):])
        continue
    verbs = re.findall(r"^  castiron %s (\S+)" % re.escape(a), out, re.M)
    if rc != 0 or not verbs:
        result(False, "castiron %s --help lists its verbs" % a, out.splitlines())
        continue
    for v in verbs:
        rc, vout = run(a, v, "--help")
        first = vout.splitlines()[0] if vout else ""
        if rc != 0 or not first.startswith("usage: castiron %s %s" % (a, v)):
            result(False, "castiron %s %s --help" % (a, v), vout.splitlines())
            continue
        commands["%s %s" % (a, v)] = parse_usage("%s %s" % (a, v), first[len("usage: "):])

# ------------------------------------------------- castiron.8: commands
L8 = lines_of(PAGE8)
S8 = sh_sections(L8)
entries = {}    # "area verb" -> (heading lines, body lines)
heads = [i for i in range(len(L8) - 1)
         if L8[i].strip() == ".It Xo" and L8[i + 1].startswith(".Cm ")]
for k, i in enumerate(heads):
    j = i + 1
    while j < len(L8) and L8[j].strip() != ".Xc":
        j += 1
    end = heads[k + 1] if k + 1 < len(heads) else len(L8)
    for s, (a, b) in S8.items():
        if a > i:
            end = min(end, a)
    name = " ".join(tokens(L8[i + 1])[1:])
    if name in entries:
        entries[name + " (again)"] = (L8[i + 1:j], L8[j + 1:end])
    entries[name] = (L8[i + 1:j], L8[j + 1:end])

missing = sorted(set(commands) - set(entries))
result(not missing and commands != {},
       "%s has an entry for each of the %d commands of --help" % (PAGE8, len(commands)),
       ["no entry (.It Xo / .Cm %s) for: castiron %s" % (c, c) for c in missing])
extra = sorted(set(entries) - set(commands))
result(not extra, "%s documents no command that does not exist" % PAGE8,
       ["castiron %s: not a command of castiron --help" % c for c in extra])

problems = []
for c in sorted(set(commands) & set(entries)):
    pos, opts = commands[c]
    head, body = entries[c]
    htoks = [t for l in head for t in tokens(l)]
    page_opts = set(htoks[i + 1][1:] for i in range(len(htoks) - 1)
                    if htoks[i] in ("Fl", ".Fl") and htoks[i + 1].startswith("-"))
    args = set()
    for i, t in enumerate(htoks):
        if t in ("Ar", ".Ar"):
            for u in htoks[i + 1:]:
                if re.fullmatch(r"[A-Z][a-z]", u) or u.startswith("."):
                    break
                args.add(u.lower())
    for o in sorted(opts - page_opts):
        problems.append("castiron %s: --%s is not in its entry's heading" % (c, o))
    for o in sorted(page_opts - opts):
        problems.append("castiron %s: the page's --%s is not an option of the command" % (c, o))
    for p in pos:
        if p not in args:
            problems.append("castiron %s: argument %s is not an .Ar of its heading" % (c, p.upper()))
    if not any(l.strip() and not l.startswith(".") for l in body):
        problems.append("castiron %s: the entry has no description" % c)
result(not problems, "%s: each command's entry names its arguments and exactly its options" % PAGE8,
       problems)

# global options
ltoks = [t for l in L8 for t in tokens(l)]
flagged = set(ltoks[i + 1] for i in range(len(ltoks) - 1) if ltoks[i] in ("Fl", ".Fl"))
missing = sorted(o for o in gopts if o[1:] not in flagged)
result(not missing and gopts != set(), "%s: every global option of --help is a .Fl" % PAGE8,
       ["%s is not documented (.Fl %s)" % (o, o[1:]) for o in missing])

# required sections and the environment
for page, lines, want in ((PAGE8, L8, ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT",
                                        "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]),
                          (PAGE5, lines_of(PAGE5), ["NAME", "DESCRIPTION", "FILES",
                                                     "EXAMPLES", "SEE ALSO"])):
    have = sh_sections(lines)
    gone = [s for s in want if s not in have]
    result(not gone, "%s has the sections %s" % (page, ", ".join(want)),
           ["no .Sh %s" % s for s in gone])

envs = set()
for d in SOURCE_DIRS:
    for f in glob.glob(d + "/**/*.c", recursive=True):
        envs.update(re.findall(r'getenv\("([A-Z_][A-Z0-9_]*)"\)', open(f, encoding="utf-8").read()))
a, b = S8.get("ENVIRONMENT", (0, 0))
documented = set(tokens(l)[2] for l in L8[a:b] if l.startswith(".It Ev ") and len(tokens(l)) > 2)
missing = sorted(envs - documented)
result(not missing and envs != set(),
       "%s: ENVIRONMENT has each of the %d variables the sources read" % (PAGE8, len(envs)),
       ["%s is read by getenv() but not an .It Ev of ENVIRONMENT" % e for e in missing])

# ------------------------------------------------ lib/config.c's schema
src = open(CONFIG_C, encoding="utf-8").read()
defines = dict(re.findall(r"^#define\s+([A-Z_][A-Z0-9_]*)\s+(\(.*\)|\S+)\s*$", src, re.M))

def c_number(expr):
    e = expr.strip()
    for _ in range(5):
        e = re.sub(r"\b([A-Z_][A-Z0-9_]*)\b",
                   lambda m: "(%s)" % defines[m.group(1)] if m.group(1) in defines else m.group(1), e)
    e = re.sub(r"(\d+)[uUlL]+\b", r"\1", e)
    if not re.fullmatch(r"[0-9\s()<*+-]+", e):
        raise ValueError("cannot read the number %r" % expr)
    return int(eval(e, {"__builtins__": {}}))

def split_top(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip()); cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out

def entries_of(body):
    """The {...} initialisers at the top level of an array body."""
    out, depth, start = [], 0, None
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
            if depth == 1:
                start = i + 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                out.append(body[start:i])
    return out

choices = {m.group(1): re.findall(r'"([^"]*)"', m.group(2))
           for m in re.finditer(r"static const char \*const (\w+)\[\] = \{([^}]*)\};", src)}
FIELDS = ["name", "type", "off", "off_n", "min", "max", "def", "choices", "required"]
keysets = {}
for m in re.finditer(r"static const struct key (\w+)\[\] = \{(.*?)\n\};", src, re.S):
    keys = []
    for e in entries_of(m.group(2)):
        k, i = {}, 0
        for item in split_top(e):
            d = re.match(r"\.(\w+)\s*=\s*(.*)$", item, re.S)
            if d:
                i = FIELDS.index(d.group(1))
                item = d.group(2).strip()
            k[FIELDS[i]] = item
            i += 1
        if k.get("name", "NULL") == "NULL":
            continue
        k["name"] = k["name"].strip('"')
        k["def"] = k["def"].strip('"') if "def" in k else None
        keys.append(k)
    keysets[m.group(1)] = keys
sections = re.findall(r'\{\s*"(\w+)",\s*([01]),\s*(keys_\w+)\s*\}', src)
result(len(sections) > 0 and all(t in keysets for _, _, t in sections),
       "%s: the sections[] table and its key tables are read" % CONFIG_C,
       ["sections found: %r" % (sections,), "key tables found: %r" % sorted(keysets)])

TYPE_WORD = {"KT_STR": "string", "KT_NAME": "name", "KT_PATH": "path", "KT_FILE": "file",
             "KT_SECRET": "secret", "KT_URL": "url", "KT_UINT": "number",
             "KT_DURATION": "duration", "KT_SIZE": "size", "KT_BOOL": "boolean",
             "KT_PREFIXES": "prefixes", "KT_SHA256": "sha256", "KT_HOSTPORT": "host:port",
             "KT_COMMUNITIES": "communities", "KT_LCOMMUNITIES": "large-communities",
             "KT_DATABASE": "database"}

def fmt_value(ktype, v):
    if ktype == "KT_DURATION":
        for unit, ms in (("h", 3600000), ("m", 60000), ("s", 1000)):
            if v and v % ms == 0:
                return "%d%s" % (v // ms, unit)
        return "%dms" % v
    if ktype == "KT_SIZE":
        for unit, b in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
            if v and v % b == 0:
                return "%d%s" % (v // b, unit)
        return "%d" % v
    return "%d" % v

# ------------------------------------------------- castiron.ini.5: keys
L5 = lines_of(PAGE5)
ss = [(i, l[3:].strip().strip('"')) for i, l in enumerate(L5) if l.startswith(".Ss ")]
stops = sorted([i for i, _ in ss] + [i for i, l in enumerate(L5) if l.startswith(".Sh")] + [len(L5)])
regions = {}
for i, title in ss:
    regions[title] = L5[i + 1:min(s for s in stops if s > i)]

section_titles = []
nkeys = 0
for sname, named, table in sections:
    title = "[%s NAME]" % sname if named == "1" else "[%s]" % sname
    section_titles.append(title)
    region = regions.get(title)
    if region is None:
        result(False, "%s: section %s is documented" % (PAGE5, title),
               ["no .Ss %s" % title])
        continue
    items, cur = {}, None
    for l in region:
        if l.startswith(".It "):
            t = tokens(l)
            cur = t[2] if len(t) > 2 and t[1] == "Ic" else None
            if cur is not None:
                items[cur] = (t[3:], [])
            continue
        if l.startswith(".El"):
            cur = None
        elif cur is not None:
            items[cur][1].append(l)
    problems = []
    for k in keysets.get(table, []):
        nkeys += 1
        key = k["name"]
        if key not in items:
            problems.append("%s %s: not documented (.It Ic %s ...)" % (title, key, key))
            continue
        typetoks, body = items[key]
        shown = "".join(t for t in typetoks if not re.fullmatch(r"[A-Z][a-z]", t))
        if k["type"] == "KT_ENUM":
            want = "|".join(choices.get(k.get("choices", ""), ["?"]))
        else:
            want = TYPE_WORD.get(k["type"], "(no word for %s in this test)" % k["type"])
        if shown != want:
            problems.append("%s %s: type shown as '%s', the code says '%s'" % (title, key, shown, want))
        qls = set(ql_value(l) for l in body if l.startswith(".Ql ") and len(tokens(l)) > 1)
        if k["def"] is not None and k["def"] not in qls:
            problems.append("%s %s: default %s is not given (.Ql %s)" % (title, key, k["def"], k["def"]))
        if k["type"] in ("KT_UINT", "KT_DURATION", "KT_SIZE") and "max" in k:
            lo, hi = c_number(k["min"]), c_number(k["max"])
            for v in (lo, hi):
                if fmt_value(k["type"], v) not in qls:
                    problems.append("%s %s: bound %s is not given (.Ql %s)" % (
                        title, key, fmt_value(k["type"], v), fmt_value(k["type"], v)))
        if k.get("required", "0").strip() not in ("0", "") and \
                not any("required" in l.lower() for l in body):
            problems.append("%s %s: required, and the page does not say so" % (title, key))
    known = set(k["name"] for k in keysets.get(table, []))
    for key in sorted(set(items) - known):
        problems.append("%s %s: documented, but lib/config.c has no such key" % (title, key))
    result(not problems, "%s: %s documents its %d keys, types, defaults and bounds" % (
        PAGE5, title, len(known)), problems)

extra = sorted(t for t in regions if t.startswith("[") and t not in section_titles)
result(not extra and nkeys > 0, "%s documents no section lib/config.c does not accept" % PAGE5,
       ["%s: not a section of lib/config.c" % t for t in extra])

print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
