/* What `ringvm run` boots when --kernel is not given: the default busybox
 * guest, or the first disk through an S-mode boot loader (Debian's U-Boot)
 * that reads the disk's /boot/extlinux/extlinux.conf, as a real machine
 * boots from its own disk.  docs/ARCHITECTURE.md "Boot modes". */
#ifndef RINGVM_VMM_BOOT_SOURCE_H
#define RINGVM_VMM_BOOT_SOURCE_H

#include <stdbool.h>

#include "block/block.h"
#include "core/err.h"

/* Whether bd's first sector carries a partition table (the MBR boot
 * signature 0x55 0xAA at bytes 510..511; a GPT disk has it in its
 * protective MBR).  A read error or a disk under 512 bytes is "no". */
bool boot_disk_has_partition_table(struct block_dev *bd);

/* The default guest: $RINGVM_GUEST_DIR, else guest/ beside the binary or
 * one level up (build/guest for build/ringvm and build/asan/ringvm, made by
 * `make guest`), else ~/.cache/ringvm/guest.  On success *kernel and
 * *initrd are malloc'd paths the caller frees.  -ENOENT when none is
 * built. */
int boot_find_default_guest(char **kernel, char **initrd, struct err *errp);

/* The S-mode boot loader that boots a disk: u-boot.elf in the default
 * guest's directories (guest/build.sh extracts it from Debian's
 * u-boot-qemu, qemu-riscv64_smode), else the host's
 * /usr/lib/u-boot/qemu-riscv64_smode/uboot.elf.  On success *path is a
 * malloc'd path the caller frees.  -ENOENT when none is found. */
int boot_find_loader(char **path, struct err *errp);

#endif
