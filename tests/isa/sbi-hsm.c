/* SBI HSM with two harts (S-mode under ringvm's SBI): the other hart is
 * STOPPED; hart_start runs it at rt_secondary_entry in S-mode with a0 =
 * hartid, a1 = opaque and satp = 0, SIE = 0; it writes a flag the boot
 * hart waits for; STARTED while it runs; a second hart_start fails with
 * ALREADY_AVAILABLE; an IPI reaches it; hart_stop makes it STOPPED; it can
 * be started again.  Ends with SRST shutdown.
 * RINGVM-ARGS: --cpus 2 */
#include "rt.h"

#define EXT_IPI    0x735049
#define EXT_RFENCE 0x52464E43
#define EXT_HSM    0x48534D

#define HSM_STARTED 0
#define HSM_STOPPED 1
#define SBI_ERR_INVALID_PARAM    (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

#define OPAQUE 0x1234567887654321UL

extern u64 rt_boot_hartid;
extern char rt_secondary_entry[];

static volatile u64 started, go, seen_ipi, runs;
static volatile u64 sec_hartid, sec_opaque, sec_satp, sec_sstatus;

static long status(u64 hart)
{
	struct sbiret r = sbi_call(EXT_HSM, 2, (long)hart, 0, 0, 0, 0, 0);
	return r.error ? r.error : r.value;
}

/* wait (up to 2 s) for *v == want */
static int wait_for(volatile u64 *v, u64 want)
{
	u64 t0 = rt_time();
	while (*v != want)
		if (rt_time() - t0 > 2 * TIMEBASE_HZ)
			return 0;
	__asm__ volatile("fence rw, rw" ::: "memory");
	return 1;
}

static int wait_status(u64 hart, long want)
{
	u64 t0 = rt_time();
	while (status(hart) != want)
		if (rt_time() - t0 > 2 * TIMEBASE_HZ)
			return 0;
	return 1;
}

void secondary_main(u64 hartid, u64 opaque)
{
	sec_hartid = hartid;
	sec_opaque = opaque;
	sec_satp = csr_read(satp);
	sec_sstatus = csr_read(sstatus);
	runs = runs + 1;
	__asm__ volatile("fence rw, rw" ::: "memory");
	started = 1;
	/* wait for an IPI (polled: SSIE is off) or for go */
	while (!go) {
		if (csr_read(sip) & MIP_SSIP) {
			csr_clear(sip, MIP_SSIP);
			seen_ipi = 1;
		}
	}
	sbi_call(EXT_HSM, 1, 0, 0, 0, 0, 0, 0);       /* hart_stop */
	for (;;)
		;                                       /* not reached */
}

int main(void)
{
	u64 me = rt_boot_hartid, other = me ^ 1;
	struct sbiret r;

	rt_printf("sbi-hsm: boot hart %ld, starting hart %ld\n", (long)me, (long)other);

	rt_section("initial states");
	CHECK_EQ(status(me), HSM_STARTED);
	CHECK_EQ(status(other), HSM_STOPPED);
	CHECK_EQ(status(64), SBI_ERR_INVALID_PARAM);

	rt_section("hart_start");
	r = sbi_call(EXT_HSM, 0, (long)other, (long)rt_secondary_entry, (long)OPAQUE, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK(wait_for(&started, 1));
	CHECK_EQ(sec_hartid, other);
	CHECK_EQ(sec_opaque, OPAQUE);
	CHECK_EQ(sec_satp, 0);
	CHECK_EQ(sec_sstatus & MSTATUS_SIE, 0);
	CHECK(wait_status(other, HSM_STARTED));
	r = sbi_call(EXT_HSM, 0, (long)other, (long)rt_secondary_entry, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_ALREADY_AVAILABLE);
	r = sbi_call(EXT_HSM, 0, 64, (long)rt_secondary_entry, 0, 0, 0, 0);
	CHECK_EQ(r.error, SBI_ERR_INVALID_PARAM);

	rt_section("IPI to the other hart");
	r = sbi_call(EXT_IPI, 0, 1L << other, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK(wait_for(&seen_ipi, 1));
	r = sbi_call(EXT_RFENCE, 0, 1L << other, 0, 0, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	r = sbi_call(EXT_RFENCE, 1, 0, -1L, 0, -1L, 0, 0);
	CHECK_EQ(r.error, 0);

	rt_section("hart_stop");
	go = 1;
	CHECK(wait_status(other, HSM_STOPPED));

	rt_section("start again");
	started = 0;
	go = 0;
	__asm__ volatile("fence rw, rw" ::: "memory");
	r = sbi_call(EXT_HSM, 0, (long)other, (long)rt_secondary_entry, 7, 0, 0, 0);
	CHECK_EQ(r.error, 0);
	CHECK(wait_for(&started, 1));
	CHECK_EQ(sec_opaque, 7);
	CHECK_EQ(runs, 2);
	go = 1;
	CHECK(wait_status(other, HSM_STOPPED));

	return rt_result();
}
