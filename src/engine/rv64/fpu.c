/* RISC-V F/D arithmetic (see fpu.h) on an x86-64 host.
 *
 * Design: three paths that produce identical bits and flags.
 *
 *  - Fast integer paths for add, sub, mul, div and f64->f32 when the
 *    operands are normal and the result is normal before and after
 *    rounding (the usual case: only NX can then be raised).  A few integer
 *    instructions, any of the five rounding modes.  On the development
 *    host (AMD EPYC) they take 3-9 ns per operation, where a trip through
 *    MXCSR costs about 12 ns, most of it the two stmxcsr.
 *
 *  - SSE hardware for sqrt and fused multiply-add (FMA3, when the CPU has
 *    it) under RNE/RTZ/RDN/RUP, where integer code is slower than that
 *    round trip.  One asm statement saves MXCSR, loads a control word
 *    that selects the rounding mode, masks every exception and clears the
 *    sticky flags, runs the instruction, reads the flags and restores
 *    MXCSR.  Being one statement, the compiler cannot move the operation
 *    out of the window, no special compiler flags (-frounding-math etc.)
 *    are needed, and host rounding mode, masks and sticky flags are as
 *    they were.  SSE, like RISC-V, detects tininess after rounding and,
 *    with exceptions masked, raises UE only for tiny *and* inexact
 *    results; the unit tests pin this down on the boundary cases.  What
 *    differs is fixed up: NaN results become the canonical NaN, the x86-
 *    only DE flag is dropped, and an FMA with a NaN operand is decided in
 *    software because x86 does not signal invalid for inf*0+qNaN, which
 *    RISC-V requires.
 *
 *  - General software, written from IEEE 754-2008: operands unpacked to a
 *    normalized 64-bit significand, computed exactly with 128-bit
 *    intermediates plus a sticky bit, rounded once by round_pack().  It
 *    handles everything the other two do not: special and subnormal
 *    operands, overflow and underflow, RMM for sqrt/fma (x86 has no
 *    ties-away mode), FMA on hosts without FMA3.  Comparisons, min/max,
 *    classify and the integer conversions are plain integer code too.
 *    rv_fpu_soft() exposes this path for any rounding mode so the unit
 *    test can check the other two against it.
 */
#include "fpu.h"

#include <string.h>

typedef unsigned __int128 u128;

/* Passed by value into inline helpers so that each use is specialised to
 * constant widths. */
struct fmt {
	int p;      /* precision, hidden bit included */
	int emin;   /* exponent of the smallest normal */
	int emax;   /* exponent of the largest finite; also the bias */
	int ebits;  /* exponent field width */
};
#define FMT32 ((struct fmt){ 24, -126, 127, 8 })
#define FMT64 ((struct fmt){ 53, -1022, 1023, 11 })

#define SIGN32 0x80000000u
#define SIGN64 0x8000000000000000ull
#define CNAN32 0x7fc00000u
#define CNAN64 0x7ff8000000000000ull

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline uint64_t f_sign(struct fmt f)
{
	return 1ull << (f.p - 1 + f.ebits);
}

static inline uint64_t f_inf(struct fmt f)
{
	return ((1ull << f.ebits) - 1) << (f.p - 1);
}
static inline uint64_t f_cnan(struct fmt f)
{
	return f_inf(f) | 1ull << (f.p - 2);
}

static inline int f_isnan(struct fmt f, uint64_t x)
{
	return (x & ~f_sign(f)) > f_inf(f);
}

static inline int f_issnan(struct fmt f, uint64_t x)
{
	return f_isnan(f, x) && !(x & 1ull << (f.p - 2));
}

/* ---------------------------------------------------------------------
 * General software path
 * ------------------------------------------------------------------- */

enum { K_ZERO, K_FIN, K_INF, K_QNAN, K_SNAN };

/* A finite nonzero value is m * 2^(e-63) with bit 63 of m set, so e is
 * the exponent of the leading bit whether the input was normal or not. */
struct unp {
	int k, s, e;
	uint64_t m;
};

static inline struct unp unpack(struct fmt f, uint64_t x)
{
	struct unp u = { 0, 0, 0, 0 };
	int fb = f.p - 1;
	uint64_t emask = (1ull << f.ebits) - 1;
	uint64_t ex = (x >> fb) & emask;
	uint64_t fr = x & ((1ull << fb) - 1);

	u.s = (x >> (fb + f.ebits)) & 1;
	if (ex == emask) {
		u.k = !fr ? K_INF : (fr >> (fb - 1)) & 1 ? K_QNAN : K_SNAN;
	} else if (ex == 0) {
		if (fr) {
			int lz = __builtin_clzll(fr);
			u.k = K_FIN;
			u.m = fr << lz;
			u.e = f.emin - fb + 63 - lz;
		}
	} else {
		u.k = K_FIN;
		u.m = (fr | 1ull << fb) << (63 - fb);
		u.e = (int)ex - f.emax;
	}
	return u;
}

/* rem is what lies below the kept bits, half is the weight of half an ulp
 * of kept on the same scale. */
static inline int round_up(int rm, int s, uint64_t kept, uint64_t rem,
			   uint64_t half)
{
	/* bitwise, not short-circuit: rem is data, and a mispredicted
	 * branch costs more than the whole rounding */
	switch (rm) {
	case RV_RM_RNE: return (rem > half) | ((rem == half) & (int)(kept & 1));
	case RV_RM_RDN: return (rem != 0) & s;
	case RV_RM_RUP: return (rem != 0) & !s;
	case RV_RM_RMM: return rem >= half;
	default:        return 0;
	}
}

static inline uint64_t overflow_result(struct fmt f, int s, int rm)
{
	int to_inf = rm == RV_RM_RNE || rm == RV_RM_RMM ||
		     (rm == RV_RM_RDN && s) || (rm == RV_RM_RUP && !s);
	return (s ? f_sign(f) : 0) | (to_inf ? f_inf(f) : f_inf(f) - 1);
}

/* Round s * m * 2^(e-63) (bit 63 of m set; nonzero bits lost earlier must
 * have been ORed into bit 0) to format f.  Every caller keeps at least 11
 * bits below the rounding position, so a sticky bit in bit 0 cannot
 * change a rounding decision. */
static uint64_t round_pack(struct fmt f, int s, int e, uint64_t m, int rm,
			   uint32_t *ff)
{
	int sh = 64 - f.p;
	int tiny = 0;
	uint64_t kept, rem, half;
	uint64_t sign = s ? f_sign(f) : 0;

	if (e < f.emin) {
		/* IEEE 754-2008 7.5, RISC-V: tininess after rounding, i.e.
		 * the value rounded to p bits with an unbounded exponent is
		 * still below 2^emin.  Only e == emin-1 can round up to it. */
		tiny = 1;
		if (e == f.emin - 1) {
			kept = m >> sh;
			rem = m & ((1ull << sh) - 1);
			half = 1ull << (sh - 1);
			kept += round_up(rm, s, kept, rem, half);
			tiny = kept != 1ull << f.p;
		}
		sh += f.emin - e;
	}
	if (sh < 64) {
		kept = m >> sh;
		rem = m & ((1ull << sh) - 1);
		half = 1ull << (sh - 1);
	} else {
		/* Everything is below the last subnormal bit; beyond 64 the
		 * value is nonzero but under half an ulp, which rem = 1
		 * against half = 2^63 represents. */
		kept = 0;
		rem = sh == 64 ? m : 1;
		half = 1ull << 63;
	}
	kept += round_up(rm, s, kept, rem, half);
	if (rem)
		*ff |= RV_FF_NX | (tiny ? RV_FF_UF : 0);
	/* a subnormal that rounded up to 2^(p-1) encodes the min normal */
	if (e < f.emin)
		return sign | kept;
	if (kept >> f.p) {
		kept >>= 1;
		e++;
	}
	if (e > f.emax) {
		*ff |= RV_FF_OF | RV_FF_NX;
		return overflow_result(f, s, rm);
	}
	/* adding kept carries its hidden bit into the exponent field */
	return sign | (((uint64_t)(e + f.emax - 1) << (f.p - 1)) + kept);
}

/* r (nonzero) * 2^lsbexp -> leading-bit exponent and a 64-bit
 * significand with the discarded bits jammed into bit 0. */
static inline void norm128(u128 r, int lsbexp, int *e, uint64_t *m)
{
	uint64_t hi = (uint64_t)(r >> 64), lo = (uint64_t)r;

	if (hi) {
		int k = 127 - __builtin_clzll(hi);
		int sh = k - 63;
		*m = (uint64_t)(r >> sh) | ((r << (128 - sh)) != 0);
		*e = lsbexp + k;
	} else {
		int k = 63 - __builtin_clzll(lo);
		*m = lo << (63 - k);
		*e = lsbexp + k;
	}
}

static inline uint64_t nan_result(struct fmt f, int invalid, uint32_t *ff)
{
	if (invalid)
		*ff |= RV_FF_NV;
	return f_cnan(f);
}

/* Sum of two nonzero finite values given as x * 2^(e-125), bit 125 of x
 * set.  Two bits of headroom absorb the carry; when the smaller operand
 * is shifted far enough to lose bits, the larger one leaves more than 60
 * guard bits, so jamming the lost bits into bit 0 is exact enough. */
static uint64_t add_core(struct fmt f, int sa, int ea, u128 a, int sb, int eb,
			 u128 b, int rm, uint32_t *ff)
{
	int d, e;
	uint64_t m;
	u128 r;

	if (ea < eb || (ea == eb && a < b)) {
		int ts = sa, te = ea;
		u128 tx = a;
		sa = sb; ea = eb; a = b;
		sb = ts; eb = te; b = tx;
	}
	d = ea - eb;
	if (d >= 126)
		b = 1;
	else if (d)
		b = (b >> d) | ((b << (128 - d)) != 0);
	r = sa == sb ? a + b : a - b;
	if (!r)  /* exact cancellation: +0, or -0 when rounding down */
		return rm == RV_RM_RDN ? f_sign(f) : 0;
	norm128(r, ea - 125, &e, &m);
	return round_pack(f, sa, e, m, rm, ff);
}

static uint64_t soft_add(struct fmt f, uint64_t a, uint64_t b, int rm,
			 uint32_t *ff)
{
	struct unp x = unpack(f, a), y = unpack(f, b);

	if (x.k >= K_QNAN || y.k >= K_QNAN)
		return nan_result(f, x.k == K_SNAN || y.k == K_SNAN, ff);
	if (x.k == K_INF || y.k == K_INF) {
		if (x.k == K_INF && y.k == K_INF && x.s != y.s)
			return nan_result(f, 1, ff);
		return x.k == K_INF ? a : b;
	}
	if (x.k == K_ZERO && y.k == K_ZERO)
		return (x.s == y.s ? x.s : rm == RV_RM_RDN) ? f_sign(f) : 0;
	if (x.k == K_ZERO)
		return b;
	if (y.k == K_ZERO)
		return a;
	return add_core(f, x.s, x.e, (u128)x.m << 62, y.s, y.e,
			(u128)y.m << 62, rm, ff);
}

static uint64_t soft_sub(struct fmt f, uint64_t a, uint64_t b, int rm,
			 uint32_t *ff)
{
	return soft_add(f, a, b ^ f_sign(f), rm, ff);
}

static uint64_t soft_mul(struct fmt f, uint64_t a, uint64_t b, int rm,
			 uint32_t *ff)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	int s = x.s ^ y.s, e;
	uint64_t sign = s ? f_sign(f) : 0, m;

	if (x.k >= K_QNAN || y.k >= K_QNAN)
		return nan_result(f, x.k == K_SNAN || y.k == K_SNAN, ff);
	if (x.k == K_INF || y.k == K_INF) {
		if (x.k == K_ZERO || y.k == K_ZERO)
			return nan_result(f, 1, ff);
		return sign | f_inf(f);
	}
	if (x.k == K_ZERO || y.k == K_ZERO)
		return sign;
	norm128((u128)x.m * y.m, x.e + y.e - 126, &e, &m);
	return round_pack(f, s, e, m, rm, ff);
}

static uint64_t soft_div(struct fmt f, uint64_t a, uint64_t b, int rm,
			 uint32_t *ff)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	int s = x.s ^ y.s, e;
	uint64_t sign = s ? f_sign(f) : 0, m;
	u128 n, q;

	if (x.k >= K_QNAN || y.k >= K_QNAN)
		return nan_result(f, x.k == K_SNAN || y.k == K_SNAN, ff);
	if (x.k == K_INF)
		return y.k == K_INF ? nan_result(f, 1, ff) : sign | f_inf(f);
	if (y.k == K_INF)
		return sign;
	if (y.k == K_ZERO) {
		if (x.k == K_ZERO)
			return nan_result(f, 1, ff);
		*ff |= RV_FF_DZ;
		return sign | f_inf(f);
	}
	if (x.k == K_ZERO)
		return sign;
	/* quotient of the significands with 63 or 64 bits of precision */
	n = (u128)x.m << 64;
	q = n / y.m;
	q |= (n % y.m) != 0;
	norm128(q, x.e - y.e - 64, &e, &m);
	return round_pack(f, s, e, m, rm, ff);
}

/* floor(sqrt(n)), digit by digit; only RMM gets here, so simplicity wins
 * over speed. */
static uint64_t isqrt128(u128 n, int *inexact)
{
	u128 rem = 0, root = 0;

	for (int i = 0; i < 64; i++) {
		u128 t;

		rem = (rem << 2) | (n >> 126);
		n <<= 2;
		root <<= 1;
		t = (root << 1) | 1;
		if (rem >= t) {
			rem -= t;
			root |= 1;
		}
	}
	*inexact = rem != 0;
	return (uint64_t)root;
}

static uint64_t soft_sqrt(struct fmt f, uint64_t a, int rm, uint32_t *ff)
{
	struct unp x = unpack(f, a);
	int le, inexact;
	u128 n;
	uint64_t r;

	if (x.k >= K_QNAN)
		return nan_result(f, x.k == K_SNAN, ff);
	if (x.k == K_ZERO)
		return a;
	if (x.s)
		return nan_result(f, 1, ff);
	if (x.k == K_INF)
		return a;
	/* Scale to n * 2^le with le even; n in [2^126, 2^128) puts the root's
	 * leading bit at bit 63. */
	if (x.e & 1) {
		n = (u128)x.m << 64;
		le = x.e - 127;
	} else {
		n = (u128)x.m << 63;
		le = x.e - 126;
	}
	r = isqrt128(n, &inexact);
	return round_pack(f, 0, le / 2 + 63, r | (uint64_t)inexact, rm, ff);
}

static uint64_t soft_fma(struct fmt f, uint64_t a, uint64_t b, uint64_t c,
			 int rm, uint32_t *ff)
{
	struct unp x = unpack(f, a), y = unpack(f, b), z = unpack(f, c);
	int sp = x.s ^ y.s, k, ep, e;
	int inv_prod = (x.k == K_INF && y.k == K_ZERO) ||
		       (x.k == K_ZERO && y.k == K_INF);
	uint64_t m;
	u128 p;

	/* RISC-V (unlike IEEE's option) signals inf*0 even with a qNaN c. */
	if (x.k >= K_QNAN || y.k >= K_QNAN || z.k >= K_QNAN)
		return nan_result(f, x.k == K_SNAN || y.k == K_SNAN ||
				  z.k == K_SNAN || inv_prod, ff);
	if (inv_prod)
		return nan_result(f, 1, ff);
	if (x.k == K_INF || y.k == K_INF) {
		if (z.k == K_INF && z.s != sp)
			return nan_result(f, 1, ff);
		return (sp ? f_sign(f) : 0) | f_inf(f);
	}
	if (z.k == K_INF)
		return c;
	if (x.k == K_ZERO || y.k == K_ZERO) {
		if (z.k == K_ZERO)
			return (sp == z.s ? sp : rm == RV_RM_RDN) ? f_sign(f)
								  : 0;
		return c;
	}
	/* The exact product has at most 106 significant bits, so moving its
	 * leading bit down to 125 discards only zeros. */
	p = (u128)x.m * y.m;
	k = (p >> 127) ? 127 : 126;
	ep = x.e + y.e - 126 + k;
	p >>= k - 125;
	if (z.k == K_ZERO) {
		norm128(p, ep - 125, &e, &m);
		return round_pack(f, sp, e, m, rm, ff);
	}
	return add_core(f, sp, ep, p, z.s, z.e, (u128)z.m << 62, rm, ff);
}

static uint64_t soft_narrow(uint64_t a, int rm, uint32_t *ff)
{
	struct unp x = unpack(FMT64, a);
	uint64_t sign = x.s ? SIGN32 : 0;

	switch (x.k) {
	case K_QNAN:
	case K_SNAN: return nan_result(FMT32, x.k == K_SNAN, ff);
	case K_INF:  return sign | 0x7f800000u;
	case K_ZERO: return sign;
	default:     return round_pack(FMT32, x.s, x.e, x.m, rm, ff);
	}
}

/* Float to integer of `bits` bits, signed or not, per table 11.4: the
 * result is returned as its 64-bit two's complement pattern; out-of-range
 * and NaN inputs raise NV alone, never NX. */
static inline uint64_t soft_f2i(struct fmt f, uint64_t a, int rm,
				uint32_t *ff, int sgn, int bits)
{
	struct unp x = unpack(f, a);
	uint64_t maxv = sgn ? (1ull << (bits - 1)) - 1
			    : bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t minv = sgn ? -(1ull << (bits - 1)) : 0;
	uint64_t mag, rem = 0;
	int sh;

	if (x.k >= K_QNAN) {
		*ff |= RV_FF_NV;
		return maxv;
	}
	if (x.k == K_ZERO)
		return 0;
	if (x.k == K_INF || x.e > 63)
		goto invalid;
	sh = 63 - x.e;
	if (sh == 0) {
		mag = x.m;
	} else {
		uint64_t half;

		if (sh < 64) {
			mag = x.m >> sh;
			rem = x.m & ((1ull << sh) - 1);
			half = 1ull << (sh - 1);
		} else {
			mag = 0;
			rem = sh == 64 ? x.m : 1;
			half = 1ull << 63;
		}
		mag += round_up(rm, x.s, mag, rem, half);
	}
	if (x.s ? mag > (sgn ? 1ull << (bits - 1) : 0) : mag > maxv)
		goto invalid;
	if (rem)
		*ff |= RV_FF_NX;
	return x.s ? -mag : mag;
invalid:
	*ff |= RV_FF_NV;
	return x.s ? minv : maxv;
}

static inline uint64_t soft_i2f(struct fmt f, int s, uint64_t mag, int rm,
				uint32_t *ff)
{
	int lz;

	if (!mag)
		return 0;
	lz = __builtin_clzll(mag);
	return round_pack(f, s, 63 - lz, mag << lz, rm, ff);
}

/* 32-bit integers always fit a double exactly: no rounding, no flags. */
static inline uint64_t exact_i2f64(int s, uint64_t mag)
{
	int lz;

	if (!mag)
		return 0;
	lz = __builtin_clzll(mag);
	return (s ? SIGN64 : 0) | (uint64_t)(63 - lz + 1023) << 52 |
	       ((mag << lz) << 1) >> 12;
}

/* ---------------------------------------------------------------------
 * Fast paths: operands normal, result normal before and after rounding,
 * so at most NX.  Anything else goes through the general path.
 * ------------------------------------------------------------------- */

static inline int f_normal_exp(struct fmt f, uint64_t x, int *e)
{
	*e = (int)((x >> (f.p - 1)) & ((1u << f.ebits) - 1));
	return (unsigned)(*e - 1) < (1u << f.ebits) - 2;
}

/* Pack a p-bit significand (or 2^p after a rounding carry, which the
 * addition moves into the exponent) with biased exponent e; 0 if the
 * result would not be a finite normal number. */
static inline uint64_t fast_pack(struct fmt f, int e, uint64_t q)
{
	uint64_t r;

	if ((unsigned)(e - 1) >= (1u << f.ebits) - 2)
		return 0;
	r = ((uint64_t)(e - 1) << (f.p - 1)) + q;
	return r < f_inf(f) ? r : 0;
}

static inline uint64_t fast_add(struct fmt f, uint64_t a, uint64_t b, int rm,
				uint32_t *ff)
{
	/* significands sit with their leading bit at 62: one bit of carry
	 * room, 62-(p-1) >= 10 guard bits below the last kept bit */
	const int g = 63 - f.p;
	uint64_t sign = f_sign(f), frac = (1ull << (f.p - 1)) - 1;
	uint64_t mx, my, m, q, rem, r;
	int ea, eb, d, s;

	if (unlikely(!f_normal_exp(f, a, &ea) || !f_normal_exp(f, b, &eb)))
		return soft_add(f, a, b, rm, ff);
	if ((a & ~sign) < (b & ~sign)) {
		uint64_t t = a;
		int te = ea;
		a = b; ea = eb;
		b = t; eb = te;
	}
	s = !!(a & sign);
	d = ea - eb;
	mx = ((a & frac) | (frac + 1)) << g;
	my = ((b & frac) | (frac + 1)) << g;
	if (d)
		my = d < 64 ? (my >> d) | ((my << (64 - d)) != 0) : 1;
	if ((a ^ b) & sign) {
		int lz;

		m = mx - my;
		if (!m)
			return rm == RV_RM_RDN ? sign : 0;
		/* A big cancellation only happens for d <= 1, where nothing
		 * was jammed; with d >= 2 at most one bit is lost. */
		lz = __builtin_clzll(m) - 1;
		m <<= lz;
		ea -= lz;
	} else {
		m = mx + my;
		if (m >> 63) {
			m = (m >> 1) | (m & 1);
			ea++;
		}
	}
	q = m >> g;
	rem = m & ((1ull << g) - 1);
	q += round_up(rm, s, q, rem, 1ull << (g - 1));
	r = fast_pack(f, ea, q);
	if (unlikely(!r))
		return soft_add(f, a, b, rm, ff);
	if (rem)
		*ff |= RV_FF_NX;
	return r | (s ? sign : 0);
}

static inline uint64_t fast_mul(struct fmt f, uint64_t a, uint64_t b, int rm,
				uint32_t *ff)
{
	uint64_t sign = f_sign(f), frac = (1ull << (f.p - 1)) - 1;
	uint64_t q, rem, r;
	int ea, eb, s = !!((a ^ b) & sign), top, sh, e;
	u128 pr;

	if (unlikely(!f_normal_exp(f, a, &ea) || !f_normal_exp(f, b, &eb)))
		return soft_mul(f, a, b, rm, ff);
	/* product of two p-bit significands: 2p-1 or 2p bits */
	pr = (u128)((a & frac) | (frac + 1)) * ((b & frac) | (frac + 1));
	top = (int)(pr >> (2 * f.p - 1));
	sh = f.p - 1 + top;
	q = (uint64_t)(pr >> sh);
	rem = (uint64_t)pr & ((1ull << sh) - 1);
	e = ea + eb - f.emax + top;
	q += round_up(rm, s, q, rem, 1ull << (sh - 1));
	r = fast_pack(f, e, q);
	if (unlikely(!r))
		return soft_mul(f, a, b, rm, ff);
	if (rem)
		*ff |= RV_FF_NX;
	return r | (s ? sign : 0);
}

/* Significand quotient by one integer division: ma/mb lies in (1/2, 2), so
 * with K fraction bits it has K or K+1 bits, at least p+10; the remainder
 * only matters as a sticky bit. */
static inline uint64_t fast_div(struct fmt f, uint64_t a, uint64_t b, int rm,
				uint32_t *ff)
{
	uint64_t sign = f_sign(f), frac = (1ull << (f.p - 1)) - 1;
	uint64_t ma, mb, qt, drem, q, rem, r;
	int ea, eb, s = !!((a ^ b) & sign), k, top, sh, e;

	if (unlikely(!f_normal_exp(f, a, &ea) || !f_normal_exp(f, b, &eb)))
		return soft_div(f, a, b, rm, ff);
	ma = (a & frac) | (frac + 1);
	mb = (b & frac) | (frac + 1);
	if (f.p > 32) {
		/* 116-bit dividend ma*2^63; divq cannot fault because the
		 * high half ma/2 is below mb.  gcc would call __udivti3. */
		k = 63;
		__asm__("divq %[d]"
			: "=a"(qt), "=d"(drem)
			: "a"(ma << 63), "d"(ma >> 1), [d] "rm"(mb)
			: "cc");
	} else {
		k = 40;
		qt = (ma << 40) / mb;
		drem = (ma << 40) % mb;
	}
	top = (int)(qt >> k);
	sh = k - f.p + top;
	q = qt >> sh;
	rem = (qt & ((1ull << sh) - 1)) | (drem != 0);
	e = ea - eb + f.emax - 1 + top;
	q += round_up(rm, s, q, rem, 1ull << (sh - 1));
	r = fast_pack(f, e, q);
	if (unlikely(!r))
		return soft_div(f, a, b, rm, ff);
	if (rem)
		*ff |= RV_FF_NX;
	return r | (s ? sign : 0);
}

static inline uint32_t fast_narrow(uint64_t a, int rm, uint32_t *ff)
{
	int e = (int)((a >> 52) & 0x7ff) - 1023 + 127, s = (int)(a >> 63);
	uint64_t m = (a & ((1ull << 52) - 1)) | 1ull << 52;
	uint64_t q = m >> 29, rem = m & ((1ull << 29) - 1), r;

	if (unlikely((unsigned)(e - 1) >= 254))
		return (uint32_t)soft_narrow(a, rm, ff);
	q += round_up(rm, s, q, rem, 1ull << 28);
	r = fast_pack(FMT32, e, q);
	if (unlikely(!r))
		return (uint32_t)soft_narrow(a, rm, ff);
	if (rem)
		*ff |= RV_FF_NX;
	return (uint32_t)r | (s ? SIGN32 : 0);
}

/* ---------------------------------------------------------------------
 * Hardware path
 * ------------------------------------------------------------------- */

/* all exceptions masked, sticky flags clear, FTZ and DAZ off */
#define MXCSR_BASE 0x1f80u
/* MXCSR.RC for RNE, RTZ, RDN, RUP */
static const uint32_t mxcsr_rc[4] = { 0x0000, 0x6000, 0x2000, 0x4000 };

/* MXCSR flags IE DE ZE OE UE PE (bits 0-5) -> fflags; DE has no RISC-V
 * counterpart and is dropped. */
#define XF(s) ((((s) & 1) << 4) | (((s) & 4) << 1) | (((s) & 8) >> 1) | \
	       (((s) & 16) >> 3) | (((s) & 32) >> 5))
#define XF4(n) XF(n), XF((n) + 1), XF((n) + 2), XF((n) + 3)
#define XF16(n) XF4(n), XF4((n) + 4), XF4((n) + 8), XF4((n) + 12)
static const uint8_t mxcsr_to_fflags[64] = { XF16(0), XF16(16), XF16(32),
					     XF16(48) };

/* X = INSN(Y) under rounding mode RM; the raised flags are merged into
 * *FF. */
#define HW_UNOP(insn, X, Y, rm, ff)                                     \
	do {                                                             \
		uint32_t ctl_ = MXCSR_BASE | mxcsr_rc[rm], sv_, st_;     \
		__asm__ volatile("stmxcsr %[sv]\n\t"                     \
				 "ldmxcsr %[ctl]\n\t"                    \
				 insn " %[y], %[x]\n\t"                  \
				 "stmxcsr %[st]\n\t"                     \
				 "ldmxcsr %[sv]"                         \
				 : [x] "+x"(X), [sv] "=m"(sv_),          \
				   [st] "=m"(st_)                        \
				 : [y] "x"(Y), [ctl] "m"(ctl_));         \
		*(ff) |= mxcsr_to_fflags[st_ & 63];                      \
	} while (0)

/* C = A * B + C, rounded once */
#define HW_FMA(insn, A, B, C, rm, ff)                                    \
	do {                                                             \
		uint32_t ctl_ = MXCSR_BASE | mxcsr_rc[rm], sv_, st_;     \
		__asm__ volatile("stmxcsr %[sv]\n\t"                     \
				 "ldmxcsr %[ctl]\n\t"                    \
				 insn " %[y], %[x], %[z]\n\t"            \
				 "stmxcsr %[st]\n\t"                     \
				 "ldmxcsr %[sv]"                         \
				 : [z] "+x"(C), [sv] "=m"(sv_),          \
				   [st] "=m"(st_)                        \
				 : [x] "x"(A), [y] "x"(B), [ctl] "m"(ctl_)); \
		*(ff) |= mxcsr_to_fflags[st_ & 63];                      \
	} while (0)

static inline double d_of(uint64_t x)
{
	double d;

	memcpy(&d, &x, 8);
	return d;
}

static inline float f_of(uint32_t x)
{
	float d;

	memcpy(&d, &x, 4);
	return d;
}

static inline uint64_t d_bits(double d)
{
	uint64_t x;

	memcpy(&x, &d, 8);
	return x;
}

static inline uint32_t f_bits(float d)
{
	uint32_t x;

	memcpy(&x, &d, 4);
	return x;
}

static inline uint32_t canon32(uint32_t x)
{
	return (x << 1) > 0xff000000u ? CNAN32 : x;
}

static inline uint64_t canon64(uint64_t x)
{
	return (x << 1) > 0xffe0000000000000ull ? CNAN64 : x;
}

static int host_has_fma;

/* VEX-encoded FMA needs both the CPU feature and OS-enabled AVX state;
 * libgcc's probe checks both. */
__attribute__((constructor)) static void fpu_probe_host(void)
{
	__builtin_cpu_init();
	host_has_fma = __builtin_cpu_supports("fma");
}

/* RMM, and out-of-range modes the caller should have rejected, go to
 * software; the table index below stays in bounds. */
#define HW_RM(rm) likely((unsigned)(rm) < RV_RM_RMM)

/* ---------------------------------------------------------------------
 * Arithmetic entry points
 * ------------------------------------------------------------------- */

uint32_t f32_add(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
	return (uint32_t)fast_add(FMT32, a, b, rm, ff);
}

uint32_t f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
	return (uint32_t)fast_add(FMT32, a, b ^ SIGN32, rm, ff);
}

uint32_t f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
	return (uint32_t)fast_mul(FMT32, a, b, rm, ff);
}

uint64_t f64_add(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	return fast_add(FMT64, a, b, rm, ff);
}

uint64_t f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	return fast_add(FMT64, a, b ^ SIGN64, rm, ff);
}

uint64_t f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	return fast_mul(FMT64, a, b, rm, ff);
}

uint32_t f32_div(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
	return (uint32_t)fast_div(FMT32, a, b, rm, ff);
}

uint64_t f64_div(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	return fast_div(FMT64, a, b, rm, ff);
}

uint32_t f32_sqrt(uint32_t a, int rm, uint32_t *ff)
{
	float x = f_of(a);

	if (!HW_RM(rm))
		return (uint32_t)soft_sqrt(FMT32, a, rm, ff);
	HW_UNOP("sqrtss", x, x, rm, ff);
	return canon32(f_bits(x));
}

uint64_t f64_sqrt(uint64_t a, int rm, uint32_t *ff)
{
	double x = d_of(a);

	if (!HW_RM(rm))
		return soft_sqrt(FMT64, a, rm, ff);
	HW_UNOP("sqrtsd", x, x, rm, ff);
	return canon64(d_bits(x));
}

/* Negating an input is exact (also for zeros and NaNs), so the four RISC-V
 * variants reduce to one a*b+c. */
uint32_t f32_muladd(uint32_t a, uint32_t b, uint32_t c, int neg_prod,
		    int neg_c, int rm, uint32_t *ff)
{
	float x, y, z;

	a ^= neg_prod ? SIGN32 : 0;
	c ^= neg_c ? SIGN32 : 0;
	if (!HW_RM(rm) || !host_has_fma || (a << 1) > 0xff000000u ||
	    (b << 1) > 0xff000000u || (c << 1) > 0xff000000u)
		return (uint32_t)soft_fma(FMT32, a, b, c, rm, ff);
	x = f_of(a);
	y = f_of(b);
	z = f_of(c);
	HW_FMA("vfmadd231ss", x, y, z, rm, ff);
	return canon32(f_bits(z));
}

uint64_t f64_muladd(uint64_t a, uint64_t b, uint64_t c, int neg_prod,
		    int neg_c, int rm, uint32_t *ff)
{
	const uint64_t lim = 0xffe0000000000000ull;
	double x, y, z;

	a ^= neg_prod ? SIGN64 : 0;
	c ^= neg_c ? SIGN64 : 0;
	if (!HW_RM(rm) || !host_has_fma || (a << 1) > lim || (b << 1) > lim ||
	    (c << 1) > lim)
		return soft_fma(FMT64, a, b, c, rm, ff);
	x = d_of(a);
	y = d_of(b);
	z = d_of(c);
	HW_FMA("vfmadd231sd", x, y, z, rm, ff);
	return canon64(d_bits(z));
}

uint32_t f64_to_f32(uint64_t a, int rm, uint32_t *ff)
{
	return fast_narrow(a, rm, ff);
}

uint64_t f32_to_f64(uint32_t a, uint32_t *ff)
{
	struct unp x = unpack(FMT32, a);
	uint64_t sign = x.s ? SIGN64 : 0;

	switch (x.k) {
	case K_QNAN:
	case K_SNAN: return nan_result(FMT64, x.k == K_SNAN, ff);
	case K_INF:  return sign | 0x7ff0000000000000ull;
	case K_ZERO: return sign;
	default:
		return sign | (uint64_t)(x.e + 1023) << 52 | (x.m << 1) >> 12;
	}
}

/* ---------------------------------------------------------------------
 * Comparisons, min/max, classify
 * ------------------------------------------------------------------- */

/* Unsigned key ordering all non-NaN values with -0 below +0. */
static inline uint64_t order_key(struct fmt f, uint64_t x)
{
	uint64_t sign = f_sign(f), all = (sign << 1) - 1;

	return ((x & sign) ? ~x : x | sign) & all;
}

static inline uint64_t minmax(struct fmt f, uint64_t a, uint64_t b,
			      int want_max, uint32_t *ff)
{
	int na = f_isnan(f, a), nb = f_isnan(f, b);

	if (unlikely(na || nb)) {
		if (f_issnan(f, a) || f_issnan(f, b))
			*ff |= RV_FF_NV;
		if (na && nb)
			return f_cnan(f);
		return na ? b : a;
	}
	return ((order_key(f, a) < order_key(f, b)) ^ want_max) ? a : b;
}

static inline int cmp_eq(struct fmt f, uint64_t a, uint64_t b, uint32_t *ff)
{
	if (unlikely(f_isnan(f, a) || f_isnan(f, b))) {
		if (f_issnan(f, a) || f_issnan(f, b))
			*ff |= RV_FF_NV;
		return 0;
	}
	return a == b || ((a | b) & ~f_sign(f)) == 0;
}

static inline int cmp_lt(struct fmt f, uint64_t a, uint64_t b, uint32_t *ff)
{
	uint64_t sign = f_sign(f);
	int sa = !!(a & sign);

	if (unlikely(f_isnan(f, a) || f_isnan(f, b))) {
		*ff |= RV_FF_NV;
		return 0;
	}
	if (sa != !!(b & sign))
		return sa && ((a | b) & ~sign) != 0;
	return a != b && ((a < b) ^ sa);
}

static inline int cmp_le(struct fmt f, uint64_t a, uint64_t b, uint32_t *ff)
{
	uint64_t sign = f_sign(f);
	int sa = !!(a & sign);

	if (unlikely(f_isnan(f, a) || f_isnan(f, b))) {
		*ff |= RV_FF_NV;
		return 0;
	}
	if (sa != !!(b & sign))
		return sa || ((a | b) & ~sign) == 0;
	return a == b || ((a < b) ^ sa);
}

static inline uint32_t classify(struct fmt f, uint64_t x)
{
	int fb = f.p - 1, s = !!(x & f_sign(f));
	uint64_t emask = (1ull << f.ebits) - 1;
	uint64_t ex = (x >> fb) & emask, fr = x & ((1ull << fb) - 1);

	if (ex == emask) {
		if (!fr)
			return s ? 1u << 0 : 1u << 7;
		return (fr >> (fb - 1)) & 1 ? 1u << 9 : 1u << 8;
	}
	if (ex == 0) {
		if (!fr)
			return s ? 1u << 3 : 1u << 4;
		return s ? 1u << 2 : 1u << 5;
	}
	return s ? 1u << 1 : 1u << 6;
}

uint32_t f32_min(uint32_t a, uint32_t b, uint32_t *ff)
{
	return (uint32_t)minmax(FMT32, a, b, 0, ff);
}

uint32_t f32_max(uint32_t a, uint32_t b, uint32_t *ff)
{
	return (uint32_t)minmax(FMT32, a, b, 1, ff);
}

uint64_t f64_min(uint64_t a, uint64_t b, uint32_t *ff)
{
	return minmax(FMT64, a, b, 0, ff);
}

uint64_t f64_max(uint64_t a, uint64_t b, uint32_t *ff)
{
	return minmax(FMT64, a, b, 1, ff);
}

int f32_eq(uint32_t a, uint32_t b, uint32_t *ff)
{
	return cmp_eq(FMT32, a, b, ff);
}

int f32_lt(uint32_t a, uint32_t b, uint32_t *ff)
{
	return cmp_lt(FMT32, a, b, ff);
}

int f32_le(uint32_t a, uint32_t b, uint32_t *ff)
{
	return cmp_le(FMT32, a, b, ff);
}

int f64_eq(uint64_t a, uint64_t b, uint32_t *ff)
{
	return cmp_eq(FMT64, a, b, ff);
}

int f64_lt(uint64_t a, uint64_t b, uint32_t *ff)
{
	return cmp_lt(FMT64, a, b, ff);
}

int f64_le(uint64_t a, uint64_t b, uint32_t *ff)
{
	return cmp_le(FMT64, a, b, ff);
}

uint32_t f32_classify(uint32_t a) { return classify(FMT32, a); }
uint32_t f64_classify(uint64_t a) { return classify(FMT64, a); }

/* ---------------------------------------------------------------------
 * Integer conversions
 * ------------------------------------------------------------------- */

/* W results are sign-extended from bit 31, also for the unsigned forms. */
static inline int64_t sext32(uint64_t x) { return (int32_t)(uint32_t)x; }

int64_t f32_to_i32(uint32_t a, int rm, uint32_t *ff)
{
	return sext32(soft_f2i(FMT32, a, rm, ff, 1, 32));
}

int64_t f32_to_u32(uint32_t a, int rm, uint32_t *ff)
{
	return sext32(soft_f2i(FMT32, a, rm, ff, 0, 32));
}

int64_t f32_to_i64(uint32_t a, int rm, uint32_t *ff)
{
	return (int64_t)soft_f2i(FMT32, a, rm, ff, 1, 64);
}

uint64_t f32_to_u64(uint32_t a, int rm, uint32_t *ff)
{
	return soft_f2i(FMT32, a, rm, ff, 0, 64);
}

int64_t f64_to_i32(uint64_t a, int rm, uint32_t *ff)
{
	return sext32(soft_f2i(FMT64, a, rm, ff, 1, 32));
}

int64_t f64_to_u32(uint64_t a, int rm, uint32_t *ff)
{
	return sext32(soft_f2i(FMT64, a, rm, ff, 0, 32));
}

int64_t f64_to_i64(uint64_t a, int rm, uint32_t *ff)
{
	return (int64_t)soft_f2i(FMT64, a, rm, ff, 1, 64);
}

uint64_t f64_to_u64(uint64_t a, int rm, uint32_t *ff)
{
	return soft_f2i(FMT64, a, rm, ff, 0, 64);
}

static inline uint64_t mag64(int64_t a)
{
	return a < 0 ? -(uint64_t)a : (uint64_t)a;
}

uint32_t i32_to_f32(int32_t a, int rm, uint32_t *ff)
{
	return (uint32_t)soft_i2f(FMT32, a < 0, mag64(a), rm, ff);
}

uint32_t u32_to_f32(uint32_t a, int rm, uint32_t *ff)
{
	return (uint32_t)soft_i2f(FMT32, 0, a, rm, ff);
}

uint32_t i64_to_f32(int64_t a, int rm, uint32_t *ff)
{
	return (uint32_t)soft_i2f(FMT32, a < 0, mag64(a), rm, ff);
}

uint32_t u64_to_f32(uint64_t a, int rm, uint32_t *ff)
{
	return (uint32_t)soft_i2f(FMT32, 0, a, rm, ff);
}

uint64_t i32_to_f64(int32_t a, int rm, uint32_t *ff)
{
	return exact_i2f64(a < 0, mag64(a));
}

uint64_t u32_to_f64(uint32_t a, int rm, uint32_t *ff)
{
	return exact_i2f64(0, a);
}

uint64_t i64_to_f64(int64_t a, int rm, uint32_t *ff)
{
	return soft_i2f(FMT64, a < 0, mag64(a), rm, ff);
}

uint64_t u64_to_f64(uint64_t a, int rm, uint32_t *ff)
{
	return soft_i2f(FMT64, 0, a, rm, ff);
}

/* ---------------------------------------------------------------------
 * Test hook: the software path for any rounding mode.  Not in fpu.h
 * because only tests/unit/test_fpu.c has a use for it.
 * ------------------------------------------------------------------- */

uint64_t rv_fpu_soft(int op, int dbl, uint64_t a, uint64_t b, uint64_t c,
		     int rm, uint32_t *ff);
uint64_t rv_fpu_soft(int op, int dbl, uint64_t a, uint64_t b, uint64_t c,
		     int rm, uint32_t *ff)
{
	struct fmt f = dbl ? FMT64 : FMT32;

	switch (op) {
	case 0: return soft_add(f, a, b, rm, ff);
	case 1: return soft_sub(f, a, b, rm, ff);
	case 2: return soft_mul(f, a, b, rm, ff);
	case 3: return soft_div(f, a, b, rm, ff);
	case 4: return soft_sqrt(f, a, rm, ff);
	case 5: return soft_fma(f, a, b, c, rm, ff);
	case 6: return soft_narrow(a, rm, ff);
	default: return 0;
	}
}
