/* Unit tests for src/core/bus.c: registration, overlap refusal, access
 * size/alignment enforcement, dispatch offsets, unregistration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/bus.h"

/* A device that records the last access it saw. */
struct probe {
	uint64_t off, val;
	unsigned size;
	int calls;
	int fail;  /* negative errno to return, or 0 */
};

static int probe_read(void *opaque, uint64_t off, unsigned size,
		      uint64_t *val)
{
	struct probe *p = opaque;
	p->off = off;
	p->size = size;
	p->calls++;
	*val = 0x1122334455667788ULL >> (64 - 8 * size);
	return p->fail;
}

static int probe_write(void *opaque, uint64_t off, unsigned size,
		       uint64_t val)
{
	struct probe *p = opaque;
	p->off = off;
	p->size = size;
	p->val = val;
	p->calls++;
	return p->fail;
}

static const struct bus_ops any_ops = { probe_read, probe_write, 0, false };
static const struct bus_ops word_ops = { probe_read, probe_write, 4, false };
static const struct bus_ops loose_ops = { probe_read, probe_write, 0, true };

static void overlaps_refused(void **state)
{
	struct bus b = { 0 };
	struct probe p = { 0 };
	struct err e = { 0 };
	assert_int_equal(bus_register(&b, 0x1000, 0x100, &any_ops, &p, "a",
				      NULL), 0);
	assert_int_equal(bus_register(&b, 0x3000, 0x100, &any_ops, &p, "c",
				      NULL), 0);
	/* inside, straddling either end, covering, same base */
	assert_int_equal(bus_register(&b, 0x1080, 0x10, &any_ops, &p, "x",
				      &e), -EINVAL);
	assert_non_null(strstr(e.msg, "a"));
	assert_int_equal(bus_register(&b, 0xf80, 0x81, &any_ops, &p, "x",
				      NULL), -EINVAL);
	assert_int_equal(bus_register(&b, 0x10ff, 0x10, &any_ops, &p, "x",
				      NULL), -EINVAL);
	assert_int_equal(bus_register(&b, 0x0, 0x10000, &any_ops, &p, "x",
				      NULL), -EINVAL);
	assert_int_equal(bus_register(&b, 0x1000, 0x1, &any_ops, &p, "x",
				      NULL), -EINVAL);
	assert_int_equal(bus_register(&b, 0x2fff, 0x2, &any_ops, &p, "x",
				      NULL), -EINVAL);
	/* adjacent on both sides is fine */
	assert_int_equal(bus_register(&b, 0xf00, 0x100, &any_ops, &p, "l",
				      NULL), 0);
	assert_int_equal(bus_register(&b, 0x1100, 0x1f00, &any_ops, &p, "m",
				      NULL), 0);
	assert_int_equal(b.nr, 4);
	/* zero length and wrapping windows */
	assert_int_equal(bus_register(&b, 0x9000, 0, &any_ops, &p, "z",
				      NULL), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX - 1, 4, &any_ops, &p,
				      "w", NULL), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX, 1, &any_ops, &p, "t",
				      NULL), 0);
	for (unsigned i = 1; i < b.nr; i++)
		assert_true(b.r[i - 1].base < b.r[i].base);
	bus_free(&b);
}

static void many_regions_grow(void **state)
{
	struct bus b = { 0 };
	struct probe p = { 0 };
	/* Insert in descending order to exercise sorted insertion. */
	for (int i = 99; i >= 0; i--)
		assert_int_equal(bus_register(&b, 0x10000 + i * 0x100, 0x100,
					      &any_ops, &p, "d", NULL), 0);
	for (unsigned i = 0; i < 100; i++) {
		const struct bus_region *r = bus_find(&b, 0x10000 + i * 0x100 + 5);
		assert_non_null(r);
		assert_int_equal(r->base, 0x10000 + i * 0x100);
	}
	assert_null(bus_find(&b, 0xffff));
	assert_null(bus_find(&b, 0x10000 + 100 * 0x100));
	bus_free(&b);
}

static void dispatch_offsets(void **state)
{
	struct bus b = { 0 };
	struct probe p1 = { 0 }, p2 = { 0 };
	uint64_t v;
	assert_int_equal(bus_register(&b, 0x1000, 0x100, &any_ops, &p1, "a",
				      NULL), 0);
	assert_int_equal(bus_register(&b, 0x2000, 0x100, &any_ops, &p2, "b",
				      NULL), 0);
	assert_int_equal(bus_write(&b, 0x2010, 4, 0xdeadbeef), 0);
	assert_int_equal(p2.off, 0x10);
	assert_int_equal(p2.size, 4);
	assert_int_equal(p2.val, 0xdeadbeef);
	assert_int_equal(p1.calls, 0);
	assert_int_equal(bus_read(&b, 0x10f8, 8, &v), 0);
	assert_int_equal(p1.off, 0xf8);
	assert_int_equal(p1.size, 8);
	assert_int_equal(v, 0x1122334455667788ULL);
	assert_int_equal(bus_read(&b, 0x1001, 1, &v), 0);
	assert_int_equal(v, 0x11);
	/* holes and accesses running off the end of a window */
	assert_int_equal(bus_read(&b, 0x1800, 1, &v), -ENODEV);
	assert_int_equal(v, 0);
	assert_int_equal(bus_write(&b, 0x0, 1, 0), -ENODEV);
	assert_int_equal(bus_read(&b, 0x10fc, 8, &v), -ENODEV); /* past end */
	assert_int_equal(bus_read(&b, 0x10f4, 8, &v), -EINVAL); /* misaligned */
	bus_free(&b);
}

static void sizes_and_alignment_enforced(void **state)
{
	struct bus b = { 0 };
	struct probe w = { 0 }, l = { 0 };
	uint64_t v;
	assert_int_equal(bus_register(&b, 0x1000, 0x100, &word_ops, &w, "w",
				      NULL), 0);
	assert_int_equal(bus_register(&b, 0x2000, 0x100, &loose_ops, &l, "l",
				      NULL), 0);
	assert_int_equal(bus_read(&b, 0x1000, 1, &v), -EINVAL);
	assert_int_equal(bus_read(&b, 0x1000, 2, &v), -EINVAL);
	assert_int_equal(bus_read(&b, 0x1000, 8, &v), -EINVAL);
	assert_int_equal(bus_write(&b, 0x1002, 4, 1), -EINVAL);
	assert_int_equal(bus_read(&b, 0x1000, 3, &v), -EINVAL);
	assert_int_equal(bus_read(&b, 0x1000, 16, &v), -EINVAL);
	assert_int_equal(w.calls, 0);
	assert_int_equal(bus_read(&b, 0x1004, 4, &v), 0);
	assert_int_equal(w.calls, 1);
	/* unaligned allowed when declared, but not past the window end */
	assert_int_equal(bus_write(&b, 0x2003, 4, 7), 0);
	assert_int_equal(l.off, 3);
	assert_int_equal(bus_write(&b, 0x20fd, 4, 7), -ENODEV);
	bus_free(&b);
}

static void device_errors_propagate(void **state)
{
	struct bus b = { 0 };
	struct probe p = { .fail = -EIO };
	uint64_t v = 5;
	assert_int_equal(bus_register(&b, 0x1000, 0x10, &any_ops, &p, "a",
				      NULL), 0);
	assert_int_equal(bus_read(&b, 0x1000, 8, &v), -EIO);
	assert_int_equal(v, 0);  /* failed reads give 0 */
	assert_int_equal(bus_write(&b, 0x1000, 8, 1), -EIO);
	bus_free(&b);
}

static void unregister(void **state)
{
	struct bus b = { 0 };
	struct probe p = { 0 };
	uint64_t v;
	assert_int_equal(bus_register(&b, 0x1000, 0x100, &any_ops, &p, "a",
				      NULL), 0);
	assert_int_equal(bus_register(&b, 0x2000, 0x100, &any_ops, &p, "b",
				      NULL), 0);
	assert_int_equal(bus_unregister(&b, 0x1004), -ENOENT);
	assert_int_equal(bus_unregister(&b, 0x1000), 0);
	assert_int_equal(bus_unregister(&b, 0x1000), -ENOENT);
	assert_int_equal(bus_read(&b, 0x1000, 4, &v), -ENODEV);
	assert_int_equal(bus_read(&b, 0x2000, 4, &v), 0);
	/* the space is free again */
	assert_int_equal(bus_register(&b, 0x1080, 0x100, &any_ops, &p, "c",
				      NULL), 0);
	bus_free(&b);
	assert_int_equal(b.nr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlaps_refused),
		cmocka_unit_test(many_regions_grow),
		cmocka_unit_test(dispatch_offsets),
		cmocka_unit_test(sizes_and_alignment_enforced),
		cmocka_unit_test(device_errors_propagate),
		cmocka_unit_test(unregister),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
