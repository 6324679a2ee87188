/* The virt board's state (virt.h): every vCPU through the engine, the
 * CLINT, PLIC, UART, RTC, the virtio devices and the boot layout, each in
 * its own section whose format the device's *_state.c defines.
 *
 * A load reads and checks every section into temporaries first and only
 * then applies them, harts first (the one step that can still fail, in
 * the engine, and then rolls back), then the interrupt controllers, then
 * the devices (which re-drive their interrupt lines into the loaded
 * PLIC). */
#include "virt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "board/virt/memmap.h"
#include "engine/rv64/hart.h"
#include "hw/clint.h"
#include "hw/plic.h"

#define BOOT_STATE_VERSION 2  /* 1: images inline; 2: in a boot file */
#define CPU_STATE_VERSION 1
#define MAX_IMAGES 3

void virt_shape(const struct virt_board *v, struct virt_shape *s)
{
	memset(s, 0, sizeof(*s));
	s->cpus = v->m.nharts;
	s->nram = v->m.mem.nr;
	for (unsigned i = 0; i < s->nram; i++) {
		s->ram[i].gpa = v->m.mem.r[i].gpa;
		s->ram[i].size = v->m.mem.r[i].size;
	}
	s->boot_mode = (int)v->boot.mode;
	s->ndisks = v->ndisks;
	for (unsigned i = 0; i < v->ndisks; i++) {
		s->disk[i].size = v->bd[i]->size;
		s->disk[i].format = v->bd[i]->drv->name;
		s->disk[i].read_only = v->bd[i]->read_only;
	}
	s->nnics = v->nnics;
	for (unsigned i = 0; i < v->nnics; i++)
		memcpy(s->mac[i], v->net[i].mac, 6);
	s->rng = v->has_rng;
	s->power_button = v->has_input;
}

/* Guest-visible mtime: frozen at the pause while the clock stands. */
static uint64_t guest_mtime(const struct virt_board *v)
{
	uint64_t ns = v->clock_stopped_ns ?
		      v->clock_stopped_ns - v->m.mtime_epoch_ns :
		      virt_now_ns() - v->m.mtime_epoch_ns;
	return ns / 1000000000ULL * RV_TIMEBASE_HZ +
	       ns % 1000000000ULL * RV_TIMEBASE_HZ / 1000000000ULL;
}

static void cpu_name(char *buf, size_t n, unsigned i)
{
	snprintf(buf, n, "cpu%u", i);
}

static int save_boot(struct virt_board *v, struct state_writer *w,
		     unsigned flags, struct err *errp)
{
	const struct rv_boot *b = &v->boot;
	bool ext = flags & VIRT_SAVE_BOOT_FILE;
	/* Version 1 unless asked: what a migration stream carries, readable
	 * by a ringvm that knows no boot files. */
	state_begin(w, "boot", ext ? 2 : 1);
	state_put_u32(w, (uint32_t)b->mode);
	state_put_u32(w, (uint32_t)b->priv);
	const uint64_t f[] = {
		b->entry, b->fw_start, b->fw_end, b->kernel_start,
		b->kernel_end, b->kernel_entry, b->initrd_start,
		b->initrd_end, b->fdt_addr, b->fdt_size, b->fw_info_addr,
		v->m.tohost, v->m.fromhost,
	};
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		state_put_u64(w, f[i]);
	size_t cl = strlen(v->cmdline);
	state_put_u32(w, (uint32_t)cl);
	state_put_bytes(w, v->cmdline, cl);
	state_put_u32(w, v->nsaved);
	if (ext) {
		struct boot_file_layout l;
		virt_boot_layout(v, &l);
		state_put_u64(w, l.size);
		for (unsigned i = 0; i < l.n; i++) {
			state_put_u64(w, l.img[i].gpa);
			state_put_u64(w, l.img[i].len);
			state_put_u64(w, l.img[i].off);
			state_put_u32(w, l.img[i].crc);
		}
		state_end(w);
		return 0;
	}
	for (unsigned i = 0; i < v->nsaved; i++) {
		const uint8_t *p;
		uint8_t *owned;
		int rc = virt_image_copy(v, i, &p, &owned, errp);
		if (rc) {
			state_end(w);
			return rc;
		}
		state_put_u64(w, v->saved[i].gpa);
		state_put_u64(w, v->saved[i].len);
		state_put_bytes(w, p, v->saved[i].len);
		free(owned);
	}
	state_end(w);
	return 0;
}

/* Virtio devices: a transport section per slot ("virtio<slot>", slots in
 * board order: disks, NICs, rng, power button) and the device's own
 * ("blk<i>", "net<i>", "input0"). */
static struct virtio_mmio *slot_transport(struct virt_board *v,
					  unsigned slot)
{
	if (slot < v->ndisks)
		return &v->blk[slot].t;
	if (slot < v->ndisks + v->nnics)
		return &v->net[slot - v->ndisks].t;
	slot -= v->ndisks + v->nnics;
	if (v->has_rng && slot-- == 0)
		return &v->rng.t;
	return v->has_input && slot == 0 ? &v->input.t : NULL;
}

static unsigned nslots(const struct virt_board *v)
{
	return v->ndisks + v->nnics + (v->has_rng ? 1 : 0) +
	       (v->has_input ? 1 : 0);
}

static int save_virtio(struct virt_board *v, struct state_writer *w,
		       struct err *errp)
{
	char name[24];
	for (unsigned i = 0; i < nslots(v); i++) {
		snprintf(name, sizeof(name), "virtio%u", i);
		virtio_mmio_save(slot_transport(v, i), name, w);
	}
	for (unsigned i = 0; i < v->ndisks; i++) {
		snprintf(name, sizeof(name), "blk%u", i);
		int rc = virtio_blk_save(&v->blk[i], name, w, errp);
		if (rc < 0)
			return rc;
	}
	for (unsigned i = 0; i < v->nnics; i++) {
		snprintf(name, sizeof(name), "net%u", i);
		virtio_net_save(&v->net[i], name, w);
		snprintf(name, sizeof(name), "netdev%u", i);
		int rc = net_backend_save(v->nb[i], name, w, errp);
		if (rc < 0)
			return rc;
	}
	if (v->has_input)
		virtio_input_save(&v->input, "input0", w);
	return 0;
}

int virt_save(struct virt_board *v, struct state_writer *w, unsigned flags,
	      struct err *errp)
{
	const struct engine_ops *eng = virt_engine(v);
	/* A timer due by the frozen time is pending in the images, as the
	 * hart would see it the moment it runs again: a loaded machine
	 * evaluates it the same way. */
	uint64_t mtime = guest_mtime(v);
	rv_clint_update_at(&v->m, mtime);
	uint8_t *img = malloc(eng->state_size);
	if (!img)
		return err_set(errp, ENOMEM, "out of memory");
	for (unsigned i = 0; i < v->m.nharts; i++) {
		int n = eng->vcpu_save(virt_vcpu(v, i), img, eng->state_size);
		if (n < 0) {
			free(img);
			return err_set(errp, -n, "vCPU %u: cannot save its "
				       "state", i);
		}
		char name[16];
		cpu_name(name, sizeof(name), i);
		state_begin(w, name, CPU_STATE_VERSION);
		state_put_bytes(w, img, (size_t)n);
		state_end(w);
	}
	free(img);
	rv_clint_save(&v->m, mtime, w);
	rv_plic_save(&v->m, w);
	uart8250_save(&v->uart, "uart0", w);
	goldfish_rtc_save(&v->rtc, "rtc", w);
	int rc = save_virtio(v, w, errp);
	if (rc < 0)
		return rc;
	if ((rc = save_boot(v, w, flags, errp)) < 0)
		return rc;
	if (state_writer_error(w))
		return err_set(errp, ENOMEM, "out of memory saving the state");
	return 0;
}

/* Everything a load applies, checked. */
struct loaded {
	uint8_t *cpu;                  /* nharts images of state_size */
	size_t cpu_len[RV_MAX_HARTS];
	struct rv_clint_state clint;
	struct rv_plic_state plic;
	struct uart8250_state uart;
	struct goldfish_rtc_state rtc;
	struct virtio_mmio_state vio[RV_VIRTIO_SLOTS];
	struct virtio_net_state net[VM_MAX_NICS];
	struct virtio_input_state input;
	struct rv_boot boot;
	uint64_t tohost, fromhost;
	char cmdline[sizeof(((struct virt_board *)0)->cmdline)];
	struct saved_image img[MAX_IMAGES];
	unsigned nimg;
	bool in_file;                  /* version 2: images in the boot file */
	struct boot_file_layout blay;
};

static void loaded_free(struct loaded *l)
{
	free(l->cpu);
	for (unsigned i = 0; i < l->nimg; i++)
		free(l->img[i].data);
	free(l);
}

static int parse_cpus(struct virt_board *v, struct state_reader *r,
		      struct loaded *l, struct err *errp)
{
	const struct engine_ops *eng = virt_engine(v);
	l->cpu = malloc(eng->state_size * v->m.nharts);
	if (!l->cpu)
		return err_set(errp, ENOMEM, "out of memory");
	for (unsigned i = 0; i < v->m.nharts; i++) {
		char name[16];
		cpu_name(name, sizeof(name), i);
		int rc = state_open(r, name, CPU_STATE_VERSION, NULL, errp);
		if (rc < 0)
			return rc;
		size_t n = r->left;
		if (n == 0 || n > eng->state_size)
			return state_invalid(r, errp, "a %zu-byte image; the "
					     "%s engine's are up to %zu", n,
					     eng->name, eng->state_size);
		state_get_bytes(r, l->cpu + i * eng->state_size, n);
		l->cpu_len[i] = n;
		if ((rc = state_close(r, errp)) < 0)
			return rc;
	}
	return 0;
}

static int parse_virtio(struct virt_board *v, struct state_reader *r,
			struct loaded *l, struct err *errp)
{
	char name[24];
	int rc;
	for (unsigned i = 0; i < nslots(v); i++) {
		snprintf(name, sizeof(name), "virtio%u", i);
		if ((rc = virtio_mmio_parse(r, name, slot_transport(v, i),
					    &l->vio[i], errp)) < 0)
			return rc;
	}
	for (unsigned i = 0; i < v->ndisks; i++) {
		snprintf(name, sizeof(name), "blk%u", i);
		if ((rc = virtio_blk_parse(r, name, &v->blk[i], errp)) < 0)
			return rc;
	}
	for (unsigned i = 0; i < v->nnics; i++) {
		snprintf(name, sizeof(name), "net%u", i);
		if ((rc = virtio_net_parse(r, name, &v->net[i], &l->net[i],
					   errp)) < 0)
			return rc;
		snprintf(name, sizeof(name), "netdev%u", i);
		if ((rc = net_backend_check(v->nb[i], r, name, errp)) < 0)
			return rc;
	}
	if (v->has_input &&
	    (rc = virtio_input_parse(r, "input0", &v->input, &l->input,
				     errp)) < 0)
		return rc;
	return 0;
}

static void apply_virtio(struct virt_board *v, struct state_reader *r,
			 const struct loaded *l)
{
	for (unsigned i = 0; i < nslots(v); i++)
		virtio_mmio_apply(slot_transport(v, i), &l->vio[i]);
	for (unsigned i = 0; i < v->nnics; i++) {
		virtio_net_apply(&v->net[i], &l->net[i]);
		char name[24];
		snprintf(name, sizeof(name), "netdev%u", i);
		net_backend_load(v->nb[i], r, name);
	}
	if (v->has_input)
		virtio_input_apply(&v->input, &l->input);
}

/* Whether [gpa, gpa + len) is RAM (len 0: whether gpa is). */
static bool in_ram(const struct virt_board *v, uint64_t gpa, uint64_t len)
{
	return gpa_ptr(&v->m.mem, gpa, len) != NULL;
}

/* Version 2: the images' layout in the boot file, which must be there
 * and as long as recorded (one fstat: the images are read and checked
 * only by a reboot). */
static int parse_boot_file(struct virt_board *v, struct state_reader *r,
			   struct loaded *l, uint32_t nimg, struct err *errp)
{
	struct boot_file_layout *bl = &l->blay;
	uint64_t size = state_get_u64(r);
	bl->n = nimg;
	for (unsigned i = 0; i < nimg; i++) {
		struct boot_file_image *im = &bl->img[i];
		im->gpa = state_get_u64(r);
		im->len = state_get_u64(r);
		im->off = state_get_u64(r);
		im->crc = state_get_u32(r);
		if (r->bad)
			break;
		if (im->len == 0 || im->len > (1ULL << 40) ||
		    !in_ram(v, im->gpa, im->len))
			return state_invalid(r, errp, "boot image %u: %llu "
					     "bytes at %#llx", i,
					     (unsigned long long)im->len,
					     (unsigned long long)im->gpa);
		l->img[i] = (struct saved_image){ .gpa = im->gpa,
			.len = im->len, .crc = im->crc, .crc_known = true };
	}
	if (r->bad)
		return state_close(r, errp);
	/* Offsets are not free: the one layout writers make. */
	struct boot_file_layout want = *bl;
	boot_file_plan(&want);
	for (unsigned i = 0; i < nimg; i++)
		if (want.img[i].off != bl->img[i].off)
			return state_invalid(r, errp, "boot image %u at byte "
					     "%llu of the boot file", i,
					     (unsigned long long)
					     bl->img[i].off);
	if (want.size != size)
		return state_invalid(r, errp, "a %llu-byte boot file",
				     (unsigned long long)size);
	bl->size = size;
	l->in_file = true;
	if (!v->has_boot_fd)
		return state_invalid(r, errp, "the boot images are in a "
				     "separate boot file, and none was given");
	struct stat st;
	if (fstat(v->boot_fd, &st) < 0)
		return err_sys(errp, errno, "boot file");
	if ((uint64_t)st.st_size != size)
		return err_set(errp, EINVAL, "boot file is %lld bytes, the "
			       "state says %llu", (long long)st.st_size,
			       (unsigned long long)size);
	return 0;
}

static int parse_boot(struct virt_board *v, struct state_reader *r,
		      struct loaded *l, struct err *errp)
{
	uint32_t ver;
	int rc = state_open(r, "boot", BOOT_STATE_VERSION, &ver, errp);
	if (rc < 0)
		return rc;
	struct rv_boot *b = &l->boot;
	*b = v->boot;
	uint32_t mode = state_get_u32(r);
	uint32_t priv = state_get_u32(r);
	uint64_t *f[] = {
		&b->entry, &b->fw_start, &b->fw_end, &b->kernel_start,
		&b->kernel_end, &b->kernel_entry, &b->initrd_start,
		&b->initrd_end, &b->fdt_addr, &b->fdt_size, &b->fw_info_addr,
		&l->tohost, &l->fromhost,
	};
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		*f[i] = state_get_u64(r);
	uint32_t cl = state_get_u32(r);
	if (cl >= sizeof(l->cmdline))
		return state_invalid(r, errp, "a %u-byte command line", cl);
	state_get_bytes(r, l->cmdline, cl);
	l->cmdline[cl] = '\0';
	uint32_t nimg = state_get_u32(r);
	if (nimg > MAX_IMAGES)
		return state_invalid(r, errp, "%u boot images", nimg);
	if (ver >= 2 && (rc = parse_boot_file(v, r, l, nimg, errp)) < 0)
		return rc;
	for (unsigned i = 0; ver < 2 && i < nimg && !r->bad; i++) {
		struct saved_image *si = &l->img[i];
		si->gpa = state_get_u64(r);
		si->len = state_get_u64(r);
		/* Checked against what is left before any allocation. */
		if (r->bad || si->len == 0 || si->len > r->left ||
		    !in_ram(v, si->gpa, si->len))
			return state_invalid(r, errp, "boot image %u: %llu "
					     "bytes at %#llx", i,
					     (unsigned long long)si->len,
					     (unsigned long long)si->gpa);
		si->data = malloc(si->len);
		if (!si->data)
			return err_set(errp, ENOMEM, "out of memory");
		l->nimg = i + 1;
		state_get_bytes(r, si->data, si->len);
	}
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if (mode != (uint32_t)v->boot.mode)
		return state_invalid(r, errp, "boot mode %u, this VM's is %u",
				     mode, (unsigned)v->boot.mode);
	if (priv != RV_PRIV_S && priv != RV_PRIV_M)
		return state_invalid(r, errp, "boot privilege %u", priv);
	b->priv = (int)priv;
	/* The HTIF words are polled with 8-byte atomics. */
	if ((l->tohost && ((l->tohost & 7) || !in_ram(v, l->tohost, 8))) ||
	    (l->fromhost && ((l->fromhost & 7) ||
			     !in_ram(v, l->fromhost, 8))))
		return state_invalid(r, errp, "HTIF words outside RAM");
	/* The FDT address and the rest are checked again by a reboot
	 * (rv_boot_finish writes through gpa_write). */
	return 0;
}

static void apply_boot(struct virt_board *v, struct loaded *l)
{
	v->boot = l->boot;
	v->m.tohost = l->tohost;
	v->m.fromhost = l->fromhost;
	memcpy(v->cmdline, l->cmdline, sizeof(v->cmdline));
	v->fp.bootargs = v->cmdline;
	v->fp.initrd_start = l->boot.initrd_start;
	v->fp.initrd_end = l->boot.initrd_end;
	for (unsigned i = 0; i < v->nsaved; i++)
		free(v->saved[i].data);
	unsigned n = l->in_file ? l->blay.n : l->nimg;
	for (unsigned i = 0; i < n; i++) {
		v->saved[i] = l->img[i];
		l->img[i].data = NULL;
	}
	v->nsaved = n;
	v->blay = l->blay;
	l->nimg = 0;
}

/* Load every vCPU's image.  The engine checks an image only as it loads
 * it, so each vCPU's own image is kept first and put back when a later
 * one is refused: all vCPUs or none change. */
static int load_cpus(struct virt_board *v, const struct loaded *l,
		     struct err *errp)
{
	const struct engine_ops *eng = virt_engine(v);
	unsigned n = v->m.nharts;
	uint8_t *old = malloc(eng->state_size * n);
	int old_len[RV_MAX_HARTS];
	if (!old)
		return err_set(errp, ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		old_len[i] = eng->vcpu_save(virt_vcpu(v, i),
					    old + i * eng->state_size,
					    eng->state_size);
		if (old_len[i] < 0) {
			free(old);
			return err_set(errp, -old_len[i], "vCPU %u: cannot "
				       "save its state", i);
		}
	}
	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		rc = eng->vcpu_load(virt_vcpu(v, i),
				    l->cpu + i * eng->state_size,
				    l->cpu_len[i], errp);
		if (rc < 0) {
			err_prefix(errp, "state: section `cpu%u`", i);
			for (unsigned k = 0; k < i; k++)
				eng->vcpu_load(virt_vcpu(v, k),
					       old + k * eng->state_size,
					       (size_t)old_len[k], NULL);
			break;
		}
	}
	free(old);
	return rc;
}

int virt_load(struct virt_board *v, struct state_reader *r,
	      struct err *errp)
{
	struct rv_machine *m = &v->m;
	struct loaded *l = calloc(1, sizeof(*l));
	if (!l)
		return err_set(errp, ENOMEM, "out of memory");
	int rc;
	if ((rc = parse_cpus(v, r, l, errp)) < 0 ||
	    (rc = rv_clint_parse(r, m, &l->clint, errp)) < 0 ||
	    (rc = rv_plic_parse(r, m, &l->plic, errp)) < 0 ||
	    (rc = uart8250_parse(r, "uart0", &l->uart, errp)) < 0 ||
	    (rc = goldfish_rtc_parse(r, "rtc", &l->rtc, errp)) < 0 ||
	    (rc = parse_virtio(v, r, l, errp)) < 0 ||
	    (rc = parse_boot(v, r, l, errp)) < 0)
		goto out;

	if ((rc = load_cpus(v, l, errp)) < 0)
		goto out;
	/* Guest time stands still until the VM starts (virt_clock_start)
	 * and then goes on from the saved mtime. */
	uint64_t now = virt_now_ns();
	rv_clint_apply(m, &l->clint, now);
	v->clock_stopped_ns = now;
	rv_plic_apply(m, &l->plic);
	uart8250_apply(&v->uart, &l->uart);
	goldfish_rtc_apply(&v->rtc, &l->rtc);
	apply_virtio(v, r, l);
	apply_boot(v, l);
	rc = 0;
out:
	loaded_free(l);
	return rc;
}
