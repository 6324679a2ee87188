/* ringvm img (being written). */
#include <stdio.h>

#include "cli.h"

int cli_img(int argc, char **argv)
{
	fprintf(stderr, "ringvm: `img` is not implemented yet\n");
	return 1;
}
