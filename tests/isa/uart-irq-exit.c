/* Power off while the UART holds its interrupt line high (IER.ETBEI set,
 * THR empty, IIR not read): ringvm must tear the board down without
 * touching a freed hart (the UART lowers its line on exit, through the
 * PLIC, into the harts; under ASan a use-after-free aborts the run). */
#include "rt.h"

#define UART_IER (UART_BASE + 1)
#define PLIC        0x0c000000UL
#define UART_IRQ    10

int main(void)
{
	rt_puts("rt: pass (poweroff with the UART interrupt asserted)\n");
	/* Route the UART to hart 0's M context so the line reaches the
	 * hart's MEIP, then assert it. */
	mmio_w32(PLIC + 4 * UART_IRQ, 1);
	mmio_w32(PLIC + 0x2000, 1u << UART_IRQ);
	mmio_w32(PLIC + 0x200000, 0);
	mmio_w8(UART_IER, 0x02);
	if (!(csr_read(mip) & (1UL << 11)))
		rt_puts("FAIL [setup] MEIP not raised by the UART\n");
	mmio_w32(TEST_BASE, 0x5555);
	rt_delay_us(2000000);
	rt_puts("FAIL [poweroff] still running 2 s after the sifive_test write\n");
	return 1;
}
