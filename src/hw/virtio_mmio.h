/* virtio-mmio transport, version 2 ("modern") only (virtio 1.2 §4.2.2).
 *
 * The transport owns the device status, feature negotiation, the queues and
 * the interrupt status; a device model supplies a struct virtio_dev_ops and
 * only ever calls the helpers at the end of this file, never the register
 * layout, so that a virtio-pci transport can later offer the same helpers.
 *
 * Register accesses (offsets below 0x100) must be 4 bytes wide and aligned
 * (§4.2.2.2); anything else fails with -EINVAL, which the engine turns into
 * an access fault.  Config space (0x100 up) accepts aligned 1, 2, 4 and
 * 8-byte accesses.  Not thread-safe: the caller serialises MMIO accesses
 * and device callbacks for one transport. */
#ifndef RINGVM_HW_VIRTIO_MMIO_H
#define RINGVM_HW_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/guest_mem.h"
#include "core/irq.h"
#include "virtio.h"
#include "virtqueue.h"

/* Register offsets, bytes (§4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_SHM_SEL             0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW         0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH        0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW        0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH       0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC   0x74726976u  /* "virt" */
/* VendorID: the bytes "RVM\0" read as a little-endian 32-bit value. */
#define VIRTIO_MMIO_VENDOR  0x004d5652u
/* Bytes of bus window a transport registers (registers + 256 bytes of
 * config space); the FDT/ACPI node may describe a larger slot. */
#define VIRTIO_MMIO_SIZE    0x200u
#define VIRTIO_MMIO_MAX_QUEUES 8

/* Features every device gets from the transport and the ring code:
 * VERSION_1 (modern only), INDIRECT_DESC and EVENT_IDX. */
#define VIRTIO_TRANSPORT_FEATURES                                      \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) |                              \
	 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |                          \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

struct virtio_mmio;

/* What a device model provides.  dev is the opaque given at init. */
struct virtio_dev_ops {
	const char *name;         /* bus window name, e.g. "virtio-blk" */
	uint32_t device_id;       /* VIRTIO_ID_* */
	uint64_t features;        /* device-specific bits offered */
	unsigned num_queues;      /* 1..VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;       /* QueueNumMax, power of 2 <= 32768 */

	/* Config space access.  off: bytes from the start of the device's
	 * config structure (< 256); size: 1, 2, 4 or 8, naturally aligned.
	 * Return 0 or a negative errno (an access fault).  NULL: reads give
	 * 0, writes are ignored. */
	int (*config_read)(void *dev, uint64_t off, unsigned size,
			   uint64_t *val);
	int (*config_write)(void *dev, uint64_t off, unsigned size,
			    uint64_t val);
	/* The driver notified queue q (< num_queues), which is ready, with
	 * DRIVER_OK set and the device not in NEEDS_RESET.  Process what is
	 * available (virtio_mmio_queue + virtq_pop), push, then call
	 * virtio_mmio_signal_used once. */
	void (*queue_notify)(void *dev, struct virtio_mmio *t, unsigned q);
	/* Features were accepted (FEATURES_OK kept); optional. */
	void (*features_ok)(void *dev, uint64_t features);
	/* The driver reset the device (Status = 0): drop device-side
	 * request state.  Queues are reset by the transport.  Optional. */
	void (*reset)(void *dev);
};

struct virtio_mmio_queue {
	uint32_t num;                   /* QueueNum as written */
	uint64_t desc, driver, device;  /* guest-physical ring addresses */
	struct virtqueue vq;
};

struct virtio_mmio {
	struct bus *bus;
	uint64_t base;
	struct guest_mem *mem;
	struct irq_line irq;
	const struct virtio_dev_ops *ops;
	void *dev;

	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t offered;          /* ops->features | transport features */
	uint64_t driver_features;  /* as written by the driver */
	bool bad_driver_features;  /* driver set a bit above 63 */
	uint64_t features;         /* accepted at FEATURES_OK, else 0 */
	uint32_t queue_sel;
	uint32_t int_status;       /* VIRTIO_INT_* */
	uint32_t config_generation;
	uint32_t shm_sel;
	int irq_level;
	struct virtio_mmio_queue q[VIRTIO_MMIO_MAX_QUEUES];
};

/* Set up the transport for a device and register its VIRTIO_MMIO_SIZE-byte
 * window at base on bus.  mem, ops, dev and bus must outlive the transport;
 * irq is copied.  Returns 0, -EINVAL for bad ops (no queues, too many, a
 * queue_max that is not a power of 2) or the bus_register error (overlap). */
int virtio_mmio_init(struct virtio_mmio *t, struct bus *bus, uint64_t base,
		     struct guest_mem *mem, struct irq_line irq,
		     const struct virtio_dev_ops *ops, void *dev,
		     struct err *errp);

/* Unregister the window and lower the interrupt.  Safe after a failed
 * virtio_mmio_init() and when called twice. */
void virtio_mmio_exit(struct virtio_mmio *t);

/* Reset the device as a driver writing Status = 0 does (§2.1, §4.2.2.1):
 * the device's reset callback, every queue, features, interrupt status
 * (the line is lowered).  Used at machine reset. */
void virtio_mmio_reset(struct virtio_mmio *t);

/* The bus callbacks, exposed for tests that bypass a struct bus; t is the
 * opaque.  Same contract as struct bus_ops. */
int virtio_mmio_read(void *t, uint64_t off, unsigned size, uint64_t *val);
int virtio_mmio_write(void *t, uint64_t off, unsigned size, uint64_t val);

/* ---- Helpers for device models ---- */

/* Queue q (< num_queues), or NULL.  The queue may not be ready: virtq_pop
 * then returns -EAGAIN. */
struct virtqueue *virtio_mmio_queue(struct virtio_mmio *t, unsigned q);

/* After pushing used buffers on queue q: raise the used-buffer interrupt
 * if the driver asked for one (virtq_should_notify). */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q);

/* The device's configuration changed: bump ConfigGeneration and raise the
 * configuration change interrupt (§2.5.1, §4.2.2). */
void virtio_mmio_config_changed(struct virtio_mmio *t);

/* The device cannot go on (e.g. a corrupt ring, virtq_pop -EPROTO): set
 * DEVICE_NEEDS_RESET and, if DRIVER_OK, send a configuration change
 * notification (§2.1.2).  Queues are not processed until the driver
 * resets the device. */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

/* Negotiated features (0 before FEATURES_OK). */
static inline uint64_t virtio_mmio_features(const struct virtio_mmio *t)
{
	return t->features;
}

/* Read size (1..8) bytes at off of a device's little-endian config image
 * cfg[0..len) into *val; bytes past len read as zero (virtio 1.2 §4.2.2:
 * config space is device-defined, reads beyond it are harmless).
 * Shared by devices whose config is a plain byte array. */
static inline int virtio_config_read_bytes(const uint8_t *cfg, size_t len,
					   uint64_t off, unsigned size,
					   uint64_t *val)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		if (off + i < len)
			v |= (uint64_t)cfg[off + i] << (8 * i);
	*val = v;
	return 0;
}

/* ---- state (core/state.h; virtio_mmio_state.c) ---------------------
 *
 * A section (version 1) per transport: the device id, status, feature
 * selectors, offered, driver-written and accepted features, QueueSel,
 * InterruptStatus, ConfigGeneration, ShmSel and per queue QueueNum, the
 * three ring addresses, ready, and for a ready queue the device's ring
 * indices (last avail, used idx, last interrupt decision) and whether it
 * is broken.  Host pointers into the rings are not state: a load
 * recomputes them from the addresses with the checks a driver's
 * QueueReady write gets, and a ring outside RAM fails the load.  The
 * device model saves its own part in a section of its own. */
struct state_writer;
struct state_reader;

struct virtio_mmio_state {
	uint32_t status, dev_features_sel, drv_features_sel;
	uint64_t driver_features, features;
	bool bad_driver_features;
	uint32_t queue_sel, int_status, config_generation, shm_sel;
	struct {
		uint32_t num;
		uint64_t desc, driver, device;
		struct virtqueue vq;   /* ready, or reset */
	} q[VIRTIO_MMIO_MAX_QUEUES];
};

/* Append section `name` (e.g. "virtio0").  The device's own requests
 * must be finished (the caller's duty: a paused VM). */
void virtio_mmio_save(const struct virtio_mmio *t, const char *name,
		      struct state_writer *w);

/* Read and check section `name` for transport t (which is not changed):
 * the same device id and queue count, accepted features within what t
 * offers, interrupt bits that exist, ready queues whose rings lie in t's
 * guest memory.  Returns 0, -ENOENT or -EINVAL. */
int virtio_mmio_parse(struct state_reader *r, const char *name,
		      const struct virtio_mmio *t,
		      struct virtio_mmio_state *s, struct err *errp);

/* Apply a parsed state to t (whose device has no request in flight); the
 * device's features_ok hook sees the accepted features again, and the
 * interrupt line is driven from InterruptStatus. */
void virtio_mmio_apply(struct virtio_mmio *t,
		       const struct virtio_mmio_state *s);

#endif
