/* Sockets, select, ppoll and epoll of an x86-64 program in the KVM
 * sandbox.  The structures are the host's own (both x86-64 Linux), so the
 * calls pass through; what this file adds is the boundary between the
 * program's memory and the VMM's:
 *  - every guest pointer is checked before the host call, so a result (an
 *    accepted connection, received descriptors) is never lost to a bad
 *    pointer afterwards;
 *  - what the VMM or the host kernel must not see change under it
 *    (lengths, msghdr, iovecs, control data, addresses, fd sets, events,
 *    timeouts) is copied once into host memory: the program may rewrite
 *    its memory meanwhile from another vCPU;
 *  - structures holding pointers are rebuilt with host pointers, and
 *    socket options that would hand the host kernel a pointer unseen are
 *    refused (a guest address means something else in the VMM);
 *  - the VMM's own descriptors are EBADF, also inside SCM_RIGHTS, fd sets
 *    and epoll;
 *  - AF_UNIX names in the filesystem are confined to --root / --mount by
 *    path.c, as for riscv64 (sys_net.c). */
#include "kvm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define P(va, len) kx_ptr(k, (va), (len))
#define FD(x) do { if (kx_internal_fd(k, (long)(int)(x))) return -EBADF; } while (0)
/* Control data of one sendmsg/recvmsg: room for SCM_MAX_FD descriptors
 * and the usual ancillary data; a larger send is ENOBUFS (Linux's answer
 * beyond optmem_max), a larger receive buffer is used up to this. */
#define CTL_MAX 4096
/* Descriptors of one select or ppoll (more: EINVAL). */
#define NFDS_MAX 4096

static long ret(long r)
{
	return r < 0 ? -errno : r;
}

/* Copy n bytes in from the program: once, into VMM memory. */
static bool gin(const struct kx *k, void *dst, uint64_t va, size_t n)
{
	const void *s = P(va, n);
	if (!s)
		return false;
	memcpy(dst, s, n);
	return true;
}

/* ---- addresses in ---- */

struct addr {
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;
	int fd;                    /* path.c's descriptor behind u.un, or -1 */
};

static void addr_put(struct addr *ad)
{
	if (ad->fd >= 0)
		close(ad->fd);
	ad->fd = -1;
}

/* An AF_UNIX name in the filesystem is a path: resolve it inside the
 * root like any guest path and name the result through /proc/self/fd.
 * bind gets the parent directory and the last component (which bind
 * creates and never follows); connect and send get the socket file
 * itself, so that a symlink is followed inside the root, not on the
 * host. */
static int unix_confine(struct kx *k, struct addr *ad, bool create)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	if (ad->len <= off || ad->u.sa.sa_family != AF_UNIX ||
	    !ad->u.un.sun_path[0])
		return 0;      /* unnamed, abstract, or not AF_UNIX */
	if (ad->len > sizeof(ad->u.un))
		return -EINVAL;
	char path[sizeof(ad->u.un.sun_path) + 1];
	size_t pl = strnlen(ad->u.un.sun_path, ad->len - off);
	memcpy(path, ad->u.un.sun_path, pl);
	path[pl] = 0;
	const struct exec_fs *fs = &k->fs;
	if (fs->root_fd < 0 && (!fs->nmnt || path[0] != '/'))
		return 0;      /* nothing to confine to: the host's names */
	const char *name = NULL;
	int fd;
	if (create) {
		bool close_it, ro;
		int r = fs_parent(fs, AT_FDCWD, path, &fd, &close_it, &name,
				  &ro);
		if (r)
			return r;
		if (!close_it)
			return 0;
		ad->fd = fd;
		if (ro) {
			addr_put(ad);
			return -EROFS;
		}
	} else {
		fd = fs_open(fs, AT_FDCWD, path, O_PATH | O_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		ad->fd = fd;
	}
	char *sp = ad->u.un.sun_path;
	int n = name ? snprintf(sp, sizeof(ad->u.un.sun_path),
				"/proc/self/fd/%d/%s", fd, name) :
		       snprintf(sp, sizeof(ad->u.un.sun_path),
				"/proc/self/fd/%d", fd);
	if (n < 0 || (size_t)n >= sizeof(ad->u.un.sun_path)) {
		addr_put(ad);
		return -ENAMETOOLONG;
	}
	ad->len = (socklen_t)(off + (size_t)n + 1);
	return 0;
}

/* A socket address the program passes in (bind, connect, sendto,
 * sendmsg); len is the kernel's int. */
static int addr_in(struct kx *k, uint64_t va, uint64_t len, bool create,
		   struct addr *ad)
{
	ad->fd = -1;
	if ((uint32_t)len > sizeof(ad->u.ss))
		return -EINVAL;
	ad->len = (socklen_t)len;
	if (ad->len && !gin(k, &ad->u, va, ad->len))
		return -EFAULT;
	return unix_confine(k, ad, create);
}

/* ---- addresses out ---- */

/* Where a call returns an address: the program's buffer, whose length is
 * read once and checked before the call. */
struct aout {
	union {
		struct sockaddr sa;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;             /* the host's answer */
	socklen_t cap;             /* the program's buffer */
	uint8_t *buf, *lenp;
};

static int aout_get(struct kx *k, uint64_t ava, uint64_t lva, struct aout *o)
{
	int cap;
	o->lenp = P(lva, sizeof(cap));
	if (!o->lenp)
		return -EFAULT;
	memcpy(&cap, o->lenp, sizeof(cap));
	if (cap < 0)
		return -EINVAL;
	o->cap = (socklen_t)cap;
	o->buf = cap ? P(ava, (uint64_t)cap) : NULL;
	if (cap && !o->buf)
		return -EFAULT;
	o->len = sizeof(o->u);
	return 0;
}

/* After success, as Linux: what fits, and the whole length. */
static void aout_put(const struct aout *o)
{
	socklen_t n = o->len < o->cap ? o->len : o->cap;
	if (n)
		memcpy(o->buf, &o->u, n);
	memcpy(o->lenp, &o->len, sizeof(o->len));
}

/* Sends run with MSG_NOSIGNAL on the host and raise SIGPIPE at the
 * sending thread where Linux would (EPIPE without MSG_NOSIGNAL): the same
 * as the host's own, whose disposition mirrors the program's
 * (kvm_signal.c) — ignored, taken by its handler, or ending it. */
static long sigpipe(struct kx *k, long r, int flags)
{
	(void)k;
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGPIPE);
	return r;
}

/* ---- the simple calls ---- */

static long do_socketpair(struct kx *k, const uint64_t *a)
{
	int *sv = P(a[3], 2 * sizeof(int)), h[2];
	if (!sv)
		return -EFAULT;
	if (socketpair((int)a[0], (int)a[1], (int)a[2], h))
		return -errno;
	memcpy(sv, h, sizeof(h));
	return 0;
}

static long do_bind_connect(struct kx *k, const uint64_t *a, bool bind_)
{
	FD(a[0]);
	struct addr ad;
	int r = addr_in(k, a[1], a[2], bind_, &ad);
	if (r)
		return r;
	long v = ret(bind_ ? bind((int)a[0], &ad.u.sa, ad.len) :
			     connect((int)a[0], &ad.u.sa, ad.len));
	addr_put(&ad);
	return v;
}

static long do_accept(struct kx *k, const uint64_t *a, int flags)
{
	FD(a[0]);
	struct aout o = { .len = 0 };
	if (a[1]) {
		int r = aout_get(k, a[1], a[2], &o);
		if (r)
			return r;
	}
	int fd = accept4((int)a[0], a[1] ? &o.u.sa : NULL,
			 a[1] ? &o.len : NULL, flags);
	if (fd < 0)
		return -errno;
	if (a[1])
		aout_put(&o);
	return fd;
}

static long do_name(struct kx *k, const uint64_t *a, bool peer)
{
	FD(a[0]);
	struct aout o;
	int r = aout_get(k, a[1], a[2], &o);
	if (r)
		return r;
	if (peer)
		r = getpeername((int)a[0], &o.u.sa, &o.len);
	else
		r = getsockname((int)a[0], &o.u.sa, &o.len);
	if (r)
		return -errno;
	aout_put(&o);
	return 0;
}

static long do_sendto(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	const void *buf = a[2] ? P(a[1], a[2]) : NULL;
	if (a[2] && !buf)
		return -EFAULT;
	int flags = (int)a[3];
	struct addr ad = { .len = 0, .fd = -1 };
	if (a[4]) {
		int r = addr_in(k, a[4], a[5], false, &ad);
		if (r)
			return r;
	}
	long v = ret(sendto((int)a[0], buf, a[2], flags | MSG_NOSIGNAL,
			    a[4] ? &ad.u.sa : NULL, ad.len));
	addr_put(&ad);
	return sigpipe(k, v, flags);
}

static long do_recvfrom(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	void *buf = a[2] ? P(a[1], a[2]) : NULL;
	if (a[2] && !buf)
		return -EFAULT;
	struct aout o = { .len = 0 };
	if (a[4]) {
		int r = aout_get(k, a[4], a[5], &o);
		if (r)
			return r;
	}
	ssize_t n = recvfrom((int)a[0], buf, a[2], (int)a[3],
			     a[4] ? &o.u.sa : NULL, a[4] ? &o.len : NULL);
	if (n < 0)
		return -errno;
	if (a[4])
		aout_put(&o);
	return n;
}

/* ---- socket options ---- */

/* A classic BPF program is a {length, pointer} pair: the pointer is the
 * program's, so it is checked and translated. */
static long set_filter(struct kx *k, const uint64_t *a, int len)
{
	struct sock_fprog f;
	if (len != (int)sizeof(f))
		return -EINVAL;
	if (!gin(k, &f, a[3], sizeof(f)))
		return -EFAULT;
	uint64_t ins = (uint64_t)(uintptr_t)f.filter;
	f.filter = f.len ? P(ins, f.len * sizeof(struct sock_filter)) : NULL;
	if (f.len && !f.filter)
		return -EFAULT;
	return ret(setsockopt((int)a[0], SOL_SOCKET, (int)a[2], &f, sizeof(f)));
}

/* An eBPF program is named by a descriptor: the program's own only. */
static long set_bpf_fd(struct kx *k, const uint64_t *a, int len)
{
	int fd;
	if (len != (int)sizeof(fd))
		return -EINVAL;
	if (!gin(k, &fd, a[3], sizeof(fd)))
		return -EFAULT;
	if (kx_internal_fd(k, fd))
		return -EBADF;
	return ret(setsockopt((int)a[0], SOL_SOCKET, (int)a[2], &fd, sizeof(fd)));
}

static long do_setsockopt(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	int level = (int)a[1], name = (int)a[2], len = (int)a[4];
	if (!exec_sockopt_ok(level, name, true))
		return -ENOPROTOOPT;
	if (len < 0)
		return -EINVAL;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ATTACH_FILTER: case SO_ATTACH_REUSEPORT_CBPF:
			return set_filter(k, a, len);
		case SO_ATTACH_BPF: case SO_ATTACH_REUSEPORT_EBPF:
			return set_bpf_fd(k, a, len);
		}
	}
	/* Anything else is plain data that only the host kernel reads. */
	const void *v = len ? P(a[3], (uint64_t)len) : NULL;
	if (len && !v)
		return -EFAULT;
	return ret(setsockopt((int)a[0], level, name, v, (socklen_t)len));
}

static long do_getsockopt(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	int level = (int)a[1], name = (int)a[2], len;
	if (!exec_sockopt_ok(level, name, false))
		return -ENOPROTOOPT;
	uint8_t *lp = P(a[4], sizeof(len));
	if (!lp)
		return -EFAULT;
	memcpy(&len, lp, sizeof(len));
	if (len < 0)
		return -EINVAL;
	/* SO_GET_FILTER's length counts instructions, not bytes. */
	uint64_t room = (uint64_t)len;
	if (level == SOL_SOCKET && name == SO_GET_FILTER)
		room *= sizeof(struct sock_filter);
	void *v = room ? P(a[3], room) : NULL;
	if (room && !v)
		return -EFAULT;
	socklen_t l = (socklen_t)len;
	if (getsockopt((int)a[0], level, name, v, &l))
		return -errno;
	memcpy(lp, &l, sizeof(l));
	return 0;
}

/* ---- sendmsg, recvmsg ---- */

/* The program's struct msghdr rebuilt with host pointers. */
struct msg {
	struct msghdr h;
	struct addr name;
	uint8_t *gm;               /* the program's msghdr */
	uint8_t *gname, *gctl;     /* its name and control buffers (receive) */
	socklen_t gnamelen;
	bool named;                /* it asked for the sender's address */
	size_t total;              /* bytes in the iovecs */
	struct iovec iov[IOV_MAX];
	union {
		struct cmsghdr align;
		uint8_t b[CTL_MAX];
	} ctl;
};

static int msg_iov(struct kx *k, const struct msghdr *g, struct msg *m)
{
	size_t n = g->msg_iovlen;
	if (n > IOV_MAX)
		return -EMSGSIZE;
	if (n && !gin(k, m->iov, (uint64_t)(uintptr_t)g->msg_iov,
		      n * sizeof(struct iovec)))
		return -EFAULT;
	m->total = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t b = (uint64_t)(uintptr_t)m->iov[i].iov_base;
		size_t l = m->iov[i].iov_len;
		if ((ssize_t)l < 0)
			return -EINVAL;
		m->iov[i].iov_base = l ? P(b, l) : NULL;
		if (l && !m->iov[i].iov_base)
			return -EFAULT;
		m->total += l;
	}
	m->h.msg_iov = m->iov;
	m->h.msg_iovlen = n;
	return 0;
}

/* msg_name: sent, an address in (clamped to sockaddr_storage as Linux
 * does); received, a host buffer copied out afterwards. */
static int msg_name(struct kx *k, const struct msghdr *g, bool send,
		    struct msg *m)
{
	int len = (int)g->msg_namelen;
	uint64_t va = (uint64_t)(uintptr_t)g->msg_name;
	if (len < 0)
		return -EINVAL;
	if (!va || (send && !len))
		return 0;
	if ((size_t)len > sizeof(m->name.u))
		len = sizeof(m->name.u);
	if (send) {
		int r = addr_in(k, va, (uint64_t)len, false, &m->name);
		if (r)
			return r;
		m->h.msg_namelen = m->name.len;
	} else {
		m->named = true;
		m->gnamelen = (socklen_t)len;
		m->gname = len ? P(va, (uint64_t)len) : NULL;
		if (len && !m->gname)
			return -EFAULT;
		m->h.msg_namelen = sizeof(m->name.u);
	}
	m->h.msg_name = &m->name.u;
	return 0;
}

/* SCM_RIGHTS may pass the program's descriptors, not the VMM's.  Walks
 * the host copy as the kernel will (each cmsg_len inside the buffer,
 * aligned steps), so what is checked is what is sent. */
static int scm_check(struct kx *k, const uint8_t *b, size_t len)
{
	struct cmsghdr c;
	for (size_t off = 0; off + sizeof(c) <= len;
	     off += CMSG_ALIGN(c.cmsg_len)) {
		memcpy(&c, b + off, sizeof(c));
		if (c.cmsg_len < sizeof(c) || c.cmsg_len > len - off)
			return -EINVAL;
		if (c.cmsg_level != SOL_SOCKET || c.cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = CMSG_LEN(0); i + sizeof(int) <= c.cmsg_len;
		     i += sizeof(int)) {
			int fd;
			memcpy(&fd, b + off + i, sizeof(fd));
			if (kx_internal_fd(k, fd))
				return -EBADF;
		}
	}
	return 0;
}

static int msg_ctl(struct kx *k, const struct msghdr *g, bool send,
		   struct msg *m)
{
	size_t len = g->msg_controllen;
	uint64_t va = (uint64_t)(uintptr_t)g->msg_control;
	if (send) {
		if (!len)
			return 0;
		if (len > CTL_MAX)
			return -ENOBUFS;
		if (!gin(k, m->ctl.b, va, len))
			return -EFAULT;
		m->h.msg_control = m->ctl.b;
		m->h.msg_controllen = len;
		return scm_check(k, m->ctl.b, len);
	}
	/* No buffer: control data is dropped with MSG_CTRUNC (Linux). */
	if (!va)
		return 0;
	if (len > CTL_MAX)
		len = CTL_MAX;
	m->gctl = len ? P(va, len) : NULL;
	if (len && !m->gctl)
		return -EFAULT;
	m->h.msg_control = len ? m->ctl.b : NULL;
	m->h.msg_controllen = len;
	return 0;
}

static int msg_in(struct kx *k, uint64_t va, bool send, struct msg *m)
{
	struct msghdr g;
	memset(&m->h, 0, sizeof(m->h));
	m->name.fd = -1;
	m->gname = m->gctl = NULL;
	m->named = false;
	m->gm = P(va, sizeof(g));
	if (!m->gm)
		return -EFAULT;
	memcpy(&g, m->gm, sizeof(g));
	int r = msg_iov(k, &g, m);
	if (!r)
		r = msg_name(k, &g, send, m);
	if (!r)
		r = msg_ctl(k, &g, send, m);
	return r;
}

/* After a receive: the address, control data and flags, as far as the
 * program's buffers go (the host buffers were no larger). */
static void msg_out(const struct msg *m)
{
	if (m->named) {
		socklen_t n = m->h.msg_namelen < m->gnamelen ?
			      m->h.msg_namelen : m->gnamelen;
		if (n)
			memcpy(m->gname, &m->name.u, n);
		memcpy(m->gm + offsetof(struct msghdr, msg_namelen),
		       &m->h.msg_namelen, sizeof(m->h.msg_namelen));
	}
	if (m->h.msg_controllen)
		memcpy(m->gctl, m->ctl.b, m->h.msg_controllen);
	memcpy(m->gm + offsetof(struct msghdr, msg_controllen),
	       &m->h.msg_controllen, sizeof(m->h.msg_controllen));
	memcpy(m->gm + offsetof(struct msghdr, msg_flags), &m->h.msg_flags,
	       sizeof(m->h.msg_flags));
}

/* One sendmsg/recvmsg of the program's msghdr at va; m is scratch
 * space (large: one per caller, not per call). */
static long do_msg(struct kx *k, int fd, uint64_t va, int flags, bool send,
		   struct msg *m)
{
	long v = msg_in(k, va, send, m);
	if (!v) {
		v = ret(send ? sendmsg(fd, &m->h, flags | MSG_NOSIGNAL) :
			       recvmsg(fd, &m->h, flags));
		if (send)
			v = sigpipe(k, v, flags);
		else if (v >= 0)
			msg_out(m);
	}
	addr_put(&m->name);
	return v;
}

static long do_msg1(struct kx *k, const uint64_t *a, bool send)
{
	FD(a[0]);
	struct msg m;
	return do_msg(k, (int)a[0], a[1], (int)a[2], send, &m);
}

/* ---- sendmmsg, recvmmsg: the kernel's own loop over sendmsg/recvmsg;
 * an error after the first message ends the batch with the count (its
 * code is lost, as in Linux) ---- */

/* The vector: at most UIO_MAXIOV entries (the kernel's cap), checked
 * whole before the first message. */
static int mmsg_vec(struct kx *k, const uint64_t *a, uint8_t **v, unsigned *n)
{
	*n = (unsigned)a[2] < UIO_MAXIOV ? (unsigned)a[2] : UIO_MAXIOV;
	*v = *n ? P(a[1], (uint64_t)*n * sizeof(struct mmsghdr)) : NULL;
	return *n && !*v ? -EFAULT : 0;
}

static void mmsg_len(uint8_t *v, unsigned i, long len)
{
	unsigned l = (unsigned)len;
	memcpy(v + i * sizeof(struct mmsghdr) + offsetof(struct mmsghdr, msg_len),
	       &l, sizeof(l));
}

static long do_sendmmsg(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	uint8_t *v;
	unsigned n, i = 0;
	long r = mmsg_vec(k, a, &v, &n);
	if (r)
		return r;
	struct msg m;
	while (i < n) {
		r = do_msg(k, (int)a[0], a[1] + i * sizeof(struct mmsghdr),
			   (int)a[3], true, &m);
		if (r < 0)
			break;
		mmsg_len(v, i++, r);
		if ((size_t)r < m.total)
			break;     /* partly sent: Linux stops there too */
	}
	return i ? (long)i : r;
}

static bool ts_valid(const struct timespec *t)
{
	return t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < 1000000000L;
}

/* Now plus t on the monotonic clock (saturating). */
static struct timespec ts_end(const struct timespec *t)
{
	struct timespec e;
	clock_gettime(CLOCK_MONOTONIC, &e);
	e.tv_nsec += t->tv_nsec;
	if (e.tv_nsec >= 1000000000L) {
		e.tv_nsec -= 1000000000L;
		e.tv_sec++;
	}
	if (__builtin_add_overflow(e.tv_sec, t->tv_sec, &e.tv_sec))
		e = (struct timespec){ LONG_MAX, 999999999L };
	return e;
}

/* The time left until end; false once none is. */
static bool ts_left(const struct timespec *end, struct timespec *left)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = end->tv_sec - now.tv_sec;
	left->tv_nsec = end->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_nsec += 1000000000L;
		left->tv_sec--;
	}
	if (left->tv_sec < 0 || (!left->tv_sec && !left->tv_nsec)) {
		*left = (struct timespec){ 0, 0 };
		return false;
	}
	return true;
}

/* The timeout is looked at between datagrams only, as Linux does; the
 * time left is written back once one was received. */
static long do_recvmmsg(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	uint8_t *v, *gt = NULL;
	unsigned n, i = 0;
	long r = mmsg_vec(k, a, &v, &n);
	if (r)
		return r;
	struct timespec left, end;
	if (a[4]) {
		if (!(gt = P(a[4], sizeof(left))))
			return -EFAULT;
		memcpy(&left, gt, sizeof(left));
		if (!ts_valid(&left))
			return -EINVAL;
		end = ts_end(&left);
	}
	int flags = (int)a[3] & ~MSG_WAITFORONE;
	struct msg m;
	while (i < n) {
		r = do_msg(k, (int)a[0], a[1] + i * sizeof(struct mmsghdr),
			   flags, false, &m);
		if (r < 0)
			break;
		mmsg_len(v, i++, r);
		if (a[3] & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
		if ((gt && !ts_left(&end, &left)) || (m.h.msg_flags & MSG_OOB))
			break;
	}
	if (!i)
		return r;
	if (gt)
		memcpy(gt, &left, sizeof(left));
	return i;
}

/* ---- select, ppoll ---- */

/* A signal mask argument (ppoll, pselect6, epoll_pwait) applies for the
 * wait: kx_wait_mask swaps it in and gives the host's wait the same set
 * (the host swaps the thread's mask atomically for it). */

/* select's three sets, copied in and out.  A bit set for one of the
 * VMM's descriptors is EBADF, as for a closed one. */
struct fdsets {
	uint64_t v[3][NFDS_MAX / 64];
	uint8_t *g[3];
	size_t bytes;
};

static int sets_in(struct kx *k, int nfds, const uint64_t *va, struct fdsets *s)
{
	if (nfds < 0 || nfds > NFDS_MAX)
		return -EINVAL;
	s->bytes = ((size_t)nfds + 63) / 64 * 8;
	for (int i = 0; i < 3; i++) {
		s->g[i] = va[i] && s->bytes ? P(va[i], s->bytes) : NULL;
		if (va[i] && s->bytes && !s->g[i])
			return -EFAULT;
		if (s->g[i])
			memcpy(s->v[i], s->g[i], s->bytes);
		for (int w = 0; s->g[i] && w * 64 < nfds; w++) {
			uint64_t bits = s->v[i][w];
			if (nfds - w * 64 < 64)
				bits &= (1ULL << (nfds - w * 64)) - 1;
			for (; bits; bits &= bits - 1)
				if (kx_internal_fd(k, w * 64 + __builtin_ctzll(bits)))
					return -EBADF;
		}
	}
	return 0;
}

static long do_select(struct kx_cpu *c, const uint64_t *a, bool p6)
{
	struct kx *k = c->k;
	struct fdsets s;
	int r = sets_in(k, (int)a[0], a + 1, &s);
	if (r)
		return r;
	union { struct timeval tv; struct timespec ts; } t;
	size_t tl = p6 ? sizeof(t.ts) : sizeof(t.tv);
	uint8_t *gt = a[4] ? P(a[4], tl) : NULL;
	if (a[4] && !gt)
		return -EFAULT;
	if (gt)
		memcpy(&t, gt, tl);
	sigset_t hs;
	struct { const sigset_t *ss; size_t len; } hm = { NULL, 8 };
	if (p6 && a[5]) {
		uint64_t m[2];     /* { const sigset_t *ss; size_t ss_len; } */
		if (!gin(k, m, a[5], sizeof(m)))
			return -EFAULT;
		if (m[0] && (r = kx_wait_mask(c, m[0], m[1], &hs)))
			return r;
		if (m[0])
			hm.ss = &hs;
	}
	long v = ret(syscall(p6 ? SYS_pselect6 : SYS_select, (int)a[0],
			     s.g[0] ? s.v[0] : NULL, s.g[1] ? s.v[1] : NULL,
			     s.g[2] ? s.v[2] : NULL, gt ? &t : NULL,
			     p6 ? &hm : NULL));
	if (gt)
		memcpy(gt, &t, tl);    /* the time left, as Linux */
	for (int i = 0; v >= 0 && i < 3; i++)
		if (s.g[i])
			memcpy(s.g[i], s.v[i], s.bytes);
	return v;
}

/* One of the VMM's descriptors reads as closed (POLLNVAL, which ends the
 * wait at once), as it would natively; the host never polls it. */
static long ppoll_fds(struct kx *k, uint8_t *g, size_t n, struct timespec *tp,
		      const sigset_t *mask)
{
	struct pollfd *f = malloc(n * (sizeof(*f) + 1) + 1);
	if (!f)
		return -ENOMEM;
	bool *nval = (bool *)(f + n);
	struct timespec zero = { 0, 0 };
	long bad = 0;
	if (n)
		memcpy(f, g, n * sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		nval[i] = kx_internal_fd(k, f[i].fd);
		if (nval[i]) {
			f[i].fd = -1;
			bad++;
		}
	}
	long r = ret(syscall(SYS_ppoll, f, n, bad ? &zero : tp, mask, 8));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		short re = nval[i] ? POLLNVAL : f[i].revents;
		memcpy(g + i * sizeof(*f) + offsetof(struct pollfd, revents),
		       &re, sizeof(re));
	}
	free(f);
	return r < 0 ? r : r + bad;
}

static long do_ppoll(struct kx_cpu *c, const uint64_t *a)
{
	struct kx *k = c->k;
	size_t n = a[1];
	if (n > NFDS_MAX)
		return -EINVAL;
	uint8_t *g = n ? P(a[0], n * sizeof(struct pollfd)) : NULL;
	if (n && !g)
		return -EFAULT;
	struct timespec t;
	uint8_t *gt = a[2] ? P(a[2], sizeof(t)) : NULL;
	if (a[2] && !gt)
		return -EFAULT;
	if (gt)
		memcpy(&t, gt, sizeof(t));
	sigset_t hs;
	if (a[3]) {
		int r = kx_wait_mask(c, a[3], a[4], &hs);
		if (r)
			return r;
	}
	long r = ppoll_fds(k, g, n, gt ? &t : NULL, a[3] ? &hs : NULL);
	if (gt)
		memcpy(gt, &t, sizeof(t));    /* the time left, as Linux */
	return r;
}

/* ---- epoll ---- */

static long do_epoll_ctl(struct kx *k, const uint64_t *a)
{
	FD(a[0]);
	FD(a[2]);
	struct epoll_event ev, *e = NULL;
	if ((int)a[1] != EPOLL_CTL_DEL) {
		if (!gin(k, &ev, a[3], sizeof(ev)))
			return -EFAULT;
		e = &ev;
	}
	return ret(syscall(SYS_epoll_ctl, (int)a[0], (int)a[1], (int)a[2], e));
}

/* epoll_wait and its variants, timeout in ms; the events go straight to
 * the program's buffer (only the kernel reads them). */
static long do_epoll_wait(struct kx *k, const uint64_t *a, int timeout,
			  const sigset_t *mask)
{
	FD(a[0]);
	int max = (int)a[2];
	if (max <= 0 || (size_t)max > INT_MAX / sizeof(struct epoll_event))
		return -EINVAL;
	void *ev = P(a[1], (uint64_t)max * sizeof(struct epoll_event));
	if (!ev)
		return -EFAULT;
	return mask ? ret(syscall(SYS_epoll_pwait, (int)a[0], ev, max, timeout,
				  mask, 8)) :
		      ret(syscall(SYS_epoll_wait, (int)a[0], ev, max, timeout));
}

/* epoll_pwait2's timespec as the ms of epoll_pwait, rounded up (so the
 * host filter needs no epoll_pwait2). */
static long do_epoll_pwait2(struct kx_cpu *c, const uint64_t *a)
{
	struct kx *k = c->k;
	int ms = -1;
	if (a[3]) {
		struct timespec t;
		if (!gin(k, &t, a[3], sizeof(t)))
			return -EFAULT;
		if (!ts_valid(&t))
			return -EINVAL;
		ms = t.tv_sec >= INT_MAX / 1000 - 1 ? INT_MAX :
		     (int)(t.tv_sec * 1000 + (t.tv_nsec + 999999) / 1000000);
	}
	sigset_t hs;
	if (a[4]) {
		int r = kx_wait_mask(c, a[4], a[5], &hs);
		if (r)
			return r;
	}
	return do_epoll_wait(k, a, ms, a[4] ? &hs : NULL);
}

long kx_net(struct kx_cpu *c, uint64_t nr, const uint64_t *a, bool *handled)
{
	struct kx *k = c->k;
	*handled = true;
	switch (nr) {
	case SYS_socket: return ret(socket((int)a[0], (int)a[1], (int)a[2]));
	case SYS_socketpair: return do_socketpair(k, a);
	case SYS_bind: return do_bind_connect(k, a, true);
	case SYS_connect: return do_bind_connect(k, a, false);
	case SYS_listen:
		FD(a[0]);
		return ret(listen((int)a[0], (int)a[1]));
	case SYS_accept: return do_accept(k, a, 0);
	case SYS_accept4: return do_accept(k, a, (int)a[3]);
	case SYS_getsockname: return do_name(k, a, false);
	case SYS_getpeername: return do_name(k, a, true);
	case SYS_setsockopt: return do_setsockopt(k, a);
	case SYS_getsockopt: return do_getsockopt(k, a);
	case SYS_shutdown:
		FD(a[0]);
		return ret(shutdown((int)a[0], (int)a[1]));
	case SYS_sendto: return do_sendto(k, a);
	case SYS_recvfrom: return do_recvfrom(k, a);
	case SYS_sendmsg: return do_msg1(k, a, true);
	case SYS_recvmsg: return do_msg1(k, a, false);
	case SYS_sendmmsg: return do_sendmmsg(k, a);
	case SYS_recvmmsg: return do_recvmmsg(k, a);
	case SYS_select: return do_select(c, a, false);
	case SYS_pselect6: return do_select(c, a, true);
	case SYS_ppoll: return do_ppoll(c, a);
	case SYS_epoll_create:
		if ((int)a[0] <= 0)
			return -EINVAL;
		return ret(syscall(SYS_epoll_create1, 0));
	case SYS_epoll_create1: return ret(syscall(SYS_epoll_create1, (int)a[0]));
	case SYS_epoll_ctl: return do_epoll_ctl(k, a);
	case SYS_epoll_wait: return do_epoll_wait(k, a, (int)a[3], NULL);
	case SYS_epoll_pwait: {
		sigset_t hs;
		if (a[4]) {
			int r = kx_wait_mask(c, a[4], a[5], &hs);
			if (r)
				return r;
		}
		return do_epoll_wait(k, a, (int)a[3], a[4] ? &hs : NULL);
	}
	case SYS_epoll_pwait2: return do_epoll_pwait2(c, a);
	default:
		*handled = false;
		return -ENOSYS;
	}
}
