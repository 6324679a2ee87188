#!/bin/bash
# VM lifecycle benchmark: snapshot, restore-to-running and live migration
# (total time, downtime), idle and under a memory-dirtying load, ringvm vs
# qemu-system-riscv64, in one run.
#
#   bench/lifecycle.sh [--sizes 256M,2G] [--restores N] [--no-qemu]
#
# Both boot the default guest (build/guest; same kernel, initrd, 1 vCPU,
# a 64 MiB qcow2 data disk) with a heartbeat command; bench/lifecycle.py
# has the method (QEMU: savevm/-loadvm on qcow2, migrate/-incoming on
# loopback TCP; downtime from host receive times of the heartbeat lines).
# Environment: RINGVM (build/ringvm), GUEST (build/guest), QEMU
# (qemu-system-riscv64), TMPDIR.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/lifecycle.sh: $*" >&2; exit 1; }

sizes=256M,2G use_qemu=1
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) [ $# -ge 2 ] || die "$1 needs a list"; sizes=$2; shift ;;
	--restores) [ $# -ge 2 ] || die "$1 needs a count"; extra+=(--restores "$2"); shift ;;
	--no-qemu) use_qemu=0 ;;
	-h|--help) sed -n "2,$(grep -n "^set -eu" "$0" | cut -d: -f1)p" "$0" | sed "$ d" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done

RINGVM=${RINGVM:-build/ringvm}
GUEST=${GUEST:-build/guest}
QEMU=${QEMU:-qemu-system-riscv64}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
for f in Image initrd.img; do
	[ -s "$GUEST/$f" ] || die "$GUEST/$f is missing (run make guest)"
done
if [ "$use_qemu" = 1 ]; then
	command -v "$QEMU" >/dev/null ||
		die "$QEMU not found (install qemu-system-misc, or use --no-qemu)"
	command -v qemu-img >/dev/null || die "qemu-img not found (install qemu-utils)"
fi
[ "$use_qemu" = 1 ] || extra+=(--no-qemu)
echo "ringvm $("$RINGVM" --version 2>/dev/null | head -1), $(nproc) cores, $(date -u +%F)"
exec python3 bench/lifecycle.py --ringvm "$RINGVM" --qemu "$QEMU" \
	--guest "$GUEST" --sizes "$sizes" "${extra[@]}"
