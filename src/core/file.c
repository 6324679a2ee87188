#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symbolic link";
	case S_IFREG: return "a regular file";
	default: return "not a regular file";
	}
}

static int check_type(const char *what, const char *path, mode_t mode,
		      bool allow_blockdev, struct err *errp)
{
	if (S_ISREG(mode) || (allow_blockdev && S_ISBLK(mode)))
		return 0;
	if (S_ISDIR(mode))
		return err_sys(errp, EISDIR, "cannot open %s `%s`", what, path);
	return err_set(errp, EINVAL, "%s `%s` is %s, not a regular file%s",
		       what, path, file_kind(mode),
		       allow_blockdev ? " or block device" : "");
}

int file_open_checked(const char *what, const char *path, int flags,
		      bool allow_blockdev, int *fdp, struct stat *out,
		      struct err *errp)
{
	struct stat st;
	*fdp = -1;
	/* Look before opening: opening a FIFO blocks until a writer comes,
	 * and opening some devices does things (rewinds a tape, raises DTR). */
	if (stat(path, &st) < 0)
		return err_sys(errp, errno, "cannot open %s `%s`", what, path);
	int rc = check_type(what, path, st.st_mode, allow_blockdev, errp);
	if (rc)
		return rc;
	int fd;
	do
		fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return err_sys(errp, errno, "cannot open %s `%s`", what, path);
	/* The name may point elsewhere by now: the descriptor decides. */
	if (fstat(fd, &st) < 0) {
		rc = err_sys(errp, errno, "cannot open %s `%s`", what, path);
		goto fail;
	}
	rc = check_type(what, path, st.st_mode, allow_blockdev, errp);
	if (rc)
		goto fail;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = err_sys(errp, errno, "cannot open %s `%s`", what, path);
		goto fail;
	}
	if (out)
		*out = st;
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

int file_read_fd(int fd, size_t max, const char *what, char **buf,
		 size_t *len, struct err *errp)
{
	struct stat st;
	if (fstat(fd, &st))
		return err_sys(errp, errno, "read %s", what);
	if (st.st_size < 0 || (uint64_t)st.st_size > max)
		return err_set(errp, EFBIG, "%s is too large (%lld bytes, at "
			       "most %zu)", what, (long long)st.st_size, max);
	char *b = malloc((size_t)st.st_size + 1);
	if (!b)
		return err_set(errp, ENOMEM, "out of memory");
	ssize_t n = pread(fd, b, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		free(b);
		return err_sys(errp, n < 0 ? errno : EIO, "read %s", what);
	}
	b[n] = '\0';
	*buf = b;
	*len = (size_t)n;
	return 0;
}

int file_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int file_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}
