/* SBI HSM with four harts (S-mode under ringvm's SBI): the other harts
 * are STOPPED; hart_start runs one at rt_secondary_entry in S-mode with a0
 * = hartid, a1 = opaque and satp = 0, SIE = 0; it writes a flag the boot
 * hart waits for; STARTED while it runs; a second hart_start fails with
 * ALREADY_AVAILABLE; an IPI reaches it; hart_stop makes it STOPPED; it can
 * be started again.  Then all the others together, CYCLES times: started
 * at once (each sees its own hartid and opaque), all STARTED, stopped by
 * themselves, all STOPPED.  Ends with SRST shutdown.
 * RINGVM-ARGS: --cpus 4 */
#include "rt.h"

#define EXT_IPI    0x735049
#define EXT_RFENCE 0x52464E43
#define EXT_HSM    0x48534D

#define HSM_STARTED 0
#define HSM_STOPPED 1
#define SBI_ERR_INVALID_PARAM    (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

#define OPAQUE 0x1234567887654321UL
#define NHARTS 4
#define CYCLES 20

extern u64 rt_boot_hartid;
extern char rt_secondary_entry[];

static volatile u64 started, go, seen_ipi, runs;
static volatile u64 sec_hartid, sec_opaque, sec_satp, sec_sstatus;
/* the all-harts cycles */
static volatile u64 cycling, release, checkins[NHARTS], bad_opaque[NHARTS], work;

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

static u64 cycle_opaque(u64 cycle, u64 hart)
{
	return (cycle << 8) | hart | 0x4000000000000000UL;
}

/* A hart started by the all-harts cycles: check in, do a little shared
 * work, wait for the release of this cycle, stop. */
static void cycle_main(u64 hartid, u64 opaque)
{
	if (hartid >= NHARTS)
		for (;;)
			;
	u64 n = checkins[hartid] + 1;
	if (opaque != cycle_opaque(n, hartid))
		bad_opaque[hartid]++;
	__asm__ volatile("amoadd.d x0, %1, (%0)" :: "r"(&work), "r"(1UL) : "memory");
	__asm__ volatile("fence rw, rw" ::: "memory");
	checkins[hartid] = n;
	u64 t0 = rt_time();
	while (release < n && rt_time() - t0 < 4 * TIMEBASE_HZ)
		;
	sbi_call(EXT_HSM, 1, 0, 0, 0, 0, 0, 0);       /* hart_stop */
	for (;;)
		;
}

void secondary_main(u64 hartid, u64 opaque)
{
	if (cycling)
		cycle_main(hartid, opaque);
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
	for (u64 h = 0; h < NHARTS; h++)
		if (h != me)
			CHECK_EQ(status(h), HSM_STOPPED);
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

	rt_section("all harts started and stopped, repeatedly");
	cycling = 1;
	__asm__ volatile("fence rw, rw" ::: "memory");
	for (u64 c = 1; c <= CYCLES && !rt_failures; c++) {
		for (u64 h = 0; h < NHARTS; h++) {
			if (h == me)
				continue;
			r = sbi_call(EXT_HSM, 0, (long)h, (long)rt_secondary_entry,
				     (long)cycle_opaque(c, h), 0, 0, 0);
			CHECK_EQ(r.error, 0);
		}
		for (u64 h = 0; h < NHARTS; h++) {
			if (h == me)
				continue;
			if (!CHECK(wait_for(&checkins[h], c)))
				rt_printf("  cycle %lu: hart %lu did not run\n", c, h);
			CHECK_EQ(status(h), HSM_STARTED);
		}
		release = c;
		__asm__ volatile("fence rw, rw" ::: "memory");
		for (u64 h = 0; h < NHARTS; h++)
			if (h != me && !CHECK(wait_status(h, HSM_STOPPED)))
				rt_printf("  cycle %lu: hart %lu did not stop\n", c, h);
	}
	for (u64 h = 0; h < NHARTS; h++) {
		CHECK_EQ(bad_opaque[h], 0);
		CHECK_EQ(checkins[h], h == me ? 0 : CYCLES);
	}
	CHECK_EQ(work, CYCLES * (NHARTS - 1));

	return rt_result();
}
