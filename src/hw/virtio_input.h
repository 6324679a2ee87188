/* virtio input device (virtio 1.2 §5.8, device id 18) that is a power
 * button: one key, KEY_POWER, which the host presses and releases
 * (virtio_input_power_button) to ask the guest for an orderly shutdown —
 * what systemd-logind (or the default guest's init) does on KEY_POWER.
 *
 * Config space (§5.8.4): the driver writes select/subsel and reads size
 * and the union; answered are ID_NAME, ID_SERIAL, ID_DEVIDS, PROP_BITS
 * (none), EV_BITS for EV_SYN (SYN_REPORT) and EV_KEY (KEY_POWER); every
 * other selection has size 0.
 *
 * eventq (queue 0): each chain's device-writable buffers receive one
 * struct virtio_input_event (8 bytes, §5.8.6); a chain with less than 8
 * writable bytes is completed with 0 and the event stays queued.  Events
 * wait in a bounded FIFO (VIRTIO_INPUT_PENDING) until the driver offers
 * buffers, so a press before the driver is up is delivered once it is;
 * a driver reset (Status = 0, which Linux does at probe) keeps them, a
 * machine reset (virtio_input_drop_pending) does not.
 * statusq (queue 1): driver→device events (LEDs...) are consumed and
 * ignored.  A broken ring sets DEVICE_NEEDS_RESET.
 *
 * Not thread-safe: the caller serialises MMIO accesses, notifications and
 * virtio_input_power_button (the board holds its bus lock). */
#ifndef RINGVM_HW_VIRTIO_INPUT_H
#define RINGVM_HW_VIRTIO_INPUT_H

#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_ID_INPUT 18

#define VIRTIO_INPUT_QUEUE_MAX 64u   /* QueueNumMax */
#define VIRTIO_INPUT_MAX_BUFS  4u    /* buffers per chain */
#define VIRTIO_INPUT_PENDING   32u   /* events waiting for buffers */

/* config select values (§5.8.4) */
#define VIRTIO_INPUT_CFG_UNSET     0x00
#define VIRTIO_INPUT_CFG_ID_NAME   0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS   0x11
#define VIRTIO_INPUT_CFG_ABS_INFO  0x12
/* Byte offsets in the config structure. */
#define VIRTIO_INPUT_CFG_SELECT 0
#define VIRTIO_INPUT_CFG_SUBSEL 1
#define VIRTIO_INPUT_CFG_SIZE   2
#define VIRTIO_INPUT_CFG_UNION  8
#define VIRTIO_INPUT_CFG_LEN    (8 + 128)

/* Linux input event codes (include/uapi/linux/input-event-codes.h). */
#define VIRTIO_INPUT_EV_SYN    0x00
#define VIRTIO_INPUT_EV_KEY    0x01
#define VIRTIO_INPUT_SYN_REPORT 0
#define VIRTIO_INPUT_KEY_POWER 116

/* What the driver sees as ID_NAME (Linux: the input device's name). */
#define VIRTIO_INPUT_NAME "ringvm power button"

struct virtio_input_event {
	uint16_t type, code;   /* host order here; le16 in guest memory */
	uint32_t value;
};

struct virtio_input_stats {
	uint64_t delivered;    /* events written to eventq */
	uint64_t dropped;      /* presses refused: FIFO full */
	uint64_t bad_chains;   /* malformed or too-short chains */
	uint64_t status_in;    /* statusq chains consumed */
};

struct virtio_input {
	struct virtio_mmio t;
	uint8_t select, subsel;   /* as written by the driver */
	/* FIFO of events not yet delivered: pend[(head + i) % PENDING]. */
	struct virtio_input_event pend[VIRTIO_INPUT_PENDING];
	unsigned head, npend;
	struct virtio_input_stats stats;
	struct virtq_buf bufs[VIRTIO_INPUT_MAX_BUFS];
};

/* Register a virtio-input power button with its virtio-mmio window at base
 * on bus.  mem and bus must outlive it; irq is copied.  d is owned by the
 * caller.  Returns 0 or the virtio_mmio_init error. */
int virtio_input_init(struct virtio_input *d, struct bus *bus, uint64_t base,
		      struct guest_mem *mem, struct irq_line irq,
		      struct err *errp);

/* Unregister (safe after a failed init and twice). */
void virtio_input_exit(struct virtio_input *d);

/* Press and release the power key: EV_KEY KEY_POWER 1, EV_SYN, EV_KEY
 * KEY_POWER 0, EV_SYN, delivered now as far as the driver has eventq
 * buffers and queued for later otherwise.  Returns 0, or -ENOSPC when the
 * FIFO cannot take all four (nothing queued; counted in stats.dropped). */
int virtio_input_power_button(struct virtio_input *d);

/* Forget queued events (machine reset: a press was for the old boot). */
void virtio_input_drop_pending(struct virtio_input *d);

/* ---- state (core/state.h; virtio_input_state.c) ---------------------
 *
 * Section (version 1): select, subsel, the number of queued events and
 * each (type, code, value).  The transport has its own section. */
struct state_writer;
struct state_reader;

struct virtio_input_state {
	uint8_t select, subsel;
	unsigned npend;
	struct virtio_input_event pend[VIRTIO_INPUT_PENDING];
};

/* Append section `name` (e.g. "input0"). */
void virtio_input_save(const struct virtio_input *d, const char *name,
		       struct state_writer *w);

/* Read and check section `name` (d is not changed): at most
 * VIRTIO_INPUT_PENDING queued events.  Returns 0, -ENOENT or -EINVAL. */
int virtio_input_parse(struct state_reader *r, const char *name,
		       const struct virtio_input *d,
		       struct virtio_input_state *s, struct err *errp);

/* Apply after the transport's state (virtio_mmio_apply). */
void virtio_input_apply(struct virtio_input *d,
			const struct virtio_input_state *s);

#endif
