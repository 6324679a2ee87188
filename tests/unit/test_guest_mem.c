/* core/guest_mem: bounds-checked gpa -> hva and the dirty-page log. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/guest_mem.h"

#define RAM0   0x80000000ULL
#define RAM0SZ (1ULL << 20)    /* 256 pages */
#define RAM1   0x100000000ULL
#define RAM1SZ (64ULL << 10)   /* 16 pages */

static void setup_mem(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(guest_mem_add(m, RAM0, RAM0SZ, NULL), 0);
	assert_int_equal(guest_mem_add(m, RAM1, RAM1SZ, NULL), 0);
}

static void bounds(void **state)
{
	(void)state;
	struct guest_mem m;
	setup_mem(&m);
	assert_non_null(gpa_ptr(&m, RAM0, RAM0SZ));
	assert_null(gpa_ptr(&m, RAM0, RAM0SZ + 1));
	assert_null(gpa_ptr(&m, RAM0 - 1, 2));
	assert_null(gpa_ptr(&m, RAM0 + RAM0SZ - 1, 2)); /* not contiguous */
	assert_null(gpa_ptr(&m, -1ULL, 2));              /* wraps */
	assert_non_null(gpa_ptr(&m, RAM1 + RAM1SZ - 1, 0));
	uint8_t b = 1;
	assert_int_equal(gpa_write(&m, RAM1 + RAM1SZ, &b, 1), -EFAULT);
	assert_int_equal(guest_mem_add(&m, RAM0 + 4096, 4096, NULL), -EINVAL);
	guest_mem_free(&m);
}

static void dirty_log(void **state)
{
	(void)state;
	struct guest_mem m;
	setup_mem(&m);
	uint64_t bm0[4], bm1[1];
	uint8_t buf[8192] = { 0 };

	/* Off: writes are not recorded. */
	assert_int_equal(gpa_write(&m, RAM0, buf, 1), 0);
	assert_int_equal(guest_mem_dirty_fetch(&m, 0, bm0), 0);

	assert_int_equal(guest_mem_dirty_log_start(&m, NULL), 0);
	assert_int_equal(guest_mem_dirty_fetch(&m, 0, bm0), 0);
	/* A host copy across a page boundary: pages 2 and 3. */
	assert_int_equal(gpa_write(&m, RAM0 + 0x2ffc, buf, 8), 0);
	/* An engine store reported by host address: page 255. */
	guest_mem_mark_dirty_hva(&m, gpa_ptr(&m, RAM0 + RAM0SZ - 1, 1), 1);
	/* Outside RAM: ignored. */
	guest_mem_mark_dirty_hva(&m, buf, sizeof(buf));
	/* Second region: 8 KiB from page 15's start would leave it: only
	 * page 15 exists there, clipped. */
	guest_mem_mark_dirty_hva(&m, gpa_ptr(&m, RAM1 + 15 * 4096, 1), 8192);
	assert_int_equal(guest_mem_dirty_fetch(&m, 0, bm0), 3);
	assert_int_equal(bm0[0], (1ULL << 2) | (1ULL << 3));
	assert_int_equal(bm0[1] | bm0[2], 0);
	assert_int_equal(bm0[3], 1ULL << 63);
	assert_int_equal(guest_mem_dirty_fetch(&m, 1, bm1), 1);
	assert_int_equal(bm1[0], 1ULL << 15);
	/* Fetch cleared it. */
	assert_int_equal(guest_mem_dirty_fetch(&m, 0, bm0), 0);
	assert_int_equal(guest_mem_dirty_fetch(&m, 7, bm0), 0);
	guest_mem_dirty_log_stop(&m);
	guest_mem_free(&m);
}

struct marker {
	struct guest_mem *m;
	unsigned first;
};

static void *mark_pages(void *arg)
{
	struct marker *k = arg;
	for (int round = 0; round < 200; round++)
		for (unsigned p = k->first; p < 256; p += 2)
			guest_mem_mark_dirty_hva(k->m, k->m->r[0].hva +
						 p * 4096ULL, 1);
	return NULL;
}

/* Two writer threads on interleaved pages of the same bitmap words: no
 * bit is lost (atomic OR), and a concurrent fetch+clear loses nothing. */
static void dirty_log_threads(void **state)
{
	(void)state;
	struct guest_mem m;
	setup_mem(&m);
	assert_int_equal(guest_mem_dirty_log_start(&m, NULL), 0);
	struct marker a = { &m, 0 }, b = { &m, 1 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, mark_pages, &a);
	pthread_create(&tb, NULL, mark_pages, &b);
	uint64_t seen[4] = { 0 }, bm[4];
	for (int i = 0; i < 1000; i++) {
		guest_mem_dirty_fetch(&m, 0, bm);
		for (int w = 0; w < 4; w++)
			seen[w] |= bm[w];
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	guest_mem_dirty_fetch(&m, 0, bm);
	for (int w = 0; w < 4; w++)
		assert_int_equal(seen[w] | bm[w], ~0ULL);
	guest_mem_free(&m);
}

/* Pages the host never backed read as zeros and are reported so without
 * being touched; written ones, zero-page reads and file-backed regions
 * count as backed; no pagemap means "read everything". */
static void backed_pages(void **state)
{
	(void)state;
	struct guest_mem m;
	setup_mem(&m);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		guest_mem_free(&m);
		skip();
	}
	uint8_t *hva = gpa_ptr(&m, RAM0, RAM0SZ);
	hva[3 * 4096] = 1;
	hva[200 * 4096 + 17] = 2;
	volatile uint8_t rd = hva[100 * 4096];   /* maps the zero page */
	(void)rd;
	uint64_t bits[GUEST_MEM_BACKED_MAX / 64];
	guest_mem_backed(&m, 0, pm, 0, 256, bits);
	for (unsigned p = 0; p < 256; p++) {
		bool want = p == 3 || p == 100 || p == 200;
		assert_int_equal(bits[p / 64] >> (p % 64) & 1, want);
	}
	/* A window from page 192 and asked past the region's end: only
	 * the region's 64 pages are answered. */
	memset(bits, 0, sizeof(bits));
	guest_mem_backed(&m, 0, pm, 192, GUEST_MEM_BACKED_MAX, bits);
	assert_int_equal(bits[0], 1ULL << 8);
	for (unsigned w = 1; w < GUEST_MEM_BACKED_MAX / 64; w++)
		assert_int_equal(bits[w], 0);
	/* The untouched pages were not faulted in by asking. */
	guest_mem_backed(&m, 0, pm, 0, 256, bits);
	assert_int_equal(bits[0], 1ULL << 3);
	/* Without pagemap: all backed. */
	guest_mem_backed(&m, 0, -1, 0, 256, bits);
	for (unsigned w = 0; w < 4; w++)
		assert_int_equal(bits[w], ~0ULL);
	/* A file-backed region: its pages hold the file's data. */
	char path[] = "/tmp/ringvm-test-backed.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)RAM1SZ), 0);
	assert_int_equal(pwrite(fd, "x", 1, 4096), 1);
	assert_int_equal(guest_mem_map_file(&m, 1, fd, 0, NULL), 0);
	close(fd);
	guest_mem_backed(&m, 1, pm, 0, 16, bits);
	assert_int_equal(bits[0] & 0xffff, 0xffff);
	close(pm);
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounds),
		cmocka_unit_test(dirty_log),
		cmocka_unit_test(dirty_log_threads),
		cmocka_unit_test(backed_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
