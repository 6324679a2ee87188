/* A extension: lr/sc success and failure (no reservation, different
 * address), every amo*.w/.d with the old value returned (sign-extended for
 * .w), signed vs unsigned min/max, aq/rl encodings.  Misaligned AMO/LR/SC
 * are in traps.c. */
#include "rt.h"

static volatile u64 cell[2] __attribute__((aligned(16)));
static volatile u64 far_cell[1024] __attribute__((aligned(4096)));

#define AMO(op, addr, v) ({ u64 _r; __asm__ volatile(op " %0, %2, (%1)" \
	: "=&r"(_r) : "r"(addr), "r"((u64)(v)) : "memory"); _r; })

/* Run an AMO on cell[0] = init with operand v: returns old, sets *mem. */
#define AMO_D(op, init, v, old, newv) do { \
	cell[0] = (init); cell[1] = 0x5a5a5a5a5a5a5a5aUL; \
	CHECK_EQ(AMO(op, &cell[0], v), old); \
	CHECK_EQ(cell[0], newv); \
	CHECK_EQ(cell[1], 0x5a5a5a5a5a5a5a5aUL); } while (0)
/* .w on the low word of cell[0]; the high word must stay untouched. */
#define AMO_W(op, init, v, old, newv) do { \
	cell[0] = 0xa5a5a5a500000000UL | (u32)(init); \
	CHECK_EQ(AMO(op, &cell[0], v), old); \
	CHECK_EQ(cell[0], 0xa5a5a5a500000000UL | (u32)(newv)); } while (0)

static void t_lrsc(void)
{
	u64 v, rc;
	volatile u64 *c = &cell[0];

	rt_section("lr.d/sc.d");
	*c = 0x1111222233334444UL;
	__asm__ volatile("lr.d %0, (%2)\n\tsc.d %1, %3, (%2)"
			 : "=&r"(v), "=&r"(rc) : "r"(c), "r"(0x5555UL) : "memory");
	CHECK_EQ(v, 0x1111222233334444UL);
	CHECK_EQ(rc, 0);
	CHECK_EQ(*c, 0x5555);
	/* the reservation is gone after a successful sc */
	__asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(rc) : "r"(c), "r"(0x6666UL) : "memory");
	CHECK(rc != 0);
	CHECK_EQ(*c, 0x5555);
	/* sc to a different address (another page) than the lr fails */
	far_cell[0] = 7;
	__asm__ volatile("lr.d %0, (%2)\n\tsc.d %1, %4, (%3)"
			 : "=&r"(v), "=&r"(rc) : "r"(c), "r"(&far_cell[0]), "r"(9UL)
			 : "memory");
	CHECK(rc != 0);
	CHECK_EQ(far_cell[0], 7);
	CHECK_EQ(*c, 0x5555);
	/* a loop built on lr/sc works (retry until success) */
	*c = 10;
	__asm__ volatile("1: lr.d.aq %0, (%1)\n\taddi %0, %0, 5\n\t"
			 "sc.d.rl %0, %0, (%1)\n\tbnez %0, 1b"
			 : "=&r"(v) : "r"(c) : "memory");
	CHECK_EQ(*c, 15);

	rt_section("lr.w/sc.w");
	*c = 0x12345678fedcba98UL;
	__asm__ volatile("lr.w %0, (%2)\n\tsc.w %1, %3, (%2)"
			 : "=&r"(v), "=&r"(rc) : "r"(c), "r"(0xaabbccdd00000042UL)
			 : "memory");
	CHECK_EQ(v, 0xfffffffffedcba98UL);   /* sign-extended */
	CHECK_EQ(rc, 0);
	CHECK_EQ(*c, 0x1234567800000042UL);  /* only 32 bits stored */
	__asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(rc) : "r"(c), "r"(1UL) : "memory");
	CHECK(rc != 0);
	CHECK_EQ(*c, 0x1234567800000042UL);
	__asm__ volatile("lr.w.aqrl %0, (%2)\n\tsc.w.aqrl %1, %4, (%3)"
			 : "=&r"(v), "=&r"(rc) : "r"(c), "r"(&far_cell[0]), "r"(9UL)
			 : "memory");
	CHECK(rc != 0);
	CHECK_EQ(far_cell[0], 7);
	/* lr.w on the upper word */
	__asm__ volatile("lr.w %0, (%1)" : "=&r"(v) : "r"((u8 *)c + 4) : "memory");
	CHECK_EQ(v, 0x12345678);
	__asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(rc) : "r"((u8 *)c + 4),
			 "r"(0x87654321UL) : "memory");
	CHECK_EQ(rc, 0);
	CHECK_EQ(*c, 0x8765432100000042UL);
}

static void t_amo_d(void)
{
	rt_section("amo*.d");
	AMO_D("amoswap.d", 0x1122334455667788UL, 0xdeadbeefcafef00dUL,
	      0x1122334455667788UL, 0xdeadbeefcafef00dUL);
	AMO_D("amoadd.d", 0xffffffffffffffffUL, 2, 0xffffffffffffffffUL, 1);
	AMO_D("amoand.d", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL,
	      0xff00ff00ff00ff00UL, 0x0f000f000f000f00UL);
	AMO_D("amoor.d", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL,
	      0xff00ff00ff00ff00UL, 0xfff0fff0fff0fff0UL);
	AMO_D("amoxor.d", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL,
	      0xff00ff00ff00ff00UL, 0xf0f0f0f0f0f0f0f0UL);
	AMO_D("amomax.d", -5, 3, -5, 3);
	AMO_D("amomax.d", 3, -5, 3, 3);
	AMO_D("amomaxu.d", -5, 3, -5, -5);
	AMO_D("amomaxu.d", 3, -5, 3, -5);
	AMO_D("amomin.d", -5, 3, -5, -5);
	AMO_D("amomin.d", 3, -5, 3, -5);
	AMO_D("amominu.d", -5, 3, -5, 3);
	AMO_D("amominu.d", 3, -5, 3, 3);
	AMO_D("amomin.d", 0x8000000000000000UL, 0x7fffffffffffffffUL,
	      0x8000000000000000UL, 0x8000000000000000UL);
	AMO_D("amomaxu.d", 0x8000000000000000UL, 0x7fffffffffffffffUL,
	      0x8000000000000000UL, 0x8000000000000000UL);
	AMO_D("amoadd.d.aq", 40, 2, 40, 42);
	AMO_D("amoswap.d.rl", 1, 2, 1, 2);
	AMO_D("amoor.d.aqrl", 1, 2, 1, 3);
	/* rd = x0 still performs the operation */
	cell[0] = 5;
	__asm__ volatile("amoadd.d x0, %1, (%0)" :: "r"(&cell[0]), "r"(3UL) : "memory");
	CHECK_EQ(cell[0], 8);
}

static void t_amo_w(void)
{
	rt_section("amo*.w");
	AMO_W("amoswap.w", 0x80000000, 0x1234567812345678UL,
	      0xffffffff80000000UL, 0x12345678);
	AMO_W("amoadd.w", 0x7fffffff, 1, 0x7fffffff, 0x80000000);
	AMO_W("amoadd.w", 0xffffffff, 1, -1, 0);   /* no carry into the high word */
	AMO_W("amoand.w", 0xf0f0f0f0, 0xff00ff00, 0xfffffffff0f0f0f0UL, 0xf000f000);
	AMO_W("amoor.w", 0x0f0f0f0f, 0x80000000, 0x0f0f0f0f, 0x8f0f0f0f);
	AMO_W("amoxor.w", 0xffffffff, 0x0000ffff, -1, 0xffff0000);
	/* signed: 0xffffffff = -1 < 1; unsigned: 0xffffffff > 1 */
	AMO_W("amomax.w", 0xffffffff, 1, -1, 1);
	AMO_W("amomaxu.w", 0xffffffff, 1, -1, 0xffffffff);
	AMO_W("amomin.w", 0xffffffff, 1, -1, 0xffffffff);
	AMO_W("amominu.w", 0xffffffff, 1, -1, 1);
	AMO_W("amomax.w", 1, 0xffffffff, 1, 1);
	AMO_W("amominu.w", 1, 0xffffffff, 1, 1);
	/* only the low 32 bits of rs2 take part */
	AMO_W("amomax.w", 5, 0x100000000UL, 5, 5);
	AMO_W("amomin.w", 5, 0x1ffffffffUL, 5, 0xffffffff);
	AMO_W("amomin.w", 0x80000000, 0x7fffffff, 0xffffffff80000000UL, 0x80000000);
	AMO_W("amomaxu.w", 0x80000000, 0x7fffffff, 0xffffffff80000000UL, 0x80000000);
	AMO_W("amoadd.w.aqrl", 1, 2, 1, 3);
	/* .w on the upper half of a doubleword */
	cell[0] = 0x8000000011111111UL;
	CHECK_EQ(AMO("amoadd.w", (u8 *)&cell[0] + 4, 1), 0xffffffff80000000UL);
	CHECK_EQ(cell[0], 0x8000000111111111UL);
}

int main(void)
{
	t_lrsc();
	t_amo_d();
	t_amo_w();
	return rt_result();
}
