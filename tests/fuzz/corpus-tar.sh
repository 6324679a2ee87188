#!/bin/sh
# Seed corpus for fuzz_tar: small ustar, pax and GNU archives made with
# python's tarfile (long names, links, a whiteout, a device).
set -e
python3 - "$1" <<'PY'
import io, sys, tarfile
out = sys.argv[1]
for fmt, name in ((tarfile.USTAR_FORMAT, "ustar"), (tarfile.PAX_FORMAT, "pax"),
                  (tarfile.GNU_FORMAT, "gnu")):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        def add(n, typ=tarfile.REGTYPE, data=b"", link=""):
            ti = tarfile.TarInfo(n)
            ti.type, ti.size, ti.linkname = typ, len(data), link
            t.addfile(ti, io.BytesIO(data) if data else None)
        add("d", tarfile.DIRTYPE)
        add("d/f", data=b"hello")
        add("d/hl", tarfile.LNKTYPE, link="d/f")
        add("d/s", tarfile.SYMTYPE, link="../x")
        add("d/.wh.gone")
        if fmt != tarfile.USTAR_FORMAT:
            add("long/" + "n" * 200 + "/file", data=b"x" * 700)
            add("l2", tarfile.SYMTYPE, link="t" * 150)
        add("dev", tarfile.CHRTYPE)
    open(f"{out}/{name}.tar", "wb").write(buf.getvalue())
PY
