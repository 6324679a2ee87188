/* Two harts, bare M-mode (with --bios none every hart starts at the ELF
 * entry; hart 1 waits in WFI until hart 0 wakes it with a CLINT msip):
 * AMO and LR/SC atomicity under contention, an LR/SC reservation broken
 * by the other hart's store, message passing with fences, msip between
 * harts, per-hart mtimecmp.
 * RINGVM-ARGS: --cpus 2 */
#include "rt.h"

#define N 20000

static volatile u64 counter, plain, lock, checked_in, phase, data, flag, done;
static volatile u64 res_word __attribute__((aligned(64)));
static volatile u64 h1_saw_timer, h1_hartid;

#define MS(n) ((u64)(n) * (TIMEBASE_HZ / 1000))

static int wait_for(volatile u64 *v, u64 want)
{
	u64 t0 = rt_time();
	while (*v != want)
		if (rt_time() - t0 > 2 * TIMEBASE_HZ)
			return 0;
	__asm__ volatile("fence rw, rw" ::: "memory");
	return 1;
}

static void spin_lock(void)
{
	u64 tmp;
	__asm__ volatile("1:\tlr.d.aq %0, (%1)\n\tbnez %0, 1b\n\t"
			 "sc.d %0, %2, (%1)\n\tbnez %0, 1b"
			 : "=&r"(tmp) : "r"(&lock), "r"(1UL) : "memory");
}

static void spin_unlock(void)
{
	__asm__ volatile("amoswap.d.rl x0, x0, (%0)" :: "r"(&lock) : "memory");
}

static void work(void)
{
	for (int i = 0; i < N; i++) {
		__asm__ volatile("amoadd.d x0, %1, (%0)" :: "r"(&counter), "r"(1UL) : "memory");
		spin_lock();
		plain = plain + 1;
		spin_unlock();
	}
}

static void hart1(u64 hartid)
{
	h1_hartid = hartid;
	__asm__ volatile("fence rw, rw" ::: "memory");
	checked_in = 1;

	/* phase 1: contention */
	while (phase != 1)
		;
	work();
	__asm__ volatile("fence rw, rw" ::: "memory");
	done = 1;

	/* phase 2: break hart 0's reservation with a plain store */
	while (phase != 2)
		;
	res_word = 0x77;
	__asm__ volatile("fence rw, rw" ::: "memory");
	done = 2;

	/* phase 3: message passing */
	while (phase != 3)
		;
	data = 0xabcdef;
	__asm__ volatile("fence w, w" ::: "memory");
	flag = 1;

	/* phase 4: msip to hart 0 */
	while (phase != 4)
		;
	mmio_w32(CLINT_MSIP(0), 1);

	/* phase 5: own timer */
	while (phase != 5)
		;
	mmio_w64(CLINT_MTIMECMP(1), rt_time() + MS(2));
	csr_write(mie, MIP_MTIP);
	u64 t0 = rt_time();
	while (!(csr_read(mip) & MIP_MTIP) && rt_time() - t0 < 2 * TIMEBASE_HZ)
		__asm__ volatile("wfi");
	h1_saw_timer = (csr_read(mip) & MIP_MTIP) ? 1 : 2;
	mmio_w64(CLINT_MTIMECMP(1), ~0UL);
	csr_write(mie, 0);
	__asm__ volatile("fence rw, rw" ::: "memory");
	done = 5;
}

int main(void)
{
	rt_section("hart 1 starts");
	mmio_w64(CLINT_MTIMECMP(1), ~0UL);
	rt_start_hart(1, hart1);
	if (!CHECK(wait_for(&checked_in, 1))) {
		rt_puts("  hart 1 never ran (with --bios none every hart should start at the entry)\n");
		return rt_result();
	}
	CHECK_EQ(h1_hartid, 1);

	rt_section("AMO and LR/SC under contention");
	phase = 1;
	work();
	CHECK(wait_for(&done, 1));
	CHECK_EQ(counter, 2 * N);
	CHECK_EQ(plain, 2 * N);

	rt_section("another hart's store breaks the reservation");
	{
		u64 v, rc;
		res_word = 5;
		__asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(&res_word) : "memory");
		phase = 2;
		u64 t0 = rt_time();
		while (done != 2 && rt_time() - t0 < 2 * TIMEBASE_HZ)
			;
		__asm__ volatile("sc.d %0, %2, (%1)" : "=r"(rc) : "r"(&res_word), "r"(9UL)
				 : "memory");
		CHECK_EQ(done, 2);
		CHECK_EQ(v, 5);
		CHECK(rc != 0);
		CHECK_EQ(res_word, 0x77);
	}

	rt_section("message passing");
	phase = 3;
	CHECK(wait_for(&flag, 1));
	__asm__ volatile("fence r, r" ::: "memory");
	CHECK_EQ(data, 0xabcdef);

	rt_section("msip from hart 1 to hart 0");
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);
	phase = 4;
	{
		u64 t0 = rt_time();
		while (!(csr_read(mip) & MIP_MSIP) && rt_time() - t0 < 2 * TIMEBASE_HZ)
			;
	}
	CHECK(csr_read(mip) & MIP_MSIP);
	CHECK_EQ(mmio_r32(CLINT_MSIP(0)), 1);
	mmio_w32(CLINT_MSIP(0), 0);
	CHECK_EQ(csr_read(mip) & MIP_MSIP, 0);

	rt_section("per-hart mtimecmp");
	mmio_w64(CLINT_MTIMECMP(0), ~0UL);
	phase = 5;
	CHECK(wait_for(&done, 5));
	CHECK_EQ(h1_saw_timer, 1);
	CHECK_EQ(csr_read(mip) & MIP_MTIP, 0);     /* hart 0's timer untouched */
	return rt_result();
}
