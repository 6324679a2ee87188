#!/bin/bash
# Bad command lines and files: each must make `ringvm run` exit 1 with exactly
# one line on stderr naming the culprit (file name, option name or "mem" /
# "cpus"), quickly, and never crash (status >= 128) or boot anyway.
# Runs against build/ringvm, and again against build/asan/ringvm when it exists
# (with leak detection off).
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

CASE_TIMEOUT=${RINGVM_BAD_INPUT_TIMEOUT:-20}
need_ringvm bad-input/binary
need_guest bad-input/guest

# Files for the cases.
printf 'not a kernel\n' >"$scratch/garbage.bin"
head -c 65536 /dev/urandom >"$scratch/random.bin"
: >"$scratch/empty.bin"
mkdir -p "$scratch/a-directory"
x86_elf=$(readlink -f "$(type -P true)")   # a host (x86-64) ELF executable
truncate -s 1M "$scratch/ok-disk.img"
# FIFOs (no writer: an open(O_RDONLY) would block forever) and images that
# name one, or a host block device, as their backing file.
mkfifo "$scratch/a.fifo"
"$RINGVM" img create -q -f qcow2 -u -b a.fifo -F raw "$scratch/fifo-backed.qcow2" 1M
if [ "$(id -u)" -eq 0 ] && mknod "$scratch/a.blockdev" b 7 0 2>/dev/null; then
	"$RINGVM" img create -q -f qcow2 -u -b a.blockdev -F raw "$scratch/dev-backed.qcow2" 1M
fi

# case NAME KEYWORD ARGS...: `ringvm ARGS...` must exit 1 with one stderr line
# containing KEYWORD (case-insensitive).
bin_label=
hangs=0
run_case() {
	local name=$1 key=$2 st lines
	shift 2
	if [ "$hangs" -ge 3 ]; then
		fail "bad-input$bin_label/$name" "not run: $hangs earlier bad inputs were not rejected in time"
		return 0
	fi
	set +e
	timeout -k 5 "$CASE_TIMEOUT" "$bin" "$@" </dev/null >"$scratch/out" 2>"$scratch/err"
	st=$?
	set -e
	lines=$(grep -c '' "$scratch/err" || true)
	name=bad-input$bin_label/$name
	if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
		hangs=$((hangs + 1))
		fail "$name" "not rejected: still running after ${CASE_TIMEOUT}s (ringvm $*)"
	elif [ "$st" -ge 128 ]; then
		fail "$name" "crashed with status $st (ringvm $*): $(head -c 300 "$scratch/err" | tr '\n' ' ')"
	elif [ "$st" -ne 1 ]; then
		fail "$name" "exit status $st, want 1 (ringvm $*): $(head -n 2 "$scratch/err" | tr '\n' ' ')"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, want 1: $(head -n 3 "$scratch/err" | tr '\n' ' ')"
	elif ! grep -qiF -- "$key" "$scratch/err"; then
		fail "$name" "message does not mention '$key': $(cat "$scratch/err")"
	else
		pass "$name"
	fi
}

all_cases() {
	local k=$GUEST/Image
	# Cases about other inputs name the guest explicitly, so the only thing
	# wrong is the input under test.
	local kernel=(--kernel "$GUEST/Image" --initrd "$GUEST/initrd.img")
	run_case missing-kernel no-such-vmlinux run --kernel "$scratch/no-such-vmlinux"
	run_case kernel-is-directory a-directory run --kernel "$scratch/a-directory"
	if [ "$(id -u)" -ne 0 ]; then
		cp "$scratch/garbage.bin" "$scratch/unreadable.bin"
		chmod 000 "$scratch/unreadable.bin"
		run_case unreadable-kernel unreadable.bin run --kernel "$scratch/unreadable.bin"
	fi
	run_case kernel-x86-elf "$x86_elf" run --kernel "$x86_elf"
	run_case kernel-garbage garbage.bin run --kernel "$scratch/garbage.bin"
	run_case kernel-random random.bin run --kernel "$scratch/random.bin"
	run_case kernel-empty empty.bin run --kernel "$scratch/empty.bin"
	run_case missing-initrd no-such-initrd run --kernel "$k" --initrd "$scratch/no-such-initrd"
	run_case initrd-is-directory a-directory run --kernel "$k" --initrd "$scratch/a-directory"
	run_case mem-0 mem run "${kernel[@]}" --mem 0
	run_case mem-abc mem run "${kernel[@]}" --mem abc
	run_case mem-negative mem run "${kernel[@]}" --mem -1G
	run_case mem-100T mem run "${kernel[@]}" --mem 100T
	run_case mem-overflow mem run "${kernel[@]}" --mem 99999999999999999999999G
	run_case mem-missing-value mem run --mem
	run_case cpus-0 cpus run "${kernel[@]}" --cpus 0
	run_case cpus-99 cpus run "${kernel[@]}" --cpus 99
	run_case cpus-abc cpus run "${kernel[@]}" --cpus abc
	run_case cpus-negative cpus run "${kernel[@]}" --cpus -2
	run_case cpus-missing-value cpus run --cpus
	run_case unknown-option frobnicate run "${kernel[@]}" --frobnicate
	run_case unknown-verb frobnicate frobnicate
	run_case missing-disk no-such-disk.img run "${kernel[@]}" --disk "$scratch/no-such-disk.img"
	run_case disk-is-directory a-directory run "${kernel[@]}" --disk "$scratch/a-directory"
	run_case disk-bad-flag frob run "${kernel[@]}" --disk "$scratch/ok-disk.img,frob"
	run_case missing-bios no-such-bios run "${kernel[@]}" --bios "$scratch/no-such-bios"
	run_case kernel-fifo a.fifo run --kernel "$scratch/a.fifo"
	run_case initrd-fifo a.fifo run --kernel "$k" --initrd "$scratch/a.fifo"
	run_case bios-fifo a.fifo run "${kernel[@]}" --bios "$scratch/a.fifo"
	run_case disk-fifo a.fifo run "${kernel[@]}" --disk "$scratch/a.fifo"
	run_case disk-fifo-ro a.fifo run "${kernel[@]}" --disk "$scratch/a.fifo,ro"
	run_case disk-chardev /dev/zero run "${kernel[@]}" --disk /dev/zero
	run_case disk-backing-fifo a.fifo run "${kernel[@]}" --disk "$scratch/fifo-backed.qcow2"
	run_case img-info-fifo a.fifo img info "$scratch/a.fifo"
	run_case img-info-backing-fifo a.fifo img info "$scratch/fifo-backed.qcow2"
	run_case img-convert-fifo a.fifo img convert -O raw "$scratch/a.fifo" "$scratch/out.raw"
	if [ -e "$scratch/dev-backed.qcow2" ]; then
		run_case disk-backing-blockdev backing-device= run "${kernel[@]}" --disk "$scratch/dev-backed.qcow2"
		run_case img-info-backing-blockdev a.blockdev img info "$scratch/dev-backed.qcow2"
	fi
	run_case disk-bad-format qcow9 run "${kernel[@]}" --disk "$scratch/ok-disk.img,format=qcow9"
	run_case disk-bad-cache sometimes run "${kernel[@]}" --disk "$scratch/ok-disk.img,cache=sometimes"
	run_case disk-backing-device-not-blockdev ok-disk.img run "${kernel[@]}" --disk "$scratch/fifo-backed.qcow2,backing-device=$scratch/ok-disk.img"
	run_case unknown-arch sparc run "${kernel[@]}" --arch sparc
	# --net / --mac (tests/system/net-*.sh cover the working cases).
	local m=02:00:00:00:00:01 p=${fwd_port:-47001}
	run_case net-unknown-kind frob run "${kernel[@]}" --net frob
	run_case net-empty net run "${kernel[@]}" --net ""
	run_case net-user-bad-option frob run "${kernel[@]}" --net user,frob=1
	run_case net-hostfwd-syntax hostfwd run "${kernel[@]}" --net user,hostfwd=tcp:2222
	run_case net-hostfwd-port 99999 run "${kernel[@]}" --net user,hostfwd=tcp::99999-:22
	run_case net-hostfwd-proto sctp run "${kernel[@]}" --net user,hostfwd=sctp::2222-:22
	run_case net-hostfwd-addr 300.1.1.1 run "${kernel[@]}" --net user,hostfwd=tcp:300.1.1.1:2222-:22
	run_case net-hostfwd-in-use "$p" run "${kernel[@]}" --net "user,hostfwd=tcp::$p-:22,hostfwd=tcp::$p-:23"
	run_case net-tap-bad-option frob run "${kernel[@]}" --net tap,frob
	run_case net-tap-long-ifname ifname run "${kernel[@]}" --net tap,ifname=a-very-long-interface-name
	run_case net-too-many "at most" run "${kernel[@]}" --net user --net user --net user --net user --net user
	run_case mac-garbage mac run "${kernel[@]}" --net user --mac zz:zz
	run_case mac-short mac run "${kernel[@]}" --net user --mac 02:00:00:00:01
	run_case mac-multicast multicast run "${kernel[@]}" --net user --mac 01:00:5e:00:00:01
	run_case mac-zero zero run "${kernel[@]}" --net user --mac 00:00:00:00:00:00
	run_case mac-without-net net run "${kernel[@]}" --mac "$m"
	run_case mac-twice mac run "${kernel[@]}" --net "user,mac=$m" --mac "$m"
	run_case net-mac-option-bad mac run "${kernel[@]}" --net user,mac=nonsense
}

fwd_port=$(python3 tests/system/lib/netutil.py freeport 2>/dev/null || echo 47001)
bin=$RINGVM
all_cases
if [ -x build/asan/ringvm ]; then
	# Memory errors, undefined behaviour and leaks all count as failures.
	bin=build/asan/ringvm bin_label=-asan hangs=0
	all_cases
else
	skip bad-input-asan "build/asan/ringvm not built (make asan)"
fi
