#include "goldfish_rtc.h"

#include <time.h>

static uint64_t host_realtime(void *opaque)
{
	(void)opaque;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Before 1970 the guest sees 0 rather than a huge unsigned value. */
	if (ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t goldfish_rtc_now(const struct goldfish_rtc *rtc)
{
	/* Unsigned wrap-around makes any offset well defined. */
	return rtc->clock(rtc->clock_opaque) + (uint64_t)rtc->offset_ns;
}

static void update_irq(struct goldfish_rtc *rtc)
{
	irq_set_level(&rtc->irq, rtc->irq_pending && rtc->irq_enabled);
}

/* The guest set its clock to t: keep the difference to the host's. */
static void set_time(struct goldfish_rtc *rtc, uint64_t t)
{
	rtc->offset_ns = (int64_t)(t - rtc->clock(rtc->clock_opaque));
}

void goldfish_rtc_poll(struct goldfish_rtc *rtc)
{
	if (!rtc->alarm_armed || goldfish_rtc_now(rtc) < rtc->alarm_ns)
		return;
	rtc->alarm_armed = false;
	rtc->irq_pending = true;
	update_irq(rtc);
}

uint64_t goldfish_rtc_next_ns(const struct goldfish_rtc *rtc)
{
	if (!rtc->alarm_armed)
		return UINT64_MAX;
	uint64_t now = goldfish_rtc_now(rtc);
	return rtc->alarm_ns > now ? rtc->alarm_ns - now : 0;
}

int goldfish_rtc_read(void *opaque, uint64_t off, unsigned size,
		      uint64_t *val)
{
	struct goldfish_rtc *rtc = opaque;
	uint64_t now;
	(void)size;
	switch (off) {
	case GOLDFISH_RTC_TIME_LOW:
		now = goldfish_rtc_now(rtc);
		rtc->time_high = (uint32_t)(now >> 32);
		*val = (uint32_t)now;
		break;
	case GOLDFISH_RTC_TIME_HIGH:
		*val = rtc->time_high;
		break;
	case GOLDFISH_RTC_ALARM_LOW:
		*val = (uint32_t)rtc->alarm_ns;
		break;
	case GOLDFISH_RTC_ALARM_HIGH:
		*val = (uint32_t)(rtc->alarm_ns >> 32);
		break;
	case GOLDFISH_RTC_IRQ_ENABLED:
		*val = rtc->irq_enabled;
		break;
	case GOLDFISH_RTC_ALARM_STATUS:
		*val = rtc->alarm_armed;
		break;
	default:
		*val = 0;
		break;
	}
	return 0;
}

int goldfish_rtc_write(void *opaque, uint64_t off, unsigned size,
		       uint64_t val)
{
	struct goldfish_rtc *rtc = opaque;
	uint64_t now;
	(void)size;
	val = (uint32_t)val;
	switch (off) {
	case GOLDFISH_RTC_TIME_LOW:
		now = goldfish_rtc_now(rtc);
		set_time(rtc, (now & ~0xffffffffULL) | val);
		break;
	case GOLDFISH_RTC_TIME_HIGH:
		now = goldfish_rtc_now(rtc);
		set_time(rtc, (now & 0xffffffffULL) | val << 32);
		break;
	case GOLDFISH_RTC_ALARM_LOW:
		rtc->alarm_ns = (rtc->alarm_ns & ~0xffffffffULL) | val;
		rtc->alarm_armed = true;
		goldfish_rtc_poll(rtc);
		break;
	case GOLDFISH_RTC_ALARM_HIGH:
		rtc->alarm_ns = (rtc->alarm_ns & 0xffffffffULL) | val << 32;
		break;
	case GOLDFISH_RTC_IRQ_ENABLED:
		rtc->irq_enabled = val & 1;
		update_irq(rtc);
		break;
	case GOLDFISH_RTC_CLEAR_ALARM:
		rtc->alarm_armed = false;
		break;
	case GOLDFISH_RTC_CLEAR_INTERRUPT:
		rtc->irq_pending = false;
		update_irq(rtc);
		break;
	default:
		break;
	}
	return 0;
}

static const struct bus_ops rtc_ops = {
	.read = goldfish_rtc_read,
	.write = goldfish_rtc_write,
	.sizes = 4,
};

int goldfish_rtc_init(struct goldfish_rtc *rtc, struct bus *bus,
		      uint64_t base, struct irq_line irq,
		      uint64_t (*clock)(void *opaque), void *clock_opaque,
		      struct err *errp)
{
	*rtc = (struct goldfish_rtc){
		.base = base,
		.irq = irq,
		.clock = clock ? clock : host_realtime,
		.clock_opaque = clock_opaque,
	};
	int rc = bus_register(bus, base, GOLDFISH_RTC_SIZE, &rtc_ops, rtc,
			      "goldfish_rtc", errp);
	if (rc)
		return rc;
	rtc->bus = bus;
	return 0;
}

void goldfish_rtc_reset(struct goldfish_rtc *rtc)
{
	rtc->alarm_armed = false;
	rtc->irq_enabled = false;
	rtc->irq_pending = false;
	rtc->alarm_ns = 0;
	rtc->time_high = 0;
	update_irq(rtc);
}

void goldfish_rtc_exit(struct goldfish_rtc *rtc)
{
	if (rtc->bus)
		bus_unregister(rtc->bus, rtc->base);
	rtc->bus = NULL;
}
