/* Unit tests for src/net/switch/mac_table.c: learning, ageing with a fake
 * clock, per-VLAN separation, the size limit, the per-port limit, per-port
 * flushes, and the bound on slots examined per operation. */
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
	assert_int_equal(mac_table_new(max, 0, 64, ageing, &t, &e), 0);
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
	/* Once the others age out (and the sweep ran), there is room again. */
	assert_int_equal(mac_table_expire(t, 10000), 7);
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
	assert_int_equal(mac_table_new(0, 0, 4, 300, &t, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "MAC table"));
	assert_int_equal(mac_table_new(4, 0, 0, 300, &t, &e), -EINVAL);
	t = mk(4, 300);
	assert_int_equal(mac_table_learn(t, 1, M1, 0, 0), -EINVAL);
	assert_int_equal(mac_table_learn(t, 1, M1, 65, 0), -EINVAL);
	mac_table_free(t);
}

static void fake_mac(uint8_t m[6], uint32_t i)
{
	m[0] = 0x02;
	m[1] = 0xee;
	m[2] = (uint8_t)(i >> 24);
	m[3] = (uint8_t)(i >> 16);
	m[4] = (uint8_t)(i >> 8);
	m[5] = (uint8_t)i;
}

/* One port inventing thousands of source addresses fills only its own
 * share: another port's station is still learned, and stations cannot be
 * moved onto the full port. */
static void per_port_limit(void **state)
{
	struct mac_table *t = NULL;
	struct err e = { 0 };
	assert_int_equal(mac_table_new(1024, 64, 4, 300, &t, &e), 0);
	assert_int_equal(mac_table_per_port(t), 64);
	uint8_t m[6];
	int ok = 0, quota = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		fake_mac(m, i);
		int rc = mac_table_learn(t, 10, m, 1, 0);
		ok += rc == 0;
		quota += rc == -EDQUOT;
	}
	assert_int_equal(ok, 64);
	assert_int_equal(quota, 5000 - 64);
	assert_int_equal(mac_table_port_count(t, 1), 64);
	assert_int_equal(mac_table_port_limit_count(t), 5000 - 64);
	assert_int_equal(mac_table_full_count(t), 0);
	/* A known address of the full port is still refreshed. */
	fake_mac(m, 3);
	assert_int_equal(mac_table_learn(t, 10, m, 1, 1000), 0);
	/* Another port is learned; it cannot be pulled onto the full port. */
	assert_int_equal(mac_table_learn(t, 10, M1, 2, 0), 0);
	assert_int_equal(mac_table_learn(t, 10, M1, 1, 0), -EDQUOT);
	assert_int_equal(mac_table_lookup(t, 10, M1, 0), 2);
	assert_int_equal(mac_table_port_count(t, 2), 1);
	/* Moving off a port frees its share. */
	assert_int_equal(mac_table_learn(t, 10, m, 3, 1000), 0);
	assert_int_equal(mac_table_port_count(t, 1), 63);
	assert_int_equal(mac_table_port_count(t, 3), 1);
	fake_mac(m, 4999);
	assert_int_equal(mac_table_learn(t, 10, m, 1, 0), 0);
	assert_int_equal(mac_table_flush_port(t, 1), 64);
	assert_int_equal(mac_table_port_count(t, 1), 0);
	assert_int_equal(mac_table_count(t), 2);
	mac_table_free(t);
}

/* Every learn and lookup examines at most MAC_TABLE_PROBE_MAX slots, before
 * and after the table fills (the old table scanned every entry for each
 * address it could not learn), and the sweep examines what it is given. */
static void bounded_cost(void **state)
{
	struct mac_table *t = NULL;
	struct err e = { 0 };
	assert_int_equal(mac_table_new(4096, 0, 4, 300, &t, &e), 0);
	uint8_t m[6];
	uint64_t before, worst = 0;
	int full = 0;
	for (uint32_t i = 0; i < 60000; i++) {
		fake_mac(m, i * 2654435761u);
		before = mac_table_probes(t);
		int rc = mac_table_learn(t, (uint16_t)(1 + i % 7), m,
					 (uint16_t)(1 + i % 4), i);
		full += rc == -ENOSPC;
		uint64_t d = mac_table_probes(t) - before;
		worst = d > worst ? d : worst;
		before = mac_table_probes(t);
		mac_table_lookup(t, (uint16_t)(1 + i % 7), m, i);
		d = mac_table_probes(t) - before;
		worst = d > worst ? d : worst;
	}
	assert_true(worst <= MAC_TABLE_PROBE_MAX);
	/* The whole size limit is usable before refusals start. */
	assert_int_equal(mac_table_count(t), 4096);
	assert_int_equal(full, 60000 - 4096);
	assert_int_equal(mac_table_full_count(t), 60000 - 4096);
	/* Ageing: lookups see aged entries as gone at once; the sweep
	 * reclaims them a slice at a time. */
	uint64_t later = 60000 + 300 * 1000;
	assert_int_equal(mac_table_lookup(t, 1, m, later), -1);
	unsigned freed = 0, steps = 0;
	while (mac_table_count(t) && steps++ < 1000)
		freed += mac_table_age_step(t, later, 512);
	assert_int_equal(mac_table_count(t), 0);
	assert_true(steps <= mac_table_slots(t) / 512 + 1);
	assert_true(freed >= 4095);
	mac_table_free(t);
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
		cmocka_unit_test(per_port_limit),
		cmocka_unit_test(bounded_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
