/* virtio-net state (virtio_net.h). */
#include "virtio_net.h"

#include <string.h>

#include "core/state.h"

#define NET_STATE_VERSION 1

void virtio_net_save(const struct virtio_net *n, const char *name,
		     struct state_writer *w)
{
	state_begin(w, name, NET_STATE_VERSION);
	state_put_bytes(w, n->mac, 6);
	state_put_bytes(w, n->config, sizeof(n->config));
	state_end(w);
}

int virtio_net_parse(struct state_reader *r, const char *name,
		     const struct virtio_net *n, struct virtio_net_state *s,
		     struct err *errp)
{
	int rc = state_open(r, name, NET_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	state_get_bytes(r, s->mac, 6);
	state_get_bytes(r, s->config, sizeof(s->config));
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	/* The MAC may differ from this NIC's: a clone gets a new one
	 * (vm_state.c checks the machine's MACs unless cfg->clone). */
	(void)n;
	if (memcmp(s->config, s->mac, 6))
		return state_invalid(r, errp, "MAC differs from the config's");
	/* status (le16): only LINK_UP is ever set. */
	if ((s->config[6] & ~VIRTIO_NET_S_LINK_UP) || s->config[7])
		return state_invalid(r, errp, "link status %#x",
				     s->config[6] | s->config[7] << 8);
	return 0;
}

void virtio_net_apply(struct virtio_net *n, const struct virtio_net_state *s)
{
	/* Config space keeps this NIC's MAC: a clone's driver reads the new
	 * one when it probes the device again. */
	memcpy(n->config + 6, s->config + 6, sizeof(n->config) - 6);
	n->link_up = s->config[6] & VIRTIO_NET_S_LINK_UP;
	n->rx_seg_held = false;
	n->rx_waiting = false;
	/* The link is the backend's now: tell the driver if it changed. */
	if (n->nb && n->nb->link_up != n->link_up) {
		n->link_up = n->nb->link_up;
		n->config[6] = n->link_up ? VIRTIO_NET_S_LINK_UP : 0;
		virtio_mmio_config_changed(&n->t);
	}
}
