/* Decoded-block cache: translation of guest basic blocks into arrays of
 * pre-decoded ops, and their invalidation.
 *
 * Blocks are keyed by the HOST address of their first instruction, which
 * names one guest-physical RAM byte; so a block is shared by all virtual
 * aliases of its code and survives satp changes.  A block never extends
 * past the end of its 4 KiB page, so "which blocks hold this page" is a
 * property of the key.  Memory comes from one preallocated arena: when it
 * (or the code-page set) fills up, everything is dropped and rebuilt as
 * needed, which keeps the hot path free of allocation and bookkeeping.
 *
 * Invalidation.  Stores by this hart are tracked: pages holding code are
 * listed in code_pages, the store TLB never maps them, and the store slow
 * path drops their blocks (cpu_mem.c).  What is not tracked is device DMA
 * into RAM and stores by other harts (every cache is private to its
 * hart's thread), which the ISA makes visible to instruction fetch only
 * after a fence.i on the fetching hart.  Linux executes fence.i very often (tens of thousands of times
 * while booting: text patching, every newly mapped executable page), so
 * fence.i must not throw the cache away: it starts a new code epoch, and
 * a block from an older epoch is compared with a copy of the bytes it was
 * decoded from before it runs again (once per epoch).  Only if they
 * differ is its page retranslated.  So that the comparison means what it
 * says even while another hart writes the code, a block is decoded from
 * the very copy it keeps (taken first, in one go), never from guest
 * memory directly.
 */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_SIZE (32u << 20)
#define CODE_SLOTS (1u << RV_CODE_PAGES_BITS)
#define CODE_EMPTY ((uintptr_t)0)
#define CODE_TOMB  ((uintptr_t)1)
#define BLOCK_BYTES(nops, code) \
	(sizeof(struct rv_block) + (size_t)(nops) * sizeof(struct rv_op) + \
	 (size_t)(code))
#define MAX_CODE_BYTES (4 * RV_BLOCK_MAX_INSNS)

int rv_block_cache_init(struct rv_cpu *c, struct err *errp)
{
	c->arena_size = ARENA_SIZE;
	c->arena = malloc(c->arena_size);
	c->bhash = calloc(RV_BHASH_SIZE, sizeof(*c->bhash));
	c->code_pages = calloc(CODE_SLOTS, sizeof(*c->code_pages));
	c->scratch = malloc(BLOCK_BYTES(2, 4));
	if (!c->arena || !c->bhash || !c->code_pages || !c->scratch) {
		rv_block_cache_free(c);
		return err_set(errp, ENOMEM,
			       "cannot allocate the RV64 code cache (%u MiB)",
			       ARENA_SIZE >> 20);
	}
	return 0;
}

void rv_block_cache_free(struct rv_cpu *c)
{
	free(c->arena);
	free(c->bhash);
	free(c->code_pages);
	free(c->scratch);
	c->arena = NULL;
	c->bhash = NULL;
	c->code_pages = NULL;
	c->scratch = NULL;
}

void rv_hart_flush_code(struct rv_hart *h)
{
	rv_cpu(h)->code_epoch++;
}

void rv_block_flush_all(struct rv_hart *h)
{
	struct rv_cpu *c = rv_cpu(h);
	memset(c->bhash, 0, RV_BHASH_SIZE * sizeof(*c->bhash));
	memset(c->code_pages, 0, CODE_SLOTS * sizeof(*c->code_pages));
	memset(c->code_filter, 0, sizeof(c->code_filter));
	c->code_used = 0;
	c->arena_used = 0;
	c->cache_gen++;
	memset(c->ijc, 0, sizeof(c->ijc));
	if (c->jit)
		rv_jit_reset(c->jit);
}

int rv_hart_after_fork(struct rv_hart *h, struct err *errp)
{
	struct rv_cpu *c = rv_cpu(h);
	if (!c->jit)
		return 0;
	rv_block_flush_all(h);
	return rv_jit_unshare(c->jit, errp);
}

/* ---- set of host pages holding code (open addressing) ---- */

static unsigned code_slot(uintptr_t hpage)
{
	return (unsigned)(((uint64_t)hpage * 0x9E3779B97F4A7C15ULL) >>
			  (64 - RV_CODE_PAGES_BITS));
}

static uintptr_t *code_find(const struct rv_cpu *c, uintptr_t hpage)
{
	for (unsigned i = code_slot(hpage), n = 0; n < CODE_SLOTS;
	     i = (i + 1) & (CODE_SLOTS - 1), n++) {
		uintptr_t v = c->code_pages[i];
		if (v == hpage)
			return &c->code_pages[i];
		if (v == CODE_EMPTY)
			return NULL;
	}
	return NULL;
}

static unsigned filter_bit(uintptr_t hpage)
{
	return (unsigned)hpage & ((1u << RV_CODE_FILTER_BITS) - 1);
}

bool rv_block_is_code_page(const struct rv_hart *h, uintptr_t hpage)
{
	const struct rv_cpu *c = rv_cpu(h);
	unsigned b = filter_bit(hpage);
	if (!(c->code_filter[b / 64] & (1ULL << (b % 64))))
		return false;
	return code_find(c, hpage) != NULL;
}

/* Returns true if hpage was not yet a code page. */
static bool code_add(struct rv_cpu *c, uintptr_t hpage)
{
	uintptr_t *tomb = NULL;
	for (unsigned i = code_slot(hpage);; i = (i + 1) & (CODE_SLOTS - 1)) {
		uintptr_t v = c->code_pages[i];
		if (v == hpage)
			return false;
		if (v == CODE_TOMB && !tomb)
			tomb = &c->code_pages[i];
		if (v == CODE_EMPTY) {
			unsigned b = filter_bit(hpage);
			c->code_filter[b / 64] |= 1ULL << (b % 64);
			if (tomb) {
				*tomb = hpage;
			} else {
				c->code_pages[i] = hpage;
				c->code_used++;
			}
			return true;
		}
	}
}

void rv_block_invalidate_page(struct rv_hart *h, uintptr_t hpage)
{
	struct rv_cpu *c = rv_cpu(h);
	unsigned base = rv_bhash(hpage << RV_PAGE_SHIFT) & ~63u;
	for (unsigned i = 0; i < 64; i++) {
		struct rv_block **pp = &c->bhash[base + i];
		while (*pp) {
			struct rv_block *b = *pp;
			if (b->key >> RV_PAGE_SHIFT == hpage) {
				/* Links from other pages may still point
				 * here: an epoch no hart ever reaches makes
				 * them miss. */
				b->epoch = RV_EPOCH_DEAD;
				*pp = b->hnext;
			} else {
				pp = &b->hnext;
			}
		}
	}
	uintptr_t *slot = code_find(c, hpage);
	if (slot)
		*slot = CODE_TOMB;
	c->cache_gen++;
}

/* ---- translation ---- */

static uint16_t read16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* Fill one op from a decoded instruction at byte offset pc_off of a
 * block whose first instruction is at page offset `start`. */
static void emit(struct rv_cpu *c, struct rv_block *b, const struct rv_dec *d,
		 unsigned pc_off, unsigned start, unsigned idx)
{
	struct rv_op *op = &b->ops[b->nops++];
	unsigned opc = d->opc;
	int32_t off = (int32_t)pc_off;

	*op = (struct rv_op){
		.imm = d->imm, .imm2 = (int32_t)d->raw,
		.rd = d->rd, .rs1 = d->rs1, .rs2 = d->rs2,
		.pc_off = (uint16_t)pc_off, .idx = (uint8_t)idx,
		.len = d->len,
	};
	switch (opc) {
	case RV_OP_BEQ: case RV_OP_BNE: case RV_OP_BLT: case RV_OP_BGE:
	case RV_OP_BLTU: case RV_OP_BGEU:
	case RV_OP_JAL: {
		int64_t target = (int64_t)start + off + d->imm;
		op->imm = off + d->imm;
		op->imm2 = off + d->len;
		if (target >= 0 && target < (int64_t)RV_PAGE_SIZE)
			b->flags |= RV_BLK_SAME_PAGE0;
		if (opc != RV_OP_JAL &&
		    start + pc_off + d->len < RV_PAGE_SIZE)
			b->flags |= RV_BLK_SAME_PAGE1;
		if (opc == RV_OP_JAL && d->rd == 0)
			opc = RV_OP_J;
		break;
	}
	case RV_OP_JALR:
		op->imm2 = off + d->len;
		if (d->rd == 0)
			opc = RV_OP_JR;
		break;
	case RV_OP_LB: case RV_OP_LBU: op->aux = 1; goto load;
	case RV_OP_LH: case RV_OP_LHU: op->aux = 2; goto load;
	case RV_OP_LW: case RV_OP_LWU: op->aux = 4; goto load;
	case RV_OP_LD: op->aux = 8;
	load:
		if (d->rd == 0)
			opc = RV_OP_LOADX0;
		break;
	case RV_OP_CSRRW: case RV_OP_CSRRS: case RV_OP_CSRRC:
	case RV_OP_CSRRWI: case RV_OP_CSRRSI: case RV_OP_CSRRCI:
		op->aux = (uint8_t)opc;
		break;
	default:
		/* FP, AMO and CBO ops share out-of-line handlers that
		 * dispatch on opc (contiguous ranges of the op list). */
		if ((opc >= RV_OP_FMADD_S && opc <= RV_OP_FCVT_D_S) ||
		    (opc >= RV_OP_LR_W && opc <= RV_OP_AMOMAXU_D) ||
		    (opc >= RV_OP_CBO_CLEAN && opc <= RV_OP_CBO_ZERO)) {
			op->imm = (int32_t)opc;
			op->aux = d->rm;
		}
		break;
	}
	op->h = c->labels[opc];
}

static void emit_end(struct rv_cpu *c, struct rv_block *b, unsigned pc_off,
		     unsigned idx, bool same_page)
{
	struct rv_op *op = &b->ops[b->nops++];
	*op = (struct rv_op){
		.h = c->labels[RV_OP_END], .imm = (int32_t)pc_off,
		.pc_off = (uint16_t)pc_off, .idx = (uint8_t)idx,
	};
	if (same_page)
		b->flags |= RV_BLK_SAME_PAGE0;
}

/* Fetch translation of the page holding va: host page or NULL with the
 * fetch exception recorded. */
static uint8_t *fetch_page(struct rv_hart *h, uint64_t va)
{
	struct rv_cpu *c = rv_cpu(h);
	uint64_t vpn = va >> RV_PAGE_SHIFT, pa;
	const struct rv_tlbe *e = &c->itlb->e[vpn & RV_TLB_MASK];
	bool super;
	if (e->tag == vpn)
		return (uint8_t *)(uintptr_t)((vpn << RV_PAGE_SHIFT) + e->addend);
	if (rv_mmu_translate(h, va, RV_ACC_FETCH, &pa, &super))
		return NULL;
	/* Instructions run from RAM only; MMIO is not executable. */
	uint8_t *page = gpa_ptr(&h->m->mem, pa & ~RV_PAGE_MASK, RV_PAGE_SIZE);
	if (!page) {
		rv_exc(h, RV_EXC_INSN_ACCESS, va);
		return NULL;
	}
	rv_tlb_fill(h, RV_ACC_FETCH, va, page, super);
	return page;
}

/* An instruction whose two halves lie in different pages: decode it into
 * the scratch block (one op plus END), fetched afresh every time because
 * the two pages can be remapped independently. */
RV_GUEST_MEM static struct rv_block *translate_straddle(struct rv_hart *h, uint64_t pc,
					   uint8_t *page)
{
	struct rv_cpu *c = rv_cpu(h);
	uint64_t next = (pc | RV_PAGE_MASK) + 1;
	uint8_t *page2 = fetch_page(h, next);
	if (!page2)
		return NULL; /* tval = next: the portion that faulted */
	uint16_t lo, hi;
	rv_gmem_copy(&lo, page + RV_PAGE_SIZE - 2, 2);
	rv_gmem_copy(&hi, page2, 2);
	uint32_t insn = lo | (uint32_t)hi << 16;
	struct rv_dec d;
	struct rv_block *b = c->scratch;
	rv_decode(insn, &d);
	*b = (struct rv_block){ .key = (uintptr_t)(page + RV_PAGE_SIZE - 2),
				.ninsn = 1, .epoch = c->code_epoch };
	unsigned fl = rv_op_flags(d.opc);
	if (!(fl & RV_F_SKIP) && !((fl & RV_F_PURE) && d.rd == 0))
		emit(c, b, &d, 0, RV_PAGE_SIZE - 2, 0);
	if (!(fl & RV_F_TERM))
		emit_end(c, b, 4, 1, false);
	b->flags = 0; /* never chained */
	return b;
}

RV_GUEST_MEM static struct rv_block *translate(struct rv_hart *h, uint64_t pc,
					       uint8_t *page)
{
	struct rv_cpu *c = rv_cpu(h);
	unsigned start = pc & RV_PAGE_MASK;

	if ((read16(page + start) & 3) == 3 && start == RV_PAGE_SIZE - 2)
		return translate_straddle(h, pc, page);

	size_t need = BLOCK_BYTES(RV_BLOCK_MAX_INSNS + 1, MAX_CODE_BYTES);
	if (c->arena_used + need > c->arena_size ||
	    c->code_used >= CODE_SLOTS / 2)
		rv_block_flush_all(h);
	struct rv_block *b = (struct rv_block *)(c->arena + c->arena_used);
	*b = (struct rv_block){ .key = (uintptr_t)(page + start),
				.epoch = c->code_epoch };

	/* Snapshot the most a block can cover (plus a parcel for a last
	 * 32-bit instruction), then decode from the snapshot. */
	uint8_t code[MAX_CODE_BYTES + 2];
	unsigned avail = RV_PAGE_SIZE - start;
	if (avail > sizeof(code))
		avail = sizeof(code);
	rv_gmem_copy(code, page + start, avail);

	unsigned pos = start, n = 0;
	for (;;) {
		if (pos >= RV_PAGE_SIZE) {
			emit_end(c, b, pos - start, n, false);
			break;
		}
		if (n == RV_BLOCK_MAX_INSNS) {
			emit_end(c, b, pos - start, n, true);
			break;
		}
		uint32_t insn = read16(code + pos - start);
		if ((insn & 3) == 3) {
			if (pos == RV_PAGE_SIZE - 2) {
				/* Leave it to a block of its own. */
				emit_end(c, b, pos - start, n, false);
				break;
			}
			insn |= (uint32_t)read16(code + pos - start + 2) << 16;
		}
		struct rv_dec d;
		rv_decode(insn, &d);
		unsigned fl = rv_op_flags(d.opc);
		if (!(fl & RV_F_SKIP) && !((fl & RV_F_PURE) && d.rd == 0))
			emit(c, b, &d, pos - start, start, n);
		n++;
		pos += d.len;
		if (fl & RV_F_TERM)
			break;
	}
	b->ninsn = (uint16_t)n;
	b->bytes = (uint16_t)(pos - start);
	memcpy(&b->ops[b->nops], code, b->bytes);
	c->arena_used += (BLOCK_BYTES(b->nops, b->bytes) + 15) & ~(size_t)15;

	unsigned hi = rv_bhash(b->key);
	b->hnext = c->bhash[hi];
	c->bhash[hi] = b;

	uintptr_t hpage = b->key >> RV_PAGE_SHIFT;
	/* From now on this hart's stores to the page take the slow path. */
	if (code_add(c, hpage))
		rv_tlb_drop_store_page(h, hpage);
	return b;
}

RV_GUEST_MEM int rv_block_revalidate(struct rv_hart *h, struct rv_block *b)
{
	struct rv_cpu *c = rv_cpu(h);
	if (b->epoch == RV_EPOCH_DEAD ||
	    !rv_gmem_equal(&b->ops[b->nops], (const void *)b->key, b->bytes))
		return 0;
	b->epoch = c->code_epoch;
	return 1;
}

RV_GUEST_MEM struct rv_block *rv_block_lookup(struct rv_hart *h, uint64_t pc)
{
	struct rv_cpu *c = rv_cpu(h);
	uint8_t *page = fetch_page(h, pc);
	if (!page) {
		rv_trap_exception(h, c->exc_cause, c->exc_tval);
		return NULL;
	}
	uintptr_t key = (uintptr_t)page + (pc & RV_PAGE_MASK);
	for (struct rv_block *b = c->bhash[rv_bhash(key)]; b; b = b->hnext) {
		if (b->key != key)
			continue;
		if (b->epoch == c->code_epoch)
			return b;
		/* First use since a fence.i: still what memory holds? */
		if (rv_block_revalidate(h, b))
			return b;
		rv_block_invalidate_page(h, key >> RV_PAGE_SHIFT);
		break;
	}
	struct rv_block *b = translate(h, pc, page);
	if (!b)
		rv_trap_exception(h, c->exc_cause, c->exc_tval);
	return b;
}
