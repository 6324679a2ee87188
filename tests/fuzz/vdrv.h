/* Shared by the virtio fuzz targets: an input reader, guest RAM whose every
 * byte is ASan-tracked heap (so a device access one byte past a region is a
 * reported overflow, not a silent hit on a neighbouring mapping), a hostile
 * driver's helpers, and the invariant "the device wrote only into buffers
 * the driver marked device-writable, and into used rings".
 *
 * Everything is static: each target is one translation unit. */
#ifndef RINGVM_FUZZ_VDRV_H
#define RINGVM_FUZZ_VDRV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/guest_mem.h"
#include "hw/virtio.h"
#include "hw/virtio_mmio.h"
#include "hw/virtqueue.h"

/* Two RAM regions with a one-page hole between them, so chains can cross
 * from RAM into nothing and into another region. */
#define FZ_RAM0      0x80000000ULL
#define FZ_RAM0_SIZE 0x8000ULL
#define FZ_RAM1      (FZ_RAM0 + FZ_RAM0_SIZE + 0x1000)
#define FZ_RAM1_SIZE 0x1000ULL
/* Where the driver helpers put rings (queue q at FZ_RAM0 + 0x2000 * q:
 * descriptors, then avail +0x1000, used +0x1400; room for 256 entries)
 * and buffers. */
#define FZ_QSTRIDE   0x2000ULL
#define FZ_BUFS      (FZ_RAM0 + 0x4000)
#define FZ_BUFS_SIZE 0x4000ULL

#define FZ_CHECK(cond) do {                                              \
	if (!(cond)) {                                                   \
		fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,  \
			__FILE__, __LINE__);                             \
		abort();                                                 \
	}                                                                \
} while (0)

/* ---- input ---- */

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	return fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/* ---- guest RAM ---- */

struct fz_ram {
	struct guest_mem mem;
	uint8_t *r0, *r1;
	uint8_t *snap0, *snap1;
	uint8_t *ok0, *ok1;    /* per byte: the device may write it */
};

static inline void fz_ram_init(struct fz_ram *r)
{
	if (r->r0)
		return;
	r->r0 = aligned_alloc(4096, FZ_RAM0_SIZE);
	r->r1 = aligned_alloc(4096, FZ_RAM1_SIZE);
	r->snap0 = malloc(FZ_RAM0_SIZE);
	r->snap1 = malloc(FZ_RAM1_SIZE);
	r->ok0 = malloc(FZ_RAM0_SIZE);
	r->ok1 = malloc(FZ_RAM1_SIZE);
	if (!r->r0 || !r->r1 || !r->snap0 || !r->snap1 || !r->ok0 || !r->ok1)
		abort();
	r->mem.nr = 2;
	r->mem.r[0] = (struct guest_mem_region){ FZ_RAM0, FZ_RAM0_SIZE,
						 r->r0, NULL };
	r->mem.r[1] = (struct guest_mem_region){ FZ_RAM1, FZ_RAM1_SIZE,
						 r->r1, NULL };
}

static inline void fz_ram_clear(struct fz_ram *r)
{
	memset(r->r0, 0, FZ_RAM0_SIZE);
	memset(r->r1, 0, FZ_RAM1_SIZE);
}

/* An address a hostile driver would try. */
static inline uint64_t fz_addr(struct fz *f)
{
	switch (fz_u8(f) & 7) {
	case 0:
	case 1:
		return FZ_BUFS + 0x100 * (fz_u8(f) % (FZ_BUFS_SIZE / 0x100));
	case 2:
		return FZ_RAM0 + fz_u16(f) % FZ_RAM0_SIZE;
	case 3:
		return FZ_RAM0 + FZ_RAM0_SIZE - fz_u8(f);   /* at the end */
	case 4:
		return FZ_RAM1 + fz_u16(f) % FZ_RAM1_SIZE;
	case 5:
		return FZ_RAM1 - fz_u8(f);                  /* in the hole */
	case 6:
		return fz_u64(f);
	default:
		return FZ_RAM0 + 16 * (fz_u16(f) % (FZ_RAM0_SIZE / 16));
	}
}

static inline uint32_t fz_len(struct fz *f)
{
	switch (fz_u8(f) & 3) {
	case 0:
		return fz_u8(f);
	case 1:
		return fz_u16(f) % 0x2000;
	case 2:
		return fz_u32(f);
	default:
		return 16 * (fz_u8(f) % 33);   /* indirect-table sized */
	}
}

static inline void fz_w16(struct fz_ram *r, uint64_t gpa, uint16_t v)
{
	gpa_write(&r->mem, gpa, &v, 2);
}

/* Write an input-chosen descriptor (addr, len, flags, next) at gpa. */
static inline void fz_put_desc(struct fz_ram *r, uint64_t gpa, uint64_t addr,
			       uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	gpa_write(&r->mem, gpa, d, 16);
}

/* Bytes from the input into RAM at an input-chosen place. */
static inline void fz_fill(struct fz_ram *r, struct fz *f)
{
	uint64_t gpa = fz_addr(f);
	unsigned n = fz_u8(f);
	for (unsigned i = 0; i < n; i++) {
		uint8_t b = fz_u8(f);
		gpa_write(&r->mem, gpa + i, &b, 1);
	}
}

/* ---- a driver's view of one split ring ---- */

struct fz_q {
	uint64_t desc, avail, used;   /* gpa */
	uint16_t size;
	uint16_t avail_idx;
};

static inline void fz_q_layout(struct fz_q *q, unsigned i, uint16_t size)
{
	q->desc = FZ_RAM0 + FZ_QSTRIDE * i;
	q->avail = q->desc + 0x1000;
	q->used = q->desc + 0x1400;
	q->size = size;
	q->avail_idx = 0;
}

/* Make the chain starting at head available (ring slot, then idx). */
static inline void fz_q_publish(struct fz_ram *r, struct fz_q *q,
				uint16_t head)
{
	if (!q->size)
		return;
	fz_w16(r, q->avail + 4 + 2 * (q->avail_idx % q->size), head);
	q->avail_idx++;
	fz_w16(r, q->avail + 2, q->avail_idx);
}

/* One input-chosen descriptor in the ring's table (index may be out of
 * the table: then it lands in whatever RAM follows). */
static inline void fz_q_desc(struct fz_ram *r, struct fz_q *q, struct fz *f)
{
	uint16_t i = fz_u8(f);
	uint64_t addr = fz_addr(f);
	uint32_t len = fz_len(f);
	uint16_t flags = fz_u8(f);
	if (flags & 0x80)
		flags = fz_u16(f);         /* now and then junk bits */
	else
		flags &= 7;
	uint16_t next = fz_u8(f);
	fz_put_desc(r, q->desc + 16 * (uint64_t)i, addr, len, flags, next);
}

/* A well-formed chain of n buffers in the buffer area, readable then
 * writable (wmask bit k: buffer k is writable; forced monotonic), the
 * first at descriptor first; lens[k] bytes at bufs[k]. */
static inline void fz_q_chain(struct fz_ram *r, struct fz_q *q, uint16_t first,
			      unsigned n, const uint64_t *bufs,
			      const uint32_t *lens, const bool *w)
{
	if (!q->size)
		return;
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((first + k) % q->size);
		uint16_t flags = (w[k] ? VIRTQ_DESC_F_WRITE : 0) |
				 (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		fz_put_desc(r, q->desc + 16 * (uint64_t)i, bufs[k], lens[k],
			    flags, (uint16_t)((first + k + 1) % q->size));
	}
	fz_q_publish(r, q, (uint16_t)(first % q->size));
}

/* ---- the write invariant ---- */

static inline void fz_snapshot(struct fz_ram *r)
{
	memcpy(r->snap0, r->r0, FZ_RAM0_SIZE);
	memcpy(r->snap1, r->r1, FZ_RAM1_SIZE);
}

/* Mark [gpa, gpa+len) in the ok map (clipped to RAM). */
static inline void fz_allow(struct fz_ram *r, uint64_t gpa, uint64_t len)
{
	for (unsigned k = 0; k < 2; k++) {
		uint64_t base = k ? FZ_RAM1 : FZ_RAM0;
		uint64_t size = k ? FZ_RAM1_SIZE : FZ_RAM0_SIZE;
		uint8_t *ok = k ? r->ok1 : r->ok0;
		uint64_t lo = gpa > base ? gpa : base;
		uint64_t end = gpa + len < gpa ? UINT64_MAX : gpa + len;
		uint64_t hi = end < base + size ? end : base + size;
		if (lo < hi)
			memset(ok + (lo - base), 1, hi - lo);
	}
}

static inline bool fz_overlaps(uint64_t a, uint64_t alen, uint64_t b,
			       uint64_t blen)
{
	return a < b + blen && b < a + alen && a + alen > a;
}

/* A live ring as the device sees it (for fz_check_writes). */
struct fz_ring {
	uint64_t desc, avail, used;
	uint16_t size;
};

/* Every byte that changed since fz_snapshot lies in a device-writable
 * buffer of some descriptor of a ring (or of an indirect table one
 * points to), or in a used ring.  Skipped when a writable buffer
 * overlaps a descriptor table or avail ring (the device may then
 * legitimately rewrite the driver's descriptors mid-check) or when the
 * tables are too large to scan cheaply. */
static inline void fz_check_writes(struct fz_ram *r, const struct fz_ring *rg,
				   unsigned nrings)
{
	if (!memcmp(r->snap0, r->r0, FZ_RAM0_SIZE) &&
	    !memcmp(r->snap1, r->r1, FZ_RAM1_SIZE))
		return;
	memset(r->ok0, 0, FZ_RAM0_SIZE);
	memset(r->ok1, 0, FZ_RAM1_SIZE);
	struct { uint64_t gpa, len; } tables[64];
	unsigned nt = 0, budget = 4096;
	for (unsigned q = 0; q < nrings; q++) {
		if (!rg[q].size)
			continue;
		fz_allow(r, rg[q].used, 6 + 8ULL * rg[q].size);
		if (nt + 2 > 64)
			return;
		tables[nt].gpa = rg[q].desc;
		tables[nt++].len = 16ULL * rg[q].size;
		tables[nt].gpa = rg[q].avail;
		tables[nt++].len = 6 + 2ULL * rg[q].size;
	}
	/* Scan from the snapshot: what the driver had published. */
	unsigned nring = nt;
	for (unsigned t = 0; t < nt; t++) {
		if (t % 2 && t < nring)
			continue;   /* avail rings hold no descriptors */
		uint8_t *tb = gpa_ptr(&r->mem, tables[t].gpa, tables[t].len);
		if (!tb)
			continue;
		uint8_t *snap = tb >= r->r0 && tb < r->r0 + FZ_RAM0_SIZE ?
				r->snap0 + (tb - r->r0) :
				r->snap1 + (tb - r->r1);
		for (uint64_t i = 0; i < tables[t].len / 16; i++) {
			if (!budget--)
				return;
			uint64_t addr;
			uint32_t len;
			uint16_t flags;
			memcpy(&addr, snap + 16 * i, 8);
			memcpy(&len, snap + 16 * i + 8, 4);
			memcpy(&flags, snap + 16 * i + 12, 2);
			if (flags & VIRTQ_DESC_F_INDIRECT) {
				if (nt == 64)
					return;
				tables[nt].gpa = addr;
				tables[nt++].len = len;
			} else if (flags & VIRTQ_DESC_F_WRITE) {
				fz_allow(r, addr, len);
			}
		}
	}
	for (unsigned t = 0; t < nt; t++) {
		uint8_t *tb = gpa_ptr(&r->mem, tables[t].gpa, tables[t].len);
		if (!tb)
			continue;
		uint8_t *ok = tb >= r->r0 && tb < r->r0 + FZ_RAM0_SIZE ?
			      r->ok0 + (tb - r->r0) : r->ok1 + (tb - r->r1);
		for (uint64_t i = 0; i < tables[t].len; i++)
			if (ok[i])
				return;   /* self-modifying: not checkable */
	}
	for (uint64_t i = 0; i < FZ_RAM0_SIZE; i++)
		if (r->r0[i] != r->snap0[i] && !r->ok0[i]) {
			fprintf(stderr, "device wrote RAM0+%#llx, not a "
				"writable buffer\n", (unsigned long long)i);
			abort();
		}
	for (uint64_t i = 0; i < FZ_RAM1_SIZE; i++)
		if (r->r1[i] != r->snap1[i] && !r->ok1[i]) {
			fprintf(stderr, "device wrote RAM1+%#llx, not a "
				"writable buffer\n", (unsigned long long)i);
			abort();
		}
}

/* ---- a driver behind a virtio-mmio window ---- */

/* The level the device drives on its line, per line number. */
static int fz_irq_level[8];

static inline void fz_set_level(void *opaque, unsigned num, int level)
{
	fz_irq_level[num % 8] = level;
}

static inline void fz_mmio_w(struct bus *b, uint64_t base, unsigned off,
			     uint32_t v)
{
	bus_write(b, base + off, 4, v);
}

static inline uint32_t fz_mmio_r(struct bus *b, uint64_t base, unsigned off)
{
	uint64_t v = 0;
	bus_read(b, base + off, 4, &v);
	return (uint32_t)v;
}

/* Driver initialisation (virtio 1.2 §3.1.1) with features feat and nq
 * queues of qsize laid out by fz_q_layout.  Returns whether DRIVER_OK was
 * reached. */
static inline bool fz_bring_up(struct fz_ram *r, struct bus *b, uint64_t base,
			       uint64_t feat, struct fz_q *qs, unsigned nq,
			       uint16_t qsize)
{
	fz_mmio_w(b, base, VIRTIO_MMIO_STATUS, 0);
	fz_mmio_w(b, base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
		  VIRTIO_STATUS_DRIVER);
	fz_mmio_w(b, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fz_mmio_w(b, base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	fz_mmio_w(b, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fz_mmio_w(b, base, VIRTIO_MMIO_DRIVER_FEATURES,
		  (uint32_t)(feat >> 32));
	fz_mmio_w(b, base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
		  VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(fz_mmio_r(b, base, VIRTIO_MMIO_STATUS) &
	      VIRTIO_STATUS_FEATURES_OK))
		return false;
	for (unsigned i = 0; i < nq; i++) {
		fz_q_layout(&qs[i], i, qsize);
		fz_w16(r, qs[i].avail + 2, 0);    /* a fresh ring */
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_SEL, i);
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_NUM, qsize);
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_DESC_LOW,
			  (uint32_t)qs[i].desc);
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_DESC_HIGH,
			  (uint32_t)(qs[i].desc >> 32));
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_DRIVER_LOW,
			  (uint32_t)qs[i].avail);
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
			  (uint32_t)(qs[i].avail >> 32));
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_DEVICE_LOW,
			  (uint32_t)qs[i].used);
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
			  (uint32_t)(qs[i].used >> 32));
		fz_mmio_w(b, base, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	fz_mmio_w(b, base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
		  VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		  VIRTIO_STATUS_DRIVER_OK);
	return fz_mmio_r(b, base, VIRTIO_MMIO_STATUS) &
	       VIRTIO_STATUS_DRIVER_OK;
}

/* The live rings of a transport, for fz_check_writes. */
static inline unsigned fz_rings(const struct virtio_mmio *t,
				struct fz_ring *rg)
{
	unsigned n = 0;
	for (unsigned i = 0; i < t->ops->num_queues; i++)
		if (t->q[i].vq.ready)
			rg[n++] = (struct fz_ring){ t->q[i].desc,
						    t->q[i].driver,
						    t->q[i].device,
						    t->q[i].vq.size };
	return n;
}

/* Transport invariants that hold after any access. */
static inline void fz_check_transport(const struct virtio_mmio *t)
{
	FZ_CHECK(fz_irq_level[t->irq.num % 8] == (t->int_status != 0));
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const struct virtqueue *vq = &t->q[i].vq;
		if (!vq->ready)
			continue;
		FZ_CHECK(vq->size && !(vq->size & (vq->size - 1)) &&
			 vq->size <= t->ops->queue_max);
	}
}

#endif
