/* SiFive PLIC (platform-level interrupt controller) at RV_PLIC_BASE, laid
 * out as in QEMU's `-M virt` (RISC-V PLIC spec 1.0.0 §3-§8):
 *
 *   0x000000 + 4*src              priority of source src (0..7, 0 = never)
 *   0x001000                      pending bits, sources 0..31
 *   0x002000 + 0x80*ctx           enable bits of context ctx
 *   0x200000 + 0x1000*ctx         priority threshold of ctx
 *   0x200004 + 0x1000*ctx         claim (read) / complete (write)
 *
 * Context 2*hart is the hart's M-mode context (drives mip.MEIP), context
 * 2*hart+1 its S-mode context (drives mip.SEIP).  Sources are
 * 1..RV_PLIC_NDEV with level-triggered gateways: a claimed source is not
 * pending again until it is completed, and if its line is still high at
 * completion it becomes pending again.  Only aligned 32-bit accesses are
 * accepted; reserved registers read as 0 and ignore writes.
 *
 * Devices may raise lines from any host thread: the state is locked. */
#ifndef RINGVM_RV64_PLIC_H
#define RINGVM_RV64_PLIC_H

#include "core/err.h"
#include "core/irq.h"
#include "engine/rv64/machine.h"

#define RV_PLIC_SIZE       0x600000ULL /* register window, bytes */
#define RV_PLIC_NDEV       31          /* interrupt sources 1..31 */

#define RV_PLIC_PRIORITY   0x000000
#define RV_PLIC_PENDING    0x001000
#define RV_PLIC_ENABLE     0x002000
#define RV_PLIC_ENABLE_STRIDE  0x80
#define RV_PLIC_CONTEXT    0x200000
#define RV_PLIC_CONTEXT_STRIDE 0x1000
#define RV_PLIC_MAX_PRIO   7

/* Allocate m->plic with 2 * m->nharts contexts and register it on m->bus at
 * guest-physical `base` (RV_PLIC_SIZE bytes).  Call after m->nharts and m->harts[] are set.  All
 * priorities, enables and thresholds start at 0.  Returns 0, -ENOMEM, or
 * the bus error; m is unchanged on failure. */
int rv_plic_init(struct rv_machine *m, uint64_t base, struct err *errp);

/* Unregister and free m->plic (NULL-safe; m->plic becomes NULL).  No
 * device may use an irq_line from rv_plic_irq() afterwards. */
void rv_plic_free(struct rv_machine *m);

/* Machine reset: priorities, enables, thresholds, pending and claimed
 * sources back to 0 and every context's output lowered.  Line levels as
 * the devices drive them are kept (devices reset themselves). */
void rv_plic_reset(struct rv_machine *m);

/* The interrupt line a device holds for PLIC source `src`
 * (1..RV_PLIC_NDEV; e.g. RV_UART0_IRQ).  An out-of-range src yields a line
 * without backend, which irq_set_level() ignores.  The line stays valid
 * until rv_plic_free(). */
struct irq_line rv_plic_irq(struct rv_machine *m, unsigned src);

/* ---- state (core/state.h; plic_state.c) ----------------------------
 *
 * Section "plic" (version 1): the context count, every source's priority,
 * the line levels, pending and claimed (in service) bitmaps, and each
 * context's enable bits and threshold.  Loading drives every context's
 * mip bit from the loaded state. */
struct state_writer;
struct state_reader;

struct rv_plic_state {
	unsigned nctx;
	uint8_t prio[RV_PLIC_NDEV + 1];
	uint32_t level, pending, claimed;
	uint32_t enable[2 * RV_MAX_HARTS];
	uint8_t threshold[2 * RV_MAX_HARTS];
};

/* Append the "plic" section.  Any thread (takes the PLIC lock). */
void rv_plic_save(const struct rv_machine *m, struct state_writer *w);

/* Read and check the "plic" section into *s without changing m: context
 * count equal to m's, priorities and thresholds 0..7, bits only for
 * sources 1..RV_PLIC_NDEV, pending == level & ~claimed (what the gateways
 * keep).  Returns 0, -ENOENT or -EINVAL. */
int rv_plic_parse(struct state_reader *r, const struct rv_machine *m,
		  struct rv_plic_state *s, struct err *errp);

/* Apply a parsed state and drive every context's MEIP/SEIP from it.  Only
 * while no hart runs, after the harts' images were loaded; the devices
 * load after it (they re-drive their lines). */
void rv_plic_apply(struct rv_machine *m, const struct rv_plic_state *s);

#endif
