/* ringvm-heartbeat [PERIOD_US]: print "HB <n>" every PERIOD_US
 * microseconds (default 1000) on absolute CLOCK_MONOTONIC deadlines, for
 * bench/lifecycle: the host times restore-to-running and migration
 * downtime from these lines, so the period bounds the measurement's
 * resolution (a shell loop of `usleep` costs milliseconds of its own
 * per line in an emulated guest).  A missed deadline is not caught up:
 * the next line comes one period after the late one. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long us = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	if (us < 1 || us > 10000000) {
		fprintf(stderr, "ringvm-heartbeat: period %s us out of range\n",
			argv[1]);
		return 2;
	}
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (unsigned long n = 1;; n++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "HB %lu\n", n);
		if (write(1, line, (size_t)len) != len)
			return 1;
		t.tv_nsec += us * 1000;
		while (t.tv_nsec >= 1000000000) {
			t.tv_nsec -= 1000000000;
			t.tv_sec++;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > t.tv_sec ||
		    (now.tv_sec == t.tv_sec && now.tv_nsec > t.tv_nsec))
			t = now;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
}
