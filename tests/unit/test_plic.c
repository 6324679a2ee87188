/* PLIC: gateway (level) semantics, claim/complete, priorities, threshold,
 * M vs S contexts and reserved/invalid accesses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/rv64/hart.h"
#include "hw/plic.h"
#include "board/virt/memmap.h"

#define NHARTS 2
#define PRIO(s)    (RV_PLIC_BASE + RV_PLIC_PRIORITY + 4 * (s))
#define PENDING    (RV_PLIC_BASE + RV_PLIC_PENDING)
#define ENABLE(c)  (RV_PLIC_BASE + RV_PLIC_ENABLE + RV_PLIC_ENABLE_STRIDE * (c))
#define THRESH(c)  (RV_PLIC_BASE + RV_PLIC_CONTEXT + \
		    RV_PLIC_CONTEXT_STRIDE * (c))
#define CLAIM(c)   (THRESH(c) + 4)
/* contexts */
#define M0 0
#define S0 1
#define M1 2
#define S1 3

struct fixture {
	struct rv_machine m;
	struct irq_line line[RV_PLIC_NDEV + 1];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_non_null(f);
	f->m.nharts = NHARTS;
	for (unsigned i = 0; i < NHARTS; i++) {
		f->m.harts[i] = rv_hart_new(&f->m, i, &e);
		assert_non_null(f->m.harts[i]);
	}
	assert_int_equal(rv_plic_init(&f->m, RV_PLIC_BASE, &e), 0);
	for (unsigned s = 1; s <= RV_PLIC_NDEV; s++)
		f->line[s] = rv_plic_irq(&f->m, s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rv_plic_free(&f->m);
	assert_null(f->m.plic);
	for (unsigned i = 0; i < NHARTS; i++)
		rv_hart_free(f->m.harts[i]);
	bus_free(&f->m.bus);
	free(f);
	return 0;
}

static uint32_t rd(struct fixture *f, uint64_t addr)
{
	uint64_t v = ~0ULL;
	assert_int_equal(bus_read(&f->m.bus, addr, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fixture *f, uint64_t addr, uint32_t v)
{
	assert_int_equal(bus_write(&f->m.bus, addr, 4, v), 0);
}

static uint64_t mip(struct fixture *f, unsigned hart)
{
	return f->m.harts[hart]->mip & (RV_MIP_MEIP | RV_MIP_SEIP);
}

static void test_claim_complete(void **state)
{
	struct fixture *f = *state;
	wr(f, PRIO(3), 1);
	wr(f, ENABLE(S0), 1u << 3);
	assert_int_equal(mip(f, 0), 0);

	irq_set_level(&f->line[3], 1);
	assert_int_equal(rd(f, PENDING), 1u << 3);
	assert_int_equal(mip(f, 0), RV_MIP_SEIP);
	assert_int_equal(mip(f, 1), 0);

	assert_int_equal(rd(f, CLAIM(S0)), 3);
	assert_int_equal(rd(f, PENDING), 0);
	assert_int_equal(mip(f, 0), 0);
	assert_int_equal(rd(f, CLAIM(S0)), 0);     /* nothing left */

	irq_set_level(&f->line[3], 0);
	wr(f, CLAIM(S0), 3);
	assert_int_equal(rd(f, PENDING), 0);
	assert_int_equal(mip(f, 0), 0);
}

static void test_level_repend(void **state)
{
	struct fixture *f = *state;
	wr(f, PRIO(7), 2);
	wr(f, ENABLE(S0), 1u << 7);
	irq_set_level(&f->line[7], 1);
	assert_int_equal(rd(f, CLAIM(S0)), 7);

	/* raised again while claimed: held back by the gateway */
	irq_set_level(&f->line[7], 1);
	assert_int_equal(rd(f, PENDING), 0);
	assert_int_equal(mip(f, 0), 0);

	/* still high at completion: pending again */
	wr(f, CLAIM(S0), 7);
	assert_int_equal(rd(f, PENDING), 1u << 7);
	assert_int_equal(mip(f, 0), RV_MIP_SEIP);

	/* a device that drops its line withdraws the request */
	irq_set_level(&f->line[7], 0);
	assert_int_equal(rd(f, PENDING), 0);
	assert_int_equal(mip(f, 0), 0);
	assert_int_equal(rd(f, CLAIM(S0)), 0);
}

static void test_priorities(void **state)
{
	struct fixture *f = *state;
	wr(f, PRIO(2), 1);
	wr(f, PRIO(5), 3);
	wr(f, PRIO(4), 2);
	wr(f, PRIO(6), 2);
	wr(f, PRIO(9), 0);                 /* priority 0: never */
	wr(f, ENABLE(S0), (1u << 2) | (1u << 4) | (1u << 5) | (1u << 6) |
	   (1u << 9));
	for (unsigned s = 2; s <= 9; s++)
		irq_set_level(&f->line[s], 1);

	assert_int_equal(rd(f, CLAIM(S0)), 5);
	assert_int_equal(rd(f, CLAIM(S0)), 4);   /* tie: lowest id */
	assert_int_equal(rd(f, CLAIM(S0)), 6);
	assert_int_equal(rd(f, CLAIM(S0)), 2);
	assert_int_equal(rd(f, CLAIM(S0)), 0);
	assert_int_equal(mip(f, 0), 0);

	/* priority registers are 3 bits wide (WARL) */
	wr(f, PRIO(2), 0xf);
	assert_int_equal(rd(f, PRIO(2)), 7);
}

static void test_threshold(void **state)
{
	struct fixture *f = *state;
	wr(f, PRIO(1), 3);
	wr(f, ENABLE(S0), 1u << 1);
	wr(f, THRESH(S0), 3);
	irq_set_level(&f->line[1], 1);
	/* needs priority strictly above the threshold */
	assert_int_equal(mip(f, 0), 0);
	assert_int_equal(rd(f, CLAIM(S0)), 0);
	assert_int_equal(rd(f, PENDING), 1u << 1);

	wr(f, THRESH(S0), 2);
	assert_int_equal(rd(f, THRESH(S0)), 2);
	assert_int_equal(mip(f, 0), RV_MIP_SEIP);
	wr(f, THRESH(S0), 0xff);
	assert_int_equal(rd(f, THRESH(S0)), 7);
	assert_int_equal(mip(f, 0), 0);
}

static void test_contexts(void **state)
{
	struct fixture *f = *state;
	wr(f, PRIO(10), 1);
	wr(f, PRIO(11), 1);
	wr(f, ENABLE(M0), 1u << 10);
	wr(f, ENABLE(S1), 1u << 11);

	irq_set_level(&f->line[10], 1);
	assert_int_equal(mip(f, 0), RV_MIP_MEIP);
	assert_int_equal(mip(f, 1), 0);
	irq_set_level(&f->line[11], 1);
	assert_int_equal(mip(f, 1), RV_MIP_SEIP);

	/* a context can only claim what it has enabled */
	assert_int_equal(rd(f, CLAIM(S0)), 0);
	assert_int_equal(rd(f, CLAIM(M1)), 0);
	assert_int_equal(rd(f, CLAIM(S1)), 11);
	assert_int_equal(rd(f, CLAIM(M0)), 10);
	assert_int_equal(mip(f, 0), 0);
	assert_int_equal(mip(f, 1), 0);

	/* completing an id not enabled for the context is ignored */
	wr(f, CLAIM(S0), 10);
	assert_int_equal(rd(f, PENDING), 0);
	wr(f, CLAIM(M0), 10);
	assert_int_equal(rd(f, PENDING), 1u << 10);   /* line still high */
	assert_int_equal(mip(f, 0), RV_MIP_MEIP);

	/* enabling in both contexts raises both */
	wr(f, ENABLE(S0), 1u << 10);
	assert_int_equal(mip(f, 0), RV_MIP_MEIP | RV_MIP_SEIP);
	assert_int_equal(rd(f, ENABLE(S0)), 1u << 10);
}

static void test_bad_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t v;
	/* only aligned 32-bit accesses */
	assert_int_equal(bus_read(&f->m.bus, PRIO(1), 8, &v), -EINVAL);
	assert_int_equal(bus_read(&f->m.bus, PRIO(1), 1, &v), -EINVAL);
	assert_int_equal(bus_write(&f->m.bus, PRIO(1) + 2, 4, 1), -EINVAL);
	assert_int_equal(bus_read(&f->m.bus, RV_PLIC_BASE + RV_PLIC_SIZE, 4,
				  &v), -ENODEV);

	/* source 0 and sources beyond ndev do not exist */
	wr(f, PRIO(0), 7);
	assert_int_equal(rd(f, PRIO(0)), 0);
	wr(f, PRIO(RV_PLIC_NDEV + 1), 7);
	assert_int_equal(rd(f, PRIO(RV_PLIC_NDEV + 1)), 0);
	wr(f, ENABLE(S0), 0xffffffff);
	assert_int_equal(rd(f, ENABLE(S0)), 0xfffffffe);
	/* pending is read-only */
	wr(f, PENDING, 0xffffffff);
	assert_int_equal(rd(f, PENDING), 0);
	assert_int_equal(rd(f, PENDING + 4), 0);
	/* contexts beyond 2 * nharts */
	wr(f, ENABLE(4), 0xffffffff);
	assert_int_equal(rd(f, ENABLE(4)), 0);
	wr(f, THRESH(4), 1);
	assert_int_equal(rd(f, THRESH(4)), 0);
	assert_int_equal(rd(f, CLAIM(4)), 0);
	assert_int_equal(rd(f, ENABLE(S0) + 4), 0);
	assert_int_equal(rd(f, THRESH(S0) + 8), 0);
	assert_int_equal(rd(f, RV_PLIC_BASE + 0x1f0000), 0);
	/* bogus completions */
	wr(f, CLAIM(S0), 0);
	wr(f, CLAIM(S0), 1000);
	wr(f, CLAIM(S0), 0xffffffff);

	/* lines outside 1..ndev have no backend */
	struct irq_line l0 = rv_plic_irq(&f->m, 0);
	struct irq_line big = rv_plic_irq(&f->m, RV_PLIC_NDEV + 1);
	assert_null(l0.set_level);
	assert_null(big.set_level);
	irq_set_level(&l0, 1);
	irq_set_level(&big, 1);
	assert_int_equal(rd(f, PENDING), 0);
}

static void test_init_errors(void **state)
{
	struct rv_machine m = { 0 };
	struct err e = { 0 };
	assert_int_equal(rv_plic_init(&m, RV_PLIC_BASE, &e), -EINVAL);
	assert_null(m.plic);
	struct irq_line l = rv_plic_irq(&m, 1);
	assert_null(l.set_level);
}

/* Machine reset: configuration and in-flight claims are gone, the
 * contexts' outputs lowered; a line still high is seen again once the
 * guest re-enables it. */
static void test_reset(void **state)
{
	struct fixture *f = *state;
	wr(f, PRIO(5), 3);
	wr(f, PRIO(6), 2);
	wr(f, ENABLE(M0), (1u << 5) | (1u << 6));
	wr(f, ENABLE(S1), 1u << 6);
	wr(f, THRESH(S1), 1);
	irq_set_level(&f->line[5], 1);
	irq_set_level(&f->line[6], 1);
	assert_int_equal(rd(f, CLAIM(M0)), 5);   /* 5 claimed, not completed */
	assert_true(mip(f, 0) & RV_MIP_MEIP);
	assert_true(mip(f, 1) & RV_MIP_SEIP);

	irq_set_level(&f->line[5], 0);
	rv_plic_reset(&f->m);
	assert_int_equal(mip(f, 0), 0);
	assert_int_equal(mip(f, 1), 0);
	assert_int_equal(rd(f, PRIO(5)), 0);
	assert_int_equal(rd(f, PRIO(6)), 0);
	assert_int_equal(rd(f, ENABLE(M0)), 0);
	assert_int_equal(rd(f, ENABLE(S1)), 0);
	assert_int_equal(rd(f, THRESH(S1)), 0);
	assert_int_equal(rd(f, CLAIM(M0)), 0);

	/* Source 5 is not stuck "claimed": a new request is delivered. */
	wr(f, PRIO(5), 1);
	wr(f, ENABLE(M0), 1u << 5);
	irq_set_level(&f->line[5], 1);
	assert_true(mip(f, 0) & RV_MIP_MEIP);
	assert_int_equal(rd(f, CLAIM(M0)), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_complete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_level_repend, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_priorities, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threshold, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_accesses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test(test_init_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
