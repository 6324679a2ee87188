#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every format ringvm knows, probed in order; the best score wins. */
static const struct block_driver *const drivers[] = {
	&block_raw,
};
#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

static const struct block_driver *find_driver(const char *name)
{
	for (size_t i = 0; i < NDRIVERS; i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

static int probe(int fd, const char *path, const struct block_driver **drv,
		 struct err *errp)
{
	uint8_t head[512];
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
	int best = 0;
	*drv = NULL;
	for (size_t i = 0; i < NDRIVERS; i++) {
		int score = drivers[i]->probe(head, n);
		if (score > best) {
			best = score;
			*drv = drivers[i];
		}
	}
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

int block_open_format(const char *path, const char *format, bool read_only,
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

	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return err_sys(errp, errno, "cannot open disk `%s`", path);
	struct stat st;
	int rc;
	if (fstat(fd, &st) < 0) {
		rc = err_sys(errp, errno, "cannot open disk `%s`", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = err_sys(errp, EISDIR, "cannot open disk `%s`", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = err_set(errp, EINVAL, "cannot open disk `%s`: not a "
			     "regular file or block device", path);
		goto fail;
	}
	rc = lock_image(fd, path, read_only, errp);
	if (rc)
		goto fail;
	if (!drv) {
		rc = probe(fd, path, &drv, errp);
		if (rc)
			goto fail;
	}
	rc = drv->open(fd, path, read_only, out, errp);
	if (rc)
		goto fail;
	return 0;
fail:
	close(fd);
	*out = NULL;
	return rc;
}

int block_open(const char *path, bool read_only, struct block_dev **out,
	       struct err *errp)
{
	return block_open_format(path, NULL, read_only, out, errp);
}

void block_close(struct block_dev *bd)
{
	if (!bd)
		return;
	block_flush(bd);
	bd->drv->close(bd);
}

static bool in_range(const struct block_dev *bd, uint64_t off, uint64_t len)
{
	return off <= bd->size && len <= bd->size - off;
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
	if (bd->drv->write_zeroes) {
		int rc = bd->drv->write_zeroes(bd, off, len, unmap);
		if (rc != -EOPNOTSUPP)
			return rc;
	}
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int rc = bd->drv->pwrite(bd, zeros, n, off);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}
