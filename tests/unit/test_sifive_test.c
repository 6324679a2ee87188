/* sifive,test0 finisher: the values firmware and tests write, at the sizes
 * they write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hw/sifive_test.h"

struct seen {
	int calls, kind, code;
};

static void cb(void *opaque, int kind, int code)
{
	struct seen *s = opaque;
	s->calls++;
	s->kind = kind;
	s->code = code;
}

static void finisher_values_and_sizes(void **state)
{
	struct bus bus = { 0 };
	struct sifive_test t;
	struct seen s = { 0 };
	const uint64_t base = 0x100000;
	assert_int_equal(sifive_test_init(&t, &bus, base, cb, &s, NULL), 0);

	assert_int_equal(bus_write(&bus, base, 4, 0x5555), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.kind, SIFIVE_TEST_PASS);

	assert_int_equal(bus_write(&bus, base, 4, (42u << 16) | 0x3333), 0);
	assert_int_equal(s.kind, SIFIVE_TEST_FAIL);
	assert_int_equal(s.code, 42);

	/* OpenSBI's reset path: a 16-bit store of 0x7777 */
	assert_int_equal(bus_write(&bus, base, 2, 0x7777), 0);
	assert_int_equal(s.kind, SIFIVE_TEST_RESET);
	assert_int_equal(s.calls, 3);

	/* other values, offsets and sizes do nothing or are refused */
	assert_int_equal(bus_write(&bus, base, 4, 0x1234), 0);
	assert_int_equal(bus_write(&bus, base + 4, 4, 0x5555), 0);
	assert_int_equal(s.calls, 3);
	assert_int_equal(bus_write(&bus, base, 1, 0x55), -EINVAL);
	assert_int_equal(bus_write(&bus, base, 8, 0x5555), -EINVAL);
	assert_int_equal(s.calls, 3);

	sifive_test_exit(&t);
	assert_int_equal(bus_write(&bus, base, 4, 0x5555), -ENODEV);
	bus_free(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finisher_values_and_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
