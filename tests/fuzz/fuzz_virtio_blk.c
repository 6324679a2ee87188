/* libFuzzer target: virtio-blk (src/hw/virtio_blk.c) behind its virtio-mmio
 * window, against a hostile driver.  The disk is a raw image in a private
 * temporary file (a second, read-only one for the RO device), emptied for
 * each input.  The input picks the disk and the features, then is a
 * program of requests of every type (IN, OUT, FLUSH, GET_ID, DISCARD,
 * WRITE_ZEROES, bogus types), with short headers, segment lists, missing
 * or odd status buffers, indirect tables, interleaved with raw descriptor
 * writes, avail idx games, RAM fills, config reads and resets.
 *
 * Invariants: the device writes guest RAM only inside device-writable
 * buffers and the used ring; a request with a writable byte completes
 * with a status byte of OK, IOERR or UNSUPP in its last writable byte; an
 * OK read returns the disk's bytes and an OK write stores the guest's; a
 * read-only disk is never written; the IRQ line follows InterruptStatus. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "block/block.h"
#include "hw/virtio_blk.h"
#include "vdrv.h"
#include "fuzz_tmpdir.h"

#define BASE 0x10001000ULL
#define DISK_BYTES ((1u << 20) + 100)   /* a partial last sector too */
#define MAXOPS 64

static struct fz_ram ram;
static char path[2][256];
static int fd[2] = { -1, -1 };
static struct block_dev *bd[2];

/* Before fuzz_tmpdir's removal of the disks: atexit runs in reverse. */
static void cleanup(void)
{
	for (int i = 0; i < 2; i++)
		block_close(bd[i]);
}

static void init(void)
{
	const char *dir = fuzz_tmpdir();
	atexit(cleanup);
	for (int i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/disk%d.raw", dir, i);
		fd[i] = open(path[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd[i] < 0 || ftruncate(fd[i], DISK_BYTES) < 0)
			abort();
		/* A recognisable pattern on the read-only disk. */
		if (i == 1)
			for (unsigned k = 0; k < DISK_BYTES; k += 512) {
				uint8_t s[512];
				memset(s, (uint8_t)(k >> 9), sizeof(s));
				if (pwrite(fd[i], s, sizeof(s), k) < 0)
					abort();
			}
		struct err e = { 0 };
		if (block_open_format(path[i], "raw", i == 1, &bd[i], &e))
			abort();
	}
	fz_ram_init(&ram);
}

struct req {
	uint32_t type;
	uint64_t sector;
	uint16_t head;
	unsigned n;
	uint64_t gpa[8];
	uint32_t len[8];
	bool w[8];
	uint32_t wr_bytes, rd_bytes;
	bool checkable;   /* well-formed chain, header whole */
};

static uint64_t cursor;

/* Room for len bytes in the buffer area, or 0. */
static uint64_t alloc_buf(uint32_t len)
{
	if (!len || len > FZ_BUFS_SIZE || cursor + len > FZ_BUFS_SIZE)
		return 0;
	uint64_t g = FZ_BUFS + cursor;
	cursor = (cursor + len + 15) & ~15ULL;
	return g;
}

static bool add(struct req *r, uint32_t len, bool w)
{
	if (!len)
		return true;
	uint64_t g = alloc_buf(len);
	if (!g || r->n == 8)
		return false;
	r->gpa[r->n] = g;
	r->len[r->n] = len;
	r->w[r->n++] = w;
	if (w)
		r->wr_bytes += len;
	else
		r->rd_bytes += len;
	return true;
}

static const uint32_t types[] = {
	VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH,
	VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
	2, 0xffffffffu,
};

/* Build a request from the input; false when it does not fit. */
static bool build(struct fz *f, struct fz_q *q, bool indirect, struct req *r,
		  uint16_t *next_desc)
{
	uint8_t k = fz_u8(f);
	uint64_t cap = DISK_BYTES / 512;
	memset(r, 0, sizeof(*r));
	cursor = 0;
	r->type = (k & 7) == 7 ? fz_u32(f) : types[k & 7];
	switch (fz_u8(f) & 3) {
	case 0: r->sector = fz_u8(f); break;
	case 1: r->sector = cap - fz_u8(f) % 16; break;
	case 2: r->sector = fz_u64(f); break;
	default: r->sector = fz_u16(f); break;
	}
	uint32_t hdr = 16;
	if (k & 0x08)
		hdr = fz_u8(f) % 17;   /* short header */
	r->checkable = hdr == 16;
	uint8_t hb[16] = { 0 };
	memcpy(hb, &r->type, 4);
	memcpy(hb + 8, &r->sector, 8);
	/* The header may be split over two buffers. */
	uint32_t split = k & 0x10 ? fz_u8(f) % (hdr + 1) : hdr;
	if (!add(r, split, false))
		return false;
	if (split)
		gpa_write(&ram.mem, r->gpa[0], hb, split);
	if (!add(r, hdr - split, false))
		return false;
	if (hdr - split)
		gpa_write(&ram.mem, r->gpa[r->n - 1], hb + split, hdr - split);
	bool wdata = r->type == VIRTIO_BLK_T_IN ||
		     r->type == VIRTIO_BLK_T_GET_ID;
	if (k & 0x20)
		wdata = !wdata;     /* data in the wrong direction */
	unsigned nseg = fz_u8(f) % 4;
	for (unsigned i = 0; i < nseg; i++) {
		uint8_t s = fz_u8(f);
		uint32_t len = s & 0x80 ? fz_u16(f) % 5000 : 512 * (s % 9);
		if (r->type == VIRTIO_BLK_T_DISCARD ||
		    r->type == VIRTIO_BLK_T_WRITE_ZEROES)
			len = s & 0x80 ? len : 16 * (1 + s % 4);
		if (!add(r, len, wdata))
			return false;
		/* Data / range segments from the input. */
		if (len && !wdata) {
			uint8_t *p = gpa_ptr(&ram.mem, r->gpa[r->n - 1], len);
			for (uint32_t j = 0; p && j < len && f->n; j++)
				p[j] = fz_u8(f);
			if (p && (r->type == VIRTIO_BLK_T_DISCARD ||
				  r->type == VIRTIO_BLK_T_WRITE_ZEROES))
				for (uint32_t j = 0; j + 16 <= len; j += 16) {
					/* Mostly in-range sectors. */
					uint64_t sec;
					memcpy(&sec, p + j, 8);
					if (!(p[j + 15] & 0x80))
						sec %= cap + 1;
					memcpy(p + j, &sec, 8);
				}
		}
	}
	/* The status byte: its own buffer, part of a bigger one, or none. */
	uint8_t sk = fz_u8(f) % 4;
	if (sk < 2 && !add(r, 1, true))
		return false;
	if (sk == 2 && !add(r, 1 + fz_u8(f) % 8, true))
		return false;
	if (!r->wr_bytes && r->n == 0)
		return false;
	if (r->n == 0)
		return false;
	/* A writable buffer before a readable one is a malformed chain. */
	for (unsigned i = 1; i < r->n; i++)
		if (r->w[i - 1] && !r->w[i])
			r->checkable = false;
	/* Poison the writable buffers so a stale status is noticed. */
	for (unsigned i = 0; i < r->n; i++)
		if (r->w[i])
			memset(gpa_ptr(&ram.mem, r->gpa[i], r->len[i]), 0xee,
			       r->len[i]);

	if (!q->size)
		return false;
	if (indirect && (k & 0x40)) {
		uint64_t tbl = alloc_buf(16 * r->n);
		if (!tbl)
			return false;
		/* §2.7.5.3.1: no chain longer than the queue, indirect or
		 * not; the device may refuse it. */
		if (r->n > q->size)
			r->checkable = false;
		for (unsigned i = 0; i < r->n; i++)
			fz_put_desc(&ram, tbl + 16 * i, r->gpa[i], r->len[i],
				    (r->w[i] ? VIRTQ_DESC_F_WRITE : 0) |
				    (i + 1 < r->n ? VIRTQ_DESC_F_NEXT : 0),
				    (uint16_t)(i + 1));
		r->head = *next_desc % q->size;
		fz_put_desc(&ram, q->desc + 16ULL * r->head, tbl, 16 * r->n,
			    VIRTQ_DESC_F_INDIRECT, 0);
		*next_desc = (uint16_t)(*next_desc + 1);
		fz_q_publish(&ram, q, r->head);
		return true;
	}
	if (r->n > q->size)
		return false;
	r->head = *next_desc % q->size;
	fz_q_chain(&ram, q, r->head, r->n, r->gpa, r->len, r->w);
	*next_desc = (uint16_t)(*next_desc + r->n);
	return true;
}

/* After the notify: what the device did with r. */
static void check(const struct req *r, const struct virtio_blk *b,
		  const struct fz_q *q, uint16_t used_before, bool ro)
{
	uint16_t used_now = 0;
	gpa_read(&ram.mem, q->used + 2, &used_now, 2);
	if (used_now == used_before)
		return;   /* the ring was refused (NEEDS_RESET) */
	uint32_t e[2] = { 0, 0 };
	gpa_read(&ram.mem, q->used + 4 + 8ULL * (used_before % q->size), e, 8);
	FZ_CHECK(e[0] == r->head);
	FZ_CHECK(e[1] <= r->wr_bytes);
	if (!r->wr_bytes)
		return;
	/* The last writable byte of a well-formed chain is the status. */
	FZ_CHECK(e[1] >= 1 || !r->checkable);
	if (!e[1])
		return;
	unsigned last = r->n - 1;
	uint8_t st = 0xff;
	gpa_read(&ram.mem, r->gpa[last] + r->len[last] - 1, &st, 1);
	FZ_CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR ||
		 st == VIRTIO_BLK_S_UNSUPP);
	if (st != VIRTIO_BLK_S_OK || !r->checkable)
		return;
	bool writes = r->type == VIRTIO_BLK_T_OUT ||
		      r->type == VIRTIO_BLK_T_DISCARD ||
		      r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	FZ_CHECK(!(ro && writes));
	/* Data moved both ways matches the disk. */
	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) {
		uint64_t off = r->sector * 512, skip = 16;
		static uint8_t disk[8 * 5000];
		for (unsigned i = 0; i < r->n; i++) {
			uint32_t len = r->len[i];
			if (r->type == VIRTIO_BLK_T_IN) {
				if (!r->w[i])
					continue;
				if (i == last)
					len--;
			} else {
				if (r->w[i])
					continue;
				if (skip >= len) {
					skip -= len;
					continue;
				}
			}
			uint64_t g = r->gpa[i] +
				     (r->type == VIRTIO_BLK_T_OUT ? skip : 0);
			len -= r->type == VIRTIO_BLK_T_OUT ? (uint32_t)skip : 0;
			skip = 0;
			if (!len)
				continue;
			FZ_CHECK(pread(fd[ro], disk, len, (off_t)off) ==
				 (ssize_t)len);
			FZ_CHECK(!memcmp(gpa_ptr(&ram.mem, g, len), disk,
					 len));
			off += len;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_blk blk;
	struct fz f = { data, size };
	if (fd[0] < 0)
		init();
	fz_ram_clear(&ram);
	if (ftruncate(fd[0], 0) < 0 || ftruncate(fd[0], DISK_BYTES) < 0)
		abort();

	uint8_t cfg = fz_u8(&f);
	bool ro = cfg & 1;
	struct bus bus = { 0 };
	struct irq_line irq = { fz_set_level, NULL, 1 };
	fz_irq_level[1] = 0;
	if (virtio_blk_init(&blk, &bus, BASE, &ram.mem, irq, bd[ro],
			    cfg & 2 ? "ringvm-fuzz" : NULL, NULL))
		abort();
	struct fz_q q[1];
	uint16_t next_desc = 0;
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | fz_u32(&f);
	bool up = fz_bring_up(&ram, &bus, BASE, feat, q, 1,
			      (uint16_t)(1u << (fz_u8(&f) % 9)));
	bool clean = true;   /* only our requests on the ring */

	for (unsigned op = 0; op < MAXOPS && f.n; op++) {
		struct fz_ring rg[1];
		uint8_t o = fz_u8(&f);
		switch (o % 8) {
		case 0:
		case 1:
		case 2: {   /* a request, then notify */
			struct req r;
			if (!up || !build(&f, q, blk.t.q[0].vq.indirect, &r,
					  &next_desc))
				break;
			uint16_t used_before = 0;
			gpa_read(&ram.mem, q->used + 2, &used_before, 2);
			unsigned nr = fz_rings(&blk.t, rg);
			fz_snapshot(&ram);
			fz_mmio_w(&bus, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
			/* The I/O threads finish before the RAM is judged. */
			virtio_blk_drain(&blk);
			fz_check_writes(&ram, rg, nr);
			if (clean && blk.t.q[0].vq.ready)
				check(&r, &blk, q, used_before, ro);
			break;
		}
		case 3:
			fz_q_desc(&ram, q, &f);
			clean = false;
			break;
		case 4:
			if (o & 0x80) {
				q->avail_idx = (uint16_t)(q->avail_idx +
							  (int8_t)fz_u8(&f));
				fz_w16(&ram, q->avail + 2, q->avail_idx);
			} else {
				fz_q_publish(&ram, q, fz_u8(&f));
			}
			clean = false;
			break;
		case 5:
			fz_fill(&ram, &f);
			clean = false;
			break;
		case 6: {   /* notify, any queue number */
			unsigned nr = fz_rings(&blk.t, rg);
			fz_snapshot(&ram);
			fz_mmio_w(&bus, BASE, VIRTIO_MMIO_QUEUE_NOTIFY,
				  o & 0x80 ? fz_u32(&f) : 0);
			virtio_blk_drain(&blk);
			fz_check_writes(&ram, rg, nr);
			break;
		}
		default: {   /* config space, interrupt ack, or a new driver */
			uint8_t k = fz_u8(&f);
			uint64_t v;
			if (k % 3 == 0) {
				bus_read(&bus, BASE + 0x100 + fz_u8(&f),
					 1u << (k >> 2 & 3), &v);
			} else if (k % 3 == 1) {
				fz_mmio_w(&bus, BASE,
					  VIRTIO_MMIO_INTERRUPT_ACK, fz_u8(&f));
			} else {
				feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				       fz_u32(&f);
				up = fz_bring_up(&ram, &bus, BASE, feat, q, 1,
						 (uint16_t)(1u << (fz_u8(&f) %
								   9)));
				next_desc = 0;
				clean = true;
			}
			break;
		}
		}
		fz_check_transport(&blk.t);
	}
	virtio_blk_exit(&blk);
	bus_free(&bus);
	/* The read-only disk still holds its pattern. */
	if (ro) {
		uint8_t s[512];
		unsigned k = (unsigned)(size % (DISK_BYTES / 512));
		FZ_CHECK(pread(fd[1], s, 512, (off_t)k * 512) == 512);
		for (unsigned i = 0; i < 512; i++)
			FZ_CHECK(s[i] == (uint8_t)k);
	}
	return 0;
}
