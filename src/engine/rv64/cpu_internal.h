/* Private state and internal interfaces of the RV64 interpreter
 * (src/engine/rv64/cpu*.c).  Nothing outside those files includes this,
 * except the unit tests, which reach the decoder and the MMU through it.
 *
 * Pieces:
 *   cpu_decode.c  instruction bits -> struct rv_dec (cpu_ops.h)
 *   cpu_block.c   decoded-block cache keyed by host address of the code
 *   cpu_exec.c    the threaded-code interpreter loop (rv_hart_run)
 *   cpu_mmu.c     Sv39/Sv48 translation and the software TLB
 *   cpu_mem.c     load/store slow paths (misaligned, MMIO, code pages)
 *   cpu_amo.c     LR/SC, AMOs and the cache-block operations
 *   cpu_fp.c      F/D glue around fpu.h
 *   cpu_csr.c     CSR access
 *   cpu_trap.c    exceptions, interrupts, xRET
 *   cpu_hart.c    hart lifecycle, mip/timer entry points, ISA string
 *   cpu_vcpu.c    one host thread per hart: rv_vcpu_run, sleeping,
 *                 cross-hart requests */
#ifndef RINGVM_RV64_CPU_INTERNAL_H
#define RINGVM_RV64_CPU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu_ops.h"
#include "hart.h"
#include "jit/jit.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- guest memory and ThreadSanitizer ----
 * Guest RAM is shared by all hart threads and device models, and the
 * interpreter reads and writes it with plain host loads and stores: a data
 * race there is the guest's (RVWMO allows it; x86 keeps aligned accesses
 * single-copy atomic).  Under -fsanitize=thread those accesses are left
 * uninstrumented, precisely: the interpreter loop and the few helpers
 * that touch guest RAM carry RV_GUEST_MEM, and they copy through
 * rv_gmem_copy()/rv_gmem_equal(), which in that build are byte loops
 * instead of calls to memcpy/memcmp (TSan intercepts those whatever the
 * caller's attribute).  Everything else (hart, device, vmm state) stays
 * instrumented.  AMOs and LR/SC use __atomic builtins, which TSan
 * understands. */
#ifdef __SANITIZE_THREAD__
#define RV_GUEST_MEM __attribute__((no_sanitize_thread, noinline, \
	optimize("no-tree-loop-distribute-patterns")))
RV_GUEST_MEM __attribute__((unused)) static void rv_gmem_copy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const volatile uint8_t *s = src;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}
RV_GUEST_MEM __attribute__((unused)) static bool rv_gmem_equal(const void *a, const void *b,
				       size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}
#else
#define RV_GUEST_MEM
static inline void rv_gmem_copy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}
static inline bool rv_gmem_equal(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n) == 0;
}
#endif

/* A full host memory barrier for guest FENCEs that order stores before
 * loads (docs/ARCHITECTURE.md, memory model).  On x86 an mfence written
 * out: that is what __atomic_thread_fence(SEQ_CST) compiles to, and
 * ThreadSanitizer refuses that builtin (it would not model it anyway:
 * guest ordering is the guest's business). */
static inline void rv_host_mb(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mfence" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* ---- architectural constants (priv 1.12) ---- */

/* mstatus (§3.1.6) */
#define MSTATUS_SIE   (1ULL << 1)
#define MSTATUS_MIE   (1ULL << 3)
#define MSTATUS_SPIE  (1ULL << 5)
#define MSTATUS_MPIE  (1ULL << 7)
#define MSTATUS_SPP   (1ULL << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP   (3ULL << 11)
#define MSTATUS_FS    (3ULL << 13)
#define MSTATUS_FS_INITIAL (1ULL << 13)
#define MSTATUS_MPRV  (1ULL << 17)
#define MSTATUS_SUM   (1ULL << 18)
#define MSTATUS_MXR   (1ULL << 19)
#define MSTATUS_TVM   (1ULL << 20)
#define MSTATUS_TW    (1ULL << 21)
#define MSTATUS_TSR   (1ULL << 22)
#define MSTATUS_UXL   (3ULL << 32)
#define MSTATUS_SXL   (3ULL << 34)
#define MSTATUS_UXL_64 (2ULL << 32)
#define MSTATUS_SXL_64 (2ULL << 34)
#define MSTATUS_SD    (1ULL << 63)

/* Exception causes (table 3.6) */
enum {
	RV_EXC_INSN_MISALIGNED = 0,
	RV_EXC_INSN_ACCESS = 1,
	RV_EXC_ILLEGAL = 2,
	RV_EXC_BREAKPOINT = 3,
	RV_EXC_LOAD_MISALIGNED = 4,
	RV_EXC_LOAD_ACCESS = 5,
	RV_EXC_STORE_MISALIGNED = 6,
	RV_EXC_STORE_ACCESS = 7,
	RV_EXC_ECALL_U = 8,
	RV_EXC_ECALL_S = 9,
	RV_EXC_ECALL_M = 11,
	RV_EXC_INSN_PAGE = 12,
	RV_EXC_LOAD_PAGE = 13,
	RV_EXC_STORE_PAGE = 15,
};

/* Private mip bits (never visible to software; mie cannot enable them):
 * mip.SEIP is the OR of the bit software writes and the PLIC's line
 * (§3.1.9), and keeping both inputs in the same word lets every update be
 * one atomic compare-and-swap that recomputes SEIP (rv_mip_update). */
#define RV_MIP_SEIP_SW (1ULL << 62)
#define RV_MIP_SEIP_HW (1ULL << 61)
#define RV_MIP_PRIVATE (RV_MIP_SEIP_SW | RV_MIP_SEIP_HW)

/* Atomically mip = (mip & ~clr) | set with SEIP = SEIP_SW | SEIP_HW;
 * returns the old value and, if newp is not NULL, stores the new one.
 * Any thread (cpu_hart.c). */
uint64_t rv_mip_update(struct rv_hart *h, uint64_t clr, uint64_t set,
		       uint64_t *newp);

/* rv_hart_reset() with h->vlock already held by the caller. */
void rv_hart_reset_locked(struct rv_hart *h, uint64_t pc, int priv,
			  uint64_t arg1);

/* Serve the requests posted to h (cpu_vcpu.c); owner thread.  Cheap when
 * there are none (one load). */
void rv_hart_serve(struct rv_hart *h);

/* Interrupt numbers (table 3.6) */
enum { RV_IRQ_SSI = 1, RV_IRQ_MSI = 3, RV_IRQ_STI = 5, RV_IRQ_MTI = 7,
       RV_IRQ_SEI = 9, RV_IRQ_MEI = 11 };

/* menvcfg/senvcfg (§3.1.18, §4.1.4; Zicbom, Svpbmt, Sstc) */
#define ENVCFG_FIOM       (1ULL << 0)
#define ENVCFG_CBIE_SHIFT 4
#define ENVCFG_CBIE       (3ULL << 4)
#define ENVCFG_CBCFE      (1ULL << 6)
#define ENVCFG_CBZE       (1ULL << 7)
#define ENVCFG_PBMTE      (1ULL << 62)
#define ENVCFG_STCE       (1ULL << 63)

/* satp (§4.1.11) */
#define SATP_MODE_SHIFT 60
#define SATP_MODE_BARE  0
#define SATP_MODE_SV39  8
#define SATP_MODE_SV48  9
#define SATP_ASID_MASK  (0xffffULL << 44)
#define SATP_PPN_MASK   ((1ULL << 44) - 1)

/* PTE bits (§4.3.1, Svpbmt) */
#define PTE_V (1ULL << 0)
#define PTE_R (1ULL << 1)
#define PTE_W (1ULL << 2)
#define PTE_X (1ULL << 3)
#define PTE_U (1ULL << 4)
#define PTE_G (1ULL << 5)
#define PTE_A (1ULL << 6)
#define PTE_D (1ULL << 7)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK  ((1ULL << 44) - 1)
#define PTE_RSVD_MASK (0x7fULL << 54)
#define PTE_PBMT_SHIFT 61
#define PTE_PBMT_MASK (3ULL << 61)
#define PTE_N         (1ULL << 63)

#define RV_PAGE_SHIFT 12
#define RV_PAGE_SIZE  4096ULL
#define RV_PAGE_MASK  (RV_PAGE_SIZE - 1)

/* ---- software TLB ----
 * Direct-mapped by virtual page number, one entry per 4 KiB page even for
 * superpages.  A hit is `tag == va >> 12`, and then host = va + addend.
 * Only RAM pages are ever entered; MMIO always takes the slow path. */
#define RV_TLB_BITS 12
#define RV_TLB_SIZE (1u << RV_TLB_BITS)
#define RV_TLB_MASK (RV_TLB_SIZE - 1)
#define RV_TLB_INVALID (~0ULL)

struct rv_tlbe {
	uint64_t tag;      /* va >> 12, or RV_TLB_INVALID */
	uintptr_t addend;  /* host address of the page minus its va */
};
_Static_assert(sizeof(struct rv_tlbe) == 16, "cpu_exec.c indexes by << 4");

/* One TLB array plus the list of slots filled since the last flush, so
 * that flushing (frequent: sfence.vma) costs what was used, not the size. */
struct rv_tlb {
	struct rv_tlbe e[RV_TLB_SIZE];
	uint16_t used[RV_TLB_SIZE];
	unsigned nused;
	bool overflow;     /* `used` lost track: flush must sweep all */
};

/* TLB sets by effective data mode: translations differ between U, S and
 * S with SUM, and M is untranslated, so keeping one set per mode lets
 * traps, xRET and SUM toggles switch sets instead of flushing. */
enum { RV_TLBSET_U, RV_TLBSET_S, RV_TLBSET_SSUM, RV_TLBSET_M,
       RV_TLBSET_COUNT };
enum rv_access { RV_ACC_FETCH, RV_ACC_LOAD, RV_ACC_STORE };

/* ---- decoded blocks ---- */
/* Longer blocks mean fewer block-to-block transitions in straight-line
 * code (the kernel's unrolled crypto, the JIT's case); 128 fits rv_op.idx
 * and bounds the distance between interrupt checks. */
#define RV_BLOCK_MAX_INSNS 128

/* One pre-decoded instruction.  Offsets are relative to the block's first
 * instruction so that the same physical code runs at any virtual alias. */
struct rv_op {
	const void *h;     /* interpreter label (computed goto) */
	int32_t imm;       /* immediate; or target offset for jumps/branches;
			    * or enum rv_opc for shared handlers; or CSR no. */
	int32_t imm2;      /* branch/jal: fall-through/link offset;
			    * otherwise the raw instruction bits */
	uint8_t rd, rs1, rs2;
	uint8_t aux;       /* FP rm; CSR op kind; LOADX0 size */
	uint16_t pc_off;   /* byte offset of this instruction in the block */
	uint8_t idx;       /* instructions before this one in the block */
	uint8_t len;       /* instruction length in bytes */
};

#define RV_EPOCH_DEAD UINT64_MAX
/* flags: succ[k] is a direct successor in the block's own page, which can
 * be entered without checking the fetch TLB (see cpu_exec.c). */
#define RV_BLK_SAME_PAGE0 1u
#define RV_BLK_SAME_PAGE1 2u

struct rv_block {
	uintptr_t key;             /* host address of the first instruction */
	struct rv_block *hnext;    /* hash chain */
	/* Last successors (block chaining): [0] taken branch, jump target
	 * or fall-through of a block that just ends, [1] the fall-through
	 * of a conditional branch.  NULL until first used. */
	struct rv_block *succ[2];
	/* Code epoch (rv_cpu.code_epoch) in which this block was last
	 * checked against guest memory (see rv_hart_flush_code()), or
	 * RV_EPOCH_DEAD once it has been dropped from the cache. */
	uint64_t epoch;
	uint16_t ninsn;            /* guest instructions */
	uint16_t nops;
	uint16_t flags;
	uint16_t bytes;            /* guest code bytes covered */
	/* Binary translation (jit/jit.h): entries so far, and the
	 * translated code once hot (NULL: interpreted). */
	uint32_t heat;
	rv_jit_fn jit;
	struct rv_op ops[];        /* nops ops, then a copy of the code */
};

/* Block hash: 2^RV_BHASH_GROUP_BITS groups of 64 buckets; all blocks of a
 * host page fall in one group, so a page is invalidated by sweeping 64
 * buckets. */
#define RV_BHASH_GROUP_BITS 10
#define RV_BHASH_SIZE (64u << RV_BHASH_GROUP_BITS)
#define RV_CODE_PAGES_BITS 15  /* open-addressed set of code pages */
#define RV_CODE_FILTER_BITS 16

static inline unsigned rv_bhash(uintptr_t key)
{
	uint64_t g = ((uint64_t)(key >> 12) * 0x9E3779B97F4A7C15ULL) >>
		     (64 - RV_BHASH_GROUP_BITS);
	return (unsigned)(g << 6 | ((key >> 1) & 63));
}

/* Per-hart interpreter state (h->priv_). */
struct rv_cpu {
	/* Current TLB sets for fetch / load / store (see rv_mmu_set_mode). */
	struct rv_tlb *itlb, *ltlb, *stlb;
	struct rv_tlb tlb[3][RV_TLBSET_COUNT];  /* [enum rv_access][set] */
	/* Virtual range covered by TLB entries of superpages, so that an
	 * address-specific sfence.vma knows when a page flush is enough. */
	uint64_t super_lo, super_hi;

	/* Pending synchronous exception, filled by slow paths. */
	uint64_t exc_cause, exc_tval;

	/* LR/SC: value seen by the LR and its size in bytes
	 * (h->reservation holds the physical address). */
	uint64_t resv_val;
	unsigned resv_size;

	/* mcycle/minstret = instructions retired + off, or the frozen
	 * value while mcountinhibit holds them. */
	uint64_t cycle_off, instret_off, cycle_frozen, instret_frozen;

	/* Decoded-block cache: bump arena + hash. */
	struct rv_block **bhash;
	uint8_t *arena;
	size_t arena_size, arena_used;
	/* Host page numbers (host address >> 12) holding cached code; the
	 * store TLB never maps them so stores there reach the slow path. */
	uintptr_t *code_pages;
	unsigned code_used;       /* occupied slots (incl. tombstones) */
	/* Quick negative filter in front of code_pages: bit (hpage mod
	 * 2^RV_CODE_FILTER_BITS) is set while some code page maps there, so
	 * most slow-path stores to data pages skip the set lookup. */
	uint64_t code_filter[(1u << RV_CODE_FILTER_BITS) / 64];
	/* Bumped on every flush or invalidation; a link is only written if
	 * nothing was dropped since its source block was left. */
	uint64_t cache_gen;
	/* Bumped by fence.i: blocks of older epochs must be compared with
	 * guest memory before they run again. */
	uint64_t code_epoch;
	uintptr_t inval_page;     /* last host page invalidated by a store */
	/* PAUSEs executed in the current slice (cpu_exec.c: L_PAUSE). */
	unsigned pauses;
	/* A block for an instruction that straddles two pages: decoded
	 * afresh each time, never cached (its bytes live in two pages). */
	struct rv_block *scratch;

	const void *const *labels; /* handler of each enum rv_opc */

	/* The translator (jit/jit.h), NULL with --accel interp, and the
	 * exchange area between the interpreter and translated code. */
	struct rv_jit *jit;
	struct rv_jit_frame jf;
	struct rv_jit_ijc ijc[1u << RV_JIT_IJC_BITS];
};

static inline struct rv_cpu *rv_cpu(const struct rv_hart *h)
{
	return (struct rv_cpu *)h->priv_;
}

/* Record a synchronous exception for the interpreter to raise; returns -1
 * so slow paths can `return rv_exc(...)`. */
static inline int rv_exc(struct rv_hart *h, uint64_t cause, uint64_t tval)
{
	struct rv_cpu *c = rv_cpu(h);
	c->exc_cause = cause;
	c->exc_tval = tval;
	return -1;
}

/* ---- cpu_mmu.c: translation (priv 1.12 §4.3, §4.4; Svpbmt) ---- */

/* Privilege used for data accesses: MPP when M-mode sets MPRV (§3.1.6.3). */
static inline int rv_data_priv(const struct rv_hart *h)
{
	if (h->priv == RV_PRIV_M && (h->mstatus & MSTATUS_MPRV))
		return (int)((h->mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
	return h->priv;
}

/* Translate va for `acc` in the current mode (fetch: h->priv; load/store:
 * rv_data_priv).  Sets A (and D for stores) in the leaf PTE atomically.
 * On success returns 0, stores the physical address in *pa and, if
 * `super` is not NULL, whether a superpage mapped it.  On failure returns
 * -1 with the page fault (12/13/15) or, if the walk touched non-RAM, the
 * access fault (1/5/7) recorded via rv_exc() with tval = va. */
int rv_mmu_translate(struct rv_hart *h, uint64_t va, enum rv_access acc,
		     uint64_t *pa, bool *super);

/* Choose the TLB sets for the current privilege and mstatus; call after
 * any change of priv, MPRV, MPP or SUM. */
void rv_mmu_set_mode(struct rv_hart *h);

/* Enter va -> host page into the current set for `acc` (caller checked
 * that the page is RAM and, for stores, not code). */
void rv_tlb_fill(struct rv_hart *h, enum rv_access acc, uint64_t va,
		 uint8_t *host_page, bool super);

/* sfence.vma semantics: va == NULL flushes everything, else only what
 * can map *va (priv 1.12 §4.2.1; ASIDs are not distinguished). */
void rv_tlb_flush_va(struct rv_hart *h, const uint64_t *va);

/* Drop every store-TLB entry that maps host page `hpage` (it became code). */
void rv_tlb_drop_store_page(struct rv_hart *h, uintptr_t hpage);

/* ---- cpu_mem.c: slow paths ----
 * All take a virtual address and return 0, or -1 with the exception
 * recorded (rv_exc).  Stores return 1 instead of 0 when they overwrote
 * cached code; c->inval_page then names the host page. */
int rv_load_slow(struct rv_hart *h, uint64_t va, unsigned size,
		 uint64_t *val);
int rv_store_slow(struct rv_hart *h, uint64_t va, unsigned size,
		  uint64_t val);
/* For a naturally aligned access of `size` bytes (so within one page):
 * translate va for `acc` and enter its page into the current TLB (for
 * stores after dropping any code in it, as a store would); *host gets
 * the host address of va.  Returns 0, 1 if code was dropped, or -1 with
 * the fault recorded (non-RAM gives the access fault of acc). */
int rv_tlb_refill(struct rv_hart *h, uint64_t va, unsigned size,
		  enum rv_access acc, uint8_t **host);

/* ---- cpu_amo.c ---- */
int rv_amo(struct rv_hart *h, const struct rv_op *op);
int rv_cbo(struct rv_hart *h, const struct rv_op *op);

/* ---- cpu_fp.c: executes the FP op (imm = enum rv_opc, aux = rm,
 * imm2 = raw bits); returns 0 or -1 (illegal instruction recorded). */
int rv_fp_op(struct rv_hart *h, const struct rv_op *op);

/* NaN-boxing of singles in the 64-bit f registers (unpriv 20191213
 * §12.2): a value that is not properly boxed reads as the canonical NaN. */
static inline uint32_t rv_f32_unbox(uint64_t v)
{
	return (v >> 32) == 0xffffffffu ? (uint32_t)v : 0x7fc00000u;
}
static inline uint64_t rv_f32_box(uint32_t v)
{
	return 0xffffffff00000000ULL | v;
}
static inline void rv_fs_dirty(struct rv_hart *h)
{
	h->mstatus |= MSTATUS_FS;
}

/* ---- cpu_csr.c (priv 1.12 §2, ch. 3, ch. 4; Zicsr, Zicntr, Sstc) ---- */

/* Execute a CSR instruction (op: imm = csr, aux = enum rv_opc, rs1 =
 * register or uimm, imm2 = raw bits).  Returns 0 or -1 with an illegal
 * instruction recorded. */
int rv_csr_insn(struct rv_hart *h, const struct rv_op *op);
/* Plain read/write with all access checks of the current privilege, as
 * a CSR instruction would do; return 0 or -1 (illegal instruction). */
int rv_csr_read(struct rv_hart *h, unsigned csr, uint64_t *val);
int rv_csr_write(struct rv_hart *h, unsigned csr, uint64_t val);
/* mstatus as software reads it (with SD). */
uint64_t rv_mstatus_read(const struct rv_hart *h);

/* ---- cpu_trap.c (priv 1.12 §3.1.6.1, §3.1.9, §3.3.1, §3.3.2) ---- */

/* Take exception `cause` at h->pc (the faulting instruction). */
void rv_trap_exception(struct rv_hart *h, uint64_t cause, uint64_t tval);
/* Take the highest-priority pending and enabled interrupt, if any;
 * returns true if one was taken. */
bool rv_trap_irq(struct rv_hart *h);
void rv_trap_mret(struct rv_hart *h);
void rv_trap_sret(struct rv_hart *h);

/* ---- cpu_block.c ---- */

/* Find or translate the block at virtual pc (h->pc == pc).  Returns NULL
 * when the fetch faults; the exception is then already taken. */
struct rv_block *rv_block_lookup(struct rv_hart *h, uint64_t pc);
/* b, of an older code epoch (a fence.i since its last use), is still what
 * guest memory at b->key holds: bring it to the current epoch and return
 * 1; else (or b is dropped: RV_EPOCH_DEAD) return 0 and leave it to the
 * lookup, which drops the page's blocks.  The caller has checked that
 * the pc maps to b->key.  Owner thread; also called by translated code
 * when a chain meets a stale successor (jit.h). */
int rv_block_revalidate(struct rv_hart *h, struct rv_block *b);
/* Drop every block and start from an empty cache. */
void rv_block_flush_all(struct rv_hart *h);
/* Drop all blocks whose code lies in host page hpage (host addr >> 12). */
void rv_block_invalidate_page(struct rv_hart *h, uintptr_t hpage);
/* Whether host page hpage holds cached code in this hart. */
bool rv_block_is_code_page(const struct rv_hart *h, uintptr_t hpage);
int rv_block_cache_init(struct rv_cpu *c, struct err *errp);
void rv_block_cache_free(struct rv_cpu *c);

/* The interpreter's handler table, built on first use. */
const void *const *rv_exec_labels(void);

#endif
