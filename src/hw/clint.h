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
 * mtime >= mtimecmp) is re-done on every mtimecmp write (and the hart is
 * notified so that it re-arms its sleep), and by every hart's own thread
 * at its slice boundaries and timer deadlines (rv_hart_update_timer()).
 * Register accesses run under the bus device lock, on any hart's thread. */
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

/* Bring every hart's MTIP in line with mtime vs. mtimecmp (STIP is each
 * hart's own business: rv_hart_update_timer() on its thread).  Any thread;
 * touches mip only when a bit actually changes, so it does not kick harts
 * needlessly.  Never allocates. */
void rv_clint_update(struct rv_machine *m);

/* The same for a given mtime (ticks): a paused machine's frozen time. */
void rv_clint_update_at(struct rv_machine *m, uint64_t mtime);

/* Earliest mtime (RV_TIMEBASE_HZ ticks) at which a timer of a running
 * (not STOPPED) hart will newly fire: its mtimecmp, or its stimecmp when
 * that is in use (m->sbi, or menvcfg.STCE per the Sstc extension).  A timer
 * whose interrupt is already reflected in mip is not an event; one that is
 * due but not yet reflected returns a value <= the current mtime, meaning
 * "call rv_clint_update() now".  UINT64_MAX when nothing is armed.  Reads
 * other harts' stimecmp/menvcfg: only while no hart thread runs (a
 * single-threaded run loop, tests); hart threads use
 * rv_hart_next_deadline() for themselves. */
uint64_t rv_clint_next_deadline(const struct rv_machine *m);

/* mtimecmp of `hartid` as last written (UINT64_MAX for an unknown hart or
 * no CLINT).  Any thread.  The harts themselves use the copy the CLINT
 * pushes to them (rv_hart_set_mtimecmp). */
uint64_t rv_clint_mtimecmp(const struct rv_machine *m, unsigned hartid);

/* ---- state (core/state.h; clint_state.c) ---------------------------
 *
 * Section "clint" (version 1): the hart count, the guest-visible mtime and
 * every hart's mtimecmp.  msip is not here: it is mip.MSIP, part of each
 * hart's own image.  mtime is saved as the guest saw it (a paused VM's
 * frozen time), and a load sets the clock so that the guest's time goes
 * on from exactly that value: no jump forward over the time the VM was
 * saved, none back. */
struct state_writer;
struct state_reader;

struct rv_clint_state {
	uint64_t mtime;                     /* RV_TIMEBASE_HZ ticks */
	unsigned nharts;
	uint64_t mtimecmp[RV_MAX_HARTS];
};

/* Append the "clint" section; mtime: the guest-visible time to record
 * (the board's frozen time while paused).  Only while no hart runs; call
 * rv_clint_update_at(m, mtime) before saving the harts so that their
 * MTIP is what this mtime implies. */
void rv_clint_save(const struct rv_machine *m, uint64_t mtime,
		   struct state_writer *w);

/* Read and check the "clint" section into *s without changing m: the
 * hart count must be m's.  Returns 0, -ENOENT or -EINVAL (errp says
 * what). */
int rv_clint_parse(struct state_reader *r, const struct rv_machine *m,
		   struct rv_clint_state *s, struct err *errp);

/* Apply a parsed state: every mtimecmp, and the clock set so that mtime
 * reads s->mtime at host CLOCK_MONOTONIC time now_ns (the board keeps the
 * clock stopped from now_ns until the VM starts); MTIP re-evaluated.
 * Only while no hart runs, after the harts' images were loaded. */
void rv_clint_apply(struct rv_machine *m, const struct rv_clint_state *s,
		    uint64_t now_ns);

#endif
