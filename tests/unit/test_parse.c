/* Unit tests for src/core/parse.c: sizes and bounded integers from the
 * command line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/parse.h"

static int size_of(const char *s, uint64_t unit, uint64_t *out)
{
	struct err e = { 0 };
	int rc = parse_size(s, unit, out, "--mem", &e);
	if (rc)
		assert_non_null(strstr(e.msg, "--mem"));  /* names the option */
	return rc;
}

static void sizes_with_suffixes(void **state)
{
	uint64_t v;
	assert_int_equal(size_of("512M", 1, &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(size_of("2G", 1, &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(size_of("1.5G", 1, &v), 0);
	assert_int_equal(v, 3ULL << 29);
	assert_int_equal(size_of("64k", 1, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(size_of("64K", 1, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(size_of("1GiB", 1, &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(size_of("1gb", 1, &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(size_of("3T", 1, &v), 0);
	assert_int_equal(v, 3ULL << 40);
	assert_int_equal(size_of("4096", 1, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(size_of("4096B", 1 << 20, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(size_of("0", 1, &v), 0);
	assert_int_equal(v, 0);
}

static void bare_number_uses_default_unit(void **state)
{
	uint64_t v;
	assert_int_equal(size_of("512", 1 << 20, &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(size_of("0.5", 1 << 20, &v), 0);
	assert_int_equal(v, 512ULL << 10);
}

static void sizes_refused(void **state)
{
	uint64_t v = 42;
	assert_int_equal(size_of("", 1, &v), -EINVAL);
	assert_int_equal(size_of("abc", 1, &v), -EINVAL);
	assert_int_equal(size_of("-1", 1, &v), -EINVAL);
	assert_int_equal(size_of("12X", 1, &v), -EINVAL);
	assert_int_equal(size_of("1MX", 1, &v), -EINVAL);
	assert_int_equal(size_of("1BiB", 1, &v), -EINVAL);
	assert_int_equal(size_of(" 1M", 1, &v), -EINVAL);
	assert_int_equal(size_of(".", 1, &v), -EINVAL);
	assert_int_equal(size_of("M", 1, &v), -EINVAL);
	assert_int_equal(size_of(NULL, 1, &v), -EINVAL);
	assert_int_equal(v, 42);  /* untouched on failure */
}

static void sizes_too_large(void **state)
{
	uint64_t v;
	assert_int_equal(size_of("99999999999999999999", 1, &v), -ERANGE);
	assert_int_equal(size_of("17179869184G", 1, &v), -ERANGE); /* 2^64 */
	assert_int_equal(size_of("16777216T", 1, &v), -ERANGE);    /* 2^64 */
	assert_int_equal(size_of("16777215.9999T", 1, &v), 0);
	assert_int_equal(size_of("17179869183G", 1, &v), 0);
	assert_int_equal(v, 17179869183ULL << 30);
}

static void uint_ranges(void **state)
{
	uint64_t v;
	struct err e = { 0 };
	assert_int_equal(parse_uint("0", 0, 10, &v, "--cpus", NULL), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("10", 0, 10, &v, "--cpus", NULL), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_uint("007", 1, 8, &v, "--cpus", NULL), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_uint("11", 0, 10, &v, "--cpus", &e), -ERANGE);
	assert_non_null(strstr(e.msg, "--cpus"));
	assert_int_equal(parse_uint("0", 1, 8, &v, "--cpus", NULL), -ERANGE);
	assert_int_equal(parse_uint("", 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint(NULL, 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint("+1", 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint("-1", 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint(" 1", 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint("1a", 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint("1.0", 0, 10, &v, "x", NULL), -EINVAL);
	assert_int_equal(parse_uint("99999999999999999999", 0, UINT64_MAX, &v,
				    "x", NULL), -ERANGE);
	assert_int_equal(parse_uint("18446744073709551616", 0, UINT64_MAX, &v,
				    "x", NULL), -ERANGE);
}

/* The overflow guard must depend on the digit, or the top values of the
 * range are refused. */
static void uint_max_value(void **state)
{
	uint64_t v = 0;
	assert_int_equal(parse_uint("18446744073709551615", 0, UINT64_MAX, &v,
				    "x", NULL), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_uint("18446744073709551609", 0, UINT64_MAX, &v,
				    "x", NULL), 0);
	assert_true(v == UINT64_MAX - 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes_with_suffixes),
		cmocka_unit_test(bare_number_uses_default_unit),
		cmocka_unit_test(sizes_refused),
		cmocka_unit_test(sizes_too_large),
		cmocka_unit_test(uint_ranges),
		cmocka_unit_test(uint_max_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
