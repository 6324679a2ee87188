/* Dirty-block tracking of a block device, for live migration without
 * shared storage: every write, discard or zeroing that completes while
 * tracking is on marks the granules it touched.
 *
 * block.c marks after the driver call returns (success or not), so a range
 * read for sending after block_dirty_fetch cleared its bit is either the
 * final data or marked again for the next round.
 *
 * Threading: start and stop need the device to themselves (no data call
 * in flight: the VM paused); fetch and the marking run from any thread
 * (atomic words). */
#ifndef RINGVM_BLOCK_DIRTY_H
#define RINGVM_BLOCK_DIRTY_H

#include <stdint.h>

#include "block/block.h"
#include "core/err.h"

struct block_dirty {
	uint64_t granule;   /* bytes per bit, a power of two */
	uint64_t nbits;     /* ceil(size / granule) */
	uint64_t *bits;     /* (nbits + 63) / 64 words */
};

/* Start tracking with `granule` bytes per bit (a power of two >= 512);
 * every granule clean.  0, -EBUSY (already on) or -ENOMEM. */
int block_dirty_start(struct block_dev *bd, uint64_t granule,
		      struct err *errp);

/* Copy the bitmap into out ((nbits + 63) / 64 words) and clear it word by
 * word atomically; returns the dirty granules, 0 when not tracking. */
uint64_t block_dirty_fetch(struct block_dev *bd, uint64_t *out);

/* Stop tracking and free the bitmap (NULL-safe on a device without). */
void block_dirty_stop(struct block_dev *bd);

/* block.c: mark [off, off + len) (in range) if tracking. */
void block_dirty_mark(struct block_dev *bd, uint64_t off, uint64_t len);

#endif
