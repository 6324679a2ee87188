/* SiFive CLINT (core-local interruptor) at RV_CLINT_BASE, laid out as in
 * QEMU's `-M virt` and the SiFive FU540 manual ch. 9:
 *
 *   0x0000 + 4*hart  msip      bit 0 drives mip.MSIP of that hart
 *   0x4000 + 8*hart  mtimecmp  64-bit; 4-byte halves accepted
 *   0xbff8           mtime     64-bit; 4-byte halves accepted
 *
 * mtime is not stored: it is derived from the host monotonic clock
 * (rv_mtime()), so a write to it moves m->mtime_epoch_ns instead.  The
 * timer comparison (priv 1.12 §3.2.1: MTIP is pending while
 * mtime >= mtimecmp) is re-done on every mtimecmp write and at every run
 * loop slice boundary by rv_clint_update(). */
#ifndef RINGVM_RV64_CLINT_H
#define RINGVM_RV64_CLINT_H

#include <stdint.h>

#include "core/err.h"
#include "engine/rv64/machine.h"

#define RV_CLINT_SIZE      0x10000ULL /* register window, bytes */

#define RV_CLINT_MSIP      0x0000
#define RV_CLINT_MTIMECMP  0x4000
#define RV_CLINT_MTIME     0xbff8

/* Allocate m->clint and register it on m->bus at
 * guest-physical `base` (RV_CLINT_SIZE bytes).  Call after
 * m->nharts and m->harts[] are set.  Every mtimecmp starts at UINT64_MAX
 * (no timer armed).  Returns 0, -ENOMEM, or the bus error (-EINVAL on an
 * overlapping window); m is unchanged on failure. */
int rv_clint_init(struct rv_machine *m, uint64_t base, struct err *errp);

/* Unregister and free m->clint (NULL-safe; m->clint becomes NULL). */
void rv_clint_free(struct rv_machine *m);

/* Machine reset: every mtimecmp to UINT64_MAX and msip cleared (MTIP and
 * MSIP lowered).  mtime keeps running. */
void rv_clint_reset(struct rv_machine *m);

/* Bring every hart's MTIP in line with mtime vs. mtimecmp and let the hart
 * re-evaluate STIP (Sstc stimecmp or the SBI timer) through
 * rv_hart_update_timer().  Called by the run loop at slice boundaries;
 * touches mip only when a bit actually changes, so it does not kick harts
 * needlessly.  Never allocates. */
void rv_clint_update(struct rv_machine *m);

/* Earliest mtime (RV_TIMEBASE_HZ ticks) at which a timer of a running
 * (not STOPPED) hart will newly fire: its mtimecmp, or its stimecmp when
 * that is in use (m->sbi, or menvcfg.STCE per the Sstc extension).  A timer
 * whose interrupt is already reflected in mip is not an event; one that is
 * due but not yet reflected returns a value <= the current mtime, meaning
 * "call rv_clint_update() now".  UINT64_MAX when nothing is armed, so the
 * host can sleep until the deadline while all harts are in WFI. */
uint64_t rv_clint_next_deadline(const struct rv_machine *m);

/* mtimecmp of `hartid` (UINT64_MAX for an unknown hart or no CLINT), for
 * the interpreter's rv_hart_update_timer(). */
uint64_t rv_clint_mtimecmp(const struct rv_machine *m, unsigned hartid);

#endif
