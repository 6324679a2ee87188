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

/* The devices the board placed, each described by the board as it
 * registers the device on the bus (rv_fdt_add_device), the way RVVM's
 * devices add their own nodes: the tree lists exactly what exists. */
enum rv_fdt_kind {
	RV_FDT_TEST,    /* sifive,test0 + syscon-poweroff/reboot nodes */
	RV_FDT_CLINT,   /* sifive,clint0 (no irq) */
	RV_FDT_PLIC,    /* sifive,plic-1.0.0 (no irq; the interrupt parent) */
	RV_FDT_RTC,     /* google,goldfish-rtc */
	RV_FDT_UART,    /* ns16550a; the first one is /chosen stdout-path */
	RV_FDT_VIRTIO,  /* virtio,mmio */
};

struct rv_fdt_dev {
	enum rv_fdt_kind kind;
	uint64_t base, size;      /* guest-physical window, bytes */
	unsigned irq;             /* PLIC source (RTC, UART, VIRTIO) */
};

#define RV_FDT_MAX_DEVS 24

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
	unsigned ndevs;           /* devices, in registration order */
	struct rv_fdt_dev devs[RV_FDT_MAX_DEVS];
};

/* Describe a device the board placed (kind, window [base, base+size),
 * PLIC source irq for kinds that interrupt, else 0).  Its node appears
 * under /soc in registration order.  Returns 0, or -ENOSPC beyond
 * RV_FDT_MAX_DEVS; the window and irq are checked by rv_fdt_build(). */
int rv_fdt_add_device(struct rv_fdt_params *p, enum rv_fdt_kind kind,
		      uint64_t base, uint64_t size, unsigned irq,
		      struct err *errp);

/* Write the flattened device tree into buf (bufsize bytes, at least a few
 * KiB; RV_FDT_DEFAULT_SIZE is plenty).  The result passes fdt_check_full()
 * and its totalsize is bufsize: the unused part is free space inside the
 * blob, so firmware (OpenSBI's fixups) can add nodes in place.  /chosen
 * gets 64 bytes of "rng-seed" from getrandom(2).
 *
 * Returns 0; -EINVAL for inconsistent params (message says which: no
 * PLIC for a device that interrupts, two PLICs/CLINTs/tests, an irq
 * outside 1..RV_PLIC_NDEV, an empty or wrapping window);
 * -ENOSPC when bufsize is too small; -EIO if the host has no entropy. */
int rv_fdt_build(const struct rv_fdt_params *p, void *buf, size_t bufsize,
		 struct err *errp);

#endif
