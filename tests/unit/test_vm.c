/* The VM handle (vmm/vm.h) with real guests: tiny bare-metal RV64 programs
 * assembled here into Linux Image files, run with --bios none (M-mode).
 * They report through sifive_test: pass, or fail with a code.
 *
 *   two_vms_in_one_process   two VMs run at once in this process; each
 *                            writes its own value to the same guest address
 *                            and checks for a long time that it stays
 *                            (neither sees the other's memory)
 *   pause_stops_vcpus_and_clock  vm_pause from this thread: instret stands
 *                            still while paused, and the guest, which
 *                            watches the time CSR, sees no jump across
 *                            the pause
 *   stop_while_paused        vm_stop ends a paused VM
 *   bad_config               errors name the problem */
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

#include "vmm/vm.h"

#include "rv_asm.h"

/* Store `val` at 0x80100000, then check it `rounds` * 4096 times. */
static char *prog_own_value(unsigned val, uint32_t rounds)
{
	struct prog p = { .n = 0 };
	addi(&p, T0, ZERO, 1);
	slli(&p, T0, T0, 31);
	lui(&p, T1, 0x100);
	rr(&p, 0, T0, T0, T1);          /* t0 = 0x80100000 */
	addi(&p, T2, ZERO, (int)val);
	store(&p, 3, T2, T0);           /* sd t2, 0(t0) */
	lui(&p, T3, rounds);            /* t3 = rounds << 12 */
	unsigned loop = p.n;
	ld(&p, T4, T0);
	unsigned to_fail = branch(&p, 1, T4, T2);   /* bne t4, t2 */
	addi(&p, T3, T3, -1);
	unsigned back = branch(&p, 1, T3, ZERO);    /* bne t3, x0 */
	patch_b(&p, back, loop);
	report(&p, 0);
	patch_b(&p, to_fail, p.n);
	report(&p, 2);
	return write_image(&p);
}

/* Watch the time CSR until `total` ticks (10 MHz) have passed; fail with
 * code 3 if two consecutive reads are `jump` ticks or more apart. */
static char *prog_watch_time(uint32_t total_4k, uint32_t jump_4k)
{
	struct prog p = { .n = 0 };
	rdtime(&p, S0);
	addi(&p, S1, S0, 0);
	lui(&p, S3, total_4k);
	lui(&p, S4, jump_4k);
	unsigned loop = p.n;
	rdtime(&p, T0);
	rr(&p, 0x20, T1, T0, S0);       /* t1 = now - last */
	addi(&p, S0, T0, 0);
	unsigned to_fail = branch(&p, 7, T1, S4);   /* bgeu t1, s4 */
	rr(&p, 0x20, T2, T0, S1);       /* t2 = now - start */
	unsigned back = branch(&p, 6, T2, S3);      /* bltu t2, s3 */
	patch_b(&p, back, loop);
	report(&p, 0);
	patch_b(&p, to_fail, p.n);
	report(&p, 3);
	return write_image(&p);
}

static void amoadd_d(struct prog *p, unsigned rs2, unsigned rs1)
{
	emit(p, rs2 << 20 | rs1 << 15 | 3 << 12 | 0x2f); /* amoadd.d x0 */
}

/* Every hart (all start at the entry with --bios none, a0 = hartid) adds
 * 1 to a shared counter rounds << 12 times with amoadd.d, then to a
 * "finished" counter; hart 0 waits for all `nharts`, and passes if the
 * total is exact (fail code 4).  Others sleep in WFI. */
static char *prog_amo_count(unsigned nharts, uint32_t rounds)
{
	struct prog p = { .n = 0 };
	addi(&p, T0, ZERO, 1);
	slli(&p, T0, T0, 31);
	lui(&p, T1, 0x100);
	rr(&p, 0, T0, T0, T1);          /* t0 = 0x80100000: the counter */
	addi(&p, T4, T0, 8);            /* t4: harts finished */
	addi(&p, T1, ZERO, 1);
	lui(&p, T3, rounds);
	unsigned loop = p.n;
	amoadd_d(&p, T1, T0);
	addi(&p, T3, T3, -1);
	patch_b(&p, branch(&p, 1, T3, ZERO), loop);
	amoadd_d(&p, T1, T4);
	unsigned to_sleep = branch(&p, 1, A0, ZERO);  /* bne a0, x0 */
	addi(&p, T6, ZERO, (int)nharts);
	unsigned wait = p.n;
	ld(&p, T5, T4);
	patch_b(&p, branch(&p, 1, T5, T6), wait);
	ld(&p, T5, T0);
	lui(&p, T6, rounds * nharts);
	unsigned to_fail = branch(&p, 1, T5, T6);
	report(&p, 0);
	patch_b(&p, to_sleep, p.n);
	unsigned sleep = p.n;
	emit(&p, 0x10500073);           /* wfi */
	emit(&p, 0xffdff06f);           /* j sleep (-4) */
	(void)sleep;
	patch_b(&p, to_fail, p.n);
	report(&p, 4);
	return write_image(&p);
}

/* Write page 0x100 of RAM once, then page 0x180 forever (a store every
 * few instructions, through the interpreter's store fast path). */
static char *prog_dirty_writer(void)
{
	struct prog p = { .n = 0 };
	addi(&p, T0, ZERO, 1);
	slli(&p, T0, T0, 31);
	lui(&p, T1, 0x100);
	rr(&p, 0, T1, T0, T1);          /* t1 = 0x80100000 */
	store(&p, 3, T1, T1);
	lui(&p, T2, 0x180);
	rr(&p, 0, T2, T0, T2);          /* t2 = 0x80180000 */
	unsigned loop = p.n;
	store(&p, 3, T3, T2);
	addi(&p, T3, T3, 1);
	emit(&p, 0x6f | (((uint32_t)(-8) >> 1 & 0x3ff) << 21) |
		 (1u << 20) | (0xffu << 12) | (1u << 31)); /* j loop */
	(void)loop;
	return write_image(&p);
}

/* Per test: /dev/null as the console, up to two image files removed at
 * the end whatever happens. */
struct fx {
	int null_fd;
	char *img[2];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->null_fd = open("/dev/null", O_RDWR);
	*state = f;
	return f->null_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 2; i++) {
		if (f->img[i])
			unlink(f->img[i]);
		free(f->img[i]);
	}
	if (f->null_fd >= 0)
		close(f->null_fd);
	free(f);
	return 0;
}

static struct vm_config config(const char *kernel, int null_fd)
{
	return (struct vm_config){
		.arch = "riscv64",
		.kernel = kernel,
		.bios = "none",
		.mem = 16ULL << 20,
		.cpus = 1,
		.seccomp_off = true,
		.no_rng = true,
		.console_fds = true,
		.console_in = null_fd,
		.console_out = null_fd,
	};
}

/* A VM running image `img` (owned by the fixture from here on). */
static struct vm *make_vm(struct fx *f, char *img, unsigned cpus,
			  vm_event_fn *on, void *opaque)
{
	f->img[0] = img;
	struct vm_config c = config(img, f->null_fd);
	c.cpus = cpus;
	struct vm *vm = NULL;
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, on, opaque, &vm, &e), 0);
	return vm;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

struct events {
	int n, last, code;
};

static void on_event(void *opaque, enum vm_event ev, int code)
{
	struct events *e = opaque;
	e->n++;
	e->last = (int)ev;
	e->code = code;
}

static void two_vms_in_one_process(void **state)
{
	struct fx *f = *state;
	int null_fd = f->null_fd;
	/* 0x400 << 12 = 4 M rounds each: both are still running when the
	 * other starts. */
	char *ka = f->img[0] = prog_own_value(0x5a, 0x400);
	char *kb = f->img[1] = prog_own_value(0x3c, 0x400);
	struct vm_config ca = config(ka, null_fd), cb = config(kb, null_fd);
	struct vm *a, *b;
	struct err e = { 0 };
	struct events ea = { 0 }, eb = { 0 };
	assert_int_equal(vm_create(&ca, on_event, &ea, &a, &e), 0);
	assert_int_equal(vm_create(&cb, on_event, &eb, &b, &e), 0);
	assert_int_equal(vm_start(a), 0);
	assert_int_equal(vm_start(b), 0);
	assert_int_equal(vm_start(b), -EINVAL);
	int sa = -1, sb = -1;
	vm_wait(a, &sa);
	vm_wait(b, &sb);
	assert_int_equal(sa, 0);
	assert_int_equal(sb, 0);
	assert_int_equal(ea.n, 1);
	assert_int_equal(ea.last, VM_EVENT_POWEROFF);
	assert_int_equal(eb.last, VM_EVENT_POWEROFF);
	assert_true(vm_instret(a) > 4000000);
	assert_true(vm_instret(b) > 4000000);
	assert_int_equal(vm_pause(a), -ESRCH);
	vm_destroy(a);
	vm_destroy(b);
}

static void pause_stops_vcpus_and_clock(void **state)
{
	/* 2 s of guest time (0x1313 << 12 ticks at 10 MHz); a jump of 0.5 s
	 * (0x4c5 << 12) between two reads fails. */
	struct vm *vm = make_vm(*state, prog_watch_time(0x1313, 0x4c5), 1,
				NULL, NULL);
	assert_int_equal(vm_resume(vm), -EINVAL);
	uint64_t t0 = now_ms();
	assert_int_equal(vm_start(vm), 0);
	sleep_ms(200);
	assert_int_equal(vm_pause(vm), 0);
	uint64_t i0 = vm_instret(vm);
	assert_true(i0 > 0);
	sleep_ms(1000);
	assert_int_equal(vm_instret(vm), i0);
	/* Nested: two pauses need two resumes. */
	assert_int_equal(vm_pause(vm), 0);
	assert_int_equal(vm_resume(vm), 0);
	assert_int_equal(vm_instret(vm), i0);
	assert_int_equal(vm_resume(vm), 0);
	int status = -1;
	vm_wait(vm, &status);
	uint64_t wall = now_ms() - t0;
	/* Exit 0: no jump seen; the run spanned the pause. */
	assert_int_equal(status, 0);
	assert_true(wall >= 2900);
	vm_destroy(vm);
}

/* Four harts count with AMOs while this thread pauses and resumes the VM
 * again and again: the total is exact and vCPUs really stop. */
static void pause_resume_during_smp_work(void **state)
{
	struct vm *vm = make_vm(*state, prog_amo_count(4, 0x100), 4, NULL,
				NULL);
	assert_int_equal(vm_start(vm), 0);
	int paused = 0;
	for (int i = 0; i < 20; i++) {
		sleep_ms(20);
		if (vm_pause(vm) < 0)
			break; /* finished already */
		paused++;
		uint64_t n = vm_instret(vm);
		sleep_ms(5);
		assert_int_equal(vm_instret(vm), n);
		assert_int_equal(vm_resume(vm), 0);
	}
	assert_true(paused > 0);
	int status = -1;
	vm_wait(vm, &status);
	assert_int_equal(status, 0);
	assert_true(vm_instret(vm) >= 4 * 3 * (0x100 << 12));
	vm_destroy(vm);
}

/* Pages the guest keeps writing show up in every fetch (the engine
 * re-arms its store fast path each time); a page written only before the
 * log started does not; a page nobody writes stays clean. */
static void dirty_log_reports_guest_stores(void **state)
{
	struct vm *vm = make_vm(*state, prog_dirty_writer(), 1, NULL, NULL);
	struct err e = { 0 };
	size_t words = (size_t)((vm_ram_size(vm, 0) >> 12) + 63) / 64;
	assert_int_equal(words, 64);
	uint64_t bm[64];
	assert_int_equal(vm_dirty_log_fetch(vm, 0, bm), -EINVAL);
	assert_int_equal(vm_start(vm), 0);
	sleep_ms(100);
	assert_int_equal(vm_dirty_log_start(vm, &e), 0);
	for (int round = 0; round < 5; round++) {
		sleep_ms(30);
		int64_t n = vm_dirty_log_fetch(vm, 0, bm);
		assert_true(n >= 1);
		assert_true(bm[0x180 / 64] & 1ULL << (0x180 % 64));
		assert_false(bm[0x100 / 64] & 1ULL << (0x100 % 64));
		assert_false(bm[0x1c0 / 64] & 1ULL << (0x1c0 % 64));
	}
	vm_dirty_log_stop(vm);
	assert_int_equal(vm_dirty_log_fetch(vm, 0, bm), -EINVAL);
	vm_stop(vm);
	int status = -1;
	vm_wait(vm, &status);
	vm_destroy(vm);
}

static void stop_while_paused(void **state)
{
	struct fx *f = *state;
	struct events ev = { 0 };
	struct vm *vm = make_vm(f, prog_watch_time(0x1313, 0x4c5), 1,
				on_event, &ev);
	assert_int_equal(vm_start(vm), 0);
	assert_int_equal(vm_pause(vm), 0);
	vm_stop(vm);
	int status = -1;
	vm_wait(vm, &status);
	assert_int_equal(status, 0);
	vm_destroy(vm);
	/* Never started: stop and destroy. */
	struct vm_config c = config(f->img[0], f->null_fd);
	struct err e = { 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), 0);
	vm_stop(vm);
	vm_wait(vm, &status);
	vm_destroy(vm);
}

static void bad_config(void **state)
{
	(void)state;
	struct vm_config c = config("/nonexistent/kernel", 1);
	struct vm *vm = NULL;
	struct err e = { 0 };
	assert_true(vm_create(&c, NULL, NULL, &vm, &e) < 0);
	assert_non_null(strstr(e.msg, "/nonexistent/kernel"));
	c.cpus = 0;
	e = (struct err){ 0 };
	assert_int_equal(vm_create(&c, NULL, NULL, &vm, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "cpus"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(two_vms_in_one_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pause_stops_vcpus_and_clock,
						setup, teardown),
		cmocka_unit_test_setup_teardown(pause_resume_during_smp_work,
						setup, teardown),
		cmocka_unit_test_setup_teardown(dirty_log_reports_guest_stores,
						setup, teardown),
		cmocka_unit_test_setup_teardown(stop_while_paused, setup,
						teardown),
		cmocka_unit_test(bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
