/* Raw images: the disk is the file (or host block device) byte for byte. */
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw {
	struct block_dev bd;  /* first: block_dev * <-> struct raw * */
	int fd;
	unsigned align;       /* O_DIRECT block size, 0 = buffered */
	/* Unaligned writes under O_DIRECT read-modify-write whole blocks:
	 * two of them sharing a block must not interleave. */
	pthread_mutex_t rmw;
};

static struct raw *to_raw(struct block_dev *bd)
{
	return (struct raw *)bd;
}

static int raw_probe(const uint8_t *head, size_t head_len)
{
	return 1;  /* anything is a raw image; real formats score higher */
}

/* The caller's vector is const: advance a private copy. */
static int raw_xferv(struct block_dev *bd, const struct iovec *iov_in,
		     int iovcnt, uint64_t off, bool write)
{
	struct raw *r = to_raw(bd);
	struct iovec iov[IOV_MAX];
	memcpy(iov, iov_in, iovcnt * sizeof(*iov));
	if (!write || block_fd_aligned(r->align, iov, iovcnt, off))
		return block_fd_xferv(r->fd, r->align, iov, iovcnt, off,
				      write);
	pthread_mutex_lock(&r->rmw);
	int rc = block_fd_xferv(r->fd, r->align, iov, iovcnt, off, true);
	pthread_mutex_unlock(&r->rmw);
	return rc;
}

static int raw_pread(struct block_dev *bd, void *buf, size_t len,
		     uint64_t off)
{
	struct iovec iov = { buf, len };
	return raw_xferv(bd, &iov, 1, off, false);
}

static int raw_pwrite(struct block_dev *bd, const void *buf, size_t len,
		      uint64_t off)
{
	struct iovec iov = { (void *)buf, len };
	return raw_xferv(bd, &iov, 1, off, true);
}

static int raw_preadv(struct block_dev *bd, const struct iovec *iov,
		      int iovcnt, uint64_t off)
{
	return raw_xferv(bd, iov, iovcnt, off, false);
}

static int raw_pwritev(struct block_dev *bd, const struct iovec *iov,
		       int iovcnt, uint64_t off)
{
	return raw_xferv(bd, iov, iovcnt, off, true);
}

static int raw_flush(struct block_dev *bd)
{
	return block_fd_sync(bd, to_raw(bd)->fd);
}

static int punch(int fd, int mode, uint64_t off, uint64_t len)
{
	while (fallocate(fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off,
			 (off_t)len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int raw_discard(struct block_dev *bd, uint64_t off, uint64_t len)
{
	int rc = punch(to_raw(bd)->fd, FALLOC_FL_PUNCH_HOLE, off, len);
	/* Discard is a hint: a filesystem that cannot punch holes is fine. */
	if (rc == -EOPNOTSUPP || rc == -ENOSYS)
		return 0;
	return rc;
}

static int raw_write_zeroes(struct block_dev *bd, uint64_t off, uint64_t len,
			    bool unmap)
{
	int fd = to_raw(bd)->fd;
	/* A punched hole reads as zeros; ZERO_RANGE keeps the space. */
	int rc = punch(fd, unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE,
		       off, len);
	if (rc == -ENOSYS || rc == -EINVAL || rc == -ENODEV)
		rc = -EOPNOTSUPP;  /* let block_write_zeroes write zeros */
	return rc;
}

static int raw_open(int fd, const char *path, bool read_only,
		    struct block_open_ctx *ctx, struct block_dev **out,
		    struct err *errp)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0)
		return err_sys(errp, errno, "cannot open disk `%s`", path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return err_sys(errp, errno, "disk `%s`: cannot get the "
				       "size of the block device", path);
	} else {
		size = st.st_size;
	}
	struct raw *r = calloc(1, sizeof(*r));
	if (!r)
		return err_set(errp, ENOMEM, "disk `%s`: out of memory", path);
	r->bd.drv = &block_raw;
	r->bd.size = size;
	r->bd.read_only = read_only;
	r->fd = fd;
	r->align = ctx->dio_align;
	pthread_mutex_init(&r->rmw, NULL);
	*out = &r->bd;
	return 0;
}

static void raw_close(struct block_dev *bd)
{
	struct raw *r = to_raw(bd);
	close(r->fd);
	pthread_mutex_destroy(&r->rmw);
	free(r);
}

const struct block_driver block_raw = {
	.name = "raw",
	.thread_safe = true,
	.probe = raw_probe,
	.open = raw_open,
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};
