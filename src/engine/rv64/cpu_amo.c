/* LR/SC and AMOs (unprivileged 20191213 ch. 8 "A") and the cache-block
 * operations of Zicbom/Zicboz 1.0.
 *
 * Every hart runs on its own host thread, so these are host atomics on
 * guest RAM: AMOs are __atomic_fetch_* (min/max: a compare-and-swap
 * loop), i.e. x86 lock-prefixed instructions, which are full barriers
 * and so satisfy any .aq/.rl.  A reservation is the physical address plus
 * the value LR saw; SC is a compare-and-swap of that value with the new
 * one.  So a store by another hart between LR and SC that changed the
 * word makes SC fail, and because the CAS is one atomic step no update
 * is ever lost.  ABA choice: a store that wrote back the same value (or
 * changed it and back) lets SC succeed; the constrained LR/SC loops of
 * §8.3 only need eventual success and atomicity of the read-modify-write
 * they implement, which the CAS gives (as in QEMU).  LR.aqrl gets a
 * host fence before its load (x86 may otherwise let it pass an earlier
 * store).  RAM only: AMOs on I/O regions raise access faults, as PMAs
 * without atomics do (priv §3.6.3). */
#include "cpu_internal.h"

#include <string.h>

static uint64_t sext_n(uint64_t v, unsigned size)
{
	return size == 4 ? (uint64_t)(int64_t)(int32_t)v : v;
}

static uint64_t load_n(const uint8_t *p, unsigned size)
{
	if (size == 4)
		return sext_n(__atomic_load_n((const uint32_t *)p,
					      __ATOMIC_ACQUIRE), 4);
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

/* Compare-and-swap of a naturally aligned word; true if it was `expect`. */
static bool cas_n(uint8_t *p, unsigned size, uint64_t expect, uint64_t nv)
{
	if (size == 4) {
		uint32_t e = (uint32_t)expect;
		return __atomic_compare_exchange_n((uint32_t *)p, &e,
						   (uint32_t)nv, false,
						   __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	return __atomic_compare_exchange_n((uint64_t *)p, &expect, nv, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* AMO arithmetic on sign-extended values; W ops compare as 32-bit. */
static uint64_t amo_apply(unsigned k, uint64_t a, uint64_t b, unsigned size)
{
	if (size == 4) {
		a = (uint64_t)(int64_t)(int32_t)a;
		b = (uint64_t)(int64_t)(int32_t)b;
	}
	uint64_t ua = size == 4 ? (uint32_t)a : a;
	uint64_t ub = size == 4 ? (uint32_t)b : b;
	switch (k) {
	case RV_OP_AMOSWAP_W: return b;
	case RV_OP_AMOADD_W: return a + b;
	case RV_OP_AMOXOR_W: return a ^ b;
	case RV_OP_AMOAND_W: return a & b;
	case RV_OP_AMOOR_W: return a | b;
	case RV_OP_AMOMIN_W: return (int64_t)a < (int64_t)b ? a : b;
	case RV_OP_AMOMAX_W: return (int64_t)a > (int64_t)b ? a : b;
	case RV_OP_AMOMINU_W: return ua < ub ? a : b;
	case RV_OP_AMOMAXU_W: return ua > ub ? a : b;
	}
	return a;
}

#define FETCH_OP(op, p, v)                                                 \
	(size == 4 ? sext_n(__atomic_##op((uint32_t *)(p), (uint32_t)(v),  \
					  __ATOMIC_SEQ_CST), 4)            \
		   : __atomic_##op((uint64_t *)(p), (v), __ATOMIC_SEQ_CST))

/* One AMO as a single atomic step; returns the old value (sign-extended
 * for W). */
static uint64_t amo_atomic(unsigned k, uint8_t *p, unsigned size, uint64_t src)
{
	switch (k) {
	case RV_OP_AMOSWAP_W: return FETCH_OP(exchange_n, p, src);
	case RV_OP_AMOADD_W: return FETCH_OP(fetch_add, p, src);
	case RV_OP_AMOXOR_W: return FETCH_OP(fetch_xor, p, src);
	case RV_OP_AMOAND_W: return FETCH_OP(fetch_and, p, src);
	case RV_OP_AMOOR_W: return FETCH_OP(fetch_or, p, src);
	}
	/* min/max: no host instruction, so compare-and-swap until no other
	 * hart changed the word in between. */
	uint64_t old = load_n(p, size);
	while (!cas_n(p, size, old, amo_apply(k, old, src, size)))
		old = load_n(p, size);
	return old;
}

/* Guest-physical address of host pointer p into RAM. */
static uint64_t host_to_pa(const struct rv_hart *h, const uint8_t *p)
{
	const struct guest_mem *m = &h->m->mem;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->r[i];
		if (p >= r->hva && p < r->hva + r->size)
			return r->gpa + (uint64_t)(p - r->hva);
	}
	return ~0ULL;
}

/* RAM for a naturally aligned access, through the current TLB (the
 * store TLB only maps writable RAM that holds no code), refilled on a
 * miss.  Returns 0, 1 if code in the page was dropped, or -1. */
static int amo_ptr(struct rv_hart *h, uint64_t va, unsigned size,
		   enum rv_access acc, uint8_t **p, uint64_t *pa)
{
	struct rv_cpu *c = rv_cpu(h);
	const struct rv_tlb *t = acc == RV_ACC_LOAD ? c->ltlb : c->stlb;
	const struct rv_tlbe *e = &t->e[(va >> RV_PAGE_SHIFT) & RV_TLB_MASK];
	int code = 0;
	if (e->tag == va >> RV_PAGE_SHIFT)
		*p = (uint8_t *)(uintptr_t)(va + e->addend);
	else if ((code = rv_tlb_refill(h, va, size, acc, p)) < 0)
		return -1;
	*pa = host_to_pa(h, *p);
	return code;
}

int rv_amo(struct rv_hart *h, const struct rv_op *op)
{
	struct rv_cpu *c = rv_cpu(h);
	unsigned opc = (unsigned)op->imm;
	bool dbl = opc >= RV_OP_LR_D;
	unsigned size = dbl ? 8 : 4;
	/* Map the D ops onto the W names; amo_apply() knows the width. */
	unsigned k = dbl ? opc - (RV_OP_LR_D - RV_OP_LR_W) : opc;
	uint64_t va = h->x[op->rs1], src = h->x[op->rs2];
	uint8_t *p;
	uint64_t pa, old;
	int code = 0;

	if (k == RV_OP_LR_W) {
		if (va & (size - 1))
			return rv_exc(h, RV_EXC_LOAD_MISALIGNED, va);
		if (amo_ptr(h, va, size, RV_ACC_LOAD, &p, &pa) < 0)
			return -1;
		if ((op->imm2 >> 25) & 1)   /* .rl: earlier stores first */
			rv_host_mb();
		old = load_n(p, size);
		h->reservation = pa;
		c->resv_val = old;
		c->resv_size = size;
		if (op->rd)
			h->x[op->rd] = old;
		return 0;
	}
	if (va & (size - 1))
		return rv_exc(h, RV_EXC_STORE_MISALIGNED, va);
	/* Code in the page is dropped before the write, as for a store. */
	if ((code = amo_ptr(h, va, size, RV_ACC_STORE, &p, &pa)) < 0)
		return -1;
	if (k == RV_OP_SC_W) {
		bool ok = h->reservation == pa && c->resv_size == size &&
			  cas_n(p, size, c->resv_val, src);
		h->reservation = ~0ULL;
		if (op->rd)
			h->x[op->rd] = !ok;
		return code;
	}
	old = amo_atomic(k, p, size, src);
	if (op->rd)
		h->x[op->rd] = old;
	return code;
}

/* Guest RAM, so the guest's race (cpu_internal.h). */
RV_GUEST_MEM static void cbo_zero(uint8_t *p)
{
	static const uint8_t zero[RV_CBO_BLOCK_SIZE];
	rv_gmem_copy(p, zero, RV_CBO_BLOCK_SIZE);
}

/* May the current mode run this CMO (Zicbom §2.5.3, Zicboz §2.5.4 via
 * menvcfg/senvcfg)?  M-mode always may. */
static bool cbo_allowed(const struct rv_hart *h, uint64_t field)
{
	if (h->priv == RV_PRIV_M)
		return true;
	if (!(h->menvcfg & field))
		return false;
	return h->priv == RV_PRIV_S || (h->senvcfg & field);
}

int rv_cbo(struct rv_hart *h, const struct rv_op *op)
{
	struct rv_cpu *c = rv_cpu(h);
	unsigned opc = (unsigned)op->imm;
	uint64_t field = opc == RV_OP_CBO_ZERO ? ENVCFG_CBZE :
			 opc == RV_OP_CBO_INVAL ? ENVCFG_CBIE : ENVCFG_CBCFE;
	uint64_t va = h->x[op->rs1] & ~(uint64_t)(RV_CBO_BLOCK_SIZE - 1);
	uint8_t *p;
	uint64_t pa;

	if (!cbo_allowed(h, field))
		return rv_exc(h, RV_EXC_ILLEGAL, (uint32_t)op->imm2);
	if (opc == RV_OP_CBO_ZERO) {
		/* Linux clears every page this way: through the TLB. */
		int code = amo_ptr(h, va, RV_CBO_BLOCK_SIZE, RV_ACC_STORE, &p, &pa);
		if (code < 0)
			return -1;
		cbo_zero(p);
		return code;
	}
	/* clean/flush/inval need load or store permission; this cache is
	 * coherent, so after the checks there is nothing to do.  Faults
	 * are reported as store faults (Zicbom §2.5.3). */
	if (rv_mmu_translate(h, va, RV_ACC_LOAD, &pa, NULL)) {
		if (c->exc_cause == RV_EXC_LOAD_PAGE)
			c->exc_cause = RV_EXC_STORE_PAGE;
		else
			c->exc_cause = RV_EXC_STORE_ACCESS;
		return -1;
	}
	if (!gpa_ptr(&h->m->mem, pa, 1) && !bus_find(&h->m->bus, pa))
		return rv_exc(h, RV_EXC_STORE_ACCESS, va);
	return 0;
}
