#!/usr/bin/env python3
"""pty-run.py SECONDS CMD [ARG...]: run CMD with a new pty as its controlling
terminal (stdin, stdout, stderr), read what it writes for at most SECONDS,
then print that output (stripped; CRs kept) and CMD's exit code on one line.
For the container tests of -t/-it (the command sees a real terminal)."""
import os
import pty
import select
import sys
import time

secs, argv = float(sys.argv[1]), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, end = b"", time.time() + secs
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            b = os.read(fd, 1024)
        except OSError:
            break
        if not b:
            break
        out += b
_, st = os.waitpid(pid, 0)
print(out.decode(errors="replace").strip(), os.waitstatus_to_exitcode(st))
