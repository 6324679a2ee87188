#!/bin/bash
# Seed corpus for fuzz_probe_guard (request lists; see the target's header):
# a qcow2 header written at 0 whole and in pieces, a partition table, and
# zeroing around the first sector.
#   tests/fuzz/corpus-probe_guard.sh OUTDIR RINGVM
set -eu
out=$1
mkdir -p "$out"
python3 - "$out" <<'PY'
import struct, sys
out = sys.argv[1]
def w(op, off, data):
    return struct.pack('<BHH', op, off, len(data) - 1) + data
def z(op, off, n):
    return struct.pack('<BHH', op, off, n - 1)
hdr = b'QFI\xfb' + struct.pack('>IQI', 3, 0x80, 11) + b'\0' * 108 + b'/etc/passwd'
mbr = bytearray(512); mbr[446] = 0x80; mbr[450] = 0x83; mbr[510:512] = b'\x55\xaa'
seeds = {
    'header': w(0, 0, hdr),
    'header-vectored': w(1, 0, hdr),
    'header-pieces': w(0, 0, b'QF') + w(0, 2, b'I\xfb'),
    'mbr': w(0, 0, bytes(mbr)) + w(1, 0, bytes(mbr)),
    'zeros': z(2, 0, 1024) + z(3, 256, 512) + w(0, 511, b'QFI\xfb'),
}
for name, d in seeds.items():
    open('%s/%s' % (out, name), 'wb').write(d)
PY
