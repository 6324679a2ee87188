/* Host-side tests of the switch backend (src/net/switch_port.c) against a
 * real switch (src/net/switch/switch.c) running in a thread: hello, VLAN
 * forwarding between access and trunk ports, learning, drops, the port
 * limit, rx backpressure, a VM leaving, and link down/up when the switch
 * goes away and comes back; and hostile clients speaking the protocol
 * directly: VLAN hopping through stacked tags, MAC table flooding, slow
 * control clients and refused connections that must not stall forwarding.
 * No VM involved. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <json-c/json.h>

#include "net/switch/switch.h"
#include "net/switch_port.h"

struct rec {
	int nrx, enospc, links;
	bool up;
	uint8_t last[256];
	size_t last_len;
};

static int rec_rx(void *o, const struct iovec *iov, unsigned n)
{
	struct rec *r = o;
	if (r->enospc > 0) {
		r->enospc--;
		return -ENOSPC;
	}
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t c = iov[i].iov_len;
		if (len + c > sizeof(r->last))
			c = sizeof(r->last) - len;
		memcpy(r->last + len, iov[i].iov_base, c);
		len += c;
	}
	r->last_len = len;
	r->nrx++;
	return 0;
}

static void rec_link(void *o, bool up)
{
	struct rec *r = o;
	r->up = up;
	r->links++;
}

struct swt {
	struct sw *sw;
	pthread_t th;
	int stop[2];
	char dir[64], path[96];
};

static void *sw_thread(void *o)
{
	sw_run(o);
	return NULL;
}

static void sw_start_opts(struct swt *t, struct sw_opts o)
{
	struct err e = { 0 };
	assert_int_equal(pipe(t->stop), 0);
	o.path = t->path;
	o.stop_fd = t->stop[0];
	if (sw_create(&o, &t->sw, &e))
		fail_msg("sw_create: %s", e.msg);
	assert_int_equal(pthread_create(&t->th, NULL, sw_thread, t->sw), 0);
}

static void sw_start(struct swt *t, unsigned ports)
{
	sw_start_opts(t, (struct sw_opts){ .ports = ports, .ageing_s = 300,
					   .max_macs = 64 });
}

static void sw_stop(struct swt *t)
{
	assert_int_equal(write(t->stop[1], "x", 1), 1);
	pthread_join(t->th, NULL);
	sw_destroy(t->sw);
	close(t->stop[0]);
	close(t->stop[1]);
}

static void pump(struct evloop *l, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		evloop_poll(l, 5);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
		 (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static struct net_backend *open_port(struct evloop *l, const char *path,
				     const char *cfg, struct rec *r)
{
	char spec[256];
	struct err e = { 0 };
	struct net_backend *nb = NULL;
	snprintf(spec, sizeof(spec), "path=%s%s%s", path, *cfg ? "," : "", cfg);
	if (switch_port_open(spec, l, &nb, &e))
		fail_msg("switch_port_open(%s): %s", spec, e.msg);
	assert_string_equal(nb->kind, "switch");
	assert_true(nb->link_up);
	assert_true(nb->offloads & NET_OFF_CSUM);
	struct net_frontend fe = { rec_rx, rec_link, r };
	net_backend_attach(nb, &fe);
	r->up = true;
	return nb;
}

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MA[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t MB[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t MC[6] = { 0x52, 0x54, 0, 0, 0, 0xc };
static const uint8_t MD[6] = { 0x52, 0x54, 0, 0, 0, 0xd };

static int send_frame(struct net_backend *nb, const uint8_t *dst,
		      const uint8_t *src, int vid)
{
	uint8_t f[NET_HDR_LEN + 64] = { 0 };
	size_t n = NET_HDR_LEN;
	memcpy(f + n, dst, 6);
	memcpy(f + n + 6, src, 6);
	n += 12;
	if (vid >= 0) {
		f[n++] = 0x81;
		f[n++] = 0;
		f[n++] = (uint8_t)(0xa0 | vid >> 8);  /* PCP 5 */
		f[n++] = (uint8_t)vid;
	}
	f[n++] = 0x08;
	f[n++] = 0x00;
	n += 46;
	struct iovec iov = { f, n };
	return nb->ops->send(nb, &iov, 1);
}

static int64_t jint(struct json_object *o, const char *path)
{
	/* "a.b": nested objects */
	char k[64];
	const char *dot;
	while ((dot = strchr(path, '.'))) {
		snprintf(k, sizeof(k), "%.*s", (int)(dot - path), path);
		json_object_object_get_ex(o, k, &o);
		path = dot + 1;
	}
	struct json_object *v = NULL;
	json_object_object_get_ex(o, path, &v);
	return json_object_get_int64(v);
}

static struct json_object *show(const char *path)
{
	struct err e = { 0 };
	struct json_object *j = sw_ctl_query(path, "show", &e);
	if (!j)
		fail_msg("ctl show: %s", e.msg);
	return j;
}

/* Port of mac in vlan according to `show`, or -1. */
static int mac_port(struct json_object *j, int vlan, const uint8_t *mac)
{
	char m[18];
	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	struct json_object *macs;
	json_object_object_get_ex(j, "macs", &macs);
	for (size_t i = 0; i < json_object_array_length(macs); i++) {
		struct json_object *e = json_object_array_get_idx(macs, i), *v;
		json_object_object_get_ex(e, "mac", &v);
		if (strcmp(json_object_get_string(v), m))
			continue;
		if (jint(e, "vlan") == vlan)
			return (int)jint(e, "port");
	}
	return -1;
}

static void vlans_and_link(void **state)
{
	struct swt t = { 0 };
	struct evloop l;
	struct rec ra = { 0 }, rb = { 0 }, rc = { 0 }, rd = { 0 };
	struct err e = { 0 };

	strcpy(t.dir, "/tmp/ringvm-swtest.XXXXXX");
	assert_non_null(mkdtemp(t.dir));
	snprintf(t.path, sizeof(t.path), "%s/sw.sock", t.dir);
	sw_start(&t, 4);
	assert_int_equal(evloop_init(&l, NULL), 0);

	struct net_backend *a = open_port(&l, t.path, "vlan=10", &ra);
	struct net_backend *b = open_port(&l, t.path, "vlan=10", &rb);
	struct net_backend *c = open_port(&l, t.path, "vlan=20", &rc);
	struct net_backend *d = open_port(&l, t.path, "trunk=10,20", &rd);

	/* Port limit: a fifth VM is refused with a clear message. */
	struct net_backend *x = NULL;
	char spec[160];
	snprintf(spec, sizeof(spec), "path=%s,vlan=10", t.path);
	assert_int_equal(switch_port_open(spec, &l, &x, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "ports are in use"));

	/* A broadcast on VLAN 10 reaches B and (tagged) D, not C. */
	assert_int_equal(send_frame(a, BCAST, MA, -1), 0);
	pump(&l, 100);
	assert_int_equal(rb.nrx, 1);
	assert_int_equal(rc.nrx, 0);
	assert_int_equal(rd.nrx, 1);
	assert_int_equal(rd.last[NET_HDR_LEN + 12] << 8 | rd.last[NET_HDR_LEN + 13],
			 0x8100);
	assert_int_equal((rd.last[NET_HDR_LEN + 14] << 8 |
			  rd.last[NET_HDR_LEN + 15]) & 0xfff, 10);
	assert_int_equal(rb.last_len, NET_HDR_LEN + 60);
	assert_int_equal(rd.last_len, NET_HDR_LEN + 64);

	/* B answers A by unicast: learned, so only A gets it. */
	assert_int_equal(send_frame(b, MA, MB, -1), 0);
	pump(&l, 100);
	assert_int_equal(ra.nrx, 1);
	assert_int_equal(rd.nrx, 1);

	/* D on VLAN 20 to C (unknown: flooded within 20 only), untagged at
	 * C; then C answers and D gets it tagged 20. */
	assert_int_equal(send_frame(d, MC, MD, 20), 0);
	pump(&l, 100);
	assert_int_equal(rc.nrx, 1);
	assert_int_equal(rc.last[NET_HDR_LEN + 12], 0x08);
	assert_int_equal(ra.nrx + rb.nrx, 2);
	assert_int_equal(send_frame(c, MD, MC, -1), 0);
	pump(&l, 100);
	assert_int_equal(rd.nrx, 2);
	assert_int_equal((rd.last[NET_HDR_LEN + 14] << 8 |
			  rd.last[NET_HDR_LEN + 15]) & 0xfff, 20);

	/* Drops: tagged on an access port; VLAN 30 on the trunk; untagged
	 * on a trunk without native VLAN. */
	assert_int_equal(send_frame(a, BCAST, MA, 20), 0);
	assert_int_equal(send_frame(d, BCAST, MD, 30), 0);
	assert_int_equal(send_frame(d, BCAST, MD, -1), 0);
	pump(&l, 100);
	assert_int_equal(rc.nrx, 1);

	/* Rx backpressure: B has no buffers for one frame, then has. */
	rb.enospc = 1;
	assert_int_equal(send_frame(a, MB, MA, -1), 0);
	pump(&l, 50);
	assert_int_equal(rb.nrx, 1);
	b->ops->rx_ready(b);
	pump(&l, 50);
	assert_int_equal(rb.nrx, 2);

	struct json_object *j = show(t.path);
	assert_int_equal(json_object_array_length(
		json_object_object_get(j, "ports")), 4);
	assert_int_equal(mac_port(j, 10, MA), 1);
	assert_int_equal(mac_port(j, 10, MB), 2);
	assert_int_equal(mac_port(j, 20, MC), 3);
	assert_int_equal(mac_port(j, 20, MD), 4);
	assert_int_equal(mac_port(j, 10, MC), -1);
	assert_int_equal(jint(j, "counters.drops.tagged_on_access"), 1);
	assert_int_equal(jint(j, "counters.drops.vlan_not_allowed"), 1);
	assert_int_equal(jint(j, "counters.drops.untagged_on_trunk"), 1);
	assert_int_equal(jint(j, "counters.ports_refused"), 1);
	json_object_put(j);

	/* A VM that goes away frees its port and its MACs. */
	net_backend_free(a);
	pump(&l, 100);
	j = show(t.path);
	assert_int_equal(json_object_array_length(
		json_object_object_get(j, "ports")), 3);
	assert_int_equal(mac_port(j, 10, MA), -1);
	json_object_put(j);

	/* The switch dies: link down everywhere; it comes back: link up. */
	sw_stop(&t);
	pump(&l, 100);
	assert_false(rb.up);
	assert_false(rc.up);
	assert_false(rd.up);
	assert_int_equal(send_frame(b, BCAST, MB, -1), -ENETDOWN);
	pump(&l, 300);  /* a few failed reconnects */
	sw_start(&t, 4);
	pump(&l, 2500);
	assert_true(rb.up);
	assert_true(rc.up);
	assert_true(rd.up);
	assert_int_equal(rb.links, 2);
	assert_int_equal(send_frame(d, BCAST, MD, 10), 0);
	pump(&l, 100);
	assert_int_equal(rb.nrx, 3);

	net_backend_free(b);
	net_backend_free(c);
	net_backend_free(d);
	sw_stop(&t);
	evloop_free(&l);
	rmdir(t.dir);
}

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void tmp_switch(struct swt *t)
{
	strcpy(t->dir, "/tmp/ringvm-swtest.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/sw.sock", t->dir);
}

static int raw_connect(const char *path, int type)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* A port driven by hand: an access port on vid; returns the socket. */
static int raw_port(const char *path, uint16_t vid)
{
	int fd = raw_connect(path, SOCK_SEQPACKET);
	struct swp_hello h = { .magic = htole32(SWP_MAGIC),
			       .version = htole16(SWP_VERSION),
			       .mode = htole16(SWP_MODE_ACCESS),
			       .vid = htole16(vid) };
	assert_int_equal(send(fd, &h, sizeof(h), 0), sizeof(h));
	struct swp_welcome w;
	assert_int_equal(recv(fd, &w, sizeof(w), 0), sizeof(w));
	assert_int_equal(le16toh(w.status), 0);
	return fd;
}

/* Send a frame: addresses, then the 16-bit words w (EtherTypes, TCIs),
 * then a zero payload to 60 bytes. */
static void raw_send(int fd, const uint8_t *dst, const uint8_t *src,
		     const uint16_t *w, size_t nw)
{
	uint8_t f[NET_HDR_LEN + 80] = { 0 };
	size_t n = NET_HDR_LEN;
	memcpy(f + n, dst, 6);
	memcpy(f + n + 6, src, 6);
	n += 12;
	for (size_t i = 0; i < nw; i++) {
		f[n++] = (uint8_t)(w[i] >> 8);
		f[n++] = (uint8_t)w[i];
	}
	n = NET_HDR_LEN + 60 > n ? NET_HDR_LEN + 60 : n;
	assert_int_equal(send(fd, f, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read what is queued on a raw port; returns the count, and in *to the
 * number of frames whose destination is dst. */
static int raw_drain(int fd, const uint8_t *dst, int *to)
{
	uint8_t f[NET_HDR_LEN + 2048];
	int n = 0;
	*to = 0;
	for (;;) {
		ssize_t r = recv(fd, f, sizeof(f), MSG_DONTWAIT);
		if (r < 0)
			return n;
		n++;
		if (r >= NET_HDR_LEN + 6 && !memcmp(f + NET_HDR_LEN, dst, 6))
			(*to)++;
	}
}

/* Pump until r has received more than have frames; returns the ms it
 * took, or -1 after limit_ms. */
static int wait_rx(struct evloop *l, struct rec *r, int have, int limit_ms)
{
	uint64_t t0 = ms_now();
	while (ms_now() - t0 < (uint64_t)limit_ms) {
		evloop_poll(l, 5);
		if (r->nrx > have)
			return (int)(ms_now() - t0);
	}
	return -1;
}

static const uint16_t IPV4[] = { 0x0800 };

/* An access port on VLAN 10 sends a priority tag followed by a VLAN 20
 * tag; the trunk (native 10, carrying 20) must not receive it as VLAN 20
 * (the native VLAN leaves untagged, so the switch used to strip the
 * priority tag and hand the trunk a VLAN 20 frame).  Dropped, counted. */
static void no_hop_through_priority_tag(void **state)
{
	struct swt t = { 0 };
	struct evloop l;
	struct rec rt = { 0 };
	tmp_switch(&t);
	sw_start(&t, 4);
	assert_int_equal(evloop_init(&l, NULL), 0);
	int a = raw_port(t.path, 10);
	struct net_backend *tr = open_port(&l, t.path, "trunk=10,20,native=10",
					   &rt);
	static const uint16_t hop[] = { 0x8100, 0x0000, 0x8100, 20, 0x0800 };
	static const uint16_t hop_s[] = { 0x8100, 0xa000, 0x88a8, 20, 0x0800 };
	static const uint16_t stag[] = { 0x88a8, 20, 0x0800 };
	raw_send(a, BCAST, MA, hop, 5);
	raw_send(a, BCAST, MA, hop_s, 5);
	raw_send(a, BCAST, MA, stag, 3);
	pump(&l, 150);
	assert_int_equal(rt.nrx, 0);
	/* The port still works for what it may send. */
	raw_send(a, BCAST, MA, IPV4, 1);
	assert_true(wait_rx(&l, &rt, 0, 1000) >= 0);
	assert_int_equal(rt.last[NET_HDR_LEN + 12] << 8 | rt.last[NET_HDR_LEN + 13],
			 0x0800);
	struct json_object *j = show(t.path);
	assert_int_equal(jint(j, "counters.drops.stacked_tag"), 2);
	assert_int_equal(jint(j, "counters.drops.tagged_on_access"), 1);
	json_object_put(j);
	close(a);
	net_backend_free(tr);
	sw_stop(&t);
	evloop_free(&l);
	rmdir(t.dir);
}

/* One port sends from thousands of invented source addresses: it fills
 * only its per-port share, a VM that comes later is still learned, and
 * unicast to that VM is not flooded to the attacker. */
static void mac_flood(void **state)
{
	struct swt t = { 0 };
	struct evloop l;
	struct rec ra = { 0 }, rb = { 0 };
	tmp_switch(&t);
	sw_start_opts(&t, (struct sw_opts){ .ports = 4, .ageing_s = 300,
					    .max_macs = 1024,
					    .max_macs_per_port = 64 });
	assert_int_equal(evloop_init(&l, NULL), 0);
	int x = raw_port(t.path, 10);
	struct net_backend *a = open_port(&l, t.path, "vlan=10", &ra);
	struct net_backend *b = open_port(&l, t.path, "vlan=10", &rb);
	static const uint8_t NOBODY[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };
	uint8_t m[6] = { 0x02, 0xee, 0, 0, 0, 0 };
	for (int i = 0; i < 5000; i++) {
		m[3] = (uint8_t)(i >> 16);
		m[4] = (uint8_t)(i >> 8);
		m[5] = (uint8_t)i;
		raw_send(x, NOBODY, m, IPV4, 1);
		if (i % 500 == 0)
			pump(&l, 5);  /* keep A and B drained */
	}
	pump(&l, 300);
	int to;
	raw_drain(x, MA, &to);
	/* A arrives after the flood and speaks; B answers it by unicast. */
	assert_int_equal(send_frame(a, BCAST, MA, -1), 0);
	pump(&l, 100);
	raw_drain(x, MA, &to);
	ra.nrx = 0;
	assert_int_equal(send_frame(b, MA, MB, -1), 0);
	assert_true(wait_rx(&l, &ra, 0, 1000) >= 0);
	assert_memory_equal(ra.last + NET_HDR_LEN, MA, 6);
	pump(&l, 50);
	raw_drain(x, MA, &to);
	assert_int_equal(to, 0);

	struct json_object *j = show(t.path);
	assert_int_equal(mac_port(j, 10, MA), 2);
	assert_int_equal(mac_port(j, 10, MB), 3);
	assert_int_equal(jint(j, "max_macs_per_port"), 64);
	assert_int_equal(jint(j, "counters.learn_port_limit"), 5000 - 64);
	struct json_object *ports, *p1;
	json_object_object_get_ex(j, "ports", &ports);
	p1 = json_object_array_get_idx(ports, 0);
	assert_int_equal(jint(p1, "id"), 1);
	assert_int_equal(jint(p1, "macs"), 64);
	assert_int_equal(jint(p1, "learn_refused"), 5000 - 64);
	json_object_put(j);
	close(x);
	net_backend_free(a);
	net_backend_free(b);
	sw_stop(&t);
	evloop_free(&l);
	rmdir(t.dir);
}

/* A control client dripping its request a byte at a time, and one that
 * never reads its answer, do not hold up forwarding; the dripper is
 * dropped after SW_CTL_REQ_MS. */
static void slow_ctl_client(void **state)
{
	struct swt t = { 0 };
	struct evloop l;
	struct rec ra = { 0 }, rb = { 0 };
	char ctl[128];
	tmp_switch(&t);
	sw_start(&t, 4);
	assert_int_equal(evloop_init(&l, NULL), 0);
	struct net_backend *a = open_port(&l, t.path, "vlan=10", &ra);
	struct net_backend *b = open_port(&l, t.path, "vlan=10", &rb);
	snprintf(ctl, sizeof(ctl), "%s.ctl", t.path);
	int mute = raw_connect(ctl, SOCK_STREAM);
	assert_int_equal(send(mute, "show\n", 5, MSG_NOSIGNAL), 5);
	int drip = raw_connect(ctl, SOCK_STREAM);
	uint64_t t0 = ms_now();
	int worst = 0, frames = 0;
	while (ms_now() - t0 < 1600) {
		if (send(drip, "s", 1, MSG_NOSIGNAL) < 0)
			break;  /* dropped by the switch: fine */
		usleep(100 * 1000);
		int have = rb.nrx;
		assert_int_equal(send_frame(a, BCAST, MA, -1), 0);
		int ms = wait_rx(&l, &rb, have, 900);
		if (ms < 0 || ms > worst)
			worst = ms < 0 ? 900 : ms;
		frames++;
	}
	if (worst > 200)
		fail_msg("a frame took %d ms while a control client dripped",
			 worst);
	assert_true(frames >= 8);
	/* The dripper was cut off: its connection ends without an answer. */
	char c;
	assert_int_equal(recv(drip, &c, 1, 0), 0);
	struct json_object *j = show(t.path);
	assert_int_equal(jint(j, "counters.ctl_timeouts"), 1);
	json_object_put(j);
	close(drip);
	close(mute);
	net_backend_free(a);
	net_backend_free(b);
	sw_stop(&t);
	evloop_free(&l);
	rmdir(t.dir);
}

/* A control client that asks for a large answer (10000 MACs, more than
 * the socket holds) and never reads it does not hold up forwarding (the
 * switch used to block up to 1 s in send). */
static void mute_ctl_client(void **state)
{
	struct swt t = { 0 };
	struct evloop l;
	struct rec ra = { 0 }, rb = { 0 };
	char ctl[128];
	tmp_switch(&t);
	sw_start_opts(&t, (struct sw_opts){ .ports = 4, .ageing_s = 300,
					    .max_macs = 16384,
					    .max_macs_per_port = 16384 });
	assert_int_equal(evloop_init(&l, NULL), 0);
	int x = raw_port(t.path, 10);
	struct net_backend *a = open_port(&l, t.path, "vlan=10", &ra);
	struct net_backend *b = open_port(&l, t.path, "vlan=10", &rb);
	static const uint8_t NOBODY[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };
	uint8_t m[6] = { 0x02, 0xee, 0, 0, 0, 0 };
	for (int i = 0; i < 10000; i++) {
		m[4] = (uint8_t)(i >> 8);
		m[5] = (uint8_t)i;
		raw_send(x, NOBODY, m, IPV4, 1);
		if (i % 500 == 0)
			pump(&l, 5);
	}
	pump(&l, 300);
	snprintf(ctl, sizeof(ctl), "%s.ctl", t.path);
	int mute = raw_connect(ctl, SOCK_STREAM);
	int small = 4096;
	setsockopt(mute, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(send(mute, "show\n", 5, MSG_NOSIGNAL), 5);
	pump(&l, 400);  /* the switch builds the answer meanwhile */
	int have = rb.nrx;
	assert_int_equal(send_frame(a, BCAST, MA, -1), 0);
	int ms = wait_rx(&l, &rb, have, 2000);
	if (ms < 0 || ms > 300)
		fail_msg("a frame took %d ms while a control client did not "
			 "read its answer", ms);
	close(mute);
	close(x);
	net_backend_free(a);
	net_backend_free(b);
	sw_stop(&t);
	evloop_free(&l);
	rmdir(t.dir);
}

/* 50 connections beyond the port limit that never say hello do not stall
 * forwarding (the switch used to wait 50 ms for each one's hello). */
static void refused_clients(void **state)
{
	struct swt t = { 0 };
	struct evloop l;
	struct rec ra = { 0 }, rb = { 0 };
	tmp_switch(&t);
	sw_start(&t, 2);
	assert_int_equal(evloop_init(&l, NULL), 0);
	struct net_backend *a = open_port(&l, t.path, "vlan=10", &ra);
	struct net_backend *b = open_port(&l, t.path, "vlan=10", &rb);
	int fds[50];
	for (int i = 0; i < 50; i++)
		fds[i] = raw_connect(t.path, SOCK_SEQPACKET);
	usleep(20 * 1000);
	assert_int_equal(send_frame(a, BCAST, MA, -1), 0);
	int ms = wait_rx(&l, &rb, 0, 3000);
	if (ms < 0 || ms > 200)
		fail_msg("a frame took %d ms while 50 clients were refused",
			 ms);
	/* A refused client that says hello still learns why. */
	struct err e = { 0 };
	struct net_backend *x = NULL;
	char spec[160];
	snprintf(spec, sizeof(spec), "path=%s,vlan=10", t.path);
	assert_int_equal(switch_port_open(spec, &l, &x, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "ports are in use"));
	for (int i = 0; i < 50; i++)
		close(fds[i]);
	struct json_object *j = show(t.path);
	assert_int_equal(jint(j, "counters.ports_refused"), 51);
	json_object_put(j);
	net_backend_free(a);
	net_backend_free(b);
	sw_stop(&t);
	evloop_free(&l);
	rmdir(t.dir);
}

static void bad_specs(void **state)
{
	static const struct { const char *spec, *msg; } bad[] = {
		{ "vlan=10", "missing path" },
		{ "path=/x,vlan=0", "`0` is not a VLAN id" },
		{ "path=/x,vlan=4095", "`4095` is not a VLAN id" },
		{ "path=/x,vlan=abc", "`abc` is not a VLAN id" },
		{ "path=/x,vlan=10,trunk=20", "exclude each other" },
		{ "path=/x,trunk=10,4095", "`4095`" },
		{ "path=/x,trunk=20-10", "empty" },
		{ "path=/x,native=10", "needs trunk" },
		{ "path=/x,colour=red", "unknown option `colour`" },
		{ "path=/x,10", "not key=value" },
		{ "path=", "empty path" },
	};
	struct evloop l;
	assert_int_equal(evloop_init(&l, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e = { 0 };
		struct net_backend *nb = NULL;
		assert_int_equal(switch_port_open(bad[i].spec, &l, &nb, &e),
				 -EINVAL);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("%s: message `%s` lacks `%s`", bad[i].spec,
				 e.msg, bad[i].msg);
	}
	/* No switch there. */
	struct err e = { 0 };
	struct net_backend *nb = NULL;
	assert_int_equal(switch_port_open("path=/nonexistent/sw.sock", &l, &nb,
					  &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no switch is listening"));
	evloop_free(&l);
}

static void good_specs(void **state)
{
	struct swp_vlan_cfg c;
	char *p;
	assert_int_equal(switch_port_parse("switch,path=/a", &p, &c, NULL), 0);
	assert_string_equal(p, "/a");
	free(p);
	assert_int_equal(c.mode, SWP_MODE_ACCESS);
	assert_int_equal(c.vid, 1);
	assert_int_equal(switch_port_parse("path=/a,trunk=10,20,100-102,native=5",
					   &p, &c, NULL), 0);
	free(p);
	assert_int_equal(c.mode, SWP_MODE_TRUNK);
	assert_int_equal(c.vid, 5);
	assert_true(swp_vlan_allowed(&c, 10) && swp_vlan_allowed(&c, 20) &&
		    swp_vlan_allowed(&c, 101) && swp_vlan_allowed(&c, 5));
	assert_false(swp_vlan_allowed(&c, 11) || swp_vlan_allowed(&c, 103));
	assert_int_equal(swp_vlan_cfg_check(&c, NULL), 0);
	/* Hostile hellos. */
	c.allowed[511] |= 0x80;
	assert_int_equal(swp_vlan_cfg_check(&c, NULL), -EINVAL);
	c = (struct swp_vlan_cfg){ .mode = 7 };
	assert_int_equal(swp_vlan_cfg_check(&c, NULL), -EINVAL);
	c = (struct swp_vlan_cfg){ .mode = SWP_MODE_TRUNK };
	assert_int_equal(swp_vlan_cfg_check(&c, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_specs),
		cmocka_unit_test(bad_specs),
		cmocka_unit_test(vlans_and_link),
		cmocka_unit_test(no_hop_through_priority_tag),
		cmocka_unit_test(mac_flood),
		cmocka_unit_test(slow_ctl_client),
		cmocka_unit_test(mute_ctl_client),
		cmocka_unit_test(refused_clients),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
