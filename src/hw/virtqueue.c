#include "virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtio.h"

/* Guest-memory layouts (virtio 1.2 §2.7.5, §2.7.6, §2.7.8), little-endian.
 * Only offsets are used; fields are reached through the helpers below. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vring_desc) == 16, "descriptor is 16 bytes");

#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4      /* + 2 * i; used_event follows ring[size] */
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4       /* + 8 * i; avail_event follows ring[size] */

static inline uint16_t *u16_at(void *base, size_t off)
{
	return (uint16_t *)((uint8_t *)base + off);
}

static inline uint16_t load16(void *base, size_t off, int order)
{
	return le16toh(__atomic_load_n(u16_at(base, off), order));
}

static inline void store16(void *base, size_t off, uint16_t v, int order)
{
	__atomic_store_n(u16_at(base, off), htole16(v), order);
}

void virtq_init(struct virtqueue *vq, const struct guest_mem *mem,
		uint16_t max)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->max = max;
}

void virtq_reset(struct virtqueue *vq)
{
	virtq_init(vq, vq->mem, vq->max);
}

/* Host view of a ring part: inside one RAM region, and aligned both in the
 * guest (what the spec demands) and on the host (what atomics need). */
static void *ring_part(const struct guest_mem *mem, uint64_t gpa,
		       uint64_t len, unsigned align)
{
	if (gpa & (align - 1))
		return NULL;
	void *p = gpa_ptr(mem, gpa, len);
	if (!p || ((uintptr_t)p & (align - 1)))
		return NULL;
	return p;
}

int virtq_enable(struct virtqueue *vq, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features)
{
	vq->ready = false;
	if (size == 0 || (size & (size - 1)) || size > vq->max)
		return -EINVAL;
	/* Sizes include used_event/avail_event whether or not EVENT_IDX is
	 * negotiated: drivers lay rings out that way (§2.7, size table). */
	void *d = ring_part(vq->mem, desc, 16ULL * size, 16);
	void *a = ring_part(vq->mem, avail, 6 + 2ULL * size, 2);
	void *u = ring_part(vq->mem, used, 6 + 8ULL * size, 4);
	if (!d || !a || !u)
		return -EINVAL;

	virtq_reset(vq);
	vq->size = size;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->event_idx = features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	vq->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	/* Start from the driver's view, which is 0 after a reset (§2.7). */
	store16(u, USED_IDX, 0, __ATOMIC_RELEASE);
	store16(u, USED_FLAGS, 0, __ATOMIC_RELAXED);
	vq->ready = true;
	return 0;
}

int virtq_restore(struct virtqueue *vq, const struct virtq_saved *sv,
		  uint64_t features)
{
	vq->ready = false;
	if (sv->size == 0 || (sv->size & (sv->size - 1)) || sv->size > vq->max)
		return -EINVAL;
	void *d = ring_part(vq->mem, sv->desc, 16ULL * sv->size, 16);
	void *a = ring_part(vq->mem, sv->avail, 6 + 2ULL * sv->size, 2);
	void *u = ring_part(vq->mem, sv->used, 6 + 8ULL * sv->size, 4);
	if (!d || !a || !u)
		return -EINVAL;
	virtq_reset(vq);
	vq->size = sv->size;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->event_idx = features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	vq->indirect = features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	/* Any index values are safe: virtq_pop checks the avail idx against
	 * last_avail on every call, as for a driver's own writes. */
	vq->last_avail = sv->last_avail;
	vq->used_idx = sv->used_idx;
	vq->signalled = sv->signalled;
	vq->broken = sv->broken;
	vq->ready = true;
	return 0;
}

static inline struct vring_desc read_desc(const void *table, unsigned i)
{
	struct vring_desc d;
	/* One copy, then only the copy is trusted. */
	memcpy(&d, (const uint8_t *)table + 16 * (size_t)i, sizeof(d));
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.flags = le16toh(d.flags);
	d.next = le16toh(d.next);
	return d;
}

unsigned virtq_pending(const struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return 0;
	uint16_t n = load16(vq->avail, AVAIL_IDX, __ATOMIC_ACQUIRE) -
		     vq->last_avail;
	return n <= vq->size ? n : 0;
}

/* Walk the chain starting at head.  Indirect tables are followed once, and
 * at most queue-size descriptors are visited in each table (the ring's,
 * then the indirect one), which bounds loops.  bufs == NULL: only mark the
 * device-writable buffers dirty (the dirty-page log, at push time). */
static int walk_chain(struct virtqueue *vq, uint16_t head,
		      struct virtq_buf *bufs, unsigned max_bufs,
		      struct virtq_chain *c)
{
	const void *table = vq->desc;
	unsigned table_len = vq->size, budget = vq->size;
	bool in_indirect = false, seen_writable = false;
	uint64_t rd = 0, wr = 0;
	unsigned i = head;

	for (;;) {
		if (i >= table_len || budget-- == 0)
			return -EINVAL;
		struct vring_desc d = read_desc(table, i);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* §2.7.5.3.1 */
			if (!vq->indirect || in_indirect ||
			    (d.flags & VIRTQ_DESC_F_NEXT) ||
			    d.len == 0 || d.len % 16)
				return -EINVAL;
			const void *t = gpa_ptr(vq->mem, d.addr, d.len);
			if (!t)
				return -EFAULT;
			table = t;
			table_len = d.len / 16;
			/* §2.7.5.3.1: no chain longer than the queue size,
			 * however large the table; this also bounds the time
			 * a huge table of empty descriptors can cost. */
			budget = table_len < vq->size ? table_len : vq->size;
			in_indirect = true;
			i = 0;
			continue;
		}

		bool w = d.flags & VIRTQ_DESC_F_WRITE;
		if (!w && seen_writable)
			return -EINVAL;  /* §2.7.4.2: readable first */
		seen_writable |= w;
		if (d.len) {
			void *p = gpa_ptr(vq->mem, d.addr, d.len);
			if (!p)
				return -EFAULT;
			if (!bufs) {
				if (w)
					guest_mem_mark_dirty_hva(vq->mem, p,
								 d.len);
				goto next;
			}
			if (c->n == max_bufs)
				return -E2BIG;
			bufs[c->n++] = (struct virtq_buf){ p, d.len, w };
			if (w)
				wr += d.len;
			else {
				rd += d.len;
				c->n_read++;
			}
			if (rd + wr > UINT32_MAX)
				return -EINVAL;
		}
next:
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
	}
	c->rd_bytes = rd;
	c->wr_bytes = wr;
	return 0;
}

int virtq_pop(struct virtqueue *vq, struct virtq_buf *bufs,
	      unsigned max_bufs, struct virtq_chain *c)
{
	memset(c, 0, sizeof(*c));
	if (!vq->ready)
		return -EAGAIN;
	if (vq->broken)
		return -EPROTO;

	/* Acquire: ring entries and descriptors written before idx. */
	uint16_t avail_idx = load16(vq->avail, AVAIL_IDX, __ATOMIC_ACQUIRE);
	uint16_t pending = avail_idx - vq->last_avail;
	if (pending == 0)
		return -EAGAIN;
	if (pending > vq->size) {
		vq->broken = true;
		return -EPROTO;
	}
	uint16_t head = load16(vq->avail,
			       AVAIL_RING + 2 * (vq->last_avail % vq->size),
			       __ATOMIC_RELAXED);
	if (head >= vq->size) {
		vq->broken = true;
		return -EPROTO;
	}
	vq->last_avail++;
	if (vq->event_idx)
		store16(vq->used, USED_RING + 8 * (size_t)vq->size,
			vq->last_avail, __ATOMIC_RELAXED);

	c->head = head;
	int rc = walk_chain(vq, head, bufs, max_bufs, c);
	if (rc) {
		c->n = c->n_read = 0;
		c->rd_bytes = c->wr_bytes = 0;
	}
	return rc;
}

void virtq_unpop(struct virtqueue *vq, uint16_t n)
{
	if (!vq->ready || vq->broken)
		return;
	/* avail_event is left alone: moving it back behind buffers the
	 * driver already published would tell it a notification for them is
	 * still due, and it would never notify again (virtq_want_more). */
	vq->last_avail -= n;
}

bool virtq_want_more(struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	uint16_t idx = load16(vq->avail, AVAIL_IDX, __ATOMIC_ACQUIRE);
	if (vq->event_idx)
		store16(vq->used, USED_RING + 8 * (size_t)vq->size, idx,
			__ATOMIC_RELAXED);
	/* As in virtq_enable_notify: publish, then look again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(vq->avail, AVAIL_IDX, __ATOMIC_ACQUIRE) != idx;
}

void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	if (!vq->ready)
		return;
	uint8_t *e = (uint8_t *)vq->used + USED_RING +
		     8 * (size_t)(vq->used_idx % vq->size);
	uint32_t id = htole32(head), len = htole32(written);
	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	vq->used_idx++;
	store16(vq->used, USED_IDX, vq->used_idx, __ATOMIC_RELEASE);
	if (guest_mem_logging(vq->mem)) {
		/* The device has written the chain's buffers by now; a
		 * driver that rewrote the chain meanwhile only misleads its
		 * own migration. */
		struct virtq_chain c;
		memset(&c, 0, sizeof(c));
		walk_chain(vq, head, NULL, 0, &c);
		guest_mem_mark_dirty_hva(vq->mem, vq->used,
					 6 + 8 * (size_t)vq->size);
	}
}

bool virtq_should_notify(struct virtqueue *vq)
{
	if (!vq->ready)
		return false;
	uint16_t old = vq->signalled, new = vq->used_idx;
	if (old == new)
		return false;  /* nothing pushed since the last decision */
	vq->signalled = new;

	/* The used idx store must be visible before we read what the driver
	 * asked for, or we may miss an interrupt it is about to request. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!vq->event_idx)
		return !(load16(vq->avail, AVAIL_FLAGS, __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t event = load16(vq->avail, AVAIL_RING + 2 * (size_t)vq->size,
				__ATOMIC_RELAXED);
	/* §2.7.10: interrupt iff used_event lies in [old, new). */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx)
		store16(vq->used, USED_RING + 8 * (size_t)vq->size,
			vq->last_avail, __ATOMIC_RELAXED);
	/* Publish before re-checking, pairing with the driver's barrier
	 * between its avail idx store and its avail_event load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_pending(vq) != 0;
}
