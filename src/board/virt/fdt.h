/* Device tree for the RV64 virt machine, shaped like the one QEMU's
 * `-M virt` generates so that unmodified Linux and OpenSBI find every
 * device (Devicetree Specification v0.4; Linux
 * Documentation/devicetree/bindings/riscv/cpus.yaml,
 * .../interrupt-controller/sifive,plic-1.0.0.yaml,
 * .../timer/sifive,clint.yaml, .../power/reset/syscon-poweroff.yaml). */
#ifndef RINGVM_RV64_FDT_H
#define RINGVM_RV64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A comfortable buffer size for rv_fdt_build(): the tree itself is a few
 * KiB; the rest is free space for firmware that edits the tree in place. */
#define RV_FDT_DEFAULT_SIZE 0x10000

struct rv_fdt_params {
	unsigned nharts;          /* 1..RV_MAX_HARTS, ids 0..nharts-1 */
	const char *isa;          /* "riscv,isa", e.g. "rv64imafdc_zicsr" */
	/* "riscv,isa-extensions" entries ("i", "m", "a", "zicsr", ...);
	 * may be NULL when nextensions is 0 (the property is then left
	 * out and Linux falls back to riscv,isa). */
	const char *const *extensions;
	unsigned nextensions;
	const char *mmu_type;     /* "riscv,sv39"/"riscv,sv48"; NULL = sv48 */
	uint64_t ram_base, ram_size;        /* bytes, ram_size > 0 */
	const char *bootargs;     /* kernel command line; NULL = none */
	/* initrd [start, end) guest-physical; start == end == 0: none */
	uint64_t initrd_start, initrd_end;
	uint32_t virtio_mask;     /* bit i: virtio-mmio slot i populated
				   * (i < RV_VIRTIO_SLOTS) */
	bool uart;                /* ns16550a at RV_UART0_BASE exists */
	bool rtc;                 /* goldfish RTC at RV_RTC_BASE exists */
};

/* Write the flattened device tree into buf (bufsize bytes, at least a few
 * KiB; RV_FDT_DEFAULT_SIZE is plenty).  The result passes fdt_check_full()
 * and its totalsize is bufsize: the unused part is free space inside the
 * blob, so firmware (OpenSBI's fixups) can add nodes in place.  /chosen
 * gets 64 bytes of "rng-seed" from getrandom(2).
 *
 * Returns 0; -EINVAL for inconsistent params (message says which);
 * -ENOSPC when bufsize is too small; -EIO if the host has no entropy. */
int rv_fdt_build(const struct rv_fdt_params *p, void *buf, size_t bufsize,
		 struct err *errp);

#endif
