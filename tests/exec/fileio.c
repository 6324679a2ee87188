/* File I/O from several threads at once (pwrite/pread/lseek/fstat on
 * regular files: the calls the KVM sandbox answers through its I/O
 * queue), interrupted by a fast interval timer, and again in a forked
 * child: every result and every byte as written. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int alarms;

static void on_alrm(int s)
{
	(void)s;
	alarms++;
}

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	char p[64];
	snprintf(p, sizeof(p), "/tmp/ringvm-fileio-%d-%ld", getpid(), id);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unlink(p);
	if (fd < 0)
		return (void *)1000L;
	for (int round = 0; round < 4; round++) {
		for (long i = 0; i < 2000; i++) {
			long v = i * 7 + id + round;
			bad += pwrite(fd, &v, 8, i * 8) != 8;
		}
		for (long i = 0; i < 2000; i++) {
			long v = -1;
			bad += pread(fd, &v, 8, i * 8) != 8 ||
			       v != i * 7 + id + round;
		}
		struct stat st;
		bad += fstat(fd, &st) || st.st_size != 2000 * 8;
		bad += lseek(fd, 0, SEEK_END) != 2000 * 8;
		long v = 0;
		bad += write(fd, &v, 8) != 8 || ftruncate(fd, 2000 * 8);
	}
	close(fd);
	return (void *)bad;
}

int main(void)
{
	signal(SIGALRM, on_alrm);
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	setitimer(ITIMER_REAL, &it, NULL);
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	long bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(worker((void *)9) ? 1 : 0);
	int st = 0;
	waitpid(c, &st, 0);
	printf("threads bad %ld, child %d, alarms seen %d\n", bad,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), alarms > 0);
	return 0;
}
