/* Processes in the KVM sandbox, mirroring sys_proc.c's riscv64 ones.
 *
 * fork, vfork and posix_spawn's clone(CLONE_VM | CLONE_VFORK) are a host
 * fork() of the whole VMM: the guest memory is copied on write by the
 * host.  The child cannot use the VM it inherits (KVM ties a VM to the mm
 * that created it), so it builds one of its own over the same host
 * mapping and runs the forking thread, alone as Linux leaves it, on its
 * vCPU 0.  Children are host processes, so wait4 and waitid are the
 * host's, and kill reaches them through the host, within limits
 * (kx_kill). */
#include "kvm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The clone flags a process copy can honour.  CLONE_VM only comes with
 * CLONE_VFORK: the parent waits, so nobody sees the memory is not shared
 * (but for what the child writes, which the parent does not see). */
#define FORK_FLAGS (CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_SETTLS | \
		    CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | \
		    CLONE_CHILD_CLEARTID | CLONE_UNTRACED | CLONE_DETACHED)

/* ---- fork ---- */

int kx_vm_new(struct kx *k)
{
	int vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return -errno;
	if (k->vm < 0) {
		k->vm = vm;
		return 0;
	}
	/* Over the old one (a forked child's is the parent's). */
	int r = dup3(vm, k->vm, O_CLOEXEC) < 0 ? -errno : 0;
	close(vm);
	return r;
}

/* What the child's vCPU needs of the forking one besides its general
 * registers (c->regs). */
struct fork_cpu {
	uint64_t fs;
	struct kvm_fpu fpu;
};

static long fork_check(uint64_t fl)
{
	if (fl & ~(uint64_t)FORK_FLAGS)
		return -EINVAL;
	if ((fl & CLONE_VM) && !(fl & CLONE_VFORK))
		return -ENOSYS;
	if ((fl & CSIGNAL) != SIGCHLD && (fl & CSIGNAL) != 0)
		return -EINVAL;
	return 0;
}

/* In the child: the forking thread, alone, on vCPU 0 of a new VM over
 * the (copied) guest memory at the same host address.  The other
 * threads' slots go; the inherited VM and vCPU descriptors and run
 * mappings are the parent's and are dropped (the run structures are
 * shared with it: never written here). */
static int child_vm(struct kx_cpu *c, const struct fork_cpu *f)
{
	struct kx *k = c->k;
	c->tid = (pid_t)syscall(SYS_gettid);
	/* The parent's threads may be waiting on it: they are not here. */
	pthread_cond_init(&k->gone, NULL);
	for (unsigned i = 0; i < KX_MAX_CPUS; i++) {
		struct kx_cpu *o = k->cpu[i];
		k->cpu[i] = NULL;
		if (!o || o == c)
			continue;
		kx_cpu_close(o);
		sem_destroy(&o->started);
		free(o);
	}
	kx_cpu_close(c);
	c->idx = 0;
	c->no_join = true;
	k->cpu[0] = c;
	k->live = 1;
	atomic_store(&c->pending, 0);

	struct err e = { 0 };
	int r = kx_vm_new(k);
	if (!r)
		r = kx_vm_memory(k);
	if (!r)
		r = kx_cpu_open(c, &e);
	if (!r)
		r = kx_cpu_setup(c, f->fs, &e);
	if (!r && ioctl(c->fd, KVM_SET_FPU, &f->fpu))
		r = -errno;
	err_clear(&e);
	return r;
}

static long fork_child(struct kx_cpu *c, const struct kx_clone *a,
		       const struct fork_cpu *f, const int p[2])
{
	struct kx *k = c->k;
	close(p[0]);
	int r = child_vm(c, f);
	if (r) {
		/* The parent's fork fails with this instead. */
		int e = -r;
		ssize_t w = write(p[1], &e, sizeof(e));
		(void)w;   /* if not, the parent sees a child that died */
		syscall(SYS_exit_group, 127);
	}
	/* The shim answers getpid with a constant. */
	kx_build_entry(k);
	uint32_t tid = (uint32_t)c->tid;
	if ((a->flags & CLONE_CHILD_SETTID) && kx_ok(k, a->ctid, 4))
		memcpy(k->mem + a->ctid, &tid, 4);
	c->clear_tid = a->flags & CLONE_CHILD_CLEARTID ? a->ctid : 0;
	if (a->stack)
		c->regs->rsp = a->stack;
	/* vfork: p[1] stays open (close-on-exec) until exec or exit. */
	if (!(a->flags & CLONE_VFORK))
		close(p[1]);
	return 0;
}

/* The parent waits until the child's VM runs (for vfork: until the child
 * exec'd or exited): end of file, or the errno of a child that could not
 * build its VM. */
static long fork_parent(struct kx_cpu *c, const struct kx_clone *a,
			pid_t pid, int rd)
{
	struct kx *k = c->k;
	if ((a->flags & CLONE_PARENT_SETTID) && kx_ok(k, a->ptid, 4)) {
		uint32_t v = (uint32_t)pid;
		memcpy(k->mem + a->ptid, &v, 4);
	}
	int e = 0;
	ssize_t n;
	while ((n = read(rd, &e, sizeof(e))) < 0 && errno == EINTR &&
	       !atomic_load(&k->exited))
		;
	close(rd);
	if (n != (ssize_t)sizeof(e) || e <= 0)
		return pid;
	if (k->cfg->verbose)
		fprintf(stderr, "ringvm exec: fork: the child's VM: %s\n",
			strerror(e));
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -e;
}

long kx_fork(struct kx_cpu *c, const struct kx_clone *a)
{
	struct kx *k = c->k;
	long r = fork_check(a->flags);
	if (r)
		return r;
	struct fork_cpu f;
	if (!c->regs || kx_get_fs(c, &f.fs) ||
	    ioctl(c->fd, KVM_GET_FPU, &f.fpu))
		return -EAGAIN;
	if (a->flags & CLONE_SETTLS)
		f.fs = a->tls;
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	/* Under k->lock no other thread is half-way through a change of
	 * the slots, the mmap bitmap or sa[] the child would copy. */
	pid_t pid = -1;
	int e = EINTR;                 /* the program is ending anyway */
	pthread_mutex_lock(&k->lock);
	if (!atomic_load(&k->exited)) {
		pid = fork();
		e = errno;
	}
	pthread_mutex_unlock(&k->lock);
	if (pid == 0)
		return fork_child(c, a, &f, p);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -e;
	}
	return fork_parent(c, a, pid, p[0]);
}

_Noreturn void kx_proc_exit(int st)
{
	int sig = st & 0x7f;
	if (sig) {
		sigset_t s;
		signal(sig, SIG_DFL);
		sigemptyset(&s);
		sigaddset(&s, sig);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		raise(sig);
	}
	for (;;)
		syscall(SYS_exit_group, sig ? 128 + sig : (st >> 8) & 0xff);
}

/* ---- wait ---- */

long kx_wait4(struct kx *k, const uint64_t *a)
{
	int *st = NULL;
	struct rusage *ru = NULL;
	if (a[1] && !(st = kx_ptr(k, a[1], sizeof(*st))))
		return -EFAULT;
	if (a[3] && !(ru = kx_ptr(k, a[3], sizeof(*ru))))
		return -EFAULT;
	pid_t r = wait4((pid_t)a[0], st, (int)a[2], ru);
	return r < 0 ? -errno : r;
}

long kx_waitid(struct kx *k, const uint64_t *a)
{
	siginfo_t *si = NULL;
	struct rusage *ru = NULL;
	if (a[2] && !(si = kx_ptr(k, a[2], sizeof(*si))))
		return -EFAULT;
	if (a[4] && !(ru = kx_ptr(k, a[4], sizeof(*ru))))
		return -EFAULT;
	long r = syscall(SYS_waitid, (int)a[0], (pid_t)a[1], si, (int)a[3], ru);
	return r < 0 ? -errno : r;
}

/* ---- kill ---- */

/* The parent of pid from /proc (-1: unknown). */
static pid_t parent_of(pid_t pid)
{
	char p[64], b[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	const char *e = strrchr(b, ')');   /* the name may hold anything */
	int pp;
	if (!e || sscanf(e + 1, " %*c %d", &pp) != 1)
		return -1;
	return pp;
}

/* Is pid a child, grandchild, ... of this process? */
static bool descendant(pid_t pid)
{
	pid_t self = getpid();
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		pid = parent_of(pid);
		if (pid == self)
			return true;
	}
	return false;
}

/* Its own process group or its descendants: a sandboxed program has no
 * business with the rest of the user's processes.  -ESRCH when pid does
 * not exist, -EPERM when it is out of reach. */
static int may_signal(pid_t pid)
{
	pid_t g = getpgid(pid);
	if (g < 0)
		return -errno;
	return g == getpgrp() || descendant(pid) ? 0 : -EPERM;
}

/* sig to every process of this process's group but this one: this one
 * ignores it meanwhile (setting SIG_IGN again also drops one that came
 * while blocked).  Those ignored by default need not be. */
static long group_but_self(pid_t g, int sig)
{
	if (sig == SIGCHLD || sig == SIGCONT || sig == SIGURG ||
	    sig == SIGWINCH)
		return kill(-g, sig) ? -errno : 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigemptyset(&ign.sa_mask);
	if (sigaction(sig, &ign, &old))
		return -errno;
	long r = kill(-g, sig) ? -errno : 0;
	sigaction(sig, &ign, NULL);
	sigaction(sig, &old, NULL);
	return r;
}

long kx_kill(struct kx *k, pid_t pid, int sig)
{
	(void)k;
	if (sig < 0 || sig > 64)
		return -EINVAL;
	if (pid == -1 || pid == INT_MIN)
		return -EPERM;   /* every process of the user */
	if (pid > 0) {
		int r = may_signal(pid);
		if (!r && kill(pid, sig))
			r = -errno;
		return r;
	}
	pid_t g = pid ? -pid : getpgrp();
	if (g != getpgrp()) {
		/* Another group: one led by a descendant (a shell's job). */
		int r = getpgid(g) < 0 ? -ESRCH : descendant(g) ? 0 : -EPERM;
		if (!r && kill(-g, sig))
			r = -errno;
		return r;
	}
	/* SIGKILL and SIGSTOP act on ringvm as on the program; sig 0 asks
	 * whether anyone is there (this process is). */
	if (sig == 0 || sig == SIGKILL || sig == SIGSTOP)
		return kill(-g, sig) ? -errno : 0;
	long r = group_but_self(g, sig);
	return r ? r : 1;
}
