/* Hostile guest: point mtvec at a hole (0x0, no memory) and raise an
 * exception: every trap entry then faults on its fetch and traps again,
 * forever.  Like hostile-spin, run.sh stops it with Ctrl-A x on a
 * pseudo-terminal and expects a prompt exit with the terminal restored.
 * RINGVM-PTY */
#include "rt.h"

int main(void)
{
	csr_clear(mstatus, MSTATUS_MIE);
	csr_write(mie, 0);
	rt_puts("hostile-trapstorm: mtvec = 0, raising an exception\n");
	csr_write(mtvec, 0);
	__asm__ volatile("unimp");
	return 1;
}
