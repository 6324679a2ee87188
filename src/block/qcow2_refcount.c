/* qcow2 refcounts (16-bit) and host cluster allocation.
 * Spec: "Host cluster management". */
#include "qcow2_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int q_rbs_rebuild(struct qcow2 *q, bool *shared)
{
	uint64_t *t = malloc((q->rt_entries ? q->rt_entries : 1) * 8), n = 0;
	if (!t)
		return -ENOMEM;
	for (uint64_t i = 0; i < q->rt_entries; i++)
		if (q->rt[i])
			t[n++] = q->rt[i] >> q->cluster_bits;
	qsort(t, n, 8, cmp_u64);
	bool dup = false;
	uint64_t k = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (k && t[k - 1] == t[i]) {
			dup = true;
			continue;
		}
		t[k++] = t[i];
	}
	free(q->rbs);
	q->rbs = t;
	q->nrbs = k;
	if (shared)
		*shared = dup;
	return 0;
}

bool q_is_rb(const struct qcow2 *q, uint64_t c)
{
	uint64_t lo = 0, hi = q->nrbs;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (q->rbs[mid] == c)
			return true;
		if (q->rbs[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int rb_write(struct qcow2 *q, struct rb_slot *s)
{
	int rc = q_pwrite_full(q, s->blk, q->cluster_size, s->off);
	if (!rc)
		s->dirty = false;
	return rc;
}

/* The cached refcount block for table index idx; *out NULL when the table
 * has no block there (every refcount in its range is 0). */
static int rb_load(struct qcow2 *q, uint64_t idx, struct rb_slot **out)
{
	*out = NULL;
	if (idx >= q->rt_entries || !q->rt[idx])
		return 0;
	struct rb_slot *s = &q->rbc[idx % RB_SLOTS];
	if (s->rt_idx == (int64_t)idx) {
		*out = s;
		return 0;
	}
	uint64_t off = q->rt[idx];
	if (off & (q->cluster_size - 1) || off > q->file_size ||
	    q->file_size - off < q->cluster_size ||
	    q_overlaps_meta(q, off, q->cluster_size))
		return -EIO;  /* hostile refcount table entry */
	if (s->dirty) {
		int rc = rb_write(q, s);
		if (rc)
			return rc;
	}
	if (!s->blk) {
		s->blk = q_cluster_buf(q);
		if (!s->blk)
			return -ENOMEM;
	}
	s->rt_idx = -1;
	int rc = q_pread_full(q, s->blk, q->cluster_size, off);
	if (rc)
		return rc;
	s->rt_idx = idx;
	s->off = off;
	*out = s;
	return 0;
}

void q_rc_drop_cache(struct qcow2 *q)
{
	for (int i = 0; i < RB_SLOTS; i++) {
		free(q->rbc[i].blk);
		q->rbc[i].blk = NULL;
		q->rbc[i].rt_idx = -1;
		q->rbc[i].dirty = false;
	}
}

int q_rc_sync(struct qcow2 *q)
{
	for (int i = 0; i < RB_SLOTS; i++) {
		if (q->rbc[i].dirty) {
			int rc = rb_write(q, &q->rbc[i]);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int q_rc_get(struct qcow2 *q, uint64_t cluster, uint16_t *rcount)
{
	struct rb_slot *s;
	int rc = rb_load(q, cluster >> q->rb_bits, &s);
	if (rc)
		return rc;
	*rcount = s ? be16toh(s->blk[cluster & (q->rb_entries - 1)]) : 0;
	return 0;
}

static void punch(struct qcow2 *q, uint64_t c, uint64_t n)
{
	uint64_t off = c << q->cluster_bits, len = n << q->cluster_bits;
	if (off >= q->file_size)
		return;
	for (uint64_t i = 0; i < n; i++)
		if (q_is_rb(q, c + i))
			return;  /* hostile refcounts: keep the block */
	/* Give the space back to the host; failures only cost space. */
	if (fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0) {
		/* ignore */
	}
}

/* Apply addend (or, with set, the value) to clusters [c, c + n) that all
 * lie in one existing refcount block. */
static int rb_apply(struct qcow2 *q, uint64_t c, uint64_t n, int addend,
		    bool set, uint16_t val, bool defer)
{
	struct rb_slot *s;
	int rc = rb_load(q, c >> q->rb_bits, &s);
	if (rc)
		return rc;
	if (!s)  /* no block: every refcount in its range is 0 */
		return set ? (val ? -ENOSPC : 0) : (addend < 0 ? -EIO
							       : -ENOSPC);
	uint32_t i0 = c & (q->rb_entries - 1);
	uint64_t freed_from = 0, nfreed = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t old = be16toh(s->blk[i0 + i]);
		int64_t v = set ? val : (int64_t)old + addend;
		if (v < 0 || v > 0xffff)
			return -ERANGE;
		s->blk[i0 + i] = htobe16((uint16_t)v);
		if (v == 0 && old) {
			if (nfreed && freed_from + nfreed == c + i) {
				nfreed++;
			} else {
				if (nfreed)
					punch(q, freed_from, nfreed);
				freed_from = c + i;
				nfreed = 1;
			}
			if (c + i < q->free_hint)
				q->free_hint = c + i;
			/* Never pack compressed data into a freed cluster. */
			if (q->cbuf_off &&
			    (q->cbuf_off >> q->cluster_bits) == c + i)
				q->cbuf_off = 0;
		}
	}
	/* defer: a data run whose L2 entries are deferred; its refcounts
	 * go out before any table that names it (see "Deferred L2
	 * entries"). */
	if (q->rc_batch || defer) {
		s->dirty = true;
	} else {
		rc = q_write_meta(q, s->blk, s->off, (size_t)i0 * 2,
				  (size_t)n * 2);
		if (rc)
			return rc;
	}
	if (nfreed)
		punch(q, freed_from, nfreed);
	return 0;
}

static int rc_range(struct qcow2 *q, uint64_t c, uint64_t n, int addend,
		    bool set, uint16_t val, bool defer)
{
	while (n) {
		uint64_t room = q->rb_entries - (c & (q->rb_entries - 1));
		uint64_t k = n < room ? n : room;
		int rc = rb_apply(q, c, k, addend, set, val, defer);
		if (rc)
			return rc;
		c += k;
		n -= k;
	}
	return 0;
}

int q_rc_update(struct qcow2 *q, uint64_t off, uint64_t n, int addend)
{
	if (!n || !addend)
		return 0;
	if (addend < 0)
		q_quiesce(q);
	return rc_range(q, off >> q->cluster_bits, n, addend, false, 0,
			false);
}

int q_rc_set(struct qcow2 *q, uint64_t cluster, uint16_t val)
{
	if (!val)
		q_quiesce(q);
	return rc_range(q, cluster, 1, 0, true, val, false);
}

int q_free_entry(struct qcow2 *q, uint64_t entry)
{
	uint64_t off, n = q_entry_clusters(q, entry, &off);
	return n ? q_rc_update(q, off, n, -1) : 0;
}

/* Write a header field group in one pwrite so a crash sees old or new. */
static int write_rt_header(struct qcow2 *q, uint64_t off, uint32_t clusters)
{
	uint8_t b[12];
	st64(b, off);
	st32(b + 8, clusters);
	return q_pwrite_full(q, b, sizeof(b), H_RT_OFF);
}

/* Make the refcount table hold index need: a bigger table, and the
 * refcount blocks covering it, go at the end of the file; the header
 * switches to it in one write; then the old table is freed. */
static int grow_rt(struct qcow2 *q, uint64_t need)
{
	uint64_t per_cluster = q->cluster_size / 8;
	uint64_t entries = q->rt_entries * 2;
	if (entries < need + 1)
		entries = need + 1;
	uint64_t p = q->end_cluster, T, k = 0;
	for (;;) {
		entries = (entries + per_cluster - 1) / per_cluster *
			  per_cluster;
		if (entries * 8 > MAX_RT_BYTES)
			return -EFBIG;
		T = entries / per_cluster;
		/* Blocks missing for [p, p + T + k): iterate to a fixed
		 * point, the new blocks themselves needing refcounts. */
		uint64_t m;
		for (;;) {
			m = 0;
			uint64_t b0 = p >> q->rb_bits;
			uint64_t b1 = (p + T + k - 1) >> q->rb_bits;
			for (uint64_t b = b0; b <= b1; b++)
				if (b >= q->rt_entries || !q->rt[b])
					m++;
			if (m == k)
				break;
			k = m;
		}
		if (((p + T + k - 1) >> q->rb_bits) < entries)
			break;
		entries = ((p + T + k - 1) >> q->rb_bits) + 1;
	}
	uint64_t *nrt = calloc(entries, 8);
	uint16_t *blks = calloc(k ? k : 1, q->cluster_size);
	if (!nrt || !blks) {
		free(nrt);
		free(blks);
		return -ENOMEM;
	}
	int rc = 0;
	for (uint64_t i = 0; i < q->rt_entries; i++)
		nrt[i] = q->rt[i];
	uint64_t b0 = p >> q->rb_bits, j = 0;
	for (uint64_t b = b0; b <= (p + T + k - 1) >> q->rb_bits; b++)
		if (!nrt[b])
			nrt[b] = (p + T + j++) << q->cluster_bits;
	uint64_t set_to = p;  /* refcounts set in old blocks: [p, set_to) */
	for (uint64_t c = p; c < p + T + k; c++) {
		uint64_t b = c >> q->rb_bits;
		uint64_t bc = nrt[b] >> q->cluster_bits;
		if (bc >= p + T && bc < p + T + k) {
			blks[(bc - p - T) * q->rb_entries +
			     (c & (q->rb_entries - 1))] = htobe16(1);
		} else {
			rc = q_rc_set(q, c, 1);
			if (rc)
				goto out;
		}
		set_to = c + 1;
	}
	if (k) {
		rc = q_pwrite_full(q, blks, k * q->cluster_size,
				   (p + T) << q->cluster_bits);
		if (rc)
			goto out;
	}
	for (uint64_t i = 0; i < entries; i++)
		nrt[i] = htobe64(nrt[i]);
	rc = q_pwrite_full(q, nrt, entries * 8, p << q->cluster_bits);
	for (uint64_t i = 0; i < entries; i++)
		nrt[i] = be64toh(nrt[i]);
	if (rc)
		goto out;
	rc = write_rt_header(q, p << q->cluster_bits, (uint32_t)T);
	if (rc)
		goto out;
	uint64_t old_off = q->rt_off, old_n = q->rt_clusters;
	free(q->rt);
	q->rt = nrt;
	nrt = NULL;
	q->rt_entries = entries;
	q->rt_off = p << q->cluster_bits;
	q->rt_clusters = (uint32_t)T;
	q->end_cluster = p + T + k;
	rc = q_rbs_rebuild(q, NULL);
	if (!rc)
		rc = q_rc_update(q, old_off, old_n, -1);
out:
	if (nrt) {
		/* Failed before the header switched (a full disk): the
		 * clusters claimed in existing blocks are free again. */
		for (uint64_t c = p; c < set_to; c++) {
			uint64_t bc = nrt[c >> q->rb_bits] >> q->cluster_bits;
			if (bc < p + T || bc >= p + T + k)
				(void)q_rc_set(q, c, 0);
		}
	}
	free(nrt);
	free(blks);
	return rc;
}

/* A refcount block for table index b, stored at free cluster c, which lies
 * either in b's own range or in a range whose block exists. */
static int create_rb(struct qcow2 *q, uint64_t b, uint64_t c)
{
	int rc;
	if (b >= q->rt_entries) {
		rc = grow_rt(q, b);
		if (rc)
			return rc;
		if (q->rt[b])
			return 0;  /* grow_rt made it */
		if (c < q->end_cluster) {
			/* c may now hold the table: search again. */
			return -EAGAIN;
		}
	}
	uint16_t *blk = calloc(1, q->cluster_size);
	if (!blk)
		return -ENOMEM;
	bool self = (c >> q->rb_bits) == b;
	if (self)
		blk[c & (q->rb_entries - 1)] = htobe16(1);
	rc = q_pwrite_full(q, blk, q->cluster_size, c << q->cluster_bits);
	free(blk);
	if (!rc && !self)
		rc = q_rc_set(q, c, 1);
	if (rc)
		return rc;
	uint64_t be = htobe64(c << q->cluster_bits);
	rc = q_pwrite_full(q, &be, 8, q->rt_off + b * 8);
	if (rc) {
		/* The table on disk does not name the block: neither may
		 * the cached one, and the block's cluster is free again. */
		if (!self)
			(void)q_rc_set(q, c, 0);
		return rc;
	}
	q->rt[b] = c << q->cluster_bits;
	if (c + 1 > q->end_cluster)
		q->end_cluster = c + 1;
	return q_rbs_rebuild(q, NULL);
}

/* Clusters [c, c + n), all free, become a run in use: *off in bytes. */
static int take_run(struct qcow2 *q, uint64_t c, uint64_t n, uint64_t *off)
{
	/* Only the run itself may wait: refcount blocks and tables made
	 * on the way were written through. */
	int rc = rc_range(q, c, n, 0, true, 1, q->rc_defer);
	if (rc)
		return rc;
	if (c + n > q->end_cluster)
		q->end_cluster = c + n;
	if (c == q->free_hint)
		q->free_hint = c + n;
	*off = c << q->cluster_bits;
	return 0;
}

int q_clusters_free(struct qcow2 *q, uint64_t c, uint64_t n, bool *free)
{
	*free = false;
	for (uint64_t i = 0; i < n; i++) {
		uint16_t r = 0;
		if (q_is_rb(q, c + i))
			return 0;
		int rc = q_rc_get(q, c + i, &r);
		if (rc)
			return rc;
		if (r)
			return 0;
	}
	*free = true;
	return 0;
}

/* The first refcount table index covering clusters [c, c + n) that has
 * no block yet, UINT64_MAX when all have one. */
static uint64_t missing_rb(const struct qcow2 *q, uint64_t c, uint64_t n)
{
	for (uint64_t b = c >> q->rb_bits; b <= (c + n - 1) >> q->rb_bits;
	     b++)
		if (b >= q->rt_entries || !q->rt[b])
			return b;
	return UINT64_MAX;
}

int q_alloc_at(struct qcow2 *q, uint64_t n, uint64_t c, uint64_t *off)
{
	if (!n || c > q->end_cluster + q_near_window(q) ||
	    c + n >= (UINT64_C(1) << (56 - q->cluster_bits)))
		return -ENOSPC;
	if (missing_rb(q, c, n) != UINT64_MAX)
		return -ENOSPC;  /* no block yet: q_alloc makes it */
	if (q_overlaps_meta(q, c << q->cluster_bits, n << q->cluster_bits))
		return -ENOSPC;
	bool free;
	int rc = q_clusters_free(q, c, n, &free);
	if (rc)
		return rc;
	return free ? take_run(q, c, n, off) : -ENOSPC;
}

int q_alloc(struct qcow2 *q, uint64_t n, uint64_t *off)
{
	for (int tries = 0; tries < 64; tries++) {
		uint64_t start = q->free_hint, len = 0, c = start;
		bool packed = true;  /* all used from free_hint to c */
		while (len < n) {
			uint16_t r = 0;
			if (c < q->end_cluster) {
				int rc = q_rc_get(q, c, &r);
				if (rc)
					return rc;
			}
			/* Refcount blocks are never free, whatever the
			 * (hostile) refcounts say. */
			if (!r && q_is_rb(q, c))
				r = 1;
			c++;
			if (r) {
				start = c;
				len = 0;
				if (packed)
					q->free_hint = c;
			} else {
				len++;
				packed = false;
			}
			if (c >= (UINT64_C(1) << (56 - q->cluster_bits)))
				return -EFBIG;
		}
		/* Every block covering the run must exist first. */
		uint64_t missing = missing_rb(q, start, n);
		if (missing != UINT64_MAX) {
			int rc = create_rb(q, missing, start);
			if (rc && rc != -EAGAIN)
				return rc;
			continue;
		}
		if (q_overlaps_meta(q, start << q->cluster_bits,
				    n << q->cluster_bits))
			return -EIO;  /* refcounts say metadata is free */
		return take_run(q, start, n, off);
	}
	return -EIO;
}
