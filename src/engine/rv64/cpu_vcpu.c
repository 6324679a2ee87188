/* The vCPU thread body (rv_vcpu_run) and its kick.
 *
 * PLACEHOLDER until the threaded engine lands: correct for one hart per
 * machine; with several harts the cross-hart paths still assume one host
 * thread.  WFI sleeps in 1 ms steps. */
#include "cpu_internal.h"

#include <time.h>

#include "hw/clint.h"

void rv_vcpu_kick(struct rv_hart *h)
{
	__atomic_store_n(&h->run_kick, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&h->kick, 1, __ATOMIC_RELEASE);
}

void rv_vcpu_run(struct rv_hart *h)
{
	struct rv_machine *m = h->m;
	const uint64_t slice = m->nharts > 1 ? 20000 : 200000;
	while (!__atomic_exchange_n(&h->run_kick, 0, __ATOMIC_ACQ_REL) &&
	       !__atomic_load_n(&m->exit_request, __ATOMIC_ACQUIRE)) {
		rv_clint_update(m);
		if (h->wfi && rv_hart_irq_pending(h))
			h->wfi = false;
		if (h->state == RV_HART_STARTED && !h->wfi) {
			rv_hart_run(h, slice);
			continue;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}
