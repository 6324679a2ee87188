/* The CLINT's private state, shared by clint.c and clint_state.c. */
#ifndef RINGVM_HW_CLINT_INT_H
#define RINGVM_HW_CLINT_INT_H

#include <stdint.h>

#include "engine/rv64/machine.h"

/* Register accesses run under the bus's device lock on any hart's thread;
 * rv_clint_mtimecmp() may be called from anywhere, hence the atomic
 * accesses (each hart also gets its own copy, rv_hart_set_mtimecmp). */
struct rv_clint {
	struct rv_machine *m;
	uint64_t base;
	uint64_t mtimecmp[RV_MAX_HARTS];
};

/* Store mtimecmp of hart `id` (< RV_MAX_HARTS) and push the copy to the
 * hart.  Does not re-evaluate MTIP (rv_clint_update does). */
void rv_clint_cmp_set(struct rv_clint *c, unsigned id, uint64_t v);

#endif
