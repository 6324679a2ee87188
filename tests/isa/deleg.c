/* Trap delegation (medeleg/mideleg) and sret: a delegated exception from U
 * or S goes to stvec with scause/sepc/stval and sstatus.SPP/SPIE/SIE
 * updated; a non-delegated one goes to M; M-mode traps are never
 * delegated; medeleg[11] is read-only zero; sie/sip show only delegated
 * interrupts; sret restores SIE from SPIE, sets SPIE, returns to SPP and
 * clears SPP.  Interrupt delegation is exercised in irq.c. */
#include "rt.h"

#define EXEC(word) ({ u64 _pc; __asm__ volatile( \
	".option push\n\t.option norvc\n\tlla %0, 1f\n1:\t.word %1\n\t.option pop" \
	: "=&r"(_pc) : "i"(word) : "t0", "memory"); _pc; })

static u64 raise_illegal(u64 unused)
{
	return EXEC(0xc0001073);            /* unimp */
}

static u64 raise_ebreak(u64 unused)
{
	u64 pc;
	__asm__ volatile(".option push\n\t.option norvc\n\tlla %0, 1f\n1:\tebreak\n\t.option pop"
			 : "=&r"(pc));
	return pc;
}

static u64 raise_load_fault(u64 addr)
{
	u64 pc, v;
	__asm__ volatile("lla %0, 1f\n1:\tld %1, 0(%2)" : "=&r"(pc), "=r"(v) : "r"(addr) : "memory");
	return pc;
}

static u64 raise_ecall(u64 unused)
{
	u64 pc;
	__asm__ volatile("lla %0, 1f\n\tli a7, 0\n1:\tecall" : "=&r"(pc) :: "a7", "a0", "memory");
	return pc;
}

/* S-mode: enable SIE, then raise a delegated exception; returns the
 * sstatus seen by the S handler (rt_last.status). */
static u64 s_with_sie(u64 unused)
{
	csr_set(sstatus, MSTATUS_SIE);
	rt_arm();
	u64 pc = EXEC(0xc0001073);
	int n = rt_disarm();
	u64 after = csr_read(sstatus);
	csr_clear(sstatus, MSTATUS_SIE);
	CHECK_EQ(n, 1);
	CHECK_EQ(rt_last.mode, PRV_S);
	CHECK_EQ(rt_last.epc, pc);
	/* at trap time: SPP = S, SPIE = old SIE (1), SIE = 0 */
	CHECK_EQ(rt_last.status & (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE),
		 MSTATUS_SPP | MSTATUS_SPIE);
	/* sret restored SIE */
	CHECK(after & MSTATUS_SIE);
	return 0;
}

static void t_exceptions(void)
{
	u64 pc;

	rt_section("medeleg WARL");
	csr_write(medeleg, -1UL);
	u64 md = csr_read(medeleg);
	/* priv 1.12 §3.1.8: medeleg[11] is read-only zero (QEMU 7.2 lets it
	 * be set) */
	QEMU_DIVERGES("medeleg[11] is writable",
		      CHECK_EQ(md & (1UL << CAUSE_ECALL_M), 0));
	CHECK(md & (1UL << CAUSE_ILLEGAL));
	CHECK(md & (1UL << CAUSE_ECALL_U));
	CHECK(md & (1UL << CAUSE_LOAD_PAGE));
	csr_write(medeleg, 0);

	rt_section("delegated exception from U -> S");
	csr_write(medeleg, (1UL << CAUSE_ILLEGAL) | (1UL << CAUSE_LOAD_ACCESS));
	rt_arm();
	pc = rt_run(PRV_U, raise_illegal, 0);
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0xc0001073);
	CHECK_EQ(rt_last.mode, PRV_S);
	CHECK_EQ(rt_last.status & MSTATUS_SPP, 0);       /* from U */
	CHECK_EQ(csr_read(scause), CAUSE_ILLEGAL);
	CHECK_EQ(csr_read(stval), 0xc0001073);
	rt_arm();
	pc = rt_run(PRV_U, raise_load_fault, 0);
	CHECK_TRAP(CAUSE_LOAD_ACCESS, pc, 0);
	CHECK_EQ(rt_last.mode, PRV_S);

	rt_section("non-delegated exception from U -> M");
	rt_arm();
	pc = rt_run(PRV_U, raise_ebreak, 0);
	CHECK_TRAP(CAUSE_BREAKPOINT, pc, RT_ANY);
	CHECK_EQ(rt_last.mode, PRV_M);
	CHECK_EQ((rt_last.status & MSTATUS_MPP) >> 11, PRV_U);

	rt_section("delegated exception from S -> S");
	rt_arm();
	pc = rt_run(PRV_S, raise_illegal, 0);
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0xc0001073);
	CHECK_EQ(rt_last.mode, PRV_S);
	CHECK(rt_last.status & MSTATUS_SPP);
	rt_run(PRV_S, s_with_sie, 0);

	rt_section("M-mode traps are never delegated");
	rt_arm();
	pc = raise_illegal(0);
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0xc0001073);
	CHECK_EQ(rt_last.mode, PRV_M);

	rt_section("delegated ecall from U");
	/* The runtime's own exit ecall from U is then handled by S, which
	 * passes it on to M with an ecall from S. */
	csr_write(medeleg, 1UL << CAUSE_ECALL_U);
	rt_arm();
	pc = rt_run(PRV_U, raise_ecall, 0);
	CHECK_TRAP(CAUSE_ECALL_U, pc, 0);
	CHECK_EQ(rt_last.mode, PRV_S);
	/* ecall from S is not delegated here */
	rt_arm();
	pc = rt_run(PRV_S, raise_ecall, 0);
	CHECK_TRAP(CAUSE_ECALL_S, pc, 0);
	CHECK_EQ(rt_last.mode, PRV_M);
	csr_write(medeleg, 0);
}

/* ---- sret ---- */

static u64 s_sret(u64 unused)
{
	u64 ss, pc;

	/* sret to S: SIE = SPIE (1), SPIE = 1, SPP = U */
	csr_clear(sstatus, MSTATUS_SIE);
	csr_set(sstatus, MSTATUS_SPP | MSTATUS_SPIE);
	__asm__ volatile("lla t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:" ::: "t0");
	ss = csr_read(sstatus);
	csr_clear(sstatus, MSTATUS_SIE);
	CHECK(ss & MSTATUS_SIE);
	CHECK(ss & MSTATUS_SPIE);
	CHECK_EQ(ss & MSTATUS_SPP, 0);
	/* still in S: ecall says so (cause 9, not delegated) */
	rt_arm();
	pc = raise_ecall(0);
	CHECK_TRAP(CAUSE_ECALL_S, pc, 0);

	/* SPIE = 0: SIE becomes 0 */
	csr_set(sstatus, MSTATUS_SPP | MSTATUS_SIE);
	csr_clear(sstatus, MSTATUS_SPIE);
	__asm__ volatile("lla t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:" ::: "t0");
	ss = csr_read(sstatus);
	CHECK_EQ(ss & MSTATUS_SIE, 0);
	CHECK(ss & MSTATUS_SPIE);

	/* sret to U (SPP = 0): the rest of this function runs in U, and the
	 * ecall reports cause 8; rt_run's exit works from U as well. */
	csr_clear(sstatus, MSTATUS_SPP);
	__asm__ volatile("lla t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:" ::: "t0");
	rt_arm();
	pc = raise_ecall(0);
	CHECK_TRAP(CAUSE_ECALL_U, pc, 0);
	return 42;
}

static void t_sret(void)
{
	rt_section("sret");
	CHECK_EQ(rt_run(PRV_S, s_sret, 0), 42);
}

/* ---- sie/sip views ---- */

static void t_views(void)
{
	rt_section("sie/sip show delegated interrupts only");
	csr_write(mideleg, 0);
	csr_write(mie, 0);
	csr_write(sie, -1UL);
	CHECK_EQ(csr_read(sie), 0);
	CHECK_EQ(csr_read(mie), 0);
	csr_set(mip, MIP_SSIP);
	CHECK_EQ(csr_read(sip) & MIP_SSIP, 0);
	csr_clear(mip, MIP_SSIP);

	csr_write(mideleg, MIP_SSIP | MIP_STIP | MIP_SEIP);
	CHECK_EQ(csr_read(mideleg) & (MIP_SSIP | MIP_STIP | MIP_SEIP),
		 MIP_SSIP | MIP_STIP | MIP_SEIP);
	csr_write(sie, -1UL);
	CHECK_EQ(csr_read(sie), MIP_SSIP | MIP_STIP | MIP_SEIP);
	CHECK_EQ(csr_read(mie), MIP_SSIP | MIP_STIP | MIP_SEIP);
	csr_write(sie, 0);
	CHECK_EQ(csr_read(mie), 0);
	/* sip.SSIP is writable by S; it is mip.SSIP */
	csr_set(sip, MIP_SSIP);
	CHECK(csr_read(mip) & MIP_SSIP);
	CHECK(csr_read(sip) & MIP_SSIP);
	csr_clear(sip, MIP_SSIP);
	CHECK_EQ(csr_read(mip) & MIP_SSIP, 0);
	/* M-level bits never show in sie/sip */
	csr_write(mie, MIP_MSIP | MIP_MTIP);
	CHECK_EQ(csr_read(sie), 0);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
}

int main(void)
{
	t_exceptions();
	t_sret();
	t_views();
	return rt_result();
}
