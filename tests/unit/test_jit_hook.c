/* The interpreter's side of the JIT contract (engine/rv64/jit/jit.h),
 * with C functions standing in for translated code: code that executed a
 * prefix hands the rest of the block to the interpreter; jit-verify
 * accepts a faithful translation, undoes its stores and redoes them
 * through the interpreter, and stops the machine with an error for a
 * wrong register, a wrong stored value or an op index past the block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "board/virt/memmap.h"
#include "engine/rv64/cpu_internal.h"
#include "rv_asm.h"

#define RAM_SIZE (4ULL << 20)
#define DATA (RV_RAM_BASE + 0x10000)

struct fixture {
	struct rv_machine m;
	struct rv_hart *h;
	uint64_t *data;          /* host view of DATA */
};

/* What the stand-in translations do (they cannot take a context). */
static enum { GOOD, WRONG_REG, WRONG_STORE, PAST_END } behaviour;
static unsigned calls;

/* The block at RV_RAM_BASE: addi a0,x0,5; addi a1,a0,1; sd a1,0(a2); j . */
static unsigned fake_code(uint64_t *x, uint64_t pc, const struct rv_tlb *ltlb,
			  const struct rv_tlb *stlb, struct rv_hart *h)
{
	(void)pc;
	(void)ltlb;
	(void)stlb;
	calls++;
	x[A0] = behaviour == WRONG_REG ? 4 : 5;
	x[A1] = 6;
	uint8_t *host = gpa_ptr(&h->m->mem, x[A2], 8);
	if (rv_cpu(h)->jit->mode == RV_ACCEL_JIT_VERIFY)
		rv_jit_vlog_store(h, host, 8);
	uint64_t v = behaviour == WRONG_STORE ? 7 : 6;
	memcpy(host, &v, 8);
	return behaviour == PAST_END ? 4 : 3;
}

static struct fixture *make(enum rv_accel mode)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_non_null(f);
	assert_int_equal(guest_mem_add(&f->m.mem, RV_RAM_BASE, RAM_SIZE, &e), 0);
	f->m.accel = mode;
	f->h = rv_hart_new(&f->m, 0, &e);
	assert_non_null(f->h);
	f->m.harts[0] = f->h;
	f->m.nharts = 1;

	struct prog p = { .n = 0 };
	addi(&p, A0, ZERO, 5);
	addi(&p, A1, A0, 1);
	store(&p, 3, A1, A2);               /* sd a1, 0(a2) */
	emit(&p, 0x0000006f);               /* j . */
	memcpy(gpa_ptr(&f->m.mem, RV_RAM_BASE, p.n * 4), p.w, p.n * 4);
	f->data = gpa_ptr(&f->m.mem, DATA, 8);
	*f->data = 0x1111;

	rv_hart_reset(f->h, RV_RAM_BASE, RV_PRIV_M, 0);
	rv_hart_set_state(f->h, RV_HART_STARTED);
	f->h->x[A2] = DATA;
	/* Decode the block, then give it the stand-in code. */
	struct rv_block *b = rv_block_lookup(f->h, RV_RAM_BASE);
	assert_non_null(b);
	assert_int_equal(b->nops, 4);
	b->jit = fake_code;
	calls = 0;
	return f;
}

static void destroy(struct fixture *f)
{
	rv_hart_free(f->h);
	guest_mem_free(&f->m.mem);
	free(f);
}

static void run(struct fixture *f)
{
	rv_hart_run(f->h, 50);
}

static void code_then_interpreter(void **state)
{
	(void)state;
	behaviour = GOOD;
	struct fixture *f = make(RV_ACCEL_JIT);
	run(f);
	assert_int_equal(calls, 1);
	assert_int_equal(f->h->x[A0], 5);
	assert_int_equal(f->h->x[A1], 6);
	assert_int_equal(*f->data, 6);
	/* The interpreter took over at the j: the hart spins there. */
	assert_int_equal(f->h->pc, RV_RAM_BASE + 12);
	assert_int_equal(f->m.exit_reason, RV_EXIT_NONE);
	destroy(f);
}

static void verify_accepts_faithful_code(void **state)
{
	(void)state;
	behaviour = GOOD;
	struct fixture *f = make(RV_ACCEL_JIT_VERIFY);
	run(f);
	assert_int_equal(calls, 1);
	/* This block once, then the "j ." block (translated: a lone
	 * terminator) at every turn of the spin. */
	assert_true(rv_cpu(f->h)->jit->verified >= 2);
	assert_int_equal(f->h->x[A1], 6);
	assert_int_equal(*f->data, 6);
	assert_int_equal(f->m.exit_reason, RV_EXIT_NONE);
	/* The stop mark is gone: the block's ops are the interpreter's. */
	struct rv_block *b = rv_block_lookup(f->h, RV_RAM_BASE);
	assert_ptr_equal(b->ops[3].h, rv_cpu(f->h)->labels[RV_OP_J]);
	destroy(f);
}

static void verify_catches(int what)
{
	behaviour = what;
	struct fixture *f = make(RV_ACCEL_JIT_VERIFY);
	run(f);
	assert_int_equal(calls, 1);
	assert_int_equal(f->m.exit_reason, RV_EXIT_ERROR);
	/* Stopped at the block, not past it. */
	assert_int_equal(f->h->pc, what == PAST_END ? RV_RAM_BASE :
			 RV_RAM_BASE + 12);
	destroy(f);
}

static void verify_catches_wrong_register(void **state)
{
	(void)state;
	verify_catches(WRONG_REG);
}

static void verify_catches_wrong_store(void **state)
{
	(void)state;
	verify_catches(WRONG_STORE);
}

static void verify_catches_index_past_block(void **state)
{
	(void)state;
	verify_catches(PAST_END);
}

static void verify_undoes_stores(void **state)
{
	(void)state;
	/* After the code ran and was undone, the interpreter's replay sees
	 * the old memory: with a wrong store the final memory is the
	 * interpreter's value, not the code's. */
	behaviour = WRONG_STORE;
	struct fixture *f = make(RV_ACCEL_JIT_VERIFY);
	run(f);
	assert_int_equal(*f->data, 6);
	destroy(f);
}

static void accel_parse(void **state)
{
	(void)state;
	enum rv_accel a;
	size_t tb;
	assert_int_equal(rv_accel_parse("interp", &a, &tb), 0);
	assert_int_equal(a, RV_ACCEL_INTERP);
	assert_int_equal(tb, 0);
	assert_int_equal(rv_accel_parse("jit", &a, &tb), 0);
	assert_int_equal(a, RV_ACCEL_JIT);
	assert_int_equal(rv_accel_parse("jit-verify,tb-size=2", &a, &tb), 0);
	assert_int_equal(a, RV_ACCEL_JIT_VERIFY);
	assert_int_equal(tb, 2u << 20);
	const char *bad[] = { "", "jitx", "ji", "interp,tb-size=1", "jit,",
			      "jit,tb-size=", "jit,tb-size=0", "jit,tb-size=-1",
			      "jit,tb-size=2049", "jit,tb-size=1x", "jit,size=1",
			      "jit-verify,tb-size=99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rv_accel_parse(bad[i], &a, &tb), -EINVAL);
	assert_string_equal(rv_accel_name(RV_ACCEL_JIT_VERIFY), "jit-verify");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(code_then_interpreter),
		cmocka_unit_test(verify_accepts_faithful_code),
		cmocka_unit_test(verify_catches_wrong_register),
		cmocka_unit_test(verify_catches_wrong_store),
		cmocka_unit_test(verify_catches_index_past_block),
		cmocka_unit_test(verify_undoes_stores),
		cmocka_unit_test(accel_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
