/* smp-atomic.c with eight harts (ringvm's maximum).
 * RINGVM-ARGS: --cpus 8 */
#define NHARTS 8
#define K 8000
#include "smp-atomic.c"
