/* Container networking through a net/ backend (ctrnet.h). */
#include "container/ctrnet.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "container/container.h"
#include "core/evloop.h"
#include "net/net.h"

struct ctr_net {
	struct evloop loop;
	struct net_backend *nb;
	int tap;
	int wake[2];                 /* pipe: stop the relay thread */
	bool stop, thread;
	pthread_t th;
	uint8_t buf[NET_HDR_LEN + NET_FRAME_MAX];
	uint8_t out[NET_HDR_LEN + NET_FRAME_MAX];
};

static int sin_set(int s, unsigned long req, const char *ifname, const char *ip)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	struct sockaddr_in *sa = (struct sockaddr_in *)&ifr.ifr_addr;
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
		return -EINVAL;
	return ioctl(s, req, &ifr) ? -errno : 0;
}

/* In a child inside the namespace: make and configure eth0, send its fd. */
static __attribute__((noreturn)) void make_tap(int usfd, int nsfd, int sock, int errfd,
					       const char *ip, const char *mask,
					       const char *gw)
{
	struct err e = { 0 };
	int r = 0;
	/* Rootless: the network namespace belongs to the container's user
	 * namespace; joining it (and making a TAP in it) needs that
	 * namespace's capabilities, which its owner gets by joining it. */
	if (geteuid() != 0 && usfd >= 0 && setns(usfd, CLONE_NEWUSER))
		r = err_sys(&e, errno, "network: join the container's user namespace");
	if (!r && setns(nsfd, CLONE_NEWNET))
		r = err_sys(&e, errno, "network: join the container's namespace");
	int tap = r ? -1 : open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (!r && tap < 0)
		r = err_sys(&e, errno, "network: /dev/net/tun");
	/* With the virtio-net header (net.h's struct net_hdr, 12 bytes):
	 * frames from the switch may carry a partial checksum or be TSO
	 * frames of a VM (the frontend must finish what its side did not
	 * negotiate, net.h); the container's kernel finishes them itself
	 * when the header comes along.  No TUNSETOFFLOAD: the kernel hands
	 * us finished frames (a zeroed header), which any backend takes. */
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdrsz = NET_HDR_LEN;
	snprintf(ifr.ifr_name, IFNAMSIZ, "eth0");
	if (!r && ioctl(tap, TUNSETIFF, &ifr))
		r = err_sys(&e, errno, "network: create eth0");
	if (!r && ioctl(tap, TUNSETVNETHDRSZ, &hdrsz))
		r = err_sys(&e, errno, "network: eth0 header size");
	int s = r ? -1 : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!r && s < 0)
		r = err_sys(&e, errno, "network: socket");
	if (!r && ip && ((r = sin_set(s, SIOCSIFADDR, "eth0", ip)) ||
			 (r = sin_set(s, SIOCSIFNETMASK, "eth0", mask))))
		err_sys(&e, -r, "network: address %s", ip);
	if (!r) {
		struct ifreq up = { 0 };
		snprintf(up.ifr_name, IFNAMSIZ, "eth0");
		up.ifr_flags = IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &up))
			r = err_sys(&e, errno, "network: bring eth0 up");
	}
	if (!r && gw) {
		struct rtentry rt = { 0 };
		struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst,
				   *g = (struct sockaddr_in *)&rt.rt_gateway,
				   *m = (struct sockaddr_in *)&rt.rt_genmask;
		d->sin_family = g->sin_family = m->sin_family = AF_INET;
		inet_pton(AF_INET, gw, &g->sin_addr);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = (char *)"eth0";
		if (ioctl(s, SIOCADDRT, &rt))
			r = err_sys(&e, errno, "network: default route via %s", gw);
	}
	if (r)
		(void)!write(errfd, e.msg, strlen(e.msg));
	else
		send_fd(sock, tap, "tap", &e);
	_exit(r ? 1 : 0);
}

static int rx(void *opaque, const struct iovec *iov, unsigned iovcnt)
{
	struct ctr_net *n = opaque;
	size_t len = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(n->out))
			return -EMSGSIZE;
		memcpy(n->out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (len <= NET_HDR_LEN)
		return -EINVAL;
	/* A full TAP queue drops the frame, as a wire would; so does the
	 * kernel a header it does not accept. */
	if (write(n->tap, n->out, len) < 0)
		return -errno;
	return 0;
}

static void link_changed(void *opaque, bool up)
{
	(void)opaque;
	(void)up;
}

static void on_tap(void *opaque, int fd, uint32_t events)
{
	struct ctr_net *n = opaque;
	for (int i = 0; i < 64; i++) {
		ssize_t k = read(fd, n->buf, NET_HDR_LEN + NET_FRAME_MAX);
		if (k <= NET_HDR_LEN)
			return;
		struct iovec iov = { n->buf, (size_t)k };
		n->nb->ops->send(n->nb, &iov, 1);
	}
}

static void on_wake(void *opaque, int fd, uint32_t events)
{
	struct ctr_net *n = opaque;
	n->stop = true;
}

static void *relay(void *arg)
{
	struct ctr_net *n = arg;
	while (!n->stop)
		evloop_poll(&n->loop, -1);
	return NULL;
}

void ctr_net_stop(struct ctr_net *n)
{
	if (!n)
		return;
	if (n->thread) {
		(void)!write(n->wake[1], "x", 1);
		pthread_join(n->th, NULL);
	}
	net_backend_free(n->nb);
	if (n->tap >= 0)
		close(n->tap);
	if (n->wake[0] >= 0) {
		close(n->wake[0]);
		close(n->wake[1]);
	}
	evloop_free(&n->loop);
	free(n);
}

int ctr_net_start(pid_t pid, const char *spec, const char *addr,
		  struct ctr_net **out, struct err *errp)
{
	bool user = !strncmp(spec, "user", 4) && (!spec[4] || spec[4] == ',');
	char ip[32] = "", mask[32] = "255.255.255.0";
	const char *gw = NULL;
	if (addr) {
		unsigned a, b, c, d, bits;
		char tail;
		if (sscanf(addr, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &bits, &tail) != 5 ||
		    a > 255 || b > 255 || c > 255 || d > 255 || bits < 1 || bits > 30)
			return err_set(errp, EINVAL, "address `%.40s`: expected A.B.C.D/N", addr);
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a, b, c, d);
		uint32_t m = htonl(~0u << (32 - bits));
		inet_ntop(AF_INET, &m, mask, sizeof(mask));
	} else if (user) {
		snprintf(ip, sizeof(ip), "10.0.2.15");
		gw = "10.0.2.2";
	}
	struct ctr_net *n = calloc(1, sizeof(*n));
	if (!n)
		return err_set(errp, ENOMEM, "out of memory");
	n->tap = n->wake[0] = n->wake[1] = -1;
	int r = evloop_init(&n->loop, errp);
	if (r) {
		free(n);
		return r;
	}
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
	int usfd = -1;
	if (geteuid() != 0)
		usfd = open(p, O_RDONLY | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	int nsfd = open(p, O_RDONLY | O_CLOEXEC), sv[2], ep[2];
	if (nsfd < 0)
		r = err_sys(errp, errno, "network: %s", p);
	else if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		r = err_sys(errp, errno, "network: socketpair");
	else if (pipe2(ep, O_CLOEXEC)) {
		r = err_sys(errp, errno, "network: pipe");
		close(sv[0]);
		close(sv[1]);
	}
	if (!r) {
		pid_t c = fork();
		if (c == 0) {
			close(sv[0]);
			close(ep[0]);
			make_tap(usfd, nsfd, sv[1], ep[1], ip[0] ? ip : NULL, mask, gw);
		}
		close(sv[1]);
		close(ep[1]);
		if (c < 0) {
			r = err_sys(errp, errno, "network: fork");
		} else {
			int st;
			char msg[512] = "";
			/* The child sends the fd or one error line. */
			int fd = recv_fd(sv[0], NULL);
			if (fd < 0) {
				ssize_t k = read(ep[0], msg, sizeof(msg) - 1);
				msg[k > 0 ? k : 0] = '\0';
			}
			while (waitpid(c, &st, 0) < 0 && errno == EINTR)
				;
			if (fd < 0)
				r = err_set(errp, EIO, "%s", msg[0] ? msg : "network: TAP set-up failed");
			n->tap = fd;
		}
		close(sv[0]);
		close(ep[0]);
	}
	if (nsfd >= 0)
		close(nsfd);
	if (usfd >= 0)
		close(usfd);
	if (!r)
		r = net_backend_open(spec, &n->loop, &n->nb, errp);
	if (!r) {
		struct net_frontend fe = { .rx = rx, .link = link_changed, .opaque = n };
		net_backend_attach(n->nb, &fe);
		if (pipe2(n->wake, O_CLOEXEC | O_NONBLOCK))
			r = err_sys(errp, errno, "pipe");
	}
	if (!r)
		r = evloop_add(&n->loop, n->tap, EPOLLIN, on_tap, n, errp);
	if (!r)
		r = evloop_add(&n->loop, n->wake[0], EPOLLIN, on_wake, n, errp);
	if (!r) {
		int e = pthread_create(&n->th, NULL, relay, n);
		if (e)
			r = err_sys(errp, e, "network: thread");
		else
			n->thread = true;
	}
	if (r) {
		ctr_net_stop(n);
		return r;
	}
	*out = n;
	return 0;
}
