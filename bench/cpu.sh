#!/bin/bash
# CPU benchmark: ringvm (interpreter and JIT) vs QEMU (TCG) vs native.
#
#   bench/cpu.sh [-n RUNS] [--quick] [--no-qemu] [--timeout SECS]
#
# Boots the default guest (build/guest) with ringvm.cmd=ringvm-workload under
# build/ringvm --accel interp, build/ringvm --accel jit and under qemu-system-riscv64 -M virt -bios default -m 512M
# -smp 1 (same kernel and initrd), interleaved run by run, RUNS times each
# (default 5), and runs build/guest/workload-native RUNS times.  Reports, per
# engine, the host wall time from launch to RINGVM-GUEST-READY and to exit, and
# the workload's own guest-timed phases (crc32, sieve, total); medians with
# min-max, and the ratios ringvm/QEMU and ringvm/native.  If ringvm prints a
# line containing "<number> MIPS" on stderr, its median is shown too.
# Environment: RINGVM (default build/ringvm), GUEST (default build/guest),
# QEMU (default qemu-system-riscv64).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/cpu.sh: $*" >&2; exit 1; }

runs=5 mode=full use_qemu=1 run_timeout=600
while [ $# -gt 0 ]; do
	case $1 in
	-n|--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	-n*) runs=${1#-n} ;;
	--quick) mode=quick ;;
	--no-qemu) use_qemu=0 ;;
	--timeout) [ $# -ge 2 ] || die "$1 needs seconds"; run_timeout=$2; shift ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $runs in ''|*[!0-9]*|0) die "RUNS must be a positive integer, not '$runs'" ;; esac
case $run_timeout in ''|*[!0-9]*|0) die "--timeout must be a positive integer" ;; esac

RINGVM=${RINGVM:-build/ringvm}
GUEST=${GUEST:-build/guest}
QEMU=${QEMU:-qemu-system-riscv64}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
for f in Image initrd.img workload-native; do
	[ -s "$GUEST/$f" ] || die "$GUEST/$f is missing (run make guest)"
done
if [ "$use_qemu" = 1 ]; then
	command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-misc, or use --no-qemu)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A signal (Ctrl-C, a timeout) ends the script through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM
wcmd=ringvm-workload
[ "$mode" = full ] || wcmd="\"ringvm-workload quick\""
now_ns() { date +%s%N; }

# boot ENGINE RUN CMD...: one boot; appends "ready exit crc sieve total" (s, s,
# ms, ms, ms) to $tmp/ENGINE.dat, or records a failure.
nfailed=0
boot() {
	local engine=$1 run=$2 log=$tmp/$1.$2 t0 t1 tr st ok
	shift 2
	rm -f "$log.ready"
	t0=$(now_ns)
	set +e
	timeout -k 10 "$run_timeout" "$@" </dev/null 2>"$log.err" |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			RINGVM-GUEST-READY) now_ns >"$log.ready" ;;
			esac
			printf '%s\n' "$line"
		done >"$log"
	st=${PIPESTATUS[0]}
	set -e
	t1=$(now_ns)
	tr=-
	[ ! -s "$log.ready" ] || tr=$(cat "$log.ready")
	ok=1
	if [ "$st" -ne 0 ] || [ "$tr" = - ] || ! grep -q '^RINGVM-CMD-EXIT 0$' "$log"; then
		echo "  $engine run $run failed (exit status $st$([ "$st" = 124 ] && echo ', timed out')); log tail:" >&2
		tail -n 5 "$log" "$log.err" | sed 's/^/    /' >&2
		nfailed=$((nfailed + 1))
		ok=0
	fi
	# A failed run still contributes its boot time if it got that far.
	awk -v t0="$t0" -v tr="$tr" -v t1="$t1" -v ok="$ok" '
		$1 == "crc32" { c = $3 } $1 == "sieve" { s = $3 } $1 == "total" { t = $2 }
		END {
			if (!ok) { c = s = t = "-" }
			printf "%s %s %s %s %s\n", tr == "-" ? "-" : sprintf("%.3f", (tr - t0) / 1e9),
				ok ? sprintf("%.3f", (t1 - t0) / 1e9) : "-", c, s, t
		}' "$log" >>"$tmp/$engine.dat"
	# Optional MIPS figure from ringvm's stderr.
	sed -n 's/.*[^0-9.]\([0-9][0-9]*\(\.[0-9]*\)\{0,1\}\) *MIPS.*/\1/p' "$log.err" | tail -n1 \
		>>"$tmp/$engine.mips"
}

echo "bench/cpu.sh: $runs run(s) each, workload $mode, kernel $(cat "$GUEST/VERSION" 2>/dev/null || echo '?')"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs"
for i in $(seq 1 "$runs"); do
	echo "  run $i/$runs" >&2
	boot ringvm "$i" "$RINGVM" run --accel interp --stats --mem 512M --cpus 1 --cmdline "ringvm.cmd=$wcmd"
	boot jit "$i" "$RINGVM" run --accel jit --stats --mem 512M --cpus 1 --cmdline "ringvm.cmd=$wcmd"
	if [ "$use_qemu" = 1 ]; then
		boot qemu "$i" "$QEMU" -M virt -bios default -m 512M -smp 1 -nographic \
			-kernel "$GUEST/Image" -initrd "$GUEST/initrd.img" \
			-append "console=ttyS0 ringvm.cmd=$wcmd"
	fi
	"$GUEST/workload-native" $([ "$mode" = quick ] && echo quick) |
		awk '$1 == "crc32" { c = $3 } $1 == "sieve" { s = $3 } $1 == "total" { t = $2 }
			END { printf "- - %s %s %s\n", c, s, t }' >>"$tmp/native.dat"
done

# shellcheck source=bench/lib.sh
. bench/lib.sh

echo
printf '%-22s %-24s %-24s %-24s %-24s %-9s %-9s %-9s %-9s\n' metric interp jit QEMU native \
	interp/QEMU jit/QEMU jit/interp jit/native
row() {  # row LABEL COLUMN
	local r j q n
	r=$(stats ringvm "$2"); j=$(stats jit "$2"); q=$(stats qemu "$2"); n=$(stats native "$2")
	printf '%-22s %-24s %-24s %-24s %-24s %-9s %-9s %-9s %-9s\n' "$1" "$(cell "$r")" "$(cell "$j")" \
		"$(cell "$q")" "$(cell "$n")" "$(ratio "${r%% *}" "${q%% *}")" "$(ratio "${j%% *}" "${q%% *}")" \
		"$(ratio "${j%% *}" "${r%% *}")" "$(ratio "${j%% *}" "${n%% *}")"
}
row "boot to READY (s)" 1
row "launch to exit (s)" 2
row "workload crc32 (ms)" 3
row "workload sieve (ms)" 4
row "workload total (ms)" 5
for e in ringvm jit; do
	if [ -s "$tmp/$e.mips" ]; then
		echo "ringvm --accel $([ $e = ringvm ] && echo interp || echo jit) MIPS (median): $(sort -g "$tmp/$e.mips" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
	fi
done
ok_runs() { awk '$5 != "-" { n++ } END { print n + 0 }' "$tmp/$1.dat" 2>/dev/null || echo 0; }
echo "successful runs: interp $(ok_runs ringvm)/$runs, jit $(ok_runs jit)/$runs$([ "$use_qemu" = 1 ] && echo ", QEMU $(ok_runs qemu)/$runs")"
[ "$nfailed" -eq 0 ] || die "$nfailed run(s) failed"
