/* Split virtqueue, device side (virtio 1.2 §2.7).
 *
 * The rings live in guest memory and are written by a hostile driver, so
 * everything read from them is validated before use:
 *  - ring addresses and sizes when the queue is enabled (§2.7, table
 *    "Virtqueue Part Alignment/Size"),
 *  - every descriptor, indirect table and buffer address on each pop,
 *  - the avail index, which may not run more than the queue size ahead.
 * Each descriptor is copied once out of guest memory before it is looked
 * at, so a driver changing it concurrently cannot make a checked value
 * differ from the used one.
 *
 * Errors are split in two kinds so that a device can react per the spec:
 *  - a malformed chain (-EINVAL, -EFAULT, -E2BIG) is consumed; the device
 *    returns it to the driver with virtq_push(head, 0) and goes on,
 *  - a broken ring (-EPROTO) cannot be used any more; the device sets
 *    DEVICE_NEEDS_RESET (§2.1.2).  Every later pop returns -EPROTO until
 *    virtq_reset().
 *
 * Not thread-safe: one thread at a time per queue.  idx fields are accessed
 * with acquire/release atomics so the driver may run on other host threads
 * (vCPUs) concurrently.  Nothing here allocates. */
#ifndef RINGVM_HW_VIRTQUEUE_H
#define RINGVM_HW_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"

/* One guest buffer of a popped chain, already translated to host memory. */
struct virtq_buf {
	void *hva;      /* host address of the buffer, never NULL */
	uint32_t len;   /* bytes, never 0 (zero-length descriptors are skipped) */
	bool writable;  /* device-writable (VIRTQ_DESC_F_WRITE) */
};

/* What virtq_pop() found.  Readable buffers always precede writable ones
 * in bufs[] (§2.7.4.2 requires it; chains that break it are refused). */
struct virtq_chain {
	uint16_t head;      /* descriptor index to hand back with virtq_push */
	unsigned n;         /* entries filled in bufs[] */
	unsigned n_read;    /* of which the first n_read are device-readable */
	uint32_t rd_bytes;  /* total device-readable bytes */
	uint32_t wr_bytes;  /* total device-writable bytes */
};

struct virtqueue {
	const struct guest_mem *mem;
	uint16_t max;         /* largest size the device accepts */

	/* Valid while ready. */
	bool ready;
	bool broken;          /* ring corrupt: NEEDS_RESET until reset */
	bool event_idx;       /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;        /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint16_t size;        /* queue size (power of 2) */
	void *desc;           /* host views of the three parts */
	void *avail;
	void *used;
	uint16_t last_avail;  /* next avail->ring slot the device will read */
	uint16_t used_idx;    /* device's copy of used->idx */
	uint16_t signalled;   /* used_idx at the last interrupt decision */
};

/* Prepare a queue that may be enabled later.  max: largest queue size the
 * device supports, a power of 2 in 1..32768 (the caller's constant). */
void virtq_init(struct virtqueue *vq, const struct guest_mem *mem,
		uint16_t max);

/* Enable the queue (QueueReady = 1, §4.2.3.2).
 * size: QueueNum chosen by the driver; desc/avail/used: guest-physical
 * addresses of the Descriptor Table, Available Ring and Used Ring;
 * features: the negotiated feature bits (INDIRECT_DESC and EVENT_IDX are
 * looked at).  Returns 0, or -EINVAL when size is 0, not a power of 2 or
 * above max, an address is misaligned (desc 16, avail 2, used 4 bytes) or
 * a part does not lie wholly inside one RAM region.  On error the queue
 * stays disabled. */
int virtq_enable(struct virtqueue *vq, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features);

/* A ready queue's state for save/load (hw/virtio_mmio_state.c): the ring
 * layout as enabled and the device-side indices.  Host pointers are not
 * state: they are recomputed from the addresses. */
struct virtq_saved {
	uint16_t size;
	uint64_t desc, avail, used;    /* guest-physical */
	uint16_t last_avail, used_idx, signalled;
	bool broken;
};

/* Make vq ready with a saved state, checking the layout exactly as
 * virtq_enable does (size a power of 2 up to max, parts aligned and
 * inside one RAM region each) but writing nothing to guest memory (the
 * rings hold the driver's live state).  Returns 0 or -EINVAL (the queue
 * then stays disabled). */
int virtq_restore(struct virtqueue *vq, const struct virtq_saved *sv,
		  uint64_t features);

/* Disable the queue and forget all ring state (device reset, QueueReady=0).
 * max and mem are kept. */
void virtq_reset(struct virtqueue *vq);

/* Take the next available chain.  bufs: caller's array of max_bufs entries
 * (a chain with more non-empty buffers fails with -E2BIG).
 * Returns:
 *   0        chain in *c and bufs[0..c->n)
 *   -EAGAIN  nothing available (or the queue is not ready)
 *   -EINVAL  malformed chain: descriptor index out of range, loop or chain
 *            longer than the queue size (in the ring or in an indirect
 *            table, §2.7.5.3.1), indirect misuse
 *            (feature not negotiated, nested, with NEXT, len 0 or not a
 *            multiple of 16), readable after writable, > 4 GiB in total
 *   -EFAULT  a buffer or indirect table is not wholly inside RAM
 *   -E2BIG   more than max_bufs non-empty buffers
 *   -EPROTO  the ring is broken (avail idx more than size ahead, head index
 *            out of range); nothing was consumed
 * For -EINVAL/-EFAULT/-E2BIG the chain is consumed and c->head is valid:
 * the device completes it with virtq_push(vq, c->head, 0). */
int virtq_pop(struct virtqueue *vq, struct virtq_buf *bufs,
	      unsigned max_bufs, struct virtq_chain *c);

/* Give back the last n chains popped successfully and not pushed: the
 * next pops return them again.  For a device that finds it cannot use
 * them yet (virtio-net: receive buffers too small in total for a frame).
 * Chains consumed with an error must be pushed, never unpopped. */
void virtq_unpop(struct virtqueue *vq, uint16_t n);

/* The device looked at every available chain and needs more than they
 * hold (virtio-net: a large frame across mergeable buffers): ask the driver
 * to notify when it makes *more* chains available (with EVENT_IDX,
 * avail_event = the current avail idx, §2.7.10; virtq_enable_notify would
 * ask only for chains the device has not seen, which after virtq_unpop the
 * driver already published, so it would never notify).  Returns whether
 * more arrived meanwhile, i.e. whether to look again before waiting. */
bool virtq_want_more(struct virtqueue *vq);

/* Return a chain to the driver: head as given by virtq_pop, written: bytes
 * the device wrote into the chain's writable buffers (§2.7.8).  The used
 * idx is published with release ordering, so the data and the used element
 * are visible to the driver before the index is. */
void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed since the last
 * call: VIRTIO_F_EVENT_IDX used_event (§2.7.10) or, without it, the
 * VIRTQ_AVAIL_F_NO_INTERRUPT flag (§2.7.7).  false when nothing new was
 * pushed.  Call once after a batch of pushes. */
bool virtq_should_notify(struct virtqueue *vq);

/* Ask the driver to notify on the next available buffer (with EVENT_IDX,
 * write avail_event = last_avail, §2.7.10) and return whether buffers
 * arrived meanwhile, i.e. whether the device must poll again before it
 * sleeps.  virtq_pop() already publishes avail_event after each chain. */
bool virtq_enable_notify(struct virtqueue *vq);

/* Chains the driver made available and the device has not popped yet
 * (0 when not ready or broken). */
unsigned virtq_pending(const struct virtqueue *vq);

#endif
