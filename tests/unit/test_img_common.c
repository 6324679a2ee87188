/* Helpers of `ringvm img` (src/cli/img_common.c): -o parsing, sizes as
 * qemu-img prints them, backing paths, zero detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/img_common.h"

static void create_opts(void **state)
{
	struct img_create_opts o = { 0 };
	struct err e = { 0 };
	assert_int_equal(img_parse_create_opts(&o, "cluster_size=4k,size=1G,"
			 "backing_file=a,,b.qcow2,backing_fmt=qcow2", &e), 0);
	assert_int_equal(o.cluster_size, 4096);
	assert_true(o.has_size);
	assert_int_equal(o.size, 1ull << 30);
	assert_string_equal(o.backing_file, "a,b.qcow2");   /* ",," = ',' */
	assert_string_equal(o.backing_fmt, "qcow2");
	/* a second -o keeps the first one's strings valid */
	assert_int_equal(img_parse_create_opts(&o, "compat=0.10,"
			 "lazy_refcounts=on,preallocation=full", &e), 0);
	assert_string_equal(o.backing_file, "a,b.qcow2");
	assert_int_equal(o.version, 2);
	assert_true(o.lazy_refcounts);
	assert_string_equal(o.preallocation, "full");
	img_free_create_opts(&o);
}

static void create_opts_bad(void **state)
{
	static const struct { const char *arg, *msg; } cases[] = {
		{ "cluster_size=3000", "power of two" },
		{ "cluster_size=2k", "power of two" },
		{ "cluster_size=4M", "power of two" },
		{ "frob=1", "unknown option `frob`" },
		{ "size", "needs a value" },
		{ "=3", "empty option name" },
		{ "compat=2", "not 0.10 or 1.1" },
		{ "lazy_refcounts=maybe", "not on or off" },
		{ "preallocation=metadata", "off, falloc or full" },
		{ "backing_fmt=vmdk", "unknown format" },
		{ "size=12Q", "not a size" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct img_create_opts o = { 0 };
		struct err e = { 0 };
		assert_int_equal(img_parse_create_opts(&o, cases[i].arg, &e),
				 -EINVAL);
		if (!strstr(e.msg, cases[i].msg))
			fail_msg("-o %s: message `%s` lacks `%s`", cases[i].arg,
				 e.msg, cases[i].msg);
		img_free_create_opts(&o);
	}
}

static void human_size(void **state)
{
	char b[32];
	assert_string_equal(img_human_size(0, b, sizeof(b)), "0 B");
	assert_string_equal(img_human_size(512, b, sizeof(b)), "512 B");
	assert_string_equal(img_human_size(196608, b, sizeof(b)), "192 KiB");
	assert_string_equal(img_human_size(4ull << 30, b, sizeof(b)), "4 GiB");
	assert_string_equal(img_human_size(3ull << 29, b, sizeof(b)), "1.5 GiB");
	assert_string_equal(img_human_size(1000, b, sizeof(b)), "0.977 KiB");
	assert_string_equal(img_human_size(UINT64_MAX, b, sizeof(b)), "16 EiB");
}

static void backing_path(void **state)
{
	char *p;
	p = img_backing_path("dir/vm1.qcow2", "base.qcow2");
	assert_string_equal(p, "dir/base.qcow2");
	free(p);
	p = img_backing_path("dir/vm1.qcow2", "/abs/base.qcow2");
	assert_string_equal(p, "/abs/base.qcow2");
	free(p);
	p = img_backing_path("vm1.qcow2", "base.qcow2");
	assert_string_equal(p, "base.qcow2");
	free(p);
	p = img_backing_path("/a/b/c.qcow2", "../d.qcow2");
	assert_string_equal(p, "/a/b/../d.qcow2");
	free(p);
}

static void is_zero(void **state)
{
	static uint8_t buf[65536];
	memset(buf, 0, sizeof(buf));
	assert_true(img_is_zero(buf, sizeof(buf)));
	assert_true(img_is_zero(buf, 0));
	assert_true(img_is_zero(buf, 7));
	for (size_t at = 0; at < sizeof(buf); at += 4099) {
		buf[at] = 1;
		assert_false(img_is_zero(buf, sizeof(buf)));
		buf[at] = 0;
	}
	buf[sizeof(buf) - 1] = 0x80;
	assert_false(img_is_zero(buf, sizeof(buf)));
	assert_true(img_is_zero(buf, sizeof(buf) - 1));
}

static void output_option(void **state)
{
	bool json = false;
	struct err e = { 0 };
	assert_int_equal(img_parse_output("json", &json, &e), 0);
	assert_true(json);
	assert_int_equal(img_parse_output("human", &json, &e), 0);
	assert_false(json);
	assert_int_equal(img_parse_output("xml", &json, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "`xml`"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_opts),
		cmocka_unit_test(create_opts_bad),
		cmocka_unit_test(human_size),
		cmocka_unit_test(backing_path),
		cmocka_unit_test(is_zero),
		cmocka_unit_test(output_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
