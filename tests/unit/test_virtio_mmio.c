/* Unit tests for the virtio-mmio transport: register protocol, feature
 * negotiation, queue setup, reset, access size/alignment, and interrupt
 * status driving a fake irq line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hw/virtio_mmio.h"

#define BASE  0x10001000ULL
#define RAM   0x80000000ULL
#define DESC  (RAM + 0x1000)
#define AVAIL (RAM + 0x2000)
#define USED  (RAM + 0x3000)
#define DEV_FEATURE VIRTIO_BIT(3)

struct fake {
	uint8_t config[16];
	int notified[4], resets, features_ok_calls;
	uint64_t features_seen;
	int level, edges;
};

static int cfg_read(void *dev, uint64_t off, unsigned size, uint64_t *val)
{
	struct fake *d = dev;
	if (off + size > sizeof(d->config))
		return -EINVAL;
	uint64_t v = 0;
	memcpy(&v, d->config + off, size);
	*val = v;
	return 0;
}

static int cfg_write(void *dev, uint64_t off, unsigned size, uint64_t val)
{
	struct fake *d = dev;
	if (off + size > sizeof(d->config))
		return -EINVAL;
	memcpy(d->config + off, &val, size);
	return 0;
}

static void notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct fake *d = dev;
	struct virtq_buf bufs[4];
	struct virtq_chain c;
	struct virtqueue *vq = virtio_mmio_queue(t, q);
	d->notified[q]++;
	int rc;
	while ((rc = virtq_pop(vq, bufs, 4, &c)) != -EAGAIN) {
		if (rc == -EPROTO) {
			virtio_mmio_needs_reset(t);
			return;
		}
		virtq_push(vq, c.head, 0);
	}
	virtio_mmio_signal_used(t, q);
}

static void features_ok(void *dev, uint64_t f)
{
	struct fake *d = dev;
	d->features_ok_calls++;
	d->features_seen = f;
}

static void dev_reset(void *dev)
{
	((struct fake *)dev)->resets++;
}

static const struct virtio_dev_ops fake_ops = {
	.name = "virtio-fake",
	.device_id = VIRTIO_ID_RNG,
	.features = DEV_FEATURE,
	.num_queues = 2,
	.queue_max = 16,
	.config_read = cfg_read,
	.config_write = cfg_write,
	.queue_notify = notify,
	.features_ok = features_ok,
	.reset = dev_reset,
};

struct fx {
	struct bus bus;
	struct guest_mem mem;
	struct virtio_mmio t;
	struct fake d;
};

static void set_level(void *opaque, unsigned num, int level)
{
	struct fake *d = opaque;
	assert_int_equal(num, 3);
	if (level != d->level)
		d->edges++;
	d->level = level;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(guest_mem_add(&f->mem, RAM, 1 << 20, NULL), 0);
	struct irq_line irq = { set_level, &f->d, 3 };
	assert_int_equal(virtio_mmio_init(&f->t, &f->bus, BASE, &f->mem, irq,
					  &fake_ops, &f->d, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	virtio_mmio_exit(&f->t);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static uint32_t rd(struct fx *f, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fx *f, unsigned off, uint32_t v)
{
	assert_int_equal(bus_write(&f->bus, BASE + off, 4, v), 0);
}

static void set_driver_features(struct fx *f, uint64_t feat)
{
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
}

static void setup_queue(struct fx *f, unsigned q, uint32_t num)
{
	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The Linux driver's sequence (§3.1.1) up to DRIVER_OK. */
static void bring_up(struct fx *f, uint64_t feat)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER);
	set_driver_features(f, feat);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(f, 0, 8);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
}

/* Driver side: one 16-byte writable buffer offered on queue 0. */
static void offer_buffer(struct fx *f, uint16_t avail_idx)
{
	uint8_t d[16] = { 0 };
	uint64_t addr = RAM + 0x8000;
	uint32_t len = 16;
	uint16_t flags = VIRTQ_DESC_F_WRITE;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	assert_int_equal(gpa_write(&f->mem, DESC, d, 16), 0);
	uint16_t head = 0;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * ((avail_idx - 1) % 8),
				   &head, 2), 0);
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &avail_idx, 2), 0);
}

static void identity_registers(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(rd(f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(f, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* read-only registers ignore writes */
	wr(f, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(f, VIRTIO_MMIO_DEVICE_ID, 9);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	/* legacy-only registers read as 0 */
	assert_int_equal(rd(f, 0x28), 0);
	assert_int_equal(rd(f, 0x40), 0);
}

static void access_size_and_alignment(void **state)
{
	struct fx *f = *state;
	uint64_t v;
	assert_int_equal(bus_read(&f->bus, BASE, 1, &v), -EINVAL);
	assert_int_equal(bus_read(&f->bus, BASE, 2, &v), -EINVAL);
	assert_int_equal(bus_read(&f->bus, BASE, 8, &v), -EINVAL);
	assert_int_equal(bus_read(&f->bus, BASE + 2, 4, &v), -EINVAL);
	assert_int_equal(bus_write(&f->bus, BASE + VIRTIO_MMIO_STATUS, 1, 1),
			 -EINVAL);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);  /* not applied */
	/* direct calls (no bus) check the same */
	assert_int_equal(virtio_mmio_read(&f->t, 1, 4, &v), -EINVAL);
	assert_int_equal(virtio_mmio_write(&f->t, 0x70, 2, 0), -EINVAL);
	assert_int_equal(virtio_mmio_read(&f->t, 0x100, 3, &v), -EINVAL);
	assert_int_equal(virtio_mmio_read(&f->t, 0x102, 4, &v), -EINVAL);
	assert_int_equal(virtio_mmio_read(&f->t, 0x200, 1, &v), -EINVAL);
	assert_int_equal(virtio_mmio_read(&f->t, 0x1fc, 8, &v), -EINVAL);
	/* outside the window */
	assert_int_equal(bus_read(&f->bus, BASE + VIRTIO_MMIO_SIZE, 4, &v),
			 -ENODEV);
}

static void config_space(void **state)
{
	struct fx *f = *state;
	uint64_t v;
	for (unsigned i = 0; i < 16; i++)
		f->d.config[i] = (uint8_t)(0x10 + i);
	assert_int_equal(bus_read(&f->bus, BASE + 0x100, 1, &v), 0);
	assert_int_equal(v, 0x10);
	assert_int_equal(bus_read(&f->bus, BASE + 0x102, 2, &v), 0);
	assert_int_equal(v, 0x1312);
	assert_int_equal(bus_read(&f->bus, BASE + 0x104, 4, &v), 0);
	assert_int_equal(v, 0x17161514);
	assert_int_equal(bus_read(&f->bus, BASE + 0x108, 8, &v), 0);
	assert_int_equal(v, 0x1f1e1d1c1b1a1918ULL);
	assert_int_equal(bus_write(&f->bus, BASE + 0x101, 1, 0xaa), 0);
	assert_int_equal(f->d.config[1], 0xaa);
	/* the device's own error becomes an access fault */
	assert_int_equal(bus_read(&f->bus, BASE + 0x110, 4, &v), -EINVAL);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_mmio_config_changed(&f->t);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	assert_int_equal(f->d.level, 1);
}

static void device_features(void **state)
{
	struct fx *f = *state;
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t lo = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_int_equal(lo, (uint32_t)(DEV_FEATURE |
					 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
					 VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static int try_features(struct fx *f, uint64_t feat)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER);
	set_driver_features(f, feat);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return !!(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

static void feature_negotiation(void **state)
{
	struct fx *f = *state;
	const uint64_t v1 = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	/* legacy driver (no VERSION_1): refused, other bits kept */
	assert_false(try_features(f, DEV_FEATURE));
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	assert_int_equal(virtio_mmio_features(&f->t), 0);
	assert_int_equal(f->d.features_ok_calls, 0);
	/* a bit that was not offered */
	assert_false(try_features(f, v1 | VIRTIO_BIT(5)));
	assert_false(try_features(f, v1 | VIRTIO_BIT(VIRTIO_F_RING_PACKED)));
	/* a bit above 63 */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	set_driver_features(f, v1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	/* good sets */
	assert_true(try_features(f, v1));
	assert_true(try_features(f, v1 | DEV_FEATURE |
				 VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
	assert_int_equal(virtio_mmio_features(&f->t),
			 v1 | DEV_FEATURE | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_int_equal(f->d.features_seen, virtio_mmio_features(&f->t));
	/* features are frozen once accepted */
	set_driver_features(f, v1);
	assert_int_equal(virtio_mmio_features(&f->t),
			 v1 | DEV_FEATURE | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	/* the driver cannot take FEATURES_OK back without a reset */
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

static void queue_registers(void **state)
{
	struct fx *f = *state;
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	/* a queue the device does not have */
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_ptr_equal(virtio_mmio_queue(&f->t, 0), &f->t.q[0].vq);
	assert_null(virtio_mmio_queue(&f->t, 2));
	assert_true(f->t.q[0].vq.ready);
	assert_int_equal(f->t.q[0].vq.size, 8);
	/* the layout of a live queue does not change */
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	assert_int_equal(f->t.q[0].num, 8);
	assert_int_equal(f->t.q[0].desc, DESC);
	/* QueueReady = 0 stops it; then it can be reconfigured */
	wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	setup_queue(f, 0, 4);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(f->t.q[0].vq.size, 4);
}

static void bad_queue_needs_reset(void **state)
{
	struct fx *f = *state;
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(f->d.level, 0);
	setup_queue(f, 1, 6);  /* not a power of 2 */
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* DRIVER_OK was set: the driver hears about it */
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	assert_int_equal(f->d.level, 1);
	/* sticky across status writes; notifications are ignored */
	wr(f, VIRTIO_MMIO_STATUS, rd(f, VIRTIO_MMIO_STATUS) &
	   ~VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	offer_buffer(f, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified[0], 0);
	/* reset clears it */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(f->d.level, 0);

	/* other invalid rings: too big, out of RAM, misaligned, huge num */
	uint32_t nums[] = { 32, 0, 0x10008 };
	for (unsigned i = 0; i < 3; i++) {
		wr(f, VIRTIO_MMIO_STATUS, 0);
		setup_queue(f, 0, nums[i]);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
		assert_true(rd(f, VIRTIO_MMIO_STATUS) &
			    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	}
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);  /* not RAM */
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	/* before DRIVER_OK: the bit, but no interrupt */
	assert_true(rd(f, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(f->d.level, 0);
}

static void notify_and_interrupts(void **state)
{
	struct fx *f = *state;
	/* notifications before DRIVER_OK are not delivered */
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified[0], 0);

	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* a queue that is not ready, and one that does not exist */
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	assert_int_equal(f->d.notified[1], 0);

	offer_buffer(f, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified[0], 1);
	uint16_t used_idx;
	assert_int_equal(gpa_read(&f->mem, USED + 2, &used_idx, 2), 0);
	assert_int_equal(used_idx, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
	assert_int_equal(f->d.level, 1);
	/* config change on top: both bits, line stays up until both acked */
	virtio_mmio_config_changed(&f->t);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_INT_USED | VIRTIO_INT_CONFIG);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	assert_int_equal(f->d.level, 1);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->d.level, 0);
	assert_int_equal(f->d.edges, 2);

	/* driver suppresses interrupts */
	uint16_t no_int = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_int_equal(gpa_write(&f->mem, AVAIL, &no_int, 2), 0);
	offer_buffer(f, 2);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.notified[0], 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->d.level, 0);
}

static void corrupt_ring_needs_reset(void **state)
{
	struct fx *f = *state;
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	offer_buffer(f, 100);  /* avail idx far ahead */
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	/* a full reset and bring-up recovers */
	uint16_t zero = 0;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &zero, 2), 0);
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) &
			 VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	offer_buffer(f, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
}

static void reset(void **state)
{
	struct fx *f = *state;
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1) | DEV_FEATURE);
	setup_queue(f, 1, 16);
	offer_buffer(f, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(f->d.level, 1);
	int resets = f->d.resets;
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->d.resets, resets + 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->d.level, 0);
	assert_int_equal(virtio_mmio_features(&f->t), 0);
	for (unsigned q = 0; q < 2; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
		assert_false(f->t.q[q].vq.ready);
		assert_int_equal(f->t.q[q].desc, 0);
	}
	/* after a reset, negotiation starts over */
	set_driver_features(f, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
}

static void init_errors(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio t2;
	struct irq_line none = { 0 };
	struct err e = { 0 };
	struct virtio_dev_ops ops = fake_ops;
	ops.num_queues = 0;
	assert_int_equal(virtio_mmio_init(&t2, &f->bus, 0x20000000, &f->mem,
					  none, &ops, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "virtio-fake"));
	ops.num_queues = VIRTIO_MMIO_MAX_QUEUES + 1;
	assert_int_equal(virtio_mmio_init(&t2, &f->bus, 0x20000000, &f->mem,
					  none, &ops, NULL, NULL), -EINVAL);
	ops = fake_ops;
	ops.queue_max = 100;
	assert_int_equal(virtio_mmio_init(&t2, &f->bus, 0x20000000, &f->mem,
					  none, &ops, NULL, NULL), -EINVAL);
	/* overlapping window */
	assert_int_equal(virtio_mmio_init(&t2, &f->bus, BASE + 0x100, &f->mem,
					  none, &fake_ops, NULL, NULL), -EINVAL);
	assert_int_equal(f->bus.nr, 1);
	/* exit after a failed init must not unregister someone else */
	virtio_mmio_exit(&t2);
	assert_int_equal(f->bus.nr, 1);
	ops.num_queues = 0;
	virtio_mmio_init(&t2, &f->bus, BASE, &f->mem, none, &ops, NULL, NULL);
	virtio_mmio_exit(&t2);
	assert_int_equal(f->bus.nr, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(identity_registers),
		T(access_size_and_alignment),
		T(config_space),
		T(device_features),
		T(feature_negotiation),
		T(queue_registers),
		T(bad_queue_needs_reset),
		T(notify_and_interrupts),
		T(corrupt_ring_needs_reset),
		T(reset),
		T(init_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
