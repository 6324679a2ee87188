/* Zicsr: csrrw/csrrs/csrrc and the immediate forms, rd/rs1 = x0 rules,
 * writes to read-only CSRs and unimplemented CSRs (illegal, tval = the
 * instruction), access from a lower privilege (illegal), counters
 * (cycle/time/instret advance; mcounteren/scounteren gate S and U), some
 * WARL fields and misa/mstatus invariants. */
#include "rt.h"

/* Encodings of the instructions expected to trap (for tval checks). */
#define CSRRW(rd, csr, rs1)  (0x1073u | ((rd) << 7) | ((rs1) << 15) | ((u32)(csr) << 20))
#define CSRRS(rd, csr, rs1)  (0x2073u | ((rd) << 7) | ((rs1) << 15) | ((u32)(csr) << 20))
#define CSRRWI(rd, csr, imm) (0x5073u | ((rd) << 7) | ((imm) << 15) | ((u32)(csr) << 20))

/* Execute one 32-bit instruction word given as a constant; return its pc. */
#define EXEC(word) ({ u64 _pc; __asm__ volatile( \
	".option push\n\t.option norvc\n\tlla %0, 1f\n1:\t.word %1\n\t.option pop" \
	: "=&r"(_pc) : "i"(word) : "t0", "t1", "memory"); _pc; })

static void t_basic(void)
{
	u64 old, v;

	rt_section("csrrw/csrrs/csrrc");
	csr_write(mscratch, 0x1234567890abcdefUL);
	__asm__ volatile("csrrw %0, mscratch, %1" : "=r"(old) : "r"(0xf0f0UL));
	CHECK_EQ(old, 0x1234567890abcdefUL);
	CHECK_EQ(csr_read(mscratch), 0xf0f0);
	__asm__ volatile("csrrs %0, mscratch, %1" : "=r"(old) : "r"(0x0f00UL));
	CHECK_EQ(old, 0xf0f0);
	CHECK_EQ(csr_read(mscratch), 0xfff0);
	__asm__ volatile("csrrc %0, mscratch, %1" : "=r"(old) : "r"(0x00ffUL));
	CHECK_EQ(old, 0xfff0);
	CHECK_EQ(csr_read(mscratch), 0xff00);
	/* rs1 = x0: csrrs/csrrc do not write */
	__asm__ volatile("csrrs %0, mscratch, x0" : "=r"(old));
	CHECK_EQ(old, 0xff00);
	__asm__ volatile("csrrc %0, mscratch, x0" : "=r"(old));
	CHECK_EQ(csr_read(mscratch), 0xff00);
	/* rd = x0 */
	__asm__ volatile("csrrw x0, mscratch, %0" :: "r"(-1UL));
	CHECK_EQ(csr_read(mscratch), -1);
	/* rd == rs1: the old value is returned, the new written */
	v = 5;
	__asm__ volatile("csrrw %0, mscratch, %0" : "+r"(v));
	CHECK_EQ(v, -1);
	CHECK_EQ(csr_read(mscratch), 5);

	rt_section("csrrwi/csrrsi/csrrci");
	__asm__ volatile("csrrwi %0, mscratch, 31" : "=r"(old));
	CHECK_EQ(old, 5);
	CHECK_EQ(csr_read(mscratch), 31);   /* zero-extended 5-bit immediate */
	__asm__ volatile("csrrci %0, mscratch, 0x11" : "=r"(old));
	CHECK_EQ(old, 31);
	CHECK_EQ(csr_read(mscratch), 0x0e);
	__asm__ volatile("csrrsi %0, mscratch, 0x10" : "=r"(old));
	CHECK_EQ(old, 0x0e);
	CHECK_EQ(csr_read(mscratch), 0x1e);
	__asm__ volatile("csrrsi %0, mscratch, 0" : "=r"(old));
	CHECK_EQ(csr_read(mscratch), 0x1e);
	__asm__ volatile("csrrwi %0, mscratch, 0" : "=r"(old));
	CHECK_EQ(csr_read(mscratch), 0);

	rt_reset_scratch();   /* mscratch holds the runtime's trap stack */

	rt_section("S CSRs from M");
	csr_write(sscratch, 0xabcdUL);
	CHECK_EQ(csr_read(sscratch), 0xabcd);
	csr_write(sepc, 0x80001236UL);
	CHECK_EQ(csr_read(sepc), 0x80001236UL);   /* IALIGN 16: bit 0 only cleared */
	/* xepc[0] is always zero (priv 1.12 §3.1.14); QEMU 7.2 keeps the bit
	 * and clears it only when the value is used by xRET. */
	csr_write(sepc, 0x80001235UL);
	QEMU_DIVERGES("sepc[0] reads back as written",
		      CHECK_EQ(csr_read(sepc), 0x80001234UL));
	csr_write(mepc, 0x80001003UL);
	QEMU_DIVERGES("mepc[0] reads back as written",
		      CHECK_EQ(csr_read(mepc), 0x80001002UL));
	rt_reset_scratch();
}

static void t_ident(void)
{
	rt_section("misa/mstatus/mhartid");
	u64 misa = csr_read(misa);
	CHECK_EQ(misa >> 62, 2);                 /* MXL = 64 */
	for (const char *e = "IMAFDCSU"; *e; e++)
		if (!CHECK(misa & (1UL << (*e - 'A'))))
			rt_printf("  misa lacks %c\n", *e);
	CHECK_EQ(csr_read(mhartid), 0);
	u64 ms = csr_read(mstatus);
	CHECK_EQ((ms >> 32) & 3, 2);             /* UXL = 64 */
	CHECK_EQ((ms >> 34) & 3, 2);             /* SXL = 64 */
	/* MPP is WARL and can hold only M, S, U (priv 1.12 §3.1.6.1): 2 must
	 * not read back.  QEMU 7.2 stores 2. */
	csr_clear(mstatus, MSTATUS_MPP);
	csr_set(mstatus, 2UL << 11);
	QEMU_DIVERGES("mstatus.MPP holds the reserved value 2",
		      CHECK((csr_read(mstatus) & MSTATUS_MPP) != (2UL << 11)));
	csr_set(mstatus, MSTATUS_MPP);
	CHECK_EQ(csr_read(mstatus) & MSTATUS_MPP, MSTATUS_MPP);
	/* sstatus is a restricted view of mstatus */
	csr_set(sstatus, MSTATUS_SIE | MSTATUS_SUM);
	CHECK_EQ(csr_read(mstatus) & (MSTATUS_SIE | MSTATUS_SUM),
		 MSTATUS_SIE | MSTATUS_SUM);
	csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SUM);
	CHECK_EQ(csr_read(sstatus) & (MSTATUS_SIE | MSTATUS_SUM), 0);
	csr_set(mstatus, MSTATUS_MPIE);
	CHECK_EQ(csr_read(sstatus) & (MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE), 0);
	csr_clear(mstatus, MSTATUS_MPIE);
	/* writes through sstatus cannot reach M-only fields */
	csr_set(sstatus, MSTATUS_MIE | MSTATUS_MPRV);
	CHECK_EQ(csr_read(mstatus) & (MSTATUS_MIE | MSTATUS_MPRV), 0);
}

static void t_readonly(void)
{
	u64 pc;

	rt_section("read-only CSRs");
	/* reads are fine, including csrrs/csrrc with rs1 = x0 and csrrsi 0 */
	rt_arm();
	(void)csr_read(mvendorid);
	(void)csr_read(marchid);
	(void)csr_read(mimpid);
	(void)csr_read(mhartid);
	(void)csr_read(cycle);
	__asm__ volatile("csrrc x0, cycle, x0\n\tcsrrsi x0, time, 0\n\tcsrrci t0, instret, 0"
			 ::: "t0");
	CHECK_NOTRAP();

	/* csrrw to cycle (0xc00), rs1 = t1 (x6) */
	rt_arm();
	pc = EXEC(CSRRW(0, 0xc00, 6));
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRW(0, 0xc00, 6));
	/* csrrs with rs1 != x0 writes even if the value is 0 */
	rt_arm();
	pc = EXEC(CSRRS(5, 0xf11, 0) | (6 << 15));   /* csrrs t0, mvendorid, t1 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0xf11, 6));
	/* csrrwi always writes */
	rt_arm();
	pc = EXEC(CSRRWI(5, 0xf14, 0));              /* csrrwi t0, mhartid, 0 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRWI(5, 0xf14, 0));
	rt_arm();
	pc = EXEC(CSRRW(0, 0xc01, 0));               /* csrw time, x0 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRW(0, 0xc01, 0));

	rt_section("unimplemented CSRs");
	rt_arm();
	pc = EXEC(CSRRS(5, 0x800, 0));               /* custom, unimplemented */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0x800, 0));
	rt_arm();
	pc = EXEC(CSRRS(5, 0x7ff, 0));
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0x7ff, 0));
}

/* ---- lower privilege ---- */

static u64 s_access(u64 unused)
{
	u64 pc;
	/* S may use its own CSRs */
	rt_arm();
	(void)csr_read(sstatus);
	csr_write(sscratch, 0x55);
	(void)csr_read(stvec);
	CHECK_NOTRAP();
	CHECK_EQ(csr_read(sscratch), 0x55);
	/* but no M CSR */
	rt_arm();
	pc = EXEC(CSRRS(5, 0x300, 0));   /* csrr t0, mstatus */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0x300, 0));
	rt_arm();
	pc = EXEC(CSRRW(0, 0x340, 6));   /* csrw mscratch, t1 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRW(0, 0x340, 6));
	rt_arm();
	pc = EXEC(CSRRS(5, 0xf14, 0));   /* csrr t0, mhartid */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0xf14, 0));
	return 0;
}

static u64 u_access(u64 unused)
{
	u64 pc;
	rt_arm();
	pc = EXEC(CSRRS(5, 0x100, 0));   /* csrr t0, sstatus */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0x100, 0));
	rt_arm();
	pc = EXEC(CSRRW(0, 0x140, 6));   /* csrw sscratch, t1 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRW(0, 0x140, 6));
	rt_arm();
	pc = EXEC(CSRRS(5, 0x340, 0));   /* csrr t0, mscratch */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0x340, 0));
	rt_arm();
	pc = EXEC(CSRRS(5, 0x180, 0));   /* csrr t0, satp */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, CSRRS(5, 0x180, 0));
	return 0;
}

static void t_privilege(void)
{
	rt_section("S accessing M CSRs");
	rt_run(PRV_S, s_access, 0);
	rt_section("U accessing S/M CSRs");
	rt_run(PRV_U, u_access, 0);
}

/* ---- counters ---- */

/* Try to read counter csr (0xc00 + n) in the current mode: 1 if it worked,
 * 0 if it raised illegal instruction with the right tval. */
static u64 try_counter(u64 n)
{
	u64 pc;
	rt_arm();
	switch (n) {
	case 0: pc = EXEC(CSRRS(5, 0xc00, 0)); break;
	case 1: pc = EXEC(CSRRS(5, 0xc01, 0)); break;
	default: pc = EXEC(CSRRS(5, 0xc02, 0)); break;
	}
	int traps = rt_disarm();
	if (traps == 0)
		return 1;
	CHECK_EQ(traps, 1);
	CHECK_EQ(rt_last.cause, CAUSE_ILLEGAL);
	CHECK_EQ(rt_last.epc, pc);
	CHECK_EQ(rt_last.tval, CSRRS(5, 0xc00 + n, 0));
	return 0;
}

static void t_counters(void)
{
	u64 a, b, t0, t1, t2;

	rt_section("cycle/instret/time advance");
	a = csr_read(mcycle);
	for (volatile int i = 0; i < 1000; i++)
		;
	b = csr_read(mcycle);
	CHECK(b > a);
	a = csr_read(cycle);
	b = csr_read(cycle);
	CHECK(b >= a);
	__asm__ volatile("csrr %0, minstret\n\t.rept 100\n\tnop\n\t.endr\n\tcsrr %1, minstret"
			 : "=&r"(a), "=&r"(b));
	CHECK(b - a >= 100);
	/* The counter read by a CSR instruction excludes that instruction:
	 * 1 csrr + 100 nops retired between the two reads. */
	QEMU_DIVERGES("minstret is host ticks without -icount",
		      CHECK_EQ(b - a, 101));
	__asm__ volatile("csrr %0, instret\n\t.rept 10\n\tnop\n\t.endr\n\tcsrr %1, instret"
			 : "=&r"(a), "=&r"(b));
	CHECK(b - a >= 10);
	/* time follows the CLINT's mtime */
	t0 = mmio_r64(CLINT_MTIME);
	t1 = csr_read(time);
	rt_delay_us(2000);
	t2 = mmio_r64(CLINT_MTIME);
	CHECK(t1 >= t0);
	CHECK(t2 >= t1 + 2000 * (TIMEBASE_HZ / 1000000));
	CHECK(csr_read(time) >= t2);
	/* minstret/mcycle are writable */
	csr_write(minstret, 1000000);
	a = csr_read(minstret);
	QEMU_DIVERGES("minstret is host ticks without -icount",
		      CHECK(a >= 1000000 && a < 1000000 + 100));
	csr_write(mcycle, 0);
	a = csr_read(mcycle);
	CHECK(a < 1000000);

	rt_section("mcounteren gates S");
	for (u64 n = 0; n < 3; n++) {
		csr_write(mcounteren, 7 & ~(1UL << n));
		CHECK_EQ(rt_run(PRV_S, try_counter, n), 0);
		csr_write(mcounteren, 1UL << n);
		CHECK_EQ(rt_run(PRV_S, try_counter, n), 1);
	}
	rt_section("mcounteren+scounteren gate U");
	for (u64 n = 0; n < 3; n++) {
		csr_write(mcounteren, 1UL << n);
		csr_write(scounteren, 0);
		CHECK_EQ(rt_run(PRV_U, try_counter, n), 0);
		csr_write(mcounteren, 0);
		csr_write(scounteren, 1UL << n);
		CHECK_EQ(rt_run(PRV_U, try_counter, n), 0);
		csr_write(mcounteren, 1UL << n);
		CHECK_EQ(rt_run(PRV_U, try_counter, n), 1);
	}
	csr_write(mcounteren, -1);
	csr_write(scounteren, -1);
	/* M is never gated */
	csr_write(mcounteren, 0);
	CHECK_EQ(try_counter(0), 1);
	CHECK_EQ(try_counter(1), 1);
	CHECK_EQ(try_counter(2), 1);
	csr_write(mcounteren, -1);
}

int main(void)
{
	t_basic();
	t_ident();
	t_readonly();
	t_privilege();
	t_counters();
	return rt_result();
}
