#include "block.h"
#include "dirty.h"
#include "qcow2.h"
#include "core/file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
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

static int probe(const struct block_open_ctx *ctx, int fd,
		 const struct stat *st, const char *path,
		 const struct block_driver **drv, struct err *errp)
{
	uint8_t head[BLOCK_PROBE_BYTES];
	size_t n = sizeof(head);
	/* Tiny files: only their bytes count (the rest reads as zeros). */
	if (S_ISREG(st->st_mode) && (uint64_t)st->st_size < n)
		n = (size_t)st->st_size;
	int rc = block_fd_pread(fd, ctx->dio_align, head, n, 0);
	if (rc)
		return err_sys(errp, -rc, "cannot read disk `%s`", path);
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

void block_lock_release(struct block_dev *bd)
{
	if (!bd->read_only)
		flock(bd->lock_fd, LOCK_UN);
}

int block_lock_take(struct block_dev *bd, struct err *errp)
{
	if (bd->read_only)
		return 0;
	return lock_image(bd->lock_fd, bd->path, false, errp);
}

static bool device_allowed(const struct block_open_ctx *ctx, dev_t rdev)
{
	for (unsigned i = 0; i < ctx->nallow_devs; i++)
		if (ctx->allow_devs[i] == rdev)
			return true;
	return false;
}

/* A backing file's name comes from inside an image, which may be hostile:
 * a FIFO or device there could hang the open or hand the guest a host
 * disk, so only regular files pass, and block devices the user named. */
static int backing_type_ok(const struct block_open_ctx *ctx, const char *path,
			   const struct stat *st, struct err *errp)
{
	if (!S_ISBLK(st->st_mode) || device_allowed(ctx, st->st_rdev))
		return 0;
	return err_set(errp, EPERM, "`%s` is a block device named inside the "
		       "image; refused unless named on the command line too "
		       "(ringvm run --disk FILE,backing-device=%s)", path,
		       path);
}

/* The direct-I/O block size of fd (bytes): statx's DIO alignment, the
 * logical sector size of a block device, 4096 when neither says. */
static unsigned dio_align(int fd, const struct stat *st)
{
	unsigned a = 0;
	if (S_ISBLK(st->st_mode)) {
		int ss = 0;
		if (ioctl(fd, BLKSSZGET, &ss) == 0 && ss > 0)
			a = (unsigned)ss;
	} else {
		struct statx sx;
		if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
			a = sx.stx_dio_offset_align;
			if (sx.stx_dio_mem_align > a)
				a = sx.stx_dio_mem_align;
		}
	}
	if (!a || (a & (a - 1)) || a > 65536)
		a = 4096;
	return a < 512 ? 512 : a;
}

static int open_flags(bool read_only, enum block_cache cache)
{
	int fl = read_only ? O_RDONLY : O_RDWR;
	if (cache == BLOCK_CACHE_NONE)
		fl |= O_DIRECT;
	else if (cache == BLOCK_CACHE_WRITETHROUGH && !read_only)
		fl |= O_DSYNC;
	return fl;
}

static int open_image(struct block_open_ctx *ctx, const char *path,
		      const char *format, bool read_only, bool backing,
		      struct block_dev **out, struct err *errp)
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
		int rc = backing_type_ok(ctx, path, &st, errp);
		if (rc)
			return rc;
	}
	int fd;
	int rc = file_open_checked("disk", path,
				   open_flags(read_only, ctx->cache), true,
				   &fd, &st, errp);
	if (rc == -EINVAL && ctx->cache == BLOCK_CACHE_NONE) {
		err_set(errp, EINVAL, "disk `%s`: the file system does not "
			"support direct I/O (cache=none); use cache=writeback",
			path);
		return rc;
	}
	if (rc)
		return rc;
	/* Again on what was opened: the name may point elsewhere now. */
	if (backing && (rc = backing_type_ok(ctx, path, &st, errp)))
		goto fail;
	/* Before locking: in a cycle the image is already locked by us. */
	for (int i = 0; i < ctx->chain_len; i++) {
		if (ctx->chain[i].dev == st.st_dev &&
		    ctx->chain[i].ino == st.st_ino) {
			rc = err_set(errp, ELOOP, "disk `%s`: the backing chain "
				     "is a cycle", path);
			goto fail;
		}
	}
	if (ctx->chain_len > BLOCK_MAX_CHAIN) {
		rc = err_set(errp, ELOOP, "disk `%s`: backing chain deeper "
			     "than %d images", path, BLOCK_MAX_CHAIN);
		goto fail;
	}
	rc = lock_image(fd, path, read_only, errp);
	if (rc)
		goto fail;
	ctx->dio_align = ctx->cache == BLOCK_CACHE_NONE ? dio_align(fd, &st)
							 : 0;
	bool probed = !drv;
	if (!drv) {
		rc = probe(ctx, fd, &st, path, &drv, errp);
		if (rc)
			goto fail;
	}
	if (ctx->dio_align && drv == &block_raw && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size % ctx->dio_align) {
		/* The first write to a partial last block would pad it,
		 * growing the disk. */
		rc = err_set(errp, EINVAL, "disk `%s`: cache=none needs a size "
			     "that is a multiple of %u bytes (the file "
			     "system's direct I/O block); use cache=writeback",
			     path, ctx->dio_align);
		goto fail;
	}
	char *copy = strdup(path);
	if (!copy) {
		rc = err_set(errp, ENOMEM, "disk `%s`: out of memory", path);
		goto fail;
	}
	ctx->chain[ctx->chain_len].dev = st.st_dev;
	ctx->chain[ctx->chain_len].ino = st.st_ino;
	ctx->chain_len++;
	unsigned align = ctx->dio_align;
	rc = drv->open(fd, path, read_only, ctx, out, errp);
	ctx->chain_len--;
	if (rc) {
		free(copy);
		goto fail;
	}
	struct block_dev *bd = *out;
	bd->path = copy;
	bd->lock_fd = fd;
	bd->cache = ctx->cache;
	bd->dio_align = align;
	bd->l2_cache = ctx->l2_cache;
	pthread_mutex_init(&bd->lock, NULL);
	/* A guest that owns a raw disk owns its first sector; if the format
	 * was probed, a header written there would change what the next open
	 * finds (a qcow2 naming a host file as backing file). */
	(*out)->probe_guard = probed && drv == &block_raw && !read_only;
	bd->nbacking_devs = ctx->nallow_devs;
	memcpy(bd->backing_devs, ctx->allow_devs,
	       ctx->nallow_devs * sizeof(ctx->allow_devs[0]));
	if (!drv->preadv || !drv->pwritev) {
		bd->nbounce = drv->thread_safe ? BLOCK_BOUNCE_POOL : 1;
		/* Page-aligned: under cache=none the driver hands these to
		 * O_DIRECT as they are (malloc's 16-byte alignment sent
		 * every transfer through fd_bounce, 64 KiB at a time). */
		void *pool = NULL;
		if (posix_memalign(&pool, 4096, (size_t)bd->nbounce *
				   BLOCK_BOUNCE_BYTES))
			pool = NULL;
		(*out)->bounce = pool;
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
	struct block_open_ctx ctx = {
		.no_backing = o->no_backing,
		.l2_cache = o->l2_cache,
		.cache = o->cache,
		.nallow_devs = o->nbacking_devices,
	};
	memcpy(ctx.allow_devs, devs, o->nbacking_devices * sizeof(devs[0]));
	return open_image(&ctx, path, o->format, o->read_only, false, out,
			  errp);
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

int block_open_backing(struct block_open_ctx *ctx, const char *child_path,
		       const char *name, const char *fmt,
		       struct block_dev **out, struct err *errp)
{
	struct block_open_ctx fresh = { 0 };
	if (!ctx)
		ctx = &fresh;
	if (ctx->no_backing) {
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
	int rc = open_image(ctx, path, fmt, true, true, out, errp);
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
	struct block_open_ctx ctx = {
		.l2_cache = parent->l2_cache,
		.cache = parent->cache,
		.nallow_devs = parent->nbacking_devs,
	};
	memcpy(ctx.allow_devs, parent->backing_devs,
	       parent->nbacking_devs * sizeof(ctx.allow_devs[0]));
	return block_open_backing(&ctx, parent->path, name, fmt, out, errp);
}

void block_close(struct block_dev *bd)
{
	if (!bd)
		return;
	block_flush(bd);
	block_dirty_stop(bd);
	char *path = bd->path;
	uint8_t *bounce = bd->bounce;
	pthread_mutex_destroy(&bd->lock);
	bd->drv->close(bd);
	free(path);
	free(bounce);
}

int block_freeze(struct block_dev *bd, struct err *errp)
{
	int rc = block_flush(bd);
	if (rc)
		return err_sys(errp, -rc, "disk `%s`: flush", bd->path);
	if (!bd->read_only) {
		while (flock(bd->lock_fd, LOCK_SH | LOCK_NB) < 0) {
			if (errno == EINTR)
				continue;
			/* No flock on this file system: nothing to share. */
			if (errno == ENOLCK || errno == EOPNOTSUPP ||
			    errno == EINVAL)
				break;
			return err_sys(errp, errno, "disk `%s`: cannot share "
				       "its lock", bd->path);
		}
	}
	bd->read_only = true;
	return 0;
}

int block_attach_backing(struct block_dev *top, struct block_dev *backing,
			 struct err *errp)
{
	if (top->backing)
		return err_set(errp, EBUSY, "disk `%s` already has a backing "
			       "file open", top->path);
	if (top->size != backing->size)
		return err_set(errp, EINVAL, "disk `%s`: %llu bytes, its backing "
			       "file `%s` %llu", top->path,
			       (unsigned long long)top->size, backing->path,
			       (unsigned long long)backing->size);
	top->backing = backing;
	return 0;
}

int block_set_path(struct block_dev *bd, const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	free(bd->path);
	bd->path = p;
	return 0;
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

/* Buffered (or already aligned) transfer of the whole vector. */
static int fd_xferv(int fd, struct iovec *v, int iovcnt, uint64_t off,
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

bool block_fd_aligned(unsigned align, const struct iovec *iov, int iovcnt,
		      uint64_t off)
{
	if (!align)
		return true;
	uint64_t m = align - 1;
	if (off & m)
		return false;
	for (int i = 0; i < iovcnt; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & m)
			return false;
	return true;
}

/* Copy n bytes between the stream iov (consumed in place) and flat. */
static void iov_copy(struct iovec **iovp, int *cnt, uint8_t *flat, size_t n,
		     bool from_iov)
{
	struct iovec *v = *iovp;
	while (n && *cnt) {
		size_t k = v->iov_len < n ? v->iov_len : n;
		if (from_iov)
			memcpy(flat, v->iov_base, k);
		else
			memcpy(v->iov_base, flat, k);
		flat += k;
		n -= k;
		v->iov_base = (uint8_t *)v->iov_base + k;
		v->iov_len -= k;
		if (!v->iov_len) {
			v++;
			(*cnt)--;
		}
	}
	*iovp = v;
}

enum { BOUNCE = 64 * 1024 };

/* O_DIRECT transfer of a vector that is not aligned, BOUNCE bytes of
 * aligned file range at a time through a stack buffer.  A write reads the
 * partial blocks at the ends of each piece first. */
static int fd_bounce(int fd, unsigned align, struct iovec *v, int iovcnt,
		     uint64_t off, bool write)
{
	uint8_t space[BOUNCE + 65536];
	uint8_t *buf = (uint8_t *)(((uintptr_t)space + align - 1) &
				   ~(uintptr_t)(align - 1));
	uint64_t len = 0, m = align - 1;
	for (int i = 0; i < iovcnt; i++)
		len += v[i].iov_len;
	while (len) {
		uint64_t a0 = off & ~m;
		uint64_t head = off - a0;
		uint64_t n = BOUNCE - head < len ? BOUNCE - head : len;
		uint64_t a1 = (off + n + m) & ~m;
		struct iovec b = { buf, a1 - a0 };
		int rc;
		if (!write) {
			rc = fd_xferv(fd, &b, 1, a0, false);
			if (rc)
				return rc;
			iov_copy(&v, &iovcnt, buf + head, n, false);
		} else {
			if (head) {
				struct iovec h = { buf, align };
				if ((rc = fd_xferv(fd, &h, 1, a0, false)))
					return rc;
			}
			if ((off + n) & m && (a1 - align > a0 || !head)) {
				struct iovec t = { buf + (a1 - align - a0),
						   align };
				if ((rc = fd_xferv(fd, &t, 1, a1 - align,
						   false)))
					return rc;
			}
			iov_copy(&v, &iovcnt, buf + head, n, true);
			if ((rc = fd_xferv(fd, &b, 1, a0, true)))
				return rc;
		}
		off += n;
		len -= n;
	}
	return 0;
}

int block_fd_xferv(int fd, unsigned align, struct iovec *v, int iovcnt,
		   uint64_t off, bool write)
{
	if (block_fd_aligned(align, v, iovcnt, off))
		return fd_xferv(fd, v, iovcnt, off, write);
	return fd_bounce(fd, align, v, iovcnt, off, write);
}

int block_fd_pread(int fd, unsigned align, void *buf, size_t len,
		   uint64_t off)
{
	struct iovec iov = { buf, len };
	return block_fd_xferv(fd, align, &iov, 1, off, false);
}

int block_fd_pwrite(int fd, unsigned align, const void *buf, size_t len,
		    uint64_t off)
{
	struct iovec iov = { (void *)buf, len };
	return block_fd_xferv(fd, align, &iov, 1, off, true);
}

int block_fd_sync(struct block_dev *bd, int fd)
{
	if (bd->cache == BLOCK_CACHE_UNSAFE)
		return 0;
	while (fdatasync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	__atomic_fetch_add(&bd->syncs, 1, __ATOMIC_RELAXED);
	return 0;
}

static const char *const cache_names[] = {
	[BLOCK_CACHE_WRITEBACK] = "writeback",
	[BLOCK_CACHE_NONE] = "none",
	[BLOCK_CACHE_UNSAFE] = "unsafe",
	[BLOCK_CACHE_WRITETHROUGH] = "writethrough",
};

int block_cache_parse(const char *s, enum block_cache *out)
{
	for (size_t i = 0; i < sizeof(cache_names) / sizeof(*cache_names); i++)
		if (!strcmp(s, cache_names[i])) {
			*out = (enum block_cache)i;
			return 0;
		}
	return -EINVAL;
}

const char *block_cache_name(enum block_cache c)
{
	return (unsigned)c < sizeof(cache_names) / sizeof(*cache_names) ?
	       cache_names[c] : "?";
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

/* Take bd->lock when the driver needs its calls serialised, or when a
 * probe-guarded write reaches the first sector: the guard's
 * read-check-write must not interleave with another such write (two
 * halves of a format signature, each harmless alone).  Returns whether it
 * was taken. */
static bool lock_for(struct block_dev *bd, bool guarded_write, uint64_t off)
{
	if (!bd->drv->thread_safe ||
	    (guarded_write && bd->probe_guard && off < BLOCK_PROBE_BYTES)) {
		pthread_mutex_lock(&bd->lock);
		return true;
	}
	return false;
}

static void unlock_if(struct block_dev *bd, bool locked)
{
	if (locked)
		pthread_mutex_unlock(&bd->lock);
}

static int xferv_locked(struct block_dev *bd, const struct iovec *iov,
			int iovcnt, uint64_t off, uint64_t len, bool write);

/* A free buffer of bd->bounce (*slot: its index, for releasing the bit in
 * bd->bounce_busy), or NULL if all are in use or there are none. */
static uint8_t *bounce_get(struct block_dev *bd, unsigned *slot)
{
	for (unsigned i = 0; bd->bounce && i < bd->nbounce; i++) {
		unsigned bit = 1u << i;
		if (!(__atomic_fetch_or(&bd->bounce_busy, bit,
					__ATOMIC_ACQUIRE) & bit)) {
			*slot = i;
			return bd->bounce + (size_t)i * BLOCK_BOUNCE_BYTES;
		}
	}
	return NULL;
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
	bool locked = lock_for(bd, write, off);
	int rc = xferv_locked(bd, iov, iovcnt, off, len, write);
	unlock_if(bd, locked);
	if (write)
		block_dirty_mark(bd, off, len);
	return rc;
}

static int xferv_locked(struct block_dev *bd, const struct iovec *iov,
			int iovcnt, uint64_t off, uint64_t len, bool write)
{
	if (write) {
		int rc = probe_guard(bd, iov, iovcnt, off, len);
		if (rc)
			return rc;
	}
	if (write && bd->drv->pwritev)
		return bd->drv->pwritev(bd, iov, iovcnt, off);
	if (!write && bd->drv->preadv)
		return bd->drv->preadv(bd, iov, iovcnt, off);
	/* Concurrent calls each take a free buffer of the pool; with none
	 * free they go piece by piece (a pool, not a malloc of up to 1 MiB
	 * per request). */
	unsigned slot = 0;
	uint8_t *buf = len > BLOCK_BOUNCE_BYTES || iovcnt < 2 ? NULL
		     : bounce_get(bd, &slot);
	if (buf) {
		/* One driver call instead of one per guest page: the copy is
		 * far cheaper than a cluster lookup and syscall per piece. */
		uint8_t *b = buf;
		int rc = 0;
		if (write) {
			for (int i = 0; i < iovcnt; b += iov[i++].iov_len)
				memcpy(b, iov[i].iov_base, iov[i].iov_len);
			rc = bd->drv->pwrite(bd, buf, len, off);
		} else {
			rc = bd->drv->pread(bd, buf, len, off);
			for (int i = 0; !rc && i < iovcnt;
			     b += iov[i++].iov_len)
				memcpy(iov[i].iov_base, b, iov[i].iov_len);
		}
		__atomic_fetch_and(&bd->bounce_busy, ~(1u << slot),
				   __ATOMIC_RELEASE);
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
	bool locked = lock_for(bd, false, off);
	int rc = bd->drv->pread(bd, buf, len, off);
	unlock_if(bd, locked);
	return rc;
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
	bool locked = lock_for(bd, true, off);
	int rc = probe_guard(bd, &iov, 1, off, len);
	if (!rc)
		rc = bd->drv->pwrite(bd, buf, len, off);
	unlock_if(bd, locked);
	block_dirty_mark(bd, off, len);
	return rc;
}

int block_flush(struct block_dev *bd)
{
	if (bd->read_only)
		return 0;
	bool locked = lock_for(bd, false, 0);
	int rc = bd->drv->flush(bd);
	unlock_if(bd, locked);
	return rc;
}

int block_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
	if (bd->read_only)
		return -EROFS;
	if (!in_range(bd, off, len))
		return -EINVAL;
	if (!len || !bd->drv->discard)
		return 0;
	bool locked = lock_for(bd, true, off);
	/* raw discards read back as zeros */
	int rc = probe_guard(bd, NULL, 0, off, len);
	if (!rc)
		rc = bd->drv->discard(bd, off, len);
	unlock_if(bd, locked);
	block_dirty_mark(bd, off, len);
	return rc;
}

static int write_zeroes_locked(struct block_dev *bd, uint64_t off,
			       uint64_t len, bool unmap);

int block_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len,
		       bool unmap)
{
	if (bd->read_only)
		return -EROFS;
	if (!in_range(bd, off, len))
		return -EINVAL;
	if (!len)
		return 0;
	bool locked = lock_for(bd, true, off);
	int rc = write_zeroes_locked(bd, off, len, unmap);
	unlock_if(bd, locked);
	block_dirty_mark(bd, off, len);
	return rc;
}

static int write_zeroes_locked(struct block_dev *bd, uint64_t off,
			       uint64_t len, bool unmap)
{
	static const uint8_t zeros[64 * 1024];
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
