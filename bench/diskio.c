/* Guest side of bench/disk.sh: O_DIRECT disk throughput on a block device.
 *
 *   diskio DEV seqwrite|seqread|randwrite|randread SPAN_MIB SECONDS [BASE_MIB]
 *
 * The region is SPAN_MIB MiB from BASE_MIB MiB (default 0) into DEV.
 * seq*: 1 MiB requests from the start of the region, wrapping at its end.
 * rand*: 4 KiB requests at 4 KiB-aligned offsets, uniformly random over the
 * region (xorshift, fixed seed).  Runs for SECONDS (at least one pass for
 * seq, so SECONDS 0 is exactly one pass; at least 256 requests for rand)
 * and prints one line:
 *   RESULT <mode> <bytes> <ops> <secs> <MB/s> <IOPS>
 * Writes end with fdatasync, counted in the time.  Cross-built static with
 * riscv64-linux-gnu-gcc (and natively for a smoke test). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: diskio DEV seqwrite|seqread|randwrite|"
			"randread SPAN_MIB SECONDS [BASE_MIB]\n");
		return 2;
	}
	const char *dev = argv[1], *mode = argv[2];
	uint64_t span = strtoull(argv[3], NULL, 0) << 20;
	double secs = atof(argv[4]);
	uint64_t base = argc > 5 ? strtoull(argv[5], NULL, 0) << 20 : 0;
	int wr = strstr(mode, "write") != NULL;
	int seq = !strncmp(mode, "seq", 3);
	size_t bs = seq ? (1u << 20) : 4096;
	if (!span || span < bs) {
		fprintf(stderr, "diskio: span too small\n");
		return 2;
	}
	int fd = open(dev, (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "diskio: open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	void *buf;
	if (posix_memalign(&buf, 4096, bs))
		return 1;
	/* Non-zero, varied data so no layer can shortcut zeros. */
	for (size_t i = 0; i < bs; i += 8) {
		uint64_t v = next();
		memcpy((char *)buf + i, &v, 8);
	}
	uint64_t nblocks = span / bs, ops = 0, off = 0;
	uint64_t min_ops = seq ? nblocks : 256;
	double t0 = now(), t = t0;
	while (ops < min_ops || t - t0 < secs) {
		if (seq) {
			off = base + (ops % nblocks) * bs;
		} else {
			off = base + (next() % nblocks) * bs;
			((uint64_t *)buf)[0] = ops;  /* vary the data */
		}
		ssize_t n = wr ? pwrite(fd, buf, bs, off) : pread(fd, buf, bs, off);
		if (n != (ssize_t)bs) {
			fprintf(stderr, "diskio: %s at %llu: %s\n", mode,
				(unsigned long long)off,
				n < 0 ? strerror(errno) : "short transfer");
			return 1;
		}
		ops++;
		if ((ops & 15) == 0 || seq)
			t = now();
	}
	if (wr && fdatasync(fd) < 0) {
		fprintf(stderr, "diskio: fdatasync: %s\n", strerror(errno));
		return 1;
	}
	t = now() - t0;
	double bytes = (double)ops * bs;
	printf("RESULT %s %.0f %llu %.3f %.2f %.0f\n", mode, bytes,
	       (unsigned long long)ops, t, bytes / t / 1e6, ops / t);
	close(fd);
	return 0;
}
