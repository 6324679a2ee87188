/* CLINT state (clint.h): mtime and every hart's mtimecmp. */
#include "clint.h"

#include <string.h>

#include "clint_int.h"
#include "core/state.h"

#define CLINT_STATE_VERSION 1
#define NS_PER_TICK (1000000000ULL / RV_TIMEBASE_HZ)

_Static_assert(1000000000ULL % RV_TIMEBASE_HZ == 0,
	       "a tick is a whole number of ns");

void rv_clint_save(const struct rv_machine *m, uint64_t mtime,
		   struct state_writer *w)
{
	state_begin(w, "clint", CLINT_STATE_VERSION);
	state_put_u32(w, m->nharts);
	state_put_u64(w, mtime);
	for (unsigned i = 0; i < m->nharts; i++)
		state_put_u64(w, rv_clint_mtimecmp(m, i));
	state_end(w);
}

int rv_clint_parse(struct state_reader *r, const struct rv_machine *m,
		   struct rv_clint_state *s, struct err *errp)
{
	int rc = state_open(r, "clint", CLINT_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	uint32_t n = state_get_u32(r);
	if (n != m->nharts)
		return state_invalid(r, errp, "%u harts, this machine has %u",
				     n, m->nharts);
	s->nharts = n;
	s->mtime = state_get_u64(r);
	for (unsigned i = 0; i < n; i++)
		s->mtimecmp[i] = state_get_u64(r);
	return state_close(r, errp);
}

void rv_clint_apply(struct rv_machine *m, const struct rv_clint_state *s,
		    uint64_t now_ns)
{
	/* mtime * 100 ns wraps modulo 2^64 like the clock itself
	 * (clint.c's set_mtime): any saved value is representable. */
	__atomic_store_n(&m->mtime_epoch_ns, now_ns - s->mtime * NS_PER_TICK,
			 __ATOMIC_RELEASE);
	for (unsigned i = 0; i < s->nharts && i < m->nharts; i++)
		rv_clint_cmp_set(m->clint, i, s->mtimecmp[i]);
	rv_clint_update_at(m, s->mtime);
}
