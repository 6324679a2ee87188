/* F and D: arithmetic, all five rounding modes (static rm and frm), exact
 * fflags (NX/UF/OF/DZ/NV, tininess after rounding), NaN boxing (improperly
 * boxed singles read as the canonical NaN; transfers ignore boxing),
 * canonical NaN results, fmin/fmax with sNaN and ±0, fcvt saturation and
 * invalid flags, -0.0, fused multiply-add rounding once, fsgnj* on NaNs
 * (no canonicalisation), fclass of all 10 classes, fmv.x.w sign extension,
 * invalid rounding modes, FS=Off -> illegal instruction, FS -> Dirty.
 *
 * Values are raw bit patterns: singles are written S(bits) (NaN-boxed
 * 64-bit register image), doubles as 64-bit patterns. */
#include "rt.h"

#define S(x) (0xffffffff00000000UL | (u32)(x))

#define NX 1
#define UF 2
#define OF 4
#define DZ 8
#define NV 16

/* single constants */
#define S_0     0x00000000u
#define S_N0    0x80000000u
#define S_1     0x3f800000u
#define S_N1    0xbf800000u
#define S_2     0x40000000u
#define S_3     0x40400000u
#define S_HALF  0x3f000000u
#define S_2_5   0x40200000u
#define S_N2_5  0xc0200000u
#define S_INF   0x7f800000u
#define S_NINF  0xff800000u
#define S_QNAN  0x7fc00000u   /* canonical */
#define S_SNAN  0x7f800001u
#define S_MAX   0x7f7fffffu
#define S_MINN  0x00800000u   /* 2^-126 */
#define S_SUB1  0x00000001u   /* 2^-149 */
/* double constants */
#define D_0     0x0000000000000000UL
#define D_N0    0x8000000000000000UL
#define D_1     0x3ff0000000000000UL
#define D_N1    0xbff0000000000000UL
#define D_2     0x4000000000000000UL
#define D_3     0x4008000000000000UL
#define D_HALF  0x3fe0000000000000UL
#define D_NHALF 0xbfe0000000000000UL
#define D_1_5   0x3ff8000000000000UL
#define D_INF   0x7ff0000000000000UL
#define D_NINF  0xfff0000000000000UL
#define D_QNAN  0x7ff8000000000000UL  /* canonical */
#define D_SNAN  0x7ff0000000000001UL
#define D_MAX   0x7fefffffffffffffUL
#define D_MINN  0x0010000000000000UL
#define D_SUB1  0x0000000000000001UL

/* Run `ins` with ft0 = a, ft1 = b, ft3 = c (64-bit images), a1 = x, after
 * clearing fflags.  FP results are read from ft2, integer ones from a0. */
struct fpres { u64 f, x, fl; };
#define FP(ins, a, b, c, xin) ({ struct fpres _p; __asm__ volatile( \
	"mv a1, %[ix]\n\tli a0, 0x5a5a\n\tfmv.d.x ft0, %[ia]\n\tfmv.d.x ft1, %[ib]\n\t" \
	"fmv.d.x ft3, %[ic]\n\tfmv.d.x ft2, x0\n\tcsrw fflags, x0\n\t" \
	ins "\n\tcsrr %[ofl], fflags\n\tfmv.x.d %[of], ft2\n\tmv %[ox], a0" \
	: [of] "=&r"(_p.f), [ox] "=&r"(_p.x), [ofl] "=&r"(_p.fl) \
	: [ia] "r"((u64)(a)), [ib] "r"((u64)(b)), [ic] "r"((u64)(c)), [ix] "r"((u64)(xin)) \
	: "a0", "a1", "ft0", "ft1", "ft2", "ft3", "memory"); _p; })

static void fpcheck(const char *ins, u64 a, u64 b, u64 got, u64 want,
		    u64 gfl, u64 wfl, int line)
{
	rt_checks++;
	if (got == want && gfl == wfl)
		return;
	rt_check(0, __FILE__, line, ins);
	rt_printf("    in 0x%lx, 0x%lx: got 0x%lx flags 0x%lx, want 0x%lx flags 0x%lx\n",
		  a, b, got, gfl, want, wfl);
}
/* FP result */
#define TF(ins, a, b, want, wfl) do { struct fpres _p = FP(ins, a, b, 0, 0); \
	fpcheck(ins, a, b, _p.f, want, _p.fl, wfl, __LINE__); } while (0)
#define TF3(ins, a, b, c, want, wfl) do { struct fpres _p = FP(ins, a, b, c, 0); \
	fpcheck(ins, a, b, _p.f, want, _p.fl, wfl, __LINE__); } while (0)
/* integer source (a1) -> FP result */
#define TI(ins, x, want, wfl) do { struct fpres _p = FP(ins, 0, 0, 0, x); \
	fpcheck(ins, x, 0, _p.f, want, _p.fl, wfl, __LINE__); } while (0)
/* FP sources -> integer result (a0) */
#define TX(ins, a, b, want, wfl) do { struct fpres _p = FP(ins, a, b, 0, 0); \
	fpcheck(ins, a, b, _p.x, want, _p.fl, wfl, __LINE__); } while (0)

static void set_frm(unsigned rm)
{
	csr_write(frm, rm);
}

static void t_arith(void)
{
	rt_section("basic arithmetic");
	TF("fadd.s ft2, ft0, ft1", S(S_1), S(S_2), S(S_3), 0);
	TF("fsub.s ft2, ft0, ft1", S(S_1), S(S_3), S(0xc0000000), 0);
	TF("fmul.s ft2, ft0, ft1", S(S_3), S(S_N2_5), S(0xc0f00000), 0);   /* -7.5 */
	TF("fdiv.s ft2, ft0, ft1", S(S_3), S(S_2), S(0x3fc00000), 0);      /* 1.5 */
	TF("fsqrt.s ft2, ft0", S(0x40800000), 0, S(S_2), 0);
	TF("fsqrt.s ft2, ft0", S(S_2), 0, S(0x3fb504f3), NX);
	TF("fadd.d ft2, ft0, ft1", D_1, D_2, D_3, 0);
	TF("fsub.d ft2, ft0, ft1", D_1, D_3, 0xc000000000000000UL, 0);
	TF("fmul.d ft2, ft0, ft1", D_3, D_HALF, D_1_5, 0);
	TF("fdiv.d ft2, ft0, ft1", D_3, D_2, D_1_5, 0);
	TF("fsqrt.d ft2, ft0", 0x4010000000000000UL, 0, D_2, 0);
	TF("fsqrt.d ft2, ft0", D_2, 0, 0x3ff6a09e667f3bcdUL, NX);
	/* large exponent differences */
	TF("fadd.d ft2, ft0, ft1", D_1, D_SUB1, D_1, NX);
	TF("fadd.s ft2, ft0, ft1", S(S_MAX), S(S_1), S(S_MAX), NX);
}

static void t_rounding(void)
{
	static const char *rmname[] = { "rne", "rtz", "rdn", "rup", "rmm" };
	/* 1/3 and -1/3 in single: the discarded part is 2/3 ulp */
	static const u32 third[5] = { 0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab };
	static const u32 nthird[5] = { 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab };
	/* 2^24 + 1 and -(2^24 + 1) to single: exact ties */
	static const u32 tie[5] = { 0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001 };
	static const u32 ntie[5] = { 0xcb800000, 0xcb800000, 0xcb800001, 0xcb800000, 0xcb800001 };
	/* 2^24 + 3: tie where even is up */
	static const u32 tie3[5] = { 0x4b800002, 0x4b800001, 0x4b800001, 0x4b800002, 0x4b800002 };
	/* fcvt.w.s of 2.5 / -2.5 */
	static const i64 cv[5] = { 2, 2, 2, 3, 3 };
	static const i64 ncv[5] = { -2, -2, -3, -2, -3 };
	/* 1/3 in double: the discarded part is 1/3 ulp */
	static const u64 dthird[5] = { 0x3fd5555555555555UL, 0x3fd5555555555555UL,
		0x3fd5555555555555UL, 0x3fd5555555555556UL, 0x3fd5555555555555UL };
	/* -0.5 and 0.5 and 1.5 to integer (fcvt.l.d) */
	static const i64 half[5] = { 0, 0, 0, 1, 1 };
	static const i64 nhalf[5] = { 0, 0, -1, 0, -1 };
	static const i64 onehalf[5] = { 2, 1, 1, 2, 2 };
	/* x - x: +0, except -0 when rounding down */
	static const u64 zero[5] = { D_0, D_0, D_N0, D_0, D_0 };

	rt_section("rounding modes: frm (dynamic)");
	for (unsigned rm = 0; rm < 5; rm++) {
		int before = rt_failures;
		set_frm(rm);
		TF("fdiv.s ft2, ft0, ft1", S(S_1), S(S_3), S(third[rm]), NX);
		TF("fdiv.s ft2, ft0, ft1", S(S_N1), S(S_3), S(nthird[rm]), NX);
		TI("fcvt.s.l ft2, a1", (1UL << 24) + 1, S(tie[rm]), NX);
		TI("fcvt.s.l ft2, a1", -((1L << 24) + 1), S(ntie[rm]), NX);
		TI("fcvt.s.w ft2, a1", (1UL << 24) + 3, S(tie3[rm]), NX);
		TX("fcvt.w.s a0, ft0", S(S_2_5), 0, cv[rm], NX);
		TX("fcvt.w.s a0, ft0", S(S_N2_5), 0, ncv[rm], NX);
		TF("fdiv.d ft2, ft0, ft1", D_1, D_3, dthird[rm], NX);
		TX("fcvt.l.d a0, ft0", D_HALF, 0, half[rm], NX);
		TX("fcvt.l.d a0, ft0", D_NHALF, 0, nhalf[rm], NX);
		TX("fcvt.l.d a0, ft0", D_1_5, 0, onehalf[rm], NX);
		TF("fsub.d ft2, ft0, ft1", D_3, D_3, zero[rm], 0);
		TF("fadd.d ft2, ft0, ft1", D_N1, D_1, zero[rm], 0);
		if (rt_failures != before)
			rt_printf("    (frm = %s)\n", rmname[rm]);
	}
	set_frm(0);

	rt_section("rounding modes: static rm");
	/* frm is set to something else each time to show it is ignored */
	set_frm(1);
	TF("fdiv.s ft2, ft0, ft1, rne", S(S_1), S(S_3), S(third[0]), NX);
	TI("fcvt.s.l ft2, a1, rne", -((1L << 24) + 1), S(ntie[0]), NX);
	TX("fcvt.w.s a0, ft0, rne", S(S_N2_5), 0, ncv[0], NX);
	TF("fsub.d ft2, ft0, ft1, rne", D_3, D_3, zero[0], 0);
	set_frm(0);
	TF("fdiv.s ft2, ft0, ft1, rtz", S(S_1), S(S_3), S(third[1]), NX);
	TI("fcvt.s.l ft2, a1, rtz", -((1L << 24) + 1), S(ntie[1]), NX);
	TX("fcvt.w.s a0, ft0, rtz", S(S_N2_5), 0, ncv[1], NX);
	TX("fcvt.l.d a0, ft0, rtz", D_1_5, 0, onehalf[1], NX);
	TF("fdiv.s ft2, ft0, ft1, rdn", S(S_N1), S(S_3), S(nthird[2]), NX);
	TI("fcvt.s.l ft2, a1, rdn", -((1L << 24) + 1), S(ntie[2]), NX);
	TX("fcvt.w.s a0, ft0, rdn", S(S_N2_5), 0, ncv[2], NX);
	TF("fsub.d ft2, ft0, ft1, rdn", D_3, D_3, zero[2], 0);
	TF("fdiv.d ft2, ft0, ft1, rup", D_1, D_3, dthird[3], NX);
	TI("fcvt.s.l ft2, a1, rup", (1UL << 24) + 1, S(tie[3]), NX);
	TX("fcvt.w.s a0, ft0, rup", S(S_N2_5), 0, ncv[3], NX);
	TX("fcvt.l.d a0, ft0, rup", D_NHALF, 0, nhalf[3], NX);
	TF("fdiv.s ft2, ft0, ft1, rmm", S(S_1), S(S_3), S(third[4]), NX);
	TI("fcvt.s.l ft2, a1, rmm", -((1L << 24) + 1), S(ntie[4]), NX);
	TX("fcvt.w.s a0, ft0, rmm", S(S_2_5), 0, cv[4], NX);
	TX("fcvt.l.d a0, ft0, rmm", D_HALF, 0, half[4], NX);
	set_frm(4);
	TX("fcvt.w.s a0, ft0, dyn", S(S_N2_5), 0, ncv[4], NX);
	set_frm(0);

	rt_section("fcsr/frm/fflags");
	csr_write(fcsr, 0xffffffffUL);
	CHECK_EQ(csr_read(fcsr), 0xff);
	CHECK_EQ(csr_read(frm), 7);
	CHECK_EQ(csr_read(fflags), 0x1f);
	csr_write(frm, 0x1a);            /* only 3 bits */
	CHECK_EQ(csr_read(frm), 2);
	CHECK_EQ(csr_read(fcsr), 0x5f);
	csr_write(fflags, 0xe5);         /* only 5 bits */
	CHECK_EQ(csr_read(fflags), 0x05);
	CHECK_EQ(csr_read(fcsr), 0x45);
	CHECK_EQ(csr_swap(fflags, 0), 0x05);
	CHECK_EQ(csr_read(fcsr), 0x40);
	csr_write(fcsr, 0);
	/* flags accumulate */
	{
		u64 fl;
		__asm__ volatile("fmv.w.x ft0, %1\n\tfmv.w.x ft1, %2\n\tfmv.w.x ft3, x0\n\t"
				 "fdiv.s ft2, ft0, ft1\n\tfdiv.s ft2, ft0, ft3\n\tcsrr %0, fflags"
				 : "=r"(fl) : "r"(S_1), "r"(S_3) : "ft0", "ft1", "ft2", "ft3");
		CHECK_EQ(fl, NX | DZ);
		csr_write(fflags, 0);
	}
}

static void t_invalid_rm(void)
{
	u64 pc;
	rt_section("reserved rounding modes");
	/* fadd.s ft2, ft0, ft1 with rm = 5, 6 (reserved) */
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\t.word 0x00105153" : "=r"(pc) :: "ft2");
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x00105153);
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\t.word 0x00106153" : "=r"(pc) :: "ft2");
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x00106153);
	/* dynamic with frm = 5, 6, 7 */
	for (unsigned rm = 5; rm < 8; rm++) {
		set_frm(rm);
		rt_arm();
		__asm__ volatile("lla %0, 1f\n1:\t.word 0x00107153" : "=r"(pc) :: "ft2");
		set_frm(0);
		CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x00107153);
	}
	/* operations that do not round ignore frm */
	set_frm(7);
	rt_arm();
	__asm__ volatile("fsgnj.s ft2, ft0, ft1\n\tfmin.d ft2, ft0, ft1\n\tfeq.s t0, ft0, ft1\n\t"
			 "fmv.x.d t0, ft0\n\tfclass.d t0, ft0" ::: "ft2", "t0");
	set_frm(0);
	CHECK_NOTRAP();
}

static void t_flags(void)
{
	rt_section("overflow");
	TF("fmul.s ft2, ft0, ft1, rne", S(S_MAX), S(S_2), S(S_INF), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rtz", S(S_MAX), S(S_2), S(S_MAX), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rdn", S(S_MAX), S(S_2), S(S_MAX), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rup", S(S_MAX), S(S_2), S(S_INF), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rmm", S(S_MAX), S(S_2), S(S_INF), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rne", S(S_MAX), S(0xc0000000), S(S_NINF), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rtz", S(S_MAX), S(0xc0000000), S(0xff7fffff), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rdn", S(S_MAX), S(0xc0000000), S(S_NINF), OF | NX);
	TF("fmul.s ft2, ft0, ft1, rup", S(S_MAX), S(0xc0000000), S(0xff7fffff), OF | NX);
	TF("fadd.d ft2, ft0, ft1", D_MAX, D_MAX, D_INF, OF | NX);
	TF("fmul.d ft2, ft0, ft1, rtz", D_MAX, D_2, D_MAX, OF | NX);
	/* inf arithmetic is exact: no OF */
	TF("fmul.s ft2, ft0, ft1", S(S_INF), S(S_2), S(S_INF), 0);

	rt_section("underflow");
	/* 2^-100 * 2^-100 = 2^-200: tiny and inexact */
	TF("fmul.s ft2, ft0, ft1, rne", S(0x0d800000), S(0x0d800000), S(S_0), UF | NX);
	TF("fmul.s ft2, ft0, ft1, rup", S(0x0d800000), S(0x0d800000), S(S_SUB1), UF | NX);
	TF("fmul.s ft2, ft0, ft1, rdn", S(0x8d800000), S(0x0d800000), S(0x80000001), UF | NX);
	/* exact subnormal result: no UF */
	TF("fmul.s ft2, ft0, ft1", S(S_MINN), S(S_HALF), S(0x00400000), 0);
	TF("fmul.d ft2, ft0, ft1", D_MINN, D_HALF, 0x0008000000000000UL, 0);
	TF("fsub.s ft2, ft0, ft1", S(0x00800001), S(S_MINN), S(S_SUB1), 0);
	/* inexact subnormal (a tie): UF | NX */
	TF("fmul.s ft2, ft0, ft1, rne", S(0x00800001), S(S_HALF), S(0x00400000), UF | NX);
	TF("fmul.s ft2, ft0, ft1, rup", S(0x00800001), S(S_HALF), S(0x00400001), UF | NX);
	TF("fmul.d ft2, ft0, ft1, rne", 0x0010000000000001UL, D_HALF, 0x0008000000000000UL, UF | NX);
	/* tininess is detected after rounding: 2^-126 - 2^-151 rounds (with
	 * unbounded exponent) to 2^-126, so RNE gives no UF; RTZ gives the
	 * largest subnormal and UF. */
	TF3("fmadd.s ft2, ft0, ft1, ft3, rne", S(0x99800000), S(0x1a000000), S(S_MINN),
	    S(S_MINN), NX);
	TF3("fmadd.s ft2, ft0, ft1, ft3, rtz", S(0x99800000), S(0x1a000000), S(S_MINN),
	    S(0x007fffff), UF | NX);

	rt_section("divide by zero");
	TF("fdiv.s ft2, ft0, ft1", S(S_1), S(S_0), S(S_INF), DZ);
	TF("fdiv.s ft2, ft0, ft1", S(S_N1), S(S_0), S(S_NINF), DZ);
	TF("fdiv.s ft2, ft0, ft1", S(S_1), S(S_N0), S(S_NINF), DZ);
	TF("fdiv.d ft2, ft0, ft1", D_N1, D_N0, D_INF, DZ);
	TF("fdiv.s ft2, ft0, ft1", S(S_INF), S(S_0), S(S_INF), 0);
	TF("fdiv.d ft2, ft0, ft1", D_0, D_0, D_QNAN, NV);
	TF("fdiv.s ft2, ft0, ft1", S(S_SUB1), S(S_0), S(S_INF), DZ);

	rt_section("invalid");
	TF("fsqrt.s ft2, ft0", S(S_N1), 0, S(S_QNAN), NV);
	TF("fsqrt.d ft2, ft0", D_NINF, 0, D_QNAN, NV);
	TF("fsqrt.s ft2, ft0", S(0x80000001), 0, S(S_QNAN), NV);
	TF("fadd.s ft2, ft0, ft1", S(S_INF), S(S_NINF), S(S_QNAN), NV);
	TF("fsub.d ft2, ft0, ft1", D_INF, D_INF, D_QNAN, NV);
	TF("fmul.s ft2, ft0, ft1", S(S_0), S(S_INF), S(S_QNAN), NV);
	TF("fmul.d ft2, ft0, ft1", D_NINF, D_N0, D_QNAN, NV);
	TF("fdiv.s ft2, ft0, ft1", S(S_INF), S(S_NINF), S(S_QNAN), NV);
	/* fused: inf * 0 + qNaN is invalid even with a quiet NaN addend */
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_INF), S(S_0), S(S_QNAN), S(S_QNAN), NV);
	TF3("fmadd.d ft2, ft0, ft1, ft3", D_0, D_NINF, D_QNAN, D_QNAN, NV);
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_INF), S(S_1), S(S_NINF), S(S_QNAN), NV);
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_1), S(S_1), S(S_SNAN), S(S_QNAN), NV);
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_1), S(S_1), S(S_QNAN), S(S_QNAN), 0);
}

static void t_special(void)
{
	rt_section("-0.0");
	TF("fmul.s ft2, ft0, ft1", S(S_0), S(S_N1), S(S_N0), 0);
	TF("fadd.s ft2, ft0, ft1", S(S_N0), S(S_N0), S(S_N0), 0);
	TF("fadd.s ft2, ft0, ft1", S(S_N0), S(S_0), S(S_0), 0);
	TF("fadd.s ft2, ft0, ft1, rdn", S(S_N0), S(S_0), S(S_N0), 0);
	TF("fsqrt.s ft2, ft0", S(S_N0), 0, S(S_N0), 0);
	TF("fsqrt.d ft2, ft0", D_N0, 0, D_N0, 0);
	TF("fcvt.s.d ft2, ft0", D_N0, 0, S(S_N0), 0);
	TF("fcvt.d.s ft2, ft0", S(S_N0), 0, D_N0, 0);
	TX("fcvt.w.s a0, ft0", S(S_N0), 0, 0, 0);
	TX("fcvt.lu.d a0, ft0", D_N0, 0, 0, 0);
	TF("fdiv.d ft2, ft0, ft1", D_N0, D_1, D_N0, 0);
	TX("feq.s a0, ft0, ft1", S(S_N0), S(S_0), 1, 0);
	TX("flt.d a0, ft0, ft1", D_N0, D_0, 0, 0);
	TX("fle.d a0, ft0, ft1", D_0, D_N0, 1, 0);
	TI("fcvt.s.w ft2, a1", 0, S(S_0), 0);
	TI("fcvt.d.l ft2, a1", 0, D_0, 0);

	rt_section("canonical NaN results");
	TF("fadd.s ft2, ft0, ft1", S(S_SNAN), S(S_1), S(S_QNAN), NV);
	TF("fadd.s ft2, ft0, ft1", S(0x7fc12345), S(S_1), S(S_QNAN), 0);
	TF("fadd.s ft2, ft0, ft1", S(S_1), S(0xffc00000), S(S_QNAN), 0);
	TF("fmul.d ft2, ft0, ft1", 0x7ff8000000001234UL, D_1, D_QNAN, 0);
	TF("fmul.d ft2, ft0, ft1", 0xfff0000000001234UL, D_1, D_QNAN, NV);
	TF("fsqrt.s ft2, ft0", S(0xffc54321), 0, S(S_QNAN), 0);
	TF("fdiv.d ft2, ft0, ft1", D_1, 0xfff8000000000001UL, D_QNAN, 0);
	TF("fcvt.s.d ft2, ft0", 0xfff8000000001234UL, 0, S(S_QNAN), 0);
	TF("fcvt.s.d ft2, ft0", D_SNAN, 0, S(S_QNAN), NV);
	TF("fcvt.d.s ft2, ft0", S(0x7fc12345), 0, D_QNAN, 0);
	TF("fcvt.d.s ft2, ft0", S(0xff800001), 0, D_QNAN, NV);
	TF3("fmadd.d ft2, ft0, ft1, ft3", 0x7ff8000000000abcUL, D_1, D_1, D_QNAN, 0);
	TF3("fnmsub.s ft2, ft0, ft1, ft3", S(S_1), S(0xff812345), S(S_1), S(S_QNAN), NV);

	rt_section("fmin/fmax");
	TF("fmin.s ft2, ft0, ft1", S(S_1), S(S_2), S(S_1), 0);
	TF("fmax.s ft2, ft0, ft1", S(S_1), S(S_2), S(S_2), 0);
	TF("fmin.s ft2, ft0, ft1", S(S_N0), S(S_0), S(S_N0), 0);
	TF("fmin.s ft2, ft0, ft1", S(S_0), S(S_N0), S(S_N0), 0);
	TF("fmax.s ft2, ft0, ft1", S(S_N0), S(S_0), S(S_0), 0);
	TF("fmax.s ft2, ft0, ft1", S(S_0), S(S_N0), S(S_0), 0);
	TF("fmin.s ft2, ft0, ft1", S(S_QNAN), S(S_1), S(S_1), 0);
	TF("fmin.s ft2, ft0, ft1", S(S_1), S(0x7fc12345), S(S_1), 0);
	TF("fmax.s ft2, ft0, ft1", S(S_SNAN), S(S_N1), S(S_N1), NV);
	TF("fmin.s ft2, ft0, ft1", S(S_NINF), S(S_SNAN), S(S_NINF), NV);
	TF("fmax.s ft2, ft0, ft1", S(S_SNAN), S(S_QNAN), S(S_QNAN), NV);
	TF("fmin.s ft2, ft0, ft1", S(0x7fc12345), S(0xffc54321), S(S_QNAN), 0);
	TF("fmin.d ft2, ft0, ft1", D_N0, D_0, D_N0, 0);
	TF("fmax.d ft2, ft0, ft1", D_N0, D_0, D_0, 0);
	TF("fmax.d ft2, ft0, ft1", D_0, D_N0, D_0, 0);
	TF("fmin.d ft2, ft0, ft1", D_SNAN, D_1, D_1, NV);
	TF("fmax.d ft2, ft0, ft1", D_QNAN, D_NINF, D_NINF, 0);
	TF("fmax.d ft2, ft0, ft1", D_SNAN, D_SNAN, D_QNAN, NV);
	TF("fmin.d ft2, ft0, ft1", D_N1, D_1, D_N1, 0);
	TF("fmax.d ft2, ft0, ft1", D_INF, D_MAX, D_INF, 0);

	rt_section("compare");
	TX("feq.s a0, ft0, ft1", S(S_1), S(S_1), 1, 0);
	TX("feq.s a0, ft0, ft1", S(S_QNAN), S(S_1), 0, 0);
	TX("feq.s a0, ft0, ft1", S(S_QNAN), S(S_QNAN), 0, 0);
	TX("feq.s a0, ft0, ft1", S(S_SNAN), S(S_1), 0, NV);
	TX("flt.s a0, ft0, ft1", S(S_QNAN), S(S_1), 0, NV);
	TX("fle.s a0, ft0, ft1", S(S_1), S(S_QNAN), 0, NV);
	TX("flt.s a0, ft0, ft1", S(S_N1), S(S_1), 1, 0);
	TX("flt.s a0, ft0, ft1", S(S_1), S(S_1), 0, 0);
	TX("fle.s a0, ft0, ft1", S(S_1), S(S_1), 1, 0);
	TX("flt.s a0, ft0, ft1", S(S_NINF), S(S_INF), 1, 0);
	TX("feq.d a0, ft0, ft1", D_1, D_1, 1, 0);
	TX("feq.d a0, ft0, ft1", D_SNAN, D_SNAN, 0, NV);
	TX("feq.d a0, ft0, ft1", D_QNAN, D_QNAN, 0, 0);
	TX("flt.d a0, ft0, ft1", D_N1, D_SUB1, 1, 0);
	TX("fle.d a0, ft0, ft1", D_QNAN, D_1, 0, NV);
	TX("flt.d a0, ft0, ft1", D_1, D_N1, 0, 0);
}

static void t_fma(void)
{
	rt_section("fmadd family");
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_2), S(S_3), S(S_1), S(0x40e00000), 0);
	TF3("fmsub.s ft2, ft0, ft1, ft3", S(S_2), S(S_3), S(S_1), S(0x40a00000), 0);
	TF3("fnmsub.s ft2, ft0, ft1, ft3", S(S_2), S(S_3), S(S_1), S(0xc0a00000), 0);
	TF3("fnmadd.s ft2, ft0, ft1, ft3", S(S_2), S(S_3), S(S_1), S(0xc0e00000), 0);
	TF3("fmadd.d ft2, ft0, ft1, ft3", D_2, D_3, D_1, 0x401c000000000000UL, 0);
	TF3("fmsub.d ft2, ft0, ft1, ft3", D_2, D_3, D_1, 0x4014000000000000UL, 0);
	TF3("fnmsub.d ft2, ft0, ft1, ft3", D_2, D_3, D_1, 0xc014000000000000UL, 0);
	TF3("fnmadd.d ft2, ft0, ft1, ft3", D_2, D_3, D_1, 0xc01c000000000000UL, 0);

	rt_section("fmadd rounds once");
	/* (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly when fused; fmul then
	 * fadd would give 0 */
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(0x3f800001), S(0x3f7ffffe), S(S_N1), S(0xa8800000), 0);
	TF("fmul.s ft2, ft0, ft1", S(0x3f800001), S(0x3f7ffffe), S(S_1), NX);
	TF3("fnmsub.s ft2, ft0, ft1, ft3", S(0x3f800001), S(0x3f7ffffe), S(S_1), S(0x28800000), 0);
	TF3("fmadd.d ft2, ft0, ft1, ft3", 0x3ff0000000000001UL, 0x3feffffffffffffeUL, D_N1,
	    0xb970000000000000UL, 0);
	TF3("fmsub.d ft2, ft0, ft1, ft3", 0x3ff0000000000001UL, 0x3feffffffffffffeUL, D_1,
	    0xb970000000000000UL, 0);
	TF("fmul.d ft2, ft0, ft1", 0x3ff0000000000001UL, 0x3feffffffffffffeUL, D_1, NX);
	/* exact zero sums: +0, or -0 when rounding down */
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_1), S(S_N1), S(S_1), S(S_0), 0);
	TF3("fmadd.s ft2, ft0, ft1, ft3, rdn", S(S_1), S(S_N1), S(S_1), S(S_N0), 0);
	TF3("fnmadd.d ft2, ft0, ft1, ft3", D_1, D_1, D_N1, D_0, 0);
	/* -(0 * x) - 0 = -0 */
	TF3("fnmadd.s ft2, ft0, ft1, ft3", S(S_0), S(S_1), S(S_0), S(S_N0), 0);
	/* overflow in the product alone is fine if the sum is representable?
	 * no: max * 2 - max = max exactly when fused */
	TF3("fmsub.s ft2, ft0, ft1, ft3", S(S_MAX), S(S_2), S(S_MAX), S(S_MAX), 0);
}

static void t_convert(void)
{
	rt_section("fcvt to int: saturation");
	TX("fcvt.w.s a0, ft0", S(S_QNAN), 0, 0x7fffffffUL, NV);
	TX("fcvt.w.s a0, ft0", S(0xffc00000), 0, 0x7fffffffUL, NV);  /* -NaN too */
	TX("fcvt.w.s a0, ft0", S(S_INF), 0, 0x7fffffffUL, NV);
	TX("fcvt.w.s a0, ft0", S(S_NINF), 0, 0xffffffff80000000UL, NV);
	TX("fcvt.w.s a0, ft0", S(0x4f000000), 0, 0x7fffffffUL, NV);  /* 2^31 */
	TX("fcvt.w.s a0, ft0", S(0xcf000000), 0, 0xffffffff80000000UL, 0);
	TX("fcvt.w.s a0, ft0", S(0xcf000001), 0, 0xffffffff80000000UL, NV);
	TX("fcvt.w.s a0, ft0", S(S_SUB1), 0, 0, NX);
	TX("fcvt.wu.s a0, ft0", S(S_N1), 0, 0, NV);
	TX("fcvt.wu.s a0, ft0, rtz", S(0xbf333333), 0, 0, NX);        /* -0.7 -> -0 */
	TX("fcvt.wu.s a0, ft0, rne", S(0xbf333333), 0, 0, NV);        /* -0.7 -> -1 */
	TX("fcvt.wu.s a0, ft0, rne", S(0xbf000000), 0, 0, NX);        /* -0.5 -> -0 */
	TX("fcvt.wu.s a0, ft0", S(S_QNAN), 0, 0xffffffffffffffffUL, NV);
	TX("fcvt.wu.s a0, ft0", S(S_INF), 0, 0xffffffffffffffffUL, NV);
	TX("fcvt.wu.s a0, ft0", S(S_NINF), 0, 0, NV);
	TX("fcvt.wu.s a0, ft0", S(0x4f800000), 0, 0xffffffffffffffffUL, NV); /* 2^32 */
	TX("fcvt.wu.s a0, ft0", S(0x4f7fffff), 0, 0xffffffffffffff00UL, 0);  /* sign-extended */
	TX("fcvt.l.s a0, ft0", S(S_QNAN), 0, 0x7fffffffffffffffUL, NV);
	TX("fcvt.l.s a0, ft0", S(S_NINF), 0, 0x8000000000000000UL, NV);
	TX("fcvt.l.s a0, ft0", S(0x5f000000), 0, 0x7fffffffffffffffUL, NV);  /* 2^63 */
	TX("fcvt.l.s a0, ft0", S(0xdf000000), 0, 0x8000000000000000UL, 0);
	TX("fcvt.lu.s a0, ft0", S(S_QNAN), 0, 0xffffffffffffffffUL, NV);
	TX("fcvt.lu.s a0, ft0", S(S_N1), 0, 0, NV);
	TX("fcvt.lu.s a0, ft0", S(0x5f800000), 0, 0xffffffffffffffffUL, NV); /* 2^64 */
	TX("fcvt.lu.s a0, ft0", S(S_N0), 0, 0, 0);
	TX("fcvt.lu.s a0, ft0", S(0x5f7fffff), 0, 0xffffff0000000000UL, 0);
	TX("fcvt.w.d a0, ft0, rtz", 0x41dfffffffe00000UL, 0, 0x7fffffffUL, NX);  /* 2147483647.5 */
	TX("fcvt.w.d a0, ft0, rne", 0x41dfffffffe00000UL, 0, 0x7fffffffUL, NV);
	TX("fcvt.w.d a0, ft0, rne", 0xc1e0000000100000UL, 0, 0xffffffff80000000UL, NX); /* -2147483648.5 */
	TX("fcvt.w.d a0, ft0, rdn", 0xc1e0000000100000UL, 0, 0xffffffff80000000UL, NV);
	TX("fcvt.w.d a0, ft0", D_QNAN, 0, 0x7fffffffUL, NV);
	TX("fcvt.w.d a0, ft0", D_NINF, 0, 0xffffffff80000000UL, NV);
	TX("fcvt.wu.d a0, ft0, rtz", 0x41effffffff00000UL, 0, 0xffffffffffffffffUL, NX); /* 4294967295.5 */
	TX("fcvt.wu.d a0, ft0, rne", 0x41effffffff00000UL, 0, 0xffffffffffffffffUL, NV);
	TX("fcvt.wu.d a0, ft0", 0x41dfffffffe00000UL, 0, 0xffffffff80000000UL, NX);
	TX("fcvt.wu.d a0, ft0", D_N1, 0, 0, NV);
	TX("fcvt.l.d a0, ft0", D_QNAN, 0, 0x7fffffffffffffffUL, NV);
	TX("fcvt.l.d a0, ft0", D_INF, 0, 0x7fffffffffffffffUL, NV);
	TX("fcvt.l.d a0, ft0", 0x43e0000000000000UL, 0, 0x7fffffffffffffffUL, NV);
	TX("fcvt.l.d a0, ft0", 0xc3e0000000000000UL, 0, 0x8000000000000000UL, 0);
	TX("fcvt.l.d a0, ft0", D_NINF, 0, 0x8000000000000000UL, NV);
	TX("fcvt.lu.d a0, ft0", D_NINF, 0, 0, NV);
	TX("fcvt.lu.d a0, ft0", D_QNAN, 0, 0xffffffffffffffffUL, NV);
	TX("fcvt.lu.d a0, ft0", 0x43f0000000000000UL, 0, 0xffffffffffffffffUL, NV);
	TX("fcvt.lu.d a0, ft0", 0x43efffffffffffffUL, 0, 0xfffffffffffff800UL, 0);
	TX("fcvt.lu.d a0, ft0, rne", D_1_5, 0, 2, NX);

	rt_section("fcvt from int");
	TI("fcvt.s.w ft2, a1", 0x80000000UL, S(0xcf000000), 0);
	TI("fcvt.s.w ft2, a1", 0x100000001UL, S(S_1), 0);          /* low 32 bits */
	TI("fcvt.s.wu ft2, a1", 0xffffffffUL, S(0x4f800000), NX);
	TI("fcvt.s.wu ft2, a1, rtz", 0xffffffffUL, S(0x4f7fffff), NX);
	TI("fcvt.s.wu ft2, a1", 0xffffffff00000003UL, S(0x40400000), 0);
	TI("fcvt.s.l ft2, a1", -1, S(S_N1), 0);
	TI("fcvt.s.lu ft2, a1", -1, S(0x5f800000), NX);
	TI("fcvt.s.lu ft2, a1, rdn", -1, S(0x5f7fffff), NX);
	TI("fcvt.d.w ft2, a1", 0xffffffffUL, D_N1, 0);
	TI("fcvt.d.wu ft2, a1", 0xffffffffUL, 0x41efffffffe00000UL, 0);
	TI("fcvt.d.l ft2, a1", 0x7fffffffffffffffUL, 0x43e0000000000000UL, NX);
	TI("fcvt.d.l ft2, a1", 0x8000000000000000UL, 0xc3e0000000000000UL, 0);
	TI("fcvt.d.lu ft2, a1", -1, 0x43f0000000000000UL, NX);
	TI("fcvt.d.lu ft2, a1, rtz", -1, 0x43efffffffffffffUL, NX);

	rt_section("fcvt.s.d / fcvt.d.s");
	TF("fcvt.d.s ft2, ft0", S(S_1), 0, D_1, 0);
	TF("fcvt.d.s ft2, ft0", S(S_NINF), 0, D_NINF, 0);
	TF("fcvt.d.s ft2, ft0", S(S_SUB1), 0, 0x36a0000000000000UL, 0);
	TF("fcvt.s.d ft2, ft0", 0x3fd5555555555555UL, 0, S(0x3eaaaaab), NX);
	TF("fcvt.s.d ft2, ft0, rtz", 0x3fd5555555555555UL, 0, S(0x3eaaaaaa), NX);
	TF("fcvt.s.d ft2, ft0", D_MAX, 0, S(S_INF), OF | NX);
	TF("fcvt.s.d ft2, ft0, rtz", D_MAX, 0, S(S_MAX), OF | NX);
	TF("fcvt.s.d ft2, ft0", 0x3370000000000000UL, 0, S(S_0), UF | NX);   /* 2^-200 */
	TF("fcvt.s.d ft2, ft0, rup", 0x3370000000000000UL, 0, S(S_SUB1), UF | NX);
	TF("fcvt.s.d ft2, ft0", D_INF, 0, S(S_INF), 0);
}

static u64 tmem[4] __attribute__((aligned(16)));

static void t_boxing(void)
{
	const u64 unboxed = 0x000000003f800000UL;     /* 1.0f without the box */
	const u64 partial = 0xfffffffe3f800000UL;

	rt_section("NaN boxing: results are boxed");
	{
		u64 r;
		u32 w = S_3;
		__asm__ volatile("flw ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(&w) : "ft0");
		CHECK_EQ(r, S(S_3));
		__asm__ volatile("fmv.w.x ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r)
				 : "r"(0x123456783f800000UL) : "ft0");
		CHECK_EQ(r, S(S_1));
		TI("fcvt.s.w ft2, a1", 2, S(S_2), 0);
		TF("fcvt.s.d ft2, ft0", D_1, 0, S(S_1), 0);
		TF("fsgnj.s ft2, ft0, ft1", S(S_1), S(S_N1), S(S_N1), 0);
	}

	rt_section("NaN boxing: unboxed inputs are the canonical NaN");
	TF("fadd.s ft2, ft0, ft1", unboxed, S(S_1), S(S_QNAN), 0);
	TF("fadd.s ft2, ft0, ft1", S(S_1), partial, S(S_QNAN), 0);
	TF("fmul.s ft2, ft0, ft1", unboxed, S(S_1), S(S_QNAN), 0);
	TF("fsqrt.s ft2, ft0", unboxed, 0, S(S_QNAN), 0);
	TF3("fmadd.s ft2, ft0, ft1, ft3", S(S_1), S(S_1), unboxed, S(S_QNAN), 0);
	TF("fmin.s ft2, ft0, ft1", unboxed, S(S_2), S(S_2), 0);
	TF("fmax.s ft2, ft0, ft1", unboxed, partial, S(S_QNAN), 0);
	TF("fcvt.d.s ft2, ft0", unboxed, 0, D_QNAN, 0);
	TX("fcvt.w.s a0, ft0", unboxed, 0, 0x7fffffffUL, NV);
	TX("feq.s a0, ft0, ft1", unboxed, unboxed, 0, 0);
	TX("flt.s a0, ft0, ft1", unboxed, S(S_1), 0, NV);
	TX("fclass.s a0, ft0", unboxed, 0, 1u << 9, 0);
	TX("fclass.s a0, ft0", partial, 0, 1u << 9, 0);
	/* sign injection takes the canonical NaN (positive) as operand */
	TF("fsgnj.s ft2, ft0, ft1", unboxed, S(S_N1), S(0xffc00000), 0);
	TF("fsgnjn.s ft2, ft0, ft1", unboxed, S(S_1), S(0xffc00000), 0);
	TF("fsgnjx.s ft2, ft0, ft1", unboxed, S(S_N1), S(0xffc00000), 0);
	TF("fsgnj.s ft2, ft0, ft1", S(S_N1), unboxed, S(S_1), 0);
	TF("fsgnjn.s ft2, ft0, ft1", S(S_1), unboxed, S(S_N1), 0);
	TF("fsgnjx.s ft2, ft0, ft1", S(S_N1), unboxed, S(S_N1), 0);

	rt_section("NaN boxing: transfers ignore the box");
	TX("fmv.x.w a0, ft0", unboxed, 0, 0x3f800000UL, 0);
	TX("fmv.x.w a0, ft0", 0x0000000080000001UL, 0, 0xffffffff80000001UL, 0);
	{
		u32 w = 0;
		__asm__ volatile("fmv.d.x ft0, %1\n\tfsw ft0, 0(%0)" :: "r"(&w),
				 "r"(0x12345678cafef00dUL) : "ft0", "memory");
		CHECK_EQ(w, 0xcafef00d);
	}

	rt_section("fmv/flw/fsw/fld/fsd keep bits");
	TX("fmv.x.w a0, ft0", S(0x80000000), 0, 0xffffffff80000000UL, 0);
	TX("fmv.x.w a0, ft0", S(0x7fffffff), 0, 0x7fffffffUL, 0);
	TX("fmv.x.w a0, ft0", S(S_SNAN), 0, S_SNAN, 0);
	TX("fmv.x.d a0, ft0", D_SNAN, 0, D_SNAN, 0);
	TI("fmv.d.x ft2, a1", 0xfff0000000000abcUL, 0xfff0000000000abcUL, 0);
	TI("fmv.w.x ft2, a1", 0xff800001UL, S(0xff800001), 0);
	{
		tmem[0] = 0x7ff0000000000123UL;
		tmem[1] = 0x7f800123ff800001UL;
		__asm__ volatile("fld ft0, 0(%0)\n\tfsd ft0, 16(%0)\n\t"
				 "flw ft1, 8(%0)\n\tfsw ft1, 24(%0)\n\tflw ft1, 12(%0)\n\tfsw ft1, 28(%0)"
				 :: "r"(tmem) : "ft0", "ft1", "memory");
		CHECK_EQ(tmem[2], 0x7ff0000000000123UL);
		CHECK_EQ(tmem[3], 0x7f800123ff800001UL);
		CHECK_EQ(csr_read(fflags), 0);
	}
}

static void t_sgnj_class(void)
{
	rt_section("fsgnj on NaNs: no canonicalisation");
	TF("fsgnj.s ft2, ft0, ft1", S(S_SNAN), S(S_N1), S(0xff800001), 0);
	TF("fsgnjn.s ft2, ft0, ft1", S(0x7fc12345), S(S_QNAN), S(0xffc12345), 0);
	TF("fsgnjx.s ft2, ft0, ft1", S(0xffc12345), S(S_N1), S(0x7fc12345), 0);
	TF("fsgnj.s ft2, ft0, ft0", S(0xff800001), 0, S(0xff800001), 0);    /* fmv.s */
	TF("fsgnjx.s ft2, ft0, ft0", S(0xff800001), 0, S(0x7f800001), 0);   /* fabs.s */
	TF("fsgnjn.s ft2, ft0, ft0", S(0x7f800001), 0, S(0xff800001), 0);   /* fneg.s */
	TF("fsgnj.d ft2, ft0, ft1", D_SNAN, D_N1, 0xfff0000000000001UL, 0);
	TF("fsgnjn.d ft2, ft0, ft1", 0xfff8000000000abcUL, D_N1, 0x7ff8000000000abcUL, 0);
	TF("fsgnjx.d ft2, ft0, ft1", 0xfff8000000000abcUL, D_N1, 0x7ff8000000000abcUL, 0);
	TF("fsgnjx.d ft2, ft0, ft1", D_1, D_1, D_1, 0);
	TF("fsgnj.d ft2, ft0, ft1", D_N0, D_0, D_0, 0);

	rt_section("fclass");
	static const u32 sv[] = { S_NINF, S_N1, 0x80000001, S_N0, S_0, S_SUB1, S_1,
				  S_INF, S_SNAN, S_QNAN };
	static const u64 dv[] = { D_NINF, D_N1, 0x8000000000000001UL, D_N0, D_0, D_SUB1,
				  D_1, D_INF, D_SNAN, D_QNAN };
	for (int i = 0; i < 10; i++) {
		TX("fclass.s a0, ft0", S(sv[i]), 0, 1u << i, 0);
		TX("fclass.d a0, ft0", dv[i], 0, 1u << i, 0);
	}
	TX("fclass.s a0, ft0", S(0x807fffff), 0, 1u << 2, 0);
	TX("fclass.s a0, ft0", S(0xff800001), 0, 1u << 8, 0);     /* -sNaN */
	TX("fclass.s a0, ft0", S(0xffc00000), 0, 1u << 9, 0);     /* -qNaN */
	TX("fclass.s a0, ft0", S(0x7fbfffff), 0, 1u << 8, 0);
	TX("fclass.d a0, ft0", 0xfff8000000000000UL, 0, 1u << 9, 0);
	TX("fclass.d a0, ft0", 0x7ff7ffffffffffffUL, 0, 1u << 8, 0);
	TX("fclass.d a0, ft0", D_MAX, 0, 1u << 6, 0);
	TX("fclass.d a0, ft0", 0x000fffffffffffffUL, 0, 1u << 5, 0);
}

/* ---- FS state ---- */

#define ILL(word) ({ u64 _pc; rt_arm(); __asm__ volatile( \
	".option push\n\t.option norvc\n\tlla %0, 1f\n1:\t.word %1\n\t.option pop" \
	: "=&r"(_pc) : "i"(word) : "t0", "ft0", "ft1", "ft2", "memory"); \
	CHECK_TRAP(CAUSE_ILLEGAL, _pc, word); })

static void t_fs(void)
{
	u64 ms;
	static u64 scratch_mem[2];

	rt_section("FS = Off: illegal");
	csr_clear(mstatus, MSTATUS_FS);
	CHECK_EQ(csr_read(mstatus) & (MSTATUS_FS | MSTATUS_SD), 0);
	ILL(0x00107153);   /* fadd.s ft2, ft0, ft1 (dyn) */
	ILL(0x02107153);   /* fadd.d ft2, ft0, ft1 */
	ILL(0xe00002d3);   /* fmv.x.w t0, ft0 */
	ILL(0xf0028053);   /* fmv.w.x ft0, t0 */
	ILL(0x001022f3);   /* csrr t0, fflags */
	ILL(0x002022f3);   /* csrr t0, frm */
	ILL(0x003022f3);   /* csrr t0, fcsr */
	ILL(0x00301073);   /* csrw fcsr, x0 */
	/* loads and stores too: flw ft0, 0(sp) / fsd ft0, 0(sp) */
	ILL(0x00012007);
	ILL(0x00013027);
	/* compressed: c.fldsp ft0, 0(sp) */
	{
		u64 pc;
		rt_arm();
		__asm__ volatile("lla %0, 1f\n1:\t.2byte 0x2002" : "=&r"(pc) :: "ft0", "memory");
		CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x2002);
	}

	rt_section("FS: Initial/Clean -> Dirty");
	csr_set(mstatus, FS_INITIAL);
	CHECK_EQ(csr_read(mstatus) & MSTATUS_FS, FS_INITIAL);
	__asm__ volatile("fmv.w.x ft0, x0\n\tfadd.s ft0, ft0, ft0" ::: "ft0");
	ms = csr_read(mstatus);
	CHECK_EQ(ms & MSTATUS_FS, FS_DIRTY);
	CHECK(ms & MSTATUS_SD);
	CHECK(csr_read(sstatus) & MSTATUS_SD);
	/* Clean + FP register write (fld) -> Dirty */
	csr_clear(mstatus, MSTATUS_FS);
	csr_set(mstatus, FS_CLEAN);
	CHECK_EQ(csr_read(mstatus) & (MSTATUS_FS | MSTATUS_SD), FS_CLEAN);
	__asm__ volatile("fld ft1, 0(%0)" :: "r"(scratch_mem) : "ft1");
	CHECK_EQ(csr_read(mstatus) & MSTATUS_FS, FS_DIRTY);
	/* Clean + fcsr write -> Dirty */
	csr_clear(mstatus, MSTATUS_FS);
	csr_set(mstatus, FS_CLEAN);
	csr_write(fflags, 1);
	CHECK_EQ(csr_read(mstatus) & MSTATUS_FS, FS_DIRTY);
	csr_clear(mstatus, MSTATUS_FS);
	csr_set(mstatus, FS_DIRTY);
	csr_write(fcsr, 0);
}

int main(void)
{
	t_arith();
	t_rounding();
	t_invalid_rm();
	t_flags();
	t_special();
	t_fma();
	t_convert();
	t_boxing();
	t_sgnj_class();
	t_fs();
	return rt_result();
}
