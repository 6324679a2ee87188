/* Sv48: see vmtest.h for what is covered. */
#define LEVELS 4
#include "vmtest.h"

int main(void)
{
	return vm_main();
}
