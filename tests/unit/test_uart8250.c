/* Unit tests for the 16550A UART: THR output, RX FIFO, interrupts and
 * their priorities, DLAB/divisor latch, LSR/MSR bits, Linux probe steps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "hw/uart8250.h"

#define BASE 0x10000000ULL

struct fixture {
	struct bus bus;
	struct uart8250 u;
	uint8_t out[256];
	size_t nout;
	int level, edges;
};

static void tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct fixture *f = opaque;
	for (size_t i = 0; i < len && f->nout < sizeof(f->out); i++)
		f->out[f->nout++] = buf[i];
}

static void set_level(void *opaque, unsigned num, int level)
{
	struct fixture *f = opaque;
	assert_int_equal(num, 10);
	if (level != f->level)
		f->edges++;
	f->level = level;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line irq = { set_level, f, 10 };
	assert_int_equal(uart8250_init(&f->u, &f->bus, BASE, irq, tx, f,
				       NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uart8250_exit(&f->u);
	bus_free(&f->bus);
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, unsigned reg)
{
	uint64_t v;
	assert_int_equal(bus_read(&f->bus, BASE + reg, 1, &v), 0);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void wr(struct fixture *f, unsigned reg, uint8_t v)
{
	assert_int_equal(bus_write(&f->bus, BASE + reg, 1, v), 0);
}

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };

static void thr_reaches_tx(void **state)
{
	struct fixture *f = *state;
	const char *msg = "hello, world\n";
	for (const char *p = msg; *p; p++) {
		assert_true(rd(f, LSR) & 0x20);  /* THRE before each byte */
		wr(f, RBR, (uint8_t)*p);
	}
	assert_int_equal(f->nout, strlen(msg));
	assert_memory_equal(f->out, msg, strlen(msg));
	/* A 4-byte access acts on the low byte. */
	assert_int_equal(bus_write(&f->bus, BASE, 4, 0xabcdef21), 0);
	assert_int_equal(f->out[f->nout - 1], 0x21);
	uint64_t v;
	assert_int_equal(bus_read(&f->bus, BASE + 4 * 1, 4, &v), 0);
	assert_int_equal(v, 0);  /* IER */
	/* 2-byte accesses are not a thing on this UART */
	assert_int_not_equal(bus_read(&f->bus, BASE, 2, &v), 0);
	assert_int_equal(f->level, 0);  /* no interrupt enabled */
}

static void reset_state(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, IIR), 0x01);  /* no interrupt, FIFOs off */
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0);
	assert_int_equal(rd(f, LSR), 0x60);  /* THRE | TEMT */
	assert_int_equal(rd(f, MSR) & 0xf0, 0xb0);  /* DCD DSR CTS */
	assert_int_equal(uart8250_rx_space(&f->u), 1);  /* 16450 mode */
	/* registers beyond the 8 read as 0 */
	uint64_t v = 1;
	assert_int_equal(bus_read(&f->bus, BASE + 0x40, 1, &v), 0);
	assert_int_equal(v, 0);
}

static void dlab_divisor_latch(void **state)
{
	struct fixture *f = *state;
	wr(f, IER, 0x05);
	wr(f, LCR, 0x83);  /* DLAB, 8N1 */
	wr(f, RBR, 0x0c);  /* DLL */
	wr(f, IER, 0x01);  /* DLM */
	assert_int_equal(rd(f, RBR), 0x0c);
	assert_int_equal(rd(f, IER), 0x01);
	assert_int_equal(f->nout, 0);  /* the DLL write did not transmit */
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, LCR), 0x03);
	assert_int_equal(rd(f, IER), 0x05);  /* IER untouched by DLM */
	wr(f, LCR, 0x83);
	assert_int_equal(rd(f, RBR), 0x0c);
	assert_int_equal(rd(f, IER), 0x01);
	/* only the four defined IER bits stick */
	wr(f, LCR, 0x03);
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f);
	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
}

static void rx_fifo(void **state)
{
	struct fixture *f = *state;
	uint8_t in[20];
	for (int i = 0; i < 20; i++)
		in[i] = (uint8_t)('a' + i);
	/* FIFOs off: one byte of holding register */
	assert_int_equal(uart8250_receive(&f->u, in, 20), 1);
	assert_int_equal(uart8250_receive(&f->u, in, 20), 0);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, LSR) & 0x01, 0);

	wr(f, IIR, 0x01);  /* FCR: enable FIFOs */
	assert_int_equal(rd(f, IIR) & 0xc0, 0xc0);
	assert_int_equal(uart8250_rx_space(&f->u), 16);
	assert_int_equal(uart8250_receive(&f->u, in, 20), 16);
	assert_int_equal(uart8250_rx_space(&f->u), 0);
	assert_int_equal(uart8250_receive(&f->u, in + 16, 4), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rd(f, RBR), 'a' + i);
	assert_int_equal(uart8250_rx_space(&f->u), 10);
	assert_int_equal(uart8250_receive(&f->u, in + 16, 4), 4);
	for (int i = 10; i < 20; i++)
		assert_int_equal(rd(f, RBR), 'a' + i);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, RBR), 0);  /* empty FIFO reads 0 */

	/* FCR bit 1 clears the receive FIFO */
	assert_int_equal(uart8250_receive(&f->u, in, 5), 5);
	wr(f, IIR, 0x03);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(uart8250_rx_space(&f->u), 16);
	/* turning FIFOs off clears them too */
	assert_int_equal(uart8250_receive(&f->u, in, 5), 5);
	wr(f, IIR, 0x00);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, IIR) & 0xc0, 0);
}

static void rx_interrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t in[16] = "0123456789abcdef";
	wr(f, IIR, 0xc1);  /* FIFOs on, trigger level 14 */
	assert_int_equal(uart8250_receive(&f->u, in, 3), 3);
	assert_int_equal(f->level, 0);  /* ERBFI not enabled */
	wr(f, IER, 0x01);
	assert_int_equal(f->level, 1);
	/* below the trigger level: the character timeout indication */
	assert_int_equal(rd(f, IIR), 0xcc);
	assert_int_equal(uart8250_receive(&f->u, in + 3, 13), 13);
	assert_int_equal(rd(f, IIR), 0xc4);  /* data available */
	for (int i = 0; i < 16; i++)
		rd(f, RBR);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(f->level, 0);
	/* trigger level 1 */
	wr(f, IIR, 0x01);
	assert_int_equal(uart8250_receive(&f->u, in, 1), 1);
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_int_equal(f->level, 1);
	rd(f, RBR);
	assert_int_equal(f->level, 0);
}

static void thre_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f, IER, 0x02);
	/* THR is empty, so enabling ETBEI interrupts at once */
	assert_int_equal(f->level, 1);
	assert_int_equal(rd(f, IIR), 0x02);
	/* reading IIR while THRE is the source clears it */
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, IIR), 0x01);
	/* a transmitted byte empties THR again: interrupt */
	wr(f, RBR, 'x');
	assert_int_equal(f->level, 1);
	/* disabling ETBEI drops it; re-enabling raises it (Linux's
	 * UART_BUG_THRE probe expects the re-assertion) */
	wr(f, IER, 0x00);
	assert_int_equal(f->level, 0);
	wr(f, IER, 0x02);
	assert_int_not_equal(rd(f, IIR) & 0x01, 0x01);
	wr(f, IER, 0x00);
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR), 0x02);
}

static void iir_priorities(void **state)
{
	struct fixture *f = *state;
	wr(f, IIR, 0x01);             /* FIFOs on, trigger 1 */
	wr(f, MCR, 0x10);             /* loopback to cause an overrun */
	for (int i = 0; i < 17; i++)  /* 16 fit, the 17th overruns */
		wr(f, RBR, (uint8_t)i);
	wr(f, IER, 0x0f);             /* all sources enabled */
	wr(f, MCR, 0x12);             /* RTS -> CTS change: modem status */
	assert_int_equal(f->level, 1);
	/* line status (overrun) first */
	assert_int_equal(rd(f, IIR), 0xc6);
	assert_int_equal(rd(f, LSR) & 0x03, 0x03);  /* OE | DR */
	assert_int_equal(rd(f, LSR) & 0x02, 0);     /* OE cleared by read */
	/* then received data */
	assert_int_equal(rd(f, IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(f, RBR), i);
	/* then THR empty (cleared by the IIR read that reports it) */
	assert_int_equal(rd(f, IIR), 0xc2);
	/* then modem status, cleared by reading MSR */
	assert_int_equal(rd(f, IIR), 0xc0);
	assert_int_equal(rd(f, MSR) & 0x01, 0x01);  /* DCTS */
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_int_equal(f->level, 0);
}

static void loopback_probe(void **state)
{
	struct fixture *f = *state;
	/* Linux autoconfig: MCR = LOOP | OUT2 | RTS must read MSR 0x90 */
	wr(f, MCR, 0x1a);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, MCR, 0x1f);
	assert_int_equal(rd(f, MSR) & 0xf0, 0xf0);
	/* OUT1 1 -> 0 is the trailing edge of RI */
	wr(f, MCR, 0x1b);
	assert_int_equal(rd(f, MSR) & 0x0f, 0x04);
	assert_int_equal(rd(f, MSR) & 0x0f, 0);
	/* looped bytes come back, none reach the host, host input waits */
	wr(f, RBR, 'L');
	assert_int_equal(f->nout, 0);
	assert_int_equal(uart8250_rx_space(&f->u), 0);
	assert_int_equal(uart8250_receive(&f->u, (const uint8_t *)"h", 1), 0);
	assert_int_equal(rd(f, LSR) & 0x01, 1);
	assert_int_equal(rd(f, RBR), 'L');
	wr(f, MCR, 0x00);
	assert_int_equal(rd(f, MSR) & 0xf0, 0xb0);
	wr(f, RBR, 'T');
	assert_int_equal(f->nout, 1);
	assert_int_equal(uart8250_rx_space(&f->u), 1);
}

static void linux_16550a_detection(void **state)
{
	struct fixture *f = *state;
	/* IER scratch test: write 0, read 0; write 0x0f, read 0x0f */
	wr(f, IER, 0);
	assert_int_equal(rd(f, IER) & 0x0f, 0);
	wr(f, IER, 0x0f);
	assert_int_equal(rd(f, IER) & 0x0f, 0x0f);
	wr(f, IER, 0);
	/* FIFO enable, IIR bits 7:6 == 3 means 16550A */
	wr(f, IIR, 0x01);
	assert_int_equal(rd(f, IIR) >> 6, 3);
	/* no EFR under LCR 0xbf: IIR there must not read 0 */
	wr(f, LCR, 0xbf);
	assert_int_not_equal(rd(f, IIR), 0);
	wr(f, LCR, 0x03);
	/* UUE (IER bit 6) does not stick: not an XScale */
	wr(f, IER, 0x40);
	assert_int_equal(rd(f, IER) & 0x40, 0);
}

static void irq_exit_lowers_line(void **state)
{
	struct fixture *f = *state;
	wr(f, IER, 0x02);
	assert_int_equal(f->level, 1);
	uart8250_exit(&f->u);
	assert_int_equal(f->level, 0);
	uint64_t v;
	assert_int_equal(bus_read(&f->bus, BASE, 1, &v), -ENODEV);
	/* teardown's second exit is harmless */
}

static void overlapping_window_refused(void **state)
{
	struct fixture *f = *state;
	struct uart8250 u2;
	struct err e = { 0 };
	struct irq_line none = { 0 };
	assert_int_equal(uart8250_init(&u2, &f->bus, BASE + 0x80, none, NULL,
				       NULL, &e), -EINVAL);
	assert_true(e.msg[0] != 0);
}

/* The console only feeds the FIFO while a driver listens (IER.ERBFI). */
static void rx_listening_follows_ier(void **state)
{
	struct fixture *f = *state;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	assert_false(uart8250_rx_listening(&f->u, t));
	wr(f, IER, 0x01);
	/* Not yet: the driver may still be opening the port. */
	assert_false(uart8250_rx_listening(&f->u, t));
	assert_true(uart8250_rx_listening(&f->u,
					  t + 2 * UART8250_SETTLE_NS));
	wr(f, IER, 0x02);
	assert_false(uart8250_rx_listening(&f->u,
					   t + 4 * UART8250_SETTLE_NS));
}

static void machine_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t msr0 = rd(f, MSR), lsr0 = rd(f, LSR), iir0 = rd(f, IIR);
	wr(f, LCR, 0x83);
	wr(f, RBR, 0x12);       /* divisor latch */
	wr(f, LCR, 0x03);
	wr(f, SCR, 0x5a);
	wr(f, MCR, 0x0b);
	wr(f, IER, 0x03);
	assert_int_equal(uart8250_receive(&f->u, (const uint8_t *)"a", 1), 1);
	assert_int_equal(f->level, 1);

	uart8250_reset(&f->u);
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0);
	assert_int_equal(rd(f, SCR), 0);
	assert_int_equal(rd(f, IIR), iir0);
	assert_int_equal(rd(f, LSR), lsr0);   /* RX FIFO empty */
	assert_int_equal(rd(f, MSR), msr0);
	wr(f, LCR, 0x80);
	assert_int_equal(rd(f, RBR), 0);      /* DLL */
	wr(f, LCR, 0x03);
	/* Still on the bus and still transmitting to the same sink. */
	wr(f, RBR, 'z');
	assert_int_equal(f->out[f->nout - 1], 'z');
}

/* A break: NUL with LSR.BI (a line status interrupt when enabled), only
 * into an empty FIFO; the key after it arrives as an ordinary byte. */
static void break_then_key(void **state)
{
	struct fixture *f = *state;
	wr(f, 2, 0x01);          /* FCR: FIFOs on */
	wr(f, IER, 0x05);        /* ERBFI | ELSI */
	assert_true(uart8250_receive_break(&f->u));
	uint8_t k = 'o';
	assert_int_equal(uart8250_receive(&f->u, &k, 1), 1);
	assert_int_equal(f->level, 1);
	assert_int_equal(rd(f, IIR) & 0x0f, 0x06);   /* line status first */
	uint8_t lsr = rd(f, LSR);
	assert_int_equal(lsr & 0x11, 0x11);          /* DR | BI */
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(rd(f, LSR) & 0x11, 0x01);   /* BI read once */
	assert_int_equal(rd(f, RBR), 'o');
	assert_int_equal(f->level, 0);
	/* Not behind unread bytes: BI would belong to the wrong one. */
	assert_int_equal(uart8250_receive(&f->u, &k, 1), 1);
	assert_false(uart8250_receive_break(&f->u));
	assert_int_equal(rd(f, LSR) & 0x10, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(thr_reaches_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_listening_follows_ier, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(dlab_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(rx_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(loopback_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(linux_16550a_detection, setup, teardown),
		cmocka_unit_test_setup_teardown(irq_exit_lowers_line, setup, teardown),
		cmocka_unit_test_setup_teardown(overlapping_window_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(machine_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(break_then_key, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
