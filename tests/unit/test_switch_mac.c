/* Unit tests for src/net/switch/mac_table.c: learning, ageing with a fake
 * clock, per-VLAN separation, the size limit and per-port flushes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "net/switch/mac_table.h"

static const uint8_t M1[6] = { 0x52, 0x54, 0, 0, 0, 1 };
static const uint8_t M2[6] = { 0x52, 0x54, 0, 0, 0, 2 };

static struct mac_table *mk(unsigned max, unsigned ageing)
{
	struct mac_table *t = NULL;
	struct err e = { 0 };
	assert_int_equal(mac_table_new(max, ageing, &t, &e), 0);
	return t;
}

static void learn_and_move(void **state)
{
	struct mac_table *t = mk(16, 300);
	assert_int_equal(mac_table_lookup(t, 10, M1, 0), -1);
	assert_int_equal(mac_table_learn(t, 10, M1, 3, 0), 0);
	assert_int_equal(mac_table_lookup(t, 10, M1, 1), 3);
	/* The station moved. */
	assert_int_equal(mac_table_learn(t, 10, M1, 5, 2), 0);
	assert_int_equal(mac_table_lookup(t, 10, M1, 3), 5);
	assert_int_equal(mac_table_count(t), 1);
	mac_table_free(t);
}

static void per_vlan(void **state)
{
	struct mac_table *t = mk(16, 300);
	assert_int_equal(mac_table_learn(t, 10, M1, 1, 0), 0);
	assert_int_equal(mac_table_learn(t, 20, M1, 2, 0), 0);
	assert_int_equal(mac_table_lookup(t, 10, M1, 0), 1);
	assert_int_equal(mac_table_lookup(t, 20, M1, 0), 2);
	assert_int_equal(mac_table_lookup(t, 30, M1, 0), -1);
	assert_int_equal(mac_table_count(t), 2);
	mac_table_free(t);
}

static void ageing(void **state)
{
	struct mac_table *t = mk(16, 300);
	assert_int_equal(mac_table_learn(t, 10, M1, 1, 1000), 0);
	assert_int_equal(mac_table_learn(t, 10, M2, 2, 1000), 0);
	/* M2 refreshed at 200 s; M1 not. */
	assert_int_equal(mac_table_learn(t, 10, M2, 2, 200000), 0);
	assert_int_equal(mac_table_lookup(t, 10, M1, 300999), 1);
	assert_int_equal(mac_table_lookup(t, 10, M1, 301000), -1);
	assert_int_equal(mac_table_lookup(t, 10, M2, 301000), 2);
	assert_int_equal(mac_table_expire(t, 600000), 1);
	assert_int_equal(mac_table_count(t), 0);
	mac_table_free(t);

	/* ageing 0: entries never age. */
	t = mk(4, 0);
	assert_int_equal(mac_table_learn(t, 1, M1, 1, 0), 0);
	assert_int_equal(mac_table_lookup(t, 1, M1, UINT64_MAX / 2), 1);
	assert_int_equal(mac_table_expire(t, UINT64_MAX / 2), 0);
	mac_table_free(t);
}

static void limit(void **state)
{
	struct mac_table *t = mk(8, 10);
	uint8_t m[6] = { 2, 0, 0, 0, 0, 0 };
	for (int i = 0; i < 8; i++) {
		m[5] = (uint8_t)i;
		assert_int_equal(mac_table_learn(t, 1, m, 1, 0), 0);
	}
	m[5] = 100;
	assert_int_equal(mac_table_learn(t, 1, m, 1, 0), -ENOSPC);
	assert_int_equal(mac_table_lookup(t, 1, m, 0), -1);
	assert_int_equal(mac_table_full_count(t), 1);
	/* Refreshing a known address still works when full. */
	m[5] = 3;
	assert_int_equal(mac_table_learn(t, 1, m, 2, 5000), 0);
	assert_int_equal(mac_table_lookup(t, 1, m, 5000), 2);
	/* Once the others age out, there is room again. */
	m[5] = 100;
	assert_int_equal(mac_table_learn(t, 1, m, 1, 10000), 0);
	assert_int_equal(mac_table_count(t), 2);
	mac_table_free(t);
}

static void flush_port(void **state)
{
	struct mac_table *t = mk(64, 300);
	uint8_t m[6] = { 2, 0, 0, 0, 0, 0 };
	for (int i = 0; i < 40; i++) {
		m[5] = (uint8_t)i;
		assert_int_equal(mac_table_learn(t, (uint16_t)(1 + i % 3), m,
						 (uint16_t)(1 + i % 2), 0), 0);
	}
	assert_int_equal(mac_table_flush_port(t, 2), 20);
	assert_int_equal(mac_table_count(t), 20);
	for (int i = 0; i < 40; i++) {
		m[5] = (uint8_t)i;
		assert_int_equal(mac_table_lookup(t, (uint16_t)(1 + i % 3), m, 0),
				 i % 2 ? -1 : 1);
	}
	/* The freed entries are reusable. */
	for (int i = 40; i < 84; i++) {
		m[5] = (uint8_t)i;
		assert_int_equal(mac_table_learn(t, 7, m, 3, 0), 0);
	}
	assert_int_equal(mac_table_count(t), 64);
	mac_table_free(t);
}

static void count_entry(void *opaque, const struct mac_entry *e)
{
	(*(int *)opaque)++;
	assert_true(e->vid == 10 || e->vid == 20);
}

static void foreach_and_bad_size(void **state)
{
	struct mac_table *t = mk(4, 300);
	int n = 0;
	mac_table_learn(t, 10, M1, 1, 0);
	mac_table_learn(t, 20, M2, 1, 0);
	mac_table_foreach(t, count_entry, &n);
	assert_int_equal(n, 2);
	mac_table_free(t);
	struct err e = { 0 };
	assert_int_equal(mac_table_new(0, 300, &t, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "MAC table"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(learn_and_move),
		cmocka_unit_test(per_vlan),
		cmocka_unit_test(ageing),
		cmocka_unit_test(limit),
		cmocka_unit_test(flush_port),
		cmocka_unit_test(foreach_and_bad_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
