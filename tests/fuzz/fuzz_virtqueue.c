/* libFuzzer target: the split virtqueue (src/hw/virtqueue.c) against a
 * hostile driver.  The input is a program: ops that write descriptors
 * (indirect ones, loops, huge lengths, addresses outside RAM), publish
 * heads, play with the avail idx and flags, and ops that make the device
 * side pop, push, unpop, and ask about notifications, in any order.
 *
 * Invariants checked: a popped chain is within RAM, readable before
 * writable, with sums that match; errors consume exactly one chain and
 * only when one was available; each push moves the used idx by one; the
 * queue code writes nothing in guest RAM but the used ring. */
#include <errno.h>

#include "vdrv.h"

#define MAXBUFS 512
#define MAXOPS 256

static struct fz_ram ram;

static bool in_ram(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	return (b >= ram.r0 && len <= FZ_RAM0_SIZE &&
		b <= ram.r0 + FZ_RAM0_SIZE - len) ||
	       (b >= ram.r1 && len <= FZ_RAM1_SIZE &&
		b <= ram.r1 + FZ_RAM1_SIZE - len);
}

static uint16_t ram16(uint64_t gpa)
{
	uint16_t v = 0;
	gpa_read(&ram.mem, gpa, &v, 2);
	return v;
}

/* Only the used ring may change. */
static void check_only_used(const struct fz_q *q, bool ready)
{
	if (!memcmp(ram.snap0, ram.r0, FZ_RAM0_SIZE) &&
	    !memcmp(ram.snap1, ram.r1, FZ_RAM1_SIZE))
		return;
	memset(ram.ok0, 0, FZ_RAM0_SIZE);
	memset(ram.ok1, 0, FZ_RAM1_SIZE);
	if (ready)
		fz_allow(&ram, q->used, 6 + 8ULL * q->size);
	for (uint64_t i = 0; i < FZ_RAM0_SIZE; i++)
		FZ_CHECK(ram.r0[i] == ram.snap0[i] || ram.ok0[i]);
	for (uint64_t i = 0; i < FZ_RAM1_SIZE; i++)
		FZ_CHECK(ram.r1[i] == ram.snap1[i] || ram.ok1[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtqueue vq;
	static struct virtq_buf bufs[MAXBUFS];
	static uint16_t out[4 * MAXBUFS];    /* popped, not pushed */
	struct fz f = { data, size };
	unsigned nout = 0, unpoppable = 0;
	struct fz_q q;

	fz_ram_init(&ram);
	fz_ram_clear(&ram);
	virtq_init(&vq, &ram.mem, (uint16_t)(1u << (fz_u8(&f) % 9)));
	fz_q_layout(&q, 0, 0);

	for (unsigned op = 0; op < MAXOPS && f.n; op++) {
		uint8_t o = fz_u8(&f);
		/* The RAM comparison costs more than the op: on request. */
		bool chk = o & 0x80;
		switch (o % 13) {
		case 0: {   /* enable (driver: QueueReady) */
			uint8_t k = fz_u8(&f);
			uint16_t qs = k & 0x80 ? fz_u16(&f)
					       : (uint16_t)(1u << (k % 9));
			fz_q_layout(&q, 0, qs);
			if (k & 0x40) {    /* hostile ring addresses */
				q.desc = fz_addr(&f);
				q.avail = fz_addr(&f);
				q.used = fz_addr(&f);
			}
			uint64_t feat = 0;
			if (k & 0x20)
				feat |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
			if (k & 0x10)
				feat |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
			if (virtq_enable(&vq, qs, q.desc, q.avail, q.used,
					 feat) == 0) {
				FZ_CHECK(vq.ready && vq.size == qs);
				FZ_CHECK(ram16(q.used + 2) == 0);
				/* The driver starts at 0 too. */
				fz_w16(&ram, q.avail + 2, 0);
				q.avail_idx = 0;
			} else {
				FZ_CHECK(!vq.ready);
			}
			nout = unpoppable = 0;
			break;
		}
		case 1:
			fz_q_desc(&ram, &q, &f);
			break;
		case 2: {   /* a well-formed chain of 1..4 buffers */
			uint64_t b[4];
			uint32_t l[4];
			bool w[4];
			unsigned n = 1 + fz_u8(&f) % 4, wm = fz_u8(&f);
			bool seen = false;
			for (unsigned k = 0; k < n; k++) {
				b[k] = FZ_BUFS + 0x100 * (fz_u8(&f) % 64);
				l[k] = 1 + fz_u8(&f);
				seen |= wm >> k & 1;
				w[k] = seen;
			}
			fz_q_chain(&ram, &q, fz_u8(&f), n, b, l, w);
			break;
		}
		case 3:   /* any head, published */
			fz_q_publish(&ram, &q, fz_u8(&f) & 0x80 ? fz_u16(&f)
								: fz_u8(&f));
			break;
		case 4:   /* avail idx games */
			q.avail_idx = (uint16_t)(q.avail_idx +
						 (int8_t)fz_u8(&f));
			fz_w16(&ram, q.avail + 2, q.avail_idx);
			break;
		case 5:
			fz_fill(&ram, &f);
			break;
		case 6: {   /* a descriptor anywhere: indirect tables */
			uint64_t at = fz_addr(&f);
			uint64_t addr = fz_addr(&f);
			uint32_t len = fz_len(&f);
			uint16_t flags = fz_u8(&f) & 7, next = fz_u8(&f) % 40;
			fz_put_desc(&ram, at, addr, len, flags, next);
			break;
		}
		case 7: {   /* pop */
			struct virtq_chain c;
			unsigned maxb = 1 + fz_u16(&f) % MAXBUFS;
			uint16_t before = vq.last_avail;
			uint16_t avail = q.size ? ram16(q.avail + 2) : 0;
			bool ready = vq.ready, broken = vq.broken;
			if (chk)
				fz_snapshot(&ram);
			int rc = virtq_pop(&vq, bufs, maxb, &c);
			if (chk)
				check_only_used(&q, ready);
			if (rc == -EAGAIN || rc == -EPROTO) {
				FZ_CHECK(vq.last_avail == before);
				FZ_CHECK(rc == -EPROTO || !ready ||
					 avail == before);
				break;
			}
			FZ_CHECK(ready && !broken);
			uint16_t pend = (uint16_t)(avail - before);
			FZ_CHECK(pend >= 1 && pend <= vq.size);
			FZ_CHECK(vq.last_avail == (uint16_t)(before + 1));
			FZ_CHECK(c.head < vq.size);
			if (nout < sizeof(out) / sizeof(out[0]))
				out[nout++] = c.head;
			if (rc) {
				FZ_CHECK(rc == -EINVAL || rc == -EFAULT ||
					 rc == -E2BIG);
				FZ_CHECK(c.n == 0 && c.rd_bytes == 0 &&
					 c.wr_bytes == 0);
				unpoppable = 0;
				break;
			}
			unpoppable++;
			FZ_CHECK(c.n <= maxb && c.n_read <= c.n);
			uint64_t rd = 0, wr = 0;
			for (unsigned k = 0; k < c.n; k++) {
				FZ_CHECK(bufs[k].len > 0);
				FZ_CHECK(in_ram(bufs[k].hva, bufs[k].len));
				FZ_CHECK(bufs[k].writable == (k >= c.n_read));
				if (bufs[k].writable)
					wr += bufs[k].len;
				else
					rd += bufs[k].len;
			}
			FZ_CHECK(rd == c.rd_bytes && wr == c.wr_bytes);
			/* The buffers are the device's: touch them all. */
			for (unsigned k = 0; k < c.n; k++)
				if (bufs[k].writable)
					memset(bufs[k].hva, 0xa5, bufs[k].len);
			break;
		}
		case 8: {   /* push an outstanding chain */
			if (!nout)
				break;
			unsigned k = fz_u8(&f) % nout;
			uint16_t head = out[k];
			out[k] = out[--nout];
			uint16_t u = vq.used_idx;
			bool ready = vq.ready;
			if (chk)
				fz_snapshot(&ram);
			virtq_push(&vq, head, fz_len(&f));
			if (chk)
				check_only_used(&q, ready);
			if (ready) {
				FZ_CHECK(vq.used_idx == (uint16_t)(u + 1));
				FZ_CHECK(ram16(q.used + 2) == vq.used_idx);
			}
			unpoppable = 0;
			break;
		}
		case 9: {   /* give back the last successful pops */
			if (!unpoppable)
				break;
			unsigned n = 1 + fz_u8(&f) % unpoppable;
			uint16_t before = vq.last_avail;
			virtq_unpop(&vq, (uint16_t)n);
			if (vq.ready && !vq.broken)
				FZ_CHECK(vq.last_avail ==
					 (uint16_t)(before - n));
			nout -= n <= nout ? n : nout;
			unpoppable -= n;
			break;
		}
		case 10: {
			bool ready = vq.ready;
			if (chk)
				fz_snapshot(&ram);
			switch (fz_u8(&f) % 4) {
			case 0: virtq_want_more(&vq); break;
			case 1: virtq_enable_notify(&vq); break;
			case 2: virtq_should_notify(&vq); break;
			default:
				FZ_CHECK(virtq_pending(&vq) <= vq.size);
			}
			if (chk)
				check_only_used(&q, ready);
			break;
		}
		case 11:   /* avail flags, used_event */
			if (q.size) {
				fz_w16(&ram, q.avail, fz_u16(&f));
				fz_w16(&ram, q.avail + 4 + 2ULL * q.size,
				       fz_u16(&f));
			}
			break;
		case 12:
			virtq_reset(&vq);
			FZ_CHECK(!vq.ready);
			nout = unpoppable = 0;
			break;
		}
	}
	return 0;
}
