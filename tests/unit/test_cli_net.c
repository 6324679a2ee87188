/* `ringvm run --net/--mac` parsing: NIC list, mac= taken out of the spec,
 * --mac pairing with the preceding --net, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"

static int parse(struct vm_config *cfg, struct err *e, ...)
{
	char *argv[32] = { "run" };
	int argc = 1;
	va_list ap;
	va_start(ap, e);
	for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	*cfg = (struct vm_config){ .arch = "riscv64", .mem = VM_DEFAULT_MEM,
				   .cpus = 1 };
	err_clear(e);
	return cli_run_parse(argc, argv, cfg, e);
}

static void nics(void **state)
{
	struct vm_config c;
	struct err e;
	assert_int_equal(parse(&c, &e, "--net", "user,hostfwd=tcp::2222-:22",
			       "--mac", "02:AA:bb:cc:dd:01",
			       "--net", "tap,mac=0a-00-00-00-00-02,ifname=rv0",
			       "--net", "switch,path=/s,trunk=1,2,mac=02:00:00:00:00:03",
			       "--net", "user", NULL), 0);
	assert_int_equal(c.nnics, 4);
	assert_string_equal(c.nics[0].spec, "user,hostfwd=tcp::2222-:22");
	assert_true(c.nics[0].has_mac);
	assert_memory_equal(c.nics[0].mac, "\x02\xaa\xbb\xcc\xdd\x01", 6);
	assert_string_equal(c.nics[1].spec, "tap,ifname=rv0");
	assert_memory_equal(c.nics[1].mac, "\x0a\x00\x00\x00\x00\x02", 6);
	assert_string_equal(c.nics[2].spec, "switch,path=/s,trunk=1,2");
	assert_memory_equal(c.nics[2].mac, "\x02\x00\x00\x00\x00\x03", 6);
	assert_string_equal(c.nics[3].spec, "user");
	assert_false(c.nics[3].has_mac);
	cli_run_free(&c);
	assert_int_equal(c.nnics, 0);
}

static void refusals(void **state)
{
	struct vm_config c;
	struct err e;
	static const char *bad[][4] = {
		{ "--net", "frob", NULL },
		{ "--net", "", NULL },
		{ "--mac", "02:00:00:00:00:01", NULL },         /* no --net */
		{ "--net", "user", "--mac", "01:00:00:00:00:01" }, /* multicast */
		{ "--net", "user", "--mac", "00:00:00:00:00:00" },
		{ "--net", "user", "--mac", "02:00:00:00:00" },
		{ "--net", "user", "--mac", "02:00:00:00:00:0g" },
		{ "--net", "user", "--mac", "02:00:00:00:00:001" },
		{ "--net", "user", "--mac", "02:00-00:00:00:01" },
		{ "--net", "user,mac=02:00:00:00:00:01", "--mac",
		  "02:00:00:00:00:02" },
		{ "--net", "user,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02",
		  NULL },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(&c, &e, bad[i][0], bad[i][1], bad[i][2],
			       bad[i][3], NULL);
		if (rc != -EINVAL)
			fail_msg("case %u: rc %d", i, rc);
		assert_true(e.msg[0] != '\0');
		cli_run_free(&c);
	}
	assert_int_equal(parse(&c, &e, "--net", "user", "--net", "user",
			       "--net", "user", "--net", "user", "--net",
			       "user", NULL), -EINVAL);
	assert_non_null(strstr(e.msg, "at most"));
	cli_run_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nics),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
