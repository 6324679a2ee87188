/* LR/SC and AMOs (unprivileged 20191213 ch. 8 "A") and the cache-block
 * operations of Zicbom/Zicboz 1.0.
 *
 * All harts run on one host thread and an op runs to completion, so an
 * AMO is atomic by construction and .aq/.rl need nothing.  A reservation
 * is the physical address plus the value LR saw; SC succeeds only if
 * memory still holds that value, which is what another hart's
 * intervening store would have changed (an ABA store of the same value
 * is allowed to let SC succeed: the constrained LR/SC loops of §8.3 only
 * need eventual success and no lost updates).  RAM only: AMOs on I/O
 * regions raise access faults, as PMAs without atomics do (priv §3.6.3). */
#include "cpu_internal.h"

#include <string.h>

static uint64_t load_n(const uint8_t *p, unsigned size)
{
	if (size == 4) {
		int32_t v;
		memcpy(&v, p, 4);
		return (uint64_t)(int64_t)v;
	}
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void store_n(uint8_t *p, unsigned size, uint64_t v)
{
	memcpy(p, &v, size);
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
			  load_n(p, size) == c->resv_val;
		h->reservation = ~0ULL;
		if (ok)
			store_n(p, size, src);
		if (op->rd)
			h->x[op->rd] = !ok;
		return code;
	}
	old = load_n(p, size);
	store_n(p, size, amo_apply(k, old, src, size));
	if (op->rd)
		h->x[op->rd] = old;
	return code;
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
		memset(p, 0, RV_CBO_BLOCK_SIZE);
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
