/* System call dispatch (riscv64 Linux ABI: number in a7, arguments in
 * a0..a5, result or -errno in a0; numbers from asm-generic/unistd.h) and
 * the calls that are a few lines each: identity, time, limits, uname.
 * Each file's lookup function maps a guest number to its handler; the
 * host call is made with the host's own number through libc. */
#include "exec_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "sys_nr.h"

#define R(x) sys_ret((long)(x))

long sys_enosys(struct exec_thread *t, long nr)
{
	struct exec_proc *p = t->p;
	bool log = p->cfg->verbose;
	pthread_mutex_lock(&p->lock);
	if (nr >= 0 && nr < (long)sizeof(p->warned)) {
		if (p->warned[nr])
			log = false;
		p->warned[nr] = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (log)
		fprintf(stderr, "ringvm exec: unimplemented riscv64 system call "
			"%ld (ENOSYS)\n", nr);
	return -ENOSYS;
}

static long s_getpid(struct exec_thread *t, const uint64_t *a) { return getpid(); }
static long s_getppid(struct exec_thread *t, const uint64_t *a) { return getppid(); }
static long s_gettid(struct exec_thread *t, const uint64_t *a) { return t->tid; }
static long s_getuid(struct exec_thread *t, const uint64_t *a) { return getuid(); }
static long s_geteuid(struct exec_thread *t, const uint64_t *a) { return geteuid(); }
static long s_getgid(struct exec_thread *t, const uint64_t *a) { return getgid(); }
static long s_getegid(struct exec_thread *t, const uint64_t *a) { return getegid(); }
static long s_zero(struct exec_thread *t, const uint64_t *a) { return 0; }

static long s_getresid(struct exec_thread *t, const uint64_t *a, bool gid)
{
	unsigned v[3];
	if (gid)
		getresgid(&v[0], &v[1], &v[2]);
	else
		getresuid(&v[0], &v[1], &v[2]);
	for (int i = 0; i < 3; i++)
		if (mm_write(T_MM(t), a[i], &v[i], 4))
			return -EFAULT;
	return 0;
}
static long s_getresuid(struct exec_thread *t, const uint64_t *a) { return s_getresid(t, a, false); }
static long s_getresgid(struct exec_thread *t, const uint64_t *a) { return s_getresid(t, a, true); }

static long s_getgroups(struct exec_thread *t, const uint64_t *a)
{
	gid_t g[256];
	int n = getgroups(256, g);
	if (n < 0)
		return -errno;
	if (!a[0])
		return n;
	if ((long)a[0] < n)
		return -EINVAL;
	return mm_write(T_MM(t), a[1], g, (size_t)n * 4) ? -EFAULT : n;
}

static long s_uname(struct exec_thread *t, const uint64_t *a)
{
	struct utsname u;
	if (uname(&u))
		return -errno;
	snprintf(u.machine, sizeof(u.machine), "riscv64");
	return mm_write(T_MM(t), a[0], &u, sizeof(u)) ? -EFAULT : 0;
}

static long s_getrandom(struct exec_thread *t, const uint64_t *a)
{
	uint8_t buf[256];
	uint64_t len = a[1] > sizeof(buf) ? sizeof(buf) : a[1];
	ssize_t n = getrandom(buf, len, (unsigned)a[2]);
	if (n < 0)
		return -errno;
	return mm_write(T_MM(t), a[0], buf, (size_t)n) ? -EFAULT : n;
}

static long s_clock_gettime(struct exec_thread *t, const uint64_t *a)
{
	struct timespec ts;
	if (clock_gettime((clockid_t)a[0], &ts))
		return -errno;
	return mm_write(T_MM(t), a[1], &ts, sizeof(ts)) ? -EFAULT : 0;
}

static long s_clock_getres(struct exec_thread *t, const uint64_t *a)
{
	struct timespec ts;
	if (clock_getres((clockid_t)a[0], &ts))
		return -errno;
	if (a[1] && mm_write(T_MM(t), a[1], &ts, sizeof(ts)))
		return -EFAULT;
	return 0;
}

static long s_gettimeofday(struct exec_thread *t, const uint64_t *a)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (a[0] && mm_write(T_MM(t), a[0], &tv, sizeof(tv)))
		return -EFAULT;
	if (a[1]) {
		uint32_t tz[2] = { 0, 0 };
		if (mm_write(T_MM(t), a[1], tz, sizeof(tz)))
			return -EFAULT;
	}
	return 0;
}

static long sleep_common(struct exec_thread *t, clockid_t clk, int flags,
			 uint64_t req, uint64_t rem)
{
	struct timespec ts, left = { 0, 0 };
	if (mm_read(T_MM(t), req, &ts, sizeof(ts)))
		return -EFAULT;
	int r = clock_nanosleep(clk, flags, &ts, &left);
	if (r == EINTR && rem && !(flags & TIMER_ABSTIME) &&
	    mm_write(T_MM(t), rem, &left, sizeof(left)))
		return -EFAULT;
	return -r;
}

static long s_nanosleep(struct exec_thread *t, const uint64_t *a)
{
	return sleep_common(t, CLOCK_MONOTONIC, 0, a[0], a[1]);
}

static long s_clock_nanosleep(struct exec_thread *t, const uint64_t *a)
{
	return sleep_common(t, (clockid_t)a[0], (int)a[1], a[2], a[3]);
}

static long s_sched_yield(struct exec_thread *t, const uint64_t *a)
{
	sched_yield();
	return 0;
}

static long s_prlimit64(struct exec_thread *t, const uint64_t *a)
{
	struct rlimit nl, ol;
	if (a[2] && mm_read(T_MM(t), a[2], &nl, sizeof(nl)))
		return -EFAULT;
	if (syscall(SYS_prlimit64, (pid_t)a[0], (int)a[1], a[2] ? &nl : NULL,
		    a[3] ? &ol : NULL))
		return -errno;
	if (a[3] && mm_write(T_MM(t), a[3], &ol, sizeof(ol)))
		return -EFAULT;
	return 0;
}

static long s_getrlimit(struct exec_thread *t, const uint64_t *a)
{
	uint64_t b[4] = { a[0], a[0], 0, a[1] };
	b[0] = 0;
	b[1] = a[0];
	return s_prlimit64(t, b);
}

static long s_setrlimit(struct exec_thread *t, const uint64_t *a)
{
	uint64_t b[4] = { 0, a[0], a[1], 0 };
	return s_prlimit64(t, b);
}

static long s_umask(struct exec_thread *t, const uint64_t *a)
{
	return umask((mode_t)a[0]);
}

static long s_set_tid_address(struct exec_thread *t, const uint64_t *a)
{
	t->clear_tid = a[0];
	return t->tid;
}

static long s_getrusage(struct exec_thread *t, const uint64_t *a)
{
	struct rusage ru;
	if (getrusage((int)a[0], &ru))
		return -errno;
	return mm_write(T_MM(t), a[1], &ru, sizeof(ru)) ? -EFAULT : 0;
}

static long s_sysinfo(struct exec_thread *t, const uint64_t *a)
{
	struct sysinfo si;
	if (sysinfo(&si))
		return -errno;
	return mm_write(T_MM(t), a[0], &si, sizeof(si)) ? -EFAULT : 0;
}

static long s_times(struct exec_thread *t, const uint64_t *a)
{
	struct tms tm;
	clock_t c = times(&tm);
	if (a[0] && mm_write(T_MM(t), a[0], &tm, sizeof(tm)))
		return -EFAULT;
	return (long)c;
}

static long s_prctl(struct exec_thread *t, const uint64_t *a)
{
	char name[16];
	switch (a[0]) {
	case PR_SET_NAME:
		if (mm_read(T_MM(t), a[1], name, sizeof(name)))
			return -EFAULT;
		name[15] = 0;
		return R(prctl(PR_SET_NAME, name));
	case PR_GET_NAME:
		if (prctl(PR_GET_NAME, name))
			return -errno;
		return mm_write(T_MM(t), a[1], name, sizeof(name)) ? -EFAULT : 0;
	case PR_SET_PDEATHSIG:
	case PR_GET_DUMPABLE:
	case PR_SET_DUMPABLE:
	case PR_SET_NO_NEW_PRIVS:
	case PR_GET_NO_NEW_PRIVS:
	case PR_SET_CHILD_SUBREAPER:
		return R(prctl((int)a[0], a[1], a[2], a[3], a[4]));
	default:
		return -EINVAL;
	}
}

static long s_sched_getaffinity(struct exec_thread *t, const uint64_t *a)
{
	uint8_t mask[512];
	size_t len = a[1] > sizeof(mask) ? sizeof(mask) : a[1];
	long r = syscall(SYS_sched_getaffinity, (pid_t)a[0], len, mask);
	if (r < 0)
		return -errno;
	return mm_write(T_MM(t), a[2], mask, (size_t)r) ? -EFAULT : r;
}

static long s_getcpu(struct exec_thread *t, const uint64_t *a)
{
	unsigned cpu, node;
	if (getcpu(&cpu, &node))
		return -errno;
	if (a[0] && mm_write(T_MM(t), a[0], &cpu, 4))
		return -EFAULT;
	if (a[1] && mm_write(T_MM(t), a[1], &node, 4))
		return -EFAULT;
	return 0;
}

static long s_pgid(struct exec_thread *t, const uint64_t *a, long hostnr)
{
	return R(syscall(hostnr, a[0], a[1]));
}
static long s_setpgid(struct exec_thread *t, const uint64_t *a) { return s_pgid(t, a, SYS_setpgid); }
static long s_getpgid(struct exec_thread *t, const uint64_t *a) { return s_pgid(t, a, SYS_getpgid); }
static long s_getsid(struct exec_thread *t, const uint64_t *a) { return s_pgid(t, a, SYS_getsid); }
static long s_setsid(struct exec_thread *t, const uint64_t *a) { return R(setsid()); }
static long s_setuid(struct exec_thread *t, const uint64_t *a) { return R(syscall(SYS_setuid, a[0])); }
static long s_setgid(struct exec_thread *t, const uint64_t *a) { return R(syscall(SYS_setgid, a[0])); }
static long s_getpriority(struct exec_thread *t, const uint64_t *a) { return R(syscall(SYS_getpriority, a[0], a[1])); }
static long s_setpriority(struct exec_thread *t, const uint64_t *a) { return R(syscall(SYS_setpriority, a[0], a[1], a[2])); }

static long s_flush_icache(struct exec_thread *t, const uint64_t *a)
{
	rt_shootdown(t);
	return 0;
}

static sys_fn misc_lookup(long nr)
{
	switch (nr) {
	case RV_NR_getpid: return s_getpid;
	case RV_NR_getppid: return s_getppid;
	case RV_NR_gettid: return s_gettid;
	case RV_NR_getuid: return s_getuid;
	case RV_NR_geteuid: return s_geteuid;
	case RV_NR_getgid: return s_getgid;
	case RV_NR_getegid: return s_getegid;
	case RV_NR_getresuid: return s_getresuid;
	case RV_NR_getresgid: return s_getresgid;
	case RV_NR_getgroups: return s_getgroups;
	case RV_NR_uname: return s_uname;
	case RV_NR_getrandom: return s_getrandom;
	case RV_NR_clock_gettime: return s_clock_gettime;
	case RV_NR_clock_getres: return s_clock_getres;
	case RV_NR_gettimeofday: return s_gettimeofday;
	case RV_NR_nanosleep: return s_nanosleep;
	case RV_NR_clock_nanosleep: return s_clock_nanosleep;
	case RV_NR_sched_yield: return s_sched_yield;
	case RV_NR_prlimit64: return s_prlimit64;
	case RV_NR_getrlimit: return s_getrlimit;
	case RV_NR_setrlimit: return s_setrlimit;
	case RV_NR_umask: return s_umask;
	case RV_NR_set_tid_address: return s_set_tid_address;
	case RV_NR_set_robust_list: return s_zero;
	case RV_NR_getrusage: return s_getrusage;
	case RV_NR_sysinfo: return s_sysinfo;
	case RV_NR_times: return s_times;
	case RV_NR_prctl: return s_prctl;
	case RV_NR_sched_getaffinity: return s_sched_getaffinity;
	case RV_NR_getcpu: return s_getcpu;
	case RV_NR_setpgid: return s_setpgid;
	case RV_NR_getpgid: return s_getpgid;
	case RV_NR_getsid: return s_getsid;
	case RV_NR_setsid: return s_setsid;
	case RV_NR_setuid: return s_setuid;
	case RV_NR_setgid: return s_setgid;
	case RV_NR_getpriority: return s_getpriority;
	case RV_NR_setpriority: return s_setpriority;
	case RV_NR_riscv_flush_icache: return s_flush_icache;
	default: return NULL;
	}
}

bool sys_is_fast(uint64_t nr)
{
	switch (nr) {
	case RV_NR_getpid: case RV_NR_getppid: case RV_NR_gettid:
	case RV_NR_getuid: case RV_NR_geteuid: case RV_NR_getgid:
	case RV_NR_getegid: case RV_NR_clock_gettime:
	case RV_NR_clock_getres: case RV_NR_gettimeofday:
	case RV_NR_getrandom: case RV_NR_sched_yield: case RV_NR_umask:
	case RV_NR_uname: case RV_NR_getrusage: case RV_NR_getcpu:
		return true;
	default:
		return false;
	}
}

/* Calls a signal may interrupt for good (Linux never restarts them
 * after a handler, SA_RESTART or not: signal(7)). */
static bool never_restarted(long nr)
{
	switch (nr) {
	case RV_NR_nanosleep: case RV_NR_clock_nanosleep:
	case RV_NR_ppoll: case RV_NR_pselect6: case RV_NR_epoll_pwait:
	case RV_NR_rt_sigsuspend: case RV_NR_rt_sigtimedwait:
	case RV_NR_futex:
		return true;
	default:
		return false;
	}
}

void sys_dispatch(struct exec_thread *t)
{
	struct rv_hart *h = t->h;
	long nr = (long)h->x[17];
	uint64_t a[6];
	memcpy(a, &h->x[10], sizeof(a));
	sys_fn fn = misc_lookup(nr);
	if (!fn)
		fn = sys_fs_lookup(nr);
	if (!fn)
		fn = sys_mm_lookup(nr);
	if (!fn)
		fn = sys_proc_lookup(nr);
	if (!fn)
		fn = sys_sig_lookup(nr);
	if (!fn)
		fn = sys_net_lookup(nr);
	if (!fn)
		fn = sys_more_lookup(nr);
	long r = fn ? fn(t, a) : sys_enosys(t, nr);
	if (t->p->cfg->trace)
		fprintf(stderr, "[%d] syscall %ld (%#lx, %#lx, %#lx, %#lx) = %ld\n",
			t->tid, nr, (unsigned long)a[0], (unsigned long)a[1],
			(unsigned long)a[2], (unsigned long)a[3], r);
	if (r == SYS_NORETURN)
		return;   /* registers and pc already set (sigreturn) */
	if (r == -EINTR && !never_restarted(nr) && sig_restart_wanted(t))
		return;   /* run the ecall again after the handler */
	h->x[10] = (uint64_t)r;
	h->pc += 4;
}
