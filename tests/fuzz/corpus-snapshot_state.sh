#!/bin/sh
# Seed corpus for fuzz_snapshot_state: well-formed state files (a full
# snapshot with a frozen and a read-only disk, a diff with its bitmap)
# built here in the documented layout (docs/LIFECYCLE.md, "## Snapshots").
set -e
out=$1
python3 - "$out" <<'PY'
import struct, sys, zlib
out = sys.argv[1]
def sec(name, payload, ver=1):
    return (name.encode().ljust(32, b'\0') + struct.pack('<IIQ', ver,
            zlib.crc32(payload) & 0xffffffff, len(payload)) + payload)
def s(x):
    return struct.pack('<I', len(x)) + x.encode()
def info(flags, parent, ndisk):
    p = struct.pack('<I', flags) + s('interp') + struct.pack('<QQ', 7, 6)
    p += s(parent) + struct.pack('<QQ', 1, 16 << 20) + struct.pack('<I', 1)
    p += struct.pack('<QQQ', 0x80000000, 16 << 20, 0)
    p += struct.pack('<I', ndisk)
    for k in range(ndisk):
        p += bytes([1 + k % 3]) + s('/srv/vm/disk%d.qcow2' % k)
    return sec('snapshot', p)
pre = b'RVMSNAP\0' + struct.pack('<II', 1, 0)
open(out + '/full', 'wb').write(pre + info(0, '', 2) + sec('machine', b'x' * 8))
bm = b''.join(struct.pack('<Q', 1 << (k % 64)) for k in range(64))
open(out + '/diff', 'wb').write(pre + info(1, '/srv/snap/full', 1) +
                                sec('dirty0', bm))
PY
