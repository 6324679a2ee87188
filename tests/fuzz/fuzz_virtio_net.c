/* libFuzzer target: virtio-net (src/hw/virtio_net.c) and the offload code
 * it uses (src/net/offload.c), behind a virtio-mmio window, between a
 * hostile driver and a backend that captures what it is sent and offers
 * frames of the input's choosing.
 *
 * The input picks what the backend takes (NET_OFF_*), the features the
 * driver negotiates (CSUM, GUEST_CSUM, HOST/GUEST_TSO4/6, MRG_RXBUF, ...)
 * and the queue sizes, then is a program: transmit frames with any
 * virtio-net header (flags, gso types, csum_start/offset, hdr_len,
 * gso_size) over TCP/IPv4/IPv6 frames with or without a VLAN tag, or raw
 * bytes; receive buffers (good, tiny, device-readable, outside RAM);
 * backend frames, including TSO frames for a driver without GUEST_TSO
 * (segmented and held across refills); raw ring writes; resets; link
 * changes.
 *
 * Invariants: the backend is never sent an offload it did not advertise
 * and never a frame shorter than a header + Ethernet or over
 * NET_FRAME_MAX; a frame delivered to the driver carries no flags
 * without GUEST_CSUM and no gso type it did not negotiate; the device
 * writes guest RAM only in device-writable buffers and used rings; the
 * IRQ line follows InterruptStatus. */
#include <errno.h>

#include "hw/virtio_net.h"
#include "net/offload.h"
#include "vdrv.h"

#define BASE 0x10001000ULL
#define MAXOPS 48

static struct fz_ram ram;

/* ---- the capture backend ---- */

struct cap {
	struct net_backend nb;
	int send_rc;
	unsigned sent, ready_calls;
	/* A frame the device answered -ENOSPC: offered again on rx_ready,
	 * as tap and switch do. */
	uint8_t held[NET_HDR_LEN + NET_FRAME_MAX];
	size_t held_len;
};

static struct cap cap;

static int cap_send(struct net_backend *nb, const struct iovec *iov,
		    unsigned iovcnt)
{
	struct cap *c = (struct cap *)nb;
	size_t len = net_iov_len(iov, iovcnt);
	FZ_CHECK(len >= NET_HDR_LEN + 14 && len <= NET_HDR_LEN + NET_FRAME_MAX);
	struct net_hdr h;
	net_iov_to_buf(iov, iovcnt, 0, &h, sizeof(h));
	uint8_t gso = h.gso_type & ~NET_HDR_GSO_ECN;
	/* A TSO frame passed whole keeps NEEDS_CSUM: segmenting includes
	 * the checksums (net.h). */
	FZ_CHECK(!(h.flags & NET_HDR_F_NEEDS_CSUM) ||
		 (nb->offloads & NET_OFF_CSUM) || gso != NET_HDR_GSO_NONE);
	FZ_CHECK(gso != NET_HDR_GSO_TCPV4 || (nb->offloads & NET_OFF_TSO4));
	FZ_CHECK(gso != NET_HDR_GSO_TCPV6 || (nb->offloads & NET_OFF_TSO6));
	FZ_CHECK(gso == NET_HDR_GSO_NONE || gso == NET_HDR_GSO_TCPV4 ||
		 gso == NET_HDR_GSO_TCPV6);
	/* Touch every byte: the iovec must be readable memory. */
	static uint8_t sink[NET_HDR_LEN + NET_FRAME_MAX];
	net_iov_to_buf(iov, iovcnt, 0, sink, len);
	c->sent++;
	return c->send_rc;
}

static int offer(struct cap *c)
{
	struct iovec iov = { c->held, c->held_len };
	int rc = c->nb.fe.rx ? c->nb.fe.rx(c->nb.fe.opaque, &iov, 1) : -ENODEV;
	if (rc != -ENOSPC)
		c->held_len = 0;
	return rc;
}

static void cap_rx_ready(struct net_backend *nb)
{
	struct cap *c = (struct cap *)nb;
	c->ready_calls++;
	if (c->held_len)
		offer(c);
}

static void cap_free(struct net_backend *nb) { }

static const struct net_backend_ops cap_ops = {
	.send = cap_send, .rx_ready = cap_rx_ready, .free = cap_free,
};

/* ---- frames ---- */

static void be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }

/* A TCP frame (IPv4 or IPv6, maybe tagged) or raw bytes from the input,
 * with a header aimed at it, in out (NET_HDR_LEN + NET_FRAME_MAX bytes).
 * Returns the total length. */
static size_t make_frame(struct fz *f, uint8_t *out)
{
	uint8_t k = fz_u8(f);
	struct net_hdr h = { 0 };
	uint8_t *p = out + NET_HDR_LEN;
	size_t len;
	if ((k & 3) == 3) {   /* raw */
		len = fz_u16(f) % 2000;
		for (size_t i = 0; i < len; i++)
			p[i] = fz_u8(f);
	} else {
		bool v6 = k & 1, vlan = k & 4;
		size_t payload = fz_u16(f);
		payload = k & 0x80 ? payload % (NET_FRAME_MAX - 200)
				   : payload % 3000;
		size_t l3 = vlan ? 18 : 14, thl = 20 + 4 * (fz_u8(f) % 11);
		size_t l4 = l3 + (v6 ? 40 : 20);
		len = l4 + thl + payload;
		memset(p, 0, l4 + thl);
		memcpy(p, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
		if (vlan) {
			be16(p + 12, 0x8100);
			be16(p + 14, fz_u16(f));
		}
		be16(p + l3 - 2, v6 ? 0x86dd : 0x0800);
		uint8_t *ip = p + l3;
		if (v6) {
			ip[0] = 0x60;
			be16(ip + 4, (uint16_t)(thl + payload +
						(fz_u8(f) & 0x80 ? fz_u8(f) : 0)));
			ip[6] = 6;
			ip[7] = 64;
		} else {
			ip[0] = 0x45;
			be16(ip + 2, (uint16_t)(20 + thl + payload));
			ip[8] = 64;
			ip[9] = 6;
		}
		uint8_t *tcp = p + l4;
		for (int i = 4; i < 8; i++)
			tcp[i] = fz_u8(f);
		tcp[12] = (uint8_t)(thl / 4 << 4);
		tcp[13] = fz_u8(f);
		for (size_t i = 0; i < payload; i++)
			p[l4 + thl + i] = (uint8_t)i;
		/* A few input bytes anywhere in the headers. */
		for (unsigned n = fz_u8(f) % 4; n; n--)
			p[fz_u8(f) % (l4 + thl)] = fz_u8(f);
		h.hdr_len = (uint16_t)(l4 + thl);
		h.csum_start = (uint16_t)l4;
		h.csum_offset = 16;
	}
	switch (fz_u8(f) % 6) {
	case 0: break;
	case 1: h.flags = NET_HDR_F_NEEDS_CSUM; break;
	case 2:
		h.flags = NET_HDR_F_NEEDS_CSUM;
		h.gso_type = k & 1 ? NET_HDR_GSO_TCPV6 : NET_HDR_GSO_TCPV4;
		h.gso_size = (uint16_t)(fz_u8(f) & 0x80 ? fz_u16(f)
					: 100 + fz_u16(f) % 1500);
		break;
	case 3:
		h.gso_type = (uint8_t)((k & 1 ? NET_HDR_GSO_TCPV6
					      : NET_HDR_GSO_TCPV4) |
				       NET_HDR_GSO_ECN);
		h.gso_size = 536;
		break;
	case 4: h.flags = NET_HDR_F_DATA_VALID; break;
	default:   /* anything */
		h.flags = fz_u8(f);
		h.gso_type = fz_u8(f);
		h.hdr_len = fz_u16(f);
		h.gso_size = fz_u16(f);
		h.csum_start = fz_u16(f);
		h.csum_offset = fz_u16(f);
		break;
	}
	h.num_buffers = fz_u16(f);
	memcpy(out, &h, NET_HDR_LEN);
	return NET_HDR_LEN + len;
}

/* ---- the driver ---- */

static struct virtio_net net;
static struct bus bus;
static struct fz_q q[2];
static uint16_t next_desc[2];
static uint64_t feat;
static bool clean;            /* only our own chains on the rx ring */
/* Receive buffers: 8 slots of RX_SLOT bytes in the buffer area; the
 * chain whose first buffer is in a slot, by head, and its length. */
#define RX_SLOT 0x800u
static uint16_t slot_owner[8];
static int8_t head_slot[256];
static uint32_t head_len[256];
/* Descriptors of rx chains the device holds: the driver never posts more
 * than the ring has (virtio-net uses rx chains in ring order). */
static uint8_t head_ndesc[256];
static unsigned rx_inflight;
static uint16_t rx_seen;

/* Notify queue qn (any number) and check what the device wrote. */
static void kick(uint32_t qn)
{
	struct fz_ring rg[2];
	unsigned nr = fz_rings(&net.t, rg);
	fz_snapshot(&ram);
	fz_mmio_w(&bus, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, qn);
	fz_check_writes(&ram, rg, nr);
}

/* A transmit frame: header + frame over 1..4 readable buffers. */
static void tx(struct fz *f)
{
	static uint8_t frame[NET_HDR_LEN + NET_FRAME_MAX];
	size_t len = make_frame(f, frame);
	unsigned n = 1 + fz_u8(f) % 4;
	if (!q[1].size || n > q[1].size)
		return;
	uint64_t gpa[4];
	uint32_t l[4];
	bool w[4] = { false, false, false, false };
	size_t done = 0;
	uint64_t at = FZ_BUFS, end = FZ_BUFS + FZ_BUFS_SIZE;
	for (unsigned i = 0; i < n; i++) {
		size_t left = len - done;
		size_t k = i + 1 == n ? left : fz_u16(f) % (left + 1);
		if (k > end - at)
			return;   /* does not fit the RAM we have */
		gpa[i] = at;
		l[i] = (uint32_t)k;
		gpa_write(&ram.mem, at, frame + done, k);
		at += k;
		done += k;
	}
	if (!done)
		return;
	/* Zero-length pieces are skipped by the ring, not refused. */
	fz_q_chain(&ram, &q[1], next_desc[1], n, gpa, l, w);
	next_desc[1] = (uint16_t)(next_desc[1] + n);
	kick(VIRTIO_NET_TXQ);
}

/* 1..8 receive chains, each one buffer (or two), then notify. */
static void rx_buffers(struct fz *f)
{
	unsigned n = 1 + fz_u8(f) % 8;
	for (unsigned i = 0; i < n && q[0].size; i++) {
		uint8_t k = fz_u8(f);
		uint32_t len;
		switch (k & 3) {
		case 0: len = 1 + fz_u8(f); break;          /* tiny */
		case 1: len = 1526 + 12; break;
		case 2: len = RX_SLOT; break;
		default: len = 1 + fz_u16(f) % RX_SLOT; break;
		}
		unsigned slot = fz_u8(f) % 8;
		uint64_t gpa = FZ_BUFS + RX_SLOT * slot;
		bool w = !(k & 0x80);                 /* readable: hostile */
		uint16_t head = next_desc[0] % q[0].size;
		unsigned nd = k & 0x40 && q[0].size > 1 ? 2 : 1;
		if (rx_inflight + nd > q[0].size)
			break;
		rx_inflight += nd;
		head_ndesc[head % 256] = (uint8_t)nd;
		if (nd == 2) {   /* two buffers */
			uint64_t g2[2] = { gpa, FZ_RAM1 };
			uint32_t l2[2] = { len, (uint32_t)FZ_RAM1_SIZE };
			bool w2[2] = { w, true };
			fz_q_chain(&ram, &q[0], head, 2, g2, l2, w2);
			next_desc[0] = (uint16_t)(next_desc[0] + 2);
		} else {
			fz_q_chain(&ram, &q[0], head, 1, &gpa, &len, &w);
			next_desc[0]++;
		}
		slot_owner[slot] = head;
		head_slot[head % 256] = (int8_t)slot;
		head_len[head % 256] = len;
	}
	kick(VIRTIO_NET_RXQ);
}

/* The headers the device delivered since used idx `from`. */
static void check_rx(uint16_t from)
{
	if (!clean || !q[0].size || !net.t.q[0].vq.ready)
		return;
	uint16_t now = 0;
	gpa_read(&ram.mem, q[0].used + 2, &now, 2);
	for (; rx_seen != now; rx_seen++) {
		uint32_t id = 0;
		gpa_read(&ram.mem, q[0].used + 4 + 8ULL * (rx_seen % q[0].size),
			 &id, 4);
		unsigned nd = head_ndesc[id % 256];
		FZ_CHECK(nd && nd <= rx_inflight);
		rx_inflight -= nd;
		head_ndesc[id % 256] = 0;
	}
	FZ_CHECK((uint16_t)(now - from) <= q[0].size);
	bool mrg = feat & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	for (uint16_t i = from; i != now;) {
		uint32_t e[2];
		gpa_read(&ram.mem, q[0].used + 4 + 8ULL * (i % q[0].size), e,
			 8);
		FZ_CHECK(e[0] < q[0].size);
		int slot = head_slot[e[0] % 256];
		if (e[1] == 0) {   /* a dropped frame's or a bad chain */
			i++;
			continue;
		}
		/* A frame whose header we cannot find: where the next one
		 * starts is unknown too. */
		if (e[1] < NET_HDR_LEN || slot < 0 ||
		    slot_owner[slot] != e[0] ||
		    head_len[e[0] % 256] < NET_HDR_LEN)
			break;
		struct net_hdr h;
		gpa_read(&ram.mem, FZ_BUFS + RX_SLOT * (unsigned)slot, &h,
			 sizeof(h));
		if (!(feat & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
			FZ_CHECK(h.flags == 0);
		FZ_CHECK(!(h.gso_type & NET_HDR_GSO_ECN));
		if (h.gso_type == NET_HDR_GSO_TCPV4)
			FZ_CHECK(feat & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
		else if (h.gso_type == NET_HDR_GSO_TCPV6)
			FZ_CHECK(feat & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
		else
			FZ_CHECK(h.gso_type == NET_HDR_GSO_NONE);
		uint16_t nb = mrg ? h.num_buffers : 1;
		FZ_CHECK(nb >= 1 && nb <= (uint16_t)(now - i));
		i = (uint16_t)(i + nb);
	}
}

static bool bring_up(struct fz *f)
{
	/* Offered features only, mostly; now and then anything. */
	uint64_t offer_mask = VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
		VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	uint32_t r = fz_u32(f);
	feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
	       (r & 0x80000000u ? r : (r & offer_mask));
	uint16_t qs = (uint16_t)(1u << (fz_u8(f) % 9));
	next_desc[0] = next_desc[1] = 0;
	clean = true;
	memset(slot_owner, 0xff, sizeof(slot_owner));
	memset(head_slot, 0xff, sizeof(head_slot));
	memset(head_ndesc, 0, sizeof(head_ndesc));
	rx_inflight = 0;
	rx_seen = 0;
	return fz_bring_up(&ram, &bus, BASE, feat, q, 2, qs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	fz_ram_init(&ram);
	fz_ram_clear(&ram);
	memset(&cap.nb, 0, sizeof(cap.nb));
	cap.nb.ops = &cap_ops;
	cap.nb.kind = "capture";
	uint8_t cfg = fz_u8(&f);
	cap.nb.offloads = cfg & 7;
	cap.nb.link_up = cfg & 8;
	cap.send_rc = cfg & 0x10 ? -ENOBUFS : 0;
	cap.held_len = 0;
	memset(&bus, 0, sizeof(bus));
	struct irq_line irq = { fz_set_level, NULL, 2 };
	fz_irq_level[2] = 0;
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	if (virtio_net_init(&net, &bus, BASE, &ram.mem, irq, &cap.nb, mac,
			    NULL))
		abort();
	bool up = bring_up(&f);

	for (unsigned op = 0; op < MAXOPS && f.n; op++) {
		uint16_t rx_used = 0;
		if (q[0].size)
			gpa_read(&ram.mem, q[0].used + 2, &rx_used, 2);
		uint8_t o = fz_u8(&f);
		switch (o % 9) {
		case 0:
		case 1:
			if (up)
				tx(&f);
			break;
		case 2:
			if (up)
				rx_buffers(&f);
			break;
		case 3:
		case 4: {   /* a backend frame (unless one is held) */
			if (cap.held_len)
				break;
			cap.held_len = make_frame(&f, cap.held);
			struct fz_ring rg[2];
			unsigned nr = fz_rings(&net.t, rg);
			fz_snapshot(&ram);
			offer(&cap);
			fz_check_writes(&ram, rg, nr);
			break;
		}
		case 5:
			fz_q_desc(&ram, &q[o >> 7], &f);
			clean = false;
			break;
		case 6:
			if (o & 0x80) {
				struct fz_q *qq = &q[fz_u8(&f) & 1];
				qq->avail_idx = (uint16_t)(qq->avail_idx +
							   (int8_t)fz_u8(&f));
				fz_w16(&ram, qq->avail + 2, qq->avail_idx);
			} else {
				fz_fill(&ram, &f);
			}
			clean = false;
			break;
		case 7:
			kick(o & 0x80 ? fz_u32(&f) : fz_u8(&f) & 1);
			break;
		default: {
			uint8_t k = fz_u8(&f);
			uint64_t v;
			if (k % 4 == 0) {
				cap.nb.fe.link(cap.nb.fe.opaque, k & 0x10);
			} else if (k % 4 == 1) {
				bus_read(&bus, BASE + 0x100 + fz_u8(&f),
					 1u << (k >> 2 & 3), &v);
			} else if (k % 4 == 2) {
				fz_mmio_w(&bus, BASE,
					  VIRTIO_MMIO_INTERRUPT_ACK, fz_u8(&f));
			} else {
				up = bring_up(&f);
				continue;
			}
			break;
		}
		}
		check_rx(rx_used);
		fz_check_transport(&net.t);
	}
	virtio_net_exit(&net);
	bus_free(&bus);
	return 0;
}
