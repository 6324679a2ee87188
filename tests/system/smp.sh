#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# One boot of the default guest with --cpus 4: Linux brings up all four
# harts (nproc, /proc/cpuinfo, /sys/devices/system/cpu/online), and a
# static riscv64 program (tests/system/guest/smp-counter.c, cross-built
# here and carried on a small read-only raw disk) runs four threads, one
# pinned to each CPU, that update shared counters with __atomic builtins
# and a record under a pthread mutex: the totals must be exact and the
# record never seen half-updated.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

CPUS=4
ITER=${RINGVM_SMP_ITER:-100000}
CROSS_CC=${CROSS_CC:-riscv64-linux-gnu-gcc}
names="smp/exit-0 smp/nproc smp/cpuinfo-harts smp/cpus-online smp/counter-ran
	smp/atomic64 smp/atomic32 smp/mutex smp/mutex-consistent smp/threads-on-all-cpus"
need_ringvm $names
need_guest $names
if ! command -v "$CROSS_CC" >/dev/null; then
	for n in $names; do skip "$n" "$CROSS_CC missing"; done
	exit 0
fi
if ! out=$("$CROSS_CC" -static -O2 -pthread -Wall -Wextra -Werror -o "$scratch/counter" \
	tests/system/guest/smp-counter.c 2>&1); then
	for n in $names; do fail "$n" "cross-building smp-counter failed: $out"; done
	exit 1
fi
blocks=$(( ($(stat -c %s "$scratch/counter") + 4095) / 4096 ))
cp "$scratch/counter" "$scratch/tool.raw"
truncate -s $((blocks * 4096)) "$scratch/tool.raw"

gcmd="echo RVT nproc \$(nproc); echo RVT harts \$(grep -c ^processor /proc/cpuinfo)"
gcmd="$gcmd; echo RVT online \$(cat /sys/devices/system/cpu/online)"
gcmd="$gcmd; dd if=/dev/vda of=/tmp/c bs=4096 count=$blocks 2>/dev/null; chmod +x /tmp/c"
gcmd="$gcmd; /tmp/c $CPUS $ITER; echo RVT counter-exit \$?"
log=$scratch/smp
run_guest "$log" --cpus "$CPUS" --mem 256M --kernel "$GUEST/Image" --initrd "$GUEST/initrd.img" \
	--disk "$scratch/tool.raw,ro" --cmdline "ringvm.cmd=\"$gcmd\""
status_ok smp/exit-0 "$log"
echo "# smp: ${run_secs}s wall, exit $run_status"

# val KEY: the value of the guest's "RVT KEY value" line.
val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
if ! has "$log" '^RVT nproc'; then
	reason="the guest command did not run"
	has "$log" '^RINGVM-GUEST-READY$' || reason="the guest did not reach RINGVM-GUEST-READY"
	for n in $names; do [ "$n" = smp/exit-0 ] || fail "$n" "$reason"; done
	exit 1
fi
expect smp/nproc "$(val nproc)" $CPUS
expect smp/cpuinfo-harts "$(val harts)" $CPUS
expect smp/cpus-online "$(val online)" "0-$((CPUS - 1))"
expect smp/counter-ran "$(val counter-exit)" 0
want=$((CPUS * ITER))
expect smp/atomic64 "$(val atomic64)" $want
expect smp/atomic32 "$(val atomic32)" $want
expect smp/mutex "$(val locked) $(val twice)" "$want $((2 * want))"
expect smp/mutex-consistent "$(val torn)" 0
expect smp/threads-on-all-cpus "$(val cpus)" $CPUS
