/* The RV64 interpreter loop (rv_hart_run).
 *
 * Design, and why:
 *  - Decode once.  Guest code is translated a basic block at a time into
 *    arrays of pre-decoded ops (cpu_block.c); executing an op is one
 *    indirect jump to its handler, with the operands already unpacked.
 *    Blocks are cached by host address of the code, i.e. by guest
 *    physical address, so they survive satp switches and are shared by
 *    every virtual alias.
 *  - Threaded dispatch with GCC's labels-as-values: each handler ends in
 *    its own `goto *op->h`, and every block transfer site enters the next
 *    block itself, which gives the host branch predictor one indirect
 *    branch per site instead of one shared switch jump.
 *  - State that changes rarely is checked rarely.  Only the budget is
 *    tested at chained block ends.  h->kick is raised by this hart from
 *    inside slow paths (device access, SBI call, timer CSR), so it is
 *    polled there, and by other threads (an interrupt, a cross-hart
 *    request, an exit), polled at every block lookup; a loop that runs
 *    chained within its page sees it at the end of the slice.  Anything that can change privilege, translation,
 *    interrupt enables or the code itself (CSR writes, xRET, fences,
 *    ecall, traps) ends its block and re-enters through `slow` (after
 *    taking any interrupt it enabled), which reloads the cached
 *    mode-dependent pointers.  Everything else stays in registers.
 *  - Memory: a software TLB per access type and mode (cpu_mmu.c).  A hit
 *    is one compare (the tag of the access's last byte against the entry
 *    of its first byte, which also rejects page-crossing accesses) and one
 *    add; misses, MMIO, misaligned page-crossers and stores to pages that
 *    hold code take out-of-line slow paths (cpu_mem.c).
 *  - Block chaining: each block links its successors on first use, so
 *    loops run block to block without a lookup.  A successor in the same
 *    page is followed blindly (the page was fetchable when the block was
 *    entered and the successor's host address is fixed by its offset);
 *    any other link, including the last target of an indirect jump, is a
 *    guess checked against the fetch TLB, which is still cheaper than the
 *    hash lookup it replaces.  A code epoch on every block makes links to
 *    dropped or not yet revalidated blocks miss.
 *  - Precise state: ops carry their offset in the block and their index,
 *    so a trap mid-block can rebuild pc and instret without per-op
 *    bookkeeping.  Whole blocks are charged to the budget on entry and
 *    instret is derived from the budget used, corrected on a trap.
 *  - x0: ops that only write rd are dropped at translation when rd is x0,
 *    and the few with side effects have x0 variants, so handlers write
 *    x[rd] unconditionally and x[0] stays 0.
 * Unprivileged ISA 20191213 (RV64GC, Zba/Zbb/Zbs, Zicbom/Zicboz) and
 * privileged 1.12 semantics are implemented by the handlers and helpers. */
#include "cpu_internal.h"

#include <sched.h>
#include <string.h>
#include <time.h>

/* See L_PAUSE. */
#define PAUSE_SLEEP_EVERY 64
#define PAUSE_SLEEP_NS 50000


RV_GUEST_MEM static void run(struct rv_hart *h, uint64_t budget,
			     const void *const **table);

const void *const *rv_exec_labels(void)
{
	const void *const *t = NULL;
	run(NULL, 0, &t);
	return t;
}

void rv_hart_run(struct rv_hart *h, uint64_t budget)
{
	/* Cleared before the requests are looked at: a requester posts,
	 * then kicks, so either its request is seen here or its kick
	 * survives and ends this slice early. */
	__atomic_store_n(&h->kick, 0, __ATOMIC_SEQ_CST);
	rv_hart_serve(h);
	rv_cpu(h)->pauses = 0;
	run(h, budget, NULL);
}

static inline uint64_t sext32(uint64_t v)
{
	return (uint64_t)(int64_t)(int32_t)v;
}

static inline uint64_t rotl64(uint64_t v, unsigned s)
{
	return (v << (s & 63)) | (v >> ((64 - s) & 63));
}

static inline uint32_t rotl32(uint32_t v, unsigned s)
{
	return (v << (s & 31)) | (v >> ((32 - s) & 31));
}

static inline uint64_t orc_b(uint64_t v)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < 64; i += 8)
		if ((v >> i) & 0xff)
			r |= 0xffULL << i;
	return r;
}

/* RV_GUEST_MEM: the guest loads and stores below are the guest's own
 * races (cpu_internal.h). */
RV_GUEST_MEM static void run(struct rv_hart *h, uint64_t budget,
			     const void *const **table)
{
	static const void *const labels[RV_OP_COUNT] = {
#define RV_X_LABEL(name, handler, flags) [RV_OP_##name] = &&L_##handler,
		RV_OP_LIST(RV_X_LABEL)
#undef RV_X_LABEL
	};
	if (table) {
		*table = labels;
		return;
	}

	struct rv_cpu *const c = rv_cpu(h);
	uint64_t *const x = h->x;
	int64_t left = budget > INT64_MAX ? INT64_MAX : (int64_t)budget;
	/* instret is kept as `left` counts down and written back to h only
	 * when something may look at it (SYNC_INSTRET). */
	const int64_t left0 = left;
	const uint64_t ibase = h->instret;
	/* Budget charged for traps, which retire nothing but must still use
	 * up the slice: a guest trapping in a loop (a fault on its own
	 * handler's first instruction) must not keep the host here. */
	int64_t traps = 0;
	/* Budget dropped to stop at the next block end after a kick. */
	int64_t kick_bias = 0;
	uint64_t pc;                       /* vaddr of the current block */
	struct rv_block *blk;
	const struct rv_op *op;
	const struct rv_tlb *itlb, *ltlb, *stlb;
	/* A miss on a chainable successor: link it once it is found. */
	struct rv_block *chain_from;
	unsigned chain_k = 0;
	uint64_t chain_gen = 0;
	uint64_t epoch;                    /* c->code_epoch */
	/* Binary translation (jit/jit.h): NULL with --accel interp. */
	struct rv_jit *const jit = c->jit;
	struct rv_jit_frame *const jf = &c->jf;
	unsigned jk = 0;                   /* link of a terminator the code ran */
	int64_t vleft = 0;                 /* jit-verify: budget while replaying */
	uint64_t vpc = 0;                  /* jit-verify: the replayed block's pc */
	const uint32_t hot = jit && jit->mode == RV_ACCEL_JIT_VERIFY ? 1 :
			     RV_JIT_HOT;

#define SYNC_INSTRET() \
	(h->instret = ibase + (uint64_t)(left0 - left - traps - kick_bias))
/* h->kick is raised synchronously only from inside slow paths (a device
 * register access, an SBI call, a timer CSR), so it is polled after
 * those, not at every block end; a kick from another thread waits at
 * most for the end of the slice.  Zeroing the budget stops the hart at
 * the next block end. */
#define POLL_KICK() do {                                                 \
		if (unlikely(h->kick)) {                                 \
			kick_bias += left;                               \
			left = 0;                                        \
		}                                                        \
	} while (0)
#define NEXT do { op++; goto *op->h; } while (0)
/* Entry of TLB t for va.  The byte offset is formed directly from va
 * (entries are 16 bytes) to save the host a shift. */
#define TLBE(t, va) ((const struct rv_tlbe *)((const char *)(t)->e +      \
		(((va) >> (12 - 4)) & ((uint64_t)RV_TLB_MASK << 4))))
/* Start blk.  Expanded at every transfer site so that each has its own
 * indirect jump for the host's branch predictor. */
#define ENTER() do {                                                     \
		left -= blk->ninsn;                                      \
		op = blk->ops;                                           \
		if (jit)                                                 \
			goto jit_enter;                                  \
		goto *op->h;                                             \
	} while (0)
#define RD  x[op->rd]
#define RS1 x[op->rs1]
#define RS2 x[op->rs2]
#define IMM ((int64_t)op->imm)
#define RAISE(cause, tval) do { c->exc_cause = (cause); \
		c->exc_tval = (tval); goto exc; } while (0)
/* To the block at pc through link k of this block.  A link inside the
 * block's own page is followed blindly (same page, same permissions,
 * host address fixed by the offset); any other link is a guess, checked
 * against the fetch TLB like a lookup would, minus the hash probe.  A
 * miss looks the block up and relinks. */
#define CHAIN(k) do {                                                    \
		if (unlikely(left <= 0))                                 \
			goto out;                                        \
		struct rv_block *nb_ = blk->succ[k];                     \
		if (blk->flags & (RV_BLK_SAME_PAGE0 << (k))) {           \
			if (likely(nb_ != NULL && nb_->epoch == epoch)) {\
				blk = nb_;                               \
				ENTER();                                 \
			}                                                \
		} else if (likely(nb_ != NULL)) {                        \
			const struct rv_tlbe *e_ =                       \
				TLBE(itlb, pc);                          \
			if (likely(e_->tag == pc >> 12 &&                \
				   nb_->key == pc + e_->addend &&        \
				   nb_->epoch == epoch)) {               \
				blk = nb_;                               \
				ENTER();                                 \
			}                                                \
		}                                                        \
		chain_from = blk;                                        \
		chain_k = (k);                                           \
		chain_gen = c->cache_gen;                                \
		goto lookup;                                             \
	} while (0)
/* pc of the instruction after the current op, for ops that end their
 * block out of line. */
#define NEXT_PC (pc + op->pc_off + op->len)
	if (h->state != RV_HART_STARTED)
		return;
	if (h->wfi) {
		if (!rv_hart_irq_pending(h))
			return;
		h->wfi = false;
	}
	rv_trap_irq(h);

slow:
	/* h->pc is authoritative here; privilege, mstatus or the hart's
	 * state may have changed in any way. */
	if (unlikely(left <= 0 || h->kick || h->wfi ||
		     h->state != RV_HART_STARTED))
		goto done;
	/* The code buffer filled up: start afresh here, between blocks,
	 * where no decoded block is in use. */
	if (unlikely(jit && jit->full))
		rv_block_flush_all(h);
	itlb = c->itlb;
	ltlb = c->ltlb;
	stlb = c->stlb;
	epoch = c->code_epoch;
	pc = h->pc;
	chain_from = NULL;

lookup: {
	const struct rv_tlbe *e = TLBE(itlb, pc);
	struct rv_block *b;
	if (unlikely(h->kick)) {
		h->pc = pc;
		goto done;
	}
	if (likely(e->tag == pc >> 12)) {
		uintptr_t key = (uintptr_t)(pc + e->addend);
		for (b = c->bhash[rv_bhash(key)]; b; b = b->hnext)
			if (b->key == key && b->epoch == epoch)
				goto found;
	}
	h->pc = pc;
	b = rv_block_lookup(h, pc);
	if (!b) {
		/* Fetch fault, already taken. */
		left--;
		traps++;
		goto slow;
	}
found:
	if (jit && b != c->scratch) {
		struct rv_jit_ijc *ij = &c->ijc[rv_jit_ijc_slot(pc)];
		ij->pc = pc;
		ij->blk = b;
	}
	if (chain_from) {
		if (c->cache_gen == chain_gen && b != c->scratch)
			chain_from->succ[chain_k] = b;
		chain_from = NULL;
	}
	blk = b;
}
	ENTER();


jit_enter: {
	/* Translated code runs ops[0..n) and hands ops[n] (a terminator, a
	 * side exit) to the handlers below (jit/jit.h). */
	rv_jit_fn fn = blk->jit;
	if (!fn) {
		/* heat stops at `hot`: one translation attempt per block. */
		if (blk->heat >= hot || ++blk->heat < hot || blk == c->scratch)
			goto *op->h;
		fn = blk->jit = rv_jit_translate(jit, blk);
		if (!fn)
			goto *op->h;
	}
	if (unlikely(jit->mode == RV_ACCEL_JIT_VERIFY)) {
		unsigned n = rv_jit_verify_run(h, blk, fn, pc, ltlb, stlb);
		jit->vterm = false;
		if (n >= RV_JIT_TERM && n - RV_JIT_TERM <= 1) {
			/* The code ran the terminator: the replay runs it
			 * too (jit_verify_stop), then compares. */
			jit->vterm = true;
			jit->vk = n - RV_JIT_TERM;
			jit->vnpc = jf->npc;
			n = blk->nops - 1u;
		} else if (unlikely(n >= blk->nops)) {
			rv_jit_verify_bad_exit(h, pc, n, blk->nops);
			h->pc = pc;
			left += blk->ninsn;
			goto jit_verify_fail;
		}
		/* The interpreter now runs ops[0..n) to the stop mark. */
		jit->vblk = blk;
		jit->vn = n;
		jit->vh = blk->ops[n].h;
		blk->ops[n].h = &&jit_verify_stop;
		goto *op->h;
	}
	jf->blk = blk;
	jf->pc = pc;
	jf->left = left;
	jit->calls++;
	unsigned r = fn(x, pc, ltlb, stlb, h);
	/* The code may have chained on into other blocks. */
	blk = jf->blk;
	pc = jf->pc;
	left = jf->left;
	if (likely(r >= RV_JIT_TERM)) {
		jk = r - RV_JIT_TERM;
		pc = jf->npc;
		goto jit_chain;
	}
	op = blk->ops + r;
	goto *op->h;
}
jit_chain:
	/* The code ran blk's terminator and did not chain: do what its
	 * handler does next (a pending kick: stop at the lookup). */
	if (unlikely(h->kick)) {
		chain_from = blk;
		chain_k = jk;
		chain_gen = c->cache_gen;
		goto lookup;
	}
	CHAIN(jk);
jit_verify_stop:
	/* Not an op: where the replay of a translated block ends. */
	jit->vblk->ops[jit->vn].h = jit->vh;
	jit->vblk = NULL;
	if (jit->vterm) {
		/* Run the terminator with no budget: its CHAIN ends at `out`
		 * with the next pc, which goes to jit_verify_term. */
		vleft = left;
		vpc = pc;
		left = 0;
		goto *op->h;
	}
	if (rv_jit_verify_check(h, pc)) {
		h->pc = pc + op->pc_off;
		left += blk->ninsn - op->idx;
		goto jit_verify_fail;
	}
	goto *op->h;

	/* ---- integer register-immediate and register-register ---- */
L_LUI:   RD = (uint64_t)IMM; NEXT;
L_AUIPC: RD = pc + op->pc_off + (uint64_t)IMM; NEXT;
L_ADDI:  RD = RS1 + (uint64_t)IMM; NEXT;
L_SLTI:  RD = (int64_t)RS1 < IMM; NEXT;
L_SLTIU: RD = RS1 < (uint64_t)IMM; NEXT;
L_XORI:  RD = RS1 ^ (uint64_t)IMM; NEXT;
L_ORI:   RD = RS1 | (uint64_t)IMM; NEXT;
L_ANDI:  RD = RS1 & (uint64_t)IMM; NEXT;
L_SLLI:  RD = RS1 << op->imm; NEXT;
L_SRLI:  RD = RS1 >> op->imm; NEXT;
L_SRAI:  RD = (uint64_t)((int64_t)RS1 >> op->imm); NEXT;
L_ADD:   RD = RS1 + RS2; NEXT;
L_SUB:   RD = RS1 - RS2; NEXT;
L_SLL:   RD = RS1 << (RS2 & 63); NEXT;
L_SLT:   RD = (int64_t)RS1 < (int64_t)RS2; NEXT;
L_SLTU:  RD = RS1 < RS2; NEXT;
L_XOR:   RD = RS1 ^ RS2; NEXT;
L_SRL:   RD = RS1 >> (RS2 & 63); NEXT;
L_SRA:   RD = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT;
L_OR:    RD = RS1 | RS2; NEXT;
L_AND:   RD = RS1 & RS2; NEXT;
L_ADDIW: RD = sext32(RS1 + (uint64_t)IMM); NEXT;
L_SLLIW: RD = sext32((uint32_t)RS1 << op->imm); NEXT;
L_SRLIW: RD = sext32((uint32_t)RS1 >> op->imm); NEXT;
L_SRAIW: RD = (uint64_t)(int64_t)((int32_t)RS1 >> op->imm); NEXT;
L_ADDW:  RD = sext32(RS1 + RS2); NEXT;
L_SUBW:  RD = sext32(RS1 - RS2); NEXT;
L_SLLW:  RD = sext32((uint32_t)RS1 << (RS2 & 31)); NEXT;
L_SRLW:  RD = sext32((uint32_t)RS1 >> (RS2 & 31)); NEXT;
L_SRAW:  RD = (uint64_t)(int64_t)((int32_t)RS1 >> (RS2 & 31)); NEXT;

	/* ---- M (division never traps: §7.2 table 7.1) ---- */
L_MUL:   RD = RS1 * RS2; NEXT;
L_MULH:
	RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)(int64_t)RS2) >> 64);
	NEXT;
L_MULHSU:
	RD = (uint64_t)(((__int128)(int64_t)RS1 * (__int128)RS2) >> 64);
	NEXT;
L_MULHU:
	RD = (uint64_t)(((unsigned __int128)RS1 * RS2) >> 64);
	NEXT;
L_DIV: {
	int64_t a = (int64_t)RS1, b = (int64_t)RS2;
	RD = b == 0 ? ~0ULL : (a == INT64_MIN && b == -1) ? (uint64_t)a :
	     (uint64_t)(a / b);
	NEXT;
}
L_DIVU: RD = RS2 == 0 ? ~0ULL : RS1 / RS2; NEXT;
L_REM: {
	int64_t a = (int64_t)RS1, b = (int64_t)RS2;
	RD = b == 0 ? (uint64_t)a : (a == INT64_MIN && b == -1) ? 0 :
	     (uint64_t)(a % b);
	NEXT;
}
L_REMU: RD = RS2 == 0 ? RS1 : RS1 % RS2; NEXT;
L_MULW: RD = sext32(RS1 * RS2); NEXT;
L_DIVW: {
	int32_t a = (int32_t)RS1, b = (int32_t)RS2;
	RD = b == 0 ? ~0ULL : (a == INT32_MIN && b == -1) ? sext32((uint32_t)a) :
	     (uint64_t)(int64_t)(a / b);
	NEXT;
}
L_DIVUW: {
	uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
	RD = b == 0 ? ~0ULL : sext32(a / b);
	NEXT;
}
L_REMW: {
	int32_t a = (int32_t)RS1, b = (int32_t)RS2;
	RD = b == 0 ? sext32((uint32_t)a) : (a == INT32_MIN && b == -1) ? 0 :
	     (uint64_t)(int64_t)(a % b);
	NEXT;
}
L_REMUW: {
	uint32_t a = (uint32_t)RS1, b = (uint32_t)RS2;
	RD = b == 0 ? sext32(a) : sext32(a % b);
	NEXT;
}

	/* ---- Zba, Zbb, Zbs ---- */
L_ADD_UW:    RD = RS2 + (uint32_t)RS1; NEXT;
L_SH1ADD:    RD = RS2 + (RS1 << 1); NEXT;
L_SH2ADD:    RD = RS2 + (RS1 << 2); NEXT;
L_SH3ADD:    RD = RS2 + (RS1 << 3); NEXT;
L_SH1ADD_UW: RD = RS2 + ((uint64_t)(uint32_t)RS1 << 1); NEXT;
L_SH2ADD_UW: RD = RS2 + ((uint64_t)(uint32_t)RS1 << 2); NEXT;
L_SH3ADD_UW: RD = RS2 + ((uint64_t)(uint32_t)RS1 << 3); NEXT;
L_SLLI_UW:   RD = (uint64_t)(uint32_t)RS1 << op->imm; NEXT;
L_ANDN:  RD = RS1 & ~RS2; NEXT;
L_ORN:   RD = RS1 | ~RS2; NEXT;
L_XNOR:  RD = ~(RS1 ^ RS2); NEXT;
L_CLZ:   RD = RS1 ? (uint64_t)__builtin_clzll(RS1) : 64; NEXT;
L_CLZW:  RD = (uint32_t)RS1 ? (uint64_t)__builtin_clz((uint32_t)RS1) : 32; NEXT;
L_CTZ:   RD = RS1 ? (uint64_t)__builtin_ctzll(RS1) : 64; NEXT;
L_CTZW:  RD = (uint32_t)RS1 ? (uint64_t)__builtin_ctz((uint32_t)RS1) : 32; NEXT;
L_CPOP:  RD = (uint64_t)__builtin_popcountll(RS1); NEXT;
L_CPOPW: RD = (uint64_t)__builtin_popcount((uint32_t)RS1); NEXT;
L_MAX:   RD = (int64_t)RS1 > (int64_t)RS2 ? RS1 : RS2; NEXT;
L_MAXU:  RD = RS1 > RS2 ? RS1 : RS2; NEXT;
L_MIN:   RD = (int64_t)RS1 < (int64_t)RS2 ? RS1 : RS2; NEXT;
L_MINU:  RD = RS1 < RS2 ? RS1 : RS2; NEXT;
L_SEXT_B: RD = (uint64_t)(int64_t)(int8_t)RS1; NEXT;
L_SEXT_H: RD = (uint64_t)(int64_t)(int16_t)RS1; NEXT;
L_ZEXT_H: RD = (uint16_t)RS1; NEXT;
L_ROL:   RD = rotl64(RS1, (unsigned)RS2 & 63); NEXT;
L_ROLW:  RD = sext32(rotl32((uint32_t)RS1, (unsigned)RS2 & 31)); NEXT;
L_ROR:   RD = rotl64(RS1, (64 - ((unsigned)RS2 & 63)) & 63); NEXT;
L_RORI:  RD = rotl64(RS1, (64 - (unsigned)op->imm) & 63); NEXT;
L_RORIW: RD = sext32(rotl32((uint32_t)RS1, (32 - (unsigned)op->imm) & 31)); NEXT;
L_RORW:  RD = sext32(rotl32((uint32_t)RS1, (32 - ((unsigned)RS2 & 31)) & 31)); NEXT;
L_ORC_B: RD = orc_b(RS1); NEXT;
L_REV8:  RD = __builtin_bswap64(RS1); NEXT;
L_BCLR:  RD = RS1 & ~(1ULL << (RS2 & 63)); NEXT;
L_BCLRI: RD = RS1 & ~(1ULL << op->imm); NEXT;
L_BEXT:  RD = (RS1 >> (RS2 & 63)) & 1; NEXT;
L_BEXTI: RD = (RS1 >> op->imm) & 1; NEXT;
L_BINV:  RD = RS1 ^ (1ULL << (RS2 & 63)); NEXT;
L_BINVI: RD = RS1 ^ (1ULL << op->imm); NEXT;
L_BSET:  RD = RS1 | (1ULL << (RS2 & 63)); NEXT;
L_BSETI: RD = RS1 | (1ULL << op->imm); NEXT;

	/* ---- control transfer (offsets are from the block start) ---- */
#define BRANCH(name, cond)                                               \
L_##name:                                                                \
	if (cond) {                                                      \
		pc += (uint64_t)IMM;                                     \
		CHAIN(0);                                                \
	}                                                                \
	pc += (uint64_t)(int64_t)op->imm2;                               \
	CHAIN(1);
BRANCH(BEQ, RS1 == RS2)
BRANCH(BNE, RS1 != RS2)
BRANCH(BLT, (int64_t)RS1 < (int64_t)RS2)
BRANCH(BGE, (int64_t)RS1 >= (int64_t)RS2)
BRANCH(BLTU, RS1 < RS2)
BRANCH(BGEU, RS1 >= RS2)
#undef BRANCH
L_JAL:
	RD = pc + (uint64_t)(int64_t)op->imm2;
	pc += (uint64_t)IMM;
	CHAIN(0);
L_J:
	pc += (uint64_t)IMM;
	CHAIN(0);
L_JALR: {
	/* IALIGN = 16 (C is always on): only bit 0 is cleared and no
	 * target can be misaligned. */
	uint64_t t = (RS1 + (uint64_t)IMM) & ~1ULL;
	RD = pc + (uint64_t)(int64_t)op->imm2;
	pc = t;
	CHAIN(0);
}
L_JR:
	pc = (RS1 + (uint64_t)IMM) & ~1ULL;
	CHAIN(0);
L_END:
	pc += (uint64_t)IMM;
	CHAIN(0);

	/* ---- loads and stores: TLB fast path inline ---- */
#define LOAD(name, type, size)                                           \
L_##name: {                                                              \
	uint64_t va_ = RS1 + (uint64_t)IMM;                              \
	const struct rv_tlbe *e_ = TLBE(ltlb, va_);                      \
	type v_;                                                         \
	if (likely(e_->tag == (va_ + (size) - 1) >> 12)) {               \
		memcpy(&v_, (const void *)(uintptr_t)(va_ + e_->addend), \
		       size);                                            \
	} else {                                                         \
		uint64_t w_;                                             \
		if (rv_load_slow(h, va_, size, &w_))                     \
			goto exc;                                        \
		POLL_KICK();                                             \
		v_ = (type)w_;                                           \
	}                                                                \
	RD = (uint64_t)(int64_t)v_;                                      \
	NEXT;                                                            \
}
LOAD(LB, int8_t, 1)
LOAD(LH, int16_t, 2)
LOAD(LW, int32_t, 4)
LOAD(LD, int64_t, 8)
LOAD(LBU, uint8_t, 1)
LOAD(LHU, uint16_t, 2)
LOAD(LWU, uint32_t, 4)
#undef LOAD
L_LOADX0: {
	uint64_t w;
	if (rv_load_slow(h, RS1 + (uint64_t)IMM, op->aux, &w))
		goto exc;
	POLL_KICK();
	NEXT;
}
#define STORE(name, type, size)                                          \
L_##name: {                                                              \
	uint64_t va_ = RS1 + (uint64_t)IMM;                              \
	const struct rv_tlbe *e_ = TLBE(stlb, va_);                      \
	if (likely(e_->tag == (va_ + (size) - 1) >> 12)) {               \
		type v_ = (type)RS2;                                     \
		memcpy((void *)(uintptr_t)(va_ + e_->addend), &v_, size);\
	} else {                                                         \
		int r_ = rv_store_slow(h, va_, size, RS2);               \
		if (unlikely(r_ < 0))                                    \
			goto exc;                                        \
		POLL_KICK();                                             \
		if (unlikely(r_ > 0))                                    \
			goto code_changed;                               \
	}                                                                \
	NEXT;                                                            \
}
STORE(SB, uint8_t, 1)
STORE(SH, uint16_t, 2)
STORE(SW, uint32_t, 4)
STORE(SD, uint64_t, 8)
#undef STORE

	/* ---- F/D loads and stores; arithmetic is out of line ---- */
#define FS_CHECK do { if (unlikely(!(h->mstatus & MSTATUS_FS))) \
			goto illegal; } while (0)
L_FLW: {
	FS_CHECK;
	uint64_t va = RS1 + (uint64_t)IMM, w;
	const struct rv_tlbe *e = TLBE(ltlb, va);
	uint32_t v;
	if (likely(e->tag == (va + 3) >> 12)) {
		memcpy(&v, (const void *)(uintptr_t)(va + e->addend), 4);
	} else {
		if (rv_load_slow(h, va, 4, &w))
			goto exc;
		POLL_KICK();
		v = (uint32_t)w;
	}
	h->f[op->rd] = rv_f32_box(v);
	rv_fs_dirty(h);
	NEXT;
}
L_FLD: {
	FS_CHECK;
	uint64_t va = RS1 + (uint64_t)IMM, v;
	const struct rv_tlbe *e = TLBE(ltlb, va);
	if (likely(e->tag == (va + 7) >> 12)) {
		memcpy(&v, (const void *)(uintptr_t)(va + e->addend), 8);
	} else {
		if (rv_load_slow(h, va, 8, &v))
			goto exc;
		POLL_KICK();
	}
	h->f[op->rd] = v;
	rv_fs_dirty(h);
	NEXT;
}
	/* FSW stores the raw low 32 bits, boxed or not (§11.5). */
#define FSTORE(name, type, size)                                         \
L_##name: {                                                              \
	FS_CHECK;                                                        \
	uint64_t va_ = RS1 + (uint64_t)IMM;                              \
	type v_ = (type)h->f[op->rs2];                                   \
	const struct rv_tlbe *e_ = TLBE(stlb, va_);                      \
	if (likely(e_->tag == (va_ + (size) - 1) >> 12)) {               \
		memcpy((void *)(uintptr_t)(va_ + e_->addend), &v_, size);\
	} else {                                                         \
		int r_ = rv_store_slow(h, va_, size, v_);                \
		if (unlikely(r_ < 0))                                    \
			goto exc;                                        \
		POLL_KICK();                                             \
		if (unlikely(r_ > 0))                                    \
			goto code_changed;                               \
	}                                                                \
	NEXT;                                                            \
}
FSTORE(FSW, uint32_t, 4)
FSTORE(FSD, uint64_t, 8)
#undef FSTORE
#undef FS_CHECK
L_FP:
	if (unlikely(rv_fp_op(h, op)))
		goto exc;
	NEXT;

	/* ---- A, Zicbom/Zicboz (out of line) ---- */
L_AMO: {
	int r = rv_amo(h, op);
	if (unlikely(r < 0))
		goto exc;
	if (unlikely(r > 0))
		goto code_changed;
	NEXT;
}
L_CBO: {
	int r = rv_cbo(h, op);
	if (unlikely(r < 0))
		goto exc;
	POLL_KICK();
	if (unlikely(r > 0))
		goto code_changed;
	NEXT;
}

	/* ---- system: every one of these ends its block ---- */
L_CSR:
	h->pc = pc + op->pc_off;
	SYNC_INSTRET();
	if (rv_csr_insn(h, op))
		goto exc;
	h->pc = NEXT_PC;
	goto slow_irq;
L_ECALL:
	if (h->m->sbi && h->m->ecall && h->priv == RV_PRIV_S) {
		/* ringvm is the SEE: answer in place (sbi.h contract:
		 * pc is the ecall's on entry, we advance it after). */
		h->pc = pc + op->pc_off;
		SYNC_INSTRET();
		h->m->ecall(h);
		h->pc += 4;
		goto slow;
	}
	RAISE(h->priv == RV_PRIV_U ? RV_EXC_ECALL_U :
	      h->priv == RV_PRIV_S ? RV_EXC_ECALL_S : RV_EXC_ECALL_M, 0);
L_EBREAK:
	RAISE(RV_EXC_BREAKPOINT, pc + op->pc_off);
L_MRET:
	if (h->priv != RV_PRIV_M)
		goto illegal;
	rv_trap_mret(h);
	goto slow_irq;
L_SRET:
	if (h->priv == RV_PRIV_U ||
	    (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TSR)))
		goto illegal;
	rv_trap_sret(h);
	goto slow_irq;
L_WFI:
	/* TW's time limit is 0, and in U-mode WFI always traps (§3.1.6.5). */
	if (h->priv == RV_PRIV_U ||
	    (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TW)))
		goto illegal;
	h->pc = NEXT_PC;
	/* Nothing pending: return so the host can sleep; rv_hart_set_mip
	 * clears h->wfi when an enabled interrupt arrives. */
	if (!rv_hart_irq_pending(h))
		h->wfi = true;
	goto slow;
L_SFENCE_VMA:
	if (h->priv == RV_PRIV_U ||
	    (h->priv == RV_PRIV_S && (h->mstatus & MSTATUS_TVM)))
		goto illegal;
	rv_tlb_flush_va(h, op->rs1 ? &x[op->rs1] : NULL);
	h->pc = NEXT_PC;
	goto slow;
L_FENCE_I:
	rv_hart_flush_code(h);
	h->pc = NEXT_PC;
	goto slow;
L_NONE:
	NEXT;
L_PAUSE:
	/* A spin-wait hint (Linux's cpu_relax): with several harts, give
	 * the host CPU away, so that on an overcommitted host the hart
	 * holding the lock (or owing the answer) gets to run.  sched_yield
	 * alone often returns at once (nothing else queued on this CPU),
	 * so a spin that goes on (PAUSE_SLEEP_EVERY of them in a slice)
	 * really sleeps a little, like pause-loop exiting in hardware. */
	if (h->m->nharts > 1) {
		if (++c->pauses % PAUSE_SLEEP_EVERY == 0) {
			struct timespec ts_ = { 0, PAUSE_SLEEP_NS };
			nanosleep(&ts_, NULL);
		} else {
			sched_yield();
		}
		/* Such a slice can last long in host time: the spinner may be
		 * the one whose timer interrupt (jiffies) the others wait
		 * for, so timers and kicks are looked at here, not only
		 * between slices. */
		rv_hart_update_timer(h, rv_mtime(h->m));
		POLL_KICK();
	}
	NEXT;
L_FENCE_MB:
	/* The one RVWMO ordering x86-TSO does not give for free: earlier
	 * stores before later loads (docs/ARCHITECTURE.md). */
	rv_host_mb();
	NEXT;
L_ILLEGAL:
illegal:
	RAISE(RV_EXC_ILLEGAL, (uint32_t)op->imm2);

	/* ---- leaving a block out of line ---- */
exc:
	if (unlikely(jit && jit->vblk))
		goto jit_verify_abort;
	/* The op at `op` did not retire. */
	h->pc = pc + op->pc_off;
	left += blk->ninsn - op->idx - 1;
	traps++;
	rv_trap_exception(h, c->exc_cause, c->exc_tval);
	goto slow;
slow_irq:
	rv_trap_irq(h);
	goto slow;
code_changed:
	if (unlikely(jit && jit->vblk))
		goto jit_verify_abort;
	/* A store (retired) overwrote cached code.  If that code is this
	 * block's page, the rest of this block may be stale: stop here. */
	if ((blk->key >> RV_PAGE_SHIFT) != c->inval_page || blk == c->scratch)
		NEXT;
	h->pc = NEXT_PC;
	left += blk->ninsn - op->idx - 1;
	goto slow;
jit_verify_abort:
	rv_jit_verify_abort(h, pc);
	h->pc = pc + op->pc_off;
	left += blk->ninsn - op->idx;
jit_verify_fail:
	/* A difference was reported: the run ends with an error. */
	rv_machine_request_exit(h->m, RV_EXIT_ERROR, 1);
	goto done;
jit_verify_term:
	jit->vterm = false;
	left = vleft;
	if (rv_jit_verify_check(h, vpc) || rv_jit_verify_npc(h, vpc, pc)) {
		h->pc = pc;
		goto jit_verify_fail;
	}
	jk = jit->vk;
	goto jit_chain;
out:
	if (unlikely(jit && jit->vterm))
		goto jit_verify_term;
	h->pc = pc;
done:
	SYNC_INSTRET();
}
