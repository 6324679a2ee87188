#!/bin/sh
# Seed corpus for fuzz_decomp: a small tar plain, gzip (one and two
# members), zstd (one and two frames, a skippable frame) and truncated.
set -e
python3 - "$1" <<'PY'
import gzip, io, shutil, subprocess, sys, tarfile
out = sys.argv[1]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("d/f")
    ti.size = 700
    t.addfile(ti, io.BytesIO(b"x" * 700))
tar = buf.getvalue()
seeds = {"plain.tar": tar, "one.gz": gzip.compress(tar, mtime=0),
         "two.gz": gzip.compress(tar[:1024], mtime=0) + gzip.compress(tar[1024:], mtime=0)}
seeds["cut.gz"] = seeds["one.gz"][:40]
if shutil.which("zstd"):
    z = lambda b: subprocess.run(["zstd", "-q", "-c"], input=b, stdout=subprocess.PIPE,
                                 check=True).stdout
    seeds["one.zst"] = z(tar)
    seeds["two.zst"] = z(tar[:1024]) + z(tar[1024:])
    seeds["skip.zst"] = b"\x50\x2a\x4d\x18\x04\x00\x00\x00abcd" + z(tar)
    seeds["cut.zst"] = seeds["one.zst"][:30]
for k, v in seeds.items():
    open(f"{out}/{k}", "wb").write(v)
PY
