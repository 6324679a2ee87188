#!/bin/bash
# Seed corpus for fuzz_switch_proto: a valid access and trunk hello, a
# stream of two data messages, and control request lines.  Byte 0 picks
# the parser (0 hello, 1 data stream, 2 control line).
#   tests/fuzz/corpus-switch_proto.sh OUTDIR RINGVM
set -eu
out=$1
mkdir -p "$out"
zeros() { head -c "$1" /dev/zero; }
# struct swp_hello: magic "RVSW", version 1, mode, vid, reserved, pid,
# allowed[512].
{ printf '\x00RVSW\x01\x00\x01\x00\x0a\x00\x00\x00\x00\x00\x00\x00'; zeros 512; } >"$out/hello-access"
{ printf '\x00RVSW\x01\x00\x02\x00\x0a\x00\x00\x00\x00\x00\x00\x00'
  printf '\x00\x04\x10'; zeros 509; } >"$out/hello-trunk"
{ printf '\x00RVSW\x02\x00\x01\x00\x0a\x00\x00\x00\x00\x00\x00\x00'; zeros 512; } >"$out/hello-v2"
frame() { zeros 12; printf '\x52\x54\x00\x00\x00\x02\x52\x54\x00\x00\x00\x01'; printf "$1"; zeros 46; }
{ printf '\x01\x00\x4a'; frame '\x08\x00'; printf '\x00\x4e'; frame '\x81\x00\x00\x14\x08\x00'; } >"$out/data-two"
printf '\x02\x03show\n' >"$out/ctl-show"
printf '\x02\x00sh' >"$out/ctl-partial"
printf '\x02\x07reboot now\r\n' >"$out/ctl-unknown"
