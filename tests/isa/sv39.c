/* Sv39: see vmtest.h for what is covered. */
#define LEVELS 3
#include "vmtest.h"

int main(void)
{
	return vm_main();
}
