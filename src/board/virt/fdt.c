#include "fdt.h"

#include <inttypes.h>
#include <libfdt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "engine/rv64/machine.h"
#include "hw/clint.h"
#include "hw/plic.h"
#include "memmap.h"

/* Fixed phandles: the sequential-write API cannot look them up, and fixed
 * numbers keep the tree identical from boot to boot. */
#define PH_PLIC 1
#define PH_TEST 2
#define PH_CPU(i)  (3 + 2 * (i))
#define PH_INTC(i) (4 + 2 * (i))

/* CPU-local interrupt numbers = mip bit positions (priv 1.12 §3.1.9). */
#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11

#define RNG_SEED_BYTES 64
#define CBO_BLOCK_SIZE 64

/* Every helper returns a libfdt error (< 0) or 0; TRY propagates it. */
#define TRY(call) do { int rc_ = (call); if (rc_ < 0) return rc_; } while (0)

static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t cells[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };
	return fdt_property(fdt, "reg", cells, sizeof(cells));
}

/* A stringlist property from n C strings. */
static int prop_strings(void *fdt, const char *name,
			const char *const *s, unsigned n)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += strlen(s[i]) + 1;
	if (len > INT_MAX)
		return -FDT_ERR_NOSPACE;
	void *val;
	TRY(fdt_property_placeholder(fdt, name, (int)len, &val));
	char *q = val;
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;
		memcpy(q, s[i], l);
		q += l;
	}
	return 0;
}

/* interrupts-extended: per hart <intc a intc b>. */
static int prop_irq_ext(void *fdt, unsigned nharts, uint32_t a, uint32_t b)
{
	fdt32_t cells[4 * RV_MAX_HARTS];
	for (unsigned i = 0; i < nharts; i++) {
		cells[4 * i + 0] = cpu_to_fdt32(PH_INTC(i));
		cells[4 * i + 1] = cpu_to_fdt32(a);
		cells[4 * i + 2] = cpu_to_fdt32(PH_INTC(i));
		cells[4 * i + 3] = cpu_to_fdt32(b);
	}
	return fdt_property(fdt, "interrupts-extended", cells,
			    (int)(nharts * 4 * sizeof(cells[0])));
}

static int begin_node_at(void *fdt, const char *name, uint64_t addr)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s@%" PRIx64, name, addr);
	return fdt_begin_node(fdt, buf);
}

static const struct rv_fdt_dev *find_dev(const struct rv_fdt_params *p,
					 enum rv_fdt_kind kind)
{
	for (unsigned i = 0; i < p->ndevs; i++)
		if (p->devs[i].kind == kind)
			return &p->devs[i];
	return NULL;
}

static int add_chosen(void *fdt, const struct rv_fdt_params *p,
		      const uint8_t *seed)
{
	TRY(fdt_begin_node(fdt, "chosen"));
	if (p->bootargs)
		TRY(fdt_property_string(fdt, "bootargs", p->bootargs));
	const struct rv_fdt_dev *uart = find_dev(p, RV_FDT_UART);
	if (uart) {
		char path[64];
		snprintf(path, sizeof(path), "/soc/serial@%llx",
			 (unsigned long long)uart->base);
		TRY(fdt_property_string(fdt, "stdout-path", path));
	}
	if (p->initrd_end > p->initrd_start) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start",
				     p->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
	}
	TRY(fdt_property(fdt, "rng-seed", seed, RNG_SEED_BYTES));
	return fdt_end_node(fdt);
}

static int add_cpu(void *fdt, const struct rv_fdt_params *p, unsigned i)
{
	TRY(begin_node_at(fdt, "cpu", i));
	TRY(fdt_property_u32(fdt, "phandle", PH_CPU(i)));
	TRY(fdt_property_string(fdt, "device_type", "cpu"));
	TRY(fdt_property_u32(fdt, "reg", i));
	TRY(fdt_property_string(fdt, "status", "okay"));
	TRY(fdt_property_string(fdt, "compatible", "riscv"));
	TRY(fdt_property_string(fdt, "riscv,isa", p->isa));
	TRY(fdt_property_string(fdt, "riscv,isa-base", "rv64i"));
	if (p->nextensions)
		TRY(prop_strings(fdt, "riscv,isa-extensions", p->extensions,
				 p->nextensions));
	TRY(fdt_property_string(fdt, "mmu-type",
				p->mmu_type ? p->mmu_type : "riscv,sv48"));
	TRY(fdt_property_u32(fdt, "riscv,cbom-block-size", CBO_BLOCK_SIZE));
	TRY(fdt_property_u32(fdt, "riscv,cboz-block-size", CBO_BLOCK_SIZE));

	TRY(fdt_begin_node(fdt, "interrupt-controller"));
	TRY(fdt_property_u32(fdt, "phandle", PH_INTC(i)));
	TRY(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

static int add_cpus(void *fdt, const struct rv_fdt_params *p)
{
	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	TRY(fdt_property_u32(fdt, "timebase-frequency", RV_TIMEBASE_HZ));
	for (unsigned i = 0; i < p->nharts; i++)
		TRY(add_cpu(fdt, p, i));

	/* One cluster of single-threaded cores, as QEMU describes it. */
	TRY(fdt_begin_node(fdt, "cpu-map"));
	TRY(fdt_begin_node(fdt, "cluster0"));
	for (unsigned i = 0; i < p->nharts; i++) {
		char name[16];
		snprintf(name, sizeof(name), "core%u", i);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_u32(fdt, "cpu", PH_CPU(i)));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));
	TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

static int add_dev(void *fdt, const struct rv_fdt_params *p,
		   const struct rv_fdt_dev *d)
{
	static const char *const clint_compat[] = {
		"sifive,clint0", "riscv,clint0" };
	static const char *const plic_compat[] = {
		"sifive,plic-1.0.0", "riscv,plic0" };
	static const char *const test_compat[] = {
		"sifive,test1", "sifive,test0", "syscon" };

	switch (d->kind) {
	case RV_FDT_TEST:
		TRY(begin_node_at(fdt, "test", d->base));
		TRY(fdt_property_u32(fdt, "phandle", PH_TEST));
		TRY(prop_strings(fdt, "compatible", test_compat, 3));
		break;
	case RV_FDT_CLINT:
		TRY(begin_node_at(fdt, "clint", d->base));
		TRY(prop_strings(fdt, "compatible", clint_compat, 2));
		TRY(prop_irq_ext(fdt, p->nharts, IRQ_M_SOFT, IRQ_M_TIMER));
		break;
	case RV_FDT_PLIC:
		TRY(begin_node_at(fdt, "plic", d->base));
		TRY(fdt_property_u32(fdt, "phandle", PH_PLIC));
		TRY(prop_strings(fdt, "compatible", plic_compat, 2));
		TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
		TRY(fdt_property_u32(fdt, "#address-cells", 0));
		TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
		TRY(fdt_property_u32(fdt, "riscv,ndev", RV_PLIC_NDEV));
		/* Context 2*hart is M-mode (MEIP), 2*hart+1 S-mode (SEIP). */
		TRY(prop_irq_ext(fdt, p->nharts, IRQ_M_EXT, IRQ_S_EXT));
		break;
	case RV_FDT_RTC:
		TRY(begin_node_at(fdt, "rtc", d->base));
		TRY(fdt_property_string(fdt, "compatible",
					"google,goldfish-rtc"));
		break;
	case RV_FDT_UART:
		TRY(begin_node_at(fdt, "serial", d->base));
		TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
		TRY(fdt_property_u32(fdt, "clock-frequency", 3686400));
		TRY(fdt_property_u32(fdt, "reg-shift", 0));
		break;
	case RV_FDT_VIRTIO:
		TRY(begin_node_at(fdt, "virtio_mmio", d->base));
		TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
		break;
	}
	TRY(prop_reg(fdt, d->base, d->size));
	if (d->irq) {
		TRY(fdt_property_u32(fdt, "interrupts", d->irq));
		TRY(fdt_property_u32(fdt, "interrupt-parent", PH_PLIC));
	}
	return fdt_end_node(fdt);
}

static int add_soc(void *fdt, const struct rv_fdt_params *p)
{
	TRY(fdt_begin_node(fdt, "soc"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_string(fdt, "compatible", "simple-bus"));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	for (unsigned i = 0; i < p->ndevs; i++)
		TRY(add_dev(fdt, p, &p->devs[i]));
	return fdt_end_node(fdt);
}

int rv_fdt_add_device(struct rv_fdt_params *p, enum rv_fdt_kind kind,
		      uint64_t base, uint64_t size, unsigned irq,
		      struct err *errp)
{
	if (p->ndevs >= RV_FDT_MAX_DEVS)
		return err_set(errp, ENOSPC, "device tree: more than %d "
			       "devices", RV_FDT_MAX_DEVS);
	p->devs[p->ndevs++] = (struct rv_fdt_dev){ kind, base, size, irq };
	return 0;
}

/* syscon-poweroff / syscon-reboot drive the sifive,test0 register. */
static int add_syscon(void *fdt, const char *name, const char *compat,
		      uint32_t value)
{
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", compat));
	TRY(fdt_property_u32(fdt, "regmap", PH_TEST));
	TRY(fdt_property_u32(fdt, "offset", 0));
	TRY(fdt_property_u32(fdt, "value", value));
	return fdt_end_node(fdt);
}

static int build(void *fdt, int size, const struct rv_fdt_params *p,
		 const uint8_t *seed)
{
	TRY(fdt_create(fdt, size));
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_string(fdt, "compatible", "riscv-virtio"));
	TRY(fdt_property_string(fdt, "model", "ringvm,virt"));

	TRY(add_chosen(fdt, p, seed));

	TRY(begin_node_at(fdt, "memory", p->ram_base));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg(fdt, p->ram_base, p->ram_size));
	TRY(fdt_end_node(fdt));

	TRY(add_cpus(fdt, p));
	TRY(add_soc(fdt, p));
	/* U-Boot's control-FDT settings (doc/device-tree-bindings/config.txt):
	 * it takes this tree from the firmware and would otherwise wait its
	 * built-in 2 s for a key before booting the disk; Linux ignores it. */
	TRY(fdt_begin_node(fdt, "config"));
	TRY(fdt_property_u32(fdt, "bootdelay", 0));
	TRY(fdt_end_node(fdt));
	if (find_dev(p, RV_FDT_TEST)) {
		TRY(add_syscon(fdt, "poweroff", "syscon-poweroff", 0x5555));
		TRY(add_syscon(fdt, "reboot", "syscon-reboot", 0x7777));
	}
	TRY(fdt_end_node(fdt));
	TRY(fdt_finish(fdt));
	/* Leave the rest of the buffer as free space inside the blob. */
	TRY(fdt_open_into(fdt, fdt, size));
	return fdt_check_full(fdt, size);
}

static int check_params(const struct rv_fdt_params *p, struct err *errp)
{
	if (p->nharts == 0 || p->nharts > RV_MAX_HARTS)
		return err_set(errp, EINVAL, "device tree: %u harts "
			       "(1..%u supported)", p->nharts, RV_MAX_HARTS);
	if (!p->isa || !*p->isa)
		return err_set(errp, EINVAL, "device tree: no ISA string");
	if (p->nextensions && !p->extensions)
		return err_set(errp, EINVAL, "device tree: no ISA extensions");
	for (unsigned i = 0; i < p->nextensions; i++)
		if (!p->extensions[i] || !*p->extensions[i])
			return err_set(errp, EINVAL, "device tree: empty ISA "
				       "extension #%u", i);
	if (p->ram_size == 0 || p->ram_base + p->ram_size < p->ram_base)
		return err_set(errp, EINVAL, "device tree: bad RAM range");
	if (p->initrd_end < p->initrd_start)
		return err_set(errp, EINVAL, "device tree: initrd ends "
			       "before it starts");
	unsigned count[RV_FDT_VIRTIO + 1] = { 0 };
	for (unsigned i = 0; i < p->ndevs && i < RV_FDT_MAX_DEVS; i++) {
		const struct rv_fdt_dev *d = &p->devs[i];
		if ((unsigned)d->kind > RV_FDT_VIRTIO)
			return err_set(errp, EINVAL, "device tree: device %u "
				       "of unknown kind %d", i, (int)d->kind);
		count[d->kind]++;
		if (d->size == 0 || d->base + d->size < d->base)
			return err_set(errp, EINVAL, "device tree: device %u "
				       "has an empty or wrapping window", i);
		bool irq = d->kind == RV_FDT_RTC || d->kind == RV_FDT_UART ||
			   d->kind == RV_FDT_VIRTIO;
		if (irq ? d->irq == 0 || d->irq > RV_PLIC_NDEV : d->irq != 0)
			return err_set(errp, EINVAL, "device tree: device %u "
				       "has irq %u (PLIC sources are 1..%d)",
				       i, d->irq, RV_PLIC_NDEV);
		if (irq && !find_dev(p, RV_FDT_PLIC))
			return err_set(errp, EINVAL, "device tree: device %u "
				       "interrupts but there is no PLIC", i);
	}
	if (p->ndevs > RV_FDT_MAX_DEVS || count[RV_FDT_TEST] > 1 ||
	    count[RV_FDT_CLINT] > 1 || count[RV_FDT_PLIC] > 1)
		return err_set(errp, EINVAL, "device tree: too many devices, "
			       "or more than one test device, CLINT or PLIC");
	return 0;
}

int rv_fdt_build(const struct rv_fdt_params *p, void *buf, size_t bufsize,
		 struct err *errp)
{
	int rc = check_params(p, errp);
	if (rc)
		return rc;
	if (bufsize > INT_MAX)
		bufsize = INT_MAX;

	uint8_t seed[RNG_SEED_BYTES];
	size_t got = 0;
	while (got < sizeof(seed)) {
		ssize_t n = getrandom(seed + got, sizeof(seed) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_sys(errp, n < 0 ? errno : EIO,
				       "device tree: rng-seed from getrandom");
		got += (size_t)n;
	}

	rc = build(buf, (int)bufsize, p, seed);
	if (rc == -FDT_ERR_NOSPACE)
		return err_set(errp, ENOSPC, "device tree does not fit in %zu "
			       "bytes", bufsize);
	if (rc < 0)
		return err_set(errp, EINVAL, "building the device tree: %s",
			       fdt_strerror(rc));
	return 0;
}
