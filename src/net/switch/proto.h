/* The switch's side of its two socket protocols, as pure functions over a
 * received buffer (no I/O), so that they can be tested and fuzzed without
 * sockets:
 *  - the data socket (net/switch_port.h): the first message of a port is a
 *    struct swp_hello; every later message is one frame (net_hdr + frame);
 *  - the control socket: one request line ("show\n", at most
 *    SW_CTL_LINE_MAX - 1 bytes including the newline), answered with one
 *    JSON document. */
#ifndef RINGVM_NET_SWITCH_PROTO_H
#define RINGVM_NET_SWITCH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"
#include "net/switch/fwd.h"
#include "net/switch_port.h"

#define SW_CTL_LINE_MAX 64

/* Check the hello message msg of n bytes (n is the message's real length,
 * as recv(MSG_TRUNC) reports it, and may exceed what msg holds: only
 * min(n, sizeof(struct swp_hello)) bytes are read).  Returns 0 and fills
 * *cfg (an access port's allowed set cleared), or the negative status to
 * answer with: -EPROTO (not a hello: wrong size or magic),
 * -EPROTONOSUPPORT (other protocol version), -EINVAL (bad VLAN config);
 * e gets the reason. */
int sw_hello_parse(const void *msg, size_t n, struct swp_vlan_cfg *cfg,
		   struct err *e);

/* Length check of one data message of n bytes (the real length, possibly
 * more than the receive buffer of NET_HDR_LEN + NET_FRAME_MAX): SW_FWD_OK,
 * SW_DROP_RUNT (no room for a header and an Ethernet header) or
 * SW_DROP_OVERSIZE. */
enum sw_drop sw_msg_check(size_t n);

enum sw_ctl_cmd {
	SW_CTL_INCOMPLETE = 0,  /* no full line yet: read more */
	SW_CTL_SHOW,
	SW_CTL_UNKNOWN,         /* a line that is no known command */
	SW_CTL_TOO_LONG,        /* SW_CTL_LINE_MAX - 1 bytes without newline */
};

/* Parse the request bytes buf[0..len) received so far; eof: the client has
 * shut down its side (what was sent is the whole request).  A trailing
 * "\r" is ignored. */
enum sw_ctl_cmd sw_ctl_parse(const char *buf, size_t len, bool eof);

#endif
