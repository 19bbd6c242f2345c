#!/usr/bin/env python3
"""Looks for an OpenSSH ed25519 private key where it must not be.

    keyscan.py mem PID KEYFILE     the writable memory of a running process
    keyscan.py file FILE KEYFILE   a file (a system call trace, a dump)

KEYFILE is the private key as it was installed (OpenSSH's format, no
passphrase).  What is looked for is what only the private key holds:
its 32-byte seed as bytes, and the base64 characters that encode the
seed (in one run, and as the key file breaks them over its lines), so
that neither the public key nor the file's constant header can match.
In memory, writable mappings past 1 GiB are left out: a sanitizer's
shadow, reserved and mostly never touched, not the program's data.
Prints one line per place found ("REGION+OFFSET WHAT") and the count
last ("found N"); exits 0 when it could read what it was given.
"""
import base64
import re
import struct
import sys


def parts(keyfile):
    """The needles: (name, bytes) pairs."""
    text = open(keyfile, encoding="ascii").read()
    m = re.search(r"-----BEGIN OPENSSH PRIVATE KEY-----\n(.*?)"
                  r"-----END OPENSSH PRIVATE KEY-----", text, re.S)
    if m is None:
        sys.exit("keyscan: %s: not an OpenSSH private key" % keyfile)
    lines = m.group(1)
    flat = lines.replace("\n", "")
    raw = base64.b64decode(flat)
    at = 15  # "openssh-key-v1\0"

    def string():
        nonlocal at
        (n,) = struct.unpack(">I", raw[at:at + 4])
        s = raw[at + 4:at + 4 + n]
        at += 4 + n
        return s
    string(), string(), string()  # cipher, kdf, kdf options
    at += 4  # number of keys
    string()  # public blob
    at += 4 + 8  # the private section's length, two check integers
    if string() != b"ssh-ed25519":
        sys.exit("keyscan: %s: not an ed25519 key" % keyfile)
    string()  # public key
    sk_at = at + 4
    sk = string()  # seed || public
    seed = sk[:32]
    # the base64 characters that encode seed bytes only
    c0 = -(-sk_at // 3) * 4
    c1 = (sk_at + 32) // 3 * 4
    b64 = flat[c0:c1]
    # ...and the same characters as the file breaks them
    idx, k = [], 0
    for i, ch in enumerate(lines):
        if ch != "\n":
            if c0 <= k < c1:
                idx.append(i)
            k += 1
    wrapped = lines[idx[0]:idx[-1] + 1]
    out = [("seed", seed), ("seed-base64", b64.encode())]
    if wrapped != b64:
        out.append(("seed-base64-wrapped", wrapped.encode()))
    return out


def scan(buf, needles, where, found):
    for name, n in needles:
        i = buf.find(n)
        while i != -1:
            found.append("%s+%#x %s" % (where, i, name))
            i = buf.find(n, i + 1)


def scan_mem(pid, needles):
    found = []
    with open("/proc/%s/maps" % pid) as maps, \
            open("/proc/%s/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if f[1][:2] != "rw" or hi - lo > 1 << 30:
                continue
            name = f[5] if len(f) > 5 else "anon"
            try:
                mem.seek(lo)
                buf = mem.read(hi - lo)
            except OSError:
                continue
            scan(buf, needles, "%s@%#x" % (name, lo), found)
    return found


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("mem", "file"):
        sys.exit(__doc__)
    needles = parts(sys.argv[3])
    if sys.argv[1] == "mem":
        found = scan_mem(sys.argv[2], needles)
    else:
        found = []
        with open(sys.argv[2], "rb") as f:
            scan(f.read(), needles, sys.argv[2], found)
    for f in found:
        print(f)
    print("found %d" % len(found))


main()
