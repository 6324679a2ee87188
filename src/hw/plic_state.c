/* PLIC state (plic.h). */
#include "plic.h"

#include <string.h>

#include "core/state.h"
#include "engine/rv64/hart.h"
#include "plic_int.h"

#define PLIC_STATE_VERSION 1

void rv_plic_save(const struct rv_machine *m, struct state_writer *w)
{
	struct rv_plic *p = m->plic;
	pthread_mutex_lock(&p->lock);
	state_begin(w, "plic", PLIC_STATE_VERSION);
	state_put_u32(w, p->nctx);
	state_put_bytes(w, p->prio, sizeof(p->prio));
	state_put_u32(w, p->level);
	state_put_u32(w, p->pending);
	state_put_u32(w, p->claimed);
	for (unsigned c = 0; c < p->nctx; c++) {
		state_put_u32(w, p->enable[c]);
		state_put_u8(w, p->threshold[c]);
	}
	state_end(w);
	pthread_mutex_unlock(&p->lock);
}

int rv_plic_parse(struct state_reader *r, const struct rv_machine *m,
		  struct rv_plic_state *s, struct err *errp)
{
	int rc = state_open(r, "plic", PLIC_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	uint32_t n = state_get_u32(r);
	if (n != m->plic->nctx)
		return state_invalid(r, errp, "%u contexts, this machine has "
				     "%u", n, m->plic->nctx);
	s->nctx = n;
	state_get_bytes(r, s->prio, sizeof(s->prio));
	s->level = state_get_u32(r);
	s->pending = state_get_u32(r);
	s->claimed = state_get_u32(r);
	for (unsigned c = 0; c < n; c++) {
		s->enable[c] = state_get_u32(r);
		s->threshold[c] = state_get_u8(r);
	}
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if (s->prio[0])
		return state_invalid(r, errp, "priority of source 0");
	for (unsigned i = 1; i <= RV_PLIC_NDEV; i++)
		if (s->prio[i] > RV_PLIC_MAX_PRIO)
			return state_invalid(r, errp, "source %u: priority %u",
					     i, s->prio[i]);
	if ((s->level | s->pending | s->claimed) & ~SRC_MASK)
		return state_invalid(r, errp, "bits of nonexistent sources");
	/* What the gateways keep: a high line not in service is pending. */
	if (s->pending != (s->level & ~s->claimed))
		return state_invalid(r, errp, "pending %#x does not follow "
				     "from level %#x and claimed %#x",
				     s->pending, s->level, s->claimed);
	for (unsigned c = 0; c < n; c++) {
		if (s->enable[c] & ~SRC_MASK)
			return state_invalid(r, errp, "context %u: enable bits "
					     "of nonexistent sources", c);
		if (s->threshold[c] > RV_PLIC_MAX_PRIO)
			return state_invalid(r, errp, "context %u: threshold "
					     "%u", c, s->threshold[c]);
	}
	return 0;
}

void rv_plic_apply(struct rv_machine *m, const struct rv_plic_state *s)
{
	struct rv_plic *p = m->plic;
	pthread_mutex_lock(&p->lock);
	memcpy(p->prio, s->prio, sizeof(p->prio));
	p->level = s->level;
	p->pending = s->pending;
	p->claimed = s->claimed;
	for (unsigned c = 0; c < p->nctx; c++) {
		p->enable[c] = s->enable[c];
		p->threshold[c] = s->threshold[c];
		/* The opposite of what is wanted: the update below drives
		 * every context's bit, whatever the harts' images held. */
		p->out[c] = rv_plic_best_source(p, c) == 0;
	}
	rv_plic_update_outputs(p);
	pthread_mutex_unlock(&p->lock);
}
