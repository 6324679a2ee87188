/* Creating empty qcow2 images: header cluster, refcount table, refcount
 * blocks, L1 table, in that order.  Spec: "Header". */
#include "qcow2_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int qcow2_create(const char *path, uint64_t size,
		 const struct qcow2_create_opts *o, struct err *errp)
{
	struct qcow2_create_opts def = { 0 };
	if (!o)
		o = &def;
	uint32_t cs = o->cluster_size ? o->cluster_size
				      : QCOW2_DEFAULT_CLUSTER_SIZE;
	if (cs < 512 || cs > QCOW2_MAX_CLUSTER_SIZE || (cs & (cs - 1)))
		return err_set(errp, EINVAL, "cluster size %u: must be a power "
			       "of two between 512 bytes and 2 MiB", cs);
	int version = o->version ? o->version : 3;
	if (version != 2 && version != 3)
		return err_set(errp, EINVAL, "qcow2 version %d: must be 2 or 3",
			       version);
	if (o->lazy_refcounts && version < 3)
		return err_set(errp, EINVAL, "lazy refcounts need qcow2 "
			       "version 3");
	if (o->backing_file && strlen(o->backing_file) > MAX_BACKING_NAME)
		return err_set(errp, ENAMETOOLONG, "backing file name longer "
			       "than %u bytes", MAX_BACKING_NAME);
	if (o->backing_fmt && !o->backing_file)
		return err_set(errp, EINVAL, "a backing format needs a backing "
			       "file");
	if (o->backing_file && size == 0) {
		struct block_dev *b;
		int rc = block_open_backing(NULL, path, o->backing_file,
					    o->backing_fmt, &b, errp);
		if (rc)
			return rc;
		size = b->size;
		block_close(b);
	}
	size = (size + 511) & ~UINT64_C(511);
	unsigned bits = __builtin_ctz(cs);
	uint64_t per_l1 = (uint64_t)cs << (bits - 3);
	if (size > (UINT64_C(1) << 56) ||
	    (size + per_l1 - 1) / per_l1 * 8 > MAX_L1_BYTES)
		return err_set(errp, EFBIG, "size too large for cluster size "
			       "%u", cs);
	uint64_t l1_size = (size + per_l1 - 1) / per_l1;
	uint64_t l1_cl = (l1_size * 8 + cs - 1) / cs;
	uint64_t rb_entries = cs / 2;
	/* header, refcount table, refcount blocks, L1 */
	uint64_t rt_cl = 1, rb_n = 1, total;
	for (;;) {
		total = 1 + rt_cl + rb_n + l1_cl;
		uint64_t need_rb = (total + rb_entries - 1) / rb_entries;
		uint64_t need_rt = (need_rb * 8 + cs - 1) / cs;
		if (need_rb == rb_n && need_rt == rt_cl)
			break;
		rb_n = need_rb;
		rt_cl = need_rt;
	}
	if (rt_cl * cs > MAX_RT_BYTES)
		return err_set(errp, EFBIG, "size too large");

	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys(errp, errno, "cannot create `%s`", path);
	struct qcow2 *q = calloc(1, sizeof(*q));
	uint8_t *buf = calloc(rt_cl + rb_n, cs);
	int rc;
	if (!q || !buf) {
		rc = err_set(errp, ENOMEM, "out of memory");
		goto out;
	}
	q->fd = fd;
	q->path = (char *)path;
	q->version = version;
	q->cluster_bits = bits;
	q->cluster_size = cs;
	q->bd.size = size;
	q->l1_size = (uint32_t)l1_size;
	q->l1_off = (1 + rt_cl + rb_n) * cs;
	q->rt_off = cs;
	q->rt_clusters = (uint32_t)rt_cl;
	q->compat = o->lazy_refcounts ? COMPAT_LAZY : 0;
	q->backing_file = (char *)o->backing_file;
	q->backing_fmt = (char *)o->backing_fmt;
	for (uint64_t i = 0; i < rb_n; i++)
		st64(buf + i * 8, (1 + rt_cl + i) * cs);
	for (uint64_t c = 0; c < total; c++)
		st16(buf + rt_cl * cs + c * 2, 1);
	rc = q_write_header(q, errp);
	if (rc)
		goto out;
	rc = q_pwrite_full(q, buf, (rt_cl + rb_n) * cs, cs);
	if (!rc && ftruncate(fd, (off_t)(total * cs)) < 0)
		rc = -errno;
	if (!rc && !(o && o->no_sync) && fsync(fd) < 0)
		rc = -errno;
	if (rc)
		rc = err_sys(errp, -rc, "cannot write `%s`", path);
out:
	free(buf);
	free(q);
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}
