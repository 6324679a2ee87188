/* IEEE-754 binary32/binary64 arithmetic with RISC-V semantics
 * (unprivileged ISA 20191213 ch. 11 "F", ch. 12 "D").
 *
 * Values are raw bit patterns (uint32_t for single, uint64_t for double);
 * NaN-boxing of singles in the 64-bit f registers is the caller's business.
 * rm is a resolved rounding mode (never DYN): RV_RM_RNE..RV_RM_RMM.
 * Every function ORs the exceptions it raises into *fflags using the fflags
 * bit layout (NX=1, UF=2, OF=4, DZ=8, NV=16); tininess is detected after
 * rounding.  NaN results are always the canonical NaN (0x7fc00000 /
 * 0x7ff8000000000000).  All functions are pure: no host FP state leaks. */
#ifndef RINGVM_RV64_FPU_H
#define RINGVM_RV64_FPU_H

#include <stdint.h>

enum { RV_RM_RNE = 0, RV_RM_RTZ = 1, RV_RM_RDN = 2, RV_RM_RUP = 3,
       RV_RM_RMM = 4, RV_RM_DYN = 7 };
enum { RV_FF_NX = 1, RV_FF_UF = 2, RV_FF_OF = 4, RV_FF_DZ = 8,
       RV_FF_NV = 16 };

/* fmadd family: result = (neg_prod ? -(a*b) : a*b) + (neg_c ? -c : c),
 * rounded once.  FMADD: 0,0  FMSUB: 0,1  FNMSUB: 1,0  FNMADD: 1,1. */
uint32_t f32_add(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_div(uint32_t a, uint32_t b, int rm, uint32_t *fflags);
uint32_t f32_sqrt(uint32_t a, int rm, uint32_t *fflags);
uint32_t f32_muladd(uint32_t a, uint32_t b, uint32_t c, int neg_prod,
		    int neg_c, int rm, uint32_t *fflags);
/* fmin/fmax per 20191213 (minimumNumber): -0 < +0, one NaN -> the other
 * operand, sNaN input raises NV. */
uint32_t f32_min(uint32_t a, uint32_t b, uint32_t *fflags);
uint32_t f32_max(uint32_t a, uint32_t b, uint32_t *fflags);
/* feq: quiet (NV only on sNaN); flt/fle: signaling (NV on any NaN). */
int f32_eq(uint32_t a, uint32_t b, uint32_t *fflags);
int f32_lt(uint32_t a, uint32_t b, uint32_t *fflags);
int f32_le(uint32_t a, uint32_t b, uint32_t *fflags);
/* fclass: one-hot 10-bit mask (table 11.5). */
uint32_t f32_classify(uint32_t a);
/* Conversions to integers saturate and raise NV on NaN/overflow (table
 * 11.4); results are returned sign-extended to 64 bits as the ISA wants
 * for the W forms. */
int64_t  f32_to_i32(uint32_t a, int rm, uint32_t *fflags);
int64_t  f32_to_u32(uint32_t a, int rm, uint32_t *fflags);
int64_t  f32_to_i64(uint32_t a, int rm, uint32_t *fflags);
uint64_t f32_to_u64(uint32_t a, int rm, uint32_t *fflags);
uint32_t i32_to_f32(int32_t a, int rm, uint32_t *fflags);
uint32_t u32_to_f32(uint32_t a, int rm, uint32_t *fflags);
uint32_t i64_to_f32(int64_t a, int rm, uint32_t *fflags);
uint32_t u64_to_f32(uint64_t a, int rm, uint32_t *fflags);

uint64_t f64_add(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_div(uint64_t a, uint64_t b, int rm, uint32_t *fflags);
uint64_t f64_sqrt(uint64_t a, int rm, uint32_t *fflags);
uint64_t f64_muladd(uint64_t a, uint64_t b, uint64_t c, int neg_prod,
		    int neg_c, int rm, uint32_t *fflags);
uint64_t f64_min(uint64_t a, uint64_t b, uint32_t *fflags);
uint64_t f64_max(uint64_t a, uint64_t b, uint32_t *fflags);
int f64_eq(uint64_t a, uint64_t b, uint32_t *fflags);
int f64_lt(uint64_t a, uint64_t b, uint32_t *fflags);
int f64_le(uint64_t a, uint64_t b, uint32_t *fflags);
uint32_t f64_classify(uint64_t a);
int64_t  f64_to_i32(uint64_t a, int rm, uint32_t *fflags);
int64_t  f64_to_u32(uint64_t a, int rm, uint32_t *fflags);
int64_t  f64_to_i64(uint64_t a, int rm, uint32_t *fflags);
uint64_t f64_to_u64(uint64_t a, int rm, uint32_t *fflags);
uint64_t i32_to_f64(int32_t a, int rm, uint32_t *fflags);
uint64_t u32_to_f64(uint32_t a, int rm, uint32_t *fflags);
uint64_t i64_to_f64(int64_t a, int rm, uint32_t *fflags);
uint64_t u64_to_f64(uint64_t a, int rm, uint32_t *fflags);

uint64_t f32_to_f64(uint32_t a, uint32_t *fflags);
uint32_t f64_to_f32(uint64_t a, int rm, uint32_t *fflags);

#endif
