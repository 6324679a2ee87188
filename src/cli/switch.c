/* ringvm switch (being written). */
#include <stdio.h>

#include "cli.h"

int cli_switch(int argc, char **argv)
{
	fprintf(stderr, "ringvm: `switch` is not implemented yet\n");
	return 1;
}
