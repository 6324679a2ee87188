/* The "switch" network backend: one port of a `ringvm switch` process.
 *
 *   --net switch,path=SOCK                      access port on VLAN 1
 *   --net switch,path=SOCK,vlan=ID              access port on VLAN ID
 *   --net switch,path=SOCK,trunk=ID[,ID|,A-B]...[,native=ID]
 *                                               trunk port (IEEE 802.1Q-2018
 *                                               §6.9: tagged frames of the
 *                                               listed VLANs; frames of the
 *                                               native VLAN untagged)
 *
 * VLAN ids are 1..4094 (0 means "priority tag only" and 4095 is reserved,
 * 802.1Q-2018 Table 9-2).  The native VLAN of a trunk is added to its allowed
 * list.
 *
 * Wire protocol (version 1).  The switch listens on a unix-domain
 * SOCK_SEQPACKET socket at SOCK; one connection is one port.  SEQPACKET keeps
 * message boundaries, so a frame is exactly one message and a crashed peer is
 * an end-of-file, never a half-read frame.
 *
 *  1. The client sends one struct swp_hello (all fields little-endian).
 *  2. The switch answers with one struct swp_welcome.  status 0: the port is
 *     up and `port` is its number; otherwise status is a positive errno
 *     (ENOSPC: all ports taken; EINVAL: bad VLAN config; EPROTONOSUPPORT:
 *     version mismatch) and msg says why, and the switch closes.
 *  3. Then, in both directions, each message is one frame: a 12-byte
 *     struct net_hdr followed by an Ethernet frame without FCS
 *     (14..NET_FRAME_MAX bytes), untagged or 802.1Q-tagged as the port's
 *     mode dictates.  The switch carries the net_hdr through unchanged
 *     (csum_start and hdr_len are shifted by 4 when it inserts or strips a
 *     tag), so partially-checksummed and TSO frames cross the switch
 *     unresolved.  The backend advertises NET_OFF_CSUM|TSO4|TSO6: a
 *     guest's TSO frame crosses whole (one message, far cheaper than ~45
 *     segments), and the receiving virtio-net segments it only if its
 *     driver did not negotiate GUEST_TSO4/6.
 *     Malformed frames are dropped and counted by the switch; the switch
 *     drops (and counts) rather than blocks when a port's socket is full.
 *
 * Link state: the backend reports fe.link(false) when the switch goes away
 * and keeps reconnecting from the event loop (backoff 100 ms doubling to
 * 2 s); after a successful hello it reports fe.link(true). */
#ifndef RINGVM_NET_SWITCH_PORT_H
#define RINGVM_NET_SWITCH_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/evloop.h"
#include "net/net.h"

#define SWP_MAGIC   0x57535652u   /* "RVSW" read as a little-endian u32 */
#define SWP_VERSION 1

#define SWP_MODE_ACCESS 1
#define SWP_MODE_TRUNK  2

#define SWP_VID_MAX 4094

/* Port VLAN configuration, as parsed from the spec and as sent in a hello. */
struct swp_vlan_cfg {
	uint16_t mode;            /* SWP_MODE_* */
	uint16_t vid;             /* access: the VLAN; trunk: native (0 none) */
	uint8_t allowed[512];     /* trunk: bit v (byte v/8, LSB first) set
	                           * when VLAN v is carried */
};

struct swp_hello {
	uint32_t magic;           /* SWP_MAGIC */
	uint16_t version;         /* SWP_VERSION */
	uint16_t mode;            /* SWP_MODE_* */
	uint16_t vid;
	uint16_t reserved;        /* 0 */
	uint32_t pid;             /* client's pid, informational */
	uint8_t allowed[512];
} __attribute__((packed));

struct swp_welcome {
	uint32_t magic;           /* SWP_MAGIC */
	uint16_t version;         /* the switch's SWP_VERSION */
	uint16_t status;          /* 0 or a positive errno */
	uint16_t port;            /* port number (1..N) when status is 0 */
	uint16_t reserved;
	char msg[120];            /* NUL-terminated reason when status != 0 */
} __attribute__((packed));

static inline bool swp_vlan_allowed(const struct swp_vlan_cfg *c, unsigned v)
{
	return v <= SWP_VID_MAX && (c->allowed[v / 8] >> (v % 8) & 1);
}

static inline void swp_vlan_allow(struct swp_vlan_cfg *c, unsigned v)
{
	c->allowed[v / 8] |= (uint8_t)(1u << (v % 8));
}

/* Parse "path=SOCK,vlan=ID" / "path=SOCK,trunk=ID,ID,A-B[,native=ID]" (a
 * leading "switch," is accepted).  *path is malloc'd.  -EINVAL with a
 * message naming the bad part (missing path, vlan 0/4095/abc, both vlan and
 * trunk, unknown key). */
int switch_port_parse(const char *opts, char **path, struct swp_vlan_cfg *cfg,
		      struct err *errp);

/* Check a VLAN config received from a peer (the switch does not trust
 * clients): -EINVAL with a message when invalid. */
int swp_vlan_cfg_check(const struct swp_vlan_cfg *cfg, struct err *errp);

/* Connect to the switch at path, say hello and register with loop.  Errors:
 * -EINVAL (bad opts), -ENOENT/-ECONNREFUSED (no switch listening), or the
 * switch's refusal (-ENOSPC when it has no free port). */
int switch_port_open(const char *opts, struct evloop *loop,
		     struct net_backend **out, struct err *errp);

#endif
