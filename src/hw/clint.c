#include "clint.h"

#include <stdlib.h>
#include <time.h>

#include "clint_int.h"
#include "engine/rv64/hart.h"

#define NS_PER_SEC 1000000000ULL
#define MENVCFG_STCE (1ULL << 63)

static uint64_t cmp_get(const struct rv_clint *c, unsigned id)
{
	return __atomic_load_n(&c->mtimecmp[id], __ATOMIC_ACQUIRE);
}

/* The hart keeps a copy for its own timer checks. */
void rv_clint_cmp_set(struct rv_clint *c, unsigned id, uint64_t v)
{
	__atomic_store_n(&c->mtimecmp[id], v, __ATOMIC_RELEASE);
	if (id < c->m->nharts && c->m->harts[id])
		rv_hart_set_mtimecmp(c->m->harts[id], v);
}

static struct rv_hart *hart_at(const struct rv_machine *m, unsigned id)
{
	return id < m->nharts && id < RV_MAX_HARTS ? m->harts[id] : NULL;
}

/* Changing only the bits that differ keeps rv_hart_set_mip() (which kicks
 * the hart) off the per-slice path. */
static void set_mip_bit(struct rv_hart *h, uint64_t bit, int level)
{
	if (!!(__atomic_load_n(&h->mip, __ATOMIC_RELAXED) & bit) != !!level)
		rv_hart_set_mip(h, bit, level);
}

static void eval_mtip(struct rv_clint *c, unsigned id, uint64_t now)
{
	struct rv_hart *h = hart_at(c->m, id);
	if (h)
		set_mip_bit(h, RV_MIP_MTIP, now >= cmp_get(c, id));
}

static void set_mtime(struct rv_machine *m, uint64_t ticks)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
	uint64_t ns = ticks / RV_TIMEBASE_HZ * NS_PER_SEC +
		      ticks % RV_TIMEBASE_HZ * NS_PER_SEC / RV_TIMEBASE_HZ;
	/* Wraps modulo 2^64 ns (~584 years), far beyond any guest's use. */
	__atomic_store_n(&m->mtime_epoch_ns, now - ns, __ATOMIC_RELEASE);
}

/* Replace the bytes [shift/8, shift/8 + size) of a 64-bit register. */
static uint64_t merge(uint64_t old, uint64_t val, unsigned size,
		      unsigned shift)
{
	if (size == 8)
		return val;
	uint64_t mask = 0xffffffffULL << shift;
	return (old & ~mask) | ((val << shift) & mask);
}

static int clint_read(void *opaque, uint64_t off, unsigned size,
		      uint64_t *val)
{
	struct rv_clint *c = opaque;
	struct rv_machine *m = c->m;
	unsigned shift = (off & 4) * 8;
	uint64_t reg;

	if (off < RV_CLINT_MTIMECMP) {
		if (size != 4)
			return -EINVAL;
		struct rv_hart *h = hart_at(m, off / 4);
		*val = h && (__atomic_load_n(&h->mip, __ATOMIC_RELAXED) &
			     RV_MIP_MSIP);
		return 0;
	}
	if (off >= RV_CLINT_MTIMECMP && off < RV_CLINT_MTIMECMP +
	    8ULL * RV_MAX_HARTS) {
		unsigned id = (off - RV_CLINT_MTIMECMP) / 8;
		reg = id < m->nharts ? cmp_get(c, id) : 0;
	} else if (off >= RV_CLINT_MTIME && off < RV_CLINT_MTIME + 8) {
		reg = rv_mtime(m);
	} else {
		*val = 0;   /* reserved: reads as zero like QEMU's model */
		return 0;
	}
	*val = size == 8 ? reg : (reg >> shift) & 0xffffffffULL;
	return 0;
}

static int clint_write(void *opaque, uint64_t off, unsigned size,
		       uint64_t val)
{
	struct rv_clint *c = opaque;
	struct rv_machine *m = c->m;
	unsigned shift = (off & 4) * 8;

	if (off < RV_CLINT_MTIMECMP) {
		if (size != 4)
			return -EINVAL;
		struct rv_hart *h = hart_at(m, off / 4);
		if (h)
			set_mip_bit(h, RV_MIP_MSIP, val & 1);
		return 0;
	}
	if (off >= RV_CLINT_MTIMECMP && off < RV_CLINT_MTIMECMP +
	    8ULL * RV_MAX_HARTS) {
		unsigned id = (off - RV_CLINT_MTIMECMP) / 8;
		if (id >= m->nharts)
			return 0;
		rv_clint_cmp_set(c, id, merge(cmp_get(c, id), val, size, shift));
		eval_mtip(c, id, rv_mtime(m));
	} else if (off >= RV_CLINT_MTIME && off < RV_CLINT_MTIME + 8) {
		set_mtime(m, merge(rv_mtime(m), val, size, shift));
		rv_clint_update(m);
		/* Every deadline (mtimecmp, stimecmp) moved in host time. */
		for (unsigned i = 0; i < m->nharts && i < RV_MAX_HARTS; i++)
			if (m->harts[i])
				rv_hart_notify(m->harts[i]);
	}
	return 0;
}

static const struct bus_ops clint_ops = {
	.read = clint_read,
	.write = clint_write,
	.sizes = 4 | 8,
};

void rv_clint_reset(struct rv_machine *m)
{
	struct rv_clint *c = m->clint;
	if (!c)
		return;
	for (unsigned i = 0; i < RV_MAX_HARTS; i++)
		rv_clint_cmp_set(c, i, UINT64_MAX);
	for (unsigned i = 0; i < m->nharts; i++)
		if (m->harts[i])
			rv_hart_set_mip(m->harts[i], RV_MIP_MSIP | RV_MIP_MTIP,
					0);
}

int rv_clint_init(struct rv_machine *m, uint64_t base, struct err *errp)
{
	struct rv_clint *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(errp, ENOMEM, "clint: out of memory");
	c->m = m;
	c->base = base;
	for (unsigned i = 0; i < RV_MAX_HARTS; i++)
		c->mtimecmp[i] = UINT64_MAX;
	int rc = bus_register(&m->bus, base, RV_CLINT_SIZE,
			      &clint_ops, c, "clint", errp);
	if (rc) {
		free(c);
		return rc;
	}
	m->clint = c;
	return 0;
}

void rv_clint_free(struct rv_machine *m)
{
	if (!m->clint)
		return;
	bus_unregister(&m->bus, m->clint->base);
	free(m->clint);
	m->clint = NULL;
}

void rv_clint_update(struct rv_machine *m)
{
	rv_clint_update_at(m, rv_mtime(m));
}

void rv_clint_update_at(struct rv_machine *m, uint64_t now)
{
	if (!m->clint)
		return;
	for (unsigned i = 0; i < m->nharts && i < RV_MAX_HARTS; i++)
		eval_mtip(m->clint, i, now);
}

/* A due timer whose bit is already in mip is old news; a due timer whose
 * bit is missing is "now"; a future one is its compare value. */
static uint64_t timer_event(const struct rv_hart *h, uint64_t cmp,
			    uint64_t bit, uint64_t now)
{
	if (cmp > now)
		return cmp;
	if (__atomic_load_n(&h->mip, __ATOMIC_RELAXED) & bit)
		return UINT64_MAX;
	return now;
}

uint64_t rv_clint_next_deadline(const struct rv_machine *m)
{
	uint64_t best = UINT64_MAX;
	if (!m->clint)
		return best;
	uint64_t now = rv_mtime(m);
	for (unsigned i = 0; i < m->nharts && i < RV_MAX_HARTS; i++) {
		const struct rv_hart *h = m->harts[i];
		if (!h || rv_hart_get_state(h) == RV_HART_STOPPED)
			continue;
		uint64_t t = timer_event(h, cmp_get(m->clint, i),
					 RV_MIP_MTIP, now);
		if (t < best)
			best = t;
		if (m->sbi || (h->menvcfg & MENVCFG_STCE)) {
			t = timer_event(h, h->stimecmp, RV_MIP_STIP, now);
			if (t < best)
				best = t;
		}
	}
	return best;
}

uint64_t rv_clint_mtimecmp(const struct rv_machine *m, unsigned hartid)
{
	if (!m->clint || hartid >= m->nharts || hartid >= RV_MAX_HARTS)
		return UINT64_MAX;
	return cmp_get(m->clint, hartid);
}
