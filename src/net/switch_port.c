/* The "switch" network backend: a port of `ringvm switch` over a unix
 * SOCK_SEQPACKET connection; see switch_port.h for the protocol. */
#include "switch_port.h"

#include <endian.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#define HELLO_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define RX_BATCH 64
#define RX_CAP (NET_HDR_LEN + NET_FRAME_MAX)
#define SOCK_BUF (4u << 20)

enum sp_state { SP_DOWN, SP_HELLO, SP_UP };

struct swport {
	struct net_backend nb;          /* first: nb is what callers hold */
	struct evloop *loop;
	char *path;
	struct swp_vlan_cfg cfg;
	int fd, tfd;
	enum sp_state st;
	bool fd_watched;
	bool paused;                    /* rx stopped until rx_ready */
	bool rx_pending;                /* rx[0..rx_len) awaits the guest */
	unsigned backoff_ms;
	uint16_t port;
	size_t rx_len;
	uint8_t *rx;
	uint64_t rx_dropped;
};

static struct swport *to_sp(struct net_backend *nb)
{
	return (struct swport *)nb;
}

static void sp_on_fd(void *opaque, int fd, uint32_t events);

static void arm_timer(struct swport *s, unsigned ms)
{
	struct itimerspec its = { .it_value = { ms / 1000,
						(long)(ms % 1000) * 1000000 } };
	timerfd_settime(s->tfd, 0, &its, NULL);
}

static void set_link(struct swport *s, bool up)
{
	if (s->nb.link_up == up)
		return;
	s->nb.link_up = up;
	if (s->nb.fe.link)
		s->nb.fe.link(s->nb.fe.opaque, up);
}

static void watch_fd(struct swport *s, bool on)
{
	if (on && !s->fd_watched)
		s->fd_watched = evloop_add(s->loop, s->fd, EPOLLIN, sp_on_fd,
					   s, NULL) == 0;
	else if (!on && s->fd_watched) {
		evloop_del(s->loop, s->fd);
		s->fd_watched = false;
	}
}

/* Close the connection; link down; retry later. */
static void go_down(struct swport *s)
{
	watch_fd(s, false);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->st = SP_DOWN;
	s->paused = s->rx_pending = false;
	set_link(s, false);
	arm_timer(s, s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							    : s->backoff_ms * 2;
}

/* Non-blocking connect and hello.  Returns the fd or -errno. */
static int sp_connect(struct swport *s, struct err *errp)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(s->path) >= sizeof(a.sun_path))
		return err_set(errp, ENAMETOOLONG, "socket path `%s` "
			       "is too long", s->path);
	strcpy(a.sun_path, s->path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		return err_sys(errp, errno, "socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return err_set(errp, e, "no switch is listening "
				       "at `%s` (start one with `ringvm switch "
				       "--socket %s`)", s->path, s->path);
		return err_sys(errp, e, "connect `%s`", s->path);
	}
	int v = SOCK_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	struct swp_hello h = { .magic = htole32(SWP_MAGIC),
			       .version = htole16(SWP_VERSION),
			       .mode = htole16(s->cfg.mode),
			       .vid = htole16(s->cfg.vid),
			       .pid = htole32((uint32_t)getpid()) };
	memcpy(h.allowed, s->cfg.allowed, sizeof(h.allowed));
	/* A switch that refuses at once (no free port) may have closed
	 * already; its welcome is still readable, so go on to read it. */
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) < 0 && errno != EPIPE &&
	    errno != ECONNRESET) {
		int e = errno;
		close(fd);
		return err_sys(errp, e, "send hello to `%s`", s->path);
	}
	return fd;
}

/* Read and check the welcome.  0 when the port is up. */
static int read_welcome(struct swport *s, struct err *errp)
{
	struct swp_welcome w;
	ssize_t n = recv(s->fd, &w, sizeof(w), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	if (n != (ssize_t)sizeof(w) || le32toh(w.magic) != SWP_MAGIC)
		return err_set(errp, EPROTO, "switch at `%s`: bad or missing "
			       "welcome (not a ringvm switch?)", s->path);
	if (w.status) {
		w.msg[sizeof(w.msg) - 1] = '\0';
		return err_set(errp, le16toh(w.status), "switch at `%s` refused "
			       "the port: %s", s->path, w.msg);
	}
	s->port = le16toh(w.port);
	return 0;
}

/* Hand the pending frame to the guest.  false when the guest has no
 * buffers: reading stops until rx_ready. */
static bool deliver(struct swport *s)
{
	if (s->nb.fe.rx) {
		struct iovec iov = { s->rx, s->rx_len };
		if (s->nb.fe.rx(s->nb.fe.opaque, &iov, 1) == -ENOSPC) {
			s->paused = true;
			watch_fd(s, false);
			return false;
		}
	}
	s->rx_pending = false;
	return true;
}

static void drain(struct swport *s)
{
	if (s->rx_pending && !deliver(s))
		return;
	for (int i = 0; i < RX_BATCH && s->st == SP_UP; i++) {
		ssize_t n = recv(s->fd, s->rx, RX_CAP, MSG_DONTWAIT | MSG_TRUNC);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			go_down(s);
			return;
		}
		if (n < 0)
			return;
		if ((size_t)n > RX_CAP || (size_t)n < NET_HDR_LEN + 14) {
			s->rx_dropped++;
			continue;
		}
		s->rx_len = (size_t)n;
		s->rx_pending = true;
		if (!deliver(s))
			return;
	}
}

static void sp_on_fd(void *opaque, int fd, uint32_t events)
{
	struct swport *s = opaque;
	if (s->st != SP_HELLO) {
		drain(s);
		return;
	}
	int rc = read_welcome(s, NULL);
	if (rc == -EAGAIN)
		return;
	if (rc < 0) {
		go_down(s);
		return;
	}
	s->st = SP_UP;
	s->backoff_ms = BACKOFF_MIN_MS;
	arm_timer(s, 0);
	set_link(s, true);
	drain(s);
}

/* Reconnect timer, and the deadline of a pending hello. */
static void sp_on_timer(void *opaque, int fd, uint32_t events)
{
	struct swport *s = opaque;
	uint64_t ticks;
	if (read(s->tfd, &ticks, sizeof(ticks)) < 0)
		return;
	if (s->st == SP_HELLO) {
		go_down(s);
		return;
	}
	if (s->st != SP_DOWN)
		return;
	int fd2 = sp_connect(s, NULL);
	if (fd2 < 0) {
		s->fd = -1;
		go_down(s);
		return;
	}
	s->fd = fd2;
	s->st = SP_HELLO;
	watch_fd(s, true);
	arm_timer(s, HELLO_TIMEOUT_MS);
}

static int sp_send(struct net_backend *nb, const struct iovec *iov,
		   unsigned iovcnt)
{
	struct swport *s = to_sp(nb);
	if (s->st != SP_UP)
		return -ENETDOWN;
	size_t len = 0;
	for (unsigned i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len < NET_HDR_LEN + 14 || len > NET_HDR_LEN + NET_FRAME_MAX)
		return -EINVAL;
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = iovcnt };
	if (sendmsg(s->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 0;
	if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
		return -ENOBUFS;
	go_down(s);
	return -ENETDOWN;
}

static void sp_rx_ready(struct net_backend *nb)
{
	struct swport *s = to_sp(nb);
	if (!s->paused || s->st != SP_UP)
		return;
	s->paused = false;
	watch_fd(s, true);
	drain(s);
}

static void sp_free(struct net_backend *nb)
{
	struct swport *s = to_sp(nb);
	watch_fd(s, false);
	if (s->fd >= 0)
		close(s->fd);
	if (s->tfd >= 0) {
		evloop_del(s->loop, s->tfd);
		close(s->tfd);
	}
	free(s->rx);
	free(s->path);
	free(s);
}

static const struct net_backend_ops sp_ops = {
	.send = sp_send,
	.rx_ready = sp_rx_ready,
	.free = sp_free,
};

int switch_port_open(const char *opts, struct evloop *loop,
		     struct net_backend **out, struct err *errp)
{
	int rc;
	struct swport *s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(errp, ENOMEM, "out of memory");
	/* The switch carries partial checksums and TSO frames unchanged
	 * (fwd.c shifts their offsets when it retags), so a guest's TSO frame
	 * crosses whole and the receiving guest gets it as one large frame. */
	s->nb = (struct net_backend){ .ops = &sp_ops, .kind = "switch",
				      .offloads = NET_OFF_CSUM | NET_OFF_TSO4 |
					     NET_OFF_TSO6 };
	s->loop = loop;
	s->fd = s->tfd = -1;
	s->backoff_ms = BACKOFF_MIN_MS;
	if ((rc = switch_port_parse(opts, &s->path, &s->cfg, errp)))
		goto fail;
	s->rx = malloc(RX_CAP);
	if (!s->rx) {
		rc = err_set(errp, ENOMEM, "out of memory");
		goto fail;
	}
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->tfd < 0) {
		rc = err_sys(errp, errno, "timerfd_create");
		goto fail;
	}

	/* The first connection is synchronous so that a wrong path or a
	 * refusal is reported before the VM starts. */
	s->fd = sp_connect(s, errp);
	if (s->fd < 0) {
		rc = s->fd;
		goto fail;
	}
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	int pr = poll(&p, 1, HELLO_TIMEOUT_MS);
	if (pr == 0) {
		rc = err_set(errp, ETIMEDOUT, "switch at `%s` did not answer "
			     "the hello", s->path);
		goto fail;
	}
	if ((rc = read_welcome(s, errp)) < 0)
		goto fail;
	if ((rc = evloop_add(loop, s->tfd, EPOLLIN, sp_on_timer, s, errp)))
		goto fail;
	s->st = SP_UP;
	s->nb.link_up = true;
	watch_fd(s, true);
	if (!s->fd_watched) {
		evloop_del(loop, s->tfd);
		rc = err_set(errp, ENOSPC, "too many descriptors in the "
			     "event loop");
		goto fail;
	}
	*out = &s->nb;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->rx);
	free(s->path);
	free(s);
	return rc;
}
