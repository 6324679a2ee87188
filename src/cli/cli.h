/* One function per verb; each returns the process exit status. */
#ifndef RINGVM_CLI_H
#define RINGVM_CLI_H

int cli_run(int argc, char **argv);

#endif
