#include "machine.h"

#include <time.h>

#include "hart.h"

#define NS_PER_SEC 1000000000ULL

uint64_t rv_mtime(const struct rv_machine *m)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
	/* Unsigned wrap on purpose: a guest that writes a large mtime moves
	 * the epoch "before" the host's clock zero (see clint.c). */
	uint64_t ns = now - m->mtime_epoch_ns;
	/* Split seconds and nanoseconds so that ns * HZ never overflows. */
	return ns / NS_PER_SEC * RV_TIMEBASE_HZ +
	       ns % NS_PER_SEC * RV_TIMEBASE_HZ / NS_PER_SEC;
}

void rv_machine_request_exit(struct rv_machine *m, enum rv_exit reason,
			     int code)
{
	enum rv_exit none = RV_EXIT_NONE;
	/* The reason is the claim: whoever swaps it away from NONE first
	 * owns exit_code, so a poweroff racing with Ctrl-A x reports one
	 * consistent pair. */
	if (reason == RV_EXIT_NONE ||
	    !__atomic_compare_exchange_n(&m->exit_reason, &none, reason, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	m->exit_code = code;
	__atomic_store_n(&m->exit_request, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < m->nharts && i < RV_MAX_HARTS; i++)
		if (m->harts[i])
			__atomic_store_n(&m->harts[i]->kick, 1,
					 __ATOMIC_RELEASE);
	if (m->exit_hook)
		m->exit_hook(m->exit_opaque);
}
