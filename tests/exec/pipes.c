/* Pipes between processes: 1 MiB in 4 KiB writes through a child that
 * copies stdin to stdout, checksummed; exit statuses through wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int in[2], out[2];
	if (pipe(in) || pipe(out))
		return 1;
	pid_t c = fork();
	if (c == 0) {
		close(in[1]);
		close(out[0]);
		char b[4096];
		ssize_t n;
		while ((n = read(in[0], b, sizeof(b))) > 0)
			if (write(out[1], b, (size_t)n) != n)
				_exit(9);
		_exit(42);
	}
	close(in[0]);
	close(out[1]);
	pid_t w = fork();
	if (w == 0) {
		char b[4096];
		for (int i = 0; i < 256; i++) {
			memset(b, 'a' + i % 26, sizeof(b));
			if (write(in[1], b, sizeof(b)) != (ssize_t)sizeof(b))
				_exit(8);
		}
		_exit(0);
	}
	close(in[1]);
	unsigned long sum = 0, total = 0;
	char b[1000];
	ssize_t n;
	while ((n = read(out[0], b, sizeof(b))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char)b[i];
		total += (unsigned long)n;
	}
	int s1, s2;
	waitpid(w, &s2, 0);
	waitpid(c, &s1, 0);
	printf("bytes %lu sum %lx\n", total, sum);
	printf("copier exit %d writer exit %d\n", WEXITSTATUS(s1), WEXITSTATUS(s2));
	printf("pipes ok\n");
	return 0;
}
