/* libFuzzer target: the virtio-input power button (src/hw/virtio_input.c)
 * behind its virtio-mmio window, against a hostile driver.  The input is a
 * program of eventq/statusq chains (well-formed, short, readable-only,
 * outside RAM), notifications, power-button presses, config-space
 * accesses of every width and offset, raw descriptor writes, avail idx
 * games and register writes (resets included).
 *
 * Invariants: the device writes guest RAM only inside device-writable
 * buffers and the used rings; a used length is 0 or 8 (one event); the
 * queue of undelivered events stays within VIRTIO_INPUT_PENDING; config
 * reads never fault and the size byte never exceeds the union; the IRQ
 * line follows InterruptStatus. */
#include "hw/virtio_input.h"
#include "vdrv.h"

#define BASE 0x10001000ULL
#define MAXOPS 64

static struct fz_ram ram;
static struct bus bus;
static struct virtio_input in;
static struct fz_q q[2];

static void check_used(unsigned qi, uint16_t *seen)
{
	if (!q[qi].size)
		return;
	uint16_t idx = 0;
	if (gpa_read(&ram.mem, q[qi].used + 2, &idx, 2))
		return;
	for (; *seen != idx; (*seen)++) {
		uint32_t e[2] = { 0, 0 };
		if (gpa_read(&ram.mem, q[qi].used + 4 + 8 * (*seen % q[qi].size),
			     e, 8))
			return;
		FZ_CHECK(e[1] == 0 || (qi == 0 && e[1] == 8));
	}
}

static void chain(struct fz *f, unsigned qi)
{
	unsigned n = 1 + fz_u8(f) % 4;
	uint64_t bufs[4];
	uint32_t lens[4];
	bool w[4];
	bool wr = false;
	for (unsigned k = 0; k < n; k++) {
		uint8_t c = fz_u8(f);
		if (c & 1) {
			bufs[k] = FZ_BUFS + (fz_u16(f) % FZ_BUFS_SIZE);
			lens[k] = 1 + fz_u8(f) % 16;
		} else {
			bufs[k] = fz_addr(f);
			lens[k] = fz_len(f);
		}
		wr = wr || (c & 2);
		w[k] = (c & 4) ? (c & 2) != 0 : wr;
	}
	fz_q_chain(&ram, &q[qi], fz_u8(f), n, bufs, lens, w);
}

static void notify(unsigned qi, uint16_t *seen)
{
	struct fz_ring rg[2];
	unsigned nr = fz_rings(&in.t, rg);
	fz_snapshot(&ram);
	fz_mmio_w(&bus, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
	fz_check_writes(&ram, rg, nr);
	check_used(0, &seen[0]);
	check_used(1, &seen[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	fz_ram_init(&ram);
	fz_ram_clear(&ram);
	memset(&bus, 0, sizeof(bus));
	struct irq_line irq = { fz_set_level, NULL, 5 };
	fz_irq_level[5] = 0;
	if (virtio_input_init(&in, &bus, BASE, &ram.mem, irq, NULL))
		abort();
	uint16_t qsize = (uint16_t)(1u << (fz_u8(&f) % 7));
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			((fz_u8(&f) & 1) ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0) |
			((fz_u8(&f) & 1) ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
	fz_bring_up(&ram, &bus, BASE, feat, q, 2, qsize);
	uint16_t seen[2] = { 0, 0 };

	for (unsigned op = 0; op < MAXOPS && f.n; op++) {
		uint8_t o = fz_u8(&f);
		unsigned qi = (o >> 7) & 1;
		switch (o % 8) {
		case 0:
			chain(&f, qi);
			/* fall through: notify */
		case 1:
			notify(qi, seen);
			break;
		case 2: {   /* the host presses the button */
			struct fz_ring rg[2];
			unsigned nr = fz_rings(&in.t, rg);
			fz_snapshot(&ram);
			int rc = virtio_input_power_button(&in);
			FZ_CHECK(rc == 0 || rc == -ENOSPC);
			fz_check_writes(&ram, rg, nr);
			check_used(0, &seen[0]);
			break;
		}
		case 3: {   /* config space, any width and offset */
			static const unsigned sz[] = { 1, 2, 4, 8 };
			unsigned s = sz[fz_u8(&f) % 4];
			uint64_t off = (fz_u8(&f) % (0x100 / s)) * s;
			uint64_t v = 0;
			if (o & 0x40)
				bus_write(&bus, BASE + VIRTIO_MMIO_CONFIG + off,
					  s, fz_u32(&f));
			FZ_CHECK(bus_read(&bus, BASE + VIRTIO_MMIO_CONFIG + off,
					  s, &v) == 0);
			FZ_CHECK(bus_read(&bus, BASE + VIRTIO_MMIO_CONFIG +
					  VIRTIO_INPUT_CFG_SIZE, 1, &v) == 0);
			FZ_CHECK(v <= 128);
			break;
		}
		case 4:
			fz_q_desc(&ram, &q[qi], &f);
			break;
		case 5:
			if (o & 0x40) {
				q[qi].avail_idx = (uint16_t)(q[qi].avail_idx +
							     (int8_t)fz_u8(&f));
				fz_w16(&ram, q[qi].avail + 2, q[qi].avail_idx);
			} else {
				fz_fill(&ram, &f);
			}
			break;
		case 6:
			virtio_input_drop_pending(&in);
			break;
		case 7: {   /* any register write, including a reset */
			unsigned off = (fz_u8(&f) % 0x40) * 4;
			fz_mmio_w(&bus, BASE, off, fz_u32(&f));
			if (off == VIRTIO_MMIO_STATUS)
				seen[0] = seen[1] = 0;
			break;
		}
		}
		FZ_CHECK(in.npend <= VIRTIO_INPUT_PENDING &&
			 in.head < VIRTIO_INPUT_PENDING);
		fz_check_transport(&in.t);
	}
	virtio_input_exit(&in);
	bus_free(&bus);
	return 0;
}
