#!/bin/bash
# Disk benchmark: ringvm vs QEMU, raw vs qcow2, inside the default guest.
#
#   bench/disk.sh [-n RUNS] [--secs S] [--caches "MODE..."] [--no-qemu]
#                 [--images "IMAGE..."] [--no-convert] [--timeout SECS]
#
# A static riscv64 program (bench/diskio.c, cross-built with
# riscv64-linux-gnu-gcc into build/bench/, carried into the guest on a small
# read-only raw disk) does O_DIRECT I/O on /dev/vda, a 512 MiB image:
#   seqwrite  1 MiB writes, one pass over [0, 256 MiB) (+ fdatasync)
#   seqread   1 MiB reads over [0, 256 MiB) for S seconds (default 2)
#   randwrite 4 KiB writes at random over [256, 512 MiB) for S seconds
#   randread  4 KiB reads at random over [256, 512 MiB) for S seconds
#   randwrite-qd16, randread-qd16: the same with 16 requests in flight
#             (16 guest threads)
# on three images, each rebuilt before every boot:
#   raw          512 MiB of random data
#   qcow2-fresh  an empty qcow2 (every first write allocates a cluster)
#   qcow2-alloc  the raw image converted to qcow2 (fully allocated)
# (--images picks some of them),
# under build/ringvm (--disk F,cache=MODE) and qemu-system-riscv64 -M virt
# -bios default (-drive if=none,format=...,cache=MODE -device
# virtio-blk-device), same kernel/initrd, for each host cache MODE (default
# "writeback none"), boots interleaved, RUNS times each (default 3).
# Prints medians (MB/s for seq, IOPS for rand), ringvm/QEMU in the same
# cache mode and qcow2/raw ratios.
# Then, unless --no-convert, times host-side `ringvm img convert` against
# `qemu-img convert` (default cache mode unsafe: no flush; and -t writeback:
# flush at the end, as ringvm always does) on a 1 GiB image (768 MiB of
# data, 256 MiB hole): raw->qcow2 and qcow2->raw, best of 3.
# Environment: RINGVM (build/ringvm), GUEST (build/guest),
# QEMU (qemu-system-riscv64), QEMU_IMG (qemu-img), CROSS_CC
# (riscv64-linux-gnu-gcc), TMPDIR (must support O_DIRECT for cache=none).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/disk.sh: $*" >&2; exit 1; }

runs=3 secs=2 use_qemu=1 do_convert=1 run_timeout=600 caches="writeback none"
configs="raw qcow2-fresh qcow2-alloc"
while [ $# -gt 0 ]; do
	case $1 in
	-n|--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	--secs) [ $# -ge 2 ] || die "$1 needs seconds"; secs=$2; shift ;;
	--caches) [ $# -ge 2 ] || die "$1 needs cache modes"; caches=$2; shift ;;
	--images) [ $# -ge 2 ] || die "$1 needs image kinds"; configs=$2; shift
		for c in $configs; do
			case $c in raw|qcow2-fresh|qcow2-alloc) ;;
			*) die "unknown image kind $c (raw, qcow2-fresh, qcow2-alloc)" ;;
			esac
		done ;;
	--no-qemu) use_qemu=0 ;;
	--no-convert) do_convert=0 ;;
	--timeout) [ $# -ge 2 ] || die "$1 needs seconds"; run_timeout=$2; shift ;;
	-h|--help) sed -n "2,$(grep -n "^set -eu" "$0" | cut -d: -f1)p" "$0" | sed "$ d" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $runs in ''|*[!0-9]*|0) die "RUNS must be a positive integer, not '$runs'" ;; esac
case $secs in ''|*[!0-9]*|0) die "--secs must be a positive integer" ;; esac

# shellcheck source=bench/lib.sh
. bench/lib.sh
need_guest
QEMU_IMG=${QEMU_IMG:-qemu-img}
command -v "$QEMU_IMG" >/dev/null || die "$QEMU_IMG not found (apt-get install qemu-utils)"
cross_build diskio

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-bench-disk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A signal (Ctrl-C, a timeout) ends the script through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$tool" "$tmp/tool.raw"
truncate -s $((tool_blocks * 4096)) "$tmp/tool.raw"
echo "bench/disk.sh: preparing a 512 MiB random master image" >&2
head -c $((512 << 20)) /dev/urandom >"$tmp/master.raw"

gcmd="dd if=/dev/vdb of=/tmp/d bs=4096 count=$tool_blocks 2>/dev/null; chmod +x /tmp/d"
gcmd="$gcmd; /tmp/d /dev/vda seqwrite 256 0 0 && /tmp/d /dev/vda seqread 256 $secs 0"
gcmd="$gcmd && /tmp/d /dev/vda randwrite 256 $secs 256 && /tmp/d /dev/vda randread 256 $secs 256"
gcmd="$gcmd && /tmp/d /dev/vda randwrite 256 $secs 256 16 && /tmp/d /dev/vda randread 256 $secs 256 16"
ntests=6

# prepare CONFIG: (re)build $tmp/disk.img; prints its format.
prepare() {
	rm -f "$tmp/disk.img"
	case $1 in
	raw) cp --sparse=never "$tmp/master.raw" "$tmp/disk.img"; echo raw ;;
	qcow2-fresh) "$RINGVM" img create -q -f qcow2 "$tmp/disk.img" 512M >/dev/null; echo qcow2 ;;
	qcow2-alloc) "$RINGVM" img convert -q -f raw -O qcow2 "$tmp/master.raw" "$tmp/disk.img"; echo qcow2 ;;
	esac
	sync "$tmp/disk.img"
}

# boot ENGINE CACHE CONFIG RUN: one boot; appends "CONFIG MODE MB/s IOPS"
# lines to $tmp/ENGINE-CACHE.dat.
nfailed=0
boot() {
	local engine=$1 cache=$2 config=$3 run=$4 log=$tmp/$1.$2.$3.$4 fmt st
	fmt=$(prepare "$config")
	set +e
	if [ "$engine" = ringvm ]; then
		timeout -k 10 "$run_timeout" "$RINGVM" run --mem 512M --cpus 1 \
			--kernel "$GUEST/Image" --initrd "$GUEST/initrd.img" --disk "$tmp/disk.img,cache=$cache" --disk "$tmp/tool.raw,ro" \
			--cmdline "ringvm.cmd=\"$gcmd\"" </dev/null >"$log" 2>"$log.err"
	else
		timeout -k 10 "$run_timeout" "$QEMU" -M virt -bios default -m 512M -smp 1 \
			-nographic -kernel "$GUEST/Image" -initrd "$GUEST/initrd.img" \
			-append "console=ttyS0 ringvm.cmd=\"$gcmd\"" \
			-drive "if=none,id=d0,file=$tmp/disk.img,format=$fmt,cache=$cache" \
			-device virtio-blk-device,drive=d0 \
			-drive "if=none,id=d1,file=$tmp/tool.raw,format=raw,readonly=on" \
			-device virtio-blk-device,drive=d1 </dev/null >"$log" 2>"$log.err"
	fi
	st=$?
	set -e
	tr -d '\r' <"$log" >"$log.txt"
	if [ "$st" -ne 0 ] || ! grep -q '^RINGVM-CMD-EXIT 0$' "$log.txt" ||
		[ "$(grep -c '^RESULT ' "$log.txt")" -ne "$ntests" ]; then
		echo "  $engine cache=$cache $config run $run failed (exit status $st); log tail:" >&2
		tail -n 5 "$log.txt" "$log.err" | sed 's/^/    /' >&2
		nfailed=$((nfailed + 1))
		return 0
	fi
	awk -v c="$config" '$1 == "RESULT" { print c, $2, $6, $7 }' "$log.txt" >>"$tmp/$engine-$cache.dat"
}

echo "bench/disk.sh: $runs run(s) each, ${secs}s per timed test, kernel $(cat "$GUEST/VERSION" 2>/dev/null || echo '?')"
echo "QEMU: $("$QEMU" --version 2>/dev/null | head -n1); cache modes: $caches"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
for i in $(seq 1 "$runs"); do
	for k in $caches; do
		for c in $configs; do
			echo "  run $i/$runs: cache=$k $c" >&2
			boot ringvm "$k" "$c" "$i"
			[ "$use_qemu" = 0 ] || boot qemu "$k" "$c" "$i"
		done
	done
done

# med ENGINE-CACHE CONFIG MODE COL: median of column COL (3 = MB/s,
# 4 = IOPS).
med() {
	[ -s "$tmp/$1.dat" ] || { echo -; return; }
	awk -v c="$2" -v m="$3" -v k="$4" '$1 == c && $2 == m { print $k }' "$tmp/$1.dat" | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			printf "%g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'
}
for k in $caches; do
	echo
	echo "cache=$k (ringvm and QEMU alike):"
	printf '%-12s %-15s %-6s %10s %10s %12s %14s %14s\n' image test unit ringvm QEMU ringvm/QEMU "qcow2/raw(rv)" "qcow2/raw(qemu)"
	for c in $configs; do
		for m in seqwrite seqread randwrite randread randwrite-qd16 randread-qd16; do
			case $m in seq*) n=3 u=MB/s ;; *) n=4 u=IOPS ;; esac
			r=$(med "ringvm-$k" "$c" "$m" $n); q=$(med "qemu-$k" "$c" "$m" $n)
			rr=-; qr=-
			if [ "$c" != raw ]; then
				rr=$(ratio "$r" "$(med "ringvm-$k" raw "$m" $n)")
				qr=$(ratio "$q" "$(med "qemu-$k" raw "$m" $n)")
			fi
			printf '%-12s %-15s %-6s %10s %10s %12s %14s %14s\n' "$c" "$m" "$u" "$r" "$q" "$(ratio "$r" "$q")" "$rr" "$qr"
		done
	done
done

if [ "$do_convert" = 1 ]; then
	echo
	echo "host-side convert, 1 GiB image (768 MiB data + 256 MiB hole), best of 3 (s):"
	head -c $((512 << 20)) "$tmp/master.raw" >"$tmp/big.raw"; head -c $((256 << 20)) "$tmp/master.raw" >>"$tmp/big.raw"
	truncate -s 1G "$tmp/big.raw"
	rm -f "$tmp/master.raw" "$tmp/disk.img"
	"$QEMU_IMG" convert -f raw -O qcow2 "$tmp/big.raw" "$tmp/big.qcow2"
	best() {  # best OUT CMD...: best wall time of 3 runs
		local t0 t1 b=999999 i
		for i in 1 2 3; do
			rm -f "$1"
			t0=$(date +%s%N)
			"${@:2}" >/dev/null || die "convert failed: ${*:2}"
			t1=$(date +%s%N)
			b=$(awk -v a="$b" -v d="$(( (t1 - t0) / 1000000 ))" 'BEGIN { print (d / 1000 < a) ? d / 1000 : a }')
		done
		echo "$b"
	}
	# ringvm always flushes the output; qemu-img's default cache mode for
	# convert (unsafe) does not, -t writeback does (at close).
	printf '%-14s %10s %10s %14s %12s %16s\n' direction ringvm qemu-img "qemu-img -t wb" ringvm/qemu-img "ringvm/(-t wb)"
	for d in raw:qcow2 qcow2:raw; do
		f=${d%%:*} o=${d#*:}
		r=$(best "$tmp/out.$o" "$RINGVM" img convert -q -f "$f" -O "$o" "$tmp/big.$f" "$tmp/out.$o")
		q=$(best "$tmp/out.$o" "$QEMU_IMG" convert -f "$f" -O "$o" "$tmp/big.$f" "$tmp/out.$o")
		w=$(best "$tmp/out.$o" "$QEMU_IMG" convert -t writeback -f "$f" -O "$o" "$tmp/big.$f" "$tmp/out.$o")
		printf '%-14s %10s %10s %14s %12s %16s\n' "$f->$o" "$r" "$q" "$w" "$(ratio "$r" "$q")" "$(ratio "$r" "$w")"
	done
fi
[ "$nfailed" -eq 0 ] || die "$nfailed boot(s) failed"
