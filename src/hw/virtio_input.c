#include "virtio_input.h"

#include <errno.h>
#include <string.h>

enum { EVENTQ = 0, STATUSQ = 1 };

/* ID_SERIAL and ID_DEVIDS: BUS_VIRTUAL (include/uapi/linux/input.h), the
 * transport's vendor id, product 1: enough for a guest to tell the device
 * apart, nothing a driver depends on. */
#define INPUT_SERIAL "ringvm-power-0"
#define BUS_VIRTUAL 0x06

/* The union for the current select/subsel into u[128]; returns its size
 * (bytes, 0: nothing there). */
static unsigned config_union(const struct virtio_input *d, uint8_t u[128])
{
	memset(u, 0, 128);
	switch (d->select) {
	case VIRTIO_INPUT_CFG_ID_NAME:
		if (d->subsel)
			return 0;
		memcpy(u, VIRTIO_INPUT_NAME, sizeof(VIRTIO_INPUT_NAME) - 1);
		return sizeof(VIRTIO_INPUT_NAME) - 1;
	case VIRTIO_INPUT_CFG_ID_SERIAL:
		if (d->subsel)
			return 0;
		memcpy(u, INPUT_SERIAL, sizeof(INPUT_SERIAL) - 1);
		return sizeof(INPUT_SERIAL) - 1;
	case VIRTIO_INPUT_CFG_ID_DEVIDS: {
		if (d->subsel)
			return 0;
		const uint16_t ids[4] = {
			BUS_VIRTUAL, VIRTIO_MMIO_VENDOR & 0xffff, 1, 1,
		};
		for (unsigned i = 0; i < 4; i++) {
			u[2 * i] = (uint8_t)ids[i];
			u[2 * i + 1] = (uint8_t)(ids[i] >> 8);
		}
		return 8;
	}
	case VIRTIO_INPUT_CFG_EV_BITS:
		if (d->subsel == VIRTIO_INPUT_EV_SYN) {
			u[0] = 1u << VIRTIO_INPUT_SYN_REPORT;
			return 1;
		}
		if (d->subsel == VIRTIO_INPUT_EV_KEY) {
			u[VIRTIO_INPUT_KEY_POWER / 8] =
				(uint8_t)(1u << (VIRTIO_INPUT_KEY_POWER % 8));
			return VIRTIO_INPUT_KEY_POWER / 8 + 1;
		}
		return 0;
	default:
		/* PROP_BITS: no properties; ABS_INFO: no axes. */
		return 0;
	}
}

static int input_config_read(void *dev, uint64_t off, unsigned size,
			     uint64_t *val)
{
	struct virtio_input *d = dev;
	uint8_t cfg[VIRTIO_INPUT_CFG_LEN] = { 0 };
	cfg[VIRTIO_INPUT_CFG_SELECT] = d->select;
	cfg[VIRTIO_INPUT_CFG_SUBSEL] = d->subsel;
	cfg[VIRTIO_INPUT_CFG_SIZE] =
		(uint8_t)config_union(d, cfg + VIRTIO_INPUT_CFG_UNION);
	return virtio_config_read_bytes(cfg, sizeof(cfg), off, size, val);
}

/* Only select and subsel are driver-writable (§5.8.4); other writes are
 * ignored, as are the bytes of a wide write beyond them. */
static int input_config_write(void *dev, uint64_t off, unsigned size,
			      uint64_t val)
{
	struct virtio_input *d = dev;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		if (off + i == VIRTIO_INPUT_CFG_SELECT)
			d->select = b;
		else if (off + i == VIRTIO_INPUT_CFG_SUBSEL)
			d->subsel = b;
	}
	return 0;
}

static bool driver_live(const struct virtio_input *d)
{
	uint32_t s = d->t.status;
	return (s & VIRTIO_STATUS_DRIVER_OK) &&
	       !(s & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Write ev (8 little-endian bytes) across the chain's writable buffers;
 * the caller checked wr_bytes >= 8. */
static void put_event(struct virtio_input *d, const struct virtq_chain *c,
		      const struct virtio_input_event *ev)
{
	uint8_t b[8] = {
		(uint8_t)ev->type, (uint8_t)(ev->type >> 8),
		(uint8_t)ev->code, (uint8_t)(ev->code >> 8),
		(uint8_t)ev->value, (uint8_t)(ev->value >> 8),
		(uint8_t)(ev->value >> 16), (uint8_t)(ev->value >> 24),
	};
	unsigned done = 0;
	for (unsigned i = c->n_read; i < c->n && done < sizeof(b); i++) {
		unsigned n = d->bufs[i].len;
		if (n > sizeof(b) - done)
			n = sizeof(b) - done;
		memcpy(d->bufs[i].hva, b + done, n);
		done += n;
	}
}

/* Move queued events into eventq buffers while both last. */
static void deliver(struct virtio_input *d)
{
	if (!d->npend || !driver_live(d))
		return;
	struct virtqueue *vq = virtio_mmio_queue(&d->t, EVENTQ);
	struct virtq_chain c;
	bool pushed = false;
	while (d->npend) {
		int rc = virtq_pop(vq, d->bufs, VIRTIO_INPUT_MAX_BUFS, &c);
		if (rc == -EAGAIN) {
			/* Out of buffers with events left: have the driver
			 * kick when it adds some (unless it just did). */
			if (virtq_enable_notify(vq))
				continue;
			break;
		}
		if (rc == -EPROTO) {
			virtio_mmio_needs_reset(&d->t);
			break;
		}
		pushed = true;
		if (rc || c.wr_bytes < sizeof(uint64_t)) {
			d->stats.bad_chains++;
			virtq_push(vq, c.head, 0);
			continue;
		}
		put_event(d, &c, &d->pend[d->head]);
		virtq_push(vq, c.head, 8);
		d->head = (d->head + 1) % VIRTIO_INPUT_PENDING;
		d->npend--;
		d->stats.delivered++;
	}
	if (pushed)
		virtio_mmio_signal_used(&d->t, EVENTQ);
}

/* statusq: LED and similar feedback this device has no use for. */
static void drain_status(struct virtio_input *d, struct virtio_mmio *t)
{
	struct virtqueue *vq = virtio_mmio_queue(t, STATUSQ);
	struct virtq_chain c;
	do {
		for (;;) {
			int rc = virtq_pop(vq, d->bufs, VIRTIO_INPUT_MAX_BUFS,
					   &c);
			if (rc == -EAGAIN)
				break;
			if (rc == -EPROTO) {
				virtio_mmio_needs_reset(t);
				goto out;
			}
			if (rc)
				d->stats.bad_chains++;
			else
				d->stats.status_in++;
			virtq_push(vq, c.head, 0);
		}
	} while (virtq_enable_notify(vq));
out:
	virtio_mmio_signal_used(t, STATUSQ);
}

static void input_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_input *d = dev;
	if (q == STATUSQ)
		drain_status(d, t);
	else
		deliver(d);
}

/* A driver reset (Linux does one at probe) clears the config selection
 * but keeps presses not yet delivered: they are for the driver coming up. */
static void input_reset(void *dev)
{
	struct virtio_input *d = dev;
	d->select = d->subsel = 0;
}

static const struct virtio_dev_ops input_ops = {
	.name = "virtio-input",
	.device_id = VIRTIO_ID_INPUT,
	.features = 0,
	.num_queues = 2,
	.queue_max = VIRTIO_INPUT_QUEUE_MAX,
	.config_read = input_config_read,
	.config_write = input_config_write,
	.queue_notify = input_notify,
	.reset = input_reset,
};

int virtio_input_init(struct virtio_input *d, struct bus *bus, uint64_t base,
		      struct guest_mem *mem, struct irq_line irq,
		      struct err *errp)
{
	memset(d, 0, sizeof(*d));
	return virtio_mmio_init(&d->t, bus, base, mem, irq, &input_ops, d,
				errp);
}

void virtio_input_exit(struct virtio_input *d)
{
	virtio_mmio_exit(&d->t);
}

int virtio_input_power_button(struct virtio_input *d)
{
	static const struct virtio_input_event press[] = {
		{ VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 1 },
		{ VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0 },
		{ VIRTIO_INPUT_EV_KEY, VIRTIO_INPUT_KEY_POWER, 0 },
		{ VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0 },
	};
	const unsigned n = sizeof(press) / sizeof(press[0]);
	if (VIRTIO_INPUT_PENDING - d->npend < n) {
		d->stats.dropped++;
		return -ENOSPC;
	}
	for (unsigned i = 0; i < n; i++) {
		d->pend[(d->head + d->npend) % VIRTIO_INPUT_PENDING] = press[i];
		d->npend++;
	}
	deliver(d);
	return 0;
}

void virtio_input_drop_pending(struct virtio_input *d)
{
	d->head = d->npend = 0;
}
