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

static int fail(const char *msg)
{
	fprintf(stderr, "ringvm: %s\n", msg);
	return 1;
}

static int parse_disk(struct vm_config *cfg, const char *arg, struct err *e)
{
	if (cfg->ndisks == VM_MAX_DISKS)
		return err_set(e, EINVAL, "--disk: at most %d disks",
			       VM_MAX_DISKS);
	char *s = strdup(arg);  /* lives as long as the process */
	if (!s)
		return err_set(e, ENOMEM, "out of memory");
	struct vm_disk *d = &cfg->disks[cfg->ndisks];
	char *save = NULL;
	*d = (struct vm_disk){ .path = strtok_r(s, ",", &save) };
	if (!d->path || arg[0] == ',')
		return err_set(e, EINVAL, "--disk: missing file name");
	for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly"))
			d->read_only = true;
		else if (!strcmp(opt, "rw"))
			d->read_only = false;
		else
			return err_set(e, EINVAL, "--disk: unknown option `%s` "
				       "(expected ro)", opt);
	}
	cfg->ndisks++;
	return 0;
}

int cli_run(int argc, char **argv)
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
	struct vm_config cfg = {
		.arch = "riscv64",
		.mem = VM_DEFAULT_MEM,
		.cpus = 1,
	};
	struct err e = { 0 };
	uint64_t v;

	opterr = 0;
	optind = 1;
	for (;;) {
		int c = getopt_long(argc, argv, ":h", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case O_KERNEL: cfg.kernel = optarg; break;
		case O_INITRD: cfg.initrd = optarg; break;
		case O_CMDLINE: cfg.cmdline = optarg; break;
		case O_BIOS: cfg.bios = optarg; break;
		case O_STATS: cfg.stats = true; break;
		case O_ARCH:
			if (strcmp(optarg, "riscv64"))
				return fprintf(stderr, "ringvm: --arch: `%s` is "
					       "not supported (only riscv64)\n",
					       optarg), 1;
			cfg.arch = optarg;
			break;
		case O_MEM:
			if (parse_size(optarg, 1ULL << 20, &v, "--mem", &e) < 0)
				return fail(e.msg);
			if (v < (16ULL << 20))
				return fprintf(stderr, "ringvm: --mem: %s is too "
					       "small (at least 16M)\n", optarg), 1;
			cfg.mem = v;
			break;
		case O_CPUS:
			if (parse_uint(optarg, 1, VM_MAX_CPUS, &v, "--cpus",
				       &e) < 0)
				return fail(e.msg);
			cfg.cpus = v;
			break;
		case O_DISK:
			if (parse_disk(&cfg, optarg, &e) < 0)
				return fail(e.msg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "ringvm: option `%s` needs a value\n",
				argv[optind - 1]);
			return 1;
		default:
			fprintf(stderr, "ringvm: unknown option `%s` (try "
				"`ringvm run --help`)\n", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringvm: unexpected argument `%s`\n",
			argv[optind]);
		return 1;
	}
	if (cfg.bios && !strcmp(cfg.bios, "none") && !cfg.kernel)
		return fail("--bios none needs --kernel");

	int status = 1;
	if (vm_run(&cfg, &status, &e) < 0)
		return fail(e.msg);
	return status;
}
