/* Threads: pthread create/join, mutexes, condition variables (futex),
 * thread-local storage, a detached thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NT 8
#define ITER 20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static __thread int tls_val;

static void *worker(void *arg)
{
	long id = (long)arg;
	tls_val = (int)id;
	for (int i = 0; i < ITER; i++) {
		pthread_mutex_lock(&mu);
		counter++;
		pthread_mutex_unlock(&mu);
	}
	/* take turns in id order through the condition variable */
	pthread_mutex_lock(&mu);
	while (turn != id)
		pthread_cond_wait(&cv, &mu);
	turn++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return (void *)(long)(tls_val * 10 + (syscall(SYS_gettid) != getpid()));
}

static void *finisher(void *arg)
{
	usleep(50000);
	printf("threads ok\n");
	fflush(stdout);
	return arg;
}

int main(void)
{
	pthread_t t[NT];
	for (long i = 0; i < NT; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			printf("FAIL create\n");
			return 1;
		}
	long sum = 0;
	for (int i = 0; i < NT; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	long first = counter;
	printf("counter %ld (want %d)\n", first, NT * ITER);
	printf("sum %ld turn %d tls %d\n", sum, turn, tls_val);
	/* threads created and ended in a row reuse their slots */
	for (int round = 0; round < 50; round++) {
		pthread_t x;
		pthread_create(&x, NULL, worker, (void *)(long)turn);
		pthread_join(x, NULL);
	}
	printf("turn %d\n", turn);
	if (first != NT * ITER)
		return 1;
	/* The main thread leaves first; the process ends with the last. */
	pthread_t last;
	pthread_create(&last, NULL, finisher, NULL);
	pthread_exit(NULL);
}
