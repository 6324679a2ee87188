#include "uart8250.h"

#include <time.h>

#include <string.h>

/* Register offsets (PC16550D datasheet, table 2). */
enum { RBR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define THR RBR
#define FCR IIR
#define DLL RBR
#define DLM IER

#define IER_RDI  0x01  /* received data available */
#define IER_THRI 0x02  /* transmitter holding register empty */
#define IER_RLSI 0x04  /* receiver line status */
#define IER_MSI  0x08  /* modem status */

#define IIR_NONE  0x01
#define IIR_MSI   0x00
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_RLSI  0x06
#define IIR_CTI   0x0c  /* character timeout */
#define IIR_FIFOS 0xc0  /* FIFOs enabled: how Linux tells a 16550A */

#define FCR_ENABLE   0x01
#define FCR_CLR_RX   0x02
#define FCR_TRIGGER  0xc0

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_BI    0x10
#define LSR_ERRS  0x1e  /* OE, PE, FE, BI: the line status interrupt */
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_DELTA 0x0f
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

/* With nothing attached to the modem pins, report a present peer so that
 * drivers waiting for CTS/DSR/DCD do not stall. */
#define MSR_IDLE (MSR_CTS | MSR_DSR | MSR_DCD)

static bool fifo_on(const struct uart8250 *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned rx_capacity(const struct uart8250 *u)
{
	return fifo_on(u) ? UART8250_FIFO : 1;
}

static unsigned rx_trigger(const struct uart8250 *u)
{
	static const unsigned level[4] = { 1, 4, 8, 14 };
	return fifo_on(u) ? level[u->fcr >> 6] : 1;
}

/* Highest-priority pending source, without side effects (datasheet
 * table 4: line status > received data > THR empty > modem status). */
static uint8_t iir_source(const struct uart8250 *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr & LSR_ERRS))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		return u->rx_count >= rx_trigger(u) ? IIR_RDI : IIR_CTI;
	if ((u->ier & IER_THRI) && u->thr_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NONE;
}

static void update_irq(struct uart8250 *u)
{
	int level = iir_source(u) != IIR_NONE;
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set_level(&u->irq, level);
	}
}

void uart8250_sync_irq(struct uart8250 *u)
{
	u->irq_level = iir_source(u) != IIR_NONE;
	irq_set_level(&u->irq, u->irq_level);
}

/* In loopback the modem outputs feed the modem inputs (RTS->CTS,
 * DTR->DSR, OUT1->RI, OUT2->DCD); record the edges as deltas. */
static void update_msr(struct uart8250 *u)
{
	uint8_t now = MSR_IDLE;
	if (u->mcr & MCR_LOOP) {
		now = 0;
		if (u->mcr & MCR_RTS)
			now |= MSR_CTS;
		if (u->mcr & MCR_DTR)
			now |= MSR_DSR;
		if (u->mcr & MCR_OUT1)
			now |= MSR_RI;
		if (u->mcr & MCR_OUT2)
			now |= MSR_DCD;
	}
	uint8_t old = u->msr & ~MSR_DELTA, changed = old ^ now;
	uint8_t delta = u->msr & MSR_DELTA;
	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI;  /* trailing edge only */
	u->msr = now | delta;
}

static void rx_push(struct uart8250 *u, uint8_t c)
{
	u->rx[(u->rx_head + u->rx_count) % UART8250_FIFO] = c;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart8250 *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART8250_FIFO;
	u->rx_count--;
	return c;
}

static void rx_clear(struct uart8250 *u)
{
	u->rx_head = u->rx_count = 0;
}

static void transmit(struct uart8250 *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP) {
		if (u->rx_count < rx_capacity(u))
			rx_push(u, c);
		else
			u->lsr |= LSR_OE;
	} else if (u->tx) {
		u->tx(u->tx_opaque, &c, 1);
	}
	/* The byte left at once: THR is empty again and says so. */
	u->thr_pending = 1;
}

static void write_fcr(struct uart8250 *u, uint8_t val)
{
	/* Toggling the enable bit clears both FIFOs (datasheet, FCR bit 0). */
	if ((val ^ u->fcr) & FCR_ENABLE)
		rx_clear(u);
	if (val & FCR_CLR_RX)
		rx_clear(u);
	u->fcr = (val & FCR_ENABLE) ? (val & (FCR_ENABLE | FCR_TRIGGER)) : 0;
}

static void write_ier(struct uart8250 *u, uint8_t val)
{
	val &= IER_RDI | IER_THRI | IER_RLSI | IER_MSI;
	/* Enabling THRI with THR empty interrupts at once; Linux's startup
	 * test (UART_BUG_THRE) relies on this re-assertion. */
	if ((val & IER_THRI) && !(u->ier & IER_THRI))
		u->thr_pending = 1;
	else if (!(val & IER_THRI))
		u->thr_pending = 0;
	if ((val & IER_RDI) && !(u->ier & IER_RDI)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		u->rdi_since_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
				  (uint64_t)ts.tv_nsec;
	}
	u->ier = val;
}

int uart8250_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct uart8250 *u = opaque;
	uint8_t v = 0;

	*val = 0;
	if (size != 1 && size != 4)
		return -EINVAL;
	bool dlab = u->lcr & LCR_DLAB;
	switch (off) {
	case RBR:
		v = dlab ? u->dll : rx_pop(u);
		break;
	case IER:
		v = dlab ? u->dlm : u->ier;
		break;
	case IIR:
		v = iir_source(u);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (v == IIR_THRI)
			u->thr_pending = 0;
		if (fifo_on(u))
			v |= IIR_FIFOS;
		break;
	case LCR:
		v = u->lcr;
		break;
	case MCR:
		v = u->mcr;
		break;
	case LSR:
		v = u->lsr | LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
		u->lsr &= ~LSR_ERRS;
		break;
	case MSR:
		v = u->msr;
		u->msr &= ~MSR_DELTA;
		break;
	case SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	*val = v;
	return 0;
}

int uart8250_write(void *opaque, uint64_t off, unsigned size, uint64_t val64)
{
	struct uart8250 *u = opaque;
	uint8_t val = (uint8_t)val64;

	if (size != 1 && size != 4)
		return -EINVAL;
	bool dlab = u->lcr & LCR_DLAB;
	switch (off) {
	case THR:
		if (dlab)
			u->dll = val;
		else
			transmit(u, val);
		break;
	case IER:
		if (dlab)
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case FCR:
		write_fcr(u, val);
		break;
	case LCR:
		u->lcr = val;
		break;
	case MCR:
		u->mcr = val & (MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2 |
				MCR_LOOP);
		update_msr(u);
		break;
	case SCR:
		u->scr = val;
		break;
	}
	/* LSR and MSR writes (factory test only) are ignored. */
	update_irq(u);
	return 0;
}

size_t uart8250_rx_space(const struct uart8250 *u)
{
	/* Loopback disconnects the serial input. */
	if (u->mcr & MCR_LOOP)
		return 0;
	return rx_capacity(u) - u->rx_count;
}

bool uart8250_rx_listening(const struct uart8250 *u, uint64_t now_ns)
{
	return (u->ier & IER_RDI) &&
	       now_ns >= u->rdi_since_ns + UART8250_SETTLE_NS;
}

size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n = uart8250_rx_space(u);
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
	if (n)
		update_irq(u);
	return n;
}

bool uart8250_receive_break(struct uart8250 *u)
{
	if (u->rx_count || !uart8250_rx_space(u))
		return false;
	rx_push(u, 0);
	u->lsr |= LSR_BI;
	update_irq(u);
	return true;
}

static const struct bus_ops uart8250_bus_ops = {
	.read = uart8250_read,
	.write = uart8250_write,
	.sizes = 1 | 4,
};

int uart8250_init(struct uart8250 *u, struct bus *bus, uint64_t base,
		  struct irq_line irq, uart8250_tx_fn *tx, void *tx_opaque,
		  struct err *errp)
{
	memset(u, 0, sizeof(*u));
	u->base = base;
	u->irq = irq;
	u->tx = tx;
	u->tx_opaque = tx_opaque;
	u->msr = MSR_IDLE;
	int rc = bus_register(bus, base, UART8250_WINDOW, &uart8250_bus_ops, u,
			      "uart8250", errp);
	if (rc)
		return rc;
	u->bus = bus;
	return 0;
}

void uart8250_reset(struct uart8250 *u)
{
	struct bus *bus = u->bus;
	uint64_t base = u->base;
	struct irq_line irq = u->irq;
	uart8250_tx_fn *tx = u->tx;
	void *tx_opaque = u->tx_opaque;
	if (u->irq_level)
		irq_set_level(&irq, 0);
	memset(u, 0, sizeof(*u));
	u->bus = bus;
	u->base = base;
	u->irq = irq;
	u->tx = tx;
	u->tx_opaque = tx_opaque;
	u->msr = MSR_IDLE;
}

void uart8250_exit(struct uart8250 *u)
{
	if (u->bus)
		bus_unregister(u->bus, u->base);
	u->bus = NULL;
	if (u->irq_level) {
		u->irq_level = 0;
		irq_set_level(&u->irq, 0);
	}
}
