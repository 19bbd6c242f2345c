#!/usr/bin/env python3
"""A real HTTP service for the bgp tests and benchmarks: answers GET
/healthz with 200 "ok" (or the status in the file named by --status-file,
when that file exists), on 127.0.0.1:PORT.  Standard library only."""
import http.server
import socketserver
import sys

port = int(sys.argv[1])
status_file = sys.argv[2] if len(sys.argv) > 2 else None


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive, like production servers
    def do_GET(self):
        code = 200
        if status_file:
            try:
                with open(status_file) as f:
                    code = int(f.read().strip() or "200")
            except FileNotFoundError:
                pass
        body = b"ok\n" if code == 200 else b"not ok\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


S(("127.0.0.1", port), H).serve_forever()
