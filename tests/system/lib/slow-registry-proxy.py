#!/usr/bin/env python3
"""A throttling front for a registry, for the interrupted-pull test.

usage: slow-registry-proxy.py PORTFILE UPSTREAM_PORT LOG RATE

Listens on an ephemeral 127.0.0.1 port (written to PORTFILE), proxies
every GET to the registry on UPSTREAM_PORT (with its Accept and Range
headers) and sends blob bodies at RATE bytes per second.  Each blob
request appends "PATH range=RANGE status=CODE sent=BYTES" to LOG when it
ends (a client that goes away mid-body is logged with what was sent), so a
test can see what a resumed pull asked for and got.
"""
import http.server
import socketserver
import sys
import time
import urllib.error
import urllib.request

portfile, upstream, logpath, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (upstream, self.path))
        for k in ("Accept", "Range"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            r = urllib.request.urlopen(req)
            code, hd, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            code, hd, body = e.code, e.headers, e.read()
        self.send_response(code)
        for k in ("Content-Type", "Docker-Content-Digest", "Content-Range"):
            if hd.get(k):
                self.send_header(k, hd[k])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = 0
        slow = "/blobs/" in self.path
        chunk = max(1, rate // 20) if slow else len(body) or 1
        try:
            while sent < len(body):
                self.wfile.write(body[sent:sent + chunk])
                self.wfile.flush()
                sent += len(body[sent:sent + chunk])
                if slow:
                    time.sleep(0.05)
        except OSError:
            pass
        finally:
            if slow:
                with open(logpath, "a") as f:
                    f.write("%s range=%s status=%d sent=%d\n" % (
                        self.path, self.headers.get("Range", "-"), code, sent))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
