#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# The ThreadSanitizer build (build/tsan/ringvm, `make tsan`) on the paths
# where hart threads meet: every multi-hart ISA test (tests/isa programs
# whose RINGVM-ARGS ask for --cpus) and a 4-hart boot of the default guest
# with the seccomp sandbox on.  Any ThreadSanitizer report fails.  The
# interpreter's own accesses to guest RAM are left out of the
# instrumentation by design (docs/ARCHITECTURE.md, "Execution model");
# everything else (hart, device, VMM state) is checked.
set -eu
RINGVM_BIN=${RINGVM_BIN:-build/tsan/ringvm}
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="tsan/isa-smp tsan/boot-4-harts tsan/boot-nproc"
if [ ! -x "$RINGVM" ]; then
	for n in $names; do skip "$n" "$RINGVM not built (make tsan)"; done
	exit 0
fi
# A report ends the run with status 66, so nothing after it can pass.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66}
BOOT_TIMEOUT=$((BOOT_TIMEOUT * 2))

# ---- multi-hart ISA tests ----
smp=$(grep -l 'RINGVM-ARGS:.*--cpus' tests/isa/*.c tests/isa/*.S 2>/dev/null |
	sed 's|.*/||; s|\.[cS]$||' | sort -u | tr '\n' ' ')
if ! command -v riscv64-linux-gnu-gcc >/dev/null; then
	skip tsan/isa-smp "riscv64-linux-gnu-gcc missing"
elif [ -z "$smp" ]; then
	fail tsan/isa-smp "no multi-hart test found in tests/isa"
else
	# shellcheck disable=SC2086
	out=$(RINGVM=$RINGVM ISA_OUT=$scratch/isa tests/isa/run.sh $smp 2>&1) || true
	reports=$(grep -l 'ThreadSanitizer' "$scratch"/isa/*.log 2>/dev/null | tr '\n' ' ')
	npass=$(grep -c '^PASS' <<<"$out" || true)
	nwant=$(wc -w <<<"$smp")
	if [ -n "$reports" ]; then
		fail tsan/isa-smp "ThreadSanitizer report in $reports"
	elif [ "$npass" != "$nwant" ]; then
		fail tsan/isa-smp "$npass of $nwant passed: $(grep -v '^PASS' <<<"$out" | head -3 | tr '\n' ' ')"
	else
		pass tsan/isa-smp
	fi
	echo "# tsan isa: $smp"
fi

# ---- a 4-hart boot ----
need_guest tsan/boot-4-harts tsan/boot-nproc
log=$scratch/boot
run_guest "$log" --cpus 4 --cmdline 'ringvm.cmd="nproc"'
status_ok tsan/boot-4-harts "$log"
check tsan/boot-nproc "the guest did not see 4 harts" has "$log" '^4$'
echo "# tsan boot: ${run_secs}s wall, exit $run_status"
