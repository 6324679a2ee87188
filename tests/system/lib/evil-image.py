#!/usr/bin/env python3
"""Write a docker-archive whose single layer is hostile, for the unpacker's
escape tests.

usage: evil-image.py OUT.tar KIND TARGET

TARGET is a host directory the layer tries to write into; KIND:
  dotdot        an entry named ../../..../TARGET/pwned
  absolute      an entry named TARGET/pwned (leading /)
  symlink-dir   a symlink d -> TARGET, then d/pwned
  symlink-rel   a symlink d -> ../../../../../../../../TARGET, then d/pwned
  hardlink-abs  a hard link to /etc/passwd
  hardlink-up   a hard link to ../../../../../../etc/passwd
  hardlink-sym  a symlink s -> /etc/passwd, then a hard link h -> s (must
                link the symlink itself, never the host file)
  linkname-dotdot  a symlink whose own name holds ..
  bad-checksum  a header with a wrong checksum
  truncated     a file entry whose data is cut short
  zstd          a layer starting with the zstd magic, then garbage
  zstd-truncated  a real zstd layer cut short
  zstd-bomb     a zstd layer of ~100 KiB that inflates to 4 GiB (a tiny
                tar, then zero blocks): beyond unpack's ratio cap
(the zstd kinds need the zstd program)
"""
import hashlib
import io
import json
import subprocess
import sys
import tarfile

out, kind, target = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/")


def ti(name, typ=tarfile.REGTYPE, size=0, link=""):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.linkname, t.mode = typ, size, link, 0o644
    return t


buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    data = b"pwned\n"
    if kind == "dotdot":
        t.addfile(ti("../" * 12 + target.lstrip("/") + "/pwned", size=len(data)), io.BytesIO(data))
    elif kind == "absolute":
        t.addfile(ti(target + "/pwned", size=len(data)), io.BytesIO(data))
    elif kind == "symlink-dir":
        t.addfile(ti("d", tarfile.SYMTYPE, link=target))
        t.addfile(ti("d/pwned", size=len(data)), io.BytesIO(data))
    elif kind == "symlink-rel":
        t.addfile(ti("d", tarfile.SYMTYPE, link="../" * 16 + target.lstrip("/")))
        t.addfile(ti("d/pwned", size=len(data)), io.BytesIO(data))
    elif kind == "hardlink-abs":
        t.addfile(ti("h", tarfile.LNKTYPE, link="/etc/passwd"))
    elif kind == "hardlink-up":
        t.addfile(ti("h", tarfile.LNKTYPE, link="../" * 8 + "etc/passwd"))
    elif kind == "hardlink-sym":
        t.addfile(ti("s", tarfile.SYMTYPE, link="/etc/passwd"))
        t.addfile(ti("h", tarfile.LNKTYPE, link="s"))
    elif kind == "linkname-dotdot":
        t.addfile(ti("a/../../pwned", tarfile.SYMTYPE, link="x"))
    elif kind in ("bad-checksum", "truncated", "zstd", "zstd-truncated", "zstd-bomb"):
        t.addfile(ti("f", size=len(data)), io.BytesIO(data))
    else:
        sys.exit("evil-image.py: unknown kind " + kind)
layer = buf.getvalue()
if kind == "bad-checksum":
    layer = layer[:148] + b"0000000\0" + layer[156:]
elif kind == "truncated":
    layer = layer[:512 + 3]
elif kind == "zstd":
    layer = b"\x28\xb5\x2f\xfd" + layer
elif kind == "zstd-truncated":
    z = subprocess.run(["zstd", "-q", "-c"], input=layer * 64, stdout=subprocess.PIPE,
                       check=True).stdout
    layer = z[:len(z) // 2]
elif kind == "zstd-bomb":
    # Concatenated frames are one valid stream: 64 frames of 64 MiB of
    # zeros each after the tar (whose own end blocks are zeros too).
    zeros = subprocess.run(["zstd", "-q", "-c", "-19"], input=bytes(64 << 20),
                           stdout=subprocess.PIPE, check=True).stdout
    head = subprocess.run(["zstd", "-q", "-c"], input=layer, stdout=subprocess.PIPE,
                          check=True).stdout
    layer = head + zeros * 64
sha = lambda b: hashlib.sha256(b).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/x"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(layer)]}}).encode()
with tarfile.open(out, "w") as t:
    for name, b in ((sha(cfg) + ".json", cfg), ("l/layer.tar", layer),
                    ("manifest.json", json.dumps([{"Config": sha(cfg) + ".json",
                                                   "RepoTags": ["evil:" + kind],
                                                   "Layers": ["l/layer.tar"]}]).encode())):
        t.addfile(ti(name, size=len(b)), io.BytesIO(b))
