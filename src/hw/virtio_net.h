/* virtio-net device (virtio 1.2 §5.1) over a struct net_backend (net.h).
 *
 * Queues: 0 receiveq1, 1 transmitq1 (no control queue, no multiqueue).
 * Features offered: MAC, STATUS, MRG_RXBUF, CSUM, HOST_TSO4/6 (guest frames
 * may ask for checksum/segmentation; whatever the backend does not take,
 * NET_OFF_*, is finished here with net_offload_resolve()) and GUEST_CSUM,
 * GUEST_TSO4/6 (backend frames with offload state are passed to the guest
 * as they are; if the driver declined those features they are finished
 * here first).
 *
 * Every frame is the 12-byte struct net_hdr followed by the Ethernet frame,
 * both in the guest's rings and across the backend interface.
 *
 * Hostile drivers: malformed chains, frames over NET_FRAME_MAX, headers
 * asking for what was not negotiated or pointing outside the frame
 * (csum_start/csum_offset, hdr_len, gso_size 0) are dropped and counted in
 * stats; the device never reads or writes outside the chain's buffers.
 * A backend TSO frame for a driver without GUEST_TSO4/6 is segmented once;
 * if the ring runs out part-way the device keeps the rest and delivers it,
 * each segment once, as buffers arrive, before taking a new frame; a
 * segment that can never fit drops the rest of its frame (rx_too_big).
 * The transmit and receive paths do not allocate: the header is copied to
 * a private struct, the frame goes to the backend as an iovec over guest
 * memory, and offload resolution uses a buffer allocated at init. */
#ifndef RINGVM_HW_VIRTIO_NET_H
#define RINGVM_HW_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "virtio_mmio.h"

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN  9
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_ECN   13
#define VIRTIO_NET_F_HOST_UFO   14
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_F_CTRL_VQ    17

#define VIRTIO_NET_S_LINK_UP 1u   /* config status (§5.1.4) */

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
#define VIRTIO_NET_QUEUE_MAX 256u  /* QueueNumMax of both queues */
/* Config space: mac[6], status (le16) (§5.1.4). */
#define VIRTIO_NET_CONFIG_SIZE 8u

struct virtio_net_stats {
	uint64_t tx_frames;      /* frames the backend took (after segmenting:
				  * one per guest frame) */
	uint64_t tx_bytes;       /* Ethernet bytes of those, headers excluded */
	uint64_t tx_gso;         /* of tx_frames: TSO frames (gso_type set) */
	uint64_t tx_bad_chain;   /* virtq_pop refused the chain */
	uint64_t tx_bad_hdr;     /* header lies or asks for what was not
				  * negotiated; frame shorter than Ethernet */
	uint64_t tx_too_big;     /* frame over NET_FRAME_MAX */
	uint64_t tx_backend_drop;/* the backend refused the frame */
	uint64_t rx_frames;      /* frames delivered to the guest */
	uint64_t rx_bytes;
	uint64_t rx_gso;         /* of the backend's frames: TSO frames */
	uint64_t rx_no_buffers;  /* the guest had no room: -ENOSPC returned
				  * to the backend, or a held segment
				  * waits */
	uint64_t rx_too_big;     /* larger than every buffer the guest can
				  * offer, or malformed: dropped (for a
				  * segmented frame: the segment and the
				  * rest of the frame, counted once) */
	uint64_t rx_bad_chain;   /* receive chain unusable (no writable bytes,
				  * refused by virtq_pop) */
};

struct virtio_net {
	struct virtio_mmio t;
	struct net_backend *nb;
	uint8_t mac[6];
	bool link_up;
	bool rx_waiting;          /* told the backend -ENOSPC; call rx_ready */
	/* A frame segmented for a driver without GUEST_TSO4/6 whose ring ran
	 * out part-way: the device took it from the backend and holds it in
	 * rx_buf (no extra memory); segments from rx_seg_next on are still to
	 * go, each exactly once, before any new frame. */
	bool rx_seg_held;
	struct net_hdr rx_seg_hdr;
	size_t rx_seg_len;        /* bytes of the held frame (no net_hdr) */
	size_t rx_seg_next;       /* index of the next segment to deliver */
	uint8_t config[VIRTIO_NET_CONFIG_SIZE];
	struct virtio_net_stats stats;
	/* NET_OFFLOAD_BUF bytes each.  Two, because a backend may deliver a
	 * frame (slirp answering ARP) while a transmitted one is still being
	 * segmented out of the tx buffer. */
	uint8_t *tx_buf, *rx_buf;
	/* Per-frame scratch, sized for the largest chain. */
	struct virtq_buf bufs[VIRTIO_NET_QUEUE_MAX];
	struct iovec iov[VIRTIO_NET_QUEUE_MAX + 1];
	struct virtq_chain rx_chain[VIRTIO_NET_QUEUE_MAX];
	struct virtq_buf rx_bufs[VIRTIO_NET_QUEUE_MAX];
};

/* Create a virtio-net device on backend nb with MAC mac (6 bytes) and
 * register its virtio-mmio window (VIRTIO_MMIO_SIZE bytes) at base on bus;
 * the device attaches itself as nb's frontend.  nb is borrowed: it must
 * outlive the device (free it after virtio_net_exit()).  The link state
 * starts as nb->link_up.  Returns 0, -ENOMEM, or the virtio_mmio_init
 * error. */
int virtio_net_init(struct virtio_net *n, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct net_backend *nb, const uint8_t mac[6],
		    struct err *errp);

/* Unregister the window, detach from the backend and free the buffers.
 * Safe after a failed virtio_net_init() and when called twice. */
void virtio_net_exit(struct virtio_net *n);

/* ---- state (core/state.h; virtio_net_state.c) ----------------------
 *
 * The transport saves itself (virtio_mmio_save), including the
 * negotiated offloads (the accepted features); the device's section
 * (version 1) holds the MAC and the config space (link status).  Not
 * state: a frame the device holds half-delivered (rx_seg_held) is dropped
 * (TCP resends it), and the "backend told to wait" flag starts clear (the
 * backend delivers and learns again).  If the backend's link differs from
 * the saved one after a load, the guest gets a config change. */
struct state_writer;
struct state_reader;

struct virtio_net_state {
	uint8_t mac[6];
	uint8_t config[VIRTIO_NET_CONFIG_SIZE];
};

/* Append section `name` (e.g. "net0"). */
void virtio_net_save(const struct virtio_net *n, const char *name,
		     struct state_writer *w);

/* Read and check section `name` against n (same MAC, config consistent
 * with it).  Returns 0, -ENOENT or -EINVAL. */
int virtio_net_parse(struct state_reader *r, const char *name,
		     const struct virtio_net *n, struct virtio_net_state *s,
		     struct err *errp);

/* Apply after the transport's state (virtio_mmio_apply). */
void virtio_net_apply(struct virtio_net *n, const struct virtio_net_state *s);

#endif
