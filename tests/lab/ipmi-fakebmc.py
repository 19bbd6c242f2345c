#!/usr/bin/env python3
"""A deliberately weak or broken IPMI BMC, for what ipmi_sim cannot play.

  ipmi-fakebmc.py ADDR PORT LOG [--suites LIST] [--ipmi15-only]
                                [--silent] [--pidfile F]

It answers, without a session, Get Channel Authentication Capabilities and
Get Channel Cipher Suites (the questions a careful client asks first), and
never opens a session: an RMCP+ Open Session Request or an IPMI 1.5 Get
Session Challenge is logged and left unanswered.  LIST is the cipher
suites offered, comma-separated: "ID" with the algorithms the IPMI 2.0
specification assigns it, or "ID=AUTH/INTEG/CONF" to lie about them.
--ipmi15-only: no RMCP+ at all.  --silent: answers nothing (a BMC that
drops every packet).  Every packet received is logged as one line:
"authcaps", "ciphersuites", "open-session A/I/C" (the algorithms it
proposes), "session-challenge",
"1.5 cmd 0xNN" or "rmcp+ payload 0xNN".
"""
import os
import socket
import sys

# Cipher suite id -> (authentication, integrity, confidentiality), IPMI 2.0
# table 22-20.
SUITES = {0: (0, 0, 0), 1: (1, 0, 0), 2: (1, 1, 0), 3: (1, 1, 1),
          6: (2, 0, 0), 7: (2, 2, 0), 8: (2, 2, 1), 11: (2, 3, 0),
          12: (2, 3, 1), 15: (3, 0, 0), 16: (3, 4, 0), 17: (3, 4, 1)}


def checksum(data):
    return (-sum(data)) & 0xFF


def records(spec):
    out = b""
    for item in spec.split(","):
        if "=" in item:
            sid, algs = item.split("=")
            a, i, c = (int(x) for x in algs.split("/"))
        else:
            sid = item
            a, i, c = SUITES[int(item)]
        out += bytes([0xC0, int(sid), a, 0x40 | i, 0x80 | c])
    return out


def reply_15(req_hdr, msg, cc, data):
    """An IPMI 1.5 response, outside any session, to request msg."""
    rq_sa, rq_seq, netfn, cmd = msg[3], msg[4], msg[1] >> 2, msg[5]
    head = bytes([rq_sa, ((netfn | 1) << 2) | (rq_seq & 3)])
    body = bytes([0x20, rq_seq & 0xFC, cmd, cc]) + data
    ipmi = head + bytes([checksum(head)]) + body + bytes([checksum(body)])
    session = bytes([0x00]) + b"\x00" * 8 + bytes([len(ipmi)])
    return req_hdr + session + ipmi


def main(argv):
    addr, port, logpath = argv[1], int(argv[2]), argv[3]
    suites, ipmi15, silent, pidfile = "0,1,2", False, False, None
    i = 4
    while i < len(argv):
        if argv[i] == "--suites":
            suites, i = argv[i + 1], i + 1
        elif argv[i] == "--ipmi15-only":
            ipmi15 = True
        elif argv[i] == "--silent":
            silent = True
        elif argv[i] == "--pidfile":
            pidfile, i = argv[i + 1], i + 1
        i += 1
    table = records(suites)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, port))
    if pidfile:
        with open(pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log = open(logpath, "a", buffering=1)
    while True:
        pkt, peer = s.recvfrom(2048)
        if len(pkt) < 6 or pkt[0] != 0x06 or pkt[3] != 0x07:
            continue
        rmcp = pkt[:4]
        if pkt[4] == 0x06:                          # RMCP+ (IPMI 2.0)
            ptype = pkt[5] & 0x3F
            if ptype == 0x10 and len(pkt) >= 16 + 32:
                # The proposal: the algorithm bytes of the payload's
                # authentication, integrity and confidentiality records.
                log.write("open-session %d/%d/%d\n" % (
                    pkt[16 + 12] & 0x3F, pkt[16 + 20] & 0x3F,
                    pkt[16 + 28] & 0x3F))
            else:
                log.write("rmcp+ payload 0x%02x\n" % ptype)
            continue
        auth = pkt[4]
        off = 4 + 1 + 4 + 4 + (16 if auth else 0)
        if len(pkt) < off + 1 + 7:
            continue
        msg = pkt[off + 1:off + 1 + pkt[off]]
        cmd = msg[5]
        data = msg[6:-1]
        if cmd == 0x38:
            log.write("authcaps\n")
            if silent:
                continue
            if ipmi15:
                resp = bytes([1, 0x04, 0x04, 0x01, 0, 0, 0, 0])
            else:
                resp = bytes([1, 0x84, 0x04, 0x03, 0, 0, 0, 0])
            s.sendto(reply_15(rmcp, msg, 0, resp), peer)
        elif cmd == 0x54:
            log.write("ciphersuites\n")
            if silent:
                continue
            if ipmi15:
                s.sendto(reply_15(rmcp, msg, 0xC1, b""), peer)
                continue
            index = data[2] & 0x3F if len(data) >= 3 else 0
            chunk = table[index * 16:index * 16 + 16]
            s.sendto(reply_15(rmcp, msg, 0, bytes([1]) + chunk), peer)
        elif cmd == 0x39:
            log.write("session-challenge\n")
        else:
            log.write("1.5 cmd 0x%02x\n" % cmd)


if __name__ == "__main__":
    main(sys.argv)
