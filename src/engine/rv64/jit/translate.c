/* The RV64 -> x86-64 translator ("body translation", jit.h).
 *
 * A block's longest translatable prefix ops[0..n) becomes one straight
 * host function that returns n; every other way out (a soft-TLB miss, FS
 * off, an FP helper reporting an exception) is a side exit that returns
 * the index of the op it stopped before.  The code never branches
 * backwards and never raises anything, so the state at each op is known
 * at translation time, which is what keeps the register allocator simple:
 *
 *  - Guest registers (and the load/store TLB pointers) used in the prefix
 *    are ranked by use count and the busiest get host registers for the
 *    whole block; the rest live in h->x (r15 points there).  A register
 *    is loaded at entry if its first use reads it, and after that the
 *    host copy is the truth while it is "dirty" (written since the last
 *    write-back).  Which registers are dirty at each op is known
 *    statically, so every exit is a stub at the end of the code that
 *    writes back exactly those, then returns its index.
 *  - Helper calls (rv_fp_op, and rv_jit_vlog_store in jit-verify mode)
 *    follow the SysV ABI: before rv_fp_op, which reads and writes h->x,
 *    all dirty registers are written back and afterwards the caller-saved
 *    ones (and rd) reloaded; around rv_jit_vlog_store, which does not
 *    touch h->x, the live caller-saved registers are pushed.  The stack
 *    is 16-byte aligned at every call.
 *  - Frame: pushed callee-saved registers, then 32 bytes (+8 to align)
 *    holding the arguments pc, ltlb, stlb and h.
 *  - rax, rcx and rdx are scratch (div, mul, shift counts, TLB lookups).
 *
 * Semantics are cpu_exec.c's, op for op; tests/unit/test_jit.c checks
 * each translated op against the interpreter. */
#include "jit.h"

#include <stdlib.h>

#include "../cpu_internal.h"
#include "translate.h"
#include "x86_emit.h"

/* How an op is translated (0: left to the interpreter). */
enum kind {
	K_NO = 0,
	K_U,      /* writes rd only (lui, auipc) */
	K_RI,     /* reads rs1, writes rd */
	K_RR,     /* reads rs1, rs2, writes rd */
	K_LOAD,   /* reads rs1, writes rd, load TLB */
	K_STORE,  /* reads rs1, rs2, store TLB */
	K_FLOAD,  /* reads rs1 (f[rd] written through h) */
	K_FSTORE, /* reads rs1 (f[rs2] read through h) */
	K_FP,     /* rv_fp_op(): touches h->x itself */
	K_NOP,    /* no code (fence, or fence with a host barrier) */
	/* Terminators (always a block's last op): */
	K_BR,     /* conditional branch: reads rs1, rs2 */
	K_JAL,    /* jal, j, end: writes rd (jal only) */
	K_JALR,   /* jalr, jr: reads rs1, writes rd (jalr only) */
};

#define MAP_BITS 9
#define MAP_SIZE (1u << MAP_BITS)

struct tr {
	enum rv_accel mode;
	unsigned min_ops;       /* translate.h */
	/* Interpreter handler -> opcode (open addressing on the label). */
	struct { const void *label; uint16_t opc; } map[MAP_SIZE];
	/* Shared handlers: the real opcode is in op->imm (FP, AMO, CBO) or
	 * op->aux (CSR). */
	const void *l_fp, *l_amo, *l_cbo, *l_csr;
	uint8_t kind[RV_OP_COUNT];
};

static unsigned map_slot(const void *label)
{
	return (unsigned)(((uint64_t)(uintptr_t)label * 0x9E3779B97F4A7C15ULL) >>
			  (64 - MAP_BITS));
}

static void map_add(struct tr *t, const void *label, unsigned opc)
{
	for (unsigned i = map_slot(label);; i = (i + 1) & (MAP_SIZE - 1)) {
		if (t->map[i].label == label)
			return;     /* shared handler: keep the first opc */
		if (!t->map[i].label) {
			t->map[i].label = label;
			t->map[i].opc = (uint16_t)opc;
			return;
		}
	}
}

/* The opcode of op, or RV_OP_COUNT if its handler is unknown. */
static unsigned op_opc(const struct tr *t, const struct rv_op *op)
{
	if (op->h == t->l_fp || op->h == t->l_amo || op->h == t->l_cbo)
		return (unsigned)op->imm < RV_OP_COUNT ? (unsigned)op->imm :
							 RV_OP_COUNT;
	if (op->h == t->l_csr)
		return op->aux < RV_OP_COUNT ? op->aux : RV_OP_COUNT;
	for (unsigned i = map_slot(op->h);; i = (i + 1) & (MAP_SIZE - 1)) {
		if (t->map[i].label == op->h)
			return t->map[i].opc;
		if (!t->map[i].label)
			return RV_OP_COUNT;
	}
}

void *rv_jit_translator_new(const void *const *labels, enum rv_accel mode)
{
	struct tr *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->mode = mode;
	t->min_ops = mode == RV_ACCEL_JIT ? RV_JIT_MIN_OPS : 1;
	for (unsigned o = 0; o < RV_OP_COUNT; o++)
		map_add(t, labels[o], o);
	t->l_fp = labels[RV_OP_FADD_D];
	t->l_amo = labels[RV_OP_AMOADD_W];
	t->l_cbo = labels[RV_OP_CBO_ZERO];
	t->l_csr = labels[RV_OP_CSRRW];

	static const uint16_t u[] = { RV_OP_LUI, RV_OP_AUIPC };
	static const uint16_t ri[] = {
		RV_OP_ADDI, RV_OP_SLTI, RV_OP_SLTIU, RV_OP_XORI, RV_OP_ORI,
		RV_OP_ANDI, RV_OP_SLLI, RV_OP_SRLI, RV_OP_SRAI, RV_OP_ADDIW,
		RV_OP_SLLIW, RV_OP_SRLIW, RV_OP_SRAIW, RV_OP_SLLI_UW,
		RV_OP_SEXT_B, RV_OP_SEXT_H, RV_OP_ZEXT_H, RV_OP_RORI,
		RV_OP_RORIW, RV_OP_ORC_B, RV_OP_REV8, RV_OP_BCLRI,
		RV_OP_BEXTI, RV_OP_BINVI, RV_OP_BSETI,
	};
	static const uint16_t rr[] = {
		RV_OP_ADD, RV_OP_SUB, RV_OP_SLL, RV_OP_SLT, RV_OP_SLTU,
		RV_OP_XOR, RV_OP_SRL, RV_OP_SRA, RV_OP_OR, RV_OP_AND,
		RV_OP_ADDW, RV_OP_SUBW, RV_OP_SLLW, RV_OP_SRLW, RV_OP_SRAW,
		RV_OP_MUL, RV_OP_MULH, RV_OP_MULHSU, RV_OP_MULHU, RV_OP_DIV,
		RV_OP_DIVU, RV_OP_REM, RV_OP_REMU, RV_OP_MULW, RV_OP_DIVW,
		RV_OP_DIVUW, RV_OP_REMW, RV_OP_REMUW,
		RV_OP_ADD_UW, RV_OP_SH1ADD, RV_OP_SH2ADD, RV_OP_SH3ADD,
		RV_OP_SH1ADD_UW, RV_OP_SH2ADD_UW, RV_OP_SH3ADD_UW,
		RV_OP_ANDN, RV_OP_ORN, RV_OP_XNOR, RV_OP_MAX, RV_OP_MAXU,
		RV_OP_MIN, RV_OP_MINU, RV_OP_ROL, RV_OP_ROLW, RV_OP_ROR,
		RV_OP_RORW, RV_OP_BCLR, RV_OP_BEXT, RV_OP_BINV, RV_OP_BSET,
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		t->kind[u[i]] = K_U;
	for (size_t i = 0; i < sizeof(ri) / sizeof(ri[0]); i++)
		t->kind[ri[i]] = K_RI;
	for (size_t i = 0; i < sizeof(rr) / sizeof(rr[0]); i++)
		t->kind[rr[i]] = K_RR;
	/* Without the instruction, the op stays with the interpreter. */
	if (x86_cpu_has_lzcnt())
		t->kind[RV_OP_CLZ] = t->kind[RV_OP_CLZW] = K_RI;
	if (x86_cpu_has_bmi1())
		t->kind[RV_OP_CTZ] = t->kind[RV_OP_CTZW] = K_RI;
	if (x86_cpu_has_popcnt())
		t->kind[RV_OP_CPOP] = t->kind[RV_OP_CPOPW] = K_RI;
	for (unsigned o = RV_OP_LB; o <= RV_OP_LWU; o++)
		t->kind[o] = K_LOAD;
	for (unsigned o = RV_OP_SB; o <= RV_OP_SD; o++)
		t->kind[o] = K_STORE;
	/* LOADX0 stays with the interpreter, which always takes its slow
	 * path (a fresh page walk, not the TLB). */
	t->kind[RV_OP_FLW] = t->kind[RV_OP_FLD] = K_FLOAD;
	t->kind[RV_OP_FSW] = t->kind[RV_OP_FSD] = K_FSTORE;
	for (unsigned o = RV_OP_FMADD_S; o <= RV_OP_FCVT_D_S; o++)
		t->kind[o] = K_FP;
	t->kind[RV_OP_FENCE] = t->kind[RV_OP_FENCE_MB] = K_NOP;
	for (unsigned o = RV_OP_BEQ; o <= RV_OP_BGEU; o++)
		t->kind[o] = K_BR;
	t->kind[RV_OP_JAL] = t->kind[RV_OP_J] = t->kind[RV_OP_END] = K_JAL;
	t->kind[RV_OP_JALR] = t->kind[RV_OP_JR] = K_JALR;
	return t;
}

void rv_jit_set_min_ops(void *tr, unsigned n)
{
	((struct tr *)tr)->min_ops = n ? n : 1;
}

void rv_jit_translator_free(void *tr)
{
	free(tr);
}

/* ---- translation context ---- */

/* Allocation slots: x0..x31, then the TLB pointers. */
#define V_LTLB 32
#define V_STLB 33
#define NV 34

/* A self-loop block keeps jf.left here (callee-saved: survives helper
 * calls); it is out of the guest register pool in such blocks. */
#define LOOP_LEFT X_R14

/* Frame slots (offsets from rsp inside the body). */
#define SLOT_PC   0
#define SLOT_LTLB 8
#define SLOT_STLB 16
#define SLOT_H    24

#define MAX_EXITS (3 * (RV_BLOCK_MAX_INSNS + 2))

/* Host registers for guest values, in the order they are handed out.
 * With helper calls x lives in r15 and registers that survive the calls
 * come first; without, x stays in rdi (where it arrives) and registers
 * that need no save come first. */
static const int8_t pool_calls[] = { X_RBX, X_RBP, X_R12, X_R13, X_R14,
				     X_RSI, X_RDI, X_R8, X_R9, X_R10, X_R11 };
static const int8_t pool_leaf[] = { X_RSI, X_R8, X_R9, X_R10, X_R11,
				    X_RBX, X_RBP, X_R12, X_R13, X_R14, X_R15 };
#define POOL 11

static bool caller_saved(int r)
{
	return r == X_RSI || r == X_RDI || (r >= X_R8 && r <= X_R11);
}

struct exitp {
	size_t at;          /* rel32 to patch */
	unsigned idx;       /* op to return */
	uint64_t dirty;     /* registers to write back */
};

struct ctx {
	struct x86 a;
	const struct tr *t;
	const struct rv_block *blk;
	bool verify;
	bool chain;         /* terminators jump into successors' code */
	size_t body;        /* offset of the code after the prologue */
	int8_t host[NV];    /* host register of each slot, or -1 */
	uint64_t dirty;
	unsigned cur;       /* index of the op being translated */
	int base;           /* host register holding x (the guest's x[]) */
	/* The block ends in a branch or jump to its own start, looping
	 * inside the code with guest registers kept in host registers. */
	bool loop;
	uint64_t written;   /* guest registers the block writes (rd) */
	struct exitp ex[MAX_EXITS];
	unsigned nex;
	bool too_many;
};

static struct x86_mem xmem_b(int base, unsigned g)
{
	return x86_m(base, (int32_t)(8 * g));
}
#define xmem(g) xmem_b(c->base, (g))

static struct x86_mem hmem(struct ctx *c, int32_t field)
{
	x86_load(&c->a, 8, X_RDX, x86_m(X_RSP, SLOT_H));
	return x86_m(X_RDX, field);
}

/* Side exit to op c->cur if condition cc holds. */
static void exit_if(struct ctx *c, enum x86_cc cc)
{
	size_t at = x86_jcc(&c->a, cc);
	if (c->nex == MAX_EXITS) {
		c->too_many = true;
		return;
	}
	c->ex[c->nex++] = (struct exitp){ at, c->cur, c->dirty };
}

/* A register holding guest register g: its host register, or `scratch`
 * loaded with it. */
static int rsrc(struct ctx *c, unsigned g, int scratch)
{
	if (g == 0) {
		x86_alu_rr(&c->a, ALU_XOR, false, scratch, scratch);
		return scratch;
	}
	if (c->host[g] >= 0)
		return c->host[g];
	x86_load(&c->a, 8, scratch, xmem(g));
	return scratch;
}

/* Copy guest register g into host register r. */
static void get_into(struct ctx *c, int r, unsigned g)
{
	if (g == 0)
		x86_alu_rr(&c->a, ALU_XOR, false, r, r);
	else if (c->host[g] >= 0) {
		if (c->host[g] != r)
			x86_mov_rr(&c->a, true, r, c->host[g]);
	} else {
		x86_load(&c->a, 8, r, xmem(g));
	}
}

/* Zero-extended low 32 bits of guest register g into r. */
static void get_into_zx32(struct ctx *c, int r, unsigned g)
{
	if (g == 0)
		x86_alu_rr(&c->a, ALU_XOR, false, r, r);
	else if (c->host[g] >= 0)
		x86_mov_rr(&c->a, false, r, c->host[g]);
	else
		x86_load(&c->a, 4, r, xmem(g));
}

/* Where to compute the value of rd. */
static int rdst(struct ctx *c, unsigned rd)
{
	return rd && c->host[rd] >= 0 ? c->host[rd] : X_RAX;
}

/* Same, but not `avoid` (a source still needed). */
static int pick(struct ctx *c, unsigned rd, int avoid)
{
	int d = rdst(c, rd);
	return d == avoid ? X_RAX : d;
}

/* rd = r. */
static void wfin(struct ctx *c, unsigned rd, int r)
{
	if (rd == 0)
		return;   /* x0 stays 0 (such ops are dropped anyway) */
	if (c->host[rd] >= 0) {
		if (c->host[rd] != r)
			x86_mov_rr(&c->a, true, c->host[rd], r);
		c->dirty |= 1ULL << rd;
	} else {
		x86_store(&c->a, 8, xmem(rd), r);
	}
}

static void sext32(struct ctx *c, int r)
{
	x86_movsx_r(&c->a, 4, r, r);
}

static void writeback(struct ctx *c, uint64_t dirty)
{
	for (unsigned g = 1; g < 32; g++)
		if (dirty & (1ULL << g))
			x86_store(&c->a, 8, xmem(g), c->host[g]);
}

/* ---- memory ---- */

/* rax = host address of x[rs1] + imm through TLB slot v (V_LTLB or
 * V_STLB) for a size-byte access; side exit on a miss (cpu_exec.c's
 * TLBE/LOAD: the entry of the first byte must carry the tag of the
 * last, which also rejects page crossers).  Clobbers rcx, rdx. */
static void tlb_lookup(struct ctx *c, const struct rv_op *op, int v,
		       unsigned size)
{
	struct x86 *a = &c->a;
	int base = rsrc(c, op->rs1, X_RAX);
	if (op->imm)
		x86_lea(a, true, X_RAX, x86_m(base, op->imm));
	else if (base != X_RAX)
		x86_mov_rr(a, true, X_RAX, base);
	x86_mov_rr(a, true, X_RCX, X_RAX);
	x86_shift_ri(a, SH_SHR, true, X_RCX, 12 - 4);
	x86_alu_ri(a, ALU_AND, false, X_RCX, (int32_t)(RV_TLB_MASK << 4));
	/* The entry: [tlb + rcx] with the TLB pointer in a register, else
	 * rcx += the pointer from the frame. */
	struct x86_mem tag, addend;
	if (c->host[v] >= 0) {
		tag = x86_mi(c->host[v], X_RCX, 1,
			     (int32_t)offsetof(struct rv_tlbe, tag));
		addend = x86_mi(c->host[v], X_RCX, 1,
				(int32_t)offsetof(struct rv_tlbe, addend));
	} else {
		x86_alu_rm(a, ALU_ADD, true, X_RCX,
			   x86_m(X_RSP, v == V_LTLB ? SLOT_LTLB : SLOT_STLB));
		tag = x86_m(X_RCX, (int32_t)offsetof(struct rv_tlbe, tag));
		addend = x86_m(X_RCX, (int32_t)offsetof(struct rv_tlbe, addend));
	}
	if (size > 1)
		x86_lea(a, true, X_RDX, x86_m(X_RAX, (int32_t)size - 1));
	else
		x86_mov_rr(a, true, X_RDX, X_RAX);
	x86_shift_ri(a, SH_SHR, true, X_RDX, RV_PAGE_SHIFT);
	x86_alu_rm(a, ALU_CMP, true, X_RDX, tag);
	exit_if(c, CC_NE);
	x86_alu_rm(a, ALU_ADD, true, X_RAX, addend);
}

/* jit-verify: rv_jit_vlog_store(h, rax, size), keeping rax and every
 * caller-saved register that holds a guest value. */
static void vlog_call(struct ctx *c, unsigned size)
{
	struct x86 *a = &c->a;
	int save[NV + 1];
	unsigned n = 0;
	save[n++] = X_RAX;
	for (unsigned v = 1; v < NV; v++)
		if (c->host[v] >= 0 && caller_saved(c->host[v]))
			save[n++] = c->host[v];
	for (unsigned i = 0; i < n; i++)
		x86_push(a, save[i]);
	int32_t pad = (n & 1) ? 8 : 0;
	if (pad)
		x86_alu_ri(a, ALU_SUB, true, X_RSP, pad);
	x86_load(a, 8, X_RDI, x86_m(X_RSP, (int32_t)(8 * n) + pad + SLOT_H));
	x86_mov_rr(a, true, X_RSI, X_RAX);
	x86_mov_ri(a, X_RDX, size);
	x86_call(a, (const void *)rv_jit_vlog_store);
	if (pad)
		x86_alu_ri(a, ALU_ADD, true, X_RSP, pad);
	for (unsigned i = n; i-- > 0;)
		x86_pop(a, save[i]);
}

static unsigned mem_size(unsigned opc)
{
	switch (opc) {
	case RV_OP_LB: case RV_OP_LBU: case RV_OP_SB: return 1;
	case RV_OP_LH: case RV_OP_LHU: case RV_OP_SH: return 2;
	case RV_OP_LW: case RV_OP_LWU: case RV_OP_SW: case RV_OP_FLW:
	case RV_OP_FSW: return 4;
	default: return 8;
	}
}

static void tr_load(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	struct x86 *a = &c->a;
	tlb_lookup(c, op, V_LTLB, mem_size(opc));
	int d = rdst(c, op->rd);
	struct x86_mem m = x86_m(X_RAX, 0);
	switch (opc) {
	case RV_OP_LB: x86_movsx_m(a, 1, d, m); break;
	case RV_OP_LH: x86_movsx_m(a, 2, d, m); break;
	case RV_OP_LW: x86_movsx_m(a, 4, d, m); break;
	case RV_OP_LD: x86_load(a, 8, d, m); break;
	case RV_OP_LBU: x86_movzx_m(a, 1, d, m); break;
	case RV_OP_LHU: x86_movzx_m(a, 2, d, m); break;
	default: x86_load(a, 4, d, m); break;   /* LWU */
	}
	wfin(c, op->rd, d);
}

static void tr_store(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	unsigned size = mem_size(opc);
	tlb_lookup(c, op, V_STLB, size);
	if (c->verify)
		vlog_call(c, size);
	int v = rsrc(c, op->rs2, X_RCX);
	x86_store(&c->a, size, x86_m(X_RAX, 0), v);
}

/* Illegal-instruction check of cpu_exec.c's FS_CHECK: exit if FS off. */
static void fs_check(struct ctx *c)
{
	x86_test_mi(&c->a, true,
		    hmem(c, (int32_t)offsetof(struct rv_hart, mstatus)),
		    (int32_t)MSTATUS_FS);
	exit_if(c, CC_E);
}

static void tr_fload(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	struct x86 *a = &c->a;
	fs_check(c);
	if (opc == RV_OP_FLW) {
		tlb_lookup(c, op, V_LTLB, 4);
		x86_load(a, 4, X_RAX, x86_m(X_RAX, 0));
		x86_mov_ri(a, X_RCX, 0xffffffff00000000ULL);   /* NaN-box */
		x86_alu_rr(a, ALU_OR, true, X_RAX, X_RCX);
	} else {
		tlb_lookup(c, op, V_LTLB, 8);
		x86_load(a, 8, X_RAX, x86_m(X_RAX, 0));
	}
	x86_store(a, 8, hmem(c, (int32_t)(offsetof(struct rv_hart, f) +
					  8 * op->rd)), X_RAX);
	x86_alu_mi(a, ALU_OR, true,
		   x86_m(X_RDX, (int32_t)offsetof(struct rv_hart, mstatus)),
		   (int32_t)MSTATUS_FS);
}

static void tr_fstore(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	unsigned size = opc == RV_OP_FSW ? 4 : 8;
	fs_check(c);
	tlb_lookup(c, op, V_STLB, size);
	if (c->verify)
		vlog_call(c, size);
	/* FSW stores the raw low 32 bits, boxed or not. */
	x86_load(&c->a, size, X_RCX,
		 hmem(c, (int32_t)(offsetof(struct rv_hart, f) + 8 * op->rs2)));
	x86_store(&c->a, size, x86_m(X_RAX, 0), X_RCX);
}

/* rv_fp_op(h, op): reads and writes h->x, so registers go to memory
 * first and caller-saved ones (and rd) come back after. */
static void tr_fp(struct ctx *c, const struct rv_op *op)
{
	struct x86 *a = &c->a;
	writeback(c, c->dirty);
	c->dirty = 0;
	x86_load(a, 8, X_RDI, x86_m(X_RSP, SLOT_H));
	x86_mov_ri(a, X_RSI, (uint64_t)(uintptr_t)op);
	x86_call(a, (const void *)rv_fp_op);
	x86_test_rr(a, false, X_RAX, X_RAX);
	exit_if(c, CC_NE);
	for (unsigned g = 1; g < 32; g++)
		if (c->host[g] >= 0 &&
		    (caller_saved(c->host[g]) || g == op->rd))
			x86_load(a, 8, c->host[g], xmem(g));
	if (c->host[V_LTLB] >= 0 && caller_saved(c->host[V_LTLB]))
		x86_load(a, 8, c->host[V_LTLB], x86_m(X_RSP, SLOT_LTLB));
	if (c->host[V_STLB] >= 0 && caller_saved(c->host[V_STLB]))
		x86_load(a, 8, c->host[V_STLB], x86_m(X_RSP, SLOT_STLB));
}

/* ---- integer ops ---- */

static void tr_div(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	struct x86 *a = &c->a;
	bool w = opc == RV_OP_DIV || opc == RV_OP_DIVU || opc == RV_OP_REM ||
		 opc == RV_OP_REMU;
	bool sgn = opc == RV_OP_DIV || opc == RV_OP_REM || opc == RV_OP_DIVW ||
		   opc == RV_OP_REMW;
	bool rem = opc == RV_OP_REM || opc == RV_OP_REMU ||
		   opc == RV_OP_REMW || opc == RV_OP_REMUW;
	get_into(c, X_RCX, op->rs2);
	get_into(c, X_RAX, op->rs1);
	/* Division never traps in RISC-V (unpriv §7.2): x/0 and
	 * INT_MIN/-1 get their defined results without reaching the host
	 * divider, which would fault on both. */
	x86_test_rr(a, w, X_RCX, X_RCX);
	size_t to_zero = x86_jcc(a, CC_E);
	size_t to_done1 = 0;
	bool have_m1 = false;
	if (sgn) {
		x86_alu_ri(a, ALU_CMP, w, X_RCX, -1);
		size_t to_div = x86_jcc(a, CC_NE);
		if (rem)
			x86_alu_rr(a, ALU_XOR, false, X_RDX, X_RDX);
		else
			x86_neg(a, w, X_RAX);  /* INT_MIN stays INT_MIN */
		to_done1 = x86_jmp(a);
		have_m1 = true;
		x86_bind(a, to_div);
		x86_cqo(a, w);
		x86_idiv(a, w, X_RCX);
	} else {
		x86_alu_rr(a, ALU_XOR, false, X_RDX, X_RDX);
		x86_div(a, w, X_RCX);
	}
	size_t to_done2 = x86_jmp(a);
	x86_bind(a, to_zero);
	if (rem)
		x86_mov_rr(a, w, X_RDX, X_RAX);       /* x % 0 = x */
	else
		x86_mov_ri(a, X_RAX, ~0ULL);          /* x / 0 = -1 */
	if (have_m1)
		x86_bind(a, to_done1);
	x86_bind(a, to_done2);
	int r = rem ? X_RDX : X_RAX;
	if (!w)
		sext32(c, r);
	wfin(c, op->rd, r);
}

/* rd = rs1 OP rs2 for a two-operand x86 ALU op. */
static void alu_rr(struct ctx *c, const struct rv_op *op, enum x86_alu x,
		   bool w)
{
	bool comm = x == ALU_ADD || x == ALU_XOR || x == ALU_OR ||
		    x == ALU_AND;
	int hd = op->rd ? c->host[op->rd] : -1;
	if (comm && hd >= 0 && op->rd == op->rs2 && op->rs1 != op->rs2 &&
	    op->rs1) {
		/* rd = rs1 OP rd: in place. */
		if (c->host[op->rs1] >= 0)
			x86_alu_rr(&c->a, x, w, hd, c->host[op->rs1]);
		else
			x86_alu_rm(&c->a, x, w, hd, xmem(op->rs1));
		if (!w)
			sext32(c, hd);
		wfin(c, op->rd, hd);
		return;
	}
	if (op->rs2 && c->host[op->rs2] < 0) {
		/* rs2 straight from x[] as a memory operand. */
		int t = rdst(c, op->rd);
		get_into(c, t, op->rs1);
		x86_alu_rm(&c->a, x, w, t, xmem(op->rs2));
		if (!w)
			sext32(c, t);
		wfin(c, op->rd, t);
		return;
	}
	int b = rsrc(c, op->rs2, X_RCX);
	int t = pick(c, op->rd, b);
	get_into(c, t, op->rs1);
	x86_alu_rr(&c->a, x, w, t, b);
	if (!w)
		sext32(c, t);
	wfin(c, op->rd, t);
}

/* rd = rs1 SHIFT (rs2 & mask) (x86 masks the count as RISC-V does). */
static void shift_rr(struct ctx *c, const struct rv_op *op,
		     enum x86_shift s, bool w)
{
	get_into(c, X_RCX, op->rs2);
	int t = rdst(c, op->rd);
	get_into(c, t, op->rs1);
	x86_shift_rcl(&c->a, s, w, t);
	if (!w)
		sext32(c, t);
	wfin(c, op->rd, t);
}

static void shift_ri(struct ctx *c, const struct rv_op *op,
		     enum x86_shift s, bool w)
{
	int t = rdst(c, op->rd);
	get_into(c, t, op->rs1);
	x86_shift_ri(&c->a, s, w, t, (unsigned)op->imm & (w ? 63 : 31));
	if (!w)
		sext32(c, t);
	wfin(c, op->rd, t);
}

static void alu_ri(struct ctx *c, const struct rv_op *op, enum x86_alu x)
{
	int t = rdst(c, op->rd);
	get_into(c, t, op->rs1);
	x86_alu_ri(&c->a, x, true, t, op->imm);
	wfin(c, op->rd, t);
}

/* rd = (rs1 cc rs2 or imm) ? 1 : 0 */
static void set_cc(struct ctx *c, const struct rv_op *op, enum x86_cc cc,
		   bool imm)
{
	struct x86 *a = &c->a;
	int s1 = rsrc(c, op->rs1, X_RAX);
	if (imm) {
		x86_alu_ri(a, ALU_CMP, true, s1, op->imm);
	} else {
		int s2 = rsrc(c, op->rs2, X_RCX);
		x86_alu_rr(a, ALU_CMP, true, s1, s2);
	}
	x86_setcc(a, cc, X_RAX);
	int t = rdst(c, op->rd);
	x86_movzx_r(a, 1, t, X_RAX);
	wfin(c, op->rd, t);
}

static void minmax(struct ctx *c, const struct rv_op *op, enum x86_cc take2)
{
	struct x86 *a = &c->a;
	int s1 = rsrc(c, op->rs1, X_RAX);
	int s2 = rsrc(c, op->rs2, X_RCX);
	x86_mov_rr(a, true, X_RDX, s1);
	x86_alu_rr(a, ALU_CMP, true, s1, s2);
	x86_cmov(a, take2, true, X_RDX, s2);
	wfin(c, op->rd, X_RDX);
}

static void sh_add(struct ctx *c, const struct rv_op *op, unsigned scale,
		   bool uw)
{
	int s1;
	if (uw) {
		get_into_zx32(c, X_RAX, op->rs1);
		s1 = X_RAX;
	} else {
		s1 = rsrc(c, op->rs1, X_RAX);
	}
	int s2 = rsrc(c, op->rs2, X_RCX);
	int t = rdst(c, op->rd);
	x86_lea(&c->a, true, t, x86_mi(s2, s1, scale, 0));
	wfin(c, op->rd, t);
}

/* rd = rs1 with a bit op (bts/btr/btc) at rs2 or imm. */
static void bit_op(struct ctx *c, const struct rv_op *op, enum x86_bt b,
		   bool imm)
{
	if (imm) {
		int t = rdst(c, op->rd);
		get_into(c, t, op->rs1);
		x86_bt_ri(&c->a, b, true, t, (unsigned)op->imm & 63);
		wfin(c, op->rd, t);
		return;
	}
	int s2 = rsrc(c, op->rs2, X_RCX);
	int t = pick(c, op->rd, s2);
	get_into(c, t, op->rs1);
	x86_bt_rr(&c->a, b, true, t, s2);
	wfin(c, op->rd, t);
}

static void bit_ext(struct ctx *c, const struct rv_op *op, bool imm)
{
	struct x86 *a = &c->a;
	int s1 = rsrc(c, op->rs1, X_RAX);
	if (imm)
		x86_bt_ri(a, BT_BT, true, s1, (unsigned)op->imm & 63);
	else
		x86_bt_rr(a, BT_BT, true, s1, rsrc(c, op->rs2, X_RCX));
	x86_setcc(a, CC_B, X_RAX);
	int t = rdst(c, op->rd);
	x86_movzx_r(a, 1, t, X_RAX);
	wfin(c, op->rd, t);
}

/* rd = unary(rs1) with an x86 op of the form op dst, src. */
static void unary(struct ctx *c, const struct rv_op *op,
		  void (*f)(struct x86 *, bool, int, int), bool w)
{
	int s = rsrc(c, op->rs1, X_RAX);
	int t = rdst(c, op->rd);
	f(&c->a, w, t, s);
	wfin(c, op->rd, t);
}

static void tr_int(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	struct x86 *a = &c->a;
	int t, s;
	switch (opc) {
	case RV_OP_LUI:
		t = rdst(c, op->rd);
		x86_mov_ri(a, t, (uint64_t)(int64_t)op->imm);
		wfin(c, op->rd, t);
		break;
	case RV_OP_AUIPC: {
		int64_t k = (int64_t)op->pc_off + op->imm;
		t = rdst(c, op->rd);
		x86_load(a, 8, t, x86_m(X_RSP, SLOT_PC));
		if (k == (int32_t)k) {
			x86_alu_ri(a, ALU_ADD, true, t, (int32_t)k);
		} else {
			x86_mov_ri(a, X_RCX, (uint64_t)k);
			x86_alu_rr(a, ALU_ADD, true, t, X_RCX);
		}
		wfin(c, op->rd, t);
		break;
	}
	case RV_OP_ADDI:
	case RV_OP_ADDIW: {
		bool w = opc == RV_OP_ADDI;
		t = rdst(c, op->rd);
		if (op->rs1 == 0) {
			x86_mov_ri(a, t, w ? (uint64_t)(int64_t)op->imm :
					     (uint64_t)(uint32_t)op->imm);
		} else if (op->imm == 0) {
			/* mv, sext.w */
			if (w)
				get_into(c, t, op->rs1);
			else if (c->host[op->rs1] >= 0)
				x86_movsx_r(a, 4, t, c->host[op->rs1]);
			else
				x86_movsx_m(a, 4, t, xmem(op->rs1));
			wfin(c, op->rd, t);
			break;
		} else if (c->host[op->rs1] >= 0 && c->host[op->rs1] != t) {
			x86_lea(a, w, t, x86_m(c->host[op->rs1], op->imm));
		} else {
			get_into(c, t, op->rs1);
			x86_alu_ri(a, ALU_ADD, w, t, op->imm);
		}
		if (!w)
			sext32(c, t);
		wfin(c, op->rd, t);
		break;
	}
	case RV_OP_SLTI: set_cc(c, op, CC_L, true); break;
	case RV_OP_SLTIU: set_cc(c, op, CC_B, true); break;
	case RV_OP_XORI: alu_ri(c, op, ALU_XOR); break;
	case RV_OP_ORI: alu_ri(c, op, ALU_OR); break;
	case RV_OP_ANDI: alu_ri(c, op, ALU_AND); break;
	case RV_OP_SLLI: shift_ri(c, op, SH_SHL, true); break;
	case RV_OP_SRLI: shift_ri(c, op, SH_SHR, true); break;
	case RV_OP_SRAI: shift_ri(c, op, SH_SAR, true); break;
	case RV_OP_SLLIW: shift_ri(c, op, SH_SHL, false); break;
	case RV_OP_SRLIW: shift_ri(c, op, SH_SHR, false); break;
	case RV_OP_SRAIW: shift_ri(c, op, SH_SAR, false); break;
	case RV_OP_RORI: shift_ri(c, op, SH_ROR, true); break;
	case RV_OP_RORIW: shift_ri(c, op, SH_ROR, false); break;
	case RV_OP_ADD: alu_rr(c, op, ALU_ADD, true); break;
	case RV_OP_SUB: alu_rr(c, op, ALU_SUB, true); break;
	case RV_OP_XOR: alu_rr(c, op, ALU_XOR, true); break;
	case RV_OP_OR: alu_rr(c, op, ALU_OR, true); break;
	case RV_OP_AND: alu_rr(c, op, ALU_AND, true); break;
	case RV_OP_ADDW: alu_rr(c, op, ALU_ADD, false); break;
	case RV_OP_SUBW: alu_rr(c, op, ALU_SUB, false); break;
	case RV_OP_SLT: set_cc(c, op, CC_L, false); break;
	case RV_OP_SLTU: set_cc(c, op, CC_B, false); break;
	case RV_OP_SLL: shift_rr(c, op, SH_SHL, true); break;
	case RV_OP_SRL: shift_rr(c, op, SH_SHR, true); break;
	case RV_OP_SRA: shift_rr(c, op, SH_SAR, true); break;
	case RV_OP_SLLW: shift_rr(c, op, SH_SHL, false); break;
	case RV_OP_SRLW: shift_rr(c, op, SH_SHR, false); break;
	case RV_OP_SRAW: shift_rr(c, op, SH_SAR, false); break;
	case RV_OP_ROL: shift_rr(c, op, SH_ROL, true); break;
	case RV_OP_ROR: shift_rr(c, op, SH_ROR, true); break;
	case RV_OP_ROLW: shift_rr(c, op, SH_ROL, false); break;
	case RV_OP_RORW: shift_rr(c, op, SH_ROR, false); break;
	case RV_OP_MUL:
	case RV_OP_MULW: {
		bool w = opc == RV_OP_MUL;
		int b = rsrc(c, op->rs2, X_RCX);
		t = pick(c, op->rd, b);
		get_into(c, t, op->rs1);
		x86_imul_rr(a, w, t, b);
		if (!w)
			sext32(c, t);
		wfin(c, op->rd, t);
		break;
	}
	case RV_OP_MULH:
	case RV_OP_MULHU:
	case RV_OP_MULHSU: {
		int b = rsrc(c, op->rs2, X_RCX);
		get_into(c, X_RAX, op->rs1);
		if (opc == RV_OP_MULH) {
			x86_imul1(a, true, b);
		} else {
			x86_mul(a, true, b);
			if (opc == RV_OP_MULHSU) {
				/* signed x unsigned: the unsigned high half
				 * minus rs2 when rs1 is negative */
				get_into(c, X_RAX, op->rs1);
				x86_shift_ri(a, SH_SAR, true, X_RAX, 63);
				x86_alu_rr(a, ALU_AND, true, X_RAX, b);
				x86_alu_rr(a, ALU_SUB, true, X_RDX, X_RAX);
			}
		}
		wfin(c, op->rd, X_RDX);
		break;
	}
	case RV_OP_DIV: case RV_OP_DIVU: case RV_OP_REM: case RV_OP_REMU:
	case RV_OP_DIVW: case RV_OP_DIVUW: case RV_OP_REMW: case RV_OP_REMUW:
		tr_div(c, op, opc);
		break;
	case RV_OP_ADD_UW: {
		int b = rsrc(c, op->rs2, X_RCX);
		t = pick(c, op->rd, b);
		get_into_zx32(c, t, op->rs1);
		x86_alu_rr(a, ALU_ADD, true, t, b);
		wfin(c, op->rd, t);
		break;
	}
	case RV_OP_SH1ADD: sh_add(c, op, 2, false); break;
	case RV_OP_SH2ADD: sh_add(c, op, 4, false); break;
	case RV_OP_SH3ADD: sh_add(c, op, 8, false); break;
	case RV_OP_SH1ADD_UW: sh_add(c, op, 2, true); break;
	case RV_OP_SH2ADD_UW: sh_add(c, op, 4, true); break;
	case RV_OP_SH3ADD_UW: sh_add(c, op, 8, true); break;
	case RV_OP_SLLI_UW:
		t = rdst(c, op->rd);
		get_into_zx32(c, t, op->rs1);
		x86_shift_ri(a, SH_SHL, true, t, (unsigned)op->imm & 63);
		wfin(c, op->rd, t);
		break;
	case RV_OP_ANDN:
	case RV_OP_ORN:
		get_into(c, X_RCX, op->rs2);
		x86_not(a, true, X_RCX);
		t = rdst(c, op->rd);
		get_into(c, t, op->rs1);
		x86_alu_rr(a, opc == RV_OP_ANDN ? ALU_AND : ALU_OR, true, t,
			   X_RCX);
		wfin(c, op->rd, t);
		break;
	case RV_OP_XNOR: {
		int b = rsrc(c, op->rs2, X_RCX);
		t = pick(c, op->rd, b);
		get_into(c, t, op->rs1);
		x86_alu_rr(a, ALU_XOR, true, t, b);
		x86_not(a, true, t);
		wfin(c, op->rd, t);
		break;
	}
	case RV_OP_CLZ: unary(c, op, x86_lzcnt, true); break;
	case RV_OP_CLZW: unary(c, op, x86_lzcnt, false); break;
	case RV_OP_CTZ: unary(c, op, x86_tzcnt, true); break;
	case RV_OP_CTZW: unary(c, op, x86_tzcnt, false); break;
	case RV_OP_CPOP: unary(c, op, x86_popcnt, true); break;
	case RV_OP_CPOPW: unary(c, op, x86_popcnt, false); break;
	case RV_OP_MAX: minmax(c, op, CC_L); break;
	case RV_OP_MAXU: minmax(c, op, CC_B); break;
	case RV_OP_MIN: minmax(c, op, CC_G); break;
	case RV_OP_MINU: minmax(c, op, CC_A); break;
	case RV_OP_SEXT_B:
	case RV_OP_SEXT_H:
		s = rsrc(c, op->rs1, X_RAX);
		t = rdst(c, op->rd);
		x86_movsx_r(a, opc == RV_OP_SEXT_B ? 1 : 2, t, s);
		wfin(c, op->rd, t);
		break;
	case RV_OP_ZEXT_H:
		s = rsrc(c, op->rs1, X_RAX);
		t = rdst(c, op->rd);
		x86_movzx_r(a, 2, t, s);
		wfin(c, op->rd, t);
		break;
	case RV_OP_ORC_B:
		/* Per byte: (b & 0x7f) + 0x7f sets bit 7 iff the low bits
		 * are not all 0, | b adds bit 7 itself; no carry crosses a
		 * byte.  Bit 7 of each byte, moved to bit 0, times 0xff. */
		s = rsrc(c, op->rs1, X_RDX);
		x86_mov_rr(a, true, X_RAX, s);
		x86_mov_ri(a, X_RCX, 0x7f7f7f7f7f7f7f7fULL);
		x86_alu_rr(a, ALU_AND, true, X_RAX, X_RCX);
		x86_alu_rr(a, ALU_ADD, true, X_RAX, X_RCX);
		x86_alu_rr(a, ALU_OR, true, X_RAX, s);
		x86_not(a, true, X_RCX);
		x86_alu_rr(a, ALU_AND, true, X_RAX, X_RCX);
		x86_shift_ri(a, SH_SHR, true, X_RAX, 7);
		x86_imul_rri(a, true, X_RAX, X_RAX, 0xff);
		wfin(c, op->rd, X_RAX);
		break;
	case RV_OP_REV8:
		t = rdst(c, op->rd);
		get_into(c, t, op->rs1);
		x86_bswap(a, true, t);
		wfin(c, op->rd, t);
		break;
	case RV_OP_BCLR: bit_op(c, op, BT_BTR, false); break;
	case RV_OP_BINV: bit_op(c, op, BT_BTC, false); break;
	case RV_OP_BSET: bit_op(c, op, BT_BTS, false); break;
	case RV_OP_BCLRI: bit_op(c, op, BT_BTR, true); break;
	case RV_OP_BINVI: bit_op(c, op, BT_BTC, true); break;
	case RV_OP_BSETI: bit_op(c, op, BT_BTS, true); break;
	case RV_OP_BEXT: bit_ext(c, op, false); break;
	case RV_OP_BEXTI: bit_ext(c, op, true); break;
	default:
		break;   /* not reached: kind[] lists only the cases above */
	}
}

/* ---- terminators ---- */

_Static_assert(sizeof(struct rv_jit_ijc) == 16, "chain() scales by 16");

#define JF(field) ((int32_t)(offsetof(struct rv_cpu, jf) + \
			     offsetof(struct rv_jit_frame, field)))
#define CPU(field) ((int32_t)offsetof(struct rv_cpu, field))

/* Every block has the same frame (see prologue), so chaining is a jump
 * into the successor's code past its entry. */
static const int8_t saved[6] = { X_RBX, X_RBP, X_R12, X_R13, X_R14, X_R15 };
#define FRAME 40   /* 8 mod 16 at entry + 6 pushes + 40: 16-aligned */

static void epilogue(struct ctx *c)
{
	x86_alu_ri(&c->a, ALU_ADD, true, X_RSP, FRAME);
	for (unsigned i = 6; i-- > 0;)
		x86_pop(&c->a, saved[i]);
	x86_ret(&c->a);
}

/* Displacement of a struct rv_hart field from x (the code's base
 * register holds h->x: jit.h). */
#define HX(field) ((int32_t)offsetof(struct rv_hart, field) - \
		   (int32_t)offsetof(struct rv_hart, x))

/* A self-loop block's budget register back to jf.left, at every exit.
 * Clobbers rcx. */
static void store_left(struct ctx *c)
{
	if (!c->loop)
		return;
	x86_load(&c->a, 8, X_RCX, x86_m(c->base, HX(priv_)));
	x86_store(&c->a, 8, x86_m(X_RCX, JF(left)), LOOP_LEFT);
}

/* Into the successor's code through link k, as cpu_exec.c's CHAIN would
 * enter it (jit.h); falls through when it would not.  rax = next pc,
 * rdx = h, r8 = rv_cpu(h); guest registers are written back. */
static void chain(struct ctx *c, unsigned k, bool indirect)
{
	struct x86 *a = &c->a;
	size_t miss[8];
	unsigned nm = 0;
	/* The budget first, as CHAIN: the interpreter stops on <= 0.  It
	 * stays in r11 for the charge below. */
	x86_load(a, 8, X_R11, x86_m(X_R8, JF(left)));
	x86_test_rr(a, true, X_R11, X_R11);
	miss[nm++] = x86_jcc(a, CC_LE);
	/* r9 = succ[k], read from the block at each pass: links change. */
	x86_mov_ri(a, X_R9, (uint64_t)(uintptr_t)&c->blk->succ[k]);
	x86_load(a, 8, X_R9, x86_m(X_R9, 0));
	if (indirect) {
		/* Or the indirect-jump cache's block for this pc, when the
		 * slot holds this pc (checked below like any link). */
		x86_mov_rr(a, true, X_RCX, X_RAX);
		x86_shift_ri(a, SH_SHR, true, X_RCX, 1);
		x86_alu_ri(a, ALU_AND, false, X_RCX,
			   (1 << RV_JIT_IJC_BITS) - 1);
		x86_shift_ri(a, SH_SHL, true, X_RCX, 4);
		x86_alu_rr(a, ALU_ADD, true, X_RCX, X_R8);
		x86_alu_rm(a, ALU_CMP, true, X_RAX,
			   x86_m(X_RCX, CPU(ijc) + (int32_t)offsetof(
					 struct rv_jit_ijc, pc)));
		size_t other = x86_jcc(a, CC_NE);
		x86_load(a, 8, X_R9,
			 x86_m(X_RCX, CPU(ijc) + (int32_t)offsetof(
				       struct rv_jit_ijc, blk)));
		x86_bind(a, other);
	}
	x86_test_rr(a, true, X_R9, X_R9);
	miss[nm++] = x86_jcc(a, CC_E);
	if (indirect || !(c->blk->flags & (RV_BLK_SAME_PAGE0 << k))) {
		/* The fetch TLB: tag of pc, and succ's key == pc + addend. */
		x86_load(a, 8, X_R10, x86_m(X_R8, CPU(itlb)));
		x86_mov_rr(a, true, X_RCX, X_RAX);
		x86_shift_ri(a, SH_SHR, true, X_RCX, 12 - 4);
		x86_alu_ri(a, ALU_AND, false, X_RCX,
			   (int32_t)(RV_TLB_MASK << 4));
		x86_alu_rr(a, ALU_ADD, true, X_R10, X_RCX);
		x86_mov_rr(a, true, X_RCX, X_RAX);
		x86_shift_ri(a, SH_SHR, true, X_RCX, RV_PAGE_SHIFT);
		x86_alu_rm(a, ALU_CMP, true, X_RCX,
			   x86_m(X_R10, (int32_t)offsetof(struct rv_tlbe, tag)));
		miss[nm++] = x86_jcc(a, CC_NE);
		x86_mov_rr(a, true, X_RCX, X_RAX);
		x86_alu_rm(a, ALU_ADD, true, X_RCX,
			   x86_m(X_R10, (int32_t)offsetof(struct rv_tlbe,
							  addend)));
		x86_alu_rm(a, ALU_CMP, true, X_RCX,
			   x86_m(X_R9, (int32_t)offsetof(struct rv_block, key)));
		miss[nm++] = x86_jcc(a, CC_NE);
	}
	/* Dropped blocks carry RV_EPOCH_DEAD; stale ones an older epoch,
	 * revalidated out of line (below) as the lookup would. */
	x86_load(a, 8, X_RCX, x86_m(X_R8, CPU(code_epoch)));
	x86_alu_rm(a, ALU_CMP, true, X_RCX,
		   x86_m(X_R9, (int32_t)offsetof(struct rv_block, epoch)));
	size_t stale = x86_jcc(a, CC_NE);
	size_t fresh = a->len;
	x86_load(a, 8, X_R10, x86_m(X_R9, (int32_t)offsetof(struct rv_block,
							     jit)));
	x86_test_rr(a, true, X_R10, X_R10);
	miss[nm++] = x86_jcc(a, CC_E);
	x86_alu_mi(a, ALU_CMP, false,
		   x86_m(X_RDX, (int32_t)offsetof(struct rv_hart, kick)), 0);
	miss[nm++] = x86_jcc(a, CC_NE);
	/* Enter it: charge it, tell the interpreter where we are.  The
	 * frame stays: its TLB and hart slots hold for the successor too
	 * (code never changes them), only the pc slot is new. */
	x86_movzx_m(a, 2, X_RCX,
		    x86_m(X_R9, (int32_t)offsetof(struct rv_block, ninsn)));
	x86_store(a, 8, x86_m(X_R8, JF(blk)), X_R9);
	x86_store(a, 8, x86_m(X_R8, JF(pc)), X_RAX);
	x86_alu_rr(a, ALU_SUB, true, X_R11, X_RCX);
	x86_store(a, 8, x86_m(X_R8, JF(left)), X_R11);
	x86_store(a, 8, x86_m(X_RSP, SLOT_PC), X_RAX);
	if (c->base != X_RDI)
		x86_mov_rr(a, true, X_RDI, c->base);
	x86_alu_ri(a, ALU_ADD, true, X_R10, RV_JIT_CHAIN_ENTRY);
	x86_jmp_r(a, X_R10);
	/* A successor of an older epoch (after every fence.i, once per
	 * block): rv_block_revalidate(h, succ) here rather than a return to
	 * the interpreter's lookup.  Guest registers are written back; what
	 * the chain still needs is saved around the call (six pushes keep
	 * rsp 16-byte aligned). */
	static const int8_t keep[6] = { X_RAX, X_RDX, X_R8, X_R9, X_R11,
					X_RDI };
	x86_bind(a, stale);
	for (unsigned i = 0; i < 6; i++)
		x86_push(a, keep[i]);
	x86_mov_rr(a, true, X_RDI, X_RDX);
	x86_mov_rr(a, true, X_RSI, X_R9);
	x86_call(a, (const void *)rv_block_revalidate);
	x86_test_rr(a, false, X_RAX, X_RAX);
	for (unsigned i = 6; i-- > 0;)
		x86_pop(a, keep[i]);   /* pop leaves the flags alone */
	x86_patch(a, x86_jcc(a, CC_NE), fresh);
	for (unsigned i = 0; i < nm; i++)
		x86_bind(a, miss[i]);
}

/* Leave through link k with the next pc in rax: chain, or return
 * RV_JIT_TERM + k with the pc in jf.npc.  Registers are written back. */
static void term_exit(struct ctx *c, unsigned k, bool indirect)
{
	struct x86 *a = &c->a;
	store_left(c);
	x86_load(a, 8, X_RDX, x86_m(X_RSP, SLOT_H));
	x86_load(a, 8, X_R8, x86_m(X_RDX, (int32_t)offsetof(struct rv_hart,
							     priv_)));
	x86_store(a, 8, x86_m(X_R8, JF(npc)), X_RAX);
	if (c->chain)
		chain(c, k, indirect);
	x86_mov_ri(a, X_RAX, RV_JIT_TERM + k);
	epilogue(c);
}

/* A branch back to the block's own start (a loop in one block): what
 * chaining to itself would do, without leaving the function: budget and
 * kick checks, charge the block, and back to the code after the
 * prologue, whose host registers still hold the guest values (dirty ones
 * are written back at the exits: c->loop).  The block itself needs no
 * epoch check: nothing the code does can drop it or start a new epoch.
 * The budget is in LOOP_LEFT meanwhile (store_left at the exits).
 * Falls through when it stops. */
static void self_loop(struct ctx *c)
{
	struct x86 *a = &c->a;
	x86_alu_mi(a, ALU_CMP, false, x86_m(c->base, HX(kick)), 0);
	size_t kick = x86_jcc(a, CC_NE);
	x86_test_rr(a, true, LOOP_LEFT, LOOP_LEFT);
	size_t out = x86_jcc(a, CC_LE);
	x86_alu_ri(a, ALU_SUB, true, LOOP_LEFT, (int32_t)c->blk->ninsn);
	x86_patch(a, x86_jmp(a), c->body);
	x86_bind(a, kick);
	x86_bind(a, out);
}

/* rax = block pc + off. */
static void pc_plus(struct ctx *c, int r, int32_t off)
{
	x86_load(&c->a, 8, r, x86_m(X_RSP, SLOT_PC));
	if (off)
		x86_alu_ri(&c->a, ALU_ADD, true, r, off);
}

static enum x86_cc br_cc(unsigned opc)
{
	switch (opc) {
	case RV_OP_BEQ: return CC_E;
	case RV_OP_BNE: return CC_NE;
	case RV_OP_BLT: return CC_L;
	case RV_OP_BGE: return CC_GE;
	case RV_OP_BLTU: return CC_B;
	default: return CC_AE;   /* BGEU */
	}
}

/* cpu_exec.c's BRANCH, JAL/J/END and JALR/JR: rd, then the next pc. */
static void tr_term(struct ctx *c, const struct rv_op *op, unsigned opc)
{
	struct x86 *a = &c->a;
	switch (c->t->kind[opc]) {
	case K_BR: {
		int s1 = rsrc(c, op->rs1, X_RAX);
		int s2 = rsrc(c, op->rs2, X_RCX);
		x86_alu_rr(a, ALU_CMP, true, s1, s2);
		if (c->loop) {
			/* The back edge keeps registers; the exits write. */
			size_t taken = x86_jcc(a, br_cc(opc));
			writeback(c, c->dirty);
			pc_plus(c, X_RAX, op->imm2);
			term_exit(c, 1, false);
			x86_bind(a, taken);
			self_loop(c);
			writeback(c, c->dirty);
			pc_plus(c, X_RAX, op->imm);
			term_exit(c, 0, false);
			break;
		}
		writeback(c, c->dirty);   /* movs: the flags survive */
		size_t taken = x86_jcc(a, br_cc(opc));
		pc_plus(c, X_RAX, op->imm2);
		term_exit(c, 1, false);
		x86_bind(a, taken);
		pc_plus(c, X_RAX, op->imm);
		term_exit(c, 0, false);
		break;
	}
	case K_JAL:
		if (op->rd) {
			int t = rdst(c, op->rd);
			pc_plus(c, t, op->imm2);
			wfin(c, op->rd, t);
		}
		if (c->loop)
			self_loop(c);
		writeback(c, c->dirty);
		pc_plus(c, X_RAX, op->imm);
		term_exit(c, 0, false);
		break;
	default: {   /* K_JALR; IALIGN = 16: clear bit 0 only */
		int s = rsrc(c, op->rs1, X_RAX);
		x86_lea(a, true, X_RCX, x86_m(s, op->imm));
		x86_alu_ri(a, ALU_AND, true, X_RCX, -2);
		if (op->rd) {
			int t = rdst(c, op->rd);
			pc_plus(c, t, op->imm2);
			wfin(c, op->rd, t);
		}
		writeback(c, c->dirty);
		x86_mov_rr(a, true, X_RAX, X_RCX);
		term_exit(c, 0, true);
		break;
	}
	}
}

/* ---- register allocation ---- */

static void note_read(unsigned g, unsigned *uses, uint64_t *seen,
		      uint64_t *first_read)
{
	uses[g]++;
	if (!(*seen & (1ULL << g))) {
		*seen |= 1ULL << g;
		*first_read |= 1ULL << g;
	}
}

static void note_write(unsigned g, unsigned *uses, uint64_t *seen,
		       uint64_t *written)
{
	uses[g]++;
	*seen |= 1ULL << g;
	*written |= 1ULL << g;
}

/* Give host registers to the most used slots of ops[0..n); returns the
 * slots whose value must be loaded at entry. */
static uint64_t allocate(struct ctx *c, const struct rv_block *blk,
			 const unsigned *opcs, unsigned n)
{
	unsigned uses[NV] = { 0 };
	uint64_t seen = 0, first_read = 0;
	bool calls = false;
	for (unsigned i = 0; i < n; i++) {
		const struct rv_op *op = &blk->ops[i];
		switch (c->t->kind[opcs[i]]) {
		case K_U:
			note_write(op->rd, uses, &seen, &c->written);
			break;
		case K_RI:
		case K_LOAD:
			note_read(op->rs1, uses, &seen, &first_read);
			note_write(op->rd, uses, &seen, &c->written);
			if (c->t->kind[opcs[i]] == K_LOAD)
				uses[V_LTLB] += 2;
			break;
		case K_RR:
			note_read(op->rs1, uses, &seen, &first_read);
			note_read(op->rs2, uses, &seen, &first_read);
			note_write(op->rd, uses, &seen, &c->written);
			break;
		case K_STORE:
			note_read(op->rs1, uses, &seen, &first_read);
			note_read(op->rs2, uses, &seen, &first_read);
			uses[V_STLB] += 2;
			calls |= c->verify;
			break;
		case K_FLOAD:
			note_read(op->rs1, uses, &seen, &first_read);
			uses[V_LTLB] += 2;
			break;
		case K_FSTORE:
			note_read(op->rs1, uses, &seen, &first_read);
			uses[V_STLB] += 2;
			calls |= c->verify;
			break;
		case K_FP:
			calls = true;
			break;
		case K_BR:
			note_read(op->rs1, uses, &seen, &first_read);
			note_read(op->rs2, uses, &seen, &first_read);
			break;
		case K_JALR:
			note_read(op->rs1, uses, &seen, &first_read);
			/* fall through */
		case K_JAL:
			note_write(op->rd, uses, &seen, &c->written);
			break;
		default:
			break;
		}
	}
	uses[0] = 0;
	c->base = calls ? X_R15 : X_RDI;
	const int8_t *pool = calls ? pool_calls : pool_leaf;
	for (unsigned k = 0; k < POOL; k++) {
		if (c->loop && pool[k] == LOOP_LEFT)
			continue;
		unsigned best = NV;
		for (unsigned v = 1; v < NV; v++)
			if (c->host[v] < 0 && uses[v] &&
			    (best == NV || uses[v] > uses[best]))
				best = v;
		if (best == NV)
			break;
		c->host[best] = pool[k];
	}
	return first_read;
}

/* ---- the block ---- */

/* The entry (rv_jit_fn): the same fixed frame for every block, the
 * arguments into their slots; exactly RV_JIT_CHAIN_ENTRY bytes.  Then
 * the chain entry, where chaining code jumps with the frame in place and
 * x in rdi: host registers of this block loaded. */
static void prologue(struct ctx *c, uint64_t load)
{
	struct x86 *a = &c->a;
	for (unsigned i = 0; i < 6; i++)
		x86_push(a, saved[i]);
	x86_alu_ri(a, ALU_SUB, true, X_RSP, FRAME);
	x86_store(a, 8, x86_m(X_RSP, SLOT_PC), X_RSI);
	x86_store(a, 8, x86_m(X_RSP, SLOT_LTLB), X_RDX);
	x86_store(a, 8, x86_m(X_RSP, SLOT_STLB), X_RCX);
	x86_store(a, 8, x86_m(X_RSP, SLOT_H), X_R8);
	if (a->len != RV_JIT_CHAIN_ENTRY)
		c->too_many = true;   /* never: the encoding is fixed */
	if (c->base != X_RDI)
		x86_mov_rr(a, true, c->base, X_RDI);
	if (c->loop) {
		x86_load(a, 8, X_RCX, x86_m(c->base, HX(priv_)));
		x86_load(a, 8, LOOP_LEFT, x86_m(X_RCX, JF(left)));
	}
	if (c->host[V_LTLB] >= 0)
		x86_load(a, 8, c->host[V_LTLB], x86_m(X_RSP, SLOT_LTLB));
	if (c->host[V_STLB] >= 0)
		x86_load(a, 8, c->host[V_STLB], x86_m(X_RSP, SLOT_STLB));
	for (unsigned g = 1; g < 32; g++)
		if (c->host[g] >= 0 && (load & (1ULL << g)))
			x86_load(a, 8, c->host[g], xmem(g));
}

rv_jit_fn rv_jit_translate(struct rv_jit *j, const struct rv_block *blk)
{
	const struct tr *t = j->tr;
	unsigned opcs[RV_BLOCK_MAX_INSNS + 2];
	unsigned n = 0;
	if (j->off)
		return NULL;
	while (n < blk->nops && n < RV_BLOCK_MAX_INSNS + 2) {
		unsigned opc = op_opc(t, &blk->ops[n]);
		if (opc >= RV_OP_COUNT || t->kind[opc] == K_NO)
			break;
		opcs[n++] = opc;
	}
	/* A block translated through its terminator chains on, whatever
	 * its length; a short prefix that ends in a side exit does not pay. */
	if (n == 0 || (n < blk->nops && n < t->min_ops))
		return NULL;

	struct ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t avail;
	uint8_t *buf = rv_jit_code_begin(j, &avail);
	x86_init(&c->a, buf, avail);
	c->t = t;
	c->blk = blk;
	c->verify = j->mode == RV_ACCEL_JIT_VERIFY;
	/* jit-verify checks each block on its own. */
	c->chain = !c->verify;
	for (unsigned v = 0; v < NV; v++)
		c->host[v] = -1;
	const struct rv_op *last = &blk->ops[n - 1];
	c->loop = c->chain && n == blk->nops && last->imm == 0 &&
		  (t->kind[opcs[n - 1]] == K_BR || t->kind[opcs[n - 1]] == K_JAL);
	uint64_t load = allocate(c, blk, opcs, n);
	uint64_t kept = 0;
	if (c->loop) {
		/* Registers written in the loop stay dirty across the back
		 * edge, so every exit writes them all back: load them all at
		 * entry, so the first pass writes back what it loaded. */
		for (unsigned g = 1; g < 32; g++)
			if (c->host[g] >= 0 && (c->written & (1ULL << g)))
				kept |= 1ULL << g;
		load |= kept;
	}
	prologue(c, load);
	c->body = c->a.len;
	c->dirty = kept;

	for (unsigned i = 0; i < n; i++) {
		const struct rv_op *op = &blk->ops[i];
		c->cur = i;
		switch (t->kind[opcs[i]]) {
		case K_LOAD: tr_load(c, op, opcs[i]); break;
		case K_STORE: tr_store(c, op, opcs[i]); break;
		case K_FLOAD: tr_fload(c, op, opcs[i]); break;
		case K_FSTORE: tr_fstore(c, op, opcs[i]); break;
		case K_FP: tr_fp(c, op); break;
		case K_NOP:
			if (opcs[i] == RV_OP_FENCE_MB)
				x86_mfence(&c->a);
			break;
		case K_BR: case K_JAL: case K_JALR:
			tr_term(c, op, opcs[i]);
			break;
		default: tr_int(c, op, opcs[i]); break;
		}
	}
	/* Without the terminator, return n; side exits share the epilogue. */
	if (n < blk->nops) {
		writeback(c, c->dirty);
		x86_mov_ri(&c->a, X_RAX, n);
	}
	size_t epi = c->a.len;
	epilogue(c);
	/* Side-exit stubs; consecutive exits with the same state share one. */
	size_t stub = 0;
	for (unsigned k = 0; k < c->nex; k++) {
		const struct exitp *e = &c->ex[k];
		if (k == 0 || e->idx != c->ex[k - 1].idx ||
		    e->dirty != c->ex[k - 1].dirty) {
			stub = c->a.len;
			writeback(c, e->dirty);
			store_left(c);
			x86_mov_ri(&c->a, X_RAX, e->idx);
			x86_patch(&c->a, x86_jmp(&c->a), epi);
		}
		x86_patch(&c->a, e->at, stub);
	}
	bool ok = !c->a.full && !c->too_many;
	size_t len = c->a.len;
	bool full = c->a.full;
	free(c);
	if (!ok) {
		if (full)
			j->full = true;
		return NULL;
	}
	return (rv_jit_fn)rv_jit_code_commit(j, len);
}
