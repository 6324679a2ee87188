/* The platform as the RV64 CPU sees it: RAM, the MMIO bus, its sibling
 * harts, the CLINT and PLIC it takes interrupts from, whether firmware
 * calls (SBI) are answered by the host, and the exit request.  The board
 * that fills it in (memory map, devices, FDT, firmware) is
 * src/board/virt/. */
#ifndef RINGVM_RV64_MACHINE_H
#define RINGVM_RV64_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/bus.h"
#include "../../core/guest_mem.h"
#include "jit/jit.h"

/* Harts per machine: one host thread each (rv_vcpu_run).  32 keeps every
 * hart mask (SBI, requests) in one 64-bit word and the PLIC's 2 contexts
 * per hart within its register map. */
#define RV_MAX_HARTS 32

#define RV_TIMEBASE_HZ   10000000ULL   /* mtime ticks per second */

struct rv_hart;
struct rv_clint;
struct rv_plic;

/* Why the machine stopped running. */
enum rv_exit {
	RV_EXIT_NONE = 0,
	RV_EXIT_POWEROFF,   /* SBI SRST shutdown, sifive_test pass */
	RV_EXIT_REBOOT,     /* SBI SRST cold/warm reboot */
	RV_EXIT_HTIF,       /* bare-metal test wrote tohost */
	RV_EXIT_USER,       /* Ctrl-A x */
	RV_EXIT_ERROR,      /* host-side failure (message in exit_msg) */
};

struct rv_machine {
	struct guest_mem mem;
	struct bus bus;

	unsigned nharts;
	struct rv_hart *harts[RV_MAX_HARTS];
	/* How harts made from now on execute code (--accel, jit/jit.h);
	 * set before rv_hart_new. */
	enum rv_accel accel;
	size_t jit_code_bytes;     /* per hart; 0: RV_JIT_CODE_BYTES */
	struct rv_clint *clint;
	struct rv_plic *plic;

	/* true: ringvm is the M-mode firmware and answers SBI ecalls from
	 * S-mode itself through `ecall`; false: a real firmware (--bios)
	 * runs in M-mode. */
	bool sbi;
	/* The firmware's ecall handler (the board's SBI, board/virt/sbi.h),
	 * called on the hart's own thread with h->pc at the ecall; the
	 * interpreter advances pc past it afterwards. */
	int (*ecall)(struct rv_hart *h);

	/* User-mode emulation (src/exec/, docs/EXEC.md): when set, an
	 * exception (any cause, from any mode) is not taken by the hart;
	 * this is called instead, on the hart's own thread, with h->pc at
	 * the instruction that trapped (an ecall's own pc) and the cause and
	 * tval the hart would have written to xcause/xtval.  The hart's
	 * privilege and CSRs are left alone.  The handler typically records
	 * the trap and kicks the hart (rv_vcpu_kick) so that rv_vcpu_run()
	 * returns and the runtime serves it outside the interpreter.  NULL
	 * (full-system machines): exceptions are taken architecturally. */
	void (*user_trap)(struct rv_hart *h, uint64_t cause, uint64_t tval);

	/* HTIF (riscv-tests convention), 0 when the ELF has no tohost. */
	uint64_t tohost, fromhost;

	/* Set by rv_machine_request_exit() (any thread) to make every hart
	 * thread leave rv_vcpu_run(); exit_code is the process exit status
	 * for HTIF.  Read with __atomic loads. */
	volatile int exit_request;
	enum rv_exit exit_reason;
	int exit_code;

	/* Called (any thread, possibly under the device lock) once the
	 * first exit request is recorded, after every hart was woken: the
	 * VM handle wakes its I/O thread.  Must not block. */
	void (*exit_hook)(void *opaque);
	void *exit_opaque;

	/* Host CLOCK_MONOTONIC ns at which mtime was 0 (atomic: a CLINT
	 * mtime write moves it while other harts read the time). */
	uint64_t mtime_epoch_ns;

	/* Cross-hart requests (cpu_vcpu.c): a hart waiting for other harts
	 * to acknowledge a remote fence sleeps on req_cond.  A zeroed
	 * struct is ready to use (glibc's initializers are all zero bits,
	 * as for struct bus).  req_lock is a leaf lock. */
	pthread_mutex_t req_lock;
	pthread_cond_t req_cond;
	unsigned req_waiters;   /* atomic */

	/* The console that SBI DBCN and the legacy putchar/getchar calls use
	 * (the same one the UART drives).  write must take all len bytes;
	 * read returns a byte (0..255) or -1 when none is waiting. */
	void (*console_write)(void *opaque, const uint8_t *buf, size_t len);
	int (*console_read)(void *opaque);
	void *console_opaque;
};

/* mtime in RV_TIMEBASE_HZ ticks, from the host monotonic clock. */
uint64_t rv_mtime(const struct rv_machine *m);

/* Ask every hart to leave its run loop and the machine to stop with
 * `reason` (code: exit status for RV_EXIT_HTIF).  The first request wins.
 * Any thread, any lock held (it takes only hart sleep locks, which are
 * leaves): sets exit_request, wakes every hart thread (each returns from
 * rv_vcpu_run() at its next instruction boundary) and calls
 * m->exit_hook. */
void rv_machine_request_exit(struct rv_machine *m, enum rv_exit reason,
			     int code);

#endif
