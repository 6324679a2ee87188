/* qcow2 consistency check and repair: rebuild every cluster's refcount
 * from the metadata that references it and compare with the stored
 * refcounts.  Spec: "Host cluster management". */
#include "qcow2_int.h"

#include <errno.h>
#include <stdlib.h>

struct ck {
	struct qcow2 *q;
	uint16_t *ref;      /* computed refcounts; NULL in the sizing pass */
	uint64_t n;         /* clusters in ref (sizing pass: in the file) */
	uint64_t top;       /* sizing pass: 1 + the highest cluster
			     * referenced that lies in the file */
	struct qcow2_check_result *res;
	uint64_t *tab;      /* scratch: one L2 table */
};

static void inc(struct ck *c, uint64_t off, uint64_t len_clusters)
{
	uint64_t first = off >> c->q->cluster_bits;
	if (!c->ref) {
		uint64_t end = first < c->n && len_clusters <= c->n - first ?
			       first + len_clusters : c->n;
		if (end > c->top)
			c->top = end;
		return;
	}
	for (uint64_t i = 0; i < len_clusters; i++) {
		if (first + i >= c->n) {
			c->res->corruptions++;  /* beyond the end of file */
			return;
		}
		if (c->ref[first + i] < 0xffff)
			c->ref[first + i]++;
	}
}

static bool bad_off(struct ck *c, uint64_t off)
{
	return off & (c->q->cluster_size - 1) ||
	       (off >> c->q->cluster_bits) >= c->n;
}

/* Count the L2 tables and clusters reachable from one L1 table. */
static int walk_l1(struct ck *c, const uint64_t *l1, uint32_t n, bool active)
{
	struct qcow2 *q = c->q;
	uint32_t l2n = 1u << q->l2_bits;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2off = l1[i] & OFFSET_MASK;
		if (!l2off)
			continue;
		if (bad_off(c, l2off)) {
			c->res->corruptions++;
			continue;
		}
		inc(c, l2off, 1);
		int rc = q_pread_full(q, c->tab, q->cluster_size, l2off);
		if (rc)
			return rc;
		for (uint32_t j = 0; j < l2n; j++) {
			uint64_t e = be64toh(c->tab[j]), off;
			uint64_t k = q_entry_clusters(q, e, &off);
			if (active && (e & OFLAG_COMPRESSED))
				c->res->compressed_clusters++;
			if (active && k && !(q->version >= 3 &&
					     !(e & OFLAG_COMPRESSED) &&
					     (e & OFLAG_ZERO)))
				c->res->allocated_clusters++;
			if (!k)
				continue;
			if (!(e & OFLAG_COMPRESSED) && bad_off(c, off)) {
				c->res->corruptions++;
				continue;
			}
			inc(c, off, k);
		}
	}
	return 0;
}

/* QCOW_OFLAG_COPIED must be set exactly on active entries whose cluster
 * has refcount 1; count (and with repair fix) the others. */
static int check_copied(struct ck *c, bool repair)
{
	struct qcow2 *q = c->q;
	uint32_t l2n = 1u << q->l2_bits;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2off = q->l1[i] & OFFSET_MASK;
		if (!l2off || bad_off(c, l2off))
			continue;
		if (q_overlaps_meta(q, l2off, q->cluster_size) ||
		    q_is_rb(q, l2off >> q->cluster_bits)) {
			/* Another structure, not an L2 table: nothing to
			 * fix in it (and nothing repair can fix). */
			c->res->corruptions++;
			continue;
		}
		uint16_t r;
		int rc = q_rc_get(q, l2off >> q->cluster_bits, &r);
		if (rc)
			return rc;
		if ((r == 1) != !!(q->l1[i] & OFLAG_COPIED)) {
			c->res->corruptions++;
			if (repair) {
				q->l1[i] = r == 1 ? l2off | OFLAG_COPIED : l2off;
				rc = q_write_l1_entry(q, i);
				if (rc)
					return rc;
				c->res->corruptions_fixed++;
			}
		}
		rc = q_pread_full(q, c->tab, q->cluster_size, l2off);
		if (rc)
			return rc;
		bool changed = false;
		for (uint32_t j = 0; j < l2n; j++) {
			uint64_t e = be64toh(c->tab[j]);
			if (e & OFLAG_COMPRESSED || !(e & OFFSET_MASK) ||
			    bad_off(c, e & OFFSET_MASK))
				continue;
			rc = q_rc_get(q, (e & OFFSET_MASK) >> q->cluster_bits,
				      &r);
			if (rc)
				return rc;
			if ((r == 1) == !!(e & OFLAG_COPIED))
				continue;
			c->res->corruptions++;
			if (repair) {
				e = r == 1 ? e | OFLAG_COPIED
					   : e & ~OFLAG_COPIED;
				c->tab[j] = htobe64(e);
				changed = true;
				c->res->corruptions_fixed++;
			}
		}
		if (changed) {
			rc = q_pwrite_full(q, c->tab, q->cluster_size, l2off);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int load_l1(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **out)
{
	uint64_t *t = calloc(n ? n : 1, 8);
	if (!t)
		return -ENOMEM;
	int rc = q_pread_full(q, t, (size_t)n * 8, off);
	for (uint32_t i = 0; i < n; i++)
		t[i] = be64toh(t[i]);
	if (rc)
		free(t);
	else
		*out = t;
	return rc;
}

static int compute(struct ck *c)
{
	struct qcow2 *q = c->q;
	inc(c, 0, 1);
	inc(c, q->l1_off, q_clusters(q, (uint64_t)q->l1_size * 8));
	int rc = walk_l1(c, q->l1, q->l1_size, true);
	if (rc)
		return rc;
	inc(c, q->rt_off, q->rt_clusters);
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		if (!q->rt[i])
			continue;
		if (bad_off(c, q->rt[i])) {
			c->res->corruptions++;
			continue;
		}
		inc(c, q->rt[i], 1);
	}
	if (q->nsnaps) {
		uint64_t size = 0;
		for (uint32_t i = 0; i < q->nsnaps; i++)
			size += (40 + q->snaps[i].extra_size +
				 strlen(q->snaps[i].id) +
				 strlen(q->snaps[i].name) + 7) & ~UINT64_C(7);
		inc(c, q->snap_off, q_clusters(q, size));
	}
	for (uint32_t i = 0; i < q->nsnaps; i++) {
		struct qsnap *s = &q->snaps[i];
		uint64_t *l1;
		inc(c, s->l1_off, q_clusters(q, (uint64_t)s->l1_size * 8));
		rc = load_l1(q, s->l1_off, s->l1_size, &l1);
		if (rc)
			return rc;
		rc = walk_l1(c, l1, s->l1_size, false);
		free(l1);
		if (rc)
			return rc;
	}
	return 0;
}

int qcow2_check(struct block_dev *bd, bool repair,
		struct qcow2_check_result *res, struct err *errp)
{
	struct qcow2 *q = q_get(bd, errp);
	if (!q)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	if (repair && bd->read_only)
		return err_set(errp, EROFS, "disk `%s` is read-only", q->path);
	/* The computed refcounts cover the clusters the metadata
	 * references inside the file, not the file: a sparse file grown
	 * far by a hostile offset must not cost 2 bytes per cluster of
	 * holes.  A first pass over the metadata finds that bound (refs
	 * beyond the end of the file are corruptions, counted in the
	 * second pass). */
	uint64_t fcl = q_clusters(q, q->file_size);
	struct ck c = { .q = q, .res = res, .n = fcl };
	c.tab = malloc(q->cluster_size);
	int rc = -ENOMEM;
	if (!c.tab)
		goto out;
	rc = compute(&c);
	if (rc)
		goto out;
	memset(res, 0, sizeof(*res));
	c.n = c.top;
	c.ref = calloc(c.n ? c.n : 1, 2);
	rc = -ENOMEM;
	if (!c.ref)
		goto out;
	res->total_clusters = q_clusters(q, bd->size);
	rc = compute(&c);
	if (rc)
		goto out;
	/* Stored refcounts may reach past the computed range (leaks). */
	uint64_t limit = q->rt_entries << q->rb_bits, beyond = 0;
	for (uint64_t cl = 0; cl < limit; cl++) {
		if (cl >= c.n && !q->rt[cl >> q->rb_bits]) {
			cl |= q->rb_entries - 1;  /* skip the absent block */
			continue;
		}
		/* Blocks past the referenced range can only hold leaks; a
		 * hostile table pointing every entry at one block must not
		 * make this loop quadratic. */
		if (cl >= c.n && !(cl & (q->rb_entries - 1)) &&
		    ++beyond > (fcl >> q->rb_bits) + 16)
			break;
		uint64_t rbc = q->rt[cl >> q->rb_bits] >> q->cluster_bits;
		if (!(cl & (q->rb_entries - 1)) && rbc && rbc < c.n &&
		    c.ref[rbc] > 1) {
			/* A refcount block shared with another table entry
			 * or other metadata: its contents are not refcounts
			 * to trust or to repair. */
			res->corruptions++;
			cl |= q->rb_entries - 1;
			continue;
		}
		uint16_t stored, want = cl < c.n ? c.ref[cl] : 0;
		rc = q_rc_get(q, cl, &stored);
		if (rc == -EIO) {
			/* A refcount block pointer is bad: its clusters are
			 * counted once by the table scan above. */
			cl |= q->rb_entries - 1;
			rc = 0;
			continue;
		}
		if (rc)
			goto out;
		if (want)
			res->image_end_offset = (cl + 1) << q->cluster_bits;
		if (stored == want)
			continue;
		bool leak = stored > want;
		if (leak)
			res->leaks++;
		else
			res->corruptions++;
		if (!repair)
			continue;
		int r2 = q_rc_set(q, cl, want);
		if (r2 == -ENOSPC) {
			/* No refcount block for a referenced cluster:
			 * allocating one may move metadata; leave it. */
			continue;
		}
		if (r2) {
			rc = r2;
			goto out;
		}
		if (leak)
			res->leaks_fixed++;
		else
			res->corruptions_fixed++;
	}
	rc = check_copied(&c, repair);
	if (rc)
		goto out;
	if (repair) {
		q_l2_drop_cache(q);
		q->free_hint = 0;
		if (q->incompat & INCOMPAT_DIRTY) {
			q->incompat &= ~INCOMPAT_DIRTY;
			uint8_t b[8];
			st64(b, q->incompat);
			rc = q_pwrite_full(q, b, 8, H_INCOMPAT);
		}
	}
out:
	free(c.ref);
	free(c.tab);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: check failed", q->path);
	return 0;
}
