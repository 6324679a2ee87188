#include "bus.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name,
		 struct err *errp)
{
	if (len == 0 || base + len - 1 < base)
		return err_set(errp, EINVAL, "%s: bad bus window %#" PRIx64
			       "+%#" PRIx64, name, base, len);
	unsigned i = 0;
	while (i < b->nr && b->r[i].base < base)
		i++;
	const struct bus_region *prev = i ? &b->r[i - 1] : NULL;
	const struct bus_region *next = i < b->nr ? &b->r[i] : NULL;
	if (prev && prev->base + prev->len - 1 >= base)
		return err_set(errp, EINVAL, "%s at %#" PRIx64
			       " overlaps %s", name, base, prev->name);
	if (next && base + len - 1 >= next->base)
		return err_set(errp, EINVAL, "%s at %#" PRIx64
			       " overlaps %s", name, base, next->name);
	if (b->nr == b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : 16;
		void *p = realloc(b->r, cap * sizeof(*b->r));
		if (!p)
			return err_set(errp, ENOMEM, "out of memory");
		b->r = p;
		b->cap = cap;
	}
	memmove(&b->r[i + 1], &b->r[i], (b->nr - i) * sizeof(*b->r));
	b->r[i] = (struct bus_region){ base, len, ops, opaque, name };
	b->nr++;
	return 0;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	for (unsigned i = 0; i < b->nr; i++) {
		if (b->r[i].base == base) {
			memmove(&b->r[i], &b->r[i + 1],
				(b->nr - i - 1) * sizeof(*b->r));
			b->nr--;
			return 0;
		}
	}
	return -ENOENT;
}

const struct bus_region *bus_find(const struct bus *b, uint64_t addr)
{
	unsigned lo = 0, hi = b->nr;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_region *r = &b->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static int check(const struct bus_region *r, uint64_t addr, unsigned size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	uint64_t off = addr - r->base;
	if (size > r->len - off)
		return -ENODEV;
	unsigned sizes = r->ops->sizes ? r->ops->sizes : 0xf;
	if (!(sizes & size))
		return -EINVAL;
	if (!r->ops->unaligned && (addr & (size - 1)))
		return -EINVAL;
	return 0;
}

int bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *val)
{
	*val = 0;
	const struct bus_region *r = bus_find(b, addr);
	if (!r)
		return -ENODEV;
	int rc = check(r, addr, size);
	if (rc)
		return rc;
	if (!r->ops->read)
		return 0;
	pthread_mutex_lock(&b->lock);
	rc = r->ops->read(r->opaque, addr - r->base, size, val);
	pthread_mutex_unlock(&b->lock);
	if (rc)
		*val = 0;
	return rc;
}

int bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t val)
{
	const struct bus_region *r = bus_find(b, addr);
	if (!r)
		return -ENODEV;
	int rc = check(r, addr, size);
	if (rc)
		return rc;
	if (!r->ops->write)
		return 0;
	pthread_mutex_lock(&b->lock);
	rc = r->ops->write(r->opaque, addr - r->base, size, val);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void bus_lock(struct bus *b)
{
	pthread_mutex_lock(&b->lock);
}

void bus_unlock(struct bus *b)
{
	pthread_mutex_unlock(&b->lock);
}

void bus_free(struct bus *b)
{
	free(b->r);
	b->r = NULL;
	b->nr = b->cap = 0;
}
