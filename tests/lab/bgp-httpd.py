#!/usr/bin/env python3
"""A real HTTP service for the bgp tests and benchmarks: answers GET
/healthz with 200 "ok" (or the status in the file named as the second
argument, when that file exists), on 127.0.0.1:PORT, or on every port of
a range FIRST-LAST (one listener each, as separate services would have).
GET /requests answers how many /healthz requests it has served, so a
benchmark counts the checks a tool really ran.  HTTP/1.1 with keep-alive,
one asyncio loop.  Standard library only."""
import asyncio
import sys

ports = sys.argv[1]
status_file = sys.argv[2] if len(sys.argv) > 2 else None
REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error",
           503: "Service Unavailable"}


def status():
    if not status_file:
        return 200
    try:
        with open(status_file) as f:
            return int(f.read().strip() or "200")
    except FileNotFoundError:
        return 200


served = 0


async def serve(reader, writer):
    global served
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > 16384:
                break
            line = head.split(b"\r\n", 1)[0].split()
            path = line[1] if len(line) >= 2 else b""
            if path == b"/requests":
                code, body = 200, b"%d\n" % served
            else:
                code = status() if path == b"/healthz" else 404
                body = b"ok\n" if code == 200 else b"not ok\n"
                served += path == b"/healthz"
            close = b"connection: close" in head.lower()
            writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n%s\r\n%s" % (
                code, REASONS.get(code, "Status").encode(), len(body),
                b"Connection: close\r\n" if close else b"", body))
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        pass
    writer.close()


async def main():
    if "-" in ports:
        first, last = (int(x) for x in ports.split("-"))
    else:
        first = last = int(ports)
    servers = [await asyncio.start_server(serve, "127.0.0.1", p, backlog=1024,
                                          reuse_address=True)
               for p in range(first, last + 1)]
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())
