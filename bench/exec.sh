#!/bin/bash
# ringvm exec --arch riscv64 against native and qemu-riscv64-static, and
# ringvm exec of the x86-64 build in the KVM sandbox (column kvm):
# bench/execwork.c's compute loop (sieve + hash), a getpid() loop, a
# 4 KiB pipe write/read loop, a 4 KiB file pwrite/pread loop and a
# clock_gettime loop, wall time of each,
# and the ratios.  The KVM column runs the getpid and pipe loops 100 times
# shorter and scales the time up (every such call costs tens of µs: a
# `syscall` switch or a VM exit); "-" when KVM is unusable.
#   bench/exec.sh [--quick]
# Needs build/ringvm and riscv64-linux-gnu-gcc; QEMU is optional.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "bench/exec.sh: $*" >&2; exit 1; }
RINGVM=${RINGVM:-build/ringvm}
CROSS_CC=${CROSS_CC:-riscv64-linux-gnu-gcc}
QEMU=${QEMU:-$(command -v qemu-riscv64-static || true)}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
command -v "$CROSS_CC" >/dev/null || die "$CROSS_CC not found"
quick=0
[ "${1:-}" = --quick ] && quick=1

mkdir -p build/bench
"$CROSS_CC" -static -O2 -o build/bench/execwork.rv bench/execwork.c
gcc -O2 -o build/bench/execwork.native bench/execwork.c
gcc -O2 -static -o build/bench/execwork.x86 bench/execwork.c
kvm=1
"$RINGVM" exec -- build/bench/execwork.x86 getpid 1 >/dev/null 2>&1 || kvm=0

# secs CMD...: best wall time of 3 runs (1 with --quick), output checked.
secs() {
	local best= t0 t1 d i out
	for i in 1 2 3; do
		t0=$(date +%s.%N)
		out=$("$@") || die "$* failed"
		t1=$(date +%s.%N)
		d=$(echo "$t1 - $t0" | bc)
		if [ -z "$best" ] || [ "$(echo "$d < $best" | bc)" = 1 ]; then best=$d; fi
		[ "$quick" = 1 ] && break
	done
	echo "$best"
}

printf '%-22s %10s %10s %10s %10s %10s %10s %10s\n' workload native ringvm qemu kvm ringvm/nat qemu/nat kvm/nat
for w in "compute 20" "getpid 2000000" "pipe 200000" "file 200000" "clock 2000000"; do
	# shellcheck disable=SC2086
	n=$(secs build/bench/execwork.native $w)
	# shellcheck disable=SC2086
	r=$(secs "$RINGVM" exec --arch riscv64 -- build/bench/execwork.rv $w)
	q=-
	if [ -n "$QEMU" ]; then
		# shellcheck disable=SC2086
		q=$(secs "$QEMU" build/bench/execwork.rv $w)
	fi
	k=-
	kn=-
	if [ "$kvm" = 1 ]; then
		set -- $w
		if [ "$1" = compute ] || [ "$1" = clock ] || [ "$1" = file ]; then
			k=$(secs "$RINGVM" exec -- build/bench/execwork.x86 $w)
		else
			k=$(secs "$RINGVM" exec -- build/bench/execwork.x86 "$1" $(($2 / 100)))
			k=$(echo "$k * 100" | bc)
		fi
		kn=$(echo "scale=3; $k / $n" | bc)
	fi
	rn=$(echo "scale=1; $r / $n" | bc)
	qn=-
	[ "$q" = - ] || qn=$(echo "scale=1; $q / $n" | bc)
	printf '%-22s %9.3fs %9.3fs %10s %10s %10s %10s %10s\n' "$w" "$n" "$r" \
		"$( [ "$q" = - ] && echo - || printf '%.3fs' "$q")" \
		"$( [ "$k" = - ] && echo - || printf '%.3fs' "$k")" \
		"${rn}x" "${qn}x" "${kn}x"
done
