#include "container.h"
int ctr_run(int argc, char **argv) { return ctr_fail("run: not yet"); }
