/* The platform as the RV64 CPU sees it: RAM, the MMIO bus, its sibling
 * harts, the CLINT and PLIC it takes interrupts from, whether firmware
 * calls (SBI) are answered by the host, and the exit request.  The board
 * that fills it in (memory map, devices, FDT, firmware) is
 * src/board/virt/. */
#ifndef RINGVM_RV64_MACHINE_H
#define RINGVM_RV64_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/bus.h"
#include "../../core/guest_mem.h"

#define RV_MAX_HARTS 8

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

	/* HTIF (riscv-tests convention), 0 when the ELF has no tohost. */
	uint64_t tohost, fromhost;

	/* Set (from any place in the run loop) to stop all harts at the next
	 * slice boundary; exit_code is the process exit status for HTIF. */
	volatile int exit_request;
	enum rv_exit exit_reason;
	int exit_code;

	/* Called (any thread, possibly under the device lock) once the
	 * first exit request is recorded, after every hart was kicked: the
	 * VM handle wakes its I/O thread.  Must not block. */
	void (*exit_hook)(void *opaque);
	void *exit_opaque;

	/* Host CLOCK_MONOTONIC ns at which mtime was 0. */
	uint64_t mtime_epoch_ns;

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
 * `reason` (code: exit status for RV_EXIT_HTIF).  The first request wins. */
void rv_machine_request_exit(struct rv_machine *m, enum rv_exit reason,
			     int code);

#endif
