/* The switch process: sockets, ports and the forwarding loop; see switch.h. */
#include "switch.h"

#include <poll.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>

#include <json-c/json.h>

/* epoll tags: small constants, or TAG_PORT + port index. */
enum { TAG_LISTEN, TAG_CTL, TAG_TIMER, TAG_STOP, TAG_PORT };

#define RX_BATCH 64                     /* frames per port per round */
#define SOCK_BUF (4u << 20)             /* per-connection socket buffer */
#define BUF_LEN (NET_HDR_LEN + NET_FRAME_MAX)

uint64_t sw_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A large send buffer lets a burst (a TSO window) sit in the socket instead
 * of being dropped; SO_SNDBUFFORCE passes net.core.wmem_max when allowed. */
static void grow_sndbuf(int fd)
{
	int v = SOCK_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int fill_addr(struct sockaddr_un *a, const char *path, struct err *errp)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return err_set(errp, ENAMETOOLONG, "socket path `%s` is longer "
			       "than %zu bytes", path, sizeof(a->sun_path) - 1);
	strcpy(a->sun_path, path);
	return 0;
}

/* Bind and listen at path; a leftover socket file nobody listens on is
 * removed first, a live one is an error. */
static int listen_at(const char *path, int type, int *out, struct err *errp)
{
	struct sockaddr_un a;
	struct stat st;
	int rc = fill_addr(&a, path, errp);
	if (rc)
		return rc;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(errp, EEXIST, "`%s` exists and is not a "
				       "socket", path);
		int probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return err_sys(errp, errno, "socket");
		int c = connect(probe, (struct sockaddr *)&a, sizeof(a));
		int e = errno;
		close(probe);
		if (c == 0 || e == EAGAIN || e == EPROTOTYPE)
			return err_set(errp, EADDRINUSE, "`%s` is in use by a "
				       "running switch", path);
		if (e != ECONNREFUSED && e != ENOENT)
			return err_sys(errp, e, "probe `%s`", path);
		if (unlink(path) < 0 && errno != ENOENT)
			return err_sys(errp, errno, "remove stale socket `%s`",
				       path);
	}
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(errp, errno, "socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = err_sys(errp, errno, "bind `%s`", path);
		close(fd);
		return rc;
	}
	if (listen(fd, 64) < 0) {
		rc = err_sys(errp, errno, "listen `%s`", path);
		close(fd);
		unlink(path);
		return rc;
	}
	*out = fd;
	return 0;
}

static int watch(struct sw *s, int fd, uint64_t tag, struct err *errp)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_sys(errp, errno, "epoll_ctl");
	return 0;
}

/* dirfd and the names relative to it, for unlinkat at exit. */
static int open_dir(struct sw *s, struct err *errp)
{
	char *slash = strrchr(s->path, '/');
	s->name = slash ? slash + 1 : s->path;
	s->ctl_name = s->ctl_path + (s->name - s->path);
	char *dir = slash ? strndup(s->path, slash == s->path ? 1 :
				    (size_t)(slash - s->path)) : strdup(".");
	if (!dir)
		return err_set(errp, ENOMEM, "out of memory");
	s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = s->dirfd < 0 ? err_sys(errp, errno, "directory `%s` of the "
					"socket", dir) : 0;
	free(dir);
	return rc;
}

int sw_create(const struct sw_opts *o, struct sw **out, struct err *errp)
{
	int rc;
	if (!o->path || !*o->path)
		return err_set(errp, EINVAL, "missing --socket PATH");
	if (o->ports < 1 || o->ports > SW_PORTS_MAX)
		return err_set(errp, EINVAL, "--ports %u out of range (1..%u)",
			       o->ports, SW_PORTS_MAX);
	struct sw *s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(errp, ENOMEM, "out of memory");
	s->o = *o;
	s->lfd = s->cfd = s->epfd = s->timerfd = s->dirfd = -1;
	s->path = strdup(o->path);
	if (s->path && asprintf(&s->ctl_path, "%s%s", o->path,
				SW_CTL_SUFFIX) < 0)
		s->ctl_path = NULL;
	s->ports = calloc(o->ports, sizeof(*s->ports));
	s->buf = malloc(BUF_LEN);
	if (!s->path || !s->ctl_path || !s->ports || !s->buf) {
		rc = err_set(errp, ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = open_dir(s, errp)))
		goto fail;
	for (unsigned i = 0; i < o->ports; i++) {
		s->ports[i].fd = -1;
		s->ports[i].id = (uint16_t)(i + 1);
	}
	if ((rc = mac_table_new(o->max_macs, o->ageing_s, &s->macs, errp)))
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		rc = err_sys(errp, errno, "epoll_create1");
		goto fail;
	}
	if ((rc = listen_at(s->path, SOCK_SEQPACKET, &s->lfd, errp)))
		goto fail;
	if ((rc = listen_at(s->ctl_path, SOCK_STREAM, &s->cfd, errp)))
		goto fail;
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->timerfd < 0) {
		rc = err_sys(errp, errno, "timerfd_create");
		goto fail;
	}
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	timerfd_settime(s->timerfd, 0, &its, NULL);
	if ((rc = watch(s, s->lfd, TAG_LISTEN, errp)) ||
	    (rc = watch(s, s->cfd, TAG_CTL, errp)) ||
	    (rc = watch(s, s->timerfd, TAG_TIMER, errp)) ||
	    (o->stop_fd >= 0 && (rc = watch(s, o->stop_fd, TAG_STOP, errp))))
		goto fail;
	s->start_ms = s->now_ms = sw_now_ms();
	*out = s;
	return 0;
fail:
	sw_destroy(s);
	return rc;
}

static void port_close(struct sw *s, struct sw_port *p)
{
	if (p->state == SW_PORT_FREE)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	p->fd = -1;
	p->state = SW_PORT_FREE;
	/* The VM is gone: its addresses must not attract traffic to a port
	 * that a later VM will reuse. */
	mac_table_flush_port(s->macs, p->id);
}

void sw_destroy(struct sw *s)
{
	if (!s)
		return;
	if (s->ports)
		for (unsigned i = 0; i < s->o.ports; i++)
			port_close(s, &s->ports[i]);
	if (s->lfd >= 0) {
		close(s->lfd);
		unlinkat(s->dirfd, s->name, 0);
	}
	if (s->cfd >= 0) {
		close(s->cfd);
		unlinkat(s->dirfd, s->ctl_name, 0);
	}
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->epfd >= 0)
		close(s->epfd);
	mac_table_free(s->macs);
	free(s->ports);
	free(s->buf);
	free(s->path);
	free(s->ctl_path);
	free(s);
}

static void send_welcome(int fd, uint16_t status, uint16_t port,
			 const char *msg)
{
	struct swp_welcome w = { .magic = htole32(SWP_MAGIC),
				 .version = htole16(SWP_VERSION),
				 .status = htole16(status),
				 .port = htole16(port) };
	snprintf(w.msg, sizeof(w.msg), "%s", msg ? msg : "");
	/* Best effort: the peer may already be gone. */
	if (send(fd, &w, sizeof(w), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

/* Closing a unix socket with unread data resets the connection, and the
 * peer's recv then reports ECONNRESET before our queued welcome.  So take
 * the client's hello first (it sends it right after connect; wait a
 * bounded REFUSE_WAIT_MS for it), then answer and close. */
#define REFUSE_WAIT_MS 50
static void refuse(int fd, const char *msg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct swp_hello h;
	if (poll(&pfd, 1, REFUSE_WAIT_MS) > 0)
		(void)!recv(fd, &h, sizeof(h), MSG_DONTWAIT | MSG_TRUNC);
	send_welcome(fd, ENOSPC, 0, msg);
	close(fd);
}

static void on_accept(struct sw *s)
{
	for (int n = 0; n < 16; n++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct sw_port *p = NULL;
		for (unsigned i = 0; i < s->o.ports; i++) {
			if (s->ports[i].state == SW_PORT_FREE) {
				p = &s->ports[i];
				break;
			}
		}
		if (!p) {
			s->ports_refused++;
			char m[80];
			snprintf(m, sizeof(m), "all %u ports are in use",
				 s->o.ports);
			refuse(fd, m);
			continue;
		}
		uint16_t id = p->id;
		*p = (struct sw_port){ .fd = fd, .id = id,
				       .state = SW_PORT_HELLO,
				       .since_ms = s->now_ms };
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
			p->pid = cr.pid;
		grow_sndbuf(fd);
		if (watch(s, fd, TAG_PORT + (uint64_t)(p - s->ports), NULL) < 0) {
			close(fd);
			p->state = SW_PORT_FREE;
			p->fd = -1;
		}
	}
}

static void on_hello(struct sw *s, struct sw_port *p)
{
	struct swp_hello h;
	struct err e = { 0 };
	ssize_t n = recv(p->fd, &h, sizeof(h), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	uint16_t status = EPROTO;
	if (n != (ssize_t)sizeof(h) || le32toh(h.magic) != SWP_MAGIC) {
		err_set(&e, EPROTO, "expected a hello message");
	} else if (le16toh(h.version) != SWP_VERSION) {
		status = EPROTONOSUPPORT;
		err_set(&e, status, "protocol version %u, switch speaks %u",
			le16toh(h.version), SWP_VERSION);
	} else {
		struct swp_vlan_cfg c = { .mode = le16toh(h.mode),
					  .vid = le16toh(h.vid) };
		memcpy(c.allowed, h.allowed, sizeof(c.allowed));
		if (c.mode == SWP_MODE_ACCESS)
			memset(c.allowed, 0, sizeof(c.allowed));
		status = EINVAL;
		if (swp_vlan_cfg_check(&c, &e) == 0) {
			p->cfg = c;
			p->state = SW_PORT_UP;
			send_welcome(p->fd, 0, p->id, NULL);
			return;
		}
	}
	s->hello_failed++;
	if (n > 0)
		send_welcome(p->fd, status, 0, e.msg);
	port_close(s, p);
}

static void send_to(struct sw *s, struct sw_port *to, const struct net_hdr *hdr,
		    const uint8_t *frame, size_t len, const struct sw_class *c,
		    enum sw_egress a)
{
	struct net_hdr ho;
	uint8_t tag[VLAN_TAG_LEN];
	struct iovec iov[4];
	unsigned n = sw_egress_iov(hdr, frame, len, c, a, &ho, tag, iov);
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t w = sendmsg(to->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0) {
		/* Full (EAGAIN/ENOBUFS) or gone (EPIPE: its HUP follows). */
		to->tx_dropped++;
		return;
	}
	to->tx_frames++;
	to->tx_bytes += (uint64_t)w - NET_HDR_LEN;
}

static void forward(struct sw *s, struct sw_port *in, size_t n)
{
	struct net_hdr hdr;
	struct sw_class c;
	const uint8_t *frame = s->buf + NET_HDR_LEN;
	size_t len = n - NET_HDR_LEN;
	enum sw_drop d;

	memcpy(&hdr, s->buf, NET_HDR_LEN);
	s->rx_frames++;
	in->rx_frames++;
	in->rx_bytes += len;
	d = sw_classify(&in->cfg, &hdr, frame, len, &c);
	if (d != SW_FWD_OK) {
		in->drops[d]++;
		in->rx_dropped++;
		s->drops[d]++;
		s->dropped++;
		return;
	}
	/* A full table refuses the address; the refusal is counted there. */
	mac_table_learn(s->macs, c.vid, frame + 6, in->id, s->now_ms);

	if (!sw_mac_is_group(frame)) {
		int to = mac_table_lookup(s->macs, c.vid, frame, s->now_ms);
		if (to > 0 && (unsigned)to <= s->o.ports) {
			struct sw_port *p = &s->ports[to - 1];
			enum sw_egress a = sw_egress_action(&p->cfg, c.vid);
			if (p == in) {
				/* Both ends sit behind the same port. */
				s->filtered++;
				return;
			}
			if (p->state == SW_PORT_UP && a != SW_EG_SKIP) {
				s->forwarded++;
				send_to(s, p, &hdr, frame, len, &c, a);
				return;
			}
		}
	}
	s->flooded++;
	for (unsigned i = 0; i < s->o.ports; i++) {
		struct sw_port *p = &s->ports[i];
		if (p == in || p->state != SW_PORT_UP)
			continue;
		enum sw_egress a = sw_egress_action(&p->cfg, c.vid);
		if (a != SW_EG_SKIP)
			send_to(s, p, &hdr, frame, len, &c, a);
	}
}

static void on_port(struct sw *s, struct sw_port *p, uint32_t events)
{
	if (p->state == SW_PORT_HELLO) {
		on_hello(s, p);
		return;
	}
	for (int i = 0; i < RX_BATCH && p->state == SW_PORT_UP; i++) {
		/* MSG_TRUNC: the real length, so oversize frames are seen. */
		ssize_t n = recv(p->fd, s->buf, BUF_LEN,
				 MSG_DONTWAIT | MSG_TRUNC);
		if (n == 0) {
			port_close(s, p);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			port_close(s, p);
			return;
		}
		enum sw_drop d = SW_FWD_OK;
		if ((size_t)n > BUF_LEN)
			d = SW_DROP_OVERSIZE;
		else if ((size_t)n < NET_HDR_LEN + ETH_HLEN_)
			d = SW_DROP_RUNT;
		if (d != SW_FWD_OK) {
			p->rx_frames++;
			p->drops[d]++;
			p->rx_dropped++;
			s->rx_frames++;
			s->drops[d]++;
			s->dropped++;
			continue;
		}
		forward(s, p, (size_t)n);
	}
}

static void on_timer(struct sw *s)
{
	uint64_t ticks;
	if (read(s->timerfd, &ticks, sizeof(ticks)) < 0)
		return;
	mac_table_expire(s->macs, s->now_ms);
	for (unsigned i = 0; i < s->o.ports; i++) {
		struct sw_port *p = &s->ports[i];
		if (p->state == SW_PORT_HELLO &&
		    s->now_ms - p->since_ms > SW_HELLO_TIMEOUT_MS) {
			s->hello_failed++;
			port_close(s, p);
		}
	}
}

/* A control client: read one command line, answer, close. */
static void on_ctl(struct sw *s)
{
	int fd = accept4(s->cfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char cmd[64];
	size_t len = 0;
	while (len < sizeof(cmd) - 1) {
		ssize_t r = recv(fd, cmd + len, sizeof(cmd) - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(cmd, '\n', len))
			break;
	}
	cmd[len] = '\0';
	cmd[strcspn(cmd, "\r\n")] = '\0';

	struct json_object *j;
	if (!strcmp(cmd, "show")) {
		j = sw_show_json(s);
	} else {
		j = json_object_new_object();
		json_object_object_add(j, "error", json_object_new_string(
			"unknown command (known: show)"));
	}
	size_t olen;
	const char *out = json_object_to_json_string_length(
		j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &olen);
	while (olen) {
		ssize_t w = send(fd, out, olen, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		out += w;
		olen -= (size_t)w;
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		/* the client left; nothing to do */
	}
	json_object_put(j);
	close(fd);
}

int sw_poll(struct sw *s, int timeout_ms)
{
	struct epoll_event ev[64];
	int n = epoll_wait(s->epfd, ev, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	s->now_ms = sw_now_ms();
	int stop = 0;
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		switch (tag) {
		case TAG_LISTEN: on_accept(s); break;
		case TAG_CTL: on_ctl(s); break;
		case TAG_TIMER: on_timer(s); break;
		case TAG_STOP: stop = 1; break;
		default:
			if (tag - TAG_PORT < s->o.ports)
				on_port(s, &s->ports[tag - TAG_PORT],
					ev[i].events);
		}
	}
	return stop;
}

int sw_run(struct sw *s)
{
	for (;;) {
		int rc = sw_poll(s, -1);
		if (rc < 0)
			return rc;
		if (rc)
			return 0;
	}
}
