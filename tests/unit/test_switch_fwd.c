/* Unit tests for src/net/switch/fwd.c: ingress classification, egress
 * actions and the tag insert/strip rewrite, over every combination of
 * ingress port mode x frame tagging x egress port mode. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "net/switch/fwd.h"

static struct swp_vlan_cfg acc(uint16_t vid)
{
	return (struct swp_vlan_cfg){ .mode = SWP_MODE_ACCESS, .vid = vid };
}

static struct swp_vlan_cfg trunk(uint16_t native, uint16_t a, uint16_t b)
{
	struct swp_vlan_cfg c = { .mode = SWP_MODE_TRUNK, .vid = native };
	if (a)
		swp_vlan_allow(&c, a);
	if (b)
		swp_vlan_allow(&c, b);
	if (native)
		swp_vlan_allow(&c, native);
	return c;
}

static const uint8_t DST[6] = { 0x52, 0x54, 0, 0, 0, 2 };
static const uint8_t SRC[6] = { 0x52, 0x54, 0, 0, 0, 1 };
#define PAYLOAD_TYPE 0x0800

/* tci < 0: untagged.  Returns the length. */
static size_t mkframe(uint8_t *f, int tci, size_t payload)
{
	size_t n = 0;
	memcpy(f, DST, 6);
	memcpy(f + 6, SRC, 6);
	n = 12;
	if (tci >= 0) {
		f[n++] = 0x81;
		f[n++] = 0x00;
		f[n++] = (uint8_t)(tci >> 8);
		f[n++] = (uint8_t)tci;
	}
	f[n++] = PAYLOAD_TYPE >> 8;
	f[n++] = PAYLOAD_TYPE & 0xff;
	for (size_t i = 0; i < payload; i++)
		f[n++] = (uint8_t)(0xa0 + i);
	return n;
}

static size_t flatten(const struct iovec *iov, unsigned n, uint8_t *out)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return len;
}

#define TCI(pcp, dei, vid) ((pcp) << 13 | (dei) << 12 | (vid))

struct in_case {
	const char *name;
	struct swp_vlan_cfg port;
	int tci;                 /* -1 untagged */
	enum sw_drop want;
	uint16_t vid;
	uint8_t pcp, dei;
};

struct eg_case {
	const char *name;
	struct swp_vlan_cfg port;
	enum sw_egress want10, want20;
};

static void matrix(void **state)
{
	const struct in_case in[] = {
		{ "access10/untagged", acc(10), -1, SW_FWD_OK, 10, 0, 0 },
		{ "access10/prio5", acc(10), TCI(5, 1, 0), SW_FWD_OK, 10, 5, 1 },
		{ "access10/tag10", acc(10), TCI(3, 0, 10), SW_DROP_TAGGED_ON_ACCESS, 0, 0, 0 },
		{ "access10/tag20", acc(10), TCI(3, 0, 20), SW_DROP_TAGGED_ON_ACCESS, 0, 0, 0 },
		{ "access10/tag4095", acc(10), TCI(0, 0, 4095), SW_DROP_RESERVED_VID, 0, 0, 0 },
		{ "trunk/untagged", trunk(0, 10, 20), -1, SW_DROP_UNTAGGED_ON_TRUNK, 0, 0, 0 },
		{ "trunk/prio", trunk(0, 10, 20), TCI(2, 0, 0), SW_DROP_UNTAGGED_ON_TRUNK, 0, 0, 0 },
		{ "trunk/tag10", trunk(0, 10, 20), TCI(3, 0, 10), SW_FWD_OK, 10, 3, 0 },
		{ "trunk/tag20", trunk(0, 10, 20), TCI(7, 1, 20), SW_FWD_OK, 20, 7, 1 },
		{ "trunk/tag30", trunk(0, 10, 20), TCI(1, 0, 30), SW_DROP_VLAN_NOT_ALLOWED, 0, 0, 0 },
		{ "trunk/tag4095", trunk(0, 10, 20), TCI(1, 0, 4095), SW_DROP_RESERVED_VID, 0, 0, 0 },
		{ "native20/untagged", trunk(20, 10, 0), -1, SW_FWD_OK, 20, 0, 0 },
		{ "native20/prio6", trunk(20, 10, 0), TCI(6, 0, 0), SW_FWD_OK, 20, 6, 0 },
		{ "native20/tag20", trunk(20, 10, 0), TCI(4, 0, 20), SW_FWD_OK, 20, 4, 0 },
		{ "native20/tag10", trunk(20, 10, 0), TCI(2, 0, 10), SW_FWD_OK, 10, 2, 0 },
		{ "native20/tag30", trunk(20, 10, 0), TCI(2, 0, 30), SW_DROP_VLAN_NOT_ALLOWED, 0, 0, 0 },
	};
	const struct eg_case eg[] = {
		{ "access10", acc(10), SW_EG_UNTAGGED, SW_EG_SKIP },
		{ "access20", acc(20), SW_EG_SKIP, SW_EG_UNTAGGED },
		{ "trunk10,20", trunk(0, 10, 20), SW_EG_TAGGED, SW_EG_TAGGED },
		{ "trunk20", trunk(0, 20, 0), SW_EG_SKIP, SW_EG_TAGGED },
		{ "native10+20", trunk(10, 20, 0), SW_EG_UNTAGGED, SW_EG_TAGGED },
		{ "native20+10", trunk(20, 10, 0), SW_EG_TAGGED, SW_EG_UNTAGGED },
	};
	uint8_t f[128], out[160], tag[4];
	struct iovec iov[4];
	struct net_hdr hdr = { 0 }, ho;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t len = mkframe(f, in[i].tci, 46);
		struct sw_class c;
		enum sw_drop d = sw_classify(&in[i].port, &hdr, f, len, &c);
		if (d != in[i].want)
			fail_msg("%s: drop %s, want %s", in[i].name,
				 sw_drop_name(d), sw_drop_name(in[i].want));
		if (d != SW_FWD_OK)
			continue;
		if (c.vid != in[i].vid || c.pcp != in[i].pcp || c.dei != in[i].dei)
			fail_msg("%s: vid %u pcp %u dei %u", in[i].name, c.vid,
				 c.pcp, c.dei);
		assert_int_equal(c.tag_len, in[i].tci >= 0 ? 4 : 0);
		for (size_t e = 0; e < sizeof(eg) / sizeof(eg[0]); e++) {
			enum sw_egress a = sw_egress_action(&eg[e].port, c.vid);
			enum sw_egress want = c.vid == 10 ? eg[e].want10 : eg[e].want20;
			if (a != want)
				fail_msg("%s -> %s: action %d, want %d",
					 in[i].name, eg[e].name, a, want);
			if (a == SW_EG_SKIP)
				continue;
			unsigned n = sw_egress_iov(&hdr, f, len, &c, a, &ho, tag, iov);
			assert_true(n >= 2 && n <= 4);
			size_t olen = flatten(iov, n, out);
			uint8_t *eth = out + NET_HDR_LEN;
			assert_memory_equal(eth, DST, 6);
			assert_memory_equal(eth + 6, SRC, 6);
			size_t p = 12;
			if (a == SW_EG_TAGGED) {
				assert_int_equal(eth[12] << 8 | eth[13], 0x8100);
				/* PCP and DEI carried into the new tag. */
				assert_int_equal(eth[14] << 8 | eth[15],
						 TCI(c.pcp, c.dei, c.vid));
				p = 16;
			}
			assert_int_equal(eth[p] << 8 | eth[p + 1], PAYLOAD_TYPE);
			assert_int_equal(olen - NET_HDR_LEN, p + 2 + 46);
			for (size_t k = 0; k < 46; k++)
				assert_int_equal(eth[p + 2 + k], 0xa0 + k);
		}
	}
}

static void hostile_frames(void **state)
{
	struct swp_vlan_cfg a = acc(10), t = trunk(0, 10, 20);
	struct net_hdr hdr = { 0 };
	struct sw_class c;
	uint8_t f[64];

	size_t len = mkframe(f, -1, 0);
	assert_int_equal(sw_classify(&a, &hdr, f, 13, &c), SW_DROP_RUNT);
	assert_int_equal(sw_classify(&a, &hdr, f, 0, &c), SW_DROP_RUNT);
	assert_int_equal(sw_classify(&a, &hdr, f, len, &c), SW_FWD_OK);
	len = mkframe(f, TCI(0, 0, 10), 0);
	assert_int_equal(sw_classify(&t, &hdr, f, 17, &c), SW_DROP_RUNT);
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_FWD_OK);
	assert_int_equal(sw_classify(&t, &hdr, f, NET_FRAME_MAX + 1, &c),
			 SW_DROP_OVERSIZE);
	/* A group source address is never valid. */
	f[6] |= 1;
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_DROP_SRC_MCAST);
}

/* Checksum/TSO offsets move with the tag. */
static void hdr_offsets_follow_tag(void **state)
{
	struct swp_vlan_cfg a = acc(10), t = trunk(0, 10, 0);
	uint8_t f[128], tag[4];
	struct iovec iov[4];
	struct net_hdr hdr = { .flags = NET_HDR_F_NEEDS_CSUM,
			       .gso_type = NET_HDR_GSO_TCPV4, .hdr_len = 54,
			       .gso_size = 1448, .csum_start = 34,
			       .csum_offset = 16 }, ho;
	struct sw_class c;

	size_t len = mkframe(f, -1, 80);
	assert_int_equal(sw_classify(&a, &hdr, f, len, &c), SW_FWD_OK);
	sw_egress_iov(&hdr, f, len, &c, SW_EG_TAGGED, &ho, tag, iov);
	assert_int_equal(ho.csum_start, 38);
	assert_int_equal(ho.hdr_len, 58);
	assert_int_equal(ho.csum_offset, 16);
	assert_int_equal(ho.gso_size, 1448);
	assert_int_equal(ho.gso_type, NET_HDR_GSO_TCPV4);

	/* And back: a tagged frame leaving untagged. */
	len = mkframe(f, TCI(0, 0, 10), 80);
	hdr.csum_start = 38;
	hdr.hdr_len = 58;
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_FWD_OK);
	sw_egress_iov(&hdr, f, len, &c, SW_EG_UNTAGGED, &ho, tag, iov);
	assert_int_equal(ho.csum_start, 34);
	assert_int_equal(ho.hdr_len, 54);

	/* Offsets outside the frame, or inside the Ethernet header. */
	hdr.csum_start = 10;
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_DROP_BAD_HDR);
	hdr.csum_start = 38;
	hdr.csum_offset = (uint16_t)(len - 38 - 1);
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_DROP_BAD_HDR);
	hdr.csum_offset = 0xffff;
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_DROP_BAD_HDR);
}

/* A tagged frame leaving tagged with the same TCI is passed as one piece
 * (no rewrite); a priority tag gets the VID filled in. */
static void retag(void **state)
{
	struct swp_vlan_cfg t = trunk(20, 10, 0);
	uint8_t f[128], out[160], tag[4];
	struct iovec iov[4];
	struct net_hdr hdr = { 0 }, ho;
	struct sw_class c;

	size_t len = mkframe(f, TCI(3, 0, 10), 10);
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_FWD_OK);
	assert_int_equal(sw_egress_iov(&hdr, f, len, &c, SW_EG_TAGGED, &ho,
				       tag, iov), 2);
	len = mkframe(f, TCI(6, 0, 0), 10);
	assert_int_equal(sw_classify(&t, &hdr, f, len, &c), SW_FWD_OK);
	assert_int_equal(c.vid, 20);
	unsigned n = sw_egress_iov(&hdr, f, len, &c, SW_EG_TAGGED, &ho, tag, iov);
	flatten(iov, n, out);
	assert_int_equal(out[NET_HDR_LEN + 14] << 8 | out[NET_HDR_LEN + 15],
			 TCI(6, 0, 20));
}

/* Frame with the given EtherType/TCI words after the addresses. */
static size_t mkwords(uint8_t *f, const uint16_t *w, size_t nw)
{
	memcpy(f, DST, 6);
	memcpy(f + 6, SRC, 6);
	size_t n = 12;
	for (size_t i = 0; i < nw; i++) {
		f[n++] = (uint8_t)(w[i] >> 8);
		f[n++] = (uint8_t)w[i];
	}
	memset(f + n, 0xa5, 46);
	return n + 46;
}

/* VLAN hopping through a second tag: a priority tag (or a VLAN tag)
 * followed by another tag, or an S-tag, must not get through, because an
 * untagged egress would present the inner tag as the frame's VLAN. */
static void stacked_tags(void **state)
{
	static const struct {
		const char *name;
		int trunk;               /* 0: access 10; 1: trunk native 10 + 20 */
		uint16_t w[4];
		size_t nw;
		enum sw_drop want;
	} cases[] = {
		{ "access/prio+tag20", 0, { 0x8100, 0x0000, 0x8100, 20 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "access/prio5+tag20", 0, { 0x8100, 0xa000, 0x8100, 20 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "access/prio+stag", 0, { 0x8100, 0x0000, 0x88a8, 20 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "access/prio+9100", 0, { 0x8100, 0x0000, 0x9100, 20 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "access/stag20", 0, { 0x88a8, 20, 0x0800 }, 3,
		  SW_DROP_TAGGED_ON_ACCESS },
		{ "access/9100", 0, { 0x9100, 20, 0x0800 }, 3,
		  SW_DROP_TAGGED_ON_ACCESS },
		{ "access/prio+ipv4", 0, { 0x8100, 0x0000, 0x0800 }, 3, SW_FWD_OK },
		{ "trunk/prio+tag20", 1, { 0x8100, 0x0000, 0x8100, 20 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "trunk/tag10+tag20", 1, { 0x8100, 10, 0x8100, 20 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "trunk/tag20+stag", 1, { 0x8100, 20, 0x88a8, 30 }, 4,
		  SW_DROP_STACKED_TAG },
		{ "trunk/stag20", 1, { 0x88a8, 20, 0x0800 }, 3,
		  SW_DROP_STACKED_TAG },
		{ "trunk/tag20+ipv4", 1, { 0x8100, 20, 0x0800 }, 3, SW_FWD_OK },
	};
	struct swp_vlan_cfg a = acc(10), t = trunk(10, 20, 0);
	struct net_hdr hdr = { 0 };
	uint8_t f[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sw_class c;
		size_t len = mkwords(f, cases[i].w, cases[i].nw);
		enum sw_drop d = sw_classify(cases[i].trunk ? &t : &a, &hdr, f,
					     len, &c);
		if (d != cases[i].want)
			fail_msg("%s: drop %s, want %s", cases[i].name,
				 sw_drop_name(d), sw_drop_name(cases[i].want));
	}
	assert_string_equal(sw_drop_name(SW_DROP_STACKED_TAG), "stacked_tag");
}

/* The egress of a priority-tagged frame: untagged toward an access port or
 * the native VLAN, tagged with the VID filled in toward a trunk. */
static void priority_tag_egress(void **state)
{
	struct swp_vlan_cfg a = acc(10);
	uint8_t f[128], out[160], tag[4];
	struct iovec iov[4];
	struct net_hdr hdr = { 0 }, ho;
	struct sw_class c;
	size_t len = mkframe(f, TCI(5, 0, 0), 46);
	assert_int_equal(sw_classify(&a, &hdr, f, len, &c), SW_FWD_OK);
	size_t n;
	unsigned k = sw_egress_iov(&hdr, f, len, &c, SW_EG_UNTAGGED, &ho, tag,
				   iov);
	n = flatten(iov, k, out);
	assert_int_equal(n - NET_HDR_LEN, len - 4);
	assert_int_equal(out[NET_HDR_LEN + 12] << 8 | out[NET_HDR_LEN + 13],
			 PAYLOAD_TYPE);
	k = sw_egress_iov(&hdr, f, len, &c, SW_EG_TAGGED, &ho, tag, iov);
	n = flatten(iov, k, out);
	assert_int_equal(n - NET_HDR_LEN, len);
	assert_int_equal(out[NET_HDR_LEN + 14] << 8 | out[NET_HDR_LEN + 15],
			 TCI(5, 0, 10));
	assert_int_equal(out[NET_HDR_LEN + 16] << 8 | out[NET_HDR_LEN + 17],
			 PAYLOAD_TYPE);
}

/* An untagged frame must still fit NET_FRAME_MAX once a trunk tags it. */
static void untagged_max_len(void **state)
{
	struct swp_vlan_cfg a = acc(10), t = trunk(0, 10, 0);
	struct net_hdr hdr = { 0 };
	struct sw_class c;
	static uint8_t f[NET_FRAME_MAX];
	size_t len = mkframe(f, -1, 0);
	(void)len;
	assert_int_equal(sw_classify(&a, &hdr, f, NET_FRAME_MAX - 4, &c),
			 SW_FWD_OK);
	assert_int_equal(sw_classify(&a, &hdr, f, NET_FRAME_MAX - 3, &c),
			 SW_DROP_OVERSIZE);
	mkframe(f, TCI(0, 0, 10), 0);
	assert_int_equal(sw_classify(&t, &hdr, f, NET_FRAME_MAX, &c), SW_FWD_OK);
}

static void drop_names(void **state)
{
	for (int d = 0; d < SW_DROP_NR; d++)
		assert_non_null(sw_drop_name(d));
	assert_string_equal(sw_drop_name(SW_DROP_TAGGED_ON_ACCESS),
			    "tagged_on_access");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix),
		cmocka_unit_test(hostile_frames),
		cmocka_unit_test(hdr_offsets_follow_tag),
		cmocka_unit_test(retag),
		cmocka_unit_test(drop_names),
		cmocka_unit_test(stacked_tags),
		cmocka_unit_test(priority_tag_egress),
		cmocka_unit_test(untagged_max_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
