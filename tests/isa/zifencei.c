/* Zifencei: self-modifying code.  Store new instructions, fence.i, run
 * them: the new ones must execute (code in a data buffer, code in .text
 * that already ran, 16-bit and 32-bit instructions, many rewrites). */
#include "rt.h"

#define ADDI_A0(imm) (((u32)(imm) << 20) | (10u << 7) | 0x13u)   /* li a0, imm */
#define RET 0x00008067u                                         /* jalr x0, 0(ra) */
#define C_LI_A0(imm) (0x4501u | (((imm) & 0x1fu) << 2) | ((((imm) >> 5) & 1u) << 12))
#define C_RET 0x8082u

static u32 buf[64] __attribute__((aligned(64)));

/* A function in .text that gets patched: li a0, 1 (32-bit); ret. */
extern u64 smc_text(void);
__asm__(".pushsection .text\n"
	".option push\n.option norvc\n"
	".align 3\n"
	".globl smc_text\n"
	"smc_text:\n"
	"\taddi a0, x0, 1\n"
	"\tret\n"
	".option pop\n"
	".popsection");

static u64 call(void *p)
{
	return ((u64 (*)(void))p)();
}

int main(void)
{
	rt_section("buffer");
	buf[0] = ADDI_A0(1);
	buf[1] = RET;
	__asm__ volatile("fence.i" ::: "memory");
	CHECK_EQ(call(buf), 1);
	buf[0] = ADDI_A0(2);
	__asm__ volatile("fence.i" ::: "memory");
	CHECK_EQ(call(buf), 2);

	rt_section("rewrites in a loop");
	for (int i = 0; i < 200; i++) {
		buf[0] = ADDI_A0(i * 7);
		__asm__ volatile("fence.i" ::: "memory");
		if (!CHECK_EQ(call(buf), (u64)i * 7))
			break;
	}

	rt_section("16-bit instructions");
	{
		u16 *h = (u16 *)buf;
		h[0] = (u16)C_LI_A0(5);
		h[1] = C_RET;
		__asm__ volatile("fence.i" ::: "memory");
		CHECK_EQ(call(buf), 5);
		h[0] = (u16)C_LI_A0(0x3f);   /* -1 */
		__asm__ volatile("fence.i" ::: "memory");
		CHECK_EQ(call(buf), -1);
		/* replace a 16-bit pair by one 32-bit instruction and back */
		buf[0] = ADDI_A0(77);
		buf[1] = RET;
		__asm__ volatile("fence.i" ::: "memory");
		CHECK_EQ(call(buf), 77);
		h[0] = (u16)C_LI_A0(9);
		h[1] = C_RET;
		__asm__ volatile("fence.i" ::: "memory");
		CHECK_EQ(call(buf), 9);
	}

	rt_section("patch .text");
	CHECK_EQ(smc_text(), 1);
	*(volatile u32 *)(void *)smc_text = ADDI_A0(1234);
	__asm__ volatile("fence.i" ::: "memory");
	CHECK_EQ(smc_text(), 1234);
	*(volatile u32 *)(void *)smc_text = ADDI_A0(-5);
	__asm__ volatile("fence.i" ::: "memory");
	CHECK_EQ(smc_text(), -5);

	rt_section("patch the following instruction");
	{
		/* rewrite an instruction later in the same straight-line code */
		u64 out;
		__asm__ volatile(".option push\n\t.option norvc\n\t"
				 "li a0, 0\n\tlla t0, 1f\n\tsw %1, 0(t0)\n\tfence.i\n"
				 "1:\taddi a0, x0, 3\n\tmv %0, a0\n\t.option pop"
				 : "=r"(out) : "r"(ADDI_A0(99)) : "t0", "a0", "memory");
		CHECK_EQ(out, 99);
	}
	return rt_result();
}
