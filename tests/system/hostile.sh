#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# A hostile Linux guest: detach the driver from a virtio disk and program its
# virtio-mmio registers by hand (tests/system/guest/hostile-check, sent on the
# kernel command line as a script on the first disk).  ringvm must neither
# crash nor hang nor write the read-only image, and the guest's other disk
# must keep working; every register value and fault the guest observes is
# checked against virtio 1.2 §4.2.2 and ringvm's virtio-mmio.  Uses
# build/asan/ringvm when present (sanitizers catch
# out-of-bounds device accesses), else build/ringvm.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="hostile/exit-0 hostile/no-sanitizer-report hostile/driver-detached hostile/completed
	hostile/other-disk-works hostile/ro-image-unchanged hostile/id-registers
	hostile/queue-num-max hostile/ring-outside-ram hostile/ring-straddles-ram-end
	hostile/queue-99 hostile/odd-reads hostile/write-faults hostile/after-junk
	hostile/reset"
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

# What each attack must observe, from virtio 1.2 §4.2.2 and ringvm's
# virtio-mmio (src/hw/virtio_mmio.c).  devmem prints 0x + width/4 hex digits;
# an access the bus refuses is an access fault, which devmem dies of (r prints
# "fault", w prints "RVT write-fault OFFSET").
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# Identification registers, read with the driver detached.
expect hostile/id-registers "$(val magic | cut -d' ' -f1-5)" \
	"0x74726976 version 0x00000002 id 0x00000002"
expect hostile/queue-num-max "$(val queue-num-max)" 0x00000100
# A ring outside RAM, or straddling its end, is refused when QueueReady is
# written (virtq_enable fails): DEVICE_NEEDS_RESET (0x40) is set on top of
# the driver's ACK|DRIVER|FEATURES_OK|DRIVER_OK (0xf).  No interrupt: the
# config-change interrupt is raised only when DRIVER_OK was already set.
expect hostile/ring-outside-ram "$(val outside)" "status 0x0000004F isr 0x00000000"
expect hostile/ring-straddles-ram-end "$(val straddle)" "status 0x0000004F isr 0x00000000"
# A queue that does not exist: QueueNumMax 0, its registers ignored, the
# device stays healthy and quiet.
expect hostile/queue-99 "$(val queue99-num-max) $(val "queue99 ")" \
	"0x00000000 status 0x0000000F isr 0x00000000"
# Registers below 0x100 take only aligned 32-bit accesses (§4.2.2.2): 8-,
# 16-, 64-bit and unaligned reads fault.  Config space (0x100..0x1ff) takes
# any aligned width: capacity's low byte (1 MiB = 0x800 sectors) is 0, and
# past virtio-blk's config it reads as zero.  0x200 and 0xffc are outside
# the device's 0x200-byte window: nothing answers, they fault.
expect hostile/odd-reads "$(val odd-reads)" \
	"fault fault fault fault 0x00 0x00000000 fault fault"
# Writes to read-only registers and config space are ignored; only the two
# writes outside the window fault.
got=$(sed -n 's/^RVT write-fault //p' "$log.txt" | tr '\n' ' ')
expect hostile/write-faults "${got% }" "0x200 0xffc"
expect hostile/after-junk "$(val after-junk)" "magic 0x74726976 id 0x00000002"
# Writing 0 to Status resets the device (§4.2.2.1): Status reads 0.
expect hostile/reset "$(val reset)" "status 0x00000000"
