/* The switch process: sockets, ports and the forwarding loop; see switch.h. */
#include "switch.h"

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

/* epoll tags: small constants, or a base + slot index. */
enum {
	TAG_LISTEN, TAG_CTL, TAG_TIMER, TAG_STOP,
	TAG_CTL_CONN,                                   /* + ctl[] index */
	TAG_REFUSING = TAG_CTL_CONN + SW_CTL_CLIENTS,   /* + refusing[] index */
	TAG_PORT = TAG_REFUSING + SW_REFUSING_MAX,      /* + ports[] index */
};

#define RX_BATCH 64                     /* frames per port per round */
#define SOCK_BUF (4u << 20)             /* per-connection socket buffer */
#define BUF_LEN (NET_HDR_LEN + NET_FRAME_MAX)
/* The ageing sweep examines this share of the table per 1 s tick (and at
 * least AGE_STEP_MIN slots): an aged entry's slot is reclaimed within
 * AGE_STEP_DIV seconds of its expiry; lookups ignore it from the start. */
#define AGE_STEP_DIV 64
#define AGE_STEP_MIN 4096

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

static int watch_ev(struct sw *s, int fd, uint32_t events, uint64_t tag,
		    struct err *errp)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_sys(errp, errno, "epoll_ctl");
	return 0;
}

static int watch(struct sw *s, int fd, uint64_t tag, struct err *errp)
{
	return watch_ev(s, fd, EPOLLIN, tag, errp);
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
	if (!s->o.max_macs_per_port)
		s->o.max_macs_per_port = SW_MAX_MACS_PER_PORT_DEFAULT;
	if (!s->o.max_macs) {
		uint64_t m = (uint64_t)o->ports * s->o.max_macs_per_port;
		s->o.max_macs = m < SW_MAX_MACS_DEFAULT ? SW_MAX_MACS_DEFAULT :
				m > MAC_TABLE_MAX ? MAC_TABLE_MAX : (unsigned)m;
	}
	if (s->o.max_macs_per_port > s->o.max_macs)
		s->o.max_macs_per_port = s->o.max_macs;
	s->lfd = s->cfd = s->epfd = s->timerfd = s->dirfd = -1;
	for (unsigned i = 0; i < SW_CTL_CLIENTS; i++)
		s->ctl[i].fd = -1;
	for (unsigned i = 0; i < SW_REFUSING_MAX; i++)
		s->refusing[i].fd = -1;
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
	if ((rc = mac_table_new(s->o.max_macs, s->o.max_macs_per_port,
				o->ports, o->ageing_s, &s->macs, errp)))
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

static void ctl_close(struct sw *s, struct sw_ctl_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
}

static void send_welcome(int fd, uint16_t status, uint16_t port,
			 const char *msg);

/* Answer a refused client and close it; its hello has been read (or it
 * never came, and the peer may then see a reset instead of the answer). */
static void refusing_close(struct sw *s, struct sw_refusing *r)
{
	if (r->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, r->fd, NULL);
	send_welcome(r->fd, ENOSPC, 0, r->msg);
	close(r->fd);
	r->fd = -1;
}

void sw_destroy(struct sw *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < SW_CTL_CLIENTS; i++)
		ctl_close(s, &s->ctl[i]);
	for (unsigned i = 0; i < SW_REFUSING_MAX; i++)
		refusing_close(s, &s->refusing[i]);
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
 * peer's recv then reports ECONNRESET before our queued welcome.  So the
 * client's hello (sent right after connect) is taken first: the connection
 * waits in refusing[] until it is readable or SW_REFUSE_MS passed, without
 * holding up the loop.  With every slot taken, the one waiting longest is
 * answered and closed to make room (a client that has not said hello in
 * all that time is the least likely to be a VM that wants the answer). */
static void on_refusing(struct sw *s, struct sw_refusing *r)
{
	struct swp_hello h;
	ssize_t n = recv(r->fd, &h, sizeof(h), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	refusing_close(s, r);
}

static void refuse(struct sw *s, int fd, const char *msg)
{
	struct sw_refusing *r = NULL;
	for (unsigned i = 0; i < SW_REFUSING_MAX; i++) {
		struct sw_refusing *c = &s->refusing[i];
		if (c->fd < 0) {
			r = c;
			break;
		}
		if (!r || c->deadline_ms < r->deadline_ms)
			r = c;
	}
	refusing_close(s, r);
	if (watch(s, fd, TAG_REFUSING + (uint64_t)(r - s->refusing), NULL) < 0) {
		send_welcome(fd, ENOSPC, 0, msg);
		close(fd);
		return;
	}
	r->fd = fd;
	r->deadline_ms = s->now_ms + SW_REFUSE_MS;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	/* The hello may be there already. */
	on_refusing(s, r);
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
			refuse(s, fd, m);
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
	int rc = n < 0 ? -EPROTO : sw_hello_parse(&h, (size_t)n, &p->cfg, &e);
	if (rc == 0) {
		p->state = SW_PORT_UP;
		send_welcome(p->fd, 0, p->id, NULL);
		return;
	}
	s->hello_failed++;
	if (n > 0)
		send_welcome(p->fd, (uint16_t)-rc, 0, e.msg);
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
	/* A full table or port refuses the address (counted by the table
	 * per reason, here per port); its frames are then flooded. */
	if (mac_table_learn(s->macs, c.vid, frame + 6, in->id, s->now_ms))
		in->learn_refused++;

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
		enum sw_drop d = sw_msg_check((size_t)n);
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
	unsigned step = mac_table_slots(s->macs) / AGE_STEP_DIV;
	mac_table_age_step(s->macs, s->now_ms,
			   step < AGE_STEP_MIN ? AGE_STEP_MIN : step);
	for (unsigned i = 0; i < s->o.ports; i++) {
		struct sw_port *p = &s->ports[i];
		if (p->state == SW_PORT_HELLO &&
		    s->now_ms - p->since_ms > SW_HELLO_TIMEOUT_MS) {
			s->hello_failed++;
			port_close(s, p);
		}
	}
}

/* Accept control clients; each is served by on_ctl_conn() as it becomes
 * readable, then writable. */
static void on_ctl(struct sw *s)
{
	for (int n = 0; n < 16; n++) {
		int fd = accept4(s->cfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct sw_ctl_conn *c = NULL;
		for (unsigned i = 0; i < SW_CTL_CLIENTS; i++) {
			if (s->ctl[i].fd < 0) {
				c = &s->ctl[i];
				break;
			}
		}
		if (!c || watch(s, fd, TAG_CTL_CONN + (uint64_t)(c - s->ctl),
				NULL) < 0) {
			s->ctl_refused++;
			close(fd);
			continue;
		}
		*c = (struct sw_ctl_conn){ .fd = fd,
					   .deadline_ms = s->now_ms +
							  SW_CTL_REQ_MS };
	}
}

static char *ctl_answer(struct sw *s, enum sw_ctl_cmd cmd, size_t *len)
{
	struct json_object *j;
	if (cmd == SW_CTL_SHOW) {
		j = sw_show_json(s);
	} else {
		j = json_object_new_object();
		json_object_object_add(j, "error", json_object_new_string(
			cmd == SW_CTL_TOO_LONG ? "request line too long"
					       : "unknown command (known: show)"));
	}
	size_t olen;
	const char *str = json_object_to_json_string_length(
		j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &olen);
	char *out = malloc(olen + 1);
	if (out) {
		memcpy(out, str, olen);
		out[olen] = '\n';
		*len = olen + 1;
	}
	json_object_put(j);
	return out;
}

static void ctl_write(struct sw *s, struct sw_ctl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;       /* EPOLLOUT brings us back */
		if (w <= 0)
			break;        /* the client left */
		c->out_off += (size_t)w;
	}
	ctl_close(s, c);
}

static void on_ctl_conn(struct sw *s, struct sw_ctl_conn *c)
{
	if (c->out) {
		ctl_write(s, c);
		return;
	}
	bool eof = false;
	while (c->in_len < sizeof(c->in)) {
		ssize_t r = recv(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) {
			ctl_close(s, c);
			return;
		}
		if (r == 0) {
			eof = true;
			break;
		}
		c->in_len += (size_t)r;
		if (memchr(c->in, '\n', c->in_len))
			break;
	}
	enum sw_ctl_cmd cmd = sw_ctl_parse(c->in, c->in_len, eof);
	if (cmd == SW_CTL_INCOMPLETE)
		return;
	c->out = ctl_answer(s, cmd, &c->out_len);
	if (!c->out) {
		ctl_close(s, c);
		return;
	}
	c->out_off = 0;
	c->deadline_ms = s->now_ms + SW_CTL_REPLY_MS;
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = TAG_CTL_CONN +
					      (uint64_t)(c - s->ctl) };
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		ctl_close(s, c);
		return;
	}
	ctl_write(s, c);
}

/* Drop control clients and refused connections past their deadline;
 * returns the ms until the next deadline, or -1 if none. */
static int reap(struct sw *s)
{
	uint64_t next = UINT64_MAX;
	for (unsigned i = 0; i < SW_CTL_CLIENTS; i++) {
		struct sw_ctl_conn *c = &s->ctl[i];
		if (c->fd < 0)
			continue;
		if (s->now_ms >= c->deadline_ms) {
			s->ctl_timeouts++;
			ctl_close(s, c);
		} else if (c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	for (unsigned i = 0; i < SW_REFUSING_MAX; i++) {
		struct sw_refusing *r = &s->refusing[i];
		if (r->fd < 0)
			continue;
		if (s->now_ms >= r->deadline_ms)
			refusing_close(s, r);
		else if (r->deadline_ms < next)
			next = r->deadline_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - s->now_ms);
}

int sw_poll(struct sw *s, int timeout_ms)
{
	struct epoll_event ev[64];
	s->now_ms = sw_now_ms();
	int due = reap(s);
	if (due >= 0 && (timeout_ms < 0 || due < timeout_ms))
		timeout_ms = due;
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
			if (tag >= TAG_PORT) {
				if (tag - TAG_PORT < s->o.ports)
					on_port(s, &s->ports[tag - TAG_PORT],
						ev[i].events);
			} else if (tag >= TAG_REFUSING) {
				struct sw_refusing *r =
					&s->refusing[tag - TAG_REFUSING];
				if (r->fd >= 0)
					on_refusing(s, r);
			} else {
				struct sw_ctl_conn *c =
					&s->ctl[tag - TAG_CTL_CONN];
				if (c->fd >= 0)
					on_ctl_conn(s, c);
			}
		}
	}
	reap(s);
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
