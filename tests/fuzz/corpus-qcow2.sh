#!/bin/bash
# Seed corpus for fuzz_qcow2: small images made by qemu-img (if installed)
# and by `ringvm img`, generated at build time (no binaries in git).
#   tests/fuzz/corpus-qcow2.sh OUTDIR RINGVM
set -eu
out=$1 ringvm=$2
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 200000 /dev/urandom >"$tmp/data.raw"
printf 'hello qcow2 %.0s' $(seq 1 2000) >>"$tmp/data.raw"
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 -o cluster_size=4096 "$out/empty-4k.qcow2" 1M
	qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 \
		"$out/v2.qcow2" 1M
	qemu-img convert -q -O qcow2 -o cluster_size=4096 "$tmp/data.raw" \
		"$out/data-4k.qcow2"
	qemu-img convert -q -c -O qcow2 -o cluster_size=4096 "$tmp/data.raw" \
		"$out/compressed.qcow2"
	cp "$out/data-4k.qcow2" "$tmp/s.qcow2"
	qemu-img snapshot -c snap1 "$tmp/s.qcow2"
	qemu-io -c 'write -z 8k 8k' -c 'write -P 7 0 6k' "$tmp/s.qcow2" \
		>/dev/null
	cp "$tmp/s.qcow2" "$out/snapshot.qcow2"
	qemu-img create -q -f qcow2 -o cluster_size=4096 -b data.raw -F raw -u \
		"$out/backing.qcow2" 1M
fi
"$ringvm" img create -q -f qcow2 -o cluster_size=4096 "$out/ringvm.qcow2" \
	1M >/dev/null 2>&1 || true
# Keep seeds small: the fuzzer mutates whole files.
find "$out" -type f -size +300k -delete
