/* Snapshots and restores in-process (vmm/snapshot.h, vmm/restore.h,
 * core/guest_mem.h file-backed regions).
 *
 *   map_file_is_private_and_lazy  a region mapped from a file reads the
 *                            file (holes as zeros), writes stay private,
 *                            guest_mem_clear gives zeros, not the file
 *   hostile_state_files      truncated, bit-flipped, other-version and
 *                            foreign state files: one error each, naming
 *                            the problem
 *   raw_disk_refused         a writable raw disk without
 *                            SNAPSHOT_NO_DISK_STATE: error, no directory,
 *                            the VM runs on
 *   counter_continues        a bare-metal guest counting in a register
 *                            and RAM: snapshot (sparse memory file smaller
 *                            than RAM), restore into a new VM lazily (RSS
 *                            grows by far less than the RAM data), the
 *                            count goes on from the snapshot's value and
 *                            a RAM pattern is intact
 *   disk_frozen_as_overlay   a qcow2 disk: after the snapshot the disk is
 *                            an overlay over DIR/disk0.qcow2 (0444), data
 *                            from before is there, writes after it leave
 *                            the base unchanged; a restore sees the data
 *                            of the instant, not later writes
 *   diff_snapshot_chain      full, then diff: the diff's memory file holds
 *                            only the dirtied pages, its boot file is the
 *                            parent's (a hard link); restoring the diff
 *                            gives RAM of its instant
 *   reboot_from_boot_file    the boot images go to DIR/boot, not into the
 *                            state file; a restored guest that reboots
 *                            boots again from them (also one restored
 *                            from a snapshot of a restored VM, which
 *                            copies the file); a corrupt boot file
 *                            does not stop the restore (never read) but
 *                            fails the reboot with an error exit; a
 *                            truncated one fails the restore
 *
 * The VM tests need vm_save_state (the persist work); without it they
 * print SKIP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"
#include "board/virt/boot_file.h"
#include "core/file.h"
#include "core/guest_mem.h"
#include "core/state.h"
#include "vmm/restore.h"
#include "vmm/snapshot.h"
#include "vmm/snapshot_fmt.h"
#include "vmm/vm.h"

/* ---- a tiny assembler (as tests/unit/test_vm.c) ------------------------ */

enum { ZERO = 0, T0 = 5, T1 = 6, T2 = 7, S0 = 8 };

struct prog {
	uint32_t w[64];
	unsigned n;
};

static void emit(struct prog *p, uint32_t insn)
{
	assert_true(p->n < 64);
	p->w[p->n++] = insn;
}

static uint32_t i_type(int imm, unsigned rs1, unsigned f3, unsigned rd,
		       unsigned opc)
{
	return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 |
	       opc;
}

/* t0 = 0x80100000; s0 = 0; loop: s0++; sd s0, 0(t0); j loop.  The count
 * lives in a register: a restore that lost the vCPU state would start
 * again from 0. */
static void prog_counter(struct prog *p)
{
	emit(p, i_type(1, ZERO, 0, T0, 0x13));          /* addi t0, x0, 1 */
	emit(p, i_type(31, T0, 1, T0, 0x13));           /* slli t0, t0, 31 */
	emit(p, 0x100u << 12 | T1 << 7 | 0x37);         /* lui t1, 0x100 */
	emit(p, T1 << 20 | T0 << 15 | T0 << 7 | 0x33);  /* add t0, t0, t1 */
	emit(p, i_type(0, ZERO, 0, S0, 0x13));          /* addi s0, x0, 0 */
	emit(p, i_type(1, S0, 0, S0, 0x13));            /* addi s0, s0, 1 */
	emit(p, S0 << 20 | T0 << 15 | 3 << 12 | 0x23);  /* sd s0, 0(t0) */
	/* j -8 */
	emit(p, 0x6f | ((uint32_t)(-8) >> 1 & 0x3ff) << 21 | 1u << 20 |
		0xffu << 12 | 1u << 31);
}

/* The counter, until the word after it (FLAG_GPA) is set: then a write
 * of 0x7777 to the sifive_test finisher asks for a reboot.  A reboot
 * clears RAM, so the rebooted guest just counts. */
static void prog_reboot(struct prog *p)
{
	emit(p, i_type(1, ZERO, 0, T0, 0x13));          /* addi t0, x0, 1 */
	emit(p, i_type(31, T0, 1, T0, 0x13));           /* slli t0, t0, 31 */
	emit(p, 0x100u << 12 | T1 << 7 | 0x37);         /* lui t1, 0x100 */
	emit(p, T1 << 20 | T0 << 15 | T0 << 7 | 0x33);  /* add t0, t0, t1 */
	emit(p, i_type(0, ZERO, 0, S0, 0x13));          /* addi s0, x0, 0 */
	emit(p, i_type(1, S0, 0, S0, 0x13));            /* loop: s0++ */
	emit(p, S0 << 20 | T0 << 15 | 3 << 12 | 0x23);  /* sd s0, 0(t0) */
	emit(p, i_type(8, T0, 3, T2, 0x03));            /* ld t2, 8(t0) */
	/* beq t2, x0, loop (-12) */
	uint32_t imm = (uint32_t)-12;
	emit(p, (imm >> 12 & 1) << 31 | (imm >> 5 & 0x3f) << 25 | ZERO << 20 |
		T2 << 15 | 0 << 12 | (imm >> 1 & 0xf) << 8 |
		(imm >> 11 & 1) << 7 | 0x63);
	emit(p, 0x100u << 12 | T1 << 7 | 0x37);         /* lui t1, 0x100 */
	emit(p, 0x7u << 12 | T2 << 7 | 0x37);           /* lui t2, 0x7 */
	emit(p, i_type(0x777, T2, 0, T2, 0x13));        /* addi t2, 0x777 */
	emit(p, T2 << 20 | T1 << 15 | 2 << 12 | 0x23);  /* sw t2, 0(t1) */
	emit(p, 0x6f);                                  /* j . */
}

#define COUNTER_GPA 0x80100000ULL
#define FLAG_GPA (COUNTER_GPA + 8)
#define RAM_BASE 0x80000000ULL
#define VM_MEM (64ULL << 20)
#define PATTERN_GPA 0x80400000ULL
#define PATTERN_BYTES (40ULL << 20)

struct fx {
	char dir[256];      /* scratch directory */
	char kernel[300];
	char kernel_reboot[300];  /* prog_reboot */
	struct prog reboot;
	int null_fd;
};

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		chmod(path, 0644);
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[600];
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		rm_rf(p);
	}
	closedir(d);
	rmdir(path);
}

/* A RISC-V Linux image header around p's code. */
static int write_kernel(const char *path, const struct prog *p)
{
	uint8_t img[64 + sizeof(p->w)];
	memset(img, 0, sizeof(img));
	size_t len = 64 + p->n * 4;
	uint32_t j64 = (32 << 21) | 0x6f;
	memcpy(img, &j64, 4);
	uint64_t text_offset = 0x200000, image_size = len;
	memcpy(img + 8, &text_offset, 8);
	memcpy(img + 16, &image_size, 8);
	uint32_t version = 2;
	memcpy(img + 0x24, &version, 4);
	memcpy(img + 0x30, "RISCV\0\0\0", 8);
	memcpy(img + 0x38, "RSC\x05", 4);
	memcpy(img + 64, p->w, p->n * 4);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, img, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	const char *t = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/ringvm-test-snap-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	f->null_fd = open("/dev/null", O_RDWR);
	struct prog p = { .n = 0 };
	prog_counter(&p);
	snprintf(f->kernel, sizeof(f->kernel), "%s/counter.img", f->dir);
	snprintf(f->kernel_reboot, sizeof(f->kernel_reboot), "%s/reboot.img",
		 f->dir);
	f->reboot.n = 0;
	prog_reboot(&f->reboot);
	if (write_kernel(f->kernel, &p) || write_kernel(f->kernel_reboot,
							&f->reboot))
		return -1;
	*state = f;
	return f->null_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rm_rf(f->dir);
	close(f->null_fd);
	free(f);
	return 0;
}

static struct vm_config config(struct fx *f)
{
	return (struct vm_config){
		.arch = "riscv64",
		.kernel = f->kernel,
		.bios = "none",
		.mem = VM_MEM,
		.cpus = 1,
		.seccomp_off = true,
		.no_rng = true,
		.console_fds = true,
		.console_in = f->null_fd,
		.console_out = f->null_fd,
		.no_reboot = true,
	};
}

/* What a restore starts from: the caller's defaults. */
static struct vm_config restore_defaults(struct fx *f)
{
	struct vm_config c = config(f);
	c.kernel = NULL;
	c.bios = NULL;
	c.mem = 0;
	c.cpus = 0;
	return c;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t read_counter(struct vm *vm)
{
	uint64_t v = 0;
	assert_int_equal(vm_pause(vm), 0);
	assert_int_equal(gpa_read(vm_mem(vm), COUNTER_GPA, &v, 8), 0);
	assert_int_equal(vm_resume(vm), 0);
	return v;
}

static uint64_t rss_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%lu %lu", &size, &res), 2);
	fclose(fp);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGE_SIZE);
}

static uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off / 4096 * 7 % 255 + 1);  /* never 0 */
}

static void fill_pattern(struct vm *vm)
{
	uint8_t *p = gpa_ptr(vm_mem(vm), PATTERN_GPA, PATTERN_BYTES);
	assert_non_null(p);
	for (uint64_t o = 0; o < PATTERN_BYTES; o += 4096)
		memset(p + o, pattern_byte(o), 4096);
}

static void check_pattern(struct vm *vm)
{
	const uint8_t *p = gpa_ptr(vm_mem(vm), PATTERN_GPA, PATTERN_BYTES);
	assert_non_null(p);
	for (uint64_t o = 0; o < PATTERN_BYTES; o += 4096) {
		assert_int_equal(p[o], pattern_byte(o));
		assert_int_equal(p[o + 4095], pattern_byte(o));
	}
}

static bool persist_missing(struct err *e)
{
	if (e->code != ENOSYS)
		return false;
	print_message("SKIP: %s (the persist work is not merged)\n", e->msg);
	return true;
}

struct progress {
	int calls;
	uint64_t last_done, last_total;
};

static void on_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct progress *p = opaque;
	assert_true(done <= total);
	assert_true(done >= p->last_done);
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

/* ---- guest_mem over a file --------------------------------------------- */

static void map_file_is_private_and_lazy(void **state)
{
	struct fx *f = *state;
	char path[300];
	snprintf(path, sizeof(path), "%s/mem", f->dir);
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	uint8_t page[4096];
	memset(page, 0xab, sizeof(page));
	assert_int_equal(pwrite(fd, page, 4096, 4096), 4096);

	struct guest_mem m = { .nr = 0 };
	struct err e = { 0 };
	assert_int_equal(guest_mem_add(&m, RAM_BASE, 16 << 20, &e), 0);
	/* Too short a file for the region: refused, not a later SIGBUS. */
	assert_int_equal(guest_mem_map_file(&m, 0, fd, 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "too short"));
	assert_int_equal(ftruncate(fd, 16 << 20), 0);
	err_clear(&e);
	assert_int_equal(guest_mem_map_file(&m, 0, fd, 1, &e), -EINVAL);
	err_clear(&e);
	assert_int_equal(guest_mem_map_file(&m, 0, fd, 0, &e), 0);
	uint8_t *hva = m.r[0].hva;
	assert_int_equal(hva[4096], 0xab);
	assert_int_equal(hva[8191], 0xab);
	assert_int_equal(hva[0], 0);        /* a hole */
	assert_int_equal(hva[(12 << 20)], 0);
	hva[4096] = 0x11;                   /* private: not in the file */
	uint8_t b = 0;
	assert_int_equal(pread(fd, &b, 1, 4096), 1);
	assert_int_equal(b, 0xab);
	/* A reboot's clear: zeros everywhere, not the file's contents. */
	guest_mem_clear(&m);
	assert_false(m.r[0].file_backed);
	assert_ptr_equal(m.r[0].hva, hva);
	assert_int_equal(hva[4096], 0);
	assert_int_equal(hva[8191], 0);
	hva[0] = 5;                          /* still writable memory */
	assert_int_equal(hva[0], 5);
	guest_mem_free(&m);
	close(fd);
}

/* ---- hostile state files ----------------------------------------------- */

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* A well-formed state file of a 16 MiB machine (no VM sections). */
static size_t good_state(uint8_t **out)
{
	struct snap_info si;
	memset(&si, 0, sizeof(si));
	snprintf(si.engine, sizeof(si.engine), "interp");
	si.id = 42;
	si.mem_file_size = 16 << 20;
	si.nregions = 1;
	si.r[0] = (struct snap_region){ RAM_BASE, 16 << 20, 0 };
	struct state_writer w;
	state_writer_init(&w);
	snap_put_info(&w, &si);
	assert_int_equal(state_writer_error(&w), 0);
	uint8_t *b = malloc(SNAP_PREFIX_BYTES + w.len);
	assert_non_null(b);
	snap_prefix(b);
	memcpy(b + SNAP_PREFIX_BYTES, w.buf, w.len);
	size_t n = SNAP_PREFIX_BYTES + w.len;
	state_writer_free(&w);
	*out = b;
	return n;
}

static int try_restore(struct fx *f, const char *dir, struct err *e)
{
	struct vm_config c = restore_defaults(f);
	struct restore_opts o = { .dir = dir, .quiet = true };
	struct restore *rs = NULL;
	err_clear(e);
	int rc = restore_prepare(&o, &c, &rs, e);
	restore_free(rs);
	return rc;
}

static void hostile_state_files(void **state)
{
	struct fx *f = *state;
	char dir[300], path[320];
	snprintf(dir, sizeof(dir), "%s/bad", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/memory", dir);
	int mfd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 16 << 20), 0);
	close(mfd);
	snprintf(path, sizeof(path), "%s/state", dir);
	struct err e = { 0 };

	/* No state file at all. */
	assert_true(try_restore(f, dir, &e) < 0);
	assert_non_null(strstr(e.msg, "state"));

	uint8_t *good;
	size_t n = good_state(&good);
	struct state_reader r;
	struct snap_info si;
	assert_int_equal(snap_parse(good, n, &r, &si, &e), 0);
	assert_int_equal(si.id, 42);
	assert_string_equal(si.engine, "interp");

	/* Truncated anywhere: an error, never a crash. */
	for (size_t cut = 0; cut < n; cut += 7) {
		write_file(path, good, cut);
		assert_int_equal(try_restore(f, dir, &e), -EINVAL);
		assert_true(strstr(e.msg, "truncated") ||
			    strstr(e.msg, "not a ringvm snapshot") ||
			    strstr(e.msg, "no section"));
	}
	/* A flipped payload bit: the checksum says so. */
	uint8_t *bad = malloc(n);
	assert_non_null(bad);
	memcpy(bad, good, n);
	bad[n - 3] ^= 0x10;
	write_file(path, bad, n);
	assert_int_equal(try_restore(f, dir, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "checksum"));
	/* Another format version. */
	memcpy(bad, good, n);
	bad[8] = 7;
	write_file(path, bad, n);
	assert_int_equal(try_restore(f, dir, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "format version 7"));
	/* Not a snapshot. */
	write_file(path, "hello world, not a snapshot", 27);
	assert_int_equal(try_restore(f, dir, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a ringvm snapshot"));
	/* The error names the directory, in one line. */
	assert_non_null(strstr(e.msg, dir));
	assert_null(strchr(e.msg, '\n'));
	free(bad);
	free(good);
}

/* ---- with VMs ---------------------------------------------------------- */

static void raw_disk_refused(void **state)
{
	struct fx *f = *state;
	char raw[300], snap[300];
	snprintf(raw, sizeof(raw), "%s/raw.img", f->dir);
	snprintf(snap, sizeof(snap), "%s/snap-raw", f->dir);
	int fd = open(raw, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	struct vm_config c = config(f);
	c.ndisks = 1;
	c.disks[0] = (struct vm_disk){ .path = raw, .format = "raw" };
	struct vm *vm;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	sleep_ms(20);
	assert_int_equal(vm_snapshot(vm, snap, 0, NULL, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "--no-disk-state"));
	struct stat st;
	assert_int_equal(stat(snap, &st), -1);
	/* Nothing left beside it either (only the image files). */
	DIR *d = opendir(f->dir);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, "snap-raw"));
	closedir(d);
	uint64_t a = read_counter(vm);
	sleep_ms(20);
	assert_true(read_counter(vm) > a);
	vm_stop(vm);
	int status;
	vm_wait(vm, &status);
	vm_destroy(vm);
}

/* Restore dir into a new started VM; returns it (and the restore). */
static struct vm *restore_vm(struct fx *f, const char *dir, bool clone,
			     struct restore **rsp, uint64_t *rss_growth)
{
	struct vm_config c = restore_defaults(f);
	struct restore_opts o = { .dir = dir, .clone = clone, .quiet = true };
	struct err e = { 0 };
	assert_int_equal(restore_prepare(&o, &c, rsp, &e), 0);
	assert_true(c.incoming);
	struct vm *vm;
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	uint64_t r0 = rss_bytes();
	assert_int_equal(restore_load(*rsp, vm, &e), 0);
	if (rss_growth)
		*rss_growth = rss_bytes() - r0;
	assert_int_equal(vm_start(vm), 0);
	return vm;
}

static void end_vm(struct vm *vm)
{
	vm_stop(vm);
	int status;
	vm_wait(vm, &status);
	vm_destroy(vm);
}

static uint64_t file_u64(const char *path, uint64_t off)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 8, (off_t)off), 8);
	close(fd);
	return v;
}

static void counter_continues(void **state)
{
	struct fx *f = *state;
	char snap[300], mem[320];
	snprintf(snap, sizeof(snap), "%s/snap1", f->dir);
	snprintf(mem, sizeof(mem), "%s/memory", snap);
	struct vm_config c = config(f);
	struct vm *vm;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	fill_pattern(vm);
	assert_int_equal(vm_start(vm), 0);
	sleep_ms(50);
	struct progress pr = { 0 };
	int rc = vm_snapshot(vm, snap, 0, on_progress, &pr, &e);
	if (rc && persist_missing(&e)) {
		struct stat st;
		assert_int_equal(stat(snap, &st), -1);
		end_vm(vm);
		skip();
	}
	assert_int_equal(rc, 0);
	assert_true(pr.calls >= 1);
	assert_int_equal(pr.last_done, VM_MEM);
	assert_int_equal(pr.last_total, VM_MEM);
	print_message("snapshot: VM paused %.3f ms\n",
		      vm_snapshot_pause_ns(vm) / 1e6);
	uint64_t at_snap = file_u64(mem, COUNTER_GPA - RAM_BASE);
	assert_true(at_snap > 0);
	/* The VM runs on unchanged. */
	uint64_t a = read_counter(vm);
	sleep_ms(20);
	assert_true(read_counter(vm) > a);
	assert_true(a >= at_snap);
	end_vm(vm);

	/* Sparse: the pattern (40 MiB) plus a few pages, not 64 MiB. */
	struct stat st;
	assert_int_equal(stat(mem, &st), 0);
	assert_int_equal((uint64_t)st.st_size, VM_MEM);
	uint64_t alloc = (uint64_t)st.st_blocks * 512;
	print_message("memory file: %llu KiB allocated\n", (unsigned long long)(alloc >> 10));
	assert_true(alloc >= PATTERN_BYTES);
	assert_true(alloc < PATTERN_BYTES + (4 << 20));
	/* Read-only files. */
	assert_int_equal(st.st_mode & 0222, 0);

	struct restore *rs = NULL;
	uint64_t growth = 0;
	uint64_t t0 = now_ns();
	struct vm *vm2 = restore_vm(f, snap, false, &rs, &growth);
	double ms = (now_ns() - t0) / 1e6;
	print_message("restore to running: %.3f ms; RSS grew %llu KiB\n", ms,
		      (unsigned long long)(growth >> 10));
	/* Lazy: the 40 MiB of pattern were not read in. */
	assert_true(growth < (8u << 20));
	sleep_ms(30);
	uint64_t b = read_counter(vm2);
	assert_true(b > at_snap);
	sleep_ms(20);
	assert_true(read_counter(vm2) > b);
	assert_int_equal(vm_pause(vm2), 0);
	check_pattern(vm2);
	assert_int_equal(vm_resume(vm2), 0);
	end_vm(vm2);
	restore_free(rs);
}

static void make_qcow2(const char *path, uint64_t size)
{
	struct err e = { 0 };
	assert_int_equal(qcow2_create(path, size, NULL, &e), 0);
}

static void disk_write(struct block_dev *bd, uint64_t off, uint8_t v)
{
	uint8_t buf[512];
	memset(buf, v, sizeof(buf));
	assert_int_equal(block_pwrite(bd, buf, sizeof(buf), off), 0);
}

static uint8_t disk_read(struct block_dev *bd, uint64_t off)
{
	uint8_t buf[512];
	assert_int_equal(block_pread(bd, buf, sizeof(buf), off), 0);
	return buf[0];
}

static void disk_frozen_as_overlay(void **state)
{
	struct fx *f = *state;
	char disk[300], snap[300], base[320];
	snprintf(disk, sizeof(disk), "%s/data.qcow2", f->dir);
	snprintf(snap, sizeof(snap), "%s/snap-disk", f->dir);
	snprintf(base, sizeof(base), "%s/disk0.qcow2", snap);
	make_qcow2(disk, 8 << 20);
	struct vm_config c = config(f);
	c.ndisks = 1;
	c.disks[0] = (struct vm_disk){ .path = disk };
	struct vm *vm;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	/* "Before": as if the guest wrote it (the device's disk). */
	assert_int_equal(vm_pause(vm), 0);
	disk_write(vm_disk(vm, 0), 0, 0xaa);
	assert_int_equal(vm_resume(vm), 0);
	int rc = vm_snapshot(vm, snap, 0, NULL, NULL, &e);
	if (rc && persist_missing(&e)) {
		/* The failure left everything as it was. */
		struct stat st;
		assert_int_equal(stat(snap, &st), -1);
		assert_int_equal(disk_read(vm_disk(vm, 0), 0), 0xaa);
		end_vm(vm);
		skip();
	}
	assert_int_equal(rc, 0);
	struct stat st;
	assert_int_equal(stat(base, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	/* The disk is now an overlay over the base, with the same data. */
	struct block_dev *top = vm_disk(vm, 0);
	assert_non_null(top->backing);
	struct qcow2_info info;
	assert_int_equal(qcow2_get_info(top, &info), 0);
	assert_string_equal(info.backing_file, base);
	assert_true(top->backing->read_only);
	assert_int_equal(vm_pause(vm), 0);
	assert_int_equal(disk_read(top, 0), 0xaa);
	/* "After": goes to the overlay only. */
	disk_write(top, 0, 0xbb);
	disk_write(top, 4096, 0xcc);
	assert_int_equal(vm_resume(vm), 0);
	struct block_dev *b;
	assert_int_equal(block_open_format(base, "qcow2", true, &b, &e), 0);
	assert_int_equal(disk_read(b, 0), 0xaa);
	assert_int_equal(disk_read(b, 4096), 0);
	block_close(b);
	end_vm(vm);

	/* The path itself now opens as the overlay chain. */
	assert_int_equal(block_open_format(disk, "qcow2", true, &b, &e), 0);
	assert_int_equal(disk_read(b, 0), 0xbb);
	block_close(b);

	/* A clone sees the instant's data, and leaves the disk alone. */
	char cdir[300], cdisk[320];
	snprintf(cdir, sizeof(cdir), "%s/clone", f->dir);
	snprintf(cdisk, sizeof(cdisk), "%s/disk0.qcow2", cdir);
	struct vm_config rc_cfg = restore_defaults(f);
	struct restore_opts o = { .dir = snap, .clone = true,
				  .clone_dir = cdir, .quiet = true };
	struct restore *rs;
	assert_int_equal(restore_prepare(&o, &rc_cfg, &rs, &e), 0);
	assert_string_equal(rc_cfg.disks[0].path, cdisk);
	struct vm *vm2;
	assert_int_equal(vm_create(&rc_cfg, NULL, NULL, &vm2, &e), 0);
	assert_int_equal(restore_load(rs, vm2, &e), 0);
	assert_int_equal(disk_read(vm_disk(vm2, 0), 0), 0xaa);
	assert_int_equal(disk_read(vm_disk(vm2, 0), 4096), 0);
	vm_destroy(vm2);
	restore_free(rs);
	assert_int_equal(block_open_format(disk, "qcow2", true, &b, &e), 0);
	assert_int_equal(disk_read(b, 0), 0xbb);
	block_close(b);

	/* A plain restore puts the disk back to the instant. */
	struct vm *vm3 = restore_vm(f, snap, false, &rs, NULL);
	assert_int_equal(vm_pause(vm3), 0);
	assert_int_equal(disk_read(vm_disk(vm3, 0), 0), 0xaa);
	assert_int_equal(disk_read(vm_disk(vm3, 0), 4096), 0);
	assert_int_equal(vm_resume(vm3), 0);
	end_vm(vm3);
	restore_free(rs);
}

static void diff_snapshot_chain(void **state)
{
	struct fx *f = *state;
	char s1[300], s2[300], mem2[320];
	snprintf(s1, sizeof(s1), "%s/full", f->dir);
	snprintf(s2, sizeof(s2), "%s/diff", f->dir);
	snprintf(mem2, sizeof(mem2), "%s/memory", s2);
	struct vm_config c = config(f);
	struct vm *vm;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	fill_pattern(vm);
	assert_int_equal(vm_start(vm), 0);
	/* No previous snapshot: a diff is refused. */
	assert_int_equal(vm_snapshot(vm, s2, SNAPSHOT_DIFF, NULL, NULL, &e),
			 -EINVAL);
	err_clear(&e);
	int rc = vm_snapshot(vm, s1, 0, NULL, NULL, &e);
	if (rc && persist_missing(&e)) {
		end_vm(vm);
		skip();
	}
	assert_int_equal(rc, 0);
	/* Change one pattern page between the two. */
	assert_int_equal(vm_pause(vm), 0);
	uint8_t v = 0xee;
	assert_int_equal(gpa_write(vm_mem(vm), PATTERN_GPA + 4096 * 3, &v, 1),
			 0);
	assert_int_equal(vm_resume(vm), 0);
	sleep_ms(20);
	assert_int_equal(vm_snapshot(vm, s2, SNAPSHOT_DIFF, NULL, NULL, &e), 0);
	uint64_t at_diff = file_u64(mem2, COUNTER_GPA - RAM_BASE);
	assert_true(at_diff > 0);
	end_vm(vm);
	/* Only dirtied pages: the counter's and the changed one. */
	struct stat st;
	assert_int_equal(stat(mem2, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 < (1u << 20));
	/* The boot images are the parent's: its boot file, linked. */
	char b1[320], b2[320];
	struct stat st1, st2;
	snprintf(b1, sizeof(b1), "%s/boot", s1);
	snprintf(b2, sizeof(b2), "%s/boot", s2);
	assert_int_equal(stat(b1, &st1), 0);
	assert_int_equal(stat(b2, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);

	struct restore *rs;
	struct vm *vm2 = restore_vm(f, s2, true, &rs, NULL);
	sleep_ms(20);
	assert_true(read_counter(vm2) > at_diff);
	assert_int_equal(vm_pause(vm2), 0);
	const uint8_t *p = gpa_ptr(vm_mem(vm2), PATTERN_GPA, PATTERN_BYTES);
	assert_int_equal(p[4096 * 3], 0xee);
	assert_int_equal(p[4096 * 3 + 1], pattern_byte(4096 * 3));
	assert_int_equal(p[4096 * 4], pattern_byte(4096 * 4));
	assert_int_equal(vm_resume(vm2), 0);
	end_vm(vm2);
	restore_free(rs);
}

struct events {
	int resets, errors;  /* atomics: the VM's thread counts */
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

static int ev_get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/* Restore dir with an event counter; -errno of the restore, or 0 with
 * *vmp started. */
static int restore_events(struct fx *f, const char *dir, struct events *ev,
			  struct restore **rsp, struct vm **vmp, struct err *e)
{
	struct vm_config c = restore_defaults(f);
	struct restore_opts o = { .dir = dir, .quiet = true };
	int rc = restore_prepare(&o, &c, rsp, e);
	if (rc)
		return rc;
	assert_int_equal(vm_create(&c, on_event, ev, vmp, e), 0);
	if ((rc = restore_load(*rsp, *vmp, e))) {
		vm_destroy(*vmp);
		restore_free(*rsp);
		return rc;
	}
	assert_int_equal(vm_start(*vmp), 0);
	return 0;
}

static void set_flag(struct vm *vm)
{
	uint64_t one = 1;
	assert_int_equal(vm_pause(vm), 0);
	assert_int_equal(gpa_write(vm_mem(vm), FLAG_GPA, &one, 8), 0);
	assert_int_equal(vm_resume(vm), 0);
}

/* The boot file's writer leaves zero blocks as holes and the bytes read
 * back are the image's, at aligned and unaligned offsets. */
static void boot_file_sparse(void **state)
{
	struct fx *f = *state;
	char path[300];
	snprintf(path, sizeof(path), "%s/sparse", f->dir);
	enum { LEN = 64 * 4096 + 100 };
	uint8_t *img = calloc(1, LEN), *back = malloc(LEN + 8192);
	assert_non_null(img);
	assert_non_null(back);
	for (size_t i = 0; i < LEN; i++)   /* blocks 0-7, 40, the tail */
		if (i < 8 * 4096 || (i >= 40 * 4096 && i < 41 * 4096) ||
		    i >= 64 * 4096)
			img[i] = (uint8_t)(i * 7 + 1);
	img[20 * 4096 + 4095] = 9;      /* one byte makes a block non-zero */
	for (unsigned k = 0; k < 2; k++) {
		uint64_t off = k ? 4096 + 123 : 4096;
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t)(off + LEN + 4096)), 0);
		assert_int_equal(boot_file_pwrite_fresh(fd, img, LEN, off), 0);
		assert_int_equal(fsync(fd), 0);
		assert_int_equal(pread(fd, back, LEN, (off_t)off), LEN);
		assert_memory_equal(back, img, LEN);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		/* 11 data blocks (12 unaligned) of 66: most stayed holes. */
		assert_true(st.st_blocks * 512 <= 20 * 4096);
		close(fd);
	}
	unlink(path);
	free(img);
	free(back);
}

static void reboot_from_boot_file(void **state)
{
	struct fx *f = *state;
	char snap[300], path[320];
	snprintf(snap, sizeof(snap), "%s/snapb", f->dir);
	struct vm_config c = config(f);
	c.kernel = f->kernel_reboot;
	c.no_reboot = false;
	struct vm *vm;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	assert_int_equal(vm_start(vm), 0);
	sleep_ms(30);
	int rc = vm_snapshot(vm, snap, 0, NULL, NULL, &e);
	if (rc && persist_missing(&e)) {
		end_vm(vm);
		skip();
	}
	assert_int_equal(rc, 0);
	end_vm(vm);

	/* The program's code is in the boot file and not in the state. */
	uint8_t *buf;
	size_t len;
	snprintf(path, sizeof(path), "%s/state", snap);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(file_read_fd(fd, 1 << 20, "state", (char **)&buf,
				      &len, &e), 0);
	close(fd);
	size_t code = f->reboot.n * 4;
	assert_null(memmem(buf, len, f->reboot.w, code));
	free(buf);
	snprintf(path, sizeof(path), "%s/boot", snap);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(file_read_fd(fd, 1 << 20, "boot", (char **)&buf,
				      &len, &e), 0);
	close(fd);
	assert_non_null(memmem(buf, len, f->reboot.w, code));
	size_t code_off = (size_t)((uint8_t *)memmem(buf, len, f->reboot.w,
						     code) - buf);
	free(buf);

	/* Restored, it reboots from the boot file and counts again. */
	struct events ev = { 0, 0 };
	struct restore *rs;
	struct vm *vm2;
	assert_int_equal(restore_events(f, snap, &ev, &rs, &vm2, &e), 0);
	sleep_ms(20);
	/* A snapshot of the restored VM copies its boot file. */
	char snap2[300];
	snprintf(snap2, sizeof(snap2), "%s/snapb2", f->dir);
	assert_int_equal(vm_snapshot(vm2, snap2, 0, NULL, NULL, &e), 0);
	set_flag(vm2);
	for (int i = 0; i < 200 && !ev_get(&ev.resets); i++)
		sleep_ms(10);
	assert_int_equal(ev_get(&ev.resets), 1);
	uint64_t a = read_counter(vm2);
	sleep_ms(20);
	assert_true(read_counter(vm2) > a);
	assert_int_equal(ev_get(&ev.errors), 0);
	end_vm(vm2);
	restore_free(rs);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(restore_events(f, snap2, &ev, &rs, &vm2, &e), 0);
	set_flag(vm2);
	for (int i = 0; i < 200 && !ev_get(&ev.resets); i++)
		sleep_ms(10);
	assert_int_equal(ev_get(&ev.resets), 1);
	assert_int_equal(ev_get(&ev.errors), 0);
	end_vm(vm2);
	restore_free(rs);

	/* One bit of the image flipped: the restore does not read the file
	 * and runs; the reboot refuses it and the VM ends in error. */
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t byte;
	assert_int_equal(pread(fd, &byte, 1, (off_t)code_off), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)code_off), 1);
	close(fd);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(restore_events(f, snap, &ev, &rs, &vm2, &e), 0);
	a = read_counter(vm2);
	sleep_ms(20);
	assert_true(read_counter(vm2) > a);
	set_flag(vm2);
	int status = -1;
	vm_wait(vm2, &status);
	assert_int_equal(status, 1);
	assert_int_equal(ev_get(&ev.errors), 1);
	assert_int_equal(ev_get(&ev.resets), 0);
	vm_destroy(vm2);
	restore_free(rs);

	/* Truncated: caught by the restore (its size is checked). */
	assert_int_equal(truncate(path, 4096), 0);
	memset(&e, 0, sizeof(e));
	rc = restore_events(f, snap, &ev, &rs, &vm2, &e);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(e.msg, "boot file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(map_file_is_private_and_lazy,
						setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_state_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(raw_disk_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(counter_continues, setup,
						teardown),
		cmocka_unit_test_setup_teardown(disk_frozen_as_overlay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(diff_snapshot_chain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(boot_file_sparse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reboot_from_boot_file, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
