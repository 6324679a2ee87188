/* Interrupts: machine timer through CLINT mtimecmp (MTIP), machine
 * software interrupt through CLINT msip (MSIP), supervisor software
 * interrupt through mip/sip.SSIP delegated to S (and not delegated: to M),
 * Sstc stimecmp (menvcfg.STCE) raising STIP in S, WFI waking on a timer
 * (with and without MIE; mepc after an interrupted WFI), interrupts taken
 * in U/S regardless of MIE, global enables, priority (MSI > MTI > SSI >
 * STI; M-level before S-level), vectored mtvec. */
#include "rt.h"

#define MS(n) ((u64)(n) * (TIMEBASE_HZ / 1000))
#define WAIT_LIMIT MS(2000)   /* give up waiting for an interrupt after 2 s */

static void mtimecmp_set(u64 v)
{
	mmio_w64(CLINT_MTIMECMP(0), v);
}

static void msip_set(u32 v)
{
	mmio_w32(CLINT_MSIP(0), v);
}

/* Spin until at least n interrupts have been logged or the limit passes. */
static int wait_irqs(int n)
{
	u64 t0 = rt_time();
	while (rt_irq_n < n)
		if (rt_time() - t0 > WAIT_LIMIT)
			return 0;
	return 1;
}

static void quiesce(void)
{
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
	mtimecmp_set(~0UL);
	msip_set(0);
	csr_clear(mip, MIP_SSIP | MIP_STIP);
	rt_irq_reset();
	rt_irq_hook = 0;
}

static void t_mtimer(void)
{
	rt_section("machine timer (CLINT mtimecmp)");
	quiesce();
	mtimecmp_set(~0UL);
	CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);
	mtimecmp_set(0);
	/* MTIP follows mtime >= mtimecmp even with interrupts disabled */
	CHECK(csr_read(mip) & MIP_MTIP);
	/* mip.MTIP is read-only */
	csr_clear(mip, MIP_MTIP);
	CHECK(csr_read(mip) & MIP_MTIP);
	mtimecmp_set(~0UL);
	CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);

	u64 now = rt_time();
	mtimecmp_set(now + MS(2));
	csr_set(mie, MIP_MTIP);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_MTI);
	CHECK_EQ(rt_irq_mode[0], PRV_M);
	CHECK(rt_time() >= now + MS(2));
	CHECK_EQ(csr_read(mcause), CAUSE_INTR | IRQ_MTI);
	CHECK(csr_read(mip) & MIP_MTIP);     /* still pending: level */
	mtimecmp_set(~0UL);
	CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);

	rt_section("MIE = 0 masks M interrupts in M");
	quiesce();
	mtimecmp_set(0);
	csr_set(mie, MIP_MTIP);
	rt_delay_us(1000);
	CHECK_EQ(rt_irq_n, 0);
	csr_set(mstatus, MSTATUS_MIE);     /* taken right here */
	__asm__ volatile("nop");
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(rt_irq_n, 1);
	quiesce();
}

static void t_msip(void)
{
	rt_section("machine software interrupt (CLINT msip)");
	quiesce();
	msip_set(1);
	CHECK_EQ(mmio_r32(CLINT_MSIP(0)), 1);
	CHECK(csr_read(mip) & MIP_MSIP);
	msip_set(0);
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);
	csr_set(mie, MIP_MSIP);
	csr_set(mstatus, MSTATUS_MIE);
	msip_set(1);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(rt_irq_cause[0], IRQ_MSI);
	CHECK_EQ(rt_irq_mode[0], PRV_M);
	msip_set(0);
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);
	quiesce();
}

/* ---- supervisor software interrupt ---- */

static u64 s_raise_ssip(u64 sie_on)
{
	csr_set(sie, MIP_SSIP);
	if (sie_on)
		csr_set(sstatus, MSTATUS_SIE);
	csr_set(sip, MIP_SSIP);
	u64 t0 = rt_time();
	while (rt_irq_n < 1 && rt_time() - t0 < MS(200))
		;
	csr_clear(sstatus, MSTATUS_SIE);
	u64 pending = csr_read(sip) & MIP_SSIP;
	csr_clear(sip, MIP_SSIP);
	return pending;
}

static u64 u_spin(u64 ms)
{
	u64 t0 = rt_time();
	while (rt_irq_n < 1 && rt_time() - t0 < MS(ms))
		;
	return rt_irq_n;
}

static void t_ssip(void)
{
	rt_section("SSIP delegated to S");
	quiesce();
	csr_write(mideleg, MIP_SSIP);
	CHECK(rt_run(PRV_S, s_raise_ssip, 1));       /* still pending after */
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_SSI);
	CHECK_EQ(rt_irq_mode[0], PRV_S);

	rt_section("SSIP delegated, SIE = 0 in S: not taken");
	quiesce();
	csr_write(mideleg, MIP_SSIP);
	rt_run(PRV_S, s_raise_ssip, 0);
	CHECK_EQ(rt_irq_n, 0);

	rt_section("SSIP delegated: taken in U regardless of SIE");
	quiesce();
	csr_write(mideleg, MIP_SSIP);
	csr_write(mie, MIP_SSIP);
	csr_set(mip, MIP_SSIP);
	rt_run(PRV_U, u_spin, 200);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_SSI);
	CHECK_EQ(rt_irq_mode[0], PRV_S);

	rt_section("SSIP delegated: never taken in M");
	quiesce();
	csr_write(mideleg, MIP_SSIP);
	csr_write(mie, MIP_SSIP);
	csr_set(mip, MIP_SSIP);
	csr_set(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	rt_delay_us(1000);
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	CHECK_EQ(rt_irq_n, 0);

	rt_section("SSIP not delegated: to M even from S with MIE = 0");
	quiesce();
	csr_write(mie, MIP_SSIP);
	csr_set(mip, MIP_SSIP);
	rt_run(PRV_S, u_spin, 200);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_SSI);
	CHECK_EQ(rt_irq_mode[0], PRV_M);

	rt_section("M timer taken in U with MIE = 0");
	quiesce();
	mtimecmp_set(rt_time() + MS(1));
	csr_write(mie, MIP_MTIP);
	rt_run(PRV_U, u_spin, 500);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_MTI);
	CHECK_EQ(rt_irq_mode[0], PRV_M);
	quiesce();
}

/* ---- Sstc ---- */

static u64 s_stimecmp(u64 unused)
{
	csr_write(CSR_STIMECMP, ~0UL);
	u64 now = csr_read(time);
	csr_set(sie, MIP_STIP);
	csr_set(sstatus, MSTATUS_SIE);
	csr_write(CSR_STIMECMP, now + MS(2));
	u64 t0 = rt_time();
	while (rt_irq_n < 1 && rt_time() - t0 < WAIT_LIMIT)
		;
	csr_clear(sstatus, MSTATUS_SIE);
	u64 when = csr_read(time);
	CHECK(when >= now + MS(2));
	CHECK(csr_read(sip) & MIP_STIP);
	/* moving stimecmp into the future clears STIP */
	csr_write(CSR_STIMECMP, ~0UL);
	CHECK_EQ(csr_read(sip) & MIP_STIP, 0);
	return 0;
}

static u64 s_try_stimecmp(u64 unused)
{
	u64 pc;
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\tcsrr t0, 0x14d" : "=&r"(pc) :: "t0");
	int n = rt_disarm();
	if (n)
		CHECK_EQ(rt_last.epc, pc);
	return n ? rt_last.cause : ~0UL;
}

static void t_sstc(void)
{
	rt_section("Sstc: stimecmp -> STIP in S");
	quiesce();
	csr_set(CSR_MENVCFG, MENVCFG_STCE);
	CHECK(csr_read(CSR_MENVCFG) & MENVCFG_STCE);
	csr_write(mideleg, MIP_STIP);
	rt_run(PRV_S, s_stimecmp, 0);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_STI);
	CHECK_EQ(rt_irq_mode[0], PRV_S);

	rt_section("Sstc: STIP follows stimecmp, read-only for M");
	quiesce();
	csr_write(CSR_STIMECMP, 0);
	CHECK(csr_read(mip) & MIP_STIP);
	csr_clear(mip, MIP_STIP);
	CHECK(csr_read(mip) & MIP_STIP);
	csr_write(CSR_STIMECMP, ~0UL);
	CHECK_EQ(csr_read(mip) & MIP_STIP, 0);

	rt_section("Sstc: stimecmp gated by STCE and mcounteren.TM");
	csr_write(mcounteren, -1UL & ~2UL);
	CHECK_EQ(rt_run(PRV_S, s_try_stimecmp, 0), CAUSE_ILLEGAL);
	csr_write(mcounteren, -1UL);
	CHECK_EQ(rt_run(PRV_S, s_try_stimecmp, 0), ~0UL);
	csr_clear(CSR_MENVCFG, MENVCFG_STCE);
	CHECK_EQ(rt_run(PRV_S, s_try_stimecmp, 0), CAUSE_ILLEGAL);
	/* without STCE, STIP is an ordinary M-writable bit again */
	csr_set(mip, MIP_STIP);
	CHECK(csr_read(mip) & MIP_STIP);
	csr_clear(mip, MIP_STIP);
	CHECK_EQ(csr_read(mip) & MIP_STIP, 0);
	quiesce();
}

/* ---- WFI ---- */

static void t_wfi(void)
{
	u64 pc, t0;

	rt_section("WFI wakes on a pending timer with MIE = 0");
	quiesce();
	t0 = rt_time();
	mtimecmp_set(t0 + MS(5));
	csr_write(mie, MIP_MTIP);
	while (!(csr_read(mip) & MIP_MTIP) && rt_time() - t0 < WAIT_LIMIT)
		__asm__ volatile("wfi");
	CHECK(csr_read(mip) & MIP_MTIP);
	CHECK(rt_time() >= t0 + MS(5));
	CHECK_EQ(rt_irq_n, 0);

	rt_section("WFI with MIE = 1: the interrupt is taken after the wfi");
	quiesce();
	t0 = rt_time();
	mtimecmp_set(t0 + MS(5));
	csr_write(mie, MIP_MTIP);
	csr_set(mstatus, MSTATUS_MIE);
	__asm__ volatile("lla %0, 1f\n1:\twfi" : "=&r"(pc) :: "memory");
	t0 = rt_time() - t0;
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(rt_irq_cause[0], IRQ_MTI);
	/* the trap is taken on the instruction after the wfi (priv 1.12
	 * §3.3.3) -- unless wfi returned at once (it may be a nop) */
	if (t0 >= MS(5))
		CHECK_EQ(rt_irq_epc[0], pc + 4);
	else
		rt_printf("note: wfi returned early, mepc not checked\n");
	quiesce();
}

/* ---- priority ---- */

static void t_priority(void)
{
	rt_section("priority in M: MSI > MTI > SSI > STI");
	quiesce();
	msip_set(1);
	mtimecmp_set(0);
	csr_set(mip, MIP_SSIP | MIP_STIP);
	csr_write(mie, MIP_MSIP | MIP_MTIP | MIP_SSIP | MIP_STIP);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(4));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(rt_irq_n, 4);
	/* priv 1.12 §3.1.9; QEMU 7.2 takes the lowest-numbered one first */
	QEMU_DIVERGES("interrupt priority is lowest cause first",
		      CHECK_EQ(rt_irq_cause[0], IRQ_MSI);
		      CHECK_EQ(rt_irq_cause[1], IRQ_MTI);
		      CHECK_EQ(rt_irq_cause[2], IRQ_SSI);
		      CHECK_EQ(rt_irq_cause[3], IRQ_STI));

	rt_section("priority in S: SSI > STI (delegated)");
	quiesce();
	csr_write(mideleg, MIP_SSIP | MIP_STIP);
	csr_set(mip, MIP_SSIP | MIP_STIP);
	csr_write(mie, MIP_SSIP | MIP_STIP);
	rt_run(PRV_U, u_spin, 200);
	CHECK(rt_irq_n >= 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_SSI);
	CHECK_EQ(rt_irq_mode[0], PRV_S);

	rt_section("M-level before S-level");
	quiesce();
	csr_write(mideleg, MIP_SSIP);
	csr_set(mip, MIP_SSIP);
	mtimecmp_set(0);
	csr_write(mie, MIP_SSIP | MIP_MTIP);
	rt_run(PRV_U, u_spin, 200);
	CHECK(rt_irq_n >= 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_MTI);
	CHECK_EQ(rt_irq_mode[0], PRV_M);
	quiesce();
}

/* ---- vectored mtvec ---- */

volatile u64 vec_hit = ~0UL;
extern char vec_table[];
__asm__(".pushsection .text\n"
	".option push\n.option norvc\n"
	".balign 256\n"
	".globl vec_table\n"
	"vec_table:\n"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11\n"
	"\tj vstub_\\n\n"
	".endr\n"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11\n"
	"vstub_\\n:\n"
	"\tcsrrw sp, mscratch, sp\n"
	"\taddi sp, sp, -16\n"
	"\tsd t0, 0(sp)\n"
	"\tsd t1, 8(sp)\n"
	"\tla t0, vec_hit\n"
	"\tli t1, \\n\n"
	"\tsd t1, 0(t0)\n"
	"\tld t0, 0(sp)\n"
	"\tld t1, 8(sp)\n"
	"\taddi sp, sp, 16\n"
	"\tcsrrw sp, mscratch, sp\n"
	"\tj rt_trap_entry_m\n"
	".endr\n"
	".option pop\n"
	".popsection");

static void t_vectored(void)
{
	rt_section("vectored mtvec");
	quiesce();
	u64 old = csr_read(mtvec);
	csr_write(mtvec, (u64)vec_table | 1);
	if (!CHECK_EQ(csr_read(mtvec), (u64)vec_table | 1))
		goto out;
	csr_write(mie, MIP_MSIP | MIP_MTIP);
	msip_set(1);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(1));
	csr_clear(mstatus, MSTATUS_MIE);
	msip_set(0);
	CHECK_EQ(vec_hit, IRQ_MSI);
	mtimecmp_set(0);
	csr_set(mstatus, MSTATUS_MIE);
	CHECK(wait_irqs(2));
	csr_clear(mstatus, MSTATUS_MIE);
	CHECK_EQ(vec_hit, IRQ_MTI);
	/* exceptions use the base */
	rt_arm();
	__asm__ volatile("li a7, 0\n\tecall" ::: "a7", "a0", "memory");
	CHECK_EQ(rt_disarm(), 1);
	CHECK_EQ(vec_hit, 0);
out:
	csr_write(mtvec, old);
	quiesce();
}

int main(void)
{
	t_mtimer();
	t_msip();
	t_ssip();
	t_sstc();
	t_wfi();
	t_priority();
	t_vectored();
	return rt_result();
}
