/*
 * smp-counter: run inside the guest by tests/system/smp.sh (static
 * riscv64, carried on a small raw disk).
 *
 *   smp-counter THREADS ITERATIONS
 *
 * Starts THREADS threads, thread i pinned to CPU i when that CPU exists,
 * each doing ITERATIONS rounds of: __atomic_fetch_add on a 64-bit and a
 * 32-bit shared counter, and a plain (non-atomic) update of a two-field
 * record under a pthread mutex.  Prints, one "RVT key value" line each:
 *   atomic64, atomic32, locked   the final totals (the host compares them
 *                                with THREADS * ITERATIONS)
 *   torn                         records seen inconsistent under the lock
 *   cpus                         distinct CPUs the threads ran on
 * Exits 0 when it could run the threads, 1 otherwise.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_THREADS 64

static uint64_t a64;
static uint32_t a32;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t n;
	uint64_t twice;   /* == 2 * n whenever the lock is free */
} rec;
static uint64_t torn;
static unsigned long iterations;
static pthread_barrier_t start;
static uint64_t cpu_seen;   /* bit per CPU, set atomically */

static void *worker(void *arg)
{
	long id = (long)arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)id, &set);
	/* best effort: fewer CPUs than threads just means sharing */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < iterations; i++) {
		__atomic_fetch_add(&a64, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&a32, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&lock);
		uint64_t n = rec.n, t = rec.twice;
		if (t != 2 * n)
			torn++;
		rec.n = n + 1;
		rec.twice = t + 2;
		pthread_mutex_unlock(&lock);
		if ((i & 1023) == 0) {
			int c = sched_getcpu();
			if (c >= 0 && c < 64)
				__atomic_fetch_or(&cpu_seen, 1ull << c, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	long n;

	if (argc != 3 || (n = strtol(argv[1], NULL, 10)) < 1 || n > MAX_THREADS ||
	    (iterations = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: smp-counter THREADS(1-%d) ITERATIONS\n", MAX_THREADS);
		return 2;
	}
	if (pthread_barrier_init(&start, NULL, (unsigned)n)) {
		perror("smp-counter: pthread_barrier_init");
		return 1;
	}
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			perror("smp-counter: pthread_create");
			return 1;
		}
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("RVT atomic64 %llu\n", (unsigned long long)a64);
	printf("RVT atomic32 %lu\n", (unsigned long)a32);
	printf("RVT locked %llu\n", (unsigned long long)rec.n);
	printf("RVT twice %llu\n", (unsigned long long)rec.twice);
	printf("RVT torn %llu\n", (unsigned long long)torn);
	printf("RVT cpus %d\n", __builtin_popcountll(cpu_seen));
	return 0;
}
