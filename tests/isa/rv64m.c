/* M extension: mul/mulh/mulhsu/mulhu/mulw, div/divu/rem/remu and their W
 * forms, including division by zero and INT_MIN / -1 (ISA 20191213 §7.2
 * table 7.1: no traps, defined results). */
#include "rt.h"

#define RR(op, a, b) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" \
	: "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })

#define I64_MIN 0x8000000000000000UL
#define I32_MIN_SX 0xffffffff80000000UL

int main(void)
{
	rt_section("mul");
	CHECK_EQ(RR("mul", 3, -7), -21);
	CHECK_EQ(RR("mul", -3, -7), 21);
	CHECK_EQ(RR("mul", I64_MIN, -1), I64_MIN);
	CHECK_EQ(RR("mul", 0x123456789UL, 0x100000000UL), 0x2345678900000000UL);
	CHECK_EQ(RR("mul", 0, -1), 0);

	rt_section("mulh");
	CHECK_EQ(RR("mulh", -1, -1), 0);
	CHECK_EQ(RR("mulh", -1, 1), -1);
	CHECK_EQ(RR("mulh", I64_MIN, I64_MIN), 0x4000000000000000UL);
	CHECK_EQ(RR("mulh", I64_MIN, 0x7fffffffffffffffUL), 0xc000000000000000UL);
	CHECK_EQ(RR("mulh", 1UL << 62, 4), 1);
	CHECK_EQ(RR("mulh", 1UL << 62, -4), -1);
	CHECK_EQ(RR("mulh", 5, 7), 0);

	rt_section("mulhu");
	CHECK_EQ(RR("mulhu", -1, -1), 0xfffffffffffffffeUL);
	CHECK_EQ(RR("mulhu", I64_MIN, 2), 1);
	CHECK_EQ(RR("mulhu", 0x100000000UL, 0x100000000UL), 1);
	CHECK_EQ(RR("mulhu", 5, 7), 0);
	CHECK_EQ(RR("mulhu", -1, 1), 0);

	rt_section("mulhsu");
	/* rs1 signed, rs2 unsigned */
	CHECK_EQ(RR("mulhsu", -1, -1), -1);          /* -(2^64-1) */
	CHECK_EQ(RR("mulhsu", 1, -1), 0);            /* 2^64-1 */
	CHECK_EQ(RR("mulhsu", -2, I64_MIN), -1);     /* -2^64 */
	CHECK_EQ(RR("mulhsu", I64_MIN, -1), 0x8000000000000000UL);
	CHECK_EQ(RR("mulhsu", 2, I64_MIN), 1);
	CHECK_EQ(RR("mulhsu", -1, 1), -1);

	rt_section("mulw");
	CHECK_EQ(RR("mulw", 0x7fffffff, 2), -2);
	CHECK_EQ(RR("mulw", 0x100000003UL, 5), 15);
	CHECK_EQ(RR("mulw", 0x10000, 0x8000), I32_MIN_SX);
	CHECK_EQ(RR("mulw", -1, -1), 1);
	CHECK_EQ(RR("mulw", 0xffffffff00000000UL, 0xffffffffUL), 0);

	rt_section("div/divu");
	CHECK_EQ(RR("div", 7, -2), -3);
	CHECK_EQ(RR("div", -7, 2), -3);
	CHECK_EQ(RR("div", -7, -2), 3);
	CHECK_EQ(RR("div", 42, 0), -1);
	CHECK_EQ(RR("div", 0, 0), -1);
	CHECK_EQ(RR("div", I64_MIN, -1), I64_MIN);
	CHECK_EQ(RR("divu", 7, 2), 3);
	CHECK_EQ(RR("divu", -1, 2), 0x7fffffffffffffffUL);
	CHECK_EQ(RR("divu", 42, 0), 0xffffffffffffffffUL);
	CHECK_EQ(RR("divu", I64_MIN, -1), 0);

	rt_section("rem/remu");
	CHECK_EQ(RR("rem", 7, -2), 1);
	CHECK_EQ(RR("rem", -7, 2), -1);
	CHECK_EQ(RR("rem", -7, -2), -1);
	CHECK_EQ(RR("rem", 42, 0), 42);
	CHECK_EQ(RR("rem", -42, 0), -42);
	CHECK_EQ(RR("rem", I64_MIN, -1), 0);
	CHECK_EQ(RR("remu", 7, 2), 1);
	CHECK_EQ(RR("remu", -1, 10), 5);   /* 18446744073709551615 % 10 */
	CHECK_EQ(RR("remu", 42, 0), 42);
	CHECK_EQ(RR("remu", -1, 0), -1);

	rt_section("divw/divuw");
	CHECK_EQ(RR("divw", 0x100000006UL, 3), 2);   /* low 32 bits only */
	CHECK_EQ(RR("divw", -7, 2), -3);
	CHECK_EQ(RR("divw", 0x80000000UL, -1), I32_MIN_SX);
	CHECK_EQ(RR("divw", 5, 0), -1);
	CHECK_EQ(RR("divw", 5, 0x100000000UL), -1);  /* divisor low 32 = 0 */
	CHECK_EQ(RR("divuw", 0xffffffffUL, 2), 0x7fffffff);
	CHECK_EQ(RR("divuw", 0xfffffffeUL, 1), -2);  /* result sign-extended */
	CHECK_EQ(RR("divuw", 5, 0), -1);
	CHECK_EQ(RR("divuw", 0x80000000UL, -1), 0);

	rt_section("remw/remuw");
	CHECK_EQ(RR("remw", -7, 2), -1);
	CHECK_EQ(RR("remw", 7, -2), 1);
	CHECK_EQ(RR("remw", 0x80000000UL, -1), 0);
	CHECK_EQ(RR("remw", 0x1234567880000005UL, 0), 0xffffffff80000005UL);
	CHECK_EQ(RR("remw", 0x12345678ffffffffUL, 0x100000000UL), -1);
	CHECK_EQ(RR("remuw", 0xffffffffUL, 10), 5);  /* 4294967295 % 10 */
	CHECK_EQ(RR("remuw", 0x80000000UL, 0), I32_MIN_SX);
	CHECK_EQ(RR("remuw", 0x1234567800000007UL, 0), 7);
	CHECK_EQ(RR("remuw", 0x80000001UL, 0x80000000UL), 1);

	return rt_result();
}
