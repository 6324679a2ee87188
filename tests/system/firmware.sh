#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Real M-mode firmware and the other kernel paths, one boot each:
#  1. Debian's OpenSBI (fw_dynamic) on 2 harts boots a gzip-compressed copy of
#     the default kernel; the guest sees 2 harts and `reboot -f` ends ringvm
#     (--no-reboot)
#     with exit 0.  Proves M-mode, traps, CLINT/PLIC and fw_dynamic_info.
#     Then without --no-reboot: OpenSBI's reset reboots the machine (banner
#     twice) and the second boot powers off.
#  2. A kernel panic with panic=-1 is visible on the console and ends in
#     exit 0 through the reboot that follows (--no-reboot).
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="firmware/opensbi-exit-0 firmware/opensbi-banner firmware/opensbi-ready
	firmware/opensbi-two-harts firmware/gzip-kernel firmware/reboot-exit-0
	firmware/panic-visible firmware/panic-exit-0 firmware/opensbi-reboot"
need_ringvm $names
need_guest $names

fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
if [ ! -r "$fw" ]; then
	for n in $names; do
		case $n in firmware/panic*) ;; *) fail "$n" "$fw missing (apt-get install opensbi)" ;; esac
	done
else
	gzip -c "$GUEST/Image" >"$scratch/Image.gz"
	log=$scratch/opensbi
	run_guest "$log" --no-reboot --bios "$fw" --cpus 2 --kernel "$scratch/Image.gz" \
		--initrd "$GUEST/initrd.img" \
		--cmdline 'ringvm.cmd="echo harts=$(nproc); reboot -f"'
	status_ok firmware/opensbi-exit-0 "$log"
	check firmware/opensbi-banner "no OpenSBI banner" has "$log" '^OpenSBI v'
	check firmware/opensbi-ready "no RINGVM-GUEST-READY" has "$log" '^RINGVM-GUEST-READY$'
	check firmware/opensbi-two-harts "guest did not see 2 harts" has "$log" '^harts=2$'
	check firmware/gzip-kernel "the gzip'd kernel did not start" has "$log" 'Linux version'
	check firmware/reboot-exit-0 "reboot -f did not reach the firmware's reset" \
		has "$log" 'reboot: Restarting system'
	echo "# firmware (OpenSBI, 2 harts): ${run_secs}s wall, exit $run_status"

	# Without --no-reboot, OpenSBI's reset (sifive_test 0x7777) reboots:
	# firmware and kernel come back from ringvm's in-memory copies; the
	# second boot sees the first one's disk marker and powers off.
	gcmd='case $(dd if=/dev/vda bs=6 count=1 2>/dev/null) in BOOTED) echo RVT second-boot;; *) printf BOOTED | dd of=/dev/vda conv=notrunc 2>/dev/null; sync; reboot -f;; esac'
	truncate -s 1M "$scratch/marker.img"
	log=$scratch/opensbi-reboot
	run_guest "$log" --bios "$fw" --disk "$scratch/marker.img,format=raw" \
		--cmdline "ringvm.cmd=\"$gcmd\""
	n=$(grep -c '^OpenSBI v' "$log.txt" || true)
	if [ "$run_status" = 0 ] && [ "$n" = 2 ] && has "$log" '^RVT second-boot$'; then
		pass firmware/opensbi-reboot
	else
		fail firmware/opensbi-reboot "exit $run_status, OpenSBI banner $n times$(has "$log" '^RVT second-boot$' || echo ', no second boot')"
	fi
	echo "# firmware (OpenSBI reboot): ${run_secs}s wall, exit $run_status"
fi

log=$scratch/panic
run_guest "$log" --no-reboot --cmdline 'panic=-1 ringvm.cmd="echo c >/proc/sysrq-trigger"'
status_ok firmware/panic-exit-0 "$log"
check firmware/panic-visible "no 'Kernel panic' on the console" has "$log" 'Kernel panic'
echo "# panic: ${run_secs}s wall, exit $run_status"
