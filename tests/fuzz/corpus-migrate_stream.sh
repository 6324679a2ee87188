#!/bin/bash
# Seed corpus for fuzz_migrate_stream: small valid streams (see
# src/vmm/migrate_stream.h): one with RAM pages (data and zero), one with
# disk data and zeroing, and a truncated one.
#   tests/fuzz/corpus-migrate_stream.sh OUTDIR RINGVM
set -eu
out=$1
mkdir -p "$out"
u32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 24 & 255)))"; }
u64() { u32 $(($1 & 0xffffffff)); u32 $(($1 >> 32)); }
hdr() { printf 'RINGMIG\0'; u32 2; u32 "$1"; }
# A state section (core/state.h): name[32], version, crc32, length, payload.
section() { python3 -c 'import struct, sys, zlib
p = sys.argv[2].encode()
sys.stdout.buffer.write(sys.argv[1].encode().ljust(32, b"\0") +
    struct.pack("<IIQ", 1, zlib.crc32(p), len(p)) + p)' "$1" "$2"; }
machine() { printf '\x01'; u32 $((48 * 2 + 8)); section machine abcd; section cpu0 1234; }
layout() { printf '\x02'; u32 1; u64 $((0x80000000)); u64 65536; }
device() { printf '\x07'; u32 $((48 + 4)); section cpu0 5678; }
{ hdr 0; machine; layout
  printf '\x04\x00'; printf '\x02\x00'; u64 1; head -c 4096 /dev/urandom; u64 $((5 << 1))
  device; printf '\x08'; } >"$out/ram"
{ hdr 1; machine; layout; printf '\x03'; u32 1; u64 1048576
  printf '\x05\x00'; u64 4096; u32 512; head -c 512 /dev/urandom
  printf '\x06\x00'; u64 0; u64 4096
  device; printf '\x08'; } >"$out/disk"
{ hdr 0; machine; layout; printf '\x04\x00\x01\x00'; u64 3; head -c 100 /dev/zero; } >"$out/truncated"
