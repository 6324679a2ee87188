/* 16550A UART (the "ns16550a" of the RISC-V virt platform, COM1 on x86).
 *
 * Eight byte-wide registers at offsets 0..7 (reg-shift 0).  1-byte accesses
 * are the norm; 4-byte ones are accepted and act on the low byte, for
 * firmware that uses reg-io-width = 4 with reg-shift 0.
 *
 * Transmit never blocks or drops: each byte written to THR is handed to the
 * tx callback at once, so THR and the transmitter are always empty (LSR THRE
 * and TEMT stay set).  Receive has a 16-byte FIFO (one byte with FIFOs off);
 * the host pushes input with uart8250_receive() and keeps what did not fit.
 * The character-timeout indication is reported as soon as fewer bytes than
 * the trigger level wait, since there is no line timing to wait for.
 *
 * References: National Semiconductor PC16550D datasheet (register set,
 * interrupt priorities, FIFO control); Linux drivers/tty/serial/8250 is the
 * driver this must satisfy (autoconfig loopback and THRE tests).
 *
 * Not thread-safe: MMIO accesses and uart8250_receive() must be serialised
 * by the caller. */
#ifndef RINGVM_HW_UART8250_H
#define RINGVM_HW_UART8250_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bus.h"
#include "core/irq.h"

#define UART8250_WINDOW 0x100   /* bytes of bus window registered */
#define UART8250_FIFO   16      /* receive FIFO depth, bytes */

typedef void uart8250_tx_fn(void *opaque, const uint8_t *buf, size_t len);

struct uart8250 {
	struct bus *bus;
	uint64_t base;
	struct irq_line irq;
	int irq_level;
	uart8250_tx_fn *tx;
	void *tx_opaque;

	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint64_t rdi_since_ns;  /* host time ERBFI was last enabled */
	uint8_t rx[UART8250_FIFO];
	unsigned rx_head, rx_count;
	int thr_pending;   /* THRE interrupt pending until IIR read/THR write */
};

/* Reset the UART to its power-on state and register a UART8250_WINDOW-byte
 * window at base on bus.  tx(tx_opaque, buf, len) receives every byte the
 * guest transmits (len >= 1) and must consume all of it; it is called
 * from the MMIO write path and must not call back into the UART.
 * irq is copied.  Returns 0 or the bus_register error (-EINVAL on
 * overlap, -ENOMEM). */
int uart8250_init(struct uart8250 *u, struct bus *bus, uint64_t base,
		  struct irq_line irq, uart8250_tx_fn *tx, void *tx_opaque,
		  struct err *errp);

/* Unregister the window and lower the interrupt line.  Safe after a failed
 * uart8250_init() and when called twice. */
void uart8250_exit(struct uart8250 *u);

/* Machine reset: registers and FIFOs back to their power-on state, the
 * interrupt line lowered; the window and the transmit callback stay. */
void uart8250_reset(struct uart8250 *u);

/* Host input: copy up to len bytes into the receive FIFO and raise the
 * receive interrupt if enabled.  Returns how many bytes were taken
 * (0..len); the caller keeps the rest and retries once
 * uart8250_rx_space() is non-zero (e.g. after the guest reads RBR). */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len);

/* Host input: a break (the line held at space for longer than a
 * character), which a 16550 receives as a NUL byte flagged with LSR.BI
 * (line status bit 4; a line status interrupt if enabled).  Linux's serial
 * core takes a break on its console port as the Magic SysRq prefix: the
 * next byte names the SysRq command.  Only into an empty receive FIFO, so
 * that BI is read with that very byte: returns false (try again later)
 * otherwise. */
bool uart8250_receive_break(struct uart8250 *u);

/* Bytes the receive FIFO can take now. */
size_t uart8250_rx_space(const struct uart8250 *u);

/* True once the guest has had the received-data interrupt enabled
 * (IER.ERBFI) for UART8250_SETTLE_NS at host time now_ns (CLOCK_MONOTONIC),
 * i.e. a driver is listening and done opening the port: Linux enables
 * ERBFI and then still reads RBR once "for luck" while it opens the port,
 * so the console holds host input until this is true instead of letting
 * it be thrown away. */
#define UART8250_SETTLE_NS 20000000ULL
bool uart8250_rx_listening(const struct uart8250 *u, uint64_t now_ns);

/* The bus callbacks, exposed for tests; u is the opaque.  offset: bytes
 * from base; size 1 or 4.  Same contract as struct bus_ops. */
int uart8250_read(void *u, uint64_t offset, unsigned size, uint64_t *val);
int uart8250_write(void *u, uint64_t offset, unsigned size, uint64_t val);

/* ---- state (core/state.h; uart8250_state.c) -------------------------
 *
 * A section (version 1) with every register (IER, LCR, MCR, LSR error
 * bits, MSR, SCR, DLL, DLM, FCR), the receive FIFO's bytes in order and
 * the pending THRE interrupt.  There is no transmit FIFO (bytes leave at
 * once).  The host-time mark of IER.ERBFI (uart8250_rx_listening) is not
 * state: a loaded UART with ERBFI set is listening at once. */
struct state_writer;
struct state_reader;

struct uart8250_state {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t rx[UART8250_FIFO];   /* oldest first */
	unsigned rx_count;
	bool thr_pending;
};

/* Append section `name` (e.g. "uart0"). */
void uart8250_save(const struct uart8250 *u, const char *name,
		   struct state_writer *w);

/* Read and check section `name` into *s: only defined register bits, an
 * FCR the device could hold, no more bytes than the FIFO takes in that
 * mode.  Returns 0, -ENOENT or -EINVAL. */
int uart8250_parse(struct state_reader *r, const char *name,
		   struct uart8250_state *s, struct err *errp);

/* Apply a parsed state; the interrupt line is driven from it. */
void uart8250_apply(struct uart8250 *u, const struct uart8250_state *s);

/* Drive the interrupt line from the registers, whatever level was driven
 * before (after a state load, whose interrupt controller state was loaded
 * separately). */
void uart8250_sync_irq(struct uart8250 *u);

#endif
