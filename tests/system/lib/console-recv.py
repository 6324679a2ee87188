#!/usr/bin/env python3
"""Receive a pty master over an OCI --console-socket (SCM_RIGHTS) and copy
what the container writes to it into OUT until the pty closes.

usage: console-recv.py SOCK OUT    (exits 2 if no fd arrives in 20 s)
"""
import os
import socket
import sys

sock_path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(1)
srv.settimeout(20)
try:
    conn, _ = srv.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
except (socket.timeout, OSError):
    sys.exit(2)
if not fds:
    sys.exit(2)
with open(out, "wb") as f:
    f.write(b"name=" + msg + b"\n")
    f.flush()
    while True:
        try:
            d = os.read(fds[0], 4096)
        except OSError:
            break
        if not d:
            break
        f.write(d)
        f.flush()
