/* The x86-64 KVM sandbox's own test program (tests/system/exec-x86_64.sh,
 * bench/exec.sh): built with the host gcc -static, each mode prints what
 * the test compares with a native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static __thread int tls_counter = 41;

static int files(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/kvmtest.txt", dir);
	FILE *f = fopen(p, "w");
	if (!f)
		return perror("fopen w"), 1;
	for (int i = 0; i < 1000; i++)
		fprintf(f, "line %d\n", i);
	fclose(f);
	struct stat st;
	if (stat(p, &st))
		return perror("stat"), 1;
	f = fopen(p, "r");
	if (!f)
		return perror("fopen r"), 1;
	char line[64];
	long sum = 0;
	while (fgets(line, sizeof(line), f))
		sum += atoi(line + 5);
	fclose(f);
	unlink(p);
	printf("size %lld sum %ld gone %d\n", (long long)st.st_size, sum,
	       access(p, F_OK) != 0);
	return 0;
}

static int memory(void)
{
	/* malloc large (mmap) and small (brk), and mmap/munmap directly. */
	size_t n = 64 << 20;
	uint8_t *a = malloc(n);
	if (!a)
		return puts("malloc failed"), 1;
	memset(a, 7, n);
	uint64_t s = 0;
	for (size_t i = 0; i < n; i += 4096)
		s += a[i];
	free(a);
	char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return puts("mmap failed"), 1;
	int zero = m[12345] == 0;
	m[0] = 1;
	/* MAP_FIXED_NOREPLACE: refused over a mapping, taken once free. */
	void *nr = mmap(m, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			MAP_FIXED_NOREPLACE, -1, 0);
	printf("noreplace %s\n", nr == MAP_FAILED ? strerror(errno) : "mapped");
	munmap(m, 1 << 20);
	nr = mmap(m, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		  MAP_FIXED_NOREPLACE, -1, 0);
	printf("noreplace after munmap %s zero %d\n",
	       nr == MAP_FAILED ? strerror(errno) : "mapped",
	       nr != MAP_FAILED && ((char *)nr)[0] == 0);
	char *b = sbrk(0);
	int ok = sbrk(1 << 20) == b;
	b[100] = 5;
	printf("sum %llu zero %d brk %d tls %d\n", (unsigned long long)s, zero,
	       ok, ++tls_counter);
	return 0;
}

/* Unbounded recursion (the volatile buffer defeats tail calls). */
static int deep(int n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	return deep(n + 1) + pad[0];
}

static sigjmp_buf jb;
static volatile int traps;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	printf("caught %d code %d addr %p\n", sig, si->si_code, si->si_addr);
	siglongjmp(jb, 1);
}

static void on_trap(int sig)
{
	(void)sig;
	traps++;
}

/* A SIGSEGV handler that jumps out, then one for SIGTRAP that returns
 * (through rt_sigreturn) to the instruction after int3, registers
 * intact. */
static int handlers(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	if (!sigsetjmp(jb, 1)) {
		*(volatile int *)(uintptr_t)0x10 = 1;
		puts("not reached");
	}
	puts("recovered");
	signal(SIGTRAP, on_trap);
	volatile long x = 1;
	for (int i = 0; i < 3; i++) {
		__asm__ volatile("int3");
		x = x * 3 + i;
	}
	printf("traps %d x %ld\n", traps, (long)x);
	/* The handler stays: a second fault is caught too. */
	if (!sigsetjmp(jb, 1))
		*(volatile int *)(uintptr_t)0x20 = 1;
	puts("again");
	/* raise() blocks signals around tgkill: the handler runs when
	 * they are unblocked, before raise returns. */
	signal(SIGUSR1, on_trap);
	raise(SIGUSR1);
	printf("after raise %d\n", traps);
	return 0;
}

/* ---- processes ---- */

static const char *self_path;

/* How a child ended, as a shell would say it. */
static const char *how(int st)
{
	static char b[64];
	if (WIFEXITED(st))
		snprintf(b, sizeof(b), "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(b, sizeof(b), "signal %d", WTERMSIG(st));
	else
		snprintf(b, sizeof(b), "status %#x", st);
	return b;
}

static const char *reap(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return strerror(errno);
	return how(st);
}

/* A child running f, waited for. */
static const char *child(void (*f)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		f();
		_exit(99);
	}
	return pid < 0 ? strerror(errno) : reap(pid);
}

static int shared = 5;
static int up[2];
static pid_t parent;

/* Its own pid (told through the pipe), the parent's, its own copy of
 * the memory. */
static void c_ids(void)
{
	pid_t me = getpid();
	shared = 6;
	if (write(up[1], &me, sizeof(me)) != sizeof(me))
		_exit(1);
	_exit(getppid() == parent && shared == 6 ? 3 : 4);
}

static void c_abort(void) { abort(); }
static void c_null(void) { *(volatile int *)0 = 1; }
static void c_exec_code(void)
{
	execl(self_path, "kvmtest", "exitcode", "9", (char *)NULL);
	_exit(98);
}
static void c_exec_procself(void)
{
	execl("/proc/self/exe", "kvmtest", "exitcode", "12", (char *)NULL);
	_exit(98);
}
static void c_sigstate(void)
{
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, on_trap);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	execl(self_path, "kvmtest", "sigstate", (char *)NULL);
	_exit(98);
}
static void c_setsid(void)
{
	pid_t s = setsid();
	_exit(s == getpid() && getsid(0) == s && getpgid(0) == s ? 4 : 5);
}

static void *t_fork(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0)
		exit(shared == 5 ? 5 : 6);   /* the only thread of the child */
	return (void *)(intptr_t)pid;
}

static void *t_sleep(void *arg)
{
	(void)arg;
	for (;;)
		usleep(1000);
	return NULL;
}

/* A second thread keeps running while the first execs. */
static void c_exec_threaded(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, t_sleep, NULL))
		_exit(97);
	execl(self_path, "kvmtest", "exitcode", "11", (char *)NULL);
	_exit(98);
}

/* A file at path with mode and contents: execve's refusals. */
static void make_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
	chmod(path, mode);
}

static void exec_error(const char *what, const char *path)
{
	char *av[] = { "x", NULL };
	execve(path, av, environ);
	printf("execve %s: %s\n", what, strerror(errno));
}

/* fork, vfork, posix_spawn, execve, wait4, waitid, kill of a child: what
 * each child did comes back through exit statuses and a pipe only. */
static int procs(const char *self, const char *tmp)
{
	self_path = self;
	parent = getpid();
	if (pipe(up))
		return 1;
	pid_t pid = fork();
	if (pid == 0)
		c_ids();
	pid_t seen = 0;
	if (read(up[0], &seen, sizeof(seen)) != sizeof(seen))
		seen = -1;
	printf("fork: %s, pid %d, parent's copy %d\n", reap(pid), seen == pid,
	       shared);
	printf("abort: %s\n", child(c_abort));
	printf("null: %s\n", child(c_null));
	printf("exec: %s\n", child(c_exec_code));
	printf("exec /proc/self/exe: %s\n", child(c_exec_procself));
	printf("exec from a thread: %s\n", child(c_exec_threaded));
	printf("setsid: %s\n", child(c_setsid));
	fflush(stdout);
	printf("sigstate: %s\n", child(c_sigstate));

	/* vfork: the parent goes on once the child exec'd. */
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		execl(self, "kvmtest", "exitcode", "10", (char *)NULL);
		_exit(98);
	}
	printf("vfork: %s\n", reap(pid));
	char *sav[] = { "kvmtest", "hello", "spawned", NULL };
	fflush(stdout);
	int e = posix_spawn(&pid, self, NULL, NULL, sav, environ);
	printf("posix_spawn: %s, %s\n", strerror(e), e ? "-" : reap(pid));

	/* A thread forks: the child is that thread alone. */
	pthread_t t;
	void *ret = NULL;
	fflush(stdout);
	if (!pthread_create(&t, NULL, t_fork, NULL))
		pthread_join(t, &ret);
	pid = (pid_t)(intptr_t)ret;
	printf("fork in a thread: %s\n", pid > 0 ? reap(pid) : "failed");

	/* The parent kills a child blocked in read. */
	int blk[2];
	if (pipe(blk))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char b;
		close(blk[1]);
		_exit((int)read(blk[0], &b, 1) + 20);
	}
	usleep(50000);
	printf("kill: %d", kill(pid, SIGTERM));
	printf(" %s\n", reap(pid));
	close(blk[0]);
	close(blk[1]);

	/* waitid, wait4 with rusage, and no child left. */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(2);
	siginfo_t si = { 0 };
	int r = waitid(P_PID, (id_t)pid, &si, WEXITED);
	printf("waitid: %d pid %d code %d status %d\n", r, si.si_pid == pid,
	       si.si_code, si.si_status);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(1);
	struct rusage ru;
	int st = 0;
	printf("wait4: %d", wait4(pid, &st, 0, &ru) == pid);
	printf(" %s\n", how(st));
	r = (int)wait(NULL);
	printf("no child: %d %s\n", r, strerror(errno));

	char p1[512], p2[512];
	snprintf(p1, sizeof(p1), "%s/kvmtest-noexec", tmp);
	snprintf(p2, sizeof(p2), "%s/kvmtest-garbage", tmp);
	make_file(p1, "#!/bin/sh\n", 0644);
	make_file(p2, "not a program\n", 0755);
	exec_error("missing", "/nonexistent/kvmtest");
	exec_error("directory", "/");
	exec_error("not executable", p1);
	exec_error("not a program", p2);
	unlink(p1);
	unlink(p2);
	return 0;
}

/* What execve kept: SIG_IGN stays, a handler falls back to SIG_DFL, the
 * mask stays. */
static int sigstate(void)
{
	struct sigaction a, b;
	sigaction(SIGUSR2, NULL, &a);
	sigaction(SIGHUP, NULL, &b);
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	printf("USR2 ignored %d, HUP default %d, USR1 blocked %d, "
	       "USR2 blocked %d\n", a.sa_handler == SIG_IGN,
	       b.sa_handler == SIG_DFL, sigismember(&m, SIGUSR1),
	       sigismember(&m, SIGUSR2));
	return 0;
}

/* ---- page permissions (mmap prot, mprotect, munmap) ---- */

static __thread sigjmp_buf pjb;
static __thread volatile int pcode;
static __thread volatile uintptr_t paddr;

static void on_prot(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	pcode = si->si_code;
	paddr = (uintptr_t)si->si_addr;
	siglongjmp(pjb, 1);
}

static void prot_handler(void)
{
	struct sigaction sa = { .sa_sigaction = on_prot, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
}

static const char *code_name(int c)
{
	return c == SEGV_MAPERR ? "MAPERR" : c == SEGV_ACCERR ? "ACCERR" : "?";
}

/* What a read, a write or a call at p does: "ok" or the fault's code,
 * with whether si_addr is p. */
static void touch(const char *what, volatile char *p, char op)
{
	pcode = 0;
	if (!sigsetjmp(pjb, 1)) {
		if (op == 'r')
			(void)*p;
		else if (op == 'w')
			*p = 1;
		else
			((void (*)(void))(uintptr_t)p)();
		printf("%s %c: ok\n", what, op);
		return;
	}
	printf("%s %c: %s at %s\n", what, op, code_name(pcode),
	       paddr == (uintptr_t)p ? "the address" : "elsewhere");
}

/* One process, one thread: a guard page, read-only and back, mmap's
 * prot, exec and NX, munmap, and the errors Linux gives. */
static int prot(void)
{
	prot_handler();
	long pg = 4096;
	char *a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return puts("mmap failed"), 1;
	memset(a, 5, 4 * pg);
	printf("guard %d\n", mprotect(a + pg, pg, PROT_NONE));
	touch("guard", a + pg + 8, 'r');
	touch("guard", a + pg, 'w');
	touch("below guard", a + pg - 1, 'w');
	touch("above guard", a + 2 * pg, 'w');
	printf("read-only %d\n", mprotect(a, 4 * pg, PROT_READ));
	touch("read-only", a + 3 * pg + 100, 'w');
	touch("read-only", a + 3 * pg + 100, 'r');
	printf("back %d\n", mprotect(a, 4 * pg, PROT_READ | PROT_WRITE));
	touch("back", a + 3 * pg + 100, 'w');
	printf("kept %d %d\n", a[0], a[3 * pg + 100]);
	/* mmap's own prot. */
	char *r = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *n = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	touch("mmap read-only", r, 'w');
	touch("mmap read-only", r, 'r');
	touch("mmap none", n, 'r');
	/* MAP_FIXED over them: what the new mapping asks. */
	mmap(r, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
	     MAP_FIXED, -1, 0);
	touch("remapped", r, 'w');
	/* Code: runs once executable, not after. */
	char *x = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	x[0] = (char)0xc3;                       /* ret */
	touch("not executable", x, 'x');
	printf("exec %d\n", mprotect(x, pg, PROT_READ | PROT_EXEC));
	touch("executable", x, 'x');
	touch("executable", x, 'w');
	/* munmap: gone, and the neighbours stay. */
	printf("munmap %d\n", munmap(a + pg, 2 * pg));
	touch("unmapped", a + 2 * pg, 'r');
	touch("left", a, 'r');
	touch("right", a + 3 * pg, 'w');
	/* Errors. */
	const struct { const char *what; void *va; size_t len; int prot; } e[] = {
		{ "unmapped range", a, 4 * pg, PROT_READ },
		{ "unaligned", a + 1, pg, PROT_READ },
		{ "bad prot", a, pg, 0x100 },
		{ "empty", a + 2 * pg, 0, PROT_READ },
		{ "wraps", a, -(size_t)pg, PROT_READ },
		{ "growsdown", a, pg, PROT_READ | PROT_GROWSDOWN },
		{ "null", NULL, pg, PROT_READ },
	};
	for (unsigned i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		errno = 0;
		int rc = mprotect(e[i].va, e[i].len, e[i].prot);
		printf("%s %d %s\n", e[i].what, rc, strerror(errno));
	}
	/* brk memory is read/write. */
	char *b = sbrk(0);
	if (sbrk(3 * pg) != b)
		return puts("sbrk failed"), 1;
	touch("brk", b + 2 * pg, 'w');
	return 0;
}

/* Pages the program must not reach, whatever it asks for: the address
 * of the VMM's system area under KVM (argv), which natively is nothing
 * mapped, so both runs say the same. */
static int hostile(uintptr_t sys)
{
	prot_handler();
	long pg = 4096;
	char *a = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const struct { const char *what; uintptr_t va; size_t len; } c[] = {
		{ "system area", sys, 2 << 20 },
		{ "entry page", sys + 0xa000, pg },
		{ "last page", sys + (2 << 20) - pg, pg },
		{ "into the system area", (uintptr_t)a, sys + pg - (uintptr_t)a },
		{ "va 0", 0, pg },
		{ "va 0 to here", 0, (uintptr_t)a + pg },
		{ "len overflow", (uintptr_t)a, (size_t)-pg },
		{ "kernel half", 0xffff800000000000ULL, pg },
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		errno = 0;
		int r = mprotect((void *)c[i].va, c[i].len,
				 PROT_READ | PROT_WRITE | PROT_EXEC);
		printf("mprotect %s: %d %s\n", c[i].what, r, strerror(errno));
	}
	touch("entry page", (char *)sys + 0xa000, 'w');
	touch("system area", (char *)sys + 0x8000, 'r');
	touch("still", a, 'w');
	return 0;
}

/* Under KVM only (natively these addresses are free to map): mmap and
 * munmap cannot reach the system area either. */
static int sysmap(uintptr_t sys)
{
	prot_handler();
	const int rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
	const int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	void *m = mmap((void *)(sys + 0xa000), 4096, rwx, fl, -1, 0);
	printf("mmap over the entry page: %s\n",
	       m == MAP_FAILED ? strerror(errno) : "mapped");
	m = mmap((void *)(sys - 4096), 8192, rwx, fl, -1, 0);
	printf("mmap into the system area: %s\n",
	       m == MAP_FAILED ? strerror(errno) : "mapped");
	errno = 0;
	int r = munmap((void *)sys, 2 << 20);
	printf("munmap of the system area: %d %s\n", r, strerror(errno));
	touch("entry page", (char *)sys + 0xa000, 'w');
	touch("system area", (char *)sys + 0x8000, 'r');
	return 0;
}

/* Threads: one changes a page another has been using (its TLB holds
 * it); the other's next touch follows the change.  One flag per step
 * and direction (the fault may come before `changed` is seen). */
static char *tp;
static volatile int ready, changed, caught, restored;
static char tlog[256];

static void *toucher(void *arg)
{
	(void)arg;
	volatile char *p = tp;
	for (int i = 0; i < 1000; i++)
		(void)p[i];
	pcode = 0;
	if (!sigsetjmp(pjb, 1)) {
		/* Kept in the TLB until the other thread's mprotect (a fault
		 * may come while spinning, or at the read after). */
		ready = 1;
		while (!changed)
			(void)p[64];
		(void)p[64];
		snprintf(tlog, sizeof(tlog), "thread read: ok\n");
	} else {
		snprintf(tlog, sizeof(tlog), "thread read: %s at %s\n",
			 code_name(pcode), paddr == (uintptr_t)p + 64 ?
			 "the address" : "elsewhere");
	}
	caught = 1;
	while (!restored)
		;
	p[100] = 7;                               /* writable again */
	size_t n = strlen(tlog);
	snprintf(tlog + n, sizeof(tlog) - n, "thread write: ok\n");
	return NULL;
}

static int threadprot(void)
{
	prot_handler();
	tp = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	tp[0] = 1;
	pthread_t t;
	if (pthread_create(&t, NULL, toucher, NULL))
		return puts("pthread_create failed"), 1;
	while (!ready)
		;
	printf("none %d\n", mprotect(tp, 4096, PROT_NONE));
	changed = 1;
	while (!caught)
		;
	printf("back %d\n", mprotect(tp, 4096, PROT_READ | PROT_WRITE));
	restored = 1;
	pthread_join(t, NULL);
	fputs(tlog, stdout);
	printf("value %d\n", tp[100]);
	return 0;
}

/* Threads flipping their own pages of one table between read-only and
 * read/write, each checking what a store does every time, while the
 * main thread sends them signals (their handlers may start while a
 * call's edits are pending). */
#define NSTRESS 4
static char *sp;
static volatile int sdone;
static volatile long sigs[NSTRESS];
static __thread int sidx;

static void on_usr1(int sig)
{
	(void)sig;
	sigs[sidx]++;
}

static void *flipper(void *arg)
{
	sidx = (int)(intptr_t)arg;
	volatile char *p = sp + sidx * 4096;
	int faults = 0, writes = 0, bad = 0;
	for (int i = 0; i < 300; i++) {
		if (mprotect((void *)p, 4096, PROT_READ))
			bad++;
		pcode = 0;
		if (!sigsetjmp(pjb, 1)) {
			p[i] = 1;
		} else {
			faults += pcode == SEGV_ACCERR &&
				  paddr == (uintptr_t)(p + i);
		}
		if (mprotect((void *)p, 4096, PROT_READ | PROT_WRITE))
			bad++;
		p[i] = 2;
		writes += p[i] == 2;
		/* The neighbours stay readable throughout. */
		(void)sp[((sidx + 1) % NSTRESS) * 4096 + i];
	}
	char *log = sp + NSTRESS * 4096 + sidx * 64;
	snprintf(log, 64, "thread %d: faults %d writes %d bad %d\n", sidx,
		 faults, writes, bad);
	return NULL;
}

static int protstress(void)
{
	prot_handler();
	signal(SIGUSR1, on_usr1);
	sp = mmap(NULL, (NSTRESS + 1) * 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_t t[NSTRESS];
	for (int i = 0; i < NSTRESS; i++)
		if (pthread_create(&t[i], NULL, flipper, (void *)(intptr_t)i))
			return puts("pthread_create failed"), 1;
	for (int r = 0; r < 200; r++)
		for (int i = 0; i < NSTRESS; i++)
			pthread_kill(t[i], SIGUSR1);
	for (int i = 0; i < NSTRESS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NSTRESS; i++)
		fputs(sp + NSTRESS * 4096 + i * 64, stdout);
	return 0;
}

/* glibc's thread stacks: an mmap'd stack whose lowest page(s) are made
 * PROT_NONE by mprotect; touching it faults. */
static void *guarded(void *arg)
{
	(void)arg;
	pthread_attr_t at;
	void *lo;
	size_t size, guard;
	pthread_getattr_np(pthread_self(), &at);
	pthread_attr_getstack(&at, &lo, &size);
	pthread_attr_getguardsize(&at, &guard);
	pthread_attr_destroy(&at);
	printf("guard size %zu\n", guard);
	touch("stack bottom", (char *)lo, 'w');
	touch("guard page", (char *)lo - 1, 'w');
	return NULL;
}

static int guard(void)
{
	prot_handler();
	pthread_t t;
	if (pthread_create(&t, NULL, guarded, NULL))
		return puts("pthread_create failed"), 1;
	pthread_join(t, NULL);
	return 0;
}

static uint64_t compute(uint64_t n)
{
	uint64_t x = 1;
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		x ^= x >> 29;
	}
	return x;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A raw `syscall` with every argument register and the red zone set to
 * known values: after it, only rax, rcx and r11 may differ (the ABI), and
 * the 128 bytes below rsp must be as they were — what a syscall answered
 * in ring 3 (the sandbox's shim) must keep too.  Returns the number of
 * registers or red-zone words that changed; *ret gets rax. */
static int raw_syscall_keeps(long nr, long a0, long a1, long *ret)
{
	long r, bad;
	__asm__ volatile(
		"mov %[nr], %%rax\n\t"
		"mov %[a0], %%rdi\n\t"
		"mov %[a1], %%rsi\n\t"
		"movabs $0x1111111111111111, %%rdx\n\t"
		"movabs $0x2222222222222222, %%r8\n\t"
		"movabs $0x3333333333333333, %%r9\n\t"
		"movabs $0x4444444444444444, %%r10\n\t"
		"movabs $0x5555555555555555, %%rbx\n\t"
		"mov %%rbx, -8(%%rsp)\n\t"
		"mov %%rbx, -64(%%rsp)\n\t"
		"mov %%rbx, -128(%%rsp)\n\t"
		"syscall\n\t"
		"xor %%ecx, %%ecx\n\t"
		"cmp %[a0], %%rdi\n\t setne %%cl\n\t movzbl %%cl, %%r11d\n\t"
		"cmp %[a1], %%rsi\n\t setne %%cl\n\t add %%rcx, %%r11\n\t"
		"movabs $0x1111111111111111, %%rcx\n\t cmp %%rcx, %%rdx\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"movabs $0x2222222222222222, %%rcx\n\t cmp %%rcx, %%r8\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"movabs $0x3333333333333333, %%rcx\n\t cmp %%rcx, %%r9\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"movabs $0x4444444444444444, %%rcx\n\t cmp %%rcx, %%r10\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"cmp %%rbx, -8(%%rsp)\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"cmp %%rbx, -64(%%rsp)\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"cmp %%rbx, -128(%%rsp)\n\t setne %%cl\n\t movzbl %%cl, %%ecx\n\t add %%rcx, %%r11\n\t"
		"mov %%r11, %[bad]\n\t"
		: "=a"(r), [bad] "=m"(bad)
		: [nr] "m"(nr), [a0] "m"(a0), [a1] "m"(a1)
		: "rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11", "rbx",
		  "memory", "cc");
	*ret = r;
	return (int)bad;
}

/* The calls the sandbox answers in ring 3 (getpid, clocks): registers,
 * red zone, results, and EFAULT for a bad pointer, as natively. */
static int shim(void)
{
	struct timespec ts = { 0, 0 }, t2;
	struct timeval tv;
	long r;
	int bad = raw_syscall_keeps(SYS_getpid, 0, 0, &r);
	printf("getpid keeps %d, right %d\n", bad, r == getpid());
	const int ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
			    CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
			    CLOCK_PROCESS_CPUTIME_ID };
	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		bad = raw_syscall_keeps(SYS_clock_gettime, ids[i], (long)&ts, &r);
		clock_gettime(ids[i], &t2);
		double d = (double)(t2.tv_sec - ts.tv_sec) +
			   (double)(t2.tv_nsec - ts.tv_nsec) / 1e9;
		printf("clock %d keeps %d, r %ld, close %d\n", ids[i], bad, r,
		       d >= 0 && d < 0.05 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	}
	bad = raw_syscall_keeps(SYS_gettimeofday, (long)&tv, 0, &r);
	printf("gettimeofday keeps %d, r %ld, close %d\n", bad, r,
	       labs(tv.tv_sec - time(NULL)) <= 1 && tv.tv_usec < 1000000);
	bad = raw_syscall_keeps(SYS_time, 0, 0, &r);
	printf("time keeps %d, close %d\n", bad, labs(r - time(NULL)) <= 1);
	bad = raw_syscall_keeps(SYS_clock_gettime, CLOCK_MONOTONIC, 8, &r);
	printf("bad pointer keeps %d, r %ld\n", bad, r);
	/* Monotonic, across many reads. */
	struct timespec prev;
	clock_gettime(CLOCK_MONOTONIC, &prev);
	int back = 0;
	for (int i = 0; i < 200000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec < prev.tv_sec ||
		    (ts.tv_sec == prev.tv_sec && ts.tv_nsec < prev.tv_nsec))
			back++;
		prev = ts;
	}
	printf("monotonic steps back %d\n", back);
	return 0;
}

/* A handler that wrecks the vector registers must not change the
 * interrupted code's: the signal comes from a raw tgkill (a `syscall`
 * keeps every xmm register, a call would not), the values are read
 * right after it. */
static void fp_wreck(int sig)
{
	(void)sig;
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\t"
			 "pcmpeqd %%xmm15, %%xmm15" ::: "xmm0", "xmm1", "xmm15");
}

static int fpsig(void)
{
	signal(SIGUSR1, fp_wreck);
	uint64_t out[3];
	long pid = getpid(), tid = syscall(SYS_gettid);
	__asm__ volatile(
		"movabs $0x4045000000000000, %%rax\n\t movq %%rax, %%xmm0\n\t"
		"movabs $0x1122334455667788, %%rax\n\t movq %%rax, %%xmm1\n\t"
		"movabs $0x0badc0ffee0ddf00, %%rax\n\t movq %%rax, %%xmm15\n\t"
		"mov %[pid], %%rdi\n\t mov %[tid], %%rsi\n\t mov $10, %%edx\n\t"
		"mov $234, %%eax\n\t syscall\n\t"
		"movq %%xmm0, 0(%[o])\n\t movq %%xmm1, 8(%[o])\n\t"
		"movq %%xmm15, 16(%[o])"
		: : [pid] "r"(pid), [tid] "r"(tid), [o] "r"(out)
		: "rax", "rdi", "rsi", "rdx", "rcx", "r11", "xmm0", "xmm1",
		  "xmm15", "memory");
	printf("vector registers kept across a handler: %d %d %d\n",
	       out[0] == 0x4045000000000000ULL, out[1] == 0x1122334455667788ULL,
	       out[2] == 0x0badc0ffee0ddf00ULL);
	return 0;
}

/* ppoll/pselect/epoll_pwait with a mask: a signal blocked outside the
 * wait but not in its mask interrupts it (EINTR, the handler runs) and
 * is blocked again afterwards; without the mask it waits out its
 * timeout. */
static volatile int waited;
static void on_wait_sig(int s)
{
	(void)s;
	waited++;
}

static int waitmask(void)
{
	signal(SIGUSR1, on_wait_sig);
	sigset_t blk, empty, now;
	sigemptyset(&blk);
	sigaddset(&blk, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &blk, NULL);
	int ep = epoll_create1(0);
	for (int how = 0; how < 3; how++) {
		waited = 0;
		raise(SIGUSR1);                 /* pending, blocked */
		struct timespec ts = { 5, 0 };
		int r;
		if (how == 0)
			r = ppoll(NULL, 0, &ts, &empty);
		else if (how == 1)
			r = pselect(0, NULL, NULL, NULL, &ts, &empty);
		else {
			struct epoll_event ev;
			r = epoll_pwait(ep, &ev, 1, 5000, &empty);
		}
		int e = errno;
		sigprocmask(SIG_BLOCK, NULL, &now);
		printf("%s: r %d EINTR %d handler %d still blocked %d\n",
		       how == 0 ? "ppoll" : how == 1 ? "pselect" : "epoll_pwait",
		       r, r < 0 && e == EINTR, waited, sigismember(&now, SIGUSR1));
	}
	struct timespec z = { 0, 1000000 };
	raise(SIGUSR1);
	int r = ppoll(NULL, 0, &z, NULL);   /* no mask: stays pending */
	printf("no mask: r %d handler %d\n", r, waited);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "hello";
	if (!strcmp(m, "hello")) {
		printf("hello from x86-64, argc %d", argc);
		for (int i = 2; i < argc; i++)
			printf(" [%s]", argv[i]);
		printf(" env %s\n", getenv("KVMTEST") ? getenv("KVMTEST") : "-");
		return 0;
	}
	if (!strcmp(m, "files"))
		return files(argc > 2 ? argv[2] : ".");
	if (!strcmp(m, "memory"))
		return memory();
	if (!strcmp(m, "compute")) {
		uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000000;
		double t = now();
		uint64_t x = compute(n);
		t = now() - t;
		printf("result %llx\n", (unsigned long long)x);
		fprintf(stderr, "compute %.3f s\n", t);
		return 0;
	}
	if (!strcmp(m, "getpid")) {
		long n = argc > 2 ? atol(argv[2]) : 10000;
		double t = now();
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
		t = now() - t;
		printf("getpid %.3f us\n", t / (double)n * 1e6);
		return 0;
	}
	if (!strcmp(m, "mprotect")) {
		/* Each call flips one page between read-only and read/write
		 * (a page-table edit every time); "same" keeps it as is. */
		long n = argc > 2 ? atol(argv[2]) : 1000;
		int flip = !(argc > 3 && !strcmp(argv[3], "same"));
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return puts("mmap failed"), 1;
		p[0] = 1;
		double t = now();
		for (long i = 0; i < n; i++)
			if (mprotect(p, 4096, PROT_READ |
				     (flip && (i & 1) ? 0 : PROT_WRITE)))
				return perror("mprotect"), 1;
		t = now() - t;
		printf("mprotect %.3f us\n", t / (double)n * 1e6);
		return 0;
	}
	if (!strcmp(m, "handlers"))
		return handlers();
	if (!strcmp(m, "shim"))
		return shim();
	if (!strcmp(m, "fpsig"))
		return fpsig();
	if (!strcmp(m, "waitmask"))
		return waitmask();
	if (!strcmp(m, "procs"))
		return procs(argv[0], argc > 2 ? argv[2] : "/tmp");
	if (!strcmp(m, "sigstate"))
		return sigstate();
	if (!strcmp(m, "exitcode"))
		return argc > 2 ? atoi(argv[2]) : 0;
	if (!strcmp(m, "prot"))
		return prot();
	if (!strcmp(m, "hostile") && argc > 2)
		return hostile((uintptr_t)strtoull(argv[2], NULL, 0));
	if (!strcmp(m, "sysmap") && argc > 2)
		return sysmap((uintptr_t)strtoull(argv[2], NULL, 0));
	if (!strcmp(m, "threadprot"))
		return threadprot();
	if (!strcmp(m, "protstress"))
		return protstress();
	if (!strcmp(m, "guard"))
		return guard();
	if (!strcmp(m, "efault")) {
		/* Pointers the program does not own: EFAULT, as natively
		 * (the VMM must not read or write there on its behalf). */
		const uintptr_t bad[] = { 8, 0x1000, 0x7ffffffff000ULL,
					  0xffff800000000000ULL, (uintptr_t)-4096 };
		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			long w = syscall(SYS_write, 1, bad[i], 16);
			int we = errno;
			long r = syscall(SYS_read, 0, bad[i], 16);
			int re = errno;
			long o = syscall(SYS_openat, AT_FDCWD, bad[i], O_RDONLY);
			int oe = errno;
			printf("%lx: write %ld %s read %ld %s open %ld %s\n",
			       (unsigned long)bad[i], w, strerror(we), r,
			       strerror(re), o, strerror(oe));
		}
		return 0;
	}
	if (!strcmp(m, "exit7"))
		return 7;
	if (!strcmp(m, "null")) {
		volatile int *p = NULL;
		return *p;
	}
	if (!strcmp(m, "writetext")) {
		/* A store into the program's own code: SIGSEGV. */
		volatile uint8_t *c = (uint8_t *)(uintptr_t)main;
		*c = 0xc3;
		return 0;
	}
	if (!strcmp(m, "ud2")) {
		__asm__ volatile("ud2");
		return 0;
	}
	if (!strcmp(m, "div0")) {
		volatile int z = 0;
		return 10 / z;
	}
	if (!strcmp(m, "wild")) {
		void (*f)(void) = (void (*)(void))(uintptr_t)0xdead0000;
		f();
		return 0;
	}
	if (!strcmp(m, "stackoverflow"))
		return deep(0);
	if (!strcmp(m, "abort"))
		abort();
	if (!strcmp(m, "escape")) {
		/* Each path must not reach the host's /etc/hostname-like
		 * marker given in argv[2]. */
		for (int i = 2; i < argc; i++) {
			int fd = open(argv[i], O_RDONLY);
			printf("%s: %s\n", argv[i], fd >= 0 ? "opened" :
			       strerror(errno));
			if (fd >= 0) {
				char b[64] = { 0 };
				ssize_t n = read(fd, b, sizeof(b) - 1);
				printf("  %zd %s\n", n, b);
				close(fd);
			}
		}
		return 0;
	}
	fprintf(stderr, "unknown mode %s\n", m);
	return 2;
}
