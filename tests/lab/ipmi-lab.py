#!/usr/bin/env python3
"""Helpers of the IPMI lab (tests/lab/ipmi-lab.sh), standard library only.

  ipmi-lab.py fru OUT SERIAL MANUFACTURER MODEL
      an IPMI FRU image (common header, board and product areas) for
      ipmi_sim's mc_add_fru_data
  ipmi-lab.py disk OUT MARKER
      a 1 MiB raw disk whose boot sector writes MARKER to COM1 and halts
  ipmi-lab.py qmp SOCKET COMMAND [JSON-ARGUMENTS]
      one QMP command; prints its "return" as JSON, exits 1 on an error
"""
import json
import socket
import sys


def fru_field(text):
    raw = text.encode("ascii")[:63]
    return bytes([0xC0 | len(raw)]) + raw


def fru_area(body):
    """An info area: version, length in 8-byte units, body, end marker,
    padding and the zero checksum."""
    data = bytes([0x01, 0x00]) + body + b"\xc1"
    while (len(data) + 1) % 8:
        data += b"\x00"
    data = bytearray(data)
    data[1] = (len(data) + 1) // 8
    data.append((-sum(data)) & 0xFF)
    return bytes(data)


def fru(out, serial, manufacturer, model):
    board = fru_area(bytes([0x00]) + b"\x00\x00\x00" +      # language, date
                     fru_field(manufacturer) + fru_field(model + " board") +
                     fru_field("B" + serial) + fru_field("BRD-1") +
                     fru_field(""))
    product = fru_area(bytes([0x00]) +                       # language
                       fru_field(manufacturer) + fru_field(model) +
                       fru_field("PN-" + model) + fru_field("1.0") +
                       fru_field(serial) + fru_field("") + fru_field(""))
    header = bytearray([0x01, 0x00, 0x00, 1, 1 + len(board) // 8, 0, 0])
    header.append((-sum(header)) & 0xFF)
    image = bytes(header) + board + product
    with open(out, "wb") as f:
        f.write(image.ljust(256, b"\x00"))


# cld; xor ax,ax; mov ds,ax; mov si,MSG; mov dx,0x3f8;
# 1: lodsb; test al,al; jz 2f; out dx,al; jmp 1b; 2: cli; 3: hlt; jmp 3b
BOOT_CODE = bytes.fromhex("fc31c08ed8be177cbaf803ac84c07403eeebf8faf4ebfd")


def disk(out, marker):
    msg = ("\r\n" + marker + "\r\n").encode("ascii") + b"\x00"
    sector = bytearray(512)
    sector[0:len(BOOT_CODE)] = BOOT_CODE
    sector[len(BOOT_CODE):len(BOOT_CODE) + len(msg)] = msg
    sector[510:512] = b"\x55\xaa"
    with open(out, "wb") as f:
        f.write(bytes(sector))
        f.truncate(1 << 20)


def qmp(path, command, args=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    f = s.makefile("rw")

    def call(cmd, arguments=None):
        req = {"execute": cmd}
        if arguments:
            req["arguments"] = arguments
        f.write(json.dumps(req) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("qmp: connection closed")
            reply = json.loads(line)
            if "return" in reply or "error" in reply:
                return reply

    json.loads(f.readline())                # the greeting
    call("qmp_capabilities")
    reply = call(command, args)
    if "error" in reply:
        print(json.dumps(reply["error"]))
        sys.exit(1)
    print(json.dumps(reply["return"]))


def main(argv):
    if len(argv) >= 6 and argv[1] == "fru":
        fru(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) == 4 and argv[1] == "disk":
        disk(argv[2], argv[3])
    elif len(argv) in (4, 5) and argv[1] == "qmp":
        qmp(argv[2], argv[3], json.loads(argv[4]) if len(argv) == 5 else None)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
