/* The switch's protocol parsers; see proto.h. */
#include "proto.h"

#include <endian.h>
#include <string.h>

int sw_hello_parse(const void *msg, size_t n, struct swp_vlan_cfg *cfg,
		   struct err *e)
{
	struct swp_hello h;
	if (n != sizeof(h))
		return err_set(e, EPROTO, "expected a hello message");
	memcpy(&h, msg, sizeof(h));
	if (le32toh(h.magic) != SWP_MAGIC)
		return err_set(e, EPROTO, "expected a hello message");
	if (le16toh(h.version) != SWP_VERSION)
		return err_set(e, EPROTONOSUPPORT, "protocol version %u, "
			       "switch speaks %u", le16toh(h.version),
			       SWP_VERSION);
	struct swp_vlan_cfg c = { .mode = le16toh(h.mode),
				  .vid = le16toh(h.vid) };
	memcpy(c.allowed, h.allowed, sizeof(c.allowed));
	if (c.mode == SWP_MODE_ACCESS)
		memset(c.allowed, 0, sizeof(c.allowed));
	int rc = swp_vlan_cfg_check(&c, e);
	if (rc)
		return rc;
	*cfg = c;
	return 0;
}

enum sw_drop sw_msg_check(size_t n)
{
	if (n > NET_HDR_LEN + NET_FRAME_MAX)
		return SW_DROP_OVERSIZE;
	if (n < NET_HDR_LEN + ETH_HLEN_)
		return SW_DROP_RUNT;
	return SW_FWD_OK;
}

enum sw_ctl_cmd sw_ctl_parse(const char *buf, size_t len, bool eof)
{
	const char *nl = memchr(buf, '\n', len);
	if (!nl && !eof)
		return len >= SW_CTL_LINE_MAX - 1 ? SW_CTL_TOO_LONG
						   : SW_CTL_INCOMPLETE;
	size_t n = nl ? (size_t)(nl - buf) : len;
	if (n >= SW_CTL_LINE_MAX)
		return SW_CTL_TOO_LONG;
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 4 && !memcmp(buf, "show", 4))
		return SW_CTL_SHOW;
	return SW_CTL_UNKNOWN;
}
