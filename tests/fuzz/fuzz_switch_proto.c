/* libFuzzer target: what a switch client sends, through the switch's
 * parsers (src/net/switch/proto.c): the hello / port configuration, the
 * framed data stream (length check, then classification of the message as
 * a net_hdr + frame), and the control request line, delivered in pieces.
 * Input byte 0 picks the parser; the rest is what the client sent.
 * Errors are expected; a crash, a sanitizer report or an abort() on a
 * broken invariant is a bug:
 *  - an accepted hello yields a configuration swp_vlan_cfg_check accepts;
 *  - "show" is recognized only as the whole line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/switch/proto.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void hello(const uint8_t *d, size_t n)
{
	struct swp_vlan_cfg cfg;
	struct err e = { 0 };
	/* The real length as recv(MSG_TRUNC) reports it may exceed what the
	 * buffer holds; the parser must not read past the message. */
	uint8_t buf[sizeof(struct swp_hello)];
	size_t have = n < sizeof(buf) ? n : sizeof(buf);
	uint8_t *copy = malloc(have ? have : 1);
	memcpy(copy, d, have);
	int rc = sw_hello_parse(copy, n, &cfg, &e);
	CHECK(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT ||
	      rc == -EINVAL);
	if (rc == 0) {
		CHECK(n == sizeof(struct swp_hello));
		CHECK(swp_vlan_cfg_check(&cfg, NULL) == 0);
	} else {
		CHECK(e.msg[0]);
	}
	free(copy);
}

static void data_msgs(const uint8_t *d, size_t n)
{
	/* A stream of messages, each prefixed by a 2-byte length. */
	struct swp_vlan_cfg cfgs[2] = {
		{ .mode = SWP_MODE_ACCESS, .vid = 10 },
		{ .mode = SWP_MODE_TRUNK, .vid = 10 },
	};
	swp_vlan_allow(&cfgs[1], 10);
	swp_vlan_allow(&cfgs[1], 20);
	while (n >= 2) {
		size_t m = (size_t)(d[0] << 8 | d[1]);
		d += 2;
		n -= 2;
		if (m > n)
			m = n;
		enum sw_drop dr = sw_msg_check(m);
		CHECK(dr == SW_FWD_OK || dr == SW_DROP_RUNT);
		if (dr == SW_FWD_OK) {
			uint8_t *msg = malloc(m);
			memcpy(msg, d, m);
			struct net_hdr hdr;
			memcpy(&hdr, msg, NET_HDR_LEN);
			for (int k = 0; k < 2; k++) {
				struct sw_class c;
				sw_classify(&cfgs[k], &hdr, msg + NET_HDR_LEN,
					    m - NET_HDR_LEN, &c);
			}
			free(msg);
		}
		d += m;
		n -= m;
	}
	CHECK(sw_msg_check(NET_HDR_LEN + NET_FRAME_MAX + 1) == SW_DROP_OVERSIZE);
}

static void ctl(const uint8_t *d, size_t n)
{
	/* d[0]: the size of each piece; then the bytes of the request. */
	if (n < 1)
		return;
	size_t piece = d[0] % 8 + 1;
	d++;
	n--;
	char in[SW_CTL_LINE_MAX];
	size_t len = 0;
	enum sw_ctl_cmd cmd = SW_CTL_INCOMPLETE;
	while (n && len < sizeof(in) && cmd == SW_CTL_INCOMPLETE) {
		size_t k = piece < n ? piece : n;
		if (k > sizeof(in) - len)
			k = sizeof(in) - len;
		memcpy(in + len, d, k);
		len += k;
		d += k;
		n -= k;
		cmd = sw_ctl_parse(in, len, false);
	}
	if (cmd == SW_CTL_INCOMPLETE)
		cmd = sw_ctl_parse(in, len, true);
	CHECK(cmd != SW_CTL_INCOMPLETE);
	if (cmd == SW_CTL_SHOW) {
		CHECK(len >= 4 && !memcmp(in, "show", 4));
		CHECK(len == 4 || in[4] == '\n' ||
		      (in[4] == '\r' && (len == 5 || in[5] == '\n')));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: hello(data + 1, size - 1); break;
	case 1: data_msgs(data + 1, size - 1); break;
	case 2: ctl(data + 1, size - 1); break;
	}
	return 0;
}
