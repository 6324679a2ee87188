/* One function per verb; each returns the process exit status. */
#ifndef RINGVM_CLI_H
#define RINGVM_CLI_H

#include "core/err.h"
#include "vmm/vm.h"

int cli_run(int argc, char **argv);
int cli_img(int argc, char **argv);     /* src/cli/img*.c */
int cli_switch(int argc, char **argv);  /* src/cli/switch*.c */
int cli_oci(int argc, char **argv);     /* src/cli/oci.c */
int cli_container(int argc, char **argv); /* src/cli/container*.c */
int cli_ctl(int argc, char **argv);     /* src/cli/ctl.c: a VM's control socket */
int cli_exec(int argc, char **argv);    /* src/cli/exec.c */
/* Started by binfmt_misc for a riscv64 program (flags POF)? */
bool cli_exec_is_binfmt(void);
int cli_exec_binfmt(int argc, char **argv);

/* Parse `run`'s arguments (argv[0] is "run") into cfg, which the caller has
 * filled with defaults.  Strings in cfg point into argv except disk paths
 * and NIC specs, which cli_run_free() releases.  Returns 0 to run, 1 when
 * --help was printed, or -errno with the message in e (unknown option,
 * bad size, ...). */
int cli_run_parse(int argc, char **argv, struct vm_config *cfg,
		  struct err *e);
void cli_run_free(struct vm_config *cfg);

/* The engine when no --accel is given: RINGVM_ACCEL from the environment
 * (same values as --accel; the test suite runs every guest under both
 * engines with it).  Sets *accel to the variable's value, or leaves it
 * alone when the variable is unset or empty.  Returns 0, or -EINVAL with
 * a message naming the variable when its value is not an --accel. */
int cli_accel_env(const char **accel, struct err *e);

#endif
