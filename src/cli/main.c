/* ringvm: one command, one verb per file (src/cli/<verb>.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef RINGVM_VERSION
#define RINGVM_VERSION "0.1"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm <command> [options]\n"
"\n"
"Commands:\n"
"  run        boot a virtual machine (RISC-V virt, emulated)\n"
"  ctl        control a running VM through its --api socket (status,\n"
"             pause, resume, stop, snapshot, migrate, events)\n"
"  img        create, inspect, check and convert disk images (qcow2, raw)\n"
"  switch     run a virtual L2 switch with 802.1Q VLANs; inspect it\n"
"  oci        OCI container runtime (runc's commands: create, start, ...)\n"
"  container  images and containers the Docker way (load, images, run, ...)\n"
"  exec       run a riscv64 Linux program on this host (user-mode emulation)\n"
"\n"
"  ringvm <command> --help   options of a command\n"
"  ringvm --version          print the version\n");
}

int main(int argc, char **argv)
{
	if (cli_exec_is_binfmt())
		return cli_exec_binfmt(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("ringvm %s\n", RINGVM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cli_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "ctl"))
		return cli_ctl(argc - 1, argv + 1);
	if (!strcmp(cmd, "img"))
		return cli_img(argc - 1, argv + 1);
	if (!strcmp(cmd, "switch"))
		return cli_switch(argc - 1, argv + 1);
	if (!strcmp(cmd, "oci"))
		return cli_oci(argc - 1, argv + 1);
	if (!strcmp(cmd, "exec"))
		return cli_exec(argc - 1, argv + 1);
	if (!strcmp(cmd, "container"))
		return cli_container(argc - 1, argv + 1);
	fprintf(stderr, "ringvm: unknown command `%s` (try `ringvm --help`)\n",
		cmd);
	return 1;
}
