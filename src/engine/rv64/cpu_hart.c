/* Hart lifecycle and the entry points the platform uses (CLINT, PLIC,
 * SBI, run loop): reset state, interrupt lines, timers, flushes, and the
 * ISA description for the FDT (priv 1.12 §3.4 reset; §3.1.9 mip/mie;
 * Sstc 1.0; SBI 2.0 §9.1 boot register convention). */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>

/* misa: MXL = 64 and the letters I M A F D C S U (§3.1.1). */
#define MISA_RV64 ((2ULL << 62) | (1u << ('I' - 'A')) | (1u << ('M' - 'A')) | \
		   (1u << ('A' - 'A')) | (1u << ('F' - 'A')) |               \
		   (1u << ('D' - 'A')) | (1u << ('C' - 'A')) |               \
		   (1u << ('S' - 'A')) | (1u << ('U' - 'A')))

/* With the built-in SBI every exception but the ecalls that reach the
 * firmware goes to S-mode: 0-8, 12, 13, 15 (§3.1.8). */
#define SBI_MEDELEG 0xb1ffULL

static const char *const isa_extensions[] = {
	"i", "m", "a", "f", "d", "c",
	"zicbom", "zicboz", "zicntr", "zicsr", "zifencei", "zihintpause",
	"zba", "zbb", "zbs",
	"sstc", "svpbmt",
};

const char *rv_isa_string(void)
{
	/* Multi-letter extensions in canonical order: Z by category
	 * (i, then b), alphabetical within; then S (unpriv ch. 27). */
	return "rv64imafdc_zicbom_zicboz_zicntr_zicsr_zifencei_zihintpause"
	       "_zba_zbb_zbs_sstc_svpbmt";
}

const char *const *rv_isa_extensions(unsigned *n)
{
	*n = sizeof(isa_extensions) / sizeof(isa_extensions[0]);
	return isa_extensions;
}

static void tlb_init(struct rv_cpu *c)
{
	for (unsigned a = 0; a < 3; a++)
		for (unsigned s = 0; s < RV_TLBSET_COUNT; s++) {
			struct rv_tlb *t = &c->tlb[a][s];
			for (unsigned i = 0; i < RV_TLB_SIZE; i++)
				t->e[i].tag = RV_TLB_INVALID;
			t->nused = 0;
			t->overflow = false;
		}
	c->super_lo = ~0ULL;
	c->super_hi = 0;
}

struct rv_hart *rv_hart_new(struct rv_machine *m, unsigned hartid,
			    struct err *errp)
{
	struct rv_hart *h = calloc(1, sizeof(*h));
	struct rv_cpu *c = calloc(1, sizeof(*c));
	if (!h || !c) {
		free(h);
		free(c);
		err_set(errp, ENOMEM, "cannot allocate hart %u", hartid);
		return NULL;
	}
	if (rv_block_cache_init(c, errp)) {
		free(h);
		free(c);
		return NULL;
	}
	c->labels = rv_exec_labels();
	if (m->accel != RV_ACCEL_INTERP &&
	    rv_jit_new(m->accel, m->jit_code_bytes ? m->jit_code_bytes :
				   RV_JIT_CODE_BYTES, c->labels, &c->jit, errp)) {
		rv_block_cache_free(c);
		free(h);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&h->vlock, NULL);
	pthread_cond_init(&h->vcond, NULL);
	h->priv_ = c;
	h->m = m;
	h->hartid = hartid;
	h->mtimecmp = UINT64_MAX;
	tlb_init(c);
	rv_hart_reset(h, 0, RV_PRIV_M, 0);
	h->state = RV_HART_STOPPED;
	return h;
}

void rv_hart_free(struct rv_hart *h)
{
	if (!h)
		return;
	struct rv_cpu *c = rv_cpu(h);
	if (c) {
		rv_jit_free(c->jit);
		rv_block_cache_free(c);
		free(c);
	}
	pthread_cond_destroy(&h->vcond);
	pthread_mutex_destroy(&h->vlock);
	free(h);
}

void rv_hart_reset(struct rv_hart *h, uint64_t pc, int priv, uint64_t arg1)
{
	pthread_mutex_lock(&h->vlock);
	rv_hart_reset_locked(h, pc, priv, arg1);
	pthread_mutex_unlock(&h->vlock);
}

void rv_hart_reset_locked(struct rv_hart *h, uint64_t pc, int priv,
			  uint64_t arg1)
{
	struct rv_cpu *c = rv_cpu(h);
	/* Interrupt lines driven by devices (CLINT MTIP/MSIP, PLIC
	 * MEIP/SEIP) keep their level across a reset of the hart. */
	const uint64_t lines = RV_MIP_MSIP | RV_MIP_MTIP | RV_MIP_MEIP |
			       RV_MIP_SEIP_HW;

	memset(h->x, 0, sizeof(h->x));
	memset(h->f, 0, sizeof(h->f));
	h->fflags = h->frm = 0;
	h->pc = pc;
	h->priv = priv;
	h->mstatus = MSTATUS_UXL_64 | MSTATUS_SXL_64;
	h->misa = MISA_RV64;
	h->medeleg = h->mideleg = h->mie = 0;
	rv_mip_update(h, ~lines, 0, NULL);
	h->mtvec = h->mscratch = h->mepc = h->mcause = h->mtval = 0;
	h->mcounteren = h->menvcfg = h->mcountinhibit = 0;
	h->stvec = h->sscratch = h->sepc = h->scause = h->stval = 0;
	h->satp = h->scounteren = h->senvcfg = 0;
	h->stimecmp = ~0ULL;
	h->cycle = h->instret = 0;
	memset(h->pmpcfg, 0, sizeof(h->pmpcfg));
	memset(h->pmpaddr, 0, sizeof(h->pmpaddr));
	h->reservation = ~0ULL;
	h->x[10] = h->hartid;
	h->x[11] = arg1;
	rv_hart_set_state(h, RV_HART_STARTED);
	h->wfi = false;
	__atomic_store_n(&h->kick, 0, __ATOMIC_RELAXED);
	/* Whatever was asked of this hart, a reset does more; the start
	 * request that may have led here has been taken already. */
	__atomic_store_n(&h->req, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->ack_seq, h->req_seq, __ATOMIC_SEQ_CST);

	c->cycle_off = c->instret_off = 0;
	c->cycle_frozen = c->instret_frozen = 0;
	c->resv_size = 0;

	if (h->m && h->m->sbi) {
		/* ringvm is the firmware: nothing may ever need M-mode.  The
		 * rest is what OpenSBI's hart init leaves a kernel
		 * (docs/ARCHITECTURE.md, "Built-in SBI"): the FPU on, every
		 * counter readable by S, cycle/time/instret by U (a kernel
		 * without the SBI PMU driver never opens them itself, and its
		 * vDSO reads time from U), Sstc, Svpbmt and the cache-block
		 * operations enabled (CBIE = invalidate). */
		h->medeleg = SBI_MEDELEG;
		h->mideleg = RV_MIP_SSIP | RV_MIP_STIP | RV_MIP_SEIP;
		h->menvcfg = ENVCFG_STCE | ENVCFG_PBMTE | ENVCFG_CBCFE |
			     ENVCFG_CBZE | ENVCFG_CBIE;
		h->mcounteren = 0xffffffffULL;
		h->scounteren = 7;
		h->mstatus |= MSTATUS_FS;
	}
	rv_mmu_set_mode(h);
	rv_tlb_flush_va(h, NULL);
	rv_block_flush_all(h);
}

uint64_t rv_mip_update(struct rv_hart *h, uint64_t clr, uint64_t set,
		       uint64_t *newp)
{
	uint64_t old = __atomic_load_n(&h->mip, __ATOMIC_RELAXED), nv;
	do {
		nv = (old & ~clr) | set;
		if (nv & (RV_MIP_SEIP_SW | RV_MIP_SEIP_HW))
			nv |= RV_MIP_SEIP;
		else
			nv &= ~RV_MIP_SEIP;
	} while (!__atomic_compare_exchange_n(&h->mip, &old, nv, true,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	if (newp)
		*newp = nv;
	return old;
}

void rv_hart_set_mip(struct rv_hart *h, uint64_t mask, int level)
{
	if (mask & RV_MIP_SEIP)
		mask = (mask & ~RV_MIP_SEIP) | RV_MIP_SEIP_HW;
	uint64_t nv, old = rv_mip_update(h, level ? 0 : mask,
					 level ? mask : 0, &nv);
	/* Any rising bit (enabled or not: mie is the owner's to read)
	 * makes the owner look; falling bits need nobody's attention. */
	if ((nv & ~old) & ~RV_MIP_PRIVATE)
		rv_hart_notify(h);
}

static bool stip_by_stimecmp(const struct rv_hart *h)
{
	/* The built-in SBI's set_timer writes stimecmp, so in that mode
	 * STIP follows stimecmp even if the guest never set STCE. */
	return (h->menvcfg & ENVCFG_STCE) || h->m->sbi;
}

void rv_hart_update_timer(struct rv_hart *h, uint64_t mtime)
{
	uint64_t mip = __atomic_load_n(&h->mip, __ATOMIC_RELAXED);
	bool mtip = mtime >= __atomic_load_n(&h->mtimecmp, __ATOMIC_ACQUIRE);
	if (h->m->clint && mtip != ((mip & RV_MIP_MTIP) != 0))
		rv_hart_set_mip(h, RV_MIP_MTIP, mtip);
	if (!stip_by_stimecmp(h))
		return;
	bool level = mtime >= h->stimecmp;
	if (level != ((mip & RV_MIP_STIP) != 0))
		rv_hart_set_mip(h, RV_MIP_STIP, level);
}

void rv_hart_set_mtimecmp(struct rv_hart *h, uint64_t cmp)
{
	__atomic_store_n(&h->mtimecmp, cmp, __ATOMIC_RELEASE);
	rv_hart_notify(h);
}

uint64_t rv_hart_next_deadline(const struct rv_hart *h)
{
	if (rv_hart_get_state(h) != RV_HART_STARTED)
		return UINT64_MAX;
	/* A timer whose bit is already in mip is no event. */
	uint64_t mip = __atomic_load_n(&h->mip, __ATOMIC_RELAXED);
	uint64_t dl = UINT64_MAX;
	if (!(mip & RV_MIP_MTIP))
		dl = __atomic_load_n(&h->mtimecmp, __ATOMIC_ACQUIRE);
	if (stip_by_stimecmp(h) && !(mip & RV_MIP_STIP) && h->stimecmp < dl)
		dl = h->stimecmp;
	return dl;
}

void rv_hart_enter_user(struct rv_hart *h, uint64_t pc, uint64_t satp)
{
	h->pc = pc;
	h->priv = RV_PRIV_U;
	h->satp = satp;
	h->mstatus |= MSTATUS_FS;
	h->mcounteren = h->scounteren = 7;
	h->menvcfg |= ENVCFG_CBZE | ENVCFG_CBCFE;
	h->senvcfg |= ENVCFG_CBZE | ENVCFG_CBCFE;
	rv_hart_set_state(h, RV_HART_STARTED);
	rv_mmu_set_mode(h);
	rv_tlb_flush_va(h, NULL);
	rv_block_flush_all(h);
}

void rv_hart_flush_tlb(struct rv_hart *h)
{
	rv_tlb_flush_va(h, NULL);
}

bool rv_hart_irq_pending(const struct rv_hart *h)
{
	return (__atomic_load_n(&h->mip, __ATOMIC_RELAXED) & h->mie) != 0;
}

const struct rv_jit *rv_hart_jit(const struct rv_hart *h)
{
	return rv_cpu(h)->jit;
}
