/* The time page of the KVM sandbox: what the ring-3 shim (kvm_shim.c)
 * needs to answer clock_gettime, gettimeofday and time without an exit —
 * a linear map from the guest's TSC to each clock, refreshed from the
 * host's clocks at every exit of any vCPU and trusted for at most 1 ms of
 * cycles after that (then the call exits and refreshes it).
 *
 * The rate is the vCPU's TSC frequency (KVM_GET_TSC_KHZ) slowed by ~0.05 %
 * on purpose: an extrapolation then lags the host clock (by < 1 µs within
 * the 1 ms window) instead of running ahead of the next refresh, and a
 * refresh never moves MONOTONIC or BOOTTIME back (it takes the larger of
 * the host's value and the old extrapolation), so they stay monotonic
 * across threads and refreshes.  REALTIME follows the host's, steps
 * included. */
#include "kvm_int.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <x86intrin.h>

/* Clocks the page keeps (ids of <time.h>); the shim's 0xe3 mask. */
static const uint64_t kept = 1u << CLOCK_REALTIME | 1u << CLOCK_MONOTONIC |
			     1u << CLOCK_REALTIME_COARSE |
			     1u << CLOCK_MONOTONIC_COARSE | 1u << CLOCK_BOOTTIME;
_Static_assert((1u << CLOCK_REALTIME | 1u << CLOCK_MONOTONIC |
		1u << CLOCK_REALTIME_COARSE | 1u << CLOCK_MONOTONIC_COARSE |
		1u << CLOCK_BOOTTIME) == 0xe3, "kvm_shim.c's clock mask");

static struct kx_time *page(struct kx *k)
{
	return (struct kx_time *)(k->mem + k->sys + KX_TIME);
}

static uint64_t ns_of(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int kx_time_init(struct kx_cpu *c, struct err *errp)
{
	struct kx *k = c->k;
	int khz = ioctl(c->fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		return 0;                     /* no page: every call exits */
	/* The guest's TSC against ours, read between two of ours. */
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = 0x10 };   /* IA32_TIME_STAMP_COUNTER */
	uint64_t h0 = __rdtsc();
	int n = ioctl(c->fd, KVM_GET_MSRS, &m);
	uint64_t h1 = __rdtsc();
	if (n != 1)
		return 0;
	k->tsc_offset = (int64_t)(m.e.data - (h0 + (h1 - h0) / 2));
	/* Within the read's own uncertainty: the same counter (kvm_pvm
	 * runs guest code on the host's TSC). */
	if ((uint64_t)(k->tsc_offset < 0 ? -k->tsc_offset : k->tsc_offset) <= h1 - h0)
		k->tsc_offset = 0;
	k->tsc_khz = (uint64_t)khz;
	uint64_t mult = (uint64_t)(((unsigned __int128)1000000 << 32) /
				   (uint64_t)khz);
	struct kx_time *t = page(k);
	memset(t, 0, sizeof(*t));
	t->mult = mult - (mult >> 11);
	t->limit = k->tsc_khz;             /* 1 ms of cycles */
	t->top = k->sys - 16;
	(void)errp;
	kx_time_refresh(k);
	return 0;
}

/* The old epoch's idea of clock id at guest tsc (0: none). */
static uint64_t extrapolate(const struct kx_time *t, unsigned id, uint64_t tsc)
{
	if (!t->tsc_base || tsc < t->tsc_base)
		return 0;
	return t->base[id] + (uint64_t)(((unsigned __int128)(tsc - t->tsc_base) *
					 t->mult) >> 32);
}

/* wait: take the lock even if another thread holds it (a reader that
 * must see a fresh page); else leave it to that thread. */
static void refresh(struct kx *k, bool wait)
{
	if (!k->tsc_khz)
		return;
	if (wait)
		pthread_mutex_lock(&k->time_lock);
	else if (pthread_mutex_trylock(&k->time_lock))
		return;                       /* another thread is at it */
	struct kx_time *t = page(k);
	uint64_t tsc = (uint64_t)((int64_t)__rdtsc() + k->tsc_offset);
	uint64_t real = ns_of(CLOCK_REALTIME);
	uint64_t mono = ns_of(CLOCK_MONOTONIC);
	uint64_t boot = ns_of(CLOCK_BOOTTIME);
	uint64_t om = extrapolate(t, CLOCK_MONOTONIC, tsc);
	uint64_t ob = extrapolate(t, CLOCK_BOOTTIME, tsc);
	mono = mono > om ? mono : om;
	boot = boot > ob ? boot : ob;
	uint32_t s = atomic_load_explicit(&t->seq, memory_order_relaxed);
	atomic_store_explicit(&t->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	t->tsc_base = tsc;
	t->base[CLOCK_REALTIME] = t->base[CLOCK_REALTIME_COARSE] = real;
	t->base[CLOCK_MONOTONIC] = t->base[CLOCK_MONOTONIC_COARSE] = mono;
	t->base[CLOCK_BOOTTIME] = boot;
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&t->seq, s + 2, memory_order_release);
	pthread_mutex_unlock(&k->time_lock);
}

void kx_time_refresh(struct kx *k)
{
	refresh(k, false);
}

bool kx_clock(struct kx *k, uint64_t id, struct timespec *ts)
{
	if (!k->tsc_khz || id > 7 || !(kept & (1u << id)))
		return false;
	struct kx_time *t = page(k);
	refresh(k, true);
	uint64_t ns;
	uint32_t s;
	do {
		while ((s = atomic_load_explicit(&t->seq, memory_order_acquire)) & 1)
			;
		uint64_t tsc = (uint64_t)((int64_t)__rdtsc() + k->tsc_offset);
		ns = extrapolate(t, (unsigned)id, tsc);
		if (!ns)
			ns = t->base[id];
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&t->seq, memory_order_relaxed) != s);
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
	return true;
}
