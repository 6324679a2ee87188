/* The "user" backend: NAT through libslirp, in ringvm's event loop.
 *
 *   --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *
 * The guest network is QEMU's: 10.0.2.0/24, gateway and host alias
 * 10.0.2.2 (connections to it go to the host's 127.0.0.1), DNS proxy
 * 10.0.2.3, DHCP from 10.0.2.15; IPv6 fec0::/64.  HOSTADDR defaults to
 * 127.0.0.1 (QEMU's is every address; loopback keeps a guest service off
 * the network unless asked) and GUESTADDR to 10.0.2.15.
 *
 * The guest reaches exactly what the host's own unprivileged sockets can
 * reach (slirp turns its connections into host sockets) and nothing more:
 * no TFTP, no SMB, no guestfwd, no slirp "emulation" code.
 *
 * Frames sent to slirp must have correct checksums (slirp checks them): the
 * frontend finishes checksum-only frames; TSO frames (offloads TSO4/6) are
 * given to slirp whole, as one oversized packet with its checksums computed
 * here.  Slirp's frames to the guest carry a zeroed header.  Slirp has no receive backpressure: when the guest has no
 * buffers the frame is dropped and counted, and TCP retransmits. */
#include <arpa/inet.h>
#include <limits.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <string.h>

#include "net_internal.h"
#include "offload.h"
#include "user_int.h"

/* ---- slirp callbacks ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_user *u = opaque;
	struct net_hdr h = { 0 };
	struct iovec iov[2] = { { &h, NET_HDR_LEN }, { (void *)buf, len } };
	if (!u->nb.fe.rx || u->nb.fe.rx(u->nb.fe.opaque, iov, 2) < 0)
		u->rx_dropped++;
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	/* A guest can trigger these at will: not worth the console. */
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return (int64_t)evloop_now_ns();
}

static void timer_fire(void *opaque)
{
	struct user_timer *t = opaque;
	if (t->cb)
		t->cb(t->cb_opaque);
	else
		slirp_handle_timer(t->u->slirp, t->id, t->cb_opaque);
}

static struct user_timer *timer_alloc(struct net_user *u)
{
	struct user_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;   /* slirp then runs without that timer */
	t->u = u;
	evloop_timer_init(u->loop, &t->t, timer_fire, t);
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct user_timer *t = timer_alloc(opaque);
	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
				 void *opaque)
{
	struct user_timer *t = timer_alloc(opaque);
	if (t) {
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct user_timer *t = timer;
	struct net_user *u = opaque;
	if (!t)
		return;
	evloop_timer_free(u->loop, &t->t);
	free(t);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct user_timer *t = timer;
	if (t)
		evloop_timer_mod(&t->t, expire_ms > 0 ?
				 (uint64_t)expire_ms * 1000000ULL : 1);
}

static void cb_register_poll_fd(int fd, void *opaque) { }
static void cb_unregister_poll_fd(int fd, void *opaque) { }
/* The loop rebuilds slirp's poll set every iteration anyway. */
static void cb_notify(void *opaque) { }

static const SlirpCb user_cb = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- event loop hook ---- */

static int add_poll(int fd, int events, void *opaque)
{
	struct net_user *u = opaque;
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	return evloop_pollset_add(u->ps, fd, ev);
}

static int get_revents(int idx, void *opaque)
{
	struct net_user *u = opaque;
	short re = evloop_pollset_revents(u->ps, idx);
	int ev = 0;
	if (re & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void hook_prepare(void *opaque, struct evloop_pollset *ps,
			 int *timeout_ms)
{
	struct net_user *u = opaque;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	u->ps = ps;
	slirp_pollfds_fill(u->slirp, &t, add_poll, u);
	if (t != UINT32_MAX && (*timeout_ms < 0 || t < (uint32_t)*timeout_ms))
		*timeout_ms = t > INT_MAX ? INT_MAX : (int)t;
}

static void hook_dispatch(void *opaque, struct evloop_pollset *ps, bool error)
{
	struct net_user *u = opaque;
	u->ps = ps;
	slirp_pollfds_poll(u->slirp, error, get_revents, u);
}

/* ---- backend ops ---- */

static int user_send(struct net_backend *nb, const struct iovec *iov,
		     unsigned iovcnt)
{
	struct net_user *u = (struct net_user *)nb;
	size_t len = net_iov_len(iov, iovcnt);
	if (len < NET_HDR_LEN || len - NET_HDR_LEN > NET_FRAME_MAX)
		return -EMSGSIZE;
	len -= NET_HDR_LEN;
	/* slirp_input takes one linear frame; it copies it at once. */
	struct net_hdr h;
	net_iov_to_buf(iov, iovcnt, 0, &h, sizeof(h));
	net_iov_to_buf(iov, iovcnt, NET_HDR_LEN, u->frame, len);
	/* A TSO frame goes in whole: slirp's TCP takes segments of any size
	 * and writes them to its host socket in one go, far cheaper than
	 * feeding it ~45 small ones.  It checks checksums, so finish them. */
	if (h.gso_type != NET_HDR_GSO_NONE &&
	    net_offload_tcp_finish(u->frame, len, &h) < 0)
		return -EINVAL;
	slirp_input(u->slirp, u->frame, (int)len);
	return 0;
}

static void user_rx_ready(struct net_backend *nb) { }

static void user_free(struct net_backend *nb)
{
	struct net_user *u = (struct net_user *)nb;
	evloop_hook_del(u->loop, u);
	if (u->slirp)
		slirp_cleanup(u->slirp);   /* frees its timers through us */
	free(u);
}

static const struct net_backend_ops user_ops = {
	.send = user_send,
	.rx_ready = user_rx_ready,
	.free = user_free,
	.state_save = net_user_state_save,
	.state_check = net_user_state_check,
	.state_load = net_user_state_load,
};

/* ---- spec ---- */

static int parse_port(const char *s, size_t n, const char *what,
		      const char *rule, uint16_t *out, struct err *errp)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		goto bad;
	*out = (uint16_t)v;
	return 0;
bad:
	return err_set(errp, EINVAL, "hostfwd `%s`: bad %s port `%.*s` "
		       "(expected 1..65535)", rule, what, (int)n, s);
}

static int parse_addr(const char *s, size_t n, const char *what,
		      const char *rule, const char *dflt, struct in_addr *out,
		      struct err *errp)
{
	char buf[INET_ADDRSTRLEN];
	if (n == 0) {
		inet_pton(AF_INET, dflt, out);
		return 0;
	}
	if (n >= sizeof(buf))
		goto bad;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1)
		return 0;
bad:
	return err_set(errp, EINVAL, "hostfwd `%s`: bad %s address `%.*s` "
		       "(expected an IPv4 address)", rule, what, (int)n, s);
}

/* [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int add_hostfwd(struct net_user *u, const char *rule, size_t len,
		       struct err *errp)
{
	char r[256];
	if (len >= sizeof(r))
		return err_set(errp, EINVAL, "hostfwd: rule too long");
	memcpy(r, rule, len);
	r[len] = '\0';

	const char *proto = r, *c1 = strchr(r, ':');
	if (!c1)
		goto syntax;
	const char *ha = c1 + 1, *c2 = strchr(ha, ':');
	if (!c2)
		goto syntax;
	const char *hp = c2 + 1, *dash = strchr(hp, '-');
	if (!dash)
		goto syntax;
	const char *ga = dash + 1, *c3 = strchr(ga, ':');
	if (!c3)
		goto syntax;
	const char *gp = c3 + 1;

	int is_udp;
	size_t pl = (size_t)(c1 - proto);
	if (pl == 0 || (pl == 3 && !strncmp(proto, "tcp", 3)))
		is_udp = 0;
	else if (pl == 3 && !strncmp(proto, "udp", 3))
		is_udp = 1;
	else
		return err_set(errp, EINVAL, "hostfwd `%s`: protocol `%.*s` "
			       "(expected tcp or udp)", r, (int)pl, proto);
	struct in_addr haddr, gaddr;
	uint16_t hport, gport;
	int rc;
	if ((rc = parse_addr(ha, (size_t)(c2 - ha), "host", r, "127.0.0.1",
			     &haddr, errp)) < 0 ||
	    (rc = parse_port(hp, (size_t)(dash - hp), "host", r, &hport,
			     errp)) < 0 ||
	    (rc = parse_addr(ga, (size_t)(c3 - ga), "guest", r, "10.0.2.15",
			     &gaddr, errp)) < 0 ||
	    (rc = parse_port(gp, strlen(gp), "guest", r, &gport, errp)) < 0)
		return rc;
	if (slirp_add_hostfwd(u->slirp, is_udp, haddr, hport, gaddr,
			      gport) < 0)
		return err_set(errp, EADDRINUSE, "hostfwd `%s`: cannot listen "
			       "on %s port %s:%u (in use or not a local "
			       "address?)", r, is_udp ? "udp" : "tcp",
			       inet_ntoa(haddr), hport);
	return 0;
syntax:
	return err_set(errp, EINVAL, "hostfwd `%s`: expected "
		       "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
		       r);
}

int net_user_open(const char *opts, struct evloop *loop,
		  struct net_backend **out, struct err *errp)
{
	struct net_user *u = calloc(1, sizeof(*u));
	if (!u)
		return err_set(errp, ENOMEM, "out of memory");
	u->nb.ops = &user_ops;
	u->nb.kind = "user";
	u->nb.link_up = true;
	/* TSO frames are finished in user_send (one big packet); checksum-
	 * only frames are finished by the frontend. */
	u->nb.offloads = NET_OFF_TSO4 | NET_OFF_TSO6;
	u->loop = loop;

	SlirpConfig cfg = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.in6_enabled = true,
		.vprefix_len = 64,
		.vhostname = "ringvm",
		.disable_host_loopback = false,
		.enable_emu = false,
	};
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);

	u->slirp = slirp_new(&cfg, &user_cb, u);
	if (!u->slirp) {
		free(u);
		return err_set(errp, ENOMEM, "slirp_new failed");
	}
	struct evloop_hook h = { hook_prepare, hook_dispatch, u };
	int rc = evloop_hook_add(loop, &h, errp);
	if (rc < 0) {
		user_free(&u->nb);
		return rc;
	}

	/* Options: comma-separated key=value. */
	const char *p = opts;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 8 && !strncmp(p, "hostfwd=", 8)) {
			rc = add_hostfwd(u, p + 8, n - 8, errp);
		} else if (n == 0) {
			rc = err_set(errp, EINVAL, "empty option");
		} else {
			rc = err_set(errp, EINVAL, "unknown option `%.*s` "
				     "(expected hostfwd=...)", (int)n, p);
		}
		if (rc < 0) {
			user_free(&u->nb);
			return rc;
		}
		p = end ? end + 1 : p + n;
	}
	*out = &u->nb;
	return 0;
}
