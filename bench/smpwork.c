/*
 * smpwork: the guest side of bench/smp.sh (static riscv64, carried on a
 * small raw disk).
 *
 *   smpwork THREADS SECONDS
 *
 * Starts THREADS threads (thread i pinned to CPU i), releases them
 * together, and lets each hash its own 4 KiB buffer with a table-driven
 * CRC-32 (loads, shifts, xors: integer work that stays in the cache) until
 * SECONDS of CLOCK_MONOTONIC have passed.  Prints
 *   RESULT threads <n> secs <elapsed> iters <total> rate <total/elapsed> crc <x>
 * where one iteration is one pass over one buffer; `crc` only keeps the
 * work from being optimised away.  The time is the guest's own, measured
 * from the release to the last thread's stop: boot time never counts.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 64
#define BUF 4096

static uint32_t table[256];
static double secs;
static pthread_barrier_t start;

struct worker {
	pthread_t tid;
	long id;
	uint64_t iters;
	uint32_t crc;
	double stopped;
	uint8_t buf[BUF];
} __attribute__((aligned(64)));

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double t_start;

static void *run(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)w->id, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (int i = 0; i < BUF; i++)
		w->buf[i] = (uint8_t)(i * 131 + w->id);
	pthread_barrier_wait(&start);
	double end = t_start + secs;
	uint32_t crc = 0;
	uint64_t n = 0;
	for (;;) {
		for (int k = 0; k < 16; k++, n++) {
			uint32_t c = ~crc;
			for (int i = 0; i < BUF; i++)
				c = table[(c ^ w->buf[i]) & 0xff] ^ (c >> 8);
			crc = ~c;
			w->buf[n % BUF] ^= (uint8_t)crc;
		}
		double t = now();
		if (t >= end) {
			w->stopped = t;
			break;
		}
	}
	w->iters = n;
	w->crc = crc;
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	long n;

	if (argc != 3 || (n = strtol(argv[1], NULL, 10)) < 1 || n > MAX_THREADS ||
	    (secs = strtod(argv[2], NULL)) <= 0) {
		fprintf(stderr, "usage: smpwork THREADS(1-%d) SECONDS\n", MAX_THREADS);
		return 2;
	}
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	/* n workers and this thread, which takes the start time */
	if (pthread_barrier_init(&start, NULL, (unsigned)n + 1)) {
		perror("smpwork: pthread_barrier_init");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].tid, NULL, run, &w[i])) {
			perror("smpwork: pthread_create");
			return 1;
		}
	}
	t_start = now();
	pthread_barrier_wait(&start);
	uint64_t total = 0;
	uint32_t crc = 0;
	double last = t_start;
	for (long i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].iters;
		crc ^= w[i].crc;
		if (w[i].stopped > last)
			last = w[i].stopped;
	}
	double el = last - t_start;
	printf("RESULT threads %ld secs %.3f iters %llu rate %.1f crc %08x\n", n, el,
	       (unsigned long long)total, total / el, crc);
	return 0;
}
