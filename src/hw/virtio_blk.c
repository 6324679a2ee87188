#include "virtio_blk.h"

#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define HDR_BYTES 16   /* struct virtio_blk_req header: type, reserved, sector */
#define SEG_BYTES 16   /* struct virtio_blk_discard_write_zeroes */

enum req_state { R_FREE, R_QUEUED, R_RUNNING, R_DONE };

/* One request slot: the popped chain and what its I/O thread needs. */
struct virtio_blk_req {
	enum req_state state;
	int next;             /* link in free list, queue or done list */
	uint32_t gen;         /* b->gen when popped */
	uint64_t seq;         /* submission order */
	bool is_write;        /* a later FLUSH waits for it */
	uint32_t type;
	uint64_t off;         /* bytes */
	uint32_t data_rd, data_wr;
	uint16_t head;
	unsigned nrd, nwr;
	uint64_t feat;        /* negotiated features when popped */
	uint8_t *status;      /* last writable byte of the chain */
	uint8_t st;           /* status to write */
	uint32_t written;     /* used length */
	struct virtq_buf bufs[VIRTIO_BLK_QUEUE_MAX];
};

static void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
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
	stat_add(&b->stats.bad_requests, 1);
	return VIRTIO_BLK_S_IOERR;
}

static uint8_t io_status(struct virtio_blk *b, int rc)
{
	if (!rc)
		return VIRTIO_BLK_S_OK;
	stat_add(&b->stats.io_errors, 1);
	return VIRTIO_BLK_S_IOERR;
}

/* DISCARD and WRITE_ZEROES: an array of segments after the header
 * (§5.2.6, device requirements for these commands). */
static uint8_t do_ranges(struct virtio_blk *b, uint64_t feat,
			 struct virtq_buf *rd, unsigned nrd, uint32_t data_rd,
			 bool discard)
{
	unsigned max_seg = discard ? VIRTIO_BLK_MAX_DISCARD_SEG
				   : VIRTIO_BLK_MAX_WZ_SEG;
	uint32_t max_sectors = discard ? VIRTIO_BLK_MAX_DISCARD_SECTORS
				       : VIRTIO_BLK_MAX_WZ_SECTORS;
	if (b->bd->read_only)
		return bad(b);
	if (!(feat & VIRTIO_BIT(discard ? VIRTIO_BLK_F_DISCARD
					: VIRTIO_BLK_F_WRITE_ZEROES)))
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

/* Check a popped request on the vCPU thread.  Returns true when it needs
 * the disk (r->type and the fields the I/O thread uses are set); false
 * when it is complete already (r->written, and the status byte written if
 * there is one). */
static bool prepare(struct virtio_blk *b, struct virtio_blk_req *r,
		    const struct virtq_chain *c)
{
	struct virtq_buf *rd = r->bufs, *wr = r->bufs + c->n_read;
	unsigned nrd = c->n_read, nwr = c->n - c->n_read;

	r->head = c->head;
	r->feat = virtio_mmio_features(&b->t);
	r->nrd = nrd;
	r->nwr = nwr;
	r->written = 1;
	/* Without a writable byte there is nowhere to say anything. */
	if (c->wr_bytes == 0) {
		stat_add(&b->stats.bad_requests, 1);
		r->written = 0;
		return false;
	}
	r->status = (uint8_t *)wr[nwr - 1].hva + wr[nwr - 1].len - 1;
	if (c->rd_bytes < HDR_BYTES) {
		*r->status = bad(b);
		return false;
	}
	r->data_wr = c->wr_bytes - 1;
	r->data_rd = c->rd_bytes - HDR_BYTES;
	struct { uint32_t type, reserved; uint64_t sector; } h;
	stream_copy(rd, nrd, 0, &h, sizeof(h), false);
	uint32_t type = le32toh(h.type);
	uint64_t sector = le64toh(h.sector);
	r->type = type;
	r->off = sector * VIRTIO_BLK_SECTOR;
	r->is_write = false;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (r->data_rd || r->data_wr % VIRTIO_BLK_SECTOR ||
		    !sectors_ok(b, sector, r->data_wr / VIRTIO_BLK_SECTOR))
			break;
		return true;
	case VIRTIO_BLK_T_OUT:
		if (r->data_wr || r->data_rd % VIRTIO_BLK_SECTOR ||
		    b->bd->read_only ||
		    !sectors_ok(b, sector, r->data_rd / VIRTIO_BLK_SECTOR))
			break;
		r->is_write = true;
		return true;
	case VIRTIO_BLK_T_FLUSH:
		return true;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = r->data_wr < VIRTIO_BLK_ID_BYTES ? r->data_wr
							    : VIRTIO_BLK_ID_BYTES;
		r->written += stream_copy(wr, nwr, 0, b->id, n, true);
		*r->status = VIRTIO_BLK_S_OK;
		return false;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (r->data_wr)
			break;
		r->is_write = true;
		return true;
	default:
		*r->status = VIRTIO_BLK_S_UNSUPP;
		return false;
	}
	*r->status = bad(b);
	return false;
}

/* Carry out a prepared request on an I/O thread, no lock held: sets r->st
 * and r->written. */
static void execute(struct virtio_blk *b, struct virtio_blk_req *r)
{
	struct virtq_buf *rd = r->bufs, *wr = r->bufs + r->nrd;
	int rc = 0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		r->st = io_status(b, disk_xfer(b, wr, r->nwr, 0, r->data_wr,
					       r->off, true));
		if (r->st == VIRTIO_BLK_S_OK)
			r->written += r->data_wr;
		return;
	case VIRTIO_BLK_T_OUT:
		rc = disk_xfer(b, rd, r->nrd, HDR_BYTES, r->data_rd, r->off,
			       false);
		/* Without FLUSH the device must be write-through (§5.2.6.2). */
		if (!rc && !(r->feat & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)))
			rc = block_flush(b->bd);
		r->st = io_status(b, rc);
		return;
	case VIRTIO_BLK_T_FLUSH:
		r->st = io_status(b, block_flush(b->bd));
		return;
	default:
		r->st = do_ranges(b, r->feat, rd, r->nrd, r->data_rd,
				  r->type == VIRTIO_BLK_T_DISCARD);
		return;
	}
}

/* ---- request slots (b->lock held) ---- */

static struct virtio_blk_req *slot_get(struct virtio_blk *b)
{
	if (b->free_list < 0)
		return NULL;
	struct virtio_blk_req *r = &b->reqs[b->free_list];
	b->free_list = r->next;
	b->nbusy++;
	if (b->nbusy > b->stats.max_inflight)
		__atomic_store_n(&b->stats.max_inflight, b->nbusy,
				 __ATOMIC_RELAXED);
	return r;
}

static void slot_put(struct virtio_blk *b, struct virtio_blk_req *r)
{
	r->state = R_FREE;
	r->next = b->free_list;
	b->free_list = (int)(r - b->reqs);
	b->nbusy--;
	pthread_cond_broadcast(&b->idle);
}

static void enqueue(struct virtio_blk *b, struct virtio_blk_req *r)
{
	int i = (int)(r - b->reqs);
	r->state = R_QUEUED;
	r->gen = b->gen;
	r->seq = b->seq++;
	r->next = -1;
	if (b->queue_tail < 0)
		b->queue_head = i;
	else
		b->reqs[b->queue_tail].next = i;
	b->queue_tail = i;
	b->nio++;
	pthread_cond_signal(&b->work);
}

/* Whether a write submitted before FLUSH f is still in flight. */
static bool writes_before(struct virtio_blk *b, const struct virtio_blk_req *f)
{
	for (unsigned i = 0; i < VIRTIO_BLK_INFLIGHT; i++) {
		const struct virtio_blk_req *r = &b->reqs[i];
		if ((r->state == R_QUEUED || r->state == R_RUNNING) &&
		    r->is_write && r->gen == f->gen && r->seq < f->seq)
			return true;
	}
	return false;
}

/* ---- the vCPU side (device lock held) ---- */

static bool device_live(const struct virtio_blk *b)
{
	return (b->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(b->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Pop what the driver made available: refused and I/O-free requests are
 * pushed here, the others queued for the I/O threads.  Returns whether
 * anything was pushed. */
static bool pump(struct virtio_blk *b, unsigned q)
{
	struct virtqueue *vq = virtio_mmio_queue(&b->t, q);
	struct virtq_chain c;
	bool pushed = false;

	pthread_mutex_lock(&b->lock);
	do {
		for (;;) {
			struct virtio_blk_req *r = slot_get(b);
			if (!r) {
				/* A completion pops the rest. */
				b->starved = true;
				goto out;
			}
			int rc = virtq_pop(vq, r->bufs, VIRTIO_BLK_QUEUE_MAX,
					   &c);
			if (rc == -EAGAIN) {
				slot_put(b, r);
				break;
			}
			if (rc == -EPROTO) {
				slot_put(b, r);
				virtio_mmio_needs_reset(&b->t);
				goto out;
			}
			stat_add(&b->stats.requests, 1);
			if (rc) {
				/* Unusable chain: hand it back untouched. */
				stat_add(&b->stats.bad_chains, 1);
				virtq_push(vq, c.head, 0);
				slot_put(b, r);
				pushed = true;
			} else if (prepare(b, r, &c)) {
				enqueue(b, r);
			} else {
				virtq_push(vq, c.head, r->written);
				slot_put(b, r);
				pushed = true;
			}
		}
	} while (virtq_enable_notify(vq));
out:
	pthread_mutex_unlock(&b->lock);
	return pushed;
}

static void blk_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_blk *b = dev;
	if (pump(b, q))
		virtio_mmio_signal_used(t, q);
}

/* The driver reset the device (or the machine is reset): wait for the
 * I/O in flight, which needs no device lock, and forget every request. */
static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;
	if (!b->lock_ok)
		return;
	pthread_mutex_lock(&b->lock);
	b->gen++;
	/* Queued requests never started: drop them. */
	while (b->queue_head >= 0) {
		struct virtio_blk_req *r = &b->reqs[b->queue_head];
		b->queue_head = r->next;
		b->nio--;
		slot_put(b, r);
	}
	b->queue_tail = -1;
	while (b->nio)
		pthread_cond_wait(&b->idle, &b->lock);
	while (b->done_head >= 0) {
		struct virtio_blk_req *r = &b->reqs[b->done_head];
		b->done_head = r->next;
		/* Never pushed, but a read did land in guest memory: the
		 * dirty-page log must still see it (push would have). */
		for (unsigned i = r->nrd; i < r->nrd + r->nwr; i++)
			guest_mem_mark_dirty_hva(b->t.mem, r->bufs[i].hva,
						 r->bufs[i].len);
		slot_put(b, r);
	}
	b->starved = false;
	pthread_mutex_unlock(&b->lock);
}

/* ---- the I/O side ---- */

/* Put finished requests in the used ring (an I/O thread, no lock held). */
static void publish(struct virtio_blk *b)
{
	struct virtqueue *vq = virtio_mmio_queue(&b->t, 0);
	bool pushed = false;

	bus_lock(b->t.bus);
	pthread_mutex_lock(&b->lock);
	bool starved = b->starved;
	while (b->done_head >= 0) {
		struct virtio_blk_req *r = &b->reqs[b->done_head];
		b->done_head = r->next;
		/* The device was reset since this request was popped. */
		if (r->gen == b->gen) {
			*r->status = r->st;
			virtq_push(vq, r->head, r->written);
			pushed = true;
		}
		slot_put(b, r);
	}
	b->starved = false;
	b->publishing++;
	int wake_fd = b->wake_fd;
	pthread_mutex_unlock(&b->lock);
	if (starved && device_live(b))
		pushed |= pump(b, 0);
	if (pushed)
		virtio_mmio_signal_used(&b->t, 0);
	if (pushed && wake_fd >= 0) {
		uint64_t one = 1;
		/* A full counter already wakes the loop. */
		(void)!write(wake_fd, &one, sizeof(one));
	}
	/* Only now is a drained device's interrupt up to date (and its
	 * eventfd no longer in use). */
	pthread_mutex_lock(&b->lock);
	b->publishing--;
	pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
	bus_unlock(b->t.bus);
}

static void *worker(void *arg)
{
	struct virtio_blk *b = arg;

	pthread_mutex_lock(&b->lock);
	b->nready++;
	pthread_cond_broadcast(&b->idle);
	for (;;) {
		while (!b->stop && b->queue_head < 0)
			pthread_cond_wait(&b->work, &b->lock);
		if (b->queue_head < 0)
			break;
		struct virtio_blk_req *r = &b->reqs[b->queue_head];
		b->queue_head = r->next;
		if (b->queue_head < 0)
			b->queue_tail = -1;
		r->state = R_RUNNING;
		if (r->type == VIRTIO_BLK_T_FLUSH)
			while (writes_before(b, r))
				pthread_cond_wait(&b->idle, &b->lock);
		pthread_mutex_unlock(&b->lock);

		execute(b, r);

		pthread_mutex_lock(&b->lock);
		/* In finishing order, so the used ring tells it. */
		r->state = R_DONE;
		r->next = -1;
		if (b->done_head < 0)
			b->done_head = (int)(r - b->reqs);
		else
			b->reqs[b->done_tail].next = (int)(r - b->reqs);
		b->done_tail = (int)(r - b->reqs);
		b->nio--;
		pthread_cond_broadcast(&b->idle);
		pthread_mutex_unlock(&b->lock);
		publish(b);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

void virtio_blk_drain(struct virtio_blk *b)
{
	if (!b->lock_ok)
		return;
	pthread_mutex_lock(&b->lock);
	while (b->nbusy || b->publishing)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
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
	.reset = blk_reset,
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
	.reset = blk_reset,
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
	/* blk_size: Linux takes it as the logical block size.  Under
	 * cache=none a write smaller than the host's O_DIRECT block is a
	 * read-modify-write of that block, and two of them in one block on
	 * different I/O threads would lose one; a guest told the host's
	 * block size does not send such writes. */
	unsigned bs = b->bd->dio_align > VIRTIO_BLK_SECTOR &&
		      b->bd->dio_align <= 4096 ? b->bd->dio_align
					      : VIRTIO_BLK_SECTOR;
	put_le(c, 20, bs, 4);                          /* blk_size */
	put_le(c, 34, 1, 2);                           /* num_queues */
	put_le(c, 36, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_le(c, 40, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
	put_le(c, 44, VIRTIO_BLK_DISCARD_ALIGN, 4);
	put_le(c, 48, VIRTIO_BLK_MAX_WZ_SECTORS, 4);
	put_le(c, 52, VIRTIO_BLK_MAX_WZ_SEG, 4);
	c[56] = 1;                                     /* write_zeroes_may_unmap */
}

static void wake_cb(void *opaque, int fd, uint32_t events)
{
	uint64_t n;
	(void)!read(fd, &n, sizeof(n));
}

int virtio_blk_watch(struct virtio_blk *b, struct evloop *loop,
		     struct err *errp)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return err_sys(errp, errno, "virtio-blk: eventfd");
	int rc = evloop_add(loop, fd, EPOLLIN, wake_cb, b, errp);
	if (rc) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&b->lock);
	b->wake_fd = fd;
	b->loop = loop;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int start(struct virtio_blk *b, struct err *errp)
{
	b->reqs = calloc(VIRTIO_BLK_INFLIGHT, sizeof(*b->reqs));
	if (!b->reqs)
		return err_set(errp, ENOMEM, "virtio-blk: out of memory");
	for (unsigned i = 0; i < VIRTIO_BLK_INFLIGHT; i++)
		b->reqs[i].next = i + 1 < VIRTIO_BLK_INFLIGHT ? (int)i + 1 : -1;
	b->free_list = 0;
	b->queue_head = b->queue_tail = b->done_head = b->done_tail = -1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->idle, NULL);
	b->lock_ok = true;

	unsigned n = b->bd->drv->thread_safe ? VIRTIO_BLK_WORKERS : 1;
	/* Signals are the main thread's business (console, SIGSYS report). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = 0;
	while (b->nworkers < n) {
		rc = pthread_create(&b->workers[b->nworkers], NULL, worker, b);
		if (rc)
			break;
		b->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* A thread still starting makes calls (rseq...) the sandbox, which
	 * may be entered right after, refuses: wait until all are in their
	 * loop.  A fast restore reaches the sandbox within milliseconds. */
	pthread_mutex_lock(&b->lock);
	while (b->nready < b->nworkers)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
	if (rc)
		return err_sys(errp, rc, "virtio-blk: cannot start I/O threads");
	return 0;
}

int virtio_blk_init(struct virtio_blk *b, struct bus *bus, uint64_t base,
		    struct guest_mem *mem, struct irq_line irq,
		    struct block_dev *bd, const char *serial,
		    struct err *errp)
{
	memset(b, 0, sizeof(*b));
	b->wake_fd = -1;
	b->bd = bd;
	b->capacity = bd->size / VIRTIO_BLK_SECTOR;
	/* NUL-padded; a 20-byte serial has no terminator (§5.2.6). */
	if (serial)
		memcpy(b->id, serial, strnlen(serial, sizeof(b->id)));
	fill_config(b);
	int rc = start(b, errp);
	if (rc)
		return rc;
	return virtio_mmio_init(&b->t, bus, base, mem, irq,
				bd->read_only ? &blk_ops_ro : &blk_ops_rw, b,
				errp);
}

int virtio_blk_replace_disk(struct virtio_blk *b, struct block_dev *bd)
{
	if (bd->size / VIRTIO_BLK_SECTOR != b->capacity ||
	    bd->read_only != b->bd->read_only ||
	    bd->drv->thread_safe != b->bd->drv->thread_safe)
		return -EINVAL;
	/* The I/O threads read b->bd after taking b->lock for a request. */
	pthread_mutex_lock(&b->lock);
	b->bd = bd;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

int virtio_blk_exit(struct virtio_blk *b)
{
	virtio_blk_drain(b);
	if (b->lock_ok) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_broadcast(&b->work);
		pthread_mutex_unlock(&b->lock);
	}
	for (unsigned i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	b->nworkers = 0;
	b->nready = 0;
	if (b->loop) {
		evloop_del(b->loop, b->wake_fd);
		b->loop = NULL;
	}
	if (b->wake_fd >= 0)
		close(b->wake_fd);
	b->wake_fd = -1;
	virtio_mmio_exit(&b->t);
	if (b->lock_ok) {
		pthread_cond_destroy(&b->work);
		pthread_cond_destroy(&b->idle);
		pthread_mutex_destroy(&b->lock);
		b->lock_ok = false;
	}
	free(b->reqs);
	b->reqs = NULL;
	return b->bd ? block_flush(b->bd) : 0;
}
