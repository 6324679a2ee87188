# Shared by the bench scripts that boot the default guest with a program of
# their own (sourced; the script sets use_qemu first).

# need_guest: ringvm, the default guest, the riscv64 cross compiler and,
# when use_qemu=1, QEMU are there.  Sets RINGVM GUEST QEMU CROSS_CC.
need_guest() {
	RINGVM=${RINGVM:-build/ringvm}
	GUEST=${GUEST:-build/guest}
	QEMU=${QEMU:-qemu-system-riscv64}
	CROSS_CC=${CROSS_CC:-riscv64-linux-gnu-gcc}
	[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
	for f in Image initrd.img; do
		[ -s "$GUEST/$f" ] || die "$GUEST/$f is missing (run make guest)"
	done
	command -v "$CROSS_CC" >/dev/null ||
		die "$CROSS_CC not found (apt-get install gcc-riscv64-linux-gnu)"
	if [ "${use_qemu:-1}" = 1 ]; then
		command -v "$QEMU" >/dev/null ||
			die "$QEMU not found (install qemu-system-misc, or use --no-qemu)"
	fi
}

# cross_build NAME [CFLAGS...]: bench/NAME.c as a static riscv64 program in
# build/bench/NAME, rebuilt only when its source changes.  Sets tool and
# tool_blocks (its size in 4 KiB blocks, for the raw disk that carries it).
cross_build() {
	local name=$1
	shift
	mkdir -p build/bench
	tool=build/bench/$name
	if [ ! -s "$tool" ] || [ "bench/$name.c" -nt "$tool" ]; then
		"$CROSS_CC" -static -O2 -Wall -Wextra "$@" -o "$tool.tmp" \
			"bench/$name.c" || die "cross-building $name failed"
		mv "$tool.tmp" "$tool"
	fi
	tool_blocks=$(( ($(stat -c %s "$tool") + 4095) / 4096 ))
}

# stats NAME COLUMN: "median min max" of a column of $tmp/NAME.dat, or
# "- - -" (empty cells and "-" ignored).
stats() {
	[ -s "$tmp/$1.dat" ] || { echo "- - -"; return; }
	awk -v c="$2" '$c != "-" && $c != "" { print $c }' "$tmp/$1.dat" | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - -"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%g %g %g\n", m, v[1], v[NR] }'
}
# cell "MEDIAN MIN MAX": "median (min-max)", or "-".
cell() {
	# shellcheck disable=SC2086
	set -- $1
	[ "$1" != - ] || { echo "-"; return; }
	printf "%.4g (%.4g-%.4g)" "$1" "$2" "$3"
}
# ratio A B: A/B as "1.23x", or "-".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'
}
