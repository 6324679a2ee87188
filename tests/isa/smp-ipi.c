/* IPIs between four harts, bare M-mode, CLINT msip: every waiting hart
 * sleeps in WFI (MIE off, mie.MSIE on) and must be woken by the msip
 * another hart sends after writing it a message, so a lost wake-up, a
 * wake-up of the wrong hart or a message not yet visible when the IPI
 * arrives shows up as a FAIL (the message and the time it was sent are
 * checked on arrival):
 *   ring       hart 0 -> 1 -> 2 -> 3 -> 0, LAPS times
 *   ping-pong  hart 0 <-> hart k, PINGS round trips for each k
 *   broadcast  hart 0 -> all, each answers (amoadd + msip), BCASTS times
 * A sleeping hart also arms its timer (500 ms) as a backstop, so a lost
 * IPI costs time instead of hanging, and every hop slower than
 * LATE_TICKS counts as late (a FAIL); hart 0 gives up after 20 s.
 * RINGVM-ARGS: --cpus 4 */
#include "smputil.h"

#define NHARTS 4
#define LAPS 2000
#define PINGS 1000
#define BCASTS 1000
#define LATE_TICKS MS(300)
#define BACKSTOP MS(500)

enum { MSG_RING = 1, MSG_PING, MSG_PONG, MSG_BCAST, MSG_STOP };
#define MSG(kind, seq) (((u64)(kind) << 32) | (u32)(seq))

static volatile u64 mail[SMP_MAX] __attribute__((aligned(64)));
static volatile u64 sent_at[SMP_MAX];
static volatile u64 bcast_acks;
static volatile u64 give_up;

struct hart_res {
	u64 received;
	u64 late;          /* hops slower than LATE_TICKS */
	u64 max_ticks;     /* slowest hop */
	u64 bad_msg;       /* an unexpected message */
	u64 timeouts;
	u64 backstop;      /* woken by the timer, not the msip */
};
static struct hart_res res[SMP_MAX];

static void send(u64 to, u64 msg)
{
	mail[to] = msg;
	sent_at[to] = rt_time();
	fence_io();   /* the message before the IPI */
	mmio_w32(CLINT_MSIP(to), 1);
}

/* Sleep until our msip (then clear it and return 1) or until the overall
 * deadline / give_up (0). */
static int wait_ipi(u64 me, u64 deadline)
{
	struct hart_res *r = &res[me];
	for (;;) {
		if (csr_read(mip) & MIP_MSIP) {
			mmio_w32(CLINT_MSIP(me), 0);
			fence_io();
			return 1;
		}
		u64 now = rt_time();
		if (now > deadline || give_up) {
			r->timeouts++;
			return 0;
		}
		if (csr_read(mip) & MIP_MTIP)
			r->backstop++;
		smp_sleep_until(me, now + BACKSTOP < deadline ? now + BACKSTOP : deadline);
	}
}

/* The message just received by `me`: its latency is judged here. */
static u64 take(u64 me)
{
	struct hart_res *r = &res[me];
	u64 m = mail[me], dt = rt_time() - sent_at[me];
	r->received++;
	if (dt > r->max_ticks)
		r->max_ticks = dt;
	if (dt > LATE_TICKS)
		r->late++;
	return m;
}

static void expect(u64 me, u64 got, u64 want)
{
	if (got != want) {
		res[me].bad_msg++;
		if (res[me].bad_msg == 1 && me == 0)
			rt_printf("  hart 0 got message 0x%lx, want 0x%lx\n", got, want);
	}
}

static void helper(u64 me, u64 deadline)
{
	for (;;) {
		if (!wait_ipi(me, deadline))
			return;
		u64 m = take(me);
		switch (m >> 32) {
		case MSG_RING:
			send((me + 1) % NHARTS, m);
			break;
		case MSG_PING:
			send(0, MSG(MSG_PONG, m));
			break;
		case MSG_BCAST:
			amoadd_d(&bcast_acks, 1);
			fence_io();
			mmio_w32(CLINT_MSIP(0), 1);
			break;
		case MSG_STOP:
			return;
		default:
			res[me].bad_msg++;
			return;
		}
	}
}

static void driver(u64 deadline)
{
	rt_section("ring");
	for (u32 lap = 1; lap <= LAPS; lap++) {
		send(1, MSG(MSG_RING, lap));
		if (!wait_ipi(0, deadline)) {
			rt_printf("  ring lap %u: the token did not come back (mail: %lx %lx %lx %lx)\n",
				  lap, mail[0], mail[1], mail[2], mail[3]);
			return;
		}
		expect(0, take(0), MSG(MSG_RING, lap));
	}

	rt_section("ping-pong");
	for (u64 k = 1; k < NHARTS; k++)
		for (u32 i = 1; i <= PINGS; i++) {
			send(k, MSG(MSG_PING, i));
			if (!wait_ipi(0, deadline)) {
				rt_printf("  ping %u to hart %lu: no answer\n", i, k);
				return;
			}
			expect(0, take(0), MSG(MSG_PONG, i));
		}

	rt_section("broadcast");
	bcast_acks = 0;
	for (u32 i = 1; i <= BCASTS; i++) {
		for (u64 k = 1; k < NHARTS; k++)
			send(k, MSG(MSG_BCAST, i));
		/* the answers' msips may merge into one */
		while (bcast_acks < (u64)i * (NHARTS - 1))
			if (!wait_ipi(0, deadline)) {
				rt_printf("  broadcast %u: %lu answers\n", i, bcast_acks);
				return;
			}
	}
	for (u64 k = 1; k < NHARTS; k++)
		send(k, MSG(MSG_STOP, 0));
}

static void run(u64 me, void *arg)
{
	u64 deadline = *(u64 *)arg;
	if (me == 0) {
		driver(deadline);
		if (rt_failures || rt_time() > deadline)
			give_up = 1;
	} else {
		helper(me, deadline);
	}
}

int main(void)
{
	static u64 deadline;
	u64 t0 = rt_time();
	deadline = t0 + MS(20000);

	rt_printf("smp-ipi: %d harts, %d laps, %d pings per hart, %d broadcasts\n",
		  NHARTS, LAPS, PINGS, BCASTS);
	u64 late = smp_run(NHARTS, run, &deadline, MS(25000));
	rt_section("all harts finish");
	if (!CHECK_EQ(late, 0))
		rt_printf("  harts that did not finish: mask 0x%lx\n", late);

	u64 want[NHARTS] = { LAPS + PINGS * (NHARTS - 1), LAPS + PINGS + BCASTS + 1,
			     LAPS + PINGS + BCASTS + 1, LAPS + PINGS + BCASTS + 1 };
	u64 worst = 0, backstops = 0;
	for (int h = 0; h < NHARTS; h++) {
		rt_section("per-hart results");
		if (!CHECK_EQ(res[h].timeouts, 0) | !CHECK_EQ(res[h].bad_msg, 0) |
		    !CHECK_EQ(res[h].late, 0) | !CHECK_EQ(res[h].received, want[h]))
			rt_printf("  (hart %d: slowest hop %lu us)\n", h, res[h].max_ticks / 10);
		if (res[h].max_ticks > worst)
			worst = res[h].max_ticks;
		backstops += res[h].backstop;
	}
	rt_section("broadcast answers");
	CHECK_EQ(bcast_acks, BCASTS * (NHARTS - 1));
	rt_printf("smp-ipi: slowest hop %lu us, %lu timer backstop wake-ups, %lu ms\n",
		  worst / 10, backstops, (rt_time() - t0) / MS(1));
	return rt_result();
}
