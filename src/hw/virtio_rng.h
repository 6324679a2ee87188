/* virtio entropy device (virtio 1.2 §5.4, device id 4) fed from the host's
 * getrandom().
 *
 * One request queue; each chain's device-writable buffers are filled with
 * random bytes and the chain is returned with the count written.  Per chain
 * at most VIRTIO_RNG_MAX_CHAIN bytes are written, so a hostile driver
 * offering huge buffers only gets a short answer (§5.4.6.1 lets the device
 * write fewer bytes than offered).  getrandom() is called with
 * GRND_NONBLOCK: the vCPU loop never blocks, and while the host's pool is
 * not initialised chains complete with what could be had (possibly 0).
 * Device-readable buffers are ignored (the spec has none for this device);
 * malformed chains complete with 0 bytes.  No configuration space, no
 * device-specific features. */
#ifndef RINGVM_HW_VIRTIO_RNG_H
#define RINGVM_HW_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_RNG_QUEUE_MAX  64u           /* QueueNumMax */
#define VIRTIO_RNG_MAX_BUFS   8u            /* buffers per chain */
#define VIRTIO_RNG_MAX_CHAIN  (64u * 1024)  /* bytes written per chain */

struct virtio_rng_stats {
	uint64_t requests;     /* chains completed */
	uint64_t bytes;        /* random bytes handed out */
	uint64_t bad_chains;   /* malformed chains completed with 0 */
	uint64_t short_reads;  /* getrandom gave less than asked */
};

struct virtio_rng {
	struct virtio_mmio t;
	/* Entropy source, getrandom(buf, len, GRND_NONBLOCK) unless a test
	 * substitutes one; same return convention (bytes or -1 + errno). */
	ssize_t (*fill)(void *buf, size_t len, unsigned flags);
	struct virtio_rng_stats stats;
	struct virtq_buf bufs[VIRTIO_RNG_MAX_BUFS];
};

/* Register a virtio-rng device with its virtio-mmio window at base on bus.
 * mem and bus must outlive it; irq is copied.  r is owned by the caller.
 * Returns 0 or the virtio_mmio_init error. */
int virtio_rng_init(struct virtio_rng *r, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct err *errp);

/* Unregister (safe after a failed init and twice). */
void virtio_rng_exit(struct virtio_rng *r);

#endif
