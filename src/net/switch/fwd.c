/* Pure forwarding decisions; see fwd.h. */
#include "fwd.h"

#include <endian.h>
#include <string.h>

const char *sw_drop_name(enum sw_drop d)
{
	static const char *const names[SW_DROP_NR] = {
		[SW_FWD_OK] = "ok",
		[SW_DROP_RUNT] = "runt",
		[SW_DROP_OVERSIZE] = "oversize",
		[SW_DROP_BAD_HDR] = "bad_hdr",
		[SW_DROP_SRC_MCAST] = "src_multicast",
		[SW_DROP_TAGGED_ON_ACCESS] = "tagged_on_access",
		[SW_DROP_UNTAGGED_ON_TRUNK] = "untagged_on_trunk",
		[SW_DROP_VLAN_NOT_ALLOWED] = "vlan_not_allowed",
		[SW_DROP_RESERVED_VID] = "reserved_vid",
		[SW_DROP_STACKED_TAG] = "stacked_tag",
	};
	return (unsigned)d < SW_DROP_NR ? names[d] : "?";
}

static uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

bool sw_is_tpid(uint16_t ethertype)
{
	return ethertype == VLAN_TPID || ethertype == 0x88a8 ||
	       ethertype == 0x9100;
}

enum sw_drop sw_classify(const struct swp_vlan_cfg *cfg,
			 const struct net_hdr *hdr, const uint8_t *frame,
			 size_t len, struct sw_class *c)
{
	*c = (struct sw_class){ 0 };
	if (len < ETH_HLEN_)
		return SW_DROP_RUNT;
	if (len > NET_FRAME_MAX)
		return SW_DROP_OVERSIZE;
	if (sw_mac_is_group(frame + 6))
		return SW_DROP_SRC_MCAST;

	uint16_t vid = 0;
	uint16_t type = be16_at(frame + 12);
	if (type == VLAN_TPID) {
		/* A tag needs the TCI and the inner EtherType. */
		if (len < ETH_HLEN_ + VLAN_TAG_LEN)
			return SW_DROP_RUNT;
		uint16_t tci = be16_at(frame + 14);
		c->tag_len = VLAN_TAG_LEN;
		c->pcp = tci >> 13;
		c->dei = tci >> 12 & 1;
		vid = tci & 0xfff;
		type = be16_at(frame + 16);
	} else if (len > NET_FRAME_MAX - VLAN_TAG_LEN) {
		/* It must still fit once a trunk's egress tags it. */
		return SW_DROP_OVERSIZE;
	}

	/* Offsets a receiver would trust must lie inside the frame; checked
	 * here so that the tag shift in sw_egress_iov() cannot wrap. */
	if (hdr->flags & NET_HDR_F_NEEDS_CSUM) {
		unsigned start = le16toh(hdr->csum_start);
		unsigned off = le16toh(hdr->csum_offset);
		if (start < ETH_HLEN_ + (unsigned)c->tag_len ||
		    start + off + 2 > len)
			return SW_DROP_BAD_HDR;
	}

	if (vid == 0xfff)
		return SW_DROP_RESERVED_VID;
	if (cfg->mode == SWP_MODE_ACCESS &&
	    (vid != 0 || (c->tag_len == 0 && sw_is_tpid(type))))
		return SW_DROP_TAGGED_ON_ACCESS;
	/* What follows the one tag we classify on (or the untagged frame's
	 * EtherType) must not be another tag: an untagged egress would expose
	 * it as the frame's VLAN to the receiver (a priority tag + VLAN 20
	 * from an access port on VLAN 10 would reach a trunk as VLAN 20, as
	 * would a double-tagged frame whose outer VLAN is another trunk's
	 * native one).  Q-in-Q is not carried. */
	if (sw_is_tpid(type))
		return SW_DROP_STACKED_TAG;
	if (cfg->mode == SWP_MODE_ACCESS) {
		c->vid = cfg->vid;
		return SW_FWD_OK;
	}
	if (vid == 0) {
		/* Untagged or priority-tagged: the native VLAN, if any. */
		if (cfg->vid == 0)
			return SW_DROP_UNTAGGED_ON_TRUNK;
		c->vid = cfg->vid;
		return SW_FWD_OK;
	}
	if (!swp_vlan_allowed(cfg, vid))
		return SW_DROP_VLAN_NOT_ALLOWED;
	c->vid = vid;
	return SW_FWD_OK;
}

enum sw_egress sw_egress_action(const struct swp_vlan_cfg *cfg, uint16_t vid)
{
	if (cfg->mode == SWP_MODE_ACCESS)
		return cfg->vid == vid ? SW_EG_UNTAGGED : SW_EG_SKIP;
	if (cfg->vid != 0 && cfg->vid == vid)
		return SW_EG_UNTAGGED;
	return swp_vlan_allowed(cfg, vid) ? SW_EG_TAGGED : SW_EG_SKIP;
}

static uint16_t shift16(uint16_t le, int delta)
{
	int v = (int)le16toh(le) + delta;
	return htole16((uint16_t)(v < 0 ? 0 : v));
}

unsigned sw_egress_iov(const struct net_hdr *hdr, const uint8_t *frame,
		       size_t len, const struct sw_class *c, enum sw_egress a,
		       struct net_hdr *hdr_out, uint8_t tag[VLAN_TAG_LEN],
		       struct iovec iov[4])
{
	int out_tag = a == SW_EG_TAGGED ? VLAN_TAG_LEN : 0;
	int delta = out_tag - c->tag_len;
	unsigned n = 0;

	*hdr_out = *hdr;
	if (delta) {
		if (hdr->flags & NET_HDR_F_NEEDS_CSUM)
			hdr_out->csum_start = shift16(hdr->csum_start, delta);
		/* hdr_len is a hint (virtio 1.2 §5.1.6.2); keep 0 as 0. */
		if (hdr->hdr_len)
			hdr_out->hdr_len = shift16(hdr->hdr_len, delta);
	}
	iov[n++] = (struct iovec){ hdr_out, NET_HDR_LEN };
	if (delta == 0 && (out_tag == 0 || c->tag_len == 0 ||
			   be16_at(frame + 14) ==
				   (uint16_t)(c->pcp << 13 | c->dei << 12 | c->vid))) {
		/* Same shape and (if tagged) same TCI: send as is. */
		iov[n++] = (struct iovec){ (void *)frame, len };
		return n;
	}
	iov[n++] = (struct iovec){ (void *)frame, 12 };
	if (out_tag) {
		uint16_t tci = (uint16_t)(c->pcp << 13 | c->dei << 12 | c->vid);
		tag[0] = VLAN_TPID >> 8;
		tag[1] = VLAN_TPID & 0xff;
		tag[2] = tci >> 8;
		tag[3] = tci & 0xff;
		iov[n++] = (struct iovec){ tag, VLAN_TAG_LEN };
	}
	iov[n++] = (struct iovec){ (void *)(frame + 12 + c->tag_len),
				   len - 12 - c->tag_len };
	return n;
}
