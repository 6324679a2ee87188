#include "block.h"
#include "qcow2.h"
#include "core/file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every format ringvm knows, probed in order; the best score wins. */
static const struct block_driver *const drivers[] = {
	&block_raw,
	&block_qcow2,
};
#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

static const struct block_driver *find_driver(const char *name)
{
	for (size_t i = 0; i < NDRIVERS; i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

/* The format whose probe scores highest on the first n bytes of an image
 * (raw, which matches anything, when no other does).  The same table
 * decides at open and in the sector 0 guard, so every format's signature
 * is covered by both. */
static const struct block_driver *best_driver(const uint8_t *head, size_t n)
{
	int best = 0;
	const struct block_driver *drv = NULL;
	for (size_t i = 0; i < NDRIVERS; i++) {
		int score = drivers[i]->probe(head, n);
		if (score > best) {
			best = score;
			drv = drivers[i];
		}
	}
	return drv;
}

static int probe(int fd, const char *path, const struct block_driver **drv,
		 struct err *errp)
{
	uint8_t head[BLOCK_PROBE_BYTES];
	size_t n = 0;
	while (n < sizeof(head)) {
		ssize_t r = pread(fd, head + n, sizeof(head) - n, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(errp, errno, "cannot read disk `%s`",
				       path);
		if (r == 0)
			break;
		n += r;
	}
	*drv = best_driver(head, n);
	if (!*drv)
		return err_set(errp, EINVAL, "disk `%s`: unknown image format",
			       path);
	return 0;
}

/* A shared lock for readers, an exclusive one for the writer: flock locks
 * belong to the open file description, so this also stops one VM from
 * attaching the same image twice. */
static int lock_image(int fd, const char *path, bool read_only,
		      struct err *errp)
{
	int op = (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB;
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return err_set(errp, EBUSY, "disk `%s` is in use by "
				       "another process (it is locked%s)",
				       path, read_only ? " for writing" : "");
		/* Filesystems without flock (some network ones): go on
		 * unprotected rather than refuse the disk. */
		if (errno == ENOLCK || errno == EOPNOTSUPP || errno == EINVAL)
			return 0;
		return err_sys(errp, errno, "cannot lock disk `%s`", path);
	}
	return 0;
}

/* The files of the backing chain being opened (calls nest through
 * drv->open -> block_open_backing), for depth and cycle checks.  Opening
 * is synchronous and single-threaded. */
static struct { dev_t dev; ino_t ino; } chain[BLOCK_MAX_CHAIN + 1];
static int chain_len;
/* Set while block_open_nochain() opens its image (single-threaded opens). */
static bool no_backing;
/* The host block devices the user named for the open in progress: the
 * only devices a backing file may be (device numbers). */
static dev_t allow_devs[BLOCK_MAX_BACKING_DEVICES];
static unsigned nallow_devs;

static bool device_allowed(dev_t rdev)
{
	for (unsigned i = 0; i < nallow_devs; i++)
		if (allow_devs[i] == rdev)
			return true;
	return false;
}

/* A backing file's name comes from inside an image, which may be hostile:
 * a FIFO or device there could hang the open or hand the guest a host
 * disk, so only regular files pass, and block devices the user named. */
static int backing_type_ok(const char *path, const struct stat *st,
			   struct err *errp)
{
	if (!S_ISBLK(st->st_mode) || device_allowed(st->st_rdev))
		return 0;
	return err_set(errp, EPERM, "`%s` is a block device named inside the "
		       "image; refused unless named on the command line too "
		       "(ringvm run --disk FILE,backing-device=%s)", path,
		       path);
}

static int open_image(const char *path, const char *format, bool read_only,
		      bool backing, struct block_dev **out, struct err *errp)
{
	const struct block_driver *drv = NULL;
	*out = NULL;
	if (format) {
		drv = find_driver(format);
		if (!drv)
			return err_set(errp, EINVAL, "disk `%s`: unknown format "
				       "`%s`", path, format);
	}
	struct stat st;
	if (backing && stat(path, &st) == 0) {
		/* Refused before it is opened (file_open_checked refuses
		 * FIFOs, sockets and character devices itself). */
		int rc = backing_type_ok(path, &st, errp);
		if (rc)
			return rc;
	}
	int fd;
	int rc = file_open_checked("disk", path, read_only ? O_RDONLY : O_RDWR,
				   true, &fd, &st, errp);
	if (rc)
		return rc;
	/* Again on what was opened: the name may point elsewhere now. */
	if (backing && (rc = backing_type_ok(path, &st, errp)))
		goto fail;
	/* Before locking: in a cycle the image is already locked by us. */
	for (int i = 0; i < chain_len; i++) {
		if (chain[i].dev == st.st_dev && chain[i].ino == st.st_ino) {
			rc = err_set(errp, ELOOP, "disk `%s`: the backing chain "
				     "is a cycle", path);
			goto fail;
		}
	}
	if (chain_len > BLOCK_MAX_CHAIN) {
		rc = err_set(errp, ELOOP, "disk `%s`: backing chain deeper "
			     "than %d images", path, BLOCK_MAX_CHAIN);
		goto fail;
	}
	rc = lock_image(fd, path, read_only, errp);
	if (rc)
		goto fail;
	bool probed = !drv;
	if (!drv) {
		rc = probe(fd, path, &drv, errp);
		if (rc)
			goto fail;
	}
	char *copy = strdup(path);
	if (!copy) {
		rc = err_set(errp, ENOMEM, "disk `%s`: out of memory", path);
		goto fail;
	}
	chain[chain_len].dev = st.st_dev;
	chain[chain_len].ino = st.st_ino;
	chain_len++;
	rc = drv->open(fd, path, read_only, out, errp);
	chain_len--;
	if (rc) {
		free(copy);
		goto fail;
	}
	(*out)->path = copy;
	/* A guest that owns a raw disk owns its first sector; if the format
	 * was probed, a header written there would change what the next open
	 * finds (a qcow2 naming a host file as backing file). */
	(*out)->probe_guard = probed && drv == &block_raw && !read_only;
	(*out)->nbacking_devs = nallow_devs;
	memcpy((*out)->backing_devs, allow_devs,
	       nallow_devs * sizeof(allow_devs[0]));
	if (!drv->preadv || !drv->pwritev) {
		(*out)->bounce = malloc(BLOCK_BOUNCE_BYTES);
		if (!(*out)->bounce) {
			block_close(*out);
			*out = NULL;
			return err_set(errp, ENOMEM, "disk `%s`: out of memory",
				       path);
		}
	}
	return 0;
fail:
	close(fd);
	*out = NULL;
	return rc;
}

int block_open_with(const char *path, const struct block_open_opts *o,
		    struct block_dev **out, struct err *errp)
{
	*out = NULL;
	if (o->nbacking_devices > BLOCK_MAX_BACKING_DEVICES)
		return err_set(errp, EINVAL, "disk `%s`: at most %d backing "
			       "devices", path, BLOCK_MAX_BACKING_DEVICES);
	dev_t devs[BLOCK_MAX_BACKING_DEVICES];
	for (unsigned i = 0; i < o->nbacking_devices; i++) {
		const char *d = o->backing_devices[i];
		struct stat st;
		if (stat(d, &st) < 0)
			return err_sys(errp, errno, "disk `%s`: backing device "
				       "`%s`", path, d);
		if (!S_ISBLK(st.st_mode))
			return err_set(errp, EINVAL, "disk `%s`: backing device "
				       "`%s` is %s, not a block device", path,
				       d, file_kind(st.st_mode));
		devs[i] = st.st_rdev;
	}
	/* Nested opens (a driver opening its backing file) see this open's
	 * settings; restored after, so an open inside an open stays exact. */
	dev_t saved[BLOCK_MAX_BACKING_DEVICES];
	unsigned nsaved = nallow_devs;
	bool saved_nb = no_backing;
	memcpy(saved, allow_devs, sizeof(saved));
	memcpy(allow_devs, devs, o->nbacking_devices * sizeof(devs[0]));
	nallow_devs = o->nbacking_devices;
	no_backing = o->no_backing;
	int rc = open_image(path, o->format, o->read_only, false, out, errp);
	memcpy(allow_devs, saved, sizeof(saved));
	nallow_devs = nsaved;
	no_backing = saved_nb;
	return rc;
}

int block_open_format(const char *path, const char *format, bool read_only,
		      struct block_dev **out, struct err *errp)
{
	struct block_open_opts o = { .format = format, .read_only = read_only };
	return block_open_with(path, &o, out, errp);
}

int block_open(const char *path, bool read_only, struct block_dev **out,
	       struct err *errp)
{
	return block_open_format(path, NULL, read_only, out, errp);
}

int block_open_nochain(const char *path, const char *format, bool read_only,
		       struct block_dev **out, struct err *errp)
{
	struct block_open_opts o = { .format = format, .read_only = read_only,
				     .no_backing = true };
	return block_open_with(path, &o, out, errp);
}

int block_open_backing(const char *child_path, const char *name,
		       const char *fmt, struct block_dev **out,
		       struct err *errp)
{
	if (no_backing) {
		*out = NULL;
		return 0;
	}
	char buf[PATH_MAX];
	const char *path = name;
	const char *slash = strrchr(child_path, '/');
	if (name[0] != '/' && slash) {
		int n = snprintf(buf, sizeof(buf), "%.*s/%s",
				 (int)(slash - child_path), child_path, name);
		if (n < 0 || (size_t)n >= sizeof(buf))
			return err_set(errp, ENAMETOOLONG, "disk `%s`: backing "
				       "file name too long", child_path);
		path = buf;
	}
	int rc = open_image(path, fmt, true, true, out, errp);
	/* Chain errors already name the file; prefixing every level of a
	 * 64-deep chain would push the reason out of the message. */
	if (rc && rc != -ELOOP)
		err_prefix(errp, "disk `%s`: backing file", child_path);
	return rc;
}

int block_open_backing_of(struct block_dev *parent, const char *name,
			  const char *fmt, struct block_dev **out,
			  struct err *errp)
{
	dev_t saved[BLOCK_MAX_BACKING_DEVICES];
	unsigned nsaved = nallow_devs;
	memcpy(saved, allow_devs, sizeof(saved));
	memcpy(allow_devs, parent->backing_devs,
	       parent->nbacking_devs * sizeof(allow_devs[0]));
	nallow_devs = parent->nbacking_devs;
	int rc = block_open_backing(parent->path, name, fmt, out, errp);
	memcpy(allow_devs, saved, sizeof(saved));
	nallow_devs = nsaved;
	return rc;
}

void block_close(struct block_dev *bd)
{
	if (!bd)
		return;
	block_flush(bd);
	char *path = bd->path;
	uint8_t *bounce = bd->bounce;
	bd->drv->close(bd);
	free(path);
	free(bounce);
}

int block_status(struct block_dev *bd, uint64_t off, uint64_t len,
		 struct block_status *st)
{
	if (off >= bd->size || len == 0)
		return -EINVAL;
	if (len > bd->size - off)
		len = bd->size - off;
	int depth = 0;
	for (;;) {
		memset(st, 0, sizeof(*st));
		st->path = bd->path;
		if (bd->drv->status) {
			int rc = bd->drv->status(bd, off, len, st);
			if (rc)
				return rc;
		} else {
			st->len = len;
			st->flags = BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_DATA |
				    BLOCK_STATUS_OFFSET;
			st->host_off = off;
		}
		st->depth = depth;
		if (st->flags & BLOCK_STATUS_ALLOCATED)
			return 0;
		/* Unallocated here: the next layer decides, for at most
		 * st->len bytes; beyond the backing file's end reads zeros. */
		struct block_dev *b = bd->backing;
		if (!b || off >= b->size) {
			st->flags = BLOCK_STATUS_ZERO;
			if (b)
				depth++;
			st->depth = depth;
			return 0;
		}
		len = st->len;
		if (len > b->size - off)
			len = b->size - off;
		bd = b;
		depth++;
	}
}

static bool in_range(const struct block_dev *bd, uint64_t off, uint64_t len)
{
	return off <= bd->size && len <= bd->size - off;
}

int block_fd_pread(int fd, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { buf, len };
	return block_fd_xferv(fd, &iov, 1, off, false);
}

int block_fd_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { (void *)buf, len };
	return block_fd_xferv(fd, &iov, 1, off, true);
}

int block_fd_xferv(int fd, struct iovec *v, int iovcnt, uint64_t off,
		   bool write)
{
	while (iovcnt && !v->iov_len) {
		v++;
		iovcnt--;
	}
	while (iovcnt) {
		ssize_t n = write ? pwritev(fd, v, iovcnt, (off_t)off)
				  : preadv(fd, v, iovcnt, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < iovcnt; i++)
				memset(v[i].iov_base, 0, v[i].iov_len);
			return 0;
		}
		off += n;
		while (iovcnt && (size_t)n >= v->iov_len) {
			n -= v->iov_len;
			v++;
			iovcnt--;
		}
		if (iovcnt) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
		}
	}
	return 0;
}

static int iov_total(const struct iovec *iov, int iovcnt, uint64_t *len)
{
	uint64_t n = 0;
	if (iovcnt <= 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > UINT64_MAX - n)
			return -EINVAL;
		n += iov[i].iov_len;
	}
	*len = n;
	return 0;
}

/* The probe guard (bd->probe_guard): would writing iov (or zeros when iov
 * is NULL) over [off, off + len) make the first sector probe as a format
 * other than raw?  Then -EPERM, and nothing is written.  Runs only for
 * writes that touch the first BLOCK_PROBE_BYTES, so costs one small read
 * on those and nothing on the others. */
static int probe_guard(struct block_dev *bd, const struct iovec *iov,
		       int iovcnt, uint64_t off, uint64_t len)
{
	if (!bd->probe_guard || off >= BLOCK_PROBE_BYTES || !len)
		return 0;
	uint8_t head[BLOCK_PROBE_BYTES];
	size_t n = bd->size < sizeof(head) ? (size_t)bd->size : sizeof(head);
	int rc = bd->drv->pread(bd, head, n, 0);
	if (rc)
		return rc;
	uint64_t end = off + len < n ? off + len : n;
	if (!iov) {
		memset(head + off, 0, end - off);
	} else {
		uint64_t pos = off;
		for (int i = 0; i < iovcnt && pos < end; i++) {
			uint64_t k = iov[i].iov_len;
			if (k > end - pos)
				k = end - pos;
			memcpy(head + pos, iov[i].iov_base, k);
			pos += k;
		}
	}
	return best_driver(head, n) == &block_raw ? 0 : -EPERM;
}

static int block_xferv(struct block_dev *bd, const struct iovec *iov,
		       int iovcnt, uint64_t off, bool write)
{
	uint64_t len;
	if (iov_total(iov, iovcnt, &len) || !in_range(bd, off, len))
		return -EINVAL;
	if (write && bd->read_only)
		return -EROFS;
	if (!len)
		return 0;
	if (write) {
		int rc = probe_guard(bd, iov, iovcnt, off, len);
		if (rc)
			return rc;
	}
	if (write && bd->drv->pwritev)
		return bd->drv->pwritev(bd, iov, iovcnt, off);
	if (!write && bd->drv->preadv)
		return bd->drv->preadv(bd, iov, iovcnt, off);
	if (bd->bounce && len <= BLOCK_BOUNCE_BYTES && iovcnt > 1) {
		/* One driver call instead of one per guest page: the copy is
		 * far cheaper than a cluster lookup and syscall per piece. */
		uint8_t *b = bd->bounce;
		int rc = 0;
		if (write) {
			for (int i = 0; i < iovcnt; b += iov[i++].iov_len)
				memcpy(b, iov[i].iov_base, iov[i].iov_len);
			return bd->drv->pwrite(bd, bd->bounce, len, off);
		}
		rc = bd->drv->pread(bd, bd->bounce, len, off);
		for (int i = 0; !rc && i < iovcnt; b += iov[i++].iov_len)
			memcpy(iov[i].iov_base, b, iov[i].iov_len);
		return rc;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		int rc = write ? bd->drv->pwrite(bd, iov[i].iov_base,
						 iov[i].iov_len, off)
			       : bd->drv->pread(bd, iov[i].iov_base,
						iov[i].iov_len, off);
		if (rc)
			return rc;
		off += iov[i].iov_len;
	}
	return 0;
}

int block_preadv(struct block_dev *bd, const struct iovec *iov, int iovcnt,
		 uint64_t off)
{
	return block_xferv(bd, iov, iovcnt, off, false);
}

int block_pwritev(struct block_dev *bd, const struct iovec *iov, int iovcnt,
		  uint64_t off)
{
	return block_xferv(bd, iov, iovcnt, off, true);
}

int block_pread(struct block_dev *bd, void *buf, size_t len, uint64_t off)
{
	if (!in_range(bd, off, len))
		return -EINVAL;
	if (!len)
		return 0;
	return bd->drv->pread(bd, buf, len, off);
}

int block_pwrite(struct block_dev *bd, const void *buf, size_t len,
		 uint64_t off)
{
	if (bd->read_only)
		return -EROFS;
	if (!in_range(bd, off, len))
		return -EINVAL;
	if (!len)
		return 0;
	struct iovec iov = { (void *)buf, len };
	int rc = probe_guard(bd, &iov, 1, off, len);
	if (rc)
		return rc;
	return bd->drv->pwrite(bd, buf, len, off);
}

int block_flush(struct block_dev *bd)
{
	if (bd->read_only)
		return 0;
	return bd->drv->flush(bd);
}

int block_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
	if (bd->read_only)
		return -EROFS;
	if (!in_range(bd, off, len))
		return -EINVAL;
	if (!len || !bd->drv->discard)
		return 0;
	/* raw discards read back as zeros */
	int rc = probe_guard(bd, NULL, 0, off, len);
	if (rc)
		return rc;
	return bd->drv->discard(bd, off, len);
}

int block_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len,
		       bool unmap)
{
	static const uint8_t zeros[64 * 1024];

	if (bd->read_only)
		return -EROFS;
	if (!in_range(bd, off, len))
		return -EINVAL;
	if (!len)
		return 0;
	int rc = probe_guard(bd, NULL, 0, off, len);
	if (rc)
		return rc;
	if (bd->drv->write_zeroes) {
		rc = bd->drv->write_zeroes(bd, off, len, unmap);
		if (rc != -EOPNOTSUPP)
			return rc;
	}
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		rc = bd->drv->pwrite(bd, zeros, n, off);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}
