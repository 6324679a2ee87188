/* Guest side of bench/disk.sh: O_DIRECT disk throughput on a block device.
 *
 *   diskio DEV seqwrite|seqread|randwrite|randread SPAN_MIB SECONDS [BASE_MIB [QD]]
 *
 * QD (default 1): requests in flight, as QD threads each issuing one
 * synchronous O_DIRECT request at a time (no libaio in the guest); the
 * result line then names the mode MODE-qdQD.
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
#include <pthread.h>
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

static uint64_t next(uint64_t *rng)
{
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return *rng;
}

struct job {
	int fd, wr, seq, id, qd;
	size_t bs;
	uint64_t base, nblocks, min_ops;
	double secs;
	uint64_t rng, ops;
	double t;        /* seconds this thread ran */
	int err;
};

static void *run(void *arg)
{
	struct job *j = arg;
	void *buf;
	if (posix_memalign(&buf, 4096, j->bs)) {
		j->err = 1;
		return NULL;
	}
	/* Non-zero, varied data so no layer can shortcut zeros. */
	for (size_t i = 0; i < j->bs; i += 8) {
		uint64_t v = next(&j->rng);
		memcpy((char *)buf + i, &v, 8);
	}
	double t0 = now(), t = t0;
	uint64_t off;
	while (j->ops < j->min_ops || t - t0 < j->secs) {
		if (j->seq) {
			/* Thread id takes blocks id, id + qd, ... */
			uint64_t k = j->ops * j->qd + j->id;
			off = j->base + (k % j->nblocks) * j->bs;
		} else {
			off = j->base + (next(&j->rng) % j->nblocks) * j->bs;
			((uint64_t *)buf)[0] = j->ops;  /* vary the data */
		}
		ssize_t n = j->wr ? pwrite(j->fd, buf, j->bs, off)
				  : pread(j->fd, buf, j->bs, off);
		if (n != (ssize_t)j->bs) {
			fprintf(stderr, "diskio: %s at %llu: %s\n",
				j->wr ? "write" : "read",
				(unsigned long long)off,
				n < 0 ? strerror(errno) : "short transfer");
			j->err = 1;
			break;
		}
		j->ops++;
		if ((j->ops & 15) == 0 || j->seq)
			t = now();
	}
	j->t = now() - t0;
	free(buf);
	return NULL;
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
	int qd = argc > 6 ? atoi(argv[6]) : 1;
	if (qd < 1 || qd > 64) {
		fprintf(stderr, "diskio: QD must be 1..64\n");
		return 2;
	}
	uint64_t nblocks = span / bs;
	struct job jobs[64];
	pthread_t th[64];
	double t0 = now();
	for (int i = 0; i < qd; i++) {
		jobs[i] = (struct job){
			.fd = fd, .wr = wr, .seq = seq, .id = i, .qd = qd,
			.bs = bs, .base = base, .nblocks = nblocks,
			/* One pass in all for seq, 256 requests for rand. */
			.min_ops = seq ? (nblocks + qd - 1 - i) / qd
				       : (uint64_t)(256 + qd - 1) / qd,
			.secs = secs,
			.rng = 88172645463325252ull + 0x9e3779b97f4a7c15ull * i,
		};
		if (pthread_create(&th[i], NULL, run, &jobs[i]))
			return 1;
	}
	uint64_t ops = 0;
	int err = 0;
	for (int i = 0; i < qd; i++) {
		pthread_join(th[i], NULL);
		ops += jobs[i].ops;
		err |= jobs[i].err;
	}
	if (err)
		return 1;
	if (wr && fdatasync(fd) < 0) {
		fprintf(stderr, "diskio: fdatasync: %s\n", strerror(errno));
		return 1;
	}
	double t = now() - t0;
	double bytes = (double)ops * bs;
	char label[64];
	if (qd > 1)
		snprintf(label, sizeof(label), "%s-qd%d", mode, qd);
	else
		snprintf(label, sizeof(label), "%s", mode);
	printf("RESULT %s %.0f %llu %.3f %.2f %.0f\n", label, bytes,
	       (unsigned long long)ops, t, bytes / t / 1e6, ops / t);
	close(fd);
	return 0;
}
