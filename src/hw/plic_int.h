/* The PLIC's private state, shared by plic.c and plic_state.c. */
#ifndef RINGVM_HW_PLIC_INT_H
#define RINGVM_HW_PLIC_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "plic.h"

#define NCTX (2 * RV_MAX_HARTS)

/* Sources fit in one 32-bit word (bit 0 is the reserved source 0). */
_Static_assert(RV_PLIC_NDEV < 32, "PLIC source bitmaps are one word");
#define SRC_MASK ((uint32_t)(((1ULL << (RV_PLIC_NDEV + 1)) - 1) & ~1ULL))

struct rv_plic {
	struct rv_machine *m;
	uint64_t base;
	pthread_mutex_t lock;
	unsigned nctx;
	uint8_t prio[RV_PLIC_NDEV + 1];
	uint32_t level;     /* line state as the devices drive it */
	uint32_t pending;   /* gateway has forwarded, not yet claimed */
	uint32_t claimed;   /* claimed, not yet completed */
	uint32_t enable[NCTX];
	uint8_t threshold[NCTX];
	/* Level last driven into each context's mip bit.  Kept here rather
	 * than read back from mip: M-mode software may also set mip.SEIP,
	 * and the hart ORs the two sources. */
	bool out[NCTX];
};

/* Highest-priority pending source enabled for ctx above its threshold
 * (PLIC spec §7), 0 when none.  With p->lock held. */
unsigned rv_plic_best_source(const struct rv_plic *p, unsigned ctx);

/* Drive every context's mip bit (MEIP/SEIP) from the state where it
 * changed (p->out).  Called with p->lock held after every change. */
void rv_plic_update_outputs(struct rv_plic *p);

#endif
