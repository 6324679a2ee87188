/* x86-64 encoder (see x86_emit.h; Intel SDM vol. 2 ch. 2 for the
 * REX/ModRM/SIB rules used below). */
#include "x86_emit.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

void x86_init(struct x86 *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->len = 0;
	a->cap = cap;
	a->full = false;
}

/* Room for n more bytes?  Longest instruction emitted is < 16 bytes, so
 * each encoder reserves 16 up front and writes freely after that. */
static bool room(struct x86 *a)
{
	if (a->full || a->cap - a->len < 16) {
		a->full = true;
		return false;
	}
	return true;
}

static void b(struct x86 *a, uint8_t v)
{
	a->buf[a->len++] = v;
}

static void d32(struct x86 *a, uint32_t v)
{
	memcpy(a->buf + a->len, &v, 4);
	a->len += 4;
}

static void d64(struct x86 *a, uint64_t v)
{
	memcpy(a->buf + a->len, &v, 8);
	a->len += 8;
}

static bool fits8(int64_t v)
{
	return v >= -128 && v <= 127;
}

/* REX for reg (ModRM.reg), index (SIB.index), base (ModRM.rm or
 * SIB.base); `force` for byte registers spl/bpl/sil/dil. */
static void rex(struct x86 *a, bool w, int reg, int index, int base,
		bool force)
{
	uint8_t r = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) |
		    ((index >= 0 && (index & 8)) ? 2 : 0) |
		    ((base >= 0 && (base & 8)) ? 1 : 0);
	if (r != 0x40 || force)
		b(a, r);
}

static void modrm_rr(struct x86 *a, int reg, int rm)
{
	b(a, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* ModRM (+SIB, +disp) for a memory operand. */
static void modrm_m(struct x86 *a, int reg, struct x86_mem m)
{
	int base = m.base & 7;
	unsigned mod;
	if (m.disp == 0 && base != X_RBP)      /* rbp/r13 need a disp */
		mod = 0;
	else if (fits8(m.disp))
		mod = 1;
	else
		mod = 2;
	if (m.index != X_NOREG || base == X_RSP) {  /* rsp/r12 need a SIB */
		unsigned ss = m.scale == 8 ? 3 : m.scale == 4 ? 2 :
			      m.scale == 2 ? 1 : 0;
		unsigned idx = m.index == X_NOREG ? 4 : (unsigned)(m.index & 7);
		b(a, (uint8_t)(mod << 6 | (reg & 7) << 3 | 4));
		b(a, (uint8_t)(ss << 6 | idx << 3 | base));
	} else {
		b(a, (uint8_t)(mod << 6 | (reg & 7) << 3 | base));
	}
	if (mod == 1)
		b(a, (uint8_t)(int8_t)m.disp);
	else if (mod == 2)
		d32(a, (uint32_t)m.disp);
}

/* op r, r/m (register form): opcode bytes op[0..n). */
static void op_rr(struct x86 *a, bool w, const uint8_t *op, unsigned n,
		  int reg, int rm, bool byte_regs)
{
	if (!room(a))
		return;
	bool force = byte_regs && ((reg >= 4 && reg < 8) || (rm >= 4 && rm < 8));
	rex(a, w, reg, -1, rm, force);
	for (unsigned i = 0; i < n; i++)
		b(a, op[i]);
	modrm_rr(a, reg, rm);
}

static void op_rm(struct x86 *a, bool w, const uint8_t *op, unsigned n,
		  int reg, struct x86_mem m, bool byte_reg)
{
	if (!room(a))
		return;
	bool force = byte_reg && reg >= 4 && reg < 8;
	rex(a, w, reg, m.index, m.base, force);
	for (unsigned i = 0; i < n; i++)
		b(a, op[i]);
	modrm_m(a, reg, m);
}

void x86_mov_rr(struct x86 *a, bool w, int dst, int src)
{
	static const uint8_t op[] = { 0x8b };
	op_rr(a, w, op, 1, dst, src, false);
}

void x86_mov_ri(struct x86 *a, int dst, uint64_t imm)
{
	if (imm == 0) {
		x86_alu_rr(a, ALU_XOR, false, dst, dst);
		return;
	}
	if (!room(a))
		return;
	if (imm <= 0xffffffffULL) {            /* mov r32, imm32 */
		rex(a, false, 0, -1, dst, false);
		b(a, (uint8_t)(0xb8 | (dst & 7)));
		d32(a, (uint32_t)imm);
	} else if ((int64_t)imm == (int64_t)(int32_t)imm) {
		rex(a, true, 0, -1, dst, false);   /* mov r/m64, simm32 */
		b(a, 0xc7);
		modrm_rr(a, 0, dst);
		d32(a, (uint32_t)imm);
	} else {
		rex(a, true, 0, -1, dst, false);   /* movabs */
		b(a, (uint8_t)(0xb8 | (dst & 7)));
		d64(a, imm);
	}
}

void x86_load(struct x86 *a, unsigned size, int dst, struct x86_mem m)
{
	static const uint8_t op[] = { 0x8b };
	op_rm(a, size == 8, op, 1, dst, m, false);
}

void x86_store(struct x86 *a, unsigned size, struct x86_mem m, int src)
{
	static const uint8_t op8[] = { 0x88 }, op[] = { 0x89 };
	if (size == 1) {
		op_rm(a, false, op8, 1, src, m, true);
		return;
	}
	if (size == 2) {
		if (!room(a))
			return;
		b(a, 0x66);
	}
	op_rm(a, size == 8, op, 1, src, m, false);
}

void x86_store_i(struct x86 *a, unsigned size, struct x86_mem m,
		 int32_t imm)
{
	static const uint8_t op[] = { 0xc7 };
	op_rm(a, size == 8, op, 1, 0, m, false);
	if (!a->full)
		d32(a, (uint32_t)imm);
}

void x86_movzx_r(struct x86 *a, unsigned size, int dst, int src)
{
	static const uint8_t o8[] = { 0x0f, 0xb6 }, o16[] = { 0x0f, 0xb7 };
	op_rr(a, false, size == 1 ? o8 : o16, 2, dst, src, size == 1);
}

void x86_movsx_r(struct x86 *a, unsigned size, int dst, int src)
{
	static const uint8_t o8[] = { 0x0f, 0xbe }, o16[] = { 0x0f, 0xbf },
			     o32[] = { 0x63 };
	if (size == 4)
		op_rr(a, true, o32, 1, dst, src, false);
	else
		op_rr(a, true, size == 1 ? o8 : o16, 2, dst, src, size == 1);
}

void x86_movzx_m(struct x86 *a, unsigned size, int dst, struct x86_mem m)
{
	static const uint8_t o8[] = { 0x0f, 0xb6 }, o16[] = { 0x0f, 0xb7 };
	op_rm(a, false, size == 1 ? o8 : o16, 2, dst, m, false);
}

void x86_movsx_m(struct x86 *a, unsigned size, int dst, struct x86_mem m)
{
	static const uint8_t o8[] = { 0x0f, 0xbe }, o16[] = { 0x0f, 0xbf },
			     o32[] = { 0x63 };
	if (size == 4)
		op_rm(a, true, o32, 1, dst, m, false);
	else
		op_rm(a, true, size == 1 ? o8 : o16, 2, dst, m, false);
}

void x86_lea(struct x86 *a, bool w, int dst, struct x86_mem m)
{
	static const uint8_t op[] = { 0x8d };
	op_rm(a, w, op, 1, dst, m, false);
}

void x86_alu_rr(struct x86 *a, enum x86_alu op, bool w, int dst, int src)
{
	uint8_t o = (uint8_t)(op << 3 | 3);   /* op r, r/m */
	op_rr(a, w, &o, 1, dst, src, false);
}

void x86_alu_ri(struct x86 *a, enum x86_alu op, bool w, int dst,
		int32_t imm)
{
	if (!room(a))
		return;
	rex(a, w, 0, -1, dst, false);
	if (fits8(imm)) {
		b(a, 0x83);
		modrm_rr(a, op, dst);
		b(a, (uint8_t)(int8_t)imm);
	} else {
		b(a, 0x81);
		modrm_rr(a, op, dst);
		d32(a, (uint32_t)imm);
	}
}

void x86_alu_rm(struct x86 *a, enum x86_alu op, bool w, int dst,
		struct x86_mem m)
{
	uint8_t o = (uint8_t)(op << 3 | 3);
	op_rm(a, w, &o, 1, dst, m, false);
}

void x86_alu_mi(struct x86 *a, enum x86_alu op, bool w, struct x86_mem m,
		int32_t imm)
{
	uint8_t o = fits8(imm) ? 0x83 : 0x81;
	op_rm(a, w, &o, 1, op, m, false);
	if (a->full)
		return;
	if (fits8(imm))
		b(a, (uint8_t)(int8_t)imm);
	else
		d32(a, (uint32_t)imm);
}

void x86_test_rr(struct x86 *a, bool w, int r1, int r2)
{
	static const uint8_t op[] = { 0x85 };
	op_rr(a, w, op, 1, r2, r1, false);
}

void x86_test_mi(struct x86 *a, bool w, struct x86_mem m, int32_t imm)
{
	static const uint8_t op[] = { 0xf7 };
	op_rm(a, w, op, 1, 0, m, false);
	if (!a->full)
		d32(a, (uint32_t)imm);
}

void x86_shift_ri(struct x86 *a, enum x86_shift op, bool w, int dst,
		  unsigned count)
{
	static const uint8_t o[] = { 0xc1 };
	op_rr(a, w, o, 1, op, dst, false);
	if (!a->full)
		b(a, (uint8_t)count);
}

void x86_shift_rcl(struct x86 *a, enum x86_shift op, bool w, int dst)
{
	static const uint8_t o[] = { 0xd3 };
	op_rr(a, w, o, 1, op, dst, false);
}

void x86_imul_rr(struct x86 *a, bool w, int dst, int src)
{
	static const uint8_t o[] = { 0x0f, 0xaf };
	op_rr(a, w, o, 2, dst, src, false);
}

void x86_imul_rri(struct x86 *a, bool w, int dst, int src, int32_t imm)
{
	static const uint8_t o[] = { 0x69 };
	op_rr(a, w, o, 1, dst, src, false);
	if (!a->full)
		d32(a, (uint32_t)imm);
}

static void grp3(struct x86 *a, unsigned digit, bool w, int r)
{
	static const uint8_t o[] = { 0xf7 };
	op_rr(a, w, o, 1, (int)digit, r, false);
}

void x86_mul(struct x86 *a, bool w, int src) { grp3(a, 4, w, src); }
void x86_imul1(struct x86 *a, bool w, int src) { grp3(a, 5, w, src); }
void x86_div(struct x86 *a, bool w, int src) { grp3(a, 6, w, src); }
void x86_idiv(struct x86 *a, bool w, int src) { grp3(a, 7, w, src); }
void x86_not(struct x86 *a, bool w, int dst) { grp3(a, 2, w, dst); }
void x86_neg(struct x86 *a, bool w, int dst) { grp3(a, 3, w, dst); }

void x86_cqo(struct x86 *a, bool w)
{
	if (!room(a))
		return;
	if (w)
		b(a, 0x48);
	b(a, 0x99);
}

void x86_setcc(struct x86 *a, enum x86_cc cc, int dst8)
{
	uint8_t o[] = { 0x0f, (uint8_t)(0x90 | cc) };
	op_rr(a, false, o, 2, 0, dst8, true);
}

void x86_cmov(struct x86 *a, enum x86_cc cc, bool w, int dst, int src)
{
	uint8_t o[] = { 0x0f, (uint8_t)(0x40 | cc) };
	op_rr(a, w, o, 2, dst, src, false);
}

void x86_bswap(struct x86 *a, bool w, int dst)
{
	if (!room(a))
		return;
	rex(a, w, 0, -1, dst, false);
	b(a, 0x0f);
	b(a, (uint8_t)(0xc8 | (dst & 7)));
}

void x86_bt_rr(struct x86 *a, enum x86_bt op, bool w, int dst, int bit)
{
	static const uint8_t code[8] = { [BT_BT] = 0xa3, [BT_BTS] = 0xab,
					 [BT_BTR] = 0xb3, [BT_BTC] = 0xbb };
	uint8_t o[] = { 0x0f, code[op] };
	op_rr(a, w, o, 2, bit, dst, false);
}

void x86_bt_ri(struct x86 *a, enum x86_bt op, bool w, int dst,
	       unsigned bit)
{
	static const uint8_t o[] = { 0x0f, 0xba };
	op_rr(a, w, o, 2, op, dst, false);
	if (!a->full)
		b(a, (uint8_t)bit);
}

/* F3 (REX) 0F xx /r */
static void f3op(struct x86 *a, uint8_t code, bool w, int dst, int src)
{
	if (!room(a))
		return;
	b(a, 0xf3);
	uint8_t o[] = { 0x0f, code };
	op_rr(a, w, o, 2, dst, src, false);
}

void x86_lzcnt(struct x86 *a, bool w, int dst, int src)
{
	f3op(a, 0xbd, w, dst, src);
}

void x86_tzcnt(struct x86 *a, bool w, int dst, int src)
{
	f3op(a, 0xbc, w, dst, src);
}

void x86_popcnt(struct x86 *a, bool w, int dst, int src)
{
	f3op(a, 0xb8, w, dst, src);
}

size_t x86_jcc(struct x86 *a, enum x86_cc cc)
{
	if (!room(a))
		return 0;
	b(a, 0x0f);
	b(a, (uint8_t)(0x80 | cc));
	d32(a, 0);
	return a->len - 4;
}

size_t x86_jmp(struct x86 *a)
{
	if (!room(a))
		return 0;
	b(a, 0xe9);
	d32(a, 0);
	return a->len - 4;
}

void x86_patch(struct x86 *a, size_t at, size_t target)
{
	if (a->full)
		return;
	int32_t rel = (int32_t)((int64_t)target - (int64_t)(at + 4));
	memcpy(a->buf + at, &rel, 4);
}

void x86_bind(struct x86 *a, size_t at)
{
	x86_patch(a, at, a->len);
}

void x86_call(struct x86 *a, const void *fn)
{
	x86_mov_ri(a, X_RAX, (uint64_t)(uintptr_t)fn);
	static const uint8_t o[] = { 0xff };
	op_rr(a, false, o, 1, 2, X_RAX, false);
}

void x86_jmp_r(struct x86 *a, int r)
{
	static const uint8_t o[] = { 0xff };
	op_rr(a, false, o, 1, 4, r, false);
}

void x86_push(struct x86 *a, int r)
{
	if (!room(a))
		return;
	rex(a, false, 0, -1, r, false);
	b(a, (uint8_t)(0x50 | (r & 7)));
}

void x86_pop(struct x86 *a, int r)
{
	if (!room(a))
		return;
	rex(a, false, 0, -1, r, false);
	b(a, (uint8_t)(0x58 | (r & 7)));
}

void x86_ret(struct x86 *a)
{
	if (room(a))
		b(a, 0xc3);
}

void x86_mfence(struct x86 *a)
{
	if (!room(a))
		return;
	b(a, 0x0f);
	b(a, 0xae);
	b(a, 0xf0);
}

bool x86_cpu_has_lzcnt(void)
{
#if defined(__x86_64__)
	unsigned eax, ebx, ecx, edx;
	return __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) &&
	       (ecx & (1u << 5));
#else
	return false;
#endif
}

bool x86_cpu_has_bmi1(void)
{
#if defined(__x86_64__)
	unsigned eax, ebx, ecx, edx;
	return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) &&
	       (ebx & (1u << 3));
#else
	return false;
#endif
}

bool x86_cpu_has_popcnt(void)
{
#if defined(__x86_64__)
	unsigned eax, ebx, ecx, edx;
	return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 23));
#else
	return false;
#endif
}
