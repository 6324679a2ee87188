#!/usr/bin/env python3
"""Write a reproducible newc cpio archive (for an initramfs) to stdout.

usage: mkcpio.py ROOTDIR [NODE...]

Every entry of ROOTDIR (sorted, directories before their contents) is stored
owned by root with mtime SOURCE_DATE_EPOCH (default 0), so no root privilege
or fakeroot is needed.  Each NODE adds a device node that the archive needs
before devtmpfs is mounted: PATH:c|b:MAJOR:MINOR:MODE (octal), e.g.
dev/console:c:5:1:600.  Regular files, directories and symlinks are supported.
"""
import os
import stat
import sys


def die(msg):
    sys.stderr.write("mkcpio.py: %s\n" % msg)
    sys.exit(1)


class Writer:
    def __init__(self, out, mtime):
        self.out = out
        self.ino = 1
        self.mtime = mtime

    def entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, nlink, self.mtime, len(data),
            0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.out.write(hdr.encode() + name_b)
        self.pad(110 + len(name_b))
        self.out.write(data)
        self.pad(len(data))

    def pad(self, n):
        self.out.write(b"\0" * ((4 - n % 4) % 4))

    def trailer(self):
        self.ino = 0
        self.entry("TRAILER!!!", 0)


def main():
    if len(sys.argv) < 2:
        die("usage: mkcpio.py ROOTDIR [PATH:c|b:MAJOR:MINOR:MODE...]")
    root = sys.argv[1]
    if not os.path.isdir(root):
        die("%s is not a directory" % root)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    w = Writer(sys.stdout.buffer, mtime)

    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            paths.append(rel)
        for f in sorted(filenames + [d for d in dirnames
                                     if os.path.islink(os.path.join(dirpath, d))]):
            paths.append(f if rel == "." else os.path.join(rel, f))
    for rel in paths:
        full = os.path.join(root, rel)
        st = os.lstat(full)
        perm = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            w.entry(rel, stat.S_IFDIR | perm, nlink=2)
        elif stat.S_ISLNK(st.st_mode):
            w.entry(rel, stat.S_IFLNK | 0o777, os.readlink(full).encode())
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                w.entry(rel, stat.S_IFREG | perm, f.read())
        else:
            die("%s: unsupported file type" % full)

    for spec in sys.argv[2:]:
        try:
            path, kind, major, minor, mode = spec.split(":")
            ftype = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
            w.entry(path, ftype | int(mode, 8), rdev=(int(major), int(minor)))
        except (ValueError, KeyError):
            die("bad node spec %r (want PATH:c|b:MAJOR:MINOR:MODE)" % spec)
    w.trailer()


if __name__ == "__main__":
    main()
