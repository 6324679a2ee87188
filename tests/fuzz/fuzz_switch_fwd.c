/* libFuzzer target: the switch's forwarding decision (src/net/switch/fwd.c)
 * and learning (mac_table.c) for an arbitrary frame entering a port of
 * either kind.  Input: 1 byte ingress mode, 3 bytes VLAN choices (the
 * port's VID/native and two allowed VLANs), a 12-byte net_hdr, then the
 * Ethernet frame.  For every accepted frame it checks, and abort()s on
 * violation:
 *  - the frame's VLAN is one the ingress port may use;
 *  - each egress (to access and trunk ports of several shapes) carries
 *    exactly the switch's tag for that VLAN, or none where the VLAN leaves
 *    untagged, and no tag after it (a receiver reads the frame's VLAN as
 *    the one the switch chose);
 *  - the output frame is 14..NET_FRAME_MAX bytes, keeps its addresses and
 *    payload, and a checksum request still points inside it;
 *  - learning then lookup finds the port (unless refused), touching at
 *    most MAC_TABLE_PROBE_MAX slots each. */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/switch/fwd.h"
#include "net/switch/mac_table.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* A VID from one byte: mostly small ones (so that VLANs coincide), plus
 * the edges 4094 and 4095. */
static uint16_t vid_of(uint8_t b)
{
	return b == 0xff ? 4095 : b == 0xfe ? 4094 : b % 24;
}

static struct swp_vlan_cfg mk(int trunk, uint16_t vid, uint16_t a, uint16_t b)
{
	struct swp_vlan_cfg c = { .mode = trunk ? SWP_MODE_TRUNK
						: SWP_MODE_ACCESS, .vid = vid };
	if (trunk) {
		if (a >= 1 && a <= SWP_VID_MAX)
			swp_vlan_allow(&c, a);
		if (b >= 1 && b <= SWP_VID_MAX)
			swp_vlan_allow(&c, b);
		if (vid >= 1 && vid <= SWP_VID_MAX)
			swp_vlan_allow(&c, vid);
	}
	return c;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void check_egress(const struct swp_vlan_cfg *eg, const struct net_hdr *hdr,
			 const uint8_t *frame, size_t len,
			 const struct sw_class *c)
{
	static uint8_t out[NET_HDR_LEN + NET_FRAME_MAX + 16];
	enum sw_egress a = sw_egress_action(eg, c->vid);
	if (a == SW_EG_SKIP)
		return;
	/* The action matches the port's membership. */
	if (eg->mode == SWP_MODE_ACCESS)
		CHECK(a == SW_EG_UNTAGGED && eg->vid == c->vid);
	else if (a == SW_EG_UNTAGGED)
		CHECK(eg->vid == c->vid);
	else
		CHECK(swp_vlan_allowed(eg, c->vid) && eg->vid != c->vid);

	struct net_hdr ho;
	uint8_t tag[VLAN_TAG_LEN];
	struct iovec iov[4];
	unsigned n = sw_egress_iov(hdr, frame, len, c, a, &ho, tag, iov);
	CHECK(n >= 2 && n <= 4);
	size_t olen = 0;
	for (unsigned i = 0; i < n; i++) {
		CHECK(olen + iov[i].iov_len <= sizeof(out));
		memcpy(out + olen, iov[i].iov_base, iov[i].iov_len);
		olen += iov[i].iov_len;
	}
	CHECK(olen >= NET_HDR_LEN + ETH_HLEN_);
	const uint8_t *eth = out + NET_HDR_LEN;
	size_t elen = olen - NET_HDR_LEN;
	CHECK(elen <= NET_FRAME_MAX);
	CHECK(!memcmp(eth, frame, 12));
	size_t body;                    /* offset of the EtherType after tags */
	if (a == SW_EG_TAGGED) {
		CHECK(elen >= ETH_HLEN_ + VLAN_TAG_LEN);
		CHECK(be16(eth + 12) == VLAN_TPID);
		uint16_t tci = be16(eth + 14);
		CHECK((tci & 0xfff) == c->vid);
		CHECK(tci >> 13 == c->pcp && (tci >> 12 & 1) == c->dei);
		body = 16;
	} else {
		body = 12;
	}
	/* No second tag for a receiver to read as the VLAN. */
	CHECK(!sw_is_tpid(be16(eth + body)));
	/* The rest is the ingress frame after its own tag, unchanged. */
	size_t in_body = 12 + c->tag_len;
	CHECK(elen - body == len - in_body);
	CHECK(!memcmp(eth + body, frame + in_body, len - in_body));
	if (hdr->flags & NET_HDR_F_NEEDS_CSUM) {
		unsigned start = le16toh(ho.csum_start);
		unsigned off = le16toh(ho.csum_offset);
		CHECK(start >= body + 2 && start + off + 2 <= elen);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mac_table *t;
	static uint64_t now;
	if (!t && mac_table_new(64, 16, 4, 1, &t, NULL))
		abort();
	if (size < 4 + NET_HDR_LEN)
		return 0;
	int trunk = data[0] & 1;
	uint16_t in_port = (uint16_t)(1 + (data[0] >> 1 & 3));
	struct swp_vlan_cfg in = mk(trunk, vid_of(data[1]), vid_of(data[2]),
				    vid_of(data[3]));
	if (swp_vlan_cfg_check(&in, NULL))
		return 0;
	struct net_hdr hdr;
	memcpy(&hdr, data + 4, NET_HDR_LEN);
	const uint8_t *frame = data + 4 + NET_HDR_LEN;
	size_t len = size - 4 - NET_HDR_LEN;

	struct sw_class c;
	enum sw_drop d = sw_classify(&in, &hdr, frame, len, &c);
	CHECK((unsigned)d < SW_DROP_NR);
	if (d != SW_FWD_OK)
		return 0;
	/* The ingress port may use the VLAN. */
	CHECK(c.vid >= 1 && c.vid <= SWP_VID_MAX);
	if (in.mode == SWP_MODE_ACCESS)
		CHECK(c.vid == in.vid);
	else
		CHECK(swp_vlan_allowed(&in, c.vid));
	CHECK(c.tag_len == 0 || c.tag_len == VLAN_TAG_LEN);
	CHECK(len >= ETH_HLEN_ + c.tag_len && len <= NET_FRAME_MAX);

	static const struct { int trunk; uint16_t vid, a, b; } egs[] = {
		{ 0, 1, 0, 0 }, { 0, 10, 0, 0 }, { 0, 20, 0, 0 },
		{ 1, 10, 20, 0 }, { 1, 0, 10, 20 }, { 1, 20, 10, 4094 },
		{ 1, 0, 1, 4094 },
	};
	for (size_t i = 0; i < sizeof(egs) / sizeof(egs[0]); i++) {
		struct swp_vlan_cfg eg = mk(egs[i].trunk, egs[i].vid, egs[i].a,
					    egs[i].b);
		check_egress(&eg, &hdr, frame, len, &c);
	}
	/* The ingress port's own shape as an egress, and the same VLAN as
	 * access and as a trunk's native one. */
	check_egress(&in, &hdr, frame, len, &c);
	struct swp_vlan_cfg same = mk(0, c.vid, 0, 0);
	check_egress(&same, &hdr, frame, len, &c);
	same = mk(1, c.vid, 0, 0);
	check_egress(&same, &hdr, frame, len, &c);

	/* Learning: bounded work; a learned address is found on its port. */
	now += 100;
	uint64_t p0 = mac_table_probes(t);
	int rc = mac_table_learn(t, c.vid, frame + 6, in_port, now);
	CHECK(mac_table_probes(t) - p0 <= MAC_TABLE_PROBE_MAX);
	CHECK(rc == 0 || rc == -ENOSPC || rc == -EDQUOT);
	p0 = mac_table_probes(t);
	int port = mac_table_lookup(t, c.vid, frame + 6, now);
	CHECK(mac_table_probes(t) - p0 <= MAC_TABLE_PROBE_MAX);
	if (rc == 0)
		CHECK(port == in_port);
	CHECK(mac_table_count(t) <= 64);
	for (uint16_t p = 1; p <= 4; p++)
		CHECK(mac_table_port_count(t, p) <= 16);
	if (data[0] & 0x80)
		mac_table_age_step(t, now, 32);
	if ((data[0] & 0x70) == 0x70)
		mac_table_flush_port(t, in_port);
	return 0;
}
