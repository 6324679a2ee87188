/* 16550A UART state (uart8250.h). */
#include "uart8250.h"

#include <string.h>

#include "core/state.h"

#define UART_STATE_VERSION 1

/* Register bits the device can hold (uart8250.c). */
#define IER_BITS 0x0f
#define MCR_BITS 0x1f
#define LSR_ERRS 0x1e
#define FCR_ENABLE 0x01
#define FCR_TRIGGER 0xc0

void uart8250_save(const struct uart8250 *u, const char *name,
		   struct state_writer *w)
{
	state_begin(w, name, UART_STATE_VERSION);
	const uint8_t regs[] = { u->ier, u->lcr, u->mcr, u->lsr, u->msr,
				 u->scr, u->dll, u->dlm, u->fcr };
	state_put_bytes(w, regs, sizeof(regs));
	state_put_u8(w, (uint8_t)u->rx_count);
	for (unsigned i = 0; i < UART8250_FIFO; i++)
		state_put_u8(w, i < u->rx_count ?
			     u->rx[(u->rx_head + i) % UART8250_FIFO] : 0);
	state_put_bool(w, u->thr_pending);
	state_end(w);
}

int uart8250_parse(struct state_reader *r, const char *name,
		   struct uart8250_state *s, struct err *errp)
{
	int rc = state_open(r, name, UART_STATE_VERSION, NULL, errp);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	uint8_t regs[9];
	state_get_bytes(r, regs, sizeof(regs));
	s->ier = regs[0];
	s->lcr = regs[1];
	s->mcr = regs[2];
	s->lsr = regs[3];
	s->msr = regs[4];
	s->scr = regs[5];
	s->dll = regs[6];
	s->dlm = regs[7];
	s->fcr = regs[8];
	s->rx_count = state_get_u8(r);
	state_get_bytes(r, s->rx, sizeof(s->rx));
	uint8_t thr = state_get_u8(r);
	if ((rc = state_close(r, errp)) < 0)
		return rc;
	if ((s->ier & ~IER_BITS) || (s->mcr & ~MCR_BITS) ||
	    (s->lsr & ~LSR_ERRS) || thr > 1)
		return state_invalid(r, errp, "undefined register bits");
	/* FCR holds the trigger level only while the FIFOs are on. */
	if ((s->fcr & ~(FCR_ENABLE | FCR_TRIGGER)) ||
	    (!(s->fcr & FCR_ENABLE) && s->fcr))
		return state_invalid(r, errp, "FCR %#x", s->fcr);
	unsigned cap = s->fcr & FCR_ENABLE ? UART8250_FIFO : 1;
	if (s->rx_count > cap)
		return state_invalid(r, errp, "%u bytes in a %u-byte receive "
				     "buffer", s->rx_count, cap);
	s->thr_pending = thr;
	return 0;
}

void uart8250_apply(struct uart8250 *u, const struct uart8250_state *s)
{
	u->ier = s->ier;
	u->lcr = s->lcr;
	u->mcr = s->mcr;
	u->lsr = s->lsr;
	u->msr = s->msr;
	u->scr = s->scr;
	u->dll = s->dll;
	u->dlm = s->dlm;
	u->fcr = s->fcr;
	memcpy(u->rx, s->rx, sizeof(u->rx));
	u->rx_head = 0;
	u->rx_count = s->rx_count;
	u->thr_pending = s->thr_pending;
	/* A driver that had ERBFI on was listening: it still is. */
	u->rdi_since_ns = 0;
	uart8250_sync_irq(u);
}
