/* Network backend contract: what sits behind a virtio-net device.
 *
 * Every frame that crosses this interface, in either direction, is a
 * struct net_hdr (the virtio-net header, virtio 1.2 §5.1.6, 12 bytes,
 * little-endian) followed by one Ethernet frame (no FCS).  The header
 * carries checksum and segmentation offload state, so a frontend can pass a
 * guest's partially-checksummed or TSO frame straight through a backend
 * that can carry it (the switch), and a backend that needs finished frames
 * (slirp, a TAP without IFF_VNET_HDR) finishes them with net_offload_*()
 * (src/net/offload.h).  Frames arriving from outside carry a zeroed header
 * (or VIRTIO_NET_HDR_F_DATA_VALID when the source already checked them).
 *
 * Who finishes (added with virtio-net): the frontend calls send() only with
 * requests the backend advertised in `offloads`; everything else it has
 * already finished with net_offload_resolve().  So a backend may rely on
 * never seeing a TCPV4/TCPV6 frame without NET_OFF_TSO4/6, nor NEEDS_CSUM
 * without NET_OFF_CSUM except on a TSO frame it takes (segmenting implies
 * completing the checksums, as HOST_TSO4 implies CSUM in virtio; slirp
 * takes TSO frames and finishes them with net_offload_tcp_finish()).
 * Finishing again would be harmless, not needed.
 * In the other direction a backend may hand fe.rx any header; the frontend
 * finishes what its driver did not negotiate.
 *
 * Threading: backends run from the VMM's event loop (struct evloop), the same
 * thread that runs the device models; callbacks never run concurrently. */
#ifndef RINGVM_NET_NET_H
#define RINGVM_NET_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/err.h"
#include "core/evloop.h"

/* virtio 1.2 §5.1.6 struct virtio_net_hdr (with num_buffers, as VERSION_1
 * always has it). */
struct net_hdr {
	uint8_t flags;          /* NET_HDR_F_* */
	uint8_t gso_type;       /* NET_HDR_GSO_* */
	uint16_t hdr_len;       /* bytes of headers before the GSO payload */
	uint16_t gso_size;      /* payload bytes per segment */
	uint16_t csum_start;    /* offset where checksumming starts */
	uint16_t csum_offset;   /* where to store it, from csum_start */
	uint16_t num_buffers;   /* rx only: buffers merged (MRG_RXBUF) */
} __attribute__((packed));

#define NET_HDR_LEN 12
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2
#define NET_HDR_GSO_NONE  0
#define NET_HDR_GSO_TCPV4 1
#define NET_HDR_GSO_UDP   3
#define NET_HDR_GSO_TCPV6 4
#define NET_HDR_GSO_ECN   0x80

/* Largest frame (without header) a backend must accept: a 64 KiB TSO frame
 * plus Ethernet and VLAN headers.  Anything longer is dropped and counted. */
#define NET_FRAME_MAX (65536 + 14 + 4)

/* Offloads a backend can take on send without finishing the frame first. */
#define NET_OFF_CSUM  (1u << 0)   /* NEEDS_CSUM frames */
#define NET_OFF_TSO4  (1u << 1)
#define NET_OFF_TSO6  (1u << 2)

struct net_backend;
struct state_writer;
struct state_reader;

/* Set by the frontend (virtio-net) with net_backend_attach(). */
struct net_frontend {
	/* A received frame (header + Ethernet frame, in iov).  Returns 0 when
	 * delivered, -ENOSPC when the guest has no receive buffers (the
	 * backend keeps or drops the frame, and stops reading until
	 * ops->rx_ready), other -errno when dropped. */
	int (*rx)(void *opaque, const struct iovec *iov, unsigned iovcnt);
	/* The backend's link went up or down (switch gone, reconnected). */
	void (*link)(void *opaque, bool up);
	void *opaque;
};

struct net_backend_ops {
	/* Send a guest frame (header + Ethernet frame).  Returns 0, or -errno
	 * when the frame was dropped (the frontend counts it).  Never blocks. */
	int (*send)(struct net_backend *nb, const struct iovec *iov,
		    unsigned iovcnt);
	/* The frontend has receive buffers again after an -ENOSPC. */
	void (*rx_ready)(struct net_backend *nb);
	/* Release everything (fds leave the event loop). */
	void (*free)(struct net_backend *nb);

	/* State for snapshots and live migration (net_state.c), optional:
	 * a backend without it has none (tap, switch: the link just goes
	 * on).  state_save appends section `name`; state_check reads and
	 * checks it without changing the backend; state_load applies a
	 * checked section and cannot fail. */
	int (*state_save)(struct net_backend *nb, const char *name,
			  struct state_writer *w, struct err *errp);
	int (*state_check)(struct net_backend *nb, struct state_reader *r,
			   const char *name, struct err *errp);
	void (*state_load)(struct net_backend *nb, struct state_reader *r,
			   const char *name);
};

/* The backend's state as section `name` (e.g. "netdev0"), if it has any
 * (--net user: libslirp's).  Returns 0 or -errno. */
int net_backend_save(struct net_backend *nb, const char *name,
		     struct state_writer *w, struct err *errp);

/* Check section `name` for this backend: 0 when it fits or when there is
 * nothing to load (no such section: the source had another kind of
 * backend, or this backend has no state); -EINVAL otherwise. */
int net_backend_check(struct net_backend *nb, struct state_reader *r,
		      const char *name, struct err *errp);

/* Load a section net_backend_check accepted (no-op without one). */
void net_backend_load(struct net_backend *nb, struct state_reader *r,
		      const char *name);

struct net_backend {
	const struct net_backend_ops *ops;
	struct net_frontend fe;
	unsigned offloads;      /* NET_OFF_* accepted by send */
	bool link_up;
	const char *kind;       /* "user", "tap", "switch" */
};

/* Create a backend from a --net spec: "user[,hostfwd=tcp:HOST:PORT-:PORT]...",
 * "tap,ifname=NAME", "switch,path=SOCK[,vlan=ID|,trunk=ID,ID...]".
 * The backend registers its fds with loop.  Errors: -EINVAL for a bad spec
 * (message names the bad part), -EPERM/-ENOENT/... from the host. */
int net_backend_open(const char *spec, struct evloop *loop,
		     struct net_backend **out, struct err *errp);

static inline void net_backend_attach(struct net_backend *nb,
				      const struct net_frontend *fe)
{
	nb->fe = *fe;
}

static inline void net_backend_free(struct net_backend *nb)
{
	if (nb)
		nb->ops->free(nb);
}

#endif
