#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Boot the default guest with a ringvm.cmd and check the whole path: kernel,
# initramfs /init, RINGVM-GUEST-READY, the command's output and status, and
# poweroff -> ringvm exit 0.  A second boot checks a failing command's status
# is reported and still powers off cleanly.  boot/engine checks the guest
# ran on the engine asked for: RINGVM_ACCEL (tests/run-all.sh's second pass
# sets it to interp), else the JIT.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="boot/exit-0 boot/guest-ready boot/cmd-output boot/cmd-exit-0 boot/kernel-version
	boot/cmd-status-7 boot/engine"
need_ringvm $names
need_guest $names

log=$scratch/boot
run_guest "$log" --stats --cmdline 'ringvm.cmd="echo ringvm-hello $((6*7)); uname -r"'
status_ok boot/exit-0 "$log"
# --stats adds a "jit:" line when blocks were translated.
case ${RINGVM_ACCEL:-jit} in
interp) check boot/engine "RINGVM_ACCEL=interp, but --stats reports translated blocks" \
		eval '! grep -q "^ringvm: jit: " "$log.err"' ;;
*) check boot/engine "no translated blocks in --stats (want the JIT)" \
		grep -qE "^ringvm: jit: [1-9][0-9]* blocks translated" "$log.err" ;;
esac
check boot/guest-ready "no RINGVM-GUEST-READY line on the console" has "$log" '^RINGVM-GUEST-READY$'
check boot/cmd-output "ringvm.cmd output 'ringvm-hello 42' missing" has "$log" '^ringvm-hello 42$'
check boot/cmd-exit-0 "no 'RINGVM-CMD-EXIT 0' line" has "$log" '^RINGVM-CMD-EXIT 0$'
check boot/kernel-version "uname -r did not print $(cat "$GUEST/VERSION" 2>/dev/null)" \
	has "$log" "^$(sed 's/[.+]/\\&/g' "$GUEST/VERSION")\$"
echo "# boot: ${run_secs}s wall, exit $run_status"

if [ "$run_status" = 124 ] || [ "$run_status" = 137 ]; then
	fail boot/cmd-status-7 "not run: the first boot timed out"
	exit 1
fi
log=$scratch/boot7
run_guest "$log" --cmdline 'ringvm.cmd="exit 7"'
if [ "$run_status" = 0 ] && has "$log" '^RINGVM-CMD-EXIT 7$'; then
	pass boot/cmd-status-7
else
	fail boot/cmd-status-7 "want 'RINGVM-CMD-EXIT 7' and exit 0, got exit $run_status$(has "$log" '^RINGVM-CMD-EXIT' && echo ", $(grep -m1 '^RINGVM-CMD-EXIT' "$log.txt")")"
fi
echo "# boot (exit 7): ${run_secs}s wall"
