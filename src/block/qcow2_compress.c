/* Writing compressed clusters (spec: "Compressed Clusters Descriptor"):
 * raw deflate with a 4 KiB window, as QEMU writes them, packed one after
 * another at 512-byte granularity. */
#include "qcow2_int.h"

#include <errno.h>
#include <zlib.h>

/* Deflate src (cs bytes) into dst (room bytes); 0 if it does not fit. */
static size_t deflate_cluster(const void *src, size_t cs, uint8_t *dst,
			      size_t room)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)cs;
	z.next_out = dst;
	z.avail_out = (uInt)room;
	int zr = deflate(&z, Z_FINISH);
	size_t n = z.total_out;
	deflateEnd(&z);
	return zr == Z_STREAM_END ? n : 0;
}

int qcow2_write_compressed(struct block_dev *bd, uint64_t off,
			   const void *buf, size_t len, struct err *errp)
{
	struct qcow2 *q = q_get(bd, errp);
	if (!q)
		return -EINVAL;
	if (bd->read_only)
		return err_set(errp, EROFS, "disk `%s` is read-only", q->path);
	uint32_t cs = q->cluster_size;
	if (off % cs || off >= bd->size || len > bd->size - off ||
	    (len != cs && off + len != bd->size) || !len)
		return err_set(errp, EINVAL, "disk `%s`: compressed writes take "
			       "whole clusters", q->path);
	const void *src = buf;
	if (len < cs) {
		memcpy(q->cow_tail, buf, len);
		memset(q->cow_tail + len, 0, cs - len);
		src = q->cow_tail;
	}
	size_t csz = deflate_cluster(src, cs, q->zin, cs - 512);
	if (!csz) {
		int rc = bd->drv->pwrite(bd, buf, len, off);
		return rc ? err_sys(errp, -rc, "disk `%s`: write failed",
				    q->path) : 0;
	}
	uint64_t vc = off >> q->cluster_bits;
	struct l2_slot *s;
	int rc = q_l2_writable(q, vc >> q->l2_bits, &s);
	uint64_t host = 0, hcl = 0, nhcl = 0;
	uint32_t room = q->cbuf_off ? cs - (q->cbuf_off & (cs - 1)) : 0;
	if (!rc && q->cbuf_off && (q->cbuf_off & (cs - 1)) && csz <= room) {
		/* Shares the cluster of the previous compressed data. */
		host = q->cbuf_off;
		hcl = host & ~(uint64_t)(cs - 1);
		nhcl = 1;
		rc = q_rc_update(q, hcl, 1, 1);
	} else if (!rc) {
		nhcl = (csz + cs - 1) / cs;
		rc = q_alloc(q, nhcl, &host);
		hcl = host;
	}
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: compressed write failed",
			       q->path);
	rc = q_pwrite_full(q, q->zin, csz, host);
	if (rc) {
		/* Take back the reference, or a full disk leaks it. */
		(void)q_rc_update(q, hcl, nhcl, -1);
		return err_sys(errp, -rc, "disk `%s`: compressed write failed",
			       q->path);
	}
	uint64_t end = (host + csz + 511) & ~UINT64_C(511);
	q->cbuf_off = (end & (cs - 1)) ? end : 0;
	uint64_t nsect = ((host + csz - 1) >> 9) - (host >> 9);
	uint64_t e = host | (nsect << q->csize_shift) | OFLAG_COMPRESSED;
	uint32_t l2i = vc & ((1u << q->l2_bits) - 1);
	uint64_t old = be64toh(s->tab[l2i]);
	s->tab[l2i] = htobe64(e);
	rc = q_pwrite_full(q, &s->tab[l2i], 8, s->off + (uint64_t)l2i * 8);
	if (rc) {
		s->tab[l2i] = htobe64(old);
		(void)q_rc_update(q, hcl, nhcl, -1);
	} else {
		rc = q_free_entry(q, old);
	}
	q->zout_entry = 0;
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: compressed write failed",
			       q->path);
	return 0;
}
