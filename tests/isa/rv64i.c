/* RV64I: every base instruction, W forms, shift edge amounts, load sign
 * extension, lui/auipc, branches taken and not taken, jal/jalr (jalr clears
 * bit 0, rd == rs1), writes to x0 discarded. */
#include "rt.h"

#define RR(op, a, b) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" \
	: "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define RI(op, a, imm) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" \
	: "=r"(_r) : "r"((u64)(a)), "i"(imm)); _r; })
/* 1 if the branch is taken, forward target */
#define BR(op, a, b) ({ u64 _t; __asm__ volatile( \
	op " %1, %2, 1f\n\tli %0, 0\n\tj 2f\n1:\tli %0, 1\n2:" \
	: "=&r"(_t) : "r"((u64)(a)), "r"((u64)(b))); _t; })
/* 1 if the branch is taken, backward target */
#define BRB(op, a, b) ({ u64 _t; __asm__ volatile( \
	"j 3f\n1:\tli %0, 1\n\tj 2f\n3:\t" op " %1, %2, 1b\n\tli %0, 0\n2:" \
	: "=&r"(_t) : "r"((u64)(a)), "r"((u64)(b))); _t; })

static volatile u64 mem[4] __attribute__((aligned(16)));

static void t_arith(void)
{
	rt_section("add/sub");
	CHECK_EQ(RR("add", 1, 2), 3);
	CHECK_EQ(RR("add", 0x7fffffffffffffffUL, 1), 0x8000000000000000UL);
	CHECK_EQ(RR("add", -1, -1), -2);
	CHECK_EQ(RR("sub", 1, 2), -1);
	CHECK_EQ(RR("sub", 0x8000000000000000UL, 1), 0x7fffffffffffffffUL);
	CHECK_EQ(RI("addi", 5, -6), -1);
	CHECK_EQ(RI("addi", 0, 2047), 2047);
	CHECK_EQ(RI("addi", 0, -2048), -2048);

	rt_section("addw/subw/addiw");
	CHECK_EQ(RR("addw", 0x7fffffff, 1), 0xffffffff80000000UL);
	CHECK_EQ(RR("addw", 0x1234567800000001UL, 0x1), 2);
	CHECK_EQ(RR("addw", 0xffffffffUL, 1), 0);
	CHECK_EQ(RR("subw", 0, 1), -1);
	CHECK_EQ(RR("subw", 0x80000000UL, 1), 0x7fffffff);
	CHECK_EQ(RR("subw", 0xaaaaaaaa00000000UL, 0), 0);
	CHECK_EQ(RI("addiw", 0x7fffffff, 1), 0xffffffff80000000UL);
	CHECK_EQ(RI("addiw", 0xffffffff00000005UL, -6), -1);
	CHECK_EQ(RI("addiw", 0x00000000ffffffffUL, 0), -1);  /* sext.w */
	CHECK_EQ(RI("addiw", 0x123456780000007fUL, 0), 0x7f);

	rt_section("logic");
	CHECK_EQ(RR("and", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0x0f000f000f000f00UL);
	CHECK_EQ(RR("or", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xfff0fff0fff0fff0UL);
	CHECK_EQ(RR("xor", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0xf0f0f0f0f0f0f0f0UL);
	CHECK_EQ(RI("andi", 0x123456789abcdef0UL, -1), 0x123456789abcdef0UL);
	CHECK_EQ(RI("andi", 0x123456789abcdef0UL, 0x7f0), 0x6f0);
	CHECK_EQ(RI("andi", 0xffffffffffffffffUL, -2048), 0xfffffffffffff800UL);
	CHECK_EQ(RI("ori", 0, -2048), 0xfffffffffffff800UL);
	CHECK_EQ(RI("ori", 0x1000, 0x0ff), 0x10ff);
	CHECK_EQ(RI("xori", 0x00ff, -1), 0xffffffffffffff00UL);  /* not */
	CHECK_EQ(RI("xori", 0x0f0f, 0x0ff), 0x0ff0);

	rt_section("compare");
	CHECK_EQ(RR("slt", -1, 1), 1);
	CHECK_EQ(RR("slt", 1, -1), 0);
	CHECK_EQ(RR("slt", 5, 5), 0);
	CHECK_EQ(RR("sltu", -1, 1), 0);
	CHECK_EQ(RR("sltu", 1, -1), 1);
	CHECK_EQ(RR("sltu", 0, 0), 0);
	CHECK_EQ(RI("slti", -5, -4), 1);
	CHECK_EQ(RI("slti", 0x8000000000000000UL, 0), 1);
	CHECK_EQ(RI("slti", 0x7fffffffffffffffUL, -1), 0);
	CHECK_EQ(RI("sltiu", 0, 1), 1);        /* seqz */
	CHECK_EQ(RI("sltiu", 5, 1), 0);
	/* the immediate is sign extended, then compared unsigned */
	CHECK_EQ(RI("sltiu", 0xfffffffffffffff0UL, -1), 1);
	CHECK_EQ(RI("sltiu", 0xffffffffffffffffUL, -1), 0);
	CHECK_EQ(RR("sltu", 0, 7), 1);         /* snez */
}

static void t_shifts(void)
{
	const u64 v = 0x8000000180000001UL;

	rt_section("sll/srl/sra");
	CHECK_EQ(RR("sll", v, 0), v);
	CHECK_EQ(RR("sll", v, 31), 0xc000000080000000UL);
	CHECK_EQ(RR("sll", v, 32), 0x8000000100000000UL);
	CHECK_EQ(RR("sll", v, 63), 0x8000000000000000UL);
	CHECK_EQ(RR("sll", 1, 64 + 3), 8);           /* only rs2[5:0] */
	CHECK_EQ(RR("srl", v, 0), v);
	CHECK_EQ(RR("srl", v, 31), 0x0000000100000003UL);
	CHECK_EQ(RR("srl", v, 32), 0x0000000080000001UL);
	CHECK_EQ(RR("srl", v, 63), 1);
	CHECK_EQ(RR("srl", v, -1), 1);               /* 63 */
	CHECK_EQ(RR("sra", v, 0), v);
	CHECK_EQ(RR("sra", v, 31), 0xffffffff00000003UL);
	CHECK_EQ(RR("sra", v, 32), 0xffffffff80000001UL);
	CHECK_EQ(RR("sra", v, 63), -1);
	CHECK_EQ(RR("sra", 0x4000000000000000UL, 62), 1);

	rt_section("slli/srli/srai");
	CHECK_EQ(RI("slli", v, 0), v);
	CHECK_EQ(RI("slli", v, 31), RR("sll", v, 31));
	CHECK_EQ(RI("slli", v, 32), 0x8000000100000000UL);
	CHECK_EQ(RI("slli", v, 63), 0x8000000000000000UL);
	CHECK_EQ(RI("srli", v, 0), v);
	CHECK_EQ(RI("srli", v, 31), 0x0000000100000003UL);
	CHECK_EQ(RI("srli", v, 32), 0x0000000080000001UL);
	CHECK_EQ(RI("srli", v, 63), 1);
	CHECK_EQ(RI("srai", v, 0), v);
	CHECK_EQ(RI("srai", v, 31), 0xffffffff00000003UL);
	CHECK_EQ(RI("srai", v, 32), 0xffffffff80000001UL);
	CHECK_EQ(RI("srai", v, 63), -1);
	CHECK_EQ(RI("srai", 0x7fffffffffffffffUL, 63), 0);

	rt_section("sllw/srlw/sraw");
	CHECK_EQ(RR("sllw", 0xffffffff00000001UL, 0), 1);
	CHECK_EQ(RR("sllw", 1, 31), 0xffffffff80000000UL);
	CHECK_EQ(RR("sllw", 1, 32), 1);              /* only rs2[4:0] */
	CHECK_EQ(RR("sllw", 3, 33), 6);
	CHECK_EQ(RR("sllw", 0x40000000, 1), 0xffffffff80000000UL);
	CHECK_EQ(RR("srlw", 0xffffffff80000000UL, 0), 0xffffffff80000000UL);
	CHECK_EQ(RR("srlw", 0xffffffff80000000UL, 31), 1);
	CHECK_EQ(RR("srlw", 0x0000000180000000UL, 1), 0x40000000);  /* upper bits ignored */
	CHECK_EQ(RR("srlw", 0x80000000UL, 32), 0xffffffff80000000UL);
	CHECK_EQ(RR("sraw", 0x80000000UL, 31), -1);
	CHECK_EQ(RR("sraw", 0x80000000UL, 4), 0xfffffffff8000000UL);
	CHECK_EQ(RR("sraw", 0x7fffffff00000000UL, 1), 0);
	CHECK_EQ(RR("sraw", 0x80000000UL, 32 + 1), 0xffffffffc0000000UL);

	rt_section("slliw/srliw/sraiw");
	CHECK_EQ(RI("slliw", 0x12345678ffffffffUL, 0), -1);
	CHECK_EQ(RI("slliw", 1, 31), 0xffffffff80000000UL);
	CHECK_EQ(RI("slliw", 0x3, 30), 0xffffffffc0000000UL);
	CHECK_EQ(RI("srliw", 0xffffffff80000000UL, 0), 0xffffffff80000000UL);
	CHECK_EQ(RI("srliw", 0xffffffff80000000UL, 31), 1);
	CHECK_EQ(RI("srliw", 0xffffffffffffffffUL, 1), 0x7fffffff);
	CHECK_EQ(RI("sraiw", 0x80000000UL, 0), 0xffffffff80000000UL);
	CHECK_EQ(RI("sraiw", 0x80000000UL, 31), -1);
	CHECK_EQ(RI("sraiw", 0x0000000140000000UL, 30), 1);
}

static void t_upper(void)
{
	u64 r, pc, lab;

	rt_section("lui/auipc");
	__asm__ volatile("lui %0, 0x80000" : "=r"(r));
	CHECK_EQ(r, 0xffffffff80000000UL);
	__asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
	CHECK_EQ(r, 0x7ffff000UL);
	__asm__ volatile("lui %0, 0xfffff" : "=r"(r));
	CHECK_EQ(r, 0xfffffffffffff000UL);
	__asm__ volatile("lui %0, 0" : "=r"(r));
	CHECK_EQ(r, 0);
	__asm__ volatile("1: auipc %0, 0\n\tlla %1, 1b" : "=r"(pc), "=r"(lab));
	CHECK_EQ(pc, lab);
	__asm__ volatile("1: auipc %0, 1\n\tlla %1, 1b" : "=r"(pc), "=r"(lab));
	CHECK_EQ(pc, lab + 0x1000);
	/* auipc with a negative immediate (sign-extended offset) */
	__asm__ volatile("1: auipc %0, 0xfffff\n\tlla %1, 1b" : "=r"(pc), "=r"(lab));
	CHECK_EQ(pc, lab - 0x1000);
}

static void t_loads(void)
{
	volatile u8 *b = (volatile u8 *)mem;
	rt_section("loads");
	mem[0] = 0x8281838485868788UL;
	mem[1] = 0x7f7e7d7c7b7a7978UL;
	u64 r;
	__asm__ volatile("lb %0, 0(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0xffffffffffffff88UL);
	__asm__ volatile("lbu %0, 0(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x88);
	__asm__ volatile("lb %0, 8(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x78);
	__asm__ volatile("lh %0, 6(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0xffffffffffff8281UL);
	__asm__ volatile("lhu %0, 6(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x8281);
	__asm__ volatile("lh %0, 14(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x7f7e);
	__asm__ volatile("lw %0, 4(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0xffffffff82818384UL);
	__asm__ volatile("lwu %0, 4(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x82818384UL);
	__asm__ volatile("lw %0, 12(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x7f7e7d7cUL);
	__asm__ volatile("ld %0, 0(%1)" : "=r"(r) : "r"(b));
	CHECK_EQ(r, 0x8281838485868788UL);
	/* negative offsets */
	__asm__ volatile("ld %0, -8(%1)" : "=r"(r) : "r"(b + 16));
	CHECK_EQ(r, 0x7f7e7d7c7b7a7978UL);
	__asm__ volatile("lbu %0, -1(%1)" : "=r"(r) : "r"(b + 8));
	CHECK_EQ(r, 0x82);

	rt_section("stores");
	mem[2] = 0; mem[3] = 0;
	__asm__ volatile("sb %0, 16(%1)" :: "r"(0x1122334455667788UL), "r"(b) : "memory");
	CHECK_EQ(mem[2], 0x88);
	__asm__ volatile("sh %0, 18(%1)" :: "r"(0x1122334455667788UL), "r"(b) : "memory");
	CHECK_EQ(mem[2], 0x77880088UL);
	__asm__ volatile("sw %0, 20(%1)" :: "r"(0x11223344aabbccddUL), "r"(b) : "memory");
	CHECK_EQ(mem[2], 0xaabbccdd77880088UL);
	__asm__ volatile("sd %0, 24(%1)" :: "r"(0x0102030405060708UL), "r"(b) : "memory");
	CHECK_EQ(mem[3], 0x0102030405060708UL);
	__asm__ volatile("sb %0, -1(%1)" :: "r"(0xeeUL), "r"(b + 32) : "memory");
	CHECK_EQ(mem[3], 0xee02030405060708UL);
}

static void t_branches(void)
{
	rt_section("branches");
	CHECK_EQ(BR("beq", 5, 5), 1);
	CHECK_EQ(BR("beq", 5, 6), 0);
	CHECK_EQ(BR("bne", 5, 6), 1);
	CHECK_EQ(BR("bne", 5, 5), 0);
	CHECK_EQ(BR("blt", -1, 1), 1);
	CHECK_EQ(BR("blt", 1, -1), 0);
	CHECK_EQ(BR("blt", 3, 3), 0);
	CHECK_EQ(BR("bge", 1, -1), 1);
	CHECK_EQ(BR("bge", 3, 3), 1);
	CHECK_EQ(BR("bge", -1, 1), 0);
	CHECK_EQ(BR("bltu", 1, -1), 1);
	CHECK_EQ(BR("bltu", -1, 1), 0);
	CHECK_EQ(BR("bltu", 3, 3), 0);
	CHECK_EQ(BR("bgeu", -1, 1), 1);
	CHECK_EQ(BR("bgeu", 3, 3), 1);
	CHECK_EQ(BR("bgeu", 1, -1), 0);
	CHECK_EQ(BR("blt", 0x8000000000000000UL, 0x7fffffffffffffffUL), 1);
	CHECK_EQ(BR("bltu", 0x8000000000000000UL, 0x7fffffffffffffffUL), 0);
	rt_section("branches backward");
	CHECK_EQ(BRB("beq", 5, 5), 1);
	CHECK_EQ(BRB("beq", 5, 6), 0);
	CHECK_EQ(BRB("bne", 5, 6), 1);
	CHECK_EQ(BRB("blt", -1, 1), 1);
	CHECK_EQ(BRB("bge", -1, 1), 0);
	CHECK_EQ(BRB("bltu", 1, -1), 1);
	CHECK_EQ(BRB("bgeu", 1, -1), 0);

	/* a counted loop with a backward branch */
	u64 n = 0, i = 100;
	__asm__ volatile("1: addi %0, %0, 3\n\taddi %1, %1, -1\n\tbnez %1, 1b"
			 : "+r"(n), "+r"(i));
	CHECK_EQ(n, 300);
	CHECK_EQ(i, 0);
}

static void t_jumps(void)
{
	u64 link, lab, r;

	rt_section("jal");
	__asm__ volatile("jal %0, 1f\n2:\tnop\n1:\tlla %1, 2b"
			 : "=r"(link), "=r"(lab));
	CHECK_EQ(link, lab);
	/* jal x0 (j) skips */
	r = 0;
	__asm__ volatile("j 1f\n\tli %0, 1\n1:" : "+r"(r));
	CHECK_EQ(r, 0);
	/* backward jal */
	__asm__ volatile("j 3f\n1:\tli %0, 7\n\tj 2f\n3:\tjal x0, 1b\n2:"
			 : "=r"(r));
	CHECK_EQ(r, 7);

	rt_section("jalr");
	/* target = (rs1 + imm) & ~1 */
	__asm__ volatile("lla t0, 1f\n\taddi t0, t0, 1\n\tli %0, 0\n\t"
			 "jalr %1, 0(t0)\n\tli %0, 99\n\t.align 2\n1:\taddi %0, %0, 5"
			 : "=&r"(r), "=&r"(link) :: "t0");
	CHECK_EQ(r, 5);
	/* odd immediate */
	__asm__ volatile("lla t0, 1f\n\tli %0, 0\n\t"
			 "jalr x0, 1(t0)\n\tli %0, 99\n\t.align 2\n1:\taddi %0, %0, 6"
			 : "=&r"(r) :: "t0");
	CHECK_EQ(r, 6);
	/* negative immediate, link = pc + 4 */
	__asm__ volatile("lla t0, 1f\n\taddi t0, t0, 16\n\t"
			 "jalr %0, -16(t0)\n2:\tnop\n\t.align 2\n1:\tlla %1, 2b"
			 : "=&r"(link), "=&r"(lab) :: "t0");
	CHECK_EQ(link, lab);
	/* rd == rs1: the target uses the old value */
	__asm__ volatile(".option push\n\t.option norvc\n\t"
			 "lla %0, 1f\n\tjalr %0, 0(%0)\n2:\tj 3f\n1:\tlla %1, 2b\n3:\n\t"
			 ".option pop"
			 : "=&r"(link), "=&r"(lab));
	CHECK_EQ(link, lab);
}

static void t_x0(void)
{
	u64 r;
	rt_section("x0");
	__asm__ volatile("addi x0, x0, 5\n\tmv %0, x0" : "=r"(r));
	CHECK_EQ(r, 0);
	__asm__ volatile("lui x0, 0x12345\n\tmv %0, x0" : "=r"(r));
	CHECK_EQ(r, 0);
	__asm__ volatile("auipc x0, 1\n\tadd %0, x0, x0" : "=r"(r));
	CHECK_EQ(r, 0);
	mem[0] = 0x1234;
	__asm__ volatile("ld x0, 0(%1)\n\tmv %0, x0" : "=r"(r) : "r"(mem));
	CHECK_EQ(r, 0);
	__asm__ volatile("jal x0, 1f\n1:\tmv %0, x0" : "=r"(r));
	CHECK_EQ(r, 0);
	__asm__ volatile("li t0, -1\n\tor x0, t0, t0\n\tsub %0, t0, x0" : "=r"(r) :: "t0");
	CHECK_EQ(r, -1);
	/* x0 as a source reads 0 */
	__asm__ volatile("addi %0, x0, -1" : "=r"(r));
	CHECK_EQ(r, -1);
}

static void t_misc(void)
{
	rt_section("fence/nop");
	__asm__ volatile("fence\n\tfence rw, rw\n\tfence.tso\n\tfence i, o\n\tnop" ::: "memory");
	/* pause is a fence hint (fence w, 0) */
	__asm__ volatile(".word 0x0100000f" ::: "memory");
	CHECK(1);
}

int main(void)
{
	t_arith();
	t_shifts();
	t_upper();
	t_loads();
	t_branches();
	t_jumps();
	t_x0();
	t_misc();
	return rt_result();
}
