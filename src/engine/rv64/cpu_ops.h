/* The operations the RV64 decoder produces and the interpreter executes.
 *
 * One list drives everything (X-macro): the opcode enum, the names used in
 * tests and traces, the decode flags, and the interpreter's handler table.
 * Each entry is X(name, handler, flags): `handler` names the interpreter
 * label that executes it (several FP/AMO/CSR ops share one out-of-line
 * handler), flags say how the block translator treats it:
 *   T  ends a basic block (control transfer, or may change privilege,
 *      translation or code; always re-dispatches afterwards)
 *   P  pure: its only effect is writing rd, so with rd == x0 it is dropped
 *   L  integer load: with rd == x0 it still accesses memory (faults, MMIO
 *      side effects) but through the LOADX0 handler, which discards
 *   S  no architectural effect in this implementation (a FENCE that
 *      x86-TSO already provides): dropped
 *
 * Covers RV64IMAFDC, Zicsr, Zifencei, Zba, Zbb, Zbs, Zicbom, Zicboz and
 * the privileged instructions of priv 1.12 (unprivileged ISA 20191213). */
#ifndef RINGVM_RV64_CPU_OPS_H
#define RINGVM_RV64_CPU_OPS_H

#include <stdint.h>

#define RV_F_TERM 1u
#define RV_F_PURE 2u
#define RV_F_LOAD 4u
#define RV_F_SKIP 8u
#define RV_F_T RV_F_TERM
#define RV_F_P RV_F_PURE
#define RV_F_L RV_F_LOAD
#define RV_F_S RV_F_SKIP
#define RV_F_0 0u

#define RV_OP_LIST(X) \
	X(ILLEGAL, ILLEGAL, T) \
	X(LUI, LUI, P) X(AUIPC, AUIPC, P) \
	X(JAL, JAL, T) X(JALR, JALR, T) \
	X(BEQ, BEQ, T) X(BNE, BNE, T) X(BLT, BLT, T) X(BGE, BGE, T) \
	X(BLTU, BLTU, T) X(BGEU, BGEU, T) \
	X(LB, LB, L) X(LH, LH, L) X(LW, LW, L) X(LD, LD, L) \
	X(LBU, LBU, L) X(LHU, LHU, L) X(LWU, LWU, L) \
	X(SB, SB, 0) X(SH, SH, 0) X(SW, SW, 0) X(SD, SD, 0) \
	X(ADDI, ADDI, P) X(SLTI, SLTI, P) X(SLTIU, SLTIU, P) \
	X(XORI, XORI, P) X(ORI, ORI, P) X(ANDI, ANDI, P) \
	X(SLLI, SLLI, P) X(SRLI, SRLI, P) X(SRAI, SRAI, P) \
	X(ADD, ADD, P) X(SUB, SUB, P) X(SLL, SLL, P) X(SLT, SLT, P) \
	X(SLTU, SLTU, P) X(XOR, XOR, P) X(SRL, SRL, P) X(SRA, SRA, P) \
	X(OR, OR, P) X(AND, AND, P) \
	X(ADDIW, ADDIW, P) X(SLLIW, SLLIW, P) X(SRLIW, SRLIW, P) \
	X(SRAIW, SRAIW, P) X(ADDW, ADDW, P) X(SUBW, SUBW, P) \
	X(SLLW, SLLW, P) X(SRLW, SRLW, P) X(SRAW, SRAW, P) \
	X(FENCE, NONE, S) X(FENCE_MB, FENCE_MB, 0) X(PAUSE, PAUSE, 0) \
	X(FENCE_I, FENCE_I, T) \
	X(ECALL, ECALL, T) X(EBREAK, EBREAK, T) X(MRET, MRET, T) \
	X(SRET, SRET, T) X(WFI, WFI, T) X(SFENCE_VMA, SFENCE_VMA, T) \
	X(CSRRW, CSR, T) X(CSRRS, CSR, T) X(CSRRC, CSR, T) \
	X(CSRRWI, CSR, T) X(CSRRSI, CSR, T) X(CSRRCI, CSR, T) \
	X(MUL, MUL, P) X(MULH, MULH, P) X(MULHSU, MULHSU, P) \
	X(MULHU, MULHU, P) X(DIV, DIV, P) X(DIVU, DIVU, P) X(REM, REM, P) \
	X(REMU, REMU, P) X(MULW, MULW, P) X(DIVW, DIVW, P) \
	X(DIVUW, DIVUW, P) X(REMW, REMW, P) X(REMUW, REMUW, P) \
	X(LR_W, AMO, 0) X(SC_W, AMO, 0) X(AMOSWAP_W, AMO, 0) \
	X(AMOADD_W, AMO, 0) X(AMOXOR_W, AMO, 0) X(AMOAND_W, AMO, 0) \
	X(AMOOR_W, AMO, 0) X(AMOMIN_W, AMO, 0) X(AMOMAX_W, AMO, 0) \
	X(AMOMINU_W, AMO, 0) X(AMOMAXU_W, AMO, 0) \
	X(LR_D, AMO, 0) X(SC_D, AMO, 0) X(AMOSWAP_D, AMO, 0) \
	X(AMOADD_D, AMO, 0) X(AMOXOR_D, AMO, 0) X(AMOAND_D, AMO, 0) \
	X(AMOOR_D, AMO, 0) X(AMOMIN_D, AMO, 0) X(AMOMAX_D, AMO, 0) \
	X(AMOMINU_D, AMO, 0) X(AMOMAXU_D, AMO, 0) \
	X(FLW, FLW, 0) X(FSW, FSW, 0) X(FLD, FLD, 0) X(FSD, FSD, 0) \
	X(FMADD_S, FP, 0) X(FMSUB_S, FP, 0) X(FNMSUB_S, FP, 0) \
	X(FNMADD_S, FP, 0) X(FADD_S, FP, 0) X(FSUB_S, FP, 0) \
	X(FMUL_S, FP, 0) X(FDIV_S, FP, 0) X(FSQRT_S, FP, 0) \
	X(FSGNJ_S, FP, 0) X(FSGNJN_S, FP, 0) X(FSGNJX_S, FP, 0) \
	X(FMIN_S, FP, 0) X(FMAX_S, FP, 0) X(FCVT_W_S, FP, 0) \
	X(FCVT_WU_S, FP, 0) X(FCVT_L_S, FP, 0) X(FCVT_LU_S, FP, 0) \
	X(FMV_X_W, FP, 0) X(FEQ_S, FP, 0) X(FLT_S, FP, 0) X(FLE_S, FP, 0) \
	X(FCLASS_S, FP, 0) X(FCVT_S_W, FP, 0) X(FCVT_S_WU, FP, 0) \
	X(FCVT_S_L, FP, 0) X(FCVT_S_LU, FP, 0) X(FMV_W_X, FP, 0) \
	X(FMADD_D, FP, 0) X(FMSUB_D, FP, 0) X(FNMSUB_D, FP, 0) \
	X(FNMADD_D, FP, 0) X(FADD_D, FP, 0) X(FSUB_D, FP, 0) \
	X(FMUL_D, FP, 0) X(FDIV_D, FP, 0) X(FSQRT_D, FP, 0) \
	X(FSGNJ_D, FP, 0) X(FSGNJN_D, FP, 0) X(FSGNJX_D, FP, 0) \
	X(FMIN_D, FP, 0) X(FMAX_D, FP, 0) X(FCVT_W_D, FP, 0) \
	X(FCVT_WU_D, FP, 0) X(FCVT_L_D, FP, 0) X(FCVT_LU_D, FP, 0) \
	X(FMV_X_D, FP, 0) X(FEQ_D, FP, 0) X(FLT_D, FP, 0) X(FLE_D, FP, 0) \
	X(FCLASS_D, FP, 0) X(FCVT_D_W, FP, 0) X(FCVT_D_WU, FP, 0) \
	X(FCVT_D_L, FP, 0) X(FCVT_D_LU, FP, 0) X(FMV_D_X, FP, 0) \
	X(FCVT_S_D, FP, 0) X(FCVT_D_S, FP, 0) \
	X(ADD_UW, ADD_UW, P) X(SH1ADD, SH1ADD, P) X(SH2ADD, SH2ADD, P) \
	X(SH3ADD, SH3ADD, P) X(SH1ADD_UW, SH1ADD_UW, P) \
	X(SH2ADD_UW, SH2ADD_UW, P) X(SH3ADD_UW, SH3ADD_UW, P) \
	X(SLLI_UW, SLLI_UW, P) \
	X(ANDN, ANDN, P) X(ORN, ORN, P) X(XNOR, XNOR, P) \
	X(CLZ, CLZ, P) X(CLZW, CLZW, P) X(CTZ, CTZ, P) X(CTZW, CTZW, P) \
	X(CPOP, CPOP, P) X(CPOPW, CPOPW, P) X(MAX, MAX, P) \
	X(MAXU, MAXU, P) X(MIN, MIN, P) X(MINU, MINU, P) \
	X(SEXT_B, SEXT_B, P) X(SEXT_H, SEXT_H, P) X(ZEXT_H, ZEXT_H, P) \
	X(ROL, ROL, P) X(ROLW, ROLW, P) X(ROR, ROR, P) X(RORI, RORI, P) \
	X(RORIW, RORIW, P) X(RORW, RORW, P) X(ORC_B, ORC_B, P) \
	X(REV8, REV8, P) \
	X(BCLR, BCLR, P) X(BCLRI, BCLRI, P) X(BEXT, BEXT, P) \
	X(BEXTI, BEXTI, P) X(BINV, BINV, P) X(BINVI, BINVI, P) \
	X(BSET, BSET, P) X(BSETI, BSETI, P) \
	X(CBO_CLEAN, CBO, 0) X(CBO_FLUSH, CBO, 0) X(CBO_INVAL, CBO, 0) \
	X(CBO_ZERO, CBO, 0) \
	/* Internal ops, never produced by rv_decode(): */ \
	X(END, END, T)        /* fall through to the next block */ \
	X(J, J, T)            /* jal x0 */ \
	X(JR, JR, T)          /* jalr x0 */ \
	X(LOADX0, LOADX0, 0)  /* integer load into x0 (aux = size) */

enum rv_opc {
#define RV_X_ENUM(name, handler, flags) RV_OP_##name,
	RV_OP_LIST(RV_X_ENUM)
#undef RV_X_ENUM
	RV_OP_COUNT
};

/* One decoded instruction, independent of where it sits in memory. */
struct rv_dec {
	uint16_t opc;    /* enum rv_opc */
	uint8_t len;     /* instruction length, 2 or 4 bytes */
	uint8_t rd, rs1, rs2, rs3;
	uint8_t rm;      /* FP rounding-mode field (insn[14:12]) */
	int32_t imm;     /* sign-extended immediate (bytes for offsets);
			  * shift amount for shifts; CSR number for CSR ops
			  * (whose uimm, if any, is in rs1) */
	uint32_t raw;    /* the instruction bits (low 16 when len == 2) */
};

/* Decode one instruction (unprivileged ISA 20191213 ch. 2-16, 24;
 * priv 1.12 §3.3, §4.2.1; Zba/Zbb/Zbs 1.0; Zicbom/Zicboz 1.0).  insn holds
 * the instruction bits; when (insn & 3) != 3 only the low 16 bits are used
 * and it is decoded as RV64C and expanded to the equivalent base op.
 * Reserved and unknown encodings give RV_OP_ILLEGAL.  Never fails. */
void rv_decode(uint32_t insn, struct rv_dec *d);

/* Name ("addi", "fcvt_w_s", ...) and RV_F_* flags of an opcode. */
const char *rv_op_name(unsigned opc);
unsigned rv_op_flags(unsigned opc);

#endif
