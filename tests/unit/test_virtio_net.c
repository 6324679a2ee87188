/* Unit tests for virtio-net: frames go through real split rings in guest
 * memory and the virtio-mmio registers, to and from a fake backend. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio_net.h"
#include "net/offload.h"

#define BASE  0x10001000ULL
#define RAM   0x80000000ULL
#define QSIZE 16
#define BUFS  (RAM + 0x10000)   /* 16 x 4 KiB rx/tx buffers */
#define BIG   (RAM + 0x100000)  /* large tx frames */

#define FEAT(x) VIRTIO_BIT(VIRTIO_NET_F_##x)
#define ALL_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) |                     \
		      VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | FEAT(MAC) |        \
		      FEAT(STATUS) | FEAT(CSUM) | FEAT(GUEST_CSUM) |      \
		      FEAT(HOST_TSO4) | FEAT(HOST_TSO6) | FEAT(GUEST_TSO4) | \
		      FEAT(GUEST_TSO6) | FEAT(MRG_RXBUF))

static const uint64_t qdesc[2] = { RAM + 0x1000, RAM + 0x5000 };
static const uint64_t qavail[2] = { RAM + 0x2000, RAM + 0x6000 };
static const uint64_t qused[2] = { RAM + 0x3000, RAM + 0x7000 };

struct fake {
	struct net_backend nb;
	unsigned nsent, rx_ready_calls;
	int send_rc;
	uint8_t *sent[8];
	size_t sent_len[8];
};

struct fx {
	struct guest_mem mem;
	struct bus bus;
	struct fake be;
	struct virtio_net net;
	int level;
	uint16_t avail_idx[2], used_seen[2];
	uint32_t used_len;
};

static int fake_send(struct net_backend *nb, const struct iovec *iov,
		     unsigned iovcnt)
{
	struct fake *f = (struct fake *)nb;
	if (f->send_rc)
		return f->send_rc;
	assert_true(f->nsent < 8);
	size_t len = net_iov_len(iov, iovcnt);
	f->sent[f->nsent] = malloc(len);
	net_iov_to_buf(iov, iovcnt, 0, f->sent[f->nsent], len);
	f->sent_len[f->nsent++] = len;
	return 0;
}

static void fake_rx_ready(struct net_backend *nb)
{
	((struct fake *)nb)->rx_ready_calls++;
}

static void fake_free(struct net_backend *nb) { }

static const struct net_backend_ops fake_ops = {
	.send = fake_send, .rx_ready = fake_rx_ready, .free = fake_free,
};

static void set_level(void *opaque, unsigned num, int level)
{
	((struct fx *)opaque)->level = level;
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

static void bring_up(struct fx *f, uint64_t feat)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)qdesc[q]);
		wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)qavail[q]);
		wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)qused[q]);
		wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
}

static int setup_feat(void **state, unsigned offloads, uint64_t feat)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(guest_mem_add(&f->mem, RAM, 4 << 20, NULL), 0);
	f->be.nb.ops = &fake_ops;
	f->be.nb.kind = "fake";
	f->be.nb.link_up = true;
	f->be.nb.offloads = offloads;
	struct irq_line irq = { set_level, f, 1 };
	const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	assert_int_equal(virtio_net_init(&f->net, &f->bus, BASE, &f->mem, irq,
					 &f->be.nb, mac, NULL), 0);
	if (feat)
		bring_up(f, feat);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_feat(state, NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6,
			  ALL_FEATURES);
}

static int setup_nooff(void **state)
{
	return setup_feat(state, 0, ALL_FEATURES);
}

static int setup_plain(void **state)
{
	/* Driver without MRG_RXBUF and without guest offloads. */
	return setup_feat(state, 0, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			  FEAT(MAC) | FEAT(STATUS) | FEAT(CSUM));
}

static int teardown(void **state)
{
	struct fx *f = *state;
	virtio_net_exit(&f->net);
	for (unsigned i = 0; i < f->be.nsent; i++)
		free(f->be.sent[i]);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

/* ---- driver side ---- */

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static void put_desc(struct fx *f, unsigned q, unsigned i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(gpa_write(&f->mem, qdesc[q] + 16 * i, d, 16), 0);
}

/* Chain s[0..n) in descriptors first.. and make it available. */
static void offer(struct fx *f, unsigned q, unsigned first,
		  const struct seg *s, unsigned n, bool notify)
{
	for (unsigned i = 0; i < n; i++)
		put_desc(f, q, first + i, s[i].gpa, s[i].len,
			 (s[i].w ? VIRTQ_DESC_F_WRITE : 0) |
			 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
			 (uint16_t)(first + i + 1));
	uint16_t head = (uint16_t)first, slot = f->avail_idx[q] % QSIZE;
	assert_int_equal(gpa_write(&f->mem, qavail[q] + 4 + 2 * slot, &head,
				   2), 0);
	f->avail_idx[q]++;
	assert_int_equal(gpa_write(&f->mem, qavail[q] + 2, &f->avail_idx[q],
				   2), 0);
	if (notify)
		wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Whether a driver honouring EVENT_IDX would notify after moving the
 * avail idx from old to new (§2.7.10, vring_need_event). */
static bool driver_would_notify(struct fx *f, unsigned q, uint16_t old,
				uint16_t new)
{
	uint16_t ev = 0;
	assert_int_equal(gpa_read(&f->mem, qused[q] + 4 + 8 * QSIZE, &ev, 2),
			 0);
	return (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
	uint16_t idx = 0;
	assert_int_equal(gpa_read(&f->mem, qused[q] + 2, &idx, 2), 0);
	return idx;
}

static uint16_t reap(struct fx *f, unsigned q)
{
	uint32_t e[2];
	assert_true((uint16_t)(used_idx(f, q) - f->used_seen[q]) >= 1);
	assert_int_equal(gpa_read(&f->mem, qused[q] + 4 +
				  8 * (f->used_seen[q] % QSIZE), e, 8), 0);
	f->used_seen[q]++;
	f->used_len = e[1];
	return (uint16_t)e[0];
}

/* Ethernet + IPv4 + TCP frame with payload, at p; returns its length. */
static size_t tcp_frame(uint8_t *p, size_t payload)
{
	memset(p, 0, 54);
	memcpy(p, "\x02\x00\x00\x00\x00\x02\x02\x11\x22\x33\x44\x55\x08\x00",
	       14);
	uint8_t *ip = p + 14, *tcp = p + 34;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((40 + payload) >> 8);
	ip[3] = (uint8_t)(40 + payload);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	for (size_t i = 0; i < payload; i++)
		p[54 + i] = (uint8_t)i;
	return 54 + payload;
}

/* ---- transmit ---- */

static void tx_passthrough(void **state)
{
	struct fx *f = *state;
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .gso_type = NET_HDR_GSO_TCPV4, .hdr_len = 54,
			     .gso_size = 1000, .csum_start = 34,
			     .csum_offset = 16, .num_buffers = 77 };
	assert_int_equal(gpa_write(&f->mem, BUFS, &h, NET_HDR_LEN), 0);
	size_t flen = tcp_frame(gpa_ptr(&f->mem, BIG, 4000), 3000);
	/* Header alone, then the frame in two pieces. */
	struct seg s[3] = { { BUFS, NET_HDR_LEN, false }, { BIG, 100, false },
			    { BIG + 100, (uint32_t)flen - 100, false } };
	offer(f, VIRTIO_NET_TXQ, 0, s, 3, true);
	assert_int_equal(reap(f, VIRTIO_NET_TXQ), 0);
	assert_int_equal(f->used_len, 0);
	assert_int_equal(f->be.nsent, 1);
	assert_int_equal(f->be.sent_len[0], NET_HDR_LEN + flen);
	h.num_buffers = 0;   /* tx: not the driver's to set */
	assert_memory_equal(f->be.sent[0], &h, NET_HDR_LEN);
	assert_memory_equal(f->be.sent[0] + NET_HDR_LEN,
			    gpa_ptr(&f->mem, BIG, flen), flen);
	assert_int_equal(f->net.stats.tx_frames, 1);
	assert_int_equal(f->net.stats.tx_gso, 1);
	assert_int_equal(f->level, 1);
}

static void tx_resolved(void **state)
{
	struct fx *f = *state;
	/* Header and frame in one buffer; the backend takes no offloads. */
	uint8_t *p = gpa_ptr(&f->mem, BIG, 4000);
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .gso_type = NET_HDR_GSO_TCPV4, .hdr_len = 54,
			     .gso_size = 1000, .csum_start = 34,
			     .csum_offset = 16 };
	memcpy(p, &h, NET_HDR_LEN);
	size_t flen = tcp_frame(p + NET_HDR_LEN, 2500);
	struct seg s[1] = { { BIG, (uint32_t)(NET_HDR_LEN + flen), false } };
	offer(f, VIRTIO_NET_TXQ, 0, s, 1, true);
	reap(f, VIRTIO_NET_TXQ);
	assert_int_equal(f->be.nsent, 3);
	const size_t want[3] = { 1054, 1054, 554 };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(f->be.sent_len[i], NET_HDR_LEN + want[i]);
		assert_int_equal(f->be.sent[i][0], 0);   /* finished */
		assert_int_equal(f->be.sent[i][1], 0);
	}
	assert_int_equal(f->net.stats.tx_frames, 1);
}

static void tx_hostile(void **state)
{
	struct fx *f = *state;
	struct net_hdr h = { 0 };
	uint8_t *p = gpa_ptr(&f->mem, BIG, 70000);
	unsigned n = 0;
	/* 1: shorter than header + Ethernet. */
	struct seg tiny = { BUFS, 5, false };
	offer(f, VIRTIO_NET_TXQ, 0, &tiny, 1, true);
	n++;
	/* 2: over NET_FRAME_MAX. */
	memcpy(p, &h, NET_HDR_LEN);
	struct seg big[2] = { { BIG, 40000, false }, { BIG + 40000, 29000,
						      false } };
	offer(f, VIRTIO_NET_TXQ, 0, big, 2, true);
	n++;
	assert_int_equal(f->net.stats.tx_too_big, 1);
	/* 3..7: header lies. */
	struct net_hdr lies[] = {
		{ .flags = NET_HDR_F_NEEDS_CSUM, .csum_start = 200,
		  .csum_offset = 16 },                      /* beyond frame */
		{ .flags = NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
		  .csum_offset = 200 },
		{ .flags = NET_HDR_F_NEEDS_CSUM, .gso_type = NET_HDR_GSO_TCPV4,
		  .gso_size = 0, .csum_start = 34, .csum_offset = 16 },
		{ .flags = NET_HDR_F_NEEDS_CSUM, .gso_type = NET_HDR_GSO_TCPV4,
		  .gso_size = 100, .hdr_len = 5000, .csum_start = 34,
		  .csum_offset = 16 },                      /* hdr_len beyond */
		{ .gso_type = NET_HDR_GSO_UDP, .gso_size = 100 }, /* no UFO */
		{ .flags = 0x80 },                          /* unknown flag */
	};
	for (unsigned i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		memcpy(p, &lies[i], NET_HDR_LEN);
		size_t flen = tcp_frame(p + NET_HDR_LEN, 100);
		struct seg s = { BIG, (uint32_t)(NET_HDR_LEN + flen), false };
		offer(f, VIRTIO_NET_TXQ, 0, &s, 1, true);
		n++;
	}
	assert_int_equal(f->net.stats.tx_bad_hdr, 1 + 6);
	/* Malformed chains: a loop; readable after writable; address
	 * outside RAM. */
	put_desc(f, VIRTIO_NET_TXQ, 0, BUFS, 100, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, VIRTIO_NET_TXQ, 1, BUFS, 100, VIRTQ_DESC_F_NEXT, 0);
	uint16_t head = 0, slot = f->avail_idx[1] % QSIZE;
	gpa_write(&f->mem, qavail[1] + 4 + 2 * slot, &head, 2);
	f->avail_idx[1]++;
	gpa_write(&f->mem, qavail[1] + 2, &f->avail_idx[1], 2);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	n++;
	struct seg rw[2] = { { BUFS, 100, true }, { BUFS + 100, 100, false } };
	offer(f, VIRTIO_NET_TXQ, 0, rw, 2, true);
	n++;
	struct seg out = { 0x1000, 100, false };
	offer(f, VIRTIO_NET_TXQ, 0, &out, 1, true);
	n++;
	assert_int_equal(f->net.stats.tx_bad_chain, 3);
	/* Every chain came back; nothing reached the backend. */
	assert_int_equal(used_idx(f, VIRTIO_NET_TXQ), n);
	assert_int_equal(f->be.nsent, 0);
	assert_int_equal(f->net.stats.tx_frames, 0);
	/* And the device still works. */
	memset(p, 0, NET_HDR_LEN);
	size_t flen = tcp_frame(p + NET_HDR_LEN, 10);
	struct seg ok = { BIG, (uint32_t)(NET_HDR_LEN + flen), false };
	offer(f, VIRTIO_NET_TXQ, 0, &ok, 1, true);
	assert_int_equal(f->be.nsent, 1);
	/* A backend refusal is counted. */
	f->be.send_rc = -ENOBUFS;
	offer(f, VIRTIO_NET_TXQ, 0, &ok, 1, true);
	assert_int_equal(f->net.stats.tx_backend_drop, 1);
}

static void tx_offload_not_negotiated(void **state)
{
	struct fx *f = *state;   /* setup_plain: CSUM only, no HOST_TSO */
	uint8_t *p = gpa_ptr(&f->mem, BIG, 4000);
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .gso_type = NET_HDR_GSO_TCPV4, .gso_size = 1000,
			     .csum_start = 34, .csum_offset = 16 };
	memcpy(p, &h, NET_HDR_LEN);
	size_t flen = tcp_frame(p + NET_HDR_LEN, 2500);
	struct seg s = { BIG, (uint32_t)(NET_HDR_LEN + flen), false };
	offer(f, VIRTIO_NET_TXQ, 0, &s, 1, true);
	assert_int_equal(f->net.stats.tx_bad_hdr, 1);
	assert_int_equal(f->be.nsent, 0);
}

/* ---- receive ---- */

static int rx(struct fx *f, const struct net_hdr *h, const uint8_t *frame,
	      size_t len)
{
	struct iovec iov[2] = { { (void *)h, NET_HDR_LEN },
				{ (void *)frame, len } };
	return f->be.nb.fe.rx(f->be.nb.fe.opaque, iov, 2);
}

static void rx_plain(void **state)
{
	struct fx *f = *state;   /* no MRG_RXBUF */
	static uint8_t frame[100];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 3);
	struct seg s = { BUFS, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 0, &s, 1, true);
	struct net_hdr h = { 0 };
	f->level = 0;
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), 0);
	assert_int_equal(reap(f, VIRTIO_NET_RXQ), 0);
	assert_int_equal(f->used_len, NET_HDR_LEN + sizeof(frame));
	struct net_hdr got;
	gpa_read(&f->mem, BUFS, &got, NET_HDR_LEN);
	assert_int_equal(got.num_buffers, 1);
	assert_memory_equal(gpa_ptr(&f->mem, BUFS + NET_HDR_LEN, 100), frame,
			    100);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->net.stats.rx_frames, 1);
	/* Too big for the only kind of buffer the driver offers: dropped,
	 * the buffer comes back empty. */
	struct seg small = { BUFS, 64, true };
	offer(f, VIRTIO_NET_RXQ, 1, &small, 1, true);
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), -EMSGSIZE);
	reap(f, VIRTIO_NET_RXQ);
	assert_int_equal(f->used_len, 0);
	assert_int_equal(f->net.stats.rx_too_big, 1);
}

static void rx_mergeable(void **state)
{
	struct fx *f = *state;
	static uint8_t frame[2500];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	for (unsigned i = 0; i < 4; i++) {
		struct seg s = { BUFS + 0x1000 * i, 1000, true };
		offer(f, VIRTIO_NET_RXQ, i, &s, 1, i == 3);
	}
	struct net_hdr h = { .flags = NET_HDR_F_DATA_VALID };
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), 0);
	const uint32_t want[3] = { 1000, 1000, 512 };
	uint8_t got[2512];
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(reap(f, VIRTIO_NET_RXQ), i);
		assert_int_equal(f->used_len, want[i]);
		gpa_read(&f->mem, BUFS + 0x1000 * i, got + 1000 * i, want[i]);
	}
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 3);
	struct net_hdr gh;
	memcpy(&gh, got, NET_HDR_LEN);
	assert_int_equal(gh.num_buffers, 3);
	assert_int_equal(gh.flags, NET_HDR_F_DATA_VALID);
	assert_memory_equal(got + NET_HDR_LEN, frame, sizeof(frame));
}

static void rx_no_buffers(void **state)
{
	struct fx *f = *state;
	static uint8_t frame[1500];
	struct net_hdr h = { 0 };
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), -ENOSPC);
	assert_int_equal(f->net.stats.rx_no_buffers, 1);
	/* Not enough in total: nothing consumed, still -ENOSPC. */
	struct seg s = { BUFS, 1000, true };
	offer(f, VIRTIO_NET_RXQ, 0, &s, 1, true);
	assert_int_equal(f->be.rx_ready_calls, 1);
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), -ENOSPC);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 0);
	/* More buffers: a driver that honours avail_event notifies (the
	 * given-back buffer is published already, so asking for "the next
	 * one the device has not seen" would silence it for good), the
	 * backend hears, and the retry fits. */
	struct seg t = { BUFS + 0x1000, 1000, true };
	uint16_t before = f->avail_idx[VIRTIO_NET_RXQ];
	offer(f, VIRTIO_NET_RXQ, 1, &t, 1, false);
	assert_true(driver_would_notify(f, VIRTIO_NET_RXQ, before,
					f->avail_idx[VIRTIO_NET_RXQ]));
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	assert_int_equal(f->be.rx_ready_calls, 2);
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), 0);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 2);
	/* Without a pending -ENOSPC, new buffers call nobody. */
	offer(f, VIRTIO_NET_RXQ, 2, &t, 1, true);
	assert_int_equal(f->be.rx_ready_calls, 2);
}

static void rx_before_driver_ok(void **state)
{
	struct fx *f = *state;   /* setup_idle */
	static uint8_t frame[60];
	struct net_hdr h = { 0 };
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), -ENOSPC);
	bring_up(f, ALL_FEATURES);
	struct seg s = { BUFS, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 0, &s, 1, true);
	assert_int_equal(f->be.rx_ready_calls, 1);
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), 0);
}

static void rx_hostile_chains(void **state)
{
	struct fx *f = *state;
	static uint8_t frame[200];
	struct net_hdr h = { 0 };
	/* A device-readable receive buffer, then an out-of-RAM one, then a
	 * good one: the bad ones come back empty, the frame lands in the
	 * good one. */
	struct seg bad = { BUFS, 2048, false };
	offer(f, VIRTIO_NET_RXQ, 0, &bad, 1, false);
	struct seg out = { 0x2000, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 1, &out, 1, false);
	struct seg good = { BUFS + 0x1000, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 2, &good, 1, true);
	assert_int_equal(rx(f, &h, frame, sizeof(frame)), 0);
	assert_int_equal(reap(f, VIRTIO_NET_RXQ), 0);
	assert_int_equal(f->used_len, 0);
	assert_int_equal(reap(f, VIRTIO_NET_RXQ), 1);
	assert_int_equal(f->used_len, 0);
	assert_int_equal(reap(f, VIRTIO_NET_RXQ), 2);
	assert_int_equal(f->used_len, NET_HDR_LEN + sizeof(frame));
	assert_int_equal(f->net.stats.rx_bad_chain, 2);
	/* Backend frames that are not frames. */
	assert_int_equal(rx(f, &h, frame, 3), -EINVAL);
	static uint8_t huge[NET_FRAME_MAX + 1];
	assert_int_equal(rx(f, &h, huge, sizeof(huge)), -EMSGSIZE);
}

static void rx_offload_resolved(void **state)
{
	struct fx *f = *state;   /* setup_plain: no GUEST_CSUM/TSO */
	static uint8_t frame[2000];
	size_t flen = tcp_frame(frame, 1400);
	/* As a sender with checksum offload leaves it: the folded
	 * pseudo-header sum in the TCP checksum field. */
	uint16_t ps = (uint16_t)~net_csum_fold(net_csum_add(6 + flen - 34,
							    frame + 26, 8));
	frame[50] = ps >> 8;
	frame[51] = (uint8_t)ps;
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			     .csum_offset = 16 };
	struct seg s = { BUFS, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 0, &s, 1, true);
	assert_int_equal(rx(f, &h, frame, flen), 0);
	reap(f, VIRTIO_NET_RXQ);
	assert_int_equal(f->used_len, NET_HDR_LEN + flen);
	uint8_t *g = gpa_ptr(&f->mem, BUFS, NET_HDR_LEN + flen);
	assert_int_equal(g[0], 0);               /* no NEEDS_CSUM for it */
	uint64_t sum = net_csum_add(0, g + NET_HDR_LEN + 26, 8);
	sum += 6 + flen - 34;
	sum = net_csum_add(sum, g + NET_HDR_LEN + 34, flen - 34);
	assert_int_equal(net_csum_fold(sum), 0);  /* valid */
	/* A TSO frame is segmented for it: three frames need 3 buffers. */
	h.gso_type = NET_HDR_GSO_TCPV4;
	h.gso_size = 500;
	for (unsigned i = 1; i < 4; i++) {
		struct seg b = { BUFS + 0x1000 * i, 2048, true };
		offer(f, VIRTIO_NET_RXQ, i, &b, 1, i == 3);
	}
	assert_int_equal(rx(f, &h, frame, flen), 0);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 4);
	assert_int_equal(f->net.stats.rx_gso, 1);
	/* DATA_VALID is not for a driver without GUEST_CSUM (§5.1.6.4.1). */
	struct net_hdr dv = { .flags = NET_HDR_F_DATA_VALID };
	struct seg b = { BUFS, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 4, &b, 1, true);
	memset(g, 0xff, NET_HDR_LEN);
	assert_int_equal(rx(f, &dv, frame, flen), 0);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 0);
}

/* The backend side of -ENOSPC (net.h): keep the frame, offer it again
 * after rx_ready.  Returns the last rx result. */
struct held {
	const struct net_hdr *h;
	const uint8_t *frame;
	size_t len;
	bool kept;
	unsigned ready_seen;
};

static int backend_offer(struct fx *f, struct held *b)
{
	int rc = rx(f, b->h, b->frame, b->len);
	b->kept = rc == -ENOSPC;
	b->ready_seen = f->be.rx_ready_calls;
	return rc;
}

/* Reap every used rx buffer (the k-th lies at BUFS + 0x1000 * head) and
 * check each is the next segment of frame: sequence number and payload
 * from mss * *seg on.  Returns how many were reaped. */
static unsigned reap_segments(struct fx *f, const uint8_t *frame,
			      size_t payload, size_t mss, unsigned *seg)
{
	unsigned n = 0;
	while (used_idx(f, VIRTIO_NET_RXQ) != f->used_seen[VIRTIO_NET_RXQ]) {
		uint16_t head = reap(f, VIRTIO_NET_RXQ);
		const uint8_t *g = gpa_ptr(&f->mem, BUFS + 0x1000 * head,
					   2048);
		size_t off = mss * *seg;
		size_t chunk = payload - off < mss ? payload - off : mss;
		assert_true(off < payload);
		assert_int_equal(f->used_len, NET_HDR_LEN + 54 + chunk);
		const uint8_t *tcp = g + NET_HDR_LEN + 34;
		uint32_t seq = (uint32_t)tcp[4] << 24 | tcp[5] << 16 |
			       tcp[6] << 8 | tcp[7];
		assert_int_equal(seq, off);
		assert_memory_equal(g + NET_HDR_LEN + 54, frame + 54 + off,
				    chunk);
		(*seg)++;
		n++;
	}
	return n;
}

static void rx_tso_segments_once(void **state)
{
	struct fx *f = *state;   /* setup_plain: no GUEST_TSO, no MRG_RXBUF */
	static uint8_t frame[4000], other[100];
	const size_t payload = 3400, mss = 500;   /* 7 segments */
	size_t flen = tcp_frame(frame, payload);
	struct net_hdr h = { .gso_type = NET_HDR_GSO_TCPV4, .hdr_len = 54,
			     .gso_size = mss };
	struct net_hdr plain = { 0 };
	struct held b = { &h, frame, flen, false, 0 };
	unsigned seg = 0, desc = 0;
	/* Refills of 3, 2 and 2 buffers: fewer than the 7 segments. */
	const unsigned steps[3] = { 3, 2, 2 };
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < steps[s]; i++, desc++) {
			struct seg r = { BUFS + 0x1000 * desc, 2048, true };
			offer(f, VIRTIO_NET_RXQ, desc, &r, 1,
			      i + 1 == steps[s]);
		}
		if (s == 0)
			backend_offer(f, &b);
		else if (b.kept && f->be.rx_ready_calls != b.ready_seen)
			backend_offer(f, &b);
		reap_segments(f, frame, payload, mss, &seg);
		if (s < 2) {
			/* Behind a part-delivered frame a new one waits. */
			assert_int_equal(rx(f, &plain, other, sizeof(other)),
					 -ENOSPC);
		}
	}
	assert_int_equal(seg, 7);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 7);
	assert_int_equal(f->net.stats.rx_frames, 7);
	assert_int_equal(f->net.stats.rx_too_big, 0);
	/* The backend heard it may go on, and the next frame goes through. */
	assert_false(b.kept);
	assert_int_equal(f->be.rx_ready_calls, 1);
	struct seg r = { BUFS + 0x1000 * desc, 2048, true };
	offer(f, VIRTIO_NET_RXQ, desc, &r, 1, true);
	assert_int_equal(rx(f, &plain, other, sizeof(other)), 0);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 8);
}

static void rx_tso_never_fits(void **state)
{
	struct fx *f = *state;   /* setup_plain */
	static uint8_t frame[4000], other[100];
	const size_t payload = 3400, mss = 500;
	size_t flen = tcp_frame(frame, payload);
	struct net_hdr h = { .gso_type = NET_HDR_GSO_TCPV4, .hdr_len = 54,
			     .gso_size = mss };
	struct net_hdr plain = { 0 };
	/* Two good buffers, then one too small for any segment: two
	 * segments land, the rest of the frame is dropped and counted once. */
	struct seg r0 = { BUFS, 2048, true }, r1 = { BUFS + 0x1000, 2048, true };
	struct seg tiny = { BUFS + 0x2000, 64, true };
	offer(f, VIRTIO_NET_RXQ, 0, &r0, 1, false);
	offer(f, VIRTIO_NET_RXQ, 1, &r1, 1, false);
	offer(f, VIRTIO_NET_RXQ, 2, &tiny, 1, true);
	assert_int_equal(rx(f, &h, frame, flen), -EMSGSIZE);
	/* The two segments, then the tiny buffer, empty. */
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 3);
	unsigned seg = 0;
	for (unsigned i = 0; i < 2; i++) {
		uint16_t head = reap(f, VIRTIO_NET_RXQ);
		assert_int_equal(head, i);
		const uint8_t *g = gpa_ptr(&f->mem, BUFS + 0x1000 * head, 2048);
		assert_int_equal(f->used_len, NET_HDR_LEN + 54 + mss);
		assert_memory_equal(g + NET_HDR_LEN + 54, frame + 54 + mss * seg,
				    mss);
		seg++;
	}
	assert_int_equal(reap(f, VIRTIO_NET_RXQ), 2);
	assert_int_equal(f->used_len, 0);
	assert_int_equal(f->net.stats.rx_too_big, 1);
	/* Nothing is held: the queue takes the next frame at once. */
	struct seg r3 = { BUFS + 0x3000, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 3, &r3, 1, true);
	assert_int_equal(rx(f, &plain, other, sizeof(other)), 0);
	assert_int_equal(reap(f, VIRTIO_NET_RXQ), 3);
	assert_int_equal(f->used_len, NET_HDR_LEN + sizeof(other));
	/* A frame held part-way is dropped and counted by a device reset. */
	struct seg r4 = { BUFS + 0x4000, 2048, true };
	offer(f, VIRTIO_NET_RXQ, 4, &r4, 1, true);
	assert_int_equal(rx(f, &h, frame, flen), 0);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 5);
	for (unsigned q = 0; q < 2; q++) {
		f->avail_idx[q] = f->used_seen[q] = 0;
		gpa_write(&f->mem, qavail[q] + 2, &f->avail_idx[q], 2);
	}
	bring_up(f, VIRTIO_BIT(VIRTIO_F_VERSION_1) | FEAT(MAC) | FEAT(STATUS));
	assert_int_equal(f->net.stats.rx_too_big, 2);
	offer(f, VIRTIO_NET_RXQ, 0, &r0, 1, true);
	assert_int_equal(rx(f, &plain, other, sizeof(other)), 0);
	assert_int_equal(used_idx(f, VIRTIO_NET_RXQ), 1);
}

static void config_and_link(void **state)
{
	struct fx *f = *state;
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG, 4, &v),
			 0);
	assert_int_equal(v, 0x33221102);
	assert_int_equal(bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG + 4, 2,
				  &v), 0);
	assert_int_equal(v, 0x5544);
	assert_int_equal(bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG + 6, 2,
				  &v), 0);
	assert_int_equal(v, VIRTIO_NET_S_LINK_UP);
	uint32_t gen = rd(f, VIRTIO_MMIO_CONFIG_GENERATION);
	f->be.nb.fe.link(f->be.nb.fe.opaque, false);
	assert_true(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	assert_int_not_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG + 6, 2, &v);
	assert_int_equal(v, 0);
	f->be.nb.fe.link(f->be.nb.fe.opaque, true);
	bus_read(&f->bus, BASE + VIRTIO_MMIO_CONFIG + 6, 2, &v);
	assert_int_equal(v, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
}

static int setup_idle(void **state)
{
	return setup_feat(state, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tx_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_resolved, setup_nooff,
						teardown),
		cmocka_unit_test_setup_teardown(tx_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_offload_not_negotiated,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(rx_plain, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_no_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_before_driver_ok, setup_idle,
						teardown),
		cmocka_unit_test_setup_teardown(rx_hostile_chains, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rx_offload_resolved, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(rx_tso_segments_once,
						setup_plain, teardown),
		cmocka_unit_test_setup_teardown(rx_tso_never_fits, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(config_and_link, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
