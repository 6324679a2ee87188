/* Signals: handlers with siginfo, masks and pending signals, SA_RESTART
 * around a blocking read, sigaltstack, a signal from a child process,
 * SIGILL from an illegal instruction, the default action of SIGPIPE
 * observed through wait. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s (errno %d)\n", \
	__FILE__, __LINE__, #c, errno); return 1; } } while (0)

static volatile int got, got_code, on_alt;
static char alt[65536];
static sigjmp_buf jb;

static void h_info(int sig, siginfo_t *si, void *uc)
{
	got = sig;
	got_code = si->si_code;
	char local;
	on_alt = &local >= alt && &local < alt + sizeof(alt);
}

static void h_ill(int sig)
{
	siglongjmp(jb, sig);
}

int main(void)
{
	struct sigaction sa = { 0 };
	sa.sa_sigaction = h_info;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	raise(SIGUSR1);
	printf("raise: sig %d user %d\n", got, got_code == SI_TKILL);

	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	got = 0;
	CHECK(sigprocmask(SIG_BLOCK, &m, &old) == 0);
	kill(getpid(), SIGUSR1);
	sigset_t pend;
	sigpending(&pend);
	printf("blocked: got %d pending %d\n", got, sigismember(&pend, SIGUSR1));
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	printf("unblocked: got %d\n", got);

	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };
	CHECK(sigaltstack(&ss, NULL) == 0);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	raise(SIGUSR2);
	printf("altstack: sig %d on_alt %d\n", got, on_alt);

	/* SA_RESTART: a child signals us while we block in read() */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	int p[2];
	CHECK(pipe(p) == 0);
	got = 0;
	pid_t c = fork();
	if (c == 0) {
		usleep(100000);
		kill(getppid(), SIGUSR1);
		usleep(100000);
		if (write(p[1], "r", 1) != 1)
			_exit(3);
		_exit(0);
	}
	char b = 0;
	ssize_t n = read(p[0], &b, 1);
	int st;
	waitpid(c, &st, 0);
	printf("restart: n %zd b %c got %d child %d\n", n, b, got,
	       WEXITSTATUS(st));

	signal(SIGILL, h_ill);
	int r = sigsetjmp(jb, 1);
	if (!r) {
#if defined(__riscv)
		__asm__ volatile(".word 0");
#else
		__asm__ volatile("ud2");
#endif
	}
	printf("illegal instruction: sig %d\n", r);

	/* default actions end a child the native way; the read end is
	 * closed before fork so the write can only meet a reader-less pipe */
	close(p[0]);
	c = fork();
	if (c == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (write(p[1], "x", 1) < 0)
			_exit(2);
		_exit(1);
	}
	waitpid(c, &st, 0);
	c = fork();
	if (c == 0) {
		*(volatile int *)0 = 1;
		_exit(0);
	}
	int st2;
	waitpid(c, &st2, 0);
	printf("child killed: SIGPIPE %d SIGSEGV %d\n",
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE,
	       WIFSIGNALED(st2) && WTERMSIG(st2) == SIGSEGV);
	printf("signals ok\n");
	return 0;
}
