/* Litmus tests, bare M-mode, four harts as two pairs (0->1 and 3->2) that
 * take turns running each test on their own variables.  Each round starts
 * both harts of a pair together (barrier, then a small random delay on
 * each side), writes the round number and reads the partner's variable;
 * the outcome of every round is counted and the forbidden outcome must
 * never appear:
 *   mp-fence  P0: data = r; fence w,w; flag = r
 *             P1: f = flag; fence r,r; d = data   forbidden: f new, d old
 *   sb-fence  P0: x = r; fence rw,rw; s = y
 *             P1: y = r; fence rw,rw; t = x       forbidden: s and t old
 *   mp-lrsc   P0: data = r; lr.w/sc.w.rl flag = r
 *             P1: lr.w.aq f = flag; d = data      forbidden: f new, d old
 *   mp-amo    P0: data = r; amoswap.w.rl flag = r
 *             P1: amoor.w.aq f = flag; d = data   forbidden: f new, d old
 * A value other than r-1 or r (incoherence) also fails.  Two streaming
 * variants need no barrier and so overlap far more on a threaded engine:
 * P0 and P1 each run STREAM iterations back to back on the same two
 * variables and log what they read, judged afterwards:
 *   mp-stream P0: data = i; fence w,w; flag = i
 *             P1: f = flag; fence r,r; d = data   forbidden: d < f
 *   sb-stream P0: x = i; fence rw,rw; s[i] = y
 *             P1: y = j; fence rw,rw; t[j] = x    forbidden: some j > s[i]
 *             with t[j] < i, i.e. t[s[i] + 1] < i (t never decreases)
 * The outcome histogram is printed for information.  On an engine that runs harts one
 * at a time only the sequential outcomes show up; a threaded engine that
 * drops a fence (sb-fence on an x86 host) or an .aq/.rl shows the
 * forbidden one.
 * RINGVM-ARGS: --cpus 4 */
#include "smputil.h"

#define NHARTS 4
#ifndef ROUNDS
#define ROUNDS 10000           /* per pair and test */
#endif
#ifndef STREAM
#define STREAM 100000          /* iterations of the streaming tests */
#endif
#define SC_GIVE_UP 1000000
#define RENDEZVOUS 64          /* lock-step exchanges before a stream */

enum { MP_FENCE, SB_FENCE, MP_LRSC, MP_AMO, MP_STREAM, SB_STREAM, NTESTS };
static const char *const test_name[NTESTS] = { "mp-fence", "sb-fence", "mp-lrsc", "mp-amo",
					       "mp-stream", "sb-stream" };
/* Outcome index = 2 * (P1's first read is new) + (its second read is
 * new) for MP; 2 * (P0's read is new) + (P1's read is new) for SB. */
static const char *const mp_label[4] = { "flag old data old", "flag old data new",
					 "flag new data old (forbidden)", "flag new data new" };
static const char *const sb_label[4] = { "both old (forbidden)", "P0 old P1 new",
					 "P0 new P1 old", "both new" };
static const char *const mps_label[4] = { "data == flag", "data ahead of flag",
					  "data behind flag (forbidden)", "-" };
static const char *const sbs_label[4] = { "P0 read after P1 ended", "P0 missed a write that saw P0's",
					  "both missed (forbidden)", "-" };
static const char *const *const labels[NTESTS] = { mp_label, sb_label, mp_label, mp_label,
						   mps_label, sbs_label };
static const int forbidden[NTESTS] = { 2, 0, 2, 2, 2, 2 };
static const u64 samples[NTESTS] = { ROUNDS, ROUNDS, ROUNDS, ROUNDS, STREAM, STREAM };

struct pair {
	volatile u32 a __attribute__((aligned(64)));   /* data (MP) / x (SB) */
	volatile u32 b __attribute__((aligned(64)));   /* flag (MP) / y (SB) */
	volatile u32 p0_saw __attribute__((aligned(64)));
	struct smp_barrier bar __attribute__((aligned(64)));
	u64 hist[NTESTS][4];     /* written by P1 only */
	u64 incoherent[NTESTS];
	u64 livelock;
	u64 broken;
	volatile u32 ready[2];   /* streaming start handshake */
	u32 log0[STREAM + 2];    /* streaming tests: what P0 / P1 read */
	u32 log1[STREAM + 2];
};
static struct pair pairs[2];
static struct smp_barrier all;

static int is_p0(u64 me)
{
	return me == 0 || me == 3;
}

static void p0_round(struct pair *p, int test, u32 r)
{
	switch (test) {
	case MP_FENCE:
		p->a = r;
		__asm__ volatile("fence w, w" ::: "memory");
		p->b = r;
		break;
	case SB_FENCE: {
		p->a = r;
		__asm__ volatile("fence rw, rw" ::: "memory");
		u32 s = p->b;
		p->p0_saw = s;   /* judged by P1 after the next barrier */
		break;
	}
	case MP_LRSC: {
		p->a = r;
		u64 n;
		for (n = 0; n < SC_GIVE_UP; n++) {
			u32 old, rc;
			__asm__ volatile("lr.w %0, (%2)\n\tsc.w.rl %1, %3, (%2)"
					 : "=&r"(old), "=&r"(rc) : "r"(&p->b), "r"(r) : "memory");
			if (rc == 0)
				break;
		}
		if (n == SC_GIVE_UP)
			p->livelock++;
		break;
	}
	case MP_AMO:
		p->a = r;
		__asm__ volatile("amoswap.w.rl x0, %1, (%0)" :: "r"(&p->b), "r"(r) : "memory");
		break;
	}
}

static void count(struct pair *p, int test, u32 r, u32 first, u32 second)
{
	if ((first != r && first != r - 1) || (second != r && second != r - 1)) {
		p->incoherent[test]++;
		return;
	}
	p->hist[test][2 * (first == r) + (second == r)]++;
}

/* P1's side; for SB it judges the previous round (P0's read arrives with
 * the barrier) and returns its own read for the next call. */
static u32 p1_round(struct pair *p, int test, u32 r, u32 prev_t)
{
	u32 f, d;
	switch (test) {
	case MP_FENCE:
		f = p->b;
		__asm__ volatile("fence r, r" ::: "memory");
		d = p->a;
		count(p, test, r, f, d);
		return 0;
	case SB_FENCE:
		if (r > 1)
			count(p, test, r - 1, p->p0_saw, prev_t);
		p->b = r;
		__asm__ volatile("fence rw, rw" ::: "memory");
		return p->a;
	case MP_LRSC:
		__asm__ volatile("lr.w.aq %0, (%1)" : "=r"(f) : "r"(&p->b) : "memory");
		d = p->a;
		count(p, test, r, f, d);
		return 0;
	case MP_AMO:
		__asm__ volatile("amoor.w.aq %0, x0, (%1)" : "=r"(f) : "r"(&p->b) : "memory");
		d = p->a;
		count(p, test, r, f, d);
		return 0;
	}
	return 0;
}

static void stream_p0(struct pair *p, int test)
{
	for (u32 i = 1; i <= STREAM; i++) {
		if (test == MP_STREAM) {
			p->a = i;
			__asm__ volatile("fence w, w" ::: "memory");
			p->b = i;
		} else {
			p->a = i;
			__asm__ volatile("fence rw, rw" ::: "memory");
			p->log0[i] = p->b;
		}
	}
}

static void stream_p1(struct pair *p, int test)
{
	for (u32 j = 1; j <= STREAM; j++) {
		if (test == MP_STREAM) {
			u32 f = p->b;
			__asm__ volatile("fence r, r" ::: "memory");
			p->log1[j] = p->a;
			p->log0[j] = f;
		} else {
			p->b = j;
			__asm__ volatile("fence rw, rw" ::: "memory");
			p->log1[j] = p->a;
		}
	}
}

/* P1, after both loops: classify every iteration.  Reads of a variable
 * its partner writes in increasing order never decrease (coherence). */
static void stream_judge(struct pair *p, int test)
{
	u32 last0 = 0, last1 = 0;
	for (u32 i = 1; i <= STREAM; i++) {
		u32 v0 = p->log0[i], v1 = p->log1[i];
		if (v0 > STREAM || v1 > STREAM || v0 < last0 ||
		    (test == SB_STREAM && v1 < last1)) {
			p->incoherent[test]++;
			continue;
		}
		last0 = v0;
		last1 = v1;
		if (test == MP_STREAM) {
			/* v0 = flag, v1 = data read after it */
			p->hist[test][v1 == v0 ? 0 : v1 > v0 ? 1 : 2]++;
		} else if (v0 == STREAM) {
			p->hist[test][0]++;
		} else {
			/* P0's iteration i missed P1's write v0 + 1 */
			p->hist[test][p->log1[v0 + 1] >= i ? 1 : 2]++;
		}
	}
}

/* One test on one pair; 0 if a barrier broke. */
static int pair_test(struct pair *p, u64 me, int test, struct smp_spin *spin, u64 *seed)
{
	if (!smp_barrier_wait(&p->bar, me, spin))
		return 0;
	if (test == MP_STREAM || test == SB_STREAM) {
		/* Start together: RENDEZVOUS steps in lock-step with the
		 * partner, spinning (not sleeping), so that both are running
		 * (on different host CPUs, if the host has them) when the
		 * loops begin.  Each wait is bounded: on an engine that runs
		 * one hart at a time every step costs a time slice. */
		volatile u32 *mine = &p->ready[is_p0(me)], *theirs = &p->ready[!is_p0(me)];
		for (u32 k = 0; k < RENDEZVOUS; k++) {
			u32 step = *mine + 1;
			*mine = step;
			fence_rw();
			for (u32 n = 0; n < 1000000 && *theirs < step; n++)
				;
		}
		fence_rw();
		if (is_p0(me))
			stream_p0(p, test);
		else
			stream_p1(p, test);
		if (!smp_barrier_wait(&p->bar, me, spin))
			return 0;
		if (!is_p0(me))
			stream_judge(p, test);
		return 1;
	}
	u32 t = 0;
	for (u32 r = 1; r <= ROUNDS; r++) {
		if (!smp_barrier_wait(&p->bar, me, spin))
			return 0;
		smp_delay(smp_rand(seed) & 31);
		if (is_p0(me))
			p0_round(p, test, r);
		else
			t = p1_round(p, test, r, t);
	}
	if (!smp_barrier_wait(&p->bar, me, spin))
		return 0;
	if (test == SB_FENCE && !is_p0(me))
		count(p, test, ROUNDS, p->p0_saw, t);
	return 1;
}

/* The pairs take turns (the other pair sleeps in the barrier): on a host
 * with fewer cores than harts, two busy pairs would keep partners from
 * running at the same time, and only simultaneity can show a reordering. */
static void run(u64 me, void *arg)
{
	unsigned mine = me >= 2;
	struct pair *p = &pairs[mine];
	struct smp_spin spin = { 0 }, spin_all = { 0 };
	u64 seed = 0x9e3779b97f4a7c15UL * (me + 1);
	(void)arg;

	for (int test = 0; test < NTESTS; test++) {
		for (unsigned turn = 0; turn < 2; turn++) {
			if (!smp_barrier_wait(&all, me, &spin_all)) {
				p->broken = 1;
				return;
			}
			if (turn != mine)
				continue;
			if (!pair_test(p, me, test, &spin, &seed)) {
				p->broken = 1;
				return;
			}
			/* the next test starts from 0 */
			p->a = p->b = 0;
		}
	}
}

int main(void)
{
	u64 t0 = rt_time();

	rt_printf("smp-litmus: %d rounds per test (streams: %d iterations) on each of 2 pairs\n",
		  ROUNDS, STREAM);
	smp_barrier_init(&all, (1UL << NHARTS) - 1);
	smp_barrier_init(&pairs[0].bar, 0x3);
	smp_barrier_init(&pairs[1].bar, 0xc);

	rt_section("all harts run and finish");
	u64 late = smp_run(NHARTS, run, 0, MS(50000));
	if (!CHECK_EQ(late, 0))
		rt_printf("  harts that did not finish: mask 0x%lx\n", late);

	for (int i = 0; i < 2; i++) {
		struct pair *p = &pairs[i];
		rt_section("pair state");
		CHECK_EQ(p->broken, 0);
		CHECK_EQ(p->livelock, 0);
		for (int test = 0; test < NTESTS; test++) {
			rt_section(test_name[test]);
			u64 total = p->incoherent[test];
			rt_printf("%s pair %d:", test_name[test], i);
			for (int o = 0; o < 4; o++) {
				total += p->hist[test][o];
				if (labels[test][o][0] != '-')
					rt_printf(" [%s] %lu", labels[test][o], p->hist[test][o]);
			}
			rt_printf("\n");
			CHECK_EQ(p->hist[test][forbidden[test]], 0);
			CHECK_EQ(p->incoherent[test], 0);
			CHECK_EQ(total, p->broken ? total : samples[test]);
		}
	}
	rt_printf("smp-litmus: %lu ms\n", (rt_time() - t0) / MS(1));
	return rt_result();
}
