/* Goldfish RTC state (goldfish_rtc.h). */
#include "goldfish_rtc.h"

#include <string.h>

#include "core/state.h"

#define RTC_STATE_VERSION 1

void goldfish_rtc_save(const struct goldfish_rtc *rtc, const char *name,
		       struct state_writer *w)
{
	state_begin(w, name, RTC_STATE_VERSION);
	state_put_u64(w, (uint64_t)rtc->offset_ns);
	state_put_u32(w, rtc->time_high);
	state_put_u64(w, rtc->alarm_ns);
	state_put_bool(w, rtc->alarm_armed);
	state_put_bool(w, rtc->irq_enabled);
	state_put_bool(w, rtc->irq_pending);
	state_end(w);
}

int goldfish_rtc_parse(struct state_reader *r, const char *name,
		       struct goldfish_rtc_state *s, struct err *errp)
{
	int rc = state_open(r, name, RTC_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	s->offset_ns = (int64_t)state_get_u64(r);
	s->time_high = state_get_u32(r);
	s->alarm_ns = state_get_u64(r);
	uint8_t b[3];
	state_get_bytes(r, b, sizeof(b));
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if (b[0] > 1 || b[1] > 1 || b[2] > 1)
		return state_invalid(r, errp, "flags %u/%u/%u are not 0 or 1",
				     b[0], b[1], b[2]);
	s->alarm_armed = b[0];
	s->irq_enabled = b[1];
	s->irq_pending = b[2];
	return 0;
}

void goldfish_rtc_apply(struct goldfish_rtc *rtc,
			const struct goldfish_rtc_state *s)
{
	rtc->offset_ns = s->offset_ns;
	rtc->time_high = s->time_high;
	rtc->alarm_ns = s->alarm_ns;
	rtc->alarm_armed = s->alarm_armed;
	rtc->irq_enabled = s->irq_enabled;
	rtc->irq_pending = s->irq_pending;
	irq_set_level(&rtc->irq, rtc->irq_pending && rtc->irq_enabled);
}
