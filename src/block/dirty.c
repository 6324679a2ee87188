/* Dirty-block tracking (block/dirty.h). */
#include "dirty.h"

#include <errno.h>
#include <stdlib.h>

int block_dirty_start(struct block_dev *bd, uint64_t granule,
		      struct err *errp)
{
	if (granule < 512 || (granule & (granule - 1)))
		return err_set(errp, EINVAL, "dirty-block granule %llu",
			       (unsigned long long)granule);
	if (bd->dirty)
		return err_set(errp, EBUSY, "disk `%s` already tracks writes",
			       bd->path);
	struct block_dirty *d = calloc(1, sizeof(*d));
	if (!d)
		return err_set(errp, ENOMEM, "out of memory");
	d->granule = granule;
	d->nbits = (bd->size + granule - 1) / granule;
	d->bits = calloc((size_t)(d->nbits + 63) / 64 + 1, 8);
	if (!d->bits) {
		free(d);
		return err_set(errp, ENOMEM, "out of memory");
	}
	__atomic_store_n(&bd->dirty, d, __ATOMIC_RELEASE);
	return 0;
}

uint64_t block_dirty_fetch(struct block_dev *bd, uint64_t *out)
{
	struct block_dirty *d = __atomic_load_n(&bd->dirty, __ATOMIC_ACQUIRE);
	if (!d)
		return 0;
	uint64_t n = 0;
	for (uint64_t i = 0; i < (d->nbits + 63) / 64; i++) {
		out[i] = __atomic_exchange_n(&d->bits[i], 0, __ATOMIC_ACQ_REL);
		n += (uint64_t)__builtin_popcountll(out[i]);
	}
	return n;
}

void block_dirty_stop(struct block_dev *bd)
{
	struct block_dirty *d = bd->dirty;
	bd->dirty = NULL;
	if (d)
		free(d->bits);
	free(d);
}

void block_dirty_mark(struct block_dev *bd, uint64_t off, uint64_t len)
{
	struct block_dirty *d = __atomic_load_n(&bd->dirty, __ATOMIC_ACQUIRE);
	if (!d || !len)
		return;
	uint64_t first = off / d->granule, last = (off + len - 1) / d->granule;
	for (uint64_t b = first; b <= last && b < d->nbits; b++)
		__atomic_fetch_or(&d->bits[b / 64], 1ULL << (b % 64),
				  __ATOMIC_RELEASE);
}
