/* C extension: every RV64C instruction, written with explicit c.*
 * mnemonics (each checked to be 2 bytes long), compared against the
 * expanded 32-bit instruction and against known values.  Also reserved
 * encodings (illegal, tval = the 16 bits) and HINTs (no-ops). */
#include "rt.h"

/* Run a 16-bit instruction and its 32-bit expansion on the same inputs
 * (rd = a0 preloaded with x, rs2 = a1 = y). */
#define CPAIR(cins, fins, x, y, want) do { \
	u64 _c, _f, _len; \
	__asm__ volatile("mv a0, %3\n\tmv a1, %4\n\t" \
			 ".option push\n\t.option rvc\n1:\t" cins \
			 "\n2:\t.option pop\n\tlla %1, 1b\n\tlla t0, 2b\n\t" \
			 "sub %1, t0, %1\n\tmv %0, a0\n\t" \
			 "mv a0, %3\n\t.option push\n\t.option norvc\n\t" fins \
			 "\n\t.option pop\n\tmv %2, a0" \
			 : "=&r"(_c), "=&r"(_len), "=&r"(_f) \
			 : "r"((u64)(x)), "r"((u64)(y)) : "t0", "a0", "a1"); \
	CHECK_EQ(_len, 2); \
	CHECK_EQ(_c, _f); \
	CHECK_EQ(_c, (u64)(want)); } while (0)

static u64 buf[64] __attribute__((aligned(64)));

static void t_alu(void)
{
	rt_section("c.addi/c.addiw/c.li/c.lui");
	CPAIR("c.addi a0, -32", "addi a0, a0, -32", 100, 0, 68);
	CPAIR("c.addi a0, 31", "addi a0, a0, 31", -1, 0, 30);
	CPAIR("c.addiw a0, 1", "addiw a0, a0, 1", 0x7fffffff, 0, 0xffffffff80000000UL);
	CPAIR("c.addiw a0, 0", "addiw a0, a0, 0", 0x12345678ffffffffUL, 0, -1);
	CPAIR("c.addiw a0, -1", "addiw a0, a0, -1", 0, 0, -1);
	CPAIR("c.li a0, -32", "addi a0, x0, -32", 5, 0, -32);
	CPAIR("c.li a0, 31", "addi a0, x0, 31", 5, 0, 31);
	CPAIR("c.lui a0, 0x1f", "lui a0, 0x1f", 5, 0, 0x1f000);
	CPAIR("c.lui a0, 0xfffe0", "lui a0, 0xfffe0", 5, 0, 0xfffffffffffe0000UL);
	CPAIR("c.lui a0, 1", "lui a0, 1", 5, 0, 0x1000);

	rt_section("c.srli/c.srai/c.slli/c.andi");
	CPAIR("c.srli a0, 63", "srli a0, a0, 63", 0x8000000000000000UL, 0, 1);
	CPAIR("c.srli a0, 32", "srli a0, a0, 32", 0x8000000100000000UL, 0, 0x80000001UL);
	CPAIR("c.srli a0, 1", "srli a0, a0, 1", -1, 0, 0x7fffffffffffffffUL);
	CPAIR("c.srai a0, 63", "srai a0, a0, 63", 0x8000000000000000UL, 0, -1);
	CPAIR("c.srai a0, 32", "srai a0, a0, 32", 0x8000000100000000UL, 0, 0xffffffff80000001UL);
	CPAIR("c.srai a0, 1", "srai a0, a0, 1", 0x4000000000000000UL, 0, 0x2000000000000000UL);
	CPAIR("c.slli a0, 63", "slli a0, a0, 63", 3, 0, 0x8000000000000000UL);
	CPAIR("c.slli a0, 32", "slli a0, a0, 32", 0x180000001UL, 0, 0x8000000100000000UL);
	CPAIR("c.slli a0, 1", "slli a0, a0, 1", 0x8000000000000001UL, 0, 2);
	CPAIR("c.andi a0, -32", "andi a0, a0, -32", 0x12345678UL, 0, 0x12345660UL);
	CPAIR("c.andi a0, 31", "andi a0, a0, 31", -1, 0, 31);
	CPAIR("c.andi a0, 0", "andi a0, a0, 0", -1, 0, 0);

	rt_section("c.sub/c.xor/c.or/c.and/c.subw/c.addw");
	CPAIR("c.sub a0, a1", "sub a0, a0, a1", 5, 7, -2);
	CPAIR("c.xor a0, a1", "xor a0, a0, a1", 0xff00UL, 0x0ff0UL, 0xf0f0UL);
	CPAIR("c.or a0, a1", "or a0, a0, a1", 0xff00UL, 0x0ff0UL, 0xfff0UL);
	CPAIR("c.and a0, a1", "and a0, a0, a1", 0xff00UL, 0x0ff0UL, 0x0f00UL);
	CPAIR("c.subw a0, a1", "subw a0, a0, a1", 0x80000000UL, 1, 0x7fffffffUL);
	CPAIR("c.subw a0, a1", "subw a0, a0, a1", 0, 1, -1);
	CPAIR("c.addw a0, a1", "addw a0, a0, a1", 0x7fffffffUL, 1, 0xffffffff80000000UL);
	CPAIR("c.addw a0, a1", "addw a0, a0, a1", 0xffffffff00000001UL, 0x100000002UL, 3);

	rt_section("c.mv/c.add");
	CPAIR("c.mv a0, a1", "add a0, x0, a1", 5, 0x123456789UL, 0x123456789UL);
	CPAIR("c.add a0, a1", "add a0, a0, a1", 0x7fffffffffffffffUL, 1, 0x8000000000000000UL);
	/* other registers (full 5-bit fields) */
	{
		register u64 t3 __asm__("t3") = 40;
		register u64 t4 __asm__("t4") = 2;
		__asm__ volatile("c.add t3, t4\n\tc.addi t3, 1\n\tc.slli t3, 2\n\t"
				 "c.mv t4, t3\n\tc.li t3, -1\n\tc.addiw t3, 3"
				 : "+r"(t3), "+r"(t4));
		u64 v3 = t3, v4 = t4;
		CHECK_EQ(v4, 172);
		CHECK_EQ(v3, 2);
	}

	rt_section("c.nop and HINTs");
	{
		register u64 a0 __asm__("a0") = 77;
		__asm__ volatile("c.nop\n\t"
				 ".2byte 0x0005\n\t"   /* c.nop 1 (HINT) */
				 ".2byte 0x4001\n\t"   /* c.li x0, 0 (HINT) */
				 ".2byte 0x4015\n\t"   /* c.li x0, 5 (HINT) */
				 ".2byte 0x8006\n\t"   /* c.mv x0, ra (HINT) */
				 ".2byte 0x9006\n\t"   /* c.add x0, ra (HINT) */
				 ".2byte 0x0006\n\t"   /* c.slli x0, 1 (HINT) */
				 ".2byte 0x0502\n\t"   /* c.slli64 a0 (shamt 0, HINT) */
				 ".2byte 0x8101\n\t"   /* c.srli64 a0 (shamt 0, HINT) */
				 ".2byte 0x8501\n\t"   /* c.srai64 a0 (shamt 0, HINT) */
				 : "+r"(a0));
		u64 v = a0;
		CHECK_EQ(v, 77);
	}
}

static void t_mem(void)
{
	for (int i = 0; i < 64; i++)
		buf[i] = 0x0101010101010101UL * (u64)i ^ 0x8000000080000000UL;

	rt_section("c.lw/c.ld/c.sw/c.sd");
	{
		u64 r;
#define CMEM(ins, v) __asm__ volatile("mv a1, %1\n\tmv a0, %2\n\t" ins "\n\tmv %0, a0" \
			: "=r"(r) : "r"(buf), "r"((u64)(v)) : "a0", "a1", "memory")
		CMEM("c.lw a0, 4(a1)", 0);
		CHECK_EQ(r, (u64)(i64)(i32)(buf[0] >> 32));
		CMEM("c.lw a0, 124(a1)", 0);
		CHECK_EQ(r, (u64)(i64)(i32)(buf[15] >> 32));
		CMEM("c.ld a0, 8(a1)", 0);
		CHECK_EQ(r, buf[1]);
		CMEM("c.ld a0, 248(a1)", 0);
		CHECK_EQ(r, buf[31]);
		CMEM("c.sw a0, 124(a1)", 0x1122334455667788UL);
		CHECK_EQ(buf[15], 0x556677888f0f0f0fUL);
		CMEM("c.sd a0, 248(a1)", 0x1122334455667788UL);
		CHECK_EQ(buf[31], 0x1122334455667788UL);
	}

	rt_section("c.lwsp/c.ldsp/c.swsp/c.sdsp/c.addi4spn/c.addi16sp");
	{
		u64 r1, r2, r3, r4, r5;
		/* run with sp = buf + 32 (interrupts are off) */
		__asm__ volatile("mv t6, sp\n\tmv sp, %5\n\t"
				 "c.lwsp %0, 12(sp)\n\t"
				 "c.ldsp %1, 248(sp)\n\t"
				 "c.swsp %1, 252(sp)\n\t"
				 "c.sdsp %1, 0(sp)\n\t"
				 "c.addi4spn a2, sp, 1020\n\tmv %2, a2\n\t"
				 "c.addi4spn a2, sp, 4\n\tmv %3, a2\n\t"
				 "c.addi16sp sp, -512\n\tc.addi16sp sp, 496\n\tc.addi16sp sp, 16\n\t"
				 "mv %4, sp\n\t"
				 "mv sp, t6"
				 : "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4), "=&r"(r5)
				 : "r"(&buf[4]) : "t6", "a2", "memory");
		CHECK_EQ(r1, (u64)(i64)(i32)(buf[5] >> 32));
		CHECK_EQ(r2, 0x0101010101010101UL * 35 ^ 0x8000000080000000UL);
		CHECK_EQ(buf[4], r2);
		CHECK_EQ(buf[35] >> 32, r2 & 0xffffffffUL);
		CHECK_EQ(r3, (u64)&buf[4] + 1020);
		CHECK_EQ(r4, (u64)&buf[4] + 4);
		CHECK_EQ(r5, (u64)&buf[4]);
	}

	rt_section("c.fld/c.fsd/c.fldsp/c.fsdsp");
	{
		u64 r;
		buf[2] = 0x400921fb54442d18UL;
		buf[20] = 0xc00921fb54442d18UL;
		__asm__ volatile("mv a1, %1\n\tc.fld fa0, 16(a1)\n\tc.fsd fa0, 24(a1)\n\t"
				 "fmv.x.d %0, fa0"
				 : "=r"(r) : "r"(buf) : "a1", "fa0", "memory");
		CHECK_EQ(r, 0x400921fb54442d18UL);
		CHECK_EQ(buf[3], 0x400921fb54442d18UL);
		__asm__ volatile("mv t6, sp\n\tmv sp, %1\n\t"
				 "c.fldsp ft3, 160(sp)\n\tc.fsdsp ft3, 504(sp)\n\t"
				 "mv sp, t6\n\tfmv.x.d %0, ft3"
				 : "=r"(r) : "r"(buf) : "t6", "ft3", "memory");
		CHECK_EQ(r, 0xc00921fb54442d18UL);
		CHECK_EQ(buf[63], 0xc00921fb54442d18UL);
	}
}

static void t_jumps(void)
{
	u64 r, link, lab;

	rt_section("c.j/c.jr/c.jalr");
	__asm__ volatile("li %0, 0\n\tc.j 1f\n\tli %0, 9\n1:\tc.addi %0, 1" : "=&r"(r));
	CHECK_EQ(r, 1);
	__asm__ volatile("li %0, 0\n\tc.j 2f\n1:\tc.addi %0, 2\n\tc.j 3f\n2:\tc.j 1b\n3:"
			 : "=&r"(r));
	CHECK_EQ(r, 2);
	__asm__ volatile("li %0, 0\n\tlla t0, 1f\n\tc.jr t0\n\tli %0, 9\n1:\tc.addi %0, 3"
			 : "=&r"(r) :: "t0");
	CHECK_EQ(r, 3);
	/* c.jalr: link = pc + 2 */
	__asm__ volatile("lla t0, 1f\n\tc.jalr t0\n2:\tc.nop\n\t.align 2\n1:\t"
			 "mv %0, ra\n\tlla %1, 2b"
			 : "=&r"(link), "=&r"(lab) :: "t0", "ra");
	CHECK_EQ(link, lab);
	/* c.jr/c.jalr with bit 0 set in rs1: target clears bit 0 */
	__asm__ volatile("li %0, 0\n\tlla t0, 1f\n\taddi t0, t0, 1\n\tc.jr t0\n\tli %0, 9\n"
			 "\t.align 2\n1:\tc.addi %0, 4" : "=&r"(r) :: "t0");
	CHECK_EQ(r, 4);

	rt_section("c.beqz/c.bnez");
#define CB(op, v) ({ __asm__ volatile("mv s1, %1\n\tli %0, 0\n\t" op " s1, 1f\n\tc.li %0, 1\n1:" \
			: "=&r"(r) : "r"((u64)(v)) : "s1"); r == 0; })
#define CBB(op, v) ({ __asm__ volatile("mv s1, %1\n\tli %0, 0\n\tc.j 2f\n1:\tc.li %0, 1\n\tc.j 3f\n2:\t" \
			op " s1, 1b\n3:" : "=&r"(r) : "r"((u64)(v)) : "s1"); r == 1; })
	CHECK(CB("c.beqz", 0));
	CHECK(!CB("c.beqz", 1));
	CHECK(!CB("c.beqz", 0x100000000UL));   /* full 64-bit compare */
	CHECK(CB("c.bnez", 0x100000000UL));
	CHECK(!CB("c.bnez", 0));
	CHECK(CBB("c.beqz", 0));
	CHECK(!CBB("c.beqz", 5));
	CHECK(CBB("c.bnez", -1));
	CHECK(!CBB("c.bnez", 0));
}

static void t_traps(void)
{
	u64 pc;

	rt_section("c.ebreak");
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\tc.ebreak" : "=r"(pc));
	CHECK_TRAP(CAUSE_BREAKPOINT, pc, RT_ANY);
	CHECK(rt_last.tval == 0 || rt_last.tval == pc);

	rt_section("reserved encodings");
	static const u16 bad[] = {
		0x0000, /* all zeros */
		0x0004, /* c.addi4spn a1', sp, 0 */
		0x6101, /* c.addi16sp sp, 0 */
		0x6281, /* c.lui t0, 0 */
		0x2005, /* c.addiw x0, 1 */
		0x4002, /* c.lwsp x0 */
		0x6002, /* c.ldsp x0 */
		0x8002, /* c.jr x0 */
		0x9c41, /* c.subw with funct2 10 (reserved), bit 12 = 1 */
		0x9c61, /* reserved CA slot (funct2 11, bit 12 = 1) */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* execute bad[i] from a RAM buffer, then return via c.jr ra */
		static u16 code[4] __attribute__((aligned(8)));
		code[0] = bad[i];
		code[1] = 0x8082; /* c.jr ra (c.ret) */
		__asm__ volatile("fence.i" ::: "memory");
		rt_arm();
		__asm__ volatile("jalr ra, 0(%0)" :: "r"(code) : "ra", "memory");
		if (!CHECK_TRAP(CAUSE_ILLEGAL, (u64)code, bad[i]))
			rt_printf("  encoding 0x%x\n", bad[i]);
	}
}

int main(void)
{
	t_alu();
	t_mem();
	t_jumps();
	t_traps();
	return rt_result();
}
