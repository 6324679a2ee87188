/* Unit tests for the block layer's cache modes (cache=writeback, none,
 * unsafe, writethrough), its thread safety and per-open state: raw and
 * qcow2 images in temporary files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"

#define SIZE (1u << 20)

struct fx {
	char dir[64];
	char img[96], img2[96], back[96], back2[96];
};

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 10));
}

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	free(buf);
	close(fd);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/var/tmp/ringvm-cache-XXXXXX");
	if (!mkdtemp(f->dir)) {
		strcpy(f->dir, "/tmp/ringvm-cache-XXXXXX");
		assert_non_null(mkdtemp(f->dir));
	}
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	snprintf(f->img2, sizeof(f->img2), "%s/disk2.qcow2", f->dir);
	snprintf(f->back, sizeof(f->back), "%s/back.qcow2", f->dir);
	snprintf(f->back2, sizeof(f->back2), "%s/back2.qcow2", f->dir);
	make_file(f->img, SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unlink(f->img);
	unlink(f->img2);
	unlink(f->back);
	unlink(f->back2);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The open flags of this process's descriptor for path (from
 * /proc/self/fdinfo), or -1. */
static int fd_flags(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int flags = -1;
	for (struct dirent *e; flags < 0 && (e = readdir(d));) {
		char l[300], t[512];
		snprintf(l, sizeof(l), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(l, t, sizeof(t) - 1);
		if (n <= 0)
			continue;
		t[n] = 0;
		if (strcmp(t, path))
			continue;
		snprintf(l, sizeof(l), "/proc/self/fdinfo/%s", e->d_name);
		FILE *fi = fopen(l, "r");
		char line[128];
		while (fi && fgets(line, sizeof(line), fi))
			if (sscanf(line, "flags: %o", (unsigned *)&flags) == 1)
				break;
		if (fi)
			fclose(fi);
	}
	closedir(d);
	return flags;
}

static int open_cache(const char *path, const char *fmt,
		      enum block_cache cache, struct block_dev **bd)
{
	struct block_open_opts o = { .format = fmt, .cache = cache };
	struct err e = { 0 };
	int rc = block_open_with(path, &o, bd, &e);
	if (rc && rc != -EINVAL)
		print_error("%s\n", e.msg);
	return rc;
}

/* cache=none on this file system, or skip the test. */
static struct block_dev *open_direct(const char *path, const char *fmt)
{
	struct block_dev *bd = NULL;
	struct block_open_opts o = { .format = fmt, .cache = BLOCK_CACHE_NONE };
	struct err e = { 0 };
	int rc = block_open_with(path, &o, &bd, &e);
	if (rc == -EINVAL && strstr(e.msg, "direct I/O")) {
		fprintf(stderr, "SKIP: %s\n", e.msg);
		return NULL;
	}
	assert_int_equal(rc, 0);
	return bd;
}

static void file_read(const char *path, void *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void modes_set_open_flags_and_syncs(void **state)
{
	struct fx *f = *state;
	static const struct { enum block_cache c; int want, refuse; uint64_t syncs; }
	m[] = {
		{ BLOCK_CACHE_WRITEBACK, 0, O_DIRECT | O_DSYNC, 1 },
		{ BLOCK_CACHE_UNSAFE, 0, O_DIRECT | O_DSYNC, 0 },
		{ BLOCK_CACHE_WRITETHROUGH, O_DSYNC, O_DIRECT, 1 },
		{ BLOCK_CACHE_NONE, O_DIRECT, O_DSYNC, 1 },
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct block_dev *bd = NULL;
		if (m[i].c == BLOCK_CACHE_NONE) {
			bd = open_direct(f->img, "raw");
			if (!bd)
				continue;
			assert_true(bd->dio_align >= 512);
		} else {
			assert_int_equal(open_cache(f->img, "raw", m[i].c, &bd),
					 0);
			assert_int_equal(bd->dio_align, 0);
		}
		assert_int_equal(bd->cache, m[i].c);
		int fl = fd_flags(f->img);
		assert_true(fl >= 0);
		assert_int_equal(fl & m[i].want, m[i].want);
		assert_int_equal(fl & m[i].refuse, 0);
		_Alignas(4096) uint8_t buf[4096];
		memset(buf, (int)i + 1, sizeof(buf));
		assert_int_equal(block_pwrite(bd, buf, sizeof(buf), 8192), 0);
		/* Unsafe: the guest's flush succeeds without a host sync. */
		assert_int_equal(block_flush(bd), 0);
		assert_int_equal(__atomic_load_n(&bd->syncs, __ATOMIC_RELAXED),
				 m[i].syncs);
		block_close(bd);
		uint8_t back[4096];
		file_read(f->img, back, sizeof(back), 8192);
		assert_memory_equal(back, buf, sizeof(buf));
	}
}

static void none_bounces_unaligned(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd = open_direct(f->img, "raw");
	if (!bd)
		return;
	/* A buffer, offset and length that fit no block size. */
	uint8_t *mem = malloc(20000), *src = mem + 3;
	for (int i = 0; i < 9000; i++)
		src[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(block_pwrite(bd, src, 9000, 70001), 0);
	uint8_t *got = malloc(9100), *in = got + 1;
	assert_int_equal(block_pread(bd, in, 9000, 70001), 0);
	assert_memory_equal(in, src, 9000);
	/* Vectored, odd pieces, across the written range's edges. */
	uint8_t a[77], b[5000], c[123];
	struct iovec v[3] = { { a, sizeof(a) }, { b, sizeof(b) },
			      { c, sizeof(c) } };
	assert_int_equal(block_preadv(bd, v, 3, 70001 - 50), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(a[i], pattern(70001 - 50 + i));
	assert_memory_equal(a + 50, src, 27);
	assert_memory_equal(b, src + 27, sizeof(b));
	assert_memory_equal(c, src + 27 + sizeof(b), sizeof(c));
	block_close(bd);
	/* Through the page cache: the same bytes, the neighbours intact. */
	uint8_t *file = malloc(9200);
	file_read(f->img, file, 9200, 70001 - 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(file[i], pattern(70001 - 100 + i));
	assert_memory_equal(file + 100, src, 9000);
	for (int i = 9100; i < 9200; i++)
		assert_int_equal(file[i], pattern(70001 - 100 + i));
	free(file);
	free(got);
	free(mem);
}

struct rmw_arg {
	struct block_dev *bd;
	uint64_t off;
	uint8_t v;
};

static void *rmw_writer(void *p)
{
	struct rmw_arg *a = p;
	uint8_t buf[100];
	for (int i = 0; i < 300; i++) {
		memset(buf, a->v + (i & 1), sizeof(buf));
		if (block_pwrite(a->bd, buf, sizeof(buf), a->off))
			return (void *)1;
	}
	memset(buf, a->v, sizeof(buf));
	return block_pwrite(a->bd, buf, sizeof(buf), a->off) ? (void *)1
							       : NULL;
}

/* Unaligned writes sharing a block read-modify-write it: from two
 * threads at once neither may undo the other's bytes. */
static void none_concurrent_partial_writes(void **state)
{
	struct fx *f = *state;
	struct block_dev *bd = open_direct(f->img, "raw");
	if (!bd)
		return;
	struct rmw_arg a[2] = { { bd, 4096 + 10, 0x10 },
				{ bd, 4096 + 300, 0x20 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, rmw_writer, &a[i]),
				 0);
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	uint8_t got[400];
	assert_int_equal(block_pread(bd, got, sizeof(got), 4096), 0);
	for (int i = 0; i < 400; i++) {
		uint8_t want = i >= 10 && i < 110 ? 0x10 :
			       i >= 300 ? 0x20 : pattern(4096 + i);
		assert_int_equal(got[i], want);
	}
	block_close(bd);
}

static void none_refuses_partial_last_block(void **state)
{
	struct fx *f = *state;
	make_file(f->img, SIZE + 100);
	struct block_dev *bd = NULL;
	struct block_open_opts o = { .format = "raw",
				     .cache = BLOCK_CACHE_NONE };
	struct err e = { 0 };
	int rc = block_open_with(f->img, &o, &bd, &e);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(e.msg, "cache="));
	assert_null(bd);
}

static void cache_names(void **state)
{
	enum block_cache c;
	assert_int_equal(block_cache_parse("none", &c), 0);
	assert_int_equal(c, BLOCK_CACHE_NONE);
	assert_int_equal(block_cache_parse("writethrough", &c), 0);
	assert_int_equal(c, BLOCK_CACHE_WRITETHROUGH);
	assert_int_equal(block_cache_parse("directsync", &c), -EINVAL);
	assert_int_equal(block_cache_parse("", &c), -EINVAL);
	assert_string_equal(block_cache_name(BLOCK_CACHE_UNSAFE), "unsafe");
}

/* qcow2 under O_DIRECT: its metadata writes (8-byte L1/L2 entries, 2-byte
 * refcounts, the header) are bounced too; the image stays consistent. */
static void qcow2_none_round_trip(void **state)
{
	struct fx *f = *state;
	struct qcow2_create_opts co = { .cluster_size = 4096 };
	struct err e = { 0 };
	assert_int_equal(qcow2_create(f->img2, 8 << 20, &co, &e), 0);
	struct block_dev *bd = open_direct(f->img2, "qcow2");
	if (!bd)
		return;
	uint8_t *mem = malloc(30000), *src = mem + 5;
	for (int i = 0; i < 20000; i++)
		src[i] = (uint8_t)(i * 13);
	assert_int_equal(block_pwrite(bd, src, 20000, 123457), 0);
	assert_int_equal(block_pwrite(bd, src, 512, 5 << 20), 0);
	assert_int_equal(block_flush(bd), 0);
	block_close(bd);
	assert_int_equal(block_open(f->img2, false, &bd, &e), 0);
	uint8_t *got = malloc(20000);
	assert_int_equal(block_pread(bd, got, 20000, 123457), 0);
	assert_memory_equal(got, src, 20000);
	assert_int_equal(block_pread(bd, got, 512, 5 << 20), 0);
	assert_memory_equal(got, src, 512);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(r.leaks, 0);
	block_close(bd);
	free(got);
	free(mem);
}

struct opener {
	const char *path;
	uint64_t l2;       /* asked */
	uint64_t want;     /* l2_cache qcow2_get_info must report */
	int bad;
};

static void *open_loop(void *p)
{
	struct opener *o = p;
	for (int i = 0; i < 100 && !o->bad; i++) {
		struct block_open_opts bo = { .l2_cache = o->l2 };
		struct block_dev *bd = NULL;
		struct err e = { 0 };
		if (block_open_with(o->path, &bo, &bd, &e)) {
			o->bad = 1;
			break;
		}
		struct qcow2_info qi;
		uint8_t buf[512];
		if (qcow2_get_info(bd, &qi) || qi.l2_cache != o->want ||
		    !bd->backing || block_pread(bd, buf, 512, 0) ||
		    buf[0] != 0x42)
			o->bad = 2;
		block_close(bd);
	}
	return NULL;
}

/* Two VMs in one process open qcow2 chains at the same time, each with
 * its own L2 cache size: nothing of one open leaks into the other. */
static void concurrent_opens_keep_their_options(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct qcow2_create_opts co = { 0 };
	const char *tops[2] = { f->img2, f->img };
	const char *backs[2] = { f->back, f->back2 };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(qcow2_create(backs[i], 16ull << 30, &co, &e), 0);
		struct block_dev *bd;
		assert_int_equal(block_open(backs[i], false, &bd, &e), 0);
		uint8_t b[512];
		memset(b, 0x42, sizeof(b));
		assert_int_equal(block_pwrite(bd, b, 512, 0), 0);
		block_close(bd);
		struct qcow2_create_opts to = { .backing_file = backs[i],
						.backing_fmt = "qcow2" };
		assert_int_equal(qcow2_create(tops[i], 0, &to, &e), 0);
	}
	/* 16 GiB in 64 KiB clusters: 32 L2 tables of 64 KiB. */
	struct opener o[2] = { { tops[0], 4096, 65536, 0 },
			       { tops[1], 1 << 20, 1 << 20, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_loop, &o[i]),
				 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(o[i].bad, 0);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(modes_set_open_flags_and_syncs),
		T(none_bounces_unaligned),
		T(none_concurrent_partial_writes),
		T(none_refuses_partial_last_block),
		T(cache_names),
		T(qcow2_none_round_trip),
		T(concurrent_opens_keep_their_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
