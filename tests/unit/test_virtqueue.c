/* Unit tests for the split virtqueue: rings are laid out by hand in a real
 * struct guest_mem, the way a (possibly hostile) driver would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hw/virtio.h"
#include "hw/virtqueue.h"

#define RAM    0x80000000ULL
#define RAMSZ  (1ULL << 20)
#define QSIZE  8
#define DESC   (RAM + 0x1000)
#define AVAIL  (RAM + 0x2000)
#define USED   (RAM + 0x3000)
#define DATA   (RAM + 0x10000)
#define ITABLE (RAM + 0x8000)

#define F_IND  VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)
#define F_EVT  VIRTIO_BIT(VIRTIO_F_EVENT_IDX)

struct fx {
	struct guest_mem mem;
	struct virtqueue vq;
	uint16_t avail_idx;
	struct virtq_buf bufs[16];
	struct virtq_chain c;
};

/* ---- driver side helpers (little-endian host assumed by the test) ---- */

static void put_desc_at(struct fx *f, uint64_t table, unsigned i,
			uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(gpa_write(&f->mem, table + 16 * i, d, 16), 0);
}

static void put_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	put_desc_at(f, DESC, i, addr, len, flags, next);
}

static void put16(struct fx *f, uint64_t gpa, uint16_t v)
{
	assert_int_equal(gpa_write(&f->mem, gpa, &v, 2), 0);
}

static uint16_t get16(struct fx *f, uint64_t gpa)
{
	uint16_t v = 0;
	assert_int_equal(gpa_read(&f->mem, gpa, &v, 2), 0);
	return v;
}

static uint32_t get32(struct fx *f, uint64_t gpa)
{
	uint32_t v = 0;
	assert_int_equal(gpa_read(&f->mem, gpa, &v, 4), 0);
	return v;
}

static void offer(struct fx *f, uint16_t head)
{
	put16(f, AVAIL + 4 + 2 * (f->avail_idx % QSIZE), head);
	f->avail_idx++;
	put16(f, AVAIL + 2, f->avail_idx);
}

static int pop(struct fx *f)
{
	return virtq_pop(&f->vq, f->bufs, 16, &f->c);
}

static int setup_features(void **state, uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(guest_mem_add(&f->mem, RAM, RAMSZ, NULL), 0);
	virtq_init(&f->vq, &f->mem, 256);
	assert_int_equal(virtq_enable(&f->vq, QSIZE, DESC, AVAIL, USED,
				      features), 0);
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_features(state, 0); }
static int setup_ind(void **state) { return setup_features(state, F_IND); }
static int setup_evt(void **state) { return setup_features(state, F_EVT); }

static int teardown(void **state)
{
	struct fx *f = *state;
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

/* ---- tests ---- */

static void normal_chain(void **state)
{
	struct fx *f = *state;
	assert_int_equal(pop(f), -EAGAIN);
	put_desc(f, 3, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
	put_desc(f, 5, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_int_equal(virtq_pending(&f->vq), 1);
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.n, 3);
	assert_int_equal(f->c.n_read, 2);
	assert_int_equal(f->c.rd_bytes, 528);
	assert_int_equal(f->c.wr_bytes, 1);
	assert_ptr_equal(f->bufs[0].hva, gpa_ptr(&f->mem, DATA, 1));
	assert_ptr_equal(f->bufs[1].hva, gpa_ptr(&f->mem, DATA + 0x100, 1));
	assert_ptr_equal(f->bufs[2].hva, gpa_ptr(&f->mem, DATA + 0x400, 1));
	assert_false(f->bufs[1].writable);
	assert_true(f->bufs[2].writable);
	assert_int_equal(pop(f), -EAGAIN);

	virtq_push(&f->vq, 3, 1);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_int_equal(get32(f, USED + 4), 3);
	assert_int_equal(get32(f, USED + 8), 1);
}

static void ring_wraps(void **state)
{
	struct fx *f = *state;
	/* Three laps around an 8-entry ring. */
	for (unsigned i = 0; i < 3 * QSIZE; i++) {
		uint16_t head = (uint16_t)(i % QSIZE);
		put_desc(f, head, DATA + 64 * head, 64, VIRTQ_DESC_F_WRITE, 0);
		offer(f, head);
		assert_int_equal(pop(f), 0);
		assert_int_equal(f->c.head, head);
		virtq_push(&f->vq, head, 64);
		assert_int_equal(get16(f, USED + 2), i + 1);
		assert_int_equal(get32(f, USED + 4 + 8 * (i % QSIZE)), head);
	}
}

static void zero_length_skipped(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, 0 /* not RAM, but empty */, 0, VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, 2, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.n, 1);
	assert_int_equal(f->c.wr_bytes, 4);
}

static void loops_refused(void **state)
{
	struct fx *f = *state;
	/* self loop */
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	assert_int_equal(f->c.head, 0);
	/* 1 -> 2 -> 1 */
	put_desc(f, 1, DATA, 1, VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, 2, DATA, 1, VIRTQ_DESC_F_NEXT, 1);
	offer(f, 1);
	assert_int_equal(pop(f), -EINVAL);
	assert_int_equal(f->c.head, 1);
	assert_int_equal(f->c.n, 0);
	/* a chain through every descriptor is the longest allowed */
	for (unsigned i = 0; i < QSIZE; i++)
		put_desc(f, i, DATA + i, 1,
			 i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.n, QSIZE);
	/* the queue still works after refused chains */
	assert_int_equal(pop(f), -EAGAIN);
}

static void next_out_of_range(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 0xffff);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
}

static void buffers_outside_ram(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0, 0x1000, 16, 0, 0);                      /* below RAM */
	offer(f, 0);
	assert_int_equal(pop(f), -EFAULT);
	put_desc(f, 0, RAM + RAMSZ - 8, 16, 0, 0);            /* straddles end */
	offer(f, 0);
	assert_int_equal(pop(f), -EFAULT);
	put_desc(f, 0, UINT64_MAX - 4, 16, 0, 0);             /* wraps */
	offer(f, 0);
	assert_int_equal(pop(f), -EFAULT);
	put_desc(f, 0, RAM, 0xffffffff, 0, 0);                /* huge */
	offer(f, 0);
	assert_int_equal(pop(f), -EFAULT);
	put_desc(f, 0, RAM + RAMSZ - 16, 16, 0, 0);           /* last bytes: ok */
	offer(f, 0);
	assert_int_equal(pop(f), 0);
}

static void too_many_buffers(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < 4; i++)
		put_desc(f, i, DATA + 16 * i, 16,
			 i < 3 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, f->bufs, 3, &f->c), -E2BIG);
	assert_int_equal(f->c.head, 0);
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->vq, f->bufs, 4, &f->c), 0);
}

static void readable_after_writable(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA + 16, 16, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	/* the consumed bad chain is handed back; the next one works */
	virtq_push(&f->vq, f->c.head, 0);
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA + 16, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.n_read, 1);
}

static void indirect_chain(void **state)
{
	struct fx *f = *state;
	put_desc_at(f, ITABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc_at(f, ITABLE, 2, DATA + 16, 4096, VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(f, ITABLE, 1, DATA + 8192, 1, VIRTQ_DESC_F_WRITE, 0);
	put_desc(f, 4, ITABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 4);
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.head, 4);
	assert_int_equal(f->c.n, 3);
	assert_int_equal(f->c.rd_bytes, 16 + 4096);
	assert_int_equal(f->c.wr_bytes, 1);
	assert_ptr_equal(f->bufs[2].hva, gpa_ptr(&f->mem, DATA + 8192, 1));

	/* direct descriptors ahead of the indirect one are kept */
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 4);
	put_desc_at(f, ITABLE, 0, DATA + 16, 8, VIRTQ_DESC_F_WRITE, 0);
	put_desc(f, 4, ITABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.n, 2);
	assert_int_equal(f->c.n_read, 1);
}

static void indirect_misuse(void **state)
{
	struct fx *f = *state;
	put_desc_at(f, ITABLE, 0, DATA, 16, 0, 0);
	/* len not a multiple of 16, and len 0 */
	put_desc(f, 0, ITABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	put_desc(f, 0, ITABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	/* INDIRECT together with NEXT */
	put_desc(f, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA, 16, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	/* table outside RAM, or straddling its end */
	put_desc(f, 0, 0x1000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EFAULT);
	put_desc(f, 0, RAM + RAMSZ - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EFAULT);
	/* nested indirect */
	put_desc_at(f, ITABLE, 0, ITABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	put_desc_at(f, ITABLE + 0x100, 0, DATA, 16, 0, 0);
	put_desc(f, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	/* loop inside the table, and next past its end */
	put_desc_at(f, ITABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc_at(f, ITABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	put_desc(f, 0, ITABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	put_desc_at(f, ITABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	/* wrong direction inside the table */
	put_desc_at(f, ITABLE, 0, DATA, 16,
		    VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc_at(f, ITABLE, 1, DATA, 16, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	/* a table may be larger than the ring, but the chain in it may not
	 * be longer than the queue size (§2.7.5.3.1) */
	for (unsigned i = 0; i < 12; i++)
		put_desc_at(f, ITABLE, i, DATA + i, 1,
			    i < 11 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	put_desc(f, 0, ITABLE, 12 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
	put_desc_at(f, ITABLE, 4, DATA + 4, 1, VIRTQ_DESC_F_NEXT, 11);
	offer(f, 0);  /* 0..4, 11: six descriptors */
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.n, 6);
	put_desc_at(f, ITABLE, 4, DATA + 4, 1, VIRTQ_DESC_F_NEXT, 5);
	put_desc_at(f, ITABLE, 7, DATA + 7, 1, 0, 0);
	offer(f, 0);  /* exactly QSIZE */
	assert_int_equal(pop(f), 0);
	assert_int_equal(f->c.n, QSIZE);
}

static void chain_over_4g(void **state)
{
	struct fx *f = *state;
	const unsigned n = 4097;  /* 4097 x 1 MiB > 4 GiB */
	const uint64_t table = RAM + 0x20000;
	/* A ring big enough for such a chain: 8192 entries. */
	const uint64_t desc = RAM + 0x40000, avail = RAM + 0x60000,
		       used = RAM + 0x70000;
	virtq_init(&f->vq, &f->mem, 8192);
	assert_int_equal(virtq_enable(&f->vq, 8192, desc, avail, used, F_IND),
			 0);
	struct virtq_buf *bufs = calloc(n, sizeof(*bufs));
	for (unsigned i = 0; i < n; i++)
		put_desc_at(f, table, i, RAM, (uint32_t)RAMSZ,
			    i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	put_desc_at(f, desc, 0, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	put16(f, avail + 4, 0);
	put16(f, avail + 6, 0);
	put16(f, avail + 2, 1);
	assert_int_equal(virtq_pop(&f->vq, bufs, n, &f->c), -EINVAL);
	/* one byte less fits in 32 bits */
	put_desc_at(f, table, n - 2, RAM, (uint32_t)RAMSZ - 1, 0, 0);
	put16(f, avail + 2, 2);
	assert_int_equal(virtq_pop(&f->vq, bufs, n, &f->c), 0);
	assert_int_equal(f->c.rd_bytes, 4096 * RAMSZ - 1);
	free(bufs);
}

static void indirect_needs_feature(void **state)
{
	struct fx *f = *state;  /* set up without INDIRECT_DESC */
	put_desc_at(f, ITABLE, 0, DATA, 16, 0, 0);
	put_desc(f, 0, ITABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EINVAL);
}

static void broken_ring(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0, DATA, 16, 0, 0);
	/* head index out of range */
	put16(f, AVAIL + 4, QSIZE);
	put16(f, AVAIL + 2, 1);
	assert_int_equal(pop(f), -EPROTO);
	assert_int_equal(pop(f), -EPROTO);  /* sticky */
	assert_int_equal(virtq_pending(&f->vq), 0);
	/* a reset + enable recovers */
	virtq_reset(&f->vq);
	assert_int_equal(pop(f), -EAGAIN);
	assert_int_equal(virtq_enable(&f->vq, QSIZE, DESC, AVAIL, USED, 0), 0);
	put16(f, AVAIL + 2, 0);
	f->avail_idx = 0;
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	/* avail idx more than a ring ahead */
	put16(f, AVAIL + 2, (uint16_t)(f->avail_idx + QSIZE + 1));
	assert_int_equal(pop(f), -EPROTO);
}

static void avail_idx_exactly_full(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < QSIZE; i++) {
		put_desc(f, i, DATA, 1, 0, 0);
		offer(f, (uint16_t)i);
	}
	assert_int_equal(virtq_pending(&f->vq), QSIZE);
	for (unsigned i = 0; i < QSIZE; i++)
		assert_int_equal(pop(f), 0);
	assert_int_equal(pop(f), -EAGAIN);
}

static void bad_ring_addresses(void **state)
{
	struct fx *f = *state;
	struct virtqueue *vq = &f->vq;
	virtq_reset(vq);
	assert_int_equal(virtq_enable(vq, 0, DESC, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 6, DESC, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 512, DESC, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, DESC + 8, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, DESC, AVAIL + 1, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, DESC, AVAIL, USED + 2, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, 0x1000, AVAIL, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, DESC, 0, USED, 0), -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, DESC, AVAIL, UINT64_MAX - 3, 0),
			 -EINVAL);
	/* straddling the end of RAM: 16 * 256 bytes from 1 KiB before it */
	assert_int_equal(virtq_enable(vq, 256, RAM + RAMSZ - 1024, AVAIL, USED,
				      0), -EINVAL);
	/* used ring of 8 entries needs 6 + 64 bytes */
	assert_int_equal(virtq_enable(vq, 8, DESC, AVAIL, RAM + RAMSZ - 68, 0),
			 -EINVAL);
	assert_int_equal(virtq_enable(vq, 8, DESC, AVAIL, RAM + RAMSZ - 72, 0),
			 0);
	assert_true(vq->ready);
	assert_int_equal(virtq_enable(vq, 8, DESC, AVAIL, USED + 2, 0), -EINVAL);
	assert_false(vq->ready);
	/* a queue that is not ready pops nothing and ignores pushes */
	put_desc(f, 0, DATA, 16, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), -EAGAIN);
	virtq_push(vq, 0, 0);
	assert_false(virtq_should_notify(vq));
}

static void notify_without_event_idx(void **state)
{
	struct fx *f = *state;
	assert_false(virtq_should_notify(&f->vq));  /* nothing pushed */
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	virtq_push(&f->vq, 0, 16);
	assert_true(virtq_should_notify(&f->vq));
	assert_false(virtq_should_notify(&f->vq));  /* already told */
	put16(f, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	virtq_push(&f->vq, 0, 16);
	assert_false(virtq_should_notify(&f->vq));
	put16(f, AVAIL, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	virtq_push(&f->vq, 0, 16);
	assert_true(virtq_should_notify(&f->vq));
}

static void push_n(struct fx *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		offer(f, 0);
		assert_int_equal(pop(f), 0);
		virtq_push(&f->vq, 0, 0);
	}
}

static void notify_with_event_idx(void **state)
{
	struct fx *f = *state;
	const uint64_t used_event = AVAIL + 4 + 2 * QSIZE;
	const uint64_t avail_event = USED + 4 + 8 * QSIZE;
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE, 0);

	/* NO_INTERRUPT is ignored with EVENT_IDX */
	put16(f, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_n(f, 1);
	assert_int_equal(get16(f, avail_event), 1);  /* published by pop */
	assert_true(virtq_should_notify(&f->vq));    /* used_event 0 */
	put16(f, used_event, 1);                      /* wake me at idx 2 */
	push_n(f, 1);
	assert_true(virtq_should_notify(&f->vq));
	push_n(f, 1);
	assert_false(virtq_should_notify(&f->vq));   /* 1 already passed */
	put16(f, used_event, 5);                      /* wake me at idx 6 */
	push_n(f, 1);                                 /* 4 */
	assert_false(virtq_should_notify(&f->vq));
	push_n(f, 1);                                 /* 5 */
	assert_false(virtq_should_notify(&f->vq));
	push_n(f, 1);                                 /* 6 */
	assert_true(virtq_should_notify(&f->vq));
	/* a batch that passes the event in the middle */
	put16(f, used_event, 7);
	push_n(f, 3);                                 /* 9 */
	assert_true(virtq_should_notify(&f->vq));
	assert_int_equal(get16(f, avail_event), 9);

	/* 16-bit wraparound of the used index */
	f->vq.used_idx = 65534;
	f->vq.signalled = 65534;
	put16(f, used_event, 65535);
	push_n(f, 2);                                 /* used idx 0 */
	assert_int_equal(f->vq.used_idx, 0);
	assert_true(virtq_should_notify(&f->vq));
}

static void enable_notify_rechecks(void **state)
{
	struct fx *f = *state;
	const uint64_t avail_event = USED + 4 + 8 * QSIZE;
	put_desc(f, 0, DATA, 16, 0, 0);
	assert_false(virtq_enable_notify(&f->vq));
	offer(f, 0);
	offer(f, 0);
	assert_true(virtq_enable_notify(&f->vq));
	assert_int_equal(virtq_pending(&f->vq), 2);
	assert_int_equal(pop(f), 0);
	assert_int_equal(pop(f), 0);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(get16(f, avail_event), 2);
}

/* The dirty-page log: returning a chain marks its device-writable
 * buffers (which the device has filled) and the used ring; readable
 * buffers and pages the device never wrote stay clean. */
static void push_marks_written_pages(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);              /* page 16 */
	put_desc(f, 1, DATA + 0x2ff0, 0x20,                          /* 18, 19 */
		 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, 2, DATA + 0x5000, 8, VIRTQ_DESC_F_WRITE, 0);     /* 21 */
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	assert_int_equal(guest_mem_dirty_log_start(&f->mem, NULL), 0);
	uint64_t bm[(RAMSZ >> 12) / 64];
	assert_int_equal(guest_mem_dirty_fetch(&f->mem, 0, bm), 0);
	virtq_push(&f->vq, 0, 24);
	assert_int_equal(guest_mem_dirty_fetch(&f->mem, 0, bm), 4);
	/* used ring page 3; data pages 0x10 + 2, 3, 5 */
	assert_int_equal(bm[0], 1ULL << 3 | 1ULL << 18 | 1ULL << 19 |
			 1ULL << 21);
	assert_int_equal(guest_mem_dirty_fetch(&f->mem, 0, bm), 0);
	guest_mem_dirty_log_stop(&f->mem);
	/* Not logging: nothing recorded, no bitmap left. */
	offer(f, 0);
	assert_int_equal(pop(f), 0);
	virtq_push(&f->vq, 0, 24);
	assert_int_equal(guest_mem_dirty_fetch(&f->mem, 0, bm), 0);
}

int main(void)
{
#define T(fn, s) cmocka_unit_test_setup_teardown(fn, s, teardown)
	const struct CMUnitTest tests[] = {
		T(normal_chain, setup),
		T(push_marks_written_pages, setup),
		T(ring_wraps, setup),
		T(zero_length_skipped, setup),
		T(loops_refused, setup),
		T(next_out_of_range, setup),
		T(buffers_outside_ram, setup),
		T(too_many_buffers, setup),
		T(readable_after_writable, setup),
		T(indirect_chain, setup_ind),
		T(indirect_misuse, setup_ind),
		T(chain_over_4g, setup_ind),
		T(indirect_needs_feature, setup),
		T(broken_ring, setup),
		T(avail_idx_exactly_full, setup),
		T(bad_ring_addresses, setup),
		T(notify_without_event_idx, setup),
		T(notify_with_event_idx, setup_evt),
		T(enable_notify_rechecks, setup_evt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
