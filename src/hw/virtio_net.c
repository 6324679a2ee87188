#include "virtio_net.h"

#include <endian.h>
#include <string.h>

#include "net/offload.h"

#define ETH_HLEN 14

static bool negotiated(const struct virtio_net *n, unsigned bit)
{
	return virtio_mmio_features(&n->t) & VIRTIO_BIT(bit);
}

/* ---- transmit ---- */

static int tx_emit(void *opaque, const struct iovec *iov, unsigned iovcnt)
{
	struct virtio_net *n = opaque;
	return n->nb->ops->send(n->nb, iov, iovcnt);
}

/* Whether a guest header asks only for what was negotiated and points
 * inside the frame (flen bytes).  §5.1.6.2 driver requirements. */
static bool tx_hdr_ok(const struct virtio_net *n, const struct net_hdr *h,
		      size_t flen)
{
	uint8_t gso = h->gso_type & ~NET_HDR_GSO_ECN;
	if (h->flags & ~NET_HDR_F_NEEDS_CSUM)
		return false;
	if (h->flags & NET_HDR_F_NEEDS_CSUM) {
		size_t start = le16toh(h->csum_start);
		size_t at = start + le16toh(h->csum_offset);
		if (!negotiated(n, VIRTIO_NET_F_CSUM) || start >= flen ||
		    at + 2 > flen)
			return false;
	}
	if (gso == NET_HDR_GSO_NONE)
		return !(h->gso_type & NET_HDR_GSO_ECN);
	if ((h->gso_type & NET_HDR_GSO_ECN) &&
	    !negotiated(n, VIRTIO_NET_F_HOST_ECN))
		return false;
	if (gso == NET_HDR_GSO_TCPV4 && !negotiated(n, VIRTIO_NET_F_HOST_TSO4))
		return false;
	if (gso == NET_HDR_GSO_TCPV6 && !negotiated(n, VIRTIO_NET_F_HOST_TSO6))
		return false;
	if (gso != NET_HDR_GSO_TCPV4 && gso != NET_HDR_GSO_TCPV6)
		return false;
	return h->gso_size != 0 && le16toh(h->hdr_len) <= flen;
}

static void tx_one(struct virtio_net *n, const struct virtq_chain *c)
{
	struct net_hdr h;
	if (c->rd_bytes < NET_HDR_LEN + ETH_HLEN) {
		n->stats.tx_bad_hdr++;
		return;
	}
	size_t flen = c->rd_bytes - NET_HDR_LEN;
	if (flen > NET_FRAME_MAX) {
		n->stats.tx_too_big++;
		return;
	}
	/* The iovec of the chain's readable part, header first. */
	unsigned k = 0;
	for (unsigned i = 0; i < c->n_read; i++)
		n->iov[k++] = (struct iovec){ n->bufs[i].hva, n->bufs[i].len };
	/* Our own copy of the header: the guest may rewrite its buffer
	 * between our check and the backend's use. */
	net_iov_to_buf(n->iov, k, 0, &h, sizeof(h));
	h.num_buffers = 0;
	if (!tx_hdr_ok(n, &h, flen)) {
		n->stats.tx_bad_hdr++;
		return;
	}
	/* Rebuild the stream with &h in place of the guest's header. */
	unsigned skip = NET_HDR_LEN, j = 0;
	n->iov[j++] = (struct iovec){ &h, NET_HDR_LEN };
	for (unsigned i = 0; i < c->n_read; i++) {
		if (skip >= n->bufs[i].len) {
			skip -= n->bufs[i].len;
			continue;
		}
		n->iov[j++] = (struct iovec){
			(uint8_t *)n->bufs[i].hva + skip,
			n->bufs[i].len - skip };
		skip = 0;
	}
	int rc = net_offload_resolve(n->iov, j, n->nb->offloads, n->tx_buf,
				     tx_emit, n);
	if (rc == -EINVAL) {
		n->stats.tx_bad_hdr++;
	} else if (rc < 0) {
		n->stats.tx_backend_drop++;
	} else {
		n->stats.tx_frames++;
		n->stats.tx_bytes += flen;
		if (h.gso_type != NET_HDR_GSO_NONE)
			n->stats.tx_gso++;
	}
}

static void tx_notify(struct virtio_net *n, struct virtio_mmio *t)
{
	struct virtqueue *vq = virtio_mmio_queue(t, VIRTIO_NET_TXQ);
	struct virtq_chain c;
	do {
		for (;;) {
			int rc = virtq_pop(vq, n->bufs, VIRTIO_NET_QUEUE_MAX,
					   &c);
			if (rc == -EAGAIN)
				break;
			if (rc == -EPROTO) {
				virtio_mmio_needs_reset(t);
				goto out;
			}
			if (rc)
				n->stats.tx_bad_chain++;
			else
				tx_one(n, &c);
			virtq_push(vq, c.head, 0);
		}
	} while (virtq_enable_notify(vq));
out:
	virtio_mmio_signal_used(t, VIRTIO_NET_TXQ);
}

/* ---- receive ---- */

/* Writes a byte stream across guest buffers. */
struct writer {
	struct virtq_buf *b;
	unsigned n, i;
	uint32_t off;
};

static void put(struct writer *w, const void *src, size_t len)
{
	const uint8_t *s = src;
	while (len && w->i < w->n) {
		size_t k = w->b[w->i].len - w->off;
		if (k > len)
			k = len;
		memcpy((uint8_t *)w->b[w->i].hva + w->off, s, k);
		s += k;
		len -= k;
		w->off += k;
		if (w->off == w->b[w->i].len) {
			w->i++;
			w->off = 0;
		}
	}
}

/* Deliver one frame that needs nothing the guest did not negotiate. */
static int rx_deliver(void *opaque, const struct iovec *iov, unsigned iovcnt)
{
	struct virtio_net *n = opaque;
	struct virtqueue *vq = virtio_mmio_queue(&n->t, VIRTIO_NET_RXQ);
	bool mrg = negotiated(n, VIRTIO_NET_F_MRG_RXBUF);
	size_t total = net_iov_len(iov, iovcnt);
	unsigned popped = 0, pool = 0;
	bool consumed_bad = false;
	uint64_t have = 0;

	if (total < NET_HDR_LEN + ETH_HLEN ||
	    total > NET_HDR_LEN + NET_FRAME_MAX) {
		n->stats.rx_too_big++;
		return -EINVAL;
	}
retry:
	while (have < total && pool < VIRTIO_NET_QUEUE_MAX) {
		struct virtq_chain *c = &n->rx_chain[popped];
		int rc = virtq_pop(vq, n->rx_bufs + pool,
				   VIRTIO_NET_QUEUE_MAX - pool, c);
		if (rc == -EAGAIN)
			break;
		if (rc == -EPROTO) {
			virtio_mmio_needs_reset(&n->t);
			return -EIO;
		}
		if (rc || c->n_read || !c->wr_bytes) {
			/* Receive chains are device-writable only (§5.1.6.3). */
			n->stats.rx_bad_chain++;
			virtq_push(vq, c->head, 0);
			consumed_bad = true;
			continue;
		}
		pool += c->n;
		have += c->wr_bytes;
		popped++;
		if (!mrg)
			break;
	}
	if (have < total) {
		/* Waiting cannot help when the ring is all ours already or
		 * our scratch of buffer entries is full (chains of many
		 * small buffers). */
		bool never = (!mrg && popped) ||
			     (mrg && (popped == vq->size ||
				      pool >= VIRTIO_NET_QUEUE_MAX));
		if (never || consumed_bad) {
			/* Too big for what the guest can ever offer (or we
			 * cannot hand back a mix of consumed chains): drop,
			 * returning the good chains empty. */
			for (unsigned i = 0; i < popped; i++)
				virtq_push(vq, n->rx_chain[i].head, 0);
			n->stats.rx_too_big++;
			virtio_mmio_signal_used(&n->t, VIRTIO_NET_RXQ);
			return -EMSGSIZE;
		}
		virtq_unpop(vq, (uint16_t)popped);
		popped = pool = 0;
		have = 0;
		/* The driver must notify when it adds buffers, even though
		 * the ones we gave back are already published. */
		if (virtq_want_more(vq) && !n->rx_waiting) {
			n->rx_waiting = true;  /* guards one retry */
			goto retry;
		}
		n->rx_waiting = true;
		n->stats.rx_no_buffers++;
		virtio_mmio_signal_used(&n->t, VIRTIO_NET_RXQ);
		return -ENOSPC;
	}
	n->rx_waiting = false;

	struct net_hdr h;
	net_iov_to_buf(iov, iovcnt, 0, &h, sizeof(h));
	h.num_buffers = htole16(mrg ? popped : 1);
	/* §5.1.6.4.1: flags only with GUEST_CSUM (anything needing them was
	 * finished by fe_rx); the ECN bit only with GUEST_ECN, not offered. */
	if (!negotiated(n, VIRTIO_NET_F_GUEST_CSUM))
		h.flags = 0;
	h.gso_type &= (uint8_t)~NET_HDR_GSO_ECN;
	struct writer w = { n->rx_bufs, pool, 0, 0 };
	put(&w, &h, NET_HDR_LEN);
	size_t skip = NET_HDR_LEN;
	for (unsigned i = 0; i < iovcnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		put(&w, (const uint8_t *)iov[i].iov_base + skip,
		    iov[i].iov_len - skip);
		skip = 0;
	}
	uint64_t left = total;
	for (unsigned i = 0; i < popped; i++) {
		uint32_t k = left < n->rx_chain[i].wr_bytes ?
			     (uint32_t)left : n->rx_chain[i].wr_bytes;
		virtq_push(vq, n->rx_chain[i].head, k);
		left -= k;
	}
	n->stats.rx_frames++;
	n->stats.rx_bytes += total - NET_HDR_LEN;
	virtio_mmio_signal_used(&n->t, VIRTIO_NET_RXQ);
	return 0;
}

/* The offloads the driver accepts on receive, as NET_OFF_* bits. */
static unsigned rx_keep(const struct virtio_net *n)
{
	unsigned keep = 0;
	if (negotiated(n, VIRTIO_NET_F_GUEST_CSUM))
		keep |= NET_OFF_CSUM;
	if (negotiated(n, VIRTIO_NET_F_GUEST_TSO4))
		keep |= NET_OFF_TSO4;
	if (negotiated(n, VIRTIO_NET_F_GUEST_TSO6))
		keep |= NET_OFF_TSO6;
	return keep;
}

/* Go on delivering the segments of the frame held in rx_buf.  Returns 0
 * when every segment is delivered, -ENOSPC when the ring ran out again
 * (the frame stays held), another -errno when the rest of the frame was
 * dropped (a segment can never fit, the frame is malformed, the ring is
 * broken). */
static int rx_seg_continue(struct virtio_net *n)
{
	int rc = net_offload_segment_from(n->rx_buf + NET_HDR_LEN,
					  n->rx_seg_len, &n->rx_seg_hdr,
					  &n->rx_seg_next, rx_deliver, n);
	n->rx_seg_held = rc == -ENOSPC;
	if (rc < 0 && rc != -ENOSPC && rc != -EMSGSIZE)
		n->stats.rx_too_big++;   /* rx_deliver counted EMSGSIZE */
	return rc < 0 ? rc : 0;
}

static int fe_rx(void *opaque, const struct iovec *iov, unsigned iovcnt)
{
	struct virtio_net *n = opaque;
	struct virtqueue *vq = virtio_mmio_queue(&n->t, VIRTIO_NET_RXQ);
	if (!(n->t.status & VIRTIO_STATUS_DRIVER_OK) || !vq->ready ||
	    vq->broken || n->rx_seg_held) {
		n->rx_waiting = true;
		n->stats.rx_no_buffers++;
		return -ENOSPC;
	}
	struct net_hdr h = { 0 };
	net_iov_to_buf(iov, iovcnt, 0, &h, sizeof(h));
	uint8_t gso = h.gso_type & ~NET_HDR_GSO_ECN;
	unsigned keep = rx_keep(n);
	if (h.gso_type != NET_HDR_GSO_NONE)
		n->stats.rx_gso++;
	if (gso == NET_HDR_GSO_NONE ||
	    (gso == NET_HDR_GSO_TCPV4 && (keep & NET_OFF_TSO4)) ||
	    (gso == NET_HDR_GSO_TCPV6 && (keep & NET_OFF_TSO6))) {
		/* One frame out: on -ENOSPC the backend offers it again. */
		int rc = net_offload_resolve(iov, iovcnt, keep, n->rx_buf,
					     rx_deliver, n);
		return rc < 0 ? rc : 0;
	}
	/* Several frames out.  Offering the frame again after the ring ran
	 * out part-way would deliver its first segments again (and one with
	 * more segments than the ring has buffers would never complete), so
	 * the device takes the frame now and holds what is left of it in
	 * rx_buf; new frames wait behind it (-ENOSPC) until rx buffers let
	 * net_notify finish it. */
	size_t total = net_iov_len(iov, iovcnt);
	if (total < NET_HDR_LEN + ETH_HLEN ||
	    total > NET_HDR_LEN + NET_FRAME_MAX) {
		n->stats.rx_too_big++;
		return total < NET_HDR_LEN + ETH_HLEN ? -EINVAL : -EMSGSIZE;
	}
	n->rx_seg_hdr = h;
	n->rx_seg_len = total - NET_HDR_LEN;
	n->rx_seg_next = 0;
	net_iov_to_buf(iov, iovcnt, NET_HDR_LEN, n->rx_buf + NET_HDR_LEN,
		       n->rx_seg_len);
	int rc = rx_seg_continue(n);
	return rc == -ENOSPC ? 0 : rc;
}

static void fe_link(void *opaque, bool up)
{
	struct virtio_net *n = opaque;
	if (n->link_up == up)
		return;
	n->link_up = up;
	n->config[6] = up ? VIRTIO_NET_S_LINK_UP : 0;
	n->config[7] = 0;
	virtio_mmio_config_changed(&n->t);
}

/* ---- transport glue ---- */

static void net_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_net *n = dev;
	if (q == VIRTIO_NET_TXQ) {
		tx_notify(n, t);
	} else if (q == VIRTIO_NET_RXQ && n->rx_waiting) {
		/* New receive buffers: finish a held frame, then let the
		 * backend resume. */
		n->rx_waiting = false;
		if (n->rx_seg_held && rx_seg_continue(n) == -ENOSPC)
			return;
		if (n->nb->ops->rx_ready)
			n->nb->ops->rx_ready(n->nb);
	}
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;
	/* The rest of a held frame is for a driver that is gone. */
	if (n->rx_seg_held)
		n->stats.rx_too_big++;
	n->rx_seg_held = false;
}

static int net_config_read(void *dev, uint64_t off, unsigned size,
			   uint64_t *val)
{
	struct virtio_net *n = dev;
	return virtio_config_read_bytes(n->config, sizeof(n->config),
					off, size, val);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.features = VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		    VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		    VIRTIO_BIT(VIRTIO_NET_F_STATUS),
	.num_queues = 2,
	.queue_max = VIRTIO_NET_QUEUE_MAX,
	.config_read = net_config_read,
	.queue_notify = net_notify,
	.reset = net_reset,
};

int virtio_net_init(struct virtio_net *n, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct net_backend *nb, const uint8_t mac[6],
		    struct err *errp)
{
	memset(n, 0, sizeof(*n));
	n->tx_buf = malloc(NET_OFFLOAD_BUF);
	n->rx_buf = malloc(NET_OFFLOAD_BUF);
	if (!n->tx_buf || !n->rx_buf)
		return err_set(errp, ENOMEM, "out of memory");
	n->nb = nb;
	memcpy(n->mac, mac, 6);
	memcpy(n->config, mac, 6);
	n->link_up = nb->link_up;
	n->config[6] = n->link_up ? VIRTIO_NET_S_LINK_UP : 0;
	int rc = virtio_mmio_init(&n->t, bus, base, mem, irq, &net_ops, n,
				  errp);
	if (rc < 0)
		return rc;
	struct net_frontend fe = { fe_rx, fe_link, n };
	net_backend_attach(nb, &fe);
	return 0;
}

void virtio_net_exit(struct virtio_net *n)
{
	if (n->nb) {
		struct net_frontend none = { 0 };
		net_backend_attach(n->nb, &none);
		n->nb = NULL;
	}
	virtio_mmio_exit(&n->t);
	free(n->tx_buf);
	free(n->rx_buf);
	n->tx_buf = n->rx_buf = NULL;
}
