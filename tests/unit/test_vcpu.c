/* One host thread per hart (engine/rv64/cpu_vcpu.c): sticky kicks, WFI
 * and STOPPED sleeps woken by interrupts and HSM starts, remote fences to
 * running and sleeping harts, harts fencing each other at once (no
 * deadlock), exit requests reaching every thread, and AMO / LR-SC
 * atomicity with 4 harts on 4 host threads. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "board/virt/memmap.h"
#include "board/virt/sbi.h"
#include "engine/rv64/hart.h"
#include "hw/clint.h"

#define NHARTS 4
#define RAM_SIZE (1ULL << 20)
#define SPIN_PC  (RV_RAM_BASE + 0x000)  /* j . */
#define WFI_PC   (RV_RAM_BASE + 0x100)  /* 1: wfi; j 1b */
#define ATOM_PC  (RV_RAM_BASE + 0x200)  /* atomic counters, then WFI */
#define FENCE_PC (RV_RAM_BASE + 0x300)  /* 3000 remote fence.i, then WFI */
#define DATA     (RV_RAM_BASE + 0x1000) /* [0] AMO counter, [1] LR/SC */
#define ITERS    102400                 /* of the ATOM_PC loop (lui 25) */
#define FENCES   3000

static const uint32_t spin[] = { 0x0000006f };
static const uint32_t wfi_loop[] = { 0x10500073, 0xffdff06f };
/* a1 = DATA (hart start argument):
 *	lui t1, 25; li t2, 1; addi a2, a1, 8
 * 1:	amoadd.d x0, t2, (a1)
 * 2:	lr.d t3, (a2); addi t3, t3, 1; sc.d t4, t3, (a2); bnez t4, 2b
 *	addi t1, t1, -1; bnez t1, 1b
 * 3:	wfi; j 3b */
static const uint32_t atom[] = {
	0x00019337, 0x00100393, 0x00858613, 0x0075b02f, 0x10063e2f,
	0x001e0e13, 0x19c63eaf, 0xfe0e9ae3, 0xfff30313, 0xfe0314e3,
	0x10500073, 0xffdff06f,
};
/*	li t1, 3000; li a7, RFNC
 * 1:	li a6, 0; li a0, 0; li a1, -1; ecall     (remote fence.i, all)
 *	addi t1, t1, -1; bnez t1, 1b
 * 3:	wfi; j 3b */
static const uint32_t fences[] = {
	0x00001337, 0xbb83031b, 0x524658b7, 0xe438889b, 0x00000813,
	0x00000513, 0xfff00593, 0x00000073, 0xfff30313, 0xfe0316e3,
	0x10500073, 0xffdff06f,
};

struct fixture {
	struct rv_machine m;
	pthread_t tid[NHARTS];
	bool running[NHARTS];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void put(struct rv_machine *m, uint64_t gpa, const void *p, size_t n)
{
	assert_int_equal(gpa_write(&m->mem, gpa, p, n), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_non_null(f);
	struct rv_machine *m = &f->m;
	assert_int_equal(guest_mem_add(&m->mem, RV_RAM_BASE, RAM_SIZE, &e), 0);
	m->nharts = NHARTS;
	m->mtime_epoch_ns = now_ns();
	for (unsigned i = 0; i < NHARTS; i++) {
		m->harts[i] = rv_hart_new(m, i, &e);
		assert_non_null(m->harts[i]);
	}
	assert_int_equal(rv_clint_init(m, RV_CLINT_BASE, &e), 0);
	put(m, SPIN_PC, spin, sizeof(spin));
	put(m, WFI_PC, wfi_loop, sizeof(wfi_loop));
	put(m, ATOM_PC, atom, sizeof(atom));
	put(m, FENCE_PC, fences, sizeof(fences));
	*state = f;
	return 0;
}

static void *thread_main(void *arg)
{
	rv_vcpu_run(arg);
	return NULL;
}

static void start_thread(struct fixture *f, unsigned i)
{
	assert_int_equal(pthread_create(&f->tid[i], NULL, thread_main,
					f->m.harts[i]), 0);
	f->running[i] = true;
}

/* Join hart i's thread after kicking it; fails instead of hanging. */
static void stop_thread(struct fixture *f, unsigned i)
{
	struct timespec ts;
	rv_vcpu_kick(f->m.harts[i]);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	assert_int_equal(pthread_timedjoin_np(f->tid[i], NULL, &ts), 0);
	f->running[i] = false;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 0; i < NHARTS; i++)
		if (f->running[i])
			stop_thread(f, i);
	rv_clint_free(&f->m);
	for (unsigned i = 0; i < NHARTS; i++)
		rv_hart_free(f->m.harts[i]);
	bus_free(&f->m.bus);
	guest_mem_free(&f->m.mem);
	free(f);
	return 0;
}

static uint64_t instret(const struct rv_hart *h)
{
	/* Only for "did it move": instret is written by the hart's thread. */
	return __atomic_load_n(&h->instret, __ATOMIC_RELAXED);
}

/* Wait up to `ms` for hart h to sleep (WFI or STOPPED). */
static bool sleeps_within(const struct rv_hart *h, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		if (__atomic_load_n(&h->sleeping, __ATOMIC_SEQ_CST))
			return true;
		sleep_ms(1);
	}
	return false;
}

/* A kick before the call is consumed by it: rv_vcpu_run returns at once
 * and the next call runs again. */
static void test_kick_sticky(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->m.harts[0];
	rv_hart_reset(h, SPIN_PC, RV_PRIV_M, 0);
	rv_vcpu_kick(h);
	rv_vcpu_run(h);
	assert_int_equal(h->instret, 0);
	assert_int_equal(h->vcpu_kick, 0);

	start_thread(f, 0);
	sleep_ms(20);
	stop_thread(f, 0);
	assert_true(h->instret > 0);
	assert_int_equal(h->pc, SPIN_PC);
}

/* WFI sleeps without running; a raised interrupt wakes it. */
static void test_wfi_wakes_on_irq(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->m.harts[1];
	rv_hart_reset(h, WFI_PC, RV_PRIV_M, 0);
	h->mie = RV_MIP_MSIP;       /* enabled for WFI, mstatus.MIE off */
	start_thread(f, 1);
	assert_true(sleeps_within(h, 2000));
	uint64_t n = instret(h);
	sleep_ms(30);
	assert_int_equal(instret(h), n);       /* asleep: nothing ran */

	/* MSIP stays pending, so WFI no longer waits: the loop runs. */
	rv_hart_set_mip(h, RV_MIP_MSIP, 1);
	uint64_t t0 = now_ns();
	while (instret(h) < n + 1000 && now_ns() - t0 < 5000000000ULL)
		sleep_ms(1);
	assert_true(instret(h) >= n + 1000);
	stop_thread(f, 1);
}

/* A STOPPED hart sleeps; rv_hart_start from another thread starts it on
 * its own thread. */
static void test_stopped_start(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h = f->m.harts[2];
	assert_int_equal(rv_hart_get_state(h), RV_HART_STOPPED);
	start_thread(f, 2);
	assert_true(sleeps_within(h, 2000));
	assert_int_equal(rv_hart_start(h, SPIN_PC, RV_PRIV_M, 0x1234), 0);
	assert_int_equal(rv_hart_start(h, SPIN_PC, RV_PRIV_M, 0),
			 -EALREADY);
	uint64_t t0 = now_ns();
	while (instret(h) < 1000 && now_ns() - t0 < 5000000000ULL)
		sleep_ms(1);
	assert_true(instret(h) >= 1000);
	assert_int_equal(rv_hart_get_state(h), RV_HART_STARTED);
	stop_thread(f, 2);
	assert_int_equal(h->x[11], 0x1234);
	assert_int_equal(h->priv, RV_PRIV_M);
}

/* Remote fences to a running and a sleeping hart come back; the running
 * one served them itself. */
static void test_remote_flush(void **state)
{
	struct fixture *f = *state;
	struct rv_hart *h0 = f->m.harts[0], *h1 = f->m.harts[1];
	rv_hart_reset(h0, SPIN_PC, RV_PRIV_M, 0);
	rv_hart_reset(h1, WFI_PC, RV_PRIV_M, 0);
	start_thread(f, 0);
	start_thread(f, 1);
	assert_true(sleeps_within(h1, 2000));
	for (int i = 0; i < 100; i++)
		rv_harts_flush(&f->m, NULL, 3, RV_REQ_TLB | RV_REQ_CODE);
	assert_true(__atomic_load_n(&h0->ack_seq, __ATOMIC_SEQ_CST) >= 1);
	stop_thread(f, 0);
	stop_thread(f, 1);
	/* Not running: carried out in place, nothing left pending. */
	rv_harts_flush(&f->m, NULL, 3, RV_REQ_TLB);
	assert_int_equal(h0->req, 0);
}

/* An exit request reaches every thread, running or asleep. */
static void test_exit_reaches_all(void **state)
{
	struct fixture *f = *state;
	struct rv_machine *m = &f->m;
	rv_hart_reset(m->harts[0], SPIN_PC, RV_PRIV_M, 0);
	rv_hart_reset(m->harts[1], WFI_PC, RV_PRIV_M, 0);
	for (unsigned i = 0; i < NHARTS; i++)
		start_thread(f, i);
	sleep_ms(20);
	rv_machine_request_exit(m, RV_EXIT_POWEROFF, 0);
	for (unsigned i = 0; i < NHARTS; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		assert_int_equal(pthread_timedjoin_np(f->tid[i], NULL, &ts), 0);
		f->running[i] = false;
	}
	assert_int_equal(m->exit_reason, RV_EXIT_POWEROFF);
}

static bool all_asleep(const struct fixture *f, unsigned ms)
{
	for (unsigned i = 0; i < NHARTS; i++)
		if (!sleeps_within(f->m.harts[i], ms))
			return false;
	return true;
}

/* 4 harts on 4 threads increment one word with amoadd.d and another with
 * an LR/SC loop: no update may be lost. */
static void test_amo_lrsc_atomic(void **state)
{
	struct fixture *f = *state;
	struct rv_machine *m = &f->m;
	for (unsigned i = 0; i < NHARTS; i++) {
		rv_hart_reset(m->harts[i], ATOM_PC, RV_PRIV_M, DATA);
		start_thread(f, i);
	}
	assert_true(all_asleep(f, 60000));
	uint64_t v[2];
	assert_int_equal(gpa_read(&m->mem, DATA, v, sizeof(v)), 0);
	assert_int_equal(v[0], (uint64_t)NHARTS * ITERS);
	assert_int_equal(v[1], (uint64_t)NHARTS * ITERS);
}

/* Every hart fences every other (SBI remote fence.i to all) at the same
 * time: each must serve the others' requests while it waits for its own
 * acknowledgements, or they deadlock. */
static void test_mutual_fences(void **state)
{
	struct fixture *f = *state;
	struct rv_machine *m = &f->m;
	m->sbi = true;
	m->ecall = rv_sbi_ecall;
	for (unsigned i = 0; i < NHARTS; i++) {
		rv_hart_reset(m->harts[i], FENCE_PC, RV_PRIV_S, 0);
		start_thread(f, i);
	}
	assert_true(all_asleep(f, 60000));
	for (unsigned i = 0; i < NHARTS; i++) {
		/* a0 of the last ecall: SBI_SUCCESS; all fences made. */
		assert_int_equal(m->harts[i]->x[10], 0);
		assert_int_equal(m->harts[i]->x[6], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kick_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wfi_wakes_on_irq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stopped_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remote_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exit_reaches_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_amo_lrsc_atomic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mutual_fences, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
