/*
 * ringvm-netbench: a minimal TCP throughput sender/receiver for bench/net.sh
 * (built static for the guest, and natively for the host side).
 *
 *   ringvm-netbench recv PORT           accept one connection, read to EOF
 *   ringvm-netbench send HOST PORT SECS connect (retrying up to 60 s), send
 *                                       64 KiB writes for SECS seconds
 *
 * Each prints one line, timed with CLOCK_MONOTONIC on its own side:
 *   NETBENCH recv|send <bytes> <seconds> <Mbit/s>
 * The receiver's figure counts from the first byte to EOF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const char *what, unsigned long long bytes, double secs)
{
	printf("NETBENCH %s %llu %.3f %.1f\n", what, bytes, secs,
	       secs > 0 ? bytes * 8 / secs / 1e6 : 0.0);
	fflush(stdout);
}

static int do_recv(int port)
{
	static char buf[1 << 16];
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port) };
	if (ls < 0)
		return perror("socket"), 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0)
		return perror("bind/listen"), 1;
	printf("NETBENCH listening %d\n", port);
	fflush(stdout);
	int s = accept(ls, NULL, NULL);
	if (s < 0)
		return perror("accept"), 1;
	unsigned long long total = 0;
	double t0 = 0;
	for (;;) {
		ssize_t n = read(s, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!total)
			t0 = now();
		total += (unsigned long long)n;
	}
	report("recv", total, total ? now() - t0 : 0);
	close(s);
	close(ls);
	return total ? 0 : 1;
}

static int do_send(const char *host, int port, double secs)
{
	static char buf[1 << 16];
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port) };
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return fprintf(stderr, "bad address %s\n", host), 1;
	memset(buf, 0x5a, sizeof(buf));
	int s = -1;
	double give_up = now() + 60;
	while (now() < give_up) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(s);
		s = -1;
		usleep(200000);
	}
	if (s < 0)
		return fprintf(stderr, "connect %s:%d failed\n", host, port), 1;
	unsigned long long total = 0;
	double t0 = now(), end = t0 + secs;
	while (now() < end) {
		ssize_t n = write(s, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return perror("write"), 1;
		total += (unsigned long long)n;
	}
	shutdown(s, SHUT_WR);
	/* Wait for the receiver to finish reading. */
	while (read(s, buf, sizeof(buf)) > 0)
		;
	report("send", total, now() - t0);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: ringvm-netbench recv PORT | send HOST PORT SECS\n");
	return 2;
}
