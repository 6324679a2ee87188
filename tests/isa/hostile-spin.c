/* Hostile guest: spin forever in M-mode with every interrupt disabled, in
 * a one-instruction loop.  run.sh runs this under a pseudo-terminal, sends
 * Ctrl-A x after 2 s and expects ringvm to exit within 5 s with the
 * terminal settings restored.
 * RINGVM-PTY */
#include "rt.h"

int main(void)
{
	csr_clear(mstatus, MSTATUS_MIE);
	csr_write(mie, 0);
	rt_puts("hostile-spin: spinning with interrupts off\n");
	__asm__ volatile("1:\tj 1b");
	return 1;
}
