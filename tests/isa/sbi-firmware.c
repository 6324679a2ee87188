/* What a kernel finds at entry from ringvm's built-in SBI (run in S-mode,
 * no --bios), compared with what OpenSBI's hart init sets up
 * (docs/ARCHITECTURE.md, "Built-in SBI"):
 *  - scounteren = 7: U-mode reads cycle/time/instret without any SBI PMU
 *    call (a kernel without CONFIG_RISCV_PMU_SBI relies on it for the
 *    vDSO's rdtime),
 *  - mcounteren: S-mode reads the counters,
 *  - menvcfg: STCE (stimecmp usable), CBZE (cbo.zero), CBCFE (cbo.clean/
 *    flush), CBIE (cbo.inval executes),
 *  - mstatus.FS not Off (the FPU usable at once),
 *  - the interrupts and exceptions S-mode handles are delegated. */
#include "rt.h"

extern u64 rt_entry_sstatus;

#define CSR_SCOUNTEREN 0x106
#define CSR_STIMECMP   0x14d
#define CSR_SENVCFG    0x10a

static u64 u_counters(u64 arg)
{
	u64 t, c, i;
	(void)arg;
	asm volatile("rdtime %0" : "=r"(t));
	asm volatile("rdcycle %0" : "=r"(c));
	asm volatile("rdinstret %0" : "=r"(i));
	return t != 0 && i != 0 ? 1 : 0;
}

static u64 u_hpm3(u64 arg)
{
	u64 v;
	(void)arg;
	asm volatile("csrr %0, hpmcounter3" : "=r"(v));
	return 0;
}

static char block[128] __attribute__((aligned(64)));

int main(void)
{
	rt_section("sstatus at entry");
	CHECK(((rt_entry_sstatus >> 13) & 3) != 0);

	rt_section("scounteren");
	CHECK_EQ(csr_read(0x106), 7);
	rt_arm();
	CHECK_EQ(rt_run(PRV_U, u_counters, 0), 1);
	CHECK_NOTRAP();
	/* hpmcounter3 stays closed to U (scounteren bit 3 clear). */
	rt_arm();
	rt_run(PRV_U, u_hpm3, 0);
	CHECK_TRAP(CAUSE_ILLEGAL, RT_ANY, RT_ANY);

	rt_section("mcounteren");
	u64 t0, t1;
	rt_arm();
	asm volatile("rdtime %0" : "=r"(t0));
	asm volatile("rdtime %0" : "=r"(t1));
	CHECK_NOTRAP();
	CHECK(t1 >= t0 && t0 != 0);

	rt_section("menvcfg.STCE");
	rt_arm();
	asm volatile("csrw 0x14d, %0" : : "r"(~0UL));
	u64 cmp = csr_read(0x14d);
	CHECK_NOTRAP();
	CHECK_EQ(cmp, ~0UL);

	rt_section("menvcfg.CBZE/CBCFE/CBIE");
	for (unsigned k = 0; k < sizeof(block); k++)
		block[k] = (char)0x5a;
	rt_arm();
	asm volatile(".insn i 0x0f, 2, x0, %0, 4" : : "r"(block) : "memory");
	CHECK_NOTRAP();
	CHECK_EQ(block[0], 0);
	CHECK_EQ(block[63], 0);
	CHECK_EQ(block[64], 0x5a);
	rt_arm();
	asm volatile(".insn i 0x0f, 2, x0, %0, 1" : : "r"(block) : "memory");
	asm volatile(".insn i 0x0f, 2, x0, %0, 2" : : "r"(block) : "memory");
	asm volatile(".insn i 0x0f, 2, x0, %0, 0" : : "r"(block) : "memory");
	CHECK_NOTRAP();

	rt_section("delegation");
	/* An illegal instruction in S reaches the S handler, not M. */
	rt_arm();
	asm volatile("csrr t0, mscratch" : : : "t0");
	CHECK_TRAP(CAUSE_ILLEGAL, RT_ANY, RT_ANY);
	CHECK_EQ(rt_last.mode, PRV_S);
	return rt_result();
}
