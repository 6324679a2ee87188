/* Files and directories.  Guest fds are host fds (the guest's open files
 * are the process's own), so dup, pipes, fcntl and ioctl on terminals
 * pass straight through; paths go through path.c (confinement); guest
 * buffers reach the host calls as iovecs of guest pages (mm_iov), so a
 * read() lands directly in guest memory.  Flag values (O_*, AT_*, F_*)
 * are the same on riscv64 and x86-64 (both asm-generic); struct stat is
 * not (asm-generic/stat.h vs x86's), struct statx, dirent64, termios,
 * winsize and statfs are. */
#include "exec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "abi.h"
#include "sys_nr.h"

#define R(x) sys_ret((long)(x))
#define MAX_IOV 64
#define GUEST_IOV_MAX 1024


static long put_stat(struct exec_thread *t, uint64_t va, const struct stat *s)
{
	struct rv_stat r;
	abi_stat_from_host(&r, s);
	return mm_write(T_MM(t), va, &r, sizeof(r)) ? -EFAULT : 0;
}

static bool internal_fd(struct exec_thread *t, long fd)
{
	const struct exec_fs *fs = &t->p->fs;
	if (fd < 0)
		return false;
	if (fd == fs->root_fd)
		return true;
	for (unsigned i = 0; i < fs->nmnt; i++)
		if (fd == fs->mnt[i].fd)
			return true;
	return false;
}

static int gpath(struct exec_thread *t, uint64_t va, char *buf)
{
	return mm_strdup(T_MM(t), va, buf, PATH_MAX);
}

static int gdirfd(uint64_t v)
{
	return (int)v;   /* AT_FDCWD (-100) arrives sign-extended */
}

static long s_openat(struct exec_thread *t, const uint64_t *a)
{
	char p[PATH_MAX];
	int r = gpath(t, a[1], p);
	if (r)
		return r;
	return fs_open(&t->p->fs, gdirfd(a[0]), p, (int)a[2], (unsigned)a[3]);
}

static long s_close(struct exec_thread *t, const uint64_t *a)
{
	if (internal_fd(t, (long)(int)a[0]))
		return -EBADF;
	return R(close((int)a[0]));
}

static long s_close_range(struct exec_thread *t, const uint64_t *a)
{
	/* One fd at a time so ours survive (close_range would take them). */
	unsigned lo = (unsigned)a[0], hi = (unsigned)a[1];
	if (a[2] & ~4ULL)   /* only CLOSE_RANGE_CLOEXEC */
		return -EINVAL;
	if (hi > 65535)
		hi = 65535;
	for (unsigned fd = lo; fd <= hi && fd >= lo; fd++) {
		if (internal_fd(t, fd))
			continue;
		if (a[2])
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		else
			close((int)fd);
	}
	return 0;
}

/* Host iovecs for a guest buffer; *n gets the count. */
static long rw_buf(struct exec_thread *t, uint64_t va, uint64_t len, int acc,
		   struct iovec *iov, int *n)
{
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	*n = mm_iov(T_MM(t), va, len, acc, iov, MAX_IOV);
	return *n < 0 && len ? -EFAULT : 0;
}

static long s_read(struct exec_thread *t, const uint64_t *a)
{
	struct iovec iov[MAX_IOV];
	int n;
	if (!a[2])
		return R(read((int)a[0], NULL, 0));
	long r = rw_buf(t, a[1], a[2], 2, iov, &n);
	return r ? r : R(readv((int)a[0], iov, n));
}

static long s_write(struct exec_thread *t, const uint64_t *a)
{
	struct iovec iov[MAX_IOV];
	int n;
	if (!a[2])
		return R(write((int)a[0], NULL, 0));
	long r = rw_buf(t, a[1], a[2], 1, iov, &n);
	return r ? r : R(writev((int)a[0], iov, n));
}

static long s_pread(struct exec_thread *t, const uint64_t *a)
{
	struct iovec iov[MAX_IOV];
	int n;
	if (!a[2])
		return R(pread((int)a[0], NULL, 0, (off_t)a[3]));
	long r = rw_buf(t, a[1], a[2], 2, iov, &n);
	return r ? r : R(preadv((int)a[0], iov, n, (off_t)a[3]));
}

static long s_pwrite(struct exec_thread *t, const uint64_t *a)
{
	struct iovec iov[MAX_IOV];
	int n;
	if (!a[2])
		return R(pwrite((int)a[0], NULL, 0, (off_t)a[3]));
	long r = rw_buf(t, a[1], a[2], 1, iov, &n);
	return r ? r : R(pwritev((int)a[0], iov, n, (off_t)a[3]));
}

/* readv/writev/preadv/pwritev: the guest's iovec array mapped to host
 * iovecs (identical layout, 16 bytes). */
static long vec(struct exec_thread *t, const uint64_t *a, int acc,
		bool positioned)
{
	uint64_t cnt = a[2];
	if (cnt > GUEST_IOV_MAX)
		return -EINVAL;
	struct { uint64_t base, len; } g[64];
	struct iovec *iov = malloc(sizeof(struct iovec) * MAX_IOV * 4);
	if (!iov)
		return -ENOMEM;
	int n = 0;
	long r = 0;
	for (uint64_t i = 0; i < cnt && !r; i += 64) {
		uint64_t k = cnt - i < 64 ? cnt - i : 64;
		if (mm_read(T_MM(t), a[1] + i * 16, g, k * 16)) {
			r = -EFAULT;
			break;
		}
		for (uint64_t j = 0; j < k && n < MAX_IOV * 4; j++) {
			if (!g[j].len)
				continue;
			int m = mm_iov(T_MM(t), g[j].base, g[j].len, acc,
				       iov + n, MAX_IOV * 4 - n);
			if (m < 0) {
				r = -EFAULT;
				break;
			}
			n += m;
		}
	}
	if (!r) {
		if (positioned)
			r = acc == 2 ? preadv((int)a[0], iov, n, (off_t)a[3]) :
				       pwritev((int)a[0], iov, n, (off_t)a[3]);
		else
			r = acc == 2 ? readv((int)a[0], iov, n) :
				       writev((int)a[0], iov, n);
		r = R(r);
	}
	free(iov);
	return r;
}
static long s_readv(struct exec_thread *t, const uint64_t *a) { return vec(t, a, 2, false); }
static long s_writev(struct exec_thread *t, const uint64_t *a) { return vec(t, a, 1, false); }
static long s_preadv(struct exec_thread *t, const uint64_t *a) { return vec(t, a, 2, true); }
static long s_pwritev(struct exec_thread *t, const uint64_t *a) { return vec(t, a, 1, true); }

static long s_lseek(struct exec_thread *t, const uint64_t *a)
{
	return R(lseek((int)a[0], (off_t)a[1], (int)a[2]));
}

static long s_ioctl(struct exec_thread *t, const uint64_t *a)
{
	int fd = (int)a[0];
	unsigned long req = (unsigned)a[1];
	uint8_t buf[64];
	size_t in = 0, out = 0;
	switch (req) {
	case TCGETS: out = 36; break;
	case TCSETS: case TCSETSW: case TCSETSF: in = 36; break;
	case TIOCGWINSZ: out = 8; break;
	case TIOCSWINSZ: in = 8; break;
	case TIOCGPGRP: case FIONREAD: case TIOCGSID: out = 4; break;
	case TIOCSPGRP: case FIONBIO: case TIOCSCTTY: case TIOCOUTQ:
		if (req == TIOCSCTTY || req == TIOCOUTQ) {
			if (req == TIOCSCTTY)
				return R(ioctl(fd, req, (int)a[2]));
			out = 4;
			break;
		}
		in = 4;
		break;
	case FIOCLEX: case FIONCLEX: case TIOCNOTTY:
		return R(ioctl(fd, req));
	default:
		return -ENOTTY;
	}
	if (in && mm_read(T_MM(t), a[2], buf, in))
		return -EFAULT;
	if (ioctl(fd, req, buf) < 0)
		return -errno;
	if (out && mm_write(T_MM(t), a[2], buf, out))
		return -EFAULT;
	return 0;
}

static long s_dup(struct exec_thread *t, const uint64_t *a)
{
	return R(dup((int)a[0]));
}

static long s_dup3(struct exec_thread *t, const uint64_t *a)
{
	if (internal_fd(t, (int)a[1]))
		return -EBADF;
	return R(dup3((int)a[0], (int)a[1], (int)a[2]));
}

static long s_fcntl(struct exec_thread *t, const uint64_t *a)
{
	int cmd = (int)a[1];
	struct flock fl;
	switch (cmd) {
	case F_GETLK: case F_SETLK: case F_SETLKW:
	case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
		if (mm_read(T_MM(t), a[2], &fl, sizeof(fl)))
			return -EFAULT;
		if (fcntl((int)a[0], cmd, &fl) < 0)
			return -errno;
		return mm_write(T_MM(t), a[2], &fl, sizeof(fl)) ? -EFAULT : 0;
	case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD:
	case F_GETFL: case F_SETFL: case F_GETPIPE_SZ: case F_SETPIPE_SZ:
	case F_ADD_SEALS: case F_GET_SEALS: case F_GETOWN: case F_SETOWN:
	case F_SETSIG: case F_GETSIG: case F_SETLEASE: case F_GETLEASE:
	case F_NOTIFY:
		return R(fcntl((int)a[0], cmd, (long)a[2]));
	default:
		return -EINVAL;
	}
}

static long s_pipe2(struct exec_thread *t, const uint64_t *a)
{
	int fds[2];
	if (pipe2(fds, (int)a[1]))
		return -errno;
	if (mm_write(T_MM(t), a[0], fds, sizeof(fds))) {
		close(fds[0]);
		close(fds[1]);
		return -EFAULT;
	}
	return 0;
}

static long s_getdents64(struct exec_thread *t, const uint64_t *a)
{
	size_t len = a[2] > 65536 ? 65536 : a[2];
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	long r = syscall(SYS_getdents64, (int)a[0], buf, len);
	if (r < 0)
		r = -errno;
	else if (mm_write(T_MM(t), a[1], buf, (size_t)r))
		r = -EFAULT;
	free(buf);
	return r;
}

/* Run fn on (host dirfd, name) for a guest (dirfd, path). */
struct at {
	int fd;
	bool close_it, ro;
	const char *name;
	char path[PATH_MAX];
};

static int at_get(struct exec_thread *t, uint64_t dirfd, uint64_t va,
		  struct at *at)
{
	int r = gpath(t, va, at->path);
	if (r)
		return r;
	return fs_parent(&t->p->fs, gdirfd(dirfd), at->path, &at->fd,
			 &at->close_it, &at->name, &at->ro);
}

static void at_put(struct at *at)
{
	if (at->close_it)
		close(at->fd);
}

static long stat_at(struct exec_thread *t, uint64_t dirfd, uint64_t pva,
		    int flags, struct stat *st)
{
	char p[PATH_MAX];
	int r = gpath(t, pva, p);
	if (r)
		return r;
	if (!p[0]) {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		return R(fstat(gdirfd(dirfd), st));
	}
	if (flags & AT_SYMLINK_NOFOLLOW) {
		struct at at;
		r = at_get(t, dirfd, pva, &at);
		if (r)
			return r;
		r = fstatat(at.fd, at.name, st, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
		at_put(&at);
		return r;
	}
	int fd = fs_open(&t->p->fs, gdirfd(dirfd), p, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = fstat(fd, st) ? -errno : 0;
	close(fd);
	return r;
}

static long s_newfstatat(struct exec_thread *t, const uint64_t *a)
{
	struct stat st;
	long r = stat_at(t, a[0], a[1], (int)a[3], &st);
	return r ? r : put_stat(t, a[2], &st);
}

static long s_fstat(struct exec_thread *t, const uint64_t *a)
{
	struct stat st;
	if (fstat((int)a[0], &st))
		return -errno;
	return put_stat(t, a[1], &st);
}

static long s_statx(struct exec_thread *t, const uint64_t *a)
{
	char p[PATH_MAX];
	struct statx sx;
	int flags = (int)a[2];
	int r = gpath(t, a[1], p);
	if (r)
		return r;
	if (!p[0] && (flags & AT_EMPTY_PATH)) {
		r = statx(gdirfd(a[0]), "", flags, (unsigned)a[3], &sx);
	} else if (!p[0]) {
		return -ENOENT;
	} else if (flags & AT_SYMLINK_NOFOLLOW) {
		struct at at;
		r = at_get(t, a[0], a[1], &at);
		if (r)
			return r;
		r = statx(at.fd, at.name, flags, (unsigned)a[3], &sx);
		at_put(&at);
	} else {
		int fd = fs_open(&t->p->fs, gdirfd(a[0]), p,
				 O_PATH | O_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		r = statx(fd, "", AT_EMPTY_PATH | (flags & ~AT_SYMLINK_NOFOLLOW),
			  (unsigned)a[3], &sx);
		close(fd);
	}
	if (r)
		return -errno;
	return mm_write(T_MM(t), a[4], &sx, sizeof(sx)) ? -EFAULT : 0;
}

static long s_readlinkat(struct exec_thread *t, const uint64_t *a)
{
	struct at at;
	char buf[PATH_MAX];
	char p[PATH_MAX];
	int r = gpath(t, a[1], p);
	if (r)
		return r;
	/* The one magic link programs rely on: the running program. */
	if (!strcmp(p, "/proc/self/exe")) {
		size_t n = strlen(t->p->exe);
		if (n > a[3])
			n = a[3];
		return mm_write(T_MM(t), a[2], t->p->exe, n) ? -EFAULT : (long)n;
	}
	r = at_get(t, a[0], a[1], &at);
	if (r)
		return r;
	ssize_t n = readlinkat(at.fd, at.name, buf,
			       a[3] < sizeof(buf) ? a[3] : sizeof(buf));
	r = n < 0 ? -errno : 0;
	at_put(&at);
	if (r)
		return r;
	return mm_write(T_MM(t), a[2], buf, (size_t)n) ? -EFAULT : n;
}

/* The object a whole guest path names, a final symlink followed inside
 * the root as open does: an O_PATH descriptor (to close) and its /proc
 * name in fp, or -errno.  The calls that follow a last symlink (access,
 * chmod, chown, utimes) use it: the host's own lookup of a link to
 * "/etc/..." would leave the root. */
static int follow(struct exec_thread *t, uint64_t dirfd, uint64_t pva,
		  char fp[32])
{
	char p[PATH_MAX];
	int r = gpath(t, pva, p);
	if (r)
		return r;
	int fd = fs_open(&t->p->fs, gdirfd(dirfd), p, O_PATH | O_CLOEXEC, 0);
	if (fd >= 0)
		snprintf(fp, 32, "/proc/self/fd/%d", fd);
	return fd;
}

static long s_faccessat(struct exec_thread *t, const uint64_t *a)
{
	struct at at;
	int r = at_get(t, a[0], a[1], &at);
	if (r)
		return r;
	int flags = (int)a[3] & (AT_EACCESS | AT_SYMLINK_NOFOLLOW);
	bool ro = at.ro;
	if ((a[2] & W_OK) && ro) {
		r = -EROFS;
	} else if (flags & AT_SYMLINK_NOFOLLOW) {
		r = faccessat(at.fd, at.name, (int)a[2], flags) ? -errno : 0;
	} else {
		char fp[32];
		int fd = follow(t, a[0], a[1], fp);
		if (fd < 0) {
			at_put(&at);
			return fd;
		}
		r = faccessat(AT_FDCWD, fp, (int)a[2], flags) ? -errno : 0;
		close(fd);
	}
	at_put(&at);
	return r;
}

static long s_faccessat3(struct exec_thread *t, const uint64_t *a)
{
	uint64_t b[4] = { a[0], a[1], a[2], 0 };
	return s_faccessat(t, b);
}

/* One modifying *at call on a resolved (fd, name). */
enum at_op { OP_MKDIR, OP_UNLINK, OP_MKNOD, OP_FCHMOD, OP_FCHOWN,
	     OP_UTIMENS, OP_SYMLINK };

static long at_modify(struct exec_thread *t, const uint64_t *a, enum at_op op)
{
	struct at at;
	uint64_t dirfd = op == OP_SYMLINK ? a[1] : a[0];
	uint64_t pva = op == OP_SYMLINK ? a[2] : a[1];
	int r;
	if (op == OP_UTIMENS && !pva)
		goto fd_only;
	r = at_get(t, dirfd, pva, &at);
	if (r)
		return r;
	if (at.ro) {
		at_put(&at);
		return -EROFS;
	}
	/* chmod always follows a final symlink, chown and utimes unless
	 * told not to: through the confined descriptor's /proc name. */
	bool nofollow = (op == OP_FCHOWN && ((int)a[4] & AT_SYMLINK_NOFOLLOW)) ||
			(op == OP_UTIMENS && ((int)a[3] & AT_SYMLINK_NOFOLLOW));
	if ((op == OP_FCHMOD || op == OP_FCHOWN || op == OP_UTIMENS) &&
	    !nofollow) {
		at_put(&at);
		char fp[32];
		int fd = follow(t, dirfd, pva, fp);
		if (fd < 0)
			return fd;
		struct timespec ts[2];
		if (op == OP_FCHMOD)
			r = chmod(fp, (mode_t)a[2]);
		else if (op == OP_FCHOWN)
			r = chown(fp, (uid_t)a[2], (gid_t)a[3]);
		else if (a[2] && mm_read(T_MM(t), a[2], ts, sizeof(ts)))
			r = -1, errno = EFAULT;
		else
			r = utimensat(AT_FDCWD, fp, a[2] ? ts : NULL, 0);
		r = r ? -errno : 0;
		close(fd);
		return r;
	}
	switch (op) {
	case OP_MKDIR:
		r = mkdirat(at.fd, at.name, (mode_t)a[2]);
		break;
	case OP_UNLINK:
		r = unlinkat(at.fd, at.name, (int)a[2]);
		break;
	case OP_MKNOD:
		r = mknodat(at.fd, at.name, (mode_t)a[2], (dev_t)a[3]);
		break;
	case OP_FCHMOD:
		r = fchmodat(at.fd, at.name, (mode_t)a[2], 0);
		break;
	case OP_FCHOWN:
		r = fchownat(at.fd, at.name, (uid_t)a[2], (gid_t)a[3],
			     (int)a[4] & AT_SYMLINK_NOFOLLOW);
		break;
	case OP_UTIMENS: {
		struct timespec ts[2];
		if (a[2] && mm_read(T_MM(t), a[2], ts, sizeof(ts))) {
			at_put(&at);
			return -EFAULT;
		}
		r = utimensat(at.fd, at.name, a[2] ? ts : NULL,
			      (int)a[3] & AT_SYMLINK_NOFOLLOW);
		break;
	}
	case OP_SYMLINK: {
		char target[PATH_MAX];
		r = gpath(t, a[0], target);
		if (r) {
			at_put(&at);
			return r;
		}
		r = symlinkat(target, at.fd, at.name);
		break;
	}
	}
	r = r ? -errno : 0;
	at_put(&at);
	return r;
fd_only: {
	struct timespec ts[2];
	if (a[2] && mm_read(T_MM(t), a[2], ts, sizeof(ts)))
		return -EFAULT;
	return R(futimens(gdirfd(dirfd), a[2] ? ts : NULL));
	}
}
static long s_mkdirat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_MKDIR); }
static long s_unlinkat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_UNLINK); }
static long s_mknodat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_MKNOD); }
static long s_fchmodat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_FCHMOD); }
static long s_fchownat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_FCHOWN); }
static long s_utimensat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_UTIMENS); }
static long s_symlinkat(struct exec_thread *t, const uint64_t *a) { return at_modify(t, a, OP_SYMLINK); }

/* renameat2 / linkat: two resolved names. */
static long two_names(struct exec_thread *t, const uint64_t *a, bool link)
{
	struct at x, y;
	int r = at_get(t, a[0], a[1], &x);
	if (r)
		return r;
	r = at_get(t, a[2], a[3], &y);
	if (r) {
		at_put(&x);
		return r;
	}
	if (x.ro || y.ro)
		r = -EROFS;
	else if (link)
		r = linkat(x.fd, x.name, y.fd, y.name,
			   (int)a[4] & AT_SYMLINK_FOLLOW) ? -errno : 0;
	else
		r = syscall(SYS_renameat2, x.fd, x.name, y.fd, y.name,
			    (unsigned)a[4]) ? -errno : 0;
	at_put(&x);
	at_put(&y);
	return r;
}
static long s_renameat2(struct exec_thread *t, const uint64_t *a) { return two_names(t, a, false); }
static long s_renameat(struct exec_thread *t, const uint64_t *a)
{
	uint64_t b[5] = { a[0], a[1], a[2], a[3], 0 };
	return two_names(t, b, false);
}
static long s_linkat(struct exec_thread *t, const uint64_t *a) { return two_names(t, a, true); }

static long s_fchmod(struct exec_thread *t, const uint64_t *a) { return R(fchmod((int)a[0], (mode_t)a[1])); }
static long s_fchown(struct exec_thread *t, const uint64_t *a) { return R(fchown((int)a[0], (uid_t)a[1], (gid_t)a[2])); }
static long s_ftruncate(struct exec_thread *t, const uint64_t *a) { return R(ftruncate((int)a[0], (off_t)a[1])); }
static long s_fsync(struct exec_thread *t, const uint64_t *a) { return R(fsync((int)a[0])); }
static long s_fdatasync(struct exec_thread *t, const uint64_t *a) { return R(fdatasync((int)a[0])); }
static long s_flock(struct exec_thread *t, const uint64_t *a) { return R(flock((int)a[0], (int)a[1])); }
static long s_fallocate(struct exec_thread *t, const uint64_t *a) { return R(fallocate((int)a[0], (int)a[1], (off_t)a[2], (off_t)a[3])); }
static long s_fadvise(struct exec_thread *t, const uint64_t *a) { return -posix_fadvise((int)a[0], (off_t)a[1], (off_t)a[2], (int)a[3]); }
static long s_sync(struct exec_thread *t, const uint64_t *a) { sync(); return 0; }

static long s_truncate(struct exec_thread *t, const uint64_t *a)
{
	char p[PATH_MAX];
	int r = gpath(t, a[0], p);
	if (r)
		return r;
	int fd = fs_open(&t->p->fs, AT_FDCWD, p, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = ftruncate(fd, (off_t)a[1]) ? -errno : 0;
	close(fd);
	return r;
}

static long s_chdir(struct exec_thread *t, const uint64_t *a)
{
	char p[PATH_MAX];
	int r = gpath(t, a[0], p);
	if (r)
		return r;
	int fd = fs_open(&t->p->fs, AT_FDCWD, p,
			 O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = fchdir(fd) ? -errno : 0;
	close(fd);
	return r;
}

static long s_fchdir(struct exec_thread *t, const uint64_t *a)
{
	return R(fchdir((int)a[0]));
}

static long s_getcwd(struct exec_thread *t, const uint64_t *a)
{
	char g[PATH_MAX];
	int r = fs_getcwd(&t->p->fs, g, sizeof(g));
	if (r)
		return r;
	size_t len = strlen(g) + 1;
	if (len > a[1])
		return -ERANGE;
	return mm_write(T_MM(t), a[0], g, len) ? -EFAULT : (long)len;
}

static long s_statfs(struct exec_thread *t, const uint64_t *a)
{
	char p[PATH_MAX];
	struct statfs sf;
	int r = gpath(t, a[0], p);
	if (r)
		return r;
	int fd = fs_open(&t->p->fs, AT_FDCWD, p, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = fstatfs(fd, &sf) ? -errno : 0;
	close(fd);
	if (r)
		return r;
	return mm_write(T_MM(t), a[1], &sf, sizeof(sf)) ? -EFAULT : 0;
}

static long s_fstatfs(struct exec_thread *t, const uint64_t *a)
{
	struct statfs sf;
	if (fstatfs((int)a[0], &sf))
		return -errno;
	return mm_write(T_MM(t), a[1], &sf, sizeof(sf)) ? -EFAULT : 0;
}

static long s_sendfile(struct exec_thread *t, const uint64_t *a)
{
	off_t off;
	if (a[2] && mm_read(T_MM(t), a[2], &off, sizeof(off)))
		return -EFAULT;
	ssize_t n = sendfile((int)a[0], (int)a[1], a[2] ? &off : NULL,
			     (size_t)a[3]);
	if (n < 0)
		return -errno;
	if (a[2] && mm_write(T_MM(t), a[2], &off, sizeof(off)))
		return -EFAULT;
	return n;
}

static long s_copy_file_range(struct exec_thread *t, const uint64_t *a)
{
	off_t oi, oo;
	if (a[1] && mm_read(T_MM(t), a[1], &oi, 8))
		return -EFAULT;
	if (a[3] && mm_read(T_MM(t), a[3], &oo, 8))
		return -EFAULT;
	ssize_t n = copy_file_range((int)a[0], a[1] ? &oi : NULL, (int)a[2],
				    a[3] ? &oo : NULL, (size_t)a[4],
				    (unsigned)a[5]);
	if (n < 0)
		return -errno;
	if ((a[1] && mm_write(T_MM(t), a[1], &oi, 8)) ||
	    (a[3] && mm_write(T_MM(t), a[3], &oo, 8)))
		return -EFAULT;
	return n;
}

static long s_ppoll(struct exec_thread *t, const uint64_t *a)
{
	uint64_t n = a[1];
	if (n > 4096)
		return -EINVAL;
	struct pollfd *fds = calloc(n ? n : 1, sizeof(*fds));
	struct timespec ts;
	sigset_t mask;
	if (!fds)
		return -ENOMEM;
	long r = 0;
	if (mm_read(T_MM(t), a[0], fds, n * sizeof(*fds)) ||
	    (a[2] && mm_read(T_MM(t), a[2], &ts, sizeof(ts))) ||
	    (a[3] && mm_read(T_MM(t), a[3], &mask, 8)))
		r = -EFAULT;
	if (!r) {
		r = R(syscall(SYS_ppoll, fds, n, a[2] ? &ts : NULL,
			      a[3] ? &mask : NULL, 8));
		if (r >= 0 && mm_write(T_MM(t), a[0], fds, n * sizeof(*fds)))
			r = -EFAULT;
		if (r >= 0 && a[2])
			mm_write(T_MM(t), a[2], &ts, sizeof(ts));
	}
	free(fds);
	return r;
}

static long s_pselect6(struct exec_thread *t, const uint64_t *a)
{
	int n = (int)a[0];
	if (n < 0 || n > FD_SETSIZE)
		return -EINVAL;
	size_t bytes = (size_t)(n + 63) / 64 * 8;
	fd_set s[3];
	struct timespec ts;
	struct { uint64_t set, size; } sm;
	sigset_t mask;
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3; i++)
		if (a[1 + i] && mm_read(T_MM(t), a[1 + i], &s[i], bytes))
			return -EFAULT;
	if (a[4] && mm_read(T_MM(t), a[4], &ts, sizeof(ts)))
		return -EFAULT;
	struct { sigset_t *set; size_t size; } hm = { NULL, 8 };
	if (a[5]) {
		if (mm_read(T_MM(t), a[5], &sm, sizeof(sm)))
			return -EFAULT;
		if (sm.set) {
			if (mm_read(T_MM(t), sm.set, &mask, 8))
				return -EFAULT;
			hm.set = &mask;
		}
	}
	long r = R(syscall(SYS_pselect6, n, a[1] ? &s[0] : NULL,
			   a[2] ? &s[1] : NULL, a[3] ? &s[2] : NULL,
			   a[4] ? &ts : NULL, a[5] ? &hm : NULL));
	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++)
		if (a[1 + i] && mm_write(T_MM(t), a[1 + i], &s[i], bytes))
			return -EFAULT;
	if (a[4])
		mm_write(T_MM(t), a[4], &ts, sizeof(ts));
	return r;
}


static long s_epoll_create1(struct exec_thread *t, const uint64_t *a)
{
	return R(epoll_create1((int)a[0]));
}

static long s_epoll_ctl(struct exec_thread *t, const uint64_t *a)
{
	struct rv_epoll_event g;
	struct epoll_event e = { 0 };
	if (a[3]) {
		if (mm_read(T_MM(t), a[3], &g, sizeof(g)))
			return -EFAULT;
		e.events = g.events;
		e.data.u64 = g.data;
	}
	return R(epoll_ctl((int)a[0], (int)a[1], (int)a[2], a[3] ? &e : NULL));
}

static long s_epoll_pwait(struct exec_thread *t, const uint64_t *a)
{
	int max = (int)a[2];
	if (max <= 0 || max > 1024)
		return -EINVAL;
	struct epoll_event ev[1024];
	struct rv_epoll_event g[64];
	sigset_t mask;
	if (a[4] && mm_read(T_MM(t), a[4], &mask, 8))
		return -EFAULT;
	long r = R(syscall(SYS_epoll_pwait, (int)a[0], ev, max, (int)a[3],
			   a[4] ? &mask : NULL, 8));
	for (long i = 0; i < r; i += 64) {
		long k = r - i < 64 ? r - i : 64;
		for (long j = 0; j < k; j++)
			g[j] = (struct rv_epoll_event){ ev[i + j].events, 0,
							ev[i + j].data.u64 };
		if (mm_write(T_MM(t), a[1] + (uint64_t)i * 16, g,
			     (size_t)k * 16))
			return -EFAULT;
	}
	return r;
}

static long s_eventfd2(struct exec_thread *t, const uint64_t *a)
{
	return R(eventfd((unsigned)a[0], (int)a[1]));
}

static long s_memfd_create(struct exec_thread *t, const uint64_t *a)
{
	char name[256];
	int r = mm_strdup(T_MM(t), a[0], name, sizeof(name));
	if (r)
		return r == -ENAMETOOLONG ? -EINVAL : r;
	return R(memfd_create(name, (unsigned)a[1]));
}

sys_fn sys_fs_lookup(long nr)
{
	switch (nr) {
	case RV_NR_openat: return s_openat;
	case RV_NR_close: return s_close;
	case RV_NR_close_range: return s_close_range;
	case RV_NR_read: return s_read;
	case RV_NR_write: return s_write;
	case RV_NR_pread64: return s_pread;
	case RV_NR_pwrite64: return s_pwrite;
	case RV_NR_readv: return s_readv;
	case RV_NR_writev: return s_writev;
	case RV_NR_preadv: return s_preadv;
	case RV_NR_pwritev: return s_pwritev;
	case RV_NR_lseek: return s_lseek;
	case RV_NR_ioctl: return s_ioctl;
	case RV_NR_dup: return s_dup;
	case RV_NR_dup3: return s_dup3;
	case RV_NR_fcntl: return s_fcntl;
	case RV_NR_pipe2: return s_pipe2;
	case RV_NR_getdents64: return s_getdents64;
	case RV_NR_newfstatat: return s_newfstatat;
	case RV_NR_fstat: return s_fstat;
	case RV_NR_statx: return s_statx;
	case RV_NR_readlinkat: return s_readlinkat;
	case RV_NR_faccessat: return s_faccessat3;
	case RV_NR_faccessat2: return s_faccessat;
	case RV_NR_mkdirat: return s_mkdirat;
	case RV_NR_unlinkat: return s_unlinkat;
	case RV_NR_mknodat: return s_mknodat;
	case RV_NR_fchmodat: return s_fchmodat;
	case RV_NR_fchownat: return s_fchownat;
	case RV_NR_utimensat: return s_utimensat;
	case RV_NR_symlinkat: return s_symlinkat;
	case RV_NR_renameat: return s_renameat;
	case RV_NR_renameat2: return s_renameat2;
	case RV_NR_linkat: return s_linkat;
	case RV_NR_fchmod: return s_fchmod;
	case RV_NR_fchown: return s_fchown;
	case RV_NR_ftruncate: return s_ftruncate;
	case RV_NR_truncate: return s_truncate;
	case RV_NR_fsync: return s_fsync;
	case RV_NR_fdatasync: return s_fdatasync;
	case RV_NR_flock: return s_flock;
	case RV_NR_fallocate: return s_fallocate;
	case RV_NR_fadvise64: return s_fadvise;
	case RV_NR_sync: return s_sync;
	case RV_NR_chdir: return s_chdir;
	case RV_NR_fchdir: return s_fchdir;
	case RV_NR_getcwd: return s_getcwd;
	case RV_NR_statfs: return s_statfs;
	case RV_NR_fstatfs: return s_fstatfs;
	case RV_NR_sendfile: return s_sendfile;
	case RV_NR_copy_file_range: return s_copy_file_range;
	case RV_NR_ppoll: return s_ppoll;
	case RV_NR_pselect6: return s_pselect6;
	case RV_NR_epoll_create1: return s_epoll_create1;
	case RV_NR_epoll_ctl: return s_epoll_ctl;
	case RV_NR_epoll_pwait: return s_epoll_pwait;
	case RV_NR_eventfd2: return s_eventfd2;
	case RV_NR_memfd_create: return s_memfd_create;
	default: return NULL;
	}
}
