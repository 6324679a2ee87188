/* The RV64 -> x86-64 translator (src/engine/rv64/jit/translate.c) against
 * the interpreter, differentially: a block is decoded by the real block
 * cache, run once as translated code and once in the interpreter from the
 * same registers and memory, and everything must match.  When translated
 * code stops early (a side exit at op n), the reference is the
 * interpreter running only the instructions before ops[n] (jit.h: the
 * interpreter continues at ops[n] as if it had run ops[0..n) itself).
 *
 * Covers every inline op with edge operands (0, -1, INT64_MIN, INT32_MIN,
 * shift amounts 0/31/32/63, division by zero, INT_MIN / -1) and register
 * aliasing; loads and stores hitting and missing the soft TLB (a miss
 * returns the op's index with nothing written), page crossers; FP loads,
 * stores and helper calls, FS off; random programs long enough to spill
 * guest registers to memory; the jit-verify store log; prefixes ending at
 * an untranslated op; a full code buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "board/virt/memmap.h"
#include "engine/rv64/cpu_internal.h"
#include "engine/rv64/jit/translate.h"
#include "engine/rv64/jit/x86_emit.h"

#define RAM_SIZE (16ULL << 20)
#define CODE (RV_RAM_BASE + 0x1000)
#define DATA (RV_RAM_BASE + 0x10000)   /* one 4 KiB data page */
#define MAXI 80

struct fx {
	struct rv_machine m;
	struct rv_hart *h;
	struct rv_jit *j;       /* RV_ACCEL_JIT translator */
	struct rv_jit *jv;      /* RV_ACCEL_JIT_VERIFY translator */
	uint64_t rng;
};

static uint64_t rnd(struct fx *f)
{
	/* xorshift64*: reproducible operand streams */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1DULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_non_null(f);
	assert_int_equal(guest_mem_add(&f->m.mem, RV_RAM_BASE, RAM_SIZE, &e), 0);
	f->h = rv_hart_new(&f->m, 0, &e);
	assert_non_null(f->h);
	f->m.harts[0] = f->h;
	f->m.nharts = 1;
	rv_hart_reset(f->h, CODE, RV_PRIV_M, 0);
	f->h->mstatus |= MSTATUS_FS_INITIAL;
	assert_int_equal(rv_jit_new(RV_ACCEL_JIT, 8u << 20, rv_exec_labels(),
				    &f->j, &e), 0);
	assert_int_equal(rv_jit_new(RV_ACCEL_JIT_VERIFY, 8u << 20,
				    rv_exec_labels(), &f->jv, &e), 0);
	/* Single ops too (the default leaves short prefixes alone). */
	rv_jit_set_min_ops(f->j->tr, 1);
	f->rng = 0x9e3779b97f4a7c15ULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rv_cpu(f->h)->jit = NULL;
	rv_hart_free(f->h);
	rv_jit_free(f->j);
	rv_jit_free(f->jv);
	guest_mem_free(&f->m.mem);
	free(f);
	return 0;
}

/* ---- instruction encoding ---- */

static uint32_t enc_r(uint32_t base, unsigned rd, unsigned rs1, unsigned rs2)
{
	return base | rs2 << 20 | rs1 << 15 | rd << 7;
}

static uint32_t enc_i(uint32_t base, unsigned rd, unsigned rs1, int imm)
{
	return base | ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | rd << 7;
}

static uint32_t enc_s(uint32_t base, unsigned rs1, unsigned rs2, int imm)
{
	uint32_t u = (uint32_t)imm;
	return base | ((u >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 |
	       (u & 0x1f) << 7;
}

#define RR(f7, f3, opc) ((uint32_t)(f7) << 25 | (f3) << 12 | (opc))
#define IB(f3, opc) ((f3) << 12 | (opc))
#define SH6(top, f3) ((uint32_t)(top) << 26 | (f3) << 12 | 0x13)
#define UN(imm, f3, opc) ((uint32_t)(imm) << 20 | (f3) << 12 | (opc))

enum form { F_RR, F_RI, F_SH6, F_SH5, F_SH6W, F_UN, F_U };

struct top {
	unsigned opc;
	uint32_t base;
	enum form form;
};

static const struct top int_ops[] = {
	{ RV_OP_ADD, RR(0, 0, 0x33), F_RR }, { RV_OP_SUB, RR(0x20, 0, 0x33), F_RR },
	{ RV_OP_SLL, RR(0, 1, 0x33), F_RR }, { RV_OP_SLT, RR(0, 2, 0x33), F_RR },
	{ RV_OP_SLTU, RR(0, 3, 0x33), F_RR }, { RV_OP_XOR, RR(0, 4, 0x33), F_RR },
	{ RV_OP_SRL, RR(0, 5, 0x33), F_RR }, { RV_OP_SRA, RR(0x20, 5, 0x33), F_RR },
	{ RV_OP_OR, RR(0, 6, 0x33), F_RR }, { RV_OP_AND, RR(0, 7, 0x33), F_RR },
	{ RV_OP_MUL, RR(1, 0, 0x33), F_RR }, { RV_OP_MULH, RR(1, 1, 0x33), F_RR },
	{ RV_OP_MULHSU, RR(1, 2, 0x33), F_RR }, { RV_OP_MULHU, RR(1, 3, 0x33), F_RR },
	{ RV_OP_DIV, RR(1, 4, 0x33), F_RR }, { RV_OP_DIVU, RR(1, 5, 0x33), F_RR },
	{ RV_OP_REM, RR(1, 6, 0x33), F_RR }, { RV_OP_REMU, RR(1, 7, 0x33), F_RR },
	{ RV_OP_ADDW, RR(0, 0, 0x3b), F_RR }, { RV_OP_SUBW, RR(0x20, 0, 0x3b), F_RR },
	{ RV_OP_SLLW, RR(0, 1, 0x3b), F_RR }, { RV_OP_SRLW, RR(0, 5, 0x3b), F_RR },
	{ RV_OP_SRAW, RR(0x20, 5, 0x3b), F_RR }, { RV_OP_MULW, RR(1, 0, 0x3b), F_RR },
	{ RV_OP_DIVW, RR(1, 4, 0x3b), F_RR }, { RV_OP_DIVUW, RR(1, 5, 0x3b), F_RR },
	{ RV_OP_REMW, RR(1, 6, 0x3b), F_RR }, { RV_OP_REMUW, RR(1, 7, 0x3b), F_RR },
	{ RV_OP_ADD_UW, RR(4, 0, 0x3b), F_RR },
	{ RV_OP_SH1ADD, RR(0x10, 2, 0x33), F_RR }, { RV_OP_SH2ADD, RR(0x10, 4, 0x33), F_RR },
	{ RV_OP_SH3ADD, RR(0x10, 6, 0x33), F_RR },
	{ RV_OP_SH1ADD_UW, RR(0x10, 2, 0x3b), F_RR },
	{ RV_OP_SH2ADD_UW, RR(0x10, 4, 0x3b), F_RR },
	{ RV_OP_SH3ADD_UW, RR(0x10, 6, 0x3b), F_RR },
	{ RV_OP_ANDN, RR(0x20, 7, 0x33), F_RR }, { RV_OP_ORN, RR(0x20, 6, 0x33), F_RR },
	{ RV_OP_XNOR, RR(0x20, 4, 0x33), F_RR }, { RV_OP_MAX, RR(5, 6, 0x33), F_RR },
	{ RV_OP_MAXU, RR(5, 7, 0x33), F_RR }, { RV_OP_MIN, RR(5, 4, 0x33), F_RR },
	{ RV_OP_MINU, RR(5, 5, 0x33), F_RR }, { RV_OP_ROL, RR(0x30, 1, 0x33), F_RR },
	{ RV_OP_ROR, RR(0x30, 5, 0x33), F_RR }, { RV_OP_ROLW, RR(0x30, 1, 0x3b), F_RR },
	{ RV_OP_RORW, RR(0x30, 5, 0x3b), F_RR }, { RV_OP_BCLR, RR(0x24, 1, 0x33), F_RR },
	{ RV_OP_BEXT, RR(0x24, 5, 0x33), F_RR }, { RV_OP_BINV, RR(0x34, 1, 0x33), F_RR },
	{ RV_OP_BSET, RR(0x14, 1, 0x33), F_RR },
	{ RV_OP_ADDI, IB(0, 0x13), F_RI }, { RV_OP_SLTI, IB(2, 0x13), F_RI },
	{ RV_OP_SLTIU, IB(3, 0x13), F_RI }, { RV_OP_XORI, IB(4, 0x13), F_RI },
	{ RV_OP_ORI, IB(6, 0x13), F_RI }, { RV_OP_ANDI, IB(7, 0x13), F_RI },
	{ RV_OP_ADDIW, IB(0, 0x1b), F_RI },
	{ RV_OP_SLLI, SH6(0, 1), F_SH6 }, { RV_OP_SRLI, SH6(0, 5), F_SH6 },
	{ RV_OP_SRAI, SH6(0x10, 5), F_SH6 }, { RV_OP_RORI, SH6(0x18, 5), F_SH6 },
	{ RV_OP_BCLRI, SH6(0x12, 1), F_SH6 }, { RV_OP_BEXTI, SH6(0x12, 5), F_SH6 },
	{ RV_OP_BINVI, SH6(0x1a, 1), F_SH6 }, { RV_OP_BSETI, SH6(0x0a, 1), F_SH6 },
	{ RV_OP_SLLI_UW, (uint32_t)0x02 << 26 | 1 << 12 | 0x1b, F_SH6W },
	{ RV_OP_SLLIW, RR(0, 1, 0x1b), F_SH5 }, { RV_OP_SRLIW, RR(0, 5, 0x1b), F_SH5 },
	{ RV_OP_SRAIW, RR(0x20, 5, 0x1b), F_SH5 }, { RV_OP_RORIW, RR(0x30, 5, 0x1b), F_SH5 },
	{ RV_OP_CLZ, UN(0x600, 1, 0x13), F_UN }, { RV_OP_CTZ, UN(0x601, 1, 0x13), F_UN },
	{ RV_OP_CPOP, UN(0x602, 1, 0x13), F_UN }, { RV_OP_SEXT_B, UN(0x604, 1, 0x13), F_UN },
	{ RV_OP_SEXT_H, UN(0x605, 1, 0x13), F_UN }, { RV_OP_CLZW, UN(0x600, 1, 0x1b), F_UN },
	{ RV_OP_CTZW, UN(0x601, 1, 0x1b), F_UN }, { RV_OP_CPOPW, UN(0x602, 1, 0x1b), F_UN },
	{ RV_OP_ORC_B, UN(0x287, 5, 0x13), F_UN }, { RV_OP_REV8, UN(0x6b8, 5, 0x13), F_UN },
	{ RV_OP_ZEXT_H, UN(0x080, 4, 0x3b), F_UN },
	{ RV_OP_LUI, 0x37, F_U }, { RV_OP_AUIPC, 0x17, F_U },
};

static const uint64_t edges[] = {
	0, 1, ~0ULL, 2, 0x8000000000000000ULL, 0x7fffffffffffffffULL,
	0xffffffff80000000ULL, 0x7fffffff, 0xffffffff, 0x80000000,
	31, 32, 63, 64, 0x8080808080808080ULL, 0x00ff00000001ff00ULL,
	0xfffffffffffffffeULL, 0x123456789abcdef0ULL,
};
#define NEDGES (sizeof(edges) / sizeof(edges[0]))

static const int imms[] = { 0, 1, -1, 2047, -2048, 31, 32, 63, 0x555 };
#define NIMMS (sizeof(imms) / sizeof(imms[0]))

static uint32_t encode(const struct top *t, unsigned rd, unsigned rs1,
		       unsigned rs2, int imm)
{
	switch (t->form) {
	case F_RR: return enc_r(t->base, rd, rs1, rs2);
	case F_RI: return enc_i(t->base, rd, rs1, imm);
	case F_SH6:
	case F_SH6W: return enc_r(t->base, rd, rs1, 0) | ((uint32_t)imm & 63) << 20;
	case F_SH5: return enc_r(t->base, rd, rs1, 0) | ((uint32_t)imm & 31) << 20;
	case F_UN: return enc_r(t->base, rd, rs1, 0);
	case F_U: return t->base | ((uint32_t)imm & 0xfffff) << 12 | rd << 7;
	}
	return 0;
}

/* ---- running a program both ways ---- */

struct snap {
	uint64_t x[32], f[32], mstatus;
	uint32_t fflags;
	uint8_t data[RV_PAGE_SIZE];
};

static uint8_t *gp(struct fx *f, uint64_t gpa, size_t len)
{
	uint8_t *p = gpa_ptr(&f->m.mem, gpa, len);
	assert_non_null(p);
	return p;
}

static void take(struct fx *f, struct snap *s)
{
	memcpy(s->x, f->h->x, sizeof(s->x));
	memcpy(s->f, f->h->f, sizeof(s->f));
	s->mstatus = f->h->mstatus;
	s->fflags = f->h->fflags;
	memcpy(s->data, gp(f, DATA, RV_PAGE_SIZE), RV_PAGE_SIZE);
}

static void put(struct fx *f, const struct snap *s)
{
	memcpy(f->h->x, s->x, sizeof(s->x));
	memcpy(f->h->f, s->f, sizeof(s->f));
	f->h->mstatus = s->mstatus;
	f->h->fflags = s->fflags;
	memcpy(gp(f, DATA, RV_PAGE_SIZE), s->data, RV_PAGE_SIZE);
}

static void assert_same(const struct snap *a, const struct snap *b,
			const uint32_t *prog, unsigned n)
{
	bool ok = true;
	for (unsigned i = 0; i < 32; i++) {
		if (a->x[i] != b->x[i]) {
			print_error("x%u: jit %#llx interp %#llx\n", i,
				    (unsigned long long)a->x[i],
				    (unsigned long long)b->x[i]);
			ok = false;
		}
		if (a->f[i] != b->f[i]) {
			print_error("f%u: jit %#llx interp %#llx\n", i,
				    (unsigned long long)a->f[i],
				    (unsigned long long)b->f[i]);
			ok = false;
		}
	}
	if (a->mstatus != b->mstatus || a->fflags != b->fflags) {
		print_error("mstatus/fflags differ\n");
		ok = false;
	}
	if (memcmp(a->data, b->data, sizeof(a->data))) {
		print_error("data page differs\n");
		ok = false;
	}
	if (!ok) {
		for (unsigned i = 0; i < n; i++)
			print_error("  insn %u: %08x\n", i, prog[i]);
		fail();
	}
}

/* Put prog (n instructions) then "j ." at CODE and decode it. */
static struct rv_block *load_prog(struct fx *f, const uint32_t *prog,
				  unsigned n)
{
	uint8_t *code = gp(f, CODE, 4 * (n + 1));
	uint32_t j = 0x6f;   /* jal x0, 0 */
	memcpy(code, prog, 4 * n);
	memcpy(code + 4 * n, &j, 4);
	rv_block_invalidate_page(f->h, (uintptr_t)code >> RV_PAGE_SHIFT);
	f->h->pc = CODE;
	struct rv_block *b = rv_block_lookup(f->h, CODE);
	assert_non_null(b);
	return b;
}

/* The interpreter on the first n instructions of prog. */
static void interp(struct fx *f, const uint32_t *prog, unsigned n)
{
	load_prog(f, prog, n);
	f->h->pc = CODE;
	rv_hart_run(f->h, 1);
	/* Ran them all and stopped at the "j .": no trap on the way. */
	assert_int_equal(f->h->pc, CODE + 4 * n);
}

static struct rv_jit *cur_jit(struct fx *f, bool verify)
{
	struct rv_jit *j = verify ? f->jv : f->j;
	if (j->used > j->size / 2)
		rv_jit_reset(j);
	/* rv_jit_vlog_store finds the log through the hart. */
	rv_cpu(f->h)->jit = verify ? f->jv : NULL;
	j->nvlog = 0;
	return j;
}

/* Translate prog, run it, and compare with the interpreter; returns the
 * op index the code returned (the whole block: the index of "j ."). */
static unsigned check_prog(struct fx *f, const uint32_t *prog, unsigned n,
			   bool verify)
{
	struct rv_jit *j = cur_jit(f, verify);
	struct rv_block *b = load_prog(f, prog, n);
	rv_jit_fn fn = rv_jit_translate(j, b);
	assert_non_null(fn);
	struct snap s0, sj, si;
	take(f, &s0);
	struct rv_cpu *c = rv_cpu(f->h);
	c->jf.left = 0;   /* no chaining (nothing is linked anyway) */
	unsigned r = fn(f->h->x, CODE, c->ltlb, c->stlb, f->h);
	c->jit = NULL;
	unsigned k;
	if (r >= RV_JIT_TERM) {
		/* It ran the "j ." too: link 0, next pc the j itself. */
		assert_int_equal(r, RV_JIT_TERM);
		assert_int_equal(c->jf.npc, CODE + 4 * n);
		r = b->nops - 1u;
		k = n;
	} else {
		assert_true(r < b->nops);
		k = b->ops[r].idx;
	}
	take(f, &sj);
	put(f, &s0);
	interp(f, prog, k);
	take(f, &si);
	assert_same(&sj, &si, prog, n);
	return r;
}

static void set_regs(struct fx *f)
{
	for (unsigned i = 1; i < 32; i++)
		f->h->x[i] = (rnd(f) & 1) ? rnd(f) : edges[rnd(f) % NEDGES];
}

/* ---- tests ---- */

/* Each integer op with edge operands and aliased registers. */
static void test_int_ops(void **state)
{
	struct fx *f = *state;
	static const uint8_t pats[][3] = {   /* rd, rs1, rs2 */
		{ 5, 6, 7 }, { 6, 6, 7 }, { 7, 6, 7 }, { 5, 6, 6 },
		{ 5, 0, 6 }, { 5, 6, 0 }, { 6, 6, 6 }, { 31, 30, 1 },
	};
	for (size_t o = 0; o < sizeof(int_ops) / sizeof(int_ops[0]); o++) {
		const struct top *t = &int_ops[o];
		struct rv_dec d;
		rv_decode(encode(t, 5, 6, 7, 1), &d);
		if (d.opc != t->opc)
			print_error("encoding of %s decodes as %s\n",
				    rv_op_name(t->opc), rv_op_name(d.opc));
		assert_int_equal(d.opc, t->opc);
		unsigned cnt = 0;
		for (size_t a = 0; a < NEDGES; a++) {
			for (size_t bb = 0; bb < NEDGES; bb++, cnt++) {
				const uint8_t *p = pats[cnt % 8];
				int imm = t->form == F_RR ? 0 :
					  t->form == F_U ? (int)(rnd(f) & 0xfffff) :
					  (bb < NIMMS ? imms[bb] : (int)rnd(f));
				uint32_t insn = encode(t, p[0], p[1], p[2], imm);
				set_regs(f);
				if (p[1])
					f->h->x[p[1]] = edges[a];
				if (p[2] && p[2] != p[1])
					f->h->x[p[2]] = edges[bb];
				unsigned r = check_prog(f, &insn, 1, false);
				assert_int_equal(r, 1);
			}
		}
	}
}

static const struct { unsigned opc; uint32_t base; unsigned size; bool st; }
mem_ops[] = {
	{ RV_OP_LB, IB(0, 0x03), 1, false }, { RV_OP_LH, IB(1, 0x03), 2, false },
	{ RV_OP_LW, IB(2, 0x03), 4, false }, { RV_OP_LD, IB(3, 0x03), 8, false },
	{ RV_OP_LBU, IB(4, 0x03), 1, false }, { RV_OP_LHU, IB(5, 0x03), 2, false },
	{ RV_OP_LWU, IB(6, 0x03), 4, false },
	{ RV_OP_SB, IB(0, 0x23), 1, true }, { RV_OP_SH, IB(1, 0x23), 2, true },
	{ RV_OP_SW, IB(2, 0x23), 4, true }, { RV_OP_SD, IB(3, 0x23), 8, true },
	{ RV_OP_FLW, IB(2, 0x07), 4, false }, { RV_OP_FLD, IB(3, 0x07), 8, false },
	{ RV_OP_FSW, IB(2, 0x27), 4, true }, { RV_OP_FSD, IB(3, 0x27), 8, true },
};
#define NMEM (sizeof(mem_ops) / sizeof(mem_ops[0]))

static uint32_t mem_insn(unsigned k, unsigned reg, unsigned base, int off)
{
	return mem_ops[k].st ? enc_s(mem_ops[k].base, base, reg, off) :
			       enc_i(mem_ops[k].base, reg, base, off);
}

static void fill_data(struct fx *f)
{
	uint8_t *d = gp(f, DATA, RV_PAGE_SIZE);
	for (unsigned i = 0; i < RV_PAGE_SIZE; i++)
		d[i] = (uint8_t)(rnd(f) | (i & 1 ? 0x80 : 0));
	for (unsigned i = 0; i < 32; i++)
		f->h->f[i] = rnd(f);
	f->h->f[3] = 0xffffffff3f800000ULL;   /* a boxed 1.0f */
}

/* Loads and stores: a cold TLB exits at the op with nothing written, a
 * warm one runs it; an access crossing the page end always exits. */
static void test_mem_ops(void **state)
{
	struct fx *f = *state;
	static const unsigned bases[] = { 6, 9, 31 };
	static const unsigned regs[] = { 5, 9, 6 };   /* 9/9: base = data */
	for (unsigned k = 0; k < NMEM; k++) {
		for (unsigned v = 0; v < 24; v++) {
			unsigned base = bases[v % 3], reg = regs[v % 3];
			int off = (int)((rnd(f) % (RV_PAGE_SIZE / mem_ops[k].size)) *
					mem_ops[k].size) - 0x800;
			uint32_t insn = mem_insn(k, reg, base, off);
			set_regs(f);
			fill_data(f);
			f->h->x[base] = DATA + 0x800;
			rv_tlb_flush_va(f->h, NULL);
			struct snap s0, s1;
			take(f, &s0);
			/* Cold: side exit at op 0, nothing changed. */
			assert_int_equal(check_prog(f, &insn, 1, v & 1), 0);
			take(f, &s1);
			assert_same(&s1, &s0, &insn, 1);
			/* The interpreter fills the TLB; now it runs. */
			interp(f, &insn, 1);
			put(f, &s0);
			assert_int_equal(check_prog(f, &insn, 1, v & 1), 1);
		}
		/* Page crossers (misaligned) never take the fast path. */
		if (mem_ops[k].size > 1) {
			set_regs(f);
			fill_data(f);
			f->h->x[6] = DATA + 0x800;
			uint32_t insn = mem_insn(k, 5, 6, 0x7ff);
			assert_int_equal(check_prog(f, &insn, 1, false), 0);
		}
		/* Base x0: an address outside RAM, never in the TLB. */
		uint32_t insn = mem_insn(k, 5, 0, 0x100);
		assert_int_equal(check_prog(f, &insn, 1, false), 0);
	}
}

/* FP loads/stores and helper ops; with FS off each exits at once. */
static void test_fp(void **state)
{
	struct fx *f = *state;
	const uint32_t fadd_d = RR(0x01, 7, 0x53) | 3 << 20 | 2 << 15 | 1 << 7;
	const uint32_t fcvt_l_d = RR(0x61, 1, 0x53) | 2 << 20 | 1 << 15 | 5 << 7;
	const uint32_t fmv_x_d = RR(0x71, 0, 0x53) | 1 << 15 | 6 << 7;
	const uint32_t fmv_d_x = RR(0x79, 0, 0x53) | 7 << 15 | 4 << 7;
	const uint32_t feq_s = RR(0x50, 2, 0x53) | 3 << 20 | 3 << 15 | 8 << 7;
	const uint32_t fadd_bad_rm = RR(0x01, 5, 0x53) | 3 << 20 | 2 << 15 | 1 << 7;
	uint32_t prog[] = {
		enc_i(IB(3, 0x07), 1, 31, 8),          /* fld f1, 8(x31) */
		enc_i(IB(2, 0x07), 2, 31, 16),         /* flw f2, 16(x31) */
		fadd_d, fcvt_l_d, fmv_x_d, fmv_d_x, feq_s,
		enc_s(IB(3, 0x27), 31, 4, 24),         /* fsd f4, 24(x31) */
		enc_s(IB(2, 0x27), 31, 1, 32),         /* fsw f1, 32(x31) */
		enc_i(IB(0, 0x13), 9, 5, 1),           /* addi x9, x5, 1 */
		RR(0, 0, 0x33) | 9 << 20 | 6 << 15 | 10 << 7,  /* add x10, x6, x9 */
	};
	unsigned n = sizeof(prog) / sizeof(prog[0]);
	for (unsigned v = 0; v < 40; v++) {
		set_regs(f);
		fill_data(f);
		f->h->x[31] = DATA + 0x800;
		f->h->x[7] = edges[v % NEDGES];
		f->h->frm = v % 5;
		struct snap s0;
		take(f, &s0);
		interp(f, prog, n);      /* warm the TLB */
		put(f, &s0);
		assert_int_equal(check_prog(f, prog, n, v & 1), n);
	}
	/* FS off: FP load, store and arithmetic leave it to the interpreter
	 * (which raises illegal instruction). */
	static const unsigned first[] = { 0, 2, 7 };
	for (unsigned k = 0; k < 3; k++) {
		set_regs(f);
		f->h->x[31] = DATA + 0x800;
		f->h->mstatus &= ~MSTATUS_FS;
		struct rv_block *b = load_prog(f, &prog[first[k]], 1);
		rv_jit_fn fn = rv_jit_translate(f->j, b);
		assert_non_null(fn);
		struct snap s0, s1;
		take(f, &s0);
		struct rv_cpu *c = rv_cpu(f->h);
		assert_int_equal(fn(f->h->x, CODE, c->ltlb, c->stlb, f->h), 0);
		take(f, &s1);
		assert_same(&s1, &s0, prog, 1);
		f->h->mstatus |= MSTATUS_FS_INITIAL;
	}
	/* A reserved rounding mode: rv_fp_op fails, side exit, no effect. */
	set_regs(f);
	uint32_t p2[] = { enc_i(IB(0, 0x13), 9, 5, 1), fadd_bad_rm };
	assert_int_equal(check_prog(f, p2, 2, false), 1);
}

/* Random straight-line programs over all translated op kinds, with more
 * live registers than host registers (memory-resident guest registers,
 * write-backs at every exit, helper calls with live registers). */
static void test_random_programs(void **state)
{
	struct fx *f = *state;
	/* FP ops; the last five have their rs2 field fixed */
	static const uint32_t fpops[] = {
		RR(0x01, 7, 0x53), RR(0x00, 7, 0x53), RR(0x09, 7, 0x53),
		RR(0x51, 1, 0x53), RR(0x71, 0, 0x53), RR(0x79, 0, 0x53),
		RR(0x69, 7, 0x53) | 2 << 20, RR(0x61, 1, 0x53) | 2 << 20,
	};
	for (unsigned iter = 0; iter < 1500; iter++) {
		uint32_t prog[MAXI];
		unsigned n = 1 + (unsigned)(rnd(f) % 60);
		unsigned nregs = 4 + (unsigned)(rnd(f) % 27);   /* x1..nregs */
		for (unsigned i = 0; i < n; i++) {
			unsigned rd = 1 + (unsigned)(rnd(f) % nregs);
			unsigned rs1 = (unsigned)(rnd(f) % (nregs + 1));
			unsigned rs2 = (unsigned)(rnd(f) % (nregs + 1));
			if (rd == 31)
				rd = 30;   /* x31 holds the data pointer */
			unsigned pick = (unsigned)(rnd(f) % 10);
			if (pick < 6) {
				const struct top *t = &int_ops[rnd(f) %
					(sizeof(int_ops) / sizeof(int_ops[0]))];
				prog[i] = encode(t, rd, rs1, rs2, (int)rnd(f));
			} else if (pick < 9) {
				unsigned k = (unsigned)(rnd(f) % NMEM);
				int off = (int)((rnd(f) % (RV_PAGE_SIZE /
						 mem_ops[k].size)) *
						mem_ops[k].size) - 0x800;
				prog[i] = mem_insn(k, mem_ops[k].st ? rs2 : rd,
						   31, off);
			} else {
				unsigned k = (unsigned)(rnd(f) % 8);
				prog[i] = enc_r(fpops[k], rd & 15, rs1,
						k < 4 ? rs2 & 15 : 0);
			}
		}
		bool verify = iter & 1;
		set_regs(f);
		fill_data(f);
		f->h->x[31] = DATA + 0x800;
		f->h->frm = 0;
		struct snap s0;
		take(f, &s0);
		if (iter % 4 != 3)
			interp(f, prog, n);   /* warm; else: exits on misses */
		else
			rv_tlb_flush_va(f->h, NULL);
		put(f, &s0);
		unsigned r = check_prog(f, prog, n, verify);
		if (iter % 4 != 3) {
			/* Only dropped x0 ops make the count differ. */
			struct rv_block *b = load_prog(f, prog, n);
			assert_int_equal(r, b->nops - 1);
		}
	}
}

/* jit-verify: each store logs its host address, size and old bytes. */
static void test_verify_log(void **state)
{
	struct fx *f = *state;
	uint32_t prog[] = {
		enc_s(IB(0, 0x23), 31, 5, 1),     /* sb x5, 1(x31) */
		enc_s(IB(1, 0x23), 31, 6, 2),     /* sh */
		enc_s(IB(2, 0x23), 31, 7, 4),     /* sw */
		enc_s(IB(3, 0x23), 31, 8, -8),    /* sd */
		enc_s(IB(3, 0x27), 31, 3, 16),    /* fsd f3 */
		enc_i(IB(3, 0x03), 9, 31, -8),    /* ld x9, -8(x31) */
	};
	set_regs(f);
	fill_data(f);
	f->h->x[31] = DATA + 0x800;
	struct snap s0;
	take(f, &s0);
	interp(f, prog, 6);
	put(f, &s0);
	uint8_t *d = gp(f, DATA, RV_PAGE_SIZE);
	uint8_t before[RV_PAGE_SIZE];
	memcpy(before, d, sizeof(before));
	assert_int_equal(check_prog(f, prog, 6, true), 6);
	/* check_prog ran the code first; the log is from that run */
	static const int offs[] = { 1, 2, 4, -8, 16 };
	static const unsigned sizes[] = { 1, 2, 4, 8, 8 };
	assert_int_equal(f->jv->nvlog, 5);
	for (unsigned i = 0; i < 5; i++) {
		const struct rv_jit_vstore *s = &f->jv->vlog[i];
		assert_ptr_equal(s->host, d + 0x800 + offs[i]);
		assert_int_equal(s->size, sizes[i]);
		uint64_t old = 0;
		memcpy(&old, before + 0x800 + offs[i], sizes[i]);
		assert_int_equal(s->old, old);
	}
	/* The plain translator logs nothing. */
	put(f, &s0);
	assert_int_equal(check_prog(f, prog, 6, false), 6);
	assert_int_equal(f->j->nvlog, 0);
}

/* A block is translated up to its first untranslated op; one that starts
 * with such an op gets no code. */
static void test_prefix(void **state)
{
	struct fx *f = *state;
	const uint32_t csrr = 0x340022f3;            /* csrrs x5, mscratch, x0 */
	const uint32_t amo = 0x0062a2af | 31 << 15;  /* amoadd.w */
	uint32_t prog[] = {
		enc_i(IB(0, 0x13), 5, 5, 7), enc_i(IB(0, 0x13), 6, 5, 1),
		csrr, enc_i(IB(0, 0x13), 5, 5, 7),
	};
	set_regs(f);
	assert_int_equal(check_prog(f, prog, 4, false), 2);
	struct rv_block *b = load_prog(f, &prog[2], 2);
	assert_null(rv_jit_translate(f->j, b));
	uint32_t p2[] = { enc_i(IB(0, 0x13), 5, 5, 7), amo };
	set_regs(f);
	assert_int_equal(check_prog(f, p2, 2, false), 1);
	/* auipc far from the block start: pc_off + imm beyond int32 */
	uint32_t p4[] = { enc_i(IB(0, 0x13), 5, 5, 7), 0x7ffff017 | 6 << 7,
			  0x80000017 | 7 << 7 };
	set_regs(f);
	assert_int_equal(check_prog(f, p4, 3, false), 3);
	/* lw x0 is the interpreter's (its slow path walks the page table) */
	uint32_t p5[] = { enc_i(IB(0, 0x13), 5, 5, 7), enc_i(IB(2, 0x03), 0, 31, 12),
			  enc_i(IB(0, 0x13), 6, 5, 7) };
	set_regs(f);
	f->h->x[31] = DATA + 0x800;
	interp(f, p5, 3);
	assert_int_equal(check_prog(f, p5, 3, false), 1);
	/* Short prefixes: no code by default in jit mode, always in
	 * jit-verify. */
	struct rv_jit *jd;
	struct err e = { 0 };
	assert_int_equal(rv_jit_new(RV_ACCEL_JIT, 1u << 20, rv_exec_labels(),
				    &jd, &e), 0);
	_Static_assert(RV_JIT_MIN_OPS == 3, "the blocks below are 2 and 3 ops");
	uint32_t three[] = { prog[0], prog[1], prog[0], csrr };
	assert_null(rv_jit_translate(jd, load_prog(f, &three[1], 3)));
	assert_non_null(rv_jit_translate(f->jv, load_prog(f, &three[1], 3)));
	assert_non_null(rv_jit_translate(jd, load_prog(f, three, 4)));
	rv_jit_free(jd);
	uint32_t p3[] = { 0x0100000f | 0x3 << 24 | 0x3 << 20 };  /* fence rw,rw */
	struct rv_dec dd;
	rv_decode(p3[0], &dd);
	assert_int_equal(dd.opc, RV_OP_FENCE_MB);
	assert_int_equal(check_prog(f, p3, 1, false), 1);
}

/* A full code buffer: translation fails with j->full, and works again
 * after a reset. */
static void test_full(void **state)
{
	struct fx *f = *state;
	struct rv_jit *j;
	struct err e = { 0 };
	assert_int_equal(rv_jit_new(RV_ACCEL_JIT, 4096, rv_exec_labels(), &j,
				    &e), 0);
	uint32_t prog[60];
	for (unsigned i = 0; i < 60; i++)
		prog[i] = RR(1, 4, 0x33) | (5 + i % 20) << 7 |
			  (6 + i % 20) << 15 | (7 + i % 19) << 20;  /* div */
	struct rv_block *b = load_prog(f, prog, 60);
	unsigned ok = 0;
	while (rv_jit_translate(j, b))
		ok++;
	assert_true(j->full);
	assert_true(ok >= 1 && ok < 10);
	rv_jit_reset(j);
	assert_false(j->full);
	assert_non_null(rv_jit_translate(j, b));
	rv_jit_free(j);
}

/* ---- terminators ---- */

/* With the default minimum (RV_JIT_MIN_OPS), a block translated through
 * its terminator gets code however short (it chains on), while a short
 * prefix ending in a side exit does not. */
static void test_short_blocks(void **state)
{
	struct fx *f = *state;
	struct rv_jit *j;
	struct err e = { 0 };
	assert_int_equal(rv_jit_new(RV_ACCEL_JIT, 1u << 20, rv_exec_labels(),
				    &j, &e), 0);
	/* "j ." alone: one op, a terminator. */
	uint32_t none[1] = { 0 };
	struct rv_block *b = load_prog(f, none, 0);
	assert_int_equal(b->nops, 1);
	assert_non_null(rv_jit_translate(j, b));
	/* addi x5,x5,1, then j .: two ops through the terminator. */
	uint32_t two[] = { enc_i(IB(0, 0x13), 5, 5, 1) };
	b = load_prog(f, two, 1);
	assert_non_null(rv_jit_translate(j, b));
	/* addi, then amoadd.w (left to the interpreter): a 1-op prefix. */
	uint32_t pre[] = { enc_i(IB(0, 0x13), 5, 5, 1),
			   enc_r(0x2f | 2 << 12, 6, 10, 7) };
	b = load_prog(f, pre, 2);
	assert_true(b->nops >= 2);
	assert_null(rv_jit_translate(j, b));
	rv_jit_free(j);
}

static uint32_t enc_b(unsigned f3, unsigned rs1, unsigned rs2, int off);

static uint32_t enc_jal(unsigned rd, int off)
{
	uint32_t u = (uint32_t)off;
	return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 |
	       ((u >> 11) & 1) << 20 | ((u >> 12) & 0xff) << 12 | rd << 7 |
	       0x6f;
}

/* prog (n instructions, the last a terminator) as code from the entry
 * state, against the interpreter running that one block (budget 1: it
 * stops at the next block's pc); returns the link the code took. */
static unsigned check_term(struct fx *f, const uint32_t *prog, unsigned n,
			   bool verify)
{
	struct rv_jit *j = cur_jit(f, verify);
	struct rv_block *b = load_prog(f, prog, n);
	assert_int_equal(b->ninsn, n);
	rv_jit_fn fn = rv_jit_translate(j, b);
	assert_non_null(fn);
	struct snap s0, sj, si;
	take(f, &s0);
	struct rv_cpu *c = rv_cpu(f->h);
	c->jf.left = 0;
	unsigned r = fn(f->h->x, CODE, c->ltlb, c->stlb, f->h);
	c->jit = NULL;
	assert_true(r == RV_JIT_TERM || r == RV_JIT_TERM + 1);
	uint64_t npc = c->jf.npc;
	take(f, &sj);
	put(f, &s0);
	f->h->pc = CODE;
	rv_hart_run(f->h, 1);
	take(f, &si);
	assert_same(&sj, &si, prog, n);
	assert_int_equal(npc, f->h->pc);
	return r - RV_JIT_TERM;
}

/* Every conditional branch taken and not, on edge operands and x0;
 * jal/jalr writing rd (also rd == rs1), j, jr, odd jalr targets. */
static void test_terminators(void **state)
{
	struct fx *f = *state;
	static const unsigned f3[] = { 0, 1, 4, 5, 6, 7 };
	unsigned seen[2] = { 0, 0 };
	for (unsigned v = 0; v < 2; v++)
		for (unsigned i = 0; i < 6; i++)
			for (unsigned k = 0; k < 40; k++) {
				unsigned rs1 = k % 7 == 0 ? 0 : 5 + k % 3;
				unsigned rs2 = k % 5 == 0 ? 0 : 6 + k % 4;
				uint32_t p[] = {
					enc_i(IB(0, 0x13), 12, 12, 3),
					enc_b(f3[i], rs1, rs2,
					      k & 1 ? -8 : 64),
				};
				set_regs(f);
				if ((k & 2) && rs2)
					f->h->x[rs2] = f->h->x[rs1];
				else if (k & 2)
					f->h->x[rs1] = 0;
				seen[check_term(f, p, 2, v)]++;
			}
	assert_true(seen[0] > 50 && seen[1] > 50);
	for (unsigned v = 0; v < 2; v++) {
		uint32_t p1[] = { enc_i(IB(0, 0x13), 1, 1, 5), enc_jal(1, -16) };
		set_regs(f);
		assert_int_equal(check_term(f, p1, 2, v), 0);
		uint32_t p2[] = { enc_i(IB(0, 0x13), 1, 1, 5), enc_jal(0, 2048) };
		check_term(f, p2, 2, v);
		/* jalr x5, 3(x5): rd == rs1, odd target */
		uint32_t p3[] = { enc_i(IB(0, 0x13), 6, 6, 1),
				  enc_i(IB(0, 0x67), 5, 5, 3) };
		set_regs(f);
		check_term(f, p3, 2, v);
		uint32_t p4[] = { enc_i(IB(0, 0x13), 6, 6, 1),
				  enc_i(IB(0, 0x67), 0, 7, -1) };   /* jr */
		set_regs(f);
		check_term(f, p4, 2, v);
		uint32_t p5[] = { enc_i(IB(0, 0x13), 6, 6, 1),
				  enc_i(IB(0, 0x67), 1, 0, 0x400) };  /* x0 */
		check_term(f, p5, 2, v);
	}
}

/* ---- whole programs through the interpreter's hook ---- */

static uint32_t enc_b(unsigned f3, unsigned rs1, unsigned rs2, int off)
{
	uint32_t u = (uint32_t)off;
	return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 |
	       rs1 << 15 | f3 << 12 | ((u >> 1) & 0xf) << 8 |
	       ((u >> 11) & 1) << 7 | 0x63;
}

/* Fill a table with a hash of i, then fold it with loads, stores, mul,
 * div/rem and cpop; spin at the end. */
static unsigned loop_prog(uint32_t *p)
{
	unsigned n = 0;
	p[n++] = enc_i(IB(0, 0x13), 5, 0, 0);             /* i = 0 */
	unsigned l1 = n;
	p[n++] = enc_r(RR(1, 0, 0x33), 6, 5, 5);          /* mul x6,x5,x5 */
	p[n++] = enc_r(RR(1, 0, 0x33), 6, 6, 7);          /* mul x6,x6,x7 */
	p[n++] = enc_r(SH6(0, 5), 28, 5, 0) | 1 << 20;    /* srli x28,x5,1 */
	p[n++] = enc_r(RR(0, 4, 0x33), 6, 6, 28);         /* xor */
	p[n++] = enc_r(SH6(0, 1), 29, 5, 0) | 2 << 20;    /* slli x29,x5,2 */
	p[n++] = enc_r(RR(0, 0, 0x33), 29, 29, 10);       /* add */
	p[n++] = enc_s(IB(2, 0x23), 29, 6, 0);            /* sw x6,0(x29) */
	p[n++] = enc_i(IB(0, 0x13), 5, 5, 1);             /* i++ */
	p[n] = enc_b(4, 5, 11, (int)(l1 - n) * 4);        /* blt x5,x11 */
	n++;
	p[n++] = enc_i(IB(0, 0x13), 5, 0, 0);
	p[n++] = enc_i(IB(0, 0x13), 12, 0, 0);
	unsigned l2 = n;
	p[n++] = enc_r(SH6(0, 1), 29, 5, 0) | 2 << 20;    /* slli x29,x5,2 */
	p[n++] = enc_r(RR(0, 0, 0x33), 29, 29, 10);
	p[n++] = enc_i(IB(2, 0x03), 6, 29, 0);            /* lw x6,0(x29) */
	p[n++] = enc_i(IB(0, 0x13), 30, 5, 1);            /* x30 = i+1 */
	p[n++] = enc_r(RR(1, 5, 0x33), 31, 6, 30);        /* divu */
	p[n++] = enc_r(RR(1, 6, 0x33), 28, 6, 30);        /* rem */
	p[n++] = enc_i(IB(0, 0x13), 13, 0, 31);
	p[n++] = enc_r(RR(1, 0, 0x33), 12, 12, 13);       /* sum *= 31 */
	p[n++] = enc_r(RR(0, 0, 0x33), 12, 12, 6);
	p[n++] = enc_r(RR(0, 4, 0x33), 12, 12, 31);
	p[n++] = enc_r(RR(0, 0, 0x33), 12, 12, 28);
	p[n++] = enc_r(UN(0x602, 1, 0x13), 17, 12, 0);    /* cpop x17,x12 */
	p[n++] = enc_r(RR(0, 0, 0x33), 12, 12, 17);
	p[n++] = enc_i(IB(7, 0x13), 15, 5, 127);          /* andi */
	p[n++] = enc_r(SH6(0, 1), 15, 15, 0) | 3 << 20;   /* slli 3 */
	p[n++] = enc_r(RR(0, 0, 0x33), 15, 15, 16);
	p[n++] = enc_s(IB(3, 0x23), 15, 12, 0);           /* sd x12,0(x15) */
	p[n++] = enc_s(IB(0, 0x23), 15, 17, 7);           /* sb x17,7(x15) */
	p[n++] = enc_i(IB(0, 0x13), 5, 5, 1);
	p[n] = enc_b(4, 5, 11, (int)(l2 - n) * 4);
	n++;
	p[n++] = 0x6f;                                    /* j . */
	return n;
}

#define SLICES 400

struct whole {
	uint64_t x[32], pc;
	uint8_t data[RV_PAGE_SIZE];
	uint64_t blocks, verified, calls;
	/* pc and instret after each slice */
	uint64_t tpc[SLICES], tinstret[SLICES];
};

/* prog from CODE with x[] = x0 (x[0] ignored), slices of `budget`
 * instructions until the "j ." spin at its end. */
static void run_prog(enum rv_accel mode, const uint32_t *p, unsigned n,
		     const uint64_t *x0, uint64_t budget, struct whole *out)
{
	struct rv_machine *m = calloc(1, sizeof(*m));
	struct err e = { 0 };
	assert_non_null(m);
	assert_int_equal(guest_mem_add(&m->mem, RV_RAM_BASE, RAM_SIZE, &e), 0);
	m->accel = mode;
	struct rv_hart *h = rv_hart_new(m, 0, &e);
	assert_non_null(h);
	m->harts[0] = h;
	m->nharts = 1;
	memcpy(gpa_ptr(&m->mem, CODE, 4 * n), p, 4 * n);
	memset(gpa_ptr(&m->mem, DATA, RV_PAGE_SIZE), 0x5a, RV_PAGE_SIZE);
	rv_hart_reset(h, CODE, RV_PRIV_M, 0);
	memcpy(&h->x[1], &x0[1], 31 * sizeof(uint64_t));
	unsigned k;
	for (k = 0; k < SLICES && h->pc != CODE + 4 * (n - 1); k++) {
		rv_hart_run(h, budget);
		out->tpc[k] = h->pc;
		out->tinstret[k] = h->instret;
	}
	assert_true(k < SLICES);
	for (; k < SLICES; k++)
		out->tpc[k] = out->tinstret[k] = 0;
	assert_int_equal(m->exit_reason, RV_EXIT_NONE);
	memcpy(out->x, h->x, sizeof(out->x));
	out->pc = h->pc;
	memcpy(out->data, gpa_ptr(&m->mem, DATA, RV_PAGE_SIZE), RV_PAGE_SIZE);
	struct rv_jit *j = rv_cpu(h)->jit;
	out->blocks = j ? j->blocks : 0;
	out->verified = j ? j->verified : 0;
	out->calls = j ? j->calls : 0;
	rv_hart_free(h);
	guest_mem_free(&m->mem);
	free(m);
}

static void run_whole(enum rv_accel mode, struct whole *out)
{
	uint32_t p[MAXI];
	unsigned n = loop_prog(p);
	uint64_t x0[32] = { 0 };
	x0[7] = 0x9e3779b1;
	x0[10] = DATA;
	x0[11] = 200;
	x0[16] = DATA + 2048;
	run_prog(mode, p, n, x0, 5000, out);
	assert_int_equal(out->pc, CODE + 4 * (n - 1));   /* at the spin */
}

/* The same program under --accel interp, jit and jit-verify ends in the
 * same state; the JIT modes did translate (and verify) blocks. */
static void test_whole_program(void **state)
{
	(void)state;
	static struct whole ri, rj, rv;
	run_whole(RV_ACCEL_INTERP, &ri);
	run_whole(RV_ACCEL_JIT, &rj);
	run_whole(RV_ACCEL_JIT_VERIFY, &rv);
	assert_memory_equal(ri.x, rj.x, sizeof(ri.x));
	assert_memory_equal(ri.x, rv.x, sizeof(ri.x));
	assert_memory_equal(ri.data, rj.data, sizeof(ri.data));
	assert_memory_equal(ri.data, rv.data, sizeof(ri.data));
	assert_int_not_equal(ri.x[12], 0);
	assert_true(rj.blocks >= 2);
	assert_true(rv.blocks >= 2);
	assert_true(rv.verified > 0);
}

/* The loop program in slices of odd budgets (which run out in the middle
 * of chains of translated blocks): after every slice pc and instret
 * under jit equal the interpreter's, and so do the final registers. */
static void test_chain_budget(void **state)
{
	(void)state;
	static struct whole ri, rj, rv;
	uint32_t p[MAXI];
	unsigned n = loop_prog(p);
	uint64_t x0[32] = { 0 };
	x0[7] = 0x9e3779b1;
	x0[10] = DATA;
	x0[11] = 200;
	x0[16] = DATA + 2048;
	static const uint64_t budgets[] = { 1, 7, 37, 101, 1000 };
	for (unsigned b = 0; b < 5; b++) {
		uint64_t bud = budgets[b] < 37 ? budgets[b] * 50 : budgets[b];
		run_prog(RV_ACCEL_INTERP, p, n, x0, bud, &ri);
		run_prog(RV_ACCEL_JIT, p, n, x0, bud, &rj);
		run_prog(RV_ACCEL_JIT_VERIFY, p, n, x0, bud, &rv);
		assert_memory_equal(ri.tpc, rj.tpc, sizeof(ri.tpc));
		assert_memory_equal(ri.tinstret, rj.tinstret,
				    sizeof(ri.tinstret));
		assert_memory_equal(ri.tinstret, rv.tinstret,
				    sizeof(ri.tinstret));
		assert_memory_equal(ri.x, rj.x, sizeof(ri.x));
		assert_memory_equal(ri.data, rj.data, sizeof(ri.data));
		assert_true(rj.blocks >= 2);
		/* Chained: the ~400 turns of the loops take a few calls into
		 * code per slice, not one per block. */
		print_message("budget %llu: %llu calls\n",
			      (unsigned long long)bud,
			      (unsigned long long)rj.calls);
		if (bud == 1000)
			assert_true(rj.calls < 100);
	}
}

/* A loop whose body patches the block it chains to (then fence.i): the
 * change is seen at once under jit as under the interpreter. */
/* A fence.i every pass (a new code epoch) makes every block stale; a
 * chain meeting a stale successor revalidates it in place instead of
 * returning to the interpreter's lookup: one call into code per pass
 * (into the block after the fence.i, which the interpreter runs), not
 * two. */
static void test_chain_fence_i(void **state)
{
	(void)state;
	static struct whole ri, rj;
	uint32_t p[] = {
		0x0000100f,                         /* 0: fence.i */
		enc_i(IB(0, 0x13), 6, 6, 3),        /* 4: x6 += 3 */
		enc_b(0, 0, 0, 8),                  /* 8: beq x0,x0,16 */
		enc_i(IB(0, 0x13), 6, 6, 100),      /* 12: (never) */
		enc_i(IB(0, 0x13), 5, 5, 1),        /* 16: x5++ */
		enc_b(4, 5, 7, -20),                /* 20: blt x5,x7,0 */
		0x6f,                               /* 24: j . */
	};
	uint64_t x0[32] = { 0 };
	x0[7] = 400;
	run_prog(RV_ACCEL_INTERP, p, 7, x0, 100000, &ri);
	run_prog(RV_ACCEL_JIT, p, 7, x0, 100000, &rj);
	assert_int_equal(ri.x[6], 3 * 400);
	assert_memory_equal(ri.x, rj.x, sizeof(ri.x));
	assert_memory_equal(ri.tinstret, rj.tinstret, sizeof(ri.tinstret));
	print_message("fence.i every pass: %llu calls for 400 passes\n",
		      (unsigned long long)rj.calls);
	assert_true(rj.calls >= 300 && rj.calls < 480);
}

static void test_chain_smc(void **state)
{
	(void)state;
	static struct whole ri, rj, rv;
	const uint32_t addi2 = enc_i(IB(0, 0x13), 6, 6, 2);
	uint32_t p[] = {
		enc_i(IB(0, 0x13), 11, 11, 1),      /* 0: x11++ */
		enc_i(IB(0, 0x13), 5, 5, 1),        /* 4: x5++ */
		enc_b(1, 5, 10, 12),                /* 8: bne x5,x10,20 */
		enc_s(IB(2, 0x23), 8, 9, 0),        /* 12: sw x9,0(x8) */
		0x0000100f,                         /* 16: fence.i */
		enc_i(IB(0, 0x13), 6, 6, 1),        /* 20: x6 += 1 (-> 2) */
		enc_i(IB(0, 0x13), 12, 12, 1),      /* 24: x12++ */
		enc_b(4, 5, 7, -28),                /* 28: blt x5,x7,0 */
		0x6f,                               /* 32: j . */
	};
	uint64_t x0[32] = { 0 };
	x0[7] = 400;
	x0[8] = CODE + 20;
	x0[9] = addi2;
	x0[10] = 300;
	run_prog(RV_ACCEL_INTERP, p, 9, x0, 1000, &ri);
	run_prog(RV_ACCEL_JIT, p, 9, x0, 1000, &rj);
	run_prog(RV_ACCEL_JIT_VERIFY, p, 9, x0, 1000, &rv);
	assert_int_equal(ri.x[6], 299 + 2 * 101);
	assert_memory_equal(ri.x, rj.x, sizeof(ri.x));
	assert_memory_equal(ri.x, rv.x, sizeof(ri.x));
	assert_memory_equal(ri.tinstret, rj.tinstret, sizeof(ri.tinstret));
	assert_true(rj.blocks >= 2);
}

/* A function called from two sites in a loop: its return (jr ra)
 * alternates between two targets, which the indirect-jump cache chains
 * to without going back to the interpreter. */
static void test_chain_indirect(void **state)
{
	(void)state;
	static struct whole ri, rj, rv;
	uint32_t p[] = {
		enc_jal(0, 16),                     /* 0: j 16 */
		enc_i(IB(0, 0x13), 6, 6, 1),        /* 4: f: x6++ */
		enc_r(RR(0, 0, 0x33), 6, 6, 5),     /* 8: x6 += x5 */
		enc_i(IB(0, 0x67), 0, 1, 0),        /* 12: ret */
		enc_i(IB(0, 0x13), 5, 5, 1),        /* 16: x5++ */
		enc_i(IB(0, 0x13), 11, 11, 3),      /* 20 */
		enc_jal(1, -20),                    /* 24: call f */
		enc_i(IB(0, 0x13), 12, 12, 1),      /* 28 */
		enc_i(IB(0, 0x13), 13, 13, 2),      /* 32 */
		enc_jal(1, -32),                    /* 36: call f */
		enc_i(IB(0, 0x13), 14, 14, 1),      /* 40 */
		enc_i(IB(0, 0x13), 15, 15, 1),      /* 44 */
		enc_b(4, 5, 7, -32),                /* 48: blt x5,x7,16 */
		0x6f,                               /* 52: j . */
	};
	uint64_t x0[32] = { 0 };
	x0[7] = 300;
	run_prog(RV_ACCEL_INTERP, p, 14, x0, 1000, &ri);
	run_prog(RV_ACCEL_JIT, p, 14, x0, 1000, &rj);
	run_prog(RV_ACCEL_JIT_VERIFY, p, 14, x0, 1000, &rv);
	assert_int_equal(ri.x[6], 2 * (300 + 300 * 301 / 2));
	assert_memory_equal(ri.x, rj.x, sizeof(ri.x));
	assert_memory_equal(ri.x, rv.x, sizeof(ri.x));
	assert_memory_equal(ri.tinstret, rj.tinstret, sizeof(ri.tinstret));
	assert_memory_equal(ri.tpc, rj.tpc, sizeof(ri.tpc));
	print_message("indirect: %llu calls\n", (unsigned long long)rj.calls);
	assert_true(rj.calls < 100);
}

/* ---- the encoder against GNU as (bytes from `as --64`, reg-reg forms
 * with {load}: the encoder always uses the r, r/m direction) ---- */

#define ENC(expect, call) do {                                           \
		static const uint8_t e_[] = expect;                      \
		x86_init(&a, buf, sizeof(buf));                          \
		call;                                                    \
		if (a.len != sizeof(e_) || memcmp(buf, e_, a.len)) {     \
			print_error("%s: got", #call);                   \
			for (size_t i_ = 0; i_ < a.len; i_++)            \
				print_error(" %02x", buf[i_]);           \
			print_error("\n");                               \
			fail();                                          \
		}                                                        \
	} while (0)
#define B(...) { __VA_ARGS__ }

static void test_encoder(void **state)
{
	(void)state;
	struct x86 a;
	uint8_t buf[32];
	ENC(B(0x49, 0x8b, 0xc4), x86_mov_rr(&a, true, X_RAX, X_R12));
	ENC(B(0x44, 0x8b, 0xe8), x86_mov_rr(&a, false, X_R13, X_RAX));
	ENC(B(0x49, 0xb9, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12),
	    x86_mov_ri(&a, X_R9, 0x123456789abcdef0ULL));
	ENC(B(0xbb, 0xff, 0xff, 0xff, 0xff), x86_mov_ri(&a, X_RBX, 0xffffffff));
	ENC(B(0x48, 0xc7, 0xc2, 0xfb, 0xff, 0xff, 0xff),
	    x86_mov_ri(&a, X_RDX, (uint64_t)-5));
	ENC(B(0x49, 0x8b, 0x6c, 0x24, 0x10),
	    x86_load(&a, 8, X_RBP, x86_m(X_R12, 0x10)));
	ENC(B(0x49, 0x8b, 0x4d, 0x00), x86_load(&a, 8, X_RCX, x86_m(X_R13, 0)));
	ENC(B(0x4c, 0x8b, 0x84, 0x24, 0x00, 0xfe, 0xff, 0xff),
	    x86_load(&a, 8, X_R8, x86_m(X_RSP, -0x200)));
	ENC(B(0x48, 0x8b, 0x14, 0x0f),
	    x86_load(&a, 8, X_RDX, x86_mi(X_RDI, X_RCX, 1, 0)));
	ENC(B(0x49, 0x8b, 0x44, 0x0d, 0x08),
	    x86_load(&a, 8, X_RAX, x86_mi(X_R13, X_RCX, 1, 8)));
	ENC(B(0x40, 0x88, 0x30), x86_store(&a, 1, x86_m(X_RAX, 0), X_RSI));
	ENC(B(0x66, 0x89, 0x78, 0x7f), x86_store(&a, 2, x86_m(X_RAX, 0x7f), X_RDI));
	ENC(B(0x45, 0x89, 0x1c, 0x24), x86_store(&a, 4, x86_m(X_R12, 0), X_R11));
	ENC(B(0x4c, 0x89, 0xbf, 0x80, 0x00, 0x00, 0x00),
	    x86_store(&a, 8, x86_m(X_RDI, 0x80), X_R15));
	ENC(B(0x40, 0x0f, 0xb6, 0xc6), x86_movzx_r(&a, 1, X_RAX, X_RSI));
	ENC(B(0x45, 0x0f, 0xb7, 0xd1), x86_movzx_r(&a, 2, X_R10, X_R9));
	ENC(B(0x48, 0x0f, 0xbe, 0xc7), x86_movsx_r(&a, 1, X_RAX, X_RDI));
	ENC(B(0x4c, 0x0f, 0xbf, 0xf0), x86_movsx_r(&a, 2, X_R14, X_RAX));
	ENC(B(0x4d, 0x63, 0xc0), x86_movsx_r(&a, 4, X_R8, X_R8));
	ENC(B(0x0f, 0xb6, 0x30), x86_movzx_m(&a, 1, X_RSI, x86_m(X_RAX, 0)));
	ENC(B(0x4d, 0x0f, 0xbe, 0x4c, 0x24, 0x03),
	    x86_movsx_m(&a, 1, X_R9, x86_m(X_R12, 3)));
	ENC(B(0x48, 0x63, 0x38), x86_movsx_m(&a, 4, X_RDI, x86_m(X_RAX, 0)));
	ENC(B(0x4c, 0x8d, 0x93, 0xff, 0x07, 0x00, 0x00),
	    x86_lea(&a, true, X_R10, x86_m(X_RBX, 0x7ff)));
	ENC(B(0x41, 0x8d, 0x85, 0x00, 0xf8, 0xff, 0xff),
	    x86_lea(&a, false, X_RAX, x86_m(X_R13, -0x800)));
	ENC(B(0x4e, 0x8d, 0x1c, 0xc9),
	    x86_lea(&a, true, X_R11, x86_mi(X_RCX, X_R9, 8, 0)));
	ENC(B(0x49, 0x03, 0xf0), x86_alu_rr(&a, ALU_ADD, true, X_RSI, X_R8));
	ENC(B(0x41, 0x2b, 0xee), x86_alu_rr(&a, ALU_SUB, false, X_RBP, X_R14));
	ENC(B(0x33, 0xc0), x86_alu_rr(&a, ALU_XOR, false, X_RAX, X_RAX));
	ENC(B(0x81, 0xe1, 0xf0, 0xff, 0x00, 0x00),
	    x86_alu_ri(&a, ALU_AND, false, X_RCX, 0xfff0));
	ENC(B(0x49, 0x83, 0xf9, 0xff), x86_alu_ri(&a, ALU_CMP, true, X_R9, -1));
	ENC(B(0x48, 0x81, 0x4a, 0x40, 0x00, 0x60, 0x00, 0x00),
	    x86_alu_mi(&a, ALU_OR, true, x86_m(X_RDX, 0x40), 0x6000));
	ENC(B(0x48, 0x03, 0x4c, 0x24, 0x08),
	    x86_alu_rm(&a, ALU_ADD, true, X_RCX, x86_m(X_RSP, 8)));
	ENC(B(0x48, 0xf7, 0x42, 0x40, 0x00, 0x60, 0x00, 0x00),
	    x86_test_mi(&a, true, x86_m(X_RDX, 0x40), 0x6000));
	ENC(B(0x48, 0x85, 0xc9), x86_test_rr(&a, true, X_RCX, X_RCX));
	ENC(B(0x49, 0xc1, 0xe5, 0x03), x86_shift_ri(&a, SH_SHL, true, X_R13, 3));
	ENC(B(0x41, 0xd3, 0xf9), x86_shift_rcl(&a, SH_SAR, false, X_R9));
	ENC(B(0xc1, 0xce, 0x1f), x86_shift_ri(&a, SH_ROR, false, X_RSI, 31));
	ENC(B(0x49, 0x0f, 0xaf, 0xda), x86_imul_rr(&a, true, X_RBX, X_R10));
	ENC(B(0x48, 0x69, 0xc0, 0xff, 0x00, 0x00, 0x00),
	    x86_imul_rri(&a, true, X_RAX, X_RAX, 0xff));
	ENC(B(0x48, 0xf7, 0xe1), x86_mul(&a, true, X_RCX));
	ENC(B(0x49, 0xf7, 0xeb), x86_imul1(&a, true, X_R11));
	ENC(B(0xf7, 0xf1), x86_div(&a, false, X_RCX));
	ENC(B(0x48, 0xf7, 0xf9), x86_idiv(&a, true, X_RCX));
	ENC(B(0x49, 0xf7, 0xd4), x86_not(&a, true, X_R12));
	ENC(B(0xf7, 0xd8), x86_neg(&a, false, X_RAX));
	ENC(B(0x48, 0x99), x86_cqo(&a, true));
	ENC(B(0x99), x86_cqo(&a, false));
	ENC(B(0x40, 0x0f, 0x92, 0xc6), x86_setcc(&a, CC_B, X_RSI));
	ENC(B(0x0f, 0x9c, 0xc0), x86_setcc(&a, CC_L, X_RAX));
	ENC(B(0x49, 0x0f, 0x4c, 0xd0), x86_cmov(&a, CC_L, true, X_RDX, X_R8));
	ENC(B(0x49, 0x0f, 0xcd), x86_bswap(&a, true, X_R13));
	ENC(B(0x0f, 0xc8), x86_bswap(&a, false, X_RAX));
	ENC(B(0x48, 0x0f, 0xa3, 0xc8), x86_bt_rr(&a, BT_BT, true, X_RAX, X_RCX));
	ENC(B(0x4c, 0x0f, 0xab, 0xcd), x86_bt_rr(&a, BT_BTS, true, X_RBP, X_R9));
	ENC(B(0x49, 0x0f, 0xba, 0xf4, 0x3f), x86_bt_ri(&a, BT_BTR, true, X_R12, 63));
	ENC(B(0x48, 0x0f, 0xba, 0xff, 0x05), x86_bt_ri(&a, BT_BTC, true, X_RDI, 5));
	ENC(B(0xf3, 0x49, 0x0f, 0xbd, 0xc1), x86_lzcnt(&a, true, X_RAX, X_R9));
	ENC(B(0xf3, 0x44, 0x0f, 0xbc, 0xd6), x86_tzcnt(&a, false, X_R10, X_RSI));
	ENC(B(0xf3, 0x4c, 0x0f, 0xb8, 0xf3), x86_popcnt(&a, true, X_R14, X_RBX));
	ENC(B(0x41, 0x57), x86_push(&a, X_R15));
	ENC(B(0x5b), x86_pop(&a, X_RBX));
	ENC(B(0xc3), x86_ret(&a));
	ENC(B(0x0f, 0xae, 0xf0), x86_mfence(&a));
	/* jumps: rel32 from the end of the instruction */
	x86_init(&a, buf, sizeof(buf));
	size_t j1 = x86_jcc(&a, CC_NE);
	size_t j2 = x86_jmp(&a);
	x86_patch(&a, j1, 0);
	x86_bind(&a, j2);
	static const uint8_t jj[] = { 0x0f, 0x85, 0xfa, 0xff, 0xff, 0xff,
				      0xe9, 0x00, 0x00, 0x00, 0x00 };
	assert_int_equal(a.len, sizeof(jj));
	assert_memory_equal(buf, jj, sizeof(jj));
	/* Bounded: an instruction that does not fit sets `full`. */
	x86_init(&a, buf, 20);
	x86_mov_ri(&a, X_R9, 0x123456789abcdef0ULL);
	assert_false(a.full);
	x86_mov_ri(&a, X_R9, 0x123456789abcdef0ULL);
	assert_true(a.full);
	assert_int_equal(a.len, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_int_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_programs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_blocks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_terminators, setup,
						teardown),
		cmocka_unit_test(test_whole_program),
		cmocka_unit_test(test_chain_budget),
		cmocka_unit_test(test_chain_smc),
		cmocka_unit_test(test_chain_fence_i),
		cmocka_unit_test(test_chain_indirect),
		cmocka_unit_test(test_encoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
