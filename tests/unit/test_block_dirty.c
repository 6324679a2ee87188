/* Dirty-block tracking (block/dirty.h) on a raw image: which granules a
 * write, a vectored write, a discard and a write-zeroes mark, that reads
 * mark nothing, that a fetch clears, and the lock hand-off of live
 * migration (block_lock_release / block_lock_take).
 *
 *   marks_written_granules   each kind of write marks exactly the granules
 *                            it touches (crossing a boundary marks both,
 *                            the partial last granule counts); reads and
 *                            failed range checks mark nothing
 *   fetch_clears             a second fetch is empty; tracking off: fetch 0
 *   start_twice_and_bad      a second start is -EBUSY; a granule that is
 *                            not a power of two >= 512 is -EINVAL
 *   lock_hand_off            released: another open of the image for
 *                            writing succeeds (as the target's would);
 *                            taken back while that one holds it: -EBUSY;
 *                            after it closes: 0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block.h"
#include "block/dirty.h"

#define SIZE ((1u << 20) + 4096)   /* 16 granules of 64 KiB and a bit */
#define GRAN 65536u
#define WORDS 1

struct fx {
	char path[64];
	struct block_dev *bd;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->path, "/tmp/ringvm-test-dirty-XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	close(fd);
	assert_int_equal(block_open_format(f->path, "raw", false, &f->bd,
					   NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	block_close(f->bd);
	unlink(f->path);
	free(f);
	return 0;
}

static uint64_t fetch(struct block_dev *bd, uint64_t *n)
{
	uint64_t bits[WORDS + 1] = { 0 };
	*n = block_dirty_fetch(bd, bits);
	return bits[0];
}

static void marks_written_granules(void **state)
{
	struct fx *f = *state;
	assert_int_equal(block_dirty_start(f->bd, GRAN, NULL), 0);
	uint64_t n;
	uint8_t buf[8192] = { 1 };
	/* Within granule 1. */
	assert_int_equal(block_pwrite(f->bd, buf, 512, GRAN + 512), 0);
	assert_int_equal(fetch(f->bd, &n), 1u << 1);
	assert_int_equal(n, 1);
	/* Across granules 2 and 3. */
	assert_int_equal(block_pwrite(f->bd, buf, 1024, 3 * GRAN - 512), 0);
	assert_int_equal(fetch(f->bd, &n), 3u << 2);
	assert_int_equal(n, 2);
	/* Vectored, in granule 5; the partial last granule (16). */
	struct iovec iov[2] = { { buf, 512 }, { buf + 512, 512 } };
	assert_int_equal(block_pwritev(f->bd, iov, 2, 5 * GRAN), 0);
	assert_int_equal(block_pwrite(f->bd, buf, 4096, SIZE - 4096), 0);
	assert_int_equal(fetch(f->bd, &n), 1u << 5 | 1u << 16);
	/* Discard of granules 7..8, zeroes in 10. */
	assert_int_equal(block_discard(f->bd, 7 * GRAN, 2 * GRAN), 0);
	assert_int_equal(block_write_zeroes(f->bd, 10 * GRAN, 4096, false), 0);
	assert_int_equal(fetch(f->bd, &n), 3u << 7 | 1u << 10);
	/* Reads and refused writes mark nothing. */
	assert_int_equal(block_pread(f->bd, buf, 4096, 0), 0);
	assert_int_equal(block_pwrite(f->bd, buf, 8192, SIZE - 4096), -EINVAL);
	assert_int_equal(fetch(f->bd, &n), 0);
	assert_int_equal(n, 0);
	block_dirty_stop(f->bd);
}

static void fetch_clears(void **state)
{
	struct fx *f = *state;
	uint64_t n;
	uint8_t buf[512] = { 2 };
	assert_int_equal(block_pwrite(f->bd, buf, 512, 0), 0);
	assert_int_equal(fetch(f->bd, &n), 0);   /* not tracking */
	assert_int_equal(block_dirty_start(f->bd, GRAN, NULL), 0);
	assert_int_equal(block_pwrite(f->bd, buf, 512, 0), 0);
	assert_int_equal(fetch(f->bd, &n), 1);
	assert_int_equal(fetch(f->bd, &n), 0);
	block_dirty_stop(f->bd);
	block_dirty_stop(f->bd);   /* harmless when off */
}

static void start_twice_and_bad(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	assert_int_equal(block_dirty_start(f->bd, 1000, &e), -EINVAL);
	assert_int_equal(block_dirty_start(f->bd, 256, &e), -EINVAL);
	assert_int_equal(block_dirty_start(f->bd, GRAN, NULL), 0);
	err_clear(&e);
	assert_int_equal(block_dirty_start(f->bd, GRAN, &e), -EBUSY);
	assert_non_null(strstr(e.msg, f->path));
	block_dirty_stop(f->bd);
}

static void lock_hand_off(void **state)
{
	struct fx *f = *state;
	struct block_dev *other;
	struct err e = { 0 };
	assert_int_equal(block_open_format(f->path, "raw", false, &other, &e),
			 -EBUSY);
	assert_int_equal(block_flush(f->bd), 0);
	block_lock_release(f->bd);
	assert_int_equal(block_open_format(f->path, "raw", false, &other,
					   NULL), 0);
	err_clear(&e);
	assert_int_equal(block_lock_take(f->bd, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "in use"));
	block_close(other);
	assert_int_equal(block_lock_take(f->bd, NULL), 0);
	assert_int_equal(block_open_format(f->path, "raw", false, &other,
					   NULL), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(marks_written_granules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fetch_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(start_twice_and_bad, setup,
						teardown),
		cmocka_unit_test_setup_teardown(lock_hand_off, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
