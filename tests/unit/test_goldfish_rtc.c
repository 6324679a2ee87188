/* Goldfish RTC: time registers against a controlled host clock, the guest
 * offset, the alarm interrupt and hostile accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "hw/goldfish_rtc.h"

#define BASE 0x101000ULL

struct fix {
	struct bus bus;
	struct goldfish_rtc rtc;
	uint64_t host_ns;
	int level, edges;
};

static uint64_t fake_clock(void *opaque)
{
	return ((struct fix *)opaque)->host_ns;
}

static void set_level(void *opaque, unsigned num, int level)
{
	struct fix *f = opaque;
	assert_int_equal(num, 11);
	if (level != f->level)
		f->edges++;
	f->level = level;
}

static int setup(void **state)
{
	struct fix *f = test_calloc(1, sizeof(*f));
	f->host_ns = 0x123456789abcdef0ULL;
	struct irq_line irq = { set_level, f, 11 };
	assert_int_equal(goldfish_rtc_init(&f->rtc, &f->bus, BASE, irq,
					   fake_clock, f, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	goldfish_rtc_exit(&f->rtc);
	bus_free(&f->bus);
	test_free(f);
	return 0;
}

static uint32_t rd(struct fix *f, uint64_t off)
{
	uint64_t v = ~0ULL;
	assert_int_equal(bus_read(&f->bus, BASE + off, 4, &v), 0);
	assert_true(v <= 0xffffffffULL);
	return (uint32_t)v;
}

static void wr(struct fix *f, uint64_t off, uint32_t v)
{
	assert_int_equal(bus_write(&f->bus, BASE + off, 4, v), 0);
}

static uint64_t read_time(struct fix *f)
{
	uint64_t lo = rd(f, GOLDFISH_RTC_TIME_LOW);
	return (uint64_t)rd(f, GOLDFISH_RTC_TIME_HIGH) << 32 | lo;
}

static void time_reads_host_clock_and_latches_high(void **state)
{
	struct fix *f = *state;
	assert_int_equal(read_time(f), 0x123456789abcdef0ULL);
	/* LOW latches HIGH: a carry between the two reads is not seen. */
	f->host_ns = 0x12345678fffffff0ULL;
	uint32_t lo = rd(f, GOLDFISH_RTC_TIME_LOW);
	f->host_ns = 0x1234567900000010ULL;
	assert_int_equal(lo, 0xfffffff0u);
	assert_int_equal(rd(f, GOLDFISH_RTC_TIME_HIGH), 0x12345678u);
	assert_int_equal(rd(f, GOLDFISH_RTC_TIME_HIGH), 0x12345678u);
	assert_int_equal(read_time(f), 0x1234567900000010ULL);
}

static void real_clock_is_utc(void **state)
{
	(void)state;
	struct bus bus = { 0 };
	struct goldfish_rtc rtc;
	struct irq_line none = { 0 };
	assert_int_equal(goldfish_rtc_init(&rtc, &bus, BASE, none, NULL, NULL,
					   NULL), 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t v;
	assert_int_equal(bus_read(&bus, BASE, 4, &v), 0);
	uint64_t t = v;
	assert_int_equal(bus_read(&bus, BASE + 4, 4, &v), 0);
	t |= v << 32;
	uint64_t host = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	assert_true(t >= host && t - host < 1000000000ULL);
	goldfish_rtc_exit(&rtc);
	bus_free(&bus);
}

static void guest_sets_time_as_offset(void **state)
{
	struct fix *f = *state;
	uint64_t host0 = f->host_ns;
	/* Linux's set_time writes HIGH then LOW. */
	wr(f, GOLDFISH_RTC_TIME_HIGH, 0x00000001);
	wr(f, GOLDFISH_RTC_TIME_LOW, 0x00000002);
	assert_int_equal(read_time(f), 0x100000002ULL);
	assert_int_equal(f->host_ns, host0);
	/* The clock runs on from the set value with the host's. */
	f->host_ns += 5000;
	assert_int_equal(read_time(f), 0x100000002ULL + 5000);
	/* A reset keeps the guest's time (battery-backed). */
	goldfish_rtc_reset(&f->rtc);
	assert_int_equal(read_time(f), 0x100000002ULL + 5000);
	/* Setting it to the maximum wraps nowhere it should not. */
	wr(f, GOLDFISH_RTC_TIME_HIGH, 0xffffffff);
	wr(f, GOLDFISH_RTC_TIME_LOW, 0xffffffff);
	assert_int_equal(read_time(f), UINT64_MAX);
}

static void alarm_raises_irq_when_enabled(void **state)
{
	struct fix *f = *state;
	uint64_t at = f->host_ns + 1000;
	wr(f, GOLDFISH_RTC_IRQ_ENABLED, 1);
	assert_int_equal(rd(f, GOLDFISH_RTC_IRQ_ENABLED), 1);
	wr(f, GOLDFISH_RTC_ALARM_HIGH, (uint32_t)(at >> 32));
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_STATUS), 0);
	wr(f, GOLDFISH_RTC_ALARM_LOW, (uint32_t)at);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_STATUS), 1);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_LOW), (uint32_t)at);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_HIGH), (uint32_t)(at >> 32));
	assert_int_equal(goldfish_rtc_next_ns(&f->rtc), 1000);

	f->host_ns += 999;
	goldfish_rtc_poll(&f->rtc);
	assert_int_equal(f->level, 0);
	f->host_ns += 1;
	goldfish_rtc_poll(&f->rtc);
	assert_int_equal(f->level, 1);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_STATUS), 0);
	assert_int_equal(goldfish_rtc_next_ns(&f->rtc), UINT64_MAX);

	/* Level stays until CLEAR_INTERRUPT; masking lowers it. */
	goldfish_rtc_poll(&f->rtc);
	assert_int_equal(f->level, 1);
	wr(f, GOLDFISH_RTC_IRQ_ENABLED, 0);
	assert_int_equal(f->level, 0);
	wr(f, GOLDFISH_RTC_IRQ_ENABLED, 1);
	assert_int_equal(f->level, 1);
	wr(f, GOLDFISH_RTC_CLEAR_INTERRUPT, 1);
	assert_int_equal(f->level, 0);
	assert_int_equal(f->edges, 4);
}

static void alarm_in_past_fires_at_once_and_clear_disarms(void **state)
{
	struct fix *f = *state;
	/* Disabled: pending but the line stays low. */
	wr(f, GOLDFISH_RTC_ALARM_HIGH, 0);
	wr(f, GOLDFISH_RTC_ALARM_LOW, 5);
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_STATUS), 0);
	wr(f, GOLDFISH_RTC_IRQ_ENABLED, 1);
	assert_int_equal(f->level, 1);
	wr(f, GOLDFISH_RTC_CLEAR_INTERRUPT, 0);
	assert_int_equal(f->level, 0);

	/* CLEAR_ALARM: an armed alarm never fires. */
	wr(f, GOLDFISH_RTC_ALARM_HIGH, 0xffffffff);
	wr(f, GOLDFISH_RTC_ALARM_LOW, 0);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_STATUS), 1);
	wr(f, GOLDFISH_RTC_CLEAR_ALARM, 1);
	assert_int_equal(rd(f, GOLDFISH_RTC_ALARM_STATUS), 0);
	f->host_ns = UINT64_MAX;
	goldfish_rtc_poll(&f->rtc);
	assert_int_equal(f->level, 0);

	/* Machine reset drops an armed alarm and the enable. */
	f->host_ns = 100;
	wr(f, GOLDFISH_RTC_ALARM_HIGH, 0);
	wr(f, GOLDFISH_RTC_ALARM_LOW, 200);
	goldfish_rtc_reset(&f->rtc);
	f->host_ns = 300;
	goldfish_rtc_poll(&f->rtc);
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, GOLDFISH_RTC_IRQ_ENABLED), 0);
}

static void hostile_accesses(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = read_time(f);
	/* Every offset, every size: 32-bit ones succeed, others fault, and
	 * nothing but the defined registers changes state. */
	for (uint64_t off = 0; off < GOLDFISH_RTC_SIZE; off++) {
		for (unsigned size = 1; size <= 8; size *= 2) {
			uint64_t v = 0;
			int rr = bus_read(&f->bus, BASE + off, size, &v);
			if (size != 4 || off % 4) {
				assert_int_not_equal(rr, 0);
				assert_int_not_equal(bus_write(&f->bus, BASE + off,
							       size, ~0ULL), 0);
				continue;
			}
			assert_int_equal(rr, 0);
			assert_true(v <= 0xffffffffULL);
			if (off >= 0x20) {
				assert_int_equal(v, 0);
				assert_int_equal(bus_write(&f->bus, BASE + off,
							   size, ~0ULL), 0);
			}
		}
	}
	assert_int_equal(read_time(f), t0);
	assert_int_equal(f->level, 0);
	/* Upper bits of a 32-bit value are ignored. */
	assert_int_equal(goldfish_rtc_write(&f->rtc, GOLDFISH_RTC_IRQ_ENABLED,
					    4, 0xfffffffe00000002ULL), 0);
	assert_int_equal(rd(f, GOLDFISH_RTC_IRQ_ENABLED), 0);
	/* Outside the window: no device. */
	uint64_t v;
	assert_int_not_equal(bus_read(&f->bus, BASE + GOLDFISH_RTC_SIZE, 4,
				      &v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(time_reads_host_clock_and_latches_high, setup, teardown),
		cmocka_unit_test(real_clock_is_utc),
		cmocka_unit_test_setup_teardown(guest_sets_time_as_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(alarm_raises_irq_when_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(alarm_in_past_fires_at_once_and_clear_disarms, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_accesses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
