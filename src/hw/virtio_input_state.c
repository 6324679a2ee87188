/* virtio-input state (virtio_input.h). */
#include "virtio_input.h"

#include "core/state.h"

#define INPUT_STATE_VERSION 1

void virtio_input_save(const struct virtio_input *d, const char *name,
		       struct state_writer *w)
{
	state_begin(w, name, INPUT_STATE_VERSION);
	state_put_u8(w, d->select);
	state_put_u8(w, d->subsel);
	state_put_u32(w, d->npend);
	for (unsigned i = 0; i < d->npend; i++) {
		const struct virtio_input_event *e =
			&d->pend[(d->head + i) % VIRTIO_INPUT_PENDING];
		state_put_u16(w, e->type);
		state_put_u16(w, e->code);
		state_put_u32(w, e->value);
	}
	state_end(w);
}

int virtio_input_parse(struct state_reader *r, const char *name,
		       const struct virtio_input *d,
		       struct virtio_input_state *s, struct err *errp)
{
	(void)d;
	int rc = state_open(r, name, INPUT_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	s->select = state_get_u8(r);
	s->subsel = state_get_u8(r);
	uint32_t n = state_get_u32(r);
	if (n > VIRTIO_INPUT_PENDING)
		return state_invalid(r, errp, "%u queued events", n);
	s->npend = n;
	for (unsigned i = 0; i < n; i++) {
		s->pend[i].type = state_get_u16(r);
		s->pend[i].code = state_get_u16(r);
		s->pend[i].value = state_get_u32(r);
	}
	return state_close(r, errp);
}

void virtio_input_apply(struct virtio_input *d,
			const struct virtio_input_state *s)
{
	d->select = s->select;
	d->subsel = s->subsel;
	d->head = 0;
	d->npend = s->npend;
	for (unsigned i = 0; i < s->npend; i++)
		d->pend[i] = s->pend[i];
}
