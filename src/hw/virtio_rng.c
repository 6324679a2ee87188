#include "virtio_rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static ssize_t host_getrandom(void *buf, size_t len, unsigned flags)
{
	return getrandom(buf, len, flags);
}

/* Fill the chain's writable buffers, up to VIRTIO_RNG_MAX_CHAIN bytes in
 * all; returns the bytes written (they are contiguous from the first
 * writable byte, as the used length implies). */
static uint32_t fill_chain(struct virtio_rng *r, const struct virtq_chain *c)
{
	uint32_t done = 0;
	for (unsigned i = c->n_read; i < c->n; i++) {
		uint8_t *p = r->bufs[i].hva;
		uint32_t want = r->bufs[i].len, got = 0;
		if (want > VIRTIO_RNG_MAX_CHAIN - done)
			want = VIRTIO_RNG_MAX_CHAIN - done;
		while (got < want) {
			ssize_t n = r->fill(p + got, want - got, GRND_NONBLOCK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (uint32_t)n;
		}
		done += got;
		if (got < want) {
			r->stats.short_reads++;
			break;
		}
		if (done == VIRTIO_RNG_MAX_CHAIN)
			break;
	}
	return done;
}

static void rng_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_rng *r = dev;
	struct virtqueue *vq = virtio_mmio_queue(t, q);
	struct virtq_chain c;

	do {
		for (;;) {
			int rc = virtq_pop(vq, r->bufs, VIRTIO_RNG_MAX_BUFS, &c);
			if (rc == -EAGAIN)
				break;
			if (rc == -EPROTO) {
				virtio_mmio_needs_reset(t);
				goto out;
			}
			r->stats.requests++;
			if (rc) {
				r->stats.bad_chains++;
				virtq_push(vq, c.head, 0);
				continue;
			}
			uint32_t n = fill_chain(r, &c);
			r->stats.bytes += n;
			virtq_push(vq, c.head, n);
		}
	} while (virtq_enable_notify(vq));
out:
	virtio_mmio_signal_used(t, q);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.features = 0,
	.num_queues = 1,
	.queue_max = VIRTIO_RNG_QUEUE_MAX,
	.queue_notify = rng_notify,
};

int virtio_rng_init(struct virtio_rng *r, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct err *errp)
{
	memset(r, 0, sizeof(*r));
	r->fill = host_getrandom;
	return virtio_mmio_init(&r->t, bus, base, mem, irq, &rng_ops, r, errp);
}

void virtio_rng_exit(struct virtio_rng *r)
{
	virtio_mmio_exit(&r->t);
}
