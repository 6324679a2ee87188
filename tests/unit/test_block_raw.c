/* Unit tests for the block layer and the raw driver, on temporary files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"

struct fx {
	char dir[64];
	char img[96];
};

static void make_file(const char *path, size_t size, uint8_t fill)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	uint8_t buf[4096];
	memset(buf, fill, sizeof(buf));
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ringvm-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	make_file(f->img, 1 << 20, 0xab);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unlink(f->img);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void open_errors_name_the_file(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd = (void *)1;
	struct err e = { 0 };
	char path[128];
	snprintf(path, sizeof(path), "%s/missing.img", f->dir);
	assert_int_equal(block_open(path, false, &bd, &e), -ENOENT);
	assert_null(bd);
	char want[200];
	snprintf(want, sizeof(want),
		 "cannot open disk `%s`: No such file or directory", path);
	assert_string_equal(e.msg, want);

	/* a directory, read-only and read-write */
	err_clear(&e);
	assert_int_equal(block_open(f->dir, true, &bd, &e), -EISDIR);
	snprintf(want, sizeof(want), "cannot open disk `%s`: Is a directory",
		 f->dir);
	assert_string_equal(e.msg, want);
	assert_int_equal(block_open(f->dir, false, &bd, NULL), -EISDIR);

	/* neither a file nor a block device */
	err_clear(&e);
	assert_int_equal(block_open("/dev/null", true, &bd, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "/dev/null"));

	/* unknown format name */
	err_clear(&e);
	assert_int_equal(block_open_format(f->img, "qcow9", true, &bd, &e),
			 -EINVAL);
	assert_non_null(strstr(e.msg, "qcow9"));
	block_close(NULL);
}

static void read_write_round_trip(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);
	assert_string_equal(bd->drv->name, "raw");
	assert_int_equal(bd->size, 1 << 20);
	assert_false(bd->read_only);

	uint8_t buf[8192], back[8192];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(block_pwrite(bd, buf, sizeof(buf), 4096), 0);
	assert_int_equal(block_pread(bd, back, sizeof(back), 4096), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	/* unaligned offsets and lengths are the driver's business, fine */
	assert_int_equal(block_pread(bd, back, 3, 4095), 0);
	assert_int_equal(back[0], 0xab);
	assert_int_equal(back[1], 0);
	assert_int_equal(back[2], 7);
	/* the last byte, and nothing beyond */
	assert_int_equal(block_pwrite(bd, "z", 1, (1 << 20) - 1), 0);
	assert_int_equal(block_pread(bd, back, 1, (1 << 20) - 1), 0);
	assert_int_equal(back[0], 'z');
	assert_int_equal(block_pread(bd, back, 2, (1 << 20) - 1), -EINVAL);
	assert_int_equal(block_pwrite(bd, buf, 1, 1 << 20), -EINVAL);
	assert_int_equal(block_pread(bd, back, 1, UINT64_MAX), -EINVAL);
	assert_int_equal(block_pread(bd, back, 0, 1 << 20), 0);
	assert_int_equal(block_flush(bd), 0);
	block_close(bd);

	/* the data is in the file, and the file did not grow */
	struct stat st;
	assert_int_equal(stat(f->img, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_int_equal(block_open_format(f->img, "raw", true, &bd, NULL), 0);
	assert_int_equal(block_pread(bd, back, sizeof(back), 4096), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	block_close(bd);
}

/* Vectored I/O: pieces land back to back, the range check covers the total,
 * and read-only still refuses. */
static void vectored_round_trip(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);
	uint8_t a[4096], b[100], c[3000], back[sizeof(a) + sizeof(b) + sizeof(c)];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	memset(c, 3, sizeof(c));
	struct iovec w[] = { { a, sizeof(a) }, { b, 0 }, { b, sizeof(b) },
			     { c, sizeof(c) } };
	assert_int_equal(block_pwritev(bd, w, 4, 12345), 0);
	assert_int_equal(block_pread(bd, back, sizeof(back), 12345), 0);
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + sizeof(a), b, sizeof(b));
	assert_memory_equal(back + sizeof(a) + sizeof(b), c, sizeof(c));

	uint8_t r1[10], r2[3000];
	struct iovec r[] = { { r1, sizeof(r1) }, { r2, sizeof(r2) } };
	assert_int_equal(block_preadv(bd, r, 2, 12345 + 4090), 0);
	assert_memory_equal(r1, back + 4090, sizeof(r1));
	assert_memory_equal(r2, back + 4100, sizeof(r2));

	/* the total, not the first piece, must fit */
	struct iovec big[] = { { a, sizeof(a) }, { a, sizeof(a) } };
	assert_int_equal(block_preadv(bd, big, 2, (1 << 20) - 4096), -EINVAL);
	assert_int_equal(block_pwritev(bd, big, 0, 0), -EINVAL);
	block_close(bd);

	assert_int_equal(block_open(f->img, true, &bd, NULL), 0);
	assert_int_equal(block_pwritev(bd, w, 1, 0), -EROFS);
	block_close(bd);
}

static void read_only_refuses_writes(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	uint8_t buf[512] = { 0 };
	assert_int_equal(block_open(f->img, true, &bd, NULL), 0);
	assert_true(bd->read_only);
	assert_int_equal(block_pwrite(bd, buf, 512, 0), -EROFS);
	assert_int_equal(block_discard(bd, 0, 512), -EROFS);
	assert_int_equal(block_write_zeroes(bd, 0, 512, false), -EROFS);
	assert_int_equal(block_flush(bd), 0);
	assert_int_equal(block_pread(bd, buf, 512, 0), 0);
	assert_int_equal(buf[0], 0xab);
	block_close(bd);
}

static void locking(void **state)
{
	struct fx *f = *state;
	struct block_dev *a, *b, *c;
	struct err e = { 0 };
	/* one writer excludes everyone */
	assert_int_equal(block_open(f->img, false, &a, NULL), 0);
	assert_int_equal(block_open(f->img, false, &c, &e), -EBUSY);
	assert_null(c);
	assert_non_null(strstr(e.msg, f->img));
	assert_non_null(strstr(e.msg, "in use"));
	assert_int_equal(block_open(f->img, true, &c, NULL), -EBUSY);
	block_close(a);
	/* readers share, and exclude a writer */
	assert_int_equal(block_open(f->img, true, &a, NULL), 0);
	assert_int_equal(block_open(f->img, true, &b, NULL), 0);
	assert_int_equal(block_open(f->img, false, &c, NULL), -EBUSY);
	block_close(a);
	assert_int_equal(block_open(f->img, false, &c, NULL), -EBUSY);
	block_close(b);
	assert_int_equal(block_open(f->img, false, &a, NULL), 0);
	block_close(a);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void discard_and_write_zeroes(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	static uint8_t buf[256 * 1024];
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);

	/* write zeroes, keeping or dropping the space */
	assert_int_equal(block_write_zeroes(bd, 8192, 8192, false), 0);
	assert_int_equal(block_write_zeroes(bd, 65536, 4096, true), 0);
	assert_int_equal(block_pread(bd, buf, 8192, 8192), 0);
	assert_true(all_zero(buf, 8192));
	assert_int_equal(block_pread(bd, buf, 4096, 65536), 0);
	assert_true(all_zero(buf, 4096));
	assert_int_equal(block_pread(bd, buf, 1, 8191), 0);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(block_pread(bd, buf, 1, 16384), 0);
	assert_int_equal(buf[0], 0xab);
	/* unaligned and larger than the fallback's zero buffer */
	assert_int_equal(block_write_zeroes(bd, 100001, 200000, false), 0);
	assert_int_equal(block_pread(bd, buf, 200002, 100000), 0);
	assert_int_equal(buf[0], 0xab);
	assert_true(all_zero(buf + 1, 200000));
	assert_int_equal(buf[200001], 0xab);

	/* discard: a hint that must not fail or change the size */
	assert_int_equal(block_discard(bd, 0, 4096), 0);
	assert_int_equal(block_discard(bd, 0, 0), 0);
	assert_int_equal(block_discard(bd, 4096, 1 << 20), -EINVAL);
	assert_int_equal(block_write_zeroes(bd, 1 << 20, 1, false), -EINVAL);
	block_close(bd);
	struct stat st;
	assert_int_equal(stat(f->img, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
}

static void file_shrinks_under_us(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	uint8_t buf[1024];
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);
	assert_int_equal(truncate(f->img, 512), 0);
	/* what is gone reads as zeros */
	assert_int_equal(block_pread(bd, buf, 1024, 0), 0);
	assert_int_equal(buf[511], 0xab);
	assert_true(all_zero(buf + 512, 512));
	block_close(bd);
}

static void empty_image(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	uint8_t c;
	make_file(f->img, 0, 0);
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);
	assert_int_equal(bd->size, 0);
	assert_int_equal(block_pread(bd, &c, 0, 0), 0);
	assert_int_equal(block_pread(bd, &c, 1, 0), -EINVAL);
	block_close(bd);
}

/* ---- the sector 0 guard of a probed raw image ---- */

static const uint8_t qcow2_magic[4] = { 'Q', 'F', 'I', 0xfb };

/* What the first 512 bytes of the file hold now. */
static void head_of(const char *path, uint8_t head[512])
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, head, 512, 0), 512);
	close(fd);
}

/* A qcow2 header naming a host file as raw backing file, as a guest would
 * write it over its disk's first sector. */
static void evil_header(uint8_t *b, size_t len)
{
	static const char name[] = "/etc/passwd";
	memset(b, 0, len);
	memcpy(b, qcow2_magic, 4);
	b[7] = 3;                                  /* version */
	b[15] = 0x80;                              /* backing file offset */
	b[19] = sizeof(name) - 1;                  /* its length */
	b[23] = 16;                                /* cluster bits */
	memcpy(b + 0x80, name, sizeof(name) - 1);
}

static void probe_guard_refuses_other_formats(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	uint8_t before[512], after[512], sec[4096];
	head_of(f->img, before);
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);
	assert_true(bd->probe_guard);

	evil_header(sec, sizeof(sec));
	assert_int_equal(block_pwrite(bd, sec, 512, 0), -EPERM);
	assert_int_equal(block_pwrite(bd, sec, sizeof(sec), 0), -EPERM);
	/* only the magic is enough for the probe, so it is refused alone */
	assert_int_equal(block_pwrite(bd, qcow2_magic, 4, 0), -EPERM);
	/* pieces: each keeps the sector raw until the one that would not */
	assert_int_equal(block_pwrite(bd, "QF", 2, 0), 0);
	assert_int_equal(block_pwrite(bd, "I\xfb", 2, 2), -EPERM);
	/* vectored, the magic split across pieces (and past the sector) */
	uint8_t tail[1024];
	memset(tail, 0x5a, sizeof(tail));
	struct iovec v[] = { { (void *)"Q", 1 }, { (void *)"F", 1 },
			     { (void *)"I\xfb", 2 }, { tail, sizeof(tail) } };
	assert_int_equal(block_pwritev(bd, v, 4, 0), -EPERM);
	struct iovec v2[] = { { (void *)"I", 1 }, { (void *)"\xfb", 1 },
			      { tail, sizeof(tail) } };
	assert_int_equal(block_pwritev(bd, v2, 3, 2), -EPERM);
	block_close(bd);

	/* nothing of the refused writes landed; the next open is raw */
	head_of(f->img, after);
	memcpy(before, "QF", 2);
	assert_memory_equal(before, after, 512);
	assert_int_equal(block_open(f->img, true, &bd, NULL), 0);
	assert_string_equal(bd->drv->name, "raw");
	block_close(bd);
}

static void probe_guard_allows_raw_contents(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	uint8_t mbr[512], back[512], buf[8192];
	assert_int_equal(block_open(f->img, false, &bd, NULL), 0);
	/* a DOS partition table: boot code, one entry, the signature */
	memset(mbr, 0, sizeof(mbr));
	mbr[0] = 0xeb;
	mbr[446 + 4] = 0x83;
	mbr[446 + 8] = 0x08;
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	assert_int_equal(block_pwrite(bd, mbr, sizeof(mbr), 0), 0);
	assert_int_equal(block_pread(bd, back, sizeof(back), 0), 0);
	assert_memory_equal(back, mbr, sizeof(mbr));
	/* a write that covers part of the sector, and one vectored */
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(block_pwrite(bd, buf, sizeof(buf), 300), 0);
	struct iovec v[] = { { mbr, 100 }, { buf, 1000 } };
	assert_int_equal(block_pwritev(bd, v, 2, 0), 0);
	/* zeros keep any sector raw */
	assert_int_equal(block_write_zeroes(bd, 0, 4096, false), 0);
	assert_int_equal(block_discard(bd, 0, 4096), 0);
	/* the magic anywhere but at the start is data */
	evil_header(buf, sizeof(buf));
	assert_int_equal(block_pwrite(bd, buf, 4096, 512), 0);
	assert_int_equal(block_pwrite(bd, buf, 4096, 1), 0);
	block_close(bd);
}

static void probe_guard_only_when_probed_raw(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd;
	uint8_t sec[512], back[512];
	evil_header(sec, sizeof(sec));
	/* the user named the format: the guest owns every byte */
	assert_int_equal(block_open_format(f->img, "raw", false, &bd, NULL), 0);
	assert_false(bd->probe_guard);
	assert_int_equal(block_pwrite(bd, sec, sizeof(sec), 0), 0);
	assert_int_equal(block_pread(bd, back, sizeof(back), 0), 0);
	assert_memory_equal(back, sec, sizeof(sec));
	block_close(bd);
	/* read-only probed raw images cannot be written anyway */
	make_file(f->img, 1 << 20, 0);
	assert_int_equal(block_open(f->img, true, &bd, NULL), 0);
	assert_false(bd->probe_guard);
	block_close(bd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(open_errors_name_the_file),
		T(read_write_round_trip),
		T(vectored_round_trip),
		T(read_only_refuses_writes),
		T(locking),
		T(discard_and_write_zeroes),
		T(file_shrinks_under_us),
		T(empty_image),
		T(probe_guard_refuses_other_formats),
		T(probe_guard_allows_raw_contents),
		T(probe_guard_only_when_probed_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
