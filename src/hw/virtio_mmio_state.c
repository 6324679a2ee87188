/* virtio-mmio transport state (virtio_mmio.h). */
#include "virtio_mmio.h"

#include <string.h>

#include "core/state.h"

#define VIRTIO_MMIO_STATE_VERSION 1

void virtio_mmio_save(const struct virtio_mmio *t, const char *name,
		      struct state_writer *w)
{
	state_begin(w, name, VIRTIO_MMIO_STATE_VERSION);
	state_put_u32(w, t->ops->device_id);
	state_put_u32(w, t->status);
	state_put_u32(w, t->dev_features_sel);
	state_put_u32(w, t->drv_features_sel);
	state_put_u64(w, t->offered);
	state_put_u64(w, t->driver_features);
	state_put_bool(w, t->bad_driver_features);
	state_put_u64(w, t->features);
	state_put_u32(w, t->queue_sel);
	state_put_u32(w, t->int_status);
	state_put_u32(w, t->config_generation);
	state_put_u32(w, t->shm_sel);
	state_put_u32(w, t->ops->num_queues);
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const struct virtio_mmio_queue *q = &t->q[i];
		state_put_u32(w, q->num);
		state_put_u64(w, q->desc);
		state_put_u64(w, q->driver);
		state_put_u64(w, q->device);
		state_put_bool(w, q->vq.ready);
		/* Only a ready queue has ring state. */
		state_put_u16(w, q->vq.ready ? q->vq.size : 0);
		state_put_u16(w, q->vq.last_avail);
		state_put_u16(w, q->vq.used_idx);
		state_put_u16(w, q->vq.signalled);
		state_put_bool(w, q->vq.broken);
	}
	state_end(w);
}

int virtio_mmio_parse(struct state_reader *r, const char *name,
		      const struct virtio_mmio *t,
		      struct virtio_mmio_state *s, struct err *errp)
{
	int rc = state_open(r, name, VIRTIO_MMIO_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	uint32_t id = state_get_u32(r);
	s->status = state_get_u32(r);
	s->dev_features_sel = state_get_u32(r);
	s->drv_features_sel = state_get_u32(r);
	uint64_t offered = state_get_u64(r);
	s->driver_features = state_get_u64(r);
	uint8_t bad = state_get_u8(r);
	s->features = state_get_u64(r);
	s->queue_sel = state_get_u32(r);
	s->int_status = state_get_u32(r);
	s->config_generation = state_get_u32(r);
	s->shm_sel = state_get_u32(r);
	uint32_t nq = state_get_u32(r);
	if (nq != t->ops->num_queues)
		return state_invalid(r, errp, "%u queues, this device has %u",
				     nq, t->ops->num_queues);
	struct virtq_saved sv[VIRTIO_MMIO_MAX_QUEUES];
	uint8_t ready[VIRTIO_MMIO_MAX_QUEUES], broken[VIRTIO_MMIO_MAX_QUEUES];
	for (unsigned i = 0; i < nq; i++) {
		s->q[i].num = state_get_u32(r);
		s->q[i].desc = state_get_u64(r);
		s->q[i].driver = state_get_u64(r);
		s->q[i].device = state_get_u64(r);
		ready[i] = state_get_u8(r);
		sv[i].size = state_get_u16(r);
		sv[i].last_avail = state_get_u16(r);
		sv[i].used_idx = state_get_u16(r);
		sv[i].signalled = state_get_u16(r);
		broken[i] = state_get_u8(r);
	}
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if (id != t->ops->device_id)
		return state_invalid(r, errp, "device id %u, this device is %u",
				     id, t->ops->device_id);
	if (offered != t->offered)
		return state_invalid(r, errp, "features %#llx were offered, "
				     "this device offers %#llx",
				     (unsigned long long)offered,
				     (unsigned long long)t->offered);
	if (s->status > 0xff || bad > 1)
		return state_invalid(r, errp, "status %#x", s->status);
	s->bad_driver_features = bad;
	/* FEATURES_OK stands for features the device accepted. */
	bool fok = s->status & VIRTIO_STATUS_FEATURES_OK;
	if ((s->features & ~t->offered) ||
	    (fok && !(s->features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) ||
	    (!fok && s->features))
		return state_invalid(r, errp, "accepted features %#llx",
				     (unsigned long long)s->features);
	if (s->int_status & ~(VIRTIO_INT_USED | VIRTIO_INT_CONFIG))
		return state_invalid(r, errp, "interrupt status %#x",
				     s->int_status);
	for (unsigned i = 0; i < nq; i++) {
		struct virtqueue *vq = &s->q[i].vq;
		*vq = t->q[i].vq;
		virtq_reset(vq);
		if (ready[i] > 1 || broken[i] > 1)
			return state_invalid(r, errp, "queue %u: flags", i);
		if (!ready[i]) {
			if (sv[i].size || broken[i])
				return state_invalid(r, errp, "queue %u: ring "
						     "state of a queue not "
						     "ready", i);
			continue;
		}
		sv[i].desc = s->q[i].desc;
		sv[i].avail = s->q[i].driver;
		sv[i].used = s->q[i].device;
		sv[i].broken = broken[i];
		if (sv[i].size != s->q[i].num ||
		    virtq_restore(vq, &sv[i], s->features) < 0)
			return state_invalid(r, errp, "queue %u: %u entries at "
					     "%#llx/%#llx/%#llx are not a "
					     "ring in RAM", i, s->q[i].num,
					     (unsigned long long)s->q[i].desc,
					     (unsigned long long)s->q[i].driver,
					     (unsigned long long)s->q[i].device);
	}
	return 0;
}

void virtio_mmio_apply(struct virtio_mmio *t,
		       const struct virtio_mmio_state *s)
{
	t->status = s->status;
	t->dev_features_sel = s->dev_features_sel;
	t->drv_features_sel = s->drv_features_sel;
	t->driver_features = s->driver_features;
	t->bad_driver_features = s->bad_driver_features;
	t->features = s->features;
	t->queue_sel = s->queue_sel;
	t->int_status = s->int_status;
	t->config_generation = s->config_generation;
	t->shm_sel = s->shm_sel;
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		t->q[i].num = s->q[i].num;
		t->q[i].desc = s->q[i].desc;
		t->q[i].driver = s->q[i].driver;
		t->q[i].device = s->q[i].device;
		t->q[i].vq = s->q[i].vq;
	}
	if ((t->status & VIRTIO_STATUS_FEATURES_OK) && t->ops->features_ok)
		t->ops->features_ok(t->dev, t->features);
	t->irq_level = t->int_status != 0;
	irq_set_level(&t->irq, t->irq_level);
}
