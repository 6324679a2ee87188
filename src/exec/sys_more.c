/* Timers, timerfd, signalfd, inotify, scheduling and credentials: calls
 * whose structures are laid out alike on riscv64 and x86-64 (itimerval,
 * itimerspec, sigevent, signalfd_siginfo, inotify_event, sched_param,
 * cap_user_*), so they pass through with guest copies; timer signals are
 * host signals and reach guest handlers like any other. */
#include "exec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sys_nr.h"

#define R(x) sys_ret((long)(x))

/* (in, size) -> host call -> (out, size): one struct in, one out. */
static long inout(struct exec_thread *t, uint64_t in_va, uint64_t out_va,
		  void *in, void *out, size_t size, long r)
{
	(void)in_va;
	(void)in;
	if (r < 0)
		return r;
	if (out_va && mm_write(&t->p->mm, out_va, out, size))
		return -EFAULT;
	return r;
}

static long s_setitimer(struct exec_thread *t, const uint64_t *a)
{
	struct itimerval n, o;
	if (a[1] && mm_read(&t->p->mm, a[1], &n, sizeof(n)))
		return -EFAULT;
	long r = R(syscall(SYS_setitimer, (int)a[0], a[1] ? &n : NULL, &o));
	return inout(t, a[1], a[2], &n, &o, sizeof(o), r);
}

static long s_getitimer(struct exec_thread *t, const uint64_t *a)
{
	struct itimerval o;
	long r = R(syscall(SYS_getitimer, (int)a[0], &o));
	return inout(t, 0, a[1], NULL, &o, sizeof(o), r);
}

static long s_timerfd_create(struct exec_thread *t, const uint64_t *a)
{
	return R(timerfd_create((int)a[0], (int)a[1]));
}

static long s_timerfd_settime(struct exec_thread *t, const uint64_t *a)
{
	struct itimerspec n, o;
	if (mm_read(&t->p->mm, a[2], &n, sizeof(n)))
		return -EFAULT;
	long r = R(timerfd_settime((int)a[0], (int)a[1], &n, &o));
	return inout(t, a[2], a[3], &n, &o, sizeof(o), r);
}

static long s_timerfd_gettime(struct exec_thread *t, const uint64_t *a)
{
	struct itimerspec o;
	long r = R(timerfd_gettime((int)a[0], &o));
	return inout(t, 0, a[1], NULL, &o, sizeof(o), r);
}

static long s_timer_create(struct exec_thread *t, const uint64_t *a)
{
	struct sigevent ev;
	int id = 0;   /* the kernel's timer id is an int */
	if (a[1] && mm_read(&t->p->mm, a[1], &ev, sizeof(ev)))
		return -EFAULT;
	/* SIGEV_THREAD_ID names a guest thread: its tid is the host's. */
	long r = R(syscall(SYS_timer_create, (clockid_t)a[0],
			   a[1] ? &ev : NULL, &id));
	if (r < 0)
		return r;
	return mm_write(&t->p->mm, a[2], &id, sizeof(id)) ? -EFAULT : 0;
}

static long s_timer_settime(struct exec_thread *t, const uint64_t *a)
{
	struct itimerspec n, o;
	if (mm_read(&t->p->mm, a[2], &n, sizeof(n)))
		return -EFAULT;
	long r = R(syscall(SYS_timer_settime, (int)a[0], (int)a[1], &n, &o));
	return inout(t, a[2], a[3], &n, &o, sizeof(o), r);
}

static long s_timer_gettime(struct exec_thread *t, const uint64_t *a)
{
	struct itimerspec o;
	long r = R(syscall(SYS_timer_gettime, (int)a[0], &o));
	return inout(t, 0, a[1], NULL, &o, sizeof(o), r);
}

static long s_timer_getoverrun(struct exec_thread *t, const uint64_t *a)
{
	return R(syscall(SYS_timer_getoverrun, (int)a[0]));
}

static long s_timer_delete(struct exec_thread *t, const uint64_t *a)
{
	return R(syscall(SYS_timer_delete, (int)a[0]));
}

static long s_signalfd4(struct exec_thread *t, const uint64_t *a)
{
	uint64_t v;
	if (a[2] != 8)
		return -EINVAL;
	if (mm_read(&t->p->mm, a[1], &v, 8))
		return -EFAULT;
	sigset_t m;
	sigemptyset(&m);
	memcpy(&m, &v, 8);
	return R(syscall(SYS_signalfd4, (int)a[0], &m, 8, (int)a[3]));
}

static long s_inotify_init1(struct exec_thread *t, const uint64_t *a)
{
	return R(inotify_init1((int)a[0]));
}

static long s_inotify_add_watch(struct exec_thread *t, const uint64_t *a)
{
	char path[PATH_MAX];
	int r = mm_strdup(&t->p->mm, a[1], path, sizeof(path));
	if (r)
		return r;
	/* Watch what the guest path resolves to inside its root. */
	int fd = fs_open(&t->p->fs, AT_FDCWD, path, O_PATH | O_CLOEXEC |
			 ((a[2] & IN_DONT_FOLLOW) ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		return fd;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	long w = R(inotify_add_watch((int)a[0], proc, (uint32_t)a[2]));
	close(fd);
	return w;
}

static long s_inotify_rm_watch(struct exec_thread *t, const uint64_t *a)
{
	return R(inotify_rm_watch((int)a[0], (int)a[1]));
}

static long s_sched_setaffinity(struct exec_thread *t, const uint64_t *a)
{
	uint8_t mask[512];
	size_t len = a[1] > sizeof(mask) ? sizeof(mask) : a[1];
	if (mm_read(&t->p->mm, a[2], mask, len))
		return -EFAULT;
	return R(syscall(SYS_sched_setaffinity, (pid_t)a[0], len, mask));
}

static long s_sched_getscheduler(struct exec_thread *t, const uint64_t *a)
{
	return R(sched_getscheduler((pid_t)a[0]));
}

static long s_sched_getparam(struct exec_thread *t, const uint64_t *a)
{
	struct sched_param sp;
	long r = R(sched_getparam((pid_t)a[0], &sp));
	return inout(t, 0, a[1], NULL, &sp, sizeof(sp), r);
}

static long s_sched_prio_max(struct exec_thread *t, const uint64_t *a)
{
	return R(sched_get_priority_max((int)a[0]));
}

static long s_sched_prio_min(struct exec_thread *t, const uint64_t *a)
{
	return R(sched_get_priority_min((int)a[0]));
}

static long s_capget(struct exec_thread *t, const uint64_t *a)
{
	uint32_t hdr[2], data[6] = { 0 };
	if (mm_read(&t->p->mm, a[0], hdr, sizeof(hdr)))
		return -EFAULT;
	long r = R(syscall(SYS_capget, hdr, a[1] ? data : NULL));
	if (mm_write(&t->p->mm, a[0], hdr, sizeof(hdr)))
		return -EFAULT;
	if (r < 0 || !a[1])
		return r;
	/* v1: one struct of 3 words; v2/v3: two. */
	size_t n = hdr[0] == 0x19980330 ? 3 : 6;
	return mm_write(&t->p->mm, a[1], data, n * 4) ? -EFAULT : r;
}

static long s_personality(struct exec_thread *t, const uint64_t *a)
{
	/* PER_LINUX only; the query (0xffffffff) answers it. */
	if ((uint32_t)a[0] == 0xffffffffu || a[0] == 0)
		return 0;
	return -EINVAL;
}

static long s_ids3(struct exec_thread *t, const uint64_t *a, long nr)
{
	return R(syscall(nr, a[0], a[1], a[2]));
}
static long s_setresuid(struct exec_thread *t, const uint64_t *a) { return s_ids3(t, a, SYS_setresuid); }
static long s_setresgid(struct exec_thread *t, const uint64_t *a) { return s_ids3(t, a, SYS_setresgid); }
static long s_setreuid(struct exec_thread *t, const uint64_t *a) { return s_ids3(t, a, SYS_setreuid); }
static long s_setregid(struct exec_thread *t, const uint64_t *a) { return s_ids3(t, a, SYS_setregid); }

static long s_setgroups(struct exec_thread *t, const uint64_t *a)
{
	gid_t g[256];
	if (a[0] > 256)
		return -EINVAL;
	if (a[0] && mm_read(&t->p->mm, a[1], g, a[0] * 4))
		return -EFAULT;
	return R(syscall(SYS_setgroups, a[0], g));
}

static long s_splice(struct exec_thread *t, const uint64_t *a)
{
	loff_t in, out;
	if ((a[1] && mm_read(&t->p->mm, a[1], &in, 8)) ||
	    (a[3] && mm_read(&t->p->mm, a[3], &out, 8)))
		return -EFAULT;
	long r = R(splice((int)a[0], a[1] ? &in : NULL, (int)a[2],
			  a[3] ? &out : NULL, (size_t)a[4], (unsigned)a[5]));
	if (r >= 0 && ((a[1] && mm_write(&t->p->mm, a[1], &in, 8)) ||
		       (a[3] && mm_write(&t->p->mm, a[3], &out, 8))))
		return -EFAULT;
	return r;
}

static long s_tee(struct exec_thread *t, const uint64_t *a)
{
	return R(tee((int)a[0], (int)a[1], (size_t)a[2], (unsigned)a[3]));
}

static long s_readahead(struct exec_thread *t, const uint64_t *a)
{
	return R(readahead((int)a[0], (off_t)a[1], (size_t)a[2]));
}

static long s_sync_file_range(struct exec_thread *t, const uint64_t *a)
{
	return R(sync_file_range((int)a[0], (off_t)a[1], (off_t)a[2],
				 (unsigned)a[3]));
}

static long s_pidfd_open(struct exec_thread *t, const uint64_t *a)
{
	return R(syscall(SYS_pidfd_open, (pid_t)a[0], (unsigned)a[1]));
}

sys_fn sys_more_lookup(long nr)
{
	switch (nr) {
	case RV_NR_setitimer: return s_setitimer;
	case RV_NR_getitimer: return s_getitimer;
	case RV_NR_timerfd_create: return s_timerfd_create;
	case RV_NR_timerfd_settime: return s_timerfd_settime;
	case RV_NR_timerfd_gettime: return s_timerfd_gettime;
	case RV_NR_timer_create: return s_timer_create;
	case RV_NR_timer_settime: return s_timer_settime;
	case RV_NR_timer_gettime: return s_timer_gettime;
	case RV_NR_timer_getoverrun: return s_timer_getoverrun;
	case RV_NR_timer_delete: return s_timer_delete;
	case RV_NR_signalfd4: return s_signalfd4;
	case RV_NR_inotify_init1: return s_inotify_init1;
	case RV_NR_inotify_add_watch: return s_inotify_add_watch;
	case RV_NR_inotify_rm_watch: return s_inotify_rm_watch;
	case RV_NR_sched_setaffinity: return s_sched_setaffinity;
	case RV_NR_sched_getscheduler: return s_sched_getscheduler;
	case RV_NR_sched_getparam: return s_sched_getparam;
	case RV_NR_sched_get_priority_max: return s_sched_prio_max;
	case RV_NR_sched_get_priority_min: return s_sched_prio_min;
	case RV_NR_capget: return s_capget;
	case RV_NR_personality: return s_personality;
	case RV_NR_setresuid: return s_setresuid;
	case RV_NR_setresgid: return s_setresgid;
	case RV_NR_setreuid: return s_setreuid;
	case RV_NR_setregid: return s_setregid;
	case RV_NR_setgroups: return s_setgroups;
	case RV_NR_splice: return s_splice;
	case RV_NR_tee: return s_tee;
	case RV_NR_readahead: return s_readahead;
	case RV_NR_sync_file_range: return s_sync_file_range;
	case RV_NR_pidfd_open: return s_pidfd_open;
	default: return NULL;
	}
}
