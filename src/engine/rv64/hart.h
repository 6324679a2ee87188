/* One RISC-V hart: architectural state and the entry points the rest of the
 * engine (CLINT, PLIC, SBI, the run loop) uses.  The interpreter's private
 * state (TLB, decoded-block cache) hangs off `priv_` and is declared in
 * cpu internals; nothing outside src/engine/rv64/cpu*.c touches it.
 *
 * Implements RISC-V unprivileged ISA 20191213 (RV64GC) and privileged
 * architecture 1.12 (M, S, U modes; Sv39/Sv48). */
#ifndef RINGVM_RV64_HART_H
#define RINGVM_RV64_HART_H

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

struct rv_hart {
	uint64_t x[32];     /* x0 is kept 0 */
	uint64_t pc;
	uint64_t f[32];     /* NaN-boxed single values in the low 32 bits */
	uint32_t fflags;    /* fcsr[4:0] */
	uint32_t frm;       /* fcsr[7:5] */
	int priv;           /* RV_PRIV_* */

	/* Machine-level CSRs */
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

	/* LR/SC reservation: physical address, or ~0 when none. */
	uint64_t reservation;

	unsigned hartid;
	enum rv_hart_state state;
	bool wfi;           /* sleeping in WFI until an interrupt is pending */

	/* Set by anyone to make rv_hart_run() return at the next block
	 * boundary (interrupt raised, exit requested, hart stopped).  The
	 * interpreter polls it after device accesses, SBI calls and CSR
	 * writes, i.e. wherever the hart itself can cause a kick; a kick
	 * from another host thread is seen when the budget runs out. */
	volatile int kick;
	/* Set by rv_vcpu_kick(): rv_vcpu_run() returns and clears it. */
	int run_kick;

	struct rv_machine *m;
	void *priv_;        /* interpreter-private state */
};

/* Allocate a hart in reset state (M-mode, pc 0, stopped).  Returns NULL and
 * fills errp on allocation failure. */
struct rv_hart *rv_hart_new(struct rv_machine *m, unsigned hartid,
			    struct err *errp);
void rv_hart_free(struct rv_hart *h);

/* Reset architectural state and start at pc in privilege `priv`, with
 * a0 = hartid and a1 = arg1 (the FDT address), as firmware would hand over
 * (SBI 2.0 §9.1 / OpenSBI fw_dynamic).  Flushes TLB and code caches. */
void rv_hart_reset(struct rv_hart *h, uint64_t pc, int priv, uint64_t arg1);

/* Run up to about `budget` instructions (checked at block boundaries).
 * Returns when the budget is spent, h->kick is set, the hart enters WFI with
 * nothing pending, or the hart is stopped.  Never blocks. */
void rv_hart_run(struct rv_hart *h, uint64_t budget);

/* Run hart h on the calling host thread until rv_vcpu_kick(h) (sticky: a
 * kick that came before the call is consumed and makes it return at once)
 * or a machine exit request.  Evaluates this hart's timers, and sleeps
 * while the hart waits in WFI or is stopped, until an interrupt, a kick
 * or its next timer deadline.  Returns at an instruction boundary with
 * h->instret current.  Only on h's own thread. */
void rv_vcpu_run(struct rv_hart *h);

/* Make rv_vcpu_run(h) return promptly; wakes a sleeping hart.  Any
 * thread. */
void rv_vcpu_kick(struct rv_hart *h);

/* Raise (level != 0) or clear the given mip bits and kick the hart so a
 * newly enabled interrupt is taken at the next block boundary and a WFI
 * ends.  Used by CLINT, PLIC and SBI. */
void rv_hart_set_mip(struct rv_hart *h, uint64_t mask, int level);

/* Re-evaluate timer interrupts against mtime: MTIP from the CLINT's
 * mtimecmp, STIP from stimecmp when menvcfg.STCE (Sstc) is set. */
void rv_hart_update_timer(struct rv_hart *h, uint64_t mtime);

/* Drop cached translations (sfence.vma, SBI remote sfence). */
void rv_hart_flush_tlb(struct rv_hart *h);

/* Drop decoded code (fence.i, SBI remote fence.i). */
void rv_hart_flush_code(struct rv_hart *h);

/* True if an interrupt is pending and enabled for the current mode, i.e.
 * WFI should wake (priv 1.12 §3.3.3: ignores global enables). */
bool rv_hart_irq_pending(const struct rv_hart *h);

/* Cache-block size of Zicbom/Zicboz (bytes), for riscv,cbo[mz]-block-size. */
#define RV_CBO_BLOCK_SIZE 64

/* The ISA this interpreter implements, for the FDT: the riscv,isa string
 * (canonical order, e.g. "rv64imafdc_zicbom_..._svpbmt") ... */
const char *rv_isa_string(void);
/* ... and the same as riscv,isa-extensions entries ("i", "m", ...);
 * *n receives the number of entries.  Both are static, never freed. */
const char *const *rv_isa_extensions(unsigned *n);

#endif
