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
