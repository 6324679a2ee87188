/* One RISC-V hart: architectural state and the entry points the rest of the
 * engine (CLINT, PLIC, SBI, the run loop) uses.  The interpreter's private
 * state (TLB, decoded-block cache) hangs off `priv_` and is declared in
 * cpu internals; nothing outside src/engine/rv64/cpu*.c touches it.
 *
 * Implements RISC-V unprivileged ISA 20191213 (RV64GC) and privileged
 * architecture 1.12 (M, S, U modes; Sv39/Sv48). */
#ifndef RINGVM_RV64_HART_H
#define RINGVM_RV64_HART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../core/err.h"
#include "machine.h"

/* Privilege levels (priv 1.12 §1.2). */
#define RV_PRIV_U 0
#define RV_PRIV_S 1
#define RV_PRIV_M 3

/* mip/mie bits (priv 1.12 §3.1.9). */
#define RV_MIP_SSIP (1ULL << 1)
#define RV_MIP_MSIP (1ULL << 3)
#define RV_MIP_STIP (1ULL << 5)
#define RV_MIP_MTIP (1ULL << 7)
#define RV_MIP_SEIP (1ULL << 9)
#define RV_MIP_MEIP (1ULL << 11)

/* SBI HSM hart states (SBI 2.0 §9). */
enum rv_hart_state {
	RV_HART_STARTED = 0,
	RV_HART_STOPPED = 1,
	RV_HART_START_PENDING = 2,
	RV_HART_STOP_PENDING = 3,
	RV_HART_SUSPENDED = 4,
};

/* ---- Threading model (cpu_vcpu.c; docs/ARCHITECTURE.md "Execution
 * model") ----
 *
 * Every hart runs on its own host thread inside rv_vcpu_run().  All of a
 * hart's architectural state, its TLB and its decoded-block cache belong
 * to that thread ("the owner"); other threads touch a hart only through:
 *   - mip, with rv_hart_set_mip() (atomic read-modify-write; kicks);
 *   - state, read with rv_hart_get_state() (HSM status, IPI filtering);
 *   - rv_hart_notify() / rv_vcpu_kick() (make the owner look up);
 *   - rv_harts_flush() and rv_hart_start(): requests the owner carries
 *     out on its own thread (remote sfence.vma / fence.i, HSM start).
 * While no thread is inside rv_vcpu_run(h) (before the threads start,
 * after they were joined, in unit tests), whoever holds the machine may
 * use every function below on h directly; requests are then carried out
 * by the caller itself.
 *
 * Locks, in the only order they may nest:
 *   bus device lock (core/bus.h) -> PLIC lock -> hart sleep lock
 *   (rv_hart.vlock) -> machine request lock (rv_machine.req_lock).
 * The last two are leaves: nothing that can block on a hart or a device
 * runs under them. */

/* Request bits a hart carries out on its own thread (rv_hart.req). */
#define RV_REQ_TLB   1u   /* sfence.vma: drop every cached translation */
#define RV_REQ_CODE  2u   /* fence.i: revalidate decoded blocks */
#define RV_REQ_START 4u   /* HSM hart_start with start_pc/priv/arg */

struct rv_hart {
	uint64_t x[32];     /* x0 is kept 0 */
	uint64_t pc;
	uint64_t f[32];     /* NaN-boxed single values in the low 32 bits */
	uint32_t fflags;    /* fcsr[4:0] */
	uint32_t frm;       /* fcsr[7:5] */
	int priv;           /* RV_PRIV_* */

	/* Machine-level CSRs.  mip is shared with other threads: written
	 * only with atomic read-modify-writes (rv_hart_set_mip, CSR
	 * writes), and it carries two private bits besides the
	 * architectural ones (RV_MIP_SEIP_SW/HW in cpu_internal.h), so
	 * read it through the CSR path or mask the bit you want. */
	uint64_t mstatus, misa, medeleg, mideleg, mie, mip;
	uint64_t mtvec, mscratch, mepc, mcause, mtval, mcounteren, menvcfg;
	uint64_t mcountinhibit;
	/* Supervisor-level CSRs (sstatus/sie/sip are views of m*) */
	uint64_t stvec, sscratch, sepc, scause, stval, satp, scounteren;
	uint64_t senvcfg, stimecmp;
	/* Counters.  instret counts every instruction this hart has retired
	 * (up to date whenever rv_hart_run() is not running); mcycle and
	 * minstret as software sees them are derived from it (cpu_csr.c),
	 * so `cycle` is unused. */
	uint64_t cycle, instret;
	/* PMP is a stub that permits everything but keeps its values. */
	uint64_t pmpcfg[16], pmpaddr[64];

	/* The CLINT's mtimecmp for this hart (RV_TIMEBASE_HZ ticks;
	 * UINT64_MAX: none), pushed by the CLINT (rv_hart_set_mtimecmp) so
	 * the hart's thread evaluates MTIP against it without calling into
	 * the device.  Atomic. */
	uint64_t mtimecmp;

	/* LR/SC reservation: physical address, or ~0 when none. */
	uint64_t reservation;

	unsigned hartid;
	/* HSM state; other threads read it (rv_hart_get_state) and
	 * rv_hart_start() moves it STOPPED -> START_PENDING, so every
	 * access is atomic. */
	enum rv_hart_state state;
	bool wfi;           /* sleeping in WFI (owner thread only) */

	/* Set by anyone to make rv_hart_run() return at the next block
	 * boundary (interrupt raised, request posted, exit requested).
	 * The interpreter polls it after device accesses, SBI calls and
	 * CSR writes and at every block lookup; a kick from another
	 * thread is otherwise seen within one slice.  rv_hart_run()
	 * clears it on entry. */
	volatile int kick;

	/* ---- owned by cpu_vcpu.c ---- */
	pthread_mutex_t vlock;  /* sleep hand-off, `active`, request posting */
	pthread_cond_t vcond;   /* the owner sleeps here (WFI, STOPPED) */
	int active;             /* a thread is inside rv_vcpu_run (atomic) */
	int sleeping;           /* the owner waits on vcond (atomic) */
	int vcpu_kick;          /* sticky rv_vcpu_kick() (atomic) */
	unsigned req;           /* RV_REQ_* posted, not yet served (atomic) */
	uint64_t req_seq;       /* requests posted (under vlock) */
	uint64_t ack_seq;       /* req_seq the owner has served (atomic) */
	uint64_t start_pc, start_arg;  /* RV_REQ_START parameters */
	int start_priv;

	struct rv_machine *m;
	void *priv_;        /* interpreter-private state */
};

/* Allocate a hart in reset state (M-mode, pc 0, stopped).  Returns NULL and
 * fills errp on allocation failure. */
struct rv_hart *rv_hart_new(struct rv_machine *m, unsigned hartid,
			    struct err *errp);
/* No thread may be inside rv_vcpu_run(h). */
void rv_hart_free(struct rv_hart *h);
/* In the child of a host fork() (ringvm exec's guest fork): drop h's
 * decoded blocks and translated code and give its translator a code
 * buffer of its own (the old one is shared with the parent; jit/jit.h
 * rv_jit_unshare).  Call on the thread that runs h, outside translated
 * code (e.g. from the ecall handler), or for a hart no thread runs.
 * Returns 0, or -errno with errp set when no new buffer could be made:
 * h then keeps running, interpreted. */
int rv_hart_after_fork(struct rv_hart *h, struct err *errp);

/* Reset architectural state and start at pc in privilege `priv`, with
 * a0 = hartid and a1 = arg1 (the FDT address), as firmware would hand over
 * (SBI 2.0 §9.1 / OpenSBI fw_dynamic).  Flushes TLB and code caches and
 * drops pending requests (acknowledging them: a reset flushes more than
 * any request asks).  Owner thread, or any thread while h's thread is
 * not running. */
void rv_hart_reset(struct rv_hart *h, uint64_t pc, int priv, uint64_t arg1);

/* Run up to about `budget` instructions (checked at block boundaries) on
 * the calling (owner) thread.  Clears h->kick and serves pending requests
 * first.  Returns when the budget is spent, h->kick is set, the hart
 * enters WFI with nothing pending, or the hart is stopped.  Never blocks.
 * rv_vcpu_run() calls it; unit tests call it directly. */
void rv_hart_run(struct rv_hart *h, uint64_t budget);

/* Run hart h on the calling host thread until rv_vcpu_kick(h) or a machine
 * exit request (m->exit_request).  A kick that came before the call makes
 * it return at once, after consuming it (kicks are sticky, so a vmm that
 * kicks to pause cannot lose the kick to a race with the thread start).
 *
 * Inside, in a loop: evaluates this hart's own timers against mtime (MTIP
 * from the CLINT's mtimecmp for this hart, STIP from stimecmp under Sstc or
 * the built-in SBI timer), runs a slice (rv_hart_run: 200 k instructions
 * with one hart, 20 k with several), which first serves the cross-hart
 * requests addressed to it (remote sfence.vma, fence.i, HSM start).  When
 * the hart is in WFI with no enabled interrupt pending, or STOPPED/START_
 * PENDING, it sleeps on a condition variable with a timeout at its next
 * timer deadline (at most 1 s) until an interrupt is raised for it
 * (rv_hart_set_mip), a request arrives, a kick or an exit request; it
 * never spins.  A sleeping hart counts as having acknowledged requests
 * (it serves them before it executes anything).
 *
 * Returns at an instruction boundary with h->instret current; the hart
 * can be resumed by calling rv_vcpu_run(h) again.  At most one thread may
 * be inside rv_vcpu_run(h) for a given h. */
void rv_vcpu_run(struct rv_hart *h);

/* Make rv_vcpu_run(h) return promptly (within one slice; at once if the
 * hart sleeps).  Any thread, any lock except h->vlock held.  Sticky: if
 * rv_vcpu_run(h) is not running, the next call returns at once. */
void rv_vcpu_kick(struct rv_hart *h);

/* Make h's thread stop its slice and look again at its interrupts, timers
 * and requests (waking it if it sleeps).  Not sticky: it does not end
 * rv_vcpu_run().  Any thread, any lock except h->vlock held. */
void rv_hart_notify(struct rv_hart *h);

/* HSM state as other threads may read it. */
static inline enum rv_hart_state rv_hart_get_state(const struct rv_hart *h)
{
	return __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
}
static inline void rv_hart_set_state(struct rv_hart *h, enum rv_hart_state s)
{
	__atomic_store_n(&h->state, s, __ATOMIC_RELEASE);
}

/* SBI HSM hart_start (SBI 2.0 §9.1) of hart t from any thread: if t is
 * STOPPED it becomes START_PENDING and its owner resets it to start at pc
 * in privilege `priv` with a0 = hartid, a1 = arg1 and starts it (STARTED);
 * when t's thread is not running, the caller does that at once.  Returns 0,
 * or -EALREADY when t was not STOPPED (nothing changed). */
int rv_hart_start(struct rv_hart *t, uint64_t pc, int priv, uint64_t arg1);

/* Remote fences, synchronous (SBI RFENCE semantics): every hart in
 * `harts` (bit i = hart i; bits beyond m->nharts ignored) carries out
 * `what` (RV_REQ_TLB and/or RV_REQ_CODE) on its own thread before this
 * returns: the caller posts the request to each, kicks them and waits for
 * every acknowledgement (a target that sleeps, or whose thread is not
 * running, acknowledges implicitly: it serves the request before it
 * executes anything).  While waiting, the caller serves requests addressed
 * to itself, so two harts fencing each other cannot deadlock.  Gives up
 * waiting when the machine exits.  self: the calling hart of m (its own
 * bit is served in place), or NULL from a thread that is no hart.  Call
 * with no lock held. */
void rv_harts_flush(struct rv_machine *m, struct rv_hart *self,
		    uint64_t harts, unsigned what);

/* Raise (level != 0) or clear the given mip bits (RV_MIP_*; SEIP here is
 * the PLIC's line, ORed with the software-written bit) atomically, from any
 * thread, and on a rising bit notify the hart (rv_hart_notify) so a newly
 * enabled interrupt is taken at the next block boundary and a WFI sleep
 * ends.  Used by CLINT, PLIC and SBI. */
void rv_hart_set_mip(struct rv_hart *h, uint64_t mask, int level);

/* Re-evaluate timer interrupts against mtime: MTIP from the CLINT's
 * mtimecmp for this hart, STIP from stimecmp when menvcfg.STCE (Sstc) is
 * set or ringvm is the SBI firmware.  Owner thread. */
void rv_hart_update_timer(struct rv_hart *h, uint64_t mtime);

/* The CLINT stores h's mtimecmp (any thread; the CLINT evaluates MTIP
 * itself at once, and this notifies h so that it re-arms its sleep). */
void rv_hart_set_mtimecmp(struct rv_hart *h, uint64_t cmp);

/* Earliest mtime at which one of h's timers newly fires (UINT64_MAX: none;
 * <= now: due).  Owner thread. */
uint64_t rv_hart_next_deadline(const struct rv_hart *h);

/* Drop cached translations (sfence.vma).  Owner thread, or any thread
 * while the owner is parked outside rv_vcpu_run() (the VM handle's pause
 * orders the two); other harts use rv_harts_flush(). */
void rv_hart_flush_tlb(struct rv_hart *h);

/* Drop decoded code (fence.i).  Owner thread; other harts use
 * rv_harts_flush(). */
void rv_hart_flush_code(struct rv_hart *h);

/* True if an interrupt is pending and enabled for the current mode, i.e.
 * WFI should wake (priv 1.12 §3.3.3: ignores global enables).  Owner. */
bool rv_hart_irq_pending(const struct rv_hart *h);

/* User-mode emulation (src/exec/, with rv_machine.user_trap set): put h in
 * U-mode at pc with translation `satp` (Sv39/Sv48 tables the runtime
 * builds in guest memory), the FPU on (mstatus.FS dirty), cycle/time/
 * instret readable from U, cbo.zero allowed, and its TLB and code caches
 * flushed.  Registers are left as they are.  Owner thread, or any thread
 * while h's thread is not running. */
void rv_hart_enter_user(struct rv_hart *h, uint64_t pc, uint64_t satp);

/* Cache-block size of Zicbom/Zicboz (bytes), for riscv,cbo[mz]-block-size. */
#define RV_CBO_BLOCK_SIZE 64

/* The ISA this interpreter implements, for the FDT: the riscv,isa string
 * (canonical order, e.g. "rv64imafdc_zicbom_..._svpbmt") ... */
const char *rv_isa_string(void);
/* ... and the same as riscv,isa-extensions entries ("i", "m", ...);
 * *n receives the number of entries.  Both are static, never freed. */
const char *const *rv_isa_extensions(unsigned *n);

/* The hart's translator (jit/jit.h: statistics), NULL with --accel
 * interp.  Read while the hart does not run. */
const struct rv_jit *rv_hart_jit(const struct rv_hart *h);

#endif
