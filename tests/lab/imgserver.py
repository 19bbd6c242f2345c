#!/usr/bin/env python3
"""An HTTP server for image tests (standard library only).

Serves the files of a directory on 127.0.0.1 with Range support, and
misbehaves on request: a control file (re-read on every request) holds
lines "PATH MODE [ARG]":

  cut N      send only N bytes of the body, then close (Content-Length
             says the full size); applies to the first ARG2 requests
             (default 1): "cut 1000 2"
  lie N      claim N more bytes in Content-Length than are sent, close
  short N    send N bytes fewer and claim exactly that (a wrong length
             nobody can detect but the digest)
  stall N    send N bytes, then nothing (the connection stays open)
  status N   answer with HTTP status N
  norange    ignore Range headers (always 200 with the whole file)
  cutnorange N  cut the first request at N bytes, then ignore Range

With --tls-cert and --tls-key it speaks HTTPS.  Every request is logged to --log as "PATH RANGE STATUS BYTES" so tests
can assert what was asked and sent.  The chosen port is written to
--port-file.
"""
import argparse
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNTS = {}


def control(path):
    try:
        with open(ARGS.ctl) as f:
            for line in f:
                w = line.split()
                if len(w) >= 2 and w[0] == path:
                    return w[1:]
    except FileNotFoundError:
        pass
    return None


def log(path, rng, status, sent):
    with LOCK, open(ARGS.log, "a") as f:
        f.write("%s %s %d %d\n" % (path, rng or "-", status, sent))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        ctl = control(path)
        rng = self.headers.get("Range")
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            nth = COUNTS[path]
        if ctl and ctl[0] == "status":
            code = int(ctl[1])
            body = b"error\n"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            log(path, rng, code, 0)
            return
        fp = os.path.join(ARGS.dir, os.path.basename(path))
        if not os.path.isfile(fp):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            log(path, rng, 404, 0)
            return
        size = os.path.getsize(fp)
        start = 0
        norange = ctl and (ctl[0] == "norange" or ctl[0] == "cutnorange")
        if rng and not norange:
            if not rng.startswith("bytes=") or "," in rng:
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                log(path, rng, 416, 0)
                return
            a = rng[6:].split("-", 1)[0]
            start = int(a)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                log(path, rng, 416, 0)
                return
        with open(fp, "rb") as f:
            f.seek(start)
            data = f.read()
        claim = len(data)
        send = data
        close = False
        if ctl and ctl[0] == "cutnorange" and nth == 1:
            send = data[: int(ctl[1])]
            close = True
        elif ctl and ctl[0] == "cut":
            times = int(ctl[2]) if len(ctl) > 2 else 1
            if nth <= times:
                send = data[: int(ctl[1])]
                close = True
        elif ctl and ctl[0] == "lie":
            claim = len(data) + int(ctl[1])
            close = True
        elif ctl and ctl[0] == "short":
            send = data[: max(0, len(data) - int(ctl[1]))]
            claim = len(send)
        stall = bool(ctl and ctl[0] == "stall")
        if stall:
            send = data[: int(ctl[1])]
        code = 206 if start > 0 else 200
        self.send_response(code)
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" %
                             (start, size - 1, size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(claim))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(send)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        log(path, rng, code, len(send))
        if stall:
            import time
            time.sleep(30)
            self.close_connection = True
            return
        if close:
            self.close_connection = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--ctl", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key")
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if ARGS.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
