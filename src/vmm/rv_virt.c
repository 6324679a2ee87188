/* Machine assembly and run loop for the emulated RISC-V `virt` board.
 *
 * One host thread runs every hart round-robin in slices of guest
 * instructions (docs/ARCHITECTURE.md explains why: LR/SC, TLB shootdowns and
 * code-cache invalidation stay trivially coherent).  Between slices the loop
 * updates timers, moves console input into the UART, watches the HTIF
 * tohost word and host events; when every hart sleeps in WFI it blocks in
 * epoll until the next timer deadline or input. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "core/evloop.h"
#include "engine/rv64/clint.h"
#include "engine/rv64/fdt.h"
#include "engine/rv64/hart.h"
#include "engine/rv64/loader.h"
#include "engine/rv64/plic.h"
#include "hw/sifive_test.h"
#include "hw/uart8250.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_net.h"
#include "net/net.h"
#include "vmm/boot_source.h"
#include "vmm/console.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

struct rv_virt {
	struct rv_machine m;
	struct evloop loop;
	struct console con;
	struct uart8250 uart;
	struct sifive_test test;
	unsigned ndisks;
	struct block_dev *bd[VM_MAX_DISKS];
	struct virtio_blk blk[VM_MAX_DISKS];
	unsigned nnics;
	struct net_backend *nb[VM_MAX_NICS];
	struct virtio_net net[VM_MAX_NICS];
	char *boot_paths[2];  /* resolved kernel/loader and initrd (owned) */
};

static uint64_t now_ns(void)
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
static void htif_poll(struct rv_virt *v)
{
	struct rv_machine *m = &v->m;
	uint64_t *to = gpa_ptr(&m->mem, m->tohost, 8);
	if (!to || !*to)
		return;
	uint64_t val = *to;
	*to = 0;
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
		*from = (uint64_t)dev << 56 | (uint64_t)cmd << 48;
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

static int build_nics(struct rv_virt *v, const struct vm_config *cfg,
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
		int rc = net_backend_open(nic->spec, &v->loop, &v->nb[i], errp);
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
	}
	return 0;
}

/* Without --kernel: the first disk through U-Boot when asked to (--boot
 * disk) or when nothing else is asked for and that disk has a partition
 * table; otherwise the default guest.  Fills cfg->kernel (and initrd). */
static int choose_boot(struct rv_virt *v, struct vm_config *cfg,
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

static int build(struct rv_virt *v, struct vm_config *cfg,
		 struct err *errp)
{
	struct rv_machine *m = &v->m;
	int rc;

	m->mtime_epoch_ns = now_ns();
	m->sbi = cfg->bios == NULL;
	m->nharts = cfg->cpus;
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
	if ((rc = rv_clint_init(m, errp)) < 0 ||
	    (rc = rv_plic_init(m, errp)) < 0)
		return rc;
	rc = sifive_test_init(&v->test, &m->bus, RV_TEST_BASE, test_device, m,
			      errp);
	if (rc < 0)
		return rc;
	rc = uart8250_init(&v->uart, &m->bus, RV_UART0_BASE,
			   rv_plic_irq(m, RV_UART0_IRQ), console_write,
			   &v->con, errp);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		const struct vm_disk *d = &cfg->disks[i];
		qcow2_set_l2_cache_size(d->l2_cache);
		struct block_open_opts bo = {
			.format = d->format,
			.read_only = d->read_only,
			.backing_devices = d->backing_devices,
			.nbacking_devices = d->nbacking_devices,
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
	}
	/* Before the NICs: their default MACs hash the kernel's path. */
	if ((rc = choose_boot(v, cfg, errp)) < 0 ||
	    (rc = build_nics(v, cfg, errp)) < 0)
		return rc;

	/* Load images, then describe the board to the guest. */
	enum rv_boot_mode mode = !cfg->bios ? RV_BOOT_SBI :
				 !strcmp(cfg->bios, "none") ? RV_BOOT_BARE :
				 RV_BOOT_FIRMWARE;
	struct rv_boot boot;
	rv_boot_init(&boot, mode, RV_RAM_BASE, cfg->mem);
	if (mode == RV_BOOT_FIRMWARE &&
	    (rc = rv_load_firmware(&boot, &m->mem, cfg->bios, errp)) < 0)
		return rc;
	if ((rc = rv_load_kernel(&boot, &m->mem, cfg->kernel, errp)) < 0 ||
	    (rc = rv_boot_reserve_fdt(&boot, RV_FDT_DEFAULT_SIZE, errp)) < 0)
		return rc;
	if (cfg->initrd &&
	    (rc = rv_load_initrd(&boot, &m->mem, cfg->initrd, errp)) < 0)
		return rc;
	m->tohost = boot.tohost;
	m->fromhost = boot.fromhost;

	char cmdline[4096];
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0%s%s",
		 cfg->cmdline ? " " : "", cfg->cmdline ? cfg->cmdline : "");
	struct rv_fdt_params fp = {
		.nharts = m->nharts,
		.isa = rv_isa_string(),
		.extensions = rv_isa_extensions(&fp.nextensions),
		.ram_base = RV_RAM_BASE,
		.ram_size = cfg->mem,
		.bootargs = cmdline,
		.initrd_start = boot.initrd_start,
		.initrd_end = boot.initrd_end,
		.virtio_mask = (1u << (cfg->ndisks + cfg->nnics)) - 1,
		.uart = true,
	};
	static uint8_t fdt[RV_FDT_DEFAULT_SIZE];
	if ((rc = rv_fdt_build(&fp, fdt, sizeof(fdt), errp)) < 0 ||
	    (rc = rv_boot_finish(&boot, &m->mem, fdt, errp)) < 0)
		return rc;

	for (unsigned i = 0; i < m->nharts; i++) {
		struct rv_hart *h = m->harts[i];
		if (i == 0 || !m->sbi) {
			rv_hart_reset(h, boot.entry, boot.priv,
				      boot.fdt_addr);
			h->x[12] = boot.fw_info_addr;
		}
	}
	return 0;
}

static void teardown(struct rv_virt *v)
{
	for (unsigned i = 0; i < v->nnics; i++) {
		virtio_net_exit(&v->net[i]);
		net_backend_free(v->nb[i]);
	}
	for (unsigned i = 0; i < v->ndisks; i++) {
		virtio_blk_exit(&v->blk[i]);
		block_close(v->bd[i]);
	}
	for (unsigned i = 0; i < v->m.nharts; i++)
		if (v->m.harts[i])
			rv_hart_free(v->m.harts[i]);
	uart8250_exit(&v->uart);
	sifive_test_exit(&v->test);
	rv_plic_free(&v->m);
	rv_clint_free(&v->m);
	bus_free(&v->m.bus);
	guest_mem_free(&v->m.mem);
	free(v->boot_paths[0]);
	free(v->boot_paths[1]);
}

static void run(struct rv_virt *v)
{
	struct rv_machine *m = &v->m;
	/* Smaller slices with several harts bound how long one spins on a
	 * lock its sibling holds. */
	const uint64_t slice = m->nharts > 1 ? 20000 : 200000;

	while (!m->exit_request) {
		bool busy = false;
		for (unsigned i = 0; i < m->nharts; i++) {
			struct rv_hart *h = m->harts[i];
			if (h->state != RV_HART_STARTED)
				continue;
			if (h->wfi && rv_hart_irq_pending(h))
				h->wfi = false;
			if (h->wfi)
				continue;
			rv_hart_run(h, slice);
			busy = true;
		}
		rv_clint_update(m);
		if (m->tohost)
			htif_poll(v);
		uint64_t t = now_ns();
		size_t space = uart8250_rx_listening(&v->uart) ?
			       uart8250_rx_space(&v->uart) : 0;
		console_pump(&v->con, space, uart_put, &v->uart, t);
		if (v->con.quit)
			rv_machine_request_exit(m, RV_EXIT_USER, 0);
		if (m->exit_request)
			break;

		int timeout = 0;
		if (!busy) {
			for (unsigned i = 0; i < m->nharts; i++) {
				struct rv_hart *h = m->harts[i];
				if (h->state == RV_HART_STARTED && !h->wfi)
					busy = true;
			}
		}
		if (!busy) {
			uint64_t dl = rv_clint_next_deadline(m), mt = rv_mtime(m);
			uint64_t ticks = dl > mt ? dl - mt : 0;
			/* Round up so we never spin on a sub-ms deadline. */
			uint64_t ms = (ticks * 1000 + RV_TIMEBASE_HZ - 1) /
				      RV_TIMEBASE_HZ;
			timeout = ms > 100 ? 100 : (int)ms;
			/* Input that cannot be delivered yet (full FIFO)
			 * must not make the poll return at once forever. */
			if (v->con.head != v->con.tail || !v->con.pollable)
				timeout = timeout > 10 ? 10 : timeout;
		}
		evloop_poll(&v->loop, timeout);
	}
}

/* Everything is open and loaded: from here on the process only needs the
 * calls of its steady state (vmm/sandbox.h). */
static int confine(const struct vm_config *cfg, struct err *errp)
{
	struct sandbox_vmm o = { 0 };
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const char *s = cfg->nics[i].spec;
		size_t k = strcspn(s, ",");
		if (k == 4 && !strncmp(s, "user", 4))
			o.net_user = true;
		else if (k == 6 && !strncmp(s, "switch", 6))
			o.net_switch = true;
	}
	return sandbox_enter_vmm(&o, errp);
}

int vm_run(const struct vm_config *cfg_in, int *status, struct err *errp)
{
	struct vm_config cfg = *cfg_in;
	int rc;

	if (!cfg.kernel && cfg.bios && !strcmp(cfg.bios, "none"))
		return err_set(errp, EINVAL, "--bios none needs --kernel");

	struct rv_virt *v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(errp, ENOMEM, "out of memory");
	rc = evloop_init(&v->loop, errp);
	if (rc == 0)
		rc = build(v, &cfg, errp);
	if (rc == 0)
		rc = console_open(&v->con, &v->loop, errp);
	if (rc == 0 && !cfg.seccomp_off)
		rc = confine(&cfg, errp);
	if (rc < 0) {
		console_close(&v->con);
		teardown(v);
		evloop_free(&v->loop);
		free(v);
		return rc;
	}

	sandbox_test_probe();
	uint64_t t0 = now_ns();
	run(v);
	uint64_t t1 = now_ns();
	console_close(&v->con);

	switch (v->m.exit_reason) {
	case RV_EXIT_POWEROFF:
	case RV_EXIT_HTIF:
		*status = v->m.exit_code ? 3 : 0;
		if (v->m.exit_code)
			fprintf(stderr, "ringvm: guest reported failure "
				"(code %d)\n", v->m.exit_code);
		break;
	default:
		*status = 0;
		break;
	}
	if (cfg.stats) {
		uint64_t insns = 0;
		for (unsigned i = 0; i < v->m.nharts; i++)
			insns += v->m.harts[i]->instret;
		double s = (t1 - t0) / 1e9;
		fprintf(stderr, "ringvm: %" PRIu64 " instructions in %.3f s "
			"(%.1f MIPS)\n", insns, s, s > 0 ? insns / s / 1e6 : 0);
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
				ns->rx_frames, ns->rx_gso, ns->rx_bytes, ns->tx_bad_chain, ns->tx_bad_hdr,
				ns->tx_too_big, ns->tx_backend_drop,
				ns->rx_no_buffers, ns->rx_too_big,
				ns->rx_bad_chain);
		}
	}
	teardown(v);
	evloop_free(&v->loop);
	free(v);
	return 0;
}
