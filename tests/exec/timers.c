/* Timers: setitimer/alarm with a SIGALRM handler, a POSIX timer with
 * SIGEV_SIGNAL, timerfd, signalfd. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms, rt;

static void on_alrm(int s) { alarms++; }
static void on_rt(int s) { rt++; }

int main(void)
{
	signal(SIGALRM, on_alrm);
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	while (alarms < 3)
		pause();
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("itimer alarms >= 3: %d\n", alarms >= 3);

	alarm(1);
	unsigned left = alarm(0);
	printf("alarm left 1: %d\n", left == 1);

	signal(SIGRTMIN + 3, on_rt);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 3 };
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &ev, &tm))
		return 1;
	struct itimerspec ts = { { 0, 0 }, { 0, 30000000 } };
	timer_settime(tm, 0, &ts, NULL);
	struct timespec d = { 1, 0 };
	while (!rt && nanosleep(&d, &d) == -1 && errno == EINTR && !rt)
		;
	timer_delete(tm);
	printf("posix timer fired: %d\n", rt);

	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec tv = { { 0, 10000000 }, { 0, 10000000 } };
	timerfd_settime(tfd, 0, &tv, NULL);
	uint64_t n = 0;
	if (read(tfd, &n, 8) != 8)
		return 1;
	printf("timerfd expirations >= 1: %d\n", n >= 1);

	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	int sfd = signalfd(-1, &m, SFD_CLOEXEC);
	kill(getpid(), SIGUSR1);
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 1;
	printf("signalfd got %u from self %d\n", si.ssi_signo, si.ssi_pid == (uint32_t)getpid());
	printf("timers ok\n");
	return 0;
}
