/* System calls of an x86-64 program in the KVM sandbox.  The numbers and
 * structure layouts are the host's own (both x86-64 Linux), so most calls
 * pass through once every guest pointer is checked against the user
 * range and turned into a host address; paths go through the --root /
 * --mount confinement of path.c; the VMM's own descriptors (/dev/kvm,
 * the VM, the vCPU, the root and mount directories) are invisible to the
 * program (EBADF). */
#include "kvm_int.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define P(va, len) kx_ptr(k, (va), (len))

bool kx_internal_fd(const struct kx *k, long fd)
{
	if (fd == k->kvm || fd == k->vm ||
	    (k->fs.root_fd >= 0 && fd == k->fs.root_fd))
		return true;
	for (unsigned i = 0; i < KX_MAX_CPUS; i++)
		if (k->cpu[i] && fd == k->cpu[i]->fd)
			return true;
	for (unsigned i = 0; i < k->fs.nmnt; i++)
		if (fd == k->fs.mnt[i].fd)
			return true;
	return false;
}

/* A guest descriptor argument: -EBADF for ours. */
#define FD(x) do { if (kx_internal_fd(k, (long)(int)(x))) return -EBADF; } while (0)
#define DIRFD(x) do { if ((int)(x) != AT_FDCWD) FD(x); } while (0)

static long ret(long r)
{
	return r < 0 ? -errno : r;
}

/* Copy a NUL-terminated guest string (at most PATH_MAX bytes). */
static int gstr(struct kx *k, uint64_t va, char *buf)
{
	for (size_t i = 0; i < PATH_MAX; i++) {
		const char *c = P(va + i, 1);
		if (!c)
			return -EFAULT;
		buf[i] = *c;
		if (!*c)
			return 0;
	}
	return -ENAMETOOLONG;
}

static long do_open(struct kx *k, uint64_t dirfd, uint64_t pva, uint64_t flags,
		    uint64_t mode)
{
	char path[PATH_MAX];
	DIRFD(dirfd);
	int r = gstr(k, pva, path);
	if (r)
		return r;
	return fs_open(&k->fs, (int)dirfd, path, (int)flags, (unsigned)mode);
}

/* (dirfd, path) -> host (dirfd, name) confined to the root. */
struct at {
	int fd;
	bool close_it, ro;
	const char *name;
	char path[PATH_MAX];
};

static int at_get(struct kx *k, uint64_t dirfd, uint64_t pva, struct at *at)
{
	if ((int)dirfd != AT_FDCWD && kx_internal_fd(k, (int)dirfd))
		return -EBADF;
	int r = gstr(k, pva, at->path);
	if (r)
		return r;
	return fs_parent(&k->fs, (int)dirfd, at->path, &at->fd, &at->close_it,
			 &at->name, &at->ro);
}

static void at_put(struct at *at)
{
	if (at->close_it)
		close(at->fd);
}

static long do_stat(struct kx *k, uint64_t dirfd, uint64_t pva, uint64_t sva,
		    int flags)
{
	struct stat *st = P(sva, sizeof(*st));
	if (!st)
		return -EFAULT;
	if (flags & AT_EMPTY_PATH) {
		const char *c = P(pva, 1);
		if (c && !*c) {
			FD(dirfd);
			return ret(fstat((int)dirfd, st));
		}
	}
	struct at at;
	int r = at_get(k, dirfd, pva, &at);
	if (r)
		return r;
	long v = ret(fstatat(at.fd, at.name, st, flags & ~AT_EMPTY_PATH));
	at_put(&at);
	return v;
}

static long do_readlink(struct kx *k, uint64_t dirfd, uint64_t pva,
			uint64_t bva, uint64_t len)
{
	char *b = P(bva, len);
	if (!b || !len)
		return b ? -EINVAL : -EFAULT;
	char path[PATH_MAX];
	int r = gstr(k, pva, path);
	if (r)
		return r;
	if (!strcmp(path, "/proc/self/exe")) {
		size_t n = strlen(k->exe_abs);
		n = n < len ? n : len;
		memcpy(b, k->exe_abs, n);
		return (long)n;
	}
	struct at at;
	r = at_get(k, dirfd, pva, &at);
	if (r)
		return r;
	long v = ret(readlinkat(at.fd, at.name, b, len));
	at_put(&at);
	return v;
}

enum op { OP_UNLINK, OP_MKDIR, OP_CHMOD, OP_ACCESS };

static long do_at(struct kx *k, uint64_t dirfd, uint64_t pva, enum op op,
		  uint64_t arg)
{
	struct at at;
	int r = at_get(k, dirfd, pva, &at);
	if (r)
		return r;
	long v;
	if (at.ro && op != OP_ACCESS) {
		v = -EROFS;
	} else {
		switch (op) {
		case OP_UNLINK: v = ret(unlinkat(at.fd, at.name, (int)arg)); break;
		case OP_MKDIR: v = ret(mkdirat(at.fd, at.name, (mode_t)arg)); break;
		case OP_CHMOD: v = ret(fchmodat(at.fd, at.name, (mode_t)arg, 0)); break;
		default: v = ret(faccessat(at.fd, at.name, (int)arg, 0)); break;
		}
	}
	at_put(&at);
	return v;
}

static long do_rename(struct kx *k, uint64_t ofd, uint64_t ova, uint64_t nfd,
		      uint64_t nva, unsigned flags)
{
	struct at a, b;
	int r = at_get(k, ofd, ova, &a);
	if (r)
		return r;
	r = at_get(k, nfd, nva, &b);
	if (r) {
		at_put(&a);
		return r;
	}
	long v = a.ro || b.ro ? -EROFS :
		 ret(syscall(SYS_renameat2, a.fd, a.name, b.fd, b.name, flags));
	at_put(&a);
	at_put(&b);
	return v;
}

static long do_iov(struct kx *k, uint64_t fd, uint64_t va, uint64_t cnt,
		   bool wr, bool pos, uint64_t off)
{
	FD(fd);
	if (cnt > IOV_MAX)
		return -EINVAL;
	const struct iovec *g = P(va, cnt * sizeof(struct iovec));
	if (!g && cnt)
		return -EFAULT;
	struct iovec io[IOV_MAX];
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t b = (uint64_t)(uintptr_t)g[i].iov_base;
		io[i].iov_len = g[i].iov_len;
		io[i].iov_base = g[i].iov_len ? P(b, g[i].iov_len) : NULL;
		if (g[i].iov_len && !io[i].iov_base)
			return -EFAULT;
	}
	if (pos)
		return ret(wr ? pwritev((int)fd, io, (int)cnt, (off_t)off) :
			   preadv((int)fd, io, (int)cnt, (off_t)off));
	return ret(wr ? writev((int)fd, io, (int)cnt) :
		   readv((int)fd, io, (int)cnt));
}

/* Terminal ioctls with known argument sizes; the rest ENOTTY. */
static long do_ioctl(struct kx *k, uint64_t fd, uint64_t req, uint64_t arg)
{
	FD(fd);
	size_t sz;
	switch (req) {
	case TCGETS: case TCSETS: case TCSETSW: case TCSETSF:
		sz = 36; break;      /* the kernel's struct termios */
	case TIOCGWINSZ: case TIOCSWINSZ:
		sz = sizeof(struct winsize); break;
	case FIONREAD: case TIOCGPGRP: case TIOCSPGRP: case FIONBIO:
		sz = sizeof(int); break;
	case FIOCLEX: case FIONCLEX:
		return ret(ioctl((int)fd, req));
	default:
		return -ENOTTY;
	}
	void *p = P(arg, sz);
	if (!p)
		return -EFAULT;
	return ret(ioctl((int)fd, req, p));
}

/* ---- signals ---- */

static long do_sigaction(struct kx *k, uint64_t sig, uint64_t act,
			 uint64_t old, uint64_t size)
{
	if (sig < 1 || sig > 64 || size != 8 || sig == SIGKILL ||
	    (sig == SIGSTOP && act))
		return -EINVAL;
	struct ksa { uint64_t handler, flags, restorer, mask; };
	struct ksa *o = old ? P(old, sizeof(*o)) : NULL;
	const struct ksa *n = act ? P(act, sizeof(*n)) : NULL;
	if ((old && !o) || (act && !n))
		return -EFAULT;
	struct ksa cur = { k->sa[sig].handler, k->sa[sig].flags,
			   k->sa[sig].restorer, k->sa[sig].mask };
	if (n) {
		k->sa[sig].handler = n->handler;
		k->sa[sig].flags = n->flags;
		k->sa[sig].restorer = n->restorer;
		k->sa[sig].mask = n->mask;
	}
	if (o)
		*o = cur;
	return 0;
}

static long do_sigprocmask(struct kx_cpu *c, uint64_t how, uint64_t set,
			   uint64_t old, uint64_t size)
{
	struct kx *k = c->k;
	if (size != 8)
		return -EINVAL;
	uint64_t *o = old ? P(old, 8) : NULL;
	const uint64_t *s = set ? P(set, 8) : NULL;
	if ((old && !o) || (set && !s))
		return -EFAULT;
	uint64_t cur = c->sigmask;
	if (s) {
		uint64_t v = *s & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
		if (how == SIG_BLOCK)
			c->sigmask |= v;
		else if (how == SIG_UNBLOCK)
			c->sigmask &= ~v;
		else if (how == SIG_SETMASK)
			c->sigmask = v;
		else
			return -EINVAL;
	}
	if (o)
		*o = cur;
	return 0;
}

/* A signal the program sends itself (abort, raise): an ignored one is
 * dropped, one with a handler is delivered as the call returns (or, if
 * it cannot be, ends the program like one with the default action). */
static long self_signal(struct kx_cpu *c, uint64_t sig)
{
	struct kx *k = c->k;
	if (sig == 0)
		return 0;
	if (sig > 64)
		return -EINVAL;
	bool ign = k->sa[sig].handler == (uint64_t)(uintptr_t)SIG_IGN;
	bool dfl_ign = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH ||
		       sig == SIGCONT;
	if (ign || (dfl_ign && !k->sa[sig].handler))
		return 0;
	if (k->sa[sig].handler) {
		c->pending |= 1ULL << (sig - 1);
		return 0;
	}
	kx_exit_group(k, (int)sig);
	return 0;
}

/* tkill/tgkill: to this thread as self_signal; to another of the
 * program's threads, pending there and a kick to deliver it. */
static long thread_signal(struct kx_cpu *c, uint64_t tid, uint64_t sig)
{
	struct kx *k = c->k;
	if ((int64_t)tid <= 0)
		return -EINVAL;
	if ((pid_t)tid == c->tid)
		return self_signal(c, sig);
	if (sig > 64)
		return -EINVAL;
	long r = -ESRCH;
	pthread_mutex_lock(&k->lock);
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		struct kx_cpu *o = k->cpu[i];
		if (!o || !atomic_load(&o->busy) || o->done ||
		    o->tid != (pid_t)tid)
			continue;
		r = 0;
		if (!sig || k->sa[sig].handler == (uint64_t)(uintptr_t)SIG_IGN)
			break;
		if (!k->sa[sig].handler) {
			bool dfl_ign = sig == SIGCHLD || sig == SIGURG ||
				       sig == SIGWINCH || sig == SIGCONT;
			pthread_mutex_unlock(&k->lock);
			if (!dfl_ign)
				kx_exit_group(k, (int)sig);
			return 0;
		}
		atomic_fetch_or(&o->pending, 1ULL << (sig - 1));
		kx_kick(o);
		break;
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---- threads ---- */

/* futex(2) on the host word behind the guest's: the guest's threads are
 * host threads of this process, so wait, wake, requeue and PI work as
 * they are.  The fourth argument is a timeout pointer for the waits and
 * a count (val2) for the requeues. */
static long do_futex(struct kx *k, const uint64_t *a)
{
	int cmd = (int)(a[1] & FUTEX_CMD_MASK);
	if (a[0] & 3)
		return -EINVAL;
	void *ua = P(a[0], 4), *ua2 = NULL, *t = NULL;
	if (!ua)
		return -EFAULT;
	switch (cmd) {
	case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2: case FUTEX_WAIT_REQUEUE_PI:
		if (a[3] && !(t = P(a[3], sizeof(struct timespec))))
			return -EFAULT;
		break;
	case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP:
	case FUTEX_CMP_REQUEUE_PI:
		t = (void *)(uintptr_t)a[3];
		break;
	case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_UNLOCK_PI:
	case FUTEX_TRYLOCK_PI:
		break;
	default:
		return -ENOSYS;
	}
	if (cmd == FUTEX_REQUEUE || cmd == FUTEX_CMP_REQUEUE ||
	    cmd == FUTEX_WAKE_OP || cmd == FUTEX_CMP_REQUEUE_PI ||
	    cmd == FUTEX_WAIT_REQUEUE_PI) {
		if ((a[4] & 3) || !(ua2 = P(a[4], 4)))
			return -EFAULT;
	}
	return ret(syscall(SYS_futex, ua, (int)a[1], (uint32_t)a[2], t, ua2,
			   (uint32_t)a[5]));
}

/* clone(flags, stack, ptid, ctid, tls): threads only (CLONE_VM with
 * CLONE_THREAD and CLONE_SIGHAND), each a vCPU on its own host thread. */
static long do_clone(struct kx_cpu *c, const uint64_t *a)
{
	uint64_t fl = a[0];
	uint64_t need = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	if ((fl & need) != need)
		return -ENOSYS;
	if (!c->regs)
		return -EINVAL;
	struct kvm_regs rg = *c->regs;
	rg.rax = 0;
	rg.rip = rg.rcx;
	rg.rflags = (rg.r11 & 0x3c7fd7ULL & ~0x7000ULL) | 0x202;
	if (a[1])
		rg.rsp = a[1];
	return kx_thread(c, &rg, fl & CLONE_SETTLS, a[4],
			 fl & CLONE_PARENT_SETTID ? a[2] : 0,
			 fl & CLONE_CHILD_SETTID ? a[3] : 0,
			 fl & CLONE_CHILD_CLEARTID ? a[3] : 0);
}

static void warn_once(struct kx *k, uint64_t nr)
{
	if (k->cfg->verbose && (nr >= 512 || !k->warned[nr])) {
		if (nr < 512)
			k->warned[nr] = true;
		fprintf(stderr, "ringvm exec: unimplemented system call %llu\n",
			(unsigned long long)nr);
	}
}

long kx_syscall(struct kx_cpu *c, uint64_t nr, const uint64_t *a)
{
	struct kx *k = c->k;
	void *p;
	switch (nr) {
	case SYS_read:
		FD(a[0]);
		if (!(p = P(a[1], a[2])) && a[2])
			return -EFAULT;
		return ret(read((int)a[0], p, a[2]));
	case SYS_write:
		FD(a[0]);
		if (!(p = P(a[1], a[2])) && a[2])
			return -EFAULT;
		return ret(write((int)a[0], p, a[2]));
	case SYS_pread64:
		FD(a[0]);
		if (!(p = P(a[1], a[2])) && a[2])
			return -EFAULT;
		return ret(pread((int)a[0], p, a[2], (off_t)a[3]));
	case SYS_pwrite64:
		FD(a[0]);
		if (!(p = P(a[1], a[2])) && a[2])
			return -EFAULT;
		return ret(pwrite((int)a[0], p, a[2], (off_t)a[3]));
	case SYS_readv: return do_iov(k, a[0], a[1], a[2], false, false, 0);
	case SYS_writev: return do_iov(k, a[0], a[1], a[2], true, false, 0);
	case SYS_preadv: return do_iov(k, a[0], a[1], a[2], false, true, a[3]);
	case SYS_pwritev: return do_iov(k, a[0], a[1], a[2], true, true, a[3]);
	case SYS_open: return do_open(k, (uint64_t)AT_FDCWD, a[0], a[1], a[2]);
	case SYS_creat:
		return do_open(k, (uint64_t)AT_FDCWD, a[0],
			       O_CREAT | O_WRONLY | O_TRUNC, a[1]);
	case SYS_openat: return do_open(k, a[0], a[1], a[2], a[3]);
	case SYS_close:
		FD(a[0]);
		return ret(close((int)a[0]));
	case SYS_fstat:
		FD(a[0]);
		if (!(p = P(a[1], sizeof(struct stat))))
			return -EFAULT;
		return ret(fstat((int)a[0], p));
	case SYS_stat: return do_stat(k, (uint64_t)AT_FDCWD, a[0], a[1], 0);
	case SYS_lstat:
		return do_stat(k, (uint64_t)AT_FDCWD, a[0], a[1],
			       AT_SYMLINK_NOFOLLOW);
	case SYS_newfstatat: return do_stat(k, a[0], a[1], a[2], (int)a[3]);
	case SYS_statx: {
		/* statx(dirfd, path, flags, mask, buf) */
		if (!(p = P(a[4], sizeof(struct statx))))
			return -EFAULT;
		const char *c = P(a[1], 1);
		if ((a[2] & AT_EMPTY_PATH) && c && !*c) {
			FD(a[0]);
			return ret(statx((int)a[0], "", (int)a[2],
					 (unsigned)a[3], p));
		}
		struct at at;
		int r = at_get(k, a[0], a[1], &at);
		if (r)
			return r;
		long v = ret(statx(at.fd, at.name, (int)a[2] & ~AT_EMPTY_PATH,
				   (unsigned)a[3], p));
		at_put(&at);
		return v;
	}
	case SYS_statfs: {
		if (!(p = P(a[1], sizeof(struct statfs))))
			return -EFAULT;
		int fd = (int)do_open(k, (uint64_t)AT_FDCWD, a[0],
				      O_PATH | O_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		long r = ret(fstatfs(fd, p));
		close(fd);
		return r;
	}
	case SYS_fstatfs:
		FD(a[0]);
		if (!(p = P(a[1], sizeof(struct statfs))))
			return -EFAULT;
		return ret(fstatfs((int)a[0], p));
	case SYS_getxattr: case SYS_lgetxattr: case SYS_fgetxattr:
	case SYS_listxattr: case SYS_llistxattr: case SYS_flistxattr:
		return -EOPNOTSUPP;   /* no extended attributes (ACLs, labels) */
	case SYS_lseek:
		FD(a[0]);
		return ret(lseek((int)a[0], (off_t)a[1], (int)a[2]));
	case SYS_getdents64:
		FD(a[0]);
		if (!(p = P(a[1], a[2])))
			return -EFAULT;
		return ret(syscall(SYS_getdents64, (int)a[0], p, a[2]));
	case SYS_ioctl: return do_ioctl(k, a[0], a[1], a[2]);
	case SYS_dup:
		FD(a[0]);
		return ret(dup((int)a[0]));
	case SYS_dup2:
		FD(a[0]);
		FD(a[1]);
		return ret(dup2((int)a[0], (int)a[1]));
	case SYS_dup3:
		FD(a[0]);
		FD(a[1]);
		return ret(dup3((int)a[0], (int)a[1], (int)a[2]));
	case SYS_fcntl:
		FD(a[0]);
		switch (a[1]) {
		case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD:
		case F_GETFL: case F_SETFL:
			return ret(fcntl((int)a[0], (int)a[1], (int)a[2]));
		default:
			return -EINVAL;
		}
	case SYS_pipe: case SYS_pipe2: {
		int *fds = P(a[0], 2 * sizeof(int));
		if (!fds)
			return -EFAULT;
		return ret(pipe2(fds, nr == SYS_pipe ? 0 : (int)a[1]));
	}
	case SYS_access: return do_at(k, (uint64_t)AT_FDCWD, a[0], OP_ACCESS, a[1]);
	case SYS_faccessat: case SYS_faccessat2:
		return do_at(k, a[0], a[1], OP_ACCESS, a[2]);
	case SYS_unlink: return do_at(k, (uint64_t)AT_FDCWD, a[0], OP_UNLINK, 0);
	case SYS_rmdir:
		return do_at(k, (uint64_t)AT_FDCWD, a[0], OP_UNLINK, AT_REMOVEDIR);
	case SYS_unlinkat: return do_at(k, a[0], a[1], OP_UNLINK, a[2]);
	case SYS_mkdir: return do_at(k, (uint64_t)AT_FDCWD, a[0], OP_MKDIR, a[1]);
	case SYS_mkdirat: return do_at(k, a[0], a[1], OP_MKDIR, a[2]);
	case SYS_chmod: return do_at(k, (uint64_t)AT_FDCWD, a[0], OP_CHMOD, a[1]);
	case SYS_fchmodat: return do_at(k, a[0], a[1], OP_CHMOD, a[2]);
	case SYS_fchmod:
		FD(a[0]);
		return ret(fchmod((int)a[0], (mode_t)a[1]));
	case SYS_rename:
		return do_rename(k, (uint64_t)AT_FDCWD, a[0], (uint64_t)AT_FDCWD,
				 a[1], 0);
	case SYS_renameat: return do_rename(k, a[0], a[1], a[2], a[3], 0);
	case SYS_renameat2:
		return do_rename(k, a[0], a[1], a[2], a[3], (unsigned)a[4]);
	case SYS_readlink:
		return do_readlink(k, (uint64_t)AT_FDCWD, a[0], a[1], a[2]);
	case SYS_readlinkat: return do_readlink(k, a[0], a[1], a[2], a[3]);
	case SYS_fsync: case SYS_fdatasync:
		FD(a[0]);
		return ret(fsync((int)a[0]));
	case SYS_ftruncate:
		FD(a[0]);
		return ret(ftruncate((int)a[0], (off_t)a[1]));
	case SYS_fadvise64:
		FD(a[0]);
		return 0;
	case SYS_sendfile: {
		FD(a[0]);
		FD(a[1]);
		off_t *off = NULL;
		if (a[2] && !(off = P(a[2], sizeof(off_t))))
			return -EFAULT;
		return ret(sendfile((int)a[0], (int)a[1], off, a[3]));
	}
	case SYS_poll: {
		struct pollfd *f = P(a[0], a[1] * sizeof(struct pollfd));
		if ((!f && a[1]) || a[1] > 4096)
			return -EFAULT;
		for (uint64_t i = 0; i < a[1]; i++)
			if (kx_internal_fd(k, f[i].fd))
				return -EBADF;
		return ret(poll(f, a[1], (int)a[2]));
	}
	case SYS_getcwd: {
		char buf[PATH_MAX];
		int r = fs_getcwd(&k->fs, buf, sizeof(buf));
		if (r)
			return r;
		size_t n = strlen(buf) + 1;
		if (n > a[1])
			return -ERANGE;
		if (!(p = P(a[0], n)))
			return -EFAULT;
		memcpy(p, buf, n);
		return (long)n;
	}
	case SYS_chdir: {
		int fd = (int)do_open(k, (uint64_t)AT_FDCWD, a[0],
				      O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		long r = ret(fchdir(fd));
		close(fd);
		return r;
	}
	case SYS_fchdir:
		FD(a[0]);
		return ret(fchdir((int)a[0]));
	case SYS_umask: return (long)umask((mode_t)a[0]);
	case SYS_mmap: case SYS_munmap: case SYS_brk: case SYS_mprotect: {
		kx_pt_lock(c);
		long r = nr == SYS_mmap ? kx_mmap(c, a) :
			 nr == SYS_munmap ? kx_munmap(c, a[0], a[1]) :
			 nr == SYS_mprotect ? kx_mprotect(c, a[0], a[1], a[2]) :
			 kx_brk(c, a[0]);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
	case SYS_madvise:
		if (a[2] == MADV_DONTNEED && a[1] <= k->size &&
		    kx_ok(k, a[0], a[1]) &&
		    !(a[0] & (KX_PAGE - 1)))
			kx_zero(k, a[0], (a[1] + KX_PAGE - 1) & ~(KX_PAGE - 1));
		return 0;
	case SYS_mremap: return -ENOMEM;
	case SYS_getpid: return getpid();
	case SYS_gettid: return c->tid;
	case SYS_getppid: return getppid();
	case SYS_getuid: return getuid();
	case SYS_geteuid: return geteuid();
	case SYS_getgid: return getgid();
	case SYS_getegid: return getegid();
	case SYS_getpgrp: return getpgrp();
	case SYS_getpgid: return ret(getpgid((pid_t)a[0]));
	case SYS_getsid: return ret(getsid((pid_t)a[0]));
	case SYS_set_tid_address:
		c->clear_tid = a[0];
		return c->tid;
	case SYS_set_robust_list: return 0;
	case SYS_sched_yield: return 0;
	case SYS_sched_getaffinity: {
		if (!(p = P(a[2], a[1])))
			return -EFAULT;
		return ret(syscall(SYS_sched_getaffinity, 0, a[1], p));
	}
	case SYS_clock_gettime:
		if (!(p = P(a[1], sizeof(struct timespec))))
			return -EFAULT;
		return ret(clock_gettime((clockid_t)a[0], p));
	case SYS_clock_getres:
		if (a[1] && !(p = P(a[1], sizeof(struct timespec))))
			return -EFAULT;
		return ret(clock_getres((clockid_t)a[0], a[1] ? p : NULL));
	case SYS_gettimeofday:
		if (!a[0])
			return 0;
		if (!(p = P(a[0], sizeof(struct timeval))))
			return -EFAULT;
		return ret(gettimeofday(p, NULL));
	case SYS_time: {
		time_t t = time(NULL);
		if (a[0]) {
			if (!(p = P(a[0], sizeof(t))))
				return -EFAULT;
			memcpy(p, &t, sizeof(t));
		}
		return (long)t;
	}
	case SYS_nanosleep: case SYS_clock_nanosleep: {
		uint64_t rq = nr == SYS_nanosleep ? a[0] : a[2];
		uint64_t rm = nr == SYS_nanosleep ? a[1] : a[3];
		const struct timespec *r = P(rq, sizeof(*r));
		struct timespec *m = rm ? P(rm, sizeof(*m)) : NULL;
		if (!r || (rm && !m))
			return -EFAULT;
		if (nr == SYS_nanosleep)
			return ret(nanosleep(r, m));
		return -clock_nanosleep((clockid_t)a[0], (int)a[1], r, m);
	}
	case SYS_getrandom:
		if (!(p = P(a[0], a[1])) && a[1])
			return -EFAULT;
		return ret(getrandom(p, a[1], (unsigned)a[2]));
	case SYS_uname:
		if (!(p = P(a[0], sizeof(struct utsname))))
			return -EFAULT;
		return ret(uname(p));
	case SYS_sysinfo:
		if (!(p = P(a[0], sizeof(struct sysinfo))))
			return -EFAULT;
		return ret(sysinfo(p));
	case SYS_prlimit64: case SYS_getrlimit: {
		uint64_t res = nr == SYS_getrlimit ? a[0] : a[1];
		uint64_t old = nr == SYS_getrlimit ? a[1] : a[3];
		if (nr == SYS_prlimit64 && a[0] && a[0] != (uint64_t)getpid())
			return -EPERM;
		if (!old)
			return 0;   /* setting limits: accepted, not applied */
		if (!(p = P(old, sizeof(struct rlimit))))
			return -EFAULT;
		return ret(getrlimit((int)res, p));
	}
	case SYS_arch_prctl:
		if (a[0] == 0x1002)            /* ARCH_SET_FS */
			return kx_set_fs(c, a[1]);
		if (a[0] == 0x1003) {          /* ARCH_GET_FS */
			uint64_t v;
			if (!(p = P(a[1], 8)))
				return -EFAULT;
			int r = kx_get_fs(c, &v);
			if (!r)
				memcpy(p, &v, 8);
			return r;
		}
		return -EINVAL;
	case SYS_rt_sigaction: {
		pthread_mutex_lock(&k->lock);
		long r = do_sigaction(k, a[0], a[1], a[2], a[3]);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
	case SYS_rt_sigprocmask: return do_sigprocmask(c, a[0], a[1], a[2], a[3]);
	case SYS_sigaltstack: {
		/* No handlers run here, so no alternate stack either. */
		stack_t *old = a[1] ? P(a[1], sizeof(stack_t)) : NULL;
		if (a[1] && !old)
			return -EFAULT;
		if (old)
			*old = (stack_t){ .ss_flags = SS_DISABLE };
		return 0;
	}
	case SYS_futex: return do_futex(k, a);
	case SYS_clone: return do_clone(c, a);
	case SYS_clone3: return -ENOSYS;   /* libc falls back to clone */
	case SYS_kill:
		if (a[0] != (uint64_t)getpid() && a[0] != 0)
			return -EPERM;
		return self_signal(c, a[1]);
	case SYS_tkill: return thread_signal(c, a[0], a[1]);
	case SYS_tgkill:
		if (a[0] != (uint64_t)getpid())
			return -ESRCH;
		return thread_signal(c, a[1], a[2]);
	case SYS_wait4: return -ECHILD;
	case SYS_rseq: return -ENOSYS;   /* glibc copes; not worth a log */
	case SYS_prctl:
		if (a[0] == PR_SET_NAME)
			return 0;
		if (a[0] == PR_GET_NAME) {
			if (!(p = P(a[1], 16)))
				return -EFAULT;
			const char *b = strrchr(k->exe, '/');
			b = b ? b + 1 : k->exe;
			size_t n = strnlen(b, 15);
			memcpy(p, b, n);
			((char *)p)[n] = 0;
			return 0;
		}
		return -EINVAL;
	case SYS_exit:
		c->done = true;
		c->exit_status = (int)((a[0] & 0xff) << 8);
		return 0;
	case SYS_exit_group:
		kx_exit_group(k, (int)((a[0] & 0xff) << 8));
		return 0;
	default:
		warn_once(k, nr);
		return -ENOSYS;
	}
}
