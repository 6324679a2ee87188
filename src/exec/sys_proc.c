/* Threads and processes: clone/clone3 (a guest thread is a new hart on a
 * new host thread; a new process is a host fork() of the whole
 * emulator), exit, exit_group, wait4, waitid, execve (a fresh ringvm
 * through /proc/self/exe with the same options), futex (on the host
 * address of the guest word: guest memory is host memory, and every
 * thread sees the same frame). */
#include "exec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys_nr.h"

#define R(x) sys_ret((long)(x))
#define CSIGNAL_MASK 0xff
/* execve limits, as Linux's: one string (MAX_ARG_STRLEN), all of argv and
 * envp together (a quarter of the 8 MiB default stack). */
#define ARG_STR_MAX (32 * 4096)
#define ARG_TOTAL_MAX (2u << 20)

struct clone_req {
	uint64_t flags, stack, ptid, tls, ctid;
};

struct child_start {
	struct exec_thread *t;
	sigset_t mask;          /* the parent's at clone time */
	uint64_t set_ctid;      /* CLONE_CHILD_SETTID address, or 0 */
	uint64_t set_ptid;      /* CLONE_PARENT_SETTID address, or 0 */
	sem_t ready;
};

static void *child_main(void *arg);

/* A new guest thread sharing everything (CLONE_VM | CLONE_THREAD). */
static long new_thread(struct exec_thread *t, const struct clone_req *c)
{
	const uint64_t need = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND |
			      CLONE_FS | CLONE_FILES;
	if ((c->flags & need) != need)
		return -EINVAL;
	struct exec_thread *n;
	long r = rt_thread_new(t->p, &n);
	if (r)
		return r;
	struct rv_hart *h = t->h, *nh = n->h;
	memcpy(nh->x, h->x, sizeof(nh->x));
	memcpy(nh->f, h->f, sizeof(nh->f));
	nh->fflags = h->fflags;
	nh->frm = h->frm;
	nh->x[10] = 0;
	if (c->stack)
		nh->x[2] = c->stack;
	if (c->flags & CLONE_SETTLS)
		nh->x[4] = c->tls;
	rv_hart_enter_user(nh, h->pc + 4, mm_satp(&t->p->mm));
	if (c->flags & CLONE_CHILD_CLEARTID)
		n->clear_tid = c->ctid;

	struct child_start cs = { .t = n };
	if (c->flags & CLONE_CHILD_SETTID)
		cs.set_ctid = c->ctid;
	if (c->flags & CLONE_PARENT_SETTID)
		cs.set_ptid = c->ptid;
	sem_init(&cs.ready, 0, 0);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	/* The child starts with every signal blocked and takes the
	 * parent's mask once it runs (as the kernel copies it). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	cs.mask = old;
	int e = pthread_create(&n->pt, &at, child_main, &cs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (e) {
		pthread_mutex_lock(&t->p->lock);
		n->exited = true;
		t->p->nthreads--;
		pthread_mutex_unlock(&t->p->lock);
		rt_thread_gone(n);
		sem_destroy(&cs.ready);
		return -e;
	}
	while (sem_wait(&cs.ready))
		;
	sem_destroy(&cs.ready);
	return n->tid;
}

static void *child_main(void *arg)
{
	struct child_start *cs = arg;
	struct exec_thread *t = cs->t;
	t->tid = (pid_t)syscall(SYS_gettid);
	int tid = t->tid;
	sig_thread_attach(t);
	sigset_t mask = cs->mask;
	/* Both tids are written before the thread can run, let alone exit
	 * and clear them (glibc uses one word for both). */
	if (cs->set_ptid)
		mm_write(&t->p->mm, cs->set_ptid, &tid, 4);
	if (cs->set_ctid)
		mm_write(&t->p->mm, cs->set_ctid, &tid, 4);
	sem_post(&cs->ready);   /* cs is gone after this */
	/* The kernel gives the child the parent's mask. */
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	rt_thread_loop(t);
	rt_thread_gone(t);
	return NULL;
}

/* A new process: fork the emulator.  CLONE_VFORK: the parent waits
 * until the child has exec'd or exited (a CLOEXEC pipe tells). */
static long new_process(struct exec_thread *t, const struct clone_req *c)
{
	struct exec_proc *p = t->p;
	int vp[2] = { -1, -1 };
	if ((c->flags & CLONE_VFORK) && pipe2(vp, O_CLOEXEC))
		return -errno;
	/* No lock may be held by another thread across fork. */
	pthread_mutex_lock(&p->lock);
	pthread_mutex_lock(&p->mm.lock);
	pid_t pid = fork();
	pthread_mutex_unlock(&p->mm.lock);
	pthread_mutex_unlock(&p->lock);
	if (pid < 0) {
		int e = errno;
		if (vp[0] >= 0) {
			close(vp[0]);
			close(vp[1]);
		}
		return -e;
	}
	if (pid == 0) {
		/* Only this thread exists here: the other harts are idle
		 * slots (no thread runs them). */
		t->tid = (pid_t)syscall(SYS_gettid);
		for (unsigned i = 0; i < RV_MAX_HARTS; i++) {
			struct exec_thread *o = p->threads[i];
			if (!o || o == t)
				continue;
			__atomic_store_n(&o->h->active, 0, __ATOMIC_RELAXED);
			if (!o->exited) {
				o->exited = true;
				p->nthreads--;
			}
			/* no host thread runs it in this process */
			__atomic_store_n(&o->gone, 1, __ATOMIC_RELEASE);
		}
		/* The JIT code buffers are MAP_SHARED with the parent:
		 * every hart gets its own (or runs interpreted). */
		for (unsigned i = 0; i < RV_MAX_HARTS; i++) {
			struct exec_thread *o = p->threads[i];
			struct err fe = { 0 };
			if (o && o->h && rv_hart_after_fork(o->h, &fe))
				err_clear(&fe);
		}
		/* exec_run's thread exists only if it forked. */
		p->no_main = t->slot != 0;
		if (vp[0] >= 0)
			close(vp[0]);
		int tid = t->tid;
		if (c->flags & CLONE_CHILD_SETTID)
			mm_write(&p->mm, c->ctid, &tid, 4);
		if (c->flags & CLONE_CHILD_CLEARTID)
			t->clear_tid = c->ctid;
		if (c->stack)
			t->h->x[2] = c->stack;
		if (c->flags & CLONE_SETTLS)
			t->h->x[4] = c->tls;
		/* vp[1] stays open (CLOEXEC) until exec or exit. */
		return 0;
	}
	if (c->flags & CLONE_PARENT_SETTID) {
		int v = pid;
		mm_write(&p->mm, c->ptid, &v, 4);
	}
	if (vp[0] >= 0) {
		char b;
		close(vp[1]);
		while (read(vp[0], &b, 1) < 0 && errno == EINTR)
			;
		close(vp[0]);
	}
	return pid;
}

static long do_clone(struct exec_thread *t, const struct clone_req *c)
{
	if (c->flags & CLONE_THREAD)
		return new_thread(t, c);
	if (c->flags & (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER |
			CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |
			CLONE_NEWCGROUP))
		return -EINVAL;
	if ((c->flags & CSIGNAL_MASK) != SIGCHLD &&
	    (c->flags & CSIGNAL_MASK) != 0)
		return -EINVAL;
	return new_process(t, c);
}

static long s_clone(struct exec_thread *t, const uint64_t *a)
{
	/* riscv64: clone(flags, stack, ptid, tls, ctid). */
	struct clone_req c = { a[0], a[1], a[2], a[3], a[4] };
	return do_clone(t, &c);
}

static long s_clone3(struct exec_thread *t, const uint64_t *a)
{
	/* struct clone_args (linux/sched.h), version 0: 64 bytes. */
	uint64_t ca[8];
	if (a[1] < 64)
		return -EINVAL;
	if (mm_read(&t->p->mm, a[0], ca, sizeof(ca)))
		return -EFAULT;
	/* pidfd (CLONE_PIDFD) is not offered; the field is ignored
	 * without the flag, as by the kernel. */
	if ((ca[0] & CLONE_PIDFD) || (ca[4] & ~(uint64_t)CSIGNAL_MASK))
		return -EINVAL;
	struct clone_req c = { ca[0] | ca[4], ca[5] ? ca[5] + ca[6] : 0,
			       ca[3], ca[7], ca[2] };
	return do_clone(t, &c);
}

static long s_exit(struct exec_thread *t, const uint64_t *a)
{
	struct exec_proc *p = t->p;
	if (t->clear_tid) {
		int zero = 0;
		if (!mm_write(&p->mm, t->clear_tid, &zero, 4)) {
			pthread_mutex_lock(&p->mm.lock);
			void *hp = mm_host(&p->mm, t->clear_tid, 2, false);
			pthread_mutex_unlock(&p->mm.lock);
			if (hp)
				syscall(SYS_futex, hp, FUTEX_WAKE, INT_MAX,
					NULL, NULL, 0);
		}
	}
	pthread_mutex_lock(&p->lock);
	bool last = --p->nthreads == 0;
	t->exited = true;
	pthread_mutex_unlock(&p->lock);
	if (last && (p->no_main || t->slot != 0)) {
		/* The last thread is not exec_run's, which waits (or, in
		 * a child forked by a thread, does not exist): the process
		 * ends here with this thread's status, as natively. */
		syscall(SYS_exit_group, (int)a[0] & 0xff);
	}
	if (last) {
		p->exit_status = ((int)a[0] & 0xff) << 8;
		__atomic_store_n(&p->exiting, 1, __ATOMIC_RELEASE);
	}
	return SYS_NORETURN;
}

static long s_exit_group(struct exec_thread *t, const uint64_t *a)
{
	rt_exit_group(t, ((int)a[0] & 0xff) << 8);
	return SYS_NORETURN;
}

static long s_wait4(struct exec_thread *t, const uint64_t *a)
{
	int st;
	struct rusage ru;
	pid_t r = wait4((pid_t)a[0], &st, (int)a[2], a[3] ? &ru : NULL);
	if (r < 0)
		return -errno;
	if (r > 0 && a[1] && mm_write(&t->p->mm, a[1], &st, 4))
		return -EFAULT;
	if (r > 0 && a[3] && mm_write(&t->p->mm, a[3], &ru, sizeof(ru)))
		return -EFAULT;
	return r;
}

static long s_waitid(struct exec_thread *t, const uint64_t *a)
{
	siginfo_t info;
	struct rusage ru;
	memset(&info, 0, sizeof(info));
	long r = syscall(SYS_waitid, (int)a[0], (pid_t)a[1], &info, (int)a[3],
			 a[4] ? &ru : NULL);
	if (r < 0)
		return -errno;
	if (a[2] && mm_write(&t->p->mm, a[2], &info, 128))
		return -EFAULT;
	if (a[4] && mm_write(&t->p->mm, a[4], &ru, sizeof(ru)))
		return -EFAULT;
	return 0;
}

static long s_futex(struct exec_thread *t, const uint64_t *a)
{
	struct exec_mm *mm = &t->p->mm;
	int op = (int)a[1], cmd = op & FUTEX_CMD_MASK;
	struct timespec ts;
	void *ts_arg = NULL;
	uint64_t val2 = a[3];
	pthread_mutex_lock(&mm->lock);
	void *u1 = (a[0] & 3) ? NULL : mm_host(mm, a[0], 1, false);
	void *u2 = NULL;
	if (cmd == FUTEX_REQUEUE || cmd == FUTEX_CMP_REQUEUE ||
	    cmd == FUTEX_WAKE_OP || cmd == FUTEX_CMP_REQUEUE_PI)
		u2 = (a[4] & 3) ? NULL : mm_host(mm, a[4], 2, false);
	pthread_mutex_unlock(&mm->lock);
	if (!u1)
		return (a[0] & 3) ? -EINVAL : -EFAULT;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
	case FUTEX_LOCK_PI:
	case FUTEX_WAIT_REQUEUE_PI:
		if (a[3]) {
			if (mm_read(mm, a[3], &ts, sizeof(ts)))
				return -EFAULT;
			ts_arg = &ts;
		}
		return R(syscall(SYS_futex, u1, op, (int)a[2], ts_arg, u2,
				 (int)a[5]));
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
	case FUTEX_UNLOCK_PI:
	case FUTEX_TRYLOCK_PI:
		return R(syscall(SYS_futex, u1, op, (int)a[2], NULL, NULL,
				 (int)a[5]));
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_WAKE_OP:
		if (!u2)
			return -EFAULT;
		/* val2 travels in the timeout slot as an integer. */
		return R(syscall(SYS_futex, u1, op, (int)a[2],
				 (void *)(uintptr_t)val2, u2, (int)a[5]));
	default:
		return -ENOSYS;
	}
}

/* execve: start a new ringvm on the guest program, with this run's
 * options; the guest's argv[0] travels in --argv0. */
long sys_execve_impl(struct exec_thread *t, const uint64_t *a)
{
	struct exec_proc *p = t->p;
	char path[PATH_MAX];
	int r = mm_strdup(&p->mm, a[0], path, sizeof(path));
	if (r)
		return r;
	/* The one magic link programs exec: themselves (the host's would
	 * be ringvm). */
	if (!strcmp(path, "/proc/self/exe")) {
		if (strlen(p->exe) >= sizeof(path))
			return -ENAMETOOLONG;
		strcpy(path, p->exe);
	}
	/* The file must exist and be executable for the guest: fail here
	 * as the kernel would, before this process is gone. */
	int fd = fs_open(&p->fs, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS)) {
		r = -errno;
		close(fd);
		return r == -EINVAL ? -EACCES : r;
	}
	close(fd);

	size_t nopt = 0;
	while (p->cfg->reexec_argv[nopt])
		nopt++;
	char **argv = NULL, **envp = NULL;
	size_t na = 0, ne = 0, cap_a = 16, cap_e = 16, total = 0;
	char *sbuf = malloc(ARG_STR_MAX);
	argv = calloc(cap_a + nopt + 4, sizeof(char *));
	envp = calloc(cap_e, sizeof(char *));
	if (!argv || !envp || !sbuf) {
		r = -ENOMEM;
		goto out;
	}
	/* Guest argv and envp: NULL-terminated arrays of strings. */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t arr = a[1 + pass];
		for (size_t i = 0; arr; i++) {
			uint64_t sp;
			if (i > 65536) {
				r = -E2BIG;
				goto out;
			}
			if (mm_read(&p->mm, arr + i * 8, &sp, 8)) {
				r = -EFAULT;
				goto out;
			}
			if (!sp)
				break;
			r = mm_strdup(&p->mm, sp, sbuf, ARG_STR_MAX);
			if (r) {
				r = r == -ENAMETOOLONG ? -E2BIG : r;
				goto out;
			}
			size_t sl = strlen(sbuf) + 1;
			total += sl + sizeof(char *);
			if (total > ARG_TOTAL_MAX) {
				r = -E2BIG;
				goto out;
			}
			char *s = malloc(sl);
			if (!s) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(s, sbuf, sl);
			char ***v = pass ? &envp : &argv;
			size_t *n = pass ? &ne : &na;
			size_t *cap = pass ? &cap_e : &cap_a;
			size_t extra = pass ? 1 : nopt + 4;
			if (*n + 1 >= *cap) {
				*cap *= 2;
				char **nv = realloc(*v, (*cap + extra) *
						    sizeof(char *));
				if (!nv) {
					free(s);
					r = -ENOMEM;
					goto out;
				}
				*v = nv;
			}
			(*v)[(*n)++] = s;
			(*v)[*n] = NULL;
		}
	}
	/* ringvm exec --arch riscv64 [opts] --env-exact --env K=V...
	 * --argv0 A -- path args...: the guest's environment travels as
	 * options, never as the new ringvm's own (a guest LD_PRELOAD or
	 * GLIBC_TUNABLES would reach ringvm's loader: code of the guest's
	 * choosing outside the sandbox); ringvm gets the one it started
	 * with. */
	char **full = calloc(nopt + na + 2 * ne + 7, sizeof(char *));
	if (!full) {
		r = -ENOMEM;
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < nopt; i++)
		full[k++] = p->cfg->reexec_argv[i];
	full[k++] = "--env-exact";
	for (size_t i = 0; i < ne; i++) {
		if (envp[i][0] == '=' || !strchr(envp[i], '='))
			continue;     /* cli/exec.c takes NAME=value only */
		full[k++] = "--env";
		full[k++] = envp[i];
	}
	full[k++] = "--argv0";
	full[k++] = na ? argv[0] : path;
	full[k++] = "--";
	full[k++] = path;
	for (size_t i = 1; i < na; i++)
		full[k++] = argv[i];
	full[k] = NULL;
	static char *const none[] = { NULL };
	execve("/proc/self/exe", full,
	       p->cfg->host_envp ? p->cfg->host_envp : none);
	r = -errno;
	free(full);
out:
	for (size_t i = 0; argv && i < na; i++)
		free(argv[i]);
	for (size_t i = 0; envp && i < ne; i++)
		free(envp[i]);
	free(argv);
	free(envp);
	free(sbuf);
	return r;
}

static long s_execve(struct exec_thread *t, const uint64_t *a)
{
	return sys_execve_impl(t, a);
}

sys_fn sys_proc_lookup(long nr)
{
	switch (nr) {
	case RV_NR_clone: return s_clone;
	case RV_NR_clone3: return s_clone3;
	case RV_NR_exit: return s_exit;
	case RV_NR_exit_group: return s_exit_group;
	case RV_NR_wait4: return s_wait4;
	case RV_NR_waitid: return s_waitid;
	case RV_NR_futex: return s_futex;
	case RV_NR_execve: return s_execve;
	default: return NULL;
	}
}
