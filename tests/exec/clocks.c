/* Clocks and sleeps. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	double m0 = now(CLOCK_MONOTONIC), r0 = now(CLOCK_REALTIME);
	struct timespec d = { 0, 50000000 };
	nanosleep(&d, NULL);
	double m1 = now(CLOCK_MONOTONIC);
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 20000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
	double m2 = now(CLOCK_MONOTONIC);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	double wall = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	struct timespec res;
	clock_getres(CLOCK_MONOTONIC, &res);
	printf("nanosleep >= 50ms: %d\n", m1 - m0 >= 0.05 && m1 - m0 < 2);
	printf("abs sleep >= 20ms: %d\n", m2 - m1 >= 0.019 && m2 - m1 < 2);
	printf("realtime near gettimeofday: %d\n", wall - r0 >= 0 && wall - r0 < 5);
	printf("realtime after 2020: %d\n", r0 > 1577836800.0);
	printf("resolution <= 1ms: %d\n", res.tv_sec == 0 && res.tv_nsec <= 1000000);
	printf("clocks ok\n");
	return 0;
}
