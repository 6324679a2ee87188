/* Boot image loading for the RV64 virt machine: firmware, kernel, initrd and
 * device tree placed in guest RAM, and the hand-over state for the boot
 * hart.  Every file is hostile input: sizes, headers and load addresses are
 * checked, and a bad file yields one error message naming it.
 *
 * RAM layout produced (addresses grow to the right):
 *
 *   ram_base   firmware (--bios FILE, raw or ELF)
 *   +2 MiB     kernel: Linux Image at ram_base + text_offset (2 MiB at
 *              least when a firmware sits below), or ELF at its p_paddr
 *   ...        free
 *   high       initrd (page-aligned, just below the fw_dynamic_info page)
 *              fw_dynamic_info (one page, firmware boots only)
 *              FDT (page-aligned), then RV_BOOT_FDT_SLACK free bytes up to
 *   ram_end    the end of RAM, room for firmware that grows the tree.
 *
 * Call order:
 *   rv_boot_init
 *   [rv_load_firmware]            --bios FILE only
 *   [rv_load_kernel]
 *   rv_boot_reserve_fdt           fixes fdt_addr (and fw_info_addr)
 *   [rv_load_initrd]              fills initrd_start/end for the FDT
 *   (caller builds the FDT with rv_fdt_build)
 *   rv_boot_finish                copies the FDT, writes fw_dynamic_info
 * then every hart: rv_hart_reset(h, b.entry, b.priv, b.fdt_addr) and, for
 * firmware boots, h->x[12] (a2) = b.fw_info_addr. */
#ifndef RINGVM_RV64_LOADER_H
#define RINGVM_RV64_LOADER_H

#include <stdint.h>

#include "core/err.h"
#include "core/guest_mem.h"

/* Free bytes kept above the FDT (OpenSBI's fixups grow it in place). */
#define RV_BOOT_FDT_SLACK 0x10000ULL
/* Largest decompressed size accepted for a gzip'd kernel (bytes). */
#define RV_BOOT_GUNZIP_MAX (1ULL << 30)
/* Kernel Image offset when a firmware occupies the start of RAM. */
#define RV_BOOT_KERNEL_OFFSET 0x200000ULL

/* OpenSBI fw_dynamic hand-over (include/sbi/fw_dynamic.h in OpenSBI,
 * version 2): a2 points to this structure of six XLEN words. */
#define RV_FW_DYNAMIC_MAGIC   0x4942534fULL  /* "OSBI" */
#define RV_FW_DYNAMIC_VERSION 2
#define RV_FW_DYNAMIC_NEXT_S  1              /* next_mode: S-mode */

enum rv_boot_mode {
	RV_BOOT_SBI,       /* ringvm is the SBI firmware; kernel in S-mode */
	RV_BOOT_FIRMWARE,  /* --bios FILE: firmware in M-mode boots the
			    * kernel through fw_dynamic_info */
	RV_BOOT_BARE,      /* --bios none: the kernel/ELF runs in M-mode */
};

struct rv_boot {
	/* inputs (rv_boot_init) */
	enum rv_boot_mode mode;
	uint64_t ram_base, ram_size;      /* bytes */

	/* results; an absent item has start == end == 0 */
	uint64_t entry;        /* pc of every hart at reset */
	int priv;              /* RV_PRIV_S or RV_PRIV_M for entry */
	uint64_t fw_start, fw_end;            /* [start, end) */
	uint64_t kernel_start, kernel_end;    /* [start, end), incl. bss */
	uint64_t kernel_entry;                /* physical */
	uint64_t initrd_start, initrd_end;    /* for /chosen */
	uint64_t fdt_addr, fdt_size;          /* a1; reserved bytes */
	uint64_t fw_info_addr;                /* a2 (firmware boots), or 0 */
	/* HTIF symbols of an ELF kernel/firmware (physical), or 0 */
	uint64_t tohost, fromhost;
};

/* Start a boot layout for RAM [ram_base, ram_base + ram_size). */
void rv_boot_init(struct rv_boot *b, enum rv_boot_mode mode,
		  uint64_t ram_base, uint64_t ram_size);

/* Load the M-mode firmware `path` (RV_BOOT_FIRMWARE only): an ELF64
 * EM_RISCV is loaded at its p_paddr and entered at e_entry; anything else
 * is a raw binary at ram_base entered at ram_base.  Sets entry, priv = M,
 * fw_start/fw_end.  Errors: -ENOENT/-EACCES/... ("cannot open firmware
 * `path`: ..."), -EFBIG (larger than RAM), -EINVAL (bad ELF, segment
 * outside RAM). */
int rv_load_firmware(struct rv_boot *b, struct guest_mem *mem,
		     const char *path, struct err *errp);

/* Load the kernel `path`: a RISC-V Linux Image (Linux
 * Documentation/arch/riscv/boot-image-header.rst: magic "RISCV\0\0\0" at
 * 0x30 or magic2 "RSC\x05" at 0x38), the same gzip-compressed (inflated
 * up to min(RAM size, RV_BOOT_GUNZIP_MAX)), or an ELF64 EM_RISCV (PT_LOAD
 * segments at p_paddr, bss zeroed, tohost/fromhost looked up in .symtab).
 * Without firmware sets entry = kernel entry and priv = S (RV_BOOT_SBI) or
 * M (RV_BOOT_BARE).  Errors: open/read failures as above; -EINVAL "`path`
 * is not a RISC-V kernel image (...)", truncated headers, segments outside
 * RAM or overlapping the firmware; -EFBIG when it does not fit in RAM. */
int rv_load_kernel(struct rv_boot *b, struct guest_mem *mem,
		   const char *path, struct err *errp);

/* rv_load_firmware() and rv_load_kernel() on a file already in memory:
 * data[0..len) is the file's content (borrowed, not changed), path only
 * names it in messages.  Same results and errors, less those of opening
 * and reading. */
int rv_load_firmware_buf(struct rv_boot *b, struct guest_mem *mem,
			 const void *data, size_t len, const char *path,
			 struct err *errp);
int rv_load_kernel_buf(struct rv_boot *b, struct guest_mem *mem,
		       const void *data, size_t len, const char *path,
		       struct err *errp);

/* Reserve fdt_size bytes (the rv_fdt_build buffer size) for the FDT near
 * the top of RAM, and in RV_BOOT_FIRMWARE mode the fw_dynamic_info page
 * below it.  -EFBIG when that would overlap the kernel or firmware. */
int rv_boot_reserve_fdt(struct rv_boot *b, uint64_t fdt_size,
			struct err *errp);

/* Read the initrd `path` straight into RAM just below the FDT (and
 * fw_dynamic_info), page-aligned.  Requires rv_boot_reserve_fdt first.
 * -EFBIG "initrd `path` (N MiB) does not fit ..." when it would overlap the
 * kernel; -EINVAL for an empty file; open/read errors name the file. */
int rv_load_initrd(struct rv_boot *b, struct guest_mem *mem,
		   const char *path, struct err *errp);

/* Copy the finished FDT blob (fdt_totalsize(fdt) <= fdt_size) to fdt_addr
 * and, for firmware boots, write struct fw_dynamic_info {magic, version 2,
 * next_addr = kernel entry (or ram_base + 2 MiB), next_mode = S,
 * options 0, boot_hart 0} at fw_info_addr.  -EINVAL for a bad blob or
 * when neither a kernel nor a firmware was loaded. */
int rv_boot_finish(struct rv_boot *b, struct guest_mem *mem,
		   const void *fdt, struct err *errp);

#endif
