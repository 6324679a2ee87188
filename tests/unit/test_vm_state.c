/* Machine state save/load end to end (vm.h): a bare-metal guest counts in
 * RAM and takes timer interrupts; the VM is paused and saved, its RAM
 * copied; a second VM made from vm_config_from_state (cfg.incoming) gets
 * the RAM and the state and goes on.
 *
 *   continue_in_new_vm      the counter goes on from where it was (the
 *                           guest checks RAM against a register copy on
 *                           every step), timer interrupts keep coming, the
 *                           guest's time neither goes back nor jumps over
 *                           the second the state spent on the shelf, and
 *                           saving the loaded VM again gives the same bytes
 *   other_shape_refused     vCPU count, RAM size, NIC count: -EINVAL naming
 *                           the difference, before anything changed
 *   misuse                  saving a running VM, loading into a started or
 *                           non-incoming VM, a stream without "machine"
 *   hostile_streams         one section broken at a time (vCPU image,
 *                           boot images outside RAM, counts, ids, a
 *                           missing section): -EINVAL naming it
 *   reboot_after_restore    the continued guest reboots without its kernel
 *                           file (the boot images came with the state)
 *   vcpus_all_or_nothing    a refused vCPU image puts back the vCPUs
 *                           loaded before it */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/vm.h"

#include "rv_asm.h"

#define DATA 0x80100000ULL   /* counter; +16: timer interrupts taken */
#define TARGET_4K 0x600      /* counts to TARGET_4K << 12 */

static void csr(struct prog *p, unsigned f3, unsigned csr, unsigned rs)
{
	emit(p, i_type((int)csr, rs, f3, 0, 0x73));
}

static void ld_off(struct prog *p, unsigned rd, unsigned base, int off)
{
	emit(p, i_type(off, base, 3, rd, 0x03));
}

static void sd_off(struct prog *p, unsigned rs2, unsigned base, int off)
{
	uint32_t u = (uint32_t)off;
	emit(p, ((u >> 5) & 0x7f) << 25 | rs2 << 20 | base << 15 | 3 << 12 |
		 (u & 0x1f) << 7 | 0x23);
}

/* Arm hart 0's mtimecmp (s2) about 10 ms (0x18000 ticks) from now;
 * clobbers `tmp` and `tmp2`. */
static void arm_timer(struct prog *p, unsigned tmp, unsigned tmp2)
{
	rdtime(p, tmp);
	lui(p, tmp2, 0x18);
	rr(p, 0, tmp, tmp, tmp2);
	sd_off(p, tmp, S2, 0);
}

/* Count to TARGET in RAM at DATA, checking RAM against s0 each step and
 * the time CSR for going back (fail 3) or jumping 0.5 s (fail 4); a
 * machine timer interrupt every ~10 ms counts at DATA+16.  Passes when
 * the count is reached and at least one interrupt was taken (fail 5). */
static char *prog_count_with_timer(bool reboot)
{
	struct prog p = { .n = 0 };
	addi(&p, T0, ZERO, 1);
	slli(&p, T0, T0, 31);
	lui(&p, T1, 0x100);
	rr(&p, 0, T0, T0, T1);          /* t0 = DATA */
	lui(&p, S2, 0x2004);            /* s2 = mtimecmp of hart 0 */
	emit(&p, T1 << 7 | 0x17);       /* auipc t1, 0 */
	unsigned at_vec = p.n;
	addi(&p, T1, T1, 0);            /* + handler offset, patched */
	csr(&p, 1, 0x305, T1);          /* csrw mtvec, t1 */
	arm_timer(&p, T1, T2);
	addi(&p, T2, ZERO, 0x80);
	csr(&p, 2, 0x304, T2);          /* csrs mie, MTIE */
	addi(&p, T2, ZERO, 8);
	csr(&p, 2, 0x300, T2);          /* csrs mstatus, MIE */
	addi(&p, S0, ZERO, 0);
	lui(&p, S1, TARGET_4K);
	rdtime(&p, S4);
	lui(&p, S5, 0x4c5);             /* 0.5 s */
	unsigned loop = p.n;
	ld(&p, T3, T0);
	unsigned f2 = branch(&p, 1, T3, S0);        /* bne t3, s0 */
	addi(&p, S0, S0, 1);
	store(&p, 3, S0, T0);
	rdtime(&p, T4);
	unsigned f3 = branch(&p, 6, T4, S4);        /* bltu t4, s4 */
	rr(&p, 0x20, T5, T4, S4);
	unsigned f4 = branch(&p, 7, T5, S5);        /* bgeu t5, s5 */
	addi(&p, S4, T4, 0);
	patch_b(&p, branch(&p, 1, S0, S1), loop);   /* bne s0, s1 */
	ld_off(&p, T3, T0, 16);
	unsigned f5 = branch(&p, 0, T3, ZERO);      /* beq t3, x0 */
	if (reboot) {
		lui(&p, T5, 0x100);             /* sifive_test: reset */
		lui(&p, T6, 0x7);
		addi(&p, T6, T6, 0x777);
		store(&p, 2, T6, T5);
		spin(&p);
	} else {
		report(&p, 0);
	}
	patch_b(&p, f2, p.n);
	report(&p, 2);
	patch_b(&p, f3, p.n);
	report(&p, 3);
	patch_b(&p, f4, p.n);
	report(&p, 4);
	patch_b(&p, f5, p.n);
	report(&p, 5);
	/* The handler: only a1..a3, which the loop does not use. */
	unsigned handler = p.n;
	p.w[at_vec] |= (uint32_t)((handler - (at_vec - 1)) * 4) << 20;
	ld_off(&p, A1, T0, 16);
	addi(&p, A1, A1, 1);
	sd_off(&p, A1, T0, 16);
	arm_timer(&p, A2, A3);
	emit(&p, 0x30200073);           /* mret */
	return write_image(&p);
}

struct fx {
	int null_fd;
	char *img;
	char *disk[2];    /* 1 MiB and 2 MiB raw files */
	void *storage;
	uint8_t *ram;
	struct state_writer w, w2;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->null_fd = open("/dev/null", O_RDWR);
	state_writer_init(&f->w);
	state_writer_init(&f->w2);
	*state = f;
	const char *dir = getenv("TMPDIR");
	for (int i = 0; i < 2; i++) {
		if (asprintf(&f->disk[i], "%s/ringvm-test-vm-state-XXXXXX",
			     dir && *dir ? dir : "/tmp") < 0) {
			f->disk[i] = NULL;
			return -1;
		}
		int fd = mkstemp(f->disk[i]);
		if (fd < 0 || ftruncate(fd, (1 << 20) << i) != 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return f->null_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->img)
		unlink(f->img);
	free(f->img);
	for (int i = 0; i < 2; i++) {
		if (f->disk[i])
			unlink(f->disk[i]);
		free(f->disk[i]);
	}
	free(f->storage);
	free(f->ram);
	state_writer_free(&f->w);
	state_writer_free(&f->w2);
	if (f->null_fd >= 0)
		close(f->null_fd);
	free(f);
	return 0;
}

/* The guest uses none of its devices, but all of them are saved and
 * loaded: a disk, a --net user NIC (libslirp's state) and virtio-rng. */
static struct vm_config config(struct fx *f)
{
	struct vm_config c = {
		.arch = "riscv64",
		.kernel = f->img,
		.bios = "none",
		.mem = 16ULL << 20,
		.cpus = 1,
		.seccomp_off = true,
		.ndisks = 1,
		.nnics = 1,
		.console_fds = true,
		.console_in = f->null_fd,
		.console_out = f->null_fd,
	};
	c.disks[0].path = f->disk[0];
	c.disks[0].format = "raw";
	c.nics[0].spec = "user";
	return c;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static uint64_t ram_u64(struct vm *vm, uint64_t gpa)
{
	uint64_t v;
	const void *p = gpa_ptr(vm_mem(vm), gpa, 8);
	assert_non_null(p);
	memcpy(&v, p, 8);
	return v;
}

/* Run the counting guest, pause it mid-way, save state and RAM into the
 * fixture; the VM is gone afterwards.  Returns the count at the pause. */
static uint64_t run_and_save(struct fx *f, uint64_t *ticks, uint64_t *insns,
			     bool reboot)
{
	f->img = prog_count_with_timer(reboot);
	struct vm_config c = config(f);
	struct vm *vm;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	uint64_t count = 0;
	/* Until the guest has counted a while and taken interrupts. */
	for (int i = 0; i < 200; i++) {
		sleep_ms(20);
		assert_int_equal(vm_pause(vm), 0);
		count = ram_u64(vm, DATA);
		*ticks = ram_u64(vm, DATA + 16);
		if (count > 1000 && *ticks >= 2)
			break;
		assert_int_equal(vm_resume(vm), 0);
	}
	assert_true(count > 1000);
	assert_true(count < (uint64_t)TARGET_4K << 12);
	assert_true(*ticks >= 2);
	*insns = vm_instret(vm);
	assert_int_equal(vm_save_state(vm, &f->w, &e), 0);
	uint64_t size = vm_ram_size(vm, 0);
	f->ram = malloc(size);
	assert_non_null(f->ram);
	memcpy(f->ram, gpa_ptr(vm_mem(vm), 0x80000000ULL, size), size);
	vm_stop(vm);
	int status = -1;
	vm_wait(vm, &status);
	assert_int_equal(status, 0);
	vm_destroy(vm);
	return count;
}

/* A VM made from the saved state's machine section. */
static struct vm *make_incoming_from(struct fx *f, const struct state_writer *w,
				     struct state_reader *r, struct vm_config *c,
				     vm_event_fn *on, void *opaque)
{
	struct err e = { 0 };
	*c = config(f);
	c->kernel = NULL;
	assert_int_equal(state_reader_init(r, w->buf, w->len, &e), 0);
	free(f->storage);
	f->storage = NULL;
	assert_int_equal(vm_config_from_state(r, c, &f->storage, &e), 0);
	assert_true(c->incoming);
	struct vm *vm;
	assert_int_equal(vm_create(c, on, opaque, &vm, &e), 0);
	return vm;
}

static struct vm *make_incoming(struct fx *f, struct state_reader *r,
				struct vm_config *c)
{
	return make_incoming_from(f, &f->w, r, c, NULL, NULL);
}

static void fill_ram(struct fx *f, struct vm *vm)
{
	uint64_t size = vm_ram_size(vm, 0);
	memcpy(gpa_ptr(vm_mem(vm), 0x80000000ULL, size), f->ram, size);
}

static void continue_in_new_vm(void **state)
{
	struct fx *f = *state;
	uint64_t ticks0 = 0, insns0 = 0;
	uint64_t count0 = run_and_save(f, &ticks0, &insns0, false);
	/* The state spends a second on the shelf: the guest must not see
	 * it. */
	sleep_ms(1000);

	struct state_reader r;
	struct vm_config c;
	struct vm *vm = make_incoming(f, &r, &c);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.mem, 16ULL << 20);
	assert_string_equal(c.bios, "none");
	assert_string_equal(c.kernel, f->img);
	assert_int_equal(c.ndisks, 1);
	assert_string_equal(c.disks[0].path, f->disk[0]);
	assert_string_equal(c.disks[0].format, "raw");
	assert_int_equal(c.nnics, 1);
	assert_string_equal(c.nics[0].spec, "user");
	assert_true(c.nics[0].has_mac);
	assert_false(c.no_rng);
	assert_false(c.no_power_button);
	static const char *const sections[] = {
		"machine", "cpu0", "clint", "plic", "uart0", "rtc", "virtio0",
		"virtio1", "virtio2", "virtio3", "blk0", "net0", "netdev0",
		"input0", "boot",
	};
	for (unsigned i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!state_has(&r, sections[i]))
			fail_msg("no section `%s`", sections[i]);
	uint64_t size = vm_ram_size(vm, 0);
	memcpy(gpa_ptr(vm_mem(vm), 0x80000000ULL, size), f->ram, size);
	struct err e = { 0 };
	assert_int_equal(vm_load_state(vm, &r, &e), 0);
	assert_int_equal(vm_instret(vm), insns0);
	/* Loaded and saved again, before it runs: the same bytes (mtime
	 * included: guest time stands still until vm_start). */
	sleep_ms(50);
	assert_int_equal(vm_save_state(vm, &f->w2, &e), 0);
	assert_int_equal(f->w2.len, f->w.len);
	assert_memory_equal(f->w2.buf, f->w.buf, f->w.len);

	assert_int_equal(vm_start(vm), 0);
	int status = -1;
	vm_wait(vm, &status);
	/* 0: counted on from count0 without a mismatch, no time going
	 * back or jumping, and interrupts were taken. */
	assert_int_equal(status, 0);
	assert_int_equal(ram_u64(vm, DATA), (uint64_t)TARGET_4K << 12);
	assert_true(ram_u64(vm, DATA + 16) > ticks0);
	/* It went on rather than starting over: the instructions since the
	 * load are about those the remaining count needs. */
	uint64_t left = ((uint64_t)TARGET_4K << 12) - count0;
	uint64_t done = vm_instret(vm) - insns0;
	if (done < left * 10 || done > left * 10 + 1000000)
		fail_msg("%llu instructions for %llu steps of 10",
			 (unsigned long long)done, (unsigned long long)left);
	vm_destroy(vm);
}

static void expect_refused(struct fx *f, struct vm_config *c,
			   const char *what)
{
	struct vm *vm;
	struct err e = { 0 };
	c->incoming = true;
	assert_int_equal(vm_create(c, NULL, NULL, &vm, &e), 0);
	struct state_reader r;
	assert_int_equal(state_reader_init(&r, f->w.buf, f->w.len, &e), 0);
	uint64_t before = vm_instret(vm);
	e = (struct err){ 0 };
	assert_int_equal(vm_load_state(vm, &r, &e), -EINVAL);
	if (!strstr(e.msg, what))
		fail_msg("message `%s` lacks `%s`", e.msg, what);
	assert_int_equal(vm_instret(vm), before);
	vm_destroy(vm);
}

static void other_shape_refused(void **state)
{
	struct fx *f = *state;
	uint64_t ticks, insns;
	run_and_save(f, &ticks, &insns, false);
	struct vm_config c = config(f);
	c.cpus = 2;
	expect_refused(f, &c, "has 1 vCPUs, this VM 2");
	c = config(f);
	c.mem = 32ULL << 20;
	expect_refused(f, &c, "16 MiB of RAM");
	c = config(f);
	c.no_rng = true;
	expect_refused(f, &c, "virtio-rng");
	c = config(f);
	c.no_power_button = true;
	expect_refused(f, &c, "has a power button (virtio-input), this VM "
		       "none");
	c = config(f);
	c.nnics = 0;
	expect_refused(f, &c, "has 1 NICs, this VM 0");
	c = config(f);
	c.disks[0].path = f->disk[1];
	expect_refused(f, &c, "disk 0: 1048576 bytes in the saved machine, "
		       "2097152 in this VM");
	c = config(f);
	c.nics[0].mac[0] = 0x02;
	c.nics[0].has_mac = true;
	expect_refused(f, &c, "NIC 0: MAC");
	c = config(f);
	c.bios = NULL;
	expect_refused(f, &c, "built-in SBI");
}

static void misuse(void **state)
{
	struct fx *f = *state;
	uint64_t ticks, insns;
	run_and_save(f, &ticks, &insns, false);
	struct err e = { 0 };
	struct state_reader r;
	/* Not incoming. */
	struct vm_config c = config(f);
	struct vm *vm;
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(state_reader_init(&r, f->w.buf, f->w.len, &e), 0);
	assert_int_equal(vm_load_state(vm, &r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "incoming"));
	/* Running: neither saved nor loaded. */
	assert_int_equal(vm_start(vm), 0);
	struct state_writer w;
	state_writer_init(&w);
	e = (struct err){ 0 };
	assert_int_equal(vm_save_state(vm, &w, &e), -EBUSY);
	state_writer_free(&w);
	vm_stop(vm);
	int status;
	vm_wait(vm, &status);
	vm_destroy(vm);
	/* A stream without its machine section. */
	c.incoming = true;
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(state_reader_init(&r, NULL, 0, &e), 0);
	e = (struct err){ 0 };
	assert_int_equal(vm_load_state(vm, &r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "machine"));
	void *st = NULL;
	struct vm_config c2 = config(f);
	assert_int_equal(vm_config_from_state(&r, &c2, &st, &e), -EINVAL);
	assert_null(st);
	vm_destroy(vm);
}

/* dst = src with section `name`'s payload bytes [off, off + n) replaced
 * (n == 0: the section left out), checksums right. */
static void rewrite(const struct state_writer *src, struct state_writer *dst,
		    const char *name, size_t off, const void *bytes, size_t n)
{
	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, src->buf, src->len, &e), 0);
	state_writer_init(dst);
	char sec[STATE_NAME_MAX + 1];
	uint32_t version;
	uint64_t len;
	bool found = false;
	for (unsigned i = 0; state_section_at(&r, i, sec, &version, &len); i++) {
		bool hit = !strcmp(sec, name);
		found |= hit;
		if (hit && n == 0)
			continue;
		uint8_t *p = malloc(len + 1);
		assert_non_null(p);
		assert_int_equal(state_open(&r, sec, version, NULL, &e), 0);
		state_get_bytes(&r, p, len);
		assert_int_equal(state_close(&r, &e), 0);
		if (hit) {
			assert_true(off + n <= len);
			memcpy(p + off, bytes, n);
		}
		state_begin(dst, sec, version);
		state_put_bytes(dst, p, len);
		state_end(dst);
		free(p);
	}
	assert_true(found);
}

struct hostile {
	const char *section;
	size_t off;          /* in the payload; SIZE_MAX: from the end */
	uint64_t value;
	size_t n;            /* bytes of value; 0: drop the section */
	const char *msg;
};

/* Streams broken one section at a time: each load fails with a message
 * naming the problem; the VM is then destroyed unused. */
static void hostile_streams(void **state)
{
	struct fx *f = *state;
	uint64_t ticks, insns;
	run_and_save(f, &ticks, &insns, false);
	/* The boot section: mode, priv, 13 u64, cmdline length + bytes,
	 * image count, then the kernel image's gpa and length. */
	struct state_reader r0;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r0, f->w.buf, f->w.len, &e), 0);
	assert_int_equal(state_open(&r0, "boot", 1, NULL, &e), 0);
	uint8_t skip[112];
	state_get_bytes(&r0, skip, sizeof(skip));
	size_t cl = state_get_u32(&r0);
	size_t img = 116 + cl + 4;
	const struct hostile cases[] = {
		{ "cpu0", 544, 2, 4, "cpu0" },                /* priv */
		{ "cpu0", 12, 5, 4, "state of hart 5" },      /* hartid */
		{ "boot", img, 0x1000, 8, "boot image 0" },
		{ "boot", img + 8, 1ULL << 40, 8, "boot image 0" },
		{ "boot", 0, 0, 4, "boot mode 0" },
		{ "boot", 4, 2, 4, "boot privilege 2" },
		{ "boot", 8 + 11 * 8, 0x80000004, 8, "HTIF" },
		{ "clint", 0, 3, 4, "3 harts" },
		{ "machine", 0, 9, 4, "state format 9" },
		{ "uart0", 0, 0xff, 1, "uart0" },
		{ "virtio1", 0, 2, 4, "device id 2" },
		{ "plic", 0, 0, 0, "no section `plic`" },
		{ "netdev0", 4, 0x55, 1, "netdev0" },
		{ "blk0", 0, 0xff, 1, "blk0" },
		{ "input0", 2, 33, 4, "33 queued events" },
		{ "virtio3", 0, 4, 4, "device id 4" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hostile *h = &cases[i];
		struct state_writer w;
		uint8_t v[8];
		for (int k = 0; k < 8; k++)
			v[k] = (uint8_t)(h->value >> (8 * k));
		rewrite(&f->w, &w, h->section, h->off, v, h->n);
		struct state_reader r;
		struct vm_config c;
		struct vm *vm;
		if (!strcmp(h->section, "machine")) {
			/* The machine section is checked on its own. */
			assert_int_equal(state_reader_init(&r, w.buf, w.len, &e),
					 0);
			void *st = NULL;
			c = config(f);
			e = (struct err){ 0 };
			assert_int_equal(vm_config_from_state(&r, &c, &st, &e),
					 -EINVAL);
			assert_null(st);
		} else {
			vm = make_incoming_from(f, &w, &r, &c, NULL, NULL);
			fill_ram(f, vm);
			e = (struct err){ 0 };
			assert_int_equal(vm_load_state(vm, &r, &e), -EINVAL);
			vm_destroy(vm);
		}
		if (!strstr(e.msg, h->msg))
			fail_msg("case %u: message `%s` lacks `%s`", i, e.msg,
				 h->msg);
		state_writer_free(&w);
	}
}

/* Payload of section `name` in w (malloc'd, *len bytes). */
static uint8_t *section(const struct state_writer *w, const char *name,
			size_t *len)
{
	struct state_reader r;
	struct err e = { 0 };
	assert_int_equal(state_reader_init(&r, w->buf, w->len, &e), 0);
	assert_int_equal(state_open(&r, name, 1, NULL, &e), 0);
	*len = r.left;
	uint8_t *p = malloc(*len);
	assert_non_null(p);
	state_get_bytes(&r, p, *len);
	return p;
}

/* A refused image of vCPU 1 leaves vCPU 0 as it was, though vCPU 0's
 * image was fine and loaded first. */
static void vcpus_all_or_nothing(void **state)
{
	struct fx *f = *state;
	f->img = prog_count_with_timer(false);
	struct vm_config c = config(f);
	c.cpus = 2;
	struct vm *vm;
	struct err e = { 0 };
	/* Never started: its state can be saved as created. */
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(vm_save_state(vm, &f->w, &e), 0);
	vm_destroy(vm);
	struct state_writer bad;
	const uint8_t priv[4] = { 2, 0, 0, 0 };
	rewrite(&f->w, &bad, "cpu1", 544, priv, 4);
	struct state_reader r;
	vm = make_incoming_from(f, &bad, &r, &c, NULL, NULL);
	struct state_writer before, after;
	state_writer_init(&before);
	state_writer_init(&after);
	assert_int_equal(vm_save_state(vm, &before, &e), 0);
	assert_int_equal(vm_load_state(vm, &r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "cpu1"));
	assert_int_equal(vm_save_state(vm, &after, &e), 0);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "cpu1" : "cpu0";
		size_t la, lb, ls;
		uint8_t *a = section(&before, name, &la);
		uint8_t *b = section(&after, name, &lb);
		uint8_t *saved = section(&f->w, name, &ls);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		/* and the test means something: the saved image differs. */
		assert_true(la != ls || memcmp(a, saved, la));
		free(a);
		free(b);
		free(saved);
	}
	vm_destroy(vm);
	state_writer_free(&before);
	state_writer_free(&after);
	state_writer_free(&bad);
}

struct events {
	int resets, errors;
};

static void on_event(void *opaque, enum vm_event ev, int code)
{
	struct events *e = opaque;
	(void)code;
	if (ev == VM_EVENT_RESET)
		__atomic_add_fetch(&e->resets, 1, __ATOMIC_SEQ_CST);
	if (ev == VM_EVENT_ERROR)
		__atomic_add_fetch(&e->errors, 1, __ATOMIC_SEQ_CST);
}

/* A continued VM reboots as the original would: the boot images came
 * with the state (no file is opened). */
static void reboot_after_restore(void **state)
{
	struct fx *f = *state;
	uint64_t ticks, insns;
	run_and_save(f, &ticks, &insns, true);
	/* The kernel file is gone: the reboot must not need it. */
	unlink(f->img);
	struct events ev = { 0, 0 };
	struct state_reader r;
	struct vm_config c;
	struct vm *vm = make_incoming_from(f, &f->w, &r, &c, on_event, &ev);
	fill_ram(f, vm);
	struct err e = { 0 };
	assert_int_equal(vm_load_state(vm, &r, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	for (int i = 0; i < 3000 &&
	     !__atomic_load_n(&ev.resets, __ATOMIC_SEQ_CST) &&
	     !__atomic_load_n(&ev.errors, __ATOMIC_SEQ_CST); i++)
		sleep_ms(20);
	assert_int_equal(__atomic_load_n(&ev.errors, __ATOMIC_SEQ_CST), 0);
	assert_true(__atomic_load_n(&ev.resets, __ATOMIC_SEQ_CST) >= 1);
	/* Rebooted into the same program: it counts again from zero. */
	sleep_ms(300);
	assert_int_equal(vm_pause(vm), 0);
	uint64_t n = ram_u64(vm, DATA);
	assert_true(n > 0);
	assert_true(n < (uint64_t)TARGET_4K << 12);
	assert_int_equal(vm_resume(vm), 0);
	vm_stop(vm);
	int status = -1;
	vm_wait(vm, &status);
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(continue_in_new_vm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(other_shape_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_streams, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reboot_after_restore, setup,
						teardown),
		cmocka_unit_test_setup_teardown(vcpus_all_or_nothing, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
