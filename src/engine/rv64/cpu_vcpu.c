/* One host thread per hart (MTTCG-style): the vCPU loop, sleeping in WFI
 * and STOPPED, kicks, and the cross-hart requests (remote sfence.vma,
 * fence.i, HSM start) that a hart carries out on its own thread.
 *
 * Why requests instead of touching the other hart: TLBs and decoded-block
 * caches are thread-private and unlocked (the interpreter's fast path reads
 * them without synchronisation), so only the owner may change them.  A
 * requester posts bits under the target's vlock, kicks it and waits for
 * its acknowledgement (ack_seq reaching the ticket).  Targets serve their
 * requests at every rv_hart_run() entry, i.e. within one slice, and a
 * hart waiting for acknowledgements serves its own requests meanwhile, so
 * harts fencing each other cannot deadlock.  A target that sleeps (WFI,
 * STOPPED) or whose thread is not running acknowledges implicitly: it
 * serves every posted request before it executes another instruction,
 * which is all the SBI RFENCE contract asks.
 *
 * Sleeping: `sleeping` and `kick` form a Dekker pair (both sequentially
 * consistent): the sleeper publishes `sleeping` and then re-checks its
 * wake conditions; a waker publishes its condition (mip, req, kick) and
 * then looks at `sleeping`, taking vlock to signal only if it is set.
 * Either the sleeper sees the condition or the waker sees the sleeper. */
#include "cpu_internal.h"

#include <errno.h>
#include <time.h>

#define NS_PER_SEC 1000000000ULL
/* Upper bound of one sleep: a missed wake-up (there should be none)
 * costs at most this, and an idle hart costs one wake-up per period. */
#define MAX_SLEEP_NS NS_PER_SEC
/* A waiter for acknowledgements re-checks at least this often. */
#define ACK_POLL_NS 1000000ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NS_PER_SEC),
				  .tv_nsec = (long)(ns % NS_PER_SEC) };
}

static bool exiting(const struct rv_machine *m)
{
	return __atomic_load_n(&m->exit_request, __ATOMIC_ACQUIRE) != 0;
}

/* Wake whoever waits for acknowledgements (they re-check everything). */
static void wake_waiters(struct rv_machine *m)
{
	if (!__atomic_load_n(&m->req_waiters, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&m->req_lock);
	pthread_cond_broadcast(&m->req_cond);
	pthread_mutex_unlock(&m->req_lock);
}

void rv_hart_notify(struct rv_hart *h)
{
	__atomic_store_n(&h->kick, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&h->sleeping, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&h->vlock);
		pthread_cond_signal(&h->vcond);
		pthread_mutex_unlock(&h->vlock);
	}
}

void rv_vcpu_kick(struct rv_hart *h)
{
	__atomic_store_n(&h->vcpu_kick, 1, __ATOMIC_SEQ_CST);
	rv_hart_notify(h);
}

/* ---- requests ---- */

void rv_hart_serve(struct rv_hart *h)
{
	if (!__atomic_load_n(&h->req, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&h->vlock);
	unsigned bits = __atomic_exchange_n(&h->req, 0, __ATOMIC_ACQ_REL);
	uint64_t seq = h->req_seq;
	uint64_t pc = h->start_pc, arg = h->start_arg;
	int priv = h->start_priv;
	pthread_mutex_unlock(&h->vlock);

	if (bits & RV_REQ_START) {
		/* Resets (and so flushes) everything; it also acknowledges
		 * whatever was posted meanwhile. */
		rv_hart_reset(h, pc, priv, arg);
	} else {
		if (bits & RV_REQ_TLB)
			rv_tlb_flush_va(h, NULL);
		if (bits & RV_REQ_CODE)
			rv_hart_flush_code(h);
	}
	uint64_t acked = __atomic_load_n(&h->ack_seq, __ATOMIC_RELAXED);
	if (seq > acked)
		__atomic_store_n(&h->ack_seq, seq, __ATOMIC_SEQ_CST);
	wake_waiters(h->m);
}

/* Carry out request bits on a hart whose thread is not running (caller
 * holds t->vlock, so rv_vcpu_run cannot start meanwhile), or on self. */
static void serve_in_place(struct rv_hart *t, unsigned bits)
{
	if (bits & RV_REQ_TLB)
		rv_tlb_flush_va(t, NULL);
	if (bits & RV_REQ_CODE)
		rv_hart_flush_code(t);
}

/* Post bits to t.  Returns the ticket to wait for, or 0 when the request
 * was carried out at once (t's thread not running). */
static uint64_t post(struct rv_hart *t, unsigned bits)
{
	pthread_mutex_lock(&t->vlock);
	if (!__atomic_load_n(&t->active, __ATOMIC_ACQUIRE)) {
		serve_in_place(t, bits);
		pthread_mutex_unlock(&t->vlock);
		return 0;
	}
	__atomic_fetch_or(&t->req, bits, __ATOMIC_SEQ_CST);
	uint64_t ticket = ++t->req_seq;
	pthread_mutex_unlock(&t->vlock);
	rv_hart_notify(t);
	/* The target may itself be waiting for acknowledgements. */
	wake_waiters(t->m);
	return ticket;
}

/* Has t served (or will it serve before executing) request `ticket`? */
static bool acked(const struct rv_hart *t, uint64_t ticket)
{
	return ticket == 0 ||
	       __atomic_load_n(&t->ack_seq, __ATOMIC_SEQ_CST) >= ticket ||
	       __atomic_load_n(&t->sleeping, __ATOMIC_SEQ_CST) ||
	       !__atomic_load_n(&t->active, __ATOMIC_SEQ_CST);
}

static bool all_acked(const struct rv_machine *m, const uint64_t *ticket,
		      unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!acked(m->harts[i], ticket[i]))
			return false;
	return true;
}

void rv_harts_flush(struct rv_machine *m, struct rv_hart *self,
		    uint64_t harts, unsigned what)
{
	uint64_t ticket[RV_MAX_HARTS] = { 0 };
	unsigned n = 0;

	if (!what)
		return;
	for (unsigned i = 0; i < m->nharts && i < RV_MAX_HARTS; i++) {
		struct rv_hart *t = m->harts[i];
		if (!((harts >> i) & 1) || !t)
			continue;
		if (t == self) {
			serve_in_place(t, what);
			continue;
		}
		ticket[i] = post(t, what);
		n = i + 1;
	}
	if (!n)
		return;

	__atomic_fetch_add(&m->req_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (self)
			rv_hart_serve(self);
		if (all_acked(m, ticket, n) || exiting(m))
			break;
		pthread_mutex_lock(&m->req_lock);
		/* Re-checked under the lock: acknowledgers, posters and
		 * harts going to sleep broadcast under it after publishing. */
		if (!(self && __atomic_load_n(&self->req, __ATOMIC_SEQ_CST)) &&
		    !all_acked(m, ticket, n) && !exiting(m)) {
			struct timespec ts = ns_to_ts(mono_ns() + ACK_POLL_NS);
			pthread_cond_clockwait(&m->req_cond, &m->req_lock,
					       CLOCK_MONOTONIC, &ts);
		}
		pthread_mutex_unlock(&m->req_lock);
	}
	__atomic_fetch_sub(&m->req_waiters, 1, __ATOMIC_SEQ_CST);
}

int rv_hart_start(struct rv_hart *t, uint64_t pc, int priv, uint64_t arg1)
{
	enum rv_hart_state stopped = RV_HART_STOPPED;
	pthread_mutex_lock(&t->vlock);
	if (!__atomic_compare_exchange_n(&t->state, &stopped,
					 RV_HART_START_PENDING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&t->vlock);
		return -EALREADY;
	}
	if (!__atomic_load_n(&t->active, __ATOMIC_ACQUIRE)) {
		/* Nobody runs t: its state is ours while we hold vlock. */
		rv_hart_reset_locked(t, pc, priv, arg1);
		pthread_mutex_unlock(&t->vlock);
		rv_hart_notify(t);
		return 0;
	}
	t->start_pc = pc;
	t->start_priv = priv;
	t->start_arg = arg1;
	__atomic_fetch_or(&t->req, RV_REQ_START, __ATOMIC_SEQ_CST);
	++t->req_seq;
	pthread_mutex_unlock(&t->vlock);
	rv_hart_notify(t);
	return 0;
}

/* ---- the vCPU loop ---- */

/* Anything that should keep the owner from sleeping. */
static bool wake_pending(const struct rv_hart *h)
{
	if (__atomic_load_n(&h->kick, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&h->vcpu_kick, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&h->req, __ATOMIC_SEQ_CST) || exiting(h->m))
		return true;
	if (rv_hart_get_state(h) != RV_HART_STARTED)
		return false;
	return !h->wfi || rv_hart_irq_pending(h);
}

/* Sleep until something for this hart happens or its next timer is due. */
static void idle(struct rv_hart *h)
{
	uint64_t dl = rv_hart_next_deadline(h), now = rv_mtime(h->m);
	if (dl <= now)
		return;
	uint64_t ticks = dl - now;
	uint64_t ns = ticks >= MAX_SLEEP_NS / (NS_PER_SEC / RV_TIMEBASE_HZ) ?
		      MAX_SLEEP_NS : ticks * (NS_PER_SEC / RV_TIMEBASE_HZ);
	struct timespec ts = ns_to_ts(mono_ns() + ns);

	pthread_mutex_lock(&h->vlock);
	__atomic_store_n(&h->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!wake_pending(h)) {
		/* Whoever waits for our acknowledgement may go on now. */
		wake_waiters(h->m);
		pthread_cond_clockwait(&h->vcond, &h->vlock, CLOCK_MONOTONIC,
				       &ts);
	}
	__atomic_store_n(&h->sleeping, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&h->vlock);
}

void rv_vcpu_run(struct rv_hart *h)
{
	struct rv_machine *m = h->m;
	/* Smaller slices with several harts bound how long a kick from
	 * another thread (a request, an IPI) waits in a tight loop that
	 * never leaves its page. */
	const uint64_t slice = m->nharts > 1 ? 20000 : 200000;

	pthread_mutex_lock(&h->vlock);
	__atomic_store_n(&h->active, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&h->vlock);

	while (!__atomic_exchange_n(&h->vcpu_kick, 0, __ATOMIC_SEQ_CST) &&
	       !exiting(m)) {
		rv_hart_update_timer(h, rv_mtime(m));
		rv_hart_run(h, slice);
		if (rv_hart_get_state(h) != RV_HART_STARTED || h->wfi)
			idle(h);
	}

	pthread_mutex_lock(&h->vlock);
	__atomic_store_n(&h->active, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&h->vlock);
	wake_waiters(m);
}
