/* A small x86-64 instruction encoder for the RV64 translator (translate.c).
 *
 * Hand-written rather than a library: the translator needs some forty
 * encodings (Intel SDM vol. 2, ch. 2-4: REX, ModRM/SIB, disp8/32,
 * imm8/32/64), and no encoder packaged in Debian is small, stable and
 * C-callable without a runtime of its own (see docs/JIT.md).
 *
 * Every function appends to a bounded buffer.  When an instruction does
 * not fit, nothing more is written and `full` is set; the caller checks
 * it once at the end (so call sites need no error handling).  Operand
 * size: `w` true = 64-bit (REX.W), false = 32-bit (which zero-extends the
 * destination register, as the hardware does).  Single-threaded: an
 * encoder belongs to the translation in progress. */
#ifndef RINGVM_RV64_JIT_X86_EMIT_H
#define RINGVM_RV64_JIT_X86_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum x86_reg {
	X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI,
	X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15,
	X_NOREG = -1,
};

/* Condition codes (low nibble of Jcc/SETcc/CMOVcc). */
enum x86_cc {
	CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* Group-1 ALU operations (the /digit of 0x81/0x83, the opcode base of
 * the r/m forms). */
enum x86_alu { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5,
	       ALU_XOR = 6, ALU_CMP = 7 };

/* Group-2 shifts and rotates (the /digit of 0xC1/0xD3). */
enum x86_shift { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5,
		 SH_SAR = 7 };

/* Bit-test operations (0F A3/AB/B3/BB with a register offset, 0F BA /4-7
 * with an immediate). */
enum x86_bt { BT_BT = 4, BT_BTS = 5, BT_BTR = 6, BT_BTC = 7 };

/* A memory operand [base + index * scale + disp]; index X_NOREG for none,
 * scale 1, 2, 4 or 8.  base must not be X_NOREG (no RIP/absolute forms). */
struct x86_mem {
	int8_t base, index;
	uint8_t scale;
	int32_t disp;
};

static inline struct x86_mem x86_m(int base, int32_t disp)
{
	return (struct x86_mem){ .base = (int8_t)base, .index = X_NOREG,
				 .scale = 1, .disp = disp };
}

static inline struct x86_mem x86_mi(int base, int index, unsigned scale,
				    int32_t disp)
{
	return (struct x86_mem){ .base = (int8_t)base, .index = (int8_t)index,
				 .scale = (uint8_t)scale, .disp = disp };
}

/* The encoder: buf[0..cap), len bytes written so far. */
struct x86 {
	uint8_t *buf;
	size_t len, cap;
	bool full;     /* some instruction did not fit; the rest is garbage */
};

/* Start encoding into buf (cap bytes, caller-owned). */
void x86_init(struct x86 *a, uint8_t *buf, size_t cap);

/* ---- moves ---- */
void x86_mov_rr(struct x86 *a, bool w, int dst, int src);
/* dst = imm with the shortest encoding (xor, mov r32, sign-extended
 * imm32 or a full imm64). */
void x86_mov_ri(struct x86 *a, int dst, uint64_t imm);
/* Load: size 8 (mov r64), 4 (mov r32, zero-extending). */
void x86_load(struct x86 *a, unsigned size, int dst, struct x86_mem m);
/* Store the low size (1, 2, 4, 8) bytes of src. */
void x86_store(struct x86 *a, unsigned size, struct x86_mem m, int src);
/* Store a sign-extended imm32 as size (4 or 8) bytes. */
void x86_store_i(struct x86 *a, unsigned size, struct x86_mem m,
		 int32_t imm);
/* Zero/sign-extend size (1, 2; movsx also 4 = movsxd) bytes of a register
 * or memory into a 64-bit register. */
void x86_movzx_r(struct x86 *a, unsigned size, int dst, int src);
void x86_movsx_r(struct x86 *a, unsigned size, int dst, int src);
void x86_movzx_m(struct x86 *a, unsigned size, int dst, struct x86_mem m);
void x86_movsx_m(struct x86 *a, unsigned size, int dst, struct x86_mem m);
void x86_lea(struct x86 *a, bool w, int dst, struct x86_mem m);

/* ---- arithmetic ---- */
void x86_alu_rr(struct x86 *a, enum x86_alu op, bool w, int dst, int src);
void x86_alu_ri(struct x86 *a, enum x86_alu op, bool w, int dst,
		int32_t imm);
/* dst op= [m] */
void x86_alu_rm(struct x86 *a, enum x86_alu op, bool w, int dst,
		struct x86_mem m);
/* [m] op= imm (size 8 or 4) */
void x86_alu_mi(struct x86 *a, enum x86_alu op, bool w, struct x86_mem m,
		int32_t imm);
void x86_test_rr(struct x86 *a, bool w, int r1, int r2);
void x86_test_mi(struct x86 *a, bool w, struct x86_mem m, int32_t imm);
void x86_shift_ri(struct x86 *a, enum x86_shift op, bool w, int dst,
		  unsigned count);
void x86_shift_rcl(struct x86 *a, enum x86_shift op, bool w, int dst);
void x86_imul_rr(struct x86 *a, bool w, int dst, int src);
void x86_imul_rri(struct x86 *a, bool w, int dst, int src, int32_t imm);
/* One-operand forms on rdx:rax (MUL /4, IMUL /5, DIV /6, IDIV /7,
 * NOT /2, NEG /3). */
void x86_mul(struct x86 *a, bool w, int src);
void x86_imul1(struct x86 *a, bool w, int src);
void x86_div(struct x86 *a, bool w, int src);
void x86_idiv(struct x86 *a, bool w, int src);
void x86_not(struct x86 *a, bool w, int dst);
void x86_neg(struct x86 *a, bool w, int dst);
/* cqo (w) / cdq: sign-extend rax/eax into rdx/edx. */
void x86_cqo(struct x86 *a, bool w);
void x86_setcc(struct x86 *a, enum x86_cc cc, int dst8);
void x86_cmov(struct x86 *a, enum x86_cc cc, bool w, int dst, int src);
void x86_bswap(struct x86 *a, bool w, int dst);
void x86_bt_rr(struct x86 *a, enum x86_bt op, bool w, int dst, int bit);
void x86_bt_ri(struct x86 *a, enum x86_bt op, bool w, int dst,
	       unsigned bit);
/* LZCNT/TZCNT/POPCNT: the caller checks CPUID (x86_cpu_has_*). */
void x86_lzcnt(struct x86 *a, bool w, int dst, int src);
void x86_tzcnt(struct x86 *a, bool w, int dst, int src);
void x86_popcnt(struct x86 *a, bool w, int dst, int src);

/* ---- control ---- */
/* Jumps with a 32-bit displacement to be fixed later: return the offset
 * of the rel32 field, to pass to x86_patch. */
size_t x86_jcc(struct x86 *a, enum x86_cc cc);
size_t x86_jmp(struct x86 *a);
/* Point the rel32 field at `at` to code offset `target`. */
void x86_patch(struct x86 *a, size_t at, size_t target);
/* Point it at the current end of code. */
void x86_bind(struct x86 *a, size_t at);
/* mov rax, fn; call rax (clobbers rax). */
void x86_call(struct x86 *a, const void *fn);
/* jmp r (an indirect tail call: FF /4). */
void x86_jmp_r(struct x86 *a, int r);
void x86_push(struct x86 *a, int r);
void x86_pop(struct x86 *a, int r);
void x86_ret(struct x86 *a);
void x86_mfence(struct x86 *a);

/* CPUID feature checks (the instructions above that need one). */
bool x86_cpu_has_lzcnt(void);
bool x86_cpu_has_bmi1(void);     /* tzcnt */
bool x86_cpu_has_popcnt(void);

#endif
