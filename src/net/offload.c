#include "offload.h"

#include <string.h>

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IPPROTO_TCP_ 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80
/* Ethernet + VLAN + IPv4 with options + TCP with options. */
#define SEG_HDR_MAX (ETH_HLEN + 4 + 60 + 60)
/* A hostile gso_size of 1 would make ~64 Ki tiny frames; nothing sane
 * needs more than this many segments (64 KiB / 88-byte minimum MSS is
 * ~745). */
#define SEG_MAX 1024

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint64_t net_csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (; len >= 2; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t net_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t net_iov_len(const struct iovec *iov, unsigned iovcnt)
{
	size_t n = 0;
	for (unsigned i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

size_t net_iov_to_buf(const struct iovec *iov, unsigned iovcnt, size_t skip,
		      void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;
	for (unsigned i = 0; i < iovcnt && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		memcpy(out + done, (const uint8_t *)iov[i].iov_base + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

int net_offload_csum(uint8_t *frame, size_t len, const struct net_hdr *h)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	if (start >= len || at + 2 > len)
		return -EINVAL;
	/* The field holds the pseudo-header sum: summing over it adds it. */
	uint16_t c = net_csum_fold(net_csum_add(0, frame + start, len - start));
	/* RFC 768: a computed UDP checksum of 0 goes out as 0xffff. */
	put16(frame + at, c ? c : 0xffff);
	return 0;
}

/* Where the L3 header starts and its EtherType; 0 if not Ethernet. */
static size_t l3_offset(const uint8_t *f, size_t len, uint16_t *type)
{
	if (len < ETH_HLEN)
		return 0;
	*type = get16(f + 12);
	if (*type == ETH_P_8021Q || *type == ETH_P_8021AD) {
		if (len < ETH_HLEN + 4)
			return 0;
		*type = get16(f + 16);
		return ETH_HLEN + 4;
	}
	return ETH_HLEN;
}

/* Where a TCP/IP frame's parts are; what the GSO header claims must match
 * the frame.  Every offset is checked against len. */
struct tcp_layout {
	bool v4;
	size_t l3, l4, thl, hdrs, end;
};

static int tcp_layout(const uint8_t *f, size_t len, uint8_t gso,
		      struct tcp_layout *t)
{
	uint16_t type = 0;
	size_t l3 = l3_offset(f, len, &type);
	t->v4 = gso == NET_HDR_GSO_TCPV4;
	t->l3 = l3;
	if (!l3 || (!t->v4 && gso != NET_HDR_GSO_TCPV6))
		return -EINVAL;
	if (t->v4) {
		if (type != ETH_P_IP || l3 + 20 > len || (f[l3] >> 4) != 4)
			return -EINVAL;
		size_t ihl = (f[l3] & 15) * 4u, tot = get16(f + l3 + 2);
		/* Fragments cannot be segmented (MF set or an offset). */
		if (ihl < 20 || f[l3 + 9] != IPPROTO_TCP_ ||
		    (get16(f + l3 + 6) & 0x3fff) || tot < ihl ||
		    l3 + tot > len)
			return -EINVAL;
		t->l4 = l3 + ihl;
		t->end = l3 + tot;
	} else {
		if (type != ETH_P_IPV6 || l3 + 40 > len || (f[l3] >> 4) != 6 ||
		    f[l3 + 6] != IPPROTO_TCP_)
			return -EINVAL;
		t->l4 = l3 + 40;
		t->end = t->l4 + get16(f + l3 + 4);
		if (t->end > len)
			return -EINVAL;
	}
	if (t->l4 + 20 > t->end)
		return -EINVAL;
	t->thl = (f[t->l4 + 12] >> 4) * 4u;
	t->hdrs = t->l4 + t->thl;
	if (t->thl < 20 || t->hdrs > t->end || t->hdrs > SEG_HDR_MAX)
		return -EINVAL;
	return 0;
}

int net_offload_tcp_finish(uint8_t *f, size_t len, const struct net_hdr *h)
{
	struct tcp_layout t;
	if (tcp_layout(f, len, h->gso_type & ~NET_HDR_GSO_ECN, &t) < 0)
		return -EINVAL;
	uint8_t *ip = f + t.l3, *tcp = f + t.l4;
	uint64_t sum;
	size_t tlen = t.end - t.l4;
	if (t.v4) {
		put16(ip + 10, 0);
		put16(ip + 10, net_csum_fold(net_csum_add(0, ip, t.l4 - t.l3)));
		sum = net_csum_add(0, ip + 12, 8);
	} else {
		sum = net_csum_add(0, ip + 8, 32);
	}
	sum += IPPROTO_TCP_ + tlen;
	put16(tcp + 16, 0);
	put16(tcp + 16, net_csum_fold(net_csum_add(sum, tcp, tlen)));
	return 0;
}

int net_offload_segment(const uint8_t *f, size_t len, const struct net_hdr *h,
			net_emit_fn *emit, void *opaque)
{
	size_t next = 0;
	return net_offload_segment_from(f, len, h, &next, emit, opaque);
}

int net_offload_segment_from(const uint8_t *f, size_t len,
			     const struct net_hdr *h, size_t *next,
			     net_emit_fn *emit, void *opaque)
{
	struct tcp_layout t;
	if (!h->gso_size ||
	    tcp_layout(f, len, h->gso_type & ~NET_HDR_GSO_ECN, &t) < 0)
		return -EINVAL;
	bool v4 = t.v4;
	size_t l3 = t.l3, l4 = t.l4, end = t.end, thl = t.thl, hdrs = t.hdrs;
	size_t payload = end - hdrs, mss = h->gso_size;
	size_t nseg = payload ? (payload + mss - 1) / mss : 1;
	if (nseg > SEG_MAX)
		return -EINVAL;

	uint32_t seq0 = get32(f + l4 + 4);
	uint16_t id0 = v4 ? get16(f + l3 + 4) : 0;
	uint8_t flags0 = f[l4 + 13];
	uint8_t hb[SEG_HDR_MAX];
	struct net_hdr zero = { 0 };
	for (size_t i = *next; i < nseg; i++) {
		size_t off = i * mss;
		size_t chunk = payload - off < mss ? payload - off : mss;
		bool last = i == nseg - 1;
		memcpy(hb, f, hdrs);
		uint8_t *ip = hb + l3, *tcp = hb + l4;
		uint64_t sum;
		if (v4) {
			put16(ip + 2, (uint16_t)(hdrs - l3 + chunk));
			put16(ip + 4, (uint16_t)(id0 + i));
			put16(ip + 10, 0);
			put16(ip + 10, net_csum_fold(net_csum_add(0, ip,
								   l4 - l3)));
			sum = net_csum_add(0, ip + 12, 8);
		} else {
			put16(ip + 4, (uint16_t)(thl + chunk));
			sum = net_csum_add(0, ip + 8, 32);
		}
		sum += IPPROTO_TCP_ + thl + chunk;   /* rest of the pseudo-header */
		put32(tcp + 4, seq0 + (uint32_t)off);
		uint8_t fl = flags0;
		if (!last)
			fl &= ~(TCP_FIN | TCP_PSH);
		if (i)
			fl &= ~TCP_CWR;
		tcp[13] = fl;
		put16(tcp + 16, 0);
		sum = net_csum_add(sum, tcp, thl);
		sum = net_csum_add(sum, f + hdrs + off, chunk);
		put16(tcp + 16, net_csum_fold(sum));

		struct iovec iov[3] = {
			{ &zero, NET_HDR_LEN },
			{ hb, hdrs },
			{ (void *)(f + hdrs + off), chunk },
		};
		int rc = emit(opaque, iov, chunk ? 3 : 2);
		if (rc < 0)
			return rc;
		*next = i + 1;
	}
	return (int)nseg;
}

int net_offload_resolve(const struct iovec *iov, unsigned iovcnt,
			unsigned keep, uint8_t *buf, net_emit_fn *emit,
			void *opaque)
{
	size_t total = net_iov_len(iov, iovcnt);
	struct net_hdr h;
	if (total < NET_HDR_LEN)
		return -EINVAL;
	if (total - NET_HDR_LEN > NET_FRAME_MAX)
		return -EMSGSIZE;
	net_iov_to_buf(iov, iovcnt, 0, &h, sizeof(h));
	uint8_t gso = h.gso_type & ~NET_HDR_GSO_ECN;
	bool csum = h.flags & NET_HDR_F_NEEDS_CSUM;

	if (gso == NET_HDR_GSO_NONE && (!csum || (keep & NET_OFF_CSUM)))
		return emit(opaque, iov, iovcnt);
	if ((gso == NET_HDR_GSO_TCPV4 && (keep & NET_OFF_TSO4)) ||
	    (gso == NET_HDR_GSO_TCPV6 && (keep & NET_OFF_TSO6)))
		return emit(opaque, iov, iovcnt);

	/* One copy: everything after is checked and used from buf. */
	size_t len = total - NET_HDR_LEN;
	uint8_t *frame = buf + NET_HDR_LEN;
	net_iov_to_buf(iov, iovcnt, NET_HDR_LEN, frame, len);
	if (gso != NET_HDR_GSO_NONE)
		return net_offload_segment(frame, len, &h, emit, opaque);
	int rc = net_offload_csum(frame, len, &h);
	if (rc < 0)
		return rc;
	memset(buf, 0, NET_HDR_LEN);
	struct iovec one = { buf, NET_HDR_LEN + len };
	return emit(opaque, &one, 1);
}
