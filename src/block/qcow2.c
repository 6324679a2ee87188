/* qcow2: opening (header, header extensions, hostile-input checks), the
 * block_driver table, info, resize and backing file changes.
 * Spec: "Header", "Header extensions". */
#include "qcow2_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int q_pread_full(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	return block_fd_pread(q->fd, q->align, buf, len, off);
}

int q_pwrite_full(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	struct iovec one = { (void *)buf, len };
	return q_pwritev_full(q, &one, 1, off);
}

int q_pwritev_full(struct qcow2 *q, struct iovec *v, int k, uint64_t off)
{
	uint64_t end = off;
	for (int i = 0; i < k; i++)
		end += v[i].iov_len;
	int rc = block_fd_xferv(q->fd, q->align, v, k, off, true);
	if (rc)
		return rc;
	if (end > q->file_size)
		q->file_size = end;
	return 0;
}

void *q_cluster_buf(const struct qcow2 *q)
{
	void *p = NULL;
	return posix_memalign(&p, 4096, q->cluster_size) ? NULL : p;
}

int q_write_meta(struct qcow2 *q, const void *buf, uint64_t off, size_t pos,
		 size_t len)
{
	size_t a = q->align;
	if (a && a <= q->cluster_size && !((uintptr_t)buf & (a - 1))) {
		size_t end = (pos + len + a - 1) & ~(a - 1);
		pos &= ~(a - 1);
		len = end - pos;
	}
	return q_pwrite_full(q, (const uint8_t *)buf + pos, len, off + pos);
}

bool q_overlaps_meta(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	return q_overlap(off, len, 0, q->cluster_size) ||
	       q_overlap(off, len, q->l1_off, (uint64_t)q->l1_size * 8) ||
	       q_overlap(off, len, q->rt_off,
		       (uint64_t)q->rt_clusters << q->cluster_bits) ||
	       (q->nsnaps && q_overlap(off, len, q->snap_off, 1));
}

int q_write_l1_entry(struct qcow2 *q, uint32_t idx)
{
	uint64_t be = htobe64(q->l1[idx]);
	return q_pwrite_full(q, &be, 8, q->l1_off + (uint64_t)idx * 8);
}

void q_lock(struct qcow2 *q)
{
	pthread_mutex_lock(&q->meta);
	q->locked = true;
}

void q_unlock(struct qcow2 *q)
{
	if (q->quiesced) {
		q->quiesced = false;
		pthread_rwlock_unlock(&q->inflight);
	}
	q->locked = false;
	pthread_mutex_unlock(&q->meta);
}

void q_quiesce(struct qcow2 *q)
{
	if (q->locked && !q->quiesced) {
		pthread_rwlock_wrlock(&q->inflight);
		q->quiesced = true;
	}
}

struct qcow2 *q_get(struct block_dev *bd, struct err *errp)
{
	if (!bd || bd->drv != &block_qcow2) {
		err_set(errp, EINVAL, "disk `%s` is not a qcow2 image",
			bd && bd->path ? bd->path : "?");
		return NULL;
	}
	struct qcow2 *q = to_q(bd);
	int rc = q_rc_sync(q);
	if (!rc)
		rc = q_l2_flush(q);
	if (rc) {
		err_sys(errp, -rc, "disk `%s`: writing metadata", q->path);
		return NULL;
	}
	return q;
}

static int q_probe(const uint8_t *head, size_t head_len)
{
	return head_len >= 4 && ld32(head) == QCOW2_MAGIC ? 100 : 0;
}

static const struct {
	uint8_t type, bit;
	const char *name;
} feature_names[] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};

/* Serialise header, extensions and backing name into cluster 0. */
int q_write_header(struct qcow2 *q, struct err *errp)
{
	uint8_t *h = calloc(1, q->cluster_size);
	if (!h)
		return err_set(errp, ENOMEM, "out of memory");
	size_t cs = q->cluster_size;
	uint32_t hl = q->version >= 3 ? 112 : H_V2_LEN;
	st32(h, QCOW2_MAGIC);
	st32(h + H_VERSION, q->version);
	st32(h + H_CLUSTER_BITS, q->cluster_bits);
	st64(h + H_SIZE, q->bd.size);
	st32(h + H_L1_SIZE, q->l1_size);
	st64(h + H_L1_OFF, q->l1_off);
	st64(h + H_RT_OFF, q->rt_off);
	st32(h + H_RT_CLUSTERS, q->rt_clusters);
	st32(h + H_NB_SNAP, q->nsnaps);
	st64(h + H_SNAP_OFF, q->snap_off);
	if (q->version >= 3) {
		st64(h + H_INCOMPAT, q->incompat);
		st64(h + H_COMPAT, q->compat);
		st64(h + H_AUTOCLEAR, q->autoclear);
		st32(h + H_REFCOUNT_ORD, 4);
		st32(h + H_HEADER_LEN, hl);
	}
	size_t pos = hl;
	int rc = 0;
#define ROOM(n) do { if ((n) > cs - pos) goto toolong; } while (0)
	if (q->backing_fmt) {
		size_t n = strlen(q->backing_fmt);
		ROOM(8 + ((n + 7) & ~(size_t)7));
		st32(h + pos, EXT_BACKING_FMT);
		st32(h + pos + 4, (uint32_t)n);
		memcpy(h + pos + 8, q->backing_fmt, n);
		pos += 8 + ((n + 7) & ~(size_t)7);
	}
	if (q->version >= 3) {
		size_t n = 48 * (sizeof(feature_names) /
				 sizeof(feature_names[0]));
		ROOM(8 + n);
		st32(h + pos, EXT_FEATURES);
		st32(h + pos + 4, (uint32_t)n);
		pos += 8;
		for (size_t i = 0; i < n / 48; i++, pos += 48) {
			h[pos] = feature_names[i].type;
			h[pos + 1] = feature_names[i].bit;
			strncpy((char *)h + pos + 2, feature_names[i].name, 46);
		}
	}
	ROOM(q->ext_other_len + 8);
	if (q->ext_other_len)
		memcpy(h + pos, q->ext_other, q->ext_other_len);
	pos += q->ext_other_len;
	pos += 8;  /* end of extensions: zeros */
	if (q->backing_file) {
		size_t n = strlen(q->backing_file);
		ROOM(n);
		st64(h + H_BACKING_OFF, pos);
		st32(h + H_BACKING_SIZE, (uint32_t)n);
		memcpy(h + pos, q->backing_file, n);
		pos += n;
	}
#undef ROOM
	rc = q_pwrite_full(q, h, pos, 0);
	free(h);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: cannot write the header",
			       q->path);
	return 0;
toolong:
	free(h);
	return err_set(errp, ENOSPC, "disk `%s`: header extensions and backing "
		       "file name do not fit in the first cluster", q->path);
}

static void q_free(struct qcow2 *q)
{
	if (q->l2c) {
		for (uint32_t i = 0; i < q->nl2; i++)
			free(q->l2c[i].tab);
		free(q->l2c);
	}
	q_rc_drop_cache(q);
	q_snap_free(q);
	block_close(q->bd.backing);
	free(q->l1);
	free(q->rt);
	free(q->rbs);
	free(q->backing_file);
	free(q->backing_fmt);
	free(q->ext_other);
	free(q->cow_head);
	free(q->cow_tail);
	free(q->zin);
	free(q->zout);
	free(q->path);
	pthread_cond_destroy(&q->alloc_cv);
	pthread_rwlock_destroy(&q->inflight);
	pthread_mutex_destroy(&q->meta);
	free(q);
}

static void q_close(struct block_dev *bd)
{
	struct qcow2 *q = to_q(bd);
	q_rc_sync(q);
	q_l2_flush(q);
	close(q->fd);
	q_free(q);
}

static int q_flush(struct block_dev *bd)
{
	struct qcow2 *q = to_q(bd);
	q_lock(q);
	int rc = q_rc_sync(q);  /* deferred increments */
	bool deferred = false;
	for (uint32_t i = 0; i < q->nl2; i++)
		deferred |= q->l2c[i].dhi != 0;
	/* The refcounts on the disk before any table that names their
	 * clusters (as QEMU orders its caches), then the tables. */
	if (!rc && deferred) {
		rc = block_fd_sync(bd, q->fd);
		if (!rc)
			rc = q_l2_flush(q);
	}
	if (!rc)
		rc = block_fd_sync(bd, q->fd);
	q_unlock(q);
	return rc;
}

static const char *feature_name(const uint8_t *tab, size_t n, int type,
				int bit, char *buf, size_t buflen)
{
	for (size_t i = 0; i + 48 <= n; i += 48) {
		if (tab[i] == type && tab[i + 1] == bit) {
			snprintf(buf, buflen, " (%.46s)", (const char *)tab + i + 2);
			return buf;
		}
	}
	return "";
}

/* Walk the header extensions in cluster 0 (head, hlen bytes valid). */
static int parse_extensions(struct qcow2 *q, const uint8_t *head, size_t hlen,
			    size_t start, const uint8_t **ftab,
			    size_t *ftab_len, struct err *errp)
{
	size_t pos = start;
	for (;;) {
		if (pos + 8 > hlen)
			return err_set(errp, EINVAL, "disk `%s`: header "
				       "extensions run past the first cluster",
				       q->path);
		uint32_t type = ld32(head + pos), len = ld32(head + pos + 4);
		if (type == EXT_END)
			return 0;
		size_t padded = ((size_t)len + 7) & ~(size_t)7;
		if (len > hlen || padded > hlen - pos - 8)
			return err_set(errp, EINVAL, "disk `%s`: header "
				       "extension 0x%08x too long", q->path,
				       type);
		const uint8_t *d = head + pos + 8;
		if (type == EXT_BACKING_FMT) {
			free(q->backing_fmt);
			q->backing_fmt = strndup((const char *)d, len);
			if (!q->backing_fmt)
				return err_set(errp, ENOMEM, "out of memory");
		} else if (type == EXT_FEATURES) {
			*ftab = d;
			*ftab_len = len;
		} else {
			uint8_t *n = realloc(q->ext_other,
					     q->ext_other_len + 8 + padded);
			if (!n)
				return err_set(errp, ENOMEM, "out of memory");
			memcpy(n + q->ext_other_len, head + pos, 8 + padded);
			q->ext_other = n;
			q->ext_other_len += 8 + padded;
		}
		pos += 8 + padded;
	}
}

/* off .. off + len inside the file, without overflow. */
static bool in_file(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	return off <= q->file_size && len <= q->file_size - off;
}

static int read_table(struct qcow2 *q, uint64_t off, uint64_t n,
		      uint64_t **out)
{
	uint64_t *t = calloc(n ? n : 1, 8);
	if (!t)
		return -ENOMEM;
	int rc = q_pread_full(q, t, n * 8, off);
	if (rc) {
		free(t);
		return rc;
	}
	for (uint64_t i = 0; i < n; i++)
		t[i] = be64toh(t[i]);
	*out = t;
	return 0;
}

static int open_header(struct qcow2 *q, bool read_only, struct err *errp)
{
	const char *path = q->path;
	uint8_t fixed[H_V3_LEN];
	if (q->file_size < H_V2_LEN)
		return err_set(errp, EINVAL, "disk `%s`: qcow2 header "
			       "truncated", path);
	int rc = q_pread_full(q, fixed, sizeof(fixed), 0);
	if (rc)
		return err_sys(errp, -rc, "cannot read disk `%s`", path);
	q->version = ld32(fixed + H_VERSION);
	if (q->version != 2 && q->version != 3)
		return err_set(errp, ENOTSUP, "disk `%s`: qcow2 version %d is "
			       "not supported (2 and 3 are)", path, q->version);
	q->cluster_bits = ld32(fixed + H_CLUSTER_BITS);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return err_set(errp, EINVAL, "disk `%s`: cluster_bits %u out "
			       "of range (9-21)", path, q->cluster_bits);
	q->cluster_size = 1u << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->rb_bits = q->cluster_bits - 1;
	q->rb_entries = 1u << q->rb_bits;
	q->csize_shift = 62 - (q->cluster_bits - 8);
	q->csize_mask = (UINT64_C(1) << (q->cluster_bits - 8)) - 1;
	if (ld32(fixed + H_CRYPT))
		return err_set(errp, ENOTSUP, "disk `%s`: encrypted qcow2 "
			       "images are not supported", path);
	if (q->version == 3) {
		if (q->file_size < H_V3_LEN)
			return err_set(errp, EINVAL, "disk `%s`: qcow2 header "
				       "truncated", path);
		q->incompat = ld64(fixed + H_INCOMPAT);
		q->compat = ld64(fixed + H_COMPAT);
		q->autoclear = ld64(fixed + H_AUTOCLEAR);
		uint32_t order = ld32(fixed + H_REFCOUNT_ORD);
		if (order != 4)
			return err_set(errp, ENOTSUP, "disk `%s`: %u-bit "
				       "refcounts are not supported (only "
				       "16-bit)", path, 1u << (order & 31));
		q->header_len = ld32(fixed + H_HEADER_LEN);
		if (q->header_len < H_V3_LEN || q->header_len % 8 ||
		    q->header_len > q->cluster_size)
			return err_set(errp, EINVAL, "disk `%s`: bad header "
				       "length %u", path, q->header_len);
	} else {
		q->header_len = H_V2_LEN;
	}

	size_t hlen = q->cluster_size;
	if (hlen > q->file_size)
		hlen = q->file_size;
	cleanup_free uint8_t *head = malloc(q->cluster_size);
	if (!head)
		return err_set(errp, ENOMEM, "out of memory");
	rc = q_pread_full(q, head, hlen, 0);
	if (rc)
		return err_sys(errp, -rc, "cannot read disk `%s`", path);

	uint64_t boff = ld64(head + H_BACKING_OFF);
	uint32_t blen = ld32(head + H_BACKING_SIZE);
	size_t ext_end = hlen;
	if (boff) {
		if (blen > MAX_BACKING_NAME || boff > hlen ||
		    blen > hlen - boff || boff < q->header_len)
			return err_set(errp, EINVAL, "disk `%s`: backing file "
				       "name outside the first cluster", path);
		ext_end = boff;
		q->backing_file = strndup((const char *)head + boff, blen);
		if (!q->backing_file)
			return err_set(errp, ENOMEM, "out of memory");
	}
	const uint8_t *ftab = NULL;
	size_t ftab_len = 0;
	rc = parse_extensions(q, head, ext_end, q->header_len, &ftab,
			      &ftab_len, errp);
	if (rc)
		return rc;
	uint64_t unknown = q->incompat & ~INCOMPAT_KNOWN;
	if (unknown) {
		int bit = __builtin_ctzll(unknown);
		char nb[64];
		return err_set(errp, ENOTSUP, "disk `%s`: unsupported qcow2 "
			       "incompatible feature bit %d%s", path, bit,
			       feature_name(ftab, ftab_len, 0, bit, nb,
					    sizeof(nb)));
	}
	q->was_dirty = q->incompat & INCOMPAT_DIRTY;
	q->corrupt = q->incompat & INCOMPAT_CORRUPT;
	if (q->corrupt && !read_only)
		return err_set(errp, EINVAL, "disk `%s`: the image is marked "
			       "corrupt; it can only be opened read-only",
			       path);

	/* Virtual size and L1 table. */
	uint64_t size = ld64(head + H_SIZE);
	q->l1_size = ld32(head + H_L1_SIZE);
	q->l1_off = ld64(head + H_L1_OFF);
	if ((uint64_t)q->l1_size * 8 > MAX_L1_BYTES)
		return err_set(errp, EINVAL, "disk `%s`: L1 table too large "
			       "(%u entries)", path, q->l1_size);
	uint64_t per_l1 = (uint64_t)q->cluster_size << q->l2_bits;
	if (size > (uint64_t)INT64_MAX ||
	    (size + per_l1 - 1) / per_l1 > q->l1_size)
		return err_set(errp, EINVAL, "disk `%s`: L1 table too small "
			       "for the virtual size", path);
	if (q->l1_size && (q->l1_off & (q->cluster_size - 1)))
		return err_set(errp, EINVAL, "disk `%s`: L1 table offset not "
			       "aligned to a cluster", path);
	if (q->l1_size && q->l1_off == 0)
		return err_set(errp, EINVAL, "disk `%s`: L1 table overlaps "
			       "the header", path);
	if (!in_file(q, q->l1_off, (uint64_t)q->l1_size * 8))
		return err_set(errp, EINVAL, "disk `%s`: L1 table offset "
			       "beyond the end of the file", path);
	q->bd.size = size;
	rc = read_table(q, q->l1_off, q->l1_size, &q->l1);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: cannot read the L1 "
			       "table", path);

	/* Refcount table. */
	q->rt_off = ld64(head + H_RT_OFF);
	q->rt_clusters = ld32(head + H_RT_CLUSTERS);
	if (q->rt_clusters == 0 ||
	    (uint64_t)q->rt_clusters * q->cluster_size > MAX_RT_BYTES)
		return err_set(errp, EINVAL, "disk `%s`: bad refcount table "
			       "size (%u clusters)", path, q->rt_clusters);
	if (q->rt_off & (q->cluster_size - 1))
		return err_set(errp, EINVAL, "disk `%s`: refcount table "
			       "offset not aligned to a cluster", path);
	if (q->rt_off == 0)
		return err_set(errp, EINVAL, "disk `%s`: refcount table "
			       "overlaps the header", path);
	q->rt_entries = (uint64_t)q->rt_clusters * q->cluster_size / 8;
	if (!in_file(q, q->rt_off, q->rt_entries * 8))
		return err_set(errp, EINVAL, "disk `%s`: refcount table "
			       "offset beyond the end of the file", path);
	rc = read_table(q, q->rt_off, q->rt_entries, &q->rt);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: cannot read the refcount "
			       "table", path);
	for (uint64_t i = 0; i < q->rt_entries; i++)
		q->rt[i] &= RT_OFFSET_MASK;
	bool shared;
	rc = q_rbs_rebuild(q, &shared);
	if (rc)
		return err_set(errp, ENOMEM, "out of memory");
	if (!read_only && shared)
		return err_set(errp, EINVAL, "disk `%s`: two refcount table "
			       "entries point at the same refcount block; it "
			       "can only be opened read-only", path);

	return q_snap_read(q, head, errp);
}

static int q_open(int fd, const char *path, bool read_only,
		  struct block_open_ctx *ctx, struct block_dev **out,
		  struct err *errp)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(errp, errno, "cannot open disk `%s`", path);
	struct qcow2 *q = calloc(1, sizeof(*q));
	if (!q)
		return err_set(errp, ENOMEM, "out of memory");
	q->bd.drv = &block_qcow2;
	pthread_mutex_init(&q->meta, NULL);
	pthread_rwlock_init(&q->inflight, NULL);
	pthread_cond_init(&q->alloc_cv, NULL);
	q->bd.read_only = read_only;
	q->fd = fd;
	q->align = ctx->dio_align;  /* before the backing open changes it */
	q->file_size = st.st_size;
	for (int i = 0; i < RB_SLOTS; i++)
		q->rbc[i].rt_idx = -1;
	q->path = strdup(path);
	int rc = q->path ? open_header(q, read_only, errp)
			 : err_set(errp, ENOMEM, "out of memory");
	if (rc)
		goto fail;

	q->end_cluster = q_clusters(q, q->file_size);
	q->free_hint = 0;
	q->cow_head = q_cluster_buf(q);
	q->cow_tail = q_cluster_buf(q);
	q->zin = malloc(2 * (size_t)q->cluster_size);
	q->zout = malloc(q->cluster_size);
	uint64_t cache = ctx->l2_cache;
	if (!cache) {
		cache = QCOW2_DEFAULT_L2_CACHE_COVER /
			((uint64_t)q->cluster_size << q->l2_bits) *
			q->cluster_size;
		if (cache < (1u << 20))
			cache = 1u << 20;
	}
	uint64_t nl2 = cache / q->cluster_size;
	if (nl2 > q->l1_size)
		nl2 = q->l1_size;
	if (nl2 < 1)
		nl2 = 1;
	q->nl2 = (uint32_t)nl2;
	q->l2c = calloc(q->nl2, sizeof(*q->l2c));
	if (!q->cow_head || !q->cow_tail || !q->zin || !q->zout || !q->l2c) {
		rc = err_set(errp, ENOMEM, "out of memory");
		goto fail;
	}
	q_l2_drop_cache(q);

	if (q->backing_file) {
		rc = block_open_backing(ctx, path, q->backing_file,
					q->backing_fmt,
					&q->bd.backing, errp);
		if (rc)
			goto fail;
	}
	if (!read_only && q->version >= 3 && (q->autoclear || q->was_dirty)) {
		/* Features we do not maintain (bitmaps) stop being valid
		 * once we write. */
		q->autoclear = 0;
		uint8_t z[8] = { 0 };
		rc = q_pwrite_full(q, z, 8, H_AUTOCLEAR);
		if (rc) {
			rc = err_sys(errp, -rc, "disk `%s`: cannot write the "
				     "header", path);
			goto fail;
		}
	}
	*out = &q->bd;
	if (!read_only && q->was_dirty) {
		/* Refcounts may be stale (lazy refcounts): rebuild them. */
		struct qcow2_check_result res;
		q->bd.path = q->path;
		rc = qcow2_check(&q->bd, true, &res, errp);
		q->bd.path = NULL;
		if (rc)
			goto fail;
	}
	return 0;
fail:
	*out = NULL;
	q->fd = -1;
	q_free(q);
	return rc;
}

int qcow2_get_info(struct block_dev *bd, struct qcow2_info *out)
{
	struct qcow2 *q = q_get(bd, NULL);
	if (!q)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->version = q->version;
	out->size = bd->size;
	out->cluster_size = q->cluster_size;
	out->refcount_bits = 16;
	out->backing_file = q->backing_file;
	out->backing_fmt = q->backing_fmt;
	out->dirty = q->was_dirty;
	out->corrupt = q->corrupt;
	out->lazy_refcounts = q->compat & COMPAT_LAZY;
	out->nsnapshots = q->nsnaps;
	out->l1_size = q->l1_size;
	out->file_length = q->file_size;
	out->l2_cache = (uint64_t)q->nl2 * q->cluster_size;
	return 0;
}

int qcow2_set_backing(struct block_dev *bd, const char *backing,
		      const char *fmt, struct err *errp)
{
	struct qcow2 *q = q_get(bd, errp);
	if (!q)
		return -EINVAL;
	if (bd->read_only)
		return err_set(errp, EROFS, "disk `%s` is read-only", q->path);
	if (backing && strlen(backing) > MAX_BACKING_NAME)
		return err_set(errp, ENAMETOOLONG, "disk `%s`: backing file "
			       "name longer than %u bytes", q->path,
			       MAX_BACKING_NAME);
	if (backing && !*backing)
		backing = NULL;
	struct block_dev *nb = NULL;
	if (backing) {
		int rc = block_open_backing_of(bd, backing, fmt, &nb, errp);
		if (rc)
			return rc;
	}
	char *ob = q->backing_file, *of = q->backing_fmt;
	q->backing_file = backing ? strdup(backing) : NULL;
	q->backing_fmt = backing && fmt ? strdup(fmt) : NULL;
	int rc = q_write_header(q, errp);
	if (rc) {
		free(q->backing_file);
		free(q->backing_fmt);
		q->backing_file = ob;
		q->backing_fmt = of;
		block_close(nb);
		return rc;
	}
	free(ob);
	free(of);
	block_close(bd->backing);
	bd->backing = nb;
	q->zout_entry = 0;
	return 0;
}

int qcow2_resize(struct block_dev *bd, uint64_t new_size, struct err *errp)
{
	struct qcow2 *q = q_get(bd, errp);
	if (!q)
		return -EINVAL;
	if (bd->read_only)
		return err_set(errp, EROFS, "disk `%s` is read-only", q->path);
	if (new_size > (UINT64_C(1) << 56))
		return err_set(errp, EFBIG, "disk `%s`: size too large", q->path);
	new_size = (new_size + 511) & ~UINT64_C(511);
	if (new_size < bd->size) {
		uint64_t off = new_size;
		while (off < bd->size) {
			struct block_status st = { 0 };
			int rc = q_status(bd, off, bd->size - off, &st);
			if (rc)
				return err_sys(errp, -rc, "disk `%s`", q->path);
			if (st.flags & BLOCK_STATUS_ALLOCATED)
				return err_set(errp, ENOTSUP, "disk `%s`: "
					       "cannot shrink over allocated "
					       "data", q->path);
			off += st.len;
		}
	}
	uint64_t per_l1 = (uint64_t)q->cluster_size << q->l2_bits;
	uint64_t need = (new_size + per_l1 - 1) / per_l1;
	if (need * 8 > MAX_L1_BYTES)
		return err_set(errp, EFBIG, "disk `%s`: size too large",
			       q->path);
	if (need > q->l1_size) {
		uint64_t bytes = need * 8;
		uint64_t ncl = q_clusters(q, bytes), off;
		uint64_t *nl1 = calloc(ncl << q->cluster_bits, 1);
		if (!nl1)
			return err_set(errp, ENOMEM, "out of memory");
		for (uint32_t i = 0; i < q->l1_size; i++)
			nl1[i] = htobe64(q->l1[i]);
		int rc = q_alloc(q, ncl, &off);
		if (!rc) {
			rc = q_pwrite_full(q, nl1, ncl << q->cluster_bits, off);
			if (!rc) {
				uint8_t b[12];
				st32(b, (uint32_t)need);
				st64(b + 4, off);
				rc = q_pwrite_full(q, b, 12, H_L1_SIZE);
			}
			if (rc)
				(void)q_rc_update(q, off, ncl, -1);
		}
		if (rc) {
			free(nl1);
			return err_sys(errp, -rc, "disk `%s`: cannot grow the "
				       "L1 table", q->path);
		}
		for (uint64_t i = 0; i < need; i++)
			nl1[i] = be64toh(nl1[i]);
		uint64_t old = q->l1_off, oldn = q_clusters(q, q->l1_size * 8);
		free(q->l1);
		q->l1 = nl1;
		q->l1_off = off;
		q->l1_size = (uint32_t)need;
		if (oldn)
			q_rc_update(q, old, oldn, -1);
	}
	uint8_t b[8];
	st64(b, new_size);
	int rc = q_pwrite_full(q, b, 8, H_SIZE);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: cannot write the header",
			       q->path);
	bd->size = new_size;
	return 0;
}

const struct block_driver block_qcow2 = {
	.name = "qcow2",
	.thread_safe = true,  /* see "Threads" in qcow2_int.h */
	.probe = q_probe,
	.open = q_open,
	.pread = q_pread,
	.preadv = q_preadv,
	.pwritev = q_pwritev,
	.pwrite = q_pwrite,
	.flush = q_flush,
	.discard = q_discard,
	.write_zeroes = q_write_zeroes,
	.status = q_status,
	.close = q_close,
};
