#include "sifive_test.h"

#define TEST_PASS  0x5555
#define TEST_FAIL  0x3333
#define TEST_RESET 0x7777

static int test_read(void *opaque, uint64_t off, unsigned size,
		     uint64_t *val)
{
	*val = 0;
	return 0;
}

static int test_write(void *opaque, uint64_t off, unsigned size,
		      uint64_t val)
{
	struct sifive_test *t = opaque;
	if (off != 0 || !t->cb)
		return 0;
	switch (val & 0xffff) {
	case TEST_PASS:
		t->cb(t->opaque, SIFIVE_TEST_PASS, 0);
		break;
	case TEST_FAIL:
		t->cb(t->opaque, SIFIVE_TEST_FAIL, (int)((val >> 16) & 0xffff));
		break;
	case TEST_RESET:
		t->cb(t->opaque, SIFIVE_TEST_RESET, 0);
		break;
	}
	return 0;
}

/* OpenSBI writes the finisher with 16-bit stores, bare-metal tests with
 * 32-bit ones (QEMU accepts both too). */
static const struct bus_ops test_ops = {
	.read = test_read,
	.write = test_write,
	.sizes = 2 | 4,
};

int sifive_test_init(struct sifive_test *t, struct bus *bus, uint64_t base,
		     void (*cb)(void *opaque, int kind, int code),
		     void *opaque, struct err *errp)
{
	*t = (struct sifive_test){ NULL, base, cb, opaque };
	int rc = bus_register(bus, base, SIFIVE_TEST_SIZE, &test_ops, t,
			      "sifive_test", errp);
	if (rc)
		return rc;
	t->bus = bus;
	return 0;
}

void sifive_test_exit(struct sifive_test *t)
{
	if (t->bus)
		bus_unregister(t->bus, t->base);
	t->bus = NULL;
}
