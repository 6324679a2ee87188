#!/usr/bin/env python3
"""Clients of a VM's control socket for tests/system/api.sh.

    api-client.py SOCKET req CMD [ARGS-JSON]   one request; prints the reply
    api-client.py SOCKET hostile               the hostile-client checks

`hostile` prints one "RESULT name ok|FAIL why" line per check: malformed
JSON, unknown command, over-long line (the connection keeps working after
each), a client that disconnects mid-reply, a client that never reads (it
is dropped, others are served meanwhile), an event subscriber that never
reads (pause/resume go on at full speed), 100+ clients at once (the excess
refused with EBUSY), a partial line that never completes (closed after the
server's timeout), and status still answering after all of it.
"""
import json
import socket
import sys
import threading
import time

SOCK = sys.argv[1]


def connect(timeout=10.0):
    # With a timeout the socket is non-blocking: a full listen backlog
    # says EAGAIN where a blocking connect would wait.
    for _ in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(SOCK)
            return s
        except BlockingIOError:
            s.close()
            time.sleep(0.01)
    raise TimeoutError("listen backlog stayed full")


class Conn:
    def __init__(self, timeout=10.0):
        self.s = connect(timeout)
        self.buf = b""
        self.greeting = self.line()

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return json.loads(l)

    def send_raw(self, b):
        self.s.sendall(b)

    def req(self, cmd, args=None, rid=1):
        r = {"id": rid, "cmd": cmd}
        if args is not None:
            r["args"] = args
        self.send_raw((json.dumps(r) + "\n").encode())
        return self.reply()

    def reply(self):
        while True:
            m = self.line()
            if "ok" in m:
                return m

    def close(self):
        self.s.close()


results = []


def result(name, ok, why=""):
    results.append(name)
    print("RESULT %s %s" % (name, "ok" if ok else "FAIL " + why), flush=True)


def status_ok(c=None):
    own = c is None
    if own:
        c = Conn()
    r = c.req("status")
    if own:
        c.close()
    return r.get("ok") is True and r["result"].get("state") in ("running", "paused")


def check(name, fn):
    try:
        ok, why = fn()
    except Exception as e:  # a check that crashed is a failed check
        ok, why = False, "%s: %s" % (type(e).__name__, e)
    result(name, ok, why)


def malformed():
    c = Conn()
    c.send_raw(b'{"cmd": "status",\n')
    r = c.reply()
    if r.get("ok") is not False or r["error"]["code"] != "EPROTO":
        return False, "reply %r" % r
    c.send_raw(b"\x00\xff\xfe garbage }}}\n")
    r = c.reply()
    if r["error"]["code"] != "EPROTO":
        return False, "reply %r" % r
    ok = status_ok(c)
    c.close()
    return ok, "status after malformed JSON failed"


def unknown():
    c = Conn()
    r = c.req("format-host-disk", rid="u1")
    if r.get("ok") is not False or r["error"]["code"] != "EOPNOTSUPP" or r["id"] != "u1":
        return False, "reply %r" % r
    r = c.req("snapshot", {"nodir": 1})
    if r["error"]["code"] != "EINVAL":
        return False, "bad args: %r" % r
    ok = status_ok(c)
    c.close()
    return ok, "status after unknown command failed"


def oversized():
    c = Conn()
    c.send_raw(b'{"cmd":"status","id":"' + b"x" * (200 * 1024) + b'"}\n')
    r = c.reply()
    if r["error"]["code"] != "EMSGSIZE":
        return False, "reply %r" % r
    ok = status_ok(c)
    c.close()
    return ok, "status after an over-long line failed"


def disconnect_mid_reply():
    for _ in range(5):
        s = connect()
        s.sendall(b'{"cmd":"migrate-status"}\n' * 2000 + b'{"cmd":"status"}\n')
        s.close()
    return status_ok(), "status after disconnects failed"


def never_reads():
    # Subscribe to events and ask for far more replies than the server
    # buffers for one client (API_OUT_MAX), never reading: the server must
    # drop this client while still serving others.
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'{"cmd":"events"}\n')
    req = b'{"cmd":"migrate-status","id":"' + b"p" * 200 + b'"}\n'
    sent = 0
    s.settimeout(0.5)
    t_end = time.time() + 20
    try:
        while time.time() < t_end and sent < 40000:
            s.sendall(req * 100)
            sent += 100
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    t0 = time.time()
    served = status_ok()
    took = time.time() - t0
    # Drain: the server must have closed this connection.
    s.settimeout(10)
    got, closed = 0, False
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                closed = True
                break
            got += len(d)
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    if not served or took > 5:
        return False, "another client waited %.1fs (served=%s)" % (took, served)
    if not closed:
        return False, "the non-reading client was not dropped (%d requests)" % sent
    return True, ""


def events_never_read():
    # A subscriber that never reads its events must not slow the others:
    # pause/resume pairs (two events each) go on at full speed.
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b'{"cmd":"events"}\n')
    c = Conn()
    t0 = time.time()
    worst = 0.0
    for _ in range(200):
        t = time.time()
        if c.req("pause").get("ok") is not True or c.req("resume").get("ok") is not True:
            return False, "pause/resume failed"
        worst = max(worst, time.time() - t)
    took = time.time() - t0
    ok = status_ok(c)
    c.close()
    s.close()
    if worst > 2 or not ok:
        return False, "slowest pause/resume %.2fs, status %s" % (worst, ok)
    return True, "%.1fs" % took


def many_clients():
    n = 140
    conns, refused, greeted = [], 0, 0
    for _ in range(n):
        s = connect()
        conns.append(s)
    for s in conns:
        f = s.makefile("rb")
        g = json.loads(f.readline())
        if g.get("ok") is False and g["error"]["code"] == "EBUSY":
            refused += 1
        elif g.get("type") == "vm":
            greeted += 1
        f.close()
    # Every greeted client is served at once.
    answered = 0
    for s in conns:
        try:
            s.sendall(b'{"cmd":"migrate-status"}\n')
        except OSError:
            pass
    for s in conns:
        try:
            f = s.makefile("rb")
            for line in f:
                m = json.loads(line)
                if m.get("ok") is True:
                    answered += 1
                break
        except (OSError, ValueError):
            pass
    for s in conns:
        s.close()
    if greeted < 100 or refused < 1 or greeted + refused != n:
        return False, "greeted %d, refused %d of %d" % (greeted, refused, n)
    if answered != greeted:
        return False, "%d of %d greeted clients answered" % (answered, greeted)
    return True, ""


def slowloris():
    s = connect(timeout=30)
    s.recv(4096)  # greeting
    s.sendall(b'{"cmd":"sta')
    t0 = time.time()
    try:
        while s.recv(4096):
            pass
    except (socket.timeout, ConnectionResetError):
        pass
    took = time.time() - t0
    s.close()
    return 5 < took < 25, "partial line closed after %.1fs" % took


def hostile():
    # The slow one runs alongside the others.
    slow = threading.Thread(target=check, args=("slowloris", slowloris))
    slow.start()
    check("malformed-json", malformed)
    check("unknown-command", unknown)
    check("oversized-line", oversized)
    check("disconnect-mid-reply", disconnect_mid_reply)
    check("never-reads", never_reads)
    check("events-never-read", events_never_read)
    check("many-clients", many_clients)
    slow.join()
    check("status-after", lambda: (status_ok(), "status failed"))


if sys.argv[2] == "req":
    c = Conn()
    args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
    print(json.dumps(c.req(sys.argv[3], args)))
    c.close()
elif sys.argv[2] == "hostile":
    hostile()
else:
    sys.exit("unknown mode")
