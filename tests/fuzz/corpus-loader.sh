#!/bin/bash
# Seed corpus for fuzz_loader: a Linux Image header, the same gzip'd, an
# ELF64 RISC-V executable with two PT_LOAD segments and a symbol table
# (tohost/fromhost), a raw and an ELF firmware with a kernel behind it.
# The first byte of each seed is fuzz_loader's mode byte.
#   tests/fuzz/corpus-loader.sh OUTDIR RINGVM
set -eu
out=$1
mkdir -p "$out"
command -v python3 >/dev/null || exit 0
python3 - "$out" <<'PY'
import gzip, os, struct, sys
out = sys.argv[1]
BASE = 0x80000000

def image(text_offset=0, size=0x3000):
    h = struct.pack('<II', 0x0000006f, 0)           # code0: j .; code1
    h += struct.pack('<QQQ', text_offset, size, 0)  # text_offset, size, flags
    h += struct.pack('<IIQ', 2, 0, 0)               # version, res1, res2
    h += b'RISCV\0\0\0' + b'RSC\x05' + struct.pack('<I', 0)
    return h + bytes(range(256)) * 8

def elf(paddr=BASE, entry=None):
    code = bytes(range(64)) * 4
    data = b'\x11' * 64
    syms = [(0, 0), (1, paddr + 0x1000), (8, paddr + 0x1008)]
    strtab = b'\0tohost\0fromhost\0'
    shstr = b'\0.symtab\0.strtab\0'
    eh_sz, ph_sz, sh_sz = 64, 56, 64
    phoff = eh_sz
    off_code = phoff + 2 * ph_sz
    off_data = off_code + len(code)
    off_sym = off_data + len(data)
    symtab = b''.join(struct.pack('<IBBHQQ', n, 0x11, 0, 1, v, 8)
                      for n, v in syms)
    off_str = off_sym + len(symtab)
    off_shstr = off_str + len(strtab)
    shoff = (off_shstr + len(shstr) + 7) & ~7
    entry = paddr if entry is None else entry
    eh = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack('<HHIQQQIHHHHHH', 2, 243, 1, entry, phoff, shoff,
                      0, eh_sz, ph_sz, 2, sh_sz, 4, 3)
    ph = struct.pack('<IIQQQQQQ', 1, 5, off_code, paddr, paddr,
                     len(code), len(code), 0x1000)
    ph += struct.pack('<IIQQQQQQ', 1, 6, off_data, paddr + 0x1000,
                      paddr + 0x1000, len(data), 0x2000, 0x1000)
    body = eh + ph + code + data + symtab + strtab + shstr
    body += bytes(shoff - len(body))
    sh = bytes(sh_sz)
    sh += struct.pack('<IIQQQQIIQQ', 1, 2, 0, 0, off_sym, len(symtab),
                      2, 1, 8, 24)
    sh += struct.pack('<IIQQQQIIQQ', 9, 3, 0, 0, off_str, len(strtab),
                      0, 0, 1, 0)
    sh += struct.pack('<IIQQQQIIQQ', 17, 3, 0, 0, off_shstr, len(shstr),
                      0, 0, 1, 0)
    return body + sh

def put(name, b):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(b)

img = image()
put('image-sbi', b'\x00' + img)
put('image-bare', b'\x02' + image(0x1000))
put('image-gz', b'\x00' + gzip.compress(img, mtime=0))
put('elf-bare', b'\x02' + elf())
put('elf-sbi-high-entry', b'\x00' + elf(entry=0xffffffff80000000))
fw = b'\x13\x00\x00\x00' * 64
split = struct.pack('<H', len(fw))
put('fw-raw', b'\x01' + fw)
put('fw-raw-kernel', b'\x04' + split + fw + image(0x200000))
efw = elf()
put('fw-elf-kernel-gz', b'\x04' + struct.pack('<H', len(efw)) + efw +
    gzip.compress(image(0x200000), mtime=0))
PY
