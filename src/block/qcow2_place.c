/* qcow2 data placement: which host clusters a new run of guest data
 * gets.  A guest's large request arrives split in several requests that
 * allocate in whatever order their I/O threads take q->meta; first fit
 * alone would then lay consecutive guest data out of order, and reading
 * it back would take more, smaller host reads.  Each run is placed by its
 * virtual distance from the nearest data already mapped (or being mapped)
 * in its table, so the layout comes out sequential in any order. */
#include "qcow2_int.h"

#include <errno.h>

uint32_t q_near_window(const struct qcow2 *q)
{
	uint32_t w = (UINT32_C(2) << 20) >> q->cluster_bits;
	uint32_t l2n = UINT32_C(1) << q->l2_bits;
	if (w < 32)
		w = 32;
	return w < l2n ? w : l2n;
}

/* The nearest data cluster of the run's table before it (dir < 0) or
 * after it (dir > 0), at most q_near_window() entries away: *dist entries
 * from the run's first (or last) cluster, mapped to host cluster *hc.
 * Allocations in flight count: their entries are not in the table yet,
 * and they are the neighbours that matter when requests race.  *dist 0:
 * none. */
static void neighbour(const struct qcow2 *q, const struct l2_slot *s,
		      uint64_t vc, uint32_t cnt, int dir, uint32_t *dist,
		      uint64_t *hc)
{
	uint32_t l2n = UINT32_C(1) << q->l2_bits, w = q_near_window(q);
	uint32_t first = vc & (l2n - 1), last = first + cnt - 1;
	*dist = 0;
	for (uint32_t d = 1; d <= w; d++) {
		if (dir < 0 ? d > first : last + d >= l2n)
			break;
		uint64_t e = tab_get(s, dir < 0 ? first - d : last + d);
		if (classify(q, e) != E_NORMAL)
			continue;
		if ((e & OFFSET_MASK) & (q->cluster_size - 1))
			break;  /* hostile entry: no neighbour to follow */
		*dist = d;
		*hc = (e & OFFSET_MASK) >> q->cluster_bits;
		break;
	}
	uint64_t table = vc >> q->l2_bits;
	for (const struct q_alloc_req *r = q->allocs; r; r = r->next) {
		if (r->vc >> q->l2_bits != table)
			continue;  /* a run never spans two tables */
		uint64_t d;
		if (dir < 0 && r->vc + r->cnt <= vc)
			d = vc - (r->vc + r->cnt - 1);
		else if (dir > 0 && r->vc >= vc + cnt)
			d = r->vc - (vc + cnt - 1);
		else
			continue;
		if (d > w || (*dist && d >= *dist))
			continue;
		*dist = (uint32_t)d;
		*hc = dir < 0 ? r->hc + r->cnt - 1 : r->hc;
	}
}

/* Take [c, c + cnt) when it and the gap of gap clusters between it and
 * its neighbour are free: the gap is left for the guest clusters between
 * the two, which will be placed by the same rule.  -ENOSPC: not here. */
static int take_beside(struct qcow2 *q, uint64_t c, uint32_t cnt,
		       uint64_t gap_c, uint32_t gap, uint64_t *host)
{
	bool free;
	int rc = q_clusters_free(q, gap_c, gap, &free);
	if (rc)
		return rc;
	return free ? q_alloc_at(q, cnt, c, host) : -ENOSPC;
}

int q_place(struct qcow2 *q, const struct l2_slot *s, uint64_t vc,
	    uint32_t cnt, uint64_t *host)
{
	uint32_t before, after, l2i = vc & ((UINT32_C(1) << q->l2_bits) - 1);
	uint64_t bhc = 0, ahc = 0;
	int rc;
	neighbour(q, s, vc, cnt, -1, &before, &bhc);
	if (before) {
		rc = take_beside(q, bhc + before, cnt, bhc + 1, before - 1,
				 host);
		if (rc != -ENOSPC)
			return rc;
	}
	neighbour(q, s, vc, cnt, 1, &after, &ahc);
	if (after && ahc >= (uint64_t)after + cnt - 1) {
		uint64_t c = ahc - (after + cnt - 1);
		rc = take_beside(q, c, cnt, c + cnt, after - 1, host);
		if (rc != -ENOSPC)
			return rc;
	}
	/* No usable neighbour: new space, leaving room in front for the
	 * unmapped guest clusters just before the run (the other part of a
	 * split request, still to come) when they are few. */
	uint32_t room = before ? before - 1 :
			l2i < q_near_window(q) ? l2i : 0;
	if (room) {
		rc = q_alloc_at(q, cnt, q->end_cluster + room, host);
		if (rc != -ENOSPC)
			return rc;
	}
	return q_alloc(q, cnt, host);
}
