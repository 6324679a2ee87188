#!/usr/bin/env python3
"""A registry front for `container pull` tests: docker's bearer-token
protocol and blob redirects, in front of a plain registry.

usage: registry-auth-proxy.py PORTFILE UPSTREAM_PORT

Listens on two ephemeral 127.0.0.1 ports, written to PORTFILE as
"MAIN BLOBS".  MAIN answers /token?service=&scope= with a token, and
/v2/... with 401 + `WWW-Authenticate: Bearer realm=...` unless the request
carries that token; then manifests are proxied to the upstream registry
and blobs answered with a 307 to BLOBS (another host:port, as a CDN
would be), which serves them from upstream and refuses (403) any request
that still carries the token (it must not leak to another host).
"""
import http.server
import socketserver
import sys
import threading
import urllib.error
import urllib.request

portfile, upstream = sys.argv[1], int(sys.argv[2])
TOKEN = "ringvm-test-token"
ports = {}


def fetch(h, path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (upstream, path))
    if h.headers.get("Accept"):
        req.add_header("Accept", h.headers["Accept"])
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def reply(h, code, headers, body):
    h.send_response(code)
    for k in ("Content-Type", "Docker-Content-Digest"):
        if headers and headers.get(k):
            h.send_header(k, headers[k])
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


class Main(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith("/token"):
            if "scope=repository%3A" not in self.path and "scope=repository:" not in self.path:
                return reply(self, 400, None, b'{"error":"no scope"}')
            return reply(self, 200, None, ('{"token":"%s"}' % TOKEN).encode())
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            name = self.path.split("/")[2] if self.path.count("/") > 2 else ""
            self.send_response(401)
            self.send_header("WWW-Authenticate",
                             'Bearer realm="http://127.0.0.1:%d/token",service="ringvm-test",'
                             'scope="repository:%s:pull"' % (ports["main"], name))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if "/blobs/" in self.path:
            self.send_response(307)
            self.send_header("Location", "http://localhost:%d%s" % (ports["blobs"], self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        reply(self, *fetch(self, self.path))


class Blobs(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.headers.get("Authorization"):
            return reply(self, 403, None, b"token leaked to another host")
        reply(self, *fetch(self, self.path))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


main = Server(("127.0.0.1", 0), Main)
blobs = Server(("127.0.0.1", 0), Blobs)
ports["main"], ports["blobs"] = main.server_address[1], blobs.server_address[1]
threading.Thread(target=blobs.serve_forever, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (ports["main"], ports["blobs"]))
import os
os.rename(portfile + ".tmp", portfile)
main.serve_forever()
