/* CLINT registers (msip, mtimecmp, mtime), MTIP evaluation and the
 * deadline the run loop sleeps on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "hw/clint.h"
#include "board/virt/memmap.h"
#include "engine/rv64/hart.h"

#define NHARTS 2
#define MSIP(h)     (RV_CLINT_BASE + RV_CLINT_MSIP + 4 * (h))
#define MTIMECMP(h) (RV_CLINT_BASE + RV_CLINT_MTIMECMP + 8 * (h))
#define MTIME       (RV_CLINT_BASE + RV_CLINT_MTIME)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int setup(void **state)
{
	struct rv_machine *m = calloc(1, sizeof(*m));
	struct err e = { 0 };
	assert_non_null(m);
	m->nharts = NHARTS;
	m->mtime_epoch_ns = now_ns();
	for (unsigned i = 0; i < NHARTS; i++) {
		m->harts[i] = rv_hart_new(m, i, &e);
		assert_non_null(m->harts[i]);
		m->harts[i]->state = RV_HART_STARTED;
	}
	assert_int_equal(rv_clint_init(m, RV_CLINT_BASE, &e), 0);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	struct rv_machine *m = *state;
	rv_clint_free(m);
	assert_null(m->clint);
	for (unsigned i = 0; i < NHARTS; i++)
		rv_hart_free(m->harts[i]);
	bus_free(&m->bus);
	free(m);
	return 0;
}

static uint64_t rd(struct rv_machine *m, uint64_t addr, unsigned size)
{
	uint64_t v = ~0ULL;
	assert_int_equal(bus_read(&m->bus, addr, size, &v), 0);
	return v;
}

static void wr(struct rv_machine *m, uint64_t addr, unsigned size,
	       uint64_t v)
{
	assert_int_equal(bus_write(&m->bus, addr, size, v), 0);
}

static void test_msip(void **state)
{
	struct rv_machine *m = *state;
	wr(m, MSIP(1), 4, 1);
	assert_true(m->harts[1]->mip & RV_MIP_MSIP);
	assert_false(m->harts[0]->mip & RV_MIP_MSIP);
	assert_int_equal(rd(m, MSIP(1), 4), 1);
	assert_int_equal(rd(m, MSIP(0), 4), 0);
	/* only bit 0 counts */
	wr(m, MSIP(1), 4, 0xfffffffe);
	assert_false(m->harts[1]->mip & RV_MIP_MSIP);
	/* a hart that does not exist: reads 0, writes ignored */
	wr(m, MSIP(5), 4, 1);
	assert_int_equal(rd(m, MSIP(5), 4), 0);
	/* msip is a 32-bit register */
	uint64_t v;
	assert_int_equal(bus_write(&m->bus, MSIP(0), 8, 1), -EINVAL);
	assert_int_equal(bus_read(&m->bus, MSIP(0), 2, &v), -EINVAL);
}

static void test_mtimecmp(void **state)
{
	struct rv_machine *m = *state;
	struct rv_hart *h = m->harts[0];
	/* reset value: never fires */
	assert_int_equal(rd(m, MTIMECMP(0), 8), UINT64_MAX);
	assert_int_equal(rv_clint_mtimecmp(m, 0), UINT64_MAX);
	assert_false(h->mip & RV_MIP_MTIP);

	wr(m, MTIMECMP(0), 8, 0);             /* in the past: fires now */
	assert_true(h->mip & RV_MIP_MTIP);
	assert_false(m->harts[1]->mip & RV_MIP_MTIP);

	/* 4-byte halves, as RV32 firmware writes them */
	wr(m, MTIMECMP(0) + 4, 4, 0x12345678);
	assert_false(h->mip & RV_MIP_MTIP);
	wr(m, MTIMECMP(0), 4, 0x9abcdef0);
	assert_int_equal(rd(m, MTIMECMP(0), 8), 0x123456789abcdef0ULL);
	assert_int_equal(rd(m, MTIMECMP(0) + 4, 4), 0x12345678);
	assert_int_equal(rd(m, MTIMECMP(0), 4), 0x9abcdef0);
	assert_int_equal(rv_clint_mtimecmp(m, 0), 0x123456789abcdef0ULL);

	/* an unknown hart's comparator reads 0 and ignores writes */
	wr(m, MTIMECMP(6), 8, 5);
	assert_int_equal(rd(m, MTIMECMP(6), 8), 0);
	assert_int_equal(rv_clint_mtimecmp(m, 6), UINT64_MAX);
}

static void test_mtime(void **state)
{
	struct rv_machine *m = *state;
	uint64_t a = rd(m, MTIME, 8);
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
	uint64_t b = rd(m, MTIME, 8);
	/* 2 ms = 20000 ticks at 10 MHz */
	assert_true(b >= a + 20000);
	assert_true(b < a + 10 * RV_TIMEBASE_HZ);

	wr(m, MTIME, 8, 1000000000ULL);
	uint64_t c = rd(m, MTIME, 8);
	assert_true(c >= 1000000000ULL);
	assert_true(c < 1000000000ULL + RV_TIMEBASE_HZ);
	assert_int_equal(rd(m, MTIME + 4, 4), c >> 32);

	/* moving mtime past mtimecmp raises MTIP at once */
	wr(m, MTIMECMP(1), 8, 5000000000ULL);
	assert_false(m->harts[1]->mip & RV_MIP_MTIP);
	wr(m, MTIME + 4, 4, 2);                /* mtime ~ 8.6e9 */
	assert_true(rd(m, MTIME, 8) >> 32 == 2);
	assert_true(m->harts[1]->mip & RV_MIP_MTIP);

	/* reserved space reads zero */
	assert_int_equal(rd(m, RV_CLINT_BASE + 0x8000, 4), 0);
}

static void test_update(void **state)
{
	struct rv_machine *m = *state;
	struct rv_hart *h = m->harts[1];
	h->mie = RV_MIP_MTIP;      /* harts are only kicked for enabled bits */
	uint64_t now = rv_mtime(m);
	wr(m, MTIMECMP(1), 8, now + 1000);     /* 100 us ahead */
	assert_false(h->mip & RV_MIP_MTIP);
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
	h->kick = 0;
	rv_clint_update(m);
	assert_true(h->mip & RV_MIP_MTIP);
	assert_true(h->kick);
	/* an unchanged bit does not kick again */
	h->kick = 0;
	rv_clint_update(m);
	assert_true(h->mip & RV_MIP_MTIP);
	assert_false(h->kick);
	assert_false(m->harts[0]->kick && (m->harts[0]->mip & RV_MIP_MTIP));
}

static void test_deadline(void **state)
{
	struct rv_machine *m = *state;
	assert_int_equal(rv_clint_next_deadline(m), UINT64_MAX);

	uint64_t now = rv_mtime(m);
	wr(m, MTIMECMP(1), 8, now + 50 * RV_TIMEBASE_HZ);
	wr(m, MTIMECMP(0), 8, now + 60 * RV_TIMEBASE_HZ);
	assert_int_equal(rv_clint_next_deadline(m),
			 now + 50 * RV_TIMEBASE_HZ);

	/* a stopped hart's timer does not wake anyone */
	m->harts[1]->state = RV_HART_STOPPED;
	assert_int_equal(rv_clint_next_deadline(m),
			 now + 60 * RV_TIMEBASE_HZ);
	m->harts[1]->state = RV_HART_STARTED;

	/* fired and already in mip: not an event any more */
	wr(m, MTIMECMP(1), 8, 0);
	assert_true(m->harts[1]->mip & RV_MIP_MTIP);
	assert_int_equal(rv_clint_next_deadline(m),
			 now + 60 * RV_TIMEBASE_HZ);

	/* due but not yet in mip: "now" */
	m->harts[1]->mip &= ~RV_MIP_MTIP;
	assert_true(rv_clint_next_deadline(m) <= rv_mtime(m));
	wr(m, MTIMECMP(1), 8, UINT64_MAX);

	/* stimecmp counts when ringvm is the SBI firmware ... */
	m->harts[0]->stimecmp = now + 30 * RV_TIMEBASE_HZ;
	assert_int_equal(rv_clint_next_deadline(m),
			 now + 60 * RV_TIMEBASE_HZ);
	m->sbi = true;
	assert_int_equal(rv_clint_next_deadline(m),
			 now + 30 * RV_TIMEBASE_HZ);
	/* ... or when Sstc is enabled */
	m->sbi = false;
	m->harts[0]->menvcfg |= 1ULL << 63;
	assert_int_equal(rv_clint_next_deadline(m),
			 now + 30 * RV_TIMEBASE_HZ);
}

static void test_double_register(void **state)
{
	struct rv_machine *m = *state;
	struct rv_clint *old = m->clint;
	struct err e = { 0 };
	assert_int_equal(rv_clint_init(m, RV_CLINT_BASE, &e), -EINVAL);
	assert_ptr_equal(m->clint, old);
	assert_non_null(strstr(e.msg, "overlaps"));
}

/* Machine reset: msip and MTIP low, every mtimecmp back to "never",
 * mtime still running. */
static void test_reset(void **state)
{
	struct rv_machine *m = *state;
	wr(m, MSIP(0), 4, 1);
	wr(m, MTIMECMP(1), 8, 0);
	rv_clint_update(m);
	assert_true(m->harts[0]->mip & RV_MIP_MSIP);
	assert_true(m->harts[1]->mip & RV_MIP_MTIP);
	uint64_t t0 = rd(m, MTIME, 8);

	rv_clint_reset(m);
	assert_false(m->harts[0]->mip & RV_MIP_MSIP);
	assert_false(m->harts[1]->mip & RV_MIP_MTIP);
	assert_int_equal(rd(m, MSIP(0), 4), 0);
	assert_true(rd(m, MTIMECMP(1), 8) == UINT64_MAX);
	assert_true(rd(m, MTIMECMP(0), 8) == UINT64_MAX);
	rv_clint_update(m);
	assert_false(m->harts[1]->mip & RV_MIP_MTIP);
	assert_true(rd(m, MTIME, 8) >= t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_msip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mtimecmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_register, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
