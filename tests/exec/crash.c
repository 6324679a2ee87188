/* Ends the way argv[1] says: "null" (NULL store), "jump" (wild jump),
 * "exit N", "abort". */
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "null"))
		*(volatile int *)0 = 1;
	if (!strcmp(argv[1], "jump")) {
		void (*f)(void) = (void (*)(void))(unsigned long)0xdead0000;
		f();
	}
	if (!strcmp(argv[1], "abort"))
		abort();
	if (!strcmp(argv[1], "exit") && argc > 2)
		return atoi(argv[2]);
	return 3;
}
