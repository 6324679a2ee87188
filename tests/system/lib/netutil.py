#!/usr/bin/env python3
"""Host-side helpers for the network system tests (loopback only).

  netutil.py freeport                  print a free TCP port on 127.0.0.1
  netutil.py sink ADDR PORT OUT        accept one TCP connection, read to EOF,
                                       write "<bytes> <sha256>" to OUT
  netutil.py fetch ADDR PORT TIMEOUT   connect (retrying until TIMEOUT s),
                                       print what the peer sends until EOF
  netutil.py ping ADDR COUNT           ICMP echo over a raw socket (root; the
                                       host may have no ping binary); exit 0
                                       when every echo got its reply
"""
import hashlib
import os
import socket
import struct
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


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ping(addr, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(5)
    ident = os.getpid() & 0xffff
    for seq in range(int(count)):
        body = b"ringvm-ping"
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        c = csum(hdr + body)
        s.sendto(struct.pack("!BBHHH", 8, 0, c, ident, seq) + body, (addr, 0))
        end = time.time() + 5
        while True:
            if time.time() > end:
                return 1
            try:
                pkt, src = s.recvfrom(2048)
            except socket.timeout:
                return 1
            ihl = (pkt[0] & 15) * 4
            t, _, _, i, q = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
            if src[0] == addr and t == 0 and i == ident and q == seq:
                break
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "freeport":
        freeport()
    elif cmd == "sink":
        sink(*sys.argv[2:5])
    elif cmd == "ping":
        sys.exit(ping(*sys.argv[2:4]))
    elif cmd == "fetch":
        sys.exit(fetch(*sys.argv[2:5]))
