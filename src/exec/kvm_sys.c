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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
	    (k->self_fd >= 0 && fd == k->self_fd) ||
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

/* The object a whole path names, a final symlink followed inside the
 * root as open does, as an O_PATH descriptor (to close) or -errno: the
 * calls that follow a last symlink must not let the host follow it, or a
 * link to "/etc/..." would reach outside the root. */
static int follow(struct kx *k, uint64_t dirfd, uint64_t pva)
{
	char path[PATH_MAX];
	if ((int)dirfd != AT_FDCWD && kx_internal_fd(k, (int)dirfd))
		return -EBADF;
	int r = gstr(k, pva, path);
	if (r)
		return r;
	return fs_open(&k->fs, (int)dirfd, path, O_PATH | O_CLOEXEC, 0);
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
	if (!(flags & AT_SYMLINK_NOFOLLOW)) {
		int fd = follow(k, dirfd, pva);
		if (fd < 0)
			return fd;
		long v = ret(fstat(fd, st));
		close(fd);
		return v;
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
	bool ro = at.ro;
	if (ro && op != OP_ACCESS) {
		at_put(&at);
		return -EROFS;
	}
	if (op == OP_UNLINK || op == OP_MKDIR) {
		v = op == OP_UNLINK ? ret(unlinkat(at.fd, at.name, (int)arg)) :
		    ret(mkdirat(at.fd, at.name, (mode_t)arg));
		at_put(&at);
		return v;
	}
	at_put(&at);
	/* chmod and access follow a final symlink: through the confined
	 * descriptor's /proc name, never the host's own lookup. */
	int fd = follow(k, dirfd, pva);
	if (fd < 0)
		return fd;
	char fp[32];
	snprintf(fp, sizeof(fp), "/proc/self/fd/%d", fd);
	if (op == OP_CHMOD)
		v = ret(chmod(fp, (mode_t)arg));
	else
		v = (arg & W_OK) && ro ? -EROFS : ret(access(fp, (int)arg));
	close(fd);
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

/* symlinkat(target, dirfd, path): the target is only stored. */
static long do_symlink(struct kx *k, uint64_t tva, uint64_t dirfd, uint64_t pva)
{
	char target[PATH_MAX];
	int r = gstr(k, tva, target);
	if (r)
		return r;
	struct at at;
	if ((r = at_get(k, dirfd, pva, &at)))
		return r;
	long v = at.ro ? -EROFS : ret(symlinkat(target, at.fd, at.name));
	at_put(&at);
	return v;
}

/* linkat: with AT_SYMLINK_FOLLOW the old name is resolved inside the
 * root first and linked through its /proc name. */
static long do_link(struct kx *k, uint64_t ofd, uint64_t ova, uint64_t nfd,
		    uint64_t nva, uint64_t flags)
{
	if (flags & ~(uint64_t)AT_SYMLINK_FOLLOW)
		return -EINVAL;
	struct at b;
	int r = at_get(k, nfd, nva, &b);
	if (r)
		return r;
	long v;
	if (b.ro) {
		v = -EROFS;
	} else if (flags & AT_SYMLINK_FOLLOW) {
		int fd = follow(k, ofd, ova);
		char fp[32];
		snprintf(fp, sizeof(fp), "/proc/self/fd/%d", fd);
		v = fd < 0 ? fd : ret(linkat(AT_FDCWD, fp, b.fd, b.name,
					     AT_SYMLINK_FOLLOW));
		if (fd >= 0)
			close(fd);
	} else {
		struct at a;
		v = at_get(k, ofd, ova, &a);
		if (!v) {
			v = ret(linkat(a.fd, a.name, b.fd, b.name, 0));
			at_put(&a);
		}
	}
	at_put(&b);
	return v;
}

/* chown (follow) / lchown (not), utimensat, truncate: the modifying
 * calls that may follow a final symlink, as do_at's. */
enum mod { MOD_CHOWN, MOD_UTIMES, MOD_TRUNCATE };

static long do_modify(struct kx *k, uint64_t dirfd, uint64_t pva, enum mod op,
		      const uint64_t *arg, bool nofollow)
{
	struct at at;
	int r = at_get(k, dirfd, pva, &at);
	if (r)
		return r;
	const struct timespec *ts = NULL;
	if (op == MOD_UTIMES && arg[0] && !(ts = P(arg[0], 2 * sizeof(*ts)))) {
		at_put(&at);
		return -EFAULT;
	}
	long v;
	if (at.ro) {
		v = -EROFS;
	} else if (nofollow) {
		v = op == MOD_CHOWN ?
		    ret(fchownat(at.fd, at.name, (uid_t)arg[0], (gid_t)arg[1],
				 AT_SYMLINK_NOFOLLOW)) :
		    ret(utimensat(at.fd, at.name, ts, AT_SYMLINK_NOFOLLOW));
	} else {
		int fd = follow(k, dirfd, pva);
		char fp[32];
		snprintf(fp, sizeof(fp), "/proc/self/fd/%d", fd);
		v = fd < 0 ? fd :
		    op == MOD_CHOWN ? ret(chown(fp, (uid_t)arg[0], (gid_t)arg[1])) :
		    op == MOD_UTIMES ? ret(utimensat(AT_FDCWD, fp, ts, 0)) :
		    ret(truncate(fp, (off_t)arg[0]));
		if (fd >= 0)
			close(fd);
	}
	at_put(&at);
	return v;
}

static long do_iov(struct kx *k, uint64_t fd, uint64_t va, uint64_t cnt,
		   bool wr, bool pos, uint64_t off)
{
	FD(fd);
	if (cnt > IOV_MAX)
		return -EINVAL;
	/* Guest structures are copied, never used in place: they need
	 * not be aligned, and another thread may change them. */
	const uint8_t *g = P(va, cnt * sizeof(struct iovec));
	if (!g && cnt)
		return -EFAULT;
	struct iovec io[IOV_MAX];
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t e[2];
		memcpy(e, g + i * sizeof(e), sizeof(e));
		io[i].iov_len = e[1];
		io[i].iov_base = e[1] ? P(e[0], e[1]) : NULL;
		if (e[1] && !io[i].iov_base)
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

/* poll: the array copied in once (another thread may change it, and it
 * need not be aligned), the VMM's descriptors POLLNVAL as a closed one
 * natively, revents copied back. */
static long do_poll(struct kx *k, uint64_t va, uint64_t n, int timeout)
{
	if (n > 4096)
		return -EINVAL;
	uint8_t *g = n ? P(va, n * sizeof(struct pollfd)) : NULL;
	if (n && !g)
		return -EFAULT;
	struct pollfd *f = n ? malloc(n * sizeof(*f)) : NULL;
	if (n && !f)
		return -ENOMEM;
	if (n)
		memcpy(f, g, n * sizeof(*f));
	bool *ours = n ? calloc(n, sizeof(bool)) : NULL;
	if (n && !ours) {
		free(f);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++)
		if (f[i].fd >= 0 && kx_internal_fd(k, f[i].fd)) {
			ours[i] = true;
			f[i].fd = -1;
		}
	long r = ret(poll(f, n, timeout));
	if (r >= 0) {
		for (uint64_t i = 0; i < n; i++) {
			if (ours[i]) {
				f[i].revents = POLLNVAL;
				r++;
			}
			memcpy(g + i * sizeof(*f) + offsetof(struct pollfd, revents),
			       &f[i].revents, sizeof(f[i].revents));
		}
	}
	free(f);
	free(ours);
	return r;
}

/* ---- signals ---- */

static long do_sigaction(struct kx *k, uint64_t sig, uint64_t act,
			 uint64_t old, uint64_t size)
{
	if (sig < 1 || sig > 64 || size != 8 || sig == SIGKILL ||
	    (sig == SIGSTOP && act))
		return -EINVAL;
	struct ksa { uint64_t handler, flags, restorer, mask; };
	uint8_t *o = old ? P(old, sizeof(struct ksa)) : NULL;
	const uint8_t *n = act ? P(act, sizeof(struct ksa)) : NULL;
	if ((old && !o) || (act && !n))
		return -EFAULT;
	struct ksa cur = { k->sa[sig].handler, k->sa[sig].flags,
			   k->sa[sig].restorer, k->sa[sig].mask };
	if (n) {
		struct ksa v;
		memcpy(&v, n, sizeof(v));
		k->sa[sig].handler = v.handler;
		k->sa[sig].flags = v.flags;
		k->sa[sig].restorer = v.restorer;
		k->sa[sig].mask = v.mask;
	}
	if (o)
		memcpy(o, &cur, sizeof(cur));
	return 0;
}

static long do_sigprocmask(struct kx_cpu *c, uint64_t how, uint64_t set,
			   uint64_t old, uint64_t size)
{
	struct kx *k = c->k;
	if (size != 8)
		return -EINVAL;
	uint8_t *o = old ? P(old, 8) : NULL;
	const uint8_t *s = set ? P(set, 8) : NULL;
	if ((old && !o) || (set && !s))
		return -EFAULT;
	uint64_t cur = c->sigmask;
	if (s) {
		uint64_t v;
		memcpy(&v, s, 8);
		v &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
		if (how == SIG_BLOCK)
			c->sigmask |= v;
		else if (how == SIG_UNBLOCK)
			c->sigmask &= ~v;
		else if (how == SIG_SETMASK)
			c->sigmask = v;
		else
			return -EINVAL;
		kx_host_mask(c);
	}
	if (o)
		memcpy(o, &cur, 8);
	return 0;
}

/* kill/tkill/tgkill to itself or one of its threads: the host sends it
 * (its handler, if the program has one, records it on the receiving
 * thread's vCPU; else the host's default action is the program's). */
static long send_signal(struct kx_cpu *c, int64_t tid, uint64_t sig)
{
	if (sig > 64 || (int)sig == KX_KICK)
		return -EINVAL;
	if (tid < 0)
		return ret(kill(getpid(), (int)sig));
	bool ours = false;
	struct kx *k = c->k;
	pthread_mutex_lock(&k->lock);
	for (unsigned i = 0; i < KX_MAX_CPUS && !ours; i++)
		ours = k->cpu[i] && atomic_load(&k->cpu[i]->busy) &&
		       !k->cpu[i]->done && k->cpu[i]->tid == (pid_t)tid;
	pthread_mutex_unlock(&k->lock);
	if (!ours)
		return -ESRCH;
	return ret(syscall(SYS_tgkill, getpid(), (pid_t)tid, (int)sig));
}

/* rt_sigsuspend (mask given) and pause (mask NULL): wait with the host
 * mask atomically replaced until a signal the program takes arrives;
 * the handler's frame restores the old mask. */
static long do_suspend(struct kx_cpu *c, const uint64_t *mask)
{
	struct kx *k = c->k;
	if (mask) {
		c->frame_mask = c->sigmask;
		c->use_frame_mask = true;
		c->sigmask = *mask & ~((1ULL << (SIGKILL - 1)) |
				       (1ULL << (SIGSTOP - 1)));
	}
	sigset_t all, wait;
	sigfillset(&all);
	sigemptyset(&wait);
	for (int sig = 1; sig <= 64; sig++)
		if ((c->sigmask & (1ULL << (sig - 1))) && sig != KX_KICK &&
		    sig != SIGSEGV && sig != SIGBUS && sig != SIGILL &&
		    sig != SIGFPE && sig != SIGTRAP)
			sigaddset(&wait, sig);
	/* Blocked while looking, so none slips in between the look and
	 * the wait. */
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!(atomic_load(&c->pending) & ~c->sigmask) &&
	       !atomic_load(&k->exited))
		sigsuspend(&wait);
	kx_host_mask(c);
	return -EINTR;
}

static long do_sigpending(struct kx_cpu *c, uint64_t set, uint64_t size)
{
	struct kx *k = c->k;
	uint8_t *o = P(set, 8);
	if (size != 8)
		return -EINVAL;
	if (!o)
		return -EFAULT;
	sigset_t hs;
	uint64_t v = atomic_load(&c->pending);
	if (!sigpending(&hs))
		for (int sig = 1; sig <= 64; sig++)
			if (sigismember(&hs, sig) == 1)
				v |= 1ULL << (sig - 1);
	v &= c->sigmask;
	memcpy(o, &v, 8);
	return 0;
}

/* rt_sigtimedwait: one already taken by a handler of ours first, else
 * the host's wait over the same set. */
static long do_sigtimedwait(struct kx_cpu *c, const uint64_t *a)
{
	struct kx *k = c->k;
	const uint8_t *set = P(a[0], 8);
	void *info = a[1] ? P(a[1], 128) : NULL;
	const struct timespec *ts = a[2] ? P(a[2], sizeof(*ts)) : NULL;
	if (a[3] != 8)
		return -EINVAL;
	if (!set || (a[1] && !info) || (a[2] && !ts))
		return -EFAULT;
	uint64_t want;
	memcpy(&want, set, 8);
	uint64_t got = atomic_load(&c->pending) & want;
	if (got) {
		int sig = __builtin_ctzll(got) + 1;
		uint64_t bit = 1ULL << (sig - 1);
		atomic_fetch_and(&c->pending, ~bit);
		if (info && (atomic_fetch_and(&c->info_ok, ~bit) & bit))
			memcpy(info, c->info[sig], 128);
		return sig;
	}
	sigset_t hs;
	sigemptyset(&hs);
	for (int sig = 1; sig <= 64; sig++)
		if (want & (1ULL << (sig - 1)))
			sigaddset(&hs, sig);
	return ret(syscall(SYS_rt_sigtimedwait, &hs, info, ts, 8));
}

/* sigaltstack: per thread, used by kx_deliver for SA_ONSTACK. */
static long do_sigaltstack(struct kx_cpu *c, uint64_t nva, uint64_t ova)
{
	struct kx *k = c->k;
	const uint8_t *n = nva ? P(nva, sizeof(stack_t)) : NULL;
	uint8_t *o = ova ? P(ova, sizeof(stack_t)) : NULL;
	if ((nva && !n) || (ova && !o))
		return -EFAULT;
	uint64_t sp = c->regs ? c->regs->rsp : 0;
	bool on = c->ss_size && sp > c->ss_sp && sp <= c->ss_sp + c->ss_size;
	stack_t cur = { .ss_sp = (void *)(uintptr_t)c->ss_sp,
			.ss_size = c->ss_size,
			.ss_flags = !c->ss_size ? SS_DISABLE : on ? SS_ONSTACK : 0 };
	if (n) {
		stack_t v;
		memcpy(&v, n, sizeof(v));
		if (on)
			return -EPERM;
		if (v.ss_flags & ~(SS_DISABLE | (1U << 31)))
			return -EINVAL;
		if (v.ss_flags & SS_DISABLE) {
			c->ss_sp = c->ss_size = 0;
		} else {
			if (v.ss_size < 2048)   /* MINSIGSTKSZ */
				return -ENOMEM;
			if (!kx_ok(k, (uint64_t)(uintptr_t)v.ss_sp, v.ss_size))
				return -EFAULT;
			c->ss_sp = (uint64_t)(uintptr_t)v.ss_sp;
			c->ss_size = v.ss_size;
		}
	}
	if (o)
		memcpy(o, &cur, sizeof(cur));
	return 0;
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

/* clone(flags, stack, ptid, ctid, tls): a thread (CLONE_VM with
 * CLONE_THREAD and CLONE_SIGHAND) is a vCPU on its own host thread; a
 * process is a host fork (kvm_proc.c). */
static long do_clone(struct kx_cpu *c, const uint64_t *a)
{
	uint64_t fl = a[0];
	uint64_t need = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	if (!(fl & CLONE_THREAD)) {
		struct kx_clone p = { fl, a[1], a[2], a[3], a[4] };
		return kx_fork(c, &p);
	}
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

/* kill: to itself as send_signal; to others through the host. */
static long do_kill(struct kx_cpu *c, uint64_t pid, uint64_t sig)
{
	if (sig > 64)
		return -EINVAL;
	if ((pid_t)pid == getpid())
		return send_signal(c, -1, sig);
	long r = kx_kill(c->k, (pid_t)pid, (int)sig);
	return r == 1 ? send_signal(c, -1, sig) : r;
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
		if (!(a[2] & AT_SYMLINK_NOFOLLOW)) {
			int fd = follow(k, a[0], a[1]);
			if (fd < 0)
				return fd;
			long v = ret(statx(fd, "", ((int)a[2] & ~AT_SYMLINK_NOFOLLOW) |
					   AT_EMPTY_PATH, (unsigned)a[3], p));
			close(fd);
			return v;
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
	case SYS_symlink: return do_symlink(k, a[0], (uint64_t)AT_FDCWD, a[1]);
	case SYS_symlinkat: return do_symlink(k, a[0], a[1], a[2]);
	case SYS_link:
		return do_link(k, (uint64_t)AT_FDCWD, a[0], (uint64_t)AT_FDCWD, a[1], 0);
	case SYS_linkat: return do_link(k, a[0], a[1], a[2], a[3], a[4]);
	case SYS_chown: case SYS_lchown:
		return do_modify(k, (uint64_t)AT_FDCWD, a[0], MOD_CHOWN, a + 1,
				 nr == SYS_lchown);
	case SYS_fchownat:
		if (a[4] & ~(uint64_t)AT_SYMLINK_NOFOLLOW)
			return -EINVAL;
		return do_modify(k, a[0], a[1], MOD_CHOWN, a + 2,
				 a[4] & AT_SYMLINK_NOFOLLOW);
	case SYS_fchown:
		FD(a[0]);
		return ret(fchown((int)a[0], (uid_t)a[1], (gid_t)a[2]));
	case SYS_utimensat:
		if (!a[1]) {
			const struct timespec *ts = a[2] ? P(a[2], 2 * sizeof(*ts)) : NULL;
			if (a[2] && !ts)
				return -EFAULT;
			FD(a[0]);
			return ret(futimens((int)a[0], ts));
		}
		return do_modify(k, a[0], a[1], MOD_UTIMES, a + 2,
				 a[3] & AT_SYMLINK_NOFOLLOW);
	case SYS_truncate:
		return do_modify(k, (uint64_t)AT_FDCWD, a[0], MOD_TRUNCATE, a + 1,
				 false);
	case SYS_flock:
		FD(a[0]);
		return ret(flock((int)a[0], (int)a[1]));
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
	case SYS_poll: return do_poll(k, a[0], a[1], (int)a[2]);
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
	case SYS_msync: {
		pthread_mutex_lock(&k->lock);
		long r = kx_msync(k, a[0], a[1], (int)a[2]);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
	case SYS_mremap: {
		kx_pt_lock(c);
		long r = kx_mremap(c, a);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
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
		/* The clocks the shim serves come from the same page. */
		if (kx_clock(k, a[0], p))
			return 0;
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
		{
			struct timespec ts;
			if (!kx_clock(k, CLOCK_REALTIME, &ts))
				return ret(gettimeofday(p, NULL));
			struct timeval tv = { ts.tv_sec, ts.tv_nsec / 1000 };
			memcpy(p, &tv, sizeof(tv));
			return 0;
		}
	case SYS_time: {
		struct timespec ts;
		time_t t = kx_clock(k, CLOCK_REALTIME, &ts) ? ts.tv_sec : time(NULL);
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
		if (!r && a[1])
			r = kx_host_action(k, (int)a[0]);
		pthread_mutex_unlock(&k->lock);
		return r;
	}
	case SYS_rt_sigprocmask: return do_sigprocmask(c, a[0], a[1], a[2], a[3]);
	case SYS_sigaltstack: return do_sigaltstack(c, a[0], a[1]);
	case SYS_futex: return do_futex(k, a);
	case SYS_clone: return do_clone(c, a);
	case SYS_clone3: return -ENOSYS;   /* libc falls back to clone */
	case SYS_fork: case SYS_vfork: {
		struct kx_clone p = { .flags = SIGCHLD };
		if (nr == SYS_vfork)
			p.flags |= CLONE_VM | CLONE_VFORK;
		return kx_fork(c, &p);
	}
	case SYS_execve: return kx_execve(c, AT_FDCWD, a[0], a[1], a[2], 0);
	case SYS_execveat:
		return kx_execve(c, (int)a[0], a[1], a[2], a[3], a[4]);
	case SYS_wait4: return kx_wait4(k, a);
	case SYS_waitid: return kx_waitid(k, a);
	case SYS_setpgid: return ret(setpgid((pid_t)a[0], (pid_t)a[1]));
	case SYS_setsid: return ret(setsid());
	case SYS_kill: return do_kill(c, a[0], a[1]);
	case SYS_tkill: return send_signal(c, (int64_t)a[0], a[1]);
	case SYS_tgkill:
		if (a[0] != (uint64_t)getpid())
			return -ESRCH;
		return send_signal(c, (int64_t)a[1], a[2]);
	case SYS_rt_sigsuspend: {
		const uint8_t *g = P(a[0], 8);
		uint64_t m;
		if (a[1] != 8)
			return -EINVAL;
		if (!g)
			return -EFAULT;
		memcpy(&m, g, 8);
		return do_suspend(c, &m);
	}
	case SYS_pause: return do_suspend(c, NULL);
	case SYS_rt_sigpending: return do_sigpending(c, a[0], a[1]);
	case SYS_rt_sigtimedwait: return do_sigtimedwait(c, a);
	case SYS_alarm: return (long)alarm((unsigned)a[0]);
	case SYS_setitimer: case SYS_getitimer: {
		size_t n = sizeof(struct itimerval);
		void *x = nr == SYS_setitimer ? (a[1] ? P(a[1], n) : NULL) : NULL;
		void *o = nr == SYS_setitimer ? (a[2] ? P(a[2], n) : NULL) :
			  P(a[1], n);
		if ((nr == SYS_setitimer && a[1] && !x) ||
		    (nr == SYS_setitimer ? a[2] && !o : !o))
			return -EFAULT;
		return nr == SYS_setitimer ?
		       ret(syscall(SYS_setitimer, (int)a[0], x, o)) :
		       ret(syscall(SYS_getitimer, (int)a[0], o));
	}
	case SYS_timer_create: {
		void *ev = a[1] ? P(a[1], sizeof(struct sigevent)) : NULL;
		void *id = P(a[2], sizeof(int));
		if ((a[1] && !ev) || !id)
			return -EFAULT;
		return ret(syscall(SYS_timer_create, (clockid_t)a[0], ev, id));
	}
	case SYS_timer_settime: case SYS_timerfd_settime: {
		if (nr == SYS_timerfd_settime)
			FD(a[0]);
		const void *nv = P(a[2], sizeof(struct itimerspec));
		void *ov = a[3] ? P(a[3], sizeof(struct itimerspec)) : NULL;
		if (!nv || (a[3] && !ov))
			return -EFAULT;
		return ret(syscall((long)nr, (long)a[0], (int)a[1], nv, ov));
	}
	case SYS_timer_gettime: case SYS_timerfd_gettime: {
		if (nr == SYS_timerfd_gettime)
			FD(a[0]);
		void *cv = P(a[1], sizeof(struct itimerspec));
		if (!cv)
			return -EFAULT;
		return ret(syscall((long)nr, (long)a[0], cv));
	}
	case SYS_timer_getoverrun: case SYS_timer_delete:
		return ret(syscall((long)nr, (long)a[0]));
	case SYS_timerfd_create:
		return ret(syscall(SYS_timerfd_create, (int)a[0], (int)a[1]));
	case SYS_signalfd: case SYS_signalfd4: {
		if ((int)a[0] != -1)
			FD(a[0]);
		const void *m = P(a[1], 8);
		if (!m)
			return -EFAULT;
		return ret(syscall(SYS_signalfd4, (int)a[0], m, (size_t)a[2],
				   nr == SYS_signalfd4 ? (int)a[3] : 0));
	}
	case SYS_eventfd: case SYS_eventfd2:
		return ret(syscall(SYS_eventfd2, (unsigned)a[0],
				   nr == SYS_eventfd2 ? (int)a[1] : 0));
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
	default: {
		bool net;
		long r = kx_net(c, nr, a, &net);
		if (!net)
			warn_once(k, nr);
		return r;
	}
	}
}
