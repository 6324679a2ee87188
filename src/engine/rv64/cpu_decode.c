/* Instruction decoder: 32-bit base/extension encodings and the RV64C
 * expansion (unprivileged ISA 20191213 ch. 2, 5, 7, 8, 11, 12, 16, 24 and
 * the opcode map of ch. 24; Zba/Zbb/Zbs 1.0.0; Zicbom/Zicboz 1.0).
 *
 * Decoding is pure: it depends on the bits only.  Anything that depends on
 * machine state (mstatus.FS, frm, privilege, envcfg) is checked when the op
 * executes, so one decoded block is valid in every mode. */
#include "cpu_ops.h"

#include <stdbool.h>
#include <stddef.h>

static const char *const op_names[RV_OP_COUNT] = {
#define RV_X_NAME(name, handler, flags) [RV_OP_##name] = #name,
	RV_OP_LIST(RV_X_NAME)
#undef RV_X_NAME
};

static const unsigned char op_flags[RV_OP_COUNT] = {
#define RV_X_FLAGS(name, handler, flags) [RV_OP_##name] = RV_F_##flags,
	RV_OP_LIST(RV_X_FLAGS)
#undef RV_X_FLAGS
};

const char *rv_op_name(unsigned opc)
{
	return opc < RV_OP_COUNT ? op_names[opc] : "?";
}

unsigned rv_op_flags(unsigned opc)
{
	return opc < RV_OP_COUNT ? op_flags[opc] : 0;
}

/* Bits hi..lo of x, shifted down. */
static inline uint32_t bits(uint32_t x, unsigned hi, unsigned lo)
{
	return (x >> lo) & ((1u << (hi - lo + 1)) - 1);
}

/* Sign-extend the low `n` bits of x. */
static inline int32_t sext(uint32_t x, unsigned n)
{
	return (int32_t)(x << (32 - n)) >> (32 - n);
}

static inline int32_t imm_i(uint32_t i) { return (int32_t)i >> 20; }
static inline int32_t imm_s(uint32_t i)
{
	return ((int32_t)i >> 25) * 32 + (int32_t)bits(i, 11, 7);
}
static inline int32_t imm_b(uint32_t i)
{
	return sext(bits(i, 31, 31) << 12 | bits(i, 7, 7) << 11 |
		    bits(i, 30, 25) << 5 | bits(i, 11, 8) << 1, 13);
}
static inline int32_t imm_u(uint32_t i) { return (int32_t)(i & 0xfffff000u); }
static inline int32_t imm_j(uint32_t i)
{
	return sext(bits(i, 31, 31) << 20 | bits(i, 19, 12) << 12 |
		    bits(i, 20, 20) << 11 | bits(i, 30, 21) << 1, 21);
}

static void set(struct rv_dec *d, unsigned opc, unsigned rd, unsigned rs1,
		unsigned rs2, int32_t imm)
{
	d->opc = opc;
	d->rd = rd;
	d->rs1 = rs1;
	d->rs2 = rs2;
	d->imm = imm;
}

static unsigned dec_op_imm(uint32_t i)
{
	unsigned f3 = bits(i, 14, 12), hi6 = bits(i, 31, 26);
	unsigned lo6 = bits(i, 25, 20);
	static const unsigned simple[8] = {
		RV_OP_ADDI, 0, RV_OP_SLTI, RV_OP_SLTIU,
		RV_OP_XORI, 0, RV_OP_ORI, RV_OP_ANDI,
	};
	if (f3 == 1) {
		switch (hi6) {
		case 0x00: return RV_OP_SLLI;
		case 0x0a: return RV_OP_BSETI;
		case 0x12: return RV_OP_BCLRI;
		case 0x1a: return RV_OP_BINVI;
		case 0x18:
			switch (lo6) {
			case 0: return RV_OP_CLZ;
			case 1: return RV_OP_CTZ;
			case 2: return RV_OP_CPOP;
			case 4: return RV_OP_SEXT_B;
			case 5: return RV_OP_SEXT_H;
			}
		}
		return RV_OP_ILLEGAL;
	}
	if (f3 == 5) {
		switch (hi6) {
		case 0x00: return RV_OP_SRLI;
		case 0x10: return RV_OP_SRAI;
		case 0x12: return RV_OP_BEXTI;
		case 0x18: return RV_OP_RORI;
		case 0x0a: return lo6 == 0x07 ? RV_OP_ORC_B : RV_OP_ILLEGAL;
		case 0x1a: return lo6 == 0x38 ? RV_OP_REV8 : RV_OP_ILLEGAL;
		}
		return RV_OP_ILLEGAL;
	}
	return simple[f3];
}

static unsigned dec_op_imm32(uint32_t i)
{
	unsigned f3 = bits(i, 14, 12), f7 = bits(i, 31, 25);
	unsigned rs2 = bits(i, 24, 20);
	switch (f3) {
	case 0: return RV_OP_ADDIW;
	case 1:
		if (f7 == 0x00) return RV_OP_SLLIW;
		if (bits(i, 31, 26) == 0x02) return RV_OP_SLLI_UW;
		if (f7 == 0x30 && rs2 == 0) return RV_OP_CLZW;
		if (f7 == 0x30 && rs2 == 1) return RV_OP_CTZW;
		if (f7 == 0x30 && rs2 == 2) return RV_OP_CPOPW;
		return RV_OP_ILLEGAL;
	case 5:
		if (f7 == 0x00) return RV_OP_SRLIW;
		if (f7 == 0x20) return RV_OP_SRAIW;
		if (f7 == 0x30) return RV_OP_RORIW;
		return RV_OP_ILLEGAL;
	}
	return RV_OP_ILLEGAL;
}

static unsigned dec_op(uint32_t i)
{
	unsigned f3 = bits(i, 14, 12), f7 = bits(i, 31, 25);
	static const unsigned base[8] = {
		RV_OP_ADD, RV_OP_SLL, RV_OP_SLT, RV_OP_SLTU,
		RV_OP_XOR, RV_OP_SRL, RV_OP_OR, RV_OP_AND,
	};
	static const unsigned mul[8] = {
		RV_OP_MUL, RV_OP_MULH, RV_OP_MULHSU, RV_OP_MULHU,
		RV_OP_DIV, RV_OP_DIVU, RV_OP_REM, RV_OP_REMU,
	};
	switch (f7) {
	case 0x00: return base[f3];
	case 0x01: return mul[f3];
	case 0x20:
		switch (f3) {
		case 0: return RV_OP_SUB;
		case 5: return RV_OP_SRA;
		case 4: return RV_OP_XNOR;
		case 6: return RV_OP_ORN;
		case 7: return RV_OP_ANDN;
		}
		break;
	case 0x10:
		if (f3 == 2) return RV_OP_SH1ADD;
		if (f3 == 4) return RV_OP_SH2ADD;
		if (f3 == 6) return RV_OP_SH3ADD;
		break;
	case 0x05:
		if (f3 == 4) return RV_OP_MIN;
		if (f3 == 5) return RV_OP_MINU;
		if (f3 == 6) return RV_OP_MAX;
		if (f3 == 7) return RV_OP_MAXU;
		break;
	case 0x30:
		if (f3 == 1) return RV_OP_ROL;
		if (f3 == 5) return RV_OP_ROR;
		break;
	case 0x24:
		if (f3 == 1) return RV_OP_BCLR;
		if (f3 == 5) return RV_OP_BEXT;
		break;
	case 0x34:
		if (f3 == 1) return RV_OP_BINV;
		break;
	case 0x14:
		if (f3 == 1) return RV_OP_BSET;
		break;
	}
	return RV_OP_ILLEGAL;
}

static unsigned dec_op32(uint32_t i)
{
	unsigned f3 = bits(i, 14, 12), f7 = bits(i, 31, 25);
	switch (f7) {
	case 0x00:
		if (f3 == 0) return RV_OP_ADDW;
		if (f3 == 1) return RV_OP_SLLW;
		if (f3 == 5) return RV_OP_SRLW;
		break;
	case 0x20:
		if (f3 == 0) return RV_OP_SUBW;
		if (f3 == 5) return RV_OP_SRAW;
		break;
	case 0x01:
		switch (f3) {
		case 0: return RV_OP_MULW;
		case 4: return RV_OP_DIVW;
		case 5: return RV_OP_DIVUW;
		case 6: return RV_OP_REMW;
		case 7: return RV_OP_REMUW;
		}
		break;
	case 0x04:
		if (f3 == 0) return RV_OP_ADD_UW;
		if (f3 == 4 && bits(i, 24, 20) == 0) return RV_OP_ZEXT_H;
		break;
	case 0x10:
		if (f3 == 2) return RV_OP_SH1ADD_UW;
		if (f3 == 4) return RV_OP_SH2ADD_UW;
		if (f3 == 6) return RV_OP_SH3ADD_UW;
		break;
	case 0x30:
		if (f3 == 1) return RV_OP_ROLW;
		if (f3 == 5) return RV_OP_RORW;
		break;
	}
	return RV_OP_ILLEGAL;
}

static unsigned dec_amo(uint32_t i)
{
	unsigned f3 = bits(i, 14, 12), f5 = bits(i, 31, 27);
	if (f3 != 2 && f3 != 3)
		return RV_OP_ILLEGAL;
	/* The D ops follow the W ops in the same order in the op list. */
	unsigned d = f3 == 3 ? RV_OP_LR_D - RV_OP_LR_W : 0;
	switch (f5) {
	case 0x02: return bits(i, 24, 20) ? RV_OP_ILLEGAL : RV_OP_LR_W + d;
	case 0x03: return RV_OP_SC_W + d;
	case 0x01: return RV_OP_AMOSWAP_W + d;
	case 0x00: return RV_OP_AMOADD_W + d;
	case 0x04: return RV_OP_AMOXOR_W + d;
	case 0x0c: return RV_OP_AMOAND_W + d;
	case 0x08: return RV_OP_AMOOR_W + d;
	case 0x10: return RV_OP_AMOMIN_W + d;
	case 0x14: return RV_OP_AMOMAX_W + d;
	case 0x18: return RV_OP_AMOMINU_W + d;
	case 0x1c: return RV_OP_AMOMAXU_W + d;
	}
	return RV_OP_ILLEGAL;
}

/* OP-FP (opcode 0x53), table 24.2 rows for F and D. */
static unsigned dec_op_fp(uint32_t i)
{
	unsigned f7 = bits(i, 31, 25), f3 = bits(i, 14, 12);
	unsigned rs2 = bits(i, 24, 20);
	/* Odd funct7 = double; the D ops sit at a fixed distance from the
	 * S ops in the op list except the conversions between formats. */
	unsigned dbl = f7 & 1, d = dbl ? RV_OP_FMADD_D - RV_OP_FMADD_S : 0;
	switch (f7 & ~1u) {
	case 0x00: return RV_OP_FADD_S + d;
	case 0x04: return RV_OP_FSUB_S + d;
	case 0x08: return RV_OP_FMUL_S + d;
	case 0x0c: return RV_OP_FDIV_S + d;
	case 0x2c: return rs2 == 0 ? RV_OP_FSQRT_S + d : RV_OP_ILLEGAL;
	case 0x10:
		if (f3 == 0) return RV_OP_FSGNJ_S + d;
		if (f3 == 1) return RV_OP_FSGNJN_S + d;
		if (f3 == 2) return RV_OP_FSGNJX_S + d;
		break;
	case 0x14:
		if (f3 == 0) return RV_OP_FMIN_S + d;
		if (f3 == 1) return RV_OP_FMAX_S + d;
		break;
	case 0x20:
		if (!dbl && rs2 == 1) return RV_OP_FCVT_S_D;
		if (dbl && rs2 == 0) return RV_OP_FCVT_D_S;
		break;
	case 0x50:
		if (f3 == 0) return RV_OP_FLE_S + d;
		if (f3 == 1) return RV_OP_FLT_S + d;
		if (f3 == 2) return RV_OP_FEQ_S + d;
		break;
	case 0x60:
		if (rs2 < 4) return RV_OP_FCVT_W_S + d + rs2;
		break;
	case 0x68:
		if (rs2 < 4) return RV_OP_FCVT_S_W + d + rs2;
		break;
	case 0x70:
		if (rs2 == 0 && f3 == 0) return RV_OP_FMV_X_W + d;
		if (rs2 == 0 && f3 == 1) return RV_OP_FCLASS_S + d;
		break;
	case 0x78:
		if (rs2 == 0 && f3 == 0) return RV_OP_FMV_W_X + d;
		break;
	}
	return RV_OP_ILLEGAL;
}

/* Which FP ops round, i.e. have a meaningful rm field that must be
 * valid (5 and 6 are reserved, unprivileged 20191213 §11.2). */
static int fp_has_rm(unsigned opc)
{
	switch (opc) {
	case RV_OP_FSGNJ_S: case RV_OP_FSGNJN_S: case RV_OP_FSGNJX_S:
	case RV_OP_FMIN_S: case RV_OP_FMAX_S: case RV_OP_FMV_X_W:
	case RV_OP_FEQ_S: case RV_OP_FLT_S: case RV_OP_FLE_S:
	case RV_OP_FCLASS_S: case RV_OP_FMV_W_X:
	case RV_OP_FSGNJ_D: case RV_OP_FSGNJN_D: case RV_OP_FSGNJX_D:
	case RV_OP_FMIN_D: case RV_OP_FMAX_D: case RV_OP_FMV_X_D:
	case RV_OP_FEQ_D: case RV_OP_FLT_D: case RV_OP_FLE_D:
	case RV_OP_FCLASS_D: case RV_OP_FMV_D_X:
		return 0;
	}
	return 1;
}

static void dec_system(uint32_t i, struct rv_dec *d)
{
	unsigned f3 = bits(i, 14, 12);
	static const unsigned csr[8] = {
		0, RV_OP_CSRRW, RV_OP_CSRRS, RV_OP_CSRRC,
		0, RV_OP_CSRRWI, RV_OP_CSRRSI, RV_OP_CSRRCI,
	};
	if (f3 != 0 && f3 != 4) {
		set(d, csr[f3], bits(i, 11, 7), bits(i, 19, 15), 0,
		    (int32_t)bits(i, 31, 20));
		return;
	}
	if (f3 == 4)
		return; /* illegal */
	switch (i) {
	case 0x00000073: d->opc = RV_OP_ECALL; return;
	case 0x00100073: d->opc = RV_OP_EBREAK; return;
	case 0x30200073: d->opc = RV_OP_MRET; return;
	case 0x10200073: d->opc = RV_OP_SRET; return;
	case 0x10500073: d->opc = RV_OP_WFI; return;
	}
	if (bits(i, 31, 25) == 0x09 && bits(i, 11, 7) == 0)
		set(d, RV_OP_SFENCE_VMA, 0, bits(i, 19, 15), bits(i, 24, 20), 0);
}

static void dec_misc_mem(uint32_t i, struct rv_dec *d)
{
	unsigned f3 = bits(i, 14, 12);
	if (f3 == 0) {
		/* FENCE, FENCE.TSO and PAUSE; the reserved fields are
		 * ignored as the spec requires for forward compatibility.
		 * On an x86-TSO host only an ordering of earlier writes
		 * (W, or O: device output) before later reads (R, or I)
		 * needs a host fence; FENCE.TSO (fm = 1000) leaves exactly
		 * that one out (unpriv 20191213 §2.7, ch. 14). */
		unsigned fm = bits(i, 31, 28), pred = bits(i, 27, 24),
			 succ = bits(i, 23, 20);
		bool mb = fm != 8 && (pred & 5) && (succ & 0xa);
		d->opc = mb ? RV_OP_FENCE_MB : RV_OP_FENCE;
		/* PAUSE (Zihintpause): FENCE w,0 with rd = rs1 = 0. */
		if (i == 0x0100000f)
			d->opc = RV_OP_PAUSE;
	} else if (f3 == 1) {
		d->opc = RV_OP_FENCE_I;
	} else if (f3 == 2 && bits(i, 11, 7) == 0) {
		switch (bits(i, 31, 20)) {
		case 0: d->opc = RV_OP_CBO_INVAL; break;
		case 1: d->opc = RV_OP_CBO_CLEAN; break;
		case 2: d->opc = RV_OP_CBO_FLUSH; break;
		case 4: d->opc = RV_OP_CBO_ZERO; break;
		default: return;
		}
		d->rs1 = bits(i, 19, 15);
	}
}

static void decode32(uint32_t i, struct rv_dec *d)
{
	unsigned rd = bits(i, 11, 7), rs1 = bits(i, 19, 15);
	unsigned rs2 = bits(i, 24, 20), f3 = bits(i, 14, 12);
	static const unsigned loads[8] = {
		RV_OP_LB, RV_OP_LH, RV_OP_LW, RV_OP_LD,
		RV_OP_LBU, RV_OP_LHU, RV_OP_LWU, RV_OP_ILLEGAL,
	};
	static const unsigned stores[4] = {
		RV_OP_SB, RV_OP_SH, RV_OP_SW, RV_OP_SD,
	};
	static const unsigned branches[8] = {
		RV_OP_BEQ, RV_OP_BNE, RV_OP_ILLEGAL, RV_OP_ILLEGAL,
		RV_OP_BLT, RV_OP_BGE, RV_OP_BLTU, RV_OP_BGEU,
	};

	d->len = 4;
	if ((i & 0x1c) == 0x1c)
		return; /* 48-bit and longer encodings: not supported */
	switch (i & 0x7f) {
	case 0x37: set(d, RV_OP_LUI, rd, 0, 0, imm_u(i)); break;
	case 0x17: set(d, RV_OP_AUIPC, rd, 0, 0, imm_u(i)); break;
	case 0x6f: set(d, RV_OP_JAL, rd, 0, 0, imm_j(i)); break;
	case 0x67:
		if (f3 == 0)
			set(d, RV_OP_JALR, rd, rs1, 0, imm_i(i));
		break;
	case 0x63: set(d, branches[f3], 0, rs1, rs2, imm_b(i)); break;
	case 0x03: set(d, loads[f3], rd, rs1, 0, imm_i(i)); break;
	case 0x23:
		if (f3 < 4)
			set(d, stores[f3], 0, rs1, rs2, imm_s(i));
		break;
	case 0x13: {
		unsigned opc = dec_op_imm(i);
		int32_t imm = imm_i(i);
		/* Shift-type immediates carry only the shift amount. */
		if (f3 == 1 || f3 == 5)
			imm = (int32_t)bits(i, 25, 20);
		set(d, opc, rd, rs1, 0, imm);
		break;
	}
	case 0x1b: {
		unsigned opc = dec_op_imm32(i);
		int32_t imm = imm_i(i);
		if (opc == RV_OP_SLLI_UW)
			imm = (int32_t)bits(i, 25, 20);
		else if (f3 == 1 || f3 == 5)
			imm = (int32_t)bits(i, 24, 20);
		set(d, opc, rd, rs1, 0, imm);
		break;
	}
	case 0x33: set(d, dec_op(i), rd, rs1, rs2, 0); break;
	case 0x3b: set(d, dec_op32(i), rd, rs1, rs2, 0); break;
	case 0x0f: dec_misc_mem(i, d); break;
	case 0x73: dec_system(i, d); break;
	case 0x2f: set(d, dec_amo(i), rd, rs1, rs2, 0); break;
	case 0x07:
		if (f3 == 2 || f3 == 3)
			set(d, f3 == 2 ? RV_OP_FLW : RV_OP_FLD, rd, rs1, 0,
			    imm_i(i));
		break;
	case 0x27:
		if (f3 == 2 || f3 == 3)
			set(d, f3 == 2 ? RV_OP_FSW : RV_OP_FSD, 0, rs1, rs2,
			    imm_s(i));
		break;
	case 0x43: case 0x47: case 0x4b: case 0x4f: {
		unsigned fmt = bits(i, 26, 25);
		if (fmt > 1)
			break;
		unsigned opc = (fmt ? RV_OP_FMADD_D : RV_OP_FMADD_S) +
			       (bits(i, 6, 2) - 0x10);
		set(d, opc, rd, rs1, rs2, 0);
		d->rs3 = bits(i, 31, 27);
		d->rm = f3;
		break;
	}
	case 0x53:
		set(d, dec_op_fp(i), rd, rs1, rs2, 0);
		d->rm = f3;
		break;
	}
	/* Static rm validity: 5 and 6 are reserved (7 = dynamic is checked
	 * against frm when the op runs).  Ops that do not round use the
	 * field as funct3, already folded into opc: report rm = 0. */
	if (d->opc >= RV_OP_FMADD_S && d->opc <= RV_OP_FCVT_D_S) {
		if (!fp_has_rm(d->opc))
			d->rm = 0;
		else if (d->rm == 5 || d->rm == 6)
			d->opc = RV_OP_ILLEGAL;
	}
}

/* RV64C quadrant 0 (table 16.5). */
static void decode_c0(uint32_t c, struct rv_dec *d)
{
	unsigned rdp = 8 + bits(c, 4, 2), rs1p = 8 + bits(c, 9, 7);
	int32_t ldoff = (int32_t)(bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6);
	int32_t lwoff = (int32_t)(bits(c, 12, 10) << 3 | bits(c, 6, 6) << 2 |
				  bits(c, 5, 5) << 6);
	switch (bits(c, 15, 13)) {
	case 0: {
		int32_t imm = (int32_t)(bits(c, 12, 11) << 4 |
					bits(c, 10, 7) << 6 |
					bits(c, 6, 6) << 2 | bits(c, 5, 5) << 3);
		if (imm)
			set(d, RV_OP_ADDI, rdp, 2, 0, imm);
		break;
	}
	case 1: set(d, RV_OP_FLD, rdp, rs1p, 0, ldoff); break;
	case 2: set(d, RV_OP_LW, rdp, rs1p, 0, lwoff); break;
	case 3: set(d, RV_OP_LD, rdp, rs1p, 0, ldoff); break;
	case 5: set(d, RV_OP_FSD, 0, rs1p, rdp, ldoff); break;
	case 6: set(d, RV_OP_SW, 0, rs1p, rdp, lwoff); break;
	case 7: set(d, RV_OP_SD, 0, rs1p, rdp, ldoff); break;
	}
}

/* RV64C quadrant 1 (table 16.6). */
static void decode_c1(uint32_t c, struct rv_dec *d)
{
	unsigned rd = bits(c, 11, 7), rdp = 8 + bits(c, 9, 7);
	unsigned rs2p = 8 + bits(c, 4, 2);
	int32_t imm6 = sext(bits(c, 12, 12) << 5 | bits(c, 6, 2), 6);
	switch (bits(c, 15, 13)) {
	case 0: set(d, RV_OP_ADDI, rd, rd, 0, imm6); break;
	case 1:
		if (rd)
			set(d, RV_OP_ADDIW, rd, rd, 0, imm6);
		break;
	case 2: set(d, RV_OP_ADDI, rd, 0, 0, imm6); break;
	case 3:
		if (rd == 2) {
			int32_t imm = sext(bits(c, 12, 12) << 9 |
					   bits(c, 4, 3) << 7 |
					   bits(c, 5, 5) << 6 |
					   bits(c, 2, 2) << 5 |
					   bits(c, 6, 6) << 4, 10);
			if (imm)
				set(d, RV_OP_ADDI, 2, 2, 0, imm);
		} else if (imm6) {
			set(d, RV_OP_LUI, rd, 0, 0, imm6 * 4096);
		}
		break;
	case 4: {
		unsigned shamt = bits(c, 12, 12) << 5 | bits(c, 6, 2);
		switch (bits(c, 11, 10)) {
		case 0: set(d, RV_OP_SRLI, rdp, rdp, 0, (int32_t)shamt); break;
		case 1: set(d, RV_OP_SRAI, rdp, rdp, 0, (int32_t)shamt); break;
		case 2: set(d, RV_OP_ANDI, rdp, rdp, 0, imm6); break;
		case 3: {
			static const unsigned ops[8] = {
				RV_OP_SUB, RV_OP_XOR, RV_OP_OR, RV_OP_AND,
				RV_OP_SUBW, RV_OP_ADDW, RV_OP_ILLEGAL,
				RV_OP_ILLEGAL,
			};
			unsigned k = bits(c, 12, 12) << 2 | bits(c, 6, 5);
			set(d, ops[k], rdp, rdp, rs2p, 0);
			break;
		}
		}
		break;
	}
	case 5: {
		int32_t off = sext(bits(c, 12, 12) << 11 | bits(c, 11, 11) << 4 |
				   bits(c, 10, 9) << 8 | bits(c, 8, 8) << 10 |
				   bits(c, 7, 7) << 6 | bits(c, 6, 6) << 7 |
				   bits(c, 5, 3) << 1 | bits(c, 2, 2) << 5, 12);
		set(d, RV_OP_JAL, 0, 0, 0, off);
		break;
	}
	case 6: case 7: {
		int32_t off = sext(bits(c, 12, 12) << 8 | bits(c, 11, 10) << 3 |
				   bits(c, 6, 5) << 6 | bits(c, 4, 3) << 1 |
				   bits(c, 2, 2) << 5, 9);
		set(d, bits(c, 13, 13) ? RV_OP_BNE : RV_OP_BEQ, 0, rdp, 0, off);
		break;
	}
	}
}

/* RV64C quadrant 2 (table 16.7). */
static void decode_c2(uint32_t c, struct rv_dec *d)
{
	unsigned rd = bits(c, 11, 7), rs2 = bits(c, 6, 2);
	int32_t ldsp = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 |
				 bits(c, 4, 2) << 6);
	int32_t lwsp = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 4) << 2 |
				 bits(c, 3, 2) << 6);
	int32_t sdsp = (int32_t)(bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6);
	int32_t swsp = (int32_t)(bits(c, 12, 9) << 2 | bits(c, 8, 7) << 6);
	switch (bits(c, 15, 13)) {
	case 0:
		set(d, RV_OP_SLLI, rd, rd, 0,
		    (int32_t)(bits(c, 12, 12) << 5 | rs2));
		break;
	case 1: set(d, RV_OP_FLD, rd, 2, 0, ldsp); break;
	case 2:
		if (rd)
			set(d, RV_OP_LW, rd, 2, 0, lwsp);
		break;
	case 3:
		if (rd)
			set(d, RV_OP_LD, rd, 2, 0, ldsp);
		break;
	case 4:
		if (!bits(c, 12, 12)) {
			if (rs2)
				set(d, RV_OP_ADD, rd, 0, rs2, 0);   /* c.mv */
			else if (rd)
				set(d, RV_OP_JALR, 0, rd, 0, 0);    /* c.jr */
		} else {
			if (rs2)
				set(d, RV_OP_ADD, rd, rd, rs2, 0);  /* c.add */
			else if (rd)
				set(d, RV_OP_JALR, 1, rd, 0, 0);    /* c.jalr */
			else
				d->opc = RV_OP_EBREAK;
		}
		break;
	case 5: set(d, RV_OP_FSD, 0, 2, rs2, sdsp); break;
	case 6: set(d, RV_OP_SW, 0, 2, rs2, swsp); break;
	case 7: set(d, RV_OP_SD, 0, 2, rs2, sdsp); break;
	}
}

void rv_decode(uint32_t insn, struct rv_dec *d)
{
	*d = (struct rv_dec){ .opc = RV_OP_ILLEGAL, .raw = insn };
	if ((insn & 3) == 3) {
		decode32(insn, d);
		return;
	}
	insn &= 0xffff;
	d->raw = insn;
	d->len = 2;
	switch (insn & 3) {
	case 0: decode_c0(insn, d); break;
	case 1: decode_c1(insn, d); break;
	case 2: decode_c2(insn, d); break;
	}
}
