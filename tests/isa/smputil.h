/* Helpers shared by the multi-hart ISA tests (smp-*.c in bare M-mode,
 * sbi-*.c in S-mode under an SBI): starting every hart on one function,
 * waiting with a deadline, a group barrier, explicit AMO/LR/SC wrappers.
 *
 * The tests must pass on an engine that runs harts one after another
 * (where every interleaving is coarse and coherence is trivial) and catch
 * a threaded one that gets atomicity, ordering or cross-hart requests
 * wrong; so waits are bounded (a lost wake-up is a FAIL, not a hang) and a
 * waiting hart yields through WFI instead of spinning away a whole time
 * slice of a round-robin engine.
 *
 * Secondary harts never CHECK(): the check counters are plain globals of
 * hart 0.  They record what they saw in per-hart slots; the boot hart
 * judges after smp_run() returns. */
#ifndef SMPUTIL_H
#define SMPUTIL_H

#include "rt.h"

#define SMP_MAX 8
#define MS(n) ((u64)(n) * (TIMEBASE_HZ / 1000))

#define fence_rw() __asm__ volatile("fence rw, rw" ::: "memory")
#define fence_io() __asm__ volatile("fence iorw, iorw" ::: "memory")

static inline u32 amoadd_w(volatile u32 *p, u32 v)
{
	u32 old;
	__asm__ volatile("amoadd.w %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

static inline u64 amoadd_d(volatile u64 *p, u64 v)
{
	u64 old;
	__asm__ volatile("amoadd.d %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

static inline u64 amoor_d(volatile u64 *p, u64 v)
{
	u64 old;
	__asm__ volatile("amoor.d.aqrl %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

static inline u64 amoand_d(volatile u64 *p, u64 v)
{
	u64 old;
	__asm__ volatile("amoand.d.aqrl %0, %2, (%1)" : "=r"(old) : "r"(p), "r"(v) : "memory");
	return old;
}

/* Time-bounded wait for *v == want (polling; for the boot hart, which also
 * has to notice a hart that never arrives).  1 if seen. */
static inline int smp_wait_eq(volatile u64 *v, u64 want, u64 ticks)
{
	u64 t0 = rt_time();
	while (*v != want)
		if (rt_time() - t0 > ticks)
			return 0;
	fence_rw();
	return 1;
}

#ifndef RT_SBI
/* ------------------------------------------------------------ bare M-mode */

static inline u64 smp_me(void)
{
	return csr_read(mhartid);
}

/* Sleep in WFI until an msip or `deadline` (mtime): the timer is the
 * backstop that turns a lost wake-up into a timeout.  mstatus.MIE stays 0,
 * so nothing traps; WFI only needs the bits in mie.  The caller re-checks
 * its condition (WFI may return early). */
static inline void smp_sleep_until(u64 me, u64 deadline)
{
	mmio_w64(CLINT_MTIMECMP(me), deadline);
	csr_write(mie, MIP_MSIP | MIP_MTIP);
	__asm__ volatile("wfi" ::: "memory");
}

static inline void smp_quiet(u64 me)
{
	mmio_w64(CLINT_MTIMECMP(me), ~0UL);
	mmio_w32(CLINT_MSIP(me), 0);
	csr_write(mie, 0);
}

/* A reusable barrier for the harts in `mask` (n of them).  A hart that
 * waits spins a little (adaptively: longer when its partners were
 * running, shorter when it had to sleep) and then sleeps in WFI, after
 * announcing itself in `sleepers`; the last one to arrive releases the
 * others and sends an msip to the sleepers (only to them: an MMIO write
 * on every release would delay the releaser and spoil the overlap the
 * litmus tests want).  Should announcement and release cross (they are
 * the SB pattern, ordered by fence rw,rw), the sleeper's timer still
 * wakes it within 20 ms.  A wait longer than SMP_BARRIER_TIMEOUT marks
 * the barrier broken; every later wait on it returns at once with 0. */
#define SMP_BARRIER_TIMEOUT MS(5000)
struct smp_barrier {
	volatile u32 count;
	volatile u32 gen;
	volatile u32 broken;
	volatile u64 sleepers;
	u32 n;
	u64 mask;
};

struct smp_spin {
	u32 limit;
};

static inline void smp_barrier_init(struct smp_barrier *b, u64 mask)
{
	b->count = 0;
	b->gen = 0;
	b->broken = 0;
	b->sleepers = 0;
	b->n = (u32)__builtin_popcountl(mask);
	b->mask = mask;
	fence_rw();
}

static inline int smp_barrier_wait(struct smp_barrier *b, u64 me, struct smp_spin *s)
{
	if (b->broken)
		return 0;
	u32 g = b->gen;
	fence_rw();
	if (amoadd_w(&b->count, 1) == b->n - 1) {
		b->count = 0;
		fence_rw();
		b->gen = g + 1;
		fence_rw();
		u64 sl = b->sleepers;
		if (sl) {
			fence_io();
			for (u64 h = 0; h < SMP_MAX; h++)
				if ((sl >> h) & 1)
					mmio_w32(CLINT_MSIP(h), 1);
		}
		return 1;
	}
	if (s->limit < 8)
		s->limit = 8;
	u32 spins = 0;
	int slept = 0;
	u64 t0 = 0;
	while (b->gen == g) {
		if (++spins < s->limit)
			continue;
		if (!slept) {
			t0 = rt_time();
			amoor_d(&b->sleepers, 1UL << me);
		}
		slept = 1;
		/* clear our msip, then re-check: a release after the check
		 * sees us in `sleepers` and sets msip again, so the WFI cannot
		 * miss it */
		mmio_w32(CLINT_MSIP(me), 0);
		fence_io();
		if (b->gen != g)
			break;
		u64 now = rt_time();
		if (now - t0 > SMP_BARRIER_TIMEOUT || b->broken) {
			b->broken = 1;
			amoand_d(&b->sleepers, ~(1UL << me));
			csr_write(mie, 0);
			return 0;
		}
		smp_sleep_until(me, now + MS(20));
	}
	if (slept) {
		amoand_d(&b->sleepers, ~(1UL << me));
		csr_write(mie, 0);
		s->limit = s->limit > 16 ? s->limit / 2 : 8;
	} else if (s->limit < 4096) {
		s->limit *= 2;
	}
	fence_rw();
	return 1;
}

/* Run fn(hartid, arg) on harts 0..n-1 (this one is hart 0) and wait up to
 * `ticks` for all of them to return.  Hart 0 calls fn only once every
 * other hart has started (rt/crt0.S clears a hart's msip as it starts it:
 * an IPI sent before that would be lost).  Returns 0, or a mask of the
 * harts that did not finish (a hart that never started, or hangs). */
typedef void (*smp_fn)(u64 hartid, void *arg);
static smp_fn volatile smp_body;
static void *volatile smp_arg;
static volatile u64 smp_done_mask, smp_started_mask;

static void smp_entry(u64 hartid)
{
	smp_quiet(hartid);   /* no stale timer (QEMU resets mtimecmp to 0) */
	amoor_d(&smp_started_mask, 1UL << hartid);
	smp_body(hartid, smp_arg);
	fence_rw();
	amoor_d(&smp_done_mask, 1UL << hartid);
	smp_quiet(hartid);
}

static inline u64 smp_run(unsigned n, smp_fn fn, void *arg, u64 ticks)
{
	u64 all = (n >= 64 ? ~0UL : (1UL << n) - 1);
	smp_body = fn;
	smp_arg = arg;
	smp_done_mask = 0;
	smp_started_mask = 1;
	fence_rw();
	for (unsigned h = 1; h < n; h++)
		rt_start_hart(h, smp_entry);
	u64 t0 = rt_time();
	while (smp_started_mask != all && rt_time() - t0 < ticks)
		;
	if (smp_started_mask != all)
		return all & ~smp_started_mask;
	smp_entry(0);
	t0 = rt_time();
	while (smp_done_mask != all && rt_time() - t0 < ticks)
		;
	fence_rw();
	return all & ~smp_done_mask;
}

#else /* RT_SBI */
/* ------------------------------------------------ S-mode under an SBI */

#define EXT_IPI    0x735049
#define EXT_RFENCE 0x52464E43
#define EXT_HSM    0x48534D
#define HSM_STARTED 0
#define HSM_STOPPED 1

extern u64 rt_boot_hartid;
extern char rt_secondary_entry[];

/* S-mode cannot read mhartid: every hart keeps its id in tp (nothing
 * else here uses tp; the trap entry saves and restores it). */
static inline u64 smp_me(void)
{
	u64 v;
	__asm__ volatile("mv %0, tp" : "=r"(v));
	return v;
}

static inline void smp_set_me(u64 hartid)
{
	__asm__ volatile("mv tp, %0" :: "r"(hartid));
}

static inline long sbi_hart_status(u64 hart)
{
	struct sbiret r = sbi_call(EXT_HSM, 2, (long)hart, 0, 0, 0, 0, 0);
	return r.error ? r.error : r.value;
}

/* A spinning barrier (the SBI has no cheap wake-up for S-mode): gen/count
 * as in the M-mode one; a wait longer than 5 s breaks it. */
struct smp_barrier {
	volatile u32 count;
	volatile u32 gen;
	volatile u32 broken;
	u32 n;
};

static inline void smp_barrier_init(struct smp_barrier *b, u32 n)
{
	b->count = 0;
	b->gen = 0;
	b->broken = 0;
	b->n = n;
	fence_rw();
}

static inline int smp_barrier_wait(struct smp_barrier *b)
{
	if (b->broken)
		return 0;
	u32 g = b->gen;
	fence_rw();
	if (amoadd_w(&b->count, 1) == b->n - 1) {
		b->count = 0;
		fence_rw();
		b->gen = g + 1;
		return 1;
	}
	u64 t0 = rt_time();
	for (u32 i = 0; b->gen == g; i++)
		if ((i & 255) == 255 && (b->broken || rt_time() - t0 > MS(5000))) {
			b->broken = 1;
			return 0;
		}
	fence_rw();
	return 1;
}

/* Per-hart trap stacks for harts started through HSM (the boot hart's is
 * rt/'s). */
static u8 smp_trap_stack[SMP_MAX][8192] __attribute__((aligned(16)));

typedef void (*smp_fn)(u64 hartid, void *arg);
static smp_fn volatile smp_body;
static void *volatile smp_arg;
static volatile u64 smp_done_mask, smp_started_mask;

void secondary_main(u64 hartid, u64 opaque)
{
	(void)opaque;
	smp_set_me(hartid);
	if (hartid < SMP_MAX)
		csr_write(sscratch, (u64)(smp_trap_stack[hartid] + sizeof(smp_trap_stack[0])));
	amoor_d(&smp_started_mask, 1UL << hartid);
	smp_body(hartid, smp_arg);
	fence_rw();
	amoor_d(&smp_done_mask, 1UL << hartid);
	sbi_call(EXT_HSM, 1, 0, 0, 0, 0, 0, 0);   /* hart_stop */
	for (;;)
		__asm__ volatile("wfi");
}

/* Start harts 0..n-1 other than the boot hart with SBI hart_start, run
 * fn(hartid, arg) on all of them (the boot hart too, once every other hart
 * has started) and wait up to `ticks` for all to return; the others then
 * stop (HSM STOPPED again).  Returns 0, or a mask of the harts that did
 * not start or did not finish. */
static inline u64 smp_run(unsigned n, smp_fn fn, void *arg, u64 ticks)
{
	u64 me = rt_boot_hartid, all = (1UL << n) - 1;
	smp_set_me(me);
	smp_body = fn;
	smp_arg = arg;
	smp_done_mask = 0;
	smp_started_mask = 1UL << me;
	fence_rw();
	for (u64 h = 0; h < n; h++)
		if (h != me)
			sbi_call(EXT_HSM, 0, (long)h, (long)rt_secondary_entry, 0, 0, 0, 0);
	u64 t0 = rt_time();
	while (smp_started_mask != all && rt_time() - t0 < ticks)
		;
	if (smp_started_mask != all)
		return all & ~smp_started_mask;
	fn(me, arg);
	fence_rw();
	amoor_d(&smp_done_mask, 1UL << me);
	t0 = rt_time();
	while (smp_done_mask != all && rt_time() - t0 < ticks)
		;
	fence_rw();
	u64 late = all & ~smp_done_mask;
	/* and back to STOPPED */
	for (u64 h = 0; h < n; h++)
		if (h != me && !((late >> h) & 1))
			while (sbi_hart_status(h) != HSM_STOPPED && rt_time() - t0 < ticks)
				;
	return late;
}

#endif /* RT_SBI */

/* Tiny per-hart pseudo-random numbers (jitter in the litmus tests). */
static inline u32 smp_rand(u64 *state)
{
	u64 x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return (u32)(x >> 32);
}

static inline void smp_delay(u32 loops)
{
	for (u32 i = 0; i < loops; i++)
		__asm__ volatile("" ::: "memory");
}

#endif
