#include "plic.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rv64/hart.h"
#include "plic_int.h"

/* Highest-priority pending source enabled for ctx above its threshold;
 * ties go to the lowest id (PLIC spec §7). 0 when none. */
unsigned rv_plic_best_source(const struct rv_plic *p, unsigned ctx)
{
	uint32_t cand = p->pending & p->enable[ctx];
	unsigned best = 0, best_prio = p->threshold[ctx];
	while (cand) {
		unsigned src = __builtin_ctz(cand);
		cand &= cand - 1;
		if (p->prio[src] > best_prio) {
			best = src;
			best_prio = p->prio[src];
		}
	}
	return best;
}

/* Called with the lock held after every state change. */
void rv_plic_update_outputs(struct rv_plic *p)
{
	for (unsigned ctx = 0; ctx < p->nctx; ctx++) {
		struct rv_hart *h = p->m->harts[ctx / 2];
		if (!h)
			continue;
		bool want = rv_plic_best_source(p, ctx) != 0;
		/* Only real changes: rv_hart_set_mip() may kick the hart. */
		if (p->out[ctx] != want) {
			p->out[ctx] = want;
			rv_hart_set_mip(h, ctx & 1 ? RV_MIP_SEIP : RV_MIP_MEIP,
					want);
		}
	}
}

static void plic_set_level(void *opaque, unsigned src, int level)
{
	struct rv_plic *p = opaque;
	uint32_t bit = 1u << src;
	pthread_mutex_lock(&p->lock);
	if (level) {
		p->level |= bit;
		if (!(p->claimed & bit))
			p->pending |= bit;
	} else {
		/* A lowered level-triggered line withdraws its request, so
		 * the guest never claims an interrupt the device dropped. */
		p->level &= ~bit;
		p->pending &= ~bit;
	}
	rv_plic_update_outputs(p);
	pthread_mutex_unlock(&p->lock);
}

static uint32_t claim(struct rv_plic *p, unsigned ctx)
{
	unsigned src = rv_plic_best_source(p, ctx);
	if (src) {
		p->pending &= ~(1u << src);
		p->claimed |= 1u << src;
		rv_plic_update_outputs(p);
	}
	return src;
}

static void complete(struct rv_plic *p, unsigned ctx, uint64_t val)
{
	/* §8: an id that is not enabled for this context is ignored. */
	if (val == 0 || val > RV_PLIC_NDEV)
		return;
	uint32_t bit = 1u << val;
	if (!(p->enable[ctx] & bit) || !(p->claimed & bit))
		return;
	p->claimed &= ~bit;
	if (p->level & bit)
		p->pending |= bit;
	rv_plic_update_outputs(p);
}

/* Which register a 32-bit offset names; *idx gets the source or context.
 * Everything outside the implemented sources/contexts is REG_NONE. */
enum reg_kind { REG_PRIO, REG_PENDING, REG_ENABLE, REG_THRESH,
		REG_CLAIM, REG_NONE };

static enum reg_kind decode(const struct rv_plic *p, uint64_t off,
			    unsigned *idx)
{
	if (off < RV_PLIC_PENDING) {
		*idx = off / 4;
		return *idx >= 1 && *idx <= RV_PLIC_NDEV ? REG_PRIO : REG_NONE;
	}
	if (off == RV_PLIC_PENDING)
		return REG_PENDING;
	if (off >= RV_PLIC_ENABLE && off < RV_PLIC_CONTEXT) {
		uint64_t rel = off - RV_PLIC_ENABLE;
		*idx = rel / RV_PLIC_ENABLE_STRIDE;
		return *idx < p->nctx && rel % RV_PLIC_ENABLE_STRIDE == 0 ?
		       REG_ENABLE : REG_NONE;
	}
	if (off >= RV_PLIC_CONTEXT) {
		uint64_t rel = off - RV_PLIC_CONTEXT;
		uint64_t ctx = rel / RV_PLIC_CONTEXT_STRIDE;
		if (ctx >= p->nctx)
			return REG_NONE;
		*idx = ctx;
		switch (rel % RV_PLIC_CONTEXT_STRIDE) {
		case 0: return REG_THRESH;
		case 4: return REG_CLAIM;
		}
	}
	return REG_NONE;
}

static int plic_read(void *opaque, uint64_t off, unsigned size,
		     uint64_t *val)
{
	struct rv_plic *p = opaque;
	unsigned idx = 0;
	enum reg_kind k = decode(p, off, &idx);
	pthread_mutex_lock(&p->lock);
	switch (k) {
	case REG_PRIO:    *val = p->prio[idx]; break;
	case REG_PENDING: *val = p->pending; break;
	case REG_ENABLE:  *val = p->enable[idx]; break;
	case REG_THRESH:  *val = p->threshold[idx]; break;
	case REG_CLAIM:   *val = claim(p, idx); break;
	default:          *val = 0; break;
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int plic_write(void *opaque, uint64_t off, unsigned size,
		      uint64_t val)
{
	struct rv_plic *p = opaque;
	unsigned idx = 0;
	enum reg_kind k = decode(p, off, &idx);
	pthread_mutex_lock(&p->lock);
	switch (k) {
	case REG_PRIO:
		p->prio[idx] = val & RV_PLIC_MAX_PRIO;
		rv_plic_update_outputs(p);
		break;
	case REG_ENABLE:
		p->enable[idx] = val & SRC_MASK;
		rv_plic_update_outputs(p);
		break;
	case REG_THRESH:
		p->threshold[idx] = val & RV_PLIC_MAX_PRIO;
		rv_plic_update_outputs(p);
		break;
	case REG_CLAIM:
		complete(p, idx, val);
		break;
	default:   /* pending bits are read-only; reserved space ignores */
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static const struct bus_ops plic_ops = {
	.read = plic_read,
	.write = plic_write,
	.sizes = 4,
};

void rv_plic_reset(struct rv_machine *m)
{
	struct rv_plic *p = m->plic;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	memset(p->prio, 0, sizeof(p->prio));
	p->pending = p->claimed = 0;
	memset(p->enable, 0, sizeof(p->enable));
	memset(p->threshold, 0, sizeof(p->threshold));
	for (unsigned ctx = 0; ctx < p->nctx; ctx++) {
		p->out[ctx] = false;
		struct rv_hart *h = m->harts[ctx / 2];
		if (h)
			rv_hart_set_mip(h, ctx & 1 ? RV_MIP_SEIP : RV_MIP_MEIP,
					0);
	}
	pthread_mutex_unlock(&p->lock);
}

int rv_plic_init(struct rv_machine *m, uint64_t base, struct err *errp)
{
	if (m->nharts == 0 || m->nharts > RV_MAX_HARTS)
		return err_set(errp, EINVAL, "plic: bad hart count %u",
			       m->nharts);
	struct rv_plic *p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(errp, ENOMEM, "plic: out of memory");
	p->m = m;
	p->base = base;
	p->nctx = 2 * m->nharts;
	int rc = pthread_mutex_init(&p->lock, NULL);
	if (rc) {
		free(p);
		return err_sys(errp, rc, "plic: mutex");
	}
	rc = bus_register(&m->bus, base, RV_PLIC_SIZE, &plic_ops, p,
			  "plic", errp);
	if (rc) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return rc;
	}
	m->plic = p;
	return 0;
}

void rv_plic_free(struct rv_machine *m)
{
	struct rv_plic *p = m->plic;
	if (!p)
		return;
	bus_unregister(&m->bus, m->plic->base);
	pthread_mutex_destroy(&p->lock);
	free(p);
	m->plic = NULL;
}

struct irq_line rv_plic_irq(struct rv_machine *m, unsigned src)
{
	if (!m->plic || src == 0 || src > RV_PLIC_NDEV)
		return (struct irq_line){ 0 };
	return (struct irq_line){ plic_set_level, m->plic, src };
}
