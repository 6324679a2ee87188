/* F and D instructions other than loads/stores (unprivileged 20191213
 * ch. 11-12): operand fetch with NaN-boxing, rounding-mode resolution,
 * fflags accumulation and mstatus.FS tracking around the pure arithmetic
 * of fpu.h.  FP code is rare next to integer code in the workloads that
 * matter, so these ops run out of line from one interpreter handler. */
#include "cpu_internal.h"
#include "fpu.h"

static int illegal(struct rv_hart *h, const struct rv_op *op)
{
	return rv_exc(h, RV_EXC_ILLEGAL, (uint32_t)op->imm2);
}

static uint32_t sgnj32(uint32_t a, uint32_t b, unsigned kind)
{
	uint32_t s = kind == 0 ? b : kind == 1 ? ~b : a ^ b;
	return (a & 0x7fffffffu) | (s & 0x80000000u);
}

static uint64_t sgnj64(uint64_t a, uint64_t b, unsigned kind)
{
	const uint64_t sign = 1ULL << 63;
	uint64_t s = kind == 0 ? b : kind == 1 ? ~b : a ^ b;
	return (a & ~sign) | (s & sign);
}

int rv_fp_op(struct rv_hart *h, const struct rv_op *op)
{
	if (!(h->mstatus & MSTATUS_FS))
		return illegal(h, op);
	unsigned opc = (unsigned)op->imm;
	unsigned rd = op->rd;
	int rm = op->aux;
	if (rm == RV_RM_DYN)
		rm = (int)h->frm;
	/* Ops without rounding carry rm = 0 from the translator. */
	if (rm > RV_RM_RMM)
		return illegal(h, op);

	uint64_t *f = h->f;
	uint64_t d1 = f[op->rs1], d2 = f[op->rs2];
	uint64_t d3 = f[((uint32_t)op->imm2 >> 27) & 31];
	uint32_t s1 = rv_f32_unbox(d1), s2 = rv_f32_unbox(d2);
	uint32_t s3 = rv_f32_unbox(d3);
	uint64_t xs1 = h->x[op->rs1];
	uint32_t fl = 0;
	/* Result: either an f register (boxed for singles) or an x one. */
	uint64_t fres = 0, xres = 0;
	bool to_x = false;

	switch (opc) {
	case RV_OP_FMADD_S: fres = rv_f32_box(f32_muladd(s1, s2, s3, 0, 0, rm, &fl)); break;
	case RV_OP_FMSUB_S: fres = rv_f32_box(f32_muladd(s1, s2, s3, 0, 1, rm, &fl)); break;
	case RV_OP_FNMSUB_S: fres = rv_f32_box(f32_muladd(s1, s2, s3, 1, 0, rm, &fl)); break;
	case RV_OP_FNMADD_S: fres = rv_f32_box(f32_muladd(s1, s2, s3, 1, 1, rm, &fl)); break;
	case RV_OP_FADD_S: fres = rv_f32_box(f32_add(s1, s2, rm, &fl)); break;
	case RV_OP_FSUB_S: fres = rv_f32_box(f32_sub(s1, s2, rm, &fl)); break;
	case RV_OP_FMUL_S: fres = rv_f32_box(f32_mul(s1, s2, rm, &fl)); break;
	case RV_OP_FDIV_S: fres = rv_f32_box(f32_div(s1, s2, rm, &fl)); break;
	case RV_OP_FSQRT_S: fres = rv_f32_box(f32_sqrt(s1, rm, &fl)); break;
	case RV_OP_FSGNJ_S: fres = rv_f32_box(sgnj32(s1, s2, 0)); break;
	case RV_OP_FSGNJN_S: fres = rv_f32_box(sgnj32(s1, s2, 1)); break;
	case RV_OP_FSGNJX_S: fres = rv_f32_box(sgnj32(s1, s2, 2)); break;
	case RV_OP_FMIN_S: fres = rv_f32_box(f32_min(s1, s2, &fl)); break;
	case RV_OP_FMAX_S: fres = rv_f32_box(f32_max(s1, s2, &fl)); break;
	case RV_OP_FCVT_W_S: to_x = true; xres = (uint64_t)f32_to_i32(s1, rm, &fl); break;
	case RV_OP_FCVT_WU_S: to_x = true; xres = (uint64_t)f32_to_u32(s1, rm, &fl); break;
	case RV_OP_FCVT_L_S: to_x = true; xres = (uint64_t)f32_to_i64(s1, rm, &fl); break;
	case RV_OP_FCVT_LU_S: to_x = true; xres = f32_to_u64(s1, rm, &fl); break;
	/* fmv.x.w moves the raw low bits, boxed or not (§11.7). */
	case RV_OP_FMV_X_W: to_x = true; xres = (uint64_t)(int64_t)(int32_t)(uint32_t)d1; break;
	case RV_OP_FEQ_S: to_x = true; xres = (uint64_t)f32_eq(s1, s2, &fl); break;
	case RV_OP_FLT_S: to_x = true; xres = (uint64_t)f32_lt(s1, s2, &fl); break;
	case RV_OP_FLE_S: to_x = true; xres = (uint64_t)f32_le(s1, s2, &fl); break;
	case RV_OP_FCLASS_S: to_x = true; xres = f32_classify(s1); break;
	case RV_OP_FCVT_S_W: fres = rv_f32_box(i32_to_f32((int32_t)xs1, rm, &fl)); break;
	case RV_OP_FCVT_S_WU: fres = rv_f32_box(u32_to_f32((uint32_t)xs1, rm, &fl)); break;
	case RV_OP_FCVT_S_L: fres = rv_f32_box(i64_to_f32((int64_t)xs1, rm, &fl)); break;
	case RV_OP_FCVT_S_LU: fres = rv_f32_box(u64_to_f32(xs1, rm, &fl)); break;
	case RV_OP_FMV_W_X: fres = rv_f32_box((uint32_t)xs1); break;

	case RV_OP_FMADD_D: fres = f64_muladd(d1, d2, d3, 0, 0, rm, &fl); break;
	case RV_OP_FMSUB_D: fres = f64_muladd(d1, d2, d3, 0, 1, rm, &fl); break;
	case RV_OP_FNMSUB_D: fres = f64_muladd(d1, d2, d3, 1, 0, rm, &fl); break;
	case RV_OP_FNMADD_D: fres = f64_muladd(d1, d2, d3, 1, 1, rm, &fl); break;
	case RV_OP_FADD_D: fres = f64_add(d1, d2, rm, &fl); break;
	case RV_OP_FSUB_D: fres = f64_sub(d1, d2, rm, &fl); break;
	case RV_OP_FMUL_D: fres = f64_mul(d1, d2, rm, &fl); break;
	case RV_OP_FDIV_D: fres = f64_div(d1, d2, rm, &fl); break;
	case RV_OP_FSQRT_D: fres = f64_sqrt(d1, rm, &fl); break;
	case RV_OP_FSGNJ_D: fres = sgnj64(d1, d2, 0); break;
	case RV_OP_FSGNJN_D: fres = sgnj64(d1, d2, 1); break;
	case RV_OP_FSGNJX_D: fres = sgnj64(d1, d2, 2); break;
	case RV_OP_FMIN_D: fres = f64_min(d1, d2, &fl); break;
	case RV_OP_FMAX_D: fres = f64_max(d1, d2, &fl); break;
	case RV_OP_FCVT_W_D: to_x = true; xres = (uint64_t)f64_to_i32(d1, rm, &fl); break;
	case RV_OP_FCVT_WU_D: to_x = true; xres = (uint64_t)f64_to_u32(d1, rm, &fl); break;
	case RV_OP_FCVT_L_D: to_x = true; xres = (uint64_t)f64_to_i64(d1, rm, &fl); break;
	case RV_OP_FCVT_LU_D: to_x = true; xres = f64_to_u64(d1, rm, &fl); break;
	case RV_OP_FMV_X_D: to_x = true; xres = d1; break;
	case RV_OP_FEQ_D: to_x = true; xres = (uint64_t)f64_eq(d1, d2, &fl); break;
	case RV_OP_FLT_D: to_x = true; xres = (uint64_t)f64_lt(d1, d2, &fl); break;
	case RV_OP_FLE_D: to_x = true; xres = (uint64_t)f64_le(d1, d2, &fl); break;
	case RV_OP_FCLASS_D: to_x = true; xres = f64_classify(d1); break;
	case RV_OP_FCVT_D_W: fres = i32_to_f64((int32_t)xs1, rm, &fl); break;
	case RV_OP_FCVT_D_WU: fres = u32_to_f64((uint32_t)xs1, rm, &fl); break;
	case RV_OP_FCVT_D_L: fres = i64_to_f64((int64_t)xs1, rm, &fl); break;
	case RV_OP_FCVT_D_LU: fres = u64_to_f64(xs1, rm, &fl); break;
	case RV_OP_FMV_D_X: fres = xs1; break;
	case RV_OP_FCVT_S_D: fres = rv_f32_box(f64_to_f32(d1, rm, &fl)); break;
	case RV_OP_FCVT_D_S: fres = f32_to_f64(s1, &fl); break;
	default:
		return illegal(h, op);
	}

	if (to_x) {
		if (rd)
			h->x[rd] = xres;
	} else {
		f[rd] = fres;
		rv_fs_dirty(h);
	}
	if (fl) {
		h->fflags |= fl;
		rv_fs_dirty(h);
	}
	return 0;
}
