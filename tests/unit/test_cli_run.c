/* `ringvm run` option parsing: values land in the config, bad input gives
 * -errno and a message naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"

static struct vm_config defaults(void)
{
	return (struct vm_config){ .arch = "riscv64", .mem = VM_DEFAULT_MEM,
				   .cpus = 1 };
}

/* Parse a NULL-terminated argument list; returns the parser's result. */
static int parse(struct vm_config *cfg, struct err *e, ...)
{
	char *argv[32] = { "run" };
	int argc = 1;
	va_list ap;
	va_start(ap, e);
	for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	*cfg = defaults();
	err_clear(e);
	return cli_run_parse(argc, argv, cfg, e);
}

static void values(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--kernel", "k", "--initrd", "i",
			       "--cmdline", "quiet", "--mem", "2G", "--cpus",
			       "4", "--disk", "a.img", "--disk", "b.img,ro",
			       "--bios", "none", "--stats", NULL), 0);
	assert_string_equal(c.kernel, "k");
	assert_string_equal(c.initrd, "i");
	assert_string_equal(c.cmdline, "quiet");
	assert_true(c.mem == 2ULL << 30);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.ndisks, 2);
	assert_string_equal(c.disks[0].path, "a.img");
	assert_false(c.disks[0].read_only);
	assert_string_equal(c.disks[1].path, "b.img");
	assert_true(c.disks[1].read_only);
	assert_true(c.disks[0].l2_cache == 0);
	assert_string_equal(c.bios, "none");
	assert_true(c.stats);
	assert_false(c.no_rng);
	assert_false(c.no_power_button);
	assert_false(c.no_reboot);
	cli_run_free(&c);
	assert_int_equal(c.ndisks, 0);
	assert_null(c.api);
	assert_int_equal(parse(&c, &e, "--no-rng", "--no-reboot", "--api",
			       "/run/vm.sock", "--no-power-button", NULL), 0);
	assert_string_equal(c.api, "/run/vm.sock");
	assert_true(c.no_rng);
	assert_true(c.no_power_button);
	assert_true(c.no_reboot);
	cli_run_free(&c);
}

static void defaults_and_units(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, NULL), 0);
	assert_null(c.kernel);
	assert_true(c.mem == 512ULL << 20);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(parse(&c, &e, "--mem", "256", NULL), 0);
	assert_true(c.mem == 256ULL << 20);  /* bare number = MiB */
	assert_int_equal(parse(&c, &e, "--mem=64M", "--cpus=8", NULL), 0);
	assert_true(c.mem == 64ULL << 20);
	assert_int_equal(c.cpus, 8);
}

static void refused(void **state)
{
	static const struct {
		const char *a, *b, *word;
	} bad[] = {
		{ "--mem", "0", "--mem" },
		{ "--mem", "abc", "--mem" },
		{ "--mem", "1X", "--mem" },
		{ "--cpus", "0", "--cpus" },
		{ "--cpus", "99", "--cpus" },
		{ "--cpus", "two", "--cpus" },
		{ "--disk", ",ro", "--disk" },
		{ "--disk", "x.img,frob", "frob" },
		{ "--arch", "x86_64", "x86_64" },
		{ "--frobnicate", NULL, "--frobnicate" },
		{ "stray", NULL, "stray" },
		{ "--bios", "none", "--kernel" },   /* bare metal needs a kernel */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config c;
		struct err e;
		int rc = parse(&c, &e, bad[i].a, bad[i].b, NULL);
		if (rc >= 0 || !strstr(e.msg, bad[i].word))
			fail_msg("`%s %s`: rc %d, message `%s`", bad[i].a,
				 bad[i].b ? bad[i].b : "", rc, e.msg);
		cli_run_free(&c);
	}
	struct vm_config c;
	struct err e;
	assert_true(parse(&c, &e, "--mem", NULL) < 0);   /* missing value */
	assert_non_null(strstr(e.msg, "--mem"));
	/* The migration stream decides the machine. */
	assert_true(parse(&c, &e, "--incoming", "unix:/x", "--kernel", "k",
			  NULL) < 0);
	assert_non_null(strstr(e.msg, "--incoming"));
	assert_true(parse(&c, &e, "--incoming", "unix:/x", "--restore", "d",
			  NULL) < 0);
	assert_non_null(strstr(e.msg, "--incoming"));
	assert_int_equal(parse(&c, &e, "--incoming", "tcp:0.0.0.0:4444",
			       "--disk", "t.qcow2", NULL), 0);
	assert_string_equal(c.incoming_uri, "tcp:0.0.0.0:4444");
	cli_run_free(&c);
}

static void disk_l2_cache(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--disk", "a.qcow2,l2-cache-size=4M,ro",
			       NULL), 0);
	assert_true(c.disks[0].l2_cache == 4ULL << 20);
	assert_true(c.disks[0].read_only);
	cli_run_free(&c);
	assert_true(parse(&c, &e, "--disk", "a.qcow2,l2-cache-size=lots",
			  NULL) < 0);
	assert_non_null(strstr(e.msg, "l2-cache-size"));
	cli_run_free(&c);
}

static void disk_cache_modes(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--disk", "a.img", "--disk",
			       "b.img,cache=none", "--disk",
			       "c.qcow2,cache=unsafe,ro", "--disk",
			       "d.img,cache=writethrough", "--disk",
			       "e.img,cache=writeback", NULL), 0);
	assert_int_equal(c.disks[0].cache, BLOCK_CACHE_WRITEBACK);
	assert_int_equal(c.disks[1].cache, BLOCK_CACHE_NONE);
	assert_int_equal(c.disks[2].cache, BLOCK_CACHE_UNSAFE);
	assert_true(c.disks[2].read_only);
	assert_int_equal(c.disks[3].cache, BLOCK_CACHE_WRITETHROUGH);
	assert_int_equal(c.disks[4].cache, BLOCK_CACHE_WRITEBACK);
	cli_run_free(&c);
	assert_true(parse(&c, &e, "--disk", "a.img,cache=directsync",
			  NULL) < 0);
	assert_non_null(strstr(e.msg, "cache="));
	assert_non_null(strstr(e.msg, "directsync"));
	cli_run_free(&c);
	assert_true(parse(&c, &e, "--disk", "a.img,cache=", NULL) < 0);
	cli_run_free(&c);
}

static void disk_format_and_backing_devices(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--disk", "a.img,format=raw", "--disk",
			       "b.qcow2,backing-device=/dev/sdb,format=qcow2,"
			       "backing-device=/dev/sdc", "--disk", "c.img",
			       NULL), 0);
	assert_string_equal(c.disks[0].format, "raw");
	assert_int_equal(c.disks[0].nbacking_devices, 0);
	assert_string_equal(c.disks[1].path, "b.qcow2");
	assert_string_equal(c.disks[1].format, "qcow2");
	assert_int_equal(c.disks[1].nbacking_devices, 2);
	assert_string_equal(c.disks[1].backing_devices[0], "/dev/sdb");
	assert_string_equal(c.disks[1].backing_devices[1], "/dev/sdc");
	assert_null(c.disks[2].format);   /* probed */
	cli_run_free(&c);
	assert_true(parse(&c, &e, "--disk", "a.img,format=vmdk", NULL) < 0);
	assert_non_null(strstr(e.msg, "vmdk"));
	cli_run_free(&c);
	assert_true(parse(&c, &e, "--disk", "a.img,backing-device=", NULL) < 0);
	assert_non_null(strstr(e.msg, "backing-device"));
	cli_run_free(&c);
}

static void too_many_disks(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--disk", "1", "--disk", "2", "--disk",
			       "3", "--disk", "4", "--disk", "5", "--disk",
			       "6", "--disk", "7", "--disk", "8", NULL), 0);
	cli_run_free(&c);
	assert_true(parse(&c, &e, "--disk", "1", "--disk", "2", "--disk",
			  "3", "--disk", "4", "--disk", "5", "--disk", "6",
			  "--disk", "7", "--disk", "8", "--disk", "9",
			  NULL) < 0);
	assert_non_null(strstr(e.msg, "at most"));
	cli_run_free(&c);
}

/* The sandbox is on unless --seccomp=off; other values are refused. */
static void seccomp_option(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, NULL), 0);
	assert_false(c.seccomp_off);
	assert_int_equal(parse(&c, &e, "--seccomp=off", NULL), 0);
	assert_true(c.seccomp_off);
	assert_int_equal(parse(&c, &e, "--seccomp=off", "--seccomp", "on",
			       NULL), 0);
	assert_false(c.seccomp_off);
	assert_int_equal(parse(&c, &e, "--seccomp=no", NULL), -EINVAL);
	assert_non_null(strstr(e.msg, "--seccomp"));
}

/* --boot picks what boots without --kernel; a disk boot takes the disk's
 * own kernel and command line, so --kernel/--initrd/--cmdline conflict. */
static void boot_option(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--disk", "d", NULL), 0);
	assert_int_equal(c.boot, VM_BOOT_AUTO);
	assert_null(c.loader);
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--boot", "disk", "--disk", "d",
			       "--loader", "u.elf", NULL), 0);
	assert_int_equal(c.boot, VM_BOOT_DISK);
	assert_string_equal(c.loader, "u.elf");
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--boot", "kernel", "--disk", "d",
			       NULL), 0);
	assert_int_equal(c.boot, VM_BOOT_KERNEL);
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--boot", "floppy", NULL), -EINVAL);
	assert_non_null(strstr(e.msg, "--boot"));
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--boot", "disk", NULL), -EINVAL);
	assert_non_null(strstr(e.msg, "needs a --disk"));
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--boot", "disk", "--disk", "d",
			       "--kernel", "k", NULL), -EINVAL);
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--boot", "disk", "--disk", "d",
			       "--cmdline", "quiet", NULL), -EINVAL);
	assert_non_null(strstr(e.msg, "--cmdline"));
	cli_run_free(&c);
	assert_int_equal(parse(&c, &e, "--loader", "u.elf", "--kernel", "k",
			       NULL), -EINVAL);
	assert_non_null(strstr(e.msg, "--loader"));
	cli_run_free(&c);
}

static void help(void **state)
{
	struct vm_config c;
	struct err e;
	FILE *saved = stdout;
	stdout = fopen("/dev/null", "w");
	int rc = parse(&c, &e, "--help", NULL);
	fclose(stdout);
	stdout = saved;
	assert_int_equal(rc, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values),
		cmocka_unit_test(defaults_and_units),
		cmocka_unit_test(refused),
		cmocka_unit_test(disk_l2_cache),
		cmocka_unit_test(disk_cache_modes),
		cmocka_unit_test(disk_format_and_backing_devices),
		cmocka_unit_test(too_many_disks),
		cmocka_unit_test(help),
		cmocka_unit_test(seccomp_option),
		cmocka_unit_test(boot_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
