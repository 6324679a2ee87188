/* The failure path of the pass/fail protocol: this test reports failure
 * code 7 through HTIF tohost ((7 << 1) | 1).  ringvm must exit with status
 * 3 and print the code on stderr; run.sh checks both (under QEMU, which
 * has no HTIF, the sifive_test fallback makes the exit status 7).
 * RINGVM-EXPECT-EXIT: 3
 * QEMU-EXPECT-EXIT: 7 */
#include "rt.h"

int main(void)
{
	rt_puts("htif-fail: reporting code seven through HTIF on purpose\n");
	return 7;
}
