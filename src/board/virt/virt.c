/* The riscv `virt` board (virt.h): machine assembly, reset and the
 * I/O-thread side of the devices.  The VM handle (vmm/vm.c) runs it. */
#include "virt.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "core/evloop.h"
#include "hw/clint.h"
#include "board/virt/fdt.h"
#include "engine/rv64/hart.h"
#include "board/virt/loader.h"
#include "board/virt/memmap.h"
#include "board/virt/sbi.h"
#include "hw/plic.h"
#include "hw/goldfish_rtc.h"
#include "hw/sifive_test.h"
#include "hw/uart8250.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_net.h"
#include "hw/virtio_rng.h"
#include "net/net.h"
#include "vmm/boot_source.h"
#include "vmm/console.h"
#include "engine/rv64/engine.h"
#include "virt_int.h"

uint64_t virt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void test_device(void *opaque, int kind, int code)
{
	struct rv_machine *m = opaque;
	if (kind == SIFIVE_TEST_PASS)
		rv_machine_request_exit(m, RV_EXIT_POWEROFF, 0);
	else if (kind == SIFIVE_TEST_FAIL)
		rv_machine_request_exit(m, RV_EXIT_POWEROFF, code ? code : 1);
	else
		rv_machine_request_exit(m, RV_EXIT_REBOOT, 0);
}

/* riscv-tests HTIF: bit 0 set = exit with code >> 1; device 1 command 1
 * = console putchar.  Anything else is acknowledged and ignored. */
static void htif_poll(struct virt_board *v)
{
	struct rv_machine *m = &v->m;
	uint64_t *to = gpa_ptr(&m->mem, m->tohost, 8);
	/* The guest's harts write tohost concurrently: take it atomically. */
	if (!to || !__atomic_load_n(to, __ATOMIC_ACQUIRE))
		return;
	uint64_t val = __atomic_exchange_n(to, 0, __ATOMIC_ACQ_REL);
	unsigned dev = val >> 56, cmd = (val >> 48) & 0xff;
	if (dev == 0 && cmd == 0 && (val & 1)) {
		uint64_t code = (val & 0xffffffffffffULL) >> 1;
		rv_machine_request_exit(m, RV_EXIT_HTIF,
					code > INT_MAX ? INT_MAX : (int)code);
		return;
	}
	if (dev == 1 && cmd == 1) {
		uint8_t ch = val;
		console_write(&v->con, &ch, 1);
	}
	uint64_t *from = gpa_ptr(&m->mem, m->fromhost, 8);
	if (from)
		__atomic_store_n(from, (uint64_t)dev << 56 | (uint64_t)cmd << 48,
				 __ATOMIC_RELEASE);
}

static size_t uart_put(void *opaque, const uint8_t *buf, size_t n)
{
	return uart8250_receive(opaque, buf, n);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t fnv1a_str(uint64_t h, const char *s)
{
	return fnv1a(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* Default MAC of NIC i: the same VM definition (kernel, initrd, disks,
 * command line, NIC index and spec) gets the same MAC on every boot, so
 * DHCP leases and neighbour caches stay valid; two VMs that differ in any
 * of these get different MACs.  Locally administered (0x02), unicast. */
static void default_mac(const struct vm_config *cfg, unsigned i,
			uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = fnv1a_str(h, cfg->kernel);
	h = fnv1a_str(h, cfg->initrd);
	for (unsigned d = 0; d < cfg->ndisks; d++)
		h = fnv1a_str(h, cfg->disks[d].path);
	h = fnv1a_str(h, cfg->cmdline);
	h = fnv1a(h, &i, sizeof(i));
	h = fnv1a_str(h, cfg->nics[i].spec);
	for (int k = 0; k < 6; k++)
		mac[k] = (uint8_t)(h >> (8 * k));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

/* A device is on the bus: describe it in the device tree. */
static int place(struct virt_board *v, enum rv_fdt_kind kind, uint64_t base,
		 uint64_t size, unsigned irq, struct err *errp)
{
	return rv_fdt_add_device(&v->fp, kind, base, size, irq, errp);
}

static int place_virtio(struct virt_board *v, unsigned slot,
			struct err *errp)
{
	return place(v, RV_FDT_VIRTIO, RV_VIRTIO_BASE + slot * RV_VIRTIO_SIZE,
		     RV_VIRTIO_SIZE, RV_VIRTIO_IRQ + slot, errp);
}

static int build_nics(struct virt_board *v, const struct vm_config *cfg,
		      struct err *errp)
{
	struct rv_machine *m = &v->m;
	if (cfg->ndisks + cfg->nnics > RV_VIRTIO_SLOTS)
		return err_set(errp, EINVAL, "%u disks and %u NICs: the board "
			       "has %d virtio slots", cfg->ndisks, cfg->nnics,
			       RV_VIRTIO_SLOTS);
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const struct vm_nic *nic = &cfg->nics[i];
		unsigned slot = cfg->ndisks + i;
		uint8_t mac[6];
		int rc = net_backend_open(nic->spec, v->loop, &v->nb[i], errp);
		if (rc < 0)
			return rc;
		v->nnics = i + 1;
		if (nic->has_mac)
			memcpy(mac, nic->mac, 6);
		else
			default_mac(cfg, i, mac);
		rc = virtio_net_init(&v->net[i], &m->bus,
				     RV_VIRTIO_BASE + slot * RV_VIRTIO_SIZE,
				     &m->mem, rv_plic_irq(m, RV_VIRTIO_IRQ + slot),
				     v->nb[i], mac, errp);
		if (rc < 0)
			return err_prefix(errp, "--net %s", nic->spec);
		if ((rc = place_virtio(v, slot, errp)) < 0)
			return rc;
	}
	return 0;
}

/* Keep copies of the loaded firmware, kernel and initrd for reboots. */
static int save_images(struct virt_board *v, struct err *errp)
{
	const struct rv_boot *b = &v->boot;
	const uint64_t r[3][2] = {
		{ b->fw_start, b->fw_end },
		{ b->kernel_start, b->kernel_end },
		{ b->initrd_start, b->initrd_end },
	};
	for (unsigned i = 0; i < 3; i++) {
		if (r[i][1] <= r[i][0])
			continue;
		struct saved_image *si = &v->saved[v->nsaved];
		si->gpa = r[i][0];
		si->len = r[i][1] - r[i][0];
		const void *src = gpa_ptr(&v->m.mem, si->gpa, si->len);
		si->data = src ? malloc(si->len) : NULL;
		if (!si->data)
			return err_set(errp, ENOMEM, "cannot keep a %llu KiB "
				       "copy of the boot images for reboots "
				       "(--no-reboot does without)",
				       (unsigned long long)(si->len >> 10));
		memcpy(si->data, src, si->len);
		v->nsaved++;
	}
	return 0;
}

/* Describe the board (a fresh rng-seed each boot), place the FDT and
 * start the boot hart (every hart without the built-in SBI). */
static int start_boot(struct virt_board *v, struct err *errp)
{
	struct rv_machine *m = &v->m;
	int rc;
	if ((rc = rv_fdt_build(&v->fp, v->fdt, sizeof(v->fdt), errp)) < 0 ||
	    (rc = rv_boot_finish(&v->boot, &m->mem, v->fdt, errp)) < 0)
		return rc;
	for (unsigned i = 0; i < m->nharts; i++) {
		struct rv_hart *h = m->harts[i];
		if (i == 0 || !m->sbi) {
			rv_hart_reset(h, v->boot.entry, v->boot.priv,
				      v->boot.fdt_addr);
			h->x[12] = v->boot.fw_info_addr;
		}
	}
	return 0;
}

/* A guest reboot: the machine as at power-on, then the same boot.  The
 * RTC keeps its time, disks their contents (flushed), the console its
 * pending input. */
static int reset_machine(struct virt_board *v, struct err *errp)
{
	struct rv_machine *m = &v->m;
	for (unsigned i = 0; i < v->ndisks; i++) {
		/* Its I/O threads complete requests under the device lock. */
		bus_lock(&m->bus);
		virtio_mmio_reset(&v->blk[i].t);
		bus_unlock(&m->bus);
		block_flush(v->bd[i]);
	}
	for (unsigned i = 0; i < v->nnics; i++)
		virtio_mmio_reset(&v->net[i].t);
	if (v->has_rng)
		virtio_mmio_reset(&v->rng.t);
	if (v->has_input) {
		/* A press was meant for the boot that ended. */
		bus_lock(&m->bus);
		virtio_mmio_reset(&v->input.t);
		virtio_input_drop_pending(&v->input);
		bus_unlock(&m->bus);
	}
	uart8250_reset(&v->uart);
	goldfish_rtc_reset(&v->rtc);
	rv_clint_reset(m);
	rv_plic_reset(m);
	for (unsigned i = 0; i < m->nharts; i++) {
		virt_engine(v)->vcpu_reset(virt_vcpu(v, i));
	}
	guest_mem_clear(&m->mem);
	int rc = virt_reload_images(v, errp);
	if (rc < 0)
		return err_prefix(errp, "reboot");
	m->exit_request = 0;
	m->exit_reason = RV_EXIT_NONE;
	m->exit_code = 0;
	return start_boot(v, errp);
}

/* Without --kernel: the first disk through U-Boot when asked to (--boot
 * disk) or when nothing else is asked for and that disk has a partition
 * table; otherwise the default guest.  Fills cfg->kernel (and initrd). */
static int choose_boot(struct virt_board *v, struct vm_config *cfg,
		       struct err *errp)
{
	if (cfg->kernel)
		return 0;
	bool disk = cfg->boot == VM_BOOT_DISK ||
		    (cfg->boot == VM_BOOT_AUTO && v->ndisks > 0 &&
		     !cfg->initrd && !cfg->cmdline &&
		     boot_disk_has_partition_table(v->bd[0]));
	int rc;
	if (!disk) {
		rc = boot_find_default_guest(&v->boot_paths[0],
					     &v->boot_paths[1], errp);
		if (rc < 0)
			return rc;
		cfg->kernel = v->boot_paths[0];
		if (!cfg->initrd)
			cfg->initrd = v->boot_paths[1];
		return 0;
	}
	if (!v->ndisks)
		return err_set(errp, EINVAL, "--boot disk needs a --disk");
	if (cfg->loader) {
		cfg->kernel = cfg->loader;
		return 0;
	}
	rc = boot_find_loader(&v->boot_paths[0], errp);
	if (rc == 0)
		cfg->kernel = v->boot_paths[0];
	return rc;
}

static int build(struct virt_board *v, struct vm_config *cfg,
		 struct err *errp)
{
	struct rv_machine *m = &v->m;
	int rc;

	m->mtime_epoch_ns = virt_now_ns();
	m->sbi = cfg->bios == NULL;
	m->ecall = rv_sbi_ecall;
	m->nharts = cfg->cpus;
	m->accel = RV_ACCEL_DEFAULT;
	if (cfg->accel && rv_accel_parse(cfg->accel, &m->accel))
		return err_set(errp, EINVAL, "--accel `%s`: expected interp, "
			       "jit or jit-verify", cfg->accel);
	m->console_write = console_write;
	m->console_read = console_getc;
	m->console_opaque = &v->con;

	rc = guest_mem_add(&m->mem, RV_RAM_BASE, cfg->mem, errp);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < cfg->cpus; i++) {
		m->harts[i] = rv_hart_new(m, i, errp);
		if (!m->harts[i])
			return -ENOMEM;
	}
	struct rv_fdt_params *fp = &v->fp;
	if ((rc = rv_clint_init(m, RV_CLINT_BASE, errp)) < 0 ||
	    (rc = place(v, RV_FDT_CLINT, RV_CLINT_BASE, RV_CLINT_SIZE, 0,
			errp)) < 0 ||
	    (rc = rv_plic_init(m, RV_PLIC_BASE, errp)) < 0 ||
	    (rc = place(v, RV_FDT_PLIC, RV_PLIC_BASE, RV_PLIC_SIZE, 0,
			errp)) < 0)
		return rc;
	rc = sifive_test_init(&v->test, &m->bus, RV_TEST_BASE, test_device, m,
			      errp);
	if (rc < 0 ||
	    (rc = place(v, RV_FDT_TEST, RV_TEST_BASE, RV_TEST_SIZE, 0,
			errp)) < 0)
		return rc;
	rc = uart8250_init(&v->uart, &m->bus, RV_UART0_BASE,
			   rv_plic_irq(m, RV_UART0_IRQ), console_write,
			   &v->con, errp);
	if (rc < 0 ||
	    (rc = place(v, RV_FDT_UART, RV_UART0_BASE, RV_UART0_SIZE,
			RV_UART0_IRQ, errp)) < 0)
		return rc;
	rc = goldfish_rtc_init(&v->rtc, &m->bus, RV_RTC_BASE,
			       rv_plic_irq(m, RV_RTC_IRQ), NULL, NULL, errp);
	if (rc < 0 ||
	    (rc = place(v, RV_FDT_RTC, RV_RTC_BASE, RV_RTC_SIZE, RV_RTC_IRQ,
			errp)) < 0)
		return rc;
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		const struct vm_disk *d = &cfg->disks[i];
		struct block_open_opts bo = {
			.format = d->format,
			.read_only = d->read_only,
			.backing_devices = d->backing_devices,
			.nbacking_devices = d->nbacking_devices,
			.l2_cache = d->l2_cache,
			.cache = d->cache,
		};
		rc = block_open_with(d->path, &bo, &v->bd[i], errp);
		if (rc < 0)
			return rc;
		if (v->bd[i]->probe_guard)
			fprintf(stderr, "ringvm: warning: disk %s: format probed "
				"as raw; writes that would make sector 0 look "
				"like another format are refused; add ,format=raw "
				"to allow them\n", d->path);
		v->ndisks = i + 1;
		rc = virtio_blk_init(&v->blk[i], &m->bus,
				     RV_VIRTIO_BASE + i * RV_VIRTIO_SIZE,
				     &m->mem,
				     rv_plic_irq(m, RV_VIRTIO_IRQ + i),
				     v->bd[i], NULL, errp);
		if (rc < 0)
			return err_prefix(errp, "disk `%s`", d->path);
		if ((rc = place_virtio(v, i, errp)) < 0)
			return rc;
	}
	/* Before the NICs: their default MACs hash the kernel's path.  A
	 * continued VM boots nothing, but its default MACs are the
	 * original's when the same boot source is found (the state check
	 * compares them); not finding one is no error. */
	if (cfg->incoming)
		(void)choose_boot(v, cfg, NULL);
	else if ((rc = choose_boot(v, cfg, errp)) < 0)
		return rc;
	if ((rc = build_nics(v, cfg, errp)) < 0)
		return rc;
	/* virtio-rng takes the slot after the NICs when one is free. */
	unsigned rng_slot = cfg->ndisks + cfg->nnics;
	if (!cfg->no_rng && rng_slot < RV_VIRTIO_SLOTS) {
		rc = virtio_rng_init(&v->rng, &m->bus,
				     RV_VIRTIO_BASE + rng_slot * RV_VIRTIO_SIZE,
				     &m->mem,
				     rv_plic_irq(m, RV_VIRTIO_IRQ + rng_slot),
				     errp);
		if (rc < 0 || (rc = place_virtio(v, rng_slot, errp)) < 0)
			return rc;
		v->has_rng = true;
	}
	/* The power button (virtio-input) takes the next free slot. */
	unsigned input_slot = rng_slot + (v->has_rng ? 1 : 0);
	if (!cfg->no_power_button && input_slot < RV_VIRTIO_SLOTS) {
		rc = virtio_input_init(&v->input, &m->bus,
				       RV_VIRTIO_BASE +
				       input_slot * RV_VIRTIO_SIZE, &m->mem,
				       rv_plic_irq(m, RV_VIRTIO_IRQ + input_slot),
				       errp);
		if (rc < 0 || (rc = place_virtio(v, input_slot, errp)) < 0)
			return rc;
		v->has_input = true;
	}

	fp->nharts = m->nharts;
	fp->isa = rv_isa_string();
	fp->extensions = rv_isa_extensions(&fp->nextensions);
	fp->ram_base = RV_RAM_BASE;
	fp->ram_size = cfg->mem;
	fp->bootargs = v->cmdline;
	enum rv_boot_mode mode = !cfg->bios ? RV_BOOT_SBI :
				 !strcmp(cfg->bios, "none") ? RV_BOOT_BARE :
				 RV_BOOT_FIRMWARE;
	struct rv_boot *boot = &v->boot;
	rv_boot_init(boot, mode, RV_RAM_BASE, cfg->mem);
	/* A continued VM gets RAM, harts, devices and the boot layout for
	 * reboots from its saved state (persist.c); nothing is loaded. */
	if (cfg->incoming)
		return 0;

	/* Load images, then describe the board to the guest. */
	if (mode == RV_BOOT_FIRMWARE &&
	    (rc = rv_load_firmware(boot, &m->mem, cfg->bios, errp)) < 0)
		return rc;
	if ((rc = rv_load_kernel(boot, &m->mem, cfg->kernel, errp)) < 0 ||
	    (rc = rv_boot_reserve_fdt(boot, RV_FDT_DEFAULT_SIZE, errp)) < 0)
		return rc;
	if (cfg->initrd &&
	    (rc = rv_load_initrd(boot, &m->mem, cfg->initrd, errp)) < 0)
		return rc;
	m->tohost = boot->tohost;
	m->fromhost = boot->fromhost;

	snprintf(v->cmdline, sizeof(v->cmdline), "console=ttyS0%s%s",
		 cfg->cmdline ? " " : "", cfg->cmdline ? cfg->cmdline : "");
	fp->initrd_start = boot->initrd_start;
	fp->initrd_end = boot->initrd_end;
	if (!cfg->no_reboot && (rc = save_images(v, errp)) < 0)
		return rc;
	return start_boot(v, errp);
}

static void teardown(struct virt_board *v)
{
	for (unsigned i = 0; i < v->nnics; i++) {
		virtio_net_exit(&v->net[i]);
		net_backend_free(v->nb[i]);
	}
	for (unsigned i = 0; i < v->ndisks; i++) {
		virtio_blk_exit(&v->blk[i]);
		block_close(v->bd[i]);
	}
	if (v->has_rng)
		virtio_rng_exit(&v->rng);
	if (v->has_input)
		virtio_input_exit(&v->input);
	uart8250_exit(&v->uart);
	goldfish_rtc_exit(&v->rtc);
	sifive_test_exit(&v->test);
	/* Harts last: a device lowering its line on exit reaches them
	 * through the PLIC. */
	for (unsigned i = 0; i < v->m.nharts; i++) {
		if (v->m.harts[i])
			rv_hart_free(v->m.harts[i]);
		v->m.harts[i] = NULL;
	}
	for (unsigned i = 0; i < v->nsaved; i++)
		free(v->saved[i].data);
	if (v->has_boot_fd)
		close(v->boot_fd);
	rv_plic_free(&v->m);
	rv_clint_free(&v->m);
	bus_free(&v->m.bus);
	guest_mem_free(&v->m.mem);
	free(v->boot_paths[0]);
	free(v->boot_paths[1]);
}

int virt_create(struct vm_config *cfg, struct evloop *loop,
		void (*exit_hook)(void *opaque), void *opaque,
		struct virt_board **out, struct err *errp)
{
	if (!cfg->kernel && !cfg->incoming && cfg->bios &&
	    !strcmp(cfg->bios, "none"))
		return err_set(errp, EINVAL, "--bios none needs --kernel");
	if (cfg->cpus == 0 || cfg->cpus > RV_MAX_HARTS)
		return err_set(errp, EINVAL, "--cpus %u: the board takes 1 to "
			       "%d harts", cfg->cpus, RV_MAX_HARTS);
	struct virt_board *v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(errp, ENOMEM, "out of memory");
	v->loop = loop;
	v->cfg = cfg;
	v->m.exit_hook = exit_hook;
	v->m.exit_opaque = opaque;
	int rc = build(v, cfg, errp);
	if (rc < 0) {
		teardown(v);
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void virt_destroy(struct virt_board *v)
{
	if (!v)
		return;
	console_close(&v->con);
	teardown(v);
	free(v);
}

const struct engine_ops *virt_engine(const struct virt_board *v)
{
	(void)v;
	return &rv64_interp_engine;
}

unsigned virt_nvcpus(const struct virt_board *v)
{
	return v->m.nharts;
}

struct vcpu *virt_vcpu(struct virt_board *v, unsigned i)
{
	return i < v->m.nharts ? rv_hart_vcpu(v->m.harts[i]) : NULL;
}

struct guest_mem *virt_mem(struct virt_board *v)
{
	return &v->m.mem;
}

struct block_dev *virt_disk(struct virt_board *v, unsigned i)
{
	return i < v->ndisks ? v->bd[i] : NULL;
}

struct bus *virt_bus(struct virt_board *v)
{
	return &v->m.bus;
}

int virt_console_open(struct virt_board *v, struct err *errp)
{
	const struct vm_config *cfg = v->cfg;
	if (cfg->console_fds)
		return console_open_fds(&v->con, v->loop, cfg->console_in,
					cfg->console_out, errp);
	return console_open(&v->con, v->loop, errp);
}

void virt_console_close(struct virt_board *v)
{
	console_close(&v->con);
}

int virt_console_sysrq(struct virt_board *v, char key)
{
	uint8_t k = (uint8_t)key;
	/* Break and key together, or the user's typing could come between. */
	if (!uart8250_rx_listening(&v->uart, virt_now_ns()) ||
	    uart8250_rx_space(&v->uart) < 2 ||
	    !uart8250_receive_break(&v->uart))
		return -EAGAIN;
	uart8250_receive(&v->uart, &k, 1);
	return 0;
}

int virt_power_button(struct virt_board *v)
{
	if (!v->has_input)
		return -ENODEV;
	return virtio_input_power_button(&v->input);
}

void virt_poll(struct virt_board *v)
{
	struct rv_machine *m = &v->m;
	goldfish_rtc_poll(&v->rtc);
	if (m->tohost)
		htif_poll(v);
	uint64_t now = virt_now_ns();
	size_t space = uart8250_rx_listening(&v->uart, now) ?
		       uart8250_rx_space(&v->uart) : 0;
	console_pump(&v->con, space, uart_put, &v->uart, now);
	if (v->con.quit)
		rv_machine_request_exit(m, RV_EXIT_USER, 0);
}

int virt_timeout_ms(const struct virt_board *v)
{
	int timeout = -1;
	uint64_t rtc_ns = goldfish_rtc_next_ns(&v->rtc);
	if (rtc_ns != UINT64_MAX)
		timeout = rtc_ns / 1000000 > 1000 ? 1000 :
			  (int)(rtc_ns / 1000000) + 1;
	/* Input that cannot be delivered yet (the FIFO is full, or the
	 * driver does not listen) must be offered again soon; files and
	 * /dev/null cannot be polled.  HTIF is a RAM word: polled. */
	if (v->con.head != v->con.tail || !v->con.pollable)
		timeout = timeout < 0 || timeout > 10 ? 10 : timeout;
	if (v->m.tohost)
		timeout = timeout < 0 || timeout > 1 ? 1 : timeout;
	return timeout;
}

enum virt_exit virt_exit_reason(const struct virt_board *v, int *code)
{
	enum rv_exit r = __atomic_load_n(&v->m.exit_reason, __ATOMIC_ACQUIRE);
	*code = v->m.exit_code;
	switch (r) {
	case RV_EXIT_POWEROFF: return VIRT_EXIT_POWEROFF;
	case RV_EXIT_REBOOT: return VIRT_EXIT_REBOOT;
	case RV_EXIT_HTIF: return VIRT_EXIT_HTIF;
	case RV_EXIT_USER: return VIRT_EXIT_USER;
	case RV_EXIT_ERROR: return VIRT_EXIT_ERROR;
	default: return VIRT_EXIT_NONE;
	}
}

int virt_reset(struct virt_board *v, struct err *errp)
{
	return reset_machine(v, errp);
}

void virt_clock_stop(struct virt_board *v)
{
	if (!v->clock_stopped_ns)
		v->clock_stopped_ns = virt_now_ns();
}

void virt_clock_start(struct virt_board *v)
{
	if (!v->clock_stopped_ns)
		return;
	v->m.mtime_epoch_ns += virt_now_ns() - v->clock_stopped_ns;
	v->clock_stopped_ns = 0;
}

void virt_quiesce(struct virt_board *v)
{
	/* Requests in flight on the disks' I/O threads complete first. */
	for (unsigned i = 0; i < v->ndisks; i++)
		virtio_blk_drain(&v->blk[i]);
}

int virt_replace_disk(struct virt_board *v, unsigned i, struct block_dev *bd)
{
	if (i >= v->ndisks)
		return -EINVAL;
	int rc = virtio_blk_replace_disk(&v->blk[i], bd);
	if (rc == 0)
		v->bd[i] = bd;
	return rc;
}

void virt_print_stats(struct virt_board *v, double s)
{
	uint64_t insns = 0;
	for (unsigned i = 0; i < v->m.nharts; i++)
		insns += v->m.harts[i]->instret;
	fprintf(stderr, "ringvm: %" PRIu64 " instructions in %.3f s "
		"(%.1f MIPS)\n", insns, s, s > 0 ? insns / s / 1e6 : 0);
	uint64_t jb = 0, jbytes = 0, jflush = 0, jver = 0;
	for (unsigned i = 0; i < v->m.nharts; i++) {
		const struct rv_jit *j = rv_hart_jit(v->m.harts[i]);
		if (!j)
			continue;
		jb += j->blocks;
		jbytes += j->bytes;
		jflush += j->flushes;
		jver += j->verified;
	}
	if (v->m.accel != RV_ACCEL_INTERP)
		fprintf(stderr, "ringvm: %s: %" PRIu64 " blocks translated (%"
			PRIu64 " bytes of code), %" PRIu64 " code-cache "
			"flushes, %" PRIu64 " blocks verified\n",
			rv_accel_name(v->m.accel), jb, jbytes, jflush, jver);
	for (unsigned i = 0; i < v->nnics; i++) {
		const struct virtio_net_stats *ns = &v->net[i].stats;
		fprintf(stderr, "ringvm: net%u (%s): tx %" PRIu64
			" frames (%" PRIu64 " TSO) %" PRIu64 " bytes, rx %"
			PRIu64 " frames (%" PRIu64 " TSO) %" PRIu64
			" bytes; dropped: tx "
			"bad-chain %" PRIu64 " bad-hdr %" PRIu64
			" too-big %" PRIu64 " backend %" PRIu64
			", rx no-buffers %" PRIu64 " too-big %" PRIu64
			" bad-chain %" PRIu64 "\n", i, v->nb[i]->kind,
			ns->tx_frames, ns->tx_gso, ns->tx_bytes,
			ns->rx_frames, ns->rx_gso, ns->rx_bytes,
			ns->tx_bad_chain, ns->tx_bad_hdr, ns->tx_too_big,
			ns->tx_backend_drop, ns->rx_no_buffers,
			ns->rx_too_big, ns->rx_bad_chain);
	}
}
