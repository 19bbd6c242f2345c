#!/usr/bin/env python3
"""An HTTP server for image tests (standard library only).

Serves the files of a directory on 127.0.0.1 with Range support (one
range, "bytes=A-" or "bytes=A-B"), and
misbehaves on request: a control file (re-read on every request) holds
lines "PATH MODE [ARG...]":

  cut N      send only N bytes of the body, then close (Content-Length
             says the full size); applies to the first ARG2 requests
             (default 1): "cut 1000 2"
  lie N      claim N more bytes in Content-Length than are sent, close
  short N    send N bytes fewer and claim exactly that (a wrong length
             nobody can detect but the digest)
  stall N    send N bytes, then nothing until the client goes away
  hold N GATE  send N bytes, create GATE.held, then trickle 4 KiB every
             50 ms (fast enough for any low-speed limit) until the file
             GATE exists, then send the rest at full speed
  status N   answer with HTTP status N
  norange    ignore Range headers (always 200 with the whole file)
  cutnorange N  cut the first request at N bytes, then ignore Range
  cut416 N   cut the first request at N bytes, then answer every Range
             request with 416 (as a server whose file shrank would)

With --tls-cert and --tls-key it speaks HTTPS; the handshake runs on the
connection's own thread, and each connection is logged as
"!tls-handshake failed" at once or "!tls-handshake ok" when it closes (a
client that rejects the certificate after the handshake, as curl does for
a name mismatch, shows as "ok" and no request; /.settle is not logged
twice).

Every request is logged to --log as "PATH RANGE STATUS BYTES" (BYTES: the
body bytes actually handed to the socket) so tests can assert what was
asked and sent.  A line is written when its request is over; GET
/.settle answers only once every other connection has finished (so every
request before it is in the log), and is logged too: it proves the
server was alive to see what the test says did not happen.
"imgserver.py --settle URL" is that request, from the shell.

The chosen port is written to --port-file.
"""
import argparse
import os
import select
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNTS = {}
CONNS = threading.Condition()
INFLIGHT = 0
SETTLE_S = 60
CHUNK = 65536


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


def ctl_generation():
    """Changes whenever the control file is rewritten: "the first N
    requests" of a mode count from the moment its line was written."""
    try:
        st = os.stat(ARGS.ctl)
        return (st.st_ino, st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return None


def log(path, rng, status, sent):
    with LOCK, open(ARGS.log, "a") as f:
        f.write("%s %s %d %d\n" % (path, rng or "-", status, sent))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120		# an idle keep-alive connection, at most
    settling = False

    def log_message(self, *a):
        pass

    def simple(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_body(self, data):
        """Writes data; returns how many bytes the socket took."""
        sent = 0
        try:
            while sent < len(data):
                n = min(CHUNK, len(data) - sent)
                self.wfile.write(data[sent:sent + n])
                sent += n
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        return sent

    def wait_gone(self):
        """Waits (bounded) until the client closes the connection."""
        end = time.monotonic() + 60
        while time.monotonic() < end:
            r, _, _ = select.select([self.connection], [], [], 0.2)
            if not r:
                continue
            try:
                if not self.connection.recv(4096):
                    return
            except (OSError, ssl.SSLError):
                return

    def settle(self):
        self.settling = True
        end = time.monotonic() + SETTLE_S
        with CONNS:
            while INFLIGHT > 1 and time.monotonic() < end:
                CONNS.wait(0.1)
            quiet = INFLIGHT <= 1
        code = 200 if quiet else 503
        # Logged before the answer: once the caller has it, the line is in.
        log("/.settle", None, code, 0)
        self.simple(code, b"settled\n" if quiet else b"busy\n",
                    [("Connection", "close")])
        self.close_connection = True

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/.settle":
            self.settle()
            return
        ctl = control(path)
        rng = self.headers.get("Range")
        with LOCK:
            key = (path, tuple(ctl or ()), ctl_generation())
            COUNTS[key] = COUNTS.get(key, 0) + 1
            nth = COUNTS[key]
        mode = ctl[0] if ctl else None
        if mode == "status":
            code = int(ctl[1])
            self.simple(code, b"error\n", [("Connection", "close")])
            self.close_connection = True
            log(path, rng, code, 0)
            return
        fp = os.path.join(ARGS.dir, os.path.basename(path))
        if not os.path.isfile(fp):
            self.simple(404)
            log(path, rng, 404, 0)
            return
        size = os.path.getsize(fp)
        start = 0
        norange = mode in ("norange", "cutnorange")
        if rng and not norange:
            if not rng.startswith("bytes=") or "," in rng:
                self.simple(416)
                log(path, rng, 416, 0)
                return
            start, _, last = rng[6:].partition("-")
            start = int(start)
            stop = min(int(last) + 1, size) if last else size
            if start >= size or (mode == "cut416" and nth > 1):
                self.simple(416, b"", [("Content-Range", "bytes */%d" % size)])
                log(path, rng, 416, 0)
                return
        else:
            stop = size
        with open(fp, "rb") as f:
            f.seek(start)
            data = f.read(stop - start)
        claim = len(data)
        send = data
        close = False
        if mode in ("cutnorange", "cut416") and nth == 1:
            send = data[: int(ctl[1])]
            close = True
        elif mode == "cut":
            times = int(ctl[2]) if len(ctl) > 2 else 1
            if nth <= times:
                send = data[: int(ctl[1])]
                close = True
        elif mode == "lie":
            claim = len(data) + int(ctl[1])
            close = True
        elif mode == "short":
            send = data[: max(0, len(data) - int(ctl[1]))]
            claim = len(send)
        elif mode == "stall":
            send = data[: int(ctl[1])]
        code = 206 if start > 0 or stop < size else 200
        self.send_response(code)
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" %
                             (start, stop - 1, size))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(claim))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if mode == "hold":
            sent = self.hold(send, int(ctl[1]), ctl[2])
        else:
            sent = self.send_body(send)
        log(path, rng, code, sent)
        if mode == "stall":
            self.wait_gone()
            self.close_connection = True
        if close:
            self.close_connection = True

    def hold(self, data, first, gate):
        sent = self.send_body(data[:first])
        open(gate + ".held", "w").close()
        end = time.monotonic() + 60
        while (sent < len(data) and not os.path.exists(gate) and
               time.monotonic() < end and not self.close_connection):
            sent += self.send_body(data[sent:sent + 4096])
            time.sleep(0.05)
        if not self.close_connection:
            sent += self.send_body(data[sent:])
        return sent


class Server(ThreadingHTTPServer):
    """Counts live connections (for /.settle) and, with TLS, does the
    handshake on the connection's thread so that a failed one is seen."""
    daemon_threads = True
    tls = None

    def finish_request(self, request, client_address):
        global INFLIGHT
        with CONNS:
            INFLIGHT += 1
        conn = request
        try:
            if self.tls is not None:
                request.settimeout(30)
                try:
                    conn = self.tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    print("tls handshake: %s" % e, file=sys.stderr)
                    log("!tls-handshake", "failed", 0, 0)
                    return
                conn.settimeout(None)
            h = self.RequestHandlerClass(conn, client_address, self)
            # Logged when the connection is over, unless it was a settle.
            if self.tls is not None and not h.settling:
                log("!tls-handshake", "ok", 0, 0)
        finally:
            if conn is not request:
                try:
                    conn.close()
                except OSError:
                    pass
            with CONNS:
                INFLIGHT -= 1
                CONNS.notify_all()


def settle(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url.rstrip("/") + "/.settle",
                                timeout=SETTLE_S + 10, context=ctx) as r:
        return 0 if r.status == 200 else 1


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--settle", metavar="URL",
                   help="wait until the server at URL has finished "
                   "every request, then exit")
    p.add_argument("--dir")
    p.add_argument("--ctl")
    p.add_argument("--log")
    p.add_argument("--port-file")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key")
    ARGS = p.parse_args()
    if ARGS.settle:
        try:
            return settle(ARGS.settle)
        except OSError as e:
            print("settle %s: %s" % (ARGS.settle, e), file=sys.stderr)
            return 1
    for a in ("dir", "ctl", "log", "port_file"):
        if getattr(ARGS, a) is None:
            p.error("--%s is required" % a.replace("_", "-"))
    srv = Server(("127.0.0.1", 0), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.tls = ctx
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
