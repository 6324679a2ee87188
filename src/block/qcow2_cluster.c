/* qcow2 cluster mapping: the L2 cache, guest reads and writes, copy on
 * write, zero clusters and discard.  Spec: "Cluster mapping",
 * "Compressed Clusters Descriptor". */
#include "qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <zlib.h>

uint64_t q_entry_clusters(struct qcow2 *q, uint64_t e, uint64_t *off)
{
	if (e & OFLAG_COMPRESSED) {
		uint64_t host = e & ((UINT64_C(1) << q->csize_shift) - 1);
		uint64_t nsect = (e >> q->csize_shift) & q->csize_mask;
		uint64_t start = host & ~UINT64_C(511);
		uint64_t end = start + (nsect + 1) * 512;
		*off = start & ~(uint64_t)(q->cluster_size - 1);
		return ((end - 1) >> q->cluster_bits) -
		       (start >> q->cluster_bits) + 1;
	}
	*off = e & OFFSET_MASK;
	return *off ? 1 : 0;
}

/* Entries [i, i + n) of table s to the file.  The cached table may hold
 * deferred entries in the blocks written (O_DIRECT widens the write), and
 * their refcounts may be deferred too: those go first, so the file never
 * maps a cluster its refcounts call free. */
static int l2_write(struct qcow2 *q, struct l2_slot *s, uint32_t i,
		    uint32_t n)
{
	int rc = q_rc_sync(q);
	return rc ? rc : q_write_meta(q, s->tab, s->off, (size_t)i * 8,
				      (size_t)n * 8);
}

/* The deferred entries of s to the file. */
static int l2_write_back(struct qcow2 *q, struct l2_slot *s)
{
	if (!s->dhi)
		return 0;
	int rc = l2_write(q, s, s->dlo, s->dhi - s->dlo);
	if (!rc)
		s->dlo = s->dhi = 0;
	return rc;
}

/* Entries [i, i + n) of s changed in the cache only. */
static void l2_defer(struct l2_slot *s, uint32_t i, uint32_t n)
{
	if (!s->dhi || i < s->dlo)
		s->dlo = i;
	if (i + n > s->dhi)
		s->dhi = i + n;
}

int q_l2_flush(struct qcow2 *q)
{
	int first = 0;
	for (uint32_t i = 0; i < q->nl2; i++) {
		int rc = l2_write_back(q, &q->l2c[i]);
		if (rc && !first)
			first = rc;
	}
	return first;
}

int q_l2_drop_cache(struct qcow2 *q)
{
	int rc = q_l2_flush(q);
	for (uint32_t i = 0; i < q->nl2; i++) {
		q->l2c[i].l1_idx = -1;
		q->l2c[i].dlo = q->l2c[i].dhi = 0;
	}
	return rc;
}

static int l2_slot_buf(struct qcow2 *q, uint32_t l1_idx, struct l2_slot **out)
{
	struct l2_slot *s = &q->l2c[l1_idx % q->nl2];
	int rc = l2_write_back(q, s);  /* the table it held leaves */
	if (rc)
		return rc;
	if (!s->tab) {
		s->tab = q_cluster_buf(q);
		if (!s->tab)
			return -ENOMEM;
	}
	s->l1_idx = -1;
	*out = s;
	return 0;
}

static bool bad_meta_off(const struct qcow2 *q, uint64_t off)
{
	return off & (q->cluster_size - 1) || off > q->file_size ||
	       q->file_size - off < q->cluster_size;
}

int q_l2_load(struct qcow2 *q, uint32_t l1_idx, struct l2_slot **out)
{
	*out = NULL;
	if (l1_idx >= q->l1_size)
		return 0;
	uint64_t off = q->l1[l1_idx] & OFFSET_MASK;
	if (!off)
		return 0;
	struct l2_slot *s = &q->l2c[l1_idx % q->nl2];
	if (s->l1_idx == (int64_t)l1_idx && s->off == off) {
		*out = s;
		return 0;
	}
	if (bad_meta_off(q, off) || q_overlaps_meta(q, off, q->cluster_size) ||
	    q_is_rb(q, off >> q->cluster_bits))
		return -EIO;
	int rc = l2_slot_buf(q, l1_idx, &s);
	if (rc)
		return rc;
	rc = q_pread_full(q, s->tab, q->cluster_size, off);
	if (rc)
		return rc;
	s->l1_idx = l1_idx;
	s->off = off;
	*out = s;
	return 0;
}

/* The L2 table for l1_idx, allocated or copied so that this image alone
 * owns it.  The new table is on disk before the L1 entry points at it. */
int q_l2_writable(struct qcow2 *q, uint32_t l1_idx, struct l2_slot **out)
{
	uint64_t e = q->l1[l1_idx];
	struct l2_slot *s;
	int rc;
	if ((e & OFLAG_COPIED) && (e & OFFSET_MASK))
		return q_l2_load(q, l1_idx, out);
	uint64_t old = e & OFFSET_MASK;
	if (old) {
		rc = q_l2_load(q, l1_idx, &s);
	} else {
		rc = l2_slot_buf(q, l1_idx, &s);
		if (!rc)
			memset(s->tab, 0, q->cluster_size);
	}
	if (rc)
		return rc;
	s->l1_idx = -1;  /* until the L1 entry is updated */
	uint64_t nw;
	rc = q_alloc(q, 1, &nw);
	if (rc)
		return rc;
	rc = q_rc_sync(q);  /* the copy may hold deferred entries */
	if (!rc)
		rc = q_pwrite_full(q, s->tab, q->cluster_size, nw);
	if (!rc) {
		q->l1[l1_idx] = nw | OFLAG_COPIED;
		rc = q_write_l1_entry(q, l1_idx);
		if (rc)
			q->l1[l1_idx] = e;
	}
	if (rc) {
		/* A full disk must not leak the table with each failed
		 * guest write. */
		(void)q_rc_update(q, nw, 1, -1);
		return rc;
	}
	s->l1_idx = l1_idx;
	s->off = nw;
	s->dlo = s->dhi = 0;  /* all of it is in the new table */
	if (old)
		rc = q_rc_update(q, old, 1, -1);
	*out = s;
	return rc;
}

static int read_backing(struct qcow2 *q, void *buf, size_t len,
			uint64_t voff)
{
	struct block_dev *b = q->bd.backing;
	size_t n = 0;
	if (b && voff < b->size)
		n = b->size - voff < len ? b->size - voff : len;
	if (n) {
		int rc = block_pread(b, buf, n, voff);
		if (rc)
			return rc;
	}
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

/* The cluster of compressed entry e, inflated into q->zout. */
static int zout_load(struct qcow2 *q, uint64_t e)
{
	if (q->zout_entry != e) {
		uint64_t host = e & ((UINT64_C(1) << q->csize_shift) - 1);
		uint64_t nsect = (e >> q->csize_shift) & q->csize_mask;
		uint64_t csize = nsect * 512 + (512 - (host & 511));
		if (csize > 2 * (uint64_t)q->cluster_size)
			csize = 2 * (uint64_t)q->cluster_size;
		if (host >= q->file_size)
			return -EIO;
		if (csize > q->file_size - host)
			csize = q->file_size - host;
		int rc = q_pread_full(q, q->zin, csize, host);
		if (rc)
			return rc;
		z_stream z;
		memset(&z, 0, sizeof(z));
		if (inflateInit2(&z, -12) != Z_OK)
			return -ENOMEM;
		z.next_in = q->zin;
		z.avail_in = (uInt)csize;
		z.next_out = q->zout;
		z.avail_out = q->cluster_size;
		int zr = inflate(&z, Z_FINISH);
		inflateEnd(&z);
		/* Complete output counts even if trailing input remains. */
		if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR && zr != Z_OK) ||
		    z.avail_out)
			return -EIO;
		q->zout_entry = e;
	}
	return 0;
}

static int read_compressed(struct qcow2 *q, uint64_t e, uint32_t in_off,
			   size_t len, void *buf)
{
	int rc = zout_load(q, e);
	if (!rc)
		memcpy(buf, q->zout + in_off, len);
	return rc;
}

/* len bytes at in_off of virtual cluster vc whose L2 entry is e. */
static int read_part(struct qcow2 *q, uint64_t vc, uint64_t e,
		     uint32_t in_off, size_t len, void *buf)
{
	switch (classify(q, e)) {
	case E_NORMAL:
		if (e & (q->cluster_size - 1) & OFFSET_MASK)
			return -EIO;
		return q_pread_full(q, buf, len,
				    (e & OFFSET_MASK) + in_off);
	case E_ZERO:
		memset(buf, 0, len);
		return 0;
	case E_COMPRESSED:
		return read_compressed(q, e, in_off, len, buf);
	default:
		return read_backing(q, buf, len,
				    (vc << q->cluster_bits) + in_off);
	}
}

/* A position in a caller's vector (block.h: iovcnt <= IOV_MAX). */
enum { QIOV_MAX = 1024 };
struct qiov {
	const struct iovec *v;
	size_t skip;  /* bytes of v[0] already consumed */
};

/* The next n bytes of c (which has them) as a vector in out[QIOV_MAX];
 * returns its length. */
static int qiov_take(struct qiov *c, size_t n, struct iovec *out)
{
	int k = 0;
	while (n) {
		size_t t = c->v->iov_len - c->skip;
		if (t > n)
			t = n;
		out[k++] = (struct iovec){
			(uint8_t *)c->v->iov_base + c->skip, t };
		n -= t;
		c->skip += t;
		if (c->skip == c->v->iov_len) {
			c->v++;
			c->skip = 0;
		}
	}
	return k;
}

/* Fill a vector from src, or with zeros when src is NULL. */
static void qiov_fill(const struct iovec *v, int k, const uint8_t *src)
{
	for (int i = 0; i < k; i++) {
		if (src) {
			memcpy(v[i].iov_base, src, v[i].iov_len);
			src += v[i].iov_len;
		} else {
			memset(v[i].iov_base, 0, v[i].iov_len);
		}
	}
}

/* q->meta held; dropped and retaken around each read of normal clusters
 * (see "Threads" in qcow2_int.h), which goes straight into the caller's
 * vector. */
static int read_locked(struct qcow2 *q, struct qiov *c, size_t len,
		       uint64_t off)
{
	struct iovec v[QIOV_MAX];
	uint32_t l2n = 1u << q->l2_bits, cs = q->cluster_size;
	while (len) {
		uint64_t vc = off >> q->cluster_bits;
		uint32_t in_off = off & (cs - 1);
		uint32_t l1i = vc >> q->l2_bits, l2i = vc & (l2n - 1);
		struct l2_slot *s;
		int rc = q_l2_load(q, l1i, &s);
		if (rc)
			return rc;
		uint64_t e = tab_get(s, l2i);
		int t = classify(q, e);
		size_t n = cs - in_off < len ? cs - in_off : len;
		if (t == E_COMPRESSED) {
			rc = zout_load(q, e);
			if (!rc)
				qiov_fill(v, qiov_take(c, n, v),
					  q->zout + in_off);
		} else {
			/* Extend over following clusters of the same kind
			 * (contiguous on the host for data). */
			uint64_t host = e & OFFSET_MASK;
			if (t == E_NORMAL && (host & (cs - 1)))
				return -EIO;
			for (uint32_t i = l2i + 1; n < len && i < l2n; i++) {
				uint64_t e2 = tab_get(s, i);
				if (classify(q, e2) != t)
					break;
				if (t == E_NORMAL &&
				    (e2 & OFFSET_MASK) !=
				    host + (uint64_t)(i - l2i) * cs)
					break;
				n += cs < len - n ? cs : len - n;
			}
			if (t == E_NORMAL) {
				int k = qiov_take(c, n, v);
				q_unlock(q);
				rc = block_fd_xferv(q->fd, q->align, v, k,
						    host + in_off, false);
				q_lock(q);
			} else if (t == E_ZERO) {
				qiov_fill(v, qiov_take(c, n, v), NULL);
			} else {
				/* The backing file, zeros past its end. */
				struct block_dev *b = q->bd.backing;
				size_t nb = 0;
				if (b && off < b->size)
					nb = b->size - off < n ? b->size - off
							       : n;
				if (nb)
					rc = block_preadv(b, v,
							  qiov_take(c, nb, v),
							  off);
				qiov_fill(v, qiov_take(c, n - nb, v), NULL);
			}
		}
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int q_pread(struct block_dev *bd, void *buf, size_t len, uint64_t off)
{
	struct qcow2 *q = to_q(bd);
	struct iovec one = { buf, len };
	struct qiov c = { &one, 0 };
	q_lock(q);
	int rc = read_locked(q, &c, len, off);
	q_unlock(q);
	return rc;
}

int q_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
	     uint64_t off)
{
	if (iovcnt > QIOV_MAX)
		return -EINVAL;
	struct qcow2 *q = to_q(bd);
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	struct qiov c = { iov, 0 };
	q_lock(q);
	int rc = read_locked(q, &c, len, off);
	q_unlock(q);
	return rc;
}

static bool in_place(const struct qcow2 *q, uint64_t e)
{
	return classify(q, e) == E_NORMAL && (e & OFLAG_COPIED);
}

static bool alloc_busy(const struct qcow2 *q, uint64_t vc, uint64_t cnt)
{
	for (const struct q_alloc_req *r = q->allocs; r; r = r->next)
		if (q_overlap(vc, cnt, r->vc, r->cnt))
			return true;
	return false;
}

/* q->meta held: sleep until an allocating write in flight ends.  A
 * request that quiesced gives inflight back first: its refcount drops are
 * done and every later lookup sees them, and the allocator it waits for
 * may need inflight exclusive to finish. */
static void alloc_wait(struct qcow2 *q)
{
	if (q->quiesced) {
		q->quiesced = false;
		pthread_rwlock_unlock(&q->inflight);
	}
	q->locked = false;
	pthread_cond_wait(&q->alloc_cv, &q->meta);
	q->locked = true;
}

/* Whether the part of a cluster outside a write reads as zeros from the
 * entry it has now (no data, no backing file to show through). */
static bool cow_zero(const struct qcow2 *q, uint64_t e)
{
	int t = classify(q, e);
	return t == E_ZERO || (t == E_UNALLOC && !q->bd.backing);
}

/* Whether n big-endian L2 entries reference no host cluster. */
static bool maps_nothing(struct qcow2 *q, const uint64_t *tab, uint32_t n)
{
	for (uint32_t j = 0; j < n; j++) {
		uint64_t o;
		if (q_entry_clusters(q, be64toh(tab[j]), &o))
			return false;
	}
	return true;
}

/* Write into clusters [vc, vc + cnt) of one L2 table that need new host
 * clusters: one run is allocated, the guest bytes plus the old contents
 * around them (head/tail of partial clusters) go out in one pwritev, then
 * the L2 entries, then the old clusters are released.  Parts around the
 * guest bytes that read as zeros are not written when the run is new
 * space at the end of the file (as QEMU, whose check accepts a last
 * cluster that ends past the end of the file).  With may_unlock
 * the pwritev runs without q->meta (see "Threads"). */
static int write_alloc(struct qcow2 *q, uint64_t vc, uint32_t cnt,
		       uint32_t in_off, struct qiov *c, size_t wlen,
		       bool may_unlock)
{
	uint32_t cs = q->cluster_size, l2i = vc & ((1u << q->l2_bits) - 1);
	uint32_t l1i = (uint32_t)(vc >> q->l2_bits);
	struct l2_slot *s;
	int rc = q_l2_writable(q, l1i, &s);
	if (rc)
		return rc;
	uint64_t first = be64toh(s->tab[l2i]);
	uint64_t last = be64toh(s->tab[l2i + cnt - 1]);
	uint64_t endpos = in_off + wlen - (uint64_t)(cnt - 1) * cs;
	uint32_t tail = endpos < cs ? (uint32_t)(cs - endpos) : 0;
	/* Entries that map nothing yet: their successors, and the run's
	 * refcounts, may wait (see "Deferred L2 entries"); not under
	 * writethrough, where a completed write is on the disk, mapping
	 * included. */
	bool defer = q->bd.cache != BLOCK_CACHE_WRITETHROUGH &&
		     maps_nothing(q, s->tab + l2i, cnt);
	uint64_t host;
	q->rc_defer = defer;
	rc = q_place(q, s, vc, cnt, &host);
	q->rc_defer = false;
	if (rc)
		return rc;
	bool fresh = host >= q->file_size;
	bool head_w = in_off && !(fresh && cow_zero(q, first));
	bool tail_w = tail && !(fresh && cow_zero(q, last));
	/* Unlocked, the O_DIRECT bounce of a cluster smaller than a block
	 * would read-modify-write a neighbour's bytes. */
	bool unlock = may_unlock && !q->quiesced && !q->rc_batch &&
		      q->align <= cs;
	uint8_t *hbuf = q->cow_head, *tbuf = q->cow_tail, *own = NULL;
	if (unlock && (head_w || tail_w)) {
		own = malloc(2 * (size_t)cs);
		if (!own) {
			rc = -ENOMEM;
			goto give_back;
		}
		hbuf = own;
		tbuf = own + cs;
	}
	/* Head, the guest's pieces (fewer than QIOV_MAX - 1: q_pwritev),
	 * tail. */
	struct iovec iov[QIOV_MAX];
	int niov = 0;
	uint64_t wpos = host + in_off;
	if (head_w) {
		rc = read_part(q, vc, first, 0, in_off, hbuf);
		if (rc)
			goto give_back;
		iov[niov++] = (struct iovec){ hbuf, in_off };
		wpos = host;
	}
	niov += qiov_take(c, wlen, iov + niov);
	if (tail_w) {
		rc = read_part(q, vc + cnt - 1, last, (uint32_t)endpos, tail,
			       tbuf);
		if (rc)
			goto give_back;
		iov[niov++] = (struct iovec){ tbuf, tail };
	}
	/* A head or tail left unwritten reads as zeros: a hole, or past the
	 * end of the file (reads there are zero-filled, and the file never
	 * shrinks while open).  q->file_size covers the run from now on, so
	 * later allocations see it as taken space. */
	uint64_t run_end = host + (uint64_t)cnt * cs;
	if (run_end > q->file_size)
		q->file_size = run_end;
	struct q_alloc_req req = { vc, cnt, host >> q->cluster_bits,
				   q->allocs };
	if (unlock) {
		q->allocs = &req;
		q_unlock(q);
	}
	rc = block_fd_xferv(q->fd, q->align, iov, niov, wpos, true);
	if (unlock) {
		q_lock(q);
		struct q_alloc_req **pp = &q->allocs;
		while (*pp != &req)
			pp = &(*pp)->next;
		*pp = req.next;
		pthread_cond_broadcast(&q->alloc_cv);
		/* The slot may have been reused meanwhile. */
		if (!rc)
			rc = q_l2_writable(q, l1i, &s);
	}
	if (rc)
		goto give_back;
	/* The old entries are needed after the table changes: keep them in
	 * the COW head buffer (ours again: q->meta is held). */
	uint64_t *olde = (uint64_t *)q->cow_head;
	memcpy(olde, s->tab + l2i, (size_t)cnt * 8);
	/* The entries cannot have changed while unlocked (callers wait for
	 * q->allocs), but deferring one that frees a cluster would free it
	 * before the file stops naming it. */
	defer = defer && maps_nothing(q, olde, cnt);
	for (uint32_t j = 0; j < cnt; j++)
		s->tab[l2i + j] = htobe64((host + (uint64_t)j * cs) |
					  OFLAG_COPIED);
	if (defer) {
		l2_defer(s, l2i, cnt);
		free(own);
		return 0;
	}
	rc = l2_write(q, s, l2i, cnt);
	if (rc) {
		/* The cached table must keep saying what the disk says. */
		memcpy(s->tab + l2i, olde, (size_t)cnt * 8);
		goto give_back;
	}
	free(own);
	for (uint32_t j = 0; j < cnt; j++) {
		uint64_t e = be64toh(olde[j]);
		if (e & OFLAG_COMPRESSED)
			q->zout_entry = 0;
		rc = q_free_entry(q, e);
		if (rc)
			return rc;
	}
	return 0;

give_back:
	/* ENOSPC/EFBIG: give the run back, or every failed guest write on
	 * a full disk leaks it. */
	(void)q_rc_update(q, host, cnt, -1);
	free(own);
	return rc;
}

/* The pwrite of n guest bytes into host clusters that were COPIED at
 * lookup, outside q->meta when may_unlock: inflight held shared keeps the
 * clusters from being freed meanwhile.  Runs reaching past the file's end
 * (hostile or odd images) stay under the lock: q_pwrite_full tracks the
 * file size. */
static int write_in_place(struct qcow2 *q, struct qiov *c, size_t n,
			  uint64_t host, bool may_unlock)
{
	struct iovec v[QIOV_MAX];
	int k = qiov_take(c, n, v);
	/* quiesced: this call holds inflight exclusive already (it freed
	 * clusters earlier in the request), so it writes under the lock. */
	if (!may_unlock || q->quiesced || host + n > q->file_size)
		return q_pwritev_full(q, v, k, host);
	pthread_rwlock_rdlock(&q->inflight);
	q_unlock(q);
	int rc = block_fd_xferv(q->fd, q->align, v, k, host, true);
	pthread_rwlock_unlock(&q->inflight);
	q_lock(q);
	return rc;
}

/* q->meta held.  may_unlock: the caller allows q->meta to be dropped
 * around in-place data writes (not inside write-zeroes, whose steps must
 * stay atomic). */
static int write_locked(struct qcow2 *q, struct qiov *c, size_t len,
			uint64_t off, bool may_unlock)
{
	uint32_t l2n = 1u << q->l2_bits, cs = q->cluster_size;
	while (len) {
		uint64_t vc = off >> q->cluster_bits;
		uint32_t in_off = off & (cs - 1);
		uint32_t l1i = vc >> q->l2_bits, l2i = vc & (l2n - 1);
		struct l2_slot *s;
		int rc = q_l2_load(q, l1i, &s);
		if (rc)
			return rc;
		bool tab_ok = s && (q->l1[l1i] & OFLAG_COPIED);
		uint64_t e = tab_get(s, l2i);
		size_t n = cs - in_off < len ? cs - in_off : len;
		if (tab_ok && in_place(q, e)) {
			uint64_t host = e & OFFSET_MASK;
			/* Allocated clusters lie in the file: an entry
			 * beyond its end is hostile and writing through it
			 * would grow the file without bound (QEMU marks
			 * such images corrupt; the guest gets EIO). */
			if ((host & (cs - 1)) || host >= q->file_size ||
			    q_is_rb(q, host >> q->cluster_bits))
				return -EIO;
			for (uint32_t i = l2i + 1; n < len && i < l2n; i++) {
				uint64_t e2 = tab_get(s, i);
				if (!in_place(q, e2) ||
				    (e2 & OFFSET_MASK) !=
				    host + (uint64_t)(i - l2i) * cs ||
				    (e2 & OFFSET_MASK) >= q->file_size ||
				    q_is_rb(q, (e2 & OFFSET_MASK) >>
					    q->cluster_bits))
					break;
				n += cs < len - n ? cs : len - n;
			}
			if (q_overlaps_meta(q, host + in_off, n))
				return -EIO;
			rc = write_in_place(q, c, n, host + in_off,
					    may_unlock);
		} else {
			uint32_t cnt = 1;
			for (uint32_t i = l2i + 1; n < len && i < l2n; i++) {
				if (tab_ok && in_place(q, tab_get(s, i)))
					break;
				n += cs < len - n ? cs : len - n;
				cnt++;
			}
			if (alloc_busy(q, vc, cnt)) {
				alloc_wait(q);
				continue;  /* the entries have changed */
			}
			rc = write_alloc(q, vc, cnt, in_off, c, n,
					 may_unlock);
		}
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int q_pwrite(struct block_dev *bd, const void *buf, size_t len, uint64_t off)
{
	struct qcow2 *q = to_q(bd);
	struct iovec one = { (void *)buf, len };
	struct qiov c = { &one, 0 };
	q_lock(q);
	int rc = write_locked(q, &c, len, off, true);
	q_unlock(q);
	return rc;
}

int q_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
	      uint64_t off)
{
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (iovcnt > QIOV_MAX - 2) {
		/* With a COW head and tail the write would pass IOV_MAX:
		 * gather it (the block layer's limit is IOV_MAX pieces). */
		uint8_t *buf = malloc(len ? len : 1), *b = buf;
		if (!buf)
			return -ENOMEM;
		for (int i = 0; i < iovcnt; b += iov[i++].iov_len)
			memcpy(b, iov[i].iov_base, iov[i].iov_len);
		int rc = q_pwrite(bd, buf, len, off);
		free(buf);
		return rc;
	}
	struct qcow2 *q = to_q(bd);
	struct qiov c = { iov, 0 };
	q_lock(q);
	int rc = write_locked(q, &c, len, off, true);
	q_unlock(q);
	return rc;
}

/* Make whole clusters [vc, vc + n) read as zeros without data: entries
 * become 0 (nothing below) or the zero flag (a backing file below). */
static int zero_clusters(struct qcow2 *q, uint64_t vc, uint64_t n)
{
	uint32_t l2n = 1u << q->l2_bits;
	uint64_t want = q->bd.backing ? OFLAG_ZERO : 0;
	while (n) {
		uint32_t l1i = vc >> q->l2_bits, l2i = vc & (l2n - 1);
		uint32_t k = l2n - l2i < n ? l2n - l2i : (uint32_t)n;
		if (alloc_busy(q, vc, k)) {
			alloc_wait(q);
			continue;
		}
		struct l2_slot *s;
		int rc = q_l2_load(q, l1i, &s);
		if (rc)
			return rc;
		bool change = false;
		for (uint32_t i = 0; i < k && !change; i++) {
			uint64_t e = tab_get(s, l2i + i);
			change = want ? e != OFLAG_ZERO
				      : classify(q, e) != E_UNALLOC;
		}
		if (change) {
			rc = q_l2_writable(q, l1i, &s);
			if (rc)
				return rc;
			uint64_t *olde = (uint64_t *)q->cow_head;
			memcpy(olde, s->tab + l2i, (size_t)k * 8);
			for (uint32_t i = 0; i < k; i++)
				s->tab[l2i + i] = htobe64(want);
			rc = l2_write(q, s, l2i, k);
			for (uint32_t i = 0; i < k && !rc; i++)
				rc = q_free_entry(q, be64toh(olde[i]));
			q->zout_entry = 0;
			if (rc)
				return rc;
		}
		vc += k;
		n -= k;
	}
	return 0;
}

int q_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
	struct qcow2 *q = to_q(bd);
	if (q->bd.backing && q->version < 3)
		return 0;  /* v2 cannot hide the backing file: keep data */
	uint64_t cs = q->cluster_size;
	uint64_t first = (off + cs - 1) / cs, end = (off + len) / cs;
	if (off + len == bd->size)
		end = (off + len + cs - 1) / cs;  /* last partial cluster */
	if (end <= first)
		return 0;
	q_lock(q);
	int rc = zero_clusters(q, first, end - first);
	q_unlock(q);
	return rc;
}

static int write_zeroes_locked(struct qcow2 *q, uint64_t off, uint64_t len);

int q_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len,
		   bool unmap)
{
	(void)unmap;
	struct qcow2 *q = to_q(bd);
	q_lock(q);
	int rc = write_zeroes_locked(q, off, len);
	q_unlock(q);
	return rc;
}

static int write_zeroes_locked(struct qcow2 *q, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];
	struct block_dev *bd = &q->bd;
	if (q->bd.backing && q->version < 3)
		return -EOPNOTSUPP;
	uint64_t cs = q->cluster_size;
	uint64_t first = (off + cs - 1) / cs, end = (off + len) / cs;
	if (off + len == bd->size)
		end = (off + len + cs - 1) / cs;
	if (end <= first) {
		first = end = 0;
	}
	uint64_t zs = first * cs, ze = end * cs;
	if (ze > off + len)
		ze = off + len;
	/* Partial clusters at both ends get zero bytes written. */
	uint64_t pos = off;
	while (pos < off + len) {
		if (end > first && pos == zs) {
			int rc = zero_clusters(q, first, end - first);
			if (rc)
				return rc;
			pos = ze;
			continue;
		}
		uint64_t lim = (end > first && pos < zs) ? zs : off + len;
		size_t k = lim - pos < sizeof(zeros) ? lim - pos
						     : sizeof(zeros);
		struct iovec one = { (void *)zeros, k };
		struct qiov c = { &one, 0 };
		int rc = write_locked(q, &c, k, pos, false);
		if (rc)
			return rc;
		pos += k;
	}
	return 0;
}

int q_status(struct block_dev *bd, uint64_t off, uint64_t len,
	     struct block_status *st)
{
	struct qcow2 *q = to_q(bd);
	uint32_t l2n = 1u << q->l2_bits, cs = q->cluster_size;
	uint64_t vc = off >> q->cluster_bits;
	uint32_t in_off = off & (cs - 1);
	struct l2_slot *s;
	int rc = q_l2_load(q, vc >> q->l2_bits, &s);
	if (rc)
		return rc;
	uint64_t e = tab_get(s, vc & (l2n - 1));
	int t = classify(q, e);
	uint64_t host = e & OFFSET_MASK;
	uint64_t n = cs - in_off;
	if (t != E_COMPRESSED) {
		for (uint64_t c = vc + 1; n < len; c++) {
			if ((c & (l2n - 1)) == 0) {
				rc = q_l2_load(q, c >> q->l2_bits, &s);
				if (rc)
					return rc;
			}
			uint64_t e2 = tab_get(s, c & (l2n - 1));
			if (classify(q, e2) != t)
				break;
			if (t == E_NORMAL && (e2 & OFFSET_MASK) !=
			    host + ((c - vc) << q->cluster_bits))
				break;
			n += cs;
		}
	}
	st->len = n < len ? n : len;
	switch (t) {
	case E_NORMAL:
		st->flags = BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_DATA |
			    BLOCK_STATUS_OFFSET;
		st->host_off = host + in_off;
		break;
	case E_COMPRESSED:
		st->flags = BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_DATA |
			    BLOCK_STATUS_COMPRESSED;
		break;
	case E_ZERO:
		st->flags = BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_ZERO;
		break;
	default:
		st->flags = 0;
	}
	return 0;
}

int q_update_l1_refcounts(struct qcow2 *q, const uint64_t *l1, uint32_t n,
			  int addend)
{
	int frc = q_l2_flush(q);  /* the tables are read from the file */
	if (frc)
		return frc;
	uint64_t *tab = malloc(q->cluster_size);
	if (!tab)
		return -ENOMEM;
	uint32_t l2n = 1u << q->l2_bits;
	bool was_batch = q->rc_batch;
	q->rc_batch = true;
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) {
		uint64_t l2off = l1[i] & OFFSET_MASK;
		if (!l2off)
			continue;
		/* The table is written back: never over other metadata. */
		if (bad_meta_off(q, l2off) ||
		    q_overlaps_meta(q, l2off, q->cluster_size) ||
		    q_is_rb(q, l2off >> q->cluster_bits)) {
			rc = -EIO;
			break;
		}
		/* Read the table before its refcount may drop to 0 (which
		 * punches it out of the file). */
		rc = q_pread_full(q, tab, q->cluster_size, l2off);
		bool changed = false;
		for (uint32_t j = 0; j < l2n && !rc; j++) {
			uint64_t e = be64toh(tab[j]), coff;
			uint64_t k = q_entry_clusters(q, e, &coff);
			if (!k)
				continue;
			rc = q_rc_update(q, coff, k, addend);
			if (rc || (e & OFLAG_COMPRESSED))
				continue;
			uint16_t r;
			rc = q_rc_get(q, coff >> q->cluster_bits, &r);
			uint64_t ne = r == 1 ? e | OFLAG_COPIED
					     : e & ~OFLAG_COPIED;
			if (!rc && ne != e) {
				tab[j] = htobe64(ne);
				changed = true;
			}
		}
		if (!rc)
			rc = q_rc_update(q, l2off, 1, addend);
		uint16_t r = 0;
		if (!rc && changed)
			rc = q_rc_get(q, l2off >> q->cluster_bits, &r);
		if (!rc && changed && r)
			rc = q_pwrite_full(q, tab, q->cluster_size, l2off);
	}
	free(tab);
	int rc2 = q_rc_sync(q);
	q->rc_batch = was_batch;
	q_l2_drop_cache(q);
	return rc ? rc : rc2;
}
