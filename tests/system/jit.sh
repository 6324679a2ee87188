#!/bin/bash
# The default guest under binary translation (docs/JIT.md):
#   jit/verify-boot    boot, run a command and power off under --accel
#                      jit-verify: every translated block checked against
#                      the interpreter at every execution; exit 0, no
#                      mismatch, thousands of blocks verified
#   jit/workload       ringvm-workload (CRC-32, sieve) prints the same
#                      results under --accel jit as under interp, with
#                      blocks translated
#   jit/cache-full     --accel jit,tb-size=1: the code buffer fills and is
#                      flushed over and over; the guest still boots, runs
#                      the workload right and powers off
#   jit/smp-exact      4 harts under --accel jit, each translating for
#                      itself: threads updating shared counters with
#                      atomics and a mutex end with exact totals
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="jit/verify-boot jit/workload jit/cache-full jit/smp-exact"
need_ringvm $names
need_guest $names
cond() { eval "$1"; }

# stat LOG KEY: a figure from ringvm's --stats line of the JIT.
jstat() { sed -n "s/.*ringvm: jit[-a-z]*: \([0-9]*\) blocks translated.*, \([0-9]*\) code-cache flushes, \([0-9]*\) blocks verified.*/\1 \2 \3/p" "$1.err" | tail -n1; }
# results LOG: the workload's result lines (crc and sieve values, not times).
results() { tr -d '\r' <"$1" | awk '$1 == "crc32" || $1 == "sieve" { print $1, $2 }'; }

log=$scratch/verify
run_guest "$log" --accel jit-verify --stats --cmdline 'ringvm.cmd="echo verify-$((6*7))"'
read -r vb _ vv <<<"$(jstat "$log")"
check jit/verify-boot "exit $run_status, verified ${vv:-none}; $(grep -m1 'jit-verify:' "$log.err" || tail -n1 "$log.err")" \
	cond '[ "$run_status" = 0 ] && has "$log" "^verify-42$" && [ "${vv:-0}" -gt 1000 ] && ! grep -q "jit-verify: block" "$log.err"'

log=$scratch/interp
run_guest "$log" --accel interp --cmdline 'ringvm.cmd="ringvm-workload quick"'
want=$(results "$log")
log=$scratch/jit
run_guest "$log" --accel jit --stats --cmdline 'ringvm.cmd="ringvm-workload quick"'
read -r jb _ _ <<<"$(jstat "$log")"
check jit/workload "exit $run_status, '$(results "$log" | tr '\n' ' ')' vs interp '$(tr '\n' ' ' <<<"$want")', ${jb:-no} blocks translated" \
	cond '[ "$run_status" = 0 ] && [ -n "$want" ] && [ "$(results "$log")" = "$want" ] && [ "${jb:-0}" -gt 100 ]'

log=$scratch/small
run_guest "$log" --accel jit,tb-size=1 --stats --cmdline 'ringvm.cmd="ringvm-workload quick"'
read -r _ sf _ <<<"$(jstat "$log")"
check jit/cache-full "exit $run_status, ${sf:-no} flushes, '$(results "$log" | tr '\n' ' ')'" \
	cond '[ "$run_status" = 0 ] && [ "$(results "$log")" = "$want" ] && [ "${sf:-0}" -gt 2 ]'

CROSS_CC=${CROSS_CC:-riscv64-linux-gnu-gcc}
if ! command -v "$CROSS_CC" >/dev/null; then
	skip jit/smp-exact "$CROSS_CC missing"
	exit 0
fi
"$CROSS_CC" -static -O2 -pthread -o "$scratch/counter" tests/system/guest/smp-counter.c
blocks=$(( ($(stat -c %s "$scratch/counter") + 4095) / 4096 ))
cp "$scratch/counter" "$scratch/tool.raw"
truncate -s $((blocks * 4096)) "$scratch/tool.raw"
iter=50000
gcmd="dd if=/dev/vda of=/tmp/c bs=4096 count=$blocks 2>/dev/null; chmod +x /tmp/c; /tmp/c 4 $iter; echo RVT counter-exit \$?"
log=$scratch/smp
run_guest "$log" --accel jit --cpus 4 --mem 256M --disk "$scratch/tool.raw,ro" --cmdline "ringvm.cmd=\"$gcmd\""
val() { tr -d '\r' <"$log" | sed -n "s/^RVT $1 \{0,1\}//p" | head -n1; }
got="$(val counter-exit) $(val atomic64) $(val atomic32) $(val locked) $(val torn)"
check jit/smp-exact "exit $run_status, got '$got'" \
	[ "$got" = "0 $((4 * iter)) $((4 * iter)) $((4 * iter)) 0" ]
