#!/usr/bin/env python3
"""Makes hostile variants of a bmaptool bmap for tests.

  bmapmangle.py IN OUT MUTATION

The file's BmapFileChecksum is recomputed after the mutation (so that the
parser's other checks are what catches it), except for "badsum".
Mutations: pastend overlap unsorted absurdcount badsum hugeline nochksum
badnum toolarge wrongsize version1 dupfield droprange (the second range
left out, MappedBlocksCount lowered to match: a bmap that parses, but no
longer writes or verifies that range)
"""
import hashlib
import re
import sys


def resum(text):
    m = re.search(r"<BmapFileChecksum>\s*([0-9a-f]{64})\s*</BmapFileChecksum>",
                  text)
    old = m.group(1)
    z = text.replace(old, "0" * 64, 1)
    new = hashlib.sha256(z.encode()).hexdigest()
    return z.replace("0" * 64, new, 1)


def ranges(text):
    return re.findall(r'<Range chksum="[0-9a-f]+">[^<]*</Range>\n', text)


def main():
    src, dst, mut = sys.argv[1:4]
    t = open(src).read()
    rs = ranges(t)
    blocks = int(re.search(r"<BlocksCount>\s*(\d+)", t).group(1))
    recompute = True
    if mut == "pastend":
        t = t.replace(rs[-1], '<Range chksum="%s"> %d-%d </Range>\n' %
                      ("a" * 64, blocks - 1, blocks + 5))
    elif mut == "overlap":
        first = int(re.search(r">\s*(\d+)", rs[1]).group(1))
        t = t.replace(rs[0], rs[0] + '<Range chksum="%s"> %d-%d </Range>\n' %
                      ("b" * 64, first, first + 1), 1)
    elif mut == "unsorted":
        t = t.replace(rs[0], "@@FIRST@@", 1).replace(rs[1], rs[0], 1)
        t = t.replace("@@FIRST@@", rs[1], 1)
    elif mut == "absurdcount":
        t = re.sub(r"<MappedBlocksCount>\s*\d+\s*</MappedBlocksCount>",
                   "<MappedBlocksCount> 18446744073709551615 </MappedBlocksCount>", t)
    elif mut == "toolarge":
        t = re.sub(r"<MappedBlocksCount>\s*\d+\s*</MappedBlocksCount>",
                   "<MappedBlocksCount> 99999999999999999999999999 </MappedBlocksCount>", t)
    elif mut == "badsum":
        t = t.replace(rs[0], rs[0].replace(">", ">  ", 1))
        recompute = False
    elif mut == "hugeline":
        t = t.replace("<BlockMap>", "<BlockMap><!-- " + "x" * (20 << 20) + " -->")
    elif mut == "nochksum":
        t = t.replace(rs[0], re.sub(r' chksum="[0-9a-f]+"', "", rs[0]))
    elif mut == "badnum":
        t = t.replace(rs[0], re.sub(r">[^<]*<", "> 12x-13 <", rs[0]))
    elif mut == "wrongsize":
        t = re.sub(r"<ImageSize>\s*(\d+)",
                   lambda m: "<ImageSize> %d" % (int(m.group(1)) * 2), t)
    elif mut == "version1":
        t = t.replace('<bmap version="2.0">', '<bmap version="1.3">')
    elif mut == "droprange":
        m = re.search(r">\s*(\d+)(?:\s*-\s*(\d+))?\s*<", rs[1])
        n = int(m.group(2) or m.group(1)) - int(m.group(1)) + 1
        t = t.replace(rs[1], "", 1)
        t = re.sub(r"<MappedBlocksCount>\s*(\d+)\s*</MappedBlocksCount>",
                   lambda m: "<MappedBlocksCount> %d </MappedBlocksCount>" %
                   (int(m.group(1)) - n), t)
    elif mut == "dupfield":
        t = t.replace("<BlockSize>", "<BlockSize> 4096 </BlockSize>\n<BlockSize>", 1)
    else:
        sys.exit("unknown mutation " + mut)
    if recompute:
        t = resum(t)
    open(dst, "w").write(t)


if __name__ == "__main__":
    main()
