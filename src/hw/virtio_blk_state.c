/* virtio-blk state (virtio_blk.h). */
#include "virtio_blk.h"

#include <string.h>

#include "core/state.h"

#define BLK_STATE_VERSION 1

int virtio_blk_save(struct virtio_blk *b, const char *name,
		    struct state_writer *w, struct err *errp)
{
	bool busy = false;
	if (b->lock_ok) {
		pthread_mutex_lock(&b->lock);
		busy = b->nbusy || b->publishing || b->starved;
		pthread_mutex_unlock(&b->lock);
	}
	if (busy)
		return err_set(errp, EBUSY, "%s: requests in flight (the VM "
			       "must be paused)", name);
	state_begin(w, name, BLK_STATE_VERSION);
	state_put_bytes(w, b->config, sizeof(b->config));
	state_end(w);
	return 0;
}

int virtio_blk_parse(struct state_reader *r, const char *name,
		     const struct virtio_blk *b, struct err *errp)
{
	int rc = state_open(r, name, BLK_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	uint8_t cfg[VIRTIO_BLK_CONFIG_SIZE];
	state_get_bytes(r, cfg, sizeof(cfg));
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	/* The driver read this config: the disk must look the same. */
	if (memcmp(cfg, b->config, sizeof(cfg)))
		return state_invalid(r, errp, "the disk's configuration "
				     "(capacity, limits) differs from this "
				     "device's");
	return 0;
}
