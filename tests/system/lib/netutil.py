#!/usr/bin/env python3
"""Host-side helpers for the network system tests (loopback only).

  netutil.py freeport                  print a free TCP port on 127.0.0.1
  netutil.py sink ADDR PORT OUT        accept one TCP connection, read to EOF,
                                       write "<bytes> <sha256>" to OUT
  netutil.py fetch ADDR PORT TIMEOUT   connect (retrying until TIMEOUT s),
                                       print what the peer sends until EOF
"""
import hashlib
import socket
import sys
import time


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def sink(addr, port, out):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(1)
    ls.settimeout(300)
    c, _ = ls.accept()
    c.settimeout(120)
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    with open(out, "w") as f:
        f.write("%d %s\n" % (n, h.hexdigest()))


def fetch(addr, port, timeout):
    end = time.time() + float(timeout)
    while True:
        try:
            c = socket.create_connection((addr, int(port)), timeout=5)
            c.settimeout(10)
            data = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                data += b
            if data:
                sys.stdout.write(data.decode(errors="replace"))
                return 0
            c.close()
        except OSError:
            pass
        if time.time() > end:
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "freeport":
        freeport()
    elif cmd == "sink":
        sink(*sys.argv[2:5])
    elif cmd == "fetch":
        sys.exit(fetch(*sys.argv[2:5]))
