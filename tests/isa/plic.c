/* Platform interrupts: the UART (IRQ 10) through the PLIC to hart 0's M
 * context (MEIP, cause 11) and S context (SEIP delegated, cause 9):
 * pending bits, claim/complete, priority 0 and the threshold masking,
 * software-writable mip.SEIP.  The UART source is its "transmitter
 * holding register empty" interrupt (IER.ETBEI), which is asserted while
 * the THR is empty. */
#include "rt.h"

#define PLIC_BASE        0x0c000000UL
#define PLIC_PRIO(s)     (PLIC_BASE + 4 * (s))
#define PLIC_PENDING     (PLIC_BASE + 0x1000)
#define PLIC_ENABLE(c)   (PLIC_BASE + 0x2000 + 0x80 * (c))
#define PLIC_THRESH(c)   (PLIC_BASE + 0x200000 + 0x1000 * (c))
#define PLIC_CLAIM(c)    (PLIC_BASE + 0x200004 + 0x1000 * (c))
#define CTX_M 0
#define CTX_S 1
#define UART_IRQ 10
#define UART_IER (UART_BASE + 1)
#define UART_IIR (UART_BASE + 2)

static volatile u32 claimed[8];
static volatile int nclaimed;

static void uart_thri(int on)
{
	mmio_w8(UART_IER, on ? 0x02 : 0x00);
}

/* Interrupt hook: claim from the handling mode's context, silence the
 * UART, complete. */
static void ext_hook(u64 cause, struct rt_frame *f, int mode)
{
	if (cause != IRQ_MEI && cause != IRQ_SEI) {
		if (mode == PRV_M)
			csr_clear(mie, 1UL << cause);
		else
			csr_clear(sie, 1UL << cause);
		return;
	}
	int ctx = mode == PRV_M ? CTX_M : CTX_S;
	u32 id = mmio_r32(PLIC_CLAIM(ctx));
	if (nclaimed < 8)
		claimed[nclaimed++] = id;
	if (id == UART_IRQ)
		uart_thri(0);
	if (id)
		mmio_w32(PLIC_CLAIM(ctx), id);
	else if (mode == PRV_M)
		csr_clear(mie, MIP_MEIP);     /* spurious: stop a storm */
	else
		csr_clear(sie, MIP_SEIP);
}

static void reset(void)
{
	uart_thri(0);
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE);
	csr_write(mie, 0);
	csr_write(mideleg, 0);
	for (int c = 0; c < 2; c++) {
		mmio_w32(PLIC_ENABLE(c), 0);
		mmio_w32(PLIC_THRESH(c), 0);
		/* complete anything left claimed */
		u32 id = mmio_r32(PLIC_CLAIM(c));
		if (id)
			mmio_w32(PLIC_CLAIM(c), id);
	}
	mmio_w32(PLIC_PRIO(UART_IRQ), 0);
	rt_irq_reset();
	nclaimed = 0;
	rt_irq_hook = ext_hook;
}

static void t_polled(void)
{
	u32 pend, pend_after, id, id2, iir, thr1;
	u64 mip_on, mip_claimed, mip_done, mip_thr0;

	rt_section("UART IRQ -> PLIC -> MEIP (polled)");
	reset();
	mmio_w32(PLIC_PRIO(UART_IRQ), 1);
	CHECK_EQ(mmio_r32(PLIC_PRIO(UART_IRQ)), 1);
	mmio_w32(PLIC_ENABLE(CTX_M), 1u << UART_IRQ);
	CHECK_EQ(mmio_r32(PLIC_ENABLE(CTX_M)), 1u << UART_IRQ);

	/* IIR names the source (reading it clears a THRE interrupt, so the
	 * PLIC part below enables the interrupt afresh) */
	uart_thri(1);
	iir = mmio_r8(UART_IIR);
	uart_thri(0);
	uart_thri(1);
	rt_delay_us(100);
	pend = mmio_r32(PLIC_PENDING);
	mip_on = csr_read(mip) & MIP_MEIP;
	/* threshold >= priority masks it */
	mmio_w32(PLIC_THRESH(CTX_M), 1);
	thr1 = mmio_r32(PLIC_THRESH(CTX_M));
	mip_thr0 = csr_read(mip) & MIP_MEIP;
	mmio_w32(PLIC_THRESH(CTX_M), 0);
	id = mmio_r32(PLIC_CLAIM(CTX_M));
	mip_claimed = csr_read(mip) & MIP_MEIP;
	uart_thri(0);
	pend_after = mmio_r32(PLIC_PENDING);
	id2 = mmio_r32(PLIC_CLAIM(CTX_M));      /* nothing more: 0 */
	mmio_w32(PLIC_CLAIM(CTX_M), id);
	mip_done = csr_read(mip) & MIP_MEIP;

	CHECK_EQ(iir & 0x0f, 0x02);              /* THR empty */
	CHECK(pend & (1u << UART_IRQ));
	CHECK(mip_on);
	CHECK_EQ(thr1, 1);
	CHECK_EQ(mip_thr0, 0);
	CHECK_EQ(id, UART_IRQ);
	CHECK_EQ(mip_claimed, 0);
	CHECK_EQ(pend_after & (1u << UART_IRQ), 0);
	CHECK_EQ(id2, 0);
	CHECK_EQ(mip_done, 0);

	rt_section("priority 0 never interrupts");
	reset();
	mmio_w32(PLIC_ENABLE(CTX_M), 1u << UART_IRQ);
	uart_thri(1);
	rt_delay_us(100);
	mip_on = csr_read(mip) & MIP_MEIP;
	id = mmio_r32(PLIC_CLAIM(CTX_M));
	uart_thri(0);
	if (id)
		mmio_w32(PLIC_CLAIM(CTX_M), id);
	CHECK_EQ(mip_on, 0);
	CHECK_EQ(id, 0);

	rt_section("not enabled for the context");
	reset();
	mmio_w32(PLIC_PRIO(UART_IRQ), 1);
	uart_thri(1);
	rt_delay_us(100);
	pend = mmio_r32(PLIC_PENDING);
	mip_on = csr_read(mip) & (MIP_MEIP | MIP_SEIP);
	uart_thri(0);
	CHECK(pend & (1u << UART_IRQ));
	CHECK_EQ(mip_on, 0);
	reset();
}

static void t_trap_m(void)
{
	rt_section("external interrupt to M (cause 11)");
	reset();
	mmio_w32(PLIC_PRIO(UART_IRQ), 3);
	mmio_w32(PLIC_ENABLE(CTX_M), 1u << UART_IRQ);
	csr_write(mie, MIP_MEIP);
	csr_set(mstatus, MSTATUS_MIE);
	uart_thri(1);
	u64 t0 = rt_time();
	while (rt_irq_n < 1 && rt_time() - t0 < TIMEBASE_HZ)
		;
	csr_clear(mstatus, MSTATUS_MIE);
	uart_thri(0);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_MEI);
	CHECK_EQ(rt_irq_mode[0], PRV_M);
	CHECK_EQ(nclaimed, 1);
	CHECK_EQ(claimed[0], UART_IRQ);
	CHECK_EQ(csr_read(mip) & MIP_MEIP, 0);
	reset();
}

static u64 s_wait(u64 unused)
{
	csr_set(sie, MIP_SEIP);
	csr_set(sstatus, MSTATUS_SIE);
	uart_thri(1);
	u64 t0 = rt_time();
	while (rt_irq_n < 1 && rt_time() - t0 < TIMEBASE_HZ)
		;
	csr_clear(sstatus, MSTATUS_SIE);
	uart_thri(0);
	return 0;
}

static void t_trap_s(void)
{
	rt_section("external interrupt to S (cause 9, delegated)");
	reset();
	mmio_w32(PLIC_PRIO(UART_IRQ), 2);
	mmio_w32(PLIC_ENABLE(CTX_S), 1u << UART_IRQ);
	csr_write(mideleg, MIP_SEIP);
	rt_run(PRV_S, s_wait, 0);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_SEI);
	CHECK_EQ(rt_irq_mode[0], PRV_S);
	CHECK_EQ(nclaimed, 1);
	CHECK_EQ(claimed[0], UART_IRQ);
	reset();

	rt_section("software-writable mip.SEIP");
	csr_set(mip, MIP_SEIP);
	CHECK(csr_read(mip) & MIP_SEIP);
	csr_clear(mip, MIP_SEIP);
	CHECK_EQ(csr_read(mip) & MIP_SEIP, 0);
	/* it interrupts S like the PLIC line does */
	csr_write(mideleg, MIP_SEIP);
	rt_irq_hook = 0;      /* default: disable sie.SEIE when taken */
	csr_set(mip, MIP_SEIP);
	rt_run(PRV_S, s_wait, 0);
	csr_clear(mip, MIP_SEIP);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_SEI);
	CHECK_EQ(rt_irq_mode[0], PRV_S);
	reset();
	rt_irq_hook = 0;
}

int main(void)
{
	t_polled();
	t_trap_m();
	t_trap_s();
	return rt_result();
}
