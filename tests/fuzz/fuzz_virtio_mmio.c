/* libFuzzer target: the virtio-mmio transport (src/hw/virtio_mmio.c) with a
 * virtio-blk (raw disk in a private temporary file) and a virtio-net (a
 * backend that takes every frame) behind two windows on one bus.  The
 * input is a program of register reads and writes of sizes 1/2/4/8 (and
 * others) at any offset in and around the windows, interleaved with a
 * well-behaved driver's initialisation, descriptor and avail ring writes,
 * RAM fills, queue notifies and backend frames.
 *
 * Invariants: registers read as the spec says (magic, version, device id,
 * QueueNumMax); a live queue has a power-of-2 size within QueueNumMax;
 * the IRQ line follows InterruptStatus; devices write guest RAM only in
 * device-writable buffers and used rings. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "block/block.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_net.h"
#include "net/offload.h"
#include "vdrv.h"
#include "fuzz_tmpdir.h"

#define BASE0 0x10001000ULL   /* virtio-blk */
#define BASE1 0x10002000ULL   /* virtio-net */
#define MAXOPS 128

static struct fz_ram ram;
static struct block_dev *bd;

static int be_send(struct net_backend *nb, const struct iovec *iov,
		   unsigned iovcnt)
{
	size_t len = net_iov_len(iov, iovcnt);
	FZ_CHECK(len >= NET_HDR_LEN + 14 && len <= NET_HDR_LEN + NET_FRAME_MAX);
	return 0;
}

static void be_rx_ready(struct net_backend *nb) { }
static void be_free(struct net_backend *nb) { }

static const struct net_backend_ops be_ops = {
	.send = be_send, .rx_ready = be_rx_ready, .free = be_free,
};

static char path[256];

/* Before fuzz_tmpdir's removal of the disk: atexit runs in reverse. */
static void cleanup(void)
{
	block_close(bd);
}

static void init(void)
{
	snprintf(path, sizeof(path), "%s/disk.raw", fuzz_tmpdir());
	atexit(cleanup);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 256 << 10) < 0)
		abort();
	close(fd);
	struct err e = { 0 };
	if (block_open_format(path, "raw", false, &bd, &e))
		abort();
	fz_ram_init(&ram);
}

static unsigned rings(struct virtio_blk *b, struct virtio_net *n,
		      struct fz_ring *rg)
{
	unsigned k = fz_rings(&b->t, rg);
	return k + fz_rings(&n->t, rg + k);
}

static const unsigned sizes[8] = { 1, 2, 4, 8, 4, 4, 3, 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_blk blk;
	static struct virtio_net net;
	static struct net_backend nb;
	static uint8_t frame[NET_HDR_LEN + 2000];
	struct fz f = { data, size };
	if (!bd)
		init();
	fz_ram_clear(&ram);
	struct bus bus = { 0 };
	fz_irq_level[1] = fz_irq_level[2] = 0;
	if (virtio_blk_init(&blk, &bus, BASE0, &ram.mem,
			    (struct irq_line){ fz_set_level, NULL, 1 }, bd,
			    "fuzz", NULL))
		abort();
	nb = (struct net_backend){ .ops = &be_ops, .kind = "fuzz",
				   .offloads = fz_u8(&f) & 7, .link_up = true };
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	if (virtio_net_init(&net, &bus, BASE1, &ram.mem,
			    (struct irq_line){ fz_set_level, NULL, 2 }, &nb,
			    mac, NULL))
		abort();
	struct fz_q q[2][2];
	memset(q, 0, sizeof(q));
	uint16_t next[2][2] = { { 0 } };

	for (unsigned op = 0; op < MAXOPS && f.n; op++) {
		uint8_t o = fz_u8(&f);
		unsigned d = o >> 7;                 /* which device */
		uint64_t base = d ? BASE1 : BASE0;
		struct fz_ring rg[12];
		unsigned nr = rings(&blk, &net, rg);
		fz_snapshot(&ram);
		switch (o % 8) {
		case 0:
		case 1: {   /* a register write */
			uint16_t off = fz_u16(&f) % 0x220;
			unsigned sz = sizes[fz_u8(&f) % 8];
			uint64_t v = fz_u8(&f) & 1 ? fz_u64(&f) : fz_u8(&f);
			bus_write(&bus, base + off, sz, v);
			break;
		}
		case 2: {   /* a register read */
			uint16_t off = fz_u16(&f) % 0x220;
			unsigned sz = sizes[fz_u8(&f) % 8];
			uint64_t v = 0xdead;
			int rc = bus_read(&bus, base + off, sz, &v);
			if (rc)
				FZ_CHECK(v == 0);
			if (rc == 0 && sz == 4 && off < 0x100) {
				if (off == VIRTIO_MMIO_MAGIC_VALUE)
					FZ_CHECK(v == VIRTIO_MMIO_MAGIC);
				if (off == VIRTIO_MMIO_VERSION)
					FZ_CHECK(v == 2);
				if (off == VIRTIO_MMIO_DEVICE_ID)
					FZ_CHECK(v == (d ? VIRTIO_ID_NET
							 : VIRTIO_ID_BLOCK));
				if (off == VIRTIO_MMIO_QUEUE_NUM_MAX)
					FZ_CHECK(v <= 256);
			}
			if (rc == 0 && off < 0x100)
				FZ_CHECK(sz == 4 && !(off & 3));
			break;
		}
		case 3: {   /* the driver init sequence */
			uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					fz_u32(&f);
			fz_bring_up(&ram, &bus, base, feat, q[d], d ? 2 : 1,
				    (uint16_t)(1u << (fz_u8(&f) % 9)));
			next[d][0] = next[d][1] = 0;
			nr = rings(&blk, &net, rg);
			fz_snapshot(&ram);
			break;
		}
		case 4: {   /* a chain: 1..3 buffers, then notify */
			unsigned qi = d ? fz_u8(&f) & 1 : 0;
			struct fz_q *qq = &q[d][qi];
			unsigned n = 1 + fz_u8(&f) % 3, wm = fz_u8(&f);
			uint64_t b[3];
			uint32_t l[3];
			bool w[3], seen = false;
			for (unsigned k = 0; k < n; k++) {
				b[k] = fz_addr(&f);
				l[k] = fz_u8(&f) & 1 ? fz_len(&f)
						     : 16 + fz_u8(&f);
				seen |= wm >> k & 1;
				w[k] = seen;
				/* The bytes of a readable buffer. */
				if (!w[k])
					for (unsigned j = 0; j < 16 && f.n; j++) {
						uint8_t x = fz_u8(&f);
						gpa_write(&ram.mem, b[k] + j,
							  &x, 1);
					}
			}
			fz_q_chain(&ram, qq, next[d][qi], n, b, l, w);
			next[d][qi] = (uint16_t)(next[d][qi] + n);
			fz_snapshot(&ram);
			fz_mmio_w(&bus, base, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
			virtio_blk_drain(&blk);  /* its I/O threads */
			break;
		}
		case 5:
			if (o & 0x40)
				fz_q_desc(&ram, &q[d][o >> 5 & 1], &f);
			else
				fz_fill(&ram, &f);
			fz_snapshot(&ram);
			break;
		case 6: {   /* avail idx games, then notify */
			struct fz_q *qq = &q[d][o >> 5 & 1];
			qq->avail_idx = (uint16_t)(qq->avail_idx +
						   (int8_t)fz_u8(&f));
			fz_w16(&ram, qq->avail + 2, qq->avail_idx);
			fz_snapshot(&ram);
			fz_mmio_w(&bus, base, VIRTIO_MMIO_QUEUE_NOTIFY,
				  fz_u8(&f) % 3);
			virtio_blk_drain(&blk);
			break;
		}
		default: {   /* a backend frame */
			size_t len = NET_HDR_LEN + 14 + fz_u16(&f) % 1900;
			memset(frame, 0, NET_HDR_LEN);
			for (size_t i = 0; i < len && i < sizeof(frame); i++)
				frame[i] = i < NET_HDR_LEN && !(o & 0x40) ? 0
							   : fz_u8(&f);
			struct iovec iov = { frame, len };
			if (nb.fe.rx)
				nb.fe.rx(nb.fe.opaque, &iov, 1);
			break;
		}
		}
		/* Rings enabled by this op count too. */
		nr += rings(&blk, &net, rg + nr);
		fz_check_writes(&ram, rg, nr);
		fz_check_transport(&blk.t);
		fz_check_transport(&net.t);
	}
	virtio_net_exit(&net);
	virtio_blk_exit(&blk);
	bus_free(&bus);
	return 0;
}
