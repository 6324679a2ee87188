/* Cross-modifying code, four harts in S-mode under the SBI.  The other
 * harts keep calling xmc_fn (so it sits in their decoded-code caches)
 * while they wait for the round number; each round the boot hart rewrites
 * xmc_fn with a different instruction sequence (32-bit and compressed
 * forms, so the block's length and shape change), runs fence.i, and then
 *   even rounds: calls SBI remote_fence_i for the others, then publishes
 *                the round: their next call must run the new code;
 *   odd rounds:  publishes the round only; each other hart runs fence.i
 *                itself when it sees it (the "IPI, then fence.i on the
 *                target" pattern) and then calls.
 * Every hart (the boot hart too) must get the new sequence's result.
 * xmc_fn is three 32-bit slots, each holding one whole instruction or two
 * compressed ones, the last a ret: a caller that runs while the slots are
 * being rewritten executes some mix of old and new slots, which is still
 * valid code.  (Not on QEMU, which can keep a translation of the old
 * bytes made while they were being rewritten: there the others only call
 * xmc_fn once the round is published.)
 * RINGVM-ARGS: --cpus 4 */
#include "smputil.h"

#define NHARTS 4
#define ROUNDS 40

extern u64 xmc_fn(void);
__asm__(".pushsection .text\n"
	".option push\n.option norvc\n"
	".align 6\n"
	".globl xmc_fn\n"
	"xmc_fn:\n"
	"\taddi a0, x0, 0\n"
	"\taddi a0, a0, 0\n"
	"\tret\n"
	".option pop\n"
	".popsection");

#define A0 10u
#define LUI_A0(u)        (((u32)(u) << 12) | (A0 << 7) | 0x37u)
#define ADDIW_A0(i)      ((((u32)(i) & 0xfffu) << 20) | (A0 << 15) | (A0 << 7) | 0x1bu)
#define ADDI_A0_X0(i)    ((((u32)(i) & 0xfffu) << 20) | (A0 << 7) | 0x13u)
#define XORI_A0(i)       ((((u32)(i) & 0xfffu) << 20) | (A0 << 15) | (4u << 12) | (A0 << 7) | 0x13u)
#define C_LI_A0(i)       (0x4001u | ((((u32)(i) >> 5) & 1u) << 12) | (A0 << 7) | (((u32)(i) & 0x1fu) << 2))
#define C_ADDI_A0(i)     (0x0001u | ((((u32)(i) >> 5) & 1u) << 12) | (A0 << 7) | (((u32)(i) & 0x1fu) << 2))
#define C_SLLI_A0(s)     (0x0002u | ((((u32)(s) >> 5) & 1u) << 12) | (A0 << 7) | (((u32)(s) & 0x1fu) << 2))
#define C_NOP            0x0001u
#define PAIR(lo, hi)     ((u32)(lo) | ((u32)(hi) << 16))
#define RET              0x00008067u

static i64 sext(u64 v, int bits)
{
	return (i64)(v << (64 - bits)) >> (64 - bits);
}

/* The code for round r and what it returns. */
static u64 encode(u32 r, u32 slot[2])
{
	switch (r % 4) {
	case 0: {
		u32 u = 0x12345u + r, i = (r * 37u) & 0xfffu;
		slot[0] = LUI_A0(u);
		slot[1] = ADDIW_A0(i);
		return (u64)sext((u64)(u32)((u << 12) + (u32)sext(i, 12)), 32);
	}
	case 1: {
		u32 i = (r * 91u) & 0xfffu, j = 0x5a5u;
		slot[0] = ADDI_A0_X0(i);
		slot[1] = XORI_A0(j);
		return (u64)(sext(i, 12) ^ sext(j, 12));
	}
	case 2: {
		u32 i = r & 0x1fu, j = 1u + (r % 30u), k = 1u + (r % 40u);
		slot[0] = PAIR(C_LI_A0(i), C_ADDI_A0(j));
		slot[1] = PAIR(C_SLLI_A0(k), C_NOP);
		return (u64)(i + j) << k;
	}
	default: {
		u32 i = (r * 13u) & 0x7ffu, j = 1u + (r % 31u);
		slot[0] = ADDI_A0_X0(i);
		slot[1] = PAIR(C_ADDI_A0(j), C_NOP);
		return (u64)i + j;
	}
	}
}

static volatile u32 go;
static struct smp_barrier bar;
static u64 want[ROUNDS + 1];
static u64 seen[SMP_MAX][ROUNDS + 1];
static u64 calls[SMP_MAX];
static long rfence_err;
static u64 broken;
static int racing;      /* the others call xmc_fn while it is rewritten */

static void run(u64 me, void *arg)
{
	int lead = me == rt_boot_hartid;
	(void)arg;
	u64 mask = 0;
	for (u64 h = 0; h < NHARTS; h++)
		if (h != me)
			mask |= 1UL << h;

	for (u32 r = 1; r <= ROUNDS; r++) {
		int sbi = !(r & 1);
		if (!smp_barrier_wait(&bar))
			goto out;
		if (lead) {
			u32 slot[2];
			want[r] = encode(r, slot);
			volatile u32 *code = (volatile u32 *)(void *)xmc_fn;
			code[0] = slot[0];
			code[1] = slot[1];
			__asm__ volatile("fence.i" ::: "memory");
			if (sbi)
				rfence_err |= sbi_call(EXT_RFENCE, 0, (long)mask, 0, 0, 0, 0, 0).error;
			fence_rw();
			go = r;
		} else {
			while (go != r)
				if (racing) {
					xmc_fn();
					calls[me]++;
				}
			fence_rw();
			if (!sbi)
				__asm__ volatile("fence.i" ::: "memory");
		}
		seen[me][r] = xmc_fn();
	}
	if (smp_barrier_wait(&bar))
		return;
out:
	broken = 1;
}

int main(void)
{
	u64 t0 = rt_time();

	rt_printf("sbi-fencei: boot hart %lu, %d harts, %d rounds\n", rt_boot_hartid, NHARTS,
		  ROUNDS);
	smp_barrier_init(&bar, NHARTS);
	/* A hart translating xmc_fn while the boot hart rewrites it can leave
	 * QEMU 7.2 (MTTCG, one translation cache for all harts) with a block
	 * of the old bytes that even the writer runs after its own fence.i. */
	QEMU_DIVERGES("xmc_fn is not called while it is rewritten", racing = 1);

	rt_section("all harts run and finish");
	u64 late = smp_run(NHARTS, run, 0, MS(30000));
	if (!CHECK_EQ(late, 0))
		rt_printf("  harts that did not finish: mask 0x%lx\n", late);
	CHECK_EQ(broken, 0);
	CHECK_EQ(rfence_err, 0);

	u64 stale[2] = { 0, 0 }, ncalls = 0;
	int shown = 0;
	for (u64 h = 0; h < NHARTS; h++) {
		ncalls += calls[h];
		for (u32 r = 1; r <= ROUNDS; r++) {
			if (seen[h][r] == want[r])
				continue;
			stale[r & 1]++;
			if (shown++ < 8)
				rt_printf("  hart %lu round %u (%s): got 0x%lx, want 0x%lx\n", h, r,
					  (r & 1) ? "own fence.i" : "remote_fence_i", seen[h][r],
					  want[r]);
		}
	}
	rt_section("after SBI remote_fence_i");
	CHECK_EQ(stale[0], 0);
	rt_section("after fence.i on the target");
	CHECK_EQ(stale[1], 0);
	rt_printf("sbi-fencei: %lu calls while waiting, %lu ms\n", ncalls,
		  (rt_time() - t0) / MS(1));
	return rt_result();
}
