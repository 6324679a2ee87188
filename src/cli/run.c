/* ringvm run: parse options into a vm_config and run it. */
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/parse.h"
#include "engine/rv64/jit/jit.h"
#include "vmm/api.h"
#include "vmm/migrate.h"
#include "vmm/restore.h"
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
"  --disk FILE[,ro][,format=raw|qcow2][,cache=MODE][,l2-cache-size=SIZE]\n"
"             [,backing-device=DEV]\n"
"                      virtio-blk disk on a raw or qcow2 image; repeatable;\n"
"                      ro refuses writes; format= names the format (default:\n"
"                      probed; a writable disk probed as raw refuses guest\n"
"                      writes that would make its first sector look like\n"
"                      another format); cache= is writeback (default: host\n"
"                      page cache, guest flushes fdatasync), none (O_DIRECT),\n"
"                      writethrough (O_DSYNC) or unsafe (guest flushes do not\n"
"                      sync: a host crash loses data); l2-cache-size sets the\n"
"                      qcow2 L2 table cache (default covers 8 GiB of disk);\n"
"                      backing-device= allows the host block device DEV as a\n"
"                      backing file named inside the image (repeatable;\n"
"                      otherwise only regular files are)\n"
"  --net SPEC          a virtio-net NIC; repeatable (one NIC each):\n"
"                        user[,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...\n"
"                          NAT (libslirp): DHCP, DNS, host as 10.0.2.2;\n"
"                          HADDR defaults to 127.0.0.1, GADDR to 10.0.2.15\n"
"                        tap[,ifname=NAME]   host TAP device (CAP_NET_ADMIN\n"
"                          to create one)\n"
"                        switch,path=SOCK[,vlan=ID|,trunk=IDS]  a `ringvm switch`\n"
"                      any kind takes mac=MAC too\n"
"  --mac MAC           MAC of the NIC of the preceding --net (same as its\n"
"                      mac=); default: stable per VM (a hash of kernel, disks,\n"
"                      cmdline, NIC index and spec), locally administered\n"
"  --boot auto|kernel|disk\n"
"                      without --kernel: `disk` boots the first --disk as a\n"
"                      real machine does (built-in SBI, then U-Boot reading\n"
"                      the disk's /boot/extlinux/extlinux.conf); `kernel`\n"
"                      boots the default guest; `auto` (default) boots the\n"
"                      disk when the first --disk has a partition table and\n"
"                      no --initrd or --cmdline is given\n"
"  --loader FILE       S-mode boot loader for --boot disk (default: u-boot.elf\n"
"                      from `make guest`, else the host's u-boot-qemu)\n"
"  --bios FILE|none    M-mode firmware (e.g. OpenSBI fw_dynamic) instead of the\n"
"                      built-in SBI; `none` starts --kernel in M-mode (bare metal)\n"
"  --arch riscv64      guest architecture (only riscv64 for now)\n"
"  --no-rng            no virtio-rng device (default: one, fed from the host's\n"
"                      getrandom, in the virtio slot after the disks and NICs)\n"
"  --no-power-button   no virtio-input power button (default: one, after the\n"
"                      rng; `ringvm ctl SOCK stop` presses it)\n"
"  --no-reboot         a guest reboot ends ringvm with status 0 instead of\n"
"                      resetting the machine and booting again\n"
"  --stats             print instruction counts and MIPS on stderr at exit\n"
"  --accel interp|jit|jit-verify[,tb-size=MiB]\n"
"                      how guest code runs: the interpreter, binary\n"
"                      translation of hot blocks to x86-64, or both in\n"
"                      lockstep, stopping at the first difference (testing);\n"
"                      tb-size: translated code per vCPU (default 32);\n"
"                      without it, RINGVM_ACCEL from the environment\n"
"  --incoming URI      wait for a live migration on tcp:ADDR:PORT or\n"
"                      unix:PATH and run the VM it brings (--disk: the\n"
"                      images to use instead of the source's paths)\n"
"  --restore DIR       continue the VM saved in snapshot directory DIR (see\n"
"                      docs/LIFECYCLE.md): its disks restart from the snapshot\n"
"                      (later writes are discarded); --net may replace the\n"
"                      recorded NIC specs (as many); no other machine options\n"
"  --clone             with --restore: run a copy next to the original, with\n"
"                      its own disk overlays and new random MACs\n"
"  --clone-dir D       keep the clone's disk overlays in D (default: a private\n"
"                      temp dir, gone at exit)\n"
"  --api PATH          serve the JSON control socket at PATH (mode 0600,\n"
"                      removed at exit): `ringvm ctl PATH status|pause|...`\n"
"  --seccomp=on|off    confine ringvm with a seccomp filter after set-up\n"
"                      (default on; off is for debugging)\n"
"  -h, --help          this help\n"
"\n"
"Console: the guest's serial port on stdio.  On a terminal, Ctrl-A x quits,\n"
"Ctrl-A h lists the keys.\n"
"Exit status: 0 when the guest powers off (or reboots, with --no-reboot),\n"
"1 for bad input, 3 when a bare-metal test reports failure, 4 when the\n"
"seccomp filter stopped ringvm (a forbidden system call, named on stderr).\n", VM_MAX_CPUS);
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
	struct vm_disk d = { .path = path };
	int rc = 0;
	if (!path || arg[0] == ',')
		rc = err_set(e, EINVAL, "--disk: missing file name");
	for (char *opt; !rc && (opt = strtok_r(NULL, ",", &save));) {
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
			d.read_only = true;
		} else if (!strcmp(opt, "rw")) {
			d.read_only = false;
		} else if (!strncmp(opt, "l2-cache-size=", 14)) {
			rc = parse_size(opt + 14, 1, &d.l2_cache,
					"--disk l2-cache-size", e);
		} else if (!strncmp(opt, "cache=", 6)) {
			if (block_cache_parse(opt + 6, &d.cache))
				rc = err_set(e, EINVAL, "--disk cache=: unknown "
					     "mode `%s` (writeback, none, "
					     "unsafe or writethrough)", opt + 6);
		} else if (!strncmp(opt, "format=", 7)) {
			d.format = opt + 7;
			if (strcmp(d.format, "raw") && strcmp(d.format, "qcow2"))
				rc = err_set(e, EINVAL, "--disk format=: unknown "
					     "format `%s` (raw or qcow2)",
					     d.format);
		} else if (!strncmp(opt, "backing-device=", 15)) {
			if (d.nbacking_devices == VM_MAX_BACKING_DEVICES)
				rc = err_set(e, EINVAL, "--disk: at most %d "
					     "backing-device= options",
					     VM_MAX_BACKING_DEVICES);
			else if (!opt[15])
				rc = err_set(e, EINVAL, "--disk backing-device=: "
					     "missing device path");
			else
				d.backing_devices[d.nbacking_devices++] =
					opt + 15;
		} else {
			rc = err_set(e, EINVAL, "--disk: unknown option `%s` "
				     "(expected ro, format=FMT, cache=MODE, "
				     "l2-cache-size=SIZE or backing-device=DEV)",
				     opt);
		}
	}
	if (rc) {
		free(s);
		return rc;
	}
	/* Every string of d points into s, which starts at path: the config
	 * owns s from here on. */
	cfg->disks[cfg->ndisks++] = d;
	return 0;
}

/* MAC as six hex pairs separated by ':' (or '-'); unicast, not zero. */
static int parse_mac(const char *s, uint8_t mac[6], const char *what,
		     struct err *e)
{
	unsigned v[6];
	int end = 0;
	char sep = s[0] && s[1] && s[2] ? s[2] : ':';
	bool ok = (sep == ':' || sep == '-');
	if (ok) {
		char fmt[64];
		snprintf(fmt, sizeof(fmt), "%%2x%c%%2x%c%%2x%c%%2x%c%%2x%c%%2x%%n",
			 sep, sep, sep, sep, sep);
		ok = sscanf(s, fmt, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			    &end) == 6 && end == 17 && s[17] == '\0';
		for (int i = 0; ok && i < 17; i++)
			ok = (i % 3 == 2) ? s[i] == sep : isxdigit((unsigned char)s[i]);
	}
	if (!ok)
		return err_set(e, EINVAL, "%s: bad MAC `%s` (expected "
			       "xx:xx:xx:xx:xx:xx)", what, s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return err_set(e, EINVAL, "%s: `%s` is a multicast MAC (the "
			       "first byte must be even)", what, s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return err_set(e, EINVAL, "%s: the all-zero MAC is not valid",
			       what);
	return 0;
}

/* --net SPEC: kind checked here (the rest when the backend opens); a
 * mac=MAC option is taken out of the spec into the NIC. */
static int parse_net(struct vm_config *cfg, const char *arg, struct err *e)
{
	if (cfg->nnics == VM_MAX_NICS)
		return err_set(e, EINVAL, "--net: at most %d NICs",
			       VM_MAX_NICS);
	size_t klen = strcspn(arg, ",");
	if (!((klen == 4 && !strncmp(arg, "user", 4)) ||
	      (klen == 3 && !strncmp(arg, "tap", 3)) ||
	      (klen == 6 && !strncmp(arg, "switch", 6))))
		return err_set(e, EINVAL, "--net: unknown kind `%.*s` (expected "
			       "user, tap or switch)", (int)klen, arg);
	struct vm_nic nic = { 0 };
	char *spec = malloc(strlen(arg) + 1);
	if (!spec)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(spec, arg, klen);
	size_t o = klen;
	for (const char *p = arg + klen; *p == ',';) {
		const char *tok = p + 1;
		size_t n = strcspn(tok, ",");
		if (n > 4 && !strncmp(tok, "mac=", 4)) {
			char m[32];
			snprintf(m, sizeof(m), "%.*s", (int)(n - 4), tok + 4);
			int rc = nic.has_mac ?
				err_set(e, EINVAL, "--net: mac= given twice") :
				parse_mac(m, nic.mac, "--net mac=", e);
			if (rc) {
				free(spec);
				return rc;
			}
			nic.has_mac = true;
		} else {
			spec[o++] = ',';
			memcpy(spec + o, tok, n);
			o += n;
		}
		p = tok + n;
	}
	spec[o] = '\0';
	nic.spec = spec;
	cfg->nics[cfg->nnics++] = nic;
	return 0;
}

/* --mac MAC belongs to the NIC of the --net just before it. */
static int parse_mac_opt(struct vm_config *cfg, const char *arg,
			 struct err *e)
{
	if (cfg->nnics == 0)
		return err_set(e, EINVAL, "--mac: give it after the --net it "
			       "belongs to");
	struct vm_nic *nic = &cfg->nics[cfg->nnics - 1];
	if (nic->has_mac)
		return err_set(e, EINVAL, "--mac: NIC %u already has a MAC",
			       cfg->nnics - 1);
	int rc = parse_mac(arg, nic->mac, "--mac", e);
	if (rc == 0)
		nic->has_mac = true;
	return rc;
}

void cli_run_free(struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->ndisks; i++)
		free((char *)cfg->disks[i].path);
	cfg->ndisks = 0;
	for (unsigned i = 0; i < cfg->nnics; i++)
		free((char *)cfg->nics[i].spec);
	cfg->nnics = 0;
}

int cli_accel_env(const char **accel, struct err *e)
{
	const char *v = getenv("RINGVM_ACCEL");
	enum rv_accel a;
	size_t tb;
	if (!v || !*v)
		return 0;
	if (rv_accel_parse(v, &a, &tb))
		return err_set(e, EINVAL, "RINGVM_ACCEL `%s`: expected interp, "
			       "jit or jit-verify[,tb-size=MiB]", v);
	*accel = v;
	return 0;
}

int cli_run_parse(int argc, char **argv, struct vm_config *cfg,
		  struct err *e)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEM, O_CPUS, O_DISK,
	       O_BIOS, O_ARCH, O_STATS, O_ACCEL, O_NET, O_MAC, O_SECCOMP,
	       O_NO_RNG, O_NO_POWER_BUTTON, O_NO_REBOOT, O_BOOT, O_LOADER,
	       O_API, O_RESTORE, O_CLONE, O_CLONE_DIR, O_INCOMING };
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
		{ "accel", required_argument, 0, O_ACCEL },
		{ "net", required_argument, 0, O_NET },
		{ "mac", required_argument, 0, O_MAC },
		{ "seccomp", required_argument, 0, O_SECCOMP },
		{ "no-rng", no_argument, 0, O_NO_RNG },
		{ "no-power-button", no_argument, 0, O_NO_POWER_BUTTON },
		{ "no-reboot", no_argument, 0, O_NO_REBOOT },
		{ "boot", required_argument, 0, O_BOOT },
		{ "loader", required_argument, 0, O_LOADER },
		{ "restore", required_argument, 0, O_RESTORE },
		{ "clone", no_argument, 0, O_CLONE },
		{ "clone-dir", required_argument, 0, O_CLONE_DIR },
		{ "api", required_argument, 0, O_API },
		{ "incoming", required_argument, 0, O_INCOMING },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	uint64_t v;
	int rc = 0;
	const char *machine_opt = NULL;  /* one the snapshot decides */

	opterr = 0;
	optind = 1;
	for (int c; rc >= 0 && (c = getopt_long(argc, argv, ":h", opts,
						NULL)) != -1;) {
		if (c == O_KERNEL || c == O_INITRD || c == O_CMDLINE ||
		    c == O_MEM || c == O_CPUS || c == O_DISK || c == O_BIOS ||
		    c == O_BOOT || c == O_LOADER || c == O_NO_RNG ||
		    c == O_NO_POWER_BUTTON)
			machine_opt = argv[optind - 1];
		switch (c) {
		case O_RESTORE: cfg->restore = optarg; break;
		case O_CLONE: cfg->clone = true; break;
		case O_CLONE_DIR: cfg->clone_dir = optarg; break;
		case O_KERNEL: cfg->kernel = optarg; break;
		case O_INITRD: cfg->initrd = optarg; break;
		case O_CMDLINE: cfg->cmdline = optarg; break;
		case O_BIOS: cfg->bios = optarg; break;
		case O_LOADER: cfg->loader = optarg; break;
		case O_API: cfg->api = optarg; break;
		case O_INCOMING: cfg->incoming_uri = optarg; break;
		case O_BOOT:
			if (!strcmp(optarg, "auto"))
				cfg->boot = VM_BOOT_AUTO;
			else if (!strcmp(optarg, "kernel"))
				cfg->boot = VM_BOOT_KERNEL;
			else if (!strcmp(optarg, "disk"))
				cfg->boot = VM_BOOT_DISK;
			else
				rc = err_set(e, EINVAL, "--boot: `%s` (expected "
					     "auto, kernel or disk)", optarg);
			break;
		case O_STATS: cfg->stats = true; break;
		case O_ACCEL: {
			enum rv_accel a;
			size_t tb;
			if (rv_accel_parse(optarg, &a, &tb))
				rc = err_set(e, EINVAL, "--accel `%s`: expected "
					     "interp, jit or jit-verify[,tb-size=MiB]",
					     optarg);
			cfg->accel = optarg;
			break;
		}
		case O_NO_RNG: cfg->no_rng = true; break;
		case O_NO_POWER_BUTTON: cfg->no_power_button = true; break;
		case O_NO_REBOOT: cfg->no_reboot = true; break;
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
		case O_NET:
			rc = parse_net(cfg, optarg, e);
			break;
		case O_MAC:
			rc = parse_mac_opt(cfg, optarg, e);
			break;
		case O_SECCOMP:
			if (!strcmp(optarg, "on") || !strcmp(optarg, "off"))
				cfg->seccomp_off = !strcmp(optarg, "off");
			else
				rc = err_set(e, EINVAL, "--seccomp: `%s` (expected "
					     "on or off)", optarg);
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
	if (rc == 0 && !cfg->accel)
		rc = cli_accel_env(&cfg->accel, e);
	if (rc == 0 && cfg->incoming_uri &&
	    (cfg->kernel || cfg->initrd || cfg->cmdline || cfg->nnics))
		rc = err_set(e, EINVAL, "--incoming takes the machine from the "
			     "source: no --kernel, --initrd, --cmdline or --net");
	if (rc == 0 && cfg->incoming_uri && cfg->restore)
		rc = err_set(e, EINVAL, "--incoming and --restore: one source "
			     "of the machine");
	if (rc == 0 && cfg->restore && machine_opt)
		rc = err_set(e, EINVAL, "--restore: the snapshot defines the "
			     "machine; `%s` cannot be given with it",
			     machine_opt);
	if (rc == 0 && (cfg->clone || cfg->clone_dir) && !cfg->restore)
		rc = err_set(e, EINVAL, "--clone and --clone-dir go with "
			     "--restore DIR");
	if (rc == 0 && cfg->clone_dir && !cfg->clone)
		rc = err_set(e, EINVAL, "--clone-dir goes with --clone");
	if (rc == 0 && cfg->bios && !strcmp(cfg->bios, "none") &&
	    !cfg->kernel && !cfg->incoming_uri)
		rc = err_set(e, EINVAL, "--bios none needs --kernel");
	if (rc == 0 && cfg->boot == VM_BOOT_DISK &&
	    (cfg->kernel || cfg->initrd || cfg->cmdline))
		rc = err_set(e, EINVAL, "--boot disk boots what the disk holds: "
			     "it takes no --kernel, --initrd or --cmdline (the "
			     "disk's extlinux.conf has the kernel command line)");
	if (rc == 0 && cfg->boot == VM_BOOT_DISK && cfg->ndisks == 0)
		rc = err_set(e, EINVAL, "--boot disk needs a --disk");
	if (rc == 0 && cfg->loader && cfg->boot != VM_BOOT_DISK &&
	    (cfg->kernel || cfg->ndisks == 0))
		rc = err_set(e, EINVAL, "--loader is for booting a disk "
			     "(--boot disk)");
	return rc;
}

/* --incoming: the VM comes from the migration stream.  The stream's
 * machine goes into a copy of cfg (its strings live in storage), as cfg
 * keeps what cli_run_free releases. */
static int run_incoming(const struct vm_config *cfg, int *status,
			struct err *e)
{
	struct vm_config mcfg = *cfg;
	struct api *api = NULL;
	struct vm *vm;
	void *storage = NULL;
	int rc;
	if (cfg->api && (rc = api_open(cfg->api, &api, e)) < 0)
		return rc;
	rc = migrate_incoming(cfg->incoming_uri, &mcfg,
			      api ? api_vm_event : NULL, api, &vm, &storage, e);
	if (rc < 0) {
		api_close(api);
		return rc;
	}
	rc = vm_run_created(vm, api, status, e);
	free(storage);
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
	/* What the command line allocated; a restore points cfg's strings
	 * into the snapshot's state instead. */
	struct vm_config parsed = cfg;
	struct restore *rs = NULL;
	if (rc == 0 && cfg.restore) {
		struct restore_opts ro = { .dir = cfg.restore,
					   .clone = cfg.clone,
					   .clone_dir = cfg.clone_dir };
		rc = restore_prepare(&ro, &cfg, &rs, &e);
	}
	/* A peer that closes its end must cost that connection, not the
	 * VM: libslirp writing to a hostfwd socket whose ssh client had
	 * gone ended ringvm with SIGPIPE (exit 141, tests/system/debian.sh);
	 * control and migration sockets are the same case. */
	if (rc == 0)
		signal(SIGPIPE, SIG_IGN);
	if (rc == 1)
		status = 0;
	else if (rc == 0 && (cfg.incoming_uri ? run_incoming(&cfg, &status, &e)
				      : vm_run(&cfg, &status, &e)) == 0)
		; /* status set by the run */
	else
		fprintf(stderr, "ringvm: %s\n", e.msg);
	restore_free(rs);
	cli_run_free(&parsed);
	return status;
}
