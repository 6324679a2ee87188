/* libFuzzer target: virtio-rng (src/hw/virtio_rng.c) behind its virtio-mmio
 * window, against a hostile driver.  The entropy source is replaced by one
 * that writes a fixed byte and, as the input says, comes up short or fails
 * with EAGAIN (a host pool not ready) or EINTR.  The input is a program of
 * chains (well-formed, readable-only, huge, outside RAM, across the RAM
 * hole), raw descriptor writes, avail idx games, RAM fills, register
 * writes and resets.
 *
 * Invariants: the device writes guest RAM only inside device-writable
 * buffers and the used ring; a used length never exceeds the chain's
 * writable bytes nor VIRTIO_RNG_MAX_CHAIN; each source call asks for at
 * most VIRTIO_RNG_MAX_CHAIN bytes and always with GRND_NONBLOCK; the IRQ
 * line follows InterruptStatus. */
#include <errno.h>
#include <sys/random.h>

#include "hw/virtio_rng.h"
#include "vdrv.h"

#define BASE 0x10001000ULL
#define MAXOPS 48

static struct fz_ram ram;
static struct bus bus;
static struct virtio_rng rng;
static struct fz_q q;
static struct fz *cur;   /* the input, for the source's choices */

static ssize_t fake_fill(void *buf, size_t len, unsigned flags)
{
	FZ_CHECK(flags & GRND_NONBLOCK);
	FZ_CHECK(len > 0 && len <= VIRTIO_RNG_MAX_CHAIN);
	uint8_t how = cur->n ? fz_u8(cur) : 0;
	switch (how % 8) {
	case 0:
		errno = EAGAIN;
		return -1;
	case 1:
		errno = EINTR;
		return -1;
	case 2:
		len = len > 1 ? len / 2 : len;   /* short */
		break;
	default:
		break;
	}
	memset(buf, 0xa5, len);
	return (ssize_t)len;
}

/* Check the used elements added since *seen against the chains' limits. */
static void check_used(uint16_t *seen)
{
	if (!q.size)
		return;
	uint16_t idx = 0;
	if (gpa_read(&ram.mem, q.used + 2, &idx, 2))
		return;
	for (; *seen != idx; (*seen)++) {
		uint32_t e[2] = { 0, 0 };
		if (gpa_read(&ram.mem, q.used + 4 + 8 * (*seen % q.size), e, 8))
			return;
		FZ_CHECK(e[1] <= VIRTIO_RNG_MAX_CHAIN);
	}
}

static void chain(struct fz *f)
{
	unsigned n = 1 + fz_u8(f) % 10;
	uint64_t bufs[10];
	uint32_t lens[10];
	bool w[10];
	bool wr = false;
	for (unsigned k = 0; k < n; k++) {
		uint8_t c = fz_u8(f);
		if (c & 1) {
			bufs[k] = FZ_BUFS + (fz_u16(f) % FZ_BUFS_SIZE);
			lens[k] = 1 + fz_u16(f) % 0x1000;
		} else {
			bufs[k] = fz_addr(f);
			lens[k] = fz_len(f);
		}
		wr = wr || (c & 2);   /* readable ones first, as required */
		w[k] = (c & 4) ? (c & 2) != 0 : wr;
	}
	fz_q_chain(&ram, &q, fz_u8(f), n, bufs, lens, w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	cur = &f;
	fz_ram_init(&ram);
	fz_ram_clear(&ram);
	memset(&bus, 0, sizeof(bus));
	struct irq_line irq = { fz_set_level, NULL, 4 };
	fz_irq_level[4] = 0;
	if (virtio_rng_init(&rng, &bus, BASE, &ram.mem, irq, NULL))
		abort();
	rng.fill = fake_fill;
	uint16_t qsize = (uint16_t)(1u << (fz_u8(&f) % 8));
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			((fz_u8(&f) & 1) ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0) |
			((fz_u8(&f) & 1) ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
	fz_bring_up(&ram, &bus, BASE, feat, &q, 1, qsize);
	uint16_t seen = 0;

	for (unsigned op = 0; op < MAXOPS && f.n; op++) {
		uint8_t o = fz_u8(&f);
		struct fz_ring rg[1];
		unsigned nr;
		switch (o % 6) {
		case 0:
		case 1:
			chain(&f);
			/* fall through: notify */
		case 2:
			nr = fz_rings(&rng.t, rg);
			fz_snapshot(&ram);
			fz_mmio_w(&bus, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
			fz_check_writes(&ram, rg, nr);
			check_used(&seen);
			break;
		case 3:
			fz_q_desc(&ram, &q, &f);
			break;
		case 4:
			if (o & 0x80) {
				q.avail_idx = (uint16_t)(q.avail_idx +
							 (int8_t)fz_u8(&f));
				fz_w16(&ram, q.avail + 2, q.avail_idx);
			} else {
				fz_fill(&ram, &f);
			}
			break;
		case 5: {   /* any register write, including a reset */
			unsigned off = (fz_u8(&f) % 0x40) * 4;
			fz_mmio_w(&bus, BASE, off, fz_u32(&f));
			if (off == VIRTIO_MMIO_STATUS)
				seen = 0;
			break;
		}
		}
		fz_check_transport(&rng.t);
	}
	virtio_rng_exit(&rng);
	bus_free(&bus);
	return 0;
}
