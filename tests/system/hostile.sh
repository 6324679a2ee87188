#!/bin/bash
# A hostile Linux guest: detach the driver from a virtio disk and program its
# virtio-mmio registers by hand (tests/system/guest/hostile-check, sent on the
# kernel command line as a script on the first disk).  ringvm must neither
# crash nor hang nor write the read-only image, and the guest's other disk
# must keep working.  Uses build/asan/ringvm when present (sanitizers catch
# out-of-bounds device accesses), else build/ringvm.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="hostile/exit-0 hostile/no-sanitizer-report hostile/driver-detached hostile/completed
	hostile/other-disk-works hostile/ro-image-unchanged"
if [ -z "${RINGVM_HOSTILE:-}" ] && [ -x build/asan/ringvm ]; then
	RINGVM=build/asan/ringvm
	BOOT_TIMEOUT=$((BOOT_TIMEOUT * 2))
	# Memory errors, undefined behaviour and leaks all count as failures.
fi
RINGVM=${RINGVM_HOSTILE:-$RINGVM}
need_ringvm $names
need_guest $names
echo "# hostile: using $RINGVM"

# vda: the script plus known data (raw: script, zero padding to 64 KiB, random);
# vdb: the victim, read-only.
head -c 1048576 /dev/urandom >"$scratch/data.img"
script=tests/system/guest/hostile-check
[ "$(wc -c <"$script")" -lt 65536 ] || { fail hostile/exit-0 "$script too large"; exit 1; }
dd if="$script" of="$scratch/data.img" conv=notrunc status=none
dd if=/dev/zero of="$scratch/data.img" bs=1 seek="$(wc -c <"$script")" \
	count=$((65536 - $(wc -c <"$script"))) conv=notrunc status=none
want_vda=$(head -c 1048576 "$scratch/data.img" | sha256sum | cut -d' ' -f1)
head -c 1048576 /dev/urandom >"$scratch/victim.img"
victim_sum=$(sha256sum <"$scratch/victim.img" | cut -d' ' -f1)

gcmd="head -c 65536 /dev/vda | tr -d '\\000' >/tmp/h && sh /tmp/h"
log=$scratch/hostile
run_guest "$log" --kernel "$GUEST/Image" --initrd "$GUEST/initrd.img" --disk "$scratch/data.img" --disk "$scratch/victim.img,ro" \
	--cmdline "ringvm.cmd=\"$gcmd\""
status_ok hostile/exit-0 "$log"
echo "# hostile: ${run_secs}s wall, exit $run_status"
if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer' "$log.err"; then
	fail hostile/no-sanitizer-report "$(grep -m1 -E 'ERROR|runtime error' "$log.err")"
else
	pass hostile/no-sanitizer-report
fi
val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
if has "$log" '^RVT unbound ok$'; then pass hostile/driver-detached
else fail hostile/driver-detached "could not unbind vdb's driver (victim: '$(val victim)')"; fi
if has "$log" '^RVT end$'; then pass hostile/completed
else fail hostile/completed "the guest script did not finish"; fi
if [ "$(val vda-sha)" = "$want_vda" ]; then pass hostile/other-disk-works
else fail hostile/other-disk-works "vda read back '$(val vda-sha)'"; fi
if [ "$(sha256sum <"$scratch/victim.img" | cut -d' ' -f1)" = "$victim_sum" ]; then
	pass hostile/ro-image-unchanged
else
	fail hostile/ro-image-unchanged "the read-only image was modified"
fi
sed -n 's/^RVT \(victim\|magic\|queue\|outside\|straddle\|queue99\|odd\|after\|reset\|write-fault\)/# guest: \1/p' "$log.txt"
