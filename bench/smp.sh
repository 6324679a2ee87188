#!/bin/bash
# SMP benchmark: guest throughput on 1 hart vs N harts, ringvm vs QEMU.
#
#   bench/smp.sh [-n HARTS] [--runs R] [--secs S] [--no-qemu] [--timeout SECS]
#
# A static riscv64 program (bench/smpwork.c, cross-built into build/bench/,
# carried into the guest on a small read-only raw disk) runs T threads, one
# pinned to each CPU, each hashing its own 4 KiB buffer (CRC-32) for S
# seconds (default 5) of guest time, and reports the iterations per second
# of all threads together: the guest's own work rate, boot time excluded.
# Boots of the default guest (build/guest, 512M), interleaved, R times
# each (default 1):
#   1 hart, 1 thread    and    HARTS harts, HARTS threads
# (HARTS defaults to the host's core count, at least 2) under build/ringvm
# (--cpus) and qemu-system-riscv64 -M virt -bios default -smp HARTS
# -accel tcg,thread=multi (same kernel and initrd).  Prints the medians,
# the scaling (HARTS-hart rate / (HARTS x 1-hart rate); 1.0 is perfect,
# 1/HARTS is what an engine running every hart on one host thread gets)
# and the ringvm/QEMU ratios.
# Environment: RINGVM (build/ringvm), GUEST (build/guest), QEMU
# (qemu-system-riscv64), CROSS_CC (riscv64-linux-gnu-gcc), TMPDIR.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/smp.sh: $*" >&2; exit 1; }

harts=$(nproc) runs=1 secs=5 use_qemu=1 run_timeout=600
[ "$harts" -ge 2 ] || harts=2
while [ $# -gt 0 ]; do
	case $1 in
	-n|--harts) [ $# -ge 2 ] || die "$1 needs a number"; harts=$2; shift ;;
	--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	--secs) [ $# -ge 2 ] || die "$1 needs seconds"; secs=$2; shift ;;
	--no-qemu) use_qemu=0 ;;
	--timeout) [ $# -ge 2 ] || die "$1 needs seconds"; run_timeout=$2; shift ;;
	-h|--help) sed -n "2,$(grep -n "^set -eu" "$0" | cut -d: -f1)p" "$0" | sed "$ d" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $harts in ''|*[!0-9]*|0|1) die "HARTS must be an integer >= 2, not '$harts'" ;; esac
[ "$harts" -le 8 ] || die "ringvm has at most 8 harts"
case $runs in ''|*[!0-9]*|0) die "--runs must be a positive integer" ;; esac
case $secs in ''|*[!0-9]*|0) die "--secs must be a positive integer" ;; esac
case $run_timeout in ''|*[!0-9]*|0) die "--timeout must be a positive integer" ;; esac

RINGVM=${RINGVM:-build/ringvm}
GUEST=${GUEST:-build/guest}
QEMU=${QEMU:-qemu-system-riscv64}
CROSS_CC=${CROSS_CC:-riscv64-linux-gnu-gcc}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
for f in Image initrd.img; do
	[ -s "$GUEST/$f" ] || die "$GUEST/$f is missing (run make guest)"
done
command -v "$CROSS_CC" >/dev/null || die "$CROSS_CC not found (apt-get install gcc-riscv64-linux-gnu)"
if [ "$use_qemu" = 1 ]; then
	command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-misc, or use --no-qemu)"
fi

mkdir -p build/bench
tool=build/bench/smpwork
if [ ! -s "$tool" ] || [ bench/smpwork.c -nt "$tool" ]; then
	"$CROSS_CC" -static -O2 -pthread -Wall -Wextra -o "$tool.tmp" bench/smpwork.c ||
		die "cross-building smpwork failed"
	mv "$tool.tmp" "$tool"
fi
tool_blocks=$(( ($(stat -c %s "$tool") + 4095) / 4096 ))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-bench-smp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A signal (Ctrl-C, a timeout) ends the script through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$tool" "$tmp/tool.raw"
truncate -s $((tool_blocks * 4096)) "$tmp/tool.raw"

# boot ENGINE CPUS RUN: one boot running CPUS threads on CPUS harts;
# appends "CPUS rate" to $tmp/ENGINE.dat.
nfailed=0
boot() {
	local engine=$1 cpus=$2 run=$3 log=$tmp/$1.$2.$3 st gcmd
	gcmd="dd if=/dev/vda of=/tmp/w bs=4096 count=$tool_blocks 2>/dev/null; chmod +x /tmp/w"
	gcmd="$gcmd; echo CPUS \$(nproc); /tmp/w $cpus $secs"
	set +e
	if [ "$engine" = ringvm ]; then
		timeout -k 10 "$run_timeout" "$RINGVM" run --mem 512M --cpus "$cpus" \
			--kernel "$GUEST/Image" --initrd "$GUEST/initrd.img" --disk "$tmp/tool.raw,ro" \
			--cmdline "ringvm.cmd=\"$gcmd\"" </dev/null >"$log" 2>"$log.err"
	else
		timeout -k 10 "$run_timeout" "$QEMU" -M virt -bios default -m 512M -smp "$cpus" \
			-accel tcg,thread=multi -nographic \
			-kernel "$GUEST/Image" -initrd "$GUEST/initrd.img" \
			-append "console=ttyS0 ringvm.cmd=\"$gcmd\"" \
			-drive "if=none,id=d0,file=$tmp/tool.raw,format=raw,readonly=on" \
			-device virtio-blk-device,drive=d0 </dev/null >"$log" 2>"$log.err"
	fi
	st=$?
	set -e
	tr -d '\r' <"$log" >"$log.txt"
	if [ "$st" -ne 0 ] || ! grep -q '^RINGVM-CMD-EXIT 0$' "$log.txt" ||
		! grep -q "^CPUS $cpus\$" "$log.txt" || ! grep -q '^RESULT ' "$log.txt"; then
		echo "  $engine $cpus hart(s) run $run failed (exit status $st); log tail:" >&2
		tail -n 5 "$log.txt" "$log.err" | sed 's/^/    /' >&2
		nfailed=$((nfailed + 1))
		return 0
	fi
	awk -v c="$cpus" '$1 == "RESULT" { print c, $9 }' "$log.txt" >>"$tmp/$engine.dat"
	echo "  $engine $cpus hart(s) run $run: $(awk '$1 == "RESULT" { print $9 }' "$log.txt") iterations/s" >&2
}

echo "bench/smp.sh: 1 vs $harts harts, ${secs}s of work per boot, $runs run(s) each, kernel $(cat "$GUEST/VERSION" 2>/dev/null || echo '?')"
[ "$use_qemu" = 0 ] || echo "QEMU: $("$QEMU" --version 2>/dev/null | head -n1), -accel tcg,thread=multi"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
for i in $(seq 1 "$runs"); do
	for c in 1 "$harts"; do
		echo "  run $i/$runs: $c hart(s)" >&2
		boot ringvm "$c" "$i"
		[ "$use_qemu" = 0 ] || boot qemu "$c" "$i"
	done
done

# med ENGINE CPUS: median rate, or -; range ENGINE CPUS: "min-max".
med() {
	[ -s "$tmp/$1.dat" ] || { echo -; return; }
	awk -v c="$2" '$1 == c { print $2 }' "$tmp/$1.dat" | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			printf "%g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
range() {
	[ -s "$tmp/$1.dat" ] || { echo -; return; }
	awk -v c="$2" '$1 == c { print $2 }' "$tmp/$1.dat" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%g-%g\n", v[1], v[NR] }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}
scaling() {   # scaling RATE1 RATEN
	awk -v a="$1" -v b="$2" -v n="$harts" 'BEGIN { if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.2f", b / (n * a) }'
}
r1=$(med ringvm 1); rn=$(med ringvm "$harts")
q1=$(med qemu 1); qn=$(med qemu "$harts")
echo
echo "throughput: iterations (4 KiB CRC-32 passes) per second of guest time, all threads"
echo "(medians, min-max in brackets; ringvm/QEMU > 1 means ringvm does more work)"
printf '%-12s %24s %24s %10s\n' engine "1 hart" "$harts harts" scaling
printf '%-12s %24s %24s %10s\n' ringvm "$r1 ($(range ringvm 1))" "$rn ($(range ringvm "$harts"))" "$(scaling "$r1" "$rn")"
[ "$use_qemu" = 0 ] || printf '%-12s %24s %24s %10s\n' QEMU "$q1 ($(range qemu 1))" "$qn ($(range qemu "$harts"))" "$(scaling "$q1" "$qn")"
[ "$use_qemu" = 0 ] || printf '%-12s %24s %24s\n' ringvm/QEMU "$(ratio "$r1" "$q1")" "$(ratio "$rn" "$qn")"
[ "$nfailed" -eq 0 ] || die "$nfailed boot(s) failed"
