#!/bin/sh
# Seed corpus for fuzz_state: one valid section of each kind the target
# loads, in its "list of sections" mode (first byte even; then per
# section: name index, version, 16-bit length, payload), and all of them
# in one input.
set -e
python3 - "$1" <<'PY'
import struct, sys
out = sys.argv[1]
def s(b):
    return struct.pack("<I", len(b)) + b
machine = (struct.pack("<I", 1) + s(b"riscv64") + s(b"virt") + s(b"interp")
           + struct.pack("<IIQQI", 1, 1, 0x80000000, 16 << 20, 0)
           + struct.pack("<I", 0xffffffff) * 4 + b"\0"
           + struct.pack("<I", 1) + s(b"disk.img") + s(b"raw") + b"\0"
           + struct.pack("<Q", 1 << 20)
           + struct.pack("<I", 1) + s(b"user") + bytes([2, 0, 0, 0, 0, 1])
           + b"\1")
uart = bytes([5, 3, 0x0b, 0, 0xb0, 0x5a, 0x0c, 1, 0xc1, 3]) + b"abc" + bytes(13) + b"\1"
rtc = struct.pack("<qIQ", 5000, 7, 1 << 62) + bytes([1, 1, 0])
plic = (struct.pack("<I", 4) + bytes(range(8)) * 4 + struct.pack("<III", 0x6e, 0x4e, 0x20)
        + (struct.pack("<I", 0x2a) + b"\2") * 4)
plic = plic[:4] + b"\0" + plic[5:]
clint = struct.pack("<IQQQ", 2, 5000000, 123456, 1 << 40)
mac = bytes([2, 0, 0, 0, 0, 1])
net = mac + mac + b"\1\0"
q = struct.pack("<IQQQBHHHHB", 16, 0x80001000, 0x80002000, 0x80003000, 1, 16, 3, 3, 3, 0)
virtio = (struct.pack("<IIIIQQBQIIII", 4, 0x0f, 0, 0, 0x130000000, 1 << 32, 0, 1 << 32, 0, 1, 2, 0)
          + struct.pack("<I", 1) + q)
secs = [(0, machine), (1, uart), (2, rtc), (3, plic), (4, clint), (5, virtio), (6, net)]
def enc(i, p):
    return bytes([i, 1]) + struct.pack("<H", len(p)) + p
for i, p in secs:
    open(f"{out}/sec-{i}", "wb").write(b"\0" + enc(i, p))
open(f"{out}/all", "wb").write(b"\0" + b"".join(enc(i, p) for i, p in secs))
PY
