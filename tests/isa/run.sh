#!/bin/sh
# Build and run ringvm's ISA tests (tests/isa/*.c, *.S), one PASS/FAIL line
# per test program.
#
#   tests/isa/run.sh [--qemu | --accel MODE] [name...]
#
# RINGVM      ringvm binary (default build/asan/ringvm)
# ISA_OUT     build directory (default build/isa)
# --accel M   run ringvm with --accel M (interp, jit, jit-verify); results
#             are named isa/M/NAME
# --qemu      run under qemu-system-riscv64 -M virt instead (to validate the
#             tests themselves; multi-threaded TCG, so the SMP tests run
#             their harts concurrently); tests then exit through
#             sifive_test/SRST.
#
# Conventions: tests named sbi*.c run in S-mode under ringvm's built-in SBI
# (no --bios) and are linked at 0x80200000; the others run bare in M-mode
# (--bios none).  A line "RINGVM-ARGS: ..." in a test's source adds ringvm
# options (e.g. --cpus 2); "RINGVM-EXPECT-OUTPUT: text" requires that text
# on the console.  A test exiting 0 must have printed "rt: pass" (so an early
# clean shutdown is not a pass).  Tests marked RINGVM-PTY (hostile-*) run
# under a pseudo-terminal and must be stopped with Ctrl-A x within 5 s,
# leaving the terminal settings as they were.  "RINGVM-EXPECT-EXIT: N"
# (and "QEMU-EXPECT-EXIT: N") make the exit status the result (htif-fail
# checks the failure path itself).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1

CROSS=${CROSS:-riscv64-linux-gnu-}
CC=${CROSS}gcc
RINGVM=${RINGVM:-build/asan/ringvm}
OUT=${ISA_OUT:-build/isa}
QEMU=
ACCEL=
if [ "${1:-}" = "--qemu" ]; then
	QEMU=qemu-system-riscv64
	OUT=${ISA_OUT:-build/isa-qemu}
	shift
elif [ "${1:-}" = "--accel" ]; then
	ACCEL=${2:?--accel needs interp, jit or jit-verify}
	shift 2
fi
# Result names: isa/NAME, or isa/ACCEL/NAME under --accel.
tag=isa${ACCEL:+/$ACCEL}

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP isa: ${CC} missing"
	exit 0
fi
if [ -z "$QEMU" ] && [ ! -x "$RINGVM" ]; then
	echo "SKIP isa: $RINGVM not built"
	exit 0
fi

mkdir -p "$OUT"

CFLAGS="-O2 -g -march=rv64gc_zba_zbb_zbs_zicsr_zifencei -mabi=lp64d \
 -mcmodel=medany -nostdlib -nostartfiles -static -fno-pie -no-pie \
 -ffreestanding -fno-builtin -fno-stack-protector \
 -fno-asynchronous-unwind-tables -Wall -Werror -I$here/rt \
 -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T $here/link.ld"

fails=0

# run_pty ELF LOG: start ringvm (or QEMU) on a pseudo-terminal, send
# Ctrl-A x after 2 s, require an exit within 5 s and the terminal settings
# restored.  Prints "ok" or a reason.
run_pty() {
	python3 - "$@" <<'EOF'
import os, sys, time, termios, select, signal, pty
argv = sys.argv[3:]
log = open(sys.argv[2], "wb")
master, slave = os.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.setsid()
    import fcntl
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.close(slave)
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)

def drain(t):
    end = time.time() + t
    while True:
        left = end - time.time()
        if left <= 0:
            return
        r, _, _ = select.select([master], [], [], left)
        if r:
            try:
                d = os.read(master, 4096)
            except OSError:
                time.sleep(left if left < 0.05 else 0.05)
                continue
            log.write(d)

def reaped():
    p, st = os.waitpid(pid, os.WNOHANG)
    return (p != 0), st

drain(2.0)
done, st = reaped()
if done:
    print("exited before Ctrl-A x (status %d)" % st)
    sys.exit(0)
os.write(master, b"\x01x")
t0 = time.time()
while time.time() - t0 < 5.0:
    drain(0.1)
    done, st = reaped()
    if done:
        break
if not done:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print("did not exit within 5 s of Ctrl-A x")
    sys.exit(0)
after = termios.tcgetattr(slave)
if before[:6] != after[:6]:
    print("terminal settings not restored (before %r after %r)" % (before[:4], after[:4]))
    sys.exit(0)
if os.WIFSIGNALED(st):
    print("killed by signal %d" % os.WTERMSIG(st))
    sys.exit(0)
print("ok (exit status %d after %.2f s)" % (os.WEXITSTATUS(st), time.time() - t0))
EOF
}

# first FAIL message of a log, on one line
first_fail() {
	grep -a -m1 -E 'FAIL|rt: ' "$1" 2>/dev/null | tr -d '\r' | cut -c1-200
}

tests=
for src in "$here"/*.c "$here"/*.S; do
	[ -e "$src" ] || continue
	name=$(basename "$src")
	name=${name%.*}
	if [ $# -gt 0 ]; then
		want=0
		for n in "$@"; do [ "$n" = "$name" ] && want=1; done
		[ $want = 1 ] || continue
	fi
	tests="$tests $src"
done

for src in $tests; do
	name=$(basename "$src")
	name=${name%.*}
	elf="$OUT/$name.elf"
	log="$OUT/$name${ACCEL:+.$ACCEL}.log"
	sbi=0
	case "$name" in sbi*) sbi=1 ;; esac
	defs=
	[ -n "$QEMU" ] && defs="-DRT_QEMU"
	[ $sbi = 1 ] && defs="$defs -DRT_SBI -Wl,--defsym=RT_BASE=0x80200000"
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS $defs "$here/rt/crt0.S" "$here/rt/rt.c" \
		"$here/rt/vm.c" "$src" -o "$elf" >"$OUT/$name.build.log" 2>&1; then
		echo "FAIL $tag/$name: build failed (see $OUT/$name.build.log)"
		fails=$((fails + 1))
		continue
	fi
	extra=$(sed -n 's/.*RINGVM-ARGS:[[:space:]]*//p' "$src" | sed 's/[[:space:]]*\*\/.*//' | head -n1)
	# Lockstep checks one hart: another hart's stores between the
	# translated run and the interpreter's replay make them differ
	# (jit/jit.h).  Multi-hart tests are not jit-verify tests: they run
	# under --accel jit (run-jit.sh runs both), so nothing is reported.
	ncpu=$(echo "$extra" | sed -n 's/.*--cpus[ =]\([0-9]*\).*/\1/p')
	if [ "$ACCEL" = jit-verify ] && [ "${ncpu:-1}" -gt 1 ]; then
		continue
	fi
	if [ -n "$QEMU" ]; then
		cpus=$(echo "$extra" | sed -n 's/.*--cpus[ =]\([0-9]*\).*/\1/p')
		bios=none
		[ $sbi = 1 ] && bios=default
		# one host thread per hart, so the SMP tests see real concurrency
		set -- $QEMU -M virt -m 64M -smp "${cpus:-1}" -accel tcg,thread=multi -nographic \
			-bios $bios -kernel "$elf"
	else
		if [ $sbi = 1 ]; then
			set -- "$RINGVM" run --kernel "$elf" --mem 64M
		else
			set -- "$RINGVM" run --bios none --kernel "$elf" --mem 64M
		fi
		# shellcheck disable=SC2086
		set -- "$@" $extra ${ACCEL:+--accel "$ACCEL"}
	fi

	if grep -q 'RINGVM-PTY' "$src"; then
		if ! command -v python3 >/dev/null 2>&1; then
			echo "FAIL $tag/$name: python3 (needed for the pseudo-terminal) missing"
			fails=$((fails + 1))
			continue
		fi
		res=$(run_pty "$elf" "$log" "$@")
		case "$res" in
		ok*) echo "PASS $tag/$name" ;;
		*) echo "FAIL $tag/$name: $res"; fails=$((fails + 1)) ;;
		esac
		continue
	fi

	timeout 60 "$@" </dev/null >"$log" 2>&1
	rc=$?
	if [ -n "$QEMU" ]; then
		want_rc=$(sed -n 's/.*QEMU-EXPECT-EXIT:[[:space:]]*\([0-9]*\).*/\1/p' "$src" | head -n1)
	else
		want_rc=$(sed -n 's/.*RINGVM-EXPECT-EXIT:[[:space:]]*\([0-9]*\).*/\1/p' "$src" | head -n1)
	fi
	if [ -n "$want_rc" ]; then
		# a test of the failure path: the exit status (and, for ringvm,
		# the failure code on stderr) is the result
		code=$(sed -n 's/.*return \([0-9][0-9]*\);.*/\1/p' "$src" | tail -n1)
		if [ "$rc" != "$want_rc" ]; then
			echo "FAIL $tag/$name: exit status $rc, want $want_rc (log $log)"
			fails=$((fails + 1))
		elif [ -z "$QEMU" ] && ! grep -aiqE "fail.*[^0-9]$code([^0-9]|\$)" "$log"; then
			echo "FAIL $tag/$name: failure code $code not reported (log $log)"
			fails=$((fails + 1))
		else
			echo "PASS $tag/$name"
		fi
		continue
	fi
	expect=$(sed -n 's/.*RINGVM-EXPECT-OUTPUT:[[:space:]]*//p' "$src" | sed 's/[[:space:]]*\*\/.*//' | head -n1)
	if [ $rc = 0 ]; then
		# a clean exit only counts once the runtime has reported a pass
		if ! grep -aq '^rt: pass' "$log"; then
			echo "FAIL $tag/$name: exited 0 before the test finished (log $log)"
			fails=$((fails + 1))
		elif [ -n "$expect" ] && ! grep -aqF "$expect" "$log"; then
			echo "FAIL $tag/$name: output lacks \"$expect\" (log $log)"
			fails=$((fails + 1))
		else
			echo "PASS $tag/$name"
		fi
		continue
	fi
	fails=$((fails + 1))
	case $rc in
	124) why="timeout after 60 s" ;;
	3) why="test failed" ;;
	*) why="exit status $rc" ;;
	esac
	msg=$(first_fail "$log")
	echo "FAIL $tag/$name: $why${msg:+: $msg} (log $log)"
done

[ $fails = 0 ]
