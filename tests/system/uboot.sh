#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Booting from a disk as a real machine does: `ringvm run --disk D` with no
# --kernel starts the built-in SBI, then U-Boot (build/guest/u-boot.elf, from
# Debian's u-boot-qemu), which finds the bootable partition of the virtio
# disk, reads /boot/extlinux/extlinux.conf and boots the default guest's
# kernel and initrd from it with the command line written there.  The disk is
# a tiny qcow2 made here (MBR, one ext4 partition, mkfs.ext4 -d).  Also: a
# disk without a partition table still boots the default guest, and the
# --boot/--loader option checks.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="uboot/exit-0 uboot/u-boot-ran uboot/extlinux-read uboot/extlinux-cmdline
	uboot/boot-disk-explicit uboot/no-table-default-guest uboot/bad-options
	uboot/no-autoboot-wait"
need_ringvm $names
need_guest $names
if [ ! -s "$GUEST/u-boot.elf" ]; then
	for n in $names; do fail "$n" "$GUEST/u-boot.elf missing (make guest)"; done
	exit 1
fi
for tool in mkfs.ext4 sfdisk; do
	command -v $tool >/dev/null || { for n in $names; do skip "$n" "$tool not installed"; done; exit 0; }
done

# The disk: the partition starts at 1 MiB; the command proves the kernel
# line came from extlinux.conf.
root=$scratch/root
mkdir -p "$root/boot/extlinux"
cp "$GUEST/Image" "$GUEST/initrd.img" "$root/boot/"
cat >"$root/boot/extlinux/extlinux.conf" <<'CONF'
default ringvm
timeout 0
label ringvm
	kernel /boot/Image
	initrd /boot/initrd.img
	append console=ttyS0 ringvm.cmd="echo extlinux-append-ok"
CONF
truncate -s 47M "$scratch/part.raw"
mkfs.ext4 -q -d "$root" "$scratch/part.raw"
truncate -s 48M "$scratch/disk.raw"
echo 'start=2048, type=83, bootable' | sfdisk -q "$scratch/disk.raw"
dd if="$scratch/part.raw" of="$scratch/disk.raw" bs=1M seek=1 conv=notrunc status=none
"$RINGVM" img convert -O qcow2 "$scratch/disk.raw" "$scratch/disk.qcow2"
rm -rf "$root" "$scratch/part.raw"

log=$scratch/auto
run_guest "$log" --disk "$scratch/disk.qcow2"
status_ok uboot/exit-0 "$log"
check uboot/u-boot-ran "no U-Boot banner on the console" has "$log" '^U-Boot 20[0-9][0-9]\.'
check uboot/extlinux-read "U-Boot did not find /boot/extlinux/extlinux.conf" \
	has "$log" 'Found /boot/extlinux/extlinux.conf'
if has "$log" '^extlinux-append-ok$' && has "$log" '^RINGVM-CMD-EXIT 0$'; then
	pass uboot/extlinux-cmdline
else
	fail uboot/extlinux-cmdline "the guest did not run extlinux.conf's ringvm.cmd (exit $run_status; $(grep -m1 -E 'RINGVM|rror' "$log.txt" || tail -n1 "$log.txt"))"
fi
# The device tree's /config bootdelay = 0: no 2 s wait for a key.
check uboot/no-autoboot-wait "U-Boot still counts down (bootdelay from the FDT ignored): $(grep -a -m1 'autoboot' "$log.txt")" \
	has "$log" 'stop autoboot: +0'
echo "# uboot: ${run_secs}s wall to poweroff"

# --boot disk on the raw file (format given) and 2 harts: the same path.
log=$scratch/explicit
run_guest "$log" --boot disk --cpus 2 --disk "$scratch/disk.raw,format=raw"
if [ "$run_status" = 0 ] && has "$log" '^extlinux-append-ok$'; then
	pass uboot/boot-disk-explicit
else
	fail uboot/boot-disk-explicit "exit $run_status, extlinux-append-ok $(has "$log" '^extlinux-append-ok$' && echo seen || echo missing)"
fi

# A disk without a partition table: the default guest, as before.
truncate -s 8M "$scratch/blank.raw"
log=$scratch/blank
run_guest "$log" --disk "$scratch/blank.raw,format=raw"
if [ "$run_status" = 0 ] && has "$log" '^RINGVM-GUEST-READY$' &&
	! has "$log" '^U-Boot 20'; then
	pass uboot/no-table-default-guest
else
	fail uboot/no-table-default-guest "exit $run_status; want the default guest without U-Boot"
fi

# Bad combinations: one line on stderr, exit 1, nothing booted.
bad=0
for args in "--boot disk" "--boot disk --disk $scratch/disk.raw --kernel $GUEST/Image" \
	"--boot disk --disk $scratch/disk.raw --cmdline x" "--boot frob" \
	"--loader $GUEST/u-boot.elf --kernel $GUEST/Image"; do
	set +e
	# shellcheck disable=SC2086
	timeout 20 "$RINGVM" run $args </dev/null >"$scratch/bad.out" 2>"$scratch/bad.err"
	st=$?
	set -e
	if [ "$st" != 1 ] || [ "$(wc -l <"$scratch/bad.err")" != 1 ] ||
		! grep -q -- '--boot\|--loader' "$scratch/bad.err"; then
		fail uboot/bad-options "\`ringvm run $args': exit $st, stderr: $(head -c 200 "$scratch/bad.err")"
		bad=1
		break
	fi
done
[ "$bad" = 1 ] || pass uboot/bad-options
