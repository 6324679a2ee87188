/* qcow2 internal snapshots: the snapshot table and create/apply/delete.
 * Spec: "Snapshots".  A snapshot owns a copy of the L1 table; every
 * cluster reachable from it has its refcount raised, so the active disk
 * copies on write (QCOW_OFLAG_COPIED clear) until the snapshot is gone. */
#include "qcow2_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_SNAP_TABLE (64u << 20)

void q_snap_free(struct qcow2 *q)
{
	for (uint32_t i = 0; i < q->nsnaps; i++) {
		free(q->snaps[i].id);
		free(q->snaps[i].name);
		free(q->snaps[i].extra);
	}
	free(q->snaps);
	q->snaps = NULL;
	q->nsnaps = 0;
}

int q_snap_read(struct qcow2 *q, uint8_t *head, struct err *errp)
{
	uint32_t n = ld32(head + H_NB_SNAP);
	uint64_t off = ld64(head + H_SNAP_OFF);
	q->snap_off = off;
	if (!n)
		return 0;
	if (n > MAX_SNAPSHOTS)
		return err_set(errp, EINVAL, "disk `%s`: too many snapshots "
			       "(%u)", q->path, n);
	if (off & (q->cluster_size - 1) || off == 0 || off >= q->file_size)
		return err_set(errp, EINVAL, "disk `%s`: snapshot table offset "
			       "beyond the end of the file or unaligned",
			       q->path);
	q->snaps = calloc(n, sizeof(*q->snaps));
	if (!q->snaps)
		return err_set(errp, ENOMEM, "out of memory");
	uint64_t pos = off;
	for (uint32_t i = 0; i < n; i++) {
		struct qsnap *s = &q->snaps[i];
		uint8_t f[40];
		q->nsnaps = i + 1;  /* so that q_snap_free sees it */
		if (pos + 40 > q->file_size || pos - off > MAX_SNAP_TABLE)
			goto trunc;
		int rc = q_pread_full(q, f, 40, pos);
		if (rc)
			return err_sys(errp, -rc, "cannot read disk `%s`",
				       q->path);
		s->l1_off = ld64(f);
		s->l1_size = ld32(f + 8);
		uint16_t id_len = ld16(f + 12), name_len = ld16(f + 14);
		s->date_sec = ld32(f + 16);
		s->date_nsec = ld32(f + 20);
		s->vm_clock_nsec = ld64(f + 24);
		s->vm_state_size = ld32(f + 32);
		s->extra_size = ld32(f + 36);
		if (s->extra_size > 1024)
			return err_set(errp, EINVAL, "disk `%s`: snapshot extra "
				       "data too large", q->path);
		uint64_t need = 40 + (uint64_t)s->extra_size + id_len +
				name_len;
		if (pos + need > q->file_size)
			goto trunc;
		uint8_t *v = malloc(need - 40 + 1);
		if (!v)
			return err_set(errp, ENOMEM, "out of memory");
		rc = q_pread_full(q, v, need - 40, pos + 40);
		if (rc) {
			free(v);
			return err_sys(errp, -rc, "cannot read disk `%s`",
				       q->path);
		}
		s->extra = malloc(s->extra_size + 1);
		s->id = strndup((char *)v + s->extra_size, id_len);
		s->name = strndup((char *)v + s->extra_size + id_len,
				  name_len);
		if (s->extra)
			memcpy(s->extra, v, s->extra_size);
		free(v);
		if (!s->extra || !s->id || !s->name)
			return err_set(errp, ENOMEM, "out of memory");
		s->disk_size = q->bd.size;
		if (s->extra_size >= 8)
			s->vm_state_size = ld64(s->extra);
		if (s->extra_size >= 16)
			s->disk_size = ld64(s->extra + 8);
		if ((uint64_t)s->l1_size * 8 > MAX_L1_BYTES ||
		    (s->l1_off & (q->cluster_size - 1)) ||
		    (s->l1_size && (!s->l1_off || s->l1_off > q->file_size ||
		     (uint64_t)s->l1_size * 8 > q->file_size - s->l1_off)))
			return err_set(errp, EINVAL, "disk `%s`: snapshot `%s` "
				       "has a bad L1 table", q->path, s->name);
		pos += (need + 7) & ~UINT64_C(7);
	}
	return 0;
trunc:
	return err_set(errp, EINVAL, "disk `%s`: snapshot table beyond the end "
		       "of the file", q->path);
}

/* Write a new snapshot table for the entries in q->snaps, switch the
 * header to it in one write, free the old table. */
static int write_table(struct qcow2 *q, uint32_t old_n)
{
	uint64_t size = 0;
	for (uint32_t i = 0; i < q->nsnaps; i++)
		size += (40 + q->snaps[i].extra_size + strlen(q->snaps[i].id) +
			 strlen(q->snaps[i].name) + 7) & ~UINT64_C(7);
	uint64_t ncl = q_clusters(q, size), off = 0;
	uint8_t *t = calloc(1, ncl ? ncl << q->cluster_bits : 1);
	if (!t)
		return -ENOMEM;
	uint64_t pos = 0;
	for (uint32_t i = 0; i < q->nsnaps; i++) {
		struct qsnap *s = &q->snaps[i];
		size_t il = strlen(s->id), nl = strlen(s->name);
		st64(t + pos, s->l1_off);
		st32(t + pos + 8, s->l1_size);
		st16(t + pos + 12, (uint16_t)il);
		st16(t + pos + 14, (uint16_t)nl);
		st32(t + pos + 16, s->date_sec);
		st32(t + pos + 20, s->date_nsec);
		st64(t + pos + 24, s->vm_clock_nsec);
		st32(t + pos + 32, (uint32_t)(s->vm_state_size > UINT32_MAX ?
					       0 : s->vm_state_size));
		st32(t + pos + 36, s->extra_size);
		memcpy(t + pos + 40, s->extra, s->extra_size);
		memcpy(t + pos + 40 + s->extra_size, s->id, il);
		memcpy(t + pos + 40 + s->extra_size + il, s->name, nl);
		pos += (40 + s->extra_size + il + nl + 7) & ~UINT64_C(7);
	}
	int rc = 0;
	if (ncl) {
		rc = q_alloc(q, ncl, &off);
		if (!rc)
			rc = q_pwrite_full(q, t, ncl << q->cluster_bits, off);
	}
	free(t);
	if (rc)
		return rc;
	uint8_t h[12];
	st32(h, q->nsnaps);
	st64(h + 4, off);
	rc = q_pwrite_full(q, h, 12, H_NB_SNAP);
	if (rc)
		return rc;
	q->snap_off = off;
	(void)old_n;
	return 0;
}

/* Size in clusters of the table at snap_off before a change. */
static uint64_t table_clusters(struct qcow2 *q)
{
	uint64_t size = 0;
	for (uint32_t i = 0; i < q->nsnaps; i++)
		size += (40 + q->snaps[i].extra_size + strlen(q->snaps[i].id) +
			 strlen(q->snaps[i].name) + 7) & ~UINT64_C(7);
	return q_clusters(q, size);
}

static struct qsnap *find(struct qcow2 *q, const char *name_or_id)
{
	for (uint32_t i = 0; i < q->nsnaps; i++)
		if (!strcmp(q->snaps[i].id, name_or_id))
			return &q->snaps[i];
	for (uint32_t i = 0; i < q->nsnaps; i++)
		if (!strcmp(q->snaps[i].name, name_or_id))
			return &q->snaps[i];
	return NULL;
}

/* Set QCOW_OFLAG_COPIED on active L1 entries whose table has refcount 1
 * and rewrite the L1 table. */
static int fix_l1_copied(struct qcow2 *q)
{
	uint64_t *be = malloc((size_t)q->l1_size * 8 + 8);
	if (!be)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t off = q->l1[i] & OFFSET_MASK;
		if (off) {
			uint16_t r = 0;
			int rc = q_rc_get(q, off >> q->cluster_bits, &r);
			if (rc) {
				free(be);
				return rc;
			}
			q->l1[i] = r == 1 ? off | OFLAG_COPIED : off;
		}
		be[i] = htobe64(q->l1[i]);
	}
	int rc = q_pwrite_full(q, be, (size_t)q->l1_size * 8, q->l1_off);
	free(be);
	q_l2_drop_cache(q);
	return rc;
}

static int read_l1(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **out)
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

int qcow2_snapshot_list(struct block_dev *bd,
			struct qcow2_snapshot_info **out, uint32_t *n,
			struct err *errp)
{
	struct qcow2 *q = q_get(bd, errp);
	if (!q)
		return -EINVAL;
	*out = calloc(q->nsnaps ? q->nsnaps : 1, sizeof(**out));
	if (!*out)
		return err_set(errp, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < q->nsnaps; i++) {
		struct qsnap *s = &q->snaps[i];
		struct qcow2_snapshot_info *o = &(*out)[i];
		o->id = strdup(s->id);
		o->name = strdup(s->name);
		o->date_sec = s->date_sec;
		o->date_nsec = s->date_nsec;
		o->vm_clock_nsec = s->vm_clock_nsec;
		o->vm_state_size = s->vm_state_size;
		o->disk_size = s->disk_size;
		if (!o->id || !o->name) {
			qcow2_snapshot_list_free(*out, i + 1);
			*out = NULL;
			return err_set(errp, ENOMEM, "out of memory");
		}
	}
	*n = q->nsnaps;
	return 0;
}

void qcow2_snapshot_list_free(struct qcow2_snapshot_info *list, uint32_t n)
{
	if (!list)
		return;
	for (uint32_t i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].name);
	}
	free(list);
}

static struct qcow2 *writable(struct block_dev *bd, struct err *errp)
{
	struct qcow2 *q = q_get(bd, errp);
	if (q && bd->read_only) {
		err_set(errp, EROFS, "disk `%s` is read-only", q->path);
		return NULL;
	}
	return q;
}

int qcow2_snapshot_create(struct block_dev *bd, const char *name,
			  struct err *errp)
{
	struct qcow2 *q = writable(bd, errp);
	if (!q)
		return -EINVAL;
	if (!*name || strlen(name) > 65535)
		return err_set(errp, EINVAL, "snapshot name must be 1-65535 "
			       "bytes");
	if (find(q, name))
		return err_set(errp, EEXIST, "disk `%s`: snapshot `%s` already "
			       "exists", q->path, name);
	if (q->nsnaps >= MAX_SNAPSHOTS)
		return err_set(errp, ENOSPC, "disk `%s`: too many snapshots",
			       q->path);
	uint64_t maxid = 0;
	for (uint32_t i = 0; i < q->nsnaps; i++) {
		uint64_t v = strtoull(q->snaps[i].id, NULL, 10);
		if (v > maxid)
			maxid = v;
	}
	char id[24];
	snprintf(id, sizeof(id), "%" PRIu64, maxid + 1);

	struct qsnap *ns = realloc(q->snaps, (q->nsnaps + 1) * sizeof(*ns));
	if (!ns)
		return err_set(errp, ENOMEM, "out of memory");
	q->snaps = ns;
	struct qsnap *s = &q->snaps[q->nsnaps];
	memset(s, 0, sizeof(*s));
	s->id = strdup(id);
	s->name = strdup(name);
	s->extra_size = 24;
	s->extra = calloc(1, 24);
	if (!s->id || !s->name || !s->extra) {
		free(s->id);
		free(s->name);
		free(s->extra);
		return err_set(errp, ENOMEM, "out of memory");
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->date_sec = (uint32_t)ts.tv_sec;
	s->date_nsec = (uint32_t)ts.tv_nsec;
	s->disk_size = bd->size;
	st64(s->extra + 8, bd->size);
	st64(s->extra + 16, UINT64_MAX);  /* no icount recorded */
	s->l1_size = q->l1_size;

	uint64_t old_cl = table_clusters(q), old_off = q->snap_off;
	int rc = 0;
	uint64_t ncl = q_clusters(q, (uint64_t)q->l1_size * 8);
	if (ncl) {
		uint64_t *copy = calloc(ncl << q->cluster_bits, 1);
		if (!copy)
			rc = -ENOMEM;
		for (uint32_t i = 0; copy && i < q->l1_size; i++)
			copy[i] = htobe64(q->l1[i] & ~OFLAG_COPIED);
		if (!rc)
			rc = q_alloc(q, ncl, &s->l1_off);
		if (!rc)
			rc = q_pwrite_full(q, copy, ncl << q->cluster_bits,
					   s->l1_off);
		free(copy);
	}
	if (!rc)
		rc = q_update_l1_refcounts(q, q->l1, q->l1_size, 1);
	if (!rc) {
		q->nsnaps++;
		rc = write_table(q, q->nsnaps - 1);
		if (rc) {
			q->nsnaps--;
		} else if (old_cl) {
			rc = q_rc_update(q, old_off, old_cl, -1);
		}
	}
	if (!rc)
		rc = fix_l1_copied(q);
	if (rc) {
		if (s == &q->snaps[q->nsnaps]) {
			free(s->id);
			free(s->name);
			free(s->extra);
		}
		return err_sys(errp, -rc, "disk `%s`: cannot create snapshot "
			       "`%s`", q->path, name);
	}
	return 0;
}

/* Whether refcount r of a cluster some table references allows apply's
 * +1 (snapshot) or -1 (active disk). */
static bool rc_usable(uint16_t r)
{
	return r >= 1 && r < 0xffff;
}

/* Every L2 table and cluster the L1 table l1 (n entries) reaches lies in
 * the file, aligned, off the fixed metadata, with a usable refcount:
 * what apply's refcount passes need to run to the end.  0 or -errno with
 * *why set. */
static int check_l1_refs(struct qcow2 *q, const uint64_t *l1, uint32_t n,
			 const char **why)
{
	uint32_t cs = q->cluster_size, l2n = 1u << q->l2_bits;
	uint64_t fcl = q_clusters(q, q->file_size);
	uint64_t *tab = malloc(cs);
	if (!tab)
		return -ENOMEM;
	int rc = 0;
	uint16_t r;
	for (uint32_t i = 0; i < n && !rc; i++) {
		uint64_t l2off = l1[i] & OFFSET_MASK;
		if (!l2off)
			continue;
		if ((l2off & (cs - 1)) || (l2off >> q->cluster_bits) >= fcl ||
		    q_overlaps_meta(q, l2off, cs)) {
			*why = "an L2 table offset is unaligned, beyond the "
			       "end of the file or on other metadata";
			rc = -EINVAL;
			break;
		}
		rc = q_rc_get(q, l2off >> q->cluster_bits, &r);
		if (!rc && !rc_usable(r)) {
			*why = "an L2 table's refcount is wrong (run check -r "
			       "all)";
			rc = -EINVAL;
		}
		if (!rc)
			rc = q_pread_full(q, tab, cs, l2off);
		for (uint32_t j = 0; j < l2n && !rc; j++) {
			uint64_t e = be64toh(tab[j]), off;
			uint64_t k = q_entry_clusters(q, e, &off);
			if (!k)
				continue;
			uint64_t c0 = off >> q->cluster_bits;
			if (c0 >= fcl || k > fcl - c0 ||
			    (!(e & OFLAG_COMPRESSED) && (off & (cs - 1)))) {
				*why = "a data cluster is unaligned or beyond "
				       "the end of the file";
				rc = -EINVAL;
				break;
			}
			for (uint64_t c = c0; c < c0 + k && !rc; c++) {
				rc = q_rc_get(q, c, &r);
				if (!rc && !rc_usable(r)) {
					*why = "a data cluster's refcount is "
					       "wrong (run check -r all)";
					rc = -EINVAL;
				}
			}
		}
	}
	free(tab);
	return rc;
}

/* Everything apply depends on, checked before it changes a byte: a
 * snapshot that would fail half-way or leave a header that open refuses
 * is not applied. */
static int validate_apply(struct qcow2 *q, const struct qsnap *s,
			  const uint64_t *sl1, struct err *errp)
{
	uint64_t per_l1 = (uint64_t)q->cluster_size << q->l2_bits;
	uint32_t n = s->l1_size > q->l1_size ? s->l1_size : q->l1_size;
	const char *why = NULL;
	if (s->disk_size > (uint64_t)INT64_MAX ||
	    (s->disk_size + per_l1 - 1) / per_l1 > n)
		why = "its virtual size is larger than its L1 table covers";
	else if ((uint64_t)s->l1_size * 8 > MAX_L1_BYTES ||
		 (s->l1_size && ((s->l1_off & (q->cluster_size - 1)) ||
				 !s->l1_off || s->l1_off > q->file_size ||
				 (uint64_t)s->l1_size * 8 >
				 q->file_size - s->l1_off)))
		why = "its L1 table is unaligned, too large or beyond the end "
		      "of the file";
	int rc = why ? -EINVAL : check_l1_refs(q, sl1, s->l1_size, &why);
	if (!rc && check_l1_refs(q, q->l1, q->l1_size, &why) == -EINVAL)
		return err_set(errp, EINVAL, "disk `%s`: the active disk's "
			       "tables are inconsistent (%s); snapshot `%s` "
			       "not applied", q->path, why, s->name);
	if (rc == -EINVAL)
		return err_set(errp, EINVAL, "disk `%s`: snapshot `%s` is "
			       "inconsistent (%s); not applied", q->path,
			       s->name, why);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: cannot read snapshot "
			       "`%s`", q->path, s->name);
	return 0;
}

int qcow2_snapshot_apply(struct block_dev *bd, const char *name_or_id,
			 struct err *errp)
{
	struct qcow2 *q = writable(bd, errp);
	if (!q)
		return -EINVAL;
	struct qsnap *s = find(q, name_or_id);
	if (!s)
		return err_set(errp, ENOENT, "disk `%s`: no snapshot `%s`",
			       q->path, name_or_id);
	uint64_t *sl1 = NULL;
	int rc = read_l1(q, s->l1_off, s->l1_size, &sl1);
	if (!rc) {
		int vr = validate_apply(q, s, sl1, errp);
		if (vr) {
			free(sl1);
			return vr;
		}
	}
	if (!rc)
		rc = q_update_l1_refcounts(q, sl1, s->l1_size, 1);
	if (rc)
		goto out;
	uint64_t *old = q->l1;
	uint32_t oldn = q->l1_size;
	uint32_t n = s->l1_size > q->l1_size ? s->l1_size : q->l1_size;
	uint64_t *nl1 = calloc(n ? n : 1, 8);
	if (!nl1) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		nl1[i] = sl1[i] & ~OFLAG_COPIED;
	if (n > q->l1_size) {
		uint64_t ncl = q_clusters(q, (uint64_t)n * 8), off;
		uint64_t old_off = q->l1_off;
		uint64_t ocl = q_clusters(q, (uint64_t)oldn * 8);
		rc = q_alloc(q, ncl, &off);
		if (!rc) {
			/* Table content first, then the header points at it. */
			q->l1 = nl1;
			q->l1_off = off;
			q->l1_size = n;
			rc = fix_l1_copied(q);
		}
		if (!rc) {
			uint8_t h[12];
			st32(h, n);
			st64(h + 4, off);
			rc = q_pwrite_full(q, h, 12, H_L1_SIZE);
		}
		if (rc) {
			q->l1 = old;
			q->l1_off = old_off;
			q->l1_size = oldn;
		} else if (ocl) {
			/* Failing here only leaks the old table. */
			(void)q_rc_update(q, old_off, ocl, -1);
		}
	} else {
		q->l1 = nl1;
		rc = fix_l1_copied(q);
		if (rc)
			q->l1 = old;
	}
	if (rc) {
		free(nl1);
		goto out;
	}
	rc = q_update_l1_refcounts(q, old, oldn, -1);
	free(old);
	if (!rc)
		rc = q_update_l1_refcounts(q, q->l1, q->l1_size, 0);
	if (!rc)
		rc = fix_l1_copied(q);
	if (!rc && s->disk_size != bd->size) {
		uint8_t b[8];
		st64(b, s->disk_size);
		rc = q_pwrite_full(q, b, 8, H_SIZE);
		if (!rc)
			bd->size = s->disk_size;
	}
out:
	free(sl1);
	q_l2_drop_cache(q);
	q->zout_entry = 0;
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: cannot apply snapshot "
			       "`%s`", q->path, name_or_id);
	return 0;
}

int qcow2_snapshot_delete(struct block_dev *bd, const char *name_or_id,
			  struct err *errp)
{
	struct qcow2 *q = writable(bd, errp);
	if (!q)
		return -EINVAL;
	struct qsnap *s = find(q, name_or_id);
	if (!s)
		return err_set(errp, ENOENT, "disk `%s`: no snapshot `%s`",
			       q->path, name_or_id);
	struct qsnap gone = *s;
	uint64_t old_cl = table_clusters(q), old_off = q->snap_off;
	uint32_t idx = s - q->snaps;
	memmove(s, s + 1, (q->nsnaps - idx - 1) * sizeof(*s));
	q->nsnaps--;
	int rc = write_table(q, q->nsnaps + 1);
	if (rc) {
		memmove(q->snaps + idx + 1, q->snaps + idx,
			(q->nsnaps - idx) * sizeof(*s));
		q->snaps[idx] = gone;
		q->nsnaps++;
		return err_sys(errp, -rc, "disk `%s`: cannot delete snapshot "
			       "`%s`", q->path, name_or_id);
	}
	if (old_cl)
		rc = q_rc_update(q, old_off, old_cl, -1);
	uint64_t *sl1 = NULL;
	if (!rc)
		rc = read_l1(q, gone.l1_off, gone.l1_size, &sl1);
	if (!rc)
		rc = q_update_l1_refcounts(q, sl1, gone.l1_size, -1);
	free(sl1);
	uint64_t lcl = q_clusters(q, (uint64_t)gone.l1_size * 8);
	if (!rc && lcl)
		rc = q_rc_update(q, gone.l1_off, lcl, -1);
	if (!rc)
		rc = q_update_l1_refcounts(q, q->l1, q->l1_size, 0);
	if (!rc)
		rc = fix_l1_copied(q);
	free(gone.id);
	free(gone.name);
	free(gone.extra);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: snapshot `%s` deleted, "
			       "but freeing its clusters failed (run check -r)",
			       q->path, name_or_id);
	return 0;
}
