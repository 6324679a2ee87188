/* Sv39/Sv48 address translation and the software TLB
 * (priv 1.12 §4.3.1-§4.3.2 and §4.4; Svpbmt 1.0; A/D bits updated by
 * hardware as in Svadu).
 *
 * The TLB caches one 4 KiB page per entry even when a superpage mapped
 * it, which keeps a hit to one compare; the virtual span of superpage
 * entries is tracked so that an address-specific sfence.vma can fall back
 * to a full flush when a superpage might cover the address. */
#include "cpu_internal.h"

#include <string.h>

static uint64_t fault_cause(enum rv_access acc, bool page)
{
	static const uint64_t pf[] = { RV_EXC_INSN_PAGE, RV_EXC_LOAD_PAGE,
				       RV_EXC_STORE_PAGE };
	static const uint64_t af[] = { RV_EXC_INSN_ACCESS, RV_EXC_LOAD_ACCESS,
				       RV_EXC_STORE_ACCESS };
	return page ? pf[acc] : af[acc];
}

/* Leaf permission check (§4.3.1 table 4.5, §3.1.6.3 SUM/MXR). */
static bool leaf_allows(const struct rv_hart *h, uint64_t pte, int priv,
			enum rv_access acc)
{
	if (pte & PTE_U) {
		/* S-mode never executes user pages; it reads/writes them
		 * only with SUM. */
		if (priv == RV_PRIV_S &&
		    (acc == RV_ACC_FETCH || !(h->mstatus & MSTATUS_SUM)))
			return false;
	} else if (priv == RV_PRIV_U) {
		return false;
	}
	switch (acc) {
	case RV_ACC_FETCH:
		return pte & PTE_X;
	case RV_ACC_LOAD:
		return (pte & PTE_R) ||
		       ((pte & PTE_X) && (h->mstatus & MSTATUS_MXR));
	case RV_ACC_STORE:
		return pte & PTE_W;
	}
	return false;
}

/* Reserved bits and encodings a PTE must not use (§4.3.2 step 3 with
 * Svpbmt §6; Svnapot's N bit is not implemented, so it is reserved). */
static bool pte_reserved(const struct rv_hart *h, uint64_t pte, bool leaf)
{
	uint64_t pbmt = (pte & PTE_PBMT_MASK) >> PTE_PBMT_SHIFT;
	if (pte & (PTE_RSVD_MASK | PTE_N))
		return true;
	if (!pbmt)
		return false;
	return !leaf || pbmt == 3 || !(h->menvcfg & ENVCFG_PBMTE);
}

int rv_mmu_translate(struct rv_hart *h, uint64_t va, enum rv_access acc,
		     uint64_t *pa, bool *super)
{
	int priv = acc == RV_ACC_FETCH ? h->priv : rv_data_priv(h);
	unsigned mode = (unsigned)(h->satp >> SATP_MODE_SHIFT);
	if (super)
		*super = false;
	if (priv == RV_PRIV_M || mode == SATP_MODE_BARE) {
		*pa = va;
		return 0;
	}

	int levels = mode == SATP_MODE_SV48 ? 4 : 3;
	unsigned vabits = 12 + 9 * (unsigned)levels;
	/* Bits above the VA width must all equal its top bit (§4.3.1). */
	if ((uint64_t)((int64_t)(va << (64 - vabits)) >> (64 - vabits)) != va)
		return rv_exc(h, fault_cause(acc, true), va);

	uint64_t a = (h->satp & SATP_PPN_MASK) << RV_PAGE_SHIFT;
	for (int i = levels - 1; i >= 0; i--) {
		unsigned shift = RV_PAGE_SHIFT + 9 * (unsigned)i;
		uint64_t pte_pa = a + ((va >> shift) & 511) * 8;
		uint64_t *p = gpa_ptr(&h->m->mem, pte_pa, 8);
		if (!p)
			return rv_exc(h, fault_cause(acc, false), va);
		uint64_t pte;
again:
		pte = __atomic_load_n(p, __ATOMIC_ACQUIRE);
		if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)))
			return rv_exc(h, fault_cause(acc, true), va);
		bool leaf = pte & (PTE_R | PTE_X);
		if (pte_reserved(h, pte, leaf))
			return rv_exc(h, fault_cause(acc, true), va);
		uint64_t ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
		if (!leaf) {
			if (i == 0)
				return rv_exc(h, fault_cause(acc, true), va);
			a = ppn << RV_PAGE_SHIFT;
			continue;
		}
		if (!leaf_allows(h, pte, priv, acc))
			return rv_exc(h, fault_cause(acc, true), va);
		uint64_t low = (1ULL << (9 * (unsigned)i)) - 1;
		if (ppn & low) /* misaligned superpage */
			return rv_exc(h, fault_cause(acc, true), va);
		uint64_t need = PTE_A | (acc == RV_ACC_STORE ? PTE_D : 0);
		if ((pte & need) != need) {
			/* Step 7: compare-and-set so a concurrent change of
			 * the PTE (another hart, DMA) restarts this level. */
			if (!__atomic_compare_exchange_n(p, &pte, pte | need,
							 false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				goto again;
		}
		*pa = ((ppn & ~low) << RV_PAGE_SHIFT) |
		      (va & ((1ULL << shift) - 1));
		if (super)
			*super = i > 0;
		return 0;
	}
	return rv_exc(h, fault_cause(acc, true), va); /* not reached */
}

static unsigned data_set(const struct rv_hart *h)
{
	switch (rv_data_priv(h)) {
	case RV_PRIV_U: return RV_TLBSET_U;
	case RV_PRIV_S:
		return h->mstatus & MSTATUS_SUM ? RV_TLBSET_SSUM : RV_TLBSET_S;
	default: return RV_TLBSET_M;
	}
}

void rv_mmu_set_mode(struct rv_hart *h)
{
	struct rv_cpu *c = rv_cpu(h);
	unsigned fs = h->priv == RV_PRIV_U ? RV_TLBSET_U :
		      h->priv == RV_PRIV_S ? RV_TLBSET_S : RV_TLBSET_M;
	unsigned ds = data_set(h);
	c->itlb = &c->tlb[RV_ACC_FETCH][fs];
	c->ltlb = &c->tlb[RV_ACC_LOAD][ds];
	c->stlb = &c->tlb[RV_ACC_STORE][ds];
}

static struct rv_tlb *cur_tlb(struct rv_cpu *c, enum rv_access acc)
{
	return acc == RV_ACC_FETCH ? c->itlb :
	       acc == RV_ACC_LOAD ? c->ltlb : c->stlb;
}

void rv_tlb_fill(struct rv_hart *h, enum rv_access acc, uint64_t va,
		 uint8_t *host_page, bool super)
{
	struct rv_cpu *c = rv_cpu(h);
	struct rv_tlb *t = cur_tlb(c, acc);
	uint64_t vpn = va >> RV_PAGE_SHIFT;
	unsigned i = (unsigned)vpn & RV_TLB_MASK;
	t->e[i].tag = vpn;
	t->e[i].addend = (uintptr_t)host_page - (uintptr_t)(vpn << RV_PAGE_SHIFT);
	/* A store entry is made for a store about to happen; later stores
	 * through it are not seen, until dirty_log_sync drops it. */
	if (acc == RV_ACC_STORE && guest_mem_logging(&h->m->mem))
		guest_mem_mark_dirty_hva(&h->m->mem, host_page, RV_PAGE_SIZE);
	if (t->nused < RV_TLB_SIZE)
		t->used[t->nused++] = (uint16_t)i;
	else
		t->overflow = true;
	if (super) {
		uint64_t page = vpn << RV_PAGE_SHIFT;
		if (page < c->super_lo)
			c->super_lo = page;
		if (page > c->super_hi)
			c->super_hi = page;
	}
}

static void tlb_clear(struct rv_tlb *t)
{
	if (t->overflow) {
		for (unsigned i = 0; i < RV_TLB_SIZE; i++)
			t->e[i].tag = RV_TLB_INVALID;
	} else {
		for (unsigned k = 0; k < t->nused; k++)
			t->e[t->used[k]].tag = RV_TLB_INVALID;
	}
	t->nused = 0;
	t->overflow = false;
}

void rv_tlb_flush_va(struct rv_hart *h, const uint64_t *va)
{
	struct rv_cpu *c = rv_cpu(h);
	if (va && (*va & ~RV_PAGE_MASK) >= c->super_lo &&
	    (*va & ~RV_PAGE_MASK) <= c->super_hi)
		va = NULL;
	for (unsigned a = 0; a < 3; a++) {
		for (unsigned s = 0; s < RV_TLBSET_COUNT; s++) {
			struct rv_tlb *t = &c->tlb[a][s];
			if (!va) {
				tlb_clear(t);
				continue;
			}
			uint64_t vpn = *va >> RV_PAGE_SHIFT;
			struct rv_tlbe *e = &t->e[vpn & RV_TLB_MASK];
			if (e->tag == vpn)
				e->tag = RV_TLB_INVALID;
		}
	}
	if (!va) {
		c->super_lo = ~0ULL;
		c->super_hi = 0;
	}
}

void rv_tlb_drop_store_page(struct rv_hart *h, uintptr_t hpage)
{
	struct rv_cpu *c = rv_cpu(h);
	for (unsigned s = 0; s < RV_TLBSET_COUNT; s++) {
		struct rv_tlb *t = &c->tlb[RV_ACC_STORE][s];
		unsigned n = t->overflow ? RV_TLB_SIZE : t->nused;
		for (unsigned k = 0; k < n; k++) {
			struct rv_tlbe *e = &t->e[t->overflow ? k : t->used[k]];
			if (e->tag == RV_TLB_INVALID)
				continue;
			uintptr_t host = (uintptr_t)(e->tag << RV_PAGE_SHIFT) +
					 e->addend;
			if (host >> RV_PAGE_SHIFT == hpage)
				e->tag = RV_TLB_INVALID;
		}
	}
}
