#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# `ringvm ctl SOCK stop` without the power button (--no-power-button, the
# device list of older ringvm): the reply names the SysRq method, the guest
# kernel sees sync, remount read-only and power off, and the VM ends with
# status 0.  (tests/system/api.sh covers stop through the power button.)
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="stop/boot stop/no-device stop/method-sysrq stop/sysrq-keys stop/exit-0"
need_ringvm $names
need_guest $names

sock=$scratch/vm.sock
log=$scratch/console
timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run --api "$sock" --mem 256M \
	--no-power-button \
	--cmdline 'ringvm.cmd="while :; do echo RVT-TICK; sleep 0.2; done"' \
	</dev/null >"$log" 2>"$log.err" &
vm=$!
bg_track "$vm"

# Up: the guest ticks (a line of its own: the kernel's command line echo
# holds the word too).
up=0
for _ in $(seq $((BOOT_TIMEOUT * 5))); do
	kill -0 "$vm" 2>/dev/null || break
	if [ -S "$sock" ] && [ "$(grep -c '^RVT-TICK' "$log" || true)" -ge 3 ]; then
		up=1
		break
	fi
	sleep 0.2
done
if [ $up != 1 ]; then
	for n in $names; do fail "$n" "the guest did not start ticking ($(tail -n 2 "$log.err" | tr '\n' ' '))"; done
	exit 1
fi
pass stop/boot
tr -d '\r' <"$log" >"$log.txt"
check stop/no-device "the guest found a power button" \
	test "$(grep -c 'input: ringvm power button' "$log.txt" || true)" = 0

set +e
out=$(timeout 120 "$RINGVM" ctl --json "$sock" stop --timeout 60 2>&1)
rc=$?
set -e
case $out in
*'"method":"sysrq"'*) pass stop/method-sysrq ;;
*) fail stop/method-sysrq "status $rc: $out" ;;
esac
wait_bounded "$vm" 30
run_status=$wait_status
tr -d '\r' <"$log" >"$log.txt"
if has "$log" 'sysrq: Emergency Sync' && has "$log" 'sysrq: Emergency Remount' &&
   has "$log" 'sysrq: Power Off'; then
	pass stop/sysrq-keys
else
	fail stop/sysrq-keys "the guest did not see s, u, o: $(grep sysrq "$log.txt" | tr '\n' ' ')"
fi
status_ok stop/exit-0 "$log"
