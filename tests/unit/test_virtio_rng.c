/* Unit tests for virtio-rng: requests through a real split ring in guest
 * memory and the virtio-mmio registers; the entropy source is replaced to
 * check what reaches the guest, and hostile chains. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hw/virtio_rng.h"

#define BASE   0x10001000ULL
#define RAM    0x80000000ULL
#define RAMSZ  (1u << 20)
#define QSIZE  16
#define DESC   (RAM + 0x1000)
#define AVAIL  (RAM + 0x2000)
#define USED   (RAM + 0x3000)
#define DATA   (RAM + 0x10000)

struct fx {
	struct guest_mem mem;
	struct bus bus;
	struct virtio_rng rng;
	int level;
	uint16_t avail_idx, used_seen;
	uint32_t used_len;
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

/* Test entropy: 0xa5 bytes; fill_limit caps the bytes handed out in all
 * (then EAGAIN, as getrandom with GRND_NONBLOCK before the pool is ready);
 * fill_calls counts calls and checks the flags. */
static size_t fill_limit = SIZE_MAX, fill_given;
static unsigned fill_calls;

static ssize_t fake_fill(void *buf, size_t len, unsigned flags)
{
	fill_calls++;
	assert_true(flags & GRND_NONBLOCK);
	if (fill_given >= fill_limit) {
		errno = EAGAIN;
		return -1;
	}
	if (len > fill_limit - fill_given)
		len = fill_limit - fill_given;
	/* Short reads, as getrandom may give. */
	if (len > 1000)
		len = 1000;
	memset(buf, 0xa5, len);
	fill_given += len;
	return (ssize_t)len;
}

static void set_level(void *opaque, unsigned num, int level)
{
	((struct fx *)opaque)->level = level;
}

static uint32_t rd(struct fx *f, unsigned off)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->bus, BASE + off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fx *f, unsigned off, uint32_t v)
{
	assert_int_equal(bus_write(&f->bus, BASE + off, 4, v), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_int_equal(guest_mem_add(&f->mem, RAM, RAMSZ, NULL), 0);
	struct irq_line irq = { set_level, f, 9 };
	assert_int_equal(virtio_rng_init(&f->rng, &f->bus, BASE, &f->mem, irq,
					 NULL), 0);
	f->rng.fill = fake_fill;
	fill_limit = SIZE_MAX;
	fill_given = 0;
	fill_calls = 0;

	wr(f, VIRTIO_MMIO_STATUS, 0);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 1);  /* VERSION_1 */
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	virtio_rng_exit(&f->rng);
	bus_free(&f->bus);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

static void put_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	assert_int_equal(gpa_write(&f->mem, DESC + 16 * i, d, 16), 0);
}

static void write_chain(struct fx *f, const struct seg *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_desc(f, i, s[i].gpa, s[i].len,
			 (s[i].w ? VIRTQ_DESC_F_WRITE : 0) |
			 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0), (uint16_t)(i + 1));
}

static void kick(struct fx *f)
{
	uint16_t head = 0, slot = f->avail_idx % QSIZE;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 4 + 2 * slot, &head, 2), 0);
	f->avail_idx++;
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &f->avail_idx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* The next used element must be there: returns its length. */
static uint32_t reap(struct fx *f)
{
	uint16_t idx = 0;
	uint32_t e[2] = { 0, 0 };
	assert_int_equal(gpa_read(&f->mem, USED + 2, &idx, 2), 0);
	assert_int_equal((uint16_t)(idx - f->used_seen), 1);
	assert_int_equal(gpa_read(&f->mem, USED + 4 + 8 * (f->used_seen % QSIZE),
				  e, 8), 0);
	f->used_seen++;
	assert_int_equal(e[0], 0);
	return e[1];
}

static unsigned count_a5(struct fx *f, uint64_t gpa, uint32_t len)
{
	uint8_t *p = gpa_ptr(&f->mem, gpa, len);
	assert_non_null(p);
	unsigned n = 0;
	for (uint32_t i = 0; i < len; i++)
		n += p[i] == 0xa5;
	return n;
}

static void device_identity(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), 4);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_RNG_QUEUE_MAX);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void fills_writable_buffers(void **state)
{
	struct fx *f = *state;
	struct seg s[] = { { DATA, 64, true }, { DATA + 0x1000, 3000, true } };
	write_chain(f, s, 2);
	kick(f);
	assert_int_equal(reap(f), 3064);
	assert_int_equal(count_a5(f, DATA, 64), 64);
	assert_int_equal(count_a5(f, DATA + 0x1000, 3000), 3000);
	assert_int_equal(count_a5(f, DATA + 0x1000 + 3000, 100), 0);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->rng.stats.bytes, 3064);
}

static void real_getrandom(void **state)
{
	struct fx *f = *state;
	struct virtio_rng fresh;
	struct bus b2 = { 0 };
	assert_int_equal(virtio_rng_init(&fresh, &b2, BASE, &f->mem,
					 (struct irq_line){ 0 }, NULL), 0);
	f->rng.fill = fresh.fill;
	virtio_rng_exit(&fresh);
	bus_free(&b2);
	struct seg s[] = { { DATA, 256, true } };
	write_chain(f, s, 1);
	kick(f);
	assert_int_equal(reap(f), 256);
	/* 256 random bytes are not all zero (odds 2^-2048). */
	uint8_t *p = gpa_ptr(&f->mem, DATA, 256), acc = 0;
	for (int i = 0; i < 256; i++)
		acc |= p[i];
	assert_int_not_equal(acc, 0);
}

static void readable_buffers_untouched(void **state)
{
	struct fx *f = *state;
	/* Only readable: nothing written, nothing read from the source. */
	struct seg s[] = { { DATA, 512, false } };
	write_chain(f, s, 1);
	kick(f);
	assert_int_equal(reap(f), 0);
	assert_int_equal(count_a5(f, DATA, 512), 0);
	assert_int_equal(fill_calls, 0);
	/* Readable then writable: only the writable part is filled. */
	struct seg s2[] = { { DATA, 512, false }, { DATA + 0x1000, 32, true } };
	write_chain(f, s2, 2);
	kick(f);
	assert_int_equal(reap(f), 32);
	assert_int_equal(count_a5(f, DATA, 512), 0);
	assert_int_equal(count_a5(f, DATA + 0x1000, 32), 32);
}

static void huge_buffers_bounded(void **state)
{
	struct fx *f = *state;
	/* 900 KiB of writable buffers: only VIRTIO_RNG_MAX_CHAIN bytes. */
	struct seg s[] = { { DATA, 600 * 1024, true },
			   { DATA + 600 * 1024, 300 * 1024, true } };
	write_chain(f, s, 2);
	kick(f);
	assert_int_equal(reap(f), VIRTIO_RNG_MAX_CHAIN);
	assert_int_equal(count_a5(f, DATA, 600 * 1024), VIRTIO_RNG_MAX_CHAIN);
	assert_int_equal(count_a5(f, DATA + 600 * 1024, 300 * 1024), 0);
}

static void outside_ram_and_bad_chains(void **state)
{
	struct fx *f = *state;
	/* A buffer running past the end of RAM, one far outside, one that
	 * wraps the address space: completed with 0, nothing filled. */
	struct seg s1[] = { { RAM + RAMSZ - 16, 32, true } };
	write_chain(f, s1, 1);
	kick(f);
	assert_int_equal(reap(f), 0);
	struct seg s2[] = { { 0x1000, 64, true } };
	write_chain(f, s2, 1);
	kick(f);
	assert_int_equal(reap(f), 0);
	struct seg s3[] = { { UINT64_MAX - 8, 0xffffffffu, true } };
	write_chain(f, s3, 1);
	kick(f);
	assert_int_equal(reap(f), 0);
	/* Writable before readable is malformed. */
	struct seg s4[] = { { DATA, 16, true }, { DATA + 64, 16, false } };
	write_chain(f, s4, 2);
	kick(f);
	assert_int_equal(reap(f), 0);
	/* A chain looping on itself. */
	put_desc(f, 0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	kick(f);
	assert_int_equal(reap(f), 0);
	/* More buffers than the device takes. */
	for (unsigned i = 0; i < QSIZE; i++)
		put_desc(f, i, DATA + 64 * i, 16, VIRTQ_DESC_F_WRITE |
			 (i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0), (uint16_t)(i + 1));
	kick(f);
	assert_int_equal(reap(f), 0);
	assert_int_equal(f->rng.stats.bad_chains, 6);
	assert_int_equal(fill_calls, 0);
	assert_int_equal(count_a5(f, DATA, 4096), 0);
	/* The device still works afterwards. */
	struct seg ok[] = { { DATA, 8, true } };
	write_chain(f, ok, 1);
	kick(f);
	assert_int_equal(reap(f), 8);
}

static void pool_not_ready_gives_short_answer(void **state)
{
	struct fx *f = *state;
	fill_limit = 0;
	struct seg s[] = { { DATA, 64, true } };
	write_chain(f, s, 1);
	kick(f);
	assert_int_equal(reap(f), 0);
	fill_limit = 40;
	fill_given = 0;
	struct seg s2[] = { { DATA, 64, true }, { DATA + 128, 64, true } };
	write_chain(f, s2, 2);
	kick(f);
	assert_int_equal(reap(f), 40);
	assert_int_equal(count_a5(f, DATA, 64), 40);
	assert_int_equal(count_a5(f, DATA + 128, 64), 0);
	assert_true(f->rng.stats.short_reads >= 2);
}

static void corrupt_ring_needs_reset(void **state)
{
	struct fx *f = *state;
	uint16_t idx = 1000;  /* far ahead of what the device has seen */
	assert_int_equal(gpa_write(&f->mem, AVAIL + 2, &idx, 2), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(fill_calls, 0);
}

/* Machine reset (virtio_mmio_reset): as a driver's Status = 0 write. */
static void machine_reset(void **state)
{
	struct fx *f = *state;
	struct seg s[] = { { DATA, 8, true } };
	write_chain(f, s, 1);
	kick(f);
	assert_int_equal(reap(f), 8);
	assert_int_equal(f->level, 1);
	virtio_mmio_reset(&f->rng.t);
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	/* A notify now is ignored: nothing is consumed. */
	unsigned calls = fill_calls;
	write_chain(f, s, 1);
	kick(f);
	assert_int_equal(fill_calls, calls);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(device_identity),
		T(fills_writable_buffers),
		T(real_getrandom),
		T(readable_buffers_untouched),
		T(huge_buffers_bounded),
		T(outside_ram_and_bad_chains),
		T(pool_not_ready_gives_short_answer),
		T(corrupt_ring_needs_reset),
		T(machine_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
