/* Goldfish real-time clock ("google,goldfish-rtc", as on QEMU's `-M virt`
 * at 0x101000): a 64-bit nanosecond count of UTC since the epoch, read
 * from the host's CLOCK_REALTIME plus a per-device offset, and one alarm
 * with a level interrupt.  Linux's rtc-goldfish driver uses it for
 * /dev/rtc0 and the boot-time clock (CONFIG_RTC_HCTOSYS).
 *
 * Registers, 32-bit accesses only (other sizes fault, as on QEMU):
 *   0x00 TIME_LOW        r: bits 31:0 of now, latching bits 63:32 for
 *                        TIME_HIGH; w: sets bits 31:0 of the clock
 *   0x04 TIME_HIGH       r: the latched bits 63:32; w: sets bits 63:32
 *   0x08 ALARM_LOW       r: alarm bits 31:0; w: sets them and arms the
 *                        alarm at (ALARM_HIGH << 32 | value)
 *   0x0c ALARM_HIGH      r/w: alarm bits 63:32 (takes effect at the next
 *                        ALARM_LOW write)
 *   0x10 IRQ_ENABLED     r/w: bit 0 gates the interrupt line
 *   0x14 CLEAR_ALARM     w: disarm the alarm
 *   0x18 ALARM_STATUS    r: 1 while an alarm is armed
 *   0x1c CLEAR_INTERRUPT w: drop the pending alarm interrupt
 * Other offsets read 0 and ignore writes.  Writing the time moves only
 * this device's offset; the host clock is never changed.
 *
 * Not thread-safe: the caller serialises MMIO accesses and polls. */
#ifndef RINGVM_HW_GOLDFISH_RTC_H
#define RINGVM_HW_GOLDFISH_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/err.h"
#include "core/irq.h"

#define GOLDFISH_RTC_SIZE 0x1000

#define GOLDFISH_RTC_TIME_LOW        0x00
#define GOLDFISH_RTC_TIME_HIGH       0x04
#define GOLDFISH_RTC_ALARM_LOW       0x08
#define GOLDFISH_RTC_ALARM_HIGH      0x0c
#define GOLDFISH_RTC_IRQ_ENABLED     0x10
#define GOLDFISH_RTC_CLEAR_ALARM     0x14
#define GOLDFISH_RTC_ALARM_STATUS    0x18
#define GOLDFISH_RTC_CLEAR_INTERRUPT 0x1c

struct goldfish_rtc {
	struct bus *bus;
	uint64_t base;
	struct irq_line irq;
	/* Host wall clock in ns since the epoch (CLOCK_REALTIME unless a
	 * test substitutes one). */
	uint64_t (*clock)(void *opaque);
	void *clock_opaque;
	int64_t offset_ns;     /* guest time - host time */
	uint32_t time_high;    /* latched by a TIME_LOW read */
	uint64_t alarm_ns;     /* guest time of the alarm */
	bool alarm_armed;
	bool irq_enabled;
	bool irq_pending;
};

/* Register the device at guest-physical base (GOLDFISH_RTC_SIZE bytes) on
 * bus with interrupt line irq (copied).  clock: NULL for the host's
 * CLOCK_REALTIME, else a callback returning ns since the epoch.  rtc is
 * owned by the caller and must outlive the registration.  Returns 0 or the
 * bus error (-EINVAL on overlap). */
int goldfish_rtc_init(struct goldfish_rtc *rtc, struct bus *bus,
		      uint64_t base, struct irq_line irq,
		      uint64_t (*clock)(void *opaque), void *clock_opaque,
		      struct err *errp);

/* Unregister (safe on a zeroed or already-exited struct). */
void goldfish_rtc_exit(struct goldfish_rtc *rtc);

/* Guest time now, ns since the epoch. */
uint64_t goldfish_rtc_now(const struct goldfish_rtc *rtc);

/* Fire the alarm if it is due: the alarm disarms, the interrupt becomes
 * pending and the line is raised if enabled.  Call from the run loop. */
void goldfish_rtc_poll(struct goldfish_rtc *rtc);

/* Host ns until the armed alarm is due (0 if due), UINT64_MAX if none. */
uint64_t goldfish_rtc_next_ns(const struct goldfish_rtc *rtc);

/* Machine reset: disarm the alarm, drop and disable the interrupt.  The
 * time (and a guest-set offset) survives, as a battery-backed clock's. */
void goldfish_rtc_reset(struct goldfish_rtc *rtc);

/* The bus callbacks, exposed for tests; rtc is the opaque. */
int goldfish_rtc_read(void *rtc, uint64_t off, unsigned size, uint64_t *val);
int goldfish_rtc_write(void *rtc, uint64_t off, unsigned size, uint64_t val);

/* ---- state (core/state.h; goldfish_rtc_state.c) ---------------------
 *
 * A section (version 1): the guest's offset from the host wall clock, the
 * latched TIME_HIGH, the alarm (time, armed) and the interrupt (enabled,
 * pending).  The clock itself is not state: a loaded RTC shows host wall
 * time plus the saved offset, so a guest restored later, or on another
 * host, reads the real time (as after a suspend) — unlike mtime, which
 * continues from its saved value. */
struct state_writer;
struct state_reader;

struct goldfish_rtc_state {
	int64_t offset_ns;
	uint32_t time_high;
	uint64_t alarm_ns;
	bool alarm_armed, irq_enabled, irq_pending;
};

/* Append section `name` (e.g. "rtc"). */
void goldfish_rtc_save(const struct goldfish_rtc *rtc, const char *name,
		       struct state_writer *w);

/* Read and check section `name` into *s.  Returns 0, -ENOENT or
 * -EINVAL. */
int goldfish_rtc_parse(struct state_reader *r, const char *name,
		       struct goldfish_rtc_state *s, struct err *errp);

/* Apply a parsed state; the interrupt line is driven from it. */
void goldfish_rtc_apply(struct goldfish_rtc *rtc,
			const struct goldfish_rtc_state *s);

#endif
