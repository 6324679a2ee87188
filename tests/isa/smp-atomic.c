/* Atomicity under contention, NHARTS harts in bare M-mode, each phase
 * started together through a barrier:
 *  - amoadd.w on both halves of one doubleword and amoadd.d carrying
 *    across bit 32: exact totals (a .w AMO must not touch its neighbour);
 *  - amoor.w/amoand.w setting and clearing each hart's own bits in one
 *    shared word: every returned old value shows exactly the hart's own
 *    previous write (a lost update flips another hart's view);
 *  - an amoswap.w.aq spinlock (released by fence + sw) around plain,
 *    non-atomic updates of a two-word record: exact count, and the record
 *    is never seen half-updated inside the lock;
 *  - lr.d/sc.d and lr.w/sc.w increment loops on one shared word: exact
 *    totals;
 *  - lr/sc increments of neighbouring words of one 64-byte line, one word
 *    per hart (.d and .w): exact per-word counts, and no livelock.
 * Retry loops are bounded: a livelock or a hang is a FAIL within seconds.
 * RINGVM-ARGS: --cpus 4 */
#include "smputil.h"

#ifndef NHARTS
#define NHARTS 4
#endif
#ifndef K
#define K 20000                /* iterations per hart and phase */
#endif
#define SC_GIVE_UP 1000000     /* consecutive SC failures = livelock */

static volatile u32 w32[2] __attribute__((aligned(8)));
static volatile u64 d64;
#define D64_INIT 0xffffff00UL  /* the low half carries into the high half */
static volatile u32 bits;
static volatile u32 lock;
static volatile u64 rec[2];    /* rec[1] == 2 * rec[0] whenever unlocked */
static volatile u64 lrsc_d;
static volatile u32 lrsc_w;
static volatile u64 line_d[8] __attribute__((aligned(64)));
static volatile u32 line_w[16] __attribute__((aligned(64)));

struct hart_res {
	u64 bit_errors;        /* amoor/amoand saw a wrong old value */
	u64 torn;              /* the locked record was inconsistent */
	u64 lock_timeout;
	u64 sc_fail;           /* SC failures (information) */
	u64 livelock;          /* gave up on an LR/SC loop */
	u64 barrier_broken;
};
static struct hart_res res[SMP_MAX];
static struct smp_barrier bar;

/* One lr/sc increment attempt; 0 when the SC succeeded. */
static inline u64 lrsc_inc_d(volatile u64 *p)
{
	u64 v, rc;
	__asm__ volatile("lr.d %0, (%2)\n\taddi %0, %0, 1\n\tsc.d %1, %0, (%2)"
			 : "=&r"(v), "=&r"(rc) : "r"(p) : "memory");
	return rc;
}

static inline u64 lrsc_inc_w(volatile u32 *p)
{
	u64 v, rc;
	__asm__ volatile("lr.w %0, (%2)\n\taddiw %0, %0, 1\n\tsc.w %1, %0, (%2)"
			 : "=&r"(v), "=&r"(rc) : "r"(p) : "memory");
	return rc;
}

/* Increment with retries; 0 on a livelock. */
static int retry_d(volatile u64 *p, struct hart_res *r)
{
	for (u64 n = 0; n < SC_GIVE_UP; n++) {
		if (lrsc_inc_d(p) == 0)
			return 1;
		r->sc_fail++;
	}
	r->livelock++;
	return 0;
}

static int retry_w(volatile u32 *p, struct hart_res *r)
{
	for (u64 n = 0; n < SC_GIVE_UP; n++) {
		if (lrsc_inc_w(p) == 0)
			return 1;
		r->sc_fail++;
	}
	r->livelock++;
	return 0;
}

static int lock_take(struct hart_res *r)
{
	u64 t0 = rt_time();
	for (;;) {
		u32 old;
		__asm__ volatile("amoswap.w.aq %0, %2, (%1)"
				 : "=r"(old) : "r"(&lock), "r"(1u) : "memory");
		if (old == 0)
			return 1;
		for (u32 i = 0; lock; i++)
			if ((i & 1023) == 1023 && rt_time() - t0 > MS(5000)) {
				r->lock_timeout++;
				return 0;
			}
	}
}

static void lock_give(void)
{
	__asm__ volatile("fence rw, w" ::: "memory");
	lock = 0;
}

static void work(u64 me, void *arg)
{
	struct hart_res *r = &res[me];
	struct smp_spin spin = { 0 };
	(void)arg;

#define PHASE() do { if (!smp_barrier_wait(&bar, me, &spin)) { \
		r->barrier_broken = 1; return; } } while (0)

	PHASE();
	for (int i = 0; i < K; i++) {
		amoadd_w(&w32[0], 1);
		amoadd_w(&w32[1], 3);
		amoadd_d(&d64, (1UL << 32) + 1);
	}

	PHASE();
	u32 mine = (1u << me) | (1u << (me + 16));
	for (int i = 0; i < K; i++) {
		u32 old;
		__asm__ volatile("amoor.w %0, %2, (%1)" : "=r"(old) : "r"(&bits), "r"(mine) : "memory");
		if (old & mine)
			r->bit_errors++;
		__asm__ volatile("amoand.w %0, %2, (%1)" : "=r"(old) : "r"(&bits), "r"(~mine) : "memory");
		if ((old & mine) != mine)
			r->bit_errors++;
	}

	PHASE();
	for (int i = 0; i < K; i++) {
		if (!lock_take(r))
			break;
		u64 a = rec[0], b = rec[1];
		if (b != 2 * a)
			r->torn++;
		rec[0] = a + 1;
		smp_delay(i & 3);   /* widen the window between the two stores */
		rec[1] = b + 2;
		lock_give();
	}

	PHASE();
	for (int i = 0; i < K; i++)
		if (!retry_d(&lrsc_d, r) || !retry_w(&lrsc_w, r))
			break;

	PHASE();
	for (int i = 0; i < K; i++)
		if (!retry_d(&line_d[me], r) || !retry_w(&line_w[me + 8], r))
			break;
	PHASE();
#undef PHASE
}

int main(void)
{
	u64 t0 = rt_time();

	d64 = D64_INIT;
	smp_barrier_init(&bar, (1UL << NHARTS) - 1);
	rt_printf("smp-atomic: %d harts, %d iterations each\n", NHARTS, K);

	rt_section("all harts run and finish");
	u64 late = smp_run(NHARTS, work, 0, MS(30000));
	if (!CHECK_EQ(late, 0))
		rt_printf("  harts that did not finish: mask 0x%lx\n", late);

	u64 sc_fail = 0;
	for (int h = 0; h < NHARTS; h++) {
		rt_section("per-hart results");
		if (!CHECK_EQ(res[h].barrier_broken, 0) | !CHECK_EQ(res[h].lock_timeout, 0) |
		    !CHECK_EQ(res[h].livelock, 0) | !CHECK_EQ(res[h].bit_errors, 0) |
		    !CHECK_EQ(res[h].torn, 0))
			rt_printf("  (hart %d)\n", h);
		sc_fail += res[h].sc_fail;
	}

	rt_section("amoadd.w / amoadd.d totals");
	CHECK_EQ(w32[0], (u32)(NHARTS * K));
	CHECK_EQ(w32[1], (u32)(3 * NHARTS * K));
	CHECK_EQ(d64, D64_INIT + (u64)NHARTS * K * ((1UL << 32) + 1));

	rt_section("amoor.w / amoand.w");
	CHECK_EQ(bits, 0);

	rt_section("amoswap spinlock around plain updates");
	CHECK_EQ(rec[0], (u64)NHARTS * K);
	CHECK_EQ(rec[1], 2 * (u64)NHARTS * K);
	CHECK_EQ(lock, 0);

	rt_section("lr/sc on one word");
	CHECK_EQ(lrsc_d, (u64)NHARTS * K);
	CHECK_EQ(lrsc_w, (u32)(NHARTS * K));

	rt_section("lr/sc on neighbouring words of one line");
	for (int h = 0; h < 8; h++) {
		CHECK_EQ(line_d[h], h < NHARTS ? K : 0);
		CHECK_EQ(line_w[h + 8], h < NHARTS ? K : 0);
		CHECK_EQ(line_w[h], 0);
	}

	rt_printf("smp-atomic: %lu SC failures in all, %lu ms\n", sc_fail,
		  (rt_time() - t0) / MS(1));
	return rt_result();
}
