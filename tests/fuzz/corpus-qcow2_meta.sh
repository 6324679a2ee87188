#!/bin/bash
# Seed corpus for fuzz_qcow2_meta: the fuzz_qcow2 seeds (images), each
# behind a few operation scripts (the target reads 12 script bytes, then
# the image; see tests/fuzz/fuzz_qcow2_meta.c).
#   tests/fuzz/corpus-qcow2_meta.sh OUTDIR RINGVM
set -eu
out=$1 ringvm=$2
here=$(dirname "$0")
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/corpus-qcow2.sh" "$tmp" "$ringvm"
# op, arg pairs: op % 12 = 0 repair all, 1 repair leaks, 2 snapshot create,
# 3 apply, 4 delete, 5 grow, 6 shrink, 7 compressed write, 8 set backing,
# 9 write, 10 discard, 11 reopen.
scripts=(
	'\x02\x00\x09\x03\x03\x00\x04\x00\x00\x00\x0b\x00'
	'\x07\x01\x07\x02\x09\x05\x02\x01\x0a\x02\x01\x00'
	'\x05\x01\x06\x00\x08\x00\x08\x01\x08\x02\x00\x00'
	'\x02\x00\x02\x01\x09\x07\x03\x01\x04\x00\x0b\x00'
)
for f in "$tmp"/*; do
	[ -f "$f" ] || continue
	i=0
	for s in "${scripts[@]}"; do
		{ printf "$s"; cat "$f"; } >"$out/$(basename "$f").$i"
		i=$((i + 1))
	done
done
