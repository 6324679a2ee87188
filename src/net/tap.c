/* The "tap" backend: a host TAP device (/dev/net/tun, IFF_TAP|IFF_NO_PI).
 *
 *   --net tap[,ifname=NAME]
 *
 * Without ifname the kernel picks tapN.  An existing (persistent) device is
 * attached to, e.g. one made with `ip tuntap add NAME mode tap user ME`,
 * which needs no privilege at run time; creating one needs CAP_NET_ADMIN.
 *
 * The device is opened with IFF_VNET_HDR and a 12-byte header
 * (TUNSETVNETHDRSZ), so the struct net_hdr of net.h is exactly what the
 * kernel reads and writes: checksum and TSO offloads cross in both
 * directions (offloads = CSUM|TSO4|TSO6, TUNSETOFFLOAD CSUM|TSO4|TSO6).
 * Little-endian headers: TUNSETVNETLE where the host is big-endian.
 *
 * Receive: non-blocking reads in the event loop into one preallocated
 * buffer.  When the guest has no buffers (-ENOSPC) the frame is kept and
 * the fd leaves the loop until rx_ready, so the kernel queue (and then
 * the host's TCP) applies the backpressure. */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "net_internal.h"
#include "offload.h"

struct net_tap {
	struct net_backend nb;
	struct evloop *loop;
	int fd;
	bool watching;          /* fd is in the loop */
	size_t pending;         /* bytes of a frame in buf the guest refused */
	uint64_t rx_dropped, tx_dropped;
	char ifname[IFNAMSIZ];
	uint8_t buf[NET_HDR_LEN + NET_FRAME_MAX];
};

static void tap_readable(void *opaque, int fd, uint32_t events);

static void watch(struct net_tap *t, bool on)
{
	if (on == t->watching)
		return;
	if (on)
		t->watching = evloop_add(t->loop, t->fd, EPOLLIN, tap_readable,
					 t, NULL) == 0;
	else {
		evloop_del(t->loop, t->fd);
		t->watching = false;
	}
}

/* Hand buf[0..len) to the guest; false when it has no room (kept). */
static bool deliver(struct net_tap *t, size_t len)
{
	struct iovec iov = { t->buf, len };
	int rc = t->nb.fe.rx ? t->nb.fe.rx(t->nb.fe.opaque, &iov, 1) : -ENODEV;
	if (rc == -ENOSPC) {
		t->pending = len;
		watch(t, false);
		return false;
	}
	if (rc < 0)
		t->rx_dropped++;
	t->pending = 0;
	return true;
}

static void tap_readable(void *opaque, int fd, uint32_t events)
{
	struct net_tap *t = opaque;
	/* A bounded batch keeps the vCPUs running under a flood. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
		if (n < 0)
			return;   /* EAGAIN, or an error the next poll repeats */
		if (n < NET_HDR_LEN)
			continue;
		if (!deliver(t, (size_t)n))
			return;
	}
}

static int tap_send(struct net_backend *nb, const struct iovec *iov,
		    unsigned iovcnt)
{
	struct net_tap *t = (struct net_tap *)nb;
	/* One writev is one frame; a full queue (EAGAIN) drops it, like a
	 * NIC with a full ring. */
	ssize_t n = writev(t->fd, iov, (int)iovcnt);
	if (n < 0) {
		t->tx_dropped++;
		return -errno;
	}
	return 0;
}

static void tap_rx_ready(struct net_backend *nb)
{
	struct net_tap *t = (struct net_tap *)nb;
	if (t->pending && !deliver(t, t->pending))
		return;
	watch(t, true);
	tap_readable(t, t->fd, EPOLLIN);
}

static void tap_free(struct net_backend *nb)
{
	struct net_tap *t = (struct net_tap *)nb;
	if (t->fd >= 0) {
		watch(t, false);
		close(t->fd);
	}
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.send = tap_send,
	.rx_ready = tap_rx_ready,
	.free = tap_free,
};

int net_tap_open(const char *opts, struct evloop *loop,
		 struct net_backend **out, struct err *errp)
{
	struct ifreq ifr = { 0 };
	const char *p = opts;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 7 && !strncmp(p, "ifname=", 7)) {
			if (n - 7 >= IFNAMSIZ || memchr(p + 7, '/', n - 7))
				return err_set(errp, EINVAL, "bad ifname `%.*s` "
					       "(at most %d characters, no /)",
					       (int)(n - 7), p + 7,
					       IFNAMSIZ - 1);
			memcpy(ifr.ifr_name, p + 7, n - 7);
		} else {
			return err_set(errp, EINVAL, "unknown option `%.*s` "
				       "(expected ifname=NAME)", (int)n, p);
		}
		p = end ? end + 1 : p + n;
	}

	struct net_tap *t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(errp, ENOMEM, "out of memory");
	t->nb.ops = &tap_ops;
	t->nb.kind = "tap";
	t->nb.link_up = true;
	t->nb.offloads = NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6;
	t->loop = loop;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;
		free(t);
		return err_sys(errp, e, "cannot open /dev/net/tun%s",
			       e == ENOENT ? " (no tun driver on this host)" :
			       "");
	}
	int rc = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	int hdrsz = NET_HDR_LEN;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		rc = err_sys(errp, e, "cannot %s tap device `%s`%s",
			     ifr.ifr_name[0] ? "create or attach to" : "create",
			     ifr.ifr_name[0] ? ifr.ifr_name : "tap%d",
			     e == EPERM ? " (creating a tap needs "
			     "CAP_NET_ADMIN; or pre-create it with `ip tuntap "
			     "add NAME mode tap user USER`)" : "");
	} else if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		rc = err_sys(errp, errno, "tap `%s`: TUNSETVNETHDRSZ",
			     ifr.ifr_name);
	}
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	int le = 1;
	if (!rc && ioctl(t->fd, TUNSETVNETLE, &le) < 0)
		rc = err_sys(errp, errno, "tap `%s`: TUNSETVNETLE",
			     ifr.ifr_name);
#endif
	if (!rc && ioctl(t->fd, TUNSETOFFLOAD,
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
		/* Old kernel: no offloads towards the guest; the guest's
		 * frames are finished by the frontend instead. */
		t->nb.offloads = 0;
	}
	if (rc < 0) {
		close(t->fd);
		free(t);
		return rc;
	}
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';
	watch(t, true);
	if (!t->watching) {
		tap_free(&t->nb);
		return err_set(errp, ENOSPC, "tap: event loop full");
	}
	*out = &t->nb;
	return 0;
}
