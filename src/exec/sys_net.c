/* Sockets.  Constants, struct sockaddr*, struct msghdr, struct cmsghdr and
 * the common socket options have the same layout on riscv64 and x86-64
 * (asm-generic/socket.h; LP64), so addresses and control data are copied
 * as bytes and payloads go straight to guest pages as iovecs. */
#include "exec_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys_nr.h"

#define R(x) sys_ret((long)(x))
#define MAX_IOV 64
#define ADDR_MAX 128
#define CTL_MAX 4096

static long s_socket(struct exec_thread *t, const uint64_t *a)
{
	return R(socket((int)a[0], (int)a[1], (int)a[2]));
}

static long s_socketpair(struct exec_thread *t, const uint64_t *a)
{
	int sv[2];
	if (socketpair((int)a[0], (int)a[1], (int)a[2], sv))
		return -errno;
	if (mm_write(&t->p->mm, a[3], sv, sizeof(sv))) {
		close(sv[0]);
		close(sv[1]);
		return -EFAULT;
	}
	return 0;
}

/* A filesystem AF_UNIX address is a path: confined like any other.
 * bind names the new socket through its resolved parent's fd (the name
 * must not exist, so nothing is followed); connect and sendto reach an
 * existing socket, and connect(2) would follow a final symlink on the
 * host, so the whole path is resolved inside the root first and the
 * socket named by its descriptor's /proc name.  Rewrites sa/len in place;
 * *hold is a descriptor to close after the call (-1: none).  0 or
 * -errno. */
static int unix_confine(struct exec_thread *t, uint8_t *sa, socklen_t *len,
			bool bind_it, int *hold)
{
	struct sockaddr_un *un = (struct sockaddr_un *)sa;
	*hold = -1;
	if (*len <= offsetof(struct sockaddr_un, sun_path) ||
	    un->sun_family != AF_UNIX || !un->sun_path[0] ||
	    t->p->fs.root_fd < 0)
		return 0;
	char path[sizeof(un->sun_path) + 1];
	size_t pl = *len - offsetof(struct sockaddr_un, sun_path);
	if (pl > sizeof(un->sun_path))
		pl = sizeof(un->sun_path);
	memcpy(path, un->sun_path, pl);
	path[pl] = 0;
	int n;
	if (bind_it) {
		int pfd;
		bool close_it, ro;
		const char *nm;
		int r = fs_parent(&t->p->fs, AT_FDCWD, path, &pfd, &close_it,
				  &nm, &ro);
		if (r)
			return r;
		if (close_it)
			*hold = pfd;
		if (ro)
			return -EROFS;
		n = snprintf(un->sun_path, sizeof(un->sun_path),
			     "/proc/self/fd/%d/%s", pfd, nm);
	} else {
		int fd = fs_open(&t->p->fs, AT_FDCWD, path, O_PATH | O_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		*hold = fd;
		n = snprintf(un->sun_path, sizeof(un->sun_path),
			     "/proc/self/fd/%d", fd);
	}
	if (n < 0 || (size_t)n >= sizeof(un->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

/* bind / connect: (fd, addr, len). */
static long addr_in(struct exec_thread *t, const uint64_t *a, bool conn)
{
	uint8_t sa[ADDR_MAX];
	socklen_t len = (socklen_t)a[2];
	if (len > sizeof(sa))
		return -EINVAL;
	if (mm_read(&t->p->mm, a[1], sa, len))
		return -EFAULT;
	int hold;
	long res = unix_confine(t, sa, &len, !conn, &hold);
	if (!res)
		res = conn ? R(connect((int)a[0], (struct sockaddr *)sa, len)) :
			     R(bind((int)a[0], (struct sockaddr *)sa, len));
	if (hold >= 0)
		close(hold);
	return res;
}
static long s_bind(struct exec_thread *t, const uint64_t *a) { return addr_in(t, a, false); }
static long s_connect(struct exec_thread *t, const uint64_t *a) { return addr_in(t, a, true); }
static long s_listen(struct exec_thread *t, const uint64_t *a) { return R(listen((int)a[0], (int)a[1])); }
static long s_shutdown(struct exec_thread *t, const uint64_t *a) { return R(shutdown((int)a[0], (int)a[1])); }

/* Copy an address out: *lenp (guest socklen_t at lva) in and out. */
static long addr_out(struct exec_thread *t, uint64_t ava, uint64_t lva,
		     const uint8_t *sa, socklen_t got)
{
	if (!ava)
		return 0;
	uint32_t cap;
	if (mm_read(&t->p->mm, lva, &cap, 4))
		return -EFAULT;
	if (mm_write(&t->p->mm, ava, sa, got < cap ? got : cap) ||
	    mm_write(&t->p->mm, lva, &got, 4))
		return -EFAULT;
	return 0;
}

static long s_accept4(struct exec_thread *t, const uint64_t *a)
{
	uint8_t sa[ADDR_MAX];
	socklen_t len = sizeof(sa);
	int fd = accept4((int)a[0], a[1] ? (struct sockaddr *)sa : NULL,
			 a[1] ? &len : NULL, (int)a[3]);
	if (fd < 0)
		return -errno;
	long r = addr_out(t, a[1], a[2], sa, len);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

static long s_accept(struct exec_thread *t, const uint64_t *a)
{
	uint64_t b[4] = { a[0], a[1], a[2], 0 };
	return s_accept4(t, b);
}

static long name(struct exec_thread *t, const uint64_t *a, bool peer)
{
	uint8_t sa[ADDR_MAX];
	socklen_t len = sizeof(sa);
	int r = peer ? getpeername((int)a[0], (struct sockaddr *)sa, &len) :
		       getsockname((int)a[0], (struct sockaddr *)sa, &len);
	if (r)
		return -errno;
	return addr_out(t, a[1], a[2], sa, len);
}
static long s_getsockname(struct exec_thread *t, const uint64_t *a) { return name(t, a, false); }
static long s_getpeername(struct exec_thread *t, const uint64_t *a) { return name(t, a, true); }


/* A classic BPF program is a {length, pointer} pair (same layout on
 * riscv64 and x86-64): the instructions are copied in from the guest. */
static long set_filter(struct exec_thread *t, const uint64_t *a,
		       const uint8_t *v, socklen_t len)
{
	struct sock_fprog f;
	if (len != sizeof(f))
		return -EINVAL;
	memcpy(&f, v, sizeof(f));
	if (f.len > BPF_MAXINSNS)
		return -EINVAL;
	uint64_t gva = (uint64_t)(uintptr_t)f.filter;
	struct sock_filter *ins = f.len ? calloc(f.len, sizeof(*ins)) : NULL;
	if (f.len && !ins)
		return -ENOMEM;
	long r = 0;
	if (f.len && mm_read(&t->p->mm, gva, ins, f.len * sizeof(*ins)))
		r = -EFAULT;
	f.filter = ins;
	if (!r)
		r = R(setsockopt((int)a[0], SOL_SOCKET, (int)a[2], &f, sizeof(f)));
	free(ins);
	return r;
}

static long s_setsockopt(struct exec_thread *t, const uint64_t *a)
{
	uint8_t v[256];
	socklen_t len = (socklen_t)a[4];
	int level = (int)a[1], name = (int)a[2];
	if (!exec_sockopt_ok(level, name, true))
		return -ENOPROTOOPT;
	if (len > sizeof(v))
		return -EINVAL;
	if (len && mm_read(&t->p->mm, a[3], v, len))
		return -EFAULT;
	if (level == SOL_SOCKET && (name == SO_ATTACH_FILTER ||
				    name == SO_ATTACH_REUSEPORT_CBPF))
		return set_filter(t, a, v, len);
	return R(setsockopt((int)a[0], level, name, v, len));
}

static long s_getsockopt(struct exec_thread *t, const uint64_t *a)
{
	uint8_t v[256] = { 0 };
	uint32_t cap;
	if (!exec_sockopt_ok((int)a[1], (int)a[2], false) ||
	    ((int)a[1] == SOL_SOCKET && (int)a[2] == SO_GET_FILTER))
		return -ENOPROTOOPT;
	if (mm_read(&t->p->mm, a[4], &cap, 4))
		return -EFAULT;
	socklen_t len = cap < sizeof(v) ? cap : sizeof(v);
	if (getsockopt((int)a[0], (int)a[1], (int)a[2], v, &len))
		return -errno;
	if (mm_write(&t->p->mm, a[3], v, len) ||
	    mm_write(&t->p->mm, a[4], &len, 4))
		return -EFAULT;
	return 0;
}

static long s_sendto(struct exec_thread *t, const uint64_t *a)
{
	struct iovec iov[MAX_IOV];
	uint8_t sa[ADDR_MAX];
	struct msghdr m = { 0 };
	int n = a[2] ? mm_iov(&t->p->mm, a[1], a[2], 1, iov, MAX_IOV) : 0;
	if (n < 0)
		return -EFAULT;
	if (a[4]) {
		if (a[5] > sizeof(sa))
			return -EINVAL;
		if (mm_read(&t->p->mm, a[4], sa, a[5]))
			return -EFAULT;
		m.msg_name = sa;
		m.msg_namelen = (socklen_t)a[5];
	}
	int hold = -1;
	if (a[4]) {
		int r = unix_confine(t, sa, &m.msg_namelen, false, &hold);
		if (r) {
			if (hold >= 0)
				close(hold);
			return r;
		}
	}
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)n;
	long res = R(sendmsg((int)a[0], &m, (int)a[3]));
	if (hold >= 0)
		close(hold);
	return res;
}

static long s_recvfrom(struct exec_thread *t, const uint64_t *a)
{
	struct iovec iov[MAX_IOV];
	uint8_t sa[ADDR_MAX];
	struct msghdr m = { 0 };
	int n = a[2] ? mm_iov(&t->p->mm, a[1], a[2], 2, iov, MAX_IOV) : 0;
	if (n < 0)
		return -EFAULT;
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)n;
	if (a[4]) {
		m.msg_name = sa;
		m.msg_namelen = sizeof(sa);
	}
	ssize_t r = recvmsg((int)a[0], &m, (int)a[3]);
	if (r < 0)
		return -errno;
	long e = addr_out(t, a[4], a[5], sa, m.msg_namelen);
	return e ? e : r;
}

/* struct msghdr as both ABIs lay it out (LP64). */
struct g_msghdr {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen, control, controllen;
	int32_t flags, pad1;
};

static long msg(struct exec_thread *t, const uint64_t *a, bool send)
{
	struct g_msghdr g;
	struct exec_mm *mm = &t->p->mm;
	if (mm_read(mm, a[1], &g, sizeof(g)))
		return -EFAULT;
	if (g.iovlen > 1024 || g.namelen > ADDR_MAX || g.controllen > CTL_MAX)
		return -EINVAL;
	uint8_t sa[ADDR_MAX];
	uint8_t *ctl = g.controllen ? malloc(g.controllen) : NULL;
	struct iovec *iov = malloc(sizeof(*iov) * MAX_IOV * 4);
	long r = 0;
	int n = 0, hold = -1;
	if (!iov || (g.controllen && !ctl)) {
		r = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < g.iovlen; i++) {
		uint64_t e[2];
		if (mm_read(mm, g.iov + i * 16, e, 16)) {
			r = -EFAULT;
			goto out;
		}
		if (!e[1])
			continue;
		int k = mm_iov(mm, e[0], e[1], send ? 1 : 2, iov + n,
			       MAX_IOV * 4 - n);
		if (k < 0) {
			r = -EFAULT;
			goto out;
		}
		n += k;
	}
	struct msghdr m = { 0 };
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)n;
	if (g.name) {
		m.msg_name = sa;
		m.msg_namelen = send ? g.namelen : sizeof(sa);
		if (send && mm_read(mm, g.name, sa, g.namelen)) {
			r = -EFAULT;
			goto out;
		}
		if (send && (r = unix_confine(t, sa, &m.msg_namelen, false,
					      &hold)))
			goto out;
	}
	if (ctl) {
		m.msg_control = ctl;
		m.msg_controllen = g.controllen;
		if (send && mm_read(mm, g.control, ctl, g.controllen)) {
			r = -EFAULT;
			goto out;
		}
	}
	r = send ? sendmsg((int)a[0], &m, (int)a[2]) :
		   recvmsg((int)a[0], &m, (int)a[2]);
	if (r < 0) {
		r = -errno;
		goto out;
	}
	if (!send) {
		g.namelen = g.name ? m.msg_namelen : 0;
		if (g.name && mm_write(mm, g.name, sa, m.msg_namelen < ADDR_MAX ?
				       m.msg_namelen : ADDR_MAX))
			r = -EFAULT;
		if (ctl && mm_write(mm, g.control, ctl, m.msg_controllen))
			r = -EFAULT;
		g.controllen = ctl ? m.msg_controllen : 0;
		g.flags = m.msg_flags;
		if (mm_write(mm, a[1], &g, sizeof(g)))
			r = -EFAULT;
	}
out:
	if (hold >= 0)
		close(hold);
	free(ctl);
	free(iov);
	return r;
}
static long s_sendmsg(struct exec_thread *t, const uint64_t *a) { return msg(t, a, true); }
static long s_recvmsg(struct exec_thread *t, const uint64_t *a) { return msg(t, a, false); }

sys_fn sys_net_lookup(long nr)
{
	switch (nr) {
	case RV_NR_socket: return s_socket;
	case RV_NR_socketpair: return s_socketpair;
	case RV_NR_bind: return s_bind;
	case RV_NR_connect: return s_connect;
	case RV_NR_listen: return s_listen;
	case RV_NR_accept: return s_accept;
	case RV_NR_accept4: return s_accept4;
	case RV_NR_getsockname: return s_getsockname;
	case RV_NR_getpeername: return s_getpeername;
	case RV_NR_setsockopt: return s_setsockopt;
	case RV_NR_getsockopt: return s_getsockopt;
	case RV_NR_sendto: return s_sendto;
	case RV_NR_recvfrom: return s_recvfrom;
	case RV_NR_sendmsg: return s_sendmsg;
	case RV_NR_recvmsg: return s_recvmsg;
	case RV_NR_shutdown: return s_shutdown;
	default: return NULL;
	}
}
