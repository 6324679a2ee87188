/* Device tree: build it, then read every node Linux and OpenSBI rely on
 * back with libfdt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <libfdt.h>

#include "board/virt/fdt.h"
#include "hw/clint.h"
#include "hw/plic.h"
#include "board/virt/memmap.h"
#include "engine/rv64/machine.h"

static const char *const exts[] = { "i", "m", "a", "f", "d", "c",
				    "zicsr", "zifencei", "sstc" };

static void add(struct rv_fdt_params *p, enum rv_fdt_kind kind,
		uint64_t base, uint64_t size, unsigned irq)
{
	struct err e = { 0 };
	assert_int_equal(rv_fdt_add_device(p, kind, base, size, irq, &e), 0);
}

static void add_virtio(struct rv_fdt_params *p, unsigned slot)
{
	add(p, RV_FDT_VIRTIO, RV_VIRTIO_BASE + slot * RV_VIRTIO_SIZE,
	    RV_VIRTIO_SIZE, RV_VIRTIO_IRQ + slot);
}

/* The board's devices; `uart` false leaves the UART out. */
static void add_board(struct rv_fdt_params *p, bool uart)
{
	add(p, RV_FDT_CLINT, RV_CLINT_BASE, RV_CLINT_SIZE, 0);
	add(p, RV_FDT_PLIC, RV_PLIC_BASE, RV_PLIC_SIZE, 0);
	add(p, RV_FDT_TEST, RV_TEST_BASE, RV_TEST_SIZE, 0);
	if (uart)
		add(p, RV_FDT_UART, RV_UART0_BASE, RV_UART0_SIZE,
		    RV_UART0_IRQ);
	add(p, RV_FDT_RTC, RV_RTC_BASE, RV_RTC_SIZE, RV_RTC_IRQ);
}

static struct rv_fdt_params params(void)
{
	struct rv_fdt_params p = {
		.nharts = 2,
		.isa = "rv64imafdc_zicsr_zifencei_sstc",
		.extensions = exts,
		.nextensions = sizeof(exts) / sizeof(exts[0]),
		.ram_base = RV_RAM_BASE,
		.ram_size = 512ULL << 20,
		.bootargs = "console=ttyS0 earlycon",
		.initrd_start = 0x9f000000,
		.initrd_end = 0x9f123456,
	};
	add_board(&p, true);
	add_virtio(&p, 0);
	add_virtio(&p, 2);
	return p;
}

static char buf[RV_FDT_DEFAULT_SIZE];

static void build_ok(const struct rv_fdt_params *p)
{
	struct err e = { 0 };
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(rv_fdt_build(p, buf, sizeof(buf), &e), 0);
	assert_int_equal(fdt_check_header(buf), 0);
	assert_int_equal(fdt_check_full(buf, sizeof(buf)), 0);
	assert_int_equal(fdt_totalsize(buf), sizeof(buf));
}

static int node(const char *path)
{
	int off = fdt_path_offset(buf, path);
	if (off < 0)
		fail_msg("node %s missing: %s", path, fdt_strerror(off));
	return off;
}

static const void *prop(const char *path, const char *name, int *len)
{
	int l;
	const void *v = fdt_getprop(buf, node(path), name, &l);
	if (!v)
		fail_msg("%s:%s missing", path, name);
	if (len)
		*len = l;
	return v;
}

static uint32_t u32(const char *path, const char *name)
{
	int len;
	const fdt32_t *v = prop(path, name, &len);
	assert_int_equal(len, 4);
	return fdt32_to_cpu(*v);
}

static uint64_t u64(const char *path, const char *name)
{
	int len;
	const fdt64_t *v = prop(path, name, &len);
	assert_int_equal(len, 8);
	return fdt64_ld(v);    /* property values are only 4-byte aligned */
}

static const char *str(const char *path, const char *name)
{
	return prop(path, name, NULL);
}

static void assert_reg(const char *path, uint64_t base, uint64_t size)
{
	int len;
	const fdt64_t *v = prop(path, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(fdt64_ld(&v[0]), base);
	assert_int_equal(fdt64_ld(&v[1]), size);
}

static void assert_compatible(const char *path, const char *compat)
{
	assert_int_equal(fdt_node_check_compatible(buf, node(path), compat),
			 0);
}

static void test_root_chosen_memory(void **state)
{
	struct rv_fdt_params p = params();
	build_ok(&p);
	assert_int_equal(u32("/", "#address-cells"), 2);
	assert_int_equal(u32("/", "#size-cells"), 2);
	assert_compatible("/", "riscv-virtio");
	assert_non_null(str("/", "model"));

	assert_string_equal(str("/chosen", "bootargs"),
			    "console=ttyS0 earlycon");
	assert_string_equal(str("/chosen", "stdout-path"),
			    "/soc/serial@10000000");
	/* stdout-path must resolve */
	node(str("/chosen", "stdout-path"));
	assert_int_equal(u64("/chosen", "linux,initrd-start"), 0x9f000000);
	assert_int_equal(u64("/chosen", "linux,initrd-end"), 0x9f123456);
	int len;
	prop("/chosen", "rng-seed", &len);
	assert_int_equal(len, 64);

	assert_string_equal(str("/memory@80000000", "device_type"), "memory");
	assert_reg("/memory@80000000", RV_RAM_BASE, 512ULL << 20);
}

static void test_cpus(void **state)
{
	struct rv_fdt_params p = params();
	build_ok(&p);
	assert_int_equal(u32("/cpus", "timebase-frequency"), 10000000);
	assert_int_equal(u32("/cpus", "#address-cells"), 1);
	assert_int_equal(u32("/cpus", "#size-cells"), 0);
	for (unsigned i = 0; i < 2; i++) {
		char path[64], intc[96];
		snprintf(path, sizeof(path), "/cpus/cpu@%u", i);
		snprintf(intc, sizeof(intc), "%s/interrupt-controller", path);
		assert_string_equal(str(path, "device_type"), "cpu");
		assert_int_equal(u32(path, "reg"), i);
		assert_string_equal(str(path, "status"), "okay");
		assert_compatible(path, "riscv");
		assert_string_equal(str(path, "riscv,isa"), p.isa);
		assert_string_equal(str(path, "riscv,isa-base"), "rv64i");
		assert_string_equal(str(path, "mmu-type"), "riscv,sv48");
		assert_int_equal(u32(path, "riscv,cbom-block-size"), 64);
		assert_int_equal(u32(path, "riscv,cboz-block-size"), 64);
		int off = node(path);
		assert_int_equal(fdt_stringlist_count(buf, off,
						      "riscv,isa-extensions"),
				 p.nextensions);
		assert_int_equal(fdt_stringlist_search(buf, off,
						       "riscv,isa-extensions",
						       "zifencei"), 7);
		assert_compatible(intc, "riscv,cpu-intc");
		assert_int_equal(u32(intc, "#interrupt-cells"), 1);
		int l;
		prop(intc, "interrupt-controller", &l);
		assert_int_equal(l, 0);
		assert_true(fdt_get_phandle(buf, node(intc)) > 0);
	}
	assert_null(fdt_getprop(buf, 0, "cpu@2", NULL));
	assert_true(fdt_path_offset(buf, "/cpus/cpu@2") < 0);
	/* cpu-map points at the cpu nodes */
	uint32_t ph = u32("/cpus/cpu-map/cluster0/core1", "cpu");
	assert_int_equal(fdt_node_offset_by_phandle(buf, ph),
			 node("/cpus/cpu@1"));

	p.mmu_type = "riscv,sv39";
	p.extensions = NULL;
	p.nextensions = 0;
	build_ok(&p);
	assert_string_equal(str("/cpus/cpu@0", "mmu-type"), "riscv,sv39");
	assert_null(fdt_getprop(buf, node("/cpus/cpu@0"),
				"riscv,isa-extensions", NULL));
}

/* interrupts-extended = per hart <intc a intc b> */
static void assert_irq_ext(const char *path, uint32_t a, uint32_t b)
{
	int len;
	const fdt32_t *v = prop(path, "interrupts-extended", &len);
	assert_int_equal(len, 2 * 4 * 4);
	for (unsigned i = 0; i < 2; i++) {
		char intc[64];
		snprintf(intc, sizeof(intc), "/cpus/cpu@%u/interrupt-controller",
			 i);
		uint32_t ph = fdt_get_phandle(buf, node(intc));
		assert_int_equal(fdt32_to_cpu(v[4 * i + 0]), ph);
		assert_int_equal(fdt32_to_cpu(v[4 * i + 1]), a);
		assert_int_equal(fdt32_to_cpu(v[4 * i + 2]), ph);
		assert_int_equal(fdt32_to_cpu(v[4 * i + 3]), b);
	}
}

static void test_soc(void **state)
{
	struct rv_fdt_params p = params();
	build_ok(&p);
	assert_compatible("/soc", "simple-bus");
	int len;
	prop("/soc", "ranges", &len);
	assert_int_equal(len, 0);

	assert_compatible("/soc/clint@2000000", "sifive,clint0");
	assert_compatible("/soc/clint@2000000", "riscv,clint0");
	assert_reg("/soc/clint@2000000", RV_CLINT_BASE, RV_CLINT_SIZE);
	assert_irq_ext("/soc/clint@2000000", 3, 7);

	const char *plic = "/soc/plic@c000000";
	assert_compatible(plic, "sifive,plic-1.0.0");
	assert_compatible(plic, "riscv,plic0");
	assert_reg(plic, RV_PLIC_BASE, RV_PLIC_SIZE);
	assert_int_equal(u32(plic, "riscv,ndev"), 31);
	assert_int_equal(u32(plic, "#interrupt-cells"), 1);
	assert_int_equal(u32(plic, "#address-cells"), 0);
	prop(plic, "interrupt-controller", NULL);
	assert_irq_ext(plic, 11, 9);
	uint32_t plic_ph = fdt_get_phandle(buf, node(plic));
	assert_true(plic_ph > 0);

	const char *uart = "/soc/serial@10000000";
	assert_compatible(uart, "ns16550a");
	assert_reg(uart, RV_UART0_BASE, RV_UART0_SIZE);
	assert_int_equal(u32(uart, "clock-frequency"), 3686400);
	assert_int_equal(u32(uart, "reg-shift"), 0);
	assert_int_equal(u32(uart, "interrupts"), RV_UART0_IRQ);
	assert_int_equal(u32(uart, "interrupt-parent"), plic_ph);

	/* goldfish RTC as on QEMU's virt: Linux's rtc-goldfish binds it */
	const char *rtc = "/soc/rtc@101000";
	assert_compatible(rtc, "google,goldfish-rtc");
	assert_reg(rtc, 0x101000, 0x1000);
	assert_int_equal(u32(rtc, "interrupts"), 11);
	assert_int_equal(u32(rtc, "interrupt-parent"), plic_ph);
	/* distinct from every other source on the PLIC */
	assert_int_not_equal(RV_RTC_IRQ, RV_UART0_IRQ);
	assert_true(RV_RTC_IRQ >= RV_VIRTIO_IRQ + RV_VIRTIO_SLOTS ||
		    RV_RTC_IRQ < RV_VIRTIO_IRQ);

	/* only the populated virtio slots (0 and 2) */
	assert_compatible("/soc/virtio_mmio@10001000", "virtio,mmio");
	assert_reg("/soc/virtio_mmio@10001000", 0x10001000, 0x1000);
	assert_int_equal(u32("/soc/virtio_mmio@10001000", "interrupts"), 1);
	assert_true(fdt_path_offset(buf, "/soc/virtio_mmio@10002000") < 0);
	assert_int_equal(u32("/soc/virtio_mmio@10003000", "interrupts"), 3);
	assert_int_equal(u32("/soc/virtio_mmio@10003000", "interrupt-parent"),
			 plic_ph);
	assert_true(fdt_path_offset(buf, "/soc/virtio_mmio@10004000") < 0);

	const char *test = "/soc/test@100000";
	assert_compatible(test, "sifive,test1");
	assert_compatible(test, "sifive,test0");
	assert_compatible(test, "syscon");
	assert_reg(test, RV_TEST_BASE, RV_TEST_SIZE);
	uint32_t test_ph = fdt_get_phandle(buf, node(test));
	assert_true(test_ph > 0);

	assert_compatible("/poweroff", "syscon-poweroff");
	assert_int_equal(u32("/poweroff", "regmap"), test_ph);
	assert_int_equal(u32("/poweroff", "offset"), 0);
	assert_int_equal(u32("/poweroff", "value"), 0x5555);
	assert_compatible("/reboot", "syscon-reboot");
	assert_int_equal(u32("/reboot", "regmap"), test_ph);
	assert_int_equal(u32("/reboot", "value"), 0x7777);
}

static void test_optional_parts(void **state)
{
	struct rv_fdt_params p = params();
	p.ndevs = 0;
	add_board(&p, false);
	p.bootargs = NULL;
	p.initrd_start = p.initrd_end = 0;
	p.nharts = 1;
	build_ok(&p);
	int chosen = node("/chosen");
	assert_null(fdt_getprop(buf, chosen, "stdout-path", NULL));
	assert_null(fdt_getprop(buf, chosen, "bootargs", NULL));
	assert_null(fdt_getprop(buf, chosen, "linux,initrd-start", NULL));
	assert_non_null(fdt_getprop(buf, chosen, "rng-seed", NULL));
	assert_true(fdt_path_offset(buf, "/soc/serial@10000000") < 0);
	assert_true(fdt_path_offset(buf, "/soc/virtio_mmio@10001000") < 0);
	assert_true(fdt_path_offset(buf, "/cpus/cpu@1") < 0);
	int len;
	prop("/soc/plic@c000000", "interrupts-extended", &len);
	assert_int_equal(len, 16);

	/* all 8 harts and all 8 virtio slots */
	p.nharts = RV_MAX_HARTS;
	for (unsigned i = 0; i < RV_VIRTIO_SLOTS; i++)
		add_virtio(&p, i);
	build_ok(&p);
	node("/cpus/cpu@7");
	node("/soc/virtio_mmio@10008000");
	assert_int_equal(u32("/soc/virtio_mmio@10008000", "interrupts"), 8);

	/* the free space lets firmware add to the tree in place */
	int off = fdt_add_subnode(buf, 0, "reserved-memory");
	assert_true(off >= 0);
	assert_int_equal(fdt_setprop_u32(buf, off, "test", 1), 0);
}

static void test_bad_params(void **state)
{
	struct rv_fdt_params p;
	struct err e;
	static const char *const empty_ext[] = { "i", "" };

	p = params(); p.nharts = 0; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.nharts = RV_MAX_HARTS + 1; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	assert_non_null(strstr(e.msg, "harts"));
	p = params(); p.isa = NULL; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.extensions = empty_ext; p.nextensions = 2;
	err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.ram_size = 0; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.ram_base = -4096ULL; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.initrd_end = p.initrd_start - 1; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	/* Devices as the board might wrongly register them. */
	p = params(); p.devs[p.ndevs - 1].irq = RV_PLIC_NDEV + 1;
	err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	assert_non_null(strstr(e.msg, "irq"));
	p = params(); p.devs[p.ndevs - 1].irq = 0; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.devs[0].irq = 3; err_clear(&e); /* CLINT */
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.devs[p.ndevs - 1].size = 0; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.devs[p.ndevs - 1].base = -4096ULL;
	p.devs[p.ndevs - 1].size = 8192; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.devs[1].kind = RV_FDT_CLINT; err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	p = params(); p.devs[1].kind = RV_FDT_TEST; p.devs[1].irq = 0;
	err_clear(&e);      /* no PLIC left for the UART's interrupt */
	assert_int_equal(rv_fdt_build(&p, buf, sizeof(buf), &e), -EINVAL);
	assert_non_null(strstr(e.msg, "PLIC"));
	p = params(); p.ndevs = 0; err_clear(&e);
	for (unsigned i = 0; i < RV_FDT_MAX_DEVS; i++)
		assert_int_equal(rv_fdt_add_device(&p, RV_FDT_CLINT, 0x1000,
						   0x1000, 0, &e), 0);
	assert_int_equal(rv_fdt_add_device(&p, RV_FDT_CLINT, 0x1000, 0x1000,
					   0, &e), -ENOSPC);

	p = params(); err_clear(&e);
	assert_int_equal(rv_fdt_build(&p, buf, 512, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "512"));
	assert_int_equal(rv_fdt_build(&p, buf, 0, &e), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_chosen_memory),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_soc),
		cmocka_unit_test(test_optional_parts),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
