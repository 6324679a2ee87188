/* libFuzzer target: the boot image loader (src/board/virt/loader.c) on
 * arbitrary bytes: Linux Image headers, gzip streams, ELF files (program
 * headers, section and symbol tables), raw firmware.  RAM is 4 MiB of
 * heap (every byte ASan-tracked).  The first input byte picks the boot
 * mode and whether the rest is a firmware, a kernel, or both (split at a
 * point the input picks); then the FDT is placed and written as a boot
 * would.
 *
 * Invariants: what a load reports lies inside RAM (start <= end, entry
 * and HTIF symbols in RAM); a failed load says why (an error message). */
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rv64/hart.h"
#include "board/virt/loader.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (4ULL << 20)

#define CHECK(cond) do {                                                 \
	if (!(cond)) {                                                   \
		fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,  \
			__FILE__, __LINE__);                             \
		abort();                                                 \
	}                                                                \
} while (0)

static bool in_ram(uint64_t a, uint64_t len)
{
	return a >= RAM_BASE && len <= RAM_SIZE &&
	       a - RAM_BASE <= RAM_SIZE - len;
}

static void check_failed(int rc, const struct err *e)
{
	CHECK(rc < 0);
	CHECK(e->msg[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static uint8_t fdt[4096];
	static struct guest_mem mem;
	if (!ram) {
		ram = malloc(RAM_SIZE);
		if (!ram)
			abort();
		mem.nr = 1;
		mem.r[0] = (struct guest_mem_region){ RAM_BASE, RAM_SIZE, ram, NULL };
		if (fdt_create_empty_tree(fdt, sizeof(fdt)))
			abort();
	}
	if (size < 1)
		return 0;
	uint8_t k = data[0];
	data++;
	size--;
	enum rv_boot_mode mode = k % 3 == 0 ? RV_BOOT_SBI :
				 k % 3 == 1 ? RV_BOOT_FIRMWARE : RV_BOOT_BARE;
	struct rv_boot b;
	rv_boot_init(&b, mode, RAM_BASE, RAM_SIZE);

	/* Firmware and kernel: both in firmware mode when bit 2 is set,
	 * split where the next two bytes say. */
	size_t fw_len = 0;
	if (mode == RV_BOOT_FIRMWARE) {
		fw_len = size;
		if ((k & 4) && size >= 2) {
			fw_len = (data[0] | (size_t)data[1] << 8) % (size - 1);
			data += 2;
			size -= 2;
		}
		struct err e = { 0 };
		int rc = rv_load_firmware_buf(&b, &mem, data, fw_len,
					      "fuzz-fw", &e);
		if (rc) {
			check_failed(rc, &e);
			return 0;
		}
		CHECK(b.fw_start <= b.fw_end);
		CHECK(in_ram(b.fw_start, b.fw_end - b.fw_start));
		CHECK(in_ram(b.entry, 2));
		CHECK(b.priv == RV_PRIV_M);
		data += fw_len;
		size -= fw_len;
	}
	if (mode != RV_BOOT_FIRMWARE || (k & 4)) {
		struct err e = { 0 };
		int rc = rv_load_kernel_buf(&b, &mem, data, size, "fuzz-kernel",
					    &e);
		if (rc) {
			check_failed(rc, &e);
			return 0;
		}
		CHECK(b.kernel_start <= b.kernel_end);
		CHECK(in_ram(b.kernel_start, b.kernel_end - b.kernel_start));
		CHECK(in_ram(b.kernel_entry, 2));
		CHECK(!b.fw_end || b.kernel_start >= b.fw_end ||
		      b.kernel_end <= b.fw_start);
		if (mode != RV_BOOT_FIRMWARE)
			CHECK(b.entry == b.kernel_entry);
	}
	if (b.tohost)
		CHECK(in_ram(b.tohost, 8));
	if (b.fromhost)
		CHECK(in_ram(b.fromhost, 8));

	struct err e = { 0 };
	int rc = rv_boot_reserve_fdt(&b, sizeof(fdt), &e);
	if (rc) {
		check_failed(rc, &e);
		return 0;
	}
	CHECK(in_ram(b.fdt_addr, b.fdt_size));
	CHECK(b.fdt_addr >= b.kernel_end && b.fdt_addr >= b.fw_end);
	rc = rv_boot_finish(&b, &mem, fdt, &e);
	CHECK(rc == 0);
	return 0;
}
