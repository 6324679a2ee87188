#include "virtio_mmio.h"

#include <string.h>

static void update_irq(struct virtio_mmio *t)
{
	int level = t->int_status != 0;
	if (level != t->irq_level) {
		t->irq_level = level;
		irq_set_level(&t->irq, level);
	}
}

static void raise_int(struct virtio_mmio *t, uint32_t bits)
{
	t->int_status |= bits;
	update_irq(t);
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		struct virtio_mmio_queue *q = &t->q[i];
		virtq_reset(&q->vq);
		q->num = 0;
		q->desc = q->driver = q->device = 0;
	}
	t->status = 0;
	t->dev_features_sel = t->drv_features_sel = 0;
	t->driver_features = t->features = 0;
	t->bad_driver_features = false;
	t->queue_sel = 0;
	t->shm_sel = 0;
	t->int_status = 0;
	update_irq(t);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_config_changed(t);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	raise_int(t, VIRTIO_INT_CONFIG);
}

struct virtqueue *virtio_mmio_queue(struct virtio_mmio *t, unsigned q)
{
	return q < t->ops->num_queues ? &t->q[q].vq : NULL;
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q)
{
	if (q < t->ops->num_queues && virtq_should_notify(&t->q[q].vq))
		raise_int(t, VIRTIO_INT_USED);
}

/* §2.2, §3.1.1: FEATURES_OK sticks only if the driver accepted
 * VERSION_1 and nothing that was not offered. */
static void write_status(struct virtio_mmio *t, uint32_t val)
{
	val &= 0xff;
	if (val == 0) {
		virtio_mmio_reset(t);
		return;
	}
	uint32_t old = t->status;
	/* NEEDS_RESET is the device's bit; FEATURES_OK, once accepted, is
	 * not the driver's to take back without a reset. */
	val &= ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	val |= old & (VIRTIO_STATUS_DEVICE_NEEDS_RESET |
		      VIRTIO_STATUS_FEATURES_OK);
	if ((val & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = t->driver_features;
		if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) ||
		    (f & ~t->offered) || t->bad_driver_features) {
			val &= ~VIRTIO_STATUS_FEATURES_OK;
		} else {
			t->features = f;
			if (t->ops->features_ok)
				t->ops->features_ok(t->dev, f);
		}
	}
	t->status = val;
}

static struct virtio_mmio_queue *sel_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->q[t->queue_sel] : NULL;
}

static void write_queue_ready(struct virtio_mmio *t,
			      struct virtio_mmio_queue *q, uint32_t val)
{
	if (!val) {
		virtq_reset(&q->vq);
		return;
	}
	if (q->vq.ready)
		return;
	/* The spec leaves a bad ring unspecified for MMIO; Linux does not
	 * read QueueReady back, so a silent refusal would hang it.  Refuse
	 * and ask for a reset instead, which the driver does see. */
	if (q->num > VIRTQ_MAX_SIZE ||
	    virtq_enable(&q->vq, q->num, q->desc, q->driver, q->device,
			 t->features))
		virtio_mmio_needs_reset(t);
}

static void set_lo(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffULL) | (uint64_t)hi << 32;
}

static int write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtio_mmio_queue *q = sel_queue(t);
	if (!q)
		return 0;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		write_queue_ready(t, q, val);
		return 0;
	}
	/* §4.2.2.3: the layout must not change under a live queue. */
	if (q->vq.ready)
		return 0;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->num = val; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_lo(&q->desc, val); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_hi(&q->desc, val); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_lo(&q->driver, val); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_hi(&q->driver, val); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_lo(&q->device, val); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_hi(&q->device, val); break;
	}
	return 0;
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_mmio_queue *q = sel_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->dev_features_sel > 1)
			return 0;
		return (uint32_t)(t->offered >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q && q->vq.ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->int_status;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	/* No shared memory regions: length reads as -1 (§4.2.2). */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH: return 0xffffffffu;
	}
	/* Write-only and reserved registers read as 0. */
	return 0;
}

static int write_reg(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = val;
		return 0;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->status & VIRTIO_STATUS_FEATURES_OK)
			return 0;
		if (t->drv_features_sel == 0)
			set_lo(&t->driver_features, val);
		else if (t->drv_features_sel == 1)
			set_hi(&t->driver_features, val);
		else if (val)
			/* Bits above 63 are never offered. */
			t->bad_driver_features = true;
		return 0;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = val;
		return 0;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return write_queue_reg(t, off, val);
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < t->ops->num_queues && t->q[val].vq.ready &&
		    (t->status & VIRTIO_STATUS_DRIVER_OK) &&
		    !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
		    t->ops->queue_notify)
			t->ops->queue_notify(t->dev, t, val);
		return 0;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->int_status &= ~val;
		update_irq(t);
		return 0;
	case VIRTIO_MMIO_STATUS:
		write_status(t, val);
		return 0;
	case VIRTIO_MMIO_SHM_SEL:
		t->shm_sel = val;
		return 0;
	}
	/* Read-only and reserved registers ignore writes. */
	return 0;
}

static bool config_access_ok(uint64_t off, unsigned size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	return off < VIRTIO_MMIO_SIZE && size <= VIRTIO_MMIO_SIZE - off &&
	       !(off & (size - 1));
}

int virtio_mmio_read(void *opaque, uint64_t off, unsigned size,
		     uint64_t *val)
{
	struct virtio_mmio *t = opaque;
	*val = 0;
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (!config_access_ok(off, size))
			return -EINVAL;
		if (!t->ops->config_read)
			return 0;
		return t->ops->config_read(t->dev, off - VIRTIO_MMIO_CONFIG,
					   size, val);
	}
	if (size != 4 || (off & 3))
		return -EINVAL;  /* §4.2.2.2 */
	*val = read_reg(t, off);
	return 0;
}

int virtio_mmio_write(void *opaque, uint64_t off, unsigned size,
		      uint64_t val)
{
	struct virtio_mmio *t = opaque;
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (!config_access_ok(off, size))
			return -EINVAL;
		if (!t->ops->config_write)
			return 0;
		return t->ops->config_write(t->dev, off - VIRTIO_MMIO_CONFIG,
					    size, val);
	}
	if (size != 4 || (off & 3))
		return -EINVAL;
	return write_reg(t, off, (uint32_t)val);
}

static const struct bus_ops virtio_mmio_bus_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
	.sizes = 1 | 2 | 4 | 8,
};

int virtio_mmio_init(struct virtio_mmio *t, struct bus *bus, uint64_t base,
		     struct guest_mem *mem, struct irq_line irq,
		     const struct virtio_dev_ops *ops, void *dev,
		     struct err *errp)
{
	const char *name = ops->name ? ops->name : "virtio-mmio";
	/* Zeroed first so that virtio_mmio_exit() is safe after a failure. */
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES)
		return err_set(errp, EINVAL, "%s: %u queues (1..%u supported)",
			       name, ops->num_queues, VIRTIO_MMIO_MAX_QUEUES);
	if (ops->queue_max == 0 || (ops->queue_max & (ops->queue_max - 1)) ||
	    ops->queue_max > VIRTQ_MAX_SIZE)
		return err_set(errp, EINVAL, "%s: queue size %u is not a power "
			       "of 2 up to %u", name, ops->queue_max,
			       VIRTQ_MAX_SIZE);

	t->bus = bus;
	t->base = base;
	t->mem = mem;
	t->irq = irq;
	t->dev = dev;
	t->offered = ops->features | VIRTIO_TRANSPORT_FEATURES;
	for (unsigned i = 0; i < ops->num_queues; i++)
		virtq_init(&t->q[i].vq, mem, ops->queue_max);

	int rc = bus_register(bus, base, VIRTIO_MMIO_SIZE,
			      &virtio_mmio_bus_ops, t, name, errp);
	if (rc)
		t->bus = NULL;
	return rc;
}

void virtio_mmio_exit(struct virtio_mmio *t)
{
	if (t->bus)
		bus_unregister(t->bus, t->base);
	t->bus = NULL;
	t->int_status = 0;
	update_irq(t);
}
