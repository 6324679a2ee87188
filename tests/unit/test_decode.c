/* Unit tests for the RV64 decoder (src/engine/rv64/cpu_decode.c).
 *
 * Encodings were produced with GNU as (-march=rv64gc_zba_zbb_zbs_zicbom_
 * zicboz) and are checked against the fields the unprivileged ISA
 * (20191213) assigns them, including the RV64C expansions of ch. 16 and
 * the reserved compressed encodings that must be illegal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/rv64/cpu_ops.h"

static struct rv_dec dec(uint32_t insn)
{
	struct rv_dec d;
	rv_decode(insn, &d);
	return d;
}

/* Decode insn and check opcode, registers and immediate. */
#define CHECK(insn, op, d_, s1, s2, im) do {                                  \
		struct rv_dec d = dec(insn);                                  \
		assert_string_equal(rv_op_name(d.opc), rv_op_name(RV_OP_##op)); \
		assert_int_equal(d.rd, d_);                                   \
		assert_int_equal(d.rs1, s1);                                  \
		assert_int_equal(d.rs2, s2);                                  \
		assert_int_equal(d.imm, im);                                  \
	} while (0)

#define ILLEGAL(insn) do {                                                    \
		struct rv_dec d = dec(insn);                                  \
		assert_string_equal(rv_op_name(d.opc), "ILLEGAL");            \
		assert_int_equal(d.raw, (insn) & (((insn) & 3) == 3 ?          \
						   0xffffffffu : 0xffffu));   \
	} while (0)

static void test_r_type(void **state)
{
	CHECK(0x003100b3, ADD, 1, 2, 3, 0);
	CHECK(0x41df0fb3, SUB, 31, 30, 29, 0);
	CHECK(0x023100b3, MUL, 1, 2, 3, 0);
	CHECK(0x023150bb, DIVUW, 1, 2, 3, 0);
	assert_int_equal(dec(0x003100b3).len, 4);
}

static void test_i_type(void **state)
{
	CHECK(0x80030293, ADDI, 5, 6, 0, -2048);
	CHECK(0x7ff30293, ADDI, 5, 6, 0, 2047);
	CHECK(0xfff10083, LB, 1, 2, 0, -1);
	CHECK(0x00416083, LWU, 1, 2, 0, 4);
	CHECK(0xfff100e7, JALR, 1, 2, 0, -1);
	CHECK(0xffc12087, FLW, 1, 2, 0, -4);
	/* shifts carry only the amount */
	CHECK(0x03f11093, SLLI, 1, 2, 0, 63);
	CHECK(0x43f15093, SRAI, 1, 2, 0, 63);
	CHECK(0x01f1509b, SRLIW, 1, 2, 0, 31);
	CHECK(0x4011509b, SRAIW, 1, 2, 0, 1);
	/* slliw with shamt[5] set is reserved */
	ILLEGAL(0x0201109b);
	/* jalr needs funct3 == 0; the unused load funct3 is illegal */
	ILLEGAL(0x000110e7);
	ILLEGAL(0x00017083);
}

static void test_s_b_type(void **state)
{
	CHECK(0xfe743c23, SD, 0, 8, 7, -8);
	CHECK(0x7e952fa3, SW, 0, 10, 9, 2047);
	CHECK(0x00323427, FSD, 0, 4, 3, 8);
	CHECK(0x80208063, BEQ, 0, 1, 2, -4096);
	CHECK(0x7e209fe3, BNE, 0, 1, 2, 4094);
	/* branch funct3 2 and 3 are reserved; store funct3 >= 4 too */
	ILLEGAL(0x00202063);
	ILLEGAL(0x00114023);
}

static void test_u_j_type(void **state)
{
	CHECK(0xfffff1b7, LUI, 3, 0, 0, -4096);
	CHECK(0x800001b7, LUI, 3, 0, 0, INT32_MIN);
	CHECK(0x12345217, AUIPC, 4, 0, 0, 0x12345000);
	CHECK(0x800000ef, JAL, 1, 0, 0, -1048576);
	CHECK(0x7ffff06f, JAL, 0, 0, 0, 1048574);
}

static void test_system(void **state)
{
	CHECK(0x300110f3, CSRRW, 1, 2, 0, 0x300);
	CHECK(0x344fe073, CSRRSI, 0, 31, 0, 0x344);
	CHECK(0xfff032f3, CSRRC, 5, 0, 0, 0xfff);
	assert_int_equal(dec(0x00000073).opc, RV_OP_ECALL);
	assert_int_equal(dec(0x00100073).opc, RV_OP_EBREAK);
	assert_int_equal(dec(0x30200073).opc, RV_OP_MRET);
	assert_int_equal(dec(0x10200073).opc, RV_OP_SRET);
	assert_int_equal(dec(0x10500073).opc, RV_OP_WFI);
	CHECK(0x12208073, SFENCE_VMA, 0, 1, 2, 0);
	assert_int_equal(dec(0x0000100f).opc, RV_OP_FENCE_I);
	/* Only W/O -> R/I orderings need a host fence on x86-TSO. */
	assert_int_equal(dec(0x0330000f).opc, RV_OP_FENCE_MB);   /* rw,rw */
	assert_int_equal(dec(0x0120000f).opc, RV_OP_FENCE_MB);   /* w,r */
	assert_int_equal(dec(0x0230000f).opc, RV_OP_FENCE);      /* r,rw */
	assert_int_equal(dec(0x0310000f).opc, RV_OP_FENCE);      /* rw,w */
	assert_int_equal(dec(0x8330000f).opc, RV_OP_FENCE);      /* fence.tso */
	assert_int_equal(dec(0x0100000f).opc, RV_OP_PAUSE);
	/* uret, dret, funct3 4 and an sfence.vma with rd != 0 */
	ILLEGAL(0x00200073);
	ILLEGAL(0x7b200073);
	ILLEGAL(0x00004073);
	ILLEGAL(0x122080f3);
	/* every op that ends a block is flagged so */
	assert_true(rv_op_flags(RV_OP_CSRRW) & RV_F_TERM);
	assert_true(rv_op_flags(RV_OP_BEQ) & RV_F_TERM);
	assert_false(rv_op_flags(RV_OP_ADD) & RV_F_TERM);
	assert_true(rv_op_flags(RV_OP_ADD) & RV_F_PURE);
	assert_true(rv_op_flags(RV_OP_LD) & RV_F_LOAD);
	assert_true(rv_op_flags(RV_OP_FENCE) & RV_F_SKIP);
}

static void test_amo(void **state)
{
	CHECK(0x100120af, LR_W, 1, 2, 0, 0);
	CHECK(0x183130af, SC_D, 1, 2, 3, 0);
	CHECK(0xe63130af, AMOMAXU_D, 1, 2, 3, 0);
	/* lr with rs2 != 0, funct3 other than W/D, unknown funct5 */
	ILLEGAL(0x103120af);
	ILLEGAL(0x083100af);
	ILLEGAL(0x2831a0af);
}

static void test_fp(void **state)
{
	struct rv_dec d = dec(0x003100d3);
	assert_int_equal(d.opc, RV_OP_FADD_S);
	assert_int_equal(d.rm, 0);
	d = dec(0x003170d3); /* dyn */
	assert_int_equal(d.opc, RV_OP_FADD_S);
	assert_int_equal(d.rm, 7);
	d = dec(0x223110c3);
	assert_int_equal(d.opc, RV_OP_FMADD_D);
	assert_int_equal(d.rd, 1);
	assert_int_equal(d.rs1, 2);
	assert_int_equal(d.rs2, 3);
	assert_int_equal(d.rs3, 4);
	assert_int_equal(d.rm, 1);
	d = dec(0xc00130d3);
	assert_int_equal(d.opc, RV_OP_FCVT_W_S);
	assert_int_equal(d.rm, 3);
	/* ops without rounding report rm 0 (funct3 is part of opc) */
	d = dec(0x223120d3);
	assert_int_equal(d.opc, RV_OP_FSGNJX_D);
	assert_int_equal(d.rm, 0);
	assert_int_equal(dec(0xe00100d3).opc, RV_OP_FMV_X_W);
	assert_int_equal(dec(0xe20110d3).opc, RV_OP_FCLASS_D);
	/* rm 5 and 6 are reserved for rounding ops */
	ILLEGAL(0x003150d3);
	ILLEGAL(0x003160d3);
	/* fmt 2/3 (H, Q) and fsqrt with rs2 != 0 */
	ILLEGAL(0x243110c3);
	ILLEGAL(0x581170d3);
	/* flw/fsd with an unused width */
	ILLEGAL(0xffc14087);
}

static void test_bitmanip(void **state)
{
	CHECK(0x203120b3, SH1ADD, 1, 2, 3, 0);
	CHECK(0x083100bb, ADD_UW, 1, 2, 3, 0);
	CHECK(0x0a81109b, SLLI_UW, 1, 2, 0, 40);
	CHECK(0x60011093, CLZ, 1, 2, 0, 0);
	CHECK(0x6021109b, CPOPW, 1, 2, 0, 2);
	CHECK(0x6b815093, REV8, 1, 2, 0, 56);
	CHECK(0x28715093, ORC_B, 1, 2, 0, 7);
	CHECK(0x62115093, RORI, 1, 2, 0, 33);
	CHECK(0x6051509b, RORIW, 1, 2, 0, 5);
	CHECK(0x080140bb, ZEXT_H, 1, 2, 0, 0);
	CHECK(0x4bf15093, BEXTI, 1, 2, 0, 63);
	CHECK(0x28111093, BSETI, 1, 2, 0, 1);
	CHECK(0x0a3160b3, MAX, 1, 2, 3, 0);
	/* clz-group with an unknown selector, rev8 with another shamt */
	ILLEGAL(0x60311093);
	ILLEGAL(0x6b015093);
}

static void test_cbo(void **state)
{
	CHECK(0x0042a00f, CBO_ZERO, 0, 5, 0, 0);
	CHECK(0x0003200f, CBO_INVAL, 0, 6, 0, 0);
	/* unknown cbo function, rd != 0 */
	ILLEGAL(0x0032a00f);
	ILLEGAL(0x0042a08f);
}

static void test_long_encodings(void **state)
{
	/* bits [4:2] == 111 announce 48-bit and longer instructions */
	ILLEGAL(0x0000001f);
	ILLEGAL(0x0000003f);
}

/* Expansion of a compressed instruction: same fields as the 32-bit op. */
#define CEXP(insn, op, d_, s1, s2, im) do {                                   \
		CHECK(insn, op, d_, s1, s2, im);                              \
		assert_int_equal(dec(insn).len, 2);                           \
	} while (0)

static void test_compressed_q0(void **state)
{
	CEXP(0x1fe0, ADDI, 8, 2, 0, 1020);   /* c.addi4spn */
	CEXP(0x3d64, FLD, 9, 10, 0, 248);
	CEXP(0x5e6c, LW, 11, 12, 0, 124);
	CEXP(0x7f74, LD, 13, 14, 0, 248);
	CEXP(0xa41c, FSD, 0, 8, 15, 8);
	CEXP(0xc144, SW, 0, 10, 9, 4);
	CEXP(0xe20c, SD, 0, 12, 11, 0);
	ILLEGAL(0x0000);                     /* defined illegal */
	ILLEGAL(0x0004);                     /* c.addi4spn, nzuimm 0 */
	ILLEGAL(0x8000);                     /* funct3 100 reserved */
}

static void test_compressed_q1(void **state)
{
	CEXP(0x0001, ADDI, 0, 0, 0, 0);      /* c.nop (a hint) */
	CEXP(0x1081, ADDI, 1, 1, 0, -32);
	CEXP(0x217d, ADDIW, 2, 2, 0, 31);
	CEXP(0x51fd, ADDI, 3, 0, 0, -1);     /* c.li */
	CEXP(0x7101, ADDI, 2, 2, 0, -512);   /* c.addi16sp */
	CEXP(0x617d, ADDI, 2, 2, 0, 496);
	CEXP(0x7201, LUI, 4, 0, 0, -131072);
	CEXP(0x62fd, LUI, 5, 0, 0, 0x1f000);
	CEXP(0x907d, SRLI, 8, 8, 0, 63);
	CEXP(0x8485, SRAI, 9, 9, 0, 1);
	CEXP(0x9901, ANDI, 10, 10, 0, -32);
	CEXP(0x8c05, SUB, 8, 8, 9, 0);
	CEXP(0x8d2d, XOR, 10, 10, 11, 0);
	CEXP(0x8e55, OR, 12, 12, 13, 0);
	CEXP(0x8f7d, AND, 14, 14, 15, 0);
	CEXP(0x9c1d, SUBW, 8, 8, 15, 0);
	CEXP(0x9ca9, ADDW, 9, 9, 10, 0);
	CEXP(0xb001, JAL, 0, 0, 0, -2048);   /* c.j */
	CEXP(0xaffd, JAL, 0, 0, 0, 2046);
	CEXP(0xd001, BEQ, 0, 8, 0, -256);
	CEXP(0xeffd, BNE, 0, 15, 0, 254);
	ILLEGAL(0x2001);                     /* c.addiw rd = 0 */
	ILLEGAL(0x6101);                     /* c.addi16sp imm 0 */
	ILLEGAL(0x6201);                     /* c.lui imm 0 */
	ILLEGAL(0x9c41);                     /* funct 100, 1, 11, 10 */
	ILLEGAL(0x9c61);
}

static void test_compressed_q2(void **state)
{
	CEXP(0x10fe, SLLI, 1, 1, 0, 63);
	CEXP(0x30fe, FLD, 1, 2, 0, 504);     /* c.fldsp */
	CEXP(0x517e, LW, 2, 2, 0, 252);      /* c.lwsp */
	CEXP(0x71fe, LD, 3, 2, 0, 504);      /* c.ldsp */
	CEXP(0x8082, JALR, 0, 1, 0, 0);      /* c.jr */
	CEXP(0x810e, ADD, 2, 0, 3, 0);       /* c.mv */
	assert_int_equal(dec(0x9002).opc, RV_OP_EBREAK);
	CEXP(0x9282, JALR, 1, 5, 0, 0);      /* c.jalr */
	CEXP(0x931e, ADD, 6, 6, 7, 0);
	CEXP(0xbfa2, FSD, 0, 2, 8, 504);     /* c.fsdsp */
	CEXP(0xdfa6, SW, 0, 2, 9, 252);      /* c.swsp */
	CEXP(0xffaa, SD, 0, 2, 10, 504);     /* c.sdsp */
	ILLEGAL(0x4002);                     /* c.lwsp rd = 0 */
	ILLEGAL(0x6002);                     /* c.ldsp rd = 0 */
	ILLEGAL(0x8002);                     /* c.jr rs1 = 0 */
}

/* Every 16-bit parcel and a spread of 32-bit words decode to a known op
 * with a sane length and register numbers (hostile code must never index
 * past the tables). */
static void test_exhaustive(void **state)
{
	struct rv_dec d;
	for (uint32_t c = 0; c < 0x10000; c++) {
		if ((c & 3) == 3)
			continue;
		rv_decode(c, &d);
		assert_true(d.opc < RV_OP_COUNT);
		assert_int_equal(d.len, 2);
		assert_true(d.rd < 32 && d.rs1 < 32 && d.rs2 < 32);
	}
	uint32_t x = 0x12345678;
	for (unsigned i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		rv_decode(x | 3, &d);
		assert_true(d.opc < RV_OP_COUNT);
		assert_int_equal(d.len, 4);
		assert_true(d.rd < 32 && d.rs1 < 32 && d.rs2 < 32 && d.rs3 < 32);
		assert_true(d.rm < 8);
		/* internal ops are never produced by the decoder */
		assert_true(d.opc != RV_OP_END && d.opc != RV_OP_J &&
			    d.opc != RV_OP_JR && d.opc != RV_OP_LOADX0);
	}
}

static void test_names(void **state)
{
	assert_string_equal(rv_op_name(RV_OP_ADDI), "ADDI");
	assert_string_equal(rv_op_name(RV_OP_COUNT), "?");
	assert_int_equal(rv_op_flags(RV_OP_COUNT), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_r_type),
		cmocka_unit_test(test_i_type),
		cmocka_unit_test(test_s_b_type),
		cmocka_unit_test(test_u_j_type),
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_amo),
		cmocka_unit_test(test_fp),
		cmocka_unit_test(test_bitmanip),
		cmocka_unit_test(test_cbo),
		cmocka_unit_test(test_long_encodings),
		cmocka_unit_test(test_compressed_q0),
		cmocka_unit_test(test_compressed_q1),
		cmocka_unit_test(test_compressed_q2),
		cmocka_unit_test(test_exhaustive),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
