/* Unit tests for src/net/offload.c: Internet checksums against known
 * values and an independent checker, checksum completion, TCP segmentation
 * over IPv4/IPv6 (with and without a VLAN tag), header lies refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/offload.h"

#define MAXSEG 64

/* Frames the emit callback saw, linearised (net_hdr first). */
struct sink {
	unsigned n;
	size_t len[MAXSEG];
	uint8_t *buf[MAXSEG];
	const struct iovec *first_iov;
	int fail_at;   /* return -EIO on this call (0-based), -1 never */
};

static int emit(void *opaque, const struct iovec *iov, unsigned iovcnt)
{
	struct sink *s = opaque;
	if (s->fail_at >= 0 && (int)s->n == s->fail_at)
		return -EIO;
	assert_true(s->n < MAXSEG);
	size_t len = net_iov_len(iov, iovcnt);
	s->buf[s->n] = malloc(len);
	assert_int_equal(net_iov_to_buf(iov, iovcnt, 0, s->buf[s->n], len),
			 len);
	s->len[s->n] = len;
	if (s->n == 0)
		s->first_iov = iov;
	s->n++;
	return 0;
}

static void sink_free(struct sink *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->buf[i]);
}

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)g16(p) << 16 | g16(p + 2);
}
static void p16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }

/* Independent checker: the 32-bit one's-complement sum of the data (and a
 * pseudo-header) must fold to 0xffff for a valid checksum. */
static uint32_t sum32(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += g16(p + i);
	if (n & 1)
		s += p[n - 1] << 8;
	return s;
}
static uint16_t fold32(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static bool ip4_ok(const uint8_t *ip)
{
	return fold32(sum32(0, ip, (ip[0] & 15) * 4u)) == 0xffff;
}

/* l3: offset of the IP header in f; checks the TCP checksum. */
static bool tcp_ok(const uint8_t *f, size_t l3, bool v6)
{
	uint32_t s;
	size_t l4, tlen;
	if (v6) {
		tlen = g16(f + l3 + 4);
		l4 = l3 + 40;
		s = sum32(0, f + l3 + 8, 32);
	} else {
		size_t ihl = (f[l3] & 15) * 4u;
		tlen = g16(f + l3 + 2) - ihl;
		l4 = l3 + ihl;
		s = sum32(0, f + l3 + 12, 8);
	}
	s += 6 + (uint32_t)tlen;
	return fold32(sum32(s, f + l4, tlen)) == 0xffff;
}

/* Ethernet (+VLAN) + IPv4/IPv6 + TCP (20 bytes + 12 bytes of options) +
 * payload bytes i*7+3.  Returns the frame length; *l3 the IP offset. */
static size_t build(uint8_t *f, bool v6, bool vlan, size_t payload,
		    uint8_t tcp_flags, size_t *l3out)
{
	size_t o = 12;
	memset(f, 0, 128);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (vlan) {
		p16(f + 12, 0x8100);
		p16(f + 14, 42);
		o = 16;
	}
	p16(f + o, v6 ? 0x86dd : 0x0800);
	size_t l3 = o + 2, l4;
	if (v6) {
		f[l3] = 0x60;
		p16(f + l3 + 4, (uint16_t)(32 + payload));
		f[l3 + 6] = 6;
		f[l3 + 7] = 64;
		for (int i = 0; i < 16; i++) {
			f[l3 + 8 + i] = (uint8_t)(0xfd + i);
			f[l3 + 24 + i] = (uint8_t)(0x20 + i);
		}
		l4 = l3 + 40;
	} else {
		f[l3] = 0x45;
		p16(f + l3 + 2, (uint16_t)(20 + 32 + payload));
		p16(f + l3 + 4, 0x1234);
		p16(f + l3 + 6, 0x4000);   /* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = 6;
		memcpy(f + l3 + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
		l4 = l3 + 20;
	}
	p16(f + l4, 40000);
	p16(f + l4 + 2, 80);
	memcpy(f + l4 + 4, "\xff\xff\xf0\x00", 4);  /* seq near wrap */
	memcpy(f + l4 + 8, "\x00\x00\x00\x01", 4);
	f[l4 + 12] = 8 << 4;                         /* 32-byte header */
	f[l4 + 13] = tcp_flags;
	p16(f + l4 + 14, 65535);
	memcpy(f + l4 + 20, "\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02",
	       12);
	for (size_t i = 0; i < payload; i++)
		f[l4 + 32 + i] = (uint8_t)(i * 7 + 3);
	*l3out = l3;
	return l4 + 32 + payload;
}

/* ---- checksums ---- */

static void csum_known_ipv4_header(void **state)
{
	/* The classic example (RFC 1071 style): checksum 0xb861. */
	const uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
				0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
				0xc0, 0xa8, 0x00, 0xc7 };
	assert_int_equal(net_csum_fold(net_csum_add(0, h, 20)), 0xb861);
	/* RFC 1071 §3 example bytes: sum 0xddf2 -> checksum 0x220d. */
	const uint8_t r[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(net_csum_fold(net_csum_add(0, r, 8)), 0x220d);
	/* Odd length: the last byte is the high half of a word. */
	const uint8_t o[3] = { 0x12, 0x34, 0x56 };
	assert_int_equal(net_csum_fold(net_csum_add(0, o, 3)),
			 (uint16_t)~(0x1234 + 0x5600));
}

/* Linux's NEEDS_CSUM frames carry the folded pseudo-header sum. */
static void put_pseudo(uint8_t *f, size_t l3, bool v6)
{
	uint32_t s;
	size_t l4, tlen;
	if (v6) {
		tlen = g16(f + l3 + 4);
		l4 = l3 + 40;
		s = sum32(0, f + l3 + 8, 32);
	} else {
		tlen = g16(f + l3 + 2) - 20;
		l4 = l3 + 20;
		s = sum32(0, f + l3 + 12, 8);
	}
	p16(f + l4 + 16, fold32(s + 6 + (uint32_t)tlen));
}

static void csum_complete_tcp(void **state)
{
	static uint8_t f[2048];
	for (int v6 = 0; v6 < 2; v6++) {
		size_t l3, len = build(f, v6, false, 101, 0x18, &l3);
		size_t l4 = l3 + (v6 ? 40 : 20);
		put_pseudo(f, l3, v6);
		struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
				     .csum_start = (uint16_t)l4,
				     .csum_offset = 16 };
		assert_false(tcp_ok(f, l3, v6));
		assert_int_equal(net_offload_csum(f, len, &h), 0);
		assert_true(tcp_ok(f, l3, v6));
	}
}

static void csum_header_lies(void **state)
{
	uint8_t f[100] = { 0 };
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM };
	h.csum_start = 100;  h.csum_offset = 0;
	assert_int_equal(net_offload_csum(f, 100, &h), -EINVAL);
	h.csum_start = 90;  h.csum_offset = 9;     /* field ends at 101 */
	assert_int_equal(net_offload_csum(f, 100, &h), -EINVAL);
	h.csum_start = 0xffff;  h.csum_offset = 0xffff;
	assert_int_equal(net_offload_csum(f, 100, &h), -EINVAL);
	h.csum_start = 90;  h.csum_offset = 8;     /* last two bytes: fine */
	assert_int_equal(net_offload_csum(f, 100, &h), 0);
}

/* ---- segmentation ---- */

static void check_segments(bool v6, bool vlan)
{
	static uint8_t f[8192];
	const size_t payload = 4000, mss = 1448;
	size_t l3;
	/* CWR|PSH|FIN|ACK */
	size_t len = build(f, v6, vlan, payload, 0x80 | 0x08 | 0x01 | 0x10,
			   &l3);
	size_t l4 = l3 + (v6 ? 40 : 20), hdrs = l4 + 32;
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .gso_type = v6 ? NET_HDR_GSO_TCPV6
					    : NET_HDR_GSO_TCPV4,
			     .hdr_len = (uint16_t)hdrs,
			     .gso_size = (uint16_t)mss,
			     .csum_start = (uint16_t)l4, .csum_offset = 16 };
	struct sink s = { .fail_at = -1 };
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), 3);
	assert_int_equal(s.n, 3);
	size_t off = 0;
	for (unsigned i = 0; i < s.n; i++) {
		const uint8_t *sg = s.buf[i] + NET_HDR_LEN;
		size_t chunk = i < 2 ? mss : payload - 2 * mss;
		struct net_hdr z = { 0 };
		assert_memory_equal(s.buf[i], &z, NET_HDR_LEN);
		assert_int_equal(s.len[i] - NET_HDR_LEN, hdrs + chunk);
		assert_memory_equal(sg, f, l3);          /* Ethernet + tag */
		if (v6) {
			assert_int_equal(g16(sg + l3 + 4), 32 + chunk);
		} else {
			assert_int_equal(g16(sg + l3 + 2), 20 + 32 + chunk);
			assert_int_equal(g16(sg + l3 + 4), 0x1234 + i);
			assert_true(ip4_ok(sg + l3));
		}
		assert_int_equal(g32(sg + l4 + 4), 0xfffff000u + off);
		uint8_t fl = sg[l4 + 13];
		assert_int_equal(!!(fl & 0x01), i == 2);   /* FIN last only */
		assert_int_equal(!!(fl & 0x08), i == 2);   /* PSH last only */
		assert_int_equal(!!(fl & 0x80), i == 0);   /* CWR first only */
		assert_true(fl & 0x10);                    /* ACK on all */
		assert_memory_equal(sg + l4 + 20, f + l4 + 20, 12); /* options */
		assert_true(tcp_ok(sg, l3, v6));
		assert_memory_equal(sg + hdrs, f + hdrs + off, chunk);
		off += chunk;
	}
	assert_int_equal(off, payload);
	sink_free(&s);
}

static void segment_tcp4(void **state) { check_segments(false, false); }
static void segment_tcp6(void **state) { check_segments(true, false); }
static void segment_vlan(void **state)
{
	check_segments(false, true);
	check_segments(true, true);
}

static void segment_exact_and_empty(void **state)
{
	static uint8_t f[8192];
	size_t l3;
	size_t len = build(f, false, false, 2 * 1000, 0x18, &l3);
	struct net_hdr h = { .gso_type = NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	struct sink s = { .fail_at = -1 };
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), 2);
	assert_int_equal(s.buf[0][NET_HDR_LEN + l3 + 20 + 13] & 0x08, 0);
	assert_int_equal(s.buf[1][NET_HDR_LEN + l3 + 20 + 13] & 0x08, 0x08);
	sink_free(&s);
	/* No payload: one frame, headers only, checksummed. */
	len = build(f, false, false, 0, 0x11, &l3);
	struct sink e = { .fail_at = -1 };
	assert_int_equal(net_offload_segment(f, len, &h, emit, &e), 1);
	assert_true(tcp_ok(e.buf[0] + NET_HDR_LEN, l3, false));
	sink_free(&e);
}

/* Resuming after an emit error gives the same segments as one pass, each
 * once. */
static void segment_resume(void **state)
{
	static uint8_t f[8192];
	size_t l3;
	size_t len = build(f, false, false, 4500, 0x18, &l3);
	struct net_hdr h = { .gso_type = NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	struct sink all = { .fail_at = -1 };
	assert_int_equal(net_offload_segment(f, len, &h, emit, &all), 5);
	struct sink part = { .fail_at = 2 };
	size_t next = 0;
	assert_int_equal(net_offload_segment_from(f, len, &h, &next, emit,
						  &part), -EIO);
	assert_int_equal(next, 2);
	part.fail_at = -1;
	assert_int_equal(net_offload_segment_from(f, len, &h, &next, emit,
						  &part), 5);
	assert_int_equal(next, 5);
	assert_int_equal(part.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(part.len[i], all.len[i]);
		assert_memory_equal(part.buf[i], all.buf[i], all.len[i]);
	}
	/* Past the end: nothing more. */
	assert_int_equal(net_offload_segment_from(f, len, &h, &next, emit,
						  &part), 5);
	assert_int_equal(part.n, 5);
	sink_free(&all);
	sink_free(&part);
}

static void segment_header_lies(void **state)
{
	static uint8_t f[8192];
	size_t l3, len = build(f, false, false, 3000, 0x10, &l3);
	struct net_hdr h = { .gso_type = NET_HDR_GSO_TCPV4, .gso_size = 0 };
	struct sink s = { .fail_at = -1 };
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	h.gso_size = 1;  /* 3000 segments: refused */
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	h.gso_size = 1000;
	h.gso_type = NET_HDR_GSO_TCPV6;  /* it is IPv4 */
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	h.gso_type = NET_HDR_GSO_UDP;
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	h.gso_type = NET_HDR_GSO_TCPV4;
	/* IP total length beyond the frame. */
	assert_int_equal(net_offload_segment(f, len - 1, &h, emit, &s),
			 -EINVAL);
	/* Truncated to the middle of the TCP header. */
	assert_int_equal(net_offload_segment(f, l3 + 30, &h, emit, &s),
			 -EINVAL);
	/* Not TCP. */
	f[l3 + 9] = 17;
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	f[l3 + 9] = 6;
	/* A fragment. */
	p16(f + l3 + 6, 0x2000);
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	p16(f + l3 + 6, 0);
	/* TCP data offset beyond the packet. */
	f[l3 + 20 + 12] = 0xf0;
	p16(f + l3 + 2, 20 + 40);
	assert_int_equal(net_offload_segment(f, l3 + 60, &h, emit, &s),
			 -EINVAL);
	/* IPv6 with an extension header. */
	len = build(f, true, false, 3000, 0x10, &l3);
	f[l3 + 6] = 0;   /* hop-by-hop */
	h.gso_type = NET_HDR_GSO_TCPV6;
	assert_int_equal(net_offload_segment(f, len, &h, emit, &s), -EINVAL);
	assert_int_equal(s.n, 0);
	/* An emit error stops and is returned. */
	f[l3 + 6] = 6;
	struct sink e = { .fail_at = 1 };
	assert_int_equal(net_offload_segment(f, len, &h, emit, &e), -EIO);
	assert_int_equal(e.n, 1);
	sink_free(&e);
}

static void tcp_finish_whole(void **state)
{
	static uint8_t f[70000];
	for (int v6 = 0; v6 < 2; v6++) {
		size_t l3, len = build(f, v6, v6, 60000, 0x18, &l3);
		struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
				     .gso_type = v6 ? NET_HDR_GSO_TCPV6
						    : NET_HDR_GSO_TCPV4,
				     .gso_size = 1448 };
		/* Whatever the sender left in the fields is replaced. */
		f[l3 + (v6 ? 40 : 20) + 16] = 0x12;
		if (!v6)
			f[l3 + 10] = 0x34;
		assert_int_equal(net_offload_tcp_finish(f, len, &h), 0);
		if (!v6)
			assert_true(ip4_ok(f + l3));
		assert_true(tcp_ok(f, l3, v6));
		/* Header lies. */
		h.gso_type = v6 ? NET_HDR_GSO_TCPV4 : NET_HDR_GSO_TCPV6;
		assert_int_equal(net_offload_tcp_finish(f, len, &h), -EINVAL);
		h.gso_type = NET_HDR_GSO_UDP;
		assert_int_equal(net_offload_tcp_finish(f, len, &h), -EINVAL);
		h.gso_type = v6 ? NET_HDR_GSO_TCPV6 : NET_HDR_GSO_TCPV4;
		assert_int_equal(net_offload_tcp_finish(f, len - 1, &h),
				 -EINVAL);
		assert_int_equal(net_offload_tcp_finish(f, 20, &h), -EINVAL);
	}
}

/* ---- resolve ---- */

static void resolve_paths(void **state)
{
	static uint8_t f[8192], buf[NET_OFFLOAD_BUF];
	size_t l3, len = build(f, false, false, 3000, 0x18, &l3);
	struct net_hdr h = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .gso_type = NET_HDR_GSO_TCPV4, .gso_size = 1448,
			     .csum_start = (uint16_t)(l3 + 20),
			     .csum_offset = 16 };
	/* Split across iovecs, header in its own. */
	struct iovec iov[3] = { { &h, NET_HDR_LEN }, { f, 20 },
				{ f + 20, len - 20 } };
	/* Kept: passed through, same iovec, no copy. */
	struct sink s = { .fail_at = -1 };
	assert_int_equal(net_offload_resolve(iov, 3, NET_OFF_CSUM |
					     NET_OFF_TSO4, buf, emit, &s), 0);
	assert_int_equal(s.n, 1);
	assert_ptr_equal(s.first_iov, iov);
	sink_free(&s);
	/* Not kept: three segments. */
	struct sink t = { .fail_at = -1 };
	assert_int_equal(net_offload_resolve(iov, 3, NET_OFF_CSUM | NET_OFF_TSO6,
					     buf, emit, &t), 3);
	assert_int_equal(t.n, 3);
	sink_free(&t);
	/* Checksum only. */
	len = build(f, true, false, 77, 0x18, &l3);
	put_pseudo(f, l3, true);
	struct net_hdr c = { .flags = NET_HDR_F_NEEDS_CSUM,
			     .csum_start = (uint16_t)(l3 + 40),
			     .csum_offset = 16 };
	struct iovec ci[2] = { { &c, NET_HDR_LEN }, { f, len } };
	struct sink u = { .fail_at = -1 };
	assert_int_equal(net_offload_resolve(ci, 2, 0, buf, emit, &u), 0);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.buf[0][0], 0);             /* flags cleared */
	assert_true(tcp_ok(u.buf[0] + NET_HDR_LEN, l3, true));
	assert_false(tcp_ok(f, l3, true));            /* source untouched */
	sink_free(&u);
	/* Lies and sizes. */
	c.csum_start = 0xfff0;
	struct sink v = { .fail_at = -1 };
	assert_int_equal(net_offload_resolve(ci, 2, 0, buf, emit, &v), -EINVAL);
	struct iovec shorty = { &c, 5 };
	assert_int_equal(net_offload_resolve(&shorty, 1, 0, buf, emit, &v),
			 -EINVAL);
	static uint8_t huge[NET_FRAME_MAX + 1];
	struct iovec hi[2] = { { &c, NET_HDR_LEN }, { huge, sizeof(huge) } };
	assert_int_equal(net_offload_resolve(hi, 2, 0, buf, emit, &v),
			 -EMSGSIZE);
	assert_int_equal(v.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csum_known_ipv4_header),
		cmocka_unit_test(csum_complete_tcp),
		cmocka_unit_test(csum_header_lies),
		cmocka_unit_test(segment_tcp4),
		cmocka_unit_test(segment_tcp6),
		cmocka_unit_test(segment_vlan),
		cmocka_unit_test(segment_exact_and_empty),
		cmocka_unit_test(segment_resume),
		cmocka_unit_test(segment_header_lies),
		cmocka_unit_test(tcp_finish_whole),
		cmocka_unit_test(resolve_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
