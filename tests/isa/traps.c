/* Synchronous traps that can occur with RVC (no instruction-address
 * misaligned), with mepc/mcause/mtval checked for each: illegal
 * instruction (tval = the instruction bits), breakpoint (ebreak, c.ebreak),
 * ecall from U/S/M (8/9/11), load/store/AMO address misaligned for
 * LR/SC/AMOs (plain misaligned loads/stores may be emulated: then the data
 * must be right), load/store/instruction access faults (no RAM or device:
 * 0x0, 0x20000000, a hole after the UART, the end of RAM), stores to MMIO
 * holes, and mret: MPIE/MIE/MPP handling, return to the right mode, MPRV
 * cleared when returning below M.  Page faults are in sv39/sv48.
 *
 * Assumes --mem 64M (RAM ends at 0x84000000). */
#include "rt.h"

#define RAM_END 0x84000000UL
#define UART_HOLE 0x10000800UL   /* between the UART (0x100) and virtio-mmio */

/* Execute a constant 32-bit word; returns its pc. */
#define EXEC(word) ({ u64 _pc; __asm__ volatile( \
	".option push\n\t.option norvc\n\tlla %0, 1f\n1:\t.word %1\n\t.option pop" \
	: "=&r"(_pc) : "i"(word) : "t0", "memory"); _pc; })

static u64 cell[4] __attribute__((aligned(32)));

/* AMOs raise store/AMO exceptions (causes 6, 7).  QEMU 7.2 reports
 * misaligned or faulting AMOs as loads (4, 5): accepted only on QEMU. */
#ifdef RT_QEMU
#define AMO_MISALIGNED CAUSE_MISALIGNED_LOAD
#define AMO_ACCESS CAUSE_LOAD_ACCESS
#else
#define AMO_MISALIGNED CAUSE_MISALIGNED_STORE
#define AMO_ACCESS CAUSE_STORE_ACCESS
#endif

/* ---------------------------------------------------------------- illegal */

static void t_illegal(void)
{
	u64 pc;
	rt_section("illegal instruction");
	rt_arm();
	pc = EXEC(0xc0001073);              /* unimp = csrrw x0, cycle, x0 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0xc0001073);
	/* (mepc now holds the resume address the handler wrote) */
	CHECK_EQ(csr_read(mcause), CAUSE_ILLEGAL);
	CHECK_EQ(csr_read(mtval), 0xc0001073);
	rt_arm();
	pc = EXEC(0x0000000b);              /* custom-0 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x0000000b);
	rt_arm();
	pc = EXEC(0x1234567b);              /* custom-3 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x1234567b);
	rt_arm();
	pc = EXEC(0x0200129b);              /* slliw t0, x0, 32: shamt[5] reserved */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x0200129b);
	rt_arm();
	pc = EXEC(0x00007283);              /* load with funct3 = 7 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x00007283);
	rt_arm();
	pc = EXEC(0xf800202f);              /* AMO .w with funct5 = 11111 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0xf800202f);
	/* all-zero halfword: 16-bit illegal, tval holds just those 16 bits */
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\t.2byte 0\n\tnop" : "=&r"(pc));
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0);
	/* mtval is overwritten, not left over from the previous trap */
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\t.2byte 0x6281" : "=&r"(pc));   /* c.lui t0, 0 */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x6281);
}

static u64 s_privileged(u64 unused)
{
	u64 pc;
	rt_arm();
	pc = EXEC(0x30200073);              /* mret in S */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x30200073);
	return 0;
}

static u64 u_privileged(u64 unused)
{
	u64 pc;
	rt_arm();
	pc = EXEC(0x10200073);              /* sret in U */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x10200073);
	rt_arm();
	pc = EXEC(0x30200073);              /* mret in U */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x30200073);
	rt_arm();
	pc = EXEC(0x12000073);              /* sfence.vma in U */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x12000073);
	return 0;
}

static u64 s_tvm_tsr(u64 unused)
{
	u64 pc;
	/* mstatus.TVM = 1: satp and sfence.vma are illegal in S */
	rt_arm();
	pc = EXEC(0x180022f3);              /* csrr t0, satp */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x180022f3);
	rt_arm();
	pc = EXEC(0x12000073);              /* sfence.vma */
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x12000073);
	/* mstatus.TSR = 1: sret is illegal in S */
	rt_arm();
	pc = EXEC(0x10200073);
	CHECK_TRAP(CAUSE_ILLEGAL, pc, 0x10200073);
	return 0;
}

static void t_privileged(void)
{
	rt_section("privileged instructions below M");
	rt_run(PRV_S, s_privileged, 0);
	rt_run(PRV_U, u_privileged, 0);
	csr_set(mstatus, MSTATUS_TVM | MSTATUS_TSR);
	rt_run(PRV_S, s_tvm_tsr, 0);
	csr_clear(mstatus, MSTATUS_TVM | MSTATUS_TSR);
}

/* ------------------------------------------------------- ebreak and ecall */

static u64 do_ecall(u64 unused)
{
	u64 pc;
	__asm__ volatile("lla %0, 1f\n\tli a7, 0\n1:\tecall" : "=&r"(pc) :: "a7", "a0", "memory");
	return pc;
}

static void t_ecall_ebreak(void)
{
	u64 pc;

	rt_section("ebreak/c.ebreak");
	rt_arm();
	__asm__ volatile(".option push\n\t.option norvc\n\tlla %0, 1f\n1:\tebreak\n\t.option pop"
			 : "=&r"(pc));
	CHECK_TRAP(CAUSE_BREAKPOINT, pc, RT_ANY);
	CHECK(rt_last.tval == 0 || rt_last.tval == pc);
	rt_arm();
	__asm__ volatile("lla %0, 1f\n1:\tc.ebreak" : "=&r"(pc));
	CHECK_TRAP(CAUSE_BREAKPOINT, pc, RT_ANY);
	CHECK(rt_last.tval == 0 || rt_last.tval == pc);

	rt_section("ecall from M/S/U");
	rt_arm();
	pc = do_ecall(0);
	CHECK_TRAP(CAUSE_ECALL_M, pc, 0);
	CHECK_EQ((rt_last.status & MSTATUS_MPP) >> 11, PRV_M);
	rt_arm();
	pc = rt_run(PRV_S, do_ecall, 0);
	CHECK_TRAP(CAUSE_ECALL_S, pc, 0);
	CHECK_EQ((rt_last.status & MSTATUS_MPP) >> 11, PRV_S);
	rt_arm();
	pc = rt_run(PRV_U, do_ecall, 0);
	CHECK_TRAP(CAUSE_ECALL_U, pc, 0);
	CHECK_EQ((rt_last.status & MSTATUS_MPP) >> 11, PRV_U);
	CHECK_EQ(rt_last.mode, PRV_M);
}

/* ------------------------------------------------------------- misaligned */

#define LDOP(op, addr) ({ u64 _v = 0x5a5a, _pc; __asm__ volatile( \
	"lla %1, 1f\n1:\t" op " %0, 0(%2)" : "+r"(_v), "=&r"(_pc) : "r"(addr) : "memory"); \
	lpc = _pc; _v; })
#define AMOOP(op, addr, val) ({ u64 _v = 0x5a5a, _pc; __asm__ volatile( \
	"lla %1, 1f\n1:\t" op " %0, %3, (%2)" : "+r"(_v), "=&r"(_pc) : "r"(addr), "r"((u64)(val)) \
	: "memory"); lpc = _pc; _v; })

static void t_misaligned_atomics(void)
{
	u8 *b = (u8 *)cell;
	u64 lpc, rc;

	rt_section("misaligned LR/SC/AMO");
	cell[0] = 0x1111111111111111UL;
	cell[1] = 0x2222222222222222UL;
	rt_arm();
	(void)LDOP("lr.w", b + 2);
	CHECK_TRAP(CAUSE_MISALIGNED_LOAD, lpc, (u64)(b + 2));
	rt_arm();
	(void)LDOP("lr.d", b + 4);
	CHECK_TRAP(CAUSE_MISALIGNED_LOAD, lpc, (u64)(b + 4));
	/* A misaligned SC raises store/AMO address misaligned, or (as an SC
	 * without a matching reservation, which QEMU does) just fails without
	 * writing: both are accepted. */
	rt_arm();
	rc = AMOOP("sc.w", b + 1, 0);
	if (rt_last.count)
		CHECK_TRAP(CAUSE_MISALIGNED_STORE, lpc, (u64)(b + 1));
	else
		CHECK(rt_disarm() == 0 && rc != 0);
	rt_arm();
	rc = AMOOP("sc.d", b + 4, 0);
	if (rt_last.count)
		CHECK_TRAP(CAUSE_MISALIGNED_STORE, lpc, (u64)(b + 4));
	else
		CHECK(rt_disarm() == 0 && rc != 0);
	rt_arm();
	(void)AMOOP("amoadd.w", b + 2, 1);
	CHECK_TRAP(AMO_MISALIGNED, lpc, (u64)(b + 2));
	rt_arm();
	(void)AMOOP("amoswap.d", b + 4, 1);
	CHECK_TRAP(AMO_MISALIGNED, lpc, (u64)(b + 4));
	rt_arm();
	(void)AMOOP("amomaxu.d", b + 9, 1);
	CHECK_TRAP(AMO_MISALIGNED, lpc, (u64)(b + 9));
	rt_arm();
	(void)AMOOP("amoor.w", b + 7, 1);
	CHECK_TRAP(AMO_MISALIGNED, lpc, (u64)(b + 7));
	/* memory untouched */
	CHECK_EQ(cell[0], 0x1111111111111111UL);
	CHECK_EQ(cell[1], 0x2222222222222222UL);
}

/* A plain misaligned access either works (then the data must be right)
 * or raises the misaligned exception with tval = the address. */
static void t_misaligned_plain(void)
{
	u8 *b = (u8 *)cell;
	u64 lpc, v;
	int n;

	rt_section("misaligned loads");
	cell[0] = 0x8877665544332211UL;
	cell[1] = 0xffeeddccbbaa9988UL;
#define MLOAD(op, off, want) do { \
	rt_arm(); v = LDOP(op, b + (off)); n = rt_disarm(); \
	if (n) { CHECK_EQ(n, 1); CHECK_EQ(rt_last.cause, CAUSE_MISALIGNED_LOAD); \
		CHECK_EQ(rt_last.tval, (u64)(b + (off))); CHECK_EQ(rt_last.epc, lpc); } \
	else CHECK_EQ(v, want); } while (0)
	MLOAD("lh", 1, 0x3322);
	MLOAD("lh", 7, 0xffffffffffff8888UL);
	MLOAD("lhu", 7, 0x8888);
	MLOAD("lw", 2, 0x66554433);
	MLOAD("lw", 5, 0xffffffff88887766UL);
	MLOAD("lwu", 5, 0x88887766UL);
	MLOAD("ld", 4, 0xbbaa998888776655UL);
	MLOAD("ld", 1, 0x8888776655443322UL);
	MLOAD("ld", 7, 0xeeddccbbaa998888UL);

	rt_section("misaligned stores");
#define MSTORE(op, off, val, w0, w1) do { \
	cell[0] = 0; cell[1] = 0; u64 _pc; \
	rt_arm(); __asm__ volatile("lla %0, 1f\n1:\t" op " %1, 0(%2)" : "=&r"(_pc) \
		: "r"((u64)(val)), "r"(b + (off)) : "memory"); n = rt_disarm(); \
	if (n) { CHECK_EQ(n, 1); CHECK_EQ(rt_last.cause, CAUSE_MISALIGNED_STORE); \
		CHECK_EQ(rt_last.tval, (u64)(b + (off))); CHECK_EQ(rt_last.epc, _pc); \
		CHECK_EQ(cell[0], 0); CHECK_EQ(cell[1], 0); } \
	else { CHECK_EQ(cell[0], w0); CHECK_EQ(cell[1], w1); } } while (0)
	MSTORE("sh", 7, 0x1234, 0x3400000000000000UL, 0x12);
	MSTORE("sw", 6, 0xaabbccdd, 0xccdd000000000000UL, 0xaabb);
	MSTORE("sd", 3, 0x0102030405060708UL, 0x0405060708000000UL, 0x010203);
}

/* ----------------------------------------------------------- access faults */

static void t_access(void)
{
	u64 lpc, pc;
	/* 0x20000000 has nothing behind it on ringvm's platform; QEMU's virt
	 * machine maps a (blank) CFI flash there. */
	static const u64 holes[] = { 0x0, 0x20000000, UART_HOLE };
	static const char *const names[] = { "0x0", "0x20000000", "UART hole" };

	for (int i = 0; i < 3; i++) {
		u64 a = holes[i];
#ifdef RT_QEMU
		if (a == 0x20000000) {
			rt_printf("note: skipped on QEMU: its virt machine has flash at 0x20000000\n");
			continue;
		}
#endif
		rt_section(names[i]);
		rt_arm();
		(void)LDOP("ld", a);
		CHECK_TRAP(CAUSE_LOAD_ACCESS, lpc, a);
		rt_arm();
		(void)LDOP("lbu", a + 1);
		CHECK_TRAP(CAUSE_LOAD_ACCESS, lpc, a + 1);
		rt_arm();
		__asm__ volatile("lla %0, 1f\n1:\tsd %1, 0(%1)" : "=&r"(pc) : "r"(a) : "memory");
		CHECK_TRAP(CAUSE_STORE_ACCESS, pc, a);
		rt_arm();
		__asm__ volatile("lla %0, 1f\n1:\tsw %1, 8(%1)" : "=&r"(pc) : "r"(a) : "memory");
		CHECK_TRAP(CAUSE_STORE_ACCESS, pc, a + 8);
		rt_arm();
		(void)LDOP("lr.d", a);
		CHECK_TRAP(CAUSE_LOAD_ACCESS, lpc, a);
		rt_arm();
		(void)AMOOP("amoadd.w", a + 4, 1);
		CHECK_TRAP(AMO_ACCESS, lpc, a + 4);
		rt_arm();
		(void)AMOOP("sc.d", a, 1);
		/* sc may fail without accessing memory (no reservation) */
		if (rt_last.count)
			CHECK_TRAP(CAUSE_STORE_ACCESS, lpc, a);
		else
			CHECK_NOTRAP();
		/* fetch: jump there, the handler returns to ra */
		if (a != UART_HOLE) {
			rt_arm();
			__asm__ volatile("jalr ra, 0(%0)" :: "r"(a) : "ra", "memory");
			CHECK_TRAP(CAUSE_FETCH_ACCESS, a, a);
			rt_arm();
			__asm__ volatile("jalr ra, 0x42(%0)" :: "r"(a) : "ra", "memory");
			CHECK_TRAP(CAUSE_FETCH_ACCESS, a + 0x42, a + 0x42);
		}
	}

	rt_section("end of RAM");
	rt_arm();
	(void)LDOP("lbu", RAM_END);
	CHECK_TRAP(CAUSE_LOAD_ACCESS, lpc, RAM_END);
	/* the last byte of RAM is fine */
	rt_arm();
	(void)LDOP("lbu", RAM_END - 1);
	CHECK_NOTRAP();
	/* a 32-bit instruction whose second half is past the end of RAM:
	 * mepc = its start, mtval = the part that faulted (or its start).
	 * QEMU 7.2 aborts on this (translator_access assertion). */
#ifndef RT_QEMU
	*(volatile u16 *)(RAM_END - 2) = 0x0513;          /* addi a0, ... (low half) */
	__asm__ volatile("fence.i" ::: "memory");
	rt_arm();
	__asm__ volatile("jalr ra, 0(%0)" :: "r"(RAM_END - 2) : "ra", "a0", "memory");
	CHECK_TRAP(CAUSE_FETCH_ACCESS, RAM_END - 2, RT_ANY);
	CHECK(rt_last.tval == RAM_END || rt_last.tval == RAM_END - 2);
#else
	rt_printf("note: skipped on QEMU: fetch across the end of RAM aborts QEMU 7.2\n");
#endif
	/* a 16-bit instruction in the last halfword runs */
	*(volatile u16 *)(RAM_END - 2) = 0x8082;          /* c.ret */
	__asm__ volatile("fence.i" ::: "memory");
	rt_arm();
	__asm__ volatile("jalr ra, 0(%0)" :: "r"(RAM_END - 2) : "ra", "memory");
	CHECK_NOTRAP();
}

/* --------------------------------------------------------------------- mret */

static u64 s_report_status(u64 unused)
{
	/* trap to M to let it look at mstatus as it was in S */
	rt_arm();
	__asm__ volatile("li a7, 0\n\tecall" ::: "a7", "a0", "memory");
	rt_disarm();
	return 0;
}

static void t_mret(void)
{
	u64 ms, mode_pc;

	rt_section("trap entry: MPIE/MIE/MPP");
	csr_write(mie, 0);
	csr_set(mstatus, MSTATUS_MIE);
	rt_arm();
	__asm__ volatile("li a7, 0\n\tecall" ::: "a7", "a0", "memory");
	rt_disarm();
	CHECK_EQ(rt_last.status & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP),
		 MSTATUS_MPIE | MSTATUS_MPP);
	/* mret restored MIE from MPIE */
	CHECK(csr_read(mstatus) & MSTATUS_MIE);
	csr_clear(mstatus, MSTATUS_MIE);
	rt_arm();
	__asm__ volatile("li a7, 0\n\tecall" ::: "a7", "a0", "memory");
	rt_disarm();
	CHECK_EQ(rt_last.status & (MSTATUS_MIE | MSTATUS_MPIE), 0);
	CHECK_EQ(csr_read(mstatus) & MSTATUS_MIE, 0);

	rt_section("mret: MIE = MPIE, MPIE = 1, MPP = U");
	csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPP);
	csr_set(mstatus, MSTATUS_MPIE | MSTATUS_MPP);   /* MPP = M */
	__asm__ volatile("lla t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:\tlla %0, 1b"
			 : "=r"(mode_pc) :: "t0");
	ms = csr_read(mstatus);
	CHECK(ms & MSTATUS_MIE);
	CHECK(ms & MSTATUS_MPIE);
	CHECK_EQ(ms & MSTATUS_MPP, 0);
	csr_clear(mstatus, MSTATUS_MIE);
	/* MPIE = 0 -> MIE = 0, MPIE = 1 */
	csr_clear(mstatus, MSTATUS_MPIE);
	csr_set(mstatus, MSTATUS_MIE | MSTATUS_MPP);
	__asm__ volatile("lla t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:" ::: "t0");
	ms = csr_read(mstatus);
	CHECK_EQ(ms & MSTATUS_MIE, 0);
	CHECK(ms & MSTATUS_MPIE);

	rt_section("mret to S clears MPRV");
	/* MPRV with MPP = M changes nothing for M's own accesses */
	csr_set(mstatus, MSTATUS_MPP);
	csr_set(mstatus, MSTATUS_MPRV);
	rt_arm();
	rt_run(PRV_S, s_report_status, 0);
	CHECK_EQ(rt_last.cause, CAUSE_ECALL_S);
	/* priv 1.12: an xRET to a mode below M clears MPRV (QEMU 7.2 follows
	 * 1.11 here and keeps it) */
	QEMU_DIVERGES("mret to S keeps MPRV",
		      CHECK_EQ(rt_last.status & MSTATUS_MPRV, 0));
	csr_clear(mstatus, MSTATUS_MPRV);

	rt_section("mepc with bit 1 set (RVC) is honoured");
	{
		u64 r;
		/* mret to a 2-byte aligned target */
		__asm__ volatile(".option push\n\t.option rvc\n\t"
				 "li %0, 0\n\tlla t0, 2f\n\tcsrw mepc, t0\n\t"
				 "li t0, 0x1800\n\tcsrs mstatus, t0\n\tmret\n\t"
				 ".balign 4\n\tc.nop\n2:\tc.addi %0, 1\n\t.option pop"
				 : "=&r"(r) :: "t0");
		CHECK_EQ(r, 1);
	}
}

int main(void)
{
	t_illegal();
	t_privileged();
	t_ecall_ebreak();
	t_misaligned_atomics();
	t_misaligned_plain();
	t_access();
	t_mret();
	return rt_result();
}
