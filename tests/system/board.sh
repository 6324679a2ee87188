#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# The board devices a distribution expects, on the default guest:
#  1. goldfish RTC: /dev/rtc0 exists and the guest's `date +%s` is within
#     2 s of the host's at the moment the line reaches the console (the
#     kernel set its clock from the RTC at boot, CONFIG_RTC_HCTOSYS);
#  2. virtio-rng: /dev/hwrng exists, is the virtio driver, and reads;
#     --no-rng leaves it out;
#  3. reboot: the guest marks a raw disk and runs `reboot -f`; the machine
#     resets and boots again (kernel banner twice), the second boot sees
#     the marker and powers off with exit 0.  With --no-reboot the reboot
#     ends ringvm with exit 0 after one boot.  The first boot sets the RTC
#     (`hwclock -w`); the second boot's clock comes from it.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="board/rtc-exit-0 board/rtc-dev board/rtc-date board/rtc-name
	board/rng-dev board/rng-current board/rng-read board/no-rng
	board/reboot-exit-0 board/reboot-twice board/reboot-marker
	board/rtc-set-survives-reboot
	board/no-reboot-exit-0 board/no-reboot-once"
need_ringvm $names
need_guest $names

# Console lines prefixed with the host's epoch second when they arrived.
log=$scratch/clock
t0=$(date +%s.%N)
set +e
timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run --cmdline 'ringvm.cmd="echo RVT date $(date +%s); [ -c /dev/rtc0 ] && echo RVT rtc-dev ok; [ -c /dev/hwrng ] && echo RVT rng-dev ok; echo RVT rtc-name $(cat /sys/class/rtc/rtc0/name); echo RVT rng $(cat /sys/class/misc/hw_random/rng_current); echo RVT rng-bytes $(head -c 64 /dev/hwrng | wc -c)"' \
	</dev/null 2>"$log.err" | while IFS= read -r line; do
		# No filter before this loop: a pipe would buffer the lines
		# and stamp them late.
		printf '%(%s)T %s\n' -1 "${line%$'\r'}"
	done >"$log.txt"
run_status=${PIPESTATUS[0]}
set -e
status_ok board/rtc-exit-0 "$log"
echo "# clock/rng boot: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s wall"

# val KEY: what follows "RVT KEY " on the console.
val() { sed -n "s/^[0-9]* RVT $1 //p" "$log.txt" | head -n1; }
check board/rtc-dev "no /dev/rtc0" test "$(val rtc-dev)" = ok
line=$(grep -m1 '^[0-9]* RVT date ' "$log.txt" || true)
host=${line%% *}
guest=${line##* }
if [ -z "$line" ]; then
	fail board/rtc-date "no date line from the guest"
elif [ $((guest - host)) -le 2 ] && [ $((host - guest)) -le 2 ]; then
	pass board/rtc-date
	echo "# guest date $guest, host $host"
else
	fail board/rtc-date "guest date $guest, host $host"
fi
case $(val rtc-name) in
goldfish_rtc*) pass board/rtc-name ;;
*) fail board/rtc-name "rtc0 is '$(val rtc-name)', not goldfish_rtc" ;;
esac
check board/rng-dev "no /dev/hwrng" test "$(val rng-dev)" = ok
case $(val rng) in
virtio_rng*) pass board/rng-current ;;
*) fail board/rng-current "rng_current is '$(val rng)'" ;;
esac
if [ "$(val rng-bytes)" = 64 ]; then pass board/rng-read; else fail board/rng-read "read '$(val rng-bytes)' bytes"; fi

log=$scratch/norng
run_guest "$log" --no-rng --cmdline 'ringvm.cmd="echo RVT hwrng-$(ls /sys/class/misc/hw_random/rng_current >/dev/null 2>&1 && cat /sys/class/misc/hw_random/rng_current)"'
if [ "$run_status" = 0 ] && has "$log" '^RVT hwrng-(none)?$'; then
	pass board/no-rng
else
	fail board/no-rng "exit $run_status, $(grep '^RVT hwrng' "$log.txt" || echo 'no answer')"
fi

# First boot: no marker -> write it and reboot; second boot: marker -> off.
# The first boot also sets the RTC (hwclock -w) to 2033-05-18: the second
# boot's clock must come from it (the RTC keeps time across a reset), and
# the host's clock must not move.
gcmd='case $(dd if=/dev/vda bs=6 count=1 2>/dev/null) in BOOTED) echo RVT second-boot; echo RVT date2 $(date +%s);; *) echo RVT first-boot; printf BOOTED | dd of=/dev/vda conv=notrunc 2>/dev/null; sync; date -s @2000000000 >/dev/null; hwclock -w -u; reboot -f;; esac'
truncate -s 1M "$scratch/marker.img"
log=$scratch/reboot
run_guest "$log" --disk "$scratch/marker.img,format=raw" --cmdline "ringvm.cmd=\"$gcmd\""
status_ok board/reboot-exit-0 "$log"
n=$(grep -c 'Linux version' "$log.txt" || true)
if [ "$n" = 2 ]; then pass board/reboot-twice; else fail board/reboot-twice "kernel banner $n times"; fi
if has "$log" '^RVT first-boot$' && has "$log" '^RVT second-boot$'; then
	pass board/reboot-marker
else
	fail board/reboot-marker "first/second boot lines missing: $(grep '^RVT' "$log.txt" | tr '\n' ' ')"
fi
d2=$(sed -n 's/^RVT date2 //p' "$log.txt" | head -n1)
if [ -n "$d2" ] && [ "$d2" -ge 2000000000 ] && [ "$d2" -le 2000000300 ] &&
	[ "$(date +%s)" -lt 2000000000 ]; then
	pass board/rtc-set-survives-reboot
else
	fail board/rtc-set-survives-reboot "second boot's date '$d2', want 2000000000 + a few s; host $(date +%s)"
fi
echo "# reboot: ${run_secs}s wall, exit $run_status"

truncate -s 0 "$scratch/marker.img"
truncate -s 1M "$scratch/marker.img"
log=$scratch/noreboot
run_guest "$log" --no-reboot --disk "$scratch/marker.img,format=raw" --cmdline "ringvm.cmd=\"$gcmd\""
status_ok board/no-reboot-exit-0 "$log"
n=$(grep -c 'Linux version' "$log.txt" || true)
if [ "$n" = 1 ] && ! has "$log" '^RVT second-boot$'; then
	pass board/no-reboot-once
else
	fail board/no-reboot-once "kernel banner $n times"
fi
