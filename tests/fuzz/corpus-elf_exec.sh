#!/bin/bash
# Seed corpus for fuzz_elf_exec: a static and a PIE riscv64 ELF with an
# interpreter, built from their headers (no toolchain needed).
#   tests/fuzz/corpus-elf_exec.sh OUTDIR RINGVM
set -eu
out=$1
mkdir -p "$out"
command -v python3 >/dev/null || exit 0
python3 - "$out" <<'PY'
import struct, sys
out = sys.argv[1]

def elf(etype, vaddr, interp=None):
    phs = []
    body = b''
    nph = 2 + (1 if interp else 0)
    hdr_end = 64 + 56 * nph
    data_off = 0x1000
    code = bytes([0x13, 0, 0, 0]) * 64
    phs.append(struct.pack('<IIQQQQQQ', 6, 4, 64, vaddr + 64, vaddr + 64,
                           56 * nph, 56 * nph, 8))            # PT_PHDR
    if interp:
        s = interp.encode() + b'\0'
        phs.append(struct.pack('<IIQQQQQQ', 3, 4, hdr_end, vaddr + hdr_end,
                               vaddr + hdr_end, len(s), len(s), 1))
        body = s
    phs.append(struct.pack('<IIQQQQQQ', 1, 5, 0, vaddr, vaddr,
                           data_off + len(code), data_off + len(code) + 0x2000,
                           0x1000))                          # PT_LOAD
    eh = b'\x7fELF' + bytes([2, 1, 1, 0]) + b'\0' * 8
    eh += struct.pack('<HHIQQQIHHHHHH', etype, 243, 1, vaddr + data_off, 64,
                      0, 0, 64, 56, nph, 64, 0, 0)
    f = eh + b''.join(phs) + body
    f += b'\0' * (data_off - len(f)) + code
    return f

open(out + '/static.elf', 'wb').write(elf(2, 0x10000))
open(out + '/pie.elf', 'wb').write(elf(3, 0, '/lib/ld-linux-riscv64-lp64d.so.1'))
PY
