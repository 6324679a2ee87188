/* ringvm run: parse options into a vm_config and run it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/parse.h"
#include "vmm/vm.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ringvm run [options]\n"
"\n"
"Boot a virtual machine.  With no options, boots the default guest\n"
"(Debian riscv64 kernel + busybox initramfs built by `make guest`).\n"
"\n"
"  --kernel FILE       RISC-V Linux Image (optionally gzip-compressed) or ELF\n"
"  --initrd FILE       initial ramdisk\n"
"  --cmdline STR       appended to the kernel command line\n"
"  --mem SIZE          guest RAM, e.g. 256M, 2G (default 512M; bare number = MiB)\n"
"  --cpus N            number of harts, 1..%d (default 1)\n"
"  --disk FILE[,ro]    virtio-blk disk on a raw image; repeatable; ro refuses writes\n"
"  --bios FILE|none    M-mode firmware (e.g. OpenSBI fw_dynamic) instead of the\n"
"                      built-in SBI; `none` starts --kernel in M-mode (bare metal)\n"
"  --arch riscv64      guest architecture (only riscv64 for now)\n"
"  --stats             print instruction counts and MIPS on stderr at exit\n"
"  -h, --help          this help\n"
"\n"
"Console: the guest's serial port on stdio.  On a terminal, Ctrl-A x quits,\n"
"Ctrl-A h lists the keys.\n"
"Exit status: 0 when the guest powers off or reboots, 1 for bad input,\n"
"3 when a bare-metal test reports failure.\n", VM_MAX_CPUS);
}

static int parse_disk(struct vm_config *cfg, const char *arg, struct err *e)
{
	if (cfg->ndisks == VM_MAX_DISKS)
		return err_set(e, EINVAL, "--disk: at most %d disks",
			       VM_MAX_DISKS);
	char *s = strdup(arg);
	if (!s)
		return err_set(e, ENOMEM, "out of memory");
	char *save = NULL, *path = strtok_r(s, ",", &save);
	bool ro = false;
	int rc = 0;
	if (!path || arg[0] == ',')
		rc = err_set(e, EINVAL, "--disk: missing file name");
	for (char *opt; !rc && (opt = strtok_r(NULL, ",", &save));) {
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly"))
			ro = true;
		else if (!strcmp(opt, "rw"))
			ro = false;
		else
			rc = err_set(e, EINVAL, "--disk: unknown option `%s` "
				     "(expected ro)", opt);
	}
	if (rc) {
		free(s);
		return rc;
	}
	/* path points at the start of s: the config owns s from here on. */
	cfg->disks[cfg->ndisks++] = (struct vm_disk){ path, ro };
	return 0;
}

void cli_run_free(struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->ndisks; i++)
		free((char *)cfg->disks[i].path);
	cfg->ndisks = 0;
}

int cli_run_parse(int argc, char **argv, struct vm_config *cfg,
		  struct err *e)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEM, O_CPUS, O_DISK,
	       O_BIOS, O_ARCH, O_STATS };
	static const struct option opts[] = {
		{ "kernel", required_argument, 0, O_KERNEL },
		{ "initrd", required_argument, 0, O_INITRD },
		{ "cmdline", required_argument, 0, O_CMDLINE },
		{ "append", required_argument, 0, O_CMDLINE },
		{ "mem", required_argument, 0, O_MEM },
		{ "cpus", required_argument, 0, O_CPUS },
		{ "smp", required_argument, 0, O_CPUS },
		{ "disk", required_argument, 0, O_DISK },
		{ "bios", required_argument, 0, O_BIOS },
		{ "arch", required_argument, 0, O_ARCH },
		{ "stats", no_argument, 0, O_STATS },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	uint64_t v;
	int rc = 0;

	opterr = 0;
	optind = 1;
	for (int c; rc >= 0 && (c = getopt_long(argc, argv, ":h", opts,
						NULL)) != -1;) {
		switch (c) {
		case O_KERNEL: cfg->kernel = optarg; break;
		case O_INITRD: cfg->initrd = optarg; break;
		case O_CMDLINE: cfg->cmdline = optarg; break;
		case O_BIOS: cfg->bios = optarg; break;
		case O_STATS: cfg->stats = true; break;
		case O_ARCH:
			if (strcmp(optarg, "riscv64"))
				rc = err_set(e, EINVAL, "--arch: `%s` is not "
					     "supported (only riscv64)", optarg);
			break;
		case O_MEM:
			rc = parse_size(optarg, 1ULL << 20, &v, "--mem", e);
			if (rc == 0 && v < (16ULL << 20))
				rc = err_set(e, EINVAL, "--mem: %s is too small "
					     "(at least 16M)", optarg);
			cfg->mem = v;
			break;
		case O_CPUS:
			rc = parse_uint(optarg, 1, VM_MAX_CPUS, &v, "--cpus", e);
			cfg->cpus = v;
			break;
		case O_DISK:
			rc = parse_disk(cfg, optarg, e);
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			rc = err_set(e, EINVAL, "option `%s` needs a value",
				     argv[optind - 1]);
			break;
		default:
			rc = err_set(e, EINVAL, "unknown option `%s` (try "
				     "`ringvm run --help`)", argv[optind - 1]);
			break;
		}
	}
	if (rc == 0 && optind < argc)
		rc = err_set(e, EINVAL, "unexpected argument `%s`",
			     argv[optind]);
	if (rc == 0 && cfg->bios && !strcmp(cfg->bios, "none") &&
	    !cfg->kernel)
		rc = err_set(e, EINVAL, "--bios none needs --kernel");
	return rc;
}

int cli_run(int argc, char **argv)
{
	struct vm_config cfg = {
		.arch = "riscv64",
		.mem = VM_DEFAULT_MEM,
		.cpus = 1,
	};
	struct err e = { 0 };
	int status = 1;

	int rc = cli_run_parse(argc, argv, &cfg, &e);
	if (rc == 1)
		status = 0;
	else if (rc == 0 && vm_run(&cfg, &status, &e) == 0)
		; /* status set by the run */
	else
		fprintf(stderr, "ringvm: %s\n", e.msg);
	cli_run_free(&cfg);
	return status;
}
