/* SBI (run in S-mode under ringvm's built-in SBI, no --bios): base
 * extension (versions, ids, probe of every extension incl. legacy
 * 0x00-0x08), DBCN console write/write_byte, legacy console_putchar, TIME
 * set_timer firing STIP (and clearing it), legacy set_timer, IPI to self,
 * RFENCE calls, HSM hart_get_status, error codes, and SRST shutdown at the
 * end (rt_exit: reason 0 on pass; failures are also written to HTIF).
 * RINGVM-EXPECT-OUTPUT: hello from DBCN */
#include "rt.h"

#define EXT_BASE   0x10
#define EXT_TIME   0x54494D45
#define EXT_IPI    0x735049
#define EXT_RFENCE 0x52464E43
#define EXT_HSM    0x48534D
#define EXT_SRST   0x53525354
#define EXT_DBCN   0x4442434E

#define SBI_SUCCESS            0
#define SBI_ERR_NOT_SUPPORTED  (-2)
#define SBI_ERR_INVALID_PARAM  (-3)

extern u64 rt_boot_hartid;

static struct sbiret call0(long ext, long fid)
{
	return sbi_call(ext, fid, 0, 0, 0, 0, 0, 0);
}

static int wait_irqs(int n, u64 ms)
{
	u64 t0 = rt_time();
	while (rt_irq_n < n)
		if (rt_time() - t0 > ms * (TIMEBASE_HZ / 1000))
			return 0;
	return 1;
}

static void t_base(void)
{
	struct sbiret r;

	rt_section("base");
	r = call0(EXT_BASE, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	rt_printf("sbi: spec version %ld.%ld\n", (r.value >> 24) & 0x7f, r.value & 0xffffff);
	/* OpenSBI 1.1 (QEMU 7.2's firmware) implements SBI 1.0 */
	QEMU_DIVERGES("SBI spec version is 1.0", CHECK((r.value >> 24) >= 2));
	r = call0(EXT_BASE, 1);
	CHECK_EQ(r.error, SBI_SUCCESS);
	rt_printf("sbi: implementation id %ld\n", r.value);
	r = call0(EXT_BASE, 2);
	CHECK_EQ(r.error, SBI_SUCCESS);
	for (long fid = 4; fid <= 6; fid++) {
		r = call0(EXT_BASE, fid);    /* mvendorid, marchid, mimpid */
		CHECK_EQ(r.error, SBI_SUCCESS);
	}
	/* unknown function of a known extension, unknown extension */
	r = call0(EXT_BASE, 99);
	CHECK_EQ(r.error, SBI_ERR_NOT_SUPPORTED);
	r = call0(0x0abcdef0, 0);
	CHECK_EQ(r.error, SBI_ERR_NOT_SUPPORTED);

	rt_section("probe");
	static const long exts[] = { EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFENCE, EXT_HSM,
				     EXT_SRST, EXT_DBCN };
	static const char *const names[] = { "BASE", "TIME", "IPI", "RFENCE", "HSM",
					     "SRST", "DBCN" };
	for (int i = 0; i < 7; i++) {
		r = sbi_call(EXT_BASE, 3, exts[i], 0, 0, 0, 0, 0);
#ifdef RT_QEMU
		if (exts[i] == EXT_DBCN) {
			rt_printf("note: skipped on QEMU: OpenSBI 1.1 has no DBCN\n");
			continue;
		}
#endif
		if (!CHECK(r.error == 0 && r.value != 0))
			rt_printf("  extension %s not available\n", names[i]);
	}
	for (long e = 0; e <= 8; e++) {
		r = sbi_call(EXT_BASE, 3, e, 0, 0, 0, 0, 0);
		if (!CHECK(r.error == 0 && r.value != 0))
			rt_printf("  legacy extension 0x%lx not available\n", e);
	}
	r = sbi_call(EXT_BASE, 3, 0x0abcdef0, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK_EQ(r.value, 0);
}

static void t_console(void)
{
	static const char msg[] = "hello from DBCN\n";
	struct sbiret r;

	rt_section("DBCN");
#ifdef RT_QEMU
	rt_printf("note: skipped on QEMU: OpenSBI 1.1 has no DBCN\n");
	rt_puts(msg);
	return;
#endif
	r = sbi_call(EXT_DBCN, 0, sizeof(msg) - 1, (long)msg, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	CHECK_EQ(r.value, sizeof(msg) - 1);
	r = sbi_call(EXT_DBCN, 2, '>', 0, 0, 0, 0, 0);   /* write_byte */
	CHECK_EQ(r.error, SBI_SUCCESS);
	r = sbi_call(EXT_DBCN, 0, 0, (long)msg, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	CHECK_EQ(r.value, 0);

	/* read with no input waiting (stdin is not a terminal): 0 bytes */
	{
		static char in[8];
		r = sbi_call(EXT_DBCN, 1, sizeof(in), (long)in, 0, 0, 0, 0);
		CHECK_EQ(r.error, SBI_SUCCESS);
		CHECK_EQ(r.value, 0);
	}

	rt_section("legacy console_putchar/getchar");
	sbi_call(0x01, 0, '<', 0, 0, 0, 0, 0);
	sbi_call(0x01, 0, '\n', 0, 0, 0, 0, 0);
	r = sbi_call(0x02, 0, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, -1);                 /* a0 = -1: nothing to read */
}

static void t_timer(void)
{
	struct sbiret r;
	u64 now;

	rt_section("TIME set_timer");
	rt_irq_reset();
	csr_write(sie, 0);
	now = csr_read(time);
	r = sbi_call(EXT_TIME, 0, (long)(now + TIMEBASE_HZ / 100), 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	csr_set(sie, MIP_STIP);
	csr_set(sstatus, MSTATUS_SIE);
	CHECK(wait_irqs(1, 2000));
	csr_clear(sstatus, MSTATUS_SIE);
	CHECK_EQ(rt_irq_n, 1);
	CHECK_EQ(rt_irq_cause[0], IRQ_STI);
	CHECK(csr_read(time) >= now + TIMEBASE_HZ / 100);
	CHECK(csr_read(sip) & MIP_STIP);
	/* a new deadline in the future clears STIP */
	sbi_call(EXT_TIME, 0, -1L, 0, 0, 0, 0, 0);
	CHECK_EQ(csr_read(sip) & MIP_STIP, 0);

	rt_section("legacy set_timer");
	rt_irq_reset();
	now = csr_read(time);
	sbi_call(0x00, 0, (long)(now + TIMEBASE_HZ / 1000), 0, 0, 0, 0, 0);
	csr_set(sie, MIP_STIP);
	csr_set(sstatus, MSTATUS_SIE);
	CHECK(wait_irqs(1, 2000));
	csr_clear(sstatus, MSTATUS_SIE);
	CHECK_EQ(rt_irq_cause[0], IRQ_STI);
	sbi_call(0x00, 0, -1L, 0, 0, 0, 0, 0);
	CHECK_EQ(csr_read(sip) & MIP_STIP, 0);
	csr_write(sie, 0);
}

static void t_ipi(void)
{
	struct sbiret r;
	long me = (long)rt_boot_hartid;

	rt_section("IPI to self");
	rt_irq_reset();
	r = sbi_call(EXT_IPI, 0, 1L << me, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	/* the IPI shows up as SSIP (maybe after a moment) */
	u64 t0 = rt_time();
	while (!(csr_read(sip) & MIP_SSIP) && rt_time() - t0 < TIMEBASE_HZ)
		;
	CHECK(csr_read(sip) & MIP_SSIP);
	csr_set(sie, MIP_SSIP);
	csr_set(sstatus, MSTATUS_SIE);
	CHECK(wait_irqs(1, 1000));
	csr_clear(sstatus, MSTATUS_SIE);
	CHECK_EQ(rt_irq_cause[0], IRQ_SSI);
	csr_clear(sip, MIP_SSIP);
	CHECK_EQ(csr_read(sip) & MIP_SSIP, 0);

	rt_section("IPI with hart_mask_base = -1 (all harts)");
	rt_irq_reset();
	r = sbi_call(EXT_IPI, 0, 0, -1L, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	csr_set(sie, MIP_SSIP);
	csr_set(sstatus, MSTATUS_SIE);
	CHECK(wait_irqs(1, 1000));
	csr_clear(sstatus, MSTATUS_SIE);
	csr_clear(sip, MIP_SSIP);
	csr_write(sie, 0);

	rt_section("legacy send_ipi");
	{
		static unsigned long mask;
		mask = 1UL << me;
		rt_irq_reset();
		sbi_call(0x04, 0, (long)&mask, 0, 0, 0, 0, 0);
		u64 t1 = rt_time();
		while (!(csr_read(sip) & MIP_SSIP) && rt_time() - t1 < TIMEBASE_HZ)
			;
		CHECK(csr_read(sip) & MIP_SSIP);
		sbi_call(0x03, 0, 0, 0, 0, 0, 0, 0);     /* legacy clear_ipi */
		csr_clear(sip, MIP_SSIP);
	}

	rt_section("RFENCE");
	r = sbi_call(EXT_RFENCE, 0, 1L << me, 0, 0, 0, 0, 0);            /* fence.i */
	CHECK_EQ(r.error, SBI_SUCCESS);
	r = sbi_call(EXT_RFENCE, 1, 1L << me, 0, 0, -1L, 0, 0);          /* sfence.vma */
	CHECK_EQ(r.error, SBI_SUCCESS);
	r = sbi_call(EXT_RFENCE, 1, 0, -1L, 0x80000000L, 0x1000, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	r = sbi_call(EXT_RFENCE, 2, 1L << me, 0, 0, -1L, 0, 0);          /* sfence.vma.asid */
	CHECK_EQ(r.error, SBI_SUCCESS);

	rt_section("legacy remote fences");
	{
		static unsigned long mask;
		mask = 1UL << me;
		r = sbi_call(0x05, 0, (long)&mask, 0, 0, 0, 0, 0);
		CHECK_EQ(r.error, 0);
		r = sbi_call(0x06, 0, (long)&mask, 0, -1L, 0, 0, 0);
		CHECK_EQ(r.error, 0);
		r = sbi_call(0x07, 0, (long)&mask, 0, -1L, 0, 0, 0);
		CHECK_EQ(r.error, 0);
	}
}

static void t_hsm(void)
{
	struct sbiret r;

	rt_section("HSM hart_get_status");
	r = sbi_call(EXT_HSM, 2, (long)rt_boot_hartid, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_SUCCESS);
	CHECK_EQ(r.value, 0);                          /* STARTED */
	r = sbi_call(EXT_HSM, 2, 4096, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
}

static void t_srst(void)
{
	struct sbiret r;

	rt_section("SRST parameters");
	/* invalid type and reason must not reset */
	r = sbi_call(EXT_SRST, 0, 0x12345, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
	r = sbi_call(EXT_SRST, 0, 0, 0x5555, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);
}

int main(void)
{
	t_base();
	t_console();
	t_timer();
	t_ipi();
	t_hsm();
	t_srst();
	/* rt_exit: SRST shutdown, reason 0 (none) -> exit status 0 */
	return rt_result();
}
