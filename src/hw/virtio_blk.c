#include "virtio_blk.h"

#include <endian.h>
#include <string.h>

#define HDR_BYTES 16   /* struct virtio_blk_req header: type, reserved, sector */
#define SEG_BYTES 16   /* struct virtio_blk_discard_write_zeroes */

static bool negotiated(const struct virtio_blk *b, unsigned bit)
{
	return virtio_mmio_features(&b->t) & VIRTIO_BIT(bit);
}

/* Copy between a flat buffer and the byte stream formed by bufs[0..n),
 * starting skip bytes into the stream.  Returns bytes copied, which is
 * less than len only when the stream ends first.  Requests are read
 * this way, never by assuming a descriptor layout (§2.6.4). */
static size_t stream_copy(struct virtq_buf *bufs, unsigned n, uint64_t skip,
			  void *mem, size_t len, bool to_guest)
{
	uint8_t *m = mem;
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= bufs[i].len) {
			skip -= bufs[i].len;
			continue;
		}
		uint8_t *p = (uint8_t *)bufs[i].hva + skip;
		size_t k = bufs[i].len - skip;
		if (k > len - done)
			k = len - done;
		if (to_guest)
			memcpy(p, m + done, k);
		else
			memcpy(m + done, p, k);
		done += k;
		skip = 0;
	}
	return done;
}

/* Move len bytes between the disk at byte off and the stream bufs[0..n)
 * from skip on, straight to/from guest memory (no bounce copy), in as few
 * block-layer calls as the vector size allows.  The caller has checked that
 * the stream holds len bytes after skip. */
static int disk_xfer(struct virtio_blk *b, struct virtq_buf *bufs,
		     unsigned n, uint64_t skip, uint64_t len, uint64_t off,
		     bool to_guest)
{
	enum { VEC = 256 };
	struct iovec iov[VEC];
	int cnt = 0;
	for (unsigned i = 0; i < n && len; i++) {
		if (skip >= bufs[i].len) {
			skip -= bufs[i].len;
			continue;
		}
		uint64_t k = bufs[i].len - skip;
		if (k > len)
			k = len;
		iov[cnt++] = (struct iovec){ (uint8_t *)bufs[i].hva + skip, k };
		len -= k;
		skip = 0;
		if (cnt == VEC || !len || i + 1 == n) {
			int rc = to_guest ? block_preadv(b->bd, iov, cnt, off)
					  : block_pwritev(b->bd, iov, cnt, off);
			if (rc)
				return rc;
			for (int j = 0; j < cnt; j++)
				off += iov[j].iov_len;
			cnt = 0;
		}
	}
	return 0;
}

static bool sectors_ok(const struct virtio_blk *b, uint64_t sector,
		       uint64_t count)
{
	return sector <= b->capacity && count <= b->capacity - sector;
}

/* A request the driver got wrong: IOERR, counted. */
static uint8_t bad(struct virtio_blk *b)
{
	b->stats.bad_requests++;
	return VIRTIO_BLK_S_IOERR;
}

static uint8_t io_status(struct virtio_blk *b, int rc)
{
	if (!rc)
		return VIRTIO_BLK_S_OK;
	b->stats.io_errors++;
	return VIRTIO_BLK_S_IOERR;
}

/* DISCARD and WRITE_ZEROES: an array of segments after the header
 * (§5.2.6, device requirements for these commands). */
static uint8_t do_ranges(struct virtio_blk *b, struct virtq_buf *rd,
			 unsigned nrd, uint32_t data_rd, bool discard)
{
	unsigned max_seg = discard ? VIRTIO_BLK_MAX_DISCARD_SEG
				   : VIRTIO_BLK_MAX_WZ_SEG;
	uint32_t max_sectors = discard ? VIRTIO_BLK_MAX_DISCARD_SECTORS
				       : VIRTIO_BLK_MAX_WZ_SECTORS;
	if (b->bd->read_only)
		return bad(b);
	if (!negotiated(b, discard ? VIRTIO_BLK_F_DISCARD
				   : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (data_rd == 0 || data_rd % SEG_BYTES || data_rd / SEG_BYTES > max_seg)
		return bad(b);

	for (uint32_t i = 0; i < data_rd / SEG_BYTES; i++) {
		struct { uint64_t sector; uint32_t num, flags; } s;
		stream_copy(rd, nrd, HDR_BYTES + SEG_BYTES * (uint64_t)i, &s,
			    sizeof(s), false);
		uint64_t sector = le64toh(s.sector);
		uint32_t num = le32toh(s.num), flags = le32toh(s.flags);
		if ((flags & ~VIRTIO_BLK_WZ_F_UNMAP) ||
		    (discard && (flags & VIRTIO_BLK_WZ_F_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > max_sectors || !sectors_ok(b, sector, num))
			return bad(b);
		uint64_t off = sector * VIRTIO_BLK_SECTOR;
		uint64_t len = (uint64_t)num * VIRTIO_BLK_SECTOR;
		int rc = discard ? block_discard(b->bd, off, len)
				 : block_write_zeroes(b->bd, off, len,
					flags & VIRTIO_BLK_WZ_F_UNMAP);
		if (rc)
			return io_status(b, rc);
	}
	return VIRTIO_BLK_S_OK;
}

/* Carry out one request; returns the used length (bytes written into the
 * chain, status byte included). */
static uint32_t do_request(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct virtq_buf *rd = b->bufs, *wr = b->bufs + c->n_read;
	unsigned nrd = c->n_read, nwr = c->n - c->n_read;

	/* Without a writable byte there is nowhere to say anything. */
	if (c->wr_bytes == 0) {
		b->stats.bad_requests++;
		return 0;
	}
	uint8_t *status = (uint8_t *)wr[nwr - 1].hva + wr[nwr - 1].len - 1;
	uint32_t data_wr = c->wr_bytes - 1, data_rd;
	uint32_t written = 1;
	uint8_t st;

	if (c->rd_bytes < HDR_BYTES) {
		*status = bad(b);
		return 1;
	}
	data_rd = c->rd_bytes - HDR_BYTES;
	struct { uint32_t type, reserved; uint64_t sector; } h;
	stream_copy(rd, nrd, 0, &h, sizeof(h), false);
	uint32_t type = le32toh(h.type);
	uint64_t sector = le64toh(h.sector);
	uint64_t off = sector * VIRTIO_BLK_SECTOR;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (data_rd || data_wr % VIRTIO_BLK_SECTOR) {
			st = bad(b);
		} else if (!sectors_ok(b, sector, data_wr / VIRTIO_BLK_SECTOR)) {
			st = bad(b);
		} else {
			st = io_status(b, disk_xfer(b, wr, nwr, 0, data_wr,
						    off, true));
			if (st == VIRTIO_BLK_S_OK)
				written += data_wr;
		}
		break;
	case VIRTIO_BLK_T_OUT:
		if (data_wr || data_rd % VIRTIO_BLK_SECTOR ||
		    b->bd->read_only ||
		    !sectors_ok(b, sector, data_rd / VIRTIO_BLK_SECTOR)) {
			st = bad(b);
			break;
		}
		int rc = disk_xfer(b, rd, nrd, HDR_BYTES, data_rd, off, false);
		/* Without FLUSH the device must be write-through (§5.2.6.2). */
		if (!rc && !negotiated(b, VIRTIO_BLK_F_FLUSH))
			rc = block_flush(b->bd);
		st = io_status(b, rc);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = io_status(b, block_flush(b->bd));
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = data_wr < VIRTIO_BLK_ID_BYTES ? data_wr
							 : VIRTIO_BLK_ID_BYTES;
		written += stream_copy(wr, nwr, 0, b->id, n, true);
		st = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = data_wr ? bad(b)
			     : do_ranges(b, rd, nrd, data_rd,
					 type == VIRTIO_BLK_T_DISCARD);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	*status = st;
	return written;
}

static void blk_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_blk *b = dev;
	struct virtqueue *vq = virtio_mmio_queue(t, q);
	struct virtq_chain c;

	do {
		for (;;) {
			int rc = virtq_pop(vq, b->bufs, VIRTIO_BLK_QUEUE_MAX,
					   &c);
			if (rc == -EAGAIN)
				break;
			if (rc == -EPROTO) {
				virtio_mmio_needs_reset(t);
				goto out;
			}
			b->stats.requests++;
			if (rc) {
				/* Unusable chain: hand it back untouched. */
				b->stats.bad_chains++;
				virtq_push(vq, c.head, 0);
				continue;
			}
			virtq_push(vq, c.head, do_request(b, &c));
		}
	} while (virtq_enable_notify(vq));
out:
	virtio_mmio_signal_used(t, q);
}

static int blk_config_read(void *dev, uint64_t off, unsigned size,
			   uint64_t *val)
{
	struct virtio_blk *b = dev;
	return virtio_config_read_bytes(b->config, sizeof(b->config),
					off, size, val);
}

static const struct virtio_dev_ops blk_ops_rw = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		    VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
		    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES),
	.num_queues = 1,
	.queue_max = VIRTIO_BLK_QUEUE_MAX,
	.config_read = blk_config_read,
	.queue_notify = blk_notify,
};

static const struct virtio_dev_ops blk_ops_ro = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		    VIRTIO_BIT(VIRTIO_BLK_F_RO),
	.num_queues = 1,
	.queue_max = VIRTIO_BLK_QUEUE_MAX,
	.config_read = blk_config_read,
	.queue_notify = blk_notify,
};

static void put_le(uint8_t *cfg, unsigned off, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		cfg[off + i] = (uint8_t)(v >> (8 * i));
}

/* struct virtio_blk_config (§5.2.4), fields this device offers. */
static void fill_config(struct virtio_blk *b)
{
	uint8_t *c = b->config;
	memset(c, 0, sizeof(b->config));
	put_le(c, 0, b->capacity, 8);                  /* capacity */
	put_le(c, 12, VIRTIO_BLK_SEG_MAX, 4);          /* seg_max */
	put_le(c, 20, VIRTIO_BLK_SECTOR, 4);           /* blk_size */
	put_le(c, 34, 1, 2);                           /* num_queues */
	put_le(c, 36, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_le(c, 40, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
	put_le(c, 44, VIRTIO_BLK_DISCARD_ALIGN, 4);
	put_le(c, 48, VIRTIO_BLK_MAX_WZ_SECTORS, 4);
	put_le(c, 52, VIRTIO_BLK_MAX_WZ_SEG, 4);
	c[56] = 1;                                     /* write_zeroes_may_unmap */
}

int virtio_blk_init(struct virtio_blk *b, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct block_dev *bd, const char *serial,
		    struct err *errp)
{
	memset(b, 0, sizeof(*b));
	b->bd = bd;
	b->capacity = bd->size / VIRTIO_BLK_SECTOR;
	/* NUL-padded; a 20-byte serial has no terminator (§5.2.6). */
	if (serial)
		memcpy(b->id, serial, strnlen(serial, sizeof(b->id)));
	fill_config(b);
	return virtio_mmio_init(&b->t, bus, base, mem, irq,
				bd->read_only ? &blk_ops_ro : &blk_ops_rw, b,
				errp);
}

int virtio_blk_exit(struct virtio_blk *b)
{
	virtio_mmio_exit(&b->t);
	return b->bd ? block_flush(b->bd) : 0;
}
