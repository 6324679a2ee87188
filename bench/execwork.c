/* Workloads for bench/exec.sh, one per argv[1]:
 *   compute N   integer and memory work (a sieve and a hash), N rounds
 *   getpid N    N getpid() system calls
 *   pipe N      N 4 KiB write+read pairs through a pipe
 *   clock N     N clock_gettime(CLOCK_MONOTONIC) calls (the vDSO where
 *               there is one)
 *   file N      N 4 KiB pwrite+pread pairs on a regular file
 * Prints a checksum so the work cannot be optimised away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long n = atol(argv[2]);
	unsigned long sum = 0;
	if (!strcmp(argv[1], "compute")) {
		static unsigned char sieve[1 << 20];
		for (long r = 0; r < n; r++) {
			memset(sieve, 1, sizeof(sieve));
			for (unsigned i = 2; i * i < sizeof(sieve); i++)
				if (sieve[i])
					for (unsigned j = i * i; j < sizeof(sieve); j += i)
						sieve[j] = 0;
			for (unsigned i = 0; i < sizeof(sieve); i++)
				sum = sum * 1000003u + sieve[i] * i;
		}
	} else if (!strcmp(argv[1], "getpid")) {
		for (long i = 0; i < n; i++)
			sum += (unsigned long)syscall(SYS_getpid);
	} else if (!strcmp(argv[1], "pipe")) {
		int p[2];
		char buf[4096];
		if (pipe(p))
			return 1;
		memset(buf, 7, sizeof(buf));
		for (long i = 0; i < n; i++) {
			if (write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
			    read(p[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				return 1;
			sum += (unsigned char)buf[i % 4096];
		}
	} else if (!strcmp(argv[1], "file")) {
		char path[] = "/tmp/execwork-XXXXXX", buf[4096];
		int fd = mkstemp(path);
		if (fd < 0)
			return 1;
		unlink(path);
		memset(buf, 5, sizeof(buf));
		for (long i = 0; i < n; i++) {
			off_t at = (off_t)(i % 256) * 4096;
			if (pwrite(fd, buf, sizeof(buf), at) != (ssize_t)sizeof(buf) ||
			    pread(fd, buf, sizeof(buf), at) != (ssize_t)sizeof(buf))
				return 1;
			sum += (unsigned char)buf[i % 4096];
		}
		close(fd);
	} else if (!strcmp(argv[1], "clock")) {
		struct timespec t;
		for (long i = 0; i < n; i++) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			sum += (unsigned long)t.tv_nsec & 1;
		}
		sum = n > 0;   /* the time itself is not reproducible */
	} else {
		return 2;
	}
	printf("%lu\n", sum);
	return 0;
}
