/* Finishing offloaded frames for consumers that cannot take them (virtio
 * 1.2 §5.1.6.2 and §5.1.6.4 say what the header asks for).
 *
 * A frame (struct net_hdr + Ethernet frame, net.h) may ask for checksum
 * completion (NET_HDR_F_NEEDS_CSUM: store the Internet checksum of the
 * bytes from csum_start to the end at csum_start + csum_offset, the field
 * holding the pseudo-header sum) and for TCP segmentation (gso_type
 * TCPV4/TCPV6: cut the payload into gso_size pieces, each a full packet).
 * These helpers do both for IPv4 and IPv6 over Ethernet (optionally one
 * 802.1Q tag), checking every offset against the frame: header lies give
 * -EINVAL, never an out-of-bounds access.  Nothing here allocates; the
 * caller provides a linear buffer of NET_HDR_LEN + NET_FRAME_MAX bytes, into
 * which the frame is copied once, so a guest changing its buffers meanwhile
 * cannot make a checked offset differ from the used one. */
#ifndef RINGVM_NET_OFFLOAD_H
#define RINGVM_NET_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net.h"

/* Bytes of the linear buffer net_offload_resolve() needs. */
#define NET_OFFLOAD_BUF (NET_HDR_LEN + NET_FRAME_MAX)

/* Ones'-complement sum (RFC 1071) of len bytes at p, added to sum; data is
 * summed as big-endian 16-bit words starting at an even offset. */
uint64_t net_csum_add(uint64_t sum, const void *p, size_t len);
/* Fold and complement: the value to store in a checksum field, in host
 * order (store it big-endian). */
uint16_t net_csum_fold(uint64_t sum);

/* Complete the checksum of a linear frame (no net_hdr) as h asks
 * (NEEDS_CSUM).  Returns 0, or -EINVAL when csum_start/csum_offset do not
 * fit in len. */
int net_offload_csum(uint8_t *frame, size_t len, const struct net_hdr *h);

/* Called once per finished frame: iov[0] is a struct net_hdr (zeroed but
 * for DATA_VALID), the rest the Ethernet frame.  A negative return stops
 * the segmentation and is passed back. */
typedef int net_emit_fn(void *opaque, const struct iovec *iov,
			unsigned iovcnt);

/* Segment the linear TCP frame (no net_hdr) as h asks (gso_type TCPV4 or
 * TCPV6, gso_size > 0): every segment gets the headers with IP lengths,
 * IPv4 id (+1 per segment) and checksum, TCP sequence number and checksum
 * recomputed; FIN and PSH only on the last segment, CWR only on the first.
 * The frame itself is not changed.  Returns the number of segments
 * emitted, -EINVAL for a frame that is not what the header claims (not
 * TCP, IPv6 extension headers, lengths beyond the frame, gso_size 0), or
 * an emit error. */
int net_offload_segment(const uint8_t *frame, size_t len,
			const struct net_hdr *h, net_emit_fn *emit,
			void *opaque);

/* net_offload_segment() resumable: starts with segment *next (0 for the
 * first) and sets *next past each segment emit accepted, so after an emit
 * error the caller can call again with the same frame and header to go on
 * where it stopped (a receiver that ran out of buffers part-way).  A *next
 * at or past the segment count emits nothing.  Returns as
 * net_offload_segment(). */
int net_offload_segment_from(const uint8_t *frame, size_t len,
			     const struct net_hdr *h, size_t *next,
			     net_emit_fn *emit, void *opaque);

/* Finish a TSO frame (linear, no net_hdr; h: its header) as one oversized
 * packet, for a consumer that takes packets larger than the MTU (slirp):
 * the IPv4 header checksum and the TCP checksum are computed over the
 * frame as it is (lengths already cover the whole payload).  Returns 0 or
 * -EINVAL when the frame is not the TCP packet h claims. */
int net_offload_tcp_finish(uint8_t *frame, size_t len, const struct net_hdr *h);

/* Deliver the frame iov (struct net_hdr first, as in net.h) to emit with
 * every offload the consumer does not accept finished.  keep: NET_OFF_*
 * bits the consumer takes as they are.  A frame that needs nothing is
 * passed through without a copy; otherwise it is copied into buf
 * (NET_OFFLOAD_BUF bytes).  Returns 0 (or the segment count), -EINVAL for a
 * malformed header or frame, -EMSGSIZE for a frame over NET_FRAME_MAX, or
 * the emit error. */
int net_offload_resolve(const struct iovec *iov, unsigned iovcnt,
			unsigned keep, uint8_t *buf, net_emit_fn *emit,
			void *opaque);

/* Bytes in iov[0..iovcnt). */
size_t net_iov_len(const struct iovec *iov, unsigned iovcnt);
/* Copy up to len bytes from the iov stream, skipping skip bytes first;
 * returns bytes copied. */
size_t net_iov_to_buf(const struct iovec *iov, unsigned iovcnt, size_t skip,
		      void *buf, size_t len);

#endif
