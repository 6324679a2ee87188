/* Trap entry and return (priv 1.12 §3.1.6.1 privilege stack, §3.1.7
 * xtvec, §3.1.8 delegation, §3.1.9 interrupt priority and enables,
 * §3.3.2 MRET/SRET, §4.1.1 sstatus). */
#include "cpu_internal.h"

static void take(struct rv_hart *h, uint64_t cause, uint64_t tval, bool irq)
{
	uint64_t bit = 1ULL << cause;
	uint64_t deleg = irq ? h->mideleg : h->medeleg;
	uint64_t mcause = cause | (irq ? 1ULL << 63 : 0);
	uint64_t s = h->mstatus;
	int from = h->priv;
	uint64_t tvec;

	/* A trap ends any LR/SC sequence (§8.3 allows dropping it). */
	h->reservation = ~0ULL;
	if (from <= RV_PRIV_S && (deleg & bit)) {
		h->sepc = h->pc;
		h->scause = mcause;
		h->stval = tval;
		s = (s & ~(MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE)) |
		    ((s & MSTATUS_SIE) ? MSTATUS_SPIE : 0) |
		    (from == RV_PRIV_S ? MSTATUS_SPP : 0);
		h->priv = RV_PRIV_S;
		tvec = h->stvec;
	} else {
		h->mepc = h->pc;
		h->mcause = mcause;
		h->mtval = tval;
		s = (s & ~(MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE)) |
		    ((s & MSTATUS_MIE) ? MSTATUS_MPIE : 0) |
		    ((uint64_t)from << MSTATUS_MPP_SHIFT);
		h->priv = RV_PRIV_M;
		tvec = h->mtvec;
	}
	h->mstatus = s;
	h->pc = tvec & ~3ULL;
	if (irq && (tvec & 3) == 1)
		h->pc += 4 * cause;
	rv_mmu_set_mode(h);
}

void rv_trap_exception(struct rv_hart *h, uint64_t cause, uint64_t tval)
{
	if (h->m->user_trap) {
		h->reservation = ~0ULL;
		h->m->user_trap(h, cause, tval);
		return;
	}
	take(h, cause, tval, false);
}

bool rv_trap_irq(struct rv_hart *h)
{
	/* Priority order of §3.1.9: MEI, MSI, MTI, SEI, SSI, STI. */
	static const uint8_t order[] = { RV_IRQ_MEI, RV_IRQ_MSI, RV_IRQ_MTI,
					 RV_IRQ_SEI, RV_IRQ_SSI, RV_IRQ_STI };
	uint64_t pend = __atomic_load_n(&h->mip, __ATOMIC_RELAXED) & h->mie;
	if (!pend)
		return false;
	/* M-level (not delegated): taken below M, or in M with MIE.
	 * S-level (delegated): taken in U, or in S with SIE; never in M. */
	uint64_t m = pend & ~h->mideleg, s = pend & h->mideleg;
	if (h->priv == RV_PRIV_M && !(h->mstatus & MSTATUS_MIE))
		m = 0;
	if (h->priv == RV_PRIV_M ||
	    (h->priv == RV_PRIV_S && !(h->mstatus & MSTATUS_SIE)))
		s = 0;
	uint64_t sel = m ? m : s;
	if (!sel)
		return false;
	for (unsigned i = 0; i < sizeof(order); i++) {
		if (sel & (1ULL << order[i])) {
			take(h, order[i], 0, true);
			return true;
		}
	}
	return false;
}

void rv_trap_mret(struct rv_hart *h)
{
	uint64_t s = h->mstatus;
	int mpp = (int)((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
	s = (s & ~(MSTATUS_MIE | MSTATUS_MPP)) |
	    ((s & MSTATUS_MPIE) ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
	if (mpp != RV_PRIV_M)
		s &= ~MSTATUS_MPRV;
	h->mstatus = s;
	h->priv = mpp;
	h->pc = h->mepc;
	h->reservation = ~0ULL;
	rv_mmu_set_mode(h);
}

void rv_trap_sret(struct rv_hart *h)
{
	uint64_t s = h->mstatus;
	int spp = (s & MSTATUS_SPP) ? RV_PRIV_S : RV_PRIV_U;
	s = (s & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) |
	    ((s & MSTATUS_SPIE) ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
	h->mstatus = s;
	h->priv = spp;
	h->pc = h->sepc;
	h->reservation = ~0ULL;
	rv_mmu_set_mode(h);
}
