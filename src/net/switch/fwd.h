/* Forwarding decisions of the switch, as pure functions (no I/O, no state):
 * ingress classification of a frame on a port, and the egress action of a
 * VLAN on a port, and the rewrite (tag insert/strip) that action implies.
 *
 * Port model (IEEE 802.1Q-2018):
 *  - access port: one VLAN (its PVID, §6.9); frames are untagged on the wire.
 *    A frame arriving with a VLAN tag (VID 1..4095) is dropped and counted
 *    (SW_DROP_TAGGED_ON_ACCESS): we do not let a guest hop VLANs by tagging.
 *  - trunk port: tagged frames of the allowed VLANs (the member set, §8.8.2);
 *    if a native VLAN is set, its frames travel untagged and untagged
 *    ingress frames are classified to it (the trunk's PVID).  Without a
 *    native VLAN, untagged ingress is dropped (SW_DROP_UNTAGGED_ON_TRUNK).
 *  - priority-tagged frames (VID 0, §9.6) are classified like untagged ones
 *    but keep their PCP and DEI.  VID 4095 is reserved (Table 9-2): dropped.
 *  - PCP/DEI: untagged ingress gets PCP 0, DEI 0 (the default port priority,
 *    §6.9.3); a tagged frame's PCP and DEI are carried to every tagged
 *    egress.  An untagged egress loses them (there is no tag to hold them).
 *  - Only the C-VLAN tag (TPID 0x8100, §9.5) is carried, and at most one.
 *    Ingress filtering drops what a receiver could read as another VLAN:
 *    on an access port, any frame whose EtherType is a tag (0x8100 with
 *    VID != 0, 0x88a8, 0x9100) is SW_DROP_TAGGED_ON_ACCESS; on any port,
 *    a frame whose EtherType after its one C-tag (priority tag included),
 *    or whose own EtherType on a trunk, is a tag (0x8100, 0x88a8 S-tag,
 *    0x9100) is SW_DROP_STACKED_TAG: Q-in-Q is not carried, because the
 *    untagged egress of the outer VLAN (an access port, a trunk's native
 *    VLAN) would hand the receiver the inner tag as the frame's VLAN.
 *    So every egress frame has at most one tag, the switch's own.
 *  - An untagged frame longer than NET_FRAME_MAX - 4 is SW_DROP_OVERSIZE:
 *    a trunk's egress tag must not push it past NET_FRAME_MAX.
 *
 * The switch carries the virtio-net header (struct net_hdr) through; when a
 * 4-byte tag is inserted or stripped, the header's csum_start and hdr_len,
 * which are offsets from the start of the Ethernet frame, move with it. */
#ifndef RINGVM_NET_SWITCH_FWD_H
#define RINGVM_NET_SWITCH_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net/net.h"
#include "net/switch_port.h"

#define ETH_HLEN_ 14
#define VLAN_TPID 0x8100
#define VLAN_TAG_LEN 4

/* Why a frame was dropped at ingress (counted per port and per switch). */
enum sw_drop {
	SW_FWD_OK = 0,
	SW_DROP_RUNT,              /* < 14 bytes, or tagged and < 18 */
	SW_DROP_OVERSIZE,          /* > NET_FRAME_MAX */
	SW_DROP_BAD_HDR,           /* net_hdr offsets outside the frame */
	SW_DROP_SRC_MCAST,         /* group source address (invalid, §8.6) */
	SW_DROP_TAGGED_ON_ACCESS,  /* VLAN-tagged frame on an access port */
	SW_DROP_UNTAGGED_ON_TRUNK, /* untagged on a trunk without native */
	SW_DROP_VLAN_NOT_ALLOWED,  /* VID not in the trunk's allowed list */
	SW_DROP_RESERVED_VID,      /* VID 4095 */
	SW_DROP_STACKED_TAG,       /* a tag after the first one, or an S-tag */
	SW_DROP_NR
};

/* True for the EtherTypes read as a VLAN tag by some receiver: 0x8100
 * (C-tag), 0x88a8 (S-tag, 802.1ad) and 0x9100 (pre-standard Q-in-Q). */
bool sw_is_tpid(uint16_t ethertype);

/* Short name of a drop reason for counters ("runt", "tagged_on_access"). */
const char *sw_drop_name(enum sw_drop d);

/* Ingress classification of one frame. */
struct sw_class {
	uint16_t vid;     /* VLAN the frame belongs to (1..4094) */
	uint8_t pcp;      /* priority code point, 0..7 */
	uint8_t dei;      /* drop eligible indicator, 0..1 */
	uint8_t tag_len;  /* 0, or 4 when the ingress frame carries a tag
	                   * (including a priority tag) after the addresses */
};

/* Classify frame (len bytes, starting at the destination address) arriving
 * with header hdr on a port configured as cfg.  Returns SW_FWD_OK and fills
 * *c, or the drop reason. */
enum sw_drop sw_classify(const struct swp_vlan_cfg *cfg,
			 const struct net_hdr *hdr, const uint8_t *frame,
			 size_t len, struct sw_class *c);

enum sw_egress {
	SW_EG_SKIP = 0,     /* the port is not a member of the VLAN */
	SW_EG_UNTAGGED,     /* access port, or the trunk's native VLAN */
	SW_EG_TAGGED,       /* trunk port, allowed VLAN */
};

enum sw_egress sw_egress_action(const struct swp_vlan_cfg *cfg, uint16_t vid);

/* Build the egress message for action a (not SW_EG_SKIP) of a frame
 * classified as c: iov[0] = the adjusted header (*hdr_out), then the frame
 * with its ingress tag removed and, for SW_EG_TAGGED, a tag holding c's VID,
 * PCP and DEI (written to tag[4]) inserted after the addresses.  Returns the
 * iovec count (at most 4).  frame must have passed sw_classify(). */
unsigned sw_egress_iov(const struct net_hdr *hdr, const uint8_t *frame,
		       size_t len, const struct sw_class *c, enum sw_egress a,
		       struct net_hdr *hdr_out, uint8_t tag[VLAN_TAG_LEN],
		       struct iovec iov[4]);

static inline int sw_mac_is_group(const uint8_t *mac) { return mac[0] & 1; }

#endif
