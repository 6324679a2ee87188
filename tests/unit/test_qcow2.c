/* Unit tests for the qcow2 driver: images made by ringvm are checked by
 * qemu-img (when installed) and images made by qemu-img are read back by
 * ringvm with the same bytes; random I/O is compared with a model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2.h"

struct fx {
	char dir[64];
};

static bool have_qemu(void)
{
	return access("/usr/bin/qemu-img", X_OK) == 0;
}

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ringvm-qcow2-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!getenv("KEEP"))
		sh("rm -rf %s", f->dir);
	free(f);
	return 0;
}

static char *p(struct fx *f, const char *name)
{
	static char buf[4][160];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->dir, name);
	return buf[i];
}

/* qemu-img check: 0 clean, 3 leaks only, 2 corruptions. */
static void qemu_check_clean(const char *path)
{
	if (!have_qemu())
		return;
	int rc = sh("qemu-img check -q %s", path);
	if (rc) {
		sh("qemu-img check %s", path);
		fail_msg("qemu-img check %s: exit %d", path, rc);
	}
}

static void our_check_clean(const char *path)
{
	struct block_dev *bd;
	struct err e = { 0 };
	assert_int_equal(block_open_format(path, "qcow2", true, &bd, &e), 0);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
	if (r.corruptions || r.leaks)
		fail_msg("%s: %llu corruptions, %llu leaks", path,
			 (unsigned long long)r.corruptions,
			 (unsigned long long)r.leaks);
	block_close(bd);
}

/* Like our_check_clean() but leaks are fine (a crash may leak). */
static void our_check_clean_or_leaks(const char *path)
{
	struct block_dev *bd;
	struct err e = { 0 };
	assert_int_equal(block_open_format(path, "qcow2", true, &bd, &e), 0);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
	if (r.corruptions)
		fail_msg("%s: %llu corruptions", path,
			 (unsigned long long)r.corruptions);
	block_close(bd);
}

static struct block_dev *open_rw(const char *path)
{
	struct block_dev *bd = NULL;
	struct err e = { 0 };
	int rc = block_open(path, false, &bd, &e);
	if (rc)
		fail_msg("open %s: %s", path, e.msg);
	return bd;
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		b[i] = seed >> 16;
	}
}

static void compare_all(struct block_dev *bd, const uint8_t *model,
			uint64_t size)
{
	uint8_t *buf = malloc(size);
	assert_int_equal(block_pread(bd, buf, size, 0), 0);
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != model[i])
			fail_msg("byte %llu: %02x, want %02x",
				 (unsigned long long)i, buf[i], model[i]);
	free(buf);
}

/* The whole image through qemu-img equals the model. */
static void qemu_reads_model(struct fx *f, const char *path,
			     const uint8_t *model, uint64_t size)
{
	if (!have_qemu())
		return;
	assert_int_equal(sh("qemu-img convert -O raw %s %s", path,
			    p(f, "out.raw")), 0);
	uint8_t *buf = calloc(1, size);
	int fd = open(p(f, "out.raw"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	assert_memory_equal(buf, model, size);
	free(buf);
}

static void random_io(struct fx *f, uint32_t cs, bool with_backing)
{
	const uint64_t size = 8 << 20;
	uint8_t *model = calloc(1, size), *buf = malloc(1 << 20);
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = cs };
	if (with_backing) {
		/* A raw base with a pattern: unallocated reads show it. */
		int fd = open(p(f, "base.raw"), O_CREAT | O_RDWR | O_TRUNC,
			      0644);
		fill(model, size - 12345, 7);
		assert_int_equal(write(fd, model, size - 12345),
				 (ssize_t)(size - 12345));
		close(fd);
		o.backing_file = "base.raw";
		o.backing_fmt = "raw";
	}
	assert_int_equal(qcow2_create(p(f, "r.qcow2"), size, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "r.qcow2"));
	uint32_t seed = cs;
	for (int i = 0; i < 300; i++) {
		seed = seed * 1103515245 + 12345;
		uint64_t off = (seed >> 3) % size;
		seed = seed * 1103515245 + 12345;
		uint64_t len = 1 + (seed >> 5) % (1 << 20);
		if (i % 3 == 0)
			len = 1 + len % (3 * cs);
		if (len > size - off)
			len = size - off;
		int op = (seed >> 24) % 8;
		if (op < 5) {
			fill(buf, len, seed);
			assert_int_equal(block_pwrite(bd, buf, len, off), 0);
			memcpy(model + off, buf, len);
		} else if (op == 5) {
			assert_int_equal(block_write_zeroes(bd, off, len,
							    true), 0);
			memset(model + off, 0, len);
		} else if (op == 6) {
			/* Discard leaves contents unspecified: only whole
			 * clusters are dropped, reading zeros here. */
			assert_int_equal(block_discard(bd, off, len), 0);
			uint64_t a = (off + cs - 1) / cs * cs;
			uint64_t b = (off + len) / cs * cs;
			if (off + len == size)
				b = size;
			if (b > a)
				memset(model + a, 0, b - a);
		} else {
			assert_int_equal(block_pread(bd, buf, len, off), 0);
			assert_memory_equal(buf, model + off, len);
		}
		if (i % 50 == 0)
			assert_int_equal(block_flush(bd), 0);
	}
	compare_all(bd, model, size);
	block_close(bd);
	our_check_clean(p(f, "r.qcow2"));
	qemu_check_clean(p(f, "r.qcow2"));
	qemu_reads_model(f, p(f, "r.qcow2"), model, size);
	bd = open_rw(p(f, "r.qcow2"));
	compare_all(bd, model, size);
	block_close(bd);
	free(model);
	free(buf);
}

/* 512-byte clusters: the refcount table (one cluster) covers only 8 MiB,
 * so it has to grow, and refcount blocks are created often. */
static void random_io_512(void **state) { random_io(*state, 512, false); }
static void random_io_4k(void **state) { random_io(*state, 4096, false); }
static void random_io_64k(void **state) { random_io(*state, 65536, false); }
static void random_io_2m(void **state) { random_io(*state, 2 << 20, false); }
static void random_io_backing(void **state)
{
	random_io(*state, 65536, true);
}

/* Several threads on one image at once (the driver is thread_safe: data
 * transfers run outside its metadata lock).  Each thread owns every
 * MT_THREADS-th stripe of MT_STRIPE clusters, so its writes, zeroes,
 * discards and reads have a deterministic result in the shared model,
 * while allocation, discard (freeing clusters) and unlocked in-place
 * writes of different threads interleave in the same L2 tables and
 * refcount blocks.  cmocka asserts are not thread-safe: threads count
 * failures and the main thread asserts. */
#define MT_THREADS 4
#define MT_STRIPE  4u  /* clusters */

struct mt_arg {
	struct block_dev *bd;
	uint8_t *model;
	uint64_t size;
	uint32_t cs, id;
	int failures;
	uint64_t first_bad;  /* op number of the first failure + 1 */
};

static void *mt_worker(void *opaque)
{
	struct mt_arg *a = opaque;
	uint64_t stripe = (uint64_t)MT_STRIPE * a->cs;
	uint64_t nstripes = a->size / stripe;
	uint8_t *buf = malloc(stripe), *chk = malloc(stripe);
	uint32_t seed = 0x9e3779b9u * (a->id + 1) + a->cs;
	for (int i = 0; i < 400; i++) {
		seed = seed * 1103515245 + 12345;
		uint64_t k = (seed >> 4) % (nstripes / MT_THREADS);
		uint64_t base = (k * MT_THREADS + a->id) * stripe;
		seed = seed * 1103515245 + 12345;
		uint64_t off = (seed >> 5) % stripe;
		seed = seed * 1103515245 + 12345;
		uint64_t len = 1 + (seed >> 5) % (stripe - off);
		off += base;
		int op = (seed >> 27) % 8, rc = 0;
		bool bad = false;
		if (op < 4) {
			fill(buf, len, seed);
			rc = block_pwrite(a->bd, buf, len, off);
			memcpy(a->model + off, buf, len);
		} else if (op == 4) {
			rc = block_write_zeroes(a->bd, off, len, true);
			memset(a->model + off, 0, len);
		} else if (op == 5) {
			rc = block_discard(a->bd, off, len);
			uint64_t x = (off + a->cs - 1) / a->cs * a->cs;
			uint64_t y = (off + len) / a->cs * a->cs;
			if (y > x)
				memset(a->model + x, 0, y - x);
		} else {
			/* Two pieces: the vectored path with its own bounce
			 * buffer per call. */
			size_t h = len / 2;
			struct iovec v[2] = { { chk, h },
					      { chk + h, len - h } };
			rc = len > 1 ? block_preadv(a->bd, v, 2, off)
				     : block_pread(a->bd, chk, len, off);
			bad = !rc && memcmp(chk, a->model + off, len);
		}
		if (!rc && i % 64 == 63)
			rc = block_flush(a->bd);
		if ((rc || bad) && !a->failures++)
			a->first_bad = (uint64_t)i + 1;
	}
	free(buf);
	free(chk);
	return NULL;
}

static void threaded_io(struct fx *f, uint32_t cs)
{
	const uint64_t size = 8 << 20;
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = cs };
	assert_int_equal(qcow2_create(p(f, "mt.qcow2"), size, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "mt.qcow2"));
	assert_true(bd->drv->thread_safe);
	uint8_t *model = calloc(1, size);
	struct mt_arg a[MT_THREADS];
	pthread_t t[MT_THREADS];
	for (uint32_t i = 0; i < MT_THREADS; i++) {
		a[i] = (struct mt_arg){ .bd = bd, .model = model,
					.size = size, .cs = cs, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, mt_worker,
						&a[i]), 0);
	}
	for (uint32_t i = 0; i < MT_THREADS; i++)
		pthread_join(t[i], NULL);
	for (uint32_t i = 0; i < MT_THREADS; i++)
		if (a[i].failures)
			fail_msg("thread %u: %d failures, first at op %llu",
				 i, a[i].failures,
				 (unsigned long long)a[i].first_bad - 1);
	compare_all(bd, model, size);
	block_close(bd);
	our_check_clean(p(f, "mt.qcow2"));
	qemu_check_clean(p(f, "mt.qcow2"));
	qemu_reads_model(f, p(f, "mt.qcow2"), model, size);
	free(model);
}

static void threaded_io_512(void **state) { threaded_io(*state, 512); }
static void threaded_io_4k(void **state) { threaded_io(*state, 4096); }
static void threaded_io_64k(void **state) { threaded_io(*state, 65536); }

/* Freeing a cluster an unlocked in-place write is aimed at: one thread
 * rewrites region R in place (its clusters are COPIED), one discards parts
 * of R, one fills region S with fresh allocations that reuse the freed
 * clusters at once.  Unless a refcount drop waits for the writes in
 * flight, a late write to R lands in a cluster that now holds S's data.
 * R's contents are the threads' own race; S must be exact.  That
 * interleaving needs a pwrite preempted at the wrong moment, so this
 * catches it only sometimes; it reliably catches a quiesce that deadlocks
 * against the in-place writers or corrupts the refcounts. */
struct race {
	struct block_dev *bd;
	uint64_t r_len;
	int stop, failures;
};

static void *race_writer(void *opaque)
{
	struct race *r = opaque;
	uint8_t *buf = malloc(r->r_len);
	memset(buf, 0xee, r->r_len);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		/* All of R: long in-place pwrites, wide windows. */
		if (block_pwrite(r->bd, buf, r->r_len, 0))
			__atomic_fetch_add(&r->failures, 1, __ATOMIC_RELAXED);
	}
	free(buf);
	return NULL;
}

static void *race_discarder(void *opaque)
{
	struct race *r = opaque;
	uint32_t seed = 2;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		seed = seed * 1103515245 + 12345;
		uint64_t off = (seed >> 8) % (r->r_len / 65536) * 65536;
		if (block_discard(r->bd, off, 65536))
			__atomic_fetch_add(&r->failures, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void discard_vs_inplace_write(void **state)
{
	struct fx *f = *state;
	const uint64_t size = 8 << 20, r_len = 1 << 20, s_off = 4 << 20;
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 512 };
	assert_int_equal(qcow2_create(p(f, "race.qcow2"), size, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "race.qcow2"));
	uint8_t *model = malloc(size - s_off), *buf = malloc(size - s_off);
	fill(model, size - s_off, 99);
	memset(buf, 0xee, r_len);
	assert_int_equal(block_pwrite(bd, buf, r_len, 0), 0);
	struct race r = { .bd = bd, .r_len = r_len };
	pthread_t w[2], d;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&w[i], NULL, race_writer, &r),
				 0);
	assert_int_equal(pthread_create(&d, NULL, race_discarder, &r), 0);
	int rc = 0;
	for (uint64_t pos = 0; pos < size - s_off && !rc; pos += 2048)
		rc = block_pwrite(bd, model + pos, 2048, s_off + pos);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	pthread_join(d, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(r.failures, 0);
	assert_int_equal(block_pread(bd, buf, size - s_off, s_off), 0);
	for (uint64_t i = 0; i < size - s_off; i++)
		if (buf[i] != model[i])
			fail_msg("S byte %llu: %02x, want %02x",
				 (unsigned long long)i, buf[i], model[i]);
	block_close(bd);
	our_check_clean(p(f, "race.qcow2"));
	qemu_check_clean(p(f, "race.qcow2"));
	free(model);
	free(buf);
}

/* Allocating writes to one cluster at once: the data of an allocating
 * write goes out without q->meta, so a second write into a cluster whose
 * allocation is still in flight must wait for it (else it allocates again,
 * copies the old contents around its own bytes, and its L2 update drops the
 * first writer's data).  SC_THREADS threads each own a quarter of every
 * cluster (minus a gap that shows what lies below) and walk the clusters
 * in the same order, so they keep meeting in one cluster. */
#define SC_THREADS 4

struct same_cluster {
	struct block_dev *bd;
	uint32_t cs, id, nclusters;
	int failures;
};

static uint8_t sc_byte(uint32_t c, uint32_t id)
{
	return (uint8_t)(1 + c * SC_THREADS + id);
}

static void *sc_writer(void *opaque)
{
	struct same_cluster *a = opaque;
	uint32_t piece = a->cs / SC_THREADS, len = piece - piece / 4;
	uint8_t *buf = malloc(len);
	for (uint32_t c = 0; c < a->nclusters; c++) {
		memset(buf, sc_byte(c, a->id), len);
		if (block_pwrite(a->bd, buf, len,
				 (uint64_t)c * a->cs + a->id * piece))
			a->failures++;
	}
	free(buf);
	return NULL;
}

static void same_cluster_allocs(struct fx *f, uint32_t cs, bool backing)
{
	const uint32_t nclusters = 256;
	const uint64_t size = (uint64_t)nclusters * cs;
	uint8_t *below = calloc(1, size), *got = malloc(size);
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = cs };
	if (backing) {
		int fd = open(p(f, "scb.raw"), O_CREAT | O_RDWR | O_TRUNC,
			      0644);
		fill(below, size, 11);
		assert_int_equal(write(fd, below, size), (ssize_t)size);
		close(fd);
		o.backing_file = "scb.raw";
		o.backing_fmt = "raw";
	}
	assert_int_equal(qcow2_create(p(f, "sc.qcow2"), size, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "sc.qcow2"));
	struct same_cluster a[SC_THREADS];
	pthread_t t[SC_THREADS];
	for (uint32_t i = 0; i < SC_THREADS; i++) {
		a[i] = (struct same_cluster){ .bd = bd, .cs = cs, .id = i,
					      .nclusters = nclusters };
		assert_int_equal(pthread_create(&t[i], NULL, sc_writer,
						&a[i]), 0);
	}
	for (uint32_t i = 0; i < SC_THREADS; i++)
		pthread_join(t[i], NULL);
	for (uint32_t i = 0; i < SC_THREADS; i++)
		assert_int_equal(a[i].failures, 0);
	uint32_t piece = cs / SC_THREADS, len = piece - piece / 4;
	/* Again after a reopen: the last cluster's unwritten tail lies past
	 * the end of the file. */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(block_pread(bd, got, size, 0), 0);
		for (uint64_t i = 0; i < size; i++) {
			uint32_t c = (uint32_t)(i / cs);
			uint32_t in = (uint32_t)(i % cs), id = in / piece;
			uint8_t want = in % piece < len ? sc_byte(c, id)
							: below[i];
			if (got[i] != want)
				fail_msg("round %d cluster %u byte %u: %02x, "
					 "want %02x", round, c, in, got[i],
					 want);
		}
		block_close(bd);
		our_check_clean(p(f, "sc.qcow2"));
		qemu_check_clean(p(f, "sc.qcow2"));
		bd = open_rw(p(f, "sc.qcow2"));
	}
	block_close(bd);
	free(below);
	free(got);
}

static void same_cluster_allocs_4k(void **state)
{
	same_cluster_allocs(*state, 4096, false);
}
static void same_cluster_allocs_64k(void **state)
{
	same_cluster_allocs(*state, 65536, false);
}
static void same_cluster_allocs_backing(void **state)
{
	same_cluster_allocs(*state, 65536, true);
}

/* The halves of each 1 MiB piece of a 64 MiB image written by two
 * threads (a guest's large request split in two), in an order the test
 * fixes or the threads race for: whichever half allocates first, the
 * image's layout stays sequential, so reading it back is one host run
 * per L2 table, not one or two per request. */
enum split_order { SPLIT_RACE, SPLIT_SECOND_FIRST, SPLIT_SEEDED };

struct halves {
	struct block_dev *bd;
	pthread_barrier_t *bar;
	enum split_order order;
	int id, failures;
};

static uint8_t split_buf[2][512 << 10];

static int write_half(struct block_dev *bd, int id, uint64_t piece)
{
	return block_pwrite(bd, split_buf[id], 512 << 10,
			    (piece << 20) + ((uint64_t)id << 19));
}

/* Which half goes first in piece i of a fixed order: the second one
 * always, or the one a fixed-seed generator picks. */
static int split_first(enum split_order order, uint64_t i)
{
	if (order == SPLIT_SECOND_FIRST)
		return 1;
	uint32_t x = (uint32_t)i * 2654435761u + 12345;
	return (x >> 16) & 1;
}

static void *half_writer(void *opaque)
{
	struct halves *h = opaque;
	for (uint64_t i = 0; i < 64; i++) {
		pthread_barrier_wait(h->bar);
		bool first = h->order == SPLIT_RACE ||
			     split_first(h->order, i) == h->id;
		if (!first)
			pthread_barrier_wait(h->bar);
		if (write_half(h->bd, h->id, i))
			h->failures++;
		if (first && h->order != SPLIT_RACE)
			pthread_barrier_wait(h->bar);
	}
	return NULL;
}

static void split_requests(struct fx *f, enum split_order order)
{
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 65536 };
	assert_int_equal(qcow2_create(p(f, "seq.qcow2"), 64 << 20, &o, &e),
			 0);
	struct block_dev *bd = open_rw(p(f, "seq.qcow2"));
	for (int id = 0; id < 2; id++)
		memset(split_buf[id], 0x11 + id, sizeof(split_buf[id]));
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	struct halves h[2] = { { bd, &bar, order, 0, 0 },
			       { bd, &bar, order, 1, 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, half_writer,
						&h[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	assert_int_equal(h[0].failures + h[1].failures, 0);
	unsigned runs = 0;
	for (uint64_t off = 0; off < (64u << 20); runs++) {
		struct block_status st;
		assert_int_equal(block_status(bd, off, (64u << 20) - off, &st),
				 0);
		assert_true(st.flags & BLOCK_STATUS_DATA);
		off += st.len;
	}
	if (runs > 2)
		fail_msg("%u host runs", runs);
	uint8_t *got = malloc(64 << 20);
	assert_non_null(got);
	assert_int_equal(block_pread(bd, got, 64 << 20, 0), 0);
	for (uint64_t i = 0; i < (64u << 20); i++)
		if (got[i] != 0x11 + ((i >> 19) & 1))
			fail_msg("byte %llu: %02x", (unsigned long long)i,
				 got[i]);
	free(got);
	block_close(bd);
	our_check_clean(p(f, "seq.qcow2"));
	qemu_check_clean(p(f, "seq.qcow2"));
}

static void split_requests_race(void **state)
{
	split_requests(*state, SPLIT_RACE);
}
static void split_requests_second_first(void **state)
{
	split_requests(*state, SPLIT_SECOND_FIRST);
}
static void split_requests_seeded(void **state)
{
	split_requests(*state, SPLIT_SEEDED);
}

/* The L2 entry the file holds (not the driver's cache) for guest byte
 * voff: 0 when the file maps nothing there. */
static uint64_t file_l2_entry(const char *path, uint64_t voff)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t h[48];
	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	uint32_t cbits = be32toh(*(uint32_t *)(h + 20));
	uint64_t l1_off = be64toh(*(uint64_t *)(h + 40));
	uint64_t vc = voff >> cbits, l1e = 0, l2e = 0;
	unsigned l2_bits = cbits - 3;
	assert_int_equal(pread(fd, &l1e, 8, l1_off + (vc >> l2_bits) * 8), 8);
	uint64_t l2_off = be64toh(l1e) & 0x00fffffffffffe00ull;
	if (l2_off)
		assert_int_equal(pread(fd, &l2e, 8, l2_off +
				       (vc & ((1u << l2_bits) - 1)) * 8), 8);
	close(fd);
	return be64toh(l2e);
}

static struct block_dev *open_cache_l2(const char *path,
				       enum block_cache cache, uint64_t l2)
{
	struct block_dev *bd = NULL;
	struct err e = { 0 };
	struct block_open_opts o = { .format = "qcow2", .l2_cache = l2,
				     .cache = cache };
	if (block_open_with(path, &o, &bd, &e))
		fail_msg("open %s: %s", path, e.msg);
	return bd;
}

static void expect_byte(struct block_dev *bd, uint64_t off, uint8_t want)
{
	static uint8_t b[4096];
	assert_int_equal(block_pread(bd, b, sizeof(b), off), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		if (b[i] != want)
			fail_msg("byte %llu: %02x, want %02x",
				 (unsigned long long)(off + i), b[i], want);
}

/* New mappings of fresh clusters stay in the L2 cache until FLUSH, the
 * table's eviction, a metadata operation or close; a writethrough disk
 * writes them at once. */
static void deferred_l2_entries(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const char *img = p(f, "d.qcow2");
	struct qcow2_create_opts o = { .cluster_size = 4096 };  /* 2 MiB/table */
	assert_int_equal(qcow2_create(img, 16 << 20, &o, &e), 0);
	struct block_dev *bd = open_cache_l2(img, BLOCK_CACHE_WRITEBACK, 4096);
	static uint8_t b[4096];
	const uint64_t at[] = { 0, 4 << 20, 8 << 20, 12 << 20 };
	for (int i = 0; i < 4; i++) {
		memset(b, 0x50 + i, sizeof(b));
		assert_int_equal(block_pwrite(bd, b, sizeof(b), at[i]), 0);
		assert_int_equal(file_l2_entry(img, at[i]), 0);
		if (i)  /* one slot: the table before was written on its way out */
			assert_true(file_l2_entry(img, at[i - 1]) != 0);
		switch (i) {
		case 0:
			break;
		case 1:
			assert_int_equal(block_flush(bd), 0);
			break;
		case 2: {
			struct qcow2_check_result r;
			assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
			assert_int_equal(r.corruptions + r.leaks, 0);
			break;
		}
		case 3:
			assert_int_equal(qcow2_snapshot_create(bd, "s", &e),
					 0);
			break;
		}
		if (i)  /* 0 goes out when the next write evicts it */
			assert_true(file_l2_entry(img, at[i]) != 0);
	}
	/* The snapshot holds the data written before it without a flush. */
	memset(b, 0x60, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), at[3]), 0);
	assert_int_equal(qcow2_snapshot_apply(bd, "s", &e), 0);
	expect_byte(bd, at[3], 0x53);
	memset(b, 0x70, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 14 << 20), 0);
	assert_int_equal(file_l2_entry(img, 14 << 20), 0);
	block_close(bd);
	assert_true(file_l2_entry(img, 14 << 20) != 0);
	our_check_clean(img);
	qemu_check_clean(img);
	bd = open_rw(img);
	for (int i = 0; i < 4; i++)
		expect_byte(bd, at[i], 0x50 + i);
	expect_byte(bd, 14 << 20, 0x70);
	block_close(bd);

	bd = open_cache_l2(img, BLOCK_CACHE_WRITETHROUGH, 0);
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 15 << 20), 0);
	assert_true(file_l2_entry(img, 15 << 20) != 0);
	block_close(bd);
}

/* A process that dies without FLUSH loses at most its unflushed writes
 * to fresh space (leaked clusters, no corruption); flushed ones stay.
 * With 512-byte clusters the unflushed write needs new refcount blocks
 * and a bigger refcount table, which must be on the disk with their own
 * refcounts although the run's refcounts wait. */
static void deferred_crash(struct fx *f, uint32_t cs)
{
	struct err e = { 0 };
	char img[200];
	snprintf(img, sizeof(img), "%s/k%u.qcow2", f->dir, cs);
	struct qcow2_create_opts o = { .cluster_size = cs };
	assert_int_equal(qcow2_create(img, 16 << 20, &o, &e), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct block_dev *bd;
		static uint8_t b[65536];
		if (block_open(img, false, &bd, &e))
			_exit(1);
		memset(b, 0xa1, sizeof(b));
		if (block_pwrite(bd, b, sizeof(b), 0) || block_flush(bd))
			_exit(2);
		memset(b, 0xb2, sizeof(b));
		for (uint64_t off = 1 << 20; off < (3 << 20); off += sizeof(b))
			if (block_pwrite(bd, b, sizeof(b), off))
				_exit(3);
		_exit(0);  /* no flush, no close */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	our_check_clean_or_leaks(img);
	struct block_dev *bd;
	assert_int_equal(block_open_format(img, "qcow2", true, &bd, &e), 0);
	expect_byte(bd, 0, 0xa1);
	for (uint64_t off = 1 << 20; off < (3 << 20); off += 4096) {
		static uint8_t b[4096], z[4096];
		assert_int_equal(block_pread(bd, b, sizeof(b), off), 0);
		/* Lost (zeros) or there; never anything else. */
		if (memcmp(b, z, sizeof(b)) && (b[0] != 0xb2 ||
		    memcmp(b, b + 1, sizeof(b) - 1)))
			fail_msg("byte %llu: %02x", (unsigned long long)off,
				 b[0]);
	}
	block_close(bd);
	if (have_qemu()) {
		int rc = sh("qemu-img check -q %s", img);
		assert_true(rc == 0 || rc == 3);
	}
}

static void deferred_l2_crash(void **state)
{
	deferred_crash(*state, 65536);
	deferred_crash(*state, 512);
}

/* What the file says at this moment (a copy, the image stays open) has
 * no corruption: no table names a cluster whose refcount is 0.  Leaks
 * are allowed unless clean. */
static void file_consistent(struct fx *f, const char *img, bool clean)
{
	char copy[200];
	snprintf(copy, sizeof(copy), "%s/copy.qcow2", f->dir);
	assert_int_equal(sh("cp --sparse=always %s %s", img, copy), 0);
	if (clean)
		our_check_clean(copy);
	else
		our_check_clean_or_leaks(copy);
	unlink(copy);
}

/* Deferred entries and refcounts never reach the file out of order: a
 * table written through for another reason (zeroing a cluster of an
 * overlay, a discard; under O_DIRECT the write covers whole blocks of the
 * cached table, with the deferred entries in them) has their refcounts
 * written before it. */
static void deferred_refcounts_first(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	char img[200];
	snprintf(img, sizeof(img), "%s/o.qcow2", f->dir);
	assert_int_equal(sh("truncate -s 16M %s/b.raw", f->dir), 0);
	struct qcow2_create_opts o = { .cluster_size = 4096,
				       .backing_file = "b.raw",
				       .backing_fmt = "raw" };
	assert_int_equal(qcow2_create(img, 16 << 20, &o, &e), 0);
	struct block_dev *bd = NULL;
	struct block_open_opts oo = { .format = "qcow2", .l2_cache = 4096,
				      .cache = BLOCK_CACHE_NONE };
	int rc = block_open_with(img, &oo, &bd, &e);
	if (rc == -EINVAL && strstr(e.msg, "direct I/O")) {
		fprintf(stderr, "%s: the buffered path instead\n", e.msg);
		bd = open_cache_l2(img, BLOCK_CACHE_WRITEBACK, 4096);
	} else {
		assert_int_equal(rc, 0);
	}
	_Alignas(4096) static uint8_t b[4096];
	memset(b, 0x31, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 0), 0);
	assert_int_equal(block_flush(bd), 0);
	file_consistent(f, img, true);
	memset(b, 0x32, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 8192), 0);  /* deferred */
	assert_int_equal(file_l2_entry(img, 8192), 0);
	file_consistent(f, img, true);
	/* Written through, no refcount changes with it. */
	assert_int_equal(block_write_zeroes(bd, 4096, 4096, false), 0);
	assert_true(file_l2_entry(img, 4096) != 0);
	file_consistent(f, img, true);
	assert_int_equal(block_discard(bd, 0, 4096), 0);  /* written through */
	file_consistent(f, img, false);
	memset(b, 0x33, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 4 << 20), 0);  /* evicts */
	assert_true(file_l2_entry(img, 8192) != 0);
	file_consistent(f, img, false);
	assert_int_equal(block_flush(bd), 0);
	file_consistent(f, img, true);
	expect_byte(bd, 0, 0);
	expect_byte(bd, 8192, 0x32);
	expect_byte(bd, 4 << 20, 0x33);
	block_close(bd);
	qemu_check_clean(img);
}

static void create_and_info(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	assert_int_equal(qcow2_create(p(f, "a.qcow2"), 10 << 20, NULL, &e), 0);
	qemu_check_clean(p(f, "a.qcow2"));
	struct block_dev *bd = open_rw(p(f, "a.qcow2"));
	assert_int_equal(bd->size, 10 << 20);
	struct qcow2_info in;
	assert_int_equal(qcow2_get_info(bd, &in), 0);
	assert_int_equal(in.version, 3);
	assert_int_equal(in.cluster_size, 65536);
	assert_int_equal(in.refcount_bits, 16);
	assert_null(in.backing_file);
	assert_int_equal(qcow2_resize(bd, 5ull << 30, &e), 0);
	uint8_t b[512] = { 1, 2, 3 };
	assert_int_equal(block_pwrite(bd, b, 512, (5ull << 30) - 512), 0);
	block_close(bd);
	qemu_check_clean(p(f, "a.qcow2"));
	if (have_qemu())
		assert_int_equal(sh("qemu-img info %s | grep -q '5 GiB'",
				    p(f, "a.qcow2")), 0);
	/* Bad options are refused with a message. */
	struct qcow2_create_opts o = { .cluster_size = 3000 };
	assert_int_equal(qcow2_create(p(f, "b.qcow2"), 1 << 20, &o, &e),
			 -EINVAL);
	assert_non_null(strstr(e.msg, "cluster size"));
}

/* Images written by qemu-img (plain, compressed, v2, zero clusters) read
 * back identically. */
static void reads_qemu_images(void **state)
{
	struct fx *f = *state;
	if (!have_qemu())
		skip();
	const uint64_t size = 4 << 20;
	uint8_t *model = calloc(1, size);
	/* Compressible and incompressible halves, a hole. */
	fill(model, size / 2, 3);
	for (uint64_t i = size / 2; i < size - 65536 * 3; i++)
		model[i] = (i / 4096) & 0xff;
	int fd = open(p(f, "src.raw"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_int_equal(write(fd, model, size), (ssize_t)size);
	close(fd);
	const char *variants[] = {
		"-o cluster_size=65536",
		"-c -o cluster_size=65536",
		"-c -o cluster_size=4096",
		"-o compat=0.10",
		"-o cluster_size=2M",
	};
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		assert_int_equal(sh("qemu-img convert -O qcow2 %s %s %s",
				    variants[v], p(f, "src.raw"),
				    p(f, "q.qcow2")), 0);
		struct block_dev *bd;
		struct err e = { 0 };
		assert_int_equal(block_open(p(f, "q.qcow2"), true, &bd, &e), 0);
		compare_all(bd, model, size);
		block_close(bd);
		our_check_clean(p(f, "q.qcow2"));
	}
	/* Zero clusters written by qemu-io, then we write over them. */
	assert_int_equal(sh("qemu-img convert -O qcow2 %s %s",
			    p(f, "src.raw"), p(f, "q.qcow2")), 0);
	assert_int_equal(sh("qemu-io -c 'write -z 65536 131072' %s >/dev/null",
			    p(f, "q.qcow2")), 0);
	memset(model + 65536, 0, 131072);
	struct block_dev *bd = open_rw(p(f, "q.qcow2"));
	compare_all(bd, model, size);
	uint8_t b[100];
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 70000), 0);
	memcpy(model + 70000, b, sizeof(b));
	compare_all(bd, model, size);
	block_close(bd);
	qemu_check_clean(p(f, "q.qcow2"));
	qemu_reads_model(f, p(f, "q.qcow2"), model, size);
	/* A compressed image written by us: partial writes decompress. */
	fd = open(p(f, "src.raw"), O_RDONLY);
	assert_int_equal(pread(fd, model, size, 0), (ssize_t)size);
	close(fd);
	assert_int_equal(sh("qemu-img convert -c -O qcow2 %s %s",
			    p(f, "src.raw"), p(f, "q.qcow2")), 0);
	bd = open_rw(p(f, "q.qcow2"));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), size / 2 + 10), 0);
	memcpy(model + size / 2 + 10, b, sizeof(b));
	compare_all(bd, model, size);
	block_close(bd);
	qemu_check_clean(p(f, "q.qcow2"));
	qemu_reads_model(f, p(f, "q.qcow2"), model, size);
	free(model);
}

/* qcow2 on qcow2 on raw, made by qemu-img; status reports layers. */
static void backing_chain(void **state)
{
	struct fx *f = *state;
	if (!have_qemu())
		skip();
	assert_int_equal(sh("qemu-img create -q -f raw %s 4M && "
			    "qemu-io -f raw -c 'write -P 0x11 0 1M' %s "
			    ">/dev/null", p(f, "base.raw"), p(f, "base.raw")),
			 0);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b base.raw -F raw "
			    "%s && qemu-io -c 'write -P 0x22 512k 1M' %s "
			    ">/dev/null", p(f, "mid.qcow2"),
			    p(f, "mid.qcow2")), 0);
	struct err e = { 0 };
	struct qcow2_create_opts o = { .backing_file = "mid.qcow2",
				       .backing_fmt = "qcow2" };
	assert_int_equal(qcow2_create(p(f, "top.qcow2"), 0, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "top.qcow2"));
	assert_int_equal(bd->size, 4 << 20);
	uint8_t b[4096];
	memset(b, 0x33, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, 100, 1000000), 0);
	struct block_status st;
	assert_int_equal(block_status(bd, 0, bd->size, &st), 0);
	assert_int_equal(st.depth, 2);  /* base.raw */
	assert_int_equal(block_status(bd, 1000000, 100, &st), 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(block_status(bd, 3 << 20, 4096, &st), 0);
	assert_true(st.flags & BLOCK_STATUS_ZERO || st.depth == 2);
	block_close(bd);
	qemu_check_clean(p(f, "top.qcow2"));
	assert_int_equal(sh("qemu-io -c 'read -P 0x11 0 512k' "
			    "-c 'read -P 0x22 512k 400000' "
			    "-c 'read -P 0x33 1000000 100' "
			    "-c 'read -P 0x22 1000100 500000' "
			    "-c 'read -P 0 3M 1M' %s | grep -c Pattern "
			    "| grep -q '^0$'", p(f, "top.qcow2")), 0);
	/* Rebase -u to the raw base directly. */
	bd = open_rw(p(f, "top.qcow2"));
	assert_int_equal(qcow2_set_backing(bd, "base.raw", "raw", &e), 0);
	struct qcow2_info in;
	assert_int_equal(qcow2_get_info(bd, &in), 0);
	assert_string_equal(in.backing_file, "base.raw");
	block_close(bd);
	qemu_check_clean(p(f, "top.qcow2"));
	assert_int_equal(sh("qemu-img info %s | grep -q 'backing file: "
			    "base.raw'", p(f, "top.qcow2")), 0);
	/* A cycle is refused. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b c2.qcow2 -F qcow2 "
			    "-u %s 1M && qemu-img create -q -f qcow2 -b "
			    "c1.qcow2 -F qcow2 -u %s 1M", p(f, "c1.qcow2"),
			    p(f, "c2.qcow2")), 0);
	err_clear(&e);
	assert_int_equal(block_open(p(f, "c1.qcow2"), true, &bd, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "cycle"));
	/* A chain deeper than BLOCK_MAX_CHAIN is refused. */
	assert_int_equal(sh("cd %s && qemu-img create -q -f raw d0 1M && "
			    "for i in $(seq 1 %d); do qemu-img create -q -f "
			    "qcow2 -b d$((i-1)) -F $([ $i = 1 ] && echo raw || "
			    "echo qcow2) -u d$i 1M || exit 1; done", f->dir,
			    BLOCK_MAX_CHAIN + 2), 0);
	char top[32];
	snprintf(top, sizeof(top), "d%d", BLOCK_MAX_CHAIN + 2);
	err_clear(&e);
	assert_int_equal(block_open(p(f, top), true, &bd, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "deeper"));
	snprintf(top, sizeof(top), "d%d", BLOCK_MAX_CHAIN);
	assert_int_equal(block_open(p(f, top), true, &bd, &e), 0);
	block_close(bd);
}

static void snapshots(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const uint64_t size = 2 << 20;
	uint8_t *a = malloc(size), *b = malloc(size);
	fill(a, size, 1);
	fill(b, size, 2);
	assert_int_equal(qcow2_create(p(f, "s.qcow2"), size, NULL, &e), 0);
	struct block_dev *bd = open_rw(p(f, "s.qcow2"));
	assert_int_equal(block_pwrite(bd, a, size, 0), 0);
	assert_int_equal(qcow2_snapshot_create(bd, "one", &e), 0);
	assert_int_equal(qcow2_snapshot_create(bd, "one", &e), -EEXIST);
	err_clear(&e);
	assert_int_equal(block_pwrite(bd, b, size / 2, 1000), 0);
	uint8_t *m = malloc(size);
	memcpy(m, a, size);
	memcpy(m + 1000, b, size / 2);
	compare_all(bd, m, size);
	free(m);
	block_close(bd);
	our_check_clean(p(f, "s.qcow2"));
	qemu_check_clean(p(f, "s.qcow2"));
	if (have_qemu())
		assert_int_equal(sh("qemu-img snapshot -l %s | grep -q one",
				    p(f, "s.qcow2")), 0);
	bd = open_rw(p(f, "s.qcow2"));
	struct qcow2_snapshot_info *list;
	uint32_t n;
	assert_int_equal(qcow2_snapshot_list(bd, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "one");
	assert_int_equal(list[0].disk_size, size);
	qcow2_snapshot_list_free(list, n);
	assert_int_equal(qcow2_snapshot_apply(bd, "one", &e), 0);
	compare_all(bd, a, size);
	assert_int_equal(qcow2_snapshot_delete(bd, "1", &e), 0);
	block_close(bd);
	our_check_clean(p(f, "s.qcow2"));
	qemu_check_clean(p(f, "s.qcow2"));
	if (have_qemu()) {
		/* Snapshots made by qemu-img are applied by us. */
		assert_int_equal(sh("qemu-img snapshot -c q1 %s",
				    p(f, "s.qcow2")), 0);
		bd = open_rw(p(f, "s.qcow2"));
		assert_int_equal(block_pwrite(bd, b, size, 0), 0);
		assert_int_equal(qcow2_snapshot_apply(bd, "q1", &e), 0);
		compare_all(bd, a, size);
		block_close(bd);
		qemu_check_clean(p(f, "s.qcow2"));
		assert_int_equal(sh("qemu-img snapshot -d q1 %s",
				    p(f, "s.qcow2")), 0);
		our_check_clean(p(f, "s.qcow2"));
	}
	free(a);
	free(b);
}

static void patch(const char *path, uint64_t off, const void *v, size_t n)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, v, n, off), (ssize_t)n);
	close(fd);
}

static void expect_refused(struct fx *f, const char *what)
{
	struct block_dev *bd;
	struct err e = { 0 };
	int rc = block_open(p(f, "h.qcow2"), true, &bd, &e);
	if (rc == 0)
		fail_msg("hostile image (%s) was opened", what);
	if (!strstr(e.msg, what) || !strstr(e.msg, "h.qcow2"))
		fail_msg("message `%s` lacks `%s` or the file name", e.msg,
			 what);
}

static void hostile_headers(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct {
		uint64_t off;
		int width;
		uint64_t val;
		const char *msg;
	} cases[] = {
		{ 40, 8, 1ull << 40, "L1 table offset beyond" },
		{ 36, 4, 0xffffffffu, "L1 table too large" },
		{ 36, 4, 0, "L1 table too small" },
		{ 48, 8, 0, "refcount table overlaps the header" },
		{ 20, 4, 40, "cluster_bits" },
		{ 72, 8, 1ull << 9, "incompatible feature bit 9" },
		{ 72, 8, 1ull << 4, "extended L2" },
		{ 96, 4, 6, "64-bit refcounts" },
		{ 4, 4, 7, "version 7" },
		{ 56, 4, 1u << 30, "refcount table size" },
		{ 60, 4, 5, "snapshot table" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(qcow2_create(p(f, "h.qcow2"), 1 << 30, NULL,
					      &e), 0);
		uint8_t v[8];
		if (cases[i].width == 8) {
			uint64_t x = htobe64(cases[i].val);
			memcpy(v, &x, 8);
		} else {
			uint32_t x = htobe32((uint32_t)cases[i].val);
			memcpy(v, &x, 4);
		}
		patch(p(f, "h.qcow2"), cases[i].off, v, cases[i].width);
		if (cases[i].off == 60) {
			uint64_t x = htobe64(1ull << 40);
			patch(p(f, "h.qcow2"), 64, &x, 8);
		}
		expect_refused(f, cases[i].msg);
	}
}

static void check_repairs_leaks(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	assert_int_equal(qcow2_create(p(f, "l.qcow2"), 1 << 20, NULL, &e), 0);
	/* Refcount of cluster 10 (never used) set to 1: a leak. */
	uint16_t one = htobe16(1);
	patch(p(f, "l.qcow2"), 2 * 65536 + 10 * 2, &one, 2);
	struct block_dev *bd = open_rw(p(f, "l.qcow2"));
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
	assert_int_equal(r.leaks, 1);
	assert_int_equal(r.corruptions, 0);
	assert_int_equal(qcow2_check(bd, true, &r, &e), 0);
	assert_int_equal(r.leaks_fixed, 1);
	block_close(bd);
	our_check_clean(p(f, "l.qcow2"));
	qemu_check_clean(p(f, "l.qcow2"));

	/* The dirty bit (as lazy refcounts leave it): opening read-write
	 * rebuilds the refcounts and clears the bit. */
	patch(p(f, "l.qcow2"), 2 * 65536 + 11 * 2, &one, 2);
	uint64_t dirty = htobe64(1);
	patch(p(f, "l.qcow2"), 72, &dirty, 8);
	bd = open_rw(p(f, "l.qcow2"));
	block_close(bd);
	our_check_clean(p(f, "l.qcow2"));
	qemu_check_clean(p(f, "l.qcow2"));
	int fd = open(p(f, "l.qcow2"), O_RDONLY);
	assert_int_equal(pread(fd, &dirty, 8, 72), 8);
	close(fd);
	assert_int_equal(be64toh(dirty) & 1, 0);
}

/* A writer killed with SIGKILL at random moments: the image must stay
 * free of corruptions (leaks allowed), and every block whose FLUSH
 * completed must read back.  The child writes block i (64 KiB, pattern
 * i) at a scrambled offset, flushes, and reports i on a pipe.  A snapshot
 * taken first makes half the writes copy on write.  (Snapshot operations
 * themselves are not crash-atomic: a kill between a refcount change and
 * the matching QCOW_OFLAG_COPIED update is reported as an error by
 * qemu-img check, as for QEMU's own snapshots.) */
static void crash_consistency(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const uint64_t size = 64 << 20, bs = 65536, nblk = size / bs;
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	srand(42);
	for (int round = 0; round < 6; round++) {
		assert_int_equal(qcow2_create(p(f, "c.qcow2"), size, &o, &e),
				 0);
		struct block_dev *sb = open_rw(p(f, "c.qcow2"));
		static uint8_t pat[1 << 20];
		memset(pat, 0xee, sizeof(pat));
		for (uint64_t off = 0; off < size / 2; off += sizeof(pat))
			assert_int_equal(block_pwrite(sb, pat, sizeof(pat),
						      off), 0);
		assert_int_equal(qcow2_snapshot_create(sb, "s0", &e), 0);
		block_close(sb);
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			struct block_dev *bd;
			if (block_open(p(f, "c.qcow2"), false, &bd, &e))
				_exit(1);
			static uint8_t b[65536];
			for (uint32_t i = 0;; i++) {
				uint64_t blk = (i * 7919u) % nblk;
				memset(b, (int)(i & 0xff) | 1, sizeof(b));
				memcpy(b, &i, 4);
				/* Partial and unaligned writes, discards
				 * and snapshots in between. */
				block_pwrite(bd, b, 1000, blk * bs + 5000 +
					     (i % 3) * 4096);
				if (i % 5 == 0)
					block_discard(bd, ((i * 31u) % nblk) *
						      bs + 8192, 3 * 4096);
				if (block_pwrite(bd, b, sizeof(b), blk * bs))
					_exit(2);
				if (block_flush(bd))
					_exit(3);
				if (write(pfd[1], &i, 4) != 4)
					_exit(4);
			}
		}
		close(pfd[1]);
		struct timespec ts = { 0, (20 + rand() % 400) * 1000000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		uint32_t v, last = UINT32_MAX;
		while (read(pfd[0], &v, 4) == 4)
			last = v;
		close(pfd[0]);
		our_check_clean_or_leaks(p(f, "c.qcow2"));
		if (have_qemu()) {
			int rc = sh("qemu-img check -q %s 2>/dev/null",
				    p(f, "c.qcow2"));
			if (rc != 0 && rc != 3)
				fail_msg("round %d: qemu-img check exit %d",
					 round, rc);
		}
		if (last == UINT32_MAX)
			continue;
		/* Every block flushed and not overwritten later reads back.
		 * The sequence visits each block once per nblk iterations, and
		 * iteration last + 1 was in flight at the kill: its write to
		 * the block of iteration last + 1 - nblk may have landed, so
		 * that one block is not owed. */
		struct block_dev *bd;
		assert_int_equal(block_open(p(f, "c.qcow2"), true, &bd, &e),
				 0);
		static uint8_t b[65536];
		uint32_t first = last + 1 >= nblk ? last + 2 - nblk : 0;
		for (uint32_t i = first; i <= last; i++) {
			uint64_t blk = (i * 7919u) % nblk;
			assert_int_equal(block_pread(bd, b, bs, blk * bs), 0);
			uint32_t got;
			memcpy(&got, b, 4);
			if (got != i || b[4000] != ((i & 0xff) | 1))
				fail_msg("round %d: flushed block %u lost", round,
					 i);
		}
		block_close(bd);
	}
}

/* Compressed writes pack several clusters per host cluster; qemu-img
 * reads the same bytes and finds the refcounts right. */
static void compressed_writes(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const uint64_t size = (4 << 20) + 1024;  /* partial last cluster */
	const uint32_t cs = 65536;
	uint8_t *model = calloc(1, size + cs);
	for (uint64_t i = 0; i < size; i++)
		model[i] = (i / 100) % 7 == 0 ? (uint8_t)i : 'a' + (i / 512) % 5;
	fill(model + cs * 5, cs, 9);  /* incompressible: stored plain */
	assert_int_equal(qcow2_create(p(f, "z.qcow2"), size, NULL, &e), 0);
	struct block_dev *bd = open_rw(p(f, "z.qcow2"));
	for (uint64_t off = 0; off < size; off += cs) {
		size_t len = size - off < cs ? size - off : cs;
		assert_int_equal(qcow2_write_compressed(bd, off, model + off,
							len, &e), 0);
	}
	compare_all(bd, model, size);
	/* Overwrite one compressed cluster partly and one fully. */
	uint8_t b[3000];
	memset(b, 0x77, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), cs * 2 + 100), 0);
	memcpy(model + cs * 2 + 100, b, sizeof(b));
	assert_int_equal(qcow2_write_compressed(bd, cs * 3, model, cs, &e), 0);
	memcpy(model + cs * 3, model, cs);
	compare_all(bd, model, size);
	assert_int_equal(qcow2_write_compressed(bd, 100, model, cs, &e),
			 -EINVAL);
	block_close(bd);
	our_check_clean(p(f, "z.qcow2"));
	qemu_check_clean(p(f, "z.qcow2"));
	qemu_reads_model(f, p(f, "z.qcow2"), model, size);
	struct stat st;
	assert_int_equal(stat(p(f, "z.qcow2"), &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 < size / 2);
	free(model);
}

/* Vectored requests through the block layer's bounce buffer (qcow2 has no
 * preadv/pwritev of its own): pieces land back to back across clusters,
 * and a vector larger than the bounce buffer takes the per-piece path. */
static void vectored_io(void **state)
{
	struct fx *f = *state;
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	struct err e = { 0 };
	uint64_t size = 4 << 20;
	assert_int_equal(qcow2_create(p(f, "v.qcow2"), size, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "v.qcow2"));
	/* Vectored entries both ways: no gather buffers. */
	assert_null(bd->bounce);
	static uint8_t a[5000], b[3000], c[BLOCK_BOUNCE_BYTES], back[8000];
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	struct iovec w[] = { { a, sizeof(a) }, { b, sizeof(b) } };
	assert_int_equal(block_pwritev(bd, w, 2, 4000), 0);
	assert_int_equal(block_pread(bd, back, sizeof(back), 4000), 0);
	assert_memory_equal(back, a, sizeof(a));
	assert_memory_equal(back + sizeof(a), b, sizeof(b));
	uint8_t r1[1], r2[7000];
	struct iovec r[] = { { r1, 1 }, { r2, sizeof(r2) } };
	assert_int_equal(block_preadv(bd, r, 2, 4000), 0);
	assert_int_equal(r1[0], back[0]);
	assert_memory_equal(r2, back + 1, sizeof(r2));
	/* more than the bounce buffer: still correct */
	for (size_t i = 0; i < sizeof(c); i++)
		c[i] = (uint8_t)(i * 13);
	struct iovec big[] = { { a, 1 }, { c, sizeof(c) } };
	assert_int_equal(block_pwritev(bd, big, 2, 1 << 20), 0);
	static uint8_t cback[BLOCK_BOUNCE_BYTES];
	assert_int_equal(block_pread(bd, cback, sizeof(cback), (1 << 20) + 1),
			 0);
	assert_memory_equal(cback, c, sizeof(c));
	block_close(bd);
	assert_int_equal(sh("qemu-img check -q %s", p(f, "v.qcow2")), 0);
}

/* Vectored writes go straight from the caller's pieces: into fresh
 * clusters between a COW head and tail read from a backing file, in
 * place, under O_DIRECT with pieces of any size and address, and with
 * the most pieces the block layer allows (gathered first). */
static void vectored_writes(struct fx *f, enum block_cache cache)
{
	struct err e = { 0 };
	const uint64_t size = 1 << 20;
	static uint8_t model[1 << 20], back[1 << 20], src[1 << 20];
	char base[200], img[200];
	snprintf(base, sizeof(base), "%s/vw.raw", f->dir);
	snprintf(img, sizeof(img), "%s/vw.qcow2", f->dir);
	fill(model, size, 99);
	int fd = open(base, O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, model, size), (ssize_t)size);
	close(fd);
	struct qcow2_create_opts o = { .cluster_size = 4096,
				       .backing_file = "vw.raw",
				       .backing_fmt = "raw" };
	assert_int_equal(qcow2_create(img, size, &o, &e), 0);
	struct block_dev *bd = NULL;
	struct block_open_opts oo = { .format = "qcow2", .cache = cache };
	int rc = block_open_with(img, &oo, &bd, &e);
	if (rc == -EINVAL && strstr(e.msg, "direct I/O")) {
		fprintf(stderr, "%s\n", e.msg);
		skip();
	}
	assert_int_equal(rc, 0);
	/* Under O_DIRECT the guest's requests are whole blocks (virtio-blk
	 * blk_size); the pieces need not be. */
	uint64_t unit = cache == BLOCK_CACHE_NONE ? bd->dio_align : 1;
	fill(src, size, 7);
	static struct iovec v[1024];
	uint32_t seed = 5;
	for (int round = 0; round < 40; round++) {
		seed = seed * 1103515245 + 12345;
		int n = round == 39 ? 1024 : 1 + (int)((seed >> 4) % 40);
		size_t len = 0, at = (seed >> 3) % 1000;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			size_t l = round == 39 ? 64 : 1 + (seed >> 9) % 9000;
			v[i] = (struct iovec){ src + at, l };
			at += l + (seed >> 20) % 3;
			len += l;
		}
		size_t pad = (len + unit - 1) / unit * unit - len;
		v[n - 1].iov_len += pad;  /* whole blocks in all */
		len += pad;
		seed = seed * 1103515245 + 12345;
		uint64_t off = (seed >> 8) % (size - len) / unit * unit;
		uint8_t *m = model + off;
		for (int i = 0; i < n; m += v[i++].iov_len)
			memcpy(m, v[i].iov_base, v[i].iov_len);
		assert_int_equal(block_pwritev(bd, v, n, off), 0);
	}
	assert_int_equal(block_pread(bd, back, size, 0), 0);
	assert_memory_equal(back, model, size);
	block_close(bd);
	our_check_clean(img);
	qemu_check_clean(img);
}

static void vectored_writes_buffered(void **state)
{
	vectored_writes(*state, BLOCK_CACHE_WRITEBACK);
}
static void vectored_writes_direct(void **state)
{
	vectored_writes(*state, BLOCK_CACHE_NONE);
}

/* Vectored reads go straight into the caller's pieces, whatever lies
 * under them: data, a compressed cluster, a zero cluster, unallocated
 * clusters showing a backing file, and past the backing file's end. */
static void vectored_reads_every_kind(void **state)
{
	struct fx *f = *state;
	const uint32_t cs = 4096;
	const uint64_t size = 16 * cs;
	static uint8_t model[16 * 4096], got[16 * 4096];
	int fd = open(p(f, "vb.raw"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	fill(model, 10 * cs + 123, 3);  /* the base ends mid-cluster */
	assert_int_equal(write(fd, model, 10 * cs + 123),
			 (ssize_t)(10 * cs + 123));
	close(fd);
	memset(model + 10 * cs + 123, 0, size - (10 * cs + 123));
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = cs,
				       .backing_file = "vb.raw",
				       .backing_fmt = "raw" };
	assert_int_equal(qcow2_create(p(f, "vr.qcow2"), size, &o, &e), 0);
	struct block_dev *bd = open_rw(p(f, "vr.qcow2"));
	fill(model + 1 * cs + 100, 2 * cs, 5);  /* data, partial clusters */
	assert_int_equal(block_pwrite(bd, model + cs + 100, 2 * cs,
				      cs + 100), 0);
	memset(model + 4 * cs, 0x5a, cs);       /* compressed */
	assert_int_equal(qcow2_write_compressed(bd, 4 * cs, model + 4 * cs,
						cs, &e), 0);
	memset(model + 6 * cs, 0, 2 * cs);      /* zero clusters */
	assert_int_equal(block_write_zeroes(bd, 6 * cs, 2 * cs, false), 0);
	/* Pieces of 1, 7, 4096, 333, ... bytes, crossing every boundary. */
	static const size_t sizes[] = { 1, 7, 4096, 333, 9000, 4095, 2 };
	struct iovec v[64];
	int n = 0;
	size_t pos = 0;
	while (pos < size) {
		size_t k = sizes[n % 7] < size - pos ? sizes[n % 7]
						     : size - pos;
		v[n++] = (struct iovec){ got + pos, k };
		pos += k;
	}
	memset(got, 0xee, sizeof(got));
	assert_int_equal(block_preadv(bd, v, n, 0), 0);
	assert_memory_equal(got, model, size);
	block_close(bd);
}

static uint64_t rd64(const char *path, uint64_t off)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 8, off), 8);
	close(fd);
	return be64toh(v);
}

/* Host offset of the L2 entry for guest cluster vc (< entries per L2). */
static uint64_t l2_entry_pos(const char *path, uint64_t vc)
{
	uint64_t l2 = rd64(path, rd64(path, 40)) & 0x00fffffffffffe00ull;
	assert_true(l2 != 0);
	return l2 + vc * 8;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* An L2 entry (QCOW_OFLAG_COPIED set) pointing far beyond the end of the
 * file: a guest write through it gets EIO instead of growing the file
 * there, and check sizes its tables by what the metadata references in
 * the file, not by the size of a sparse file. */
static void hostile_data_offsets(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	const char *img = p(f, "o.qcow2");
	assert_int_equal(qcow2_create(img, 16 << 20, &o, &e), 0);
	struct block_dev *bd = open_rw(img);
	static uint8_t b[8192];
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 0), 0);
	block_close(bd);
	uint64_t pos = l2_entry_pos(img, 1);
	uint64_t far = htobe64((1ull << 40) | (1ull << 63));
	patch(img, pos, &far, 8);
	uint64_t before = file_size(img);
	bd = open_rw(img);
	assert_int_equal(block_pwrite(bd, b, 4096, 4096), -EIO);
	assert_int_equal(block_pwrite(bd, b, 8192, 0), -EIO);
	/* A cluster run that starts inside the file stops at its end. */
	assert_int_equal(block_pwrite(bd, b, 4096, 0), 0);
	block_close(bd);
	assert_int_equal(file_size(img), before);
	bd = open_rw(img);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
	assert_true(r.corruptions >= 1);  /* the reference beyond EOF */
	block_close(bd);

	/* The file is 4 TiB (sparse, as an earlier write through such an
	 * entry left it) and the entry points beyond even that: check must
	 * size its tables by the clusters referenced in the file, not
	 * allocate 2 bytes per cluster of holes (2 GiB). */
	uint64_t big = 1ull << 42;
	int fd = open(img, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)big), 0);
	close(fd);
	far = htobe64((big << 1) | (1ull << 63));
	patch(img, pos, &far, 8);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Room for the check's real needs, not for 2 GiB. */
		FILE *st = fopen("/proc/self/status", "r");
		char line[256];
		unsigned long long kb = 0;
		while (st && fgets(line, sizeof(line), st))
			if (sscanf(line, "VmData: %llu kB", &kb) == 1)
				break;
		if (st)
			fclose(st);
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max = (kb << 10) + (512ull << 20);
		if (!kb || setrlimit(RLIMIT_DATA, &rl))
			_exit(10);
		struct block_dev *cb;
		struct err ce = { 0 };
		if (block_open_format(img, "qcow2", true, &cb, &ce))
			_exit(11);
		struct qcow2_check_result cr;
		if (qcow2_check(cb, false, &cr, &ce))
			_exit(12);
		/* The far reference; the data cluster it replaced. */
		if (cr.corruptions != 1 || cr.leaks != 1)
			_exit(13);
		block_close(cb);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("check of a sparse 4 TiB image: %s %d",
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status)
					   : WTERMSIG(status));
}

/* Guest writes on a full disk (a file-size limit gives EFBIG at a fixed
 * point): each failed write must give back the clusters it allocated, so
 * after hundreds of failures check finds no leaks. */
static void full_disk_no_leaks(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	const char *img = p(f, "full.qcow2");
	assert_int_equal(qcow2_create(img, 64 << 20, &o, &e), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { 1 << 20, 1 << 20 };
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(10);
		struct block_dev *bd;
		struct err we = { 0 };
		if (block_open(img, false, &bd, &we))
			_exit(11);
		static uint8_t b[3 * 65536];
		memset(b, 0x3c, sizeof(b));
		int fails = 0, ok = 0;
		for (uint32_t i = 0; i < 2000 && fails < 400; i++) {
			/* Scattered, partial and multi-cluster writes, some
			 * in L2 ranges that have no table yet. */
			uint64_t off = ((uint64_t)i * 2654435761u) %
				       ((64 << 20) - sizeof(b));
			size_t len = 512 + (i % 7) * 28000;
			int rc = block_pwrite(bd, b, len, off);
			if (rc == 0)
				ok++;
			else if (rc == -EFBIG || rc == -ENOSPC)
				fails++;
			else
				_exit(12);
		}
		block_close(bd);
		_exit(ok > 0 && fails >= 400 ? 0 : 13);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	our_check_clean(img);
	qemu_check_clean(img);
}

/* Two refcount table entries naming one block: updates through one would
 * be overwritten by the other's cached copy, so a read-write open is
 * refused and check reports it (found by fuzz_qcow2_meta: a repair that
 * reported success left leaks behind). */
static void shared_refcount_block(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const char *img = p(f, "rb.qcow2");
	assert_int_equal(qcow2_create(img, 1 << 20, NULL, &e), 0);
	uint64_t rt = rd64(img, 48), rb = htobe64(rd64(img, rt));
	patch(img, rt + 5 * 8, &rb, 8);
	struct block_dev *bd;
	assert_int_not_equal(block_open_format(img, "qcow2", false, &bd, &e),
			     0);
	assert_non_null(strstr(e.msg, "same refcount block"));
	assert_int_equal(block_open_format(img, "qcow2", true, &bd, &e), 0);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, false, &r, &e), 0);
	assert_true(r.corruptions >= 1);
	block_close(bd);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	*n = file_size(path);
	uint8_t *b = malloc(*n ? *n : 1);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, *n, 0), (ssize_t)*n);
	close(fd);
	return b;
}

/* snapshot apply checks the whole snapshot first: a bad second L2 table
 * (after a good first one) or a virtual size its L1 table does not cover
 * is refused with the image left byte for byte as it was. */
static void snapshot_apply_validates(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const char *img = p(f, "sv.qcow2");
	for (int what = 0; what < 2; what++) {
		assert_int_equal(qcow2_create(img, 1 << 30, NULL, &e), 0);
		struct block_dev *bd = open_rw(img);
		static uint8_t b[65536];
		memset(b, 0x42, sizeof(b));
		assert_int_equal(block_pwrite(bd, b, sizeof(b), 0), 0);
		assert_int_equal(block_pwrite(bd, b, sizeof(b), 600 << 20), 0);
		assert_int_equal(qcow2_snapshot_create(bd, "s", &e), 0);
		block_close(bd);
		uint64_t snap = rd64(img, 64);
		if (what == 0) {
			uint64_t far = htobe64(1ull << 40);
			patch(img, rd64(img, snap) + 8, &far, 8);
		} else {
			uint64_t big = htobe64(1ull << 40);
			patch(img, snap + 40 + 8, &big, 8);
		}
		size_t n0, n1;
		uint8_t *before = slurp(img, &n0);
		bd = open_rw(img);
		err_clear(&e);
		assert_int_equal(qcow2_snapshot_apply(bd, "s", &e), -EINVAL);
		assert_non_null(strstr(e.msg, "not applied"));
		block_close(bd);
		uint8_t *after = slurp(img, &n1);
		assert_int_equal(n0, n1);
		assert_memory_equal(before, after, n0);
		free(before);
		free(after);
	}
}

/* A refcount table entry naming a cluster whose refcount is 0: the
 * allocator must not hand that refcount block out for data or tables
 * (found by fuzz_qcow2_meta: a repair that reported success left leaks
 * behind), and repair gives it its refcount. */
static void unreferenced_refcount_block(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	const char *img = p(f, "ub.qcow2");
	assert_int_equal(qcow2_create(img, 16 << 20, &o, &e), 0);
	uint64_t rb = 5 * 4096;
	int fd = open(img, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 * 4096), 0);
	close(fd);
	uint64_t be = htobe64(rb);
	patch(img, rd64(img, 48) + 233 * 8, &be, 8);
	struct block_dev *bd = open_rw(img);
	static uint8_t b[4 * 4096];
	memset(b, 0x61, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 0), 0);
	block_close(bd);
	for (int i = 0; i < 4; i++)
		assert_int_not_equal(rd64(img, l2_entry_pos(img, i)) &
				     0x00fffffffffffe00ull, rb);
	assert_int_not_equal(rd64(img, rd64(img, 40)) &
			     0x00fffffffffffe00ull, rb);
	bd = open_rw(img);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, true, &r, &e), 0);
	assert_int_equal(r.corruptions, r.corruptions_fixed);
	assert_int_equal(r.leaks, r.leaks_fixed);
	block_close(bd);
	our_check_clean(img);
}

/* An L2 entry (or an L1 entry) pointing at a refcount block: guest data
 * and L2 entries must not be written over the refcounts. */
static void metadata_on_refcount_block(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	struct qcow2_create_opts o = { .cluster_size = 4096 };
	const char *img = p(f, "mr.qcow2");
	assert_int_equal(qcow2_create(img, 16 << 20, &o, &e), 0);
	struct block_dev *bd = open_rw(img);
	static uint8_t b[4096];
	memset(b, 0x11, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 0), 0);
	block_close(bd);
	uint64_t rb = rd64(img, rd64(img, 48));
	uint64_t ent = htobe64(rb | (1ull << 63));
	patch(img, l2_entry_pos(img, 0), &ent, 8);
	size_t n0, n1;
	uint8_t *before = slurp(img, &n0);
	bd = open_rw(img);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 0), -EIO);
	block_close(bd);
	uint8_t *after = slurp(img, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	free(before);
	free(after);
	/* The L1 entry: the L2 table would be the refcount block. */
	patch(img, rd64(img, 40), &ent, 8);
	before = slurp(img, &n0);
	bd = open_rw(img);
	assert_int_equal(block_pwrite(bd, b, sizeof(b), 4096), -EIO);
	block_close(bd);
	after = slurp(img, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	free(before);
	free(after);
}

/* An L1 entry naming the refcount table's cluster as its L2 table:
 * repair and snapshot creation must not "fix" QCOW_OFLAG_COPIED flags in
 * it (which rewrote the refcount table), and repair must not claim to
 * have fixed everything. */
static void l1_entry_on_metadata(void **state)
{
	struct fx *f = *state;
	struct err e = { 0 };
	const char *img = p(f, "lm.qcow2");
	assert_int_equal(qcow2_create(img, 16 << 20, NULL, &e), 0);
	uint64_t rt = rd64(img, 48), rt0 = rd64(img, rt);
	uint64_t ent = htobe64(rt | (1ull << 63));
	patch(img, rd64(img, 40), &ent, 8);
	struct block_dev *bd = open_rw(img);
	struct qcow2_check_result r;
	assert_int_equal(qcow2_check(bd, true, &r, &e), 0);
	assert_true(r.corruptions > r.corruptions_fixed);
	assert_int_not_equal(qcow2_snapshot_create(bd, "s", &e), 0);
	block_close(bd);
	assert_int_equal(rd64(img, rt), rt0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(create_and_info),
		T(vectored_io),
		T(vectored_reads_every_kind),
		T(vectored_writes_buffered),
		T(vectored_writes_direct),
		T(random_io_512),
		T(random_io_4k),
		T(random_io_64k),
		T(random_io_2m),
		T(random_io_backing),
		T(threaded_io_512),
		T(threaded_io_4k),
		T(threaded_io_64k),
		T(discard_vs_inplace_write),
		T(same_cluster_allocs_4k),
		T(same_cluster_allocs_64k),
		T(same_cluster_allocs_backing),
		T(split_requests_race),
		T(split_requests_second_first),
		T(split_requests_seeded),
		T(deferred_l2_entries),
		T(deferred_l2_crash),
		T(deferred_refcounts_first),
		T(reads_qemu_images),
		T(backing_chain),
		T(snapshots),
		T(hostile_headers),
		T(check_repairs_leaks),
		T(crash_consistency),
		T(compressed_writes),
		T(hostile_data_offsets),
		T(full_disk_no_leaks),
		T(shared_refcount_block),
		T(snapshot_apply_validates),
		T(unreferenced_refcount_block),
		T(metadata_on_refcount_block),
		T(l1_entry_on_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
